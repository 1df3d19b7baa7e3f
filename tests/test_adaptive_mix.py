"""The ``adaptive_mix`` room operator and the per-item dashboard (docs/MODEL.md 7.17, 7.18).

Scripted: dashboards whose items earn known amounts per minute, and the operator's move
(towards the items that earn, floors kept, shares adding up to 1, the same decision from the
same dashboards). In the model: the dashboard's item fields are the run-of-show's day counts,
the mix moves over the days and the script follows it, the items' airtime adds up to the time
on air, and the item contributions add up to the room's profit before ads, host and capacity.
"""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulation import api
from simulation.config import OperatorConfig
from simulation.model import SnowballModel
from simulation.operators import AdaptiveMix, RoomDashboard, adapt_mix, floor_mix

MIX = (0.3, 0.55, 0.15)
SHOW = {
    "behaviour.run_of_show": True,
    "population.viewers": 3000,
    "streams.focal.operator": "adaptive_mix",
}


def dashboard(
    day: int,
    per_minute: tuple[float, float, float],
    mix: tuple[float, ...] = MIX,
    live: bool = True,
    contribution: tuple[float, float, float] | None = None,
) -> RoomDashboard:
    """A live day of 240 minutes split by ``mix`` whose items earn ``per_minute`` yuan of
    gross margin per minute on air (``contribution``: per minute too, when given)."""
    air = np.asarray(mix) * (240.0 if live else 0.0)

    def t(x):
        return tuple(float(v) for v in x)

    return RoomDashboard(
        day=day,
        live=live,
        free_impressions=1000,
        paid_impressions=0,
        follow_impressions=0,
        entries=100,
        orders=10,
        gmv=1000.0,
        margin=100.0,
        ad_spend=0.0,
        paid_orders=0,
        paid_gmv=0.0,
        budget=0.0,
        review_score=4.5,
        fans=10,
        mix=mix,
        item_airtime=t(air),
        item_entries=t(air),
        item_orders=t(air / 10),
        item_gmv=t(air * 10),
        item_margin=t(air * np.asarray(per_minute)),
        item_contribution=None if contribution is None else t(air * np.asarray(contribution)),
    )


def decide(history, **cfg) -> tuple[float, ...]:
    return AdaptiveMix(OperatorConfig(**cfg)).decide(history).mix


def test_airtime_moves_towards_the_item_that_earns_most_per_minute():
    new = decide([dashboard(0, (1.0, 4.0, -2.0))], mix_step=0.2, mix_floor=0.05)
    # target: driver and profit split by 1 : 4 per minute, welfare (a loss) 0
    target = np.array([0.2, 0.8, 0.0])
    expect = 0.8 * np.array(MIX) + 0.2 * target
    np.testing.assert_allclose(new, expect, atol=1e-12)
    assert new[1] > MIX[1] and new[2] < MIX[2]
    assert sum(new) == pytest.approx(1, abs=1e-12)


def test_profit_contribution_is_read_before_gross_margin():
    """The gross margin says the welfare item earns most; after returns and fees (the
    contribution) the profit item does: the contribution decides."""
    day = dashboard(0, (1.0, 1.0, 5.0), contribution=(0.5, 3.0, -1.0))
    new = decide([day], mix_step=0.5, mix_floor=0.0)
    assert new[1] > MIX[1] and new[2] < MIX[2]
    margin_only = decide([dashboard(0, (1.0, 1.0, 5.0))], mix_step=0.5, mix_floor=0.0)
    assert margin_only[2] > MIX[2]


def test_floors_are_kept_and_the_shares_add_up_to_1_over_many_days():
    hist, mix = [], MIX
    for d in range(40):
        hist.append(dashboard(d, (0.0, 3.0, -1.0), mix=mix))
        mix = decide(hist, mix_step=0.5, mix_floor=0.1)
        assert min(mix) >= 0.1 - 1e-12 and sum(mix) == pytest.approx(1, abs=1e-12)
    np.testing.assert_allclose(mix, [0.1, 0.8, 0.1], atol=1e-9)  # all but the floors


def test_same_dashboards_give_the_same_decision_and_off_air_keeps_the_mix():
    hist = [dashboard(0, (2.0, 1.0, 0.5)), dashboard(1, (1.0, 2.0, 0.5))]
    assert decide(hist) == decide(list(hist))
    assert decide([*hist, dashboard(2, (9.0, 0.0, 0.0), live=False)]) is None


