"""Room operators: once a day, turn what a merchant's own dashboard shows into tomorrow's
capacity investment, a correction of the room's ad budget and, with the run-of-show, the
room's product mix (issue 22).

An operator is a small class with a ``name``, a few metadata flags and one method,
``decide``, in the same shape as a paid-traffic strategy (:mod:`simulation.strategies`).
Every operator is listed in :data:`OPERATORS`, and being listed is all it takes to be tested:
``tests/test_operator_contract.py`` runs every registered operator through the same contract
(registered under its name, clone, reset, pickle round-trip, the same decisions from the same
dashboards, its flags honoured). docs/CONTRIBUTING.md says how to add one.

This module owns its names: :func:`operator_class` is the one lookup, and it is what the
scenario loader calls (through :func:`simulation.config.register_part_registry`) to reject a
``streams.<group>.operator`` that is not registered.

What an operator observes (:class:`RoomDashboard`) is what a merchant's own room dashboard
shows for the day just ended: traffic by source, entries, orders, GMV and gross margin, GPM,
ad spend and paid ROI, review score, fans, and, when the scenario books them, returns,
refunds (``economics.returns``) and profit (``economics.profit_accounting``). No operator sees
the room's hidden traits (hook, retention, persuasion, quality). With
``behaviour.run_of_show`` the dashboard also shows each item of the room's script: its
airtime, the entries while it was on air, its orders, GMV, gross margin, returns and (with
profit accounting) its contribution to profit; ``adaptive_mix`` reads them.

Order within the end of a day (:meth:`simulation.model.SnowballModel._end_day`): the ad
strategies decide tomorrow's budget first, from their campaign's console; then every operator
that acts decides from its room's dashboard; its :class:`OperatorDecision` multiplies the
budget the strategy set (clipped to the campaign's ``max_budget``) and queues its capacity
investment beside any the strategy made; a new mix replaces the room's script from the next
day on. The strategy sees tomorrow the budget that was applied (the operator's factor
included), as an advertiser's console shows it.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from simulation.config import EventConfig, OperatorConfig, register_part_registry, unknown_name

ENTRY_WINDOW_DAYS = 7
"""Days of the dashboard :meth:`Operator.enters_event` reads (a week: order of magnitude)."""


@dataclass(frozen=True)
class RoomDashboard:
    """One day of a room as its merchant's dashboard shows it (all counts for that day)."""

    day: int
    live: bool
    free_impressions: int
    paid_impressions: int
    follow_impressions: int
    entries: int
    orders: int
    gmv: float
    margin: float
    """Gross margin of the day's orders (GMV less cost of goods), yuan."""
    ad_spend: float
    paid_orders: int
    paid_gmv: float
    budget: float
    """The room's ad budget that day (0 without a campaign), yuan."""
    review_score: float
    fans: int
    """Followers at the end of the day."""
    returns: float | None = None
    """Returned orders (``economics.returns``; None when the scenario has no returns)."""
    refunds: float | None = None
    """Refunded GMV, yuan (``economics.returns``; None otherwise)."""
    profit: float | None = None
    """Profit after every cost (``economics.profit_accounting``; None otherwise), yuan."""
    mix: tuple[float, ...] | None = None
    """The room's time shares of the items of its script (driver, profit, welfare) that day."""
    item_roles: tuple[int, ...] | None = None
    """Per item of the room's script, in script order: its role (0 driver, 1 profit,
    2 welfare; ``behaviour.run_of_show``; None otherwise, as are the other ``item_``
    fields). A default script has one item per role in role order; an explicit script
    (``script_roles``) may repeat a role."""
    item_airtime: tuple[float, ...] | None = None
    """Per item of the script: minutes on air that day."""
    item_entries: tuple[float, ...] | None = None
    """Per item: entries while the item was on air."""
    item_orders: tuple[float, ...] | None = None
    """Per item: orders of the item (whenever in the visit it was bought)."""
    item_gmv: tuple[float, ...] | None = None
    """Per item: GMV of its orders, yuan."""
    item_margin: tuple[float, ...] | None = None
    """Per item: gross margin of its orders (GMV less cost of goods), yuan."""
    item_returns: tuple[float, ...] | None = None
    """Per item: returned orders (also needs ``economics.returns``; None otherwise)."""
    item_contribution: tuple[float, ...] | None = None
    """Per item: its contribution to profit, yuan — gross margin less refunds net of
    restocked goods, return handling, platform fee and commission (also needs
    ``economics.profit_accounting``; None otherwise; ads, host and capacity are not any
    item's)."""

    @property
    def impressions(self) -> int:
        return self.free_impressions + self.paid_impressions + self.follow_impressions

    @property
    def conversion(self) -> float:
        """Orders per entry (0 without entries)."""
        return self.orders / self.entries if self.entries > 0 else 0.0

    @property
    def gpm(self) -> float:
        """GMV per 1000 impressions (0 without impressions)."""
        return 1000 * self.gmv / self.impressions if self.impressions > 0 else 0.0

    @property
    def paid_roi(self) -> float:
        """Paid GMV per ad yuan (0 when nothing was spent)."""
        return self.paid_gmv / self.ad_spend if self.ad_spend > 0 else 0.0

    @property
    def paid_conversion(self) -> float:
        """Paid orders per paid impression (0 without paid impressions)."""
        return self.paid_orders / self.paid_impressions if self.paid_impressions > 0 else 0.0

    @property
    def organic_conversion(self) -> float:
        """Orders not from paid slots per free or follow impression (0 without them)."""
        organic = self.free_impressions + self.follow_impressions
        return (self.orders - self.paid_orders) / organic if organic > 0 else 0.0


