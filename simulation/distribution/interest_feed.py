"""The interest feed ("goods find people"): follow channel, paid slots, free recommendation.

A session's slots are filled in three steps:

1. **Follow channel.** With probability ``follow_check_prob`` the session shows up to
   ``follow_slots_max`` followed rooms that are live, highest affinity first; a live room
   the viewer booked through a warm-up video counts too (with an entry lift).
2. **Paid slots.** Each remaining slot is an ad slot with probability ``ad_load``. Its
   segment is a category drawn from the viewer's interests; campaigns bid by targeting
   (broad: every slot; interest: slots of the room's category; look-alike: those slots
   whose viewer's interest clears a bar that rises with the room's audience precision) and
   the second-price auction decides. Unsold ad slots become free slots.
3. **Free slots.** A category is drawn from the viewer's interests (``interest_sharpness``);
   a share ``exploration`` goes to a uniformly random live stream; the rest are allocated
   among the category's live streams in proportion to predicted value (raised to
   ``value_exponent``, times the review factor and any campaign-day boost), each capped by
   its pool tier's quota (a multiple of the fair share of the category's free slots);
   the capped allocation is found by water-filling. Quota no live stream can take goes to
   short videos (not a live impression). Within the allocation, viewers with stronger
   interest are routed preferentially to rooms with a precise audience model (many fans).

Predicted value and tiers come from :mod:`simulation.estimates`, fed by all traffic.
"""

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from simulation.auction import second_price
from simulation.behaviour import FOLLOW, FREE, PAID, Impressions, Outcome

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel

PCTR_INTEREST_EXPONENT = 0.5
"""The platform's CTR model: stream entry estimate x (relative interest)^0.5."""


def waterfill(
    weight: np.ndarray, cap: np.ndarray, group: np.ndarray, total: np.ndarray, rounds: int = 10
) -> np.ndarray:
    """Split ``total[g]`` among the members of each group in proportion to ``weight``,
    with no member above its ``cap``; what capped members cannot take is shared by the
    rest. Returns the allocation (may sum to less than the total when every member is
    capped). Shapes: weight, cap, group (n,); total (G,)."""
    g = len(total)
    alloc = np.zeros(len(weight))
    fixed = weight <= 0
    for _ in range(rounds):
        free = ~fixed
        w_sum = np.bincount(group[free], weight[free], minlength=g)
        rest = total - np.bincount(group[fixed], alloc[fixed], minlength=g)
        denom = w_sum[group]
        share = np.divide(weight, denom, out=np.zeros_like(weight), where=denom > 0)
        prop = np.where(free, np.maximum(rest, 0)[group] * share, alloc)
        over = free & (prop > cap)
        if not over.any():
            return np.where(free, prop, alloc)
        alloc = np.where(over, cap, np.where(free, prop, alloc))
        fixed |= over
    return np.minimum(alloc, cap)


def audience_precision(followers: np.ndarray, half: float) -> np.ndarray:
    """How well the platform knows a room's audience, in [0, 1): F / (F + half)."""
    return followers / (followers + half)