def test_the_window_sums_earnings_and_airtime_over_days():
    """Day 0: only the driver earns; day 1: only the profit item, twice as much. A window of
    1 sees day 1 alone; a window of 2 both."""
    hist = [dashboard(0, (2.0, 0.0, 0.0)), dashboard(1, (0.0, 2.0, 0.0))]
    one = decide(hist, mix_window=1, mix_step=1.0, mix_floor=0.0)
    np.testing.assert_allclose(one, [0.0, 1.0, 0.0], atol=1e-12)
    two = decide(hist, mix_window=2, mix_step=1.0, mix_floor=0.0)
    np.testing.assert_allclose(two, [0.5, 0.5, 0.0], atol=1e-12)  # 2 and 2 per minute


def test_no_earning_item_keeps_the_mix_and_an_item_without_airtime_keeps_its_share():
    np.testing.assert_allclose(
        adapt_mix(np.array(MIX), np.array([-1.0, -2, -3]), np.ones(3), 0.5, 0.0), MIX
    )
    new = adapt_mix(np.array([0.4, 0.6, 0.0]), np.array([10.0, 30, 0]), np.array([4.0, 6, 0]), 1, 0)
    # 2.5 and 5 yuan a minute: the two items on air share their 1.0 as 1 : 2
    np.testing.assert_allclose(new, [1 / 3, 2 / 3, 0.0], atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    mix=st.lists(st.floats(0, 1), min_size=3, max_size=3).filter(lambda x: sum(x) > 0.01),
    earn=st.lists(st.floats(-1e4, 1e4), min_size=3, max_size=3),
    air=st.lists(st.floats(0, 1e3), min_size=3, max_size=3),
    step=st.floats(0.01, 1),
    floor=st.floats(0, 1 / 3),
)
def test_any_move_keeps_the_floors_and_adds_up_to_1(mix, earn, air, step, floor):
    mix = np.asarray(mix) / sum(mix)
    new = adapt_mix(mix, np.asarray(earn), np.asarray(air), step, floor)
    assert np.isfinite(new).all()
    assert new.min() >= floor - 1e-12
    assert new.sum() == pytest.approx(1, abs=1e-12)


def test_floor_mix_keeps_the_order_of_the_shares_above_the_floor():
    np.testing.assert_allclose(floor_mix(np.array([0.0, 0.25, 0.75]), 0.1), [0.1, 0.23125, 0.66875])
    # the part above the floor, 0.25 : 0.75 -> 0.15 : 0.65, scaled into 0.7
    np.testing.assert_allclose(floor_mix(np.array([0.2, 0.3, 0.5]), 1 / 3), [1 / 3] * 3)


# ------------------------------------------------------------------ in the model


@pytest.fixture(scope="module")
def model():
    over = {
        **SHOW,
        "streams.focal.operator_params.mix_step": 0.5,
        "economics.profit_accounting": True,
        "economics.returns": True,
    }
    m = SnowballModel("v1", seed=4, days=4, overrides=over)
    m.run_days()
    return m


def test_the_dashboard_shows_the_run_of_show_day_counts(model):
    items = model.show.table()
    focal = items[items["stream"] == 0].set_index(["day", "item"])
    dashboards = model.stream_agents[0].dashboards
    assert len(dashboards) == 4
    for d in dashboards:
        rows = focal.loc[d.day].sort_index()
        assert d.item_airtime == tuple(rows["airtime_minutes"])
        assert d.item_entries == tuple(rows["entries"])
        assert d.item_orders == tuple(rows["orders"])
        assert d.item_gmv == tuple(rows["gmv"])
        assert d.item_margin == tuple(rows["margin"])
        assert d.item_returns == tuple(rows["returns"])
        assert sum(d.item_orders) == d.orders
    assert sum(sum(d.item_orders) for d in dashboards) > 20


def test_item_returns_refunds_and_returned_cost_add_up_to_the_rooms(model):
    items = model.show.table().groupby(["stream", "day"])[["returns", "refunds"]].sum()
    rooms = api.streams_table(model).set_index(["stream", "day"]).loc[items.index]
    assert items["returns"].sum() > 20
    np.testing.assert_array_equal(items["returns"].to_numpy(), rooms["returns"].to_numpy())
    np.testing.assert_allclose(items["refunds"].to_numpy(), rooms["refunds"].to_numpy(), atol=1e-6)
    cost = model.show.table()["returned_cost"]
    assert (cost >= 0).all() and cost.sum() > 0


def test_item_contributions_add_up_to_profit_before_ads_host_and_capacity(model):
    streams = api.streams_table(model)
    row = streams[streams["stream"] == 0].set_index("day")
    for d in model.stream_agents[0].dashboards:
        r = row.loc[d.day]
        expect = r["profit"] + r["ad_spend"] + r["host_cost"] + r["capacity_cost"]
        assert sum(d.item_contribution) == pytest.approx(expect, abs=1e-6)