@dataclass(frozen=True)
class OperatorDecision:
    """What the operator changes for tomorrow: a factor on the budget the room's strategy
    set (1 = as the strategy set it), yuan invested in the room's capacity (host and
    script; raises persuasion and retention, see ``Scenario.capacity_return``) and, with the
    run-of-show, the room's new mix (its script's time shares)."""

    budget_factor: float = 1.0
    capacity_investment: float = 0.0
    mix: tuple[float, ...] | None = None
    """Tomorrow's time shares of the items of the room's script (None: keep the mix)."""


class Operator:
    """Base class. Subclasses set the flags and implement :meth:`decide`.

    An operator that keeps state between days sets it in :meth:`reset` (which ``__init__``
    calls), so that :meth:`reset` returns it to the state of a new instance and
    :meth:`clone` gives a new instance with the same configuration. The model calls
    :meth:`decide` only for operators with a flag set (an operator that neither invests nor
    adjusts the budget nor the mix has nothing to apply: ``static`` costs nothing per day).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    invests: ClassVar[bool] = False
    """Whether it ever invests in the room's capacity."""
    adjusts_budget: ClassVar[bool] = False
    """Whether its budget factor is ever other than 1."""
    adjusts_mix: ClassVar[bool] = False
    """Whether it ever sets a mix other than the room's."""
    needs_run_of_show: ClassVar[bool] = False
    """Whether it reads the per-item dashboard (the loader refuses it without
    ``behaviour.run_of_show``)."""

    def __init__(self, cfg: OperatorConfig):
        self.cfg = cfg
        self.reset()

    def reset(self) -> None:
        """Forget everything observed: back to the state before the room's first day."""

    def clone(self) -> "Operator":
        """A new operator of the same class and configuration, in its initial state."""
        return type(self)(self.cfg)

    def decide(self, history: list[RoomDashboard]) -> OperatorDecision:  # pragma: no cover
        raise NotImplementedError

    def enters_event(self, name: str, event: EventConfig, history: list[RoomDashboard]) -> bool:
        """Whether the room enters calendar event ``name`` it is eligible for (asked only
        under the event's ``entry = "operator"``, docs/MODEL.md 7.12), from its dashboards.

        The rule: enter when the event's discount d leaves every order a positive gross
        margin. With gross margin share m (margin / GMV over the last
        :data:`ENTRY_WINDOW_DAYS` days), a sale at (1 - d) of list price keeps a unit margin
        share of 1 - (1 - m)/(1 - d), positive exactly when m > d. A room with no sales in
        the window enters (it has nothing to judge by, and an event brings traffic)."""
        recent = history[-ENTRY_WINDOW_DAYS:]
        gmv = sum(d.gmv for d in recent)
        if gmv <= 0:
            return True
        return sum(d.margin for d in recent) / gmv > event.discount

    def _spend(self, day: RoomDashboard) -> float:
        """The capacity budget rule: ``capacity_budget`` plus ``capacity_margin_share`` of
        the day's gross margin when positive (yuan)."""
        return self.cfg.capacity_budget + self.cfg.capacity_margin_share * max(day.margin, 0.0)


