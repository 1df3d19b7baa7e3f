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

from simulation import kernels
from simulation.config import FeedConfig, PlatformConfig


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
    platform
        Version 2's settings: ``interaction_weight`` (interactions in the value; 0 = off).
    """

    FIELDS: tuple[str, ...] = ("impressions", "entries", "dwell", "orders", "gmv", "interactions")

    def __init__(
        self,
        n_streams: int,
        cfg: FeedConfig,
        tick_minutes: int,
        platform: PlatformConfig | None = None,
    ):
        self.cfg = cfg
        self.interaction_weight = platform.interaction_weight if platform is not None else 0.0
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
        self.warm: dict[str, np.ndarray] | None = None
        """Warm-up evidence on the entry rate (``platform.warmup_content``, simulation/warmups.py):
        weighted views, engagements and (uplift) expected engagements, decayed like the
        window counters and read only by the entry rate of :meth:`rates`; None = none yet."""

    def seed_warmups(
        self, streams: np.ndarray, views: np.ndarray, engaged: np.ndarray, expected: np.ndarray
    ) -> None:
        """Add warm-up evidence on the entry rate of ``streams`` at go-live: ``views``
        impression-equivalents with ``engaged`` entry-equivalents (``expected``: the
        baseline's expected entries of the same viewers, read by the uplift estimator).
        Shapes (n,); the evidence then decays like the window counters."""
        if self.warm is None:
            n = len(self.c["impressions"])
            self.warm = {f: np.zeros(n) for f in ("impressions", "entries", "exp_entries")}
        self.warm["impressions"][streams] += views
        self.warm["entries"][streams] += engaged
        self.warm["exp_entries"][streams] += expected

    def update(self, counts: dict[str, np.ndarray]) -> None:
        """Decay and add one tick of per-stream counts (all traffic sources together); a
        field missing from ``counts`` adds nothing."""
        for f in self.FIELDS:
            x = counts.get(f)
            if x is None:
                continue
            self.c[f] *= self.decay
            self.c[f] += x
            if self.memory:
                self.long[f] *= self.long_decay
                self.long[f] += x
            self.window[f] += x
            self.total[f] = self.total[f] * self.decay + float(x.sum())
        if self.warm is not None:
            for x in self.warm.values():
                x *= self.decay

    def reset_window(self) -> None:
        for f in self.FIELDS:
            self.window[f][:] = 0

    def priors(self) -> dict[str, float]:
        """Platform-average entry rate, dwell per entry, conversion per entry, order value
        and interactions per impression."""
        t = self.total
        entry = t["entries"] / t["impressions"] if t["impressions"] > 0 else 0.1
        dwell = t["dwell"] / t["entries"] if t["entries"] > 0 else 1.5
        cvr = t["orders"] / t["entries"] if t["entries"] > 0 else 0.02
        aov = t["gmv"] / t["orders"] if t["orders"] > 0 else 100.0
        inter = t.get("interactions", 0.0)
        per_imp = inter / t["impressions"] if t["impressions"] > 0 and inter > 0 else 0.05
        return {
            "entry": max(entry, 1e-4),
            "dwell": max(dwell, 1e-3),
            "cvr": max(cvr, 1e-5),
            "aov": max(aov, 1e-3),
            "interactions": max(per_imp, 1e-6),
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
        warm = self.warm if counts is None else None
        if counts is None and self.memory:
            return self._shrink(self.c, self._shrink(self.long, self.priors()), warm)
        return self._shrink(self.c if counts is None else counts, self.priors(), warm)

    def _shrink(
        self,
        c: dict[str, np.ndarray],
        p: dict[str, float] | dict[str, np.ndarray],
        warm: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Rates from counts ``c`` shrunk towards priors ``p`` (scalars or per stream); the
        warm-up evidence ``warm`` adds to the entry rate's counts only."""
        m = self.cfg.prior_strength
        m_e = m * p["entry"]
        m_o = m_e * p["cvr"]
        if warm is None:
            entry = (c["entries"] + m * p["entry"]) / (c["impressions"] + m)
        else:
            entry = (c["entries"] + warm["entries"] + m * p["entry"]) / (
                c["impressions"] + warm["impressions"] + m
            )
        dwell = (c["dwell"] + m_e * p["dwell"]) / (c["entries"] + m_e)
        cvr = (c["orders"] + m_e * p["cvr"]) / (c["entries"] + m_e)
        aov = (c["gmv"] + m_o * p["aov"]) / (c["orders"] + m_o)
        gpm = 1000 * entry * cvr * aov
        rates = {
            "entry": entry,
            "dwell": dwell,
            "cvr": cvr,
            "aov": aov,
            "gpm": gpm,
            "engagement": entry * dwell,
        }
        if self.interaction_weight > 0:
            rates["interactions"] = (c["interactions"] + m * p["interactions"]) / (
                c["impressions"] + m
            )
        return rates

    def value(self, rates: dict[str, np.ndarray]) -> np.ndarray:
        """Predicted value of an impression relative to the platform average (1 = average):
        ``w_e * engagement / engagement_avg + w_g * gpm / gpm_avg (+ w_i * interactions /
        interactions_avg)`` normalised by the weights (``w_i`` = ``interaction_weight``,
        the interactions term only when it is positive)."""
        p = self.priors()
        w_e, w_g = self.cfg.value_engagement_weight, self.cfg.value_gmv_weight
        w_i = self.interaction_weight
        if w_e + w_g + w_i == 0:
            return np.ones_like(rates["entry"])
        eng = rates["engagement"] / (p["entry"] * p["dwell"])
        gpm = rates["gpm"] / (1000 * p["entry"] * p["cvr"] * p["aov"])
        if w_i == 0:
            return (w_e * eng + w_g * gpm) / (w_e + w_g)
        inter = rates["interactions"] / p["interactions"]
        return (w_e * eng + w_g * gpm + w_i * inter) / (w_e + w_g + w_i)


# --------------------------------------------------------------------------------------------
# Audience-aware estimates (platform.audience_estimates)
# --------------------------------------------------------------------------------------------

Z_BINS = 30
"""Bins of the viewer's relative interest z in the room's category, two per octave:
z < 2^-10 (behaviour treats every z below 10^-3 alike), then [2^e, 1.5 x 2^e) and
[1.5 x 2^e, 2^(e+1)) for e = -10 .. 3, then z >= 16. Read off the float32 bits of z (its
exponent and first mantissa bit): one shift, no logarithm."""
FAN_LEVELS = 3
"""Not a fan; a fan with affinity < 0.5; a fan with affinity >= 0.5."""
ACTIVITY_BINS = 4
"""The viewer's session rate against ``sessions_per_day``: < 1/2, [1/2, 1), [1, 2), >= 2."""
NEED_LEVELS = 8
"""Need state in the room's category (conversion cells only): a need or not, times the
satiation level (no purchase in the category within ``satiation_days`` = tau; the last one
within tau, tau/2 or tau/8 days)."""
CELLS = Z_BINS * FAN_LEVELS * ACTIVITY_BINS
"""Cells of the entry and dwell tables: (z bin, fan level, activity bin), in that order."""
_Z_OFFSET = 2 * (127 - 10) - 1
"""(float32 bits of z) >> 22 is 2 x biased exponent + first mantissa bit; 2^-10 -> bin 1."""


def z_bins(z: np.ndarray) -> np.ndarray:
    """The baseline's bin (``Z_BINS``) of each relative interest z >= 0, int32 (n,)."""
    bits = np.ascontiguousarray(z, dtype=np.float32).view(np.int32)
    b = np.right_shift(bits, 22)
    b -= _Z_OFFSET
    return np.clip(b, 0, Z_BINS - 1, out=b)


def activity_bins(activity: np.ndarray, sessions_per_day: float) -> np.ndarray:
    """Activity bin of each viewer (``ACTIVITY_BINS``) from their session rate per day
    against the scenario's mean: < 1/2, [1/2, 1), [1, 2), >= 2, int8 (n,)."""
    ratio = np.asarray(activity, dtype=np.float32) / np.float32(sessions_per_day)
    _, e = np.frexp(np.maximum(ratio, np.float32(1e-30)))
    return np.clip(e + 1, 0, ACTIVITY_BINS - 1).astype(np.int8)


def pair_index(
    stream: np.ndarray, z: np.ndarray, fan_level: np.ndarray, activity_bin: np.ndarray
) -> np.ndarray:
    """(stream, cell) index ``stream x CELLS + cell`` of each impression, int64 (n,), from
    its relative interest z (float32), fan level and activity bin (small ints)."""
    pair = np.multiply(stream, CELLS, dtype=np.int64)
    zb = z_bins(z)
    zb *= FAN_LEVELS * ACTIVITY_BINS
    pair += zb
    fa = np.multiply(fan_level, ACTIVITY_BINS, dtype=np.int8)
    fa += activity_bin
    pair += fa
    return pair


class AudienceBaseline:
    """The platform-wide baseline: expected entry, dwell and conversion of an impression
    from the viewer's features alone, fitted online from all traffic.

    A binned table of exponentially decayed counts (half-life ``baseline_half_life_days``)
    over the cells (relative interest in the room's category, fan level, activity) and, for
    conversion, need state. A cell's rate is its count ratio shrunk towards the platform
    average with ``prior_strength`` pseudo-impressions (pseudo-entries for the per-entry
    rates), so a rare cell predicts the average and a common one its own rate: calibrated by
    construction. The traffic source is not a feature. Undecayed sums of the predictions made
    (before each tick's update) and of the outcomes are kept for :func:`calibration_table`.
    """

    def __init__(self, prior_strength: float, decay: float):
        self.m = prior_strength
        self.decay = decay
        c, cn = CELLS, CELLS * NEED_LEVELS
        self.impressions = np.zeros(c)
        self.entries = np.zeros(c)
        self.dwell = np.zeros(c)
        self.need_entries = np.zeros(cn)
        self.orders = np.zeros(cn)
        self.calibration = {
            "entry": np.zeros((3, c)),  # impressions, predicted entries, entries
            "dwell": np.zeros((3, c)),  # entries, predicted minutes, minutes
            "cvr": np.zeros((3, cn)),  # entries, predicted orders, orders
        }
        self.tables()

    def tables(self) -> None:
        """Refresh the cell rates ``entry`` (per impression), ``minutes`` (dwell per entry),
        ``cvr`` (orders per entry) and ``engagement`` (entry x minutes) from the counts."""
        imp, ent = self.impressions, self.entries
        n, n_e = imp.sum(), ent.sum()
        p_e = ent.sum() / n if n > 0 else 0.1
        p_d = self.dwell.sum() / n_e if n_e > 0 else 1.5
        n_en = self.need_entries.sum()
        p_c = self.orders.sum() / n_en if n_en > 0 else 0.02
        m, m_e = self.m, self.m * max(p_e, 1e-4)
        self.entry = (ent + m * p_e) / (imp + m)
        self.minutes = (self.dwell + m_e * p_d) / (ent + m_e)
        self.cvr = (self.orders + m_e * p_c) / (self.need_entries + m_e)
        self.engagement = self.entry * self.minutes

    def observe(
        self,
        pair: np.ndarray,
        entered: np.ndarray,
        dwell: np.ndarray,
        bought: np.ndarray,
        need: np.ndarray,
        n_streams: int,
        interactions: bool = False,
        kernel: bool | None = None,
    ) -> dict[str, np.ndarray]:
        """Expected counts per stream of one tick's impressions under the baseline as it
        stood (before this tick), then the tick's counts into the baseline.

        ``pair`` (n,) is :func:`pair_index`; ``entered`` (n,) bool; ``dwell``, ``bought``
        (n,) outcomes; ``need`` (entries,), the need state (< ``NEED_LEVELS``) of each
        entry's viewer in the room's category. Returns per-stream (S,) ``exp_entries`` (sum
        of predicted entry probabilities), ``exp_dwell`` and ``exp_orders`` (sums over the
        entries of predicted minutes and orders) and, with ``interactions``, ``exp_engagement``
        (predicted minutes per impression, summed). One counting pass over the impressions
        (into (stream, cell) pairs); the rest is over the entries or the (S, CELLS) table.
        Large ticks run that pass compiled (:func:`simulation.kernels.use`; ``kernel``
        forces the choice), with the same sums in the same order.
        """
        c, cn = CELLS, CELLS * NEED_LEVELS
        if kernels.use(len(pair), kernel):
            joint, n_c, exp_dwell, exp_orders, e_c, d_c, e_n, o_n = kernels.get("observe_counts")(
                pair,
                entered,
                dwell,
                bought,
                need,
                self.minutes,
                self.cvr,
                n_streams,
                c,
                NEED_LEVELS,
            )
            joint = joint.reshape(n_streams, c)
        else:
            joint = np.bincount(pair, minlength=n_streams * c).astype(np.float64)
            joint = joint.reshape(n_streams, c)
            n_c = joint.sum(axis=0)
            e = np.flatnonzero(entered)
            pair_e = pair[e]
            s_e = pair_e // c
            cell_e = pair_e - s_e * c
            need_cell = cell_e * NEED_LEVELS + need.astype(np.int64)

            def per_stream(index, weights):
                return np.bincount(index, weights, minlength=n_streams).astype(
                    np.float64, copy=False
                )

            exp_dwell = per_stream(s_e, self.minutes.take(cell_e))
            exp_orders = per_stream(s_e, self.cvr.take(need_cell))
            e_c = np.bincount(cell_e, minlength=c).astype(np.float64)
            d_c = np.bincount(cell_e, dwell[e], minlength=c)
            e_n = np.bincount(need_cell, minlength=cn).astype(np.float64)
            o_n = np.bincount(need_cell, bought[e].astype(np.float64), minlength=cn)
        # einsum, not a matrix product: a fixed summation order of our own and no BLAS
        # threads, which spin on a busy machine (measured: a 1M-viewer run with the switch on
        # took 18.7 s with OpenBLAS's default threads beside another job, 9.5-9.9 s with one).
        out = {
            "exp_entries": np.einsum("sc,c->s", joint, self.entry),
            "exp_dwell": exp_dwell,
            "exp_orders": exp_orders,
        }
        if interactions:
            out["exp_engagement"] = np.einsum("sc,c->s", joint, self.engagement)
        cal = self.calibration
        cal["entry"] += (n_c, self.entry * n_c, e_c)
        cal["dwell"] += (e_c, self.minutes * e_c, d_c)
        cal["cvr"] += (e_n, self.cvr * e_n, o_n)
        for x, add in (
            (self.impressions, n_c),
            (self.entries, e_c),
            (self.dwell, d_c),
            (self.need_entries, e_n),
            (self.orders, o_n),
        ):
            x *= self.decay
            x += add
        self.tables()
        return out


def audience_counts(
    baseline: AudienceBaseline,
    stream: np.ndarray,
    session: np.ndarray,
    z: np.ndarray,
    affinity: np.ndarray,
    is_fan: np.ndarray,
    session_activity: np.ndarray,
    entry_need: np.ndarray,
    entered: np.ndarray,
    dwell: np.ndarray,
    bought: np.ndarray,
    n_streams: int,
    interactions: bool = False,
    kernel: bool | None = None,
    shown: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """One tick's expected counts per stream (:meth:`AudienceBaseline.observe`) from the
    impressions' features: relative interest ``z`` (float32) in the room's category, follow
    status and ``affinity`` of the (viewer, room) pair, the session's activity bin
    (``session_activity`` (sessions,) int8) and, for each entry in impression order, its
    viewer's need state in the room's category as the tick began (``entry_need`` (entries,)
    small ints < ``NEED_LEVELS``, read before purchases satisfy needs and start satiation:
    :meth:`simulation.population.Population.need_states`). Shapes (n,) unless stated. Large
    ticks build the cell index in one compiled pass (:func:`simulation.kernels.use`;
    ``kernel`` forces the choice).

    The counting table holds a row per stream *shown* this tick (``shown`` (S,) bool, the
    streams with an impression; computed when None), not per stream: a tick shows a fraction
    of the rooms, and the table is zeroed, filled and summed every tick. Each shown stream's
    sums are those of its own row, in the same order; a stream not shown expects 0."""
    if shown is None:
        shown = np.bincount(stream, minlength=n_streams) > 0
    rows = np.flatnonzero(shown)
    rank = np.full(n_streams, -1, dtype=np.int64)
    rank[rows] = np.arange(len(rows))
    if kernels.use(len(stream), kernel):
        pair = kernels.get("audience_pairs")(
            stream,
            rank,
            session,
            np.ascontiguousarray(z, dtype=np.float32).view(np.int32),
            affinity,
            is_fan,
            session_activity,
            (CELLS, FAN_LEVELS * ACTIVITY_BINS, ACTIVITY_BINS, _Z_OFFSET, Z_BINS - 1),
        )
    else:
        fan = np.greater_equal(affinity, 0.5).view(np.int8)
        fan += is_fan.view(np.int8)
        pair = pair_index(rank.take(stream), z, fan, session_activity.take(session))
    counts = baseline.observe(
        pair, entered, dwell, bought, entry_need, len(rows), interactions, kernel
    )
    out = {}
    for key, per_row in counts.items():
        full = np.zeros(n_streams)
        full[rows] = per_row
        out[key] = full
    return out


CALIBRATION_QUANTITIES = {
    "entry": "entries per impression",
    "dwell": "dwell minutes per entry",
    "cvr": "orders per entry",
}


def calibration_table(baseline: AudienceBaseline, groups: int = 10) -> list[dict[str, float]]:
    """Predicted against observed rates of the baseline by decile of its prediction.

    For each quantity (entry per impression, dwell per entry, conversion per entry), cells
    are sorted by their mean prediction (made online, before each tick's update) and cut
    into ``groups`` groups of about equal weight (impressions or entries; a cell is not
    split, so a heavy cell makes its group larger). Per group: its share of the weight,
    the mean prediction, the observed rate and their ratio (1 = calibrated). One row per
    (quantity, group) with keys quantity, group, share, predicted, observed, ratio.
    """
    rows = []
    for q in CALIBRATION_QUANTITIES:
        weight, pred, obs = baseline.calibration[q]
        used = np.flatnonzero(weight > 0)
        if len(used) == 0:
            continue
        w, pr, ob = weight[used], pred[used], obs[used]
        order = np.argsort(pr / w, kind="stable")
        w, pr, ob = w[order], pr[order], ob[order]
        mid = (np.cumsum(w) - w / 2) / w.sum()
        group = np.minimum((mid * groups).astype(np.int64), groups - 1)
        for g in np.unique(group):
            sel = group == g
            total = float(w[sel].sum())
            rows.append(
                {
                    "quantity": q,
                    "group": int(g) + 1,
                    "share": total / float(w.sum()),
                    "predicted": float(pr[sel].sum()) / total,
                    "observed": float(ob[sel].sum()) / total,
                    "ratio": float(ob[sel].sum()) / max(float(pr[sel].sum()), 1e-300),
                }
            )
    return rows


class UpliftEstimator(Estimator):
    """Audience-aware estimates: each room's smoothed uplift over the baseline.

    Besides the observed counts, the counters hold the baseline's expected counts of the
    same impressions (``exp_entries``, ``exp_dwell``, ``exp_orders``, ``exp_engagement``).
    Uplifts are indirectly standardised ratios, observed / expected, shrunk towards a prior
    uplift U0 with the pseudo-counts of :meth:`Estimator._shrink`:

    - entry ``U_e = (E + m p_e U0_e) / (E_hat + m p_e)``
    - dwell per entry ``U_d = (D + m_e p_d U0_d) / (D_hat + m_e p_d)``, m_e = m p_e
    - conversion per entry ``U_c = (O + m_e p_c U0_c) / (O_hat + m_e p_c)``
    - order value ``U_a = (G + m_o p_a U0_a) / (O p_a + m_o p_a)``, m_o = m_e p_c
    - interactions ``U_i = (I + m p_i U0_i) / (iota E_hat_eng + m p_i)``, iota = platform
      interactions per dwell minute (only with ``interaction_weight`` > 0)

    U0 = 1 (as expected for its audience) for a window or without room memory, else the
    room's long-run uplift (itself shrunk to 1). :meth:`rates` returns the *standardised*
    rates, the platform averages times the uplifts (what the room would do on the
    platform's average audience), so :meth:`Estimator.value` of them is the uplift value
    ``(w_e U_e U_d + w_g U_e U_c U_a + w_i U_i) / (w_e + w_g + w_i)``.
    """

    FIELDS = (
        *Estimator.FIELDS,
        "exp_entries",
        "exp_dwell",
        "exp_orders",
        "exp_engagement",
    )

    def __init__(
        self, n_streams: int, cfg: FeedConfig, tick_minutes: int, platform: PlatformConfig
    ):
        super().__init__(n_streams, cfg, tick_minutes, platform)
        decay = 0.5 ** (tick_minutes / (platform.baseline_half_life_days * 1440))
        self.baseline = AudienceBaseline(cfg.prior_strength, decay)

    def uplift(self, counts: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Smoothed uplifts per stream (entry, dwell, cvr, aov and, when weighted,
        interactions) from ``counts`` (default: the decayed counters, with the long-run
        record as prior when ``room_memory_days > 0``)."""
        warm = self.warm if counts is None else None
        if counts is None and self.memory:
            return self._uplift(self.c, self._uplift(self.long, None), warm)
        return self._uplift(self.c if counts is None else counts, None, warm)

    def _uplift(
        self,
        c: dict[str, np.ndarray],
        prior: dict[str, np.ndarray] | None,
        warm: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        p = self.priors()
        m = self.cfg.prior_strength
        m_e = m * p["entry"]
        m_o = m_e * p["cvr"]

        def u0(key):
            return 1.0 if prior is None else prior[key]

        a = m * p["entry"]
        b = m_e * p["dwell"]
        g = m_e * p["cvr"]
        h = m_o * p["aov"]
        if warm is None:
            entry = (c["entries"] + a * u0("entry")) / (c["exp_entries"] + a)
        else:  # warm-up evidence on the entry uplift (simulation/warmups.py)
            entry = (c["entries"] + warm["entries"] + a * u0("entry")) / (
                c["exp_entries"] + warm["exp_entries"] + a
            )
        up = {
            "entry": entry,
            "dwell": (c["dwell"] + b * u0("dwell")) / (c["exp_dwell"] + b),
            "cvr": (c["orders"] + g * u0("cvr")) / (c["exp_orders"] + g),
            "aov": (c["gmv"] + h * u0("aov")) / (c["orders"] * p["aov"] + h),
        }
        if self.interaction_weight > 0:
            t = self.total
            iota = t["interactions"] / t["dwell"] if t["dwell"] > 0 else 0.3
            k = m * p["interactions"]
            up["interactions"] = (c["interactions"] + k * u0("interactions")) / (
                iota * c["exp_engagement"] + k
            )
        return up

    def rates(self, counts: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Standardised rates per stream: platform averages x the smoothed uplifts of
        :meth:`uplift` (same keys as :meth:`Estimator.rates`)."""
        up = self.uplift(counts)
        p = self.priors()
        entry = p["entry"] * up["entry"]
        dwell = p["dwell"] * up["dwell"]
        cvr = p["cvr"] * up["cvr"]
        aov = p["aov"] * up["aov"]
        rates = {
            "entry": entry,
            "dwell": dwell,
            "cvr": cvr,
            "aov": aov,
            "gpm": 1000 * entry * cvr * aov,
            "engagement": entry * dwell,
        }
        if "interactions" in up:
            rates["interactions"] = p["interactions"] * up["interactions"]
        return rates


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
