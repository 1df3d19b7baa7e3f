"""The platform's view of each stream: smoothed window estimates and tiered traffic pools.

The platform never sees a stream's hidden traits. It counts what happened to every
impression — free, paid and follow alike — in exponentially decayed counters, and turns them
into smoothed rates. The priors are hierarchical: a room's short window estimate (half-life
``estimator_half_life_minutes``) shrinks towards the room's own long-run record (half-life
``room_memory_days``: its "account weight"), which in turn shrinks towards the platform-wide
averages. A new room therefore starts at the peer average and can be explored, while a room
with a good record opens each stream where its record stands instead of being forgotten
overnight. Nothing here reads where an impression came from: paid traffic lifts free traffic
only through these measured metrics.
"""

import numpy as np

from simulation.config import FeedConfig


class Estimator:
    """Exponentially decayed per-stream counters and the rates derived from them.

    Parameters
    ----------
    n_streams
        Number of streams S.
    cfg
        Feed settings (half-life, prior strength, value weights).
    tick_minutes
        Minutes per tick, to convert the half-life into a per-tick decay.
    """

    FIELDS = ("impressions", "entries", "dwell", "orders", "gmv")

    def __init__(self, n_streams: int, cfg: FeedConfig, tick_minutes: int):
        self.cfg = cfg
        self.decay = 0.5 ** (tick_minutes / cfg.estimator_half_life_minutes)
        self.c = {f: np.zeros(n_streams) for f in self.FIELDS}
        self.memory = cfg.room_memory_days > 0
        self.long_decay = (
            0.5 ** (tick_minutes / (cfg.room_memory_days * 1440)) if self.memory else 0.0
        )
        self.long = {f: np.zeros(n_streams) for f in self.FIELDS}
        """A room's long-run record: the same counts with a half-life in days."""
        self.window = {f: np.zeros(n_streams) for f in self.FIELDS}
        # Platform-wide decayed totals: the priors (peer averages).
        self.total = dict.fromkeys(self.FIELDS, 0.0)

    def update(self, counts: dict[str, np.ndarray]) -> None:
        """Decay and add one tick of per-stream counts (all traffic sources together)."""
        for f in self.FIELDS:
            x = counts[f]
            self.c[f] *= self.decay
            self.c[f] += x
            if self.memory:
                self.long[f] *= self.long_decay
                self.long[f] += x
            self.window[f] += x
            self.total[f] = self.total[f] * self.decay + float(x.sum())

    def reset_window(self) -> None:
        for f in self.FIELDS:
            self.window[f][:] = 0

    def priors(self) -> dict[str, float]:
        """Platform-average entry rate, dwell per entry, conversion per entry, order value."""
        t = self.total
        entry = t["entries"] / t["impressions"] if t["impressions"] > 0 else 0.1
        dwell = t["dwell"] / t["entries"] if t["entries"] > 0 else 1.5
        cvr = t["orders"] / t["entries"] if t["entries"] > 0 else 0.02
        aov = t["gmv"] / t["orders"] if t["orders"] > 0 else 100.0
        return {
            "entry": max(entry, 1e-4),
            "dwell": max(dwell, 1e-3),
            "cvr": max(cvr, 1e-5),
            "aov": max(aov, 1e-3),
        }

    def rates(self, counts: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Smoothed rates per stream from ``counts`` (default: the decayed counters).

        entry = (entries + m p_e) / (impressions + m); dwell, cvr per entry and order value
        shrink to their priors with m p_e pseudo-entries and m p_e p_c pseudo-orders.
        The priors are the platform averages for explicit ``counts`` (a horse-race window is
        judged on its own) and, for the decayed counters, each room's long-run record (itself
        shrunk to the platform averages) when ``room_memory_days > 0``.
        Returns entry, dwell (minutes per entry), cvr (orders per entry), aov (yuan), gpm
        (yuan per 1000 impressions) and engagement (dwell minutes per impression).
        """
        if counts is None and self.memory:
            return self._shrink(self.c, self._shrink(self.long, self.priors()))
        return self._shrink(self.c if counts is None else counts, self.priors())

    def _shrink(
        self, c: dict[str, np.ndarray], p: dict[str, float] | dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Rates from counts ``c`` shrunk towards priors ``p`` (scalars or per stream)."""
        m = self.cfg.prior_strength
        m_e = m * p["entry"]
        m_o = m_e * p["cvr"]
        entry = (c["entries"] + m * p["entry"]) / (c["impressions"] + m)
        dwell = (c["dwell"] + m_e * p["dwell"]) / (c["entries"] + m_e)
        cvr = (c["orders"] + m_e * p["cvr"]) / (c["entries"] + m_e)
        aov = (c["gmv"] + m_o * p["aov"]) / (c["orders"] + m_o)
        gpm = 1000 * entry * cvr * aov
        return {
            "entry": entry,
            "dwell": dwell,
            "cvr": cvr,
            "aov": aov,
            "gpm": gpm,
            "engagement": entry * dwell,
        }

    def value(self, rates: dict[str, np.ndarray]) -> np.ndarray:
        """Predicted value of an impression relative to the platform average (1 = average):
        ``w_e * engagement / engagement_avg + w_g * gpm / gpm_avg`` normalised by the
        weights."""
        p = self.priors()
        w_e, w_g = self.cfg.value_engagement_weight, self.cfg.value_gmv_weight
        if w_e + w_g == 0:
            return np.ones_like(rates["entry"])
        eng = rates["engagement"] / (p["entry"] * p["dwell"])
        gpm = rates["gpm"] / (1000 * p["entry"] * p["cvr"] * p["aov"])
        return (w_e * eng + w_g * gpm) / (w_e + w_g)


