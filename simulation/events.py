"""Campaigns as platform events (issue 22; docs/MODEL.md 7.12).

Three event types, each a named table of ``[calendar]``:

- a **platform-wide sale** (``calendar.sales.<name>``, 大促): on its days every viewer's
  sessions and need arrivals rise by ``volume_lift`` and the buy hazard by ``intent_lift``;
  the participants' interest-feed ranking weight is multiplied by ``boost``;
- a **marketing IP** (``calendar.marketing_ips.<name>``): at most ``featured_cap``
  participants (highest prior GMV first) are featured; a share ``reserved_share`` of the
  interest feed's free slots is reserved for live featured rooms of the slot's category, and
  the featured rooms' ranking weight is multiplied by ``boost``;
- a **category event** (``calendar.category_events.<name>``): need arrivals in its category
  rise by ``volume_lift``, the buy hazard in its category's rooms by ``intent_lift``, and its
  participants (rooms of the category only) get ``boost``.

Who participates: a room passes an event's registration gates -- ``review_gate`` (review
score >= ``min_review``) and ``sales_gate`` (GMV over the last ``sales_window_days`` >=
``min_sales`` x the mean room's) -- each with its own switch (off: every room passes); of the
rooms that pass, the entry rule (``entry``, :data:`ENTRY_RULES`) decides who enters: every
eligible room, or each room's operator (``entry = "operator"``). Entering can cost: an
event's ``discount`` cuts its participants' prices on its days (cost of goods stays, so the
unit margin falls by the discount), while the buy hazard's price term rises. Every
resource sits at its neutral value when switched off (lifts 0, boost 1, reserved share 0), so
a study can take the rules' grants apart from what fans and reviews earn.

Version 1's ``calendar.campaign_days`` is not handled here: the model keeps its own path for
it (the same draws and numbers as before), and it is documented as a sale whose review gate
is ``min_review`` and whose boost is ``boost``.

Counters, one float64 day-table column each, only when an event is configured
(:data:`EVENT_FIELDS`).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from simulation.config import CategoryEventConfig, EventConfig, MarketingIPConfig

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel

EVENT_FIELDS = (
    "event_participant",
    "event_featured",
    "event_boost",
    "event_impressions",
    "event_price_factor",
)
"""Day-table columns (float64) of the calendar events, per room per day:
``event_participant`` 1 if the room took part in any event that day; ``event_featured`` 1 if
a marketing IP featured it; ``event_boost`` the ranking multiplier the events granted it
(1 = none); ``event_impressions`` free impressions it got from reserved slots;
``event_price_factor`` the share of list price it sold at (1 - the discounts of the events it
entered, compounded; 1 = list prices)."""

EntryRule = Callable[["SnowballModel", str, EventConfig, np.ndarray], np.ndarray]


def enter_all_eligible(
    model: "SnowballModel", name: str, event: EventConfig, eligible: np.ndarray
) -> np.ndarray:
    """Every room that passes the gates enters (``entry = "all_eligible"``)."""
    return eligible.copy()


def enter_by_operator(
    model: "SnowballModel", name: str, event: EventConfig, eligible: np.ndarray
) -> np.ndarray:
    """Each eligible room's operator decides (``entry = "operator"``): a room whose operator
    acts asks it (:meth:`simulation.operators.Operator.enters_event`, from the room's
    dashboards so far); a room without an acting operator enters, as under
    ``all_eligible``."""
    out = eligible.copy()
    for agent in model.operated:
        i = agent.index
        if out[i]:
            out[i] = bool(agent.operator.enters_event(name, event, list(agent.dashboards)))
    return out


ENTRY_RULES: dict[str, EntryRule] = {
    "all_eligible": enter_all_eligible,
    "operator": enter_by_operator,
}
"""The entry decision of an event: ``rule(model, event name, event config, eligible mask)``
returns the mask of rooms that enter (a subset of ``eligible``). Every rule is listed in
``config.EVENT_ENTRY``; nothing else in the model decides entry."""


def eligible(
    review: np.ndarray, prior_gmv: np.ndarray, event: EventConfig, room_mask: np.ndarray
) -> np.ndarray:
    """Rooms that pass ``event``'s registration gates, (S,) bool.

    ``review``: review scores; ``prior_gmv``: each room's GMV over the event's sales window;
    ``room_mask``: the rooms the event is open to (all, or a category event's category).
    The sales gate compares with ``min_sales`` x the mean prior GMV over the rooms the event
    is open to (a relative bar: the same at every platform size, docs/MODEL.md 8); with no
    sales yet anywhere the mean is 0 and every room passes.
    """
    ok = room_mask.copy()
    if event.review_gate:
        ok &= review >= event.min_review
    if event.sales_gate:
        mean = float(prior_gmv[room_mask].mean()) if room_mask.any() else 0.0
        ok &= prior_gmv >= event.min_sales * mean
    return ok


def featured(prior_gmv: np.ndarray, participants: np.ndarray, cap: int) -> np.ndarray:
    """At most ``cap`` participants, highest prior GMV first (ties: lower room index)."""
    idx = np.flatnonzero(participants)
    order = idx[np.argsort(-prior_gmv[idx], kind="stable")][:cap]
    out = np.zeros(len(participants), dtype=bool)
    out[order] = True
    return out


class Events:
    """The day's campaign events: who participates and what each rule grants.

    Built by the model when ``calendar`` has any event; :meth:`start_day` is called once a
    day after the day's review scores are in. Attributes read during the day:

    session_lift : float
        Multiplier of every viewer's sessions (the sales' volume lifts).
    need_lift : (K,) float
        Multiplier of need arrivals per category (sales' and category events' volume lifts).
    intent_cat : (K,) float
        Buy-hazard multiplier per category of the room shown (sales and category events).
    boost : (S,) float
        Ranking-weight multiplier per room (the product over the day's events).
    reserved_share : float
        Share of the interest feed's free slots reserved for ``featured`` live rooms.
    featured : (S,) bool
        Rooms a marketing IP features today.
    """

    def __init__(self, model: "SnowballModel"):
        self.m = model
        self.cal = model.config.calendar
        n, k = model.table.n, model.config.population.categories
        self.n, self.k = n, k
        self.session_lift = 1.0
        self.need_lift = np.ones(k)
        self.intent_cat = np.ones(k)
        self.boost = np.ones(n)
        self.reserved_share = 0.0
        self.featured = np.zeros(n, dtype=bool)
        self.participant = np.zeros(n, dtype=bool)
        self.price_factor = np.ones(n)
        self.active = False

    def prior_gmv(self, days: int) -> np.ndarray:
        """Each room's GMV over the last ``days`` completed days (fewer at the start)."""
        out = np.zeros(self.n)
        for rec in self.m.daily_records[-days:]:
            out += rec["gmv"]
        return out

    def start_day(self, day: int) -> None:
        """Decide today's participants and set what the day's events grant."""
        t = self.m.table
        self.session_lift = 1.0
        self.need_lift = np.ones(self.k)
        self.intent_cat = np.ones(self.k)
        self.boost = np.ones(self.n)
        self.reserved_share = 0.0
        self.featured = np.zeros(self.n, dtype=bool)
        self.participant = np.zeros(self.n, dtype=bool)
        self.price_factor = np.ones(self.n)
        self.active = False
        for _kind, name, ev in self.cal.events():
            if day not in ev.days:
                continue
            self.active = True
            open_to = np.ones(self.n, dtype=bool)
            if isinstance(ev, CategoryEventConfig):
                open_to = t.category == ev.category
            prior = self.prior_gmv(ev.sales_window_days)
            ok = eligible(t.review_score, prior, ev, open_to)
            part = ENTRY_RULES[ev.entry](self.m, name, ev, ok) & ok
            self.participant |= part
            if ev.discount > 0:  # what entering costs: the participants' price cut
                self.price_factor = np.where(
                    part, self.price_factor * (1 - ev.discount), self.price_factor
                )
            if isinstance(ev, MarketingIPConfig):
                feat = featured(prior, part, ev.featured_cap)
                self.featured |= feat
                self.boost = np.where(feat, self.boost * ev.boost, self.boost)
                # Several IPs on one day: their reserved shares add up (at most every slot).
                self.reserved_share = min(1.0, self.reserved_share + ev.reserved_share)
                continue
            self.boost = np.where(part, self.boost * ev.boost, self.boost)
            if isinstance(ev, CategoryEventConfig):
                self.need_lift[ev.category] *= 1 + ev.volume_lift
                self.intent_cat[ev.category] *= 1 + ev.intent_lift
            else:  # a platform-wide sale
                self.session_lift *= 1 + ev.volume_lift
                self.need_lift *= 1 + ev.volume_lift
                self.intent_cat *= 1 + ev.intent_lift
        dc = self.m.day_counts
        dc["event_participant"][:] = self.participant
        dc["event_featured"][:] = self.featured
        dc["event_boost"][:] = self.boost
        dc["event_price_factor"][:] = self.price_factor

    def intent(self, base: float, stream: np.ndarray) -> float | np.ndarray:
        """The buy-hazard multiplier of each impression of ``stream``: ``base`` (version 1's
        campaign day) x the events' lift of the room's category; a float when every
        category has the same lift (no per-impression array)."""
        if np.all(self.intent_cat == self.intent_cat[0]):
            return base * float(self.intent_cat[0])
        return base * self.intent_cat[self.m.table.category[stream]]

    def reserve(
        self, cat: np.ndarray, live: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """The marketing IPs' traffic resource: each free slot is reserved with probability
        ``reserved_share`` and goes to a uniformly drawn live featured room of the slot's
        category; a slot whose category has no live featured room stays a free slot.

        ``cat``: each free slot's category. Returns (indices of the slots taken, the room each
        went to). Draws one uniform per free slot from ``rng`` (the ``events`` generator),
        only while a marketing IP with a reserved share runs and a featured room is live.
        """
        n = len(cat)
        pool = np.flatnonzero(self.featured & live)
        if self.reserved_share <= 0 or n == 0 or len(pool) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        u = rng.random(n)
        pool = pool[np.argsort(self.m.table.category[pool], kind="stable")]
        pcat = self.m.table.category[pool]
        count = np.bincount(pcat, minlength=self.k)
        start = np.concatenate(([0], np.cumsum(count)[:-1]))
        take = np.flatnonzero((u < self.reserved_share) & (count[cat] > 0))
        w = u[take] / self.reserved_share  # the uniform left, rescaled to [0, 1)
        j = start[cat[take]] + np.minimum(
            (w * count[cat[take]]).astype(np.int64), count[cat[take]] - 1
        )
        return take, pool[j]
