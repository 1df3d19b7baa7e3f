"""Ad budgets: one Mesa agent per paid campaign, with the hot state in arrays.

Each campaign is attached to one stream. Its strategy (see :mod:`simulation.strategies`)
sets the daily budget and bidding mode once a day from what the campaign observed.

Pacing within the day runs on one dual multiplier ``mu >= 0`` per campaign, as ad
platforms pace the two bidding modes:

- ``max_delivery`` shades its bid: bid per order = the room's estimated order value x
  ``auction.max_delivery_value`` / (1 + mu), so it buys the cheapest traffic that spends the
  budget;
- ``cost_cap`` keeps its bid at order value / target ROI (winning at that price returns the
  target ROI in expectation) and is throttled instead: a tick's ad slots are auctioned in
  :data:`AUCTION_BATCHES` sub-tick batches and it takes part in each with probability
  1 / (1 + mu).

After every tick in which a campaign could bid, ``1 + mu`` is multiplied by
``exp(rate * (spend / even_pace - 1))`` (the spend ratio clipped to [0, 3], and taken as 3
when the guard below stopped the campaign), so spend tracks the even pace
``budget / live ticks`` (the day's last live tick does not update it, and running out of
budget at the end of the day does not count as running ahead). A hard guard makes
overspending impossible and keeps
spend from running ahead: in a tick a campaign may spend at most what keeps its day's spend
within one tick of the even curve, ``budget x (elapsed live ticks + 2) / live ticks - spent``,
and never more than it has left. Under the mixed platform a tick counts by its ad
opportunity (1 on air, the search share while only the room's shop is open; see
:meth:`Campaigns.pace`).

Audience expansion (issue 22, "paid traffic to explore"; docs/MODEL.md 7.22): a campaign runs
at an expansion level x in [0, 1] (``CampaignConfig.expansion`` on its first day, then what its
strategy decides; 0 = the base audience, version 1). In the interest feed, a targeted
campaign of a room in category k with base bar b (interest: 0, look-alike: 1 + 2P) is
eligible for an ad slot when the slot's segment is k or one of the first
``ceil(x * expansion_categories)`` *next-best categories* of the room's audience, and the
viewer's relative interest in k is at least (1 - x) b. The next-best categories rank the
other categories by the summed interests of the room's followers (a room without followers:
by the platform's co-interest with k, the interests of all viewers weighted by their interest
in k), refreshed at the first auction of each day. Broad campaigns are unchanged (they
already bid for every slot). Expansion draws no random numbers.
"""

import mesa
import numpy as np

from simulation.behaviour import PAID, Impressions, Outcome
from simulation.config import AuctionConfig, CampaignConfig, Scenario
from simulation.population import Population
from simulation.strategies import CampaignDay, Decision, Strategy, strategy_class

TARGETING_CODE = {"broad": 0, "interest": 1, "lookalike": 2}
EXPANSION_FIELDS = ("expansion_impressions", "expansion_entries", "expansion_follows")
"""Day fields (float64) present when some campaign may expand its audience: paid impressions
to viewers outside the winning campaign's base audience reached through its expansion, the
entries they brought, and the viewers who followed the room from one (not fans before)."""
AUCTION_BATCHES = 16
"""Sub-tick batches of ad slots over which participation (throttling) is drawn."""
AUCTION_ROUNDS = 3
"""Re-auction rounds for slots whose winner ran out of allowance; still unsold after that,
a slot is filled by free recommendation."""


