"""Loop gains (simulation/loop_gains.py): the elasticity estimator on synthetic data with a
known elasticity, the window log and its pairs, fans' GPM multiple on scripted impressions,
the run summary, the day metrics, the dashboard card, and byte-identical reruns."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from simulation import api, loop_gains
from simulation.behaviour import FOLLOW, FREE, Impressions, Outcome
from simulation.cli import main
from simulation.dashboard.session import DashboardModel, loop_gains_lines
from simulation.loop_gains import (
    LOOP_GAIN_COLUMNS,
    LOOP_GAIN_METRICS,
    WindowLog,
    elasticity,
    fan_gains,
    window_pairs,
)
from simulation.model import SnowballModel

from conftest import small

TRUE_B = 0.8


def ar1(rng, n, rho, sd):
    e = np.empty(n)
    e[0] = rng.normal(0, sd / math.sqrt(1 - rho**2))
    for i in range(1, n):
        e[i] = rho * e[i - 1] + rng.normal(0, sd)
    return e


def synthetic_room(seed, spells=10, per=8):
    """A room with ``spells`` live spells of ``per`` windows: log uplift persists across
    spells (AR(1), rho 0.9), a log platform-volume control with its own effect, and errors
    AR(1) within a spell (rho 0.6), independent between spells (hours off air)."""
    rng = np.random.default_rng(seed)
    n = spells * per
    x = ar1(rng, n, 0.9, 0.15)
    v = np.log(1000 + 500 * np.sin(np.arange(n) / 3)) + rng.normal(0, 0.05, n)
    e = np.concatenate([ar1(rng, per, 0.6, 0.3) for _ in range(spells)])
    return 2.0 + TRUE_B * x + 1.0 * v + e, x, v, np.repeat(np.arange(spells), per)


def test_one_room_elasticity_recovers_a_known_slope_with_honest_intervals():
    """200 synthetic rooms of 10 spells each: the 95% interval clustered by spell must cover
    the true slope in 88-99% of them (binomial band around 0.95 at n = 200; measured 93%
    with 400 rooms), where the plain OLS interval (each window its own cluster) covers
    clearly less (< 85%; measured 77%); the mean estimate lies within 0.03 of the truth."""
    hits, plain, est = 0, 0, []
    for seed in range(200):
        y, x, v, spell = synthetic_room(seed)
        r = elasticity(y, x, v, cluster=spell)
        est.append(r["estimate"])
        hits += r["low"] <= TRUE_B <= r["high"]
        assert r["n"] == 80 and r["clusters"] == 10 and r["low"] < r["estimate"] < r["high"]
        p = elasticity(y, x, v)
        plain += p["low"] <= TRUE_B <= p["high"]
    assert 0.88 <= hits / 200 <= 0.99, hits
    assert plain / 200 < 0.85, plain
    assert abs(np.mean(est) - TRUE_B) < 0.03


def test_pooled_elasticity_removes_room_levels_that_fool_plain_ols():
    """Rooms whose traffic level and uplift level go together (good rooms are both bigger and
    better): OLS without room effects is biased upwards; the fixed-effects estimate recovers
    the within-room slope and its room-clustered interval covers it in 88-99% of 100
    replicates. One room is no pooled estimate."""
    hits, naive = 0, []
    for seed in range(100):
        rng = np.random.default_rng(1000 + seed)
        rooms = 30
        level = rng.normal(0, 1, rooms)
        g = np.repeat(np.arange(rooms), 40)
        x = 0.5 * level[g] + rng.normal(0, 0.2, len(g))
        y = 3 * level[g] + TRUE_B * x + rng.normal(0, 0.3, len(g))
        r = elasticity(y, x, cluster=g, fixed_effects=g)
        hits += r["low"] <= TRUE_B <= r["high"]
        assert r["clusters"] == rooms
        naive.append(elasticity(y, x, cluster=g)["estimate"])
    assert 0.88 <= hits / 100 <= 0.99, hits
    assert np.mean(naive) > TRUE_B + 1  # plain OLS confounds room levels with uplift
    one = elasticity(np.arange(10.0), np.arange(10.0), cluster=np.zeros(10))
    assert math.isnan(one["estimate"]) and one["clusters"] == 1


def test_no_variation_or_too_few_points_is_nan_not_a_number():
    assert math.isnan(elasticity(np.arange(5.0), np.ones(5))["estimate"])
    assert math.isnan(elasticity(np.arange(2.0), np.arange(2.0))["estimate"])
    assert math.isnan(elasticity(np.empty(0), np.empty(0))["estimate"])


class FakeModel:
    """What WindowLog.record reads: steps, last tick's free impressions, value."""

    def __init__(self, n):
        self.steps = 0
        self.value = np.ones(n)
        self.last_tick = {"free_impressions": np.zeros(n)}


