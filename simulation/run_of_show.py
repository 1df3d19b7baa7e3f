"""A room's run-of-show: its time on air as a cyclic script of items (issue 22).

With ``behaviour.run_of_show`` on, each room runs a static script, set by its operator: one
pass of ``show_cycle_minutes`` holds its driver item (引流款), then its profit item (利润款),
then its welfare item (福利款), each on air for its ``mix`` share of the pass (its
explanation time), and the pass repeats from go-live until the room goes off air. The item
on air at a minute is the one whose segment of the pass holds that minute since go-live.

What the script changes (docs/MODEL.md 7.18):

- an impression arrives at a uniform minute of its tick (the uniform that version 1 spent on
  drawing the item: no extra draw); the item on air then gives the entry lift and the
  entrant's dwell lift;
- an entrant who stays from minute ``t`` to ``t + dwell`` may buy any item on air in that
  interval: the buy hazard integrates each item's appeal and price term over its overlap with
  the visit, and a purchase is of item ``i`` with probability proportional to item ``i``'s
  integrated hazard (cross-selling within a visit).

Per room, item and day the script's counts (airtime, entries, orders, returns, GMV, margin)
are summed with one ``bincount`` on (stream x items + item) keys per tick and written as
``items.parquet``.
"""

import numpy as np
import pandas as pd

from simulation import kernels
from simulation.config import ROLES as ITEM_ROLES
from simulation.config import EconomicsConfig
from simulation.streams import StreamTable

ROLES = ITEM_ROLES
"""Item roles in the order of a default script (and of the ``mix``): in a default script an
item's position is its role's index."""
N_ITEMS = len(ROLES)
ITEM_FIELDS = (
    "airtime_minutes",
    "impressions",
    "entries",
    "orders",
    "cross_sell_orders",
    "returns",
    "gmv",
    "margin",
    "refunds",
    "returned_cost",
)
"""Per room, item and day (float64 each): impressions and entries by the item on air as they
arrived; orders, GMV and margin by the item bought; ``cross_sell_orders`` the orders of
buyers who entered while another item was on air; ``returns``, ``refunds`` (refunded GMV)
and ``returned_cost`` (cost of goods of the returned orders) stay 0 unless
economics.returns."""


