"""Merchants' economics: each room's profit per day, and returns (issue 22).

Two switches in ``[economics]`` (:class:`~simulation.config.EconomicsConfig`), both off by
default (version 1: no new columns, no new random draws):

``returns``
    Every order may be returned. Its probability rises with the shortfall of the quality
    the buyer experienced below the quality the room presented::

        P(return) = min(1, base + slope x max(0, presented - experienced))

    The experienced quality is the buyer's own draw around the item's true quality, the one
    behaviour already makes for the buyer's rating (``Outcome.rating_value``:
    ``clip(quality + N(0, rating_noise), 0, 1)``), so a buyer who returns is also a buyer
    who rates low. The return is decided when the order is made, from the model's
    ``returns`` generator, and booked on the order's day (accrual by order date, as a
    merchant's dashboard reports refunds): a day's refunds never exceed its GMV. Returns
    change only the accounts: the platform's estimates see the order's GMV as it happened,
    and the review score moves with the same experienced quality through the rating.

``profit_accounting``
    The day table gets, per room, every term between GMV and profit::

        profit = gmv - refunds - cogs - platform_fees - commission - return_handling
                 - ad_spend - host_cost - capacity_cost

    - ``cogs``: cost of goods of every order shipped (price - unit margin), less
      ``restock_share`` of the cost of the returned ones (goods back on the shelf);
    - ``platform_fees``: ``platform_fee_rate`` x (GMV - refunds) (the technical service fee
      is refunded with the order);
    - ``commission``: ``commission_rate`` x (GMV - refunds), paid by the merchant when the
      room is an influencer's (alliance, top KOL) selling that merchant's products;
    - ``return_handling``: ``return_handling_cost`` per return;
    - ``host_cost``: ``host_cost_per_hour`` per scheduled streaming hour of a room selling its
      own goods, the same hours under every policy (the funnel's all-day shop is not hosted
      around the clock); an influencer selling a merchant's goods is paid by the commission;
    - ``capacity_cost``: the yuan a strategy (``Decision.capacity_investment``) or the
      room's operator (``OperatorDecision.capacity_investment``, simulation/operators.py)
      invested in the room's conversion capacity, booked on the day after the decision
      (when it is paid; ``capacity_delay_days`` may make it act later).

    A row's profit is the profit of whoever owns the goods the room sold: the room itself,
    or the merchant an influencer room sells for.
"""

from __future__ import annotations

import numpy as np

from simulation.config import EconomicsConfig
from simulation.streams import KIND_CODE, StreamTable

RETURN_FIELDS = ("returns", "refunds", "returned_cost")
"""Per-stream day sums of the returns: returned orders (a count, kept float64), refunded
GMV and the cost of goods of the returned orders, yuan."""

PROFIT_FIELDS = (
    "returns",
    "refunds",
    "cogs",
    "platform_fees",
    "commission",
    "return_handling",
    "host_cost",
    "capacity_cost",
    "profit",
)
"""Columns the day table gains with ``economics.profit_accounting`` (float64, yuan; returns
a count)."""

COST_TERMS = (
    "refunds",
    "cogs",
    "platform_fees",
    "commission",
    "return_handling",
    "ad_spend",
    "host_cost",
    "capacity_cost",
)
"""The terms subtracted from GMV, in the order profit subtracts them."""


def return_probability(
    presented: np.ndarray | float,
    experienced: np.ndarray | float,
    base: float,
    slope: float,
) -> np.ndarray:
    """``min(1, base + slope x max(0, presented - experienced))`` elementwise."""
    gap = np.maximum(np.subtract(presented, experienced), 0.0)
    return np.minimum(base + slope * gap, 1.0)


