"""Campaign pacing: the dual multiplier's update rules, with scripted spend."""

import numpy as np

from simulation.ads import Campaigns
from simulation.config import AuctionConfig, CampaignConfig


def campaigns(budget: float = 100.0) -> Campaigns:
    c = Campaigns([(0, CampaignConfig())], AuctionConfig(pacing_rate=0.5))
    c.budget[:] = budget
    return c


def run_day(c: Campaigns, spend_per_tick, live_ticks: int = 10) -> list[float]:
    """Spend min(planned, allowance) each tick; returns mu after each tick."""
    lt = np.array([live_ticks])
    mus = []
    for planned in spend_per_tick:
        allow = c.allowance(lt)
        spend = np.minimum(planned, allow)
        c.spent += spend
        c.pace(spend, lt, np.array([True]))
        mus.append(float(c.mu[0]))
    return mus


def test_on_pace_spend_leaves_mu_at_zero_through_the_last_tick():
    """Spending exactly budget / live ticks every tick, including the last one (where the
    guard allows the whole remainder and the campaign spends all of it), is on pace: the
    multiplier must not rise overnight."""
    c = campaigns()
    mus = run_day(c, [10.0] * 10)
    assert c.spent[0] == 100.0
    assert mus[-1] == 0.0


def test_the_last_tick_does_not_move_mu():
    c = campaigns()
    c.mu[:] = 1.0
    mus = run_day(c, [10.0] * 9 + [0.0])
    assert mus[-1] == mus[-2]


def test_guard_limited_tick_counts_as_running_ahead():
    """Mid-day, hitting the guard's allowance (not the budget) raises mu as a ratio of 3."""
    c = campaigns()
    mus = run_day(c, [1000.0])  # wants far more than the guard allows
    assert c.spent[0] == 20.0  # budget x 2 / 10: one tick ahead of the even curve
    assert np.isclose(1 + mus[0], np.exp(0.5 * (3 - 1)))


def test_underspending_lowers_mu_and_spend_never_exceeds_budget():
    c = campaigns()
    c.mu[:] = 1.0
    mus = run_day(c, [5.0] * 9 + [1000.0])
    assert mus[0] < 1.0
    assert c.spent[0] <= c.budget[0] + 1e-9
