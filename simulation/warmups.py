"""Warm-up videos as content (``platform.warmup_content``; docs/MODEL.md 7.19, issue 22).

Version 1's warm-up videos (``SnowballModel._warmups``) book viewers drawn uniformly from the
tick's sessions and leave no trace in the platform's estimates. With ``warmup_content`` on,
a room's warm-up videos are content in the same feed:

- **Reach by interest.** The reach budget is version 1's: views per tick ~ Poisson(videos x
  ``warmup_reach`` x N / H) over the H ticks of the ``WARMUP_HOURS`` before the start,
  capped at the tick's sessions. Each view goes to a session of the tick drawn with
  probability proportional to its viewer's interest in the room's category raised to
  ``feed.interest_sharpness`` (the signal the feed draws a free slot's category from):
  one inverse-CDF draw per view over the cumulative interest of the tick's sessions, one
  cumulative sum per category of a room about to start.
- **Engagement.** A view is *engaged* (watched through, liked) with the probability the
  viewer would enter the room on an impression, the entry logit without the item on air and
  without a lift: ``logit p = logit(hook) + w_i ln max(z, 1e-3) + w_a aff``. The platform
  counts, per room, the views, the engagements and (for the audience baseline) the
  engagements the baseline expects of the same viewers (its entry rate in the viewer's
  cell of interest, fan level and activity).
- **Seeding.** When the room goes live, its evidence enters the estimator's window counters
  as ``warmup_evidence_weight`` live-impression equivalents per view
  (:meth:`simulation.estimates.Estimator.seed_warmups`): the entry estimate (and the uplift
  estimator's entry uplift) starts from the warm-up engagement rate shrunk towards the
  room's prior with ``prior_strength`` pseudo-impressions, then decays with the window
  counters' half-life as live evidence arrives. Dwell, conversion and order value get no
  video evidence. ``warmup_seeding = false`` keeps everything else (the ablation).
- **Bookings and follows.** An engaged view books the go-live with probability
  ``warmup_book_prob`` (version 1's booking: the room in the viewer's follow channel once
  live, with ``entry_reserved_lift``) and follows the room with probability
  ``warmup_follow_prob`` (affinity ``affinity_initial``, as a follow from a visit).

Day fields (float64, only with the switch on): ``warmup_engagements``, ``warmup_bookings``
(bookings written; a later booking by the same viewer replaces an earlier one) and
``warmup_follows`` (follows added: not already following, and the list had room or a weaker
entry). Randomness: the ``warmup`` generator, which only warm-ups read, so version 1 (switch
off) draws exactly what it drew before.
"""

from typing import TYPE_CHECKING

import numpy as np

from simulation import kernels
from simulation.estimates import UpliftEstimator, pair_index

if TYPE_CHECKING:
    from simulation.model import SnowballModel

WARMUP_FIELDS = ("warmup_engagements", "warmup_bookings", "warmup_follows")
"""Per-stream day counts added with ``platform.warmup_content`` (float64)."""


