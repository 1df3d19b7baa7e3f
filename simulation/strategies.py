"""Paid-traffic strategies: once a day, turn what a campaign observed into tomorrow's budget.

A strategy is a small class with a ``name``, a few metadata flags and one method, ``decide``
(in the spirit of Axelrod's ``Player`` with its ``classifier``). Every strategy is listed in
:data:`STRATEGIES`, and being listed is all it takes to be tested:
``tests/test_strategy_contract.py`` runs every registered strategy through the same contract
(registered under its name, clone, reset, pickle round-trip, the same decisions from the same
observations, and its flags honoured). docs/CONTRIBUTING.md says how to add one.

This module owns its names: :func:`strategy_class` is the one lookup, and it is what the
scenario loader calls (through :func:`simulation.config.register_part_registry`) to reject a
``campaign.strategy`` that is not registered.

What a campaign observes (:class:`CampaignDay`) is what an advertiser sees in an ad console:
its own spend, paid impressions, paid orders and paid GMV, plus the room's impressions by
source (a room's operator sees its free traffic) and, when the scenario books it
(``economics.profit_accounting``), the room's profit, and the audience expansion level it ran at
with the paid impressions that reached outside its base audience (docs/MODEL.md 7.22). No
strategy sees the room's hidden traits.
"""

from dataclasses import dataclass
from typing import ClassVar

from simulation.config import CampaignConfig, register_part_registry, unknown_name


@dataclass(frozen=True)
class CampaignDay:
    """One day as the campaign observed it (all counts for that day)."""

    day: int
    budget: float
    spend: float
    paid_impressions: int
    paid_orders: int
    paid_gmv: float
    free_impressions: int
    follow_impressions: int
    live: bool
    profit: float | None = None
    """The room's profit that day, yuan, after every cost including this campaign's spend
    (``economics.profit_accounting``; see :mod:`simulation.economics`); None when the
    scenario does not book profit. No built-in strategy reads it yet."""
    expansion: float = 0.0
    """The audience expansion level the campaign ran at that day (0 = its base audience;
    see :mod:`simulation.ads`)."""
    expansion_impressions: int = 0
    """Paid impressions that day to viewers outside the campaign's base audience, reached
    through its expansion (0 when the scenario expands no campaign)."""

    @property
    def roi(self) -> float:
        """Paid GMV per yuan spent (0 when nothing was spent)."""
        return self.paid_gmv / self.spend if self.spend > 0 else 0.0


@dataclass(frozen=True)
class Decision:
    """Tomorrow's plan: budget (yuan), bidding mode, and yuan invested in the room's capacity
    instead of ads (raises its conversion; see ``Scenario.capacity_return``), and the audience
    expansion level (None: the campaign's own)."""

    budget: float
    bidding: str
    capacity_investment: float = 0.0
    expansion: float | None = None
    """Tomorrow's audience expansion level in [0, 1]; None keeps the campaign's configured
    ``expansion`` (only strategies with ``expands`` set it)."""


class Strategy:
    """Base class. Subclasses set the flags and implement :meth:`decide`.

    A strategy that keeps state between days sets it in :meth:`reset` (which ``__init__``
    calls), so that :meth:`reset` returns it to the state of a new instance and
    :meth:`clone` gives a new instance with the same configuration.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    spends: ClassVar[bool] = True
    """Whether the strategy ever sets a positive budget."""
    uses_feedback: ClassVar[bool] = False
    """Whether its budget depends on the room's observed free traffic."""
    scales_budget: ClassVar[bool] = False
    """Whether it raises the budget above the base in response to what it observed (a burst
    fixed in advance does not count)."""
    bidding: ClassVar[str | None] = None
    """Bidding mode it forces, or None for the campaign's own setting."""
    expands: ClassVar[bool] = False
    """Whether it sets the campaign's audience expansion level (``Decision.expansion``)."""

    def __init__(self, cfg: CampaignConfig):
        self.cfg = cfg
        self.reset()

    def reset(self) -> None:
        """Forget everything observed: back to the state before the campaign's first day."""

    def clone(self) -> "Strategy":
        """A new strategy of the same class and configuration, in its initial state."""
        return type(self)(self.cfg)

    def mode(self) -> str:
        return self.bidding or self.cfg.bidding

    def initial(self) -> Decision:
        """Plan for the campaign's first day."""
        return Decision(self._cap(self.cfg.daily_budget) if self.spends else 0.0, self.mode())

    def decide(self, history: list[CampaignDay]) -> Decision:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cap(self, budget: float) -> float:
        return float(min(max(budget, 0.0), self.cfg.max_budget))