class TrafficPools:
    """Tiered traffic pools and the horse race that moves streams between them.

    Every ``rerank_minutes`` each live stream's window value (the :meth:`Estimator.value`
    of its counts in the window just ended, smoothed with the prior) is ranked against its
    peers: the live streams of the same category that were judged (had at least
    ``min_window_impressions`` x the fair share of the window's impressions). Above the
    ``promote_percentile`` it moves up a tier, below ``demote_percentile`` down. Categories
    with fewer than three judged streams are ranked against all judged live streams.
    """

    def __init__(self, cfg: FeedConfig, n_categories: int):
        self.cfg = cfg
        self.n_tiers = len(cfg.tier_caps)
        self.caps = np.asarray(cfg.tier_caps, dtype=np.float64)
        self.k = n_categories
        self.promotions = 0
        self.demotions = 0

    def rerank(
        self,
        tier: np.ndarray,
        live: np.ndarray,
        category: np.ndarray,
        window_value: np.ndarray,
        window_impressions: np.ndarray,
    ) -> None:
        """Promote/demote live streams in place from one window's values."""
        idx = np.flatnonzero(live)
        if len(idx) == 0:
            return
        fair = window_impressions[idx].sum() / len(idx)
        judged = idx[window_impressions[idx] >= self.cfg.min_window_impressions * fair]
        if len(judged) < 2:
            return
        cat = category[judged]
        val = window_value[judged]
        pct = np.empty(len(judged))
        n_cat = np.bincount(cat, minlength=self.k)
        # Global percentile for streams in thin categories.
        g_rank = np.argsort(np.argsort(val, kind="stable"), kind="stable")
        pct_global = g_rank / (len(judged) - 1)
        order = np.lexsort((val, cat))
        start = np.concatenate(([0], np.cumsum(n_cat)[:-1]))
        rank_in_cat = np.empty(len(judged), dtype=np.int64)
        rank_in_cat[order] = np.arange(len(judged)) - start[cat[order]]
        denom = np.maximum(n_cat[cat] - 1, 1)
        pct = np.where(n_cat[cat] >= 3, rank_in_cat / denom, pct_global)
        up = pct >= self.cfg.promote_percentile
        down = (pct <= self.cfg.demote_percentile) & ~up
        t = tier[judged]
        new = np.clip(t + up.astype(np.int64) - down.astype(np.int64), 0, self.n_tiers - 1)
        self.promotions += int((new > t).sum())
        self.demotions += int((new < t).sum())
        tier[judged] = new
