"""What a viewer does with an impression: enter, dwell, interact, buy, follow; later, rate.

Vectorised over the tick's impressions. Every probability is driven by the viewer's traits
(interest in the stream's category, patience, price sensitivity, stored affinity, need,
satiation) times the stream's hidden traits (hook, retention, persuasion, product quality)
times the item on show (drawn from the product mix by time share; with
``behaviour.run_of_show`` the item the room's script has on air, and the buy hazard
integrates over the items on air during the visit: simulation/run_of_show.py). Fans
convert better only through their stored affinity, which entries and good purchase
experiences (ratings) raise — there is no per-stream fan multiplier.

Functional forms (docs/MODEL.md gives the reasons):

- entry: ``logit p = logit(hook) + w_i log z + w_a aff + lift_role + boost``
- dwell (minutes, given entry): exponential with mean
  ``dwell_mean x retention x patience x dwell_lift_role x (1 + l_a aff)``
- interactions: Poisson(``interact_per_minute x dwell``), drawn once per stream with the
  summed mean (only per-stream totals are recorded; a sum of independent Poisson counts is
  Poisson with the summed mean)
- buy (given entry): ``p = 1 - exp(-h x dwell)``, hazard
  ``h = h0 (persuasion/0.05) appeal_role min(4, (price/ref)^-sensitivity) z^w_z
  (1 + w_b aff) need_term satiation intent``; need_term is ``need_multiplier`` under a need,
  a smaller multiplier under a latent need (``platform.latent_needs``), else 1 (or 0 where a
  purchase requires a need)
- follow (given entry, not yet following): ``1 - exp(-f x dwell)``, raised by a purchase;
  a purchase in someone else's room may also follow the merchant's own room
- rating: the item's quality plus noise, applied ``review_lag_days`` later.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulation.config import BehaviourConfig
from simulation.population import LATENT, Population, Sessions, flat
from simulation.run_of_show import RunOfShow
from simulation.streams import StreamTable

FREE, PAID, FOLLOW = 0, 1, 2
SOURCES = ("free", "paid", "follow")


@dataclass
class Impressions:
    """The tick's filled slots, one entry per impression (shape (n,) each).

    ``source`` is FREE, PAID or FOLLOW; ``session`` indexes the tick's sessions;
    ``boost`` is an entry-logit lift (warm-up reservation, search intent); ``campaign`` is
    the paying campaign or -1; ``charge`` is yuan charged at serving (CPM) — per-click
    charges are settled by the policy after behaviour. ``fan_slot`` and ``affinity``, when a
    policy fills them in, are the viewer's follow slot of the stream (-1 if none) and its
    affinity as the tick began (``Sessions.lookup``); the interest feed finds them where it
    picks the stream, and behaviour looks them up itself when they are None.
    """

    viewer: np.ndarray
    stream: np.ndarray
    source: np.ndarray
    session: np.ndarray
    boost: np.ndarray
    campaign: np.ndarray
    charge: np.ndarray
    fan_slot: np.ndarray | None = None
    affinity: np.ndarray | None = None

    FIELDS = ("viewer", "stream", "source", "session", "boost", "campaign", "charge")

    def __len__(self) -> int:
        return len(self.viewer)

    @staticmethod
    def empty() -> "Impressions":
        i = np.empty(0, dtype=np.int64)
        f = np.empty(0, dtype=np.float64)
        return Impressions(i, i, np.empty(0, dtype=np.int8), i, f.astype(np.float32), i, f)

    @staticmethod
    def free(
        viewer: np.ndarray,
        stream: np.ndarray,
        session: np.ndarray,
        fan_slot: np.ndarray | None = None,
        affinity: np.ndarray | None = None,
    ) -> "Impressions":
        """Free (unpaid, unboosted) impressions: no campaign, no charge."""
        n = len(stream)
        return Impressions(
            viewer,
            stream,
            np.full(n, FREE, np.int8),
            session,
            np.zeros(n, np.float32),
            np.full(n, -1, np.int64),
            np.zeros(n),
            fan_slot,
            affinity,
        )

    @staticmethod
    def concat(parts: list["Impressions"]) -> "Impressions":
        parts = [p for p in parts if len(p)]
        if not parts:
            return Impressions.empty()
        fields = Impressions.FIELDS
        if all(p.fan_slot is not None and p.affinity is not None for p in parts):
            fields += ("fan_slot", "affinity")
        return Impressions(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


@dataclass
class Outcome:
    """Per-impression results (shape (n,) each) plus the per-stream interaction counts (S,)
    and the ratings bought this tick."""

    entered: np.ndarray
    dwell: np.ndarray
    stream_interactions: np.ndarray
    bought: np.ndarray
    price: np.ndarray
    margin: np.ndarray
    is_fan: np.ndarray
    rating_stream: np.ndarray
    rating_viewer: np.ndarray
    rating_value: np.ndarray
    z: np.ndarray | None = None
    """Relative interest of each impression's viewer in the room's category (n,) float32, as
    the response used it (read by the audience-aware baseline)."""
    need_bought: np.ndarray | None = None
    """Per purchase (aligned with ``rating_stream``): the buyer held an exogenous need."""
    created_bought: np.ndarray | None = None
    """Per purchase: the demand was created by content (``Population.demand_of``)."""
    category: np.ndarray | None = None
    """Per impression: the category of the room shown, (n,) (read by the interest drift)."""
    item: np.ndarray | None = None
    """Run-of-show: per impression, the item on air as it arrived (n,) int64."""
    order_item: np.ndarray | None = None
    """Run-of-show: per purchase (aligned with ``rating_stream``), the item bought."""
    need_state: np.ndarray | None = None
    """Per entry (in impression order), its viewer's need state as the tick began in the
    category a purchase reads (the room's; its product's under ``alliance.product_match``):
    :meth:`Population.need_states`, int8; only when the population keeps need states
    (``Population.keep_need_states``: the audience-aware baseline reads them)."""
    item_impressions: np.ndarray | None = None
    """Run-of-show: the impressions per (room, item slot) (``RunOfShow.place``'s count)."""


def buy_decisions(
    u: np.ndarray,
    dwell: np.ndarray,
    bound: np.ndarray,
    hazard_of: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``u < 1 - exp(-hazard * dwell)`` for every entry, bool (n,), where ``hazard_of(i)``
    gives the hazards of entries ``i`` (costly) and never exceeds ``bound`` (cheap).

    Only the entries whose uniform is below the probability at the bound can buy, so only
    they are evaluated; every other entry's uniform is above its own probability too. With
    the hazard a product whose factors are replaced by larger ones in the bound, rounding
    (monotone) keeps it at or below the bound's; the margin covers exp's error in the last
    place. The same decisions as evaluating every entry."""
    may = np.flatnonzero(u < 1 - np.exp(-bound * dwell) + 1e-12)
    out = np.zeros(len(u), dtype=bool)
    out[may] = u[may] < 1 - np.exp(-hazard_of(may) * dwell[may])
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class Behaviour:
    """Viewer response to impressions, with the population's state updates."""

    def __init__(self, cfg: BehaviourConfig, table: StreamTable, show: RunOfShow | None = None):
        self.cfg = cfg
        self.table = table
        self.show = show
        """The rooms' scripts (``behaviour.run_of_show``), or None: items drawn by the mix."""
        self.price_factor: np.ndarray | None = None
        """Each room's share of its list prices today (calendar events' discounts), (S,);
        None: list prices (set by the model at the start of each day)."""
        self.role_price = np.asarray(cfg.role_price)
        self.role_appeal = np.asarray(cfg.role_appeal)
        self.role_entry = np.asarray(cfg.role_entry_lift, dtype=np.float32)
        self.role_dwell = np.asarray(cfg.role_dwell_lift)
        self.product_category: np.ndarray | None = None
        """``alliance.product_match``: the category of each room's product (S,), which a
        purchase reads instead of the room's category (simulation/alliance.py); None: the
        room's category."""
        self.refresh()

    def refresh(self) -> None:
        """Recompute per-stream constants (after a trait or mix changes)."""
        t = self.table
        self.logit_hook = _logit(t.hook).astype(np.float32)
        # Cumulative item-role shares, one contiguous row per edge (2, S): role = number of
        # edges below the uniform draw.
        self.mix_edges = np.ascontiguousarray(np.cumsum(t.mix, axis=1)[:, :2].T, dtype=np.float32)
        self.prices = t.role_prices(self.cfg.role_price)
        self.margin_share = t.unit_margin_share(self.cfg.role_cost, self.cfg.quality_cost)
        if self.show is not None:
            self.show.set_mix(t.mix)

    def respond(
        self,
        imp: Impressions,
        sessions: Sessions,
        pop: Population,
        day: int,
        intent: float | np.ndarray,
        requires_need: bool | np.ndarray,
        one_order_per_session: bool | np.ndarray,
        rng: np.random.Generator,
    ) -> Outcome:
        """Draw every impression's outcome and apply the viewers' state changes.

        Parameters
        ----------
        imp
            The tick's impressions.
        sessions
            The tick's sessions (the snapshot impressions' ``session`` indexes into).
        pop
            The population (follows, affinity, needs and purchase history are updated).
        day
            Current day (satiation, purchase records).
        intent
            Buy-hazard multiplier of the day (campaign days > 1): a float, or one per
            impression (a category event lifts only its category's rooms).
        requires_need
            Search funnel: no purchase without a need in the category. A bool for every
            impression, or a bool per impression (the mixed platform: its search
            impressions require a need, its feed impressions do not).
        one_order_per_session
            Search funnel: a search ends at its first purchase (positions in order). A bool,
            or a bool per impression (the rule applies among the flagged impressions).
        """
        c, t = self.cfg, self.table
        n = len(imp)
        v, s = imp.viewer, imp.stream
        cat = t.category[s]
        z = sessions.relative_interest(imp.session, cat)
        if imp.fan_slot is None or imp.affinity is None:
            slot, aff = sessions.lookup(imp.session, s)
        else:
            slot, aff = imp.fan_slot, imp.affinity
        is_fan = slot >= 0
        u = rng.random(n, dtype=np.float32)
        show = self.show
        if show is None:
            role = (u > self.mix_edges[0].take(s)).astype(np.int64)
            role += u > self.mix_edges[1].take(s)
        else:  # the same uniform places the impression in its tick; the script gives the item
            item, placed = show.place(s, u)
            role = show.role_of(s, item)
        logit = (
            self.logit_hook[s]
            + c.entry_interest_weight * np.log(np.maximum(z, 1e-3))
            + c.entry_affinity_weight * aff
            + self.role_entry[role]
            + imp.boost
        )
        # 1 / (1 + exp(-logit)) computed in place (the same values, no temporaries).
        p_enter = np.negative(logit, out=logit)
        np.exp(p_enter, out=p_enter)
        p_enter += 1
        np.divide(1, p_enter, out=p_enter)
        entered = rng.random(n, dtype=np.float32) < p_enter

        e = np.flatnonzero(entered)
        ve, se, re, ae, ze = v[e], s[e], role[e], aff[e], z[e]
        if show is not None:  # the entrants' minutes since their rooms went live
            minute_e = show.minute_at(se, u[e])
        patience, sens = pop.traits_of(ve)
        mean_dwell = (
            c.dwell_mean_minutes
            * t.retention[se]
            * patience
            * self.role_dwell[re]
            * (1 + c.dwell_affinity_lift * ae)
        )
        dwell_e = rng.exponential(1.0, len(e)) * mean_dwell
        # Interactions are only ever summed per stream: one Poisson draw per stream with the
        # summed mean has the same distribution as the per-entrant counts' total.
        inter_s = rng.poisson(np.bincount(se, c.interact_per_minute * dwell_e, minlength=t.n))
        if show is None:
            price_e = self.prices[se, re]
            if self.price_factor is not None:
                price_e = price_e * self.price_factor[se]
            role_term = self.role_appeal[re]
            price_term = np.minimum(4.0, (price_e / c.reference_price) ** (-sens))
            exposure = dwell_e
        else:
            # Cross-selling: each item's appeal x price term x its minutes on air during the
            # visit; their sum is the integrated hazard's role part (exposure 1).
            if show.scripted.any():  # explicit scripts: each item slot's role
                roles_e = show.item_role[se]
                price_all = np.take_along_axis(self.prices[se], roles_e, axis=1)
                appeal = self.role_appeal[roles_e]
            else:  # take: one row gather, faster than fancy indexing (the same rows)
                price_all = self.prices.take(se, axis=0)
                appeal = self.role_appeal
            if self.price_factor is not None:
                price_all = price_all * self.price_factor[se, None]
            price_w = np.minimum(4.0, (price_all / c.reference_price) ** (-sens[:, None]))
            role_term = show.cross_sell(se, minute_e, dwell_e, appeal, price_w)
            price_term = 1.0
            exposure = np.ones(len(e))
        cat_e = cat[e]
        if self.product_category is not None:  # alliance: buying reads the product's category
            cat_e = self.product_category[se]
            ze = sessions.relative_interest(imp.session[e], cat_e)
        # hazard = base x need term x satiation x intent, where need and satiation are read
        # from (N, K) arrays at random (a cache miss each): only the entrants who could buy
        # at their upper bounds (the largest need term, satiation 1) read them.
        per_impression = np.ndim(requires_need) > 0
        if per_impression:  # the mixed platform: 0 for search entrants, 1 for feed ones
            no_need = np.where(np.asarray(requires_need)[e], 0.0, 1.0)
        else:
            no_need = 0.0 if requires_need else 1.0
        base = (
            c.buy_hazard_per_minute
            * (t.persuasion[se] / 0.05)
            * role_term
            * price_term
            * np.maximum(ze, 1e-3) ** c.buy_interest_weight
            * (1 + c.buy_affinity_weight * ae)
        )

        if np.ndim(intent) > 0:  # per impression: the entrants' own
            intent = np.asarray(intent)[e]

        def hazard_of(i: np.ndarray) -> np.ndarray:
            view, idx = flat(pop.need, ve[i], cat_e[i])
            otherwise = no_need[i] if per_impression else no_need
            need_term = np.where(view[idx], c.need_multiplier, otherwise)
            if pop.origin is not None:  # a latent need: weaker than a need (never above it)
                latent = ~view[idx] & (pop.origin.reshape(-1)[idx] == LATENT)
                need_term = np.where(latent, pop.latent_multiplier * otherwise, need_term)
            lift = intent[i] if np.ndim(intent) > 0 else intent
            return base[i] * need_term * pop.satiation(ve[i], cat_e[i], day) * lift

        if per_impression:
            bound = base * np.maximum(c.need_multiplier, no_need) * intent
        else:
            bound = base * max(c.need_multiplier, no_need) * intent
        bought_e = buy_decisions(rng.random(len(e)), exposure, bound, hazard_of)
        if np.ndim(one_order_per_session) > 0:
            # Only the flagged impressions' sessions end at their first purchase.
            b = np.flatnonzero(bought_e & np.asarray(one_order_per_session)[e])
            if len(b):
                _, first = np.unique(imp.session[e[b]], return_index=True)
                drop = np.zeros(len(e), dtype=bool)
                drop[b] = True
                drop[b[first]] = False
                bought_e &= ~drop
        elif one_order_per_session and bought_e.any():
            b = np.flatnonzero(bought_e)
            _, first = np.unique(imp.session[e[b]], return_index=True)
            keep = np.zeros(len(e), dtype=bool)
            keep[b[first]] = True
            bought_e &= keep
        # A viewer buys at most once per category per tick (a tick is minutes long).
        if bought_e.any():
            b = np.flatnonzero(bought_e)
            _, first = np.unique(ve[b] * pop.k + cat_e[b], return_index=True)
            keep = np.zeros(len(e), dtype=bool)
            keep[b[first]] = True
            bought_e &= keep

        item_e = None
        if show is not None:  # the item bought: in proportion to its integrated hazard
            item_e = item[e]
            b = np.flatnonzero(bought_e)
            # The buyers' per-item hazards (the terms of their cross-selling sums).
            appeal_b = appeal if appeal.ndim == 1 else appeal[b]
            item_w = appeal_b * price_w[b] * show.overlap(se[b], minute_e[b], dwell_e[b])
            cum = np.cumsum(item_w, axis=1)
            pick = rng.random(len(b))[:, None] * cum[:, -1:] > cum[:, :-1]
            item_e[b] = pick.sum(axis=1)
            price_e = np.zeros(len(e))  # read for the buyers only
            price_e[b] = price_all[b, item_e[b]]

        # Follows: entrants who are not fans yet; buyers may also follow the merchant's room.
        p_follow = 1 - np.exp(-c.follow_per_minute * dwell_e)
        p_follow = np.where(bought_e, 1 - (1 - p_follow) * (1 - c.follow_after_buy), p_follow)
        new_follow = (slot[e] < 0) & (rng.random(len(e)) < p_follow)
        # Fans who entered grow closer.
        pop.change_affinity(ve, slot[e], np.float32(c.affinity_gain_entry), towards_one=True)
        pop.add_follows(ve[new_follow], se[new_follow], c.affinity_initial)
        room = t.store_room[se]
        store = (
            bought_e & (room >= 0) & (room != se) & (rng.random(len(e)) < c.store_follow_after_buy)
        )
        pop.add_follows(ve[store], room[store], c.affinity_initial)

        # The entrants' need states as the tick began: read before purchases satisfy needs.
        need_state = (
            None
            if pop.need_state is None
            else pop.need_states(sessions.viewer, imp.session[e], cat_e, day)
        )
        b = np.flatnonzero(bought_e)
        need_b, created_b = pop.demand_of(ve[b], cat_e[b], ze[b] / np.float32(pop.k))
        pop.record_purchases(ve[b], cat_e[b], day)
        rating = np.clip(t.quality[se[b]] + rng.normal(0, c.rating_noise, len(b)), 0, 1)

        dwell = np.zeros(n)
        dwell[e] = dwell_e
        bought = np.zeros(n, dtype=bool)
        bought[e[b]] = True
        price = np.zeros(n)
        price[e[b]] = price_e[b]
        margin = np.zeros(n)
        sold = re if item_e is None else show.role_of(se, item_e)
        share = self.margin_share[se[b], sold[b]]
        if self.price_factor is not None:  # a discount cuts the price, not the unit cost:
            f = self.price_factor[se[b]]  # margin = f x list - (1 - share) x list
            share = 1 - (1 - share) / f
        margin[e[b]] = price_e[b] * share
        return Outcome(
            entered,
            dwell,
            inter_s,
            bought,
            price,
            margin,
            is_fan,
            se[b],
            ve[b],
            rating,
            z,
            need_b,
            created_b,
            cat,
            None if show is None else item,
            None if item_e is None else item_e[b],
            need_state,
            None if show is None else placed,
        )

    def apply_ratings(
        self, pop: Population, viewers: np.ndarray, streams: np.ndarray, rating: np.ndarray
    ) -> None:
        """Ratings arriving today: the review score moves (see StreamTable.apply_ratings)
        and each rater's affinity to the room moves with the experience."""
        c = self.cfg
        self.table.apply_ratings(
            streams, 1 + 4 * rating, c.review_prior, c.review_prior_ratings, c.review_memory_days
        )
        if len(viewers):
            slot, _ = pop.lookup(viewers, streams)
            pop.change_affinity(
                viewers,
                slot,
                (c.affinity_gain_rating * (rating - 0.5)).astype(np.float32),
                towards_one=False,
            )
            pop.drop_weak_follows()
