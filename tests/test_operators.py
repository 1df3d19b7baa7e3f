"""Room operators (docs/MODEL.md 7.17): the rules on scripted dashboards, the capacity
mechanism in the model (delay, persuasion and retention, diminishing returns, its cost), the
budget factor applied after the strategy, byte-identical reruns, and version 1 untouched."""

import math

import numpy as np
import pandas as pd
import pytest

from simulation import api
from simulation.config import OperatorConfig
from simulation.model import SnowballModel
from simulation.operators import OPERATORS, OperatorDecision, RoomDashboard

from conftest import small


def dash(day: int, roi: float, live: bool = True, spend: float = 100.0, margin: float = 500.0):
    """A live day with ``spend`` yuan of ads at paid ROI ``roi`` and ``margin`` of margin."""
    return RoomDashboard(
        day=day,
        live=live,
        free_impressions=1000,
        paid_impressions=200,
        follow_impressions=50,
        entries=100,
        orders=10,
        gmv=2000.0,
        margin=margin,
        ad_spend=spend if live else 0.0,
        paid_orders=2,
        paid_gmv=roi * spend if live else 0.0,
        budget=spend,
        review_score=4.6,
        fans=30,
    )


def decide_all(name: str, days: list[RoomDashboard], **cfg) -> list[OperatorDecision]:
    op = OPERATORS[name](OperatorConfig(**cfg))
    return [op.decide(days[: i + 1]) for i in range(len(days))]


def test_dashboard_ratios():
    d = dash(0, roi=2.5)
    assert d.impressions == 1250
    assert d.conversion == 0.1
    assert d.gpm == 1000 * 2000 / 1250
    assert d.paid_roi == 2.5
    assert d.paid_conversion == 2 / 200
    assert d.organic_conversion == 8 / 1050
    assert dash(0, roi=2.5, live=False).paid_roi == 0.0


def test_static_decides_nothing():
    days = [dash(d, roi=r) for d, r in enumerate((0.5, 9.0, 1.0))]
    assert decide_all("static", days) == [OperatorDecision(1.0, 0.0)] * 3


def test_capacity_investment_spends_its_budget_rule_on_live_days_only():
    days = [dash(0, 1.0, margin=500.0), dash(1, 1.0, live=False), dash(2, 1.0, margin=-80.0)]
    got = decide_all("capacity_investment", days, capacity_budget=200, capacity_margin_share=0.1)
    assert got == [
        OperatorDecision(1.0, 250.0),  # 200 + 10 % of 500
        OperatorDecision(1.0, 0.0),  # off the air
        OperatorDecision(1.0, 200.0),  # a negative margin adds nothing
    ]


def test_capacity_first_holds_then_scales_then_falls_back():
    """ROI below the threshold: hold (factor hold_factor) and invest; at or above: scale by
    scale_step a live day from at least 1, invest nothing; a day off the air or without spend
    keeps the phase; ROI falling back returns to holding."""
    roi = [1.0, 2.0, 3.5, None, 4.0, "nospend", 4.0, 1.0]
    days = []
    for d, r in enumerate(roi):
        if r is None:
            days.append(dash(d, 0.0, live=False))
        elif r == "nospend":
            days.append(dash(d, 0.0, spend=0.0))
        else:
            days.append(dash(d, r))
    got = decide_all(
        "capacity_first",
        days,
        roi_threshold=3.0,
        hold_factor=0.5,
        scale_step=0.5,
        capacity_budget=300,
        capacity_margin_share=0.0,
    )
    assert [g.budget_factor for g in got] == [0.5, 0.5, 1.5, 1.5, 2.25, 2.25, 3.375, 0.5]
    assert [g.capacity_investment for g in got] == [300, 300, 0, 0, 0, 0, 0, 300]


def test_capacity_first_factor_stops_at_its_ceiling():
    days = [dash(d, 10.0) for d in range(12)]
    got = decide_all("capacity_first", days, roi_threshold=3.0, scale_step=1.0, max_factor=5.0)
    assert [g.budget_factor for g in got][:4] == [2.0, 4.0, 5.0, 5.0]
    assert max(g.budget_factor for g in got) == 5.0


def focal_rows(res: api.RunResult) -> pd.DataFrame:
    return res.streams[res.streams["group"] == "focal"].reset_index(drop=True)


