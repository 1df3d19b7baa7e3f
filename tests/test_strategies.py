"""Paid-traffic strategies: the registry's names and what each strategy does, with scripted
histories (the contract every strategy meets: tests/test_strategy_contract.py)."""

import pytest

from simulation import strategies as S
from simulation.config import CampaignConfig, ConfigError, load_scenario
from simulation.distribution import policy_class
from simulation.strategies import STRATEGIES, CampaignDay


def day(d, budget, spend=None, paid=1000, free=10_000, gmv=None, live=True, follow=0):
    spend = budget if spend is None else spend
    gmv = 3 * spend if gmv is None else gmv
    return CampaignDay(d, budget, spend, paid, 10, gmv, free, follow, live)


def test_the_registry_names_the_eight_strategies():
    """The contract every registered strategy meets is tests/test_strategy_contract.py; this
    file tests what each strategy does."""
    assert list(STRATEGIES) == [
        "none",
        "fixed",
        "cold_start",
        "roi_target",
        "max_delivery",
        "feedback_gated",
        "always_scale",
        "explore_when_stable",
    ]


def test_the_registry_validates_its_own_names():
    """An unknown name is a ConfigError naming where it came from and the names allowed, in
    registry order, with the nearest name for a typo; the scenario loader asks the registry."""
    assert S.strategy_class("feedback_gated") is S.FeedbackGated
    with pytest.raises(ConfigError) as err:
        S.strategy_class("yolo", "x.toml", "streams.focal.campaign.strategy")
    assert str(err.value) == (
        "x.toml: streams.focal.campaign.strategy = 'yolo': must be one of none, fixed, "
        "cold_start, roi_target, max_delivery, feedback_gated, always_scale, "
        "explore_when_stable"
    )
    with pytest.raises(ConfigError, match=r"\(did you mean 'feedback_gated'\?\)$"):
        S.strategy_class("feedback_gate")
    with pytest.raises(ConfigError) as err:
        load_scenario("v1", {"streams.focal.campaign.strategy": "roi_targt"})
    assert str(err.value).endswith("explore_when_stable (did you mean 'roi_target'?)")
    assert "v1.toml" in str(err.value)


def test_policy_registry_validates_its_own_names():
    assert policy_class("urn").name == "urn"
    with pytest.raises(ConfigError) as err:
        policy_class("magic", "x.toml", "policy")
    assert str(err.value) == (
        "x.toml: policy = 'magic': must be one of cascade, interest_feed, mixed, private_values, "
        "search_funnel, urn"
    )
    with pytest.raises(ConfigError, match=r"\(did you mean 'search_funnel'\?\)$"):
        load_scenario("v1", {"policy": "search_funel"})


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


def test_the_loader_learns_the_names_from_the_registries(monkeypatch):
    """config.py imports no registry: each registry registers its lookup when imported, and
    importing any module of the package imports all three. Without them the loader says so
    rather than accepting any name."""
    import subprocess
    import sys

    from simulation import config

    code = "import simulation.config as c; print(sorted(c.PART_REGISTRIES))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['operator', 'policy', 'strategy']"
    assert config.PART_REGISTRIES["strategy"] is S.strategy_class
    monkeypatch.setattr(config, "PART_REGISTRIES", {})
    with pytest.raises(RuntimeError, match=r"no registry of (policy|strategy|operator) names"):
        load_scenario("v1")
