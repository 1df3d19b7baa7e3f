"""Run-of-show (behaviour.run_of_show, docs/MODEL.md 7.18): the script, the item on air,
entry lifts by the item on air, cross-selling within a visit, and items.parquet."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation import api
from simulation.config import load_scenario
from simulation.run_of_show import ROLES, RunOfShow

ON = {"behaviour.run_of_show": True, "population.viewers": 3000}


def show(mix, cycle=60.0, tick=10.0):
    s = RunOfShow(cycle, tick, len(mix))
    s.set_mix(np.asarray(mix, dtype=float))
    return s


def test_item_on_air_by_minute():
    s = show([[0.5, 0.35, 0.15]])
    minutes = np.array([0, 29.9, 30, 50.9, 51, 59.9, 60, 95, 119.99])
    expect = [0, 0, 1, 1, 2, 2, 0, 1, 2]
    assert s.on_air(np.zeros(len(minutes), dtype=int), minutes).tolist() == expect


def test_an_item_with_no_airtime_is_never_on_air():
    s = show([[0.6, 0.0, 0.4], [0.7, 0.3, 0.0]])
    m = np.linspace(0, 240, 2001)[:-1]
    assert set(s.on_air(np.zeros(len(m), dtype=int), m).tolist()) == {0, 2}
    assert set(s.on_air(np.ones(len(m), dtype=int), m).tolist()) == {0, 1}


def test_overlap_splits_a_visit_by_the_items_on_air():
    s = show([[0.5, 0.35, 0.15]])  # 30 / 21 / 9 minutes
    ov = s.overlap(np.zeros(3, dtype=int), np.array([25.0, 0.0, 55.0]), np.array([30, 120, 10.0]))
    np.testing.assert_allclose(ov[0], [5, 21, 4])
    np.testing.assert_allclose(ov[1], [60, 42, 18])  # two whole passes
    np.testing.assert_allclose(ov[2], [5, 0, 5])  # wraps into the next pass


def test_tally_takes_the_placements_impression_counts():
    """The impressions per (room, item) counted by ``place`` and handed to ``tally`` give
    the day counts ``tally`` makes by counting the impressions itself."""
    rng = np.random.default_rng(5)
    mix, clock = rng.dirichlet(np.ones(3), 6), rng.integers(0, 30, 6) * 10.0
    counted, handed = show(mix), show(mix)
    for s in (counted, handed):
        s.clock[:] = clock
    for _ in range(3):
        stream = rng.integers(0, 6, 500)
        u = rng.random(500, dtype=np.float32)
        entered = rng.random(500) < 0.2
        o = rng.integers(0, 500, 9)
        price = rng.uniform(1, 50, 9)
        for s in (counted, handed):
            item, placed = s.place(stream, u)
            orders = (stream[o], item[o], item[o], price, price / 3)
            s.tally(stream, item, entered, *orders, impressions=placed if s is handed else None)
    for f, x in counted.day.items():
        np.testing.assert_array_equal(handed.day[f], x)
    assert counted.day["impressions"].sum() == 1500 and counted.day["entries"].sum() > 0


@settings(max_examples=60, deadline=None)
@given(
    mix=st.lists(st.floats(0, 1), min_size=3, max_size=3).filter(lambda x: sum(x) > 0.01),
    cycle=st.floats(1, 500),
    live=st.lists(st.booleans(), min_size=1, max_size=80),
)
def test_airtime_shares_sum_to_the_time_on_air(mix, cycle, live):
    mix = np.asarray(mix) / sum(mix)
    s = show([mix], cycle=cycle, tick=10.0)
    for x in live:
        on = np.array([x])
        s.begin_tick(on)
        s.end_tick(on)
    air = s.day["airtime_minutes"]
    assert air.sum() == pytest.approx(10.0 * sum(live), abs=1e-6)
    assert (air >= -1e-9).all()


@pytest.fixture(scope="module")
def on_run():
    return api.run("v1", seed=3, days=2, overrides=ON)


def test_items_table_sums_equal_the_streams_table(on_run):
    it, stt = on_run.items, on_run.streams
    assert set(it["role"].unique()) <= set(ROLES)
    g = it.groupby(["stream", "day"])[["entries", "orders", "gmv", "margin"]].sum()
    s = stt.set_index(["stream", "day"])[["entries", "orders", "gmv", "margin"]].loc[g.index]
    assert g["orders"].sum() > 100
    np.testing.assert_array_equal(g["entries"].to_numpy(), s["entries"].to_numpy())
    np.testing.assert_array_equal(g["orders"].to_numpy(), s["orders"].to_numpy())
    np.testing.assert_allclose(g["gmv"].to_numpy(), s["gmv"].to_numpy(), atol=1e-6)
    np.testing.assert_allclose(g["margin"].to_numpy(), s["margin"].to_numpy(), atol=1e-6)
    imp = it.groupby(["stream", "day"])["impressions"].sum()
    np.testing.assert_array_equal(
        imp.to_numpy(), stt.set_index(["stream", "day"])["impressions"].loc[imp.index].to_numpy()
    )
    # airtime: ticks live x tick minutes, split by the script
    air = it.groupby(["stream", "day"])["airtime_minutes"].sum()
    live = stt.set_index(["stream", "day"])["live_minutes"].loc[air.index]
    np.testing.assert_allclose(air.to_numpy(), live.to_numpy(), atol=1e-6)


def test_reruns_with_the_show_on_are_byte_identical(on_run):
    again = api.run("v1", seed=3, days=2, overrides=ON)
    pd.testing.assert_frame_equal(on_run.items, again.items)
    pd.testing.assert_frame_equal(on_run.streams, again.streams)


def test_off_writes_no_items_table():
    r = api.run("v1", seed=3, days=1, overrides={"population.viewers": 2000})
    assert r.items is None and "items" not in r.tables


def test_drivers_raise_entries_while_on_air():
    lifts = {"behaviour.role_entry_lift": [2.0, -2.0, -2.0]}
    r = api.run("v1", seed=5, days=2, overrides={**ON, **lifts})
    by = r.items.groupby("role", observed=True)[["impressions", "entries"]].sum()
    rate = by["entries"] / by["impressions"]
    assert by["impressions"].min() > 500
    assert rate["driver"] > 3 * rate["profit"] and rate["driver"] > 3 * rate["welfare"]


def test_a_visit_spanning_items_can_buy_a_later_item():
    # Only the welfare item sells; long visits and a short script, so that many entrants
    # who came in on the driver or profit item stay into the welfare item.
    over = {
        **ON,
        "behaviour.role_appeal": [0.0, 0.0, 3.0],
        "behaviour.show_cycle_minutes": 6.0,
        "behaviour.dwell_mean_minutes": 6.0,
    }
    r = api.run("v1", seed=7, days=2, overrides=over)
    by = r.items.groupby("role", observed=True)[["orders", "cross_sell_orders"]].sum()
    assert by.loc["driver", "orders"] == 0 and by.loc["profit", "orders"] == 0
    assert by.loc["welfare", "cross_sell_orders"] > 0.2 * by.loc["welfare", "orders"] > 0


# --------------------------------------------------------------------------------------------
# The validation case


def _case(seed: int, overrides: dict | None = None):
    from simulation import validation
    from simulation.config import load_scenario

    sc = load_scenario(validation.VALIDATION_DIR / "run_of_show.toml", overrides=overrides)
    out = validation._run_of_show([sc], {"runs": 1}, np.random.SeedSequence(seed))
    return validation.evaluate(out.measurements).set_index("quantity")


def test_validation_case_passes_and_its_theory_follows_the_scenario():
    t = _case(
        1, {"behaviour.role_entry_lift": [1.0, -1.0, 0.0], "streams.room.mix": [0.2, 0.5, 0.3]}
    )
    assert (t["verdict"] == "pass").all(), t[["theory", "verdict"]]
    assert t.loc["share of impressions on the welfare item", "theory"] == pytest.approx(0.3)


def test_validation_case_fails_when_the_closed_form_is_off(monkeypatch):
    """Negative control: entry rates off by a logit of 0.2 and purchase probabilities off by
    20 % are rejected."""
    from simulation import validation_run_of_show as case

    rates, matrix = case.entry_rates, case.purchase_matrix
    monkeypatch.setattr(
        case, "entry_rates", lambda sc, h: 1 / (1 + (1 / rates(sc, h) - 1) * np.exp(-0.2))
    )
    monkeypatch.setattr(case, "purchase_matrix", lambda *a, **k: 1.2 * matrix(*a, **k))
    t = _case(2)
    bad = t[~t.index.str.startswith("share")]
    assert (bad["verdict"] == "fail").all(), bad[["theory", "verdict"]]


def test_snowball_run_writes_items_parquet_with_the_run_keys(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    argv = ["run", "v1", "--set", "population.viewers=800", "--set", "behaviour.run_of_show=true"]
    argv += ["--days", "1", "-q", "--out", str(out)]
    r = subprocess.run([sys.executable, "-m", "simulation", *argv], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    items = pd.read_parquet(out / "items.parquet")
    streams = pd.read_parquet(out / "streams.parquet")
    assert list(items.columns[:3]) == ["scenario", "seed", "run_id"]
    assert items["run_id"].iloc[0] == streams["run_id"].iloc[0]
    assert items["orders"].sum() == streams["orders"].sum()
    # the folder is the run's own: a rerun with the switch off replaces it
    off = ["run", "v1", "--set", "population.viewers=800", "--days", "1", "-q", "--out", str(out)]
    r = subprocess.run([sys.executable, "-m", "simulation", *off], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not (out / "items.parquet").exists()


def test_item_returns_add_up_to_the_rooms_returns():
    r = api.run("v1", seed=4, days=2, overrides={**ON, "economics.returns": True})
    by_room = r.items.groupby(["stream", "day"])["returns"].sum()
    rooms = r.streams.set_index(["stream", "day"])["returns"].loc[by_room.index]
    assert rooms.sum() > 20
    np.testing.assert_array_equal(by_room.to_numpy(), rooms.to_numpy())


@pytest.mark.parametrize("policy", ["search_funnel", "mixed", "private_values", "urn"])
def test_items_add_up_under_every_policy(policy):
    r = api.run("v1", seed=2, days=1, overrides={**ON, "policy": policy})
    it, s = r.items, r.streams
    assert it["orders"].sum() == s["orders"].sum() > 0
    assert it["airtime_minutes"].sum() == pytest.approx(s["live_minutes"].sum())


# ------------------------------------------------------------------ explicit item scripts

SCRIPT = {"streams.focal.script_roles": ["driver", "profit", "driver", "welfare"]}
SCRIPT_MINUTES = {"streams.focal.script_minutes": [10.0, 20.0, 5.0, 8.0]}


def scripted_show():
    s = show([[0.3, 0.55, 0.15], [0.3, 0.55, 0.15]])
    s.set_scripts(np.array([1]), [0, 1, 0, 2], [10.0, 20.0, 5.0, 8.0])
    mix = s.script_mix()
    mix[0] = [0.3, 0.55, 0.15]  # room 0 keeps its default script
    s.set_mix(mix)
    return s


def test_an_explicit_script_runs_its_items_in_order_for_their_minutes():
    s = scripted_show()
    assert s.k == 4 and s.n_items.tolist() == [3, 4] and s.cycle.tolist() == [60.0, 43.0]
    np.testing.assert_allclose(s.script_mix()[1], [15 / 43, 20 / 43, 8 / 43])
    np.testing.assert_allclose(s.length[1], [10, 20, 5, 8])
    np.testing.assert_allclose(s.length[0], [18, 33, 9, 0])  # the default script, padded
    minutes = np.array([0, 9.9, 10, 29.9, 30, 34.9, 35, 42.9, 43, 53])
    item = s.on_air(np.ones(len(minutes), dtype=int), minutes)
    assert item.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 0, 1]
    assert s.role_of(np.ones(len(item), dtype=int), item).tolist() == [0, 0, 1, 1, 0, 0, 2, 2, 0, 1]
    ov = s.overlap(np.ones(2, dtype=int), np.array([5.0, 0.0]), np.array([30.0, 86.0]))
    np.testing.assert_allclose(ov, [[5, 20, 5, 0], [20, 40, 10, 16]])
    assert s.on_air(np.zeros(3, dtype=int), np.array([0.0, 50.0, 59.99])).tolist() == [0, 1, 2]


def test_a_new_mix_scales_a_script_keeping_each_roles_items_in_proportion():
    s = scripted_show()
    s.set_mix(np.array([[0.3, 0.55, 0.15], [0.6, 0.3, 0.1]]))
    np.testing.assert_allclose(s.length[1], [43 * 0.6 * 2 / 3, 43 * 0.3, 43 * 0.6 / 3, 4.3])
    assert s.length[1].sum() == pytest.approx(43)
    s.set_scripts(np.array([0]), [1, 1], [30.0, 10.0])  # no driver, no welfare item
    s.set_mix(np.array([[0.3, 0.55, 0.15], [0.6, 0.3, 0.1]]))
    np.testing.assert_allclose(s.length[0], [30, 10, 0, 0])  # all the pass to the profit items


@pytest.fixture(scope="module")
def scripted_run():
    return api.run("v1", seed=2, days=2, overrides={**ON, **SCRIPT, **SCRIPT_MINUTES})


def test_items_table_has_a_row_per_item_of_an_explicit_script(scripted_run):
    it, stt = scripted_run.items, scripted_run.streams
    focal = it[it["stream"] == 0]
    assert focal.groupby("day")["item"].apply(list).tolist() == [[0, 1, 2, 3]] * 2
    assert focal["role"].astype(str).tolist()[:4] == ["driver", "profit", "driver", "welfare"]
    others = it[it["stream"] == 1]
    assert others.groupby("day")["item"].apply(list).tolist() == [[0, 1, 2]] * 2
    # 240 minutes on air: 5 passes of 43 minutes and 25 minutes of the sixth
    day0 = focal[focal["day"] == 0]["airtime_minutes"].to_numpy()
    np.testing.assert_allclose(day0, [5 * 10 + 10, 5 * 20 + 15, 5 * 5, 5 * 8])
    g = it.groupby(["stream", "day"])[["entries", "orders", "gmv", "airtime_minutes"]].sum()
    s = stt.set_index(["stream", "day"]).loc[g.index]
    np.testing.assert_array_equal(g["entries"].to_numpy(), s["entries"].to_numpy())
    np.testing.assert_array_equal(g["orders"].to_numpy(), s["orders"].to_numpy())
    np.testing.assert_allclose(g["gmv"].to_numpy(), s["gmv"].to_numpy(), atol=1e-6)
    np.testing.assert_allclose(g["airtime_minutes"].to_numpy(), s["live_minutes"].to_numpy())
    assert (focal.groupby("item")["entries"].sum() > 0).all()
    np.testing.assert_allclose(scripted_run.model.table.mix[0], [15 / 43, 20 / 43, 8 / 43])


def test_an_explicit_scripts_prices_follow_each_items_role(scripted_run):
    focal = scripted_run.items[scripted_run.items["stream"] == 0]
    per = focal.groupby("item")[["gmv", "orders"]].sum()
    price = 120.0 * np.asarray(load_scenario("v1").behaviour.role_price)
    sold = per["orders"] > 0
    np.testing.assert_allclose(
        (per["gmv"] / per["orders"])[sold].to_numpy(), price[[0, 1, 0, 2]][sold.to_numpy()]
    )