class RunOfShow:
    """The rooms' scripts, their clocks (minutes on air since go-live) and the item counts.

    A room's script is a sequence of items, each with a role (its index in :data:`ROLES`)
    and its explanation minutes. By default a room has three items, one per role in role
    order, each on air for its ``mix`` share of ``cycle_minutes``; :meth:`set_scripts` gives
    rooms an explicit script instead (a role may repeat). The arrays hold ``k`` item slots
    per room (the longest script, at least 3); slots past a room's script last 0 minutes.

    Parameters
    ----------
    cycle_minutes
        Minutes of one pass through a default script.
    tick_minutes
        Minutes per tick.
    n
        Number of rooms.
    """

    def __init__(self, cycle_minutes: float, tick_minutes: float, n: int):
        self.tick_minutes = float(tick_minutes)
        self.n = n
        self.k = N_ITEMS
        """Item slots per room (the longest script, at least one per role)."""
        self.cycle = np.full(n, float(cycle_minutes))
        """Minutes of one pass through each room's script, (S,)."""
        self.item_role = np.tile(np.arange(N_ITEMS), (n, 1))
        """Role of each item slot of each room's script, (S, k) int64."""
        self.n_items = np.full(n, N_ITEMS)
        """Items in each room's script, (S,)."""
        self.scripted = np.zeros(n, dtype=bool)
        """Rooms with an explicit script (:meth:`set_scripts`)."""
        self.base_minutes = np.zeros((n, N_ITEMS))
        """The explicit scripts' explanation minutes as written, (S, k)."""
        self.clock = np.zeros(n)
        """Minutes each room has been on air (since it last went live) before this tick."""
        self._was_live = np.zeros(n, dtype=bool)
        self.start = np.zeros((n, N_ITEMS))
        self.length = np.zeros((n, N_ITEMS))
        self.day = {f: np.zeros(n * N_ITEMS) for f in ITEM_FIELDS}
        self.records: list[dict[str, np.ndarray]] = []

    def set_scripts(self, rooms: np.ndarray, roles: list[int], minutes: list[float]) -> None:
        """Give ``rooms`` the explicit script of items with ``roles`` (indices into
        :data:`ROLES`) on air for ``minutes`` each, in that order; the pass lasts their sum.
        Call before the first tick (it resizes the item slots)."""
        k = max(self.k, len(roles))
        if k > self.k:  # widen every room's slots; the new ones last 0 minutes
            pad = k - self.k
            self.item_role = np.pad(self.item_role, ((0, 0), (0, pad)))
            self.base_minutes = np.pad(self.base_minutes, ((0, 0), (0, pad)))
            self.start = np.pad(self.start, ((0, 0), (0, pad)))
            self.length = np.pad(self.length, ((0, 0), (0, pad)))
            self.k = k
            self.day = {f: np.zeros(self.n * k) for f in ITEM_FIELDS}
        rooms = np.asarray(rooms, dtype=np.int64)
        m = len(roles)
        self.item_role[rooms] = 0
        self.item_role[rooms, :m] = roles
        self.base_minutes[rooms] = 0.0
        self.base_minutes[rooms, :m] = minutes
        self.n_items[rooms] = m
        self.scripted[rooms] = True
        self.cycle[rooms] = float(np.sum(minutes))

    def script_mix(self) -> np.ndarray:
        """Each room's time share per role implied by its explicit script's minutes, (S, 3)
        (0 for rooms without one)."""
        out = np.zeros((self.n, N_ITEMS))
        for r in range(N_ITEMS):
            out[:, r] = np.where(self.item_role == r, self.base_minutes, 0.0).sum(axis=1)
        return out / np.maximum(out.sum(axis=1, keepdims=True), 1e-300)

    def set_mix(self, mix: np.ndarray) -> None:
        """Rebuild the scripts from the rooms' time shares per role ``mix`` (S, 3).

        A default script: item i starts at ``cycle x sum(mix[:i])`` of each pass and lasts
        ``cycle x mix[i]``. An explicit script: each item's minutes are scaled so that its
        role's items together hold the role's share of the pass, in the proportions written
        (the pass keeps its length; a role without items in the script gets no time, and the
        shares of the roles it has are taken relative to their sum)."""
        mix = np.asarray(mix, dtype=np.float64)
        length = np.zeros((self.n, self.k))
        length[:, :N_ITEMS] = self.cycle[:, None] * mix
        if self.scripted.any():
            sc = np.flatnonzero(self.scripted)
            base = self.base_minutes[sc]
            roles = self.item_role[sc]
            per_role = np.stack(
                [np.where(roles == r, base, 0.0).sum(axis=1) for r in range(N_ITEMS)], axis=1
            )
            present = np.where(per_role > 0, mix[sc], 0.0)  # roles the script has items of
            present /= np.maximum(present.sum(axis=1, keepdims=True), 1e-300)
            share = np.take_along_axis(present, roles, axis=1)
            total = np.take_along_axis(per_role, roles, axis=1)
            length[sc] = np.where(
                total > 0, base / np.maximum(total, 1e-300) * share * self.cycle[sc, None], 0.0
            )
        self.length = length
        self.start = np.zeros_like(length)
        self.start[:, 1:] = np.cumsum(length, axis=1)[:, :-1]

    def on_air(self, s: np.ndarray, minute: np.ndarray) -> np.ndarray:
        """The item slot (int64) on air in room ``s`` at ``minute`` minutes since go-live:
        the last item whose start within the pass is at or before the minute (an item of
        zero length is never on air)."""
        rem = np.mod(minute, self.cycle[s])
        start = self.start[s]
        item = (rem >= start[:, 1]).astype(np.int64)
        for j in range(2, self.k):
            item += rem >= start[:, j]
        if self.k > N_ITEMS:  # never a slot past the script (rounding at the pass's end)
            item = np.minimum(item, self.n_items[s] - 1)
        return item

    def minute_at(self, s: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The minute since room ``s`` went live at the uniform ``u`` (float32) of this tick:
        ``clock + u x tick_minutes`` (the product in float32, the sum in float64)."""
        return self.clock[s] + u * self.tick_minutes

    def place(self, s: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The item slot on air (:meth:`on_air`) at each impression's minute
        (:meth:`minute_at` of ``s``, ``u``), and the impressions per (room, item slot),
        float64 (rooms x slots,), for :meth:`tally`. Large arrays run one compiled pass
        (:func:`simulation.kernels.use`) that does not store the minutes, with the same
        values; the caller takes the minutes of the impressions it needs (the entrants')."""
        if kernels.use(len(s)):
            return kernels.get("show_place")(
                s,
                u,
                np.float32(self.tick_minutes),
                self.clock,
                self.cycle,
                self.start,
                self.n_items,
                self.k > N_ITEMS,
                self.whole_cycles(),
            )
        item = self.on_air(s, self.minute_at(s, u))
        counts = np.bincount(s * self.k + item, minlength=self.n * self.k)
        return item, counts.astype(np.float64)

    def whole_cycles(self) -> bool:
        """Whether every room's pass lasts a whole number of minutes (below 2**40): the
        compiled passes then take a position within the pass without fmod, exactly
        (:func:`simulation.kernels._pass_divmod` says why)."""
        c = self.cycle
        return bool(np.all((c == np.floor(c)) & (c > 0) & (c < 2.0**40)))

    def role_of(self, s: np.ndarray, item: np.ndarray) -> np.ndarray:
        """The role of item slot ``item`` of room ``s`` (the slot itself without scripts)."""
        if not self.scripted.any():
            return item
        return self.item_role[s, item]

    def cumulative(self, s: np.ndarray, minute: np.ndarray) -> np.ndarray:
        """Airtime (minutes) of each item in room ``s`` from go-live to ``minute``, (m, k)."""
        full, rem = np.divmod(np.asarray(minute, dtype=np.float64), self.cycle[s])
        length = self.length[s]
        return full[:, None] * length + np.clip(rem[:, None] - self.start[s], 0, length)

    def overlap(self, s: np.ndarray, minute: np.ndarray, dwell: np.ndarray) -> np.ndarray:
        """Minutes of each item on air during visits from ``minute`` to ``minute + dwell``
        (m, k); the rows sum to ``dwell``. Large arrays run one compiled pass
        (:func:`simulation.kernels.use`), with the same values."""
        if kernels.use(len(s)):
            return kernels.get("show_overlap")(*self._visits(s, minute, dwell), self.whole_cycles())
        return self.cumulative(s, minute + dwell) - self.cumulative(s, minute)

    def _visits(self, s: np.ndarray, minute: np.ndarray, dwell: np.ndarray) -> tuple:
        """The compiled visit passes' first arguments: the visits (rooms int64, minutes and
        dwell float64) and the rooms' scripts (cycle, item starts and lengths)."""
        return (
            np.asarray(s, dtype=np.int64),
            np.asarray(minute, dtype=np.float64),
            np.asarray(dwell, dtype=np.float64),
            self.cycle,
            self.start,
            self.length,
        )

    def cross_sell(
        self,
        s: np.ndarray,
        minute: np.ndarray,
        dwell: np.ndarray,
        appeal: np.ndarray,
        price_term: np.ndarray,
    ) -> np.ndarray:
        """The role part of each visit's integrated buy hazard, (m,): the sum over the items
        of ``appeal x price_term x`` the item's minutes on air during the visit
        (:meth:`overlap`). ``appeal`` is per role (k,) or per visit and item (m, k);
        ``price_term`` (m, k). Large arrays of default scripts run one compiled pass
        (:func:`simulation.kernels.use`), with the same values."""
        if appeal.ndim == 1 and self.k == N_ITEMS and kernels.use(len(s)):
            return kernels.get("show_cross_sell")(
                *self._visits(s, minute, dwell),
                np.asarray(appeal, dtype=np.float64),
                np.ascontiguousarray(price_term, dtype=np.float64),
                self.whole_cycles(),
            )
        return (appeal * price_term * self.overlap(s, minute, dwell)).sum(axis=1)

    # ------------------------------------------------------------------ counting

    def begin_tick(self, live: np.ndarray) -> None:
        """Restart the clock of rooms that just went live and add this tick's airtime."""
        went = live & ~self._was_live
        self.clock[went] = 0.0
        self._was_live = live.copy()
        s = np.flatnonzero(live)
        air = self.cumulative(s, self.clock[s] + self.tick_minutes) - self.cumulative(
            s, self.clock[s]
        )
        self.day["airtime_minutes"] += np.bincount(
            (s[:, None] * self.k + np.arange(self.k)).ravel(),
            air.ravel(),
            minlength=self.n * self.k,
        )

    def end_tick(self, live: np.ndarray) -> None:
        """Advance the clocks of the rooms on air this tick."""
        self.clock[live] += self.tick_minutes

    def tally(
        self,
        stream: np.ndarray,
        item: np.ndarray,
        entered: np.ndarray,
        order_stream: np.ndarray,
        order_item: np.ndarray,
        order_entry_item: np.ndarray,
        price: np.ndarray,
        margin: np.ndarray,
        returned: np.ndarray | None = None,
        impressions: np.ndarray | None = None,
    ) -> None:
        """Add the tick's impressions and entries (``stream``, ``item`` on air as each
        arrived, ``entered``: per impression) and orders (by room, item bought, item on air
        as the buyer entered; price and margin per order) to today's counts; ``returned``
        flags the orders returned. ``impressions``: the impressions per (room, item slot)
        when :meth:`place` has counted them (then only the entries are counted here)."""
        m = self.n * self.k
        d = self.day
        e = np.flatnonzero(entered)
        if impressions is None:
            impressions = np.bincount(stream * self.k + item, minlength=m)
        d["impressions"] += impressions
        d["entries"] += np.bincount(stream[e] * self.k + item[e], minlength=m)
        key = order_stream * self.k + order_item
        d["orders"] += np.bincount(key, minlength=m)
        d["cross_sell_orders"] += np.bincount(key[order_item != order_entry_item], minlength=m)
        d["gmv"] += np.bincount(key, price, minlength=m)
        d["margin"] += np.bincount(key, margin, minlength=m)
        if returned is not None:
            kr = key[returned]
            d["returns"] += np.bincount(kr, minlength=m)
            d["refunds"] += np.bincount(kr, price[returned], minlength=m)
            d["returned_cost"] += np.bincount(kr, (price - margin)[returned], minlength=m)

    def end_day(self, day: int) -> None:
        """Store today's counts as a record and reset them."""
        rec = {"day": np.full(self.n * self.k, day, dtype=np.int64)}
        rec.update({f: x.astype(np.float64) for f, x in self.day.items()})
        self.records.append(rec)
        for x in self.day.values():
            x[:] = 0

    def last_day(self, stream: int) -> dict[str, np.ndarray]:
        """The last stored day's counts of room ``stream``: each field of
        :data:`ITEM_FIELDS` as an array over the items of its script, (items,)."""
        rec = self.records[-1]
        k = stream * self.k
        m = int(self.n_items[stream])
        return {f: rec[f][k : k + m] for f in ITEM_FIELDS}

    def table(self) -> pd.DataFrame:
        """``items.parquet``: one row per room, item of its script and day: ``stream``,
        ``item`` (position in the script), ``role``, ``day`` and :data:`ITEM_FIELDS`."""
        cols = ["stream", "item", "role", "day", *ITEM_FIELDS]
        if not self.records:
            return pd.DataFrame(columns=cols)
        days = len(self.records)
        key = np.tile(np.arange(self.n * self.k), days)
        stream, item = np.divmod(key, self.k)
        keep = item < self.n_items[stream]  # slots past a room's script are not items
        role = self.item_role[stream, item][keep]
        data = {
            "stream": stream[keep],
            "item": item[keep],
            "role": pd.Categorical(np.asarray(ROLES)[role], categories=list(ROLES)),
            "day": np.concatenate([r["day"] for r in self.records])[keep],
        }
        for f in ITEM_FIELDS:
            data[f] = np.concatenate([r[f] for r in self.records])[keep]
        return pd.DataFrame(data)[cols]


def item_contribution(
    counts: dict[str, np.ndarray],
    cfg: EconomicsConfig,
    sells_for_merchant: bool,
) -> np.ndarray:
    """Each item's contribution to its room's profit on a day, yuan, (items,).

    The terms of :meth:`simulation.economics.Economics.profit_terms` that an item causes:
    its gross margin, less its refunds net of the restocked cost of the returned goods, its
    return handling, the platform fee on its kept GMV and, in an influencer room selling a
    merchant's goods, the commission on it. Ads, the host and capacity do not depend on
    which item is on air, so they are left out (summed over the items, this is the room's
    profit plus those three terms). With returns off the return terms are 0.
    """
    gmv, margin = counts["gmv"], counts["margin"]
    refunds, returned_cost = counts["refunds"], counts["returned_cost"]
    kept = gmv - refunds
    out = margin - refunds + cfg.restock_share * returned_cost
    out = out - cfg.return_handling_cost * counts["returns"] - cfg.platform_fee_rate * kept
    if sells_for_merchant:
        out = out - cfg.commission_rate * kept
    return out


def apply_scripts(show: RunOfShow, table: StreamTable) -> None:
    """Give the rooms of every stream group with a ``script_roles`` its explicit script,
    and set their rows of the table's ``mix`` to the roles' shares of the script."""
    for gi, g in enumerate(table.group_configs):
        if not g.script_roles:
            continue
        rooms = np.flatnonzero(table.group == gi)
        if len(rooms):
            roles = [ROLES.index(r) for r in g.script_roles]
            show.set_scripts(rooms, roles, list(g.script_minutes))
    if show.scripted.any():
        table.mix[show.scripted] = show.script_mix()[show.scripted]