class Static(Operator):
    name = "static"
    description = "decides nothing: the room runs as configured (version 1)"

    def decide(self, history: list[RoomDashboard]) -> OperatorDecision:
        return OperatorDecision()


class CapacityInvestment(Operator):
    """Invests every live day in the room's capacity: ``capacity_budget`` yuan plus
    ``capacity_margin_share`` of the day's gross margin; leaves the ads to the strategy."""

    name = "capacity_investment"
    description = "invests capacity_budget (+ a share of margin) each live day in host and script"
    invests = True

    def decide(self, history: list[RoomDashboard]) -> OperatorDecision:
        last = history[-1]
        return OperatorDecision(1.0, self._spend(last) if last.live else 0.0)


class CapacityFirst(Operator):
    """The source's rule: hold ads while paid traffic burns, invest in capacity, then scale.

    On a live day with ad spend: paid ROI below ``roi_threshold`` → hold (budget factor
    ``hold_factor``) and invest the capacity budget; at or above it → scale (the factor grows
    by ``scale_step``, from at least 1, up to ``max_factor``) and invest nothing. A day
    without spend (no campaign, or a strategy that buys nothing) or off the air is no
    evidence: the phase and factor are kept, and capacity is bought only on live days while
    holding.
    """

    name = "capacity_first"
    description = "holds ads and invests in capacity while paid ROI < roi_threshold, then scales"
    invests = True
    adjusts_budget = True

    def reset(self) -> None:
        self.scaling = False
        """Whether paid ROI cleared the threshold on the last live day with spend."""
        self.factor = self.cfg.hold_factor
        """Tomorrow's budget factor."""

    def decide(self, history: list[RoomDashboard]) -> OperatorDecision:
        last = history[-1]
        c = self.cfg
        if last.live and last.ad_spend > 0:
            if last.paid_roi >= c.roi_threshold:
                self.scaling = True
                self.factor = min(max(self.factor, 1.0) * (1 + c.scale_step), c.max_factor)
            else:
                self.scaling = False
                self.factor = c.hold_factor
        invest = self._spend(last) if last.live and not self.scaling else 0.0
        return OperatorDecision(self.factor, invest)


MIN_AIRTIME = 1e-6
"""Minutes on air below which an item's earnings per minute are no evidence."""


def adapt_mix(
    mix: np.ndarray, earnings: np.ndarray, airtime: np.ndarray, step: float, floor: float
) -> np.ndarray:
    """One day's move of a room's time shares towards the items that earn.

    Each item's earnings per minute on air is ``earnings / airtime``; an item without
    airtime (at most :data:`MIN_AIRTIME`) is no evidence and keeps its share. The target
    gives the items with airtime the share they hold together, split in proportion to their
    positive earnings per minute (an item that loses money gets 0); when none earns, the
    target is the mix itself. The new mix
    is ``(1 - step) x mix + step x target``, then lifted to at least ``floor`` per item by
    :func:`floor_mix`. The shares add up to 1.
    """
    mix = np.asarray(mix, dtype=np.float64)
    earnings = np.asarray(earnings, dtype=np.float64)
    airtime = np.asarray(airtime, dtype=np.float64)
    known = airtime > MIN_AIRTIME
    rate = np.zeros_like(mix)
    rate[known] = np.maximum(earnings[known] / airtime[known], 0.0)
    target = mix.copy()
    if rate.sum() > 0:
        target[known] = mix[known].sum() * rate[known] / rate.sum()
    return floor_mix((1 - step) * mix + step * target, floor)


