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
   a share ``exploration`` goes to a uniformly random live stream of that category (any
   live stream if none is live; ``exploration_scope = "platform"``: any live stream at all);
   the rest are allocated among the category's live streams in proportion to predicted
   value (raised to ``value_exponent``, times the review factor and any campaign boost;
   a marketing IP first takes its reserved share of the free slots for featured rooms),
   each capped by its pool tier's quota (a multiple of the fair share of the category's free
   slots, or with ``platform.pool_quota = "size_invariant"`` the share a room with that
   multiple of its live peers' mean weight would take: :func:`tier_quota`);
   the capped allocation is found by water-filling. Quota no live stream can take goes to
   short videos (not a live impression). Within the allocation, viewers with stronger
   interest are routed preferentially to rooms with a precise audience model (many fans).

Predicted value and tiers come from :mod:`simulation.estimates`, fed by all traffic.
"""

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from scipy import stats

from simulation import kernels
from simulation.ads import AUCTION_BATCHES, AUCTION_ROUNDS
from simulation.auction import second_price_grouped
from simulation.behaviour import FOLLOW, PAID, Impressions, Outcome
from simulation.population import Sessions

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel

PCTR_INTEREST_EXPONENT = 0.5
"""The platform's CTR model: stream entry estimate x (relative interest)^0.5."""


def pctr_factor(z: np.ndarray) -> np.ndarray:
    """``clip(z, 0.05, 20) ** PCTR_INTEREST_EXPONENT`` for float32 relative interests. At
    the exponent 0.5 it is a square root, several times faster than the general power and
    the same numbers: sqrt is correctly rounded, and numpy's float32 power at 0.5 agreed
    with it on every float32 in [0.05, 20] (an exhaustive check, docs/PERFORMANCE.md)."""
    c = np.clip(z, 0.05, 20)
    if PCTR_INTEREST_EXPONENT == 0.5:
        return np.sqrt(c, out=c)
    return c ** np.float32(PCTR_INTEREST_EXPONENT)


@lru_cache(maxsize=32)
def _binomial_cdf(n_max: int, p: float) -> np.ndarray:
    """(n_max, n_max + 1) table, entry [j, r] = P(Binomial(r, p) <= j) (1 from j = r on)."""
    j = np.arange(n_max)[:, None]
    cdf = stats.binom.cdf(j, np.arange(n_max + 1)[None, :], p)
    cdf[j >= np.arange(n_max + 1)[None, :]] = 1.0
    cdf.setflags(write=False)
    return cdf


def binomial_inverse(n: np.ndarray, p: float, u: np.ndarray) -> np.ndarray:
    """Binomial(n[i], p) counts by inverting the CDF at uniforms u[i] in [0, 1): the number
    of j < n[i] with P(Binomial(n[i], p) <= j) <= u[i], int64. One uniform per count and one
    pass per possible value over a small table, several times faster than numpy's
    ``binomial`` with an array of trial counts (which sets up each draw anew)."""
    n = np.asarray(n, dtype=np.int64)
    out = np.zeros(len(n), dtype=np.int64)
    n_max = int(n.max(initial=0))
    if n_max == 0:
        return out
    cdf = _binomial_cdf(n_max, float(p))
    for j in range(n_max):
        out += cdf[j].take(n) <= u
    return out


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


