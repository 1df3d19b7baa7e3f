"""Top KOL sessions for a merchant: 混场 (a slot in a mixed session) and 专场 (a dedicated
session), and the capture of the KOL's buyers by the merchant's own room (issue 22).

A stream group of kind ``top_kol`` that names a ``merchant`` sells that merchant's goods. In
version 1 (``kol_session = "v1"``) every order of its session is the merchant's, and a buyer
follows the merchant's own room with ``behaviour.store_follow_after_buy``, whether or not
the merchant has a room that ever goes live. With ``kol_session`` set (docs/MODEL.md 7.21):

``mixed`` (混场)
    The KOL's session sells many merchants' items; the merchant's hero item is on air for
    ``kol_slot_share`` of it. Only the orders of the merchant's slot are the merchant's:
    with ``behaviour.run_of_show`` on, the orders of the ticks whose session clock lies in
    the slot (the slot is centred in the session: ``[(1 - share)/2, (1 + share)/2)`` of its
    minutes); otherwise each order of the session is the merchant's with probability
    ``kol_slot_share`` (one uniform per order from the model's ``kol`` generator). The
    merchant pays ``kol_slot_fee`` per session plus the commission
    (``economics.commission_rate``) on its GMV.
``dedicated`` (专场)
    The whole session sells the merchant's assortment: the room takes the merchant's own
    room's category, price, quality and product mix, every order is the merchant's, and the
    merchant pays ``kol_dedicated_fee`` per session plus the commission.

In both, the merchant's buyers in the session may be captured by its own room:

- store follows: each such buyer follows the merchant's own room with probability
  ``kol_capture_follow``, and with none when the merchant has no own room (a room that is
  on air at some point of the run); this replaces version 1's store-follow path for the
  session's room;
- look-alike seeds (``kol_seed_lookalike``): the merchant's distinct KOL buyers who do not
  follow its room join its followers as the seed audience of its look-alike targeting (the
  audience precision that sets the look-alike bar, simulation/distribution/interest_feed.py),
  counted once a day.

Day fields (float64, per stream; the KOL rows carry them): ``kol_session_orders`` and
``kol_session_gmv`` (the whole session's), ``kol_slot_fees`` (yuan charged to the merchant
the tick the session goes live), ``kol_buyers_captured`` (new follows of the merchant's room
from the session's buyers). In a 混场 row of the day table the accounting columns ``orders``,
``gmv``, ``margin`` (and the return columns) hold the merchant's part of the session (summed
on their own and set in at the end of the day), so that the row's profit
(``economics.profit_accounting``) is the merchant's: GMV less its terms, less the slot fee.
The traffic columns (impressions, entries, ...) and the ``fan_``, ``paid_``, ``search_`` and
``need_`` order columns stay the session's.
"""

from __future__ import annotations

import numpy as np

from simulation.config import KOL_SESSIONS, Scenario
from simulation.population import Population
from simulation.streams import StreamTable

KOL_FIELDS = ("kol_session_orders", "kol_session_gmv", "kol_slot_fees", "kol_buyers_captured")
"""Day fields (float64) the day table gains when a group sets ``kol_session``."""

V1, MIXED, DEDICATED = (KOL_SESSIONS.index(k) for k in KOL_SESSIONS)
PART_FIELDS = ("orders", "gmv", "margin", "returns", "refunds", "returned_cost")
"""Accounting columns of a 混场 row that hold the merchant's part of the session."""


def active(scenario: Scenario) -> bool:
    """True when a stream group with streams sets a ``kol_session`` other than v1."""
    return any(g.kol_session != "v1" and g.count > 0 for g in scenario.streams.values())