def test_the_window_log_pairs_free_traffic_with_the_uplift_at_the_end_of_the_window_before():
    """Windows of 3 ticks, 7 ticks a day (the last window of the day is 1 tick). Stream 0 is
    live throughout, stream 1 misses one tick of window 1, stream 2 is never live."""
    fm, log = FakeModel(3), WindowLog(3, 3, 7)
    live_at = {t: np.array([True, t != 4, False]) for t in range(14)}
    for t in range(14):
        fm.steps = t + 1
        fm.value = np.array([1.0 + t, 2.0, 3.0])  # the value computed at the tick's start
        fm.last_tick = {"free_impressions": np.array([10.0 * (t + 1), 1.0, 5.0])}
        log.record(fm, live_at[t])
    tab = log.table()
    s0 = tab[tab["stream"] == 0]
    assert s0["window"].tolist() == [0, 1, 2, 3, 4, 5]  # windows 0-2 on day 0, 3-5 on day 1
    assert s0["free_impressions"].tolist() == [60.0, 150.0, 70.0, 270.0, 360.0, 140.0]
    assert s0["uplift"].tolist() == [1.0, 4.0, 7.0, 8.0, 11.0, 14.0]  # value at window start
    assert tab[tab["stream"] == 1]["window"].tolist() == [0, 2, 3, 4, 5]
    assert 2 not in set(tab["stream"])
    assert (tab["platform_free"] > tab["free_impressions"]).all()
    pairs = window_pairs(tab)
    p0 = pairs[pairs["stream"] == 0]
    assert p0["window"].tolist() == [1, 2, 3, 4, 5]
    assert p0["spell"].tolist() == [0, 0, 0, 0, 0]  # live through midnight: one spell
    np.testing.assert_allclose(p0["y"], np.log([150.0, 70.0, 270.0, 360.0, 140.0]))
    np.testing.assert_allclose(p0["x"], np.log([4.0, 7.0, 8.0, 11.0, 14.0]))
    # stream 1: window 1 was not live throughout, so neither (0, 1) nor (1, 2) is a pair
    p1 = pairs[pairs["stream"] == 1]
    assert p1["window"].tolist() == [3, 4, 5] and p1["spell"].tolist() == [0, 0, 0]


def test_windows_without_free_traffic_are_left_out_and_counted():
    log = pd.DataFrame(
        {
            "window": [0, 1, 2, 3, 7, 8, 9],
            "stream": [4] * 7,
            "free_impressions": [5.0, 0.0, 7.0, 9.0, 3.0, 4.0, 2.0],
            "uplift": [1.0, 1.2, 0.9, 1.1, 1.0, 1.0, 1.3],
            "platform_free": [100.0] * 7,
        }
    )
    pairs = window_pairs(log)
    assert pairs["window"].tolist() == [2, 3, 8, 9]
    assert pairs["spell"].tolist() == [0, 0, 1, 1]  # a gap of windows starts a new spell
    assert pairs.attrs["zero_windows"] == {4: 1}


