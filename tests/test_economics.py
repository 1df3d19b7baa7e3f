"""Profit accounting (simulation/economics.py): the terms, their invariants, the switches
off = version 1, reproducibility with them on, and profit where ROI is shown."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation import api
from simulation.config import ConfigError, EconomicsConfig, load_scenario
from simulation.economics import (
    COST_TERMS,
    PROFIT_FIELDS,
    Economics,
    breakeven_roi,
    contribution,
)
from simulation.model import RNG_COMPONENTS, SnowballModel
from simulation.strategies import CampaignDay

from conftest import small

ON = {"economics.profit_accounting": True, "economics.returns": True}


class _Table:
    """The few StreamTable attributes Economics reads: stream 0 a field room, stream 1 an
    alliance room selling stream 0's products, stream 2 an alliance room selling its own."""

    n = 3
    quality = np.array([0.9, 0.7, 0.5])
    kind = np.array([0, 1, 1])
    merchant_room = np.array([0, 0, -1])
    presented_quality = np.array([-1.0, -1.0, -1.0])


def _day(**kw):
    base = {k: np.zeros(3) for k in ("gmv", "margin", "ad_spend")}
    base.update({k: np.asarray(v, dtype=float) for k, v in kw.items()})
    return base


def test_profit_terms_by_hand():
    cfg = EconomicsConfig(
        profit_accounting=True,
        returns=True,
        platform_fee_rate=0.05,
        commission_rate=0.2,
        host_cost_per_hour=100.0,
        return_handling_cost=10.0,
        restock_share=0.5,
    )
    ec = Economics(cfg, _Table(), ticks_per_hour=6)
    ec.invest(np.array([300.0, 0.0, 0.0]))
    ec.start_day()
    day = _day(
        gmv=[1000, 500, 200],
        margin=[300, 100, 50],
        ad_spend=[100, 0, 0],
        returns=[2, 1, 0],
        refunds=[200, 50, 0],
        returned_cost=[140, 40, 0],
    )
    t = ec.profit_terms(day, live_ticks=np.array([24, 24, 12]))
    # stream 0: its own room, 4 live hours
    assert t["cogs"][0] == pytest.approx(700 - 0.5 * 140)
    assert t["platform_fees"][0] == pytest.approx(0.05 * 800)
    assert t["commission"][0] == 0
    assert t["return_handling"][0] == 20
    assert t["host_cost"][0] == 400
    assert t["capacity_cost"][0] == 300
    assert t["profit"][0] == pytest.approx(1000 - 200 - 630 - 40 - 0 - 20 - 100 - 400 - 300)
    # stream 1 sells stream 0's goods: commission on net GMV, no host cost
    assert t["commission"][1] == pytest.approx(0.2 * 450)
    assert t["host_cost"][1] == 0
    assert t["profit"][1] == pytest.approx(500 - 50 - (400 - 20) - 22.5 - 90 - 10)
    # stream 2 sells its own selection: a host, no commission
    assert t["commission"][2] == 0 and t["host_cost"][2] == 200
    # the investment is booked once
    ec.start_day()
    assert ec.profit_terms(day, np.zeros(3))["capacity_cost"][0] == 0


@settings(max_examples=60, deadline=None)
@given(
    gmv=st.lists(st.floats(0, 1e6), min_size=3, max_size=3),
    returned=st.lists(st.floats(0, 1), min_size=3, max_size=3),
    margin_share=st.floats(-0.5, 0.9),
    fee=st.floats(0, 1),
    commission=st.floats(0, 1),
    restock=st.floats(0, 1),
    handling=st.floats(0, 100),
    ad=st.floats(0, 1e5),
)
def test_profit_terms_add_up(gmv, returned, margin_share, fee, commission, restock, handling, ad):
    cfg = EconomicsConfig(
        platform_fee_rate=fee,
        commission_rate=commission,
        restock_share=restock,
        return_handling_cost=handling,
    )
    ec = Economics(cfg, _Table(), ticks_per_hour=6)
    gmv = np.asarray(gmv)
    refunds = gmv * np.asarray(returned)
    day = _day(
        gmv=gmv,
        margin=gmv * margin_share,
        ad_spend=[ad, 0, ad],
        returns=np.round(np.asarray(returned) * 10),
        refunds=refunds,
        returned_cost=refunds * (1 - margin_share),
    )
    t = ec.profit_terms(day, np.array([24, 0, 6]))
    t["ad_spend"] = day["ad_spend"]
    total = sum(t[k] for k in COST_TERMS)
    scale = gmv + total + 1
    assert np.all(np.abs(t["profit"] - (gmv - total)) <= 1e-9 * scale)
    assert np.all(t["refunds"] <= gmv)
    assert np.all(t["commission"] >= 0) and np.all(t["platform_fees"] >= 0)
    assert np.all(t["cogs"] >= -1e-9 * scale)