class Economics:
    """The accounts of the rooms: draws returns per order and books the profit terms.

    Parameters
    ----------
    cfg
        The scenario's ``[economics]`` section.
    table
        The stream table (quality, kind, merchant room).
    ticks_per_hour
        Ticks in an hour (live ticks to live hours for the host cost).
    """

    def __init__(self, cfg: EconomicsConfig, table: StreamTable, ticks_per_hour: float):
        self.cfg = cfg
        self.n = table.n
        self.ticks_per_hour = ticks_per_hour
        q = cfg.presented_quality
        market = table.quality.copy() if q < 0 else np.full(table.n, float(q))
        group = table.presented_quality
        self.presented = np.where(group >= 0, group, market)
        """Quality each room presents, (S,): the group's ``presented_quality`` where set,
        else the economics-wide rule (its own true quality, or one value for every room)."""
        own = np.arange(table.n)
        self.sells_for_merchant = (
            (table.kind != KIND_CODE["field"])
            & (table.merchant_room >= 0)
            & (table.merchant_room != own)
        )
        """Influencer rooms selling a merchant's products (they earn a commission), (S,)."""
        self.pending_capacity = np.zeros(table.n)
        """Capacity investment decided today, booked tomorrow (yuan), (S,)."""
        self.capacity_today = np.zeros(table.n)
        """Capacity investment booked today (yuan), (S,)."""

    # ------------------------------------------------------------------ returns

    def draw_returns(
        self,
        stream: np.ndarray,
        price: np.ndarray,
        cost: np.ndarray,
        experienced: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, np.ndarray]:
        """Decide which of the tick's orders are returned; per-stream sums (S,) float64.

        Parameters
        ----------
        stream, price, cost, experienced
            Per order: the room, the price paid, its cost of goods (yuan) and the quality
            the buyer experienced.
        rng
            The model's ``returns`` generator (one uniform per order).
        """
        c = self.cfg
        p = return_probability(
            self.presented[stream], experienced, c.return_base_rate, c.return_quality_slope
        )
        returned = rng.random(len(stream)) < p
        self.last_returned = returned  # per order (the run-of-show's item counts read it)
        n = self.n
        r = np.flatnonzero(returned)
        s_r = stream[r]
        return {
            "returns": np.bincount(s_r, minlength=n).astype(np.float64),
            "refunds": np.bincount(s_r, price[r], minlength=n).astype(np.float64, copy=False),
            "returned_cost": np.bincount(s_r, cost[r], minlength=n).astype(np.float64, copy=False),
        }

    # ------------------------------------------------------------------ profit

    def invest(self, yuan: np.ndarray) -> None:
        """Capacity investment decided at the end of today (yuan per stream), to be booked
        on tomorrow's accounts."""
        self.pending_capacity = self.pending_capacity + yuan

    def start_day(self) -> None:
        """Yesterday evening's investments become today's capacity cost."""
        self.capacity_today = self.pending_capacity
        self.pending_capacity = np.zeros(self.n)

    def profit_terms(
        self, day: dict[str, np.ndarray], live_ticks: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The day's profit terms per stream (:data:`PROFIT_FIELDS`), from the day's sums.

        ``day`` holds at least ``gmv``, ``margin`` and ``ad_spend`` and, with returns on,
        :data:`RETURN_FIELDS` (absent: no returns). ``live_ticks`` is each room's scheduled
        streaming ticks today (its host's working time: under the search funnel a shop is
        open all day, but its host streams only its schedule). Profit is GMV less every term
        of :data:`COST_TERMS`, subtracted in that order.
        """
        c, n = self.cfg, self.n
        zero = np.zeros(n)
        gmv = day["gmv"]
        returns = day.get("returns", zero)
        refunds = day.get("refunds", zero)
        kept = gmv - refunds
        cogs = (gmv - day["margin"]) - c.restock_share * day.get("returned_cost", zero)
        commission = np.where(self.sells_for_merchant, c.commission_rate * kept, 0.0)
        hours = live_ticks / self.ticks_per_hour
        host = np.where(self.sells_for_merchant, 0.0, c.host_cost_per_hour * hours)
        terms = {
            "returns": returns.astype(np.float64, copy=True),
            "refunds": refunds.astype(np.float64, copy=True),
            "cogs": cogs,
            "platform_fees": c.platform_fee_rate * kept,
            "commission": commission,
            "return_handling": c.return_handling_cost * returns,
            "ad_spend": day["ad_spend"],
            "host_cost": host,
            "capacity_cost": self.capacity_today.copy(),
        }
        profit = gmv.astype(np.float64, copy=True)
        for k in COST_TERMS:
            profit = profit - terms[k]
        terms["profit"] = profit
        del terms["ad_spend"]  # already a column of the day table
        return terms


def contribution(row: dict[str, np.ndarray] | object) -> np.ndarray:
    """Profit before ads and fixed operating costs: what an extra yuan of GMV leaves to pay
    for ads (``profit + ad_spend + host_cost + capacity_cost``). Works on a day record or
    a DataFrame with the profit columns."""
    get = row.__getitem__  # type: ignore[attr-defined]
    return get("profit") + get("ad_spend") + get("host_cost") + get("capacity_cost")


def breakeven_roi(gmv: float, contribution_yuan: float) -> float:
    """Paid ROI (GMV per ad yuan) at which ads pay for themselves: GMV ÷ contribution
    (1 ÷ the contribution margin); NaN when the contribution is not positive (no ROI
    breaks even)."""
    return gmv / contribution_yuan if contribution_yuan > 0 else float("nan")