class KolSessions:
    """The top KOL sessions' state: which orders are the merchant's, fees, capture, seeds.

    Built right after the stream table (before the population reads the rooms' categories):
    a 专场's room takes its merchant's category and goods here.

    Parameters
    ----------
    table
        The stream table (modified: the 专场 rooms' goods; ``store_room`` of the KOL rows).
    tick_minutes
        Minutes per tick (the session clock of the run-of-show slot).
    affinity
        Affinity of a new follow (``behaviour.affinity_initial``).
    rng
        The model's ``kol`` generator.
    """

    def __init__(
        self,
        table: StreamTable,
        tick_minutes: float,
        affinity: float,
        rng: np.random.Generator,
    ):
        self.table = table
        self.affinity = float(affinity)
        self.rng = rng
        self.tick_minutes = float(tick_minutes)
        n = self.n = table.n
        cfgs = table.group_configs
        g = table.group
        self.mode = np.array([KOL_SESSIONS.index(c.kol_session) for c in cfgs])[g]
        """V1, MIXED or DEDICATED per stream, (S,)."""
        self.share = np.array([c.kol_slot_share for c in cfgs], dtype=np.float64)[g]
        fee = [
            {MIXED: c.kol_slot_fee, DEDICATED: c.kol_dedicated_fee}.get(
                KOL_SESSIONS.index(c.kol_session), 0.0
            )
            for c in cfgs
        ]
        self.fee = np.array(fee, dtype=np.float64)[g]
        """Yuan the merchant pays per session of each room, (S,)."""
        self.rooms = np.flatnonzero(self.mode != V1)
        """The KOL-session rooms."""
        self.merchant = table.merchant_room.copy()
        own = (table.duration_ticks > 0) & table.days_on.any(axis=1)
        has_room = np.zeros(n, dtype=bool)
        has_room[self.rooms] = own[self.merchant[self.rooms]]
        capture = np.array([c.kol_capture_follow for c in cfgs], dtype=np.float64)[g]
        self.capture = np.where(has_room, capture, 0.0)
        """Probability a merchant's buyer in the session follows its own room (0 without
        one), (S,)."""
        self.seeds_on = np.array([c.kol_seed_lookalike for c in cfgs], dtype=bool)[g]
        self.is_kol = self.mode != V1
        # 专场: the merchant's assortment (category, price, quality, product mix).
        ded = np.flatnonzero(self.mode == DEDICATED)
        m = self.merchant[ded]
        table.category[ded] = table.category[m]
        table.price[ded] = table.price[m]
        table.quality[ded] = table.quality[m]
        table.mix[ded] = table.mix[m]
        # Version 1's store-follow path is replaced by the capture below for these rooms.
        table.store_room = np.where(self.is_kol, -1, table.merchant_room)
        self.buyers: dict[int, np.ndarray] = {}
        """Per merchant room: its KOL buyers' viewer ids seen so far (unique, sorted)."""
        self.lookalike_seeds = np.zeros(n)
        """Per room: KOL buyers added to its look-alike seeds (not following it), (S,)."""
        self._was_live = np.zeros(n, dtype=bool)
        self.mixed_rooms = np.flatnonzero(self.mode == MIXED)
        self.part = {k: np.zeros(n) for k in PART_FIELDS}
        """Today's sums over the merchant's orders of each 混场 room, (S,) each."""

    # ------------------------------------------------------------------ per tick

    def in_slot(self, clock: np.ndarray | None) -> np.ndarray:
        """Per stream, whether the run-of-show clock (minutes on air before this tick) lies
        in the merchant's centred slot of a 混场 session, (S,) bool."""
        t = self.table
        session = t.duration_ticks * self.tick_minutes
        lo = session * (1 - self.share) / 2
        hi = session * (1 + self.share) / 2
        c = np.zeros(self.n) if clock is None else clock
        return (c >= lo) & (c < hi)

    def merchant_orders(self, order_stream: np.ndarray, clock: np.ndarray | None) -> np.ndarray:
        """Per order (aligned with ``order_stream``), whether it is the merchant's: every
        order outside 混场 rooms; in a 混场 room an order of the slot (by the clock, or a
        draw with probability ``kol_slot_share`` when ``clock`` is None)."""
        mixed = self.mode[order_stream] == MIXED
        mine = np.ones(len(order_stream), dtype=bool)
        idx = np.flatnonzero(mixed)
        if len(idx) == 0:
            return mine
        s = order_stream[idx]
        if clock is None:
            mine[idx] = self.rng.random(len(idx)) < self.share[s]
        else:
            mine[idx] = self.in_slot(clock)[s]
        return mine

    def account(
        self,
        dc: dict[str, np.ndarray],
        live: np.ndarray,
        order_stream: np.ndarray,
        order_viewer: np.ndarray,
        price: np.ndarray,
        margin: np.ndarray,
        returned: np.ndarray | None,
        refund_cost: np.ndarray | None,
        pop: Population,
        clock: np.ndarray | None,
    ) -> np.ndarray:
        """One tick's KOL-session accounting on the day counts ``dc``; returns the
        per-order merchant flags.

        Charges the fee of each KOL room that goes live this tick; keeps the session's
        totals; sums the merchant's part of each 混场 (``orders``, ``gmv``, ``margin`` and
        the return fields, which :meth:`settle` sets in at the end of the day); lets the
        merchant's room capture the merchant's buyers (store follows) and remembers them as
        look-alike seeds.

        Parameters
        ----------
        order_stream, order_viewer, price, margin
            Per order of the tick: room, buyer, price and unit margin.
        returned, refund_cost
            Per order, whether it was returned and its cost of goods (None: returns off).
        pop
            The population (follows are added).
        clock
            The run-of-show clocks (None: the 混场 slot is drawn per order).
        """
        n = self.n
        went = live & ~self._was_live & self.is_kol
        self._was_live = live.copy()
        dc["kol_slot_fees"] += np.where(went, self.fee, 0.0)
        on = self.is_kol[order_stream]
        o = np.flatnonzero(on)
        s = order_stream[o]
        dc["kol_session_orders"] += np.bincount(s, minlength=n)
        dc["kol_session_gmv"] += np.bincount(s, price[o], minlength=n)
        mine = self.merchant_orders(order_stream, clock)
        # 混场: the merchant's part, summed on its own (exact sums, set in by settle()).
        part = np.flatnonzero(on & mine & (self.mode[order_stream] == MIXED))
        sp = order_stream[part]
        acc = self.part
        acc["orders"] += np.bincount(sp, minlength=n)
        acc["gmv"] += np.bincount(sp, price[part], minlength=n)
        acc["margin"] += np.bincount(sp, margin[part], minlength=n)
        if returned is not None and refund_cost is not None:
            r = part[returned[part]]
            sr = order_stream[r]
            acc["returns"] += np.bincount(sr, minlength=n)
            acc["refunds"] += np.bincount(sr, price[r], minlength=n)
            acc["returned_cost"] += np.bincount(sr, refund_cost[r], minlength=n)
        b = np.flatnonzero(on & mine)
        if len(b) == 0:
            return mine
        sb, vb = order_stream[b], order_viewer[b]
        take = self.rng.random(len(b)) < self.capture[sb]
        for room in np.unique(sb[take]):  # O(KOL rooms) per tick
            pick = take & (sb == room)
            added = pop.add_follows(
                vb[pick],
                np.full(int(pick.sum()), self.merchant[room], dtype=np.int64),
                self.affinity,
            )
            dc["kol_buyers_captured"][room] += added
        for m in np.unique(self.merchant[sb]):
            seeded = self.seeds_on[sb] & (self.merchant[sb] == m)
            if seeded.any():
                old = self.buyers.get(int(m), np.empty(0, dtype=np.int64))
                self.buyers[int(m)] = np.union1d(old, vb[seeded])
        return mine

    # ------------------------------------------------------------------ daily

    def settle(self, dc: dict[str, np.ndarray]) -> None:
        """At the end of the day: the 混场 rows' accounting columns become the merchant's
        part of the session (until then they hold the session's, like every room's)."""
        rows = self.mixed_rooms
        for k, x in self.part.items():
            if k in dc:
                dc[k][rows] = x[rows]
            x[:] = 0

    def end_day(self, pop: Population) -> None:
        """Recount each merchant's look-alike seeds: its KOL buyers who do not follow its
        room (its followers are seeds already)."""
        for m, viewers in self.buyers.items():
            follows = (pop.follow[viewers] == m).any(axis=1)
            self.lookalike_seeds[m] = float(len(viewers) - int(follows.sum()))

    def book_fees(self, rec: dict[str, np.ndarray]) -> None:
        """The day's fees are a cost of the merchant's profit (on the KOL row)."""
        if "profit" in rec:
            rec["profit"] = rec["profit"] - rec["kol_slot_fees"]