def floor_mix(mix: np.ndarray, floor: float) -> np.ndarray:
    """``mix`` with every share at least ``floor`` (needs ``floor x items <= 1``): shares
    below the floor are raised to it and the part above the floor of the others is scaled
    down to make room, so the order of the shares above the floor is kept and they add up
    to 1."""
    x = np.maximum(np.asarray(mix, dtype=np.float64), floor)
    above = x - floor
    room = 1.0 - floor * len(x)
    total = above.sum()
    x = floor + (above * (room / total) if total > 0 else np.full(len(x), room / len(x)))
    return x / x.sum()


class AdaptiveMix(Operator):
    """Moves the room's airtime (its script's time shares, the items' explanation time)
    towards the items that earn, once a day.

    Earnings per item are its profit contribution on the dashboard
    (``economics.profit_accounting``: gross margin less refunds net of restocking, return
    handling, platform fee and commission), else its gross margin; earnings and airtime are
    summed per role (the mix's unit; an explicit script may hold several items of a role)
    over the last ``mix_window`` days. Each day the mix moves a
    ``mix_step`` of the way to the target of :func:`adapt_mix`, with ``mix_floor`` the least
    share of any item. A day off the air is no evidence (the mix is kept). Needs
    ``behaviour.run_of_show`` (the loader refuses it otherwise).
    """

    name = "adaptive_mix"
    description = (
        "moves airtime towards the items that earn most per minute on air "
        "(needs behaviour.run_of_show)"
    )
    adjusts_mix = True
    needs_run_of_show = True

    def decide(self, history: list[RoomDashboard]) -> OperatorDecision:
        last = history[-1]
        if not last.live or last.mix is None or last.item_airtime is None:
            return OperatorDecision()
        window = history[-self.cfg.mix_window :]
        k = len(last.mix)
        earn = np.zeros(k)
        air = np.zeros(k)
        for d in window:  # summed per role (an explicit script may repeat a role)
            if d.item_airtime is None:
                continue
            per_item = d.item_contribution if d.item_contribution is not None else d.item_margin
            roles = d.item_roles if d.item_roles is not None else range(len(per_item))
            roles = np.asarray(roles, dtype=np.int64)
            earn += np.bincount(roles, np.asarray(per_item, dtype=np.float64), minlength=k)
            air += np.bincount(roles, np.asarray(d.item_airtime, dtype=np.float64), minlength=k)
        new = adapt_mix(np.asarray(last.mix), earn, air, self.cfg.mix_step, self.cfg.mix_floor)
        return OperatorDecision(mix=tuple(float(x) for x in new))


# --- alliance_diagnosis (issue 22; the mechanism's model side is simulation/alliance.py) ---


@dataclass(frozen=True)
class AllianceRoomDay:
    """One day of an alliance room selling the merchant's products, as the merchant sees it
    (the influencer's sales data the alliance platform shows a merchant)."""

    room: int
    day: int
    live: bool
    free_impressions: int
    paid_impressions: int
    follow_impressions: int
    entries: int
    orders: int
    product_category: int
    """The category of the merchant's product the room sold that day."""
    content_category: int
    """The influencer's own content category."""
    merchant_category: int
    """The merchant room's category (its product when the assortment is empty)."""
    peer_organic_impressions: float
    """Free + follow impressions of the average live room that day (the platform's peer
    benchmark)."""
    audience_interest: tuple[float, ...] = ()
    """The room's followers' mean relative interest per category (1 = average); empty
    without followers."""

    @property
    def organic_impressions(self) -> int:
        return self.free_impressions + self.follow_impressions

    @property
    def conversion(self) -> float:
        """Orders per entry (0 without entries)."""
        return self.orders / self.entries if self.entries > 0 else 0.0


@dataclass(frozen=True)
class AllianceDecision:
    """What the merchant changes for an alliance room tomorrow: the product it sells and the
    yuan it funds the room's paid traffic with (0 = none)."""

    room: int
    product_category: int
    funding: float
    rematched: bool = False


