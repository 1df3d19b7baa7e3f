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

from simulation.config import EconomicsConfig

ROLES = ("driver", "profit", "welfare")
"""Item roles in script order: an item's position in the script is its role's index."""
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

    Parameters
    ----------
    cycle_minutes
        Minutes of one pass through the script.
    tick_minutes
        Minutes per tick.
    n
        Number of rooms.
    """

    def __init__(self, cycle_minutes: float, tick_minutes: float, n: int):
        self.cycle = float(cycle_minutes)
        self.tick_minutes = float(tick_minutes)
        self.n = n
        self.clock = np.zeros(n)
        """Minutes each room has been on air (since it last went live) before this tick."""
        self._was_live = np.zeros(n, dtype=bool)
        self.start = np.zeros((n, N_ITEMS))
        self.length = np.zeros((n, N_ITEMS))
        self.day = {f: np.zeros(n * N_ITEMS) for f in ITEM_FIELDS}
        self.records: list[dict[str, np.ndarray]] = []

    def set_mix(self, mix: np.ndarray) -> None:
        """Rebuild the scripts from the rooms' time shares ``mix`` (S, 3): item i starts at
        ``cycle x sum(mix[:i])`` of each pass and lasts ``cycle x mix[i]``."""
        mix = np.asarray(mix, dtype=np.float64)
        self.length = self.cycle * mix
        self.start = np.zeros_like(self.length)
        self.start[:, 1:] = np.cumsum(self.length, axis=1)[:, :-1]

    def on_air(self, s: np.ndarray, minute: np.ndarray) -> np.ndarray:
        """The item (int64) on air in room ``s`` at ``minute`` minutes since go-live: the
        last item whose start within the pass is at or before the minute (an item of zero
        length is never on air)."""
        rem = np.mod(minute, self.cycle)
        start = self.start[s]
        item = (rem >= start[:, 1]).astype(np.int64)
        item += rem >= start[:, 2]
        return item

    def cumulative(self, s: np.ndarray, minute: np.ndarray) -> np.ndarray:
        """Airtime (minutes) of each item in room ``s`` from go-live to ``minute``, (m, 3)."""
        full, rem = np.divmod(np.asarray(minute, dtype=np.float64), self.cycle)
        length = self.length[s]
        return full[:, None] * length + np.clip(rem[:, None] - self.start[s], 0, length)

    def overlap(self, s: np.ndarray, minute: np.ndarray, dwell: np.ndarray) -> np.ndarray:
        """Minutes of each item on air during visits from ``minute`` to ``minute + dwell``
        (m, 3); the rows sum to ``dwell``."""
        return self.cumulative(s, minute + dwell) - self.cumulative(s, minute)

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
            (s[:, None] * N_ITEMS + np.arange(N_ITEMS)).ravel(),
            air.ravel(),
            minlength=self.n * N_ITEMS,
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
    ) -> None:
        """Add the tick's impressions and entries (``stream``, ``item`` on air as each
        arrived, ``entered``: per impression) and orders (by room, item bought, item on air
        as the buyer entered; price and margin per order) to today's counts; ``returned``
        flags the orders returned."""
        m = self.n * N_ITEMS
        d = self.day
        key = stream * N_ITEMS + item
        d["impressions"] += np.bincount(key, minlength=m)
        d["entries"] += np.bincount(key[entered], minlength=m)
        key = order_stream * N_ITEMS + order_item
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
        rec = {"day": np.full(self.n * N_ITEMS, day, dtype=np.int64)}
        rec.update({f: x.astype(np.float64) for f, x in self.day.items()})
        self.records.append(rec)
        for x in self.day.values():
            x[:] = 0

    def last_day(self, stream: int) -> dict[str, np.ndarray]:
        """The last stored day's counts of room ``stream``: each field of
        :data:`ITEM_FIELDS` as an array over the items of its script, (3,)."""
        rec = self.records[-1]
        k = stream * N_ITEMS
        return {f: rec[f][k : k + N_ITEMS] for f in ITEM_FIELDS}

    def table(self) -> pd.DataFrame:
        """``items.parquet``: one row per room, item and day: ``stream``, ``item`` (position in
        the script), ``role``, ``day`` and :data:`ITEM_FIELDS`."""
        cols = ["stream", "item", "role", "day", *ITEM_FIELDS]
        if not self.records:
            return pd.DataFrame(columns=cols)
        k = len(self.records)
        key = np.tile(np.arange(self.n * N_ITEMS), k)
        item = key % N_ITEMS
        data = {
            "stream": key // N_ITEMS,
            "item": item,
            "role": pd.Categorical(np.asarray(ROLES)[item], categories=list(ROLES)),
            "day": np.concatenate([r["day"] for r in self.records]),
        }
        for f in ITEM_FIELDS:
            data[f] = np.concatenate([r[f] for r in self.records])
        return pd.DataFrame(data)[cols]


def item_contribution(
    counts: dict[str, np.ndarray],
    cfg: EconomicsConfig,
    sells_for_merchant: bool,
) -> np.ndarray:
    """Each item's contribution to its room's profit on a day, yuan, (3,).

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