class NoAds(Strategy):
    name = "none"
    description = "never buys traffic"
    spends = False

    def decide(self, history: list[CampaignDay]) -> Decision:
        return Decision(0.0, self.mode())


class Fixed(Strategy):
    name = "fixed"
    description = "the same daily budget every day, campaign's bidding mode"

    def decide(self, history: list[CampaignDay]) -> Decision:
        return Decision(self._cap(self.cfg.daily_budget), self.mode())


class ColdStart(Strategy):
    name = "cold_start"
    description = "a burst of burst_multiplier x budget for burst_days, then nothing"

    def initial(self) -> Decision:
        return Decision(self._cap(self.cfg.daily_budget * self.cfg.burst_multiplier), self.mode())

    def decide(self, history: list[CampaignDay]) -> Decision:
        days_live = sum(1 for h in history if h.live)
        if days_live < self.cfg.burst_days:
            return self.initial()
        return Decision(0.0, self.mode())


class RoiTarget(Strategy):
    name = "roi_target"
    description = "cost-cap bidding at target_roi; widens the budget while the target holds"
    scales_budget = True
    bidding = "cost_cap"

    def decide(self, history: list[CampaignDay]) -> Decision:
        last = history[-1]
        if not last.live or last.spend == 0:
            return Decision(last.budget, self.mode())
        budget = last.budget
        if last.roi >= self.cfg.target_roi and last.spend >= 0.9 * last.budget:
            budget = last.budget * (1 + self.cfg.scale_step)
        elif last.roi < self.cfg.target_roi:
            budget = max(self.cfg.daily_budget * 0.25, last.budget / (1 + self.cfg.scale_step))
        return Decision(self._cap(budget), self.mode())


class MaxDelivery(Strategy):
    name = "max_delivery"
    description = "spends the daily budget at whatever price pacing finds"
    bidding = "max_delivery"

    def decide(self, history: list[CampaignDay]) -> Decision:
        return Decision(self._cap(self.cfg.daily_budget), self.mode())


class FeedbackGated(Strategy):
    """The source's advice: scale only while paid traffic brings free traffic with it.

    The day after a raise, compare the change in free impressions with the change in paid
    impressions against the last day before the raise. If ``Δfree / Δpaid >=
    leverage_threshold`` and paid ROI >= ``roi_floor``, raise again; otherwise step back to
    the budget before the raise, hold it for ``hold_days`` live days, and invest
    ``capacity_share`` of the held-back increment in the room's conversion capacity.
    Off-air days are skipped: only live days are evidence.
    """

    name = "feedback_gated"
    description = "scales only while extra paid traffic brings extra free traffic"
    uses_feedback = True
    scales_budget = True

    def reset(self) -> None:
        self.before_raise: CampaignDay | None = None
        """The last live day before an unjudged raise (None: no raise to judge)."""
        self.hold_left = 0
        """Live days left to hold the budget after a step back."""

    def decide(self, history: list[CampaignDay]) -> Decision:
        last = history[-1]
        if not last.live:
            return Decision(last.budget, self.mode())
        raise_to = self._cap(last.budget * (1 + self.cfg.scale_step))
        if self.before_raise is not None:
            base, self.before_raise = self.before_raise, None
            d_paid = last.paid_impressions - base.paid_impressions
            d_free = last.free_impressions - base.free_impressions
            positive = d_paid > 0 and d_free >= self.cfg.leverage_threshold * d_paid
            if positive and last.roi >= self.cfg.roi_floor:
                self.before_raise = last
                return Decision(raise_to, self.mode())
            self.hold_left = self.cfg.hold_days
            held = max(last.budget - base.budget, 0.0)
            return Decision(
                base.budget, self.mode(), capacity_investment=self.cfg.capacity_share * held
            )
        if self.hold_left > 0:
            self.hold_left -= 1
            return Decision(last.budget, self.mode())
        if last.roi >= self.cfg.roi_floor and raise_to > last.budget:
            self.before_raise = last
            return Decision(raise_to, self.mode())
        return Decision(last.budget, self.mode())


