"""Paid-traffic strategies: the registry and each strategy's flags, with scripted histories."""

import inspect

import pytest

from simulation import strategies as S
from simulation.config import CampaignConfig
from simulation.strategies import STRATEGIES, CampaignDay


def day(d, budget, spend=None, paid=1000, free=10_000, gmv=None, live=True, follow=0):
    spend = budget if spend is None else spend
    gmv = 3 * spend if gmv is None else gmv
    return CampaignDay(d, budget, spend, paid, 10, gmv, free, follow, live)


def test_every_strategy_class_is_registered():
    classes = {
        c
        for _, c in inspect.getmembers(S, inspect.isclass)
        if issubclass(c, S.Strategy) and c is not S.Strategy
    }
    assert classes == set(STRATEGIES.values())
    assert set(STRATEGIES) == {
        "none",
        "fixed",
        "cold_start",
        "roi_target",
        "max_delivery",
        "feedback_gated",
        "always_scale",
    }
    for name, cls in STRATEGIES.items():
        assert cls.name == name and cls.description


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_flags_are_honoured(name):
    cls = STRATEGIES[name]
    cfg = CampaignConfig(
        strategy=name,
        daily_budget=100.0,
        scale_step=0.5,
        roi_floor=1.0,
        leverage_threshold=0.2,
        burst_days=1,
    )
    strat = cls(cfg)
    first = strat.initial()
    if not cls.spends:
        assert first.budget == 0
    else:
        assert first.budget > 0
    if cls.bidding:
        assert first.bidding == cls.bidding
    # A run of days on which paid traffic brought free traffic and paid well.
    hist = [day(0, first.budget, paid=1000, free=10_000)]
    budgets = [first.budget]
    for d in range(1, 8):
        dec = strat.decide(hist)
        budgets.append(dec.budget)
        hist.append(
            day(
                d,
                dec.budget,
                paid=int(1000 * dec.budget / 100 + 1),
                free=int(10_000 + 5000 * dec.budget / 100),
                gmv=4 * dec.budget,
            )
        )
    if not cls.scales_budget:
        assert max(budgets) <= cfg.daily_budget * max(cfg.burst_multiplier, 1)
    else:
        assert max(budgets) > cfg.daily_budget
    assert all(0 <= b <= cfg.max_budget for b in budgets)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_only_feedback_strategies_read_free_traffic(name):
    cls = STRATEGIES[name]
    cfg = CampaignConfig(strategy=name, daily_budget=100.0, roi_floor=1.0)

    def decisions(free_growth):
        strat = cls(cfg)
        dec = strat.initial()
        hist, out = [], []
        for d in range(6):
            hist.append(
                day(
                    d,
                    dec.budget,
                    paid=int(10 * dec.budget),
                    free=int(10_000 + free_growth * 10 * dec.budget),
                )
            )
            dec = strat.decide(hist)
            out.append(dec.budget)
        return out

    differs = decisions(2.0) != decisions(0.0)
    assert differs == cls.uses_feedback


def test_feedback_gated_steps_back_and_holds_without_feedback():
    cfg = CampaignConfig(
        strategy="feedback_gated",
        daily_budget=100.0,
        scale_step=0.5,
        roi_floor=1.0,
        leverage_threshold=0.2,
        hold_days=2,
        capacity_share=0.5,
    )
    s = STRATEGIES["feedback_gated"](cfg)
    h = [day(0, 100.0, paid=1000, free=10_000)]
    d1 = s.decide(h)
    assert d1.budget == 150.0  # probe up: ROI is fine
    h.append(day(1, 150.0, paid=1500, free=10_000))  # free traffic did not follow
    d2 = s.decide(h)
    assert d2.budget == 100.0 and d2.capacity_investment == pytest.approx(25.0)
    h.append(day(2, 100.0))
    assert s.decide(h).budget == 100.0  # holding
    h.append(day(3, 100.0))
    assert s.decide(h).budget == 100.0  # holding
    h.append(day(4, 100.0))
    assert s.decide(h).budget == 150.0  # probes again
    h.append(day(5, 150.0, paid=1500, free=10_000 + 300))  # +300 free per +500 paid
    assert s.decide(h).budget == 225.0


def test_feedback_gated_ignores_off_air_days():
    cfg = CampaignConfig(strategy="feedback_gated", daily_budget=100.0, roi_floor=1.0)
    s = STRATEGIES["feedback_gated"](cfg)
    h = [day(0, 100.0, live=False, spend=0, paid=0, free=0)]
    assert s.decide(h).budget == 100.0


def test_feedback_gated_never_scales_below_roi_floor():
    cfg = CampaignConfig(strategy="feedback_gated", daily_budget=100.0, roi_floor=2.0)
    s = STRATEGIES["feedback_gated"](cfg)
    assert s.decide([day(0, 100.0, gmv=150.0)]).budget == 100.0


def test_always_scale_and_cold_start():
    cfg = CampaignConfig(
        strategy="always_scale", daily_budget=100.0, scale_step=0.3, max_budget=150.0
    )
    s = STRATEGIES["always_scale"](cfg)
    assert s.decide([day(0, 100.0, gmv=0.0)]).budget == pytest.approx(130.0)
    assert s.decide([day(0, 140.0, gmv=0.0)]).budget == 150.0
    cfg = CampaignConfig(
        strategy="cold_start", daily_budget=100.0, burst_days=2, burst_multiplier=3.0
    )
    s = STRATEGIES["cold_start"](cfg)
    assert s.initial().budget == 300.0
    assert s.decide([day(0, 300.0)]).budget == 300.0
    assert s.decide([day(0, 300.0), day(1, 300.0)]).budget == 0.0


def test_roi_target_widens_only_while_target_holds():
    cfg = CampaignConfig(strategy="roi_target", daily_budget=100.0, target_roi=3.0, scale_step=0.2)
    s = STRATEGIES["roi_target"](cfg)
    assert s.initial().bidding == "cost_cap"
    assert s.decide([day(0, 100.0, gmv=400.0)]).budget == pytest.approx(120.0)
    assert s.decide([day(0, 100.0, gmv=200.0)]).budget == pytest.approx(100 / 1.2)