def alias_tables(
    weight: np.ndarray, group: np.ndarray, n_groups: int, kernel: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias tables for sampling within each group in proportion to ``weight``.

    ``group`` must be sorted. Entry i of a group with m members and start s is kept with
    probability ``prob[i]``, otherwise replaced by ``alias[i]`` (an index in the same group):
    drawing i uniformly among the group's members and applying the rule samples member j
    with probability weight[j] / group total, in O(1) per draw. Built in O(n) Python work
    per call (n = live streams), never per viewer. Groups with zero total weight get
    prob 1 (never sampled by callers, which only draw where the group's mass is positive).
    ``kernel``: build them with the compiled kernel (the same tables; for callers on their
    compiled path, where the ≈ 0.5 ms of Python per call at 2,000 streams shows).
    """
    n = len(weight)
    counts = np.bincount(group, minlength=n_groups)
    totals = np.bincount(group, weight, minlength=n_groups)
    if kernel:
        return kernels.get("alias_tables")(np.asarray(weight, dtype=np.float64), counts, totals)
    prob = np.ones(n)
    alias = np.arange(n)
    start = 0
    for g in range(n_groups):
        m = int(counts[g])
        if m == 0:
            continue
        if totals[g] > 0 and m > 1:
            w_g, total = weight[start : start + m], float(totals[g])
            if total >= 1e-300:
                scaled = (w_g * (m / total)).tolist()
            else:  # a (nearly) subnormal total: m / total could overflow
                scaled = (w_g / total * m).tolist()
            small = [i for i, x in enumerate(scaled) if x < 1.0]
            large = [i for i, x in enumerate(scaled) if x >= 1.0]
            p_g = [1.0] * m
            a_g = list(range(m))
            while small and large:
                s_i, l_i = small.pop(), large[-1]
                p_g[s_i] = scaled[s_i]
                a_g[s_i] = l_i
                scaled[l_i] -= 1.0 - scaled[s_i]
                if scaled[l_i] < 1.0:
                    small.append(large.pop())
            prob[start : start + m] = p_g
            alias[start : start + m] = np.asarray(a_g) + start
        start += m
    return prob, alias


def uniform_in_category(
    cat: np.ndarray, members: np.ndarray, start: np.ndarray, count: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """For each draw, a uniformly random member of its category ``cat`` (any member when the
    category has none). ``members`` is sorted by category; category g occupies
    ``members[start[g] : start[g] + count[g]]``; ``u`` holds uniforms in [0, 1)."""
    m = count[cat]
    pool = np.where(m > 0, m, len(members))
    j = np.where(m > 0, start[cat], 0) + (u * pool).astype(np.int64)
    return members[np.minimum(j, len(members) - 1)]


def audience_precision(followers: np.ndarray, half: float) -> np.ndarray:
    """How well the platform knows a room's audience, in [0, 1): F / (F + half)."""
    return followers / (followers + half)


def tier_quota(
    multiple: np.ndarray,
    slots_k: np.ndarray,
    n_live_k: np.ndarray,
    cat: np.ndarray,
    form: str = "fair_share",
) -> np.ndarray:
    """Each live stream's cap on free slots this tick (docs/MODEL.md, 7.3 and 7.15.4).

    ``multiple`` is the stream's tier cap (``tier_caps[tier]``), ``slots_k`` (K,) the free
    slots of each category allocated by value, ``n_live_k`` (K,) its live streams and ``cat``
    each stream's category; shapes (L,) for the streams.

    - ``"fair_share"`` (version 1): ``multiple x slots / live`` -- a multiple c of the fair
      share. A stream whose weight is r times its peers' mean gets ``L r / (r + L - 1)`` fair
      shares uncapped, so the cap binds when r > c (L - 1) / (L - c), and never once c >= L:
      in a category of 7 live rooms the top tier (8) cannot bind, in one of 170 it binds at
      r > 8.3.
    - ``"size_invariant"``: ``slots x c / (c + live - 1)`` -- the share a stream would take
      if its weight were c times the mean weight of its live peers. The cap binds when
      r > c, whatever the number of live peers (before water-filling moves what capped
      peers cannot take). For many peers it tends to the fair-share cap; with few it is
      below it, and a room alone in its category may take all of the category's slots.
    """
    if form == "fair_share":
        fair = slots_k / np.maximum(n_live_k, 1)
        return multiple * fair[cat]
    return slots_k[cat] * (multiple / (multiple + n_live_k[cat] - 1))  # alone: c / c = 1


def _free_impressions(
    viewer: np.ndarray,
    stream: np.ndarray,
    session: np.ndarray,
    fan_slot: np.ndarray,
    affinity: np.ndarray,
    before: Sequence[Impressions] = (),
) -> Impressions:
    """The impressions ``before`` (with their ``fan_slot`` and ``affinity``), then the free
    ones: the arrays given hold the free slots after as many rows as ``before`` has in all,
    which are written here (one copy of the few follow and paid slots instead of a
    concatenation of every field of every impression)."""
    imp = Impressions.free(viewer, stream, session, fan_slot, affinity)
    lo = 0
    for part in before:
        hi = lo + len(part)
        for f in (*Impressions.FIELDS, "fan_slot", "affinity"):
            getattr(imp, f)[lo:hi] = getattr(part, f)
        lo = hi
    return imp


class InterestFeed:
    """The snowball policy. See the module docstring for the mechanics."""

    name: ClassVar[str] = "interest_feed"
    requires_need: ClassVar[bool] = False
    one_order_per_session: ClassVar[bool] = False

    def __init__(self, model: "SnowballModel"):
        self.m = model
        self.cfg = model.config.feed
        self.rng = model.rngs["policy"]
        self.caps = np.asarray(self.cfg.tier_caps)
        self.pool_quota = model.config.platform.pool_quota
        self.capped = np.zeros(model.table.n, dtype=bool)
        """Streams whose tier quota bound in the last tick's free allocation (their
        value-weighted share would have exceeded it), (S,); a diagnostic, read by nothing
        that allocates."""

    # ------------------------------------------------------------------ helpers

    def stream_weights(self, live_idx: np.ndarray) -> np.ndarray:
        """Ranking weight of each live stream: value^exponent x review x campaign boost.

        With ``platform.audience_estimates`` the value is the room's uplift over the
        audience baseline: the predicted value for a slot's viewer is baseline x uplift x
        review, and the baseline factor (the viewer's interest in the slot's category,
        activity, need) is common to every candidate of the slot's category, so ranking by
        uplift is ranking by predicted value for the viewer at hand (docs/MODEL.md 7.15.1).
        """
        m, t, cfg = self.m, self.m.table, self.cfg
        value = m.value[live_idx]
        w = np.maximum(value, 1e-9) ** cfg.value_exponent
        w *= np.exp(cfg.review_weight * (t.review_score[live_idx] - 4.5))
        if m.campaign_day:  # version 1's campaign day: the sale's review-gated boost
            cal = m.config.calendar
            w *= np.where(t.review_score[live_idx] >= cal.min_review, cal.boost, 1.0)
        events = getattr(m, "events", None)
        if events is not None and events.active:  # calendar events (simulation.events)
            w *= events.boost[live_idx]
        return w

    # ------------------------------------------------------------------ serve

    def serve(
        self, sessions: Sessions, live: np.ndarray, kernel: bool | None = None
    ) -> Impressions:
        """Fill the sessions' slots. ``kernel``: see :func:`simulation.kernels.use` (None
        decides per step by its size)."""
        pop, rng, cfg = self.m.population, self.rng, self.cfg
        n_sess = len(sessions)
        if n_sess == 0 or not live.any():
            return Impressions.empty()
        follow_imp, n_follow = self._follow_channel(sessions, live, kernel)
        remaining = pop.cfg.slots_per_session - n_follow
        n_ad = binomial_inverse(remaining, cfg.ad_load, rng.random(n_sess))
        # The first n_ad of each session's remaining slots are ad slots.
        if kernels.use(int(remaining.sum()), kernel):  # the same draws, fused
            cum = sessions.category_cdf(cfg.interest_sharpness)
            u = rng.random(int(remaining.sum()), dtype=np.float32)
            ad_sess, ad_cat, rest_sess, rest_cat = kernels.get("split_slots")(
                cum, remaining, n_ad, u
            )
        else:
            sess_idx = np.arange(n_sess)
            slot_sess = np.repeat(sess_idx, remaining)
            slot_cat = sessions.sample_categories(slot_sess, cfg.interest_sharpness, rng, False)
            first = np.repeat(np.cumsum(remaining) - remaining, remaining)
            is_ad = np.arange(len(slot_sess)) - first < np.repeat(n_ad, remaining)
            ad_sess, ad_cat = slot_sess[is_ad], slot_cat[is_ad]
            rest_sess, rest_cat = slot_sess[~is_ad], slot_cat[~is_ad]
        paid_imp, unsold = self._auction(sessions, ad_sess, ad_cat, live, kernel)
        free_sess = np.concatenate([rest_sess, ad_sess[unsold]])
        free_cat = np.concatenate([rest_cat, ad_cat[unsold]])
        # The free slots come with the viewer's follow slot and affinity of their stream
        # (found where the stream is picked); the few follow and paid slots look them up.
        for part in (follow_imp, paid_imp):
            part.fan_slot, part.affinity = sessions.lookup(part.session, part.stream)
        before: tuple[Impressions, ...] = (follow_imp, paid_imp)
        ev = getattr(self.m, "events", None)
        if ev is not None and ev.reserved_share > 0:  # a marketing IP's reserved slots
            take, rooms = ev.reserve(free_cat, live, self.m.rngs["events"])
            if len(take):
                res_sess = free_sess[take]
                reserved = Impressions.free(
                    sessions.viewer[res_sess], rooms, res_sess, *sessions.lookup(res_sess, rooms)
                )
                keep = np.ones(len(free_sess), dtype=bool)
                keep[take] = False
                free_sess, free_cat = free_sess[keep], free_cat[keep]
                self.m.day_counts["event_impressions"] += np.bincount(
                    rooms, minlength=self.m.table.n
                )
                before = (follow_imp, paid_imp, reserved)
        return self._free(sessions, free_sess, free_cat, live, kernel, before)

    def _follow_channel(
        self, sessions: Sessions, live: np.ndarray, kernel: bool | None = None
    ) -> tuple[Impressions, np.ndarray]:
        """Followed (and warm-up-booked) live rooms, highest affinity first. ``kernel``: see
        :func:`simulation.kernels.use`."""
        m, pop, rng, cfg = self.m, self.m.population, self.rng, self.cfg
        n_follow = np.zeros(len(sessions), dtype=np.int64)
        k_max = min(cfg.follow_slots_max, pop.cfg.slots_per_session)
        check = np.flatnonzero(rng.random(len(sessions)) < cfg.follow_check_prob)
        if k_max == 0 or len(check) == 0:
            return Impressions.empty(), n_follow
        v = sessions.viewer[check]
        if kernels.use(len(check) * (sessions.follow.shape[1] + 1), kernel):
            rows, streams, booked, count = kernels.get("follow_top")(
                check, sessions.follow, sessions.affinity, pop.reserved[v], live, k_max
            )
            n_follow[check] = count
        else:
            cols = np.concatenate([sessions.follow[check], pop.reserved[v][:, None]], axis=1)
            key = np.concatenate(
                [sessions.affinity[check], np.full((len(v), 1), 0.5, np.float32)], axis=1
            )
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
            n_follow[check] = ok.sum(axis=1)
        viewers = v[rows]
        pop.reserved[viewers[booked]] = -1
        boost = np.where(booked, m.config.behaviour.entry_reserved_lift, 0.0).astype(np.float32)
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
        self,
        sessions: Sessions,
        ad_sess: np.ndarray,
        ad_cat: np.ndarray,
        live: np.ndarray,
        kernel: bool | None = None,
    ) -> tuple[Impressions, np.ndarray]:
        """Second-price auction of the ad slots. Returns paid impressions and the mask of
        unsold slots."""
        m, pop, rng = self.m, self.m.population, self.rng
        camps = m.campaigns
        m.timer.lap("allocation")
        a = len(ad_sess)
        if a == 0 or camps.n == 0:
            return Impressions.empty(), np.ones(a, dtype=bool)
        act = np.flatnonzero(camps.active(m.day, live))
        if len(act) == 0:
            return Impressions.empty(), np.ones(a, dtype=bool)
        s_c = camps.stream[act]
        cat_c = m.table.category[s_c]
        # The platform's view of each slot's viewer: relative interest per category.
        z = sessions.interests[ad_sess] * np.float32(pop.k)
        factor = pctr_factor(z)
        tgt = camps.targeting[act]
        seeds = pop.followers[s_c].astype(np.float64)
        if getattr(m, "kol", None) is not None:  # KOL buyers seed look-alikes (simulation/kol.py)
            seeds = seeds + m.kol.lookalike_seeds[s_c]
        prec = audience_precision(seeds, self.cfg.audience_precision_half * pop.n)
        bar = np.where(tgt == 2, 1 + 2 * prec, 0.0)
        extra = None
        learning = np.flatnonzero(camps.learning()[act] & (tgt != 0))
        if len(learning):
            # A learning campaign also explores slots outside its audience.
            n_explore = rng.binomial(a, m.config.auction.learning_explore, len(learning))
            slots = rng.integers(0, a, int(n_explore.sum()))
            bidders = np.repeat(learning, n_explore)
            extra = (slots, bidders)
        if camps.expanding:  # audience expansion (simulation/ads.py; docs/MODEL.md 7.22)
            if camps.audience_day != m.day:
                camps.refresh_audience(pop.follow, pop.interests, m.table.category)
                camps.audience_day = m.day
            bar, added = camps.expand(act, tgt, bar, cat_c, ad_cat, z)
            if extra is not None:
                added = (np.concatenate([extra[0], added[0]]), np.concatenate([extra[1], added[1]]))
            extra = added
        rates = m.rates
        # eCPM = bid per order x pCTR x pCVR x 1000, pCTR = entry estimate x factor.
        value = (
            camps.bid_per_order(rates["aov"])[act] * rates["entry"][s_c] * rates["cvr"][s_c] * 1000
        )
        allowance = camps.allowance(m.live_ticks_today[camps.stream])[act]
        # Pacing by throttling: each campaign joins each sub-tick batch with its probability.
        batch = rng.integers(0, AUCTION_BATCHES, a)
        participate = rng.random((AUCTION_BATCHES, len(act))) < camps.participation()[act]
        winner, price = second_price_grouped(
            value,
            cat_c,
            tgt == 0,
            bar,
            ad_cat,
            z,
            factor,
            allowance,
            m.config.auction.reserve_cpm,
            extra,
            batch,
            participate,
            max_rounds=AUCTION_ROUNDS,
            kernel=kernel,
        )
        sold = winner >= 0
        if camps.expanding:
            camps.mark_expansion(tgt, np.flatnonzero(sold), winner[sold], ad_cat, z)
        w = act[winner[sold]]
        n = int(sold.sum())
        imp = Impressions(
            sessions.viewer[ad_sess[sold]],
            camps.stream[w],
            np.full(n, PAID, np.int8),
            ad_sess[sold],
            np.zeros(n, np.float32),
            w,
            price[sold],
        )
        m.bidding_now[act] = True
        m.timer.lap("auction")
        return imp, ~sold

    def _free(
        self,
        sessions: Sessions,
        free_sess: np.ndarray,
        cat: np.ndarray,
        live: np.ndarray,
        kernel: bool | None = None,
        before: Sequence[Impressions] = (),
    ) -> Impressions:
        """Exploration plus the capped, value-weighted allocation within categories; the
        impressions ``before`` (with ``fan_slot`` and ``affinity``) come first in the result.
        ``kernel``: see :func:`simulation.kernels.use`."""
        m, pop, rng, cfg = self.m, self.m.population, self.rng, self.cfg
        self.capped[:] = False
        live_idx = np.flatnonzero(live)
        n = len(free_sess)
        if n == 0 or len(live_idx) == 0:
            return Impressions.concat(list(before))
        k = pop.k
        # One uniform per slot decides exploration, fill, routing and the member drawn in
        # turn: each step compares it with a probability and passes on the uniform it leaves,
        # rescaled to [0, 1] (docs/MODEL.md, section 10).
        u = rng.random(n)
        eps = cfg.exploration
        compiled = kernels.use(n, kernel)  # the same arithmetic, fused (simulation.kernels)
        if compiled:
            z, z_sum, slots_k = kernels.get("free_interest")(
                sessions.interests, free_sess, cat, u, eps, k
            )
        else:
            explore = u < eps
            rest = np.flatnonzero(~explore)
            c_rest = cat[rest]
            slots_k = np.bincount(c_rest, minlength=k).astype(np.float64)
        # Live streams sorted by category.
        cat_l = m.table.category[live_idx]
        order = np.argsort(cat_l, kind="stable")
        live_idx, cat_l = live_idx[order], cat_l[order]
        n_live_k = np.bincount(cat_l, minlength=k)
        start = np.concatenate(([0], np.cumsum(n_live_k)[:-1]))
        cap = tier_quota(
            self.caps[m.table.tier[live_idx]], slots_k, n_live_k, cat_l, self.pool_quota
        )
        alloc = waterfill(self.stream_weights(live_idx), cap, cat_l, slots_k)
        # Bound: held at its quota, and the quota is less than the category's slots (a room
        # given every slot was not held back).
        bound = (alloc >= cap * (1 - 1e-9)) & (cap < slots_k[cat_l] * (1 - 1e-9))
        self.capped[live_idx] = bound
        # The day's count of ticks each stream was held at its cap, and at the top tier's
        # (issue 22's reports).
        m.day_counts["cap_bound_ticks"][live_idx] += bound
        at_top = m.table.tier[live_idx] == len(self.caps) - 1
        m.day_counts["top_cap_bound_ticks"][live_idx] += bound & at_top
        share = alloc / np.maximum(slots_k[cat_l], 1e-300)
        filled_k = np.bincount(cat_l, share, minlength=k)
        prec = audience_precision(
            pop.followers[live_idx].astype(np.float64), cfg.audience_precision_half * pop.n
        )
        comp_a = share * (1 - prec)
        comp_b = share * prec
        a_k = np.bincount(cat_l, comp_a, minlength=k)
        b_k = np.bincount(cat_l, comp_b, minlength=k)
        platform = cfg.exploration_scope == "platform"
        if compiled:
            prob_a, alias_a = alias_tables(comp_a, cat_l, k, kernel=True)
            prob_b, alias_b = alias_tables(comp_b, cat_l, k, kernel=True)
            return _free_impressions(
                *kernels.get("free_route")(
                    u, eps, platform, z, free_sess, sessions.viewer, sessions.follow,
                    sessions.affinity, cat, z_sum / np.maximum(slots_k, 1), filled_k, a_k, b_k,
                    start, n_live_k, np.concatenate((prob_a, prob_b)),
                    np.concatenate((alias_a, alias_b)), live_idx, sum(len(p) for p in before),
                ),
                before,
            )  # fmt: skip
        stream = np.full(n, -1, dtype=np.int64)
        if len(rest) < n:
            ex = np.flatnonzero(explore)
            w = u[ex] / eps * (1 - 1e-9)
            if platform:
                stream[ex] = live_idx[(w * len(live_idx)).astype(np.int64)]
            else:
                stream[ex] = uniform_in_category(cat[ex], live_idx, start, n_live_k, w)
        # Relative interest of each slot's viewer in the slot's category, against the mean
        # over the category's slots, decides how strongly it is routed to precise rooms.
        v = (u[rest] - eps) / (1 - eps)
        z = sessions.relative_interest(free_sess[rest], c_rest).astype(np.float64)
        z_mean = np.bincount(c_rest, z, minlength=k) / np.maximum(slots_k, 1)
        r = z / np.maximum(z_mean[c_rest], 1e-12)
        f = filled_k[c_rest]
        fill = np.flatnonzero(v < f)
        c_f, r_f = c_rest[fill], r[fill]
        w = v[fill] / np.maximum(f[fill], 1e-300)
        rb = r_f * b_k[c_f]
        p_b = rb / np.maximum(a_k[c_f] + rb, 1e-300)
        use_b = w < p_b
        x = np.where(use_b, w / np.maximum(p_b, 1e-300), (w - p_b) / np.maximum(1 - p_b, 1e-300))
        for comp, mask in ((comp_a, ~use_b), (comp_b, use_b)):
            if not mask.any():
                continue
            prob, alias = alias_tables(comp, cat_l, k)
            cm = c_f[mask]
            y = x[mask] * (1 - 1e-9) * n_live_k[cm]
            j = start[cm] + y.astype(np.int64)
            keep = (y - np.floor(y)) < prob[j]
            stream[rest[fill[mask]]] = live_idx[np.where(keep, j, alias[j])]
        ok = np.flatnonzero(stream >= 0)
        sess, stream = free_sess[ok], stream[ok]
        free = _free_impressions(
            sessions.viewer[sess], stream, sess, *sessions.lookup(sess, stream)
        )
        return Impressions.concat([*before, free])

    def settle(self, imp: Impressions, out: Outcome) -> None:
        """CPM charges were made at serving; nothing to settle."""

    def end_of_day(self) -> None:
        """The feed re-ranks continuously; nothing daily."""