class Campaigns:
    """Per-campaign arrays (C campaigns): stream, targeting, budget, spend today, pacing."""

    def __init__(self, configs: list[tuple[int, CampaignConfig]], cfg: AuctionConfig):
        self.cfg = cfg
        n = self.n = len(configs)
        self.stream = np.array([s for s, _ in configs], dtype=np.int64)
        self.targeting = np.array([TARGETING_CODE[c.targeting] for _, c in configs], dtype=np.int64)
        self.start_day = np.array([c.start_day for _, c in configs], dtype=np.int64)
        self.target_roi = np.array([c.target_roi for _, c in configs], dtype=np.float64)
        self.budget = np.zeros(n)
        self.cost_cap = np.zeros(n, dtype=bool)
        self.spent = np.zeros(n)
        self.mu = np.zeros(n)
        self.tick_allowance = np.zeros(n)
        """What each campaign was allowed to spend in the tick just run (pacing feedback)."""
        self.tick_remaining = np.zeros(n)
        """Budget left at the start of the tick just run."""
        self.elapsed = np.zeros(n)
        """Live ticks today in which the campaign could bid so far (each counted by its pacing
        weight under the mixed platform, see :meth:`pace`; whole numbers otherwise)."""
        self.paid_orders_total = np.zeros(n, dtype=np.int64)
        self.day_impressions = np.zeros(n, dtype=np.int64)
        self.day_orders = np.zeros(n, dtype=np.int64)
        self.day_gmv = np.zeros(n)
        # --- audience expansion (issue 22; see the module docstring) ---
        self.expansion = np.array([c.expansion for _, c in configs], dtype=np.float64)
        """Each campaign's expansion level today."""
        self.expansion_categories = np.array(
            [c.expansion_categories for _, c in configs], dtype=np.int64
        )
        self.expanding = any(
            c.expansion > 0 or strategy_class(c.strategy).expands for _, c in configs
        )
        """Whether any campaign may expand (the switch: False keeps version 1's code path)."""
        self.next_best = np.zeros((n, 0), dtype=np.int64)
        """(C, K - 1) the other categories of each room's audience, best first."""
        self.audience_day = -1
        """The day ``next_best`` was computed (-1: never)."""
        self.expansion_rows = np.zeros(0, dtype=bool)
        """Per paid impression the interest feed sold this tick, in order: reached through
        expansion (outside the winner's base audience)."""
        self.day_expansion = np.zeros(n, dtype=np.int64)
        """Paid impressions through expansion today, per campaign."""
        self._tick: tuple[np.ndarray, ...] = ()
        """What :meth:`expand` worked out for the tick's active campaigns (room category, base
        bar, lowered bar, added categories), read by :meth:`mark_expansion`."""

    def refresh_audience(
        self, follow: np.ndarray, interests: np.ndarray, category: np.ndarray
    ) -> None:
        """Rank each campaign's room's other categories by its audience (module docstring).

        ``follow`` (N, F) followed streams (-1: empty), ``interests`` (N, K), ``category``
        (S,) each stream's category. One pass over the follow matrix and K bincounts."""
        n, k = self.n, interests.shape[1]
        camp_of = np.full(len(category), -1, dtype=np.int64)
        camp_of[self.stream] = np.arange(n)
        rows, cols = np.nonzero(follow >= 0)
        c = camp_of[follow[rows, cols]]
        keep = c >= 0
        rows, c = rows[keep], c[keep]
        profile = np.zeros((n, k))
        for j in range(k):
            profile[:, j] = np.bincount(c, weights=interests[rows, j], minlength=n)
        cat = category[self.stream]
        for i in np.flatnonzero(profile.sum(axis=1) <= 0):  # no fans: co-interest with k
            profile[i] = np.einsum("n,nk->k", interests[:, cat[i]], interests, dtype=np.float64)
        profile[np.arange(n), cat] = -np.inf
        self.next_best = np.argsort(-profile, axis=1, kind="stable")[:, : k - 1]

    def expand(
        self,
        act: np.ndarray,
        targeting: np.ndarray,
        bar: np.ndarray,
        category: np.ndarray,
        segment: np.ndarray,
        z: np.ndarray,
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The expanded audience of the active campaigns ``act`` for this tick's ad slots.

        ``targeting``, ``bar``, ``category``: per active campaign (its code, base bar and room
        category); ``segment`` (A,) each slot's category; ``z`` (A, K) the slot viewer's
        relative interests. Returns the lowered bars (1 - x) x bar and the extra (slot,
        active-campaign) pairs of the added categories whose viewer clears the lowered bar.
        Remembers what :meth:`mark_expansion` needs. A Python loop over the added categories
        only (at most K - 1 per tick)."""
        x = self.expansion[act]
        bar_x = bar * (1.0 - x)
        n_next = self.next_best.shape[1]
        n_add = np.ceil(x * self.expansion_categories[act] - 1e-9).astype(np.int64)
        n_add = np.where(targeting == 0, 0, np.minimum(n_add, n_next))
        added = np.where(np.arange(n_next)[None, :] < n_add[:, None], self.next_best[act], -1)
        self._tick = (category, bar, bar_x, added)
        slots, bidders = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
        b_loc, col = np.nonzero(added >= 0)
        kcat = added[b_loc, col]
        for kc in np.unique(kcat):
            t = b_loc[kcat == kc]
            s = np.flatnonzero(segment == kc)
            r, cc = np.nonzero(z[s[:, None], category[t][None, :]] >= bar_x[t][None, :])
            slots.append(s[r])
            bidders.append(t[cc])
        return bar_x, (np.concatenate(slots), np.concatenate(bidders))

    def mark_expansion(
        self,
        targeting: np.ndarray,
        slots: np.ndarray,
        won: np.ndarray,
        segment: np.ndarray,
        z: np.ndarray,
    ) -> None:
        """Flag the sold slots (``slots``, won by active campaign ``won``) that lie in the
        winner's expanded audience but not in its base one (:meth:`expand` ran this tick)."""
        category, bar, bar_x, added = self._tick
        cw = category[won]
        seg = segment[slots]
        zw = z[slots, cw]
        in_base = (targeting[won] == 0) | ((seg == cw) & (zw >= bar[won]))
        in_added = (added[won] == seg[:, None]).any(axis=1)
        self.expansion_rows = ((seg == cw) | in_added) & (zw >= bar_x[won]) & ~in_base

    def tally_expansion(
        self, imp: Impressions, out: Outcome, pop: Population, n: int
    ) -> dict[str, np.ndarray]:
        """The tick's :data:`EXPANSION_FIELDS` per stream (float64, (n,)) from the paid
        impressions :meth:`mark_expansion` flagged (the feed's, first among the tick's paid
        rows); a follow counts when the viewer follows the room after the tick's response
        but did not as the tick began. Counts them per campaign for the console."""
        paid = np.flatnonzero(imp.source == PAID)[: len(self.expansion_rows)]
        rows = paid[self.expansion_rows]
        self.expansion_rows = np.zeros(0, dtype=bool)
        s = imp.stream[rows]
        self.day_expansion += np.bincount(imp.campaign[rows], minlength=self.n)
        before = imp.fan_slot[rows] >= 0 if imp.fan_slot is not None else np.zeros(len(rows), bool)
        after = pop.lookup(imp.viewer[rows], s)[0] >= 0
        new_fan = after & ~before
        return {
            "expansion_impressions": np.bincount(s, minlength=n).astype(np.float64),
            "expansion_entries": np.bincount(s[out.entered[rows]], minlength=n).astype(np.float64),
            "expansion_follows": np.bincount(s[new_fan], minlength=n).astype(np.float64),
        }

    def learning(self) -> np.ndarray:
        return self.paid_orders_total < self.cfg.learning_orders

    def active(self, day: int, live: np.ndarray) -> np.ndarray:
        """Campaigns that may bid now: started, stream live, budget left."""
        return (self.start_day <= day) & live[self.stream] & (self.spent < self.budget - 1e-9)

    def allowance(self, live_ticks: np.ndarray) -> np.ndarray:
        """Yuan each campaign may spend this tick (see the module docstring); remembered
        for the pacing update."""
        ticks = np.maximum(live_ticks, 1)
        ahead = self.budget * np.minimum(self.elapsed + 2, ticks) / ticks - self.spent
        self.tick_remaining = np.maximum(self.budget - self.spent, 0.0)
        self.tick_allowance = np.clip(ahead, 0.0, self.tick_remaining)
        return self.tick_allowance

    def participation(self) -> np.ndarray:
        """Probability of taking part in each batch of auctions: ``1 / (1 + mu)`` for
        cost-cap campaigns (throttled), 1 for max-delivery ones (shaded instead)."""
        return np.where(self.cost_cap, 1.0 / (1.0 + self.mu), 1.0)

    def bid_per_order(self, aov: np.ndarray) -> np.ndarray:
        """Bid per order in yuan, before eCPM = bid x pCTR x pCVR x 1000."""
        aov_c = aov[self.stream]
        return np.where(
            self.cost_cap,
            aov_c / self.target_roi,
            aov_c * self.cfg.max_delivery_value / (1.0 + self.mu),
        )

    def pace(
        self,
        spend_tick: np.ndarray,
        live_ticks: np.ndarray,
        bidding: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> None:
        """Dual update after a tick, for campaigns that could bid in it (see module doc).

        ``weight``: the tick's ad opportunity per campaign, as a share of a full tick (the
        mixed platform: 1 while the room is on air, the search share while only its shop is
        open; ``live_ticks`` is then the day's summed weight). The even pace of the tick is
        the budget x weight / live_ticks, and the tick counts ``weight`` towards ``elapsed``.
        None: every tick weighs 1."""
        if weight is None:
            even = self.budget / np.maximum(live_ticks, 1)
        else:
            even = self.budget * weight / np.maximum(live_ticks, 1)
        ratio = np.clip(np.where(even > 0, spend_tick / np.maximum(even, 1e-12), 1.0), 0, 3)
        # Stopped by the guard: it would have spent more, so it counts as running ahead —
        # unless what stopped it was the end of the budget (the day's last ticks, where the
        # guard allows the whole remainder).
        guard = self.tick_allowance < self.tick_remaining - 1e-9
        limited = guard & (self.tick_allowance > 0) & (spend_tick >= 0.95 * self.tick_allowance)
        ratio = np.where(limited, 3.0, ratio)
        one_mu = (1 + self.mu) * np.exp(self.cfg.pacing_rate * (ratio - 1))
        # The day's last live tick says nothing about pacing (nothing is left to pace): its
        # catch-up would only carry an end-of-day artefact into tomorrow's multiplier.
        step = bidding if weight is None else bidding * weight
        update = bidding & (self.elapsed + (1 if weight is None else weight) < live_ticks)
        self.mu = np.where(update, np.clip(one_mu, 1, 1000) - 1, self.mu)
        self.elapsed += step


class AdBudget(mesa.Agent):
    """A paid campaign: the strategy and the campaign's observed history.

    ``step`` runs once a day, after the day's outcomes are known: it records the day as a
    :class:`CampaignDay` and lets the strategy decide tomorrow's budget and bidding.
    """

    def __init__(self, model: mesa.Model, index: int, stream: int, cfg: CampaignConfig):
        super().__init__(model)
        self.index = index
        self.stream = stream
        self.cfg = cfg
        self.strategy: Strategy = strategy_class(cfg.strategy)(cfg)
        self.history: list[CampaignDay] = []
        self.decision: Decision = self.strategy.initial()
        self.apply(self.decision, day=0)

    def apply(self, decision: Decision, day: int) -> None:
        c = self.model.campaigns
        started = day >= self.cfg.start_day
        c.budget[self.index] = decision.budget if started else 0.0
        c.cost_cap[self.index] = decision.bidding == "cost_cap"
        c.spent[self.index] = 0.0
        c.elapsed[self.index] = 0
        c.expansion[self.index] = (
            self.cfg.expansion if decision.expansion is None else decision.expansion
        )
        if decision.capacity_investment > 0:
            self.model.stream_agents[self.stream].invest(decision.capacity_investment)

    def observe(self, day: int, live: bool, free_impr: int, follow_impr: int) -> CampaignDay:
        c = self.model.campaigns
        i = self.index
        profit = self.model.day_profit  # economics.profit_accounting, else None
        return CampaignDay(
            day=day,
            budget=float(c.budget[i]),
            spend=float(c.spent[i]),
            paid_impressions=int(c.day_impressions[i]),
            paid_orders=int(c.day_orders[i]),
            paid_gmv=float(c.day_gmv[i]),
            free_impressions=free_impr,
            follow_impressions=follow_impr,
            live=live,
            profit=None if profit is None else float(profit[self.stream]),
            expansion=float(c.expansion[i]),
            expansion_impressions=int(c.day_expansion[i]),
        )

    def step(self) -> None:
        """Daily: record today, decide tomorrow (only once the campaign has started)."""
        m = self.model
        day = m.day
        s = self.stream
        obs = self.observe(
            day,
            bool(m.day_live[s]),
            int(m.day_counts["free_impressions"][s]),
            int(m.day_counts["follow_impressions"][s]),
        )
        self.history.append(obs)
        m.campaigns.day_expansion[self.index] = 0
        if day + 1 < self.cfg.start_day:
            self.apply(self.decision, day + 1)
            return
        if day + 1 == self.cfg.start_day or not any(
            h.day >= self.cfg.start_day for h in self.history
        ):
            self.decision = self.strategy.initial()
        else:
            self.decision = self.strategy.decide(
                [h for h in self.history if h.day >= self.cfg.start_day]
            )
        self.apply(self.decision, day + 1)


def build_campaigns(
    scenario: Scenario, group_of_stream: np.ndarray, group_names: list[str]
) -> list[tuple[int, CampaignConfig]]:
    """(stream index, campaign config) for every stream whose group has a campaign."""
    out = []
    for s, gi in enumerate(group_of_stream):
        cfg = scenario.streams[group_names[gi]].campaign
        if cfg is not None:
            out.append((s, cfg))
    return out