def test_the_mix_moves_over_the_days_and_the_script_follows_it(model):
    dashboards = model.stream_agents[0].dashboards
    mixes = [d.mix for d in dashboards]
    assert mixes[0] == MIX
    assert len(set(mixes)) == len(mixes), "the mix should change every live day"
    items = model.show.table()
    focal = items[items["stream"] == 0]
    for d in dashboards:
        air = focal[focal["day"] == d.day].sort_values("item")["airtime_minutes"].to_numpy()
        # 4 hours on air = 4 whole passes of the script: airtime is exactly the mix's shares
        np.testing.assert_allclose(air / air.sum(), d.mix, atol=1e-9)
    np.testing.assert_allclose(model.table.mix[0].sum(), 1, atol=1e-12)
    others = model.table.mix[1:]
    assert (others == np.asarray(MIX)).all(), "only the operated room's mix moves"


def test_runs_with_adaptive_mix_are_byte_identical():
    a = api.run("v1", seed=5, days=2, overrides=SHOW)
    b = api.run("v1", seed=5, days=2, overrides=SHOW)
    assert a.items.equals(b.items) and a.streams.equals(b.streams)
    assert [d.mix for d in a.model.stream_agents[0].dashboards] == [
        d.mix for d in b.model.stream_agents[0].dashboards
    ]


@settings(max_examples=4, deadline=None)
@given(
    seed=st.integers(0, 1000),
    step=st.floats(0.05, 1),
    floor=st.floats(0, 1 / 3),
    cycle=st.sampled_from([17.0, 60.0, 95.0]),
    scripted=st.booleans(),
)
@example(seed=1, step=0.5, floor=0.1, cycle=17.0, scripted=True)
def test_airtime_adds_up_to_the_time_on_air_with_adaptive_mix(seed, step, floor, cycle, scripted):
    """Also with an explicit script on the field rooms (a repeated role, a missing one)."""
    over = {
        **SHOW,
        "population.viewers": 800,
        "behaviour.show_cycle_minutes": cycle,
        "streams.focal.operator_params.mix_step": step,
        "streams.focal.operator_params.mix_floor": floor,
        "streams.field.operator": "adaptive_mix",
        "streams.field.operator_params.mix_step": step,
        "streams.field.operator_params.mix_floor": floor,
    }
    if scripted:
        over["streams.field.script_roles"] = ["profit", "driver", "profit"]
        over["streams.field.script_minutes"] = [7.0, cycle / 3, 11.0]
    r = api.run("v1", seed=seed, days=3, overrides=over)
    air = r.items.groupby(["stream", "day"])["airtime_minutes"].sum()
    live = r.streams.set_index(["stream", "day"])["live_minutes"].loc[air.index]
    np.testing.assert_allclose(air.to_numpy(), live.to_numpy(), atol=1e-6)
    assert (r.items["airtime_minutes"] >= -1e-9).all()
    mix = r.model.table.mix
    np.testing.assert_allclose(mix.sum(axis=1), 1, atol=1e-12)
    moved = [a.index for a in r.model.operated if any(d.live for d in a.dashboards)]
    assert len(moved) > 50  # the focal room and most field rooms went live
    assert (mix[moved] >= floor - 1e-12).all()


def test_adaptive_mix_moves_an_explicit_script_by_role_keeping_its_items_in_proportion():
    over = {
        **SHOW,
        "streams.focal.script_roles": ["driver", "profit", "driver", "welfare"],
        "streams.focal.script_minutes": [10.0, 20.0, 5.0, 8.0],
        "streams.focal.operator_params.mix_step": 0.5,
    }
    m = SnowballModel("v1", seed=4, days=3, overrides=over)
    m.run_days()
    dashboards = m.stream_agents[0].dashboards
    assert all(d.item_roles == (0, 1, 0, 2) and len(d.item_airtime) == 4 for d in dashboards)
    np.testing.assert_allclose(dashboards[0].mix, [15 / 43, 20 / 43, 8 / 43])
    assert len({d.mix for d in dashboards}) == 3, "the mix moves each day"
    length = m.show.length[0]
    assert length.sum() == pytest.approx(43)
    assert length[0] == pytest.approx(2 * length[2])  # the two driver items keep 10 : 5
    np.testing.assert_allclose(length[[0, 1, 3]] + [length[2], 0, 0], 43 * m.table.mix[0])