@pytest.fixture(scope="module")
def run_on():
    sc = small("v1", **ON, **{"streams.alliance.merchant": "focal"})
    return api.run(sc, seed=5)


def test_model_accounts_hold_in_every_row(run_on):
    s = run_on.streams
    for c in PROFIT_FIELDS:
        assert c in s and s[c].dtype == np.float64
    cost = sum(s[c] for c in COST_TERMS)
    assert np.allclose(s["profit"], s["gmv"] - cost, rtol=1e-12, atol=1e-6)
    assert (s["refunds"] <= s["gmv"]).all() and (s["returns"] <= s["orders"]).all()
    assert (s["commission"] >= 0).all() and (s["commission"] > 0).any()
    # commission only where an alliance room sells the focal merchant's products
    assert (s.loc[s["kind"] != "alliance", "commission"] == 0).all()
    assert (s.loc[s["kind"] == "alliance", "host_cost"] == 0).all()
    live_hours = s["live_minutes"] / 60
    field = s["kind"] == "field"
    assert np.allclose(s.loc[field, "host_cost"], 100.0 * live_hours[field])
    assert 0.05 < s["returns"].sum() / s["orders"].sum() < 0.6


def test_switches_off_is_version_one():
    sc = small("v1")
    m = SnowballModel(sc, 4)
    assert m.economics is None and m.day_profit is None
    before = m.rngs["returns"].bit_generator.state
    m.run_days()
    assert m.rngs["returns"].bit_generator.state == before  # no draws
    s = api.streams_table(m)
    assert not {*PROFIT_FIELDS, "returned_cost"} & set(s.columns)
    # appended after version 1's components, so every earlier stream is unchanged
    v1 = ("population", "streams", "sessions", "warmup", "policy", "behaviour", "needs")
    assert RNG_COMPONENTS[: len(v1)] == v1 and "returns" in RNG_COMPONENTS[len(v1) :]


def test_profit_alone_books_no_returns_and_draws_nothing():
    m = SnowballModel(small("v1", **{"economics.profit_accounting": True}), 4)
    before = m.rngs["returns"].bit_generator.state
    m.run_days()
    assert m.rngs["returns"].bit_generator.state == before
    s = api.streams_table(m)
    assert (s["returns"] == 0).all() and (s["refunds"] == 0).all()
    # profit accounting alone changes no behaviour: the same traffic and orders as off
    off = api.run(small("v1"), seed=4).streams
    pd.testing.assert_frame_equal(s[off.columns], off)


def test_returns_change_nothing_but_the_accounts():
    """Returns are decided from their own generator: traffic, orders, GMV are unchanged."""
    off = api.run(small("v1"), seed=6).streams
    on = api.run(small("v1", **ON), seed=6).streams
    pd.testing.assert_frame_equal(on[off.columns], off)


def test_reruns_are_byte_identical_and_seeds_differ():
    sc = small("v1", **ON)
    a, b = api.run(sc, seed=9).streams, api.run(sc, seed=9).streams
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = api.run(sc, seed=10).streams
    assert not np.array_equal(a["refunds"].to_numpy(), c["refunds"].to_numpy())


