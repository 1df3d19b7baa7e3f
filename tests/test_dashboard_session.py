"""The dashboard without a browser: controls, their validation, the session model, the charts
and the command's error paths. The page itself is tested in tests/test_dashboard.py."""

import errno
import io
import socket
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from simulation import api
from simulation.cli import main
from simulation.config import SCENARIO_DIR, load_scenario
from simulation.dashboard import bounds, charts, server, session
from simulation.dashboard.bounds import ControlError
from simulation.dashboard.session import (
    Controls,
    DashboardModel,
    checked_controls,
    controls_from_preset,
    controls_from_scenario,
    preset_names,
    problems,
    scenario_overrides,
    status_line,
)
from simulation.metrics import gini

SMALL = {"viewers": 3000, "days": 2, "seed": 5}


def focal_totals(model, ticks: int) -> dict[str, float]:
    """Step a SnowballModel and add up the focal room's per-tick counts (the model's own)."""
    (focal,) = api.focal_streams(model, "focal")
    out = dict.fromkeys(("free", "paid", "follow", "gmv", "ad_spend"), 0.0)
    for _ in range(ticks):
        model.step()
        last = model.last_tick
        out["free"] += last["free_impressions"][focal]
        out["paid"] += last["paid_impressions"][focal]
        out["follow"] += last["follow_impressions"][focal]
        out["gmv"] += last["gmv"][focal]
        out["ad_spend"] += last["ad_spend"][focal]
    out["fans"] = model.population.followers[focal]
    return out


@pytest.mark.parametrize("name", preset_names())
def test_untouched_controls_run_the_preset_exactly(name):
    controls, description = controls_from_preset(name)
    preset = load_scenario(name)
    assert description == preset.description
    assert scenario_overrides(controls, preset, 5000, 3) == {
        "population.viewers": 5000,
        "days": 3,
    }


def test_a_trait_drawn_from_a_range_stays_a_range_until_moved(tmp_path):
    ranged = tmp_path / "ranged.toml"
    ranged.write_text('base = "default"\n[streams.focal]\npersuasion = [0.04, 0.06]\n')
    preset = load_scenario(str(ranged))
    controls, _ = controls_from_scenario(preset, "default")
    assert controls.persuasion == 0.05
    assert "streams.focal.persuasion" not in scenario_overrides(controls, preset, 3000, 2)
    moved = replace(controls, persuasion=0.055)
    assert scenario_overrides(moved, preset, 3000, 2)["streams.focal.persuasion"] == 0.055


def test_each_control_becomes_an_override():
    preset = load_scenario("v1")
    c, _ = controls_from_preset("default")
    changed = Controls(
        scenario="default",
        policy="search_funnel",
        hook=0.2,
        retention=2.0,
        persuasion=0.09,
        driver_share=0.5,
        welfare_share=0.1,
        strategy="fixed",
        daily_budget=1200.0,
        promotion=True,
        promotion_day=2,
    )
    assert c != changed
    out = scenario_overrides(changed, preset, 4000, 5)
    assert out == {
        "population.viewers": 4000,
        "days": 5,
        "policy": "search_funnel",
        "streams.focal.hook": 0.2,
        "streams.focal.retention": 2.0,
        "streams.focal.persuasion": 0.09,
        "streams.focal.mix": [0.5, 0.4, 0.1],
        "streams.focal.campaign.strategy": "fixed",
        "streams.focal.campaign.daily_budget": 1200.0,
        "calendar.campaign_days": [1],
    }
    load_scenario("v1", out)  # and the result validates


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"strategy": "none"}, 'Strategy "none" never buys traffic'),
        ({"daily_budget": 0.0}, "daily budget is 0 yuan"),
        ({"driver_share": 0.7, "welfare_share": 0.4}, "more than 100%"),
        ({"promotion": True, "promotion_day": 9}, "run lasts 7 days"),
    ],
)
def test_nonsense_combinations_are_messages_and_build_nothing(change, words):
    c, _ = controls_from_preset("default")
    bad = replace(c, **change)
    (text,) = problems(bad, days=7)
    assert words in text
    m = DashboardModel(controls=bad, viewers=3000, days=7, seed=1)
    assert m.sim is None and m.problems == [text] and not m.running
    m.step()  # a step is a harmless no-op
    assert m.ticks == 0 and not m.running
    for name, figure in charts.FIGURES.items():  # every chart explains instead of crashing
        figure(m).savefig(io.BytesIO(), format="png")
        assert charts.readout(name, m) == ""


