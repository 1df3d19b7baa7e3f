"""The traditional search funnel ("people search goods"): need -> search -> buy.

Only viewers with a need act. A session of such a viewer picks one of its needed categories;
with probability ``store_visit_prob`` it goes straight to a followed store of that category
(a "follow" impression: the funnel's loyalty stage), otherwise it searches. The results page
shows ``results_per_page`` listings: the top ``ad_positions`` are sold to paid search ads by
the generalised second price on bid-per-click x pCTR (cost per click), the rest are organic,
ranked by the category's listings' (1 + recent daily sales)^``sales_weight`` x review factor
x a per-query relevance (lognormal with spread ``query_relevance_sd``, drawn for each
search: queries word a need differently, so the page differs from query to query). A viewer
examines rank r with probability 1/(1+r)^``position_decay``; an examined listing is an
impression. Purchase requires the need (content does not create demand), and a search ends
at its first purchase. The daily scores are recomputed once a day.

Shops are always open in the funnel: stream schedules and warm-up videos do not apply.
Traffic is capped by the needs that arise — the only ceiling on growth here.

Budgets: an ad is shown to the first queries of the tick up to its expected-spend allowance;
clicks are billed in order and a click that would exceed the allowance is not billed.
"""

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from simulation.auction import gsp_positions
from simulation.behaviour import FOLLOW, FREE, PAID, Impressions, Outcome
from simulation.distribution.interest_feed import PCTR_INTEREST_EXPONENT
from simulation.population import Sessions

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel


class SearchFunnel:
    """The traditional policy. See the module docstring for the mechanics."""

    name: ClassVar[str] = "search_funnel"
    requires_need: ClassVar[bool] = True
    one_order_per_session: ClassVar[bool] = True
    always_open: ClassVar[bool] = True
    search_start: ClassVar[int] = 0
    """Every impression comes through the search entrance (the day table's ``search_*``
    columns equal the totals)."""

    def __init__(self, model: "SnowballModel"):
        self.m = model
        self.cfg = model.config.funnel
        self.rng = model.rngs["policy"]
        n = model.table.n
        self.sales = np.zeros(n)
        # A fixed tie-break among equal listings (new shops), drawn once.
        self.jitter = self.rng.random(n) * 1e-6
        self._cpc = np.zeros(0)
        self._allow = np.zeros(0)
        self.rerank()

    def rerank(self) -> None:
        """Sort each category's listings by relevance x sales x review (daily)."""
        t, cfg = self.m.table, self.cfg
        k = self.m.population.k
        score = (1 + self.sales) ** cfg.sales_weight * np.exp(
            cfg.review_weight * (t.review_score - 4.5)
        ) + self.jitter
        order = np.lexsort((-score, t.category))
        counts = np.bincount(t.category, minlength=k)
        self.log_score = np.log(score)
        bounds = np.concatenate(([0], np.cumsum(counts)))
        self.members = [order[bounds[c] : bounds[c + 1]] for c in range(k)]
        depth = cfg.results_per_page + cfg.ad_positions
        self.ranking = np.full((k, depth), -1, dtype=np.int64)
        start = 0
        for c in range(k):
            top = order[start : start + min(counts[c], depth)]
            self.ranking[c, : len(top)] = top
            start += counts[c]

    def serve(
        self, sessions: Sessions, live: np.ndarray, spent: np.ndarray | None = None
    ) -> Impressions:
        """The sessions' store visits and searches. ``live`` is not read: shops are always
        open. ``spent``: yuan each campaign has already spent this tick at another entrance
        (the mixed platform's feed ads), taken off its allowance here, so one budget pays
        for both entrances and never more than the tick's allowance."""
        m, pop, rng, cfg = self.m, self.m.population, self.rng, self.cfg
        t = m.table
        camps = m.campaigns
        self._allow = camps.allowance(m.live_ticks_today[camps.stream])
        if spent is not None:
            self._allow = np.maximum(self._allow - spent, 0.0)
        needs = pop.need[sessions.viewer]
        has = needs.any(axis=1)
        idx = np.flatnonzero(has)
        if len(idx) == 0:
            self._cpc = np.zeros(0)
            return Impressions.empty()
        v = sessions.viewer[idx]
        w = needs[idx].astype(np.float32)
        cum = np.cumsum(w, axis=1)
        u = rng.random(len(idx), dtype=np.float32) * cum[:, -1]
        cat = np.minimum((cum < u[:, None]).sum(axis=1), pop.k - 1)
        # Loyalty: a followed store of the category, highest affinity first.
        fol = sessions.follow[idx]
        in_cat = (fol >= 0) & (t.category[np.maximum(fol, 0)] == cat[:, None])
        key = np.where(in_cat, sessions.affinity[idx], -1.0)
        best = key.argmax(axis=1)
        visit = in_cat.any(axis=1) & (rng.random(len(idx)) < cfg.store_visit_prob)
        store_v, store_s = v[visit], fol[visit, best[visit]].astype(np.int64)
        n_store = len(store_v)
        parts = [
            Impressions(
                store_v,
                store_s,
                np.full(n_store, FOLLOW, np.int8),
                idx[visit],
                np.full(n_store, cfg.click_lift, np.float32),
                np.full(n_store, -1, np.int64),
                np.zeros(n_store),
            )
        ]
        cpcs = [np.zeros(n_store)]
        search = ~visit
        sv, sc, ss = v[search], cat[search], idx[search]
        if len(sv):
            imp, cpc = self._search(sessions, sv, sc, ss)
            parts.append(imp)
            cpcs.append(cpc)
        self._cpc = np.concatenate(cpcs)
        return Impressions.concat(parts)

    def _search(
        self, sessions: Sessions, viewer: np.ndarray, cat: np.ndarray, sess: np.ndarray
    ) -> tuple[Impressions, np.ndarray]:
        m, rng, cfg = self.m, self.rng, self.cfg
        camps, t = m.campaigns, m.table
        n = len(viewer)
        a_pos, p = cfg.ad_positions, cfg.results_per_page
        ads = np.full((n, a_pos), -1, dtype=np.int64)
        ad_camp = np.full((n, a_pos), -1, dtype=np.int64)
        ad_cpc = np.zeros((n, a_pos))
        if a_pos and camps.n:
            act = np.flatnonzero(camps.active(m.day, np.ones(t.n, dtype=bool)))
            rates = m.rates
            allowance = self._allow
            bid_order = camps.bid_per_order(rates["aov"])
            for c in np.unique(cat):
                mine = act[t.category[camps.stream[act]] == c]
                if len(mine) == 0:
                    continue
                q = np.flatnonzero(cat == c)
                s_c = camps.stream[mine]
                z = sessions.relative_interest(sess[q], np.full(len(q), c))
                pctr = rates["entry"][s_c]
                bid_click = bid_order[mine] * rates["cvr"][s_c]
                ranked, cpc = gsp_positions(bid_click * pctr, bid_click, a_pos)
                for j, (r, price) in enumerate(zip(ranked, cpc, strict=True)):
                    ci = mine[r]
                    if bid_click[r] < cfg.reserve_cpc:
                        continue
                    price = max(price, cfg.reserve_cpc)
                    exp_clicks = pctr[r] * np.clip(z, 0.05, 20) ** PCTR_INTEREST_EXPONENT
                    n_max = np.searchsorted(
                        np.cumsum(exp_clicks * price), allowance[ci], side="right"
                    )
                    shown = q[:n_max]
                    ads[shown, j] = s_c[r]
                    ad_camp[shown, j] = ci
                    ad_cpc[shown, j] = price
            m.bidding_now[act] = True
        organic = self._organic(cat)
        page = np.concatenate([ads, organic], axis=1)
        dup = (organic[:, :, None] == ads[:, None, :]).any(axis=2) & (organic >= 0)
        valid = np.concatenate([ads >= 0, (organic >= 0) & ~dup], axis=1)
        rank = np.cumsum(valid, axis=1) - 1
        valid &= rank < p
        examine = rng.random(page.shape) < 1.0 / (1.0 + np.maximum(rank, 0)) ** cfg.position_decay
        show = valid & examine
        rows, cols = np.nonzero(show)
        is_ad = cols < a_pos
        k = len(rows)
        camp = np.where(
            is_ad, ad_camp[rows, np.minimum(cols, max(a_pos - 1, 0))] if a_pos else -1, -1
        )
        cpc = np.where(
            is_ad, ad_cpc[rows, np.minimum(cols, max(a_pos - 1, 0))] if a_pos else 0.0, 0.0
        )
        imp = Impressions(
            viewer[rows],
            page[rows, cols],
            np.where(is_ad, PAID, FREE).astype(np.int8),
            sess[rows],
            np.full(k, cfg.click_lift, np.float32),
            camp.astype(np.int64),
            np.zeros(k),
        )
        return imp, cpc

    def _organic(self, cat: np.ndarray) -> np.ndarray:
        """Each query's organic results (n, results_per_page), -1 where the category has
        fewer listings. With ``query_relevance_sd`` = s > 0 a query ranks its category's
        listings by log(daily score) + s x N(0, 1): a listing's relevance to this query's
        wording, drawn per query, so a small shop can top a niche query while the best
        sellers still lead on average. With s = 0 every query sees the daily ranking."""
        p, sd = self.cfg.results_per_page, self.cfg.query_relevance_sd
        if sd == 0:
            return self.ranking[cat, :p]
        out = np.full((len(cat), p), -1, dtype=np.int64)
        for c in np.unique(cat):
            members = self.members[c]
            m = len(members)
            if m == 0:
                continue
            q = np.flatnonzero(cat == c)
            key = self.rng.standard_normal((len(q), m), dtype=np.float32) * np.float32(sd)
            key += self.log_score[members].astype(np.float32)
            if m > p:
                top = np.argpartition(-key, p - 1, axis=1)[:, :p]
                top = np.take_along_axis(
                    top, np.argsort(-np.take_along_axis(key, top, axis=1), axis=1), axis=1
                )
            else:
                top = np.argsort(-key, axis=1)
            out[q, : top.shape[1]] = members[top]
        return out

    def settle(self, imp: Impressions, out: Outcome) -> None:
        """Bill clicks on ads in order, never beyond a campaign's allowance."""
        if len(imp) == 0 or self.m.campaigns.n == 0:
            return
        clicked = np.flatnonzero(out.entered & (imp.source == PAID))
        if len(clicked) == 0:
            return
        camp = imp.campaign[clicked]
        price = self._cpc[clicked]
        order = np.argsort(camp, kind="stable")
        clicked, camp, price = clicked[order], camp[order], price[order]
        cum = np.cumsum(price)
        start = np.searchsorted(camp, camp, side="left")
        spent = cum - np.concatenate(([0.0], cum))[start]
        billed = spent <= self._allow[camp] + 1e-9
        imp.charge[clicked[billed]] = price[billed]

    def end_of_day(self) -> None:
        """Fold today's orders into the sales memory and re-sort the listings."""
        keep = np.exp(-1 / self.cfg.sales_memory_days)
        self.sales = self.sales * keep + self.m.day_counts["orders"] * (1 - keep)
        self.rerank()