def test_capacity_investment_works_after_the_delay_with_diminishing_returns():
    """1000 yuan a live day, a delay of 2 days: day d's investment is paid on day d + 1 and
    works from day d + 3; persuasion and retention follow base x (1 + r log2(1 + I/1000))
    with I the yuan in effect, so each further 1000 yuan adds less."""
    days, delay, r_p, r_r = 7, 2, 0.15, 0.2
    sc = small(
        **{
            "days": days,
            "streams.focal.operator": "capacity_investment",
            "streams.focal.operator_params.capacity_budget": 1000.0,
            "streams.focal.campaign.strategy": "fixed",
            "capacity_delay_days": delay,
            "capacity_retention_return": r_r,
            "capacity_return": r_p,
            "economics.profit_accounting": True,
        }
    )
    m = SnowballModel(sc, seed=3)
    m.run_days()
    rows = focal_records(m)
    assert rows["live"].all()  # the focal room streams every day
    base_p = m.table.base_persuasion[0]
    in_effect = np.array([1000.0 * max(0, d - delay) for d in range(days)])
    expect = np.minimum(1.0, base_p * (1 + r_p * np.log2(1 + in_effect / 1000)))
    np.testing.assert_allclose(rows["persuasion"], expect, rtol=1e-12)
    assert (rows["persuasion"].iloc[: delay + 1] == base_p).all()
    gains = np.diff(rows["persuasion"].to_numpy()[delay:])
    assert (gains > 0).all() and (np.diff(gains) < 0).all()  # diminishing returns
    # Retention after the last day: every investment due by tomorrow is in effect.
    invested = 1000.0 * (days - delay)
    assert m.stream_agents[0].invested == invested
    assert m.table.retention[0] == pytest.approx(
        m.table.base_retention[0] * (1 + r_r * math.log2(1 + invested / 1000))
    )
    assert m.table.retention[0] > m.table.base_retention[0]
    # The cost is booked the day after each decision, whatever the delay.
    np.testing.assert_array_equal(rows["capacity_cost"], [0.0] + [1000.0] * (days - 1))


def focal_records(m: SnowballModel) -> pd.DataFrame:
    """The focal room's (stream 0) day records, a row a day."""
    assert m.table.group_names[m.table.group[0]] == "focal"
    return pd.DataFrame([{k: v[0] for k, v in rec.items()} for rec in m.daily_records])


def test_no_retention_return_and_no_delay_is_version_1s_rule():
    """Defaults: the investment works the next day on persuasion only (MODEL.md 7.11)."""
    sc = small(
        **{
            "days": 3,
            "streams.focal.operator": "capacity_investment",
            "streams.focal.operator_params.capacity_budget": 3000.0,
        }
    )
    m = SnowballModel(sc, seed=3)
    m.run_days()
    rows = focal_records(m)
    base = m.table.base_persuasion[0]
    assert rows["persuasion"].iloc[0] == base
    assert rows["persuasion"].iloc[1] == min(1.0, base * (1 + 0.15 * math.log2(4)))
    assert m.table.retention[0] == m.table.base_retention[0]


@pytest.mark.parametrize(
    ("threshold", "factor"),
    [(1000.0, 0.5), (1e-6, 1.3)],
    ids=["holds", "scales"],
)
def test_capacity_first_factor_multiplies_the_strategys_budget(threshold, factor):
    """A fixed strategy sets 800 yuan a day; the operator's factor multiplies it from day 1
    (day 0 runs on the strategy's own first budget): holding at 0.5 halves it, clearing the
    threshold raises it by the scale step (and again each live day with spend)."""
    sc = small(
        **{
            "days": 2,
            "streams.focal.campaign.strategy": "fixed",
            "streams.focal.campaign.daily_budget": 800.0,
            "streams.focal.operator": "capacity_first",
            "streams.focal.operator_params.roi_threshold": threshold,
            "streams.focal.operator_params.hold_factor": 0.5,
            "streams.focal.operator_params.scale_step": 0.3,
        }
    )
    res = api.run(sc, seed=5)
    focal = focal_rows(res)
    assert focal["ad_spend"].iloc[0] > 0
    assert focal["budget"].tolist() == [800.0, pytest.approx(800.0 * factor)]


def test_the_budget_factor_is_capped_by_the_campaigns_max_budget():
    sc = small(
        **{
            "days": 2,
            "streams.focal.campaign.strategy": "fixed",
            "streams.focal.campaign.daily_budget": 800.0,
            "streams.focal.campaign.max_budget": 900.0,
            "streams.focal.operator": "capacity_first",
            "streams.focal.operator_params.roi_threshold": 1e-6,
            "streams.focal.operator_params.scale_step": 1.0,
        }
    )
    assert focal_rows(api.run(sc, seed=5))["budget"].tolist() == [800.0, 900.0]


@pytest.mark.parametrize("operator", ["capacity_investment", "capacity_first"])
def test_runs_with_an_operator_are_byte_identical_and_differ_from_static(operator):
    over = {
        "streams.focal.operator": operator,
        "streams.focal.operator_params.roi_threshold": 1000.0,
        "economics.profit_accounting": True,
        "days": 3,
    }
    a = api.run(small(**over), seed=9)
    b = api.run(small(**over), seed=9)
    pd.testing.assert_frame_equal(a.streams, b.streams)
    pd.testing.assert_frame_equal(a.ticks, b.ticks)
    plain = api.run(small(**{**over, "streams.focal.operator": "static"}), seed=9)
    assert not focal_rows(a)["persuasion"].equals(focal_rows(plain)["persuasion"])
    assert focal_rows(a)["capacity_cost"].iloc[1:].gt(0).all()
    assert focal_rows(plain)["capacity_cost"].eq(0).all()


@pytest.mark.skipif(int(np.__version__.split(".")[0]) != 2, reason="digests recorded with numpy 2")
@pytest.mark.parametrize("scenario", ["v1", "funnel_v1"])
def test_static_operator_set_explicitly_keeps_the_pinned_digests(scenario):
    from test_regression import PINNED, digest

    over = {f"streams.{g}.operator": "static" for g in small(scenario).streams}
    assert digest(scenario, over) == PINNED[scenario]