def test_an_invalid_preset_is_an_error_message_not_a_crash(tmp_path, monkeypatch):
    bad = tmp_path / "broken.toml"
    bad.write_text('base = "default"\n[streams.focal]\nhook = 7\n')
    monkeypatch.setattr(session, "preset_path", lambda name: bad)
    m = DashboardModel(controls=Controls(scenario="default"), **SMALL)
    assert m.sim is None and "streams.focal.hook" in m.error


def test_the_session_model_reports_the_models_own_numbers():
    c, _ = controls_from_preset("default")
    c = replace(c, persuasion=0.085)
    m = DashboardModel(controls=c, **SMALL)
    ticks = 150  # through the focal room's first evening on air (19:00-23:00)
    for _ in range(ticks):
        m.step()
    ref = api.build_model(
        "default",
        seed=SMALL["seed"],
        overrides={
            "population.viewers": SMALL["viewers"],
            "days": SMALL["days"],
            "streams.focal.persuasion": 0.085,
        },
    )
    want = focal_totals(ref, ticks)
    got = m.summary()
    assert got["tick"] == ticks == m.steps
    assert want["free"] > 0 and want["paid"] > 0
    for key in ("free", "paid", "follow", "fans"):
        assert got[key] == want[key], key
    assert got["gmv"] == pytest.approx(want["gmv"])
    assert got["ad_spend"] == pytest.approx(want["ad_spend"])
    assert got["gini"] == pytest.approx(gini(ref.cum_gmv))
    line = status_line(m)
    assert f"tick {ticks} " in line and f"free {int(want['free']):,} " in line


def test_a_run_stops_at_its_last_day_and_charts_render_throughout():
    m = DashboardModel(controls=controls_from_preset("default")[0], **{**SMALL, "days": 1})
    for name, figure in charts.FIGURES.items():
        figure(m).savefig(io.BytesIO(), format="png")  # before the first tick
        assert isinstance(charts.readout(name, m), str)
    while m.running:
        m.step()
    assert m.ticks == 144 and m.finished
    m.step()
    assert m.ticks == 144
    h = m.history
    assert all(len(v) == 144 for v in h.values())
    assert np.nanmax(h["tier"]) >= 0 and h["fans"][-1] == m.summary()["fans"]
    assert "Day 1 of 1, 24:00" in status_line(m)
    for name, figure in charts.FIGURES.items():
        figure(m).savefig(io.BytesIO(), format="png")
        assert charts.readout(name, m)


def test_the_funnel_and_a_preset_without_a_focal_room_draw_explanations(tmp_path, monkeypatch):
    m = DashboardModel(controls=controls_from_preset("funnel")[0], **SMALL)
    for _ in range(130):
        m.step()
    assert "No traffic pools under the search funnel" in charts.readout("tier", m)
    # issue 19: the status line said "pool tier 0" and the caption spoke of pools
    assert "pool tier none (no traffic pools under the search funnel)" in status_line(m)
    assert "has no traffic pools" in charts.caption("tier", m)
    assert "pool" not in charts.caption("tier", m).split("no traffic pools")[1]
    interest = DashboardModel(controls=controls_from_preset("default")[0], **SMALL)
    assert charts.caption("tier", interest) == charts.CAPTIONS["tier"]
    no_focal = tmp_path / "nofocal.toml"
    no_focal.write_text('base = "default"\n[streams.focal]\ncount = 0\n')
    monkeypatch.setattr(session, "preset_path", lambda name: no_focal)
    m = DashboardModel(controls=Controls(scenario="default"), **SMALL)
    for _ in range(10):
        m.step()
    assert not m.has_focal and m.summary()["free"] == 0
    for figure in charts.FIGURES.values():
        figure(m).savefig(io.BytesIO(), format="png")
    assert charts.readout("traffic", m) == "" and "Gini" in charts.readout("lorenz", m)