def scripted_tick(model):
    """One tick to stream 0: 10 fan impressions (4 buyers at 50 yuan) and 90 other
    impressions (6 buyers at 30 yuan); one fan impression is a follow-channel slot."""
    n = 100
    stream = np.zeros(n, np.int64)
    source = np.full(n, FREE, np.int8)
    source[0] = FOLLOW
    imp = Impressions(
        np.arange(n, dtype=np.int64), stream, source, np.arange(n), np.zeros(n, np.float32),
        np.full(n, -1, np.int64), np.zeros(n),
    )  # fmt: skip
    is_fan = np.arange(n) < 10
    bought = np.isin(np.arange(n), [0, 1, 2, 3, 10, 11, 12, 13, 14, 15])
    price = np.where(bought, np.where(is_fan, 50.0, 30.0), 0.0)
    out = Outcome(
        bought.copy(), np.where(bought, 2.0, 0.0), np.zeros(model.table.n), bought, price,
        price * 0.2, is_fan, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0),
    )  # fmt: skip
    return imp, out


def test_fan_orders_and_gmv_and_the_fan_gpm_multiple_on_a_scripted_tick():
    model = SnowballModel(small(days=1), seed=1)
    imp, out = scripted_tick(model)
    sums = model._tally(imp, out)
    assert sums["fan_orders"][0] == 4.0 and sums["fan_gmv"][0] == 200.0
    assert sums["orders"][0] == 10.0 and sums["gmv"][0] == 380.0
    assert sums["fan_orders"].dtype == sums["fan_gmv"].dtype == np.float64
    assert sums["fan_orders"][1:].sum() == 0
    g = fan_gains(
        sums["gmv"][:1], np.array([100.0]), sums["fan_gmv"][:1], sums["fan_impressions"][:1]
    )
    # fans: 200 yuan / 10 impressions = 20,000 per mille; others: 180 / 90 = 2,000
    np.testing.assert_allclose(g["fan_gpm"], [20_000.0])
    np.testing.assert_allclose(g["other_gpm"], [2_000.0])
    np.testing.assert_allclose(g["fan_gpm_multiple"], [10.0])
    np.testing.assert_allclose(g["fan_share"], [0.1])
    none = fan_gains(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1))
    assert all(np.isnan(v[0]) for v in none.values())


@pytest.fixture(scope="module")
def run_a():
    return api.run(small(days=2), seed=3)


def test_the_run_tables_carry_fan_sums_and_one_loop_gain_row_per_room(run_a):
    st, lg = run_a.streams, run_a.loop_gains
    assert st["fan_orders"].dtype == st["fan_gmv"].dtype == np.float64  # the digest hashes int64
    assert (st["fan_orders"] <= st["orders"]).all() and (st["fan_gmv"] <= st["gmv"] + 1e-9).all()
    assert st["fan_orders"].sum() > 0 and (st["fan_orders"] % 1 == 0).all()
    assert list(lg.columns) == list(LOOP_GAIN_COLUMNS)
    assert lg["stream"].tolist() == list(range(run_a.model.table.n))
    assert lg["stream"].dtype == np.int64
    assert all(lg[c].dtype == np.float64 for c in LOOP_GAIN_COLUMNS[2:])
    by = st.groupby("stream")[["gmv", "impressions", "fan_gmv", "fan_impressions"]].sum()
    expect = fan_gains(*(by[c].to_numpy() for c in by.columns))
    np.testing.assert_allclose(lg["fan_gpm_multiple"], expect["fan_gpm_multiple"])
    np.testing.assert_allclose(lg["fan_share"], expect["fan_share"])
    assert lg["created_share"].isna().all()  # no created_orders field: not measured
    measured = lg.dropna(subset=["uplift_elasticity"])
    assert len(measured) > 0
    assert (measured["window_pairs"] >= loop_gains.MIN_PAIRS).all()
    assert (measured["live_spells"] >= 2).all()
    assert (measured["uplift_elasticity_low"] < measured["uplift_elasticity"]).all()
    assert (measured["uplift_elasticity"] < measured["uplift_elasticity_high"]).all()


def test_reruns_are_byte_identical_and_other_seeds_differ(run_a):
    again = api.run(small(days=2), seed=3)
    pd.testing.assert_frame_equal(again.loop_gains, run_a.loop_gains)
    pd.testing.assert_frame_equal(again.streams, run_a.streams)
    other = api.run(small(days=2), seed=4)
    assert not other.loop_gains.equals(run_a.loop_gains)