class InterestFeed:
    """The snowball policy. See the module docstring for the mechanics."""

    name: ClassVar[str] = "interest_feed"
    requires_need: ClassVar[bool] = False
    one_order_per_session: ClassVar[bool] = False

    def __init__(self, model: "SnowballModel"):
        self.m = model
        self.cfg = model.scenario.feed
        self.rng = model.rngs["policy"]
        self.caps = np.asarray(self.cfg.tier_caps)

    # ------------------------------------------------------------------ helpers

    def stream_weights(self, live_idx: np.ndarray) -> np.ndarray:
        """Ranking weight of each live stream: value^exponent x review x campaign boost."""
        m, t, cfg = self.m, self.m.table, self.cfg
        value = m.value[live_idx]
        w = np.maximum(value, 1e-9) ** cfg.value_exponent
        w *= np.exp(cfg.review_weight * (t.review_score[live_idx] - 4.5))
        if m.campaign_day:
            cal = m.scenario.calendar
            w *= np.where(t.review_score[live_idx] >= cal.min_review, cal.boost, 1.0)
        return w

    # ------------------------------------------------------------------ serve

    def serve(self, sessions: np.ndarray, live: np.ndarray) -> Impressions:
        pop, rng, cfg = self.m.population, self.rng, self.cfg
        n_sess = len(sessions)
        if n_sess == 0:
            return Impressions.empty()
        follow_imp, n_follow = self._follow_channel(sessions, live)
        remaining = pop.cfg.slots_per_session - n_follow
        n_ad = rng.binomial(remaining, cfg.ad_load)
        n_free = remaining - n_ad
        sess_idx = np.arange(n_sess)
        ad_sess = np.repeat(sess_idx, n_ad)
        ad_viewer = sessions[ad_sess]
        ad_cat = pop.sample_categories(ad_viewer, cfg.interest_sharpness, rng)
        paid_imp, unsold = self._auction(ad_sess, ad_viewer, ad_cat, live)
        free_sess = np.concatenate([np.repeat(sess_idx, n_free), ad_sess[unsold]])
        free_viewer = sessions[free_sess]
        free_cat = np.concatenate(
            [
                pop.sample_categories(
                    sessions[np.repeat(sess_idx, n_free)], cfg.interest_sharpness, rng
                ),
                ad_cat[unsold],
            ]
        )
        free_imp = self._free(free_sess, free_viewer, free_cat, live)
        return Impressions.concat([follow_imp, paid_imp, free_imp])

    def _follow_channel(
        self, sessions: np.ndarray, live: np.ndarray
    ) -> tuple[Impressions, np.ndarray]:
        """Followed (and warm-up-booked) live rooms, highest affinity first."""
        m, pop, rng, cfg = self.m, self.m.population, self.rng, self.cfg
        n_follow = np.zeros(len(sessions), dtype=np.int64)
        k_max = cfg.follow_slots_max
        check = np.flatnonzero(rng.random(len(sessions)) < cfg.follow_check_prob)
        if k_max == 0 or len(check) == 0:
            return Impressions.empty(), n_follow
        v = sessions[check]
        cols = np.concatenate([pop.follow[v], pop.reserved[v][:, None]], axis=1)
        key = np.concatenate([pop.affinity[v], np.full((len(v), 1), 0.5, np.float32)], axis=1)
        is_live = (cols >= 0) & live[np.maximum(cols, 0)]
        # A booked room that is also followed is shown once (as followed).
        dup = (cols[:, :-1] == cols[:, -1:]).any(axis=1)
        is_live[:, -1] &= ~dup
        key = np.where(is_live, key, -1.0)
        order = np.argsort(-key, axis=1, kind="stable")[:, :k_max]
        top_key = np.take_along_axis(key, order, axis=1)
        ok = top_key >= 0
        rows, pos = np.nonzero(ok)
        col = order[rows, pos]
        streams = cols[rows, col].astype(np.int64)
        booked = col == cols.shape[1] - 1
        viewers = v[rows]
        pop.reserved[viewers[booked]] = -1
        n_follow[check] = ok.sum(axis=1)
        boost = np.where(booked, m.scenario.behaviour.entry_reserved_lift, 0.0).astype(np.float32)
        n = len(streams)
        imp = Impressions(
            viewers,
            streams,
            np.full(n, FOLLOW, np.int8),
            check[rows],
            boost,
            np.full(n, -1, np.int64),
            np.zeros(n),
        )
        return imp, n_follow

    def _auction(
        self, ad_sess: np.ndarray, ad_viewer: np.ndarray, ad_cat: np.ndarray, live: np.ndarray
    ) -> tuple[Impressions, np.ndarray]:
        """Second-price auction of the ad slots. Returns paid impressions and the mask of
        unsold slots."""
        m, pop, rng = self.m, self.m.population, self.rng
        camps = m.campaigns
        a = len(ad_sess)
        if a == 0 or camps.n == 0:
            return Impressions.empty(), np.ones(a, dtype=bool)
        act = np.flatnonzero(camps.active(m.day, live))
        if len(act) == 0:
            return Impressions.empty(), np.ones(a, dtype=bool)
        s_c = camps.stream[act]
        cat_c = m.table.category[s_c]
        z = pop.interests[ad_viewer[:, None], cat_c[None, :]] * np.float32(pop.k)
        same = ad_cat[:, None] == cat_c[None, :]
        tgt = camps.targeting[act]
        prec = audience_precision(
            pop.followers[s_c].astype(np.float64), self.cfg.audience_precision_half * pop.n
        )
        bar = 1 + 2 * prec
        elig = np.where(tgt == 0, True, same)
        elig &= np.where(tgt == 2, z >= bar[None, :], True)
        learning = camps.learning()[act]
        if learning.any():
            explore = rng.random((a, int(learning.sum()))) < m.scenario.auction.learning_explore
            elig[:, learning] |= explore
        rates = m.rates
        pctr = rates["entry"][s_c][None, :] * np.clip(z, 0.05, 20) ** PCTR_INTEREST_EXPONENT
        bid = camps.bid_per_order(rates["aov"])[act]
        ecpm = np.where(elig, bid[None, :] * pctr * rates["cvr"][s_c][None, :] * 1000, 0.0)
        allowance = camps.allowance(m.live_ticks_today[camps.stream])[act]
        winner, price = second_price(ecpm, m.scenario.auction.reserve_cpm, allowance)
        sold = winner >= 0
        w = act[winner[sold]]
        n = int(sold.sum())
        imp = Impressions(
            ad_viewer[sold],
            camps.stream[w],
            np.full(n, PAID, np.int8),
            ad_sess[sold],
            np.zeros(n, np.float32),
            w,
            price[sold],
        )
        m.bidding_now[act] = True
        return imp, ~sold

    def _free(
        self, free_sess: np.ndarray, viewer: np.ndarray, cat: np.ndarray, live: np.ndarray
    ) -> Impressions:
        """Exploration plus the capped, value-weighted allocation within categories."""
        m, pop, rng, cfg = self.m, self.m.population, self.rng, self.cfg
        live_idx = np.flatnonzero(live)
        n = len(viewer)
        if n == 0 or len(live_idx) == 0:
            return Impressions.empty()
        k = pop.k
        stream = np.full(n, -1, dtype=np.int64)
        explore = rng.random(n) < cfg.exploration
        stream[explore] = live_idx[rng.integers(0, len(live_idx), int(explore.sum()))]
        rest = np.flatnonzero(~explore)
        c_rest = cat[rest]
        slots_k = np.bincount(c_rest, minlength=k).astype(np.float64)
        # Live streams sorted by category.
        cat_l = m.table.category[live_idx]
        order = np.argsort(cat_l, kind="stable")
        live_idx, cat_l = live_idx[order], cat_l[order]
        n_live_k = np.bincount(cat_l, minlength=k)
        fair = slots_k / np.maximum(n_live_k, 1)
        cap = self.caps[m.table.tier[live_idx]] * fair[cat_l]
        alloc = waterfill(self.stream_weights(live_idx), cap, cat_l, slots_k)
        share = alloc / np.maximum(slots_k[cat_l], 1e-300)
        filled_k = np.bincount(cat_l, share, minlength=k)
        prec = audience_precision(
            pop.followers[live_idx].astype(np.float64), cfg.audience_precision_half * pop.n
        )
        comp_a = share * (1 - prec)
        comp_b = share * prec
        a_k = np.bincount(cat_l, comp_a, minlength=k)
        b_k = np.bincount(cat_l, comp_b, minlength=k)
        # Relative interest of each slot's viewer in the slot's category, against the mean
        # over the category's slots, decides how strongly it is routed to precise rooms.
        z = pop.relative_interest(viewer[rest], c_rest).astype(np.float64)
        z_mean = np.bincount(c_rest, z, minlength=k) / np.maximum(slots_k, 1)
        r = z / np.maximum(z_mean[c_rest], 1e-12)
        fill = rng.random(len(rest)) < filled_k[c_rest]
        p_b = r * b_k[c_rest] / np.maximum(a_k[c_rest] + r * b_k[c_rest], 1e-300)
        use_b = rng.random(len(rest)) < p_b
        u = rng.random(len(rest)) * (1 - 1e-9)
        pick = np.full(len(rest), -1, dtype=np.int64)
        for comp, totals, mask in ((comp_a, a_k, fill & ~use_b), (comp_b, b_k, fill & use_b)):
            if not mask.any():
                continue
            # Category blocks laid end to end on [k, k+1): one searchsorted for all slots.
            within = comp / np.maximum(totals[cat_l], 1e-300)
            cum = (
                cat_l
                + np.cumsum(within)
                - np.concatenate(([0.0], np.cumsum(np.bincount(cat_l, within, minlength=k))))[cat_l]
            )
            j = np.searchsorted(cum, c_rest[mask] + u[mask], side="right")
            pick[mask] = live_idx[np.minimum(j, len(live_idx) - 1)]
        stream[rest] = pick
        ok = stream >= 0
        n_ok = int(ok.sum())
        return Impressions(
            viewer[ok],
            stream[ok],
            np.full(n_ok, FREE, np.int8),
            free_sess[ok],
            np.zeros(n_ok, np.float32),
            np.full(n_ok, -1, np.int64),
            np.zeros(n_ok),
        )

    def settle(self, imp: Impressions, out: Outcome) -> None:
        """CPM charges were made at serving; nothing to settle."""

    def end_of_day(self) -> None:
        """The feed re-ranks continuously; nothing daily."""