# ---------------------------------------------------------------------- the command


def snowball(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simulation", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_port_in_use_is_one_clear_line_and_exit_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        start = time.monotonic()
        r = snowball("dashboard", "--port", str(port))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert f"127.0.0.1:{port} is already in use" in r.stderr and "--port" in r.stderr
    assert time.monotonic() - start < 20  # refused before any server starts


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--port", "70000"], "must be a port number from 1 to 65535"),
        (["--port", "0"], "must be a port number from 1 to 65535"),
        (["--host", "no-such-host.invalid"], "cannot resolve"),
    ],
)
def test_bad_addresses_are_refused(args, words, capsys):
    assert main(["dashboard", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and err.startswith("snowball: error:")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EACCES, "is not permitted"),
        (errno.EADDRNOTAVAIL, "has no such address"),
        (errno.EADDRINUSE, "already in use"),
    ],
)
def test_bind_errors_are_explained(code, words, monkeypatch):
    def refuse(self, address):
        raise OSError(code, "refused")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    with pytest.raises(server.AddressError, match=words):
        server.check_address("127.0.0.1", 80)


def test_missing_extras_say_how_to_install(monkeypatch, capsys):
    import simulation.dashboard

    monkeypatch.setattr(simulation.dashboard, "missing_modules", lambda: ["solara"])
    assert main(["dashboard"]) == 2
    err = capsys.readouterr().err
    assert "solara" in err and 'pip install -e ".[dashboard]"' in err
    assert err.count("\n") == 1


