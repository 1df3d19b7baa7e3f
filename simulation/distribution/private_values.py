"""The private-values policy: every slot auctioned, values drawn per slot (validation case).

The textbook setting of the second-price auction (independent private values): each slot
of each session is an ad slot; every campaign that may bid now (started, budget left) values
it at an independent draw from U(0, ``private_values.value_max_cpm``) yuan per 1000
impressions, and bids that value shaded by its pacing multiplier, ``value / (1 + mu)`` —
the real :class:`~simulation.ads.Campaigns` pacing, allowance and budget. The slots are
cleared by the real :func:`~simulation.auction.second_price` with ``auction.reserve_cpm``;
an unsold slot stays empty. With budgets that never bind, pacing drives ``mu`` to 0, bids
equal values (truthful bidding is dominant in a second-price auction) and the expected price
is ``v (N - 1) / (N + 1)`` with N bidders; with binding budgets, ``mu`` rises until spend
tracks the even pace, budget / live ticks.

The values stand in for the platform's predicted value of a slot to a campaign (bid per
order x pCTR x pCVR in the interest feed); drawing them independently per slot and bidder is
what makes the closed form apply. Shops are always open.
"""

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from simulation.auction import second_price
from simulation.behaviour import PAID, Impressions, Outcome
from simulation.population import Sessions

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel


class PrivateValues:
    """A second-price auction of every slot with independent private values."""

    name: ClassVar[str] = "private_values"
    requires_need: ClassVar[bool] = False
    one_order_per_session: ClassVar[bool] = False
    always_open: ClassVar[bool] = True

    def __init__(self, model: "SnowballModel"):
        self.m = model
        self.cfg = model.config.private_values
        self.rng = model.rngs["policy"]
        self.last_prices = np.zeros(0)
        """Clearing prices of the last tick's sold slots, yuan per 1000 impressions."""
        self.last_bidders = 0
        """Campaigns that bid in the last tick's auctions."""

    def serve(self, sessions: Sessions, live: np.ndarray) -> Impressions:
        m, rng = self.m, self.rng
        camps = m.campaigns
        self.last_prices = np.zeros(0)
        self.last_bidders = 0
        slots = m.population.cfg.slots_per_session
        a = len(sessions) * slots
        if a == 0 or camps.n == 0:
            return Impressions.empty()
        if self.cfg.slots_per_tick:
            # A stationary market: a fixed number of slots, each from a random session.
            slot = rng.integers(0, a, self.cfg.slots_per_tick)
            a = len(slot)
        else:
            slot = np.arange(a)
        act = np.flatnonzero(camps.active(m.day, live))
        if len(act) == 0:
            return Impressions.empty()
        values = rng.random((a, len(act))) * self.cfg.value_max_cpm
        bids = values / (1 + camps.mu[act])[None, :]
        allowance = camps.allowance(m.live_ticks_today[camps.stream])[act]
        winner, price = second_price(bids, m.config.auction.reserve_cpm, allowance)
        m.bidding_now[act] = True
        sold = winner >= 0
        self.last_prices = price[sold] * 1000
        self.last_bidders = len(act)
        w = act[winner[sold]]
        sess = slot[sold] // slots
        n = len(w)
        return Impressions(
            sessions.viewer[sess],
            camps.stream[w],
            np.full(n, PAID, np.int8),
            sess,
            np.zeros(n, np.float32),
            w,
            price[sold],
        )

    def settle(self, imp: Impressions, out: Outcome) -> None:
        """CPM charges were made at serving; nothing to settle."""

    def end_of_day(self) -> None:
        """Nothing daily."""