def test_capacity_investment_is_booked_the_day_it_takes_effect():
    m = SnowballModel(small("v1", **{"economics.profit_accounting": True}), 2)
    m.run_days(1)  # day 0 done
    m.stream_agents[3].invest(750.0)  # queued like a strategy's Decision.capacity_investment
    m.run_days(1)  # end of day 1: applied to persuasion, booked on day 2
    assert m.daily_records[1]["capacity_cost"][3] == 0
    m2 = SnowballModel(small("v1", **{"economics.profit_accounting": True}, days=3), 2)
    m2.run_days(1)
    m2.stream_agents[3].invest(750.0)
    m2.run_days(2)
    assert m2.daily_records[2]["capacity_cost"][3] == 750.0
    assert m2.daily_records[2]["capacity_cost"].sum() == 750.0


def test_strategies_observe_the_rooms_profit():
    m = SnowballModel(small("v1", **{"economics.profit_accounting": True}), 3)
    m.run_days()
    ads = m.ad_agents
    assert ads
    for a in ads:
        for h in a.history:
            assert h.profit == m.daily_records[h.day]["profit"][a.stream]
    m_off = SnowballModel(small("v1"), 3)
    m_off.run_days(1)
    assert all(h.profit is None for a in m_off.ad_agents for h in a.history)
    # an observation built by hand (as the strategy contract does) needs no profit
    day = CampaignDay(0, 100.0, 50.0, 10, 1, 80.0, 100, 5, True)
    assert day.profit is None and day.roi == 1.6


def test_profit_where_roi_is_shown(run_on, tmp_path, capsys):
    s = api.summarize(run_on)
    focal = run_on.streams[run_on.streams["group"] == "focal"]
    assert s["focal_profit"] == pytest.approx(focal["profit"].sum())
    off = api.summarize(api.run(small("v1"), seed=5))
    assert math.isnan(off["focal_profit"])
    from simulation.cli import main

    code = main(
        ["run", "default", "--days", "1", "--set", "population.viewers=2000",
         "--set", "economics.profit_accounting=true", "--set", "economics.returns=true",
         "--out", str(tmp_path / "r")]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "profit" in text and "returns" in text and "refunds" in text


def test_study_measurement_reports_profit_beside_roi(run_on):
    from experiments._measure import focal_measurement

    m = focal_measurement(run_on, None)
    focal = run_on.streams[run_on.streams["group"] == "focal"]
    assert m.scalars["total_profit"] == pytest.approx(focal["profit"].sum())
    spend = focal["ad_spend"].sum()
    assert m.scalars["profit_per_ad_yuan"] == pytest.approx(focal["profit"].sum() / spend)
    assert "profit" in m.daily and "platform_profit" in m.daily


def test_breakeven_roi_and_contribution():
    row = {"profit": 50.0, "ad_spend": 100.0, "host_cost": 30.0, "capacity_cost": 20.0}
    assert contribution(row) == 200.0
    assert breakeven_roi(1000.0, 200.0) == 5.0
    assert math.isnan(breakeven_roi(1000.0, -1.0))


@pytest.mark.parametrize(
    "key, value",
    [
        ("economics.commission_rate", -0.1),
        ("economics.platform_fee_rate", 1.2),
        ("economics.return_base_rate", 1.01),
        ("economics.restock_share", 2.0),
        ("economics.presented_quality", -0.3),
        ("economics.presented_quality", 1.5),
        ("economics.host_cost_per_hour", -1.0),
    ],
)
def test_bad_values_are_refused_naming_the_key(key, value):
    with pytest.raises(ConfigError, match=key.split(".")[1]) as e:
        load_scenario("v1", {key: value})
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("scenario", ["default", "funnel"])
def test_the_host_is_paid_for_the_scheduled_hours_under_every_policy(scenario):
    """The search funnel keeps every shop open all day; its host still works only the room's
    scheduled streaming hours, so host cost follows the schedule under both policies (at
    most the longest slot, 5 hours: never the funnel's 24)."""
    r = api.run(small(scenario), seed=2, days=2)
    m, table = r.model, r.streams
    for day in range(2):
        rows = table[table["day"] == day].sort_values("stream")
        idx = rows["stream"].to_numpy()
        hours = m.table.live_ticks_on(day, m.tpd)[idx] / m.tph
        paid = np.where(m.economics.sells_for_merchant[idx], 0.0, 100.0 * hours)
        assert np.allclose(rows["host_cost"].to_numpy(), paid)
        assert 0 < rows["host_cost"].max() <= 100.0 * 5