def test_the_core_package_does_not_import_the_dashboard_stack():
    code = (
        "import sys, simulation, simulation.api, simulation.cli, simulation.model\n"
        "from simulation.cli import build_parser\n"
        "build_parser()\n"
        "import simulation.dashboard.session, simulation.dashboard.charts\n"
        "bad = [m for m in ('solara', 'ipyvuetify', 'reacton') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------- bounds (issue 19)


@pytest.mark.parametrize("name", preset_names())
def test_every_presets_controls_are_inside_the_bounds(name):
    controls, _ = controls_from_preset(name)
    assert checked_controls(controls) == controls


def test_presets_are_the_named_scenarios_only():
    assert bounds.PRESETS == tuple(preset_names())
    assert set(bounds.PRESETS) == {p.stem for p in SCENARIO_DIR.glob("*.toml")}
    assert bounds.PRESETS[0] == "default"


@pytest.mark.parametrize(
    "value",
    [
        "/etc/passwd",
        "default.toml",
        "./default",
        "../scenarios/default",
        str(SCENARIO_DIR / "default.toml"),
        "DEFAULT",
        "",
        None,
        7,
    ],
)
def test_a_preset_that_is_not_a_name_is_refused_before_anything_is_read(value, monkeypatch):
    def no_reading(*args, **kwargs):
        raise AssertionError("a file was read")

    monkeypatch.setattr(session, "load_scenario", no_reading)
    with pytest.raises(ControlError, match="choose one of default"):
        controls_from_preset(value)
    m = DashboardModel(controls=Controls(scenario=value), **SMALL)
    assert m.sim is None and "scenario" in m.problems[0] and "refused" in m.problems[0]


def test_a_preset_name_is_returned_as_the_tables_own_string():
    sent = "".join(["de", "fault"])  # equal, but not the same object
    assert bounds.checked("scenario", sent) is bounds.PRESETS[0]


@pytest.mark.parametrize("name", sorted(bounds.BOUNDS))
def test_every_bound_takes_its_ends_and_refuses_beyond_them(name):
    b = bounds.BOUNDS[name]
    assert bounds.checked(name, b.lo) == b.lo and bounds.checked(name, b.hi) == b.hi
    for bad in (b.lo - b.step, b.hi + b.step, b.hi * 1000 + 1, float("nan"), float("inf")):
        with pytest.raises(ControlError, match=f"{name} = .* refused"):
            bounds.checked(name, bad)
    for bad in (True, str(b.lo), None, [b.lo]):
        with pytest.raises(ControlError, match="refused"):
            bounds.checked(name, bad)
    if b.integer:
        assert isinstance(bounds.checked(name, float(b.lo)), int)
        with pytest.raises(ControlError, match="whole number"):
            bounds.checked(name, b.lo + 0.5)


@pytest.mark.parametrize(("name", "good"), [("policy", "search_funnel"), ("strategy", "fixed")])
def test_choices_come_from_their_registries_only(name, good):
    assert bounds.checked(name, good) == good
    for bad in (good.upper(), good + " ", "__import__('os')", 1, None):
        with pytest.raises(ControlError, match="choose one of"):
            bounds.checked(name, bad)
    assert bounds.checked("promotion", True) is True
    with pytest.raises(ControlError, match="true or false"):
        bounds.checked("promotion", 1)


@pytest.mark.parametrize(
    ("size", "words"),
    [
        ({"viewers": 1_000_000}, "viewers = 1000000 refused"),
        ({"viewers": 10**8}, "viewers = 100000000 refused"),
        ({"days": 3650}, "days = 3650 refused"),
        ({"seed": -1}, "seed = -1 refused"),
    ],
)
def test_a_run_size_outside_the_bounds_builds_nothing(size, words):
    m = DashboardModel(controls=controls_from_preset("default")[0], **{**SMALL, **size})
    assert m.sim is None and not m.running and words in m.problems[0]
    m.step()
    assert m.ticks == 0


def test_controls_outside_the_bounds_build_nothing():
    c, _ = controls_from_preset("default")
    for change in ({"daily_budget": 1e12}, {"hook": float("nan")}, {"strategy": "evil"}):
        m = DashboardModel(controls=replace(c, **change), **SMALL)
        assert m.sim is None and "refused" in m.problems[0], change


# ---------------------------------------------------------------------- stopping


def test_a_model_stops_when_its_page_is_gone_and_on_stop_all():
    page = {"connected": True}
    c, _ = controls_from_preset("default")
    m = DashboardModel(controls=c, connected=lambda: page["connected"], **SMALL)
    for _ in range(3):
        m.step()
    assert m.ticks == 3 and m.running
    page["connected"] = False
    m.step()
    assert m.ticks == 3 and not m.running and m.stopped == "its page disconnected"
    other = DashboardModel(controls=c, **SMALL)
    other.step()
    assert session.stop_all("the server is shutting down") >= 1
    other.step()
    assert other.ticks == 1 and not other.running
    assert other.stopped == "the server is shutting down"


# ---------------------------------------------------------------------- issue 19, section 4


def test_the_budget_chart_shows_what_the_strategy_set_against_spend():
    c = replace(controls_from_preset("default")[0], strategy="always_scale")
    m = DashboardModel(controls=c, **{**SMALL, "days": 3})
    while m.running:
        m.step()
    budget = charts.daily_budget(m)
    spend = charts._per_day(m, m.history["ad_spend"])
    assert len(budget) == 3 and budget[0] == c.daily_budget
    assert np.all(np.diff(budget) > 0)  # always-scale raises the budget every day ...
    assert spend[-1] < budget[-1]  # ... but the room cannot spend all of it
    # the model's own daily records hold the same budgets
    (focal,) = m.focal
    assert [r["budget"][focal] for r in m.sim.daily_records] == list(budget)
    text = charts.readout("budget", m)
    assert f"budget {budget[-1]:,.0f}" in text and "% of the budgets" in text
    fig = charts.budget_figure(m)
    assert fig.axes[0].get_title() == "Focal room: daily ad budget and spend"
    none = DashboardModel(
        controls=replace(c, strategy="none", daily_budget=0.0), **{**SMALL, "days": 1}
    )
    while none.running:
        none.step()
    texts = [t.get_text() for t in charts.budget_figure(none).axes[0].texts]
    assert any("no ad campaign" in t for t in texts)


def test_the_lorenz_label_stays_clear_of_the_title_when_the_focal_room_ranks_first():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Annotation

    m = DashboardModel(controls=controls_from_preset("default")[0], **SMALL)
    for _ in range(150):
        m.step()
    (focal,) = m.focal
    for focal_gmv in (1.0, m.sim.cum_gmv.max() * 10):  # ranks low, ranks first
        m.sim.cum_gmv[focal] = focal_gmv
        fig = charts.lorenz_figure(m)
        renderer = FigureCanvasAgg(fig).get_renderer()
        ax = fig.axes[0]
        (label,) = [t for t in ax.texts if isinstance(t, Annotation)]
        box = label.get_window_extent(renderer)
        assert not box.overlaps(ax.title.get_window_extent(renderer))
        assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)
    assert "ranks 1 of" in charts.readout("lorenz", m)