def test_created_share_is_read_from_created_orders_when_the_run_has_them():
    """With content able to create demand (latent needs and interest drift on), the share is
    the exact ratio of the room's created orders to its orders, day sums over the run."""
    model = SnowballModel(
        small(days=1, **{"platform.latent_needs": True, "platform.interest_drift": True}), seed=2
    )
    model.add_metrics(*(m() for m in LOOP_GAIN_METRICS))
    model.run_days()
    st = api.streams_table(model)
    table = loop_gains.room_table(model, st)
    orders = st.groupby("stream")["orders"].sum().to_numpy()
    created = st.groupby("stream")["created_orders"].sum().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(
            table["created_share"], np.where(orders > 0, created / orders, np.nan)
        )
    assert (table["created_share"].dropna() > 0).any()
    days = api.days_table(model)
    focal = st[st["group"] == "focal"]
    expected = focal["created_orders"].sum() / focal["orders"].sum()
    assert days["focal_created_share"].iloc[0] == pytest.approx(expected)


def test_day_metrics_report_the_focal_rooms_gains(run_a):
    res = api.run(small(days=2), seed=3, metrics=tuple(m() for m in LOOP_GAIN_METRICS))
    pd.testing.assert_frame_equal(res.streams, run_a.streams)  # metrics only read
    d = res.days
    assert list(d.columns) == ["day", *(m.name for m in LOOP_GAIN_METRICS)]
    focal = res.streams[res.streams["group"] == "focal"].set_index("day")
    np.testing.assert_allclose(
        d["focal_fan_share"], focal["fan_impressions"] / focal["impressions"]
    )
    g = fan_gains(*(focal[c].to_numpy() for c in ("gmv", "impressions", "fan_gmv",
                                                   "fan_impressions")))  # fmt: skip
    np.testing.assert_allclose(d["focal_fan_gpm_multiple"], g["fan_gpm_multiple"])
    assert d["focal_created_share"].isna().all()
    row = res.loop_gains[res.loop_gains["group"] == "focal"].iloc[0]
    last = d["focal_uplift_elasticity"].iloc[-1]
    assert last == pytest.approx(row["uplift_elasticity"], nan_ok=True)


def test_snowball_run_prints_the_focal_rooms_loop_gains_and_writes_the_table(tmp_path, capsys):
    out = tmp_path / "run"
    sets = ["--set", "population.viewers=3000", "--set", "streams.field.count=24"]
    args = ["run", "v1", *sets, "--days", "2", "--seed", "3", "--out", str(out), "-q"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "loop gains of the focal room:" in text
    assert "free-traffic elasticity to uplift" in text
    assert "fans' GPM" in text and "multiple" in text
    assert "created demand: not measured" in text
    assert "all rooms pooled (room fixed effects)" in text
    table = pd.read_parquet(out / "loop_gains.parquet")
    man = json.loads((out / "manifest.json").read_text())
    assert man["rows"]["loop_gains"] == len(table)
    assert list(table.columns) == ["scenario", "seed", "run_id", *LOOP_GAIN_COLUMNS]


def test_the_dashboard_card_shows_the_same_gains_as_the_run_table():
    m = DashboardModel(viewers=3000, days=2, seed=5)
    before = loop_gains_lines(m)
    assert "not measured yet" in before[0] and "no impressions yet" in before[1]
    while m.running:
        m.step()
    g = m.loop_gains()
    res = api.run(m.config, seed=5)
    row = res.loop_gains.iloc[int(m.focal[0])]
    for key in (
        "uplift_elasticity",
        "fan_gpm_multiple",
        "fan_share",
        "window_pairs",
        "live_spells",
    ):
        assert g[key] == pytest.approx(row[key], nan_ok=True), key
    lines = loop_gains_lines(m)
    # version 2's default preset has latent needs on: created demand is measured
    assert len(lines) == 3 and lines[2].startswith("Created demand: ")
    assert "not measured" not in lines[2] and "of the room's orders" in lines[2]
    if math.isfinite(g["fan_gpm_multiple"]):
        assert f"{g['fan_gpm_multiple']:.2f}x" in lines[1]