def interest_sample(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices into ``weights`` drawn with replacement in proportion to them (inverse
    CDF over their cumulative sum), int64 (n,). All-zero weights draw uniformly."""
    cum = np.cumsum(weights, dtype=np.float64)
    total = cum[-1] if len(cum) else 0.0
    if total <= 0:
        return rng.integers(0, len(cum), n)
    idx = np.searchsorted(cum, rng.random(n) * total, side="right")
    return np.minimum(idx, len(cum) - 1)


REACH_BLOCK = 64
"""Sessions per block of :func:`reach_compiled`'s cumulative sums (one stored value per
category and block; a draw recomputes at most one block)."""


def reach_compiled(
    rows: np.ndarray, cat: np.ndarray, cats: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The session index of each view (category ``cat``, (v,)) drawn by interest with
    sharpness 1, as :func:`interest_sample` over each category's column of the sessions'
    interest ``rows`` (n, K) draws it for the views of the categories ``cats`` (sorted,
    those of ``cat``) in turn: the same uniforms (or integers, for a category nobody has
    interest in) from ``rng`` in the same order, and the same indices. Compiled
    (``kernels._warmup_cum``, ``kernels._warmup_pick``): one pass over the rows keeps every
    category's cumulative sum per block of sessions, and each draw searches the blocks and
    recomputes one, instead of a full cumulative sum per category and a search in it."""
    n = rows.shape[0]
    ends = kernels.get("warmup_cum")(rows, cats, REACH_BLOCK)
    order = np.argsort(cat, kind="stable")  # the views by category, each in view order
    counts = np.bincount(cat)[cats]
    start = np.zeros(len(cats) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    targets = np.zeros(len(cat))
    idx = np.empty(len(cat), dtype=np.int64)
    drawn = np.zeros(len(cat), dtype=bool)  # views of categories nobody has interest in
    for j in range(len(cats)):
        a, b = start[j], start[j + 1]
        total = ends[j, -1]
        if total <= 0:
            idx[a:b] = rng.integers(0, n, b - a)
            drawn[a:b] = True
        else:
            targets[a:b] = rng.random(b - a) * total
    picked = kernels.get("warmup_pick")(rows, cats, ends, REACH_BLOCK, targets, start)
    idx = np.where(drawn, idx, picked)
    out = np.empty(len(cat), dtype=np.int64)
    out[order] = idx
    return out


def views_due(
    model: "SnowballModel", day: int, tod: int, n_sessions: int, ahead: int
) -> np.ndarray:
    """The tick's warm-up views, one room index per view (version 1's budget, 7.2): the
    rooms starting within ``ahead`` ticks that post videos each get Poisson(videos x
    ``warmup_reach`` x viewers / ``ahead``) views, capped at the tick's ``n_sessions``; drawn
    from the ``warmup`` generator (nothing is drawn when no such room is about to start)."""
    t = model.table
    none = np.empty(0, dtype=np.int64)
    if n_sessions == 0 or not t.warmup_videos.any():
        return none
    soon = np.flatnonzero((t.starting_in(day, tod, ahead, model.tpd) > 0) & (t.warmup_videos > 0))
    if len(soon) == 0:
        return none
    expected = t.warmup_videos[soon] * t.warmup_reach[soon] * model.population.n / ahead
    views = np.minimum(model.rngs["warmup"].poisson(expected), n_sessions)
    return np.repeat(soon, views)


class WarmupContent:
    """Warm-up videos reached by interest, measured, seeding the go-live estimates, and
    winning bookings and follows (the module docstring gives the rules).

    Parameters
    ----------
    model
        The model (its table, population, behaviour, estimator and ``warmup`` generator).
    """

    def __init__(self, model: "SnowballModel"):
        self.m = model
        n = model.table.n
        pf = model.config.platform
        self.weight = pf.warmup_evidence_weight
        self.seeding = pf.warmup_seeding
        self.book_prob = pf.warmup_book_prob
        self.follow_prob = pf.warmup_follow_prob
        self.sharpness = model.config.feed.interest_sharpness
        self.pending = {f: np.zeros(n) for f in ("views", "engaged", "expected")}
        """Warm-up evidence per room since its last go-live: views, engagements and the
        baseline's expected engagements (zero without audience estimates)."""
        self.was_live = np.zeros(n, dtype=bool)
        self.seeded = {f: np.zeros(n) for f in ("views", "engaged", "expected")}
        """The evidence each room last went live with (unweighted), for inspection."""

    def step(
        self,
        day: int,
        tod: int,
        viewers: np.ndarray,
        live: np.ndarray,
        ahead: int,
        rows: np.ndarray | None = None,
    ) -> None:
        """One tick: seed the estimates of rooms that went live this tick, then the views of
        rooms starting within ``ahead`` ticks go to the tick's session ``viewers``. ``rows``:
        the sessions' interest rows when the caller has gathered them (the model does, once
        for this and its snapshot), (n, K)."""
        self._go_live(live)
        m = self.m
        t, pop = m.table, m.population
        rng = m.rngs["warmup"]
        streams = views_due(m, day, tod, len(viewers), ahead)
        if len(streams) == 0:
            return
        cat = t.category[streams]
        cats = np.unique(cat)
        if rows is None:
            rows = pop.interests.take(viewers, axis=0)
        if self.sharpness == 1.0 and kernels.use(len(viewers) * len(cats)):
            pick = reach_compiled(rows, cat, cats, rng)
        else:
            pick = np.empty(len(streams), dtype=np.int64)
            for c in cats:  # one cumulative sum per category about to start
                views = np.flatnonzero(cat == c)
                w = rows[:, c].astype(np.float64)
                if self.sharpness != 1.0:
                    w = w**self.sharpness
                pick[views] = interest_sample(w, len(views), rng)
        # the viewers' relative interest from the gathered rows (Population.relative_interest's
        # value: the rows are the interests as they stand, read where they are in cache)
        z = rows[pick, cat] * np.float32(pop.k)
        self._engage(streams, viewers[pick], cat, rng, z)

    def _engage(
        self,
        streams: np.ndarray,
        viewers: np.ndarray,
        cat: np.ndarray,
        rng: np.random.Generator,
        z: np.ndarray,
    ) -> None:
        """Engagement, measurement, bookings and follows of one tick's views (``z``: each
        viewer's relative interest in the room's category, float32)."""
        m = self.m
        t, pop, b = m.table, m.population, m.config.behaviour
        n = t.n
        slot, aff = pop.lookup(viewers, streams)
        logit = (
            m.behaviour.logit_hook[streams].astype(np.float64)
            + b.entry_interest_weight * np.log(np.maximum(z, 1e-3))
            + b.entry_affinity_weight * aff
        )
        p = 1 / (1 + np.exp(-logit))
        engaged = rng.random(len(streams)) < p
        self.pending["views"] += np.bincount(streams, minlength=n)
        self.pending["engaged"] += np.bincount(streams, engaged, minlength=n)
        if isinstance(m.estimator, UpliftEstimator):
            fan = (slot >= 0).astype(np.int8) + (aff >= 0.5).astype(np.int8)
            act = pop.activity_bins(viewers)
            cell = pair_index(np.zeros(len(streams), dtype=np.int64), z, fan, act)
            self.pending["expected"] += np.bincount(
                streams, m.estimator.baseline.entry.take(cell), minlength=n
            )
        e = np.flatnonzero(engaged)
        se, ve = streams[e], viewers[e]
        book = rng.random(len(e)) < self.book_prob
        follow = rng.random(len(e)) < self.follow_prob
        pop.reserved[ve[book]] = se[book]
        fv, fs = ve[follow], se[follow]
        before, _ = pop.lookup(fv, fs)
        pop.add_follows(fv, fs, b.affinity_initial)
        after, _ = pop.lookup(fv, fs)
        added = np.flatnonzero((before < 0) & (after >= 0))
        # A viewer who engaged twice with the room and drew a follow both times followed once.
        _, first = np.unique(fv[added], return_index=True)
        added = added[first]
        dc = m.day_counts
        dc["warmup_views"] += np.bincount(streams, minlength=n)
        dc["warmup_engagements"] += np.bincount(se, minlength=n)
        dc["warmup_bookings"] += np.bincount(se[book], minlength=n)
        dc["warmup_follows"] += np.bincount(fs[added], minlength=n)

    def _go_live(self, live: np.ndarray) -> None:
        """Rooms that went live this tick take their pending warm-up evidence into the
        estimator (with ``warmup_seeding``) and start collecting afresh."""
        went = np.flatnonzero(live & ~self.was_live)
        self.was_live = live.copy()
        if len(went) == 0:
            return
        views = self.pending["views"][went]
        has = views > 0
        went = went[has]
        if len(went) == 0:
            return
        for f, x in self.pending.items():
            self.seeded[f][went] = x[went]
        if self.seeding:
            w = self.weight
            self.m.estimator.seed_warmups(
                went,
                w * self.pending["views"][went],
                w * self.pending["engaged"][went],
                w * self.pending["expected"][went],
            )
        for x in self.pending.values():
            x[went] = 0