# ---------------------------------------------------------------------- the Origin rule


def _headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in values.items()]


def test_on_a_loopback_address_only_this_machines_names_and_own_origin_pass():
    guard = server.OriginGuard(app=None, host="127.0.0.1", port=8765)
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
        assert guard.refusal(_headers(host=host)) is None
        assert guard.refusal(_headers(host=host, origin=f"http://{host}")) is None
    assert "Host" in guard.refusal(_headers(host="evil.example:8765"))
    assert "Host" in guard.refusal(_headers(host="127.0.0.1:9999"))
    assert "Host" in guard.refusal([])
    for origin in ("http://evil.example", "http://localhost:8765", "null", "http://127.0.0.1"):
        assert "Origin" in guard.refusal(_headers(host="127.0.0.1:8765", origin=origin))


def test_on_a_network_address_any_name_passes_but_only_with_its_own_origin():
    guard = server.OriginGuard(app=None, host="0.0.0.0", port=8765)
    assert guard.refusal(_headers(host="classroom.lan:8765")) is None
    for origin in ("http://classroom.lan:8765", "https://classroom.lan:8765"):
        assert guard.refusal(_headers(host="classroom.lan:8765", origin=origin)) is None
    assert "Origin" in guard.refusal(
        _headers(host="classroom.lan:8765", origin="http://evil.example")
    )
    assert server.allowed_hosts("192.168.1.5", 8765) is None
    assert server.allowed_hosts("::1", 80) >= {"[::1]", "localhost", "127.0.0.1:80"}


# ---------------------------------------------------------------------- issue 22: profit


def test_the_dashboard_reads_profit_when_the_scenario_books_it():
    """Issue 22: strategies, operators, studies *and the dashboard* read profit. Under a
    preset with ``economics.profit_accounting`` the summary, the status line and the GMV
    readout report the focal room's profit over the completed days, equal to the model's own
    day records; without it they say nothing about profit."""
    m = DashboardModel(controls=controls_from_preset("mixed")[0], **{**SMALL, "days": 2})
    assert m.sim.config.economics.profit_accounting
    assert m.summary()["profit"] is None or m.summary()["profit_days"] == 0
    assert "booked at the end of day 1" in status_line(m)
    while m.running:
        m.step()
    (focal,) = m.focal
    want = sum(float(r["profit"][focal]) for r in m.sim.daily_records)
    s = m.summary()
    assert s["profit_days"] == 2 and s["profit"] == pytest.approx(want)
    assert list(m.daily_profit()) == [float(r["profit"][focal]) for r in m.sim.daily_records]
    assert f"profit {want:,.0f} yuan over 2 completed days" in status_line(m)
    assert f"profit {want:,.0f} yuan over 2 day(s)" in charts.readout("gmv", m)
    fig = charts.gmv_figure(m)
    assert any(line.get_label() == "profit" for line in fig.axes[0].get_lines())
    plain = DashboardModel(controls=controls_from_preset("v1")[0], **{**SMALL, "days": 1})
    while plain.running:
        plain.step()
    assert plain.summary()["profit"] is None and plain.daily_profit() is None
    assert "profit" not in status_line(plain) and "profit" not in charts.readout("gmv", plain)