class AllianceDiagnosis(Operator):
    """The source's diagnosis of an alliance influencer, traffic x conversion, run by the
    merchant for every alliance room that sells its products (simulation/alliance.py).

    It changes nothing in the merchant's own room (:meth:`decide` is ``static``'s). Each day,
    for each live alliance room (:meth:`diagnose`): conversion (orders per entry, judged on a
    day with at least ``min_entries`` entries) below ``conversion_floor`` → re-match the
    room's product (:meth:`rematch`) and fund nothing (paid traffic would burn on a product
    the audience does not buy); otherwise organic impressions below ``traffic_floor`` x the
    average live room's → fund ``traffic_budget`` yuan of the room's paid traffic tomorrow;
    otherwise fund nothing. A day off the air is no evidence: product and funding are kept.
    """

    name = "alliance_diagnosis"
    description = (
        "merchant's diagnosis of its alliance rooms: low conversion -> re-match the product, "
        "low traffic -> fund paid traffic"
    )

    def reset(self) -> None:
        self.tried: dict[int, dict[int, tuple[int, int]]] = {}
        """Per alliance room, per product category sold: (entries, orders) on live days."""
        self.funding: dict[int, float] = {}
        """Per alliance room, the funding last decided (yuan a day)."""

    def decide(self, history: list[RoomDashboard]) -> OperatorDecision:
        return OperatorDecision()

    def candidates(self, d: AllianceRoomDay) -> tuple[int, ...]:
        """The merchant's products the room may sell: the assortment, or the merchant
        room's category when the assortment is empty."""
        return self.cfg.assortment or (d.merchant_category,)

    def rematch(self, d: AllianceRoomDay) -> int:
        """The product to sell after a low-conversion day: among the candidates, the one
        with the best conversion measured in this room (over days with at least
        ``min_entries`` entries in total) if it beats the current one's; otherwise the
        untried candidate the room's audience likes best (its followers' mean interest; the
        influencer's content category first when it has no followers; ties in assortment
        order); otherwise the current product (nothing left to try)."""
        c = self.cfg
        cur = d.product_category
        tried = self.tried.get(d.room, {})
        measured = {
            k: o / e
            for k, (e, o) in tried.items()
            if e >= c.min_entries and k in self.candidates(d)
        }
        best = max(measured, key=lambda k: measured[k], default=cur)
        if best != cur and measured[best] > measured.get(cur, -1.0):
            return best
        untried = [k for k in self.candidates(d) if k != cur and k not in measured]
        if not untried:
            return cur

        def liking(k: int) -> float:
            if d.audience_interest:
                return d.audience_interest[k]
            return 1.0 if k == d.content_category else 0.0

        return max(untried, key=liking)  # max keeps the first of ties

    def diagnose(self, days: list[AllianceRoomDay]) -> list[AllianceDecision]:
        """Today's decision for each alliance room (in the order given)."""
        c = self.cfg
        out = []
        for d in days:
            if not d.live:
                out.append(
                    AllianceDecision(d.room, d.product_category, self.funding.get(d.room, 0.0))
                )
                continue
            room = self.tried.setdefault(d.room, {})
            e, o = room.get(d.product_category, (0, 0))
            room[d.product_category] = (e + d.entries, o + d.orders)
            product, funding = d.product_category, 0.0
            if d.entries >= c.min_entries and d.conversion < c.conversion_floor:
                product = self.rematch(d)
            elif d.organic_impressions < c.traffic_floor * d.peer_organic_impressions:
                funding = c.traffic_budget
            self.funding[d.room] = funding
            out.append(AllianceDecision(d.room, product, funding, product != d.product_category))
        return out


OPERATORS: dict[str, type[Operator]] = {
    cls.name: cls
    for cls in (Static, CapacityInvestment, CapacityFirst, AdaptiveMix, AllianceDiagnosis)
}
"""Every room operator, by name."""


def operator_class(name: str, source: str = "operator", key: str = "operator") -> type[Operator]:
    """The registered operator called ``name``.

    Raises
    ------
    ConfigError
        When no operator of that name is registered, naming ``source`` and ``key`` (the
        scenario file and dotted key the name came from), the registered names in registry
        order, and the nearest one when ``name`` looks like a typo.
    """
    try:
        return OPERATORS[name]
    except (KeyError, TypeError):
        raise unknown_name(source, key, name, OPERATORS) from None


register_part_registry("operator", operator_class)