class AlwaysScale(Strategy):
    name = "always_scale"
    description = "the anti-pattern: raises the budget every day whatever happens"
    scales_budget = True

    def decide(self, history: list[CampaignDay]) -> Decision:
        return Decision(self._cap(history[-1].budget * (1 + self.cfg.scale_step)), self.mode())


def free_traffic_cv(history: list[CampaignDay], window: int) -> float | None:
    """Coefficient of variation (population standard deviation / mean) of the room's free
    impressions over its last ``window`` live days; None while fewer live days are known or
    the mean is 0. What an operator reads as "free traffic is stable" (docs/MODEL.md 7.22)."""
    free = [h.free_impressions for h in history if h.live][-window:]
    if len(free) < window:
        return None
    mean = sum(free) / window
    if mean <= 0:
        return None
    var = sum((x - mean) ** 2 for x in free) / window
    return var**0.5 / mean


class ExploreWhenStable(Fixed):
    """The source's advice on paid traffic to explore: widen the audience only once the
    room's free traffic is stable, and back off when the exploring traffic does not pay.

    The budget is its base behaviour's (the class it derives from: ``fixed``). The audience
    expansion level starts at the campaign's ``expansion``. After each live day: if the level
    is positive, the campaign spent and its paid ROI was below ``roi_floor``, the level steps
    back by ``expansion_step`` and is held for ``hold_days`` live days; otherwise, when the
    coefficient of variation of free impressions over the last ``stable_window`` live days is
    below ``stable_cv`` (:func:`free_traffic_cv`), it rises by ``expansion_step`` up to
    ``expansion_max``. Off-air days change nothing.
    """

    name = "explore_when_stable"
    description = "fixed budget; widens the audience stepwise once free traffic is stable"
    expands = True

    def reset(self) -> None:
        self.level = self.cfg.expansion
        """Tomorrow's expansion level."""
        self.hold_left = 0
        """Live days left to hold after a step back."""

    def initial(self) -> Decision:
        base = super().initial()
        return Decision(base.budget, base.bidding, base.capacity_investment, self.level)

    def decide(self, history: list[CampaignDay]) -> Decision:
        base = super().decide(history)
        last = history[-1]
        cfg = self.cfg
        if last.live:
            if self.level > 0 and last.spend > 0 and last.roi < cfg.roi_floor:
                self.level = max(self.level - cfg.expansion_step, 0.0)
                self.hold_left = cfg.hold_days
            elif self.hold_left > 0:
                self.hold_left -= 1
            else:
                cv = free_traffic_cv(history, cfg.stable_window)
                if cv is not None and cv < cfg.stable_cv:
                    self.level = min(self.level + cfg.expansion_step, cfg.expansion_max)
        return Decision(base.budget, base.bidding, base.capacity_investment, self.level)


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        NoAds,
        Fixed,
        ColdStart,
        RoiTarget,
        MaxDelivery,
        FeedbackGated,
        AlwaysScale,
        ExploreWhenStable,
    )
}


def strategy_class(name: str, source: str = "strategy", key: str = "strategy") -> type[Strategy]:
    """The registered strategy called ``name``.

    Raises
    ------
    ConfigError
        When no strategy of that name is registered, naming ``source`` and ``key`` (the
        scenario file and dotted key the name came from), the registered names in registry
        order, and the nearest one when ``name`` looks like a typo.
    """
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        raise unknown_name(source, key, name, STRATEGIES) from None


register_part_registry("strategy", strategy_class)
