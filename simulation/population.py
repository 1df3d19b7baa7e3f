"""The viewer population: one row per viewer in numpy arrays, never one object per viewer.

Each viewer has interests over K categories, an activity level and a daily rhythm
(chronotype), patience (dwell multiplier), price sensitivity, a bounded follow list with an
affinity per entry, purchase history per category (satiation, adoption) and needs per
category (for the search funnel; a bonus to buying in the interest feed).

Arrays (N viewers, K categories, F follow slots, S streams):

``interests`` float32 (N, K), rows sum to 1; ``activity`` float32 (N,), sessions per day;
``chronotype`` uint8 (N,); ``traits`` float32 (N, 2), patience and price sensitivity (the
views ``patience`` and ``price_sensitivity``);
``follow`` int32 (N, F), stream index or -1; ``affinity`` float32 (N, F) in [0, 1];
``need`` bool (N, K); ``last_buy_day`` int16 (N, K), -1 = never; ``adopted`` bool (N, K);
``reserved`` int32 (N,), stream a warm-up video booked or -1; ``followers`` int64 (S,).

Version 2 (``[platform]``, docs/MODEL.md 7.15.2), allocated only when switched on:
``baseline`` float16 (N, K), the interests each viewer started with, to which drifted
interests decay (``interest_drift``); ``origin`` uint8 (N, K), content-created demand per
category: NO_ORIGIN, LATENT (a latent need an entry left) or CREATED_NEED (a latent need that
became a full need, held in ``need`` too) (``latent_needs``).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from simulation import kernels
from simulation.config import BehaviourConfig, PlatformConfig, PopulationConfig
from simulation.estimates import activity_bins

NEVER = -1
NO_ORIGIN, LATENT, CREATED_NEED = 0, 1, 2
"""States of ``Population.origin`` (content-created demand per viewer and category)."""

# Hourly session profiles of four chronotypes (each sums to 1 over 24 hours): evening-heavy,
# lunch-and-evening, early bird, night owl. Live commerce peaks 19:00-23:00.
_HOURS = np.arange(24) + 0.5


def _bumps(centres: list[tuple[float, float, float]]) -> np.ndarray:
    p = np.full(24, 0.02)
    for centre, width, weight in centres:
        d = np.minimum(np.abs(_HOURS - centre), 24 - np.abs(_HOURS - centre))
        p += weight * np.exp(-0.5 * (d / width) ** 2)
    return p / p.sum()


CHRONOTYPES = np.stack(
    [
        _bumps([(21.0, 1.8, 1.0), (13.0, 1.5, 0.25)]),
        _bumps([(12.5, 1.2, 0.7), (20.5, 1.8, 0.8)]),
        _bumps([(8.0, 1.5, 0.6), (19.5, 1.5, 0.8)]),
        _bumps([(23.0, 1.8, 1.0), (1.0, 1.5, 0.5)]),
    ]
)
CHRONOTYPE_SHARES = np.array([0.4, 0.25, 0.2, 0.15])


def row_cumsum(a: np.ndarray) -> np.ndarray:
    """``np.cumsum(a, axis=1)`` of a 2-D floating-point array with few columns, the same
    values (the same additions in the same dtype) column by column: numpy's accumulate along
    short rows pays its per-row overhead (≈ 4x slower for 12 columns)."""
    out = np.empty_like(a)
    if a.shape[1]:
        out[:, 0] = a[:, 0]
    for j in range(1, a.shape[1]):
        np.add(out[:, j - 1], a[:, j], out=out[:, j])
    return out


def row_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` of a 2-D array with few columns, added column by column (numpy's
    reduction along short rows, and a matrix product, which may start BLAS threads, are
    slower), (n,) in ``a``'s dtype."""
    out = a[:, 0].copy() if a.shape[1] else np.zeros(len(a), dtype=a.dtype)
    for j in range(1, a.shape[1]):
        out += a[:, j]
    return out


def flat(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A flat view of the C-contiguous 2-D array ``a`` and the flat indices of
    ``(rows[i], cols[i])``: indexing ``view[idx]`` reads or writes the same elements as
    ``a[rows, cols]``, several times faster than numpy's two-array fancy indexing."""
    return a.reshape(-1), np.asarray(rows, dtype=np.int64) * a.shape[1] + cols


@dataclass
class Sessions:
    """A tick's sessions with a snapshot of their viewers' rows, gathered once per tick.

    Impressions refer to their session by index, so per-impression look-ups read these
    small session-local arrays (cache-resident) instead of the population's large ones.
    Shapes: ``viewer`` (n,), ``interests`` (n, K), ``follow`` and ``affinity`` (n, F).
    """

    viewer: np.ndarray
    interests: np.ndarray
    follow: np.ndarray
    affinity: np.ndarray
    twin: np.ndarray | None = None
    """(n,) int64 or None: for each session, one session of the same viewer in this tick,
    the same for all of that viewer's sessions (itself for a viewer with one), when known
    from the draw (``interest_drift`` only)."""
    _cum: dict[float, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.viewer)

    def relative_interest(self, session: np.ndarray, categories: np.ndarray) -> np.ndarray:
        """Interest of each session's viewer in a category, relative to uniform, (m,)."""
        k = self.interests.shape[1]
        view, idx = flat(self.interests, session, categories)
        return view[idx] * np.float32(k)

    def category_cdf(self, sharpness: float) -> np.ndarray:
        """Cumulative interest**sharpness over categories per session, (n, K) float32
        (cached per sharpness)."""
        cum = self._cum.get(sharpness)
        if cum is None:
            w = self.interests if sharpness == 1.0 else self.interests ** np.float32(sharpness)
            cum = self._cum[sharpness] = row_cumsum(w)
        return cum

    def sample_categories(
        self,
        session: np.ndarray,
        sharpness: float,
        rng: np.random.Generator,
        kernel: bool | None = None,
    ) -> np.ndarray:
        """One category per entry of ``session``, drawn in proportion to the session's
        viewer's interest**sharpness (inverse CDF over a cached per-session cumsum).
        ``kernel``: see :func:`simulation.kernels.use`."""
        if len(session) == 0:
            return np.empty(0, dtype=np.int64)
        cum = self.category_cdf(sharpness)
        if kernels.use(len(session), kernel):
            u = rng.random(len(session), dtype=np.float32)
            return kernels.get("sample_categories")(cum, session, u)
        rows = cum.take(session, axis=0)
        u = rng.random(len(session), dtype=np.float32) * rows[:, -1]
        k = self.interests.shape[1]
        return np.minimum((rows < u[:, None]).sum(axis=1), k - 1).astype(np.int64)

    def lookup(self, session: np.ndarray, streams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Follow slot (-1 if none) and affinity of each (session's viewer, stream) pair as
        they stood when the tick began, (m,) int64 and float32."""
        return follow_lookup(self.follow, self.affinity, session, streams)


def follow_lookup(
    follow: np.ndarray, affinity: np.ndarray, rows: np.ndarray, streams: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Slot of ``streams[i]`` in follow list ``follow[rows[i]]`` (-1 if absent) and its
    affinity (0 if absent); (m,) int64 and float32.

    Most pairs are not follows: the match matrix is reduced to one word per row (a row of
    up to 8 bools viewed as an unsigned integer) and only the matching rows get their slot
    and affinity gathered."""
    m, f = len(rows), follow.shape[1]
    slot = np.full(m, -1, dtype=np.int64)
    aff = np.zeros(m, dtype=np.float32)
    if m == 0 or f == 0:
        return slot, aff
    match = follow.take(rows, axis=0) == streams.astype(np.int32)[:, None]
    if f in (1, 2, 4, 8):
        has = match.view(np.dtype(f"u{f}")).reshape(-1) != 0
    else:
        has = match.any(axis=1)
    hit = np.flatnonzero(has)
    s_hit = match[hit].argmax(axis=1)
    slot[hit] = s_hit
    aff[hit] = affinity.reshape(-1)[rows[hit].astype(np.int64) * f + s_hit]
    return slot, aff


def sorted_uniforms(n: int, rng: np.random.Generator) -> np.ndarray:
    """``np.sort(rng.random(n))`` in distribution, without the sort: the order statistics of
    n uniforms are the normalised partial sums ``S_i / S_(n+1)`` of n + 1 standard
    exponentials (Rényi's representation), ascending in [0, 1]. O(n), not O(n log n):
    ≈ 5x faster at 10^5 values."""
    e = rng.standard_exponential(n + 1)
    s = np.cumsum(e[:n])
    s *= 1.0 / (s[-1] + e[n]) if n else 1.0
    return s


def largest(keys: np.ndarray, m: int) -> np.ndarray:
    """Indices of the ``m`` largest ``keys``, ascending; the same set as
    ``argpartition(-keys, m - 1)[:m]`` whenever the m-th largest key is not tied.

    A threshold from a strided sample of the keys keeps the partition to a small candidate
    set (one comparison pass over all keys instead of a selection over them); if the
    sample's guess leaves fewer than ``m`` candidates it falls back to the full partition.
    """
    n = len(keys)
    if m * 8 <= n:
        sample = keys[:: max(1, n // 4096)]
        above = min(len(sample) - 1, int(np.ceil(1.5 * m / n * len(sample))) + 10)
        cut = np.partition(sample, len(sample) - 1 - above)[len(sample) - 1 - above]
        candidates = np.flatnonzero(keys >= cut)
        if len(candidates) >= m:
            best = np.argpartition(-keys[candidates], m - 1)[:m]
            return np.sort(candidates[best])
    return np.sort(np.argpartition(-keys, m - 1)[:m])


class BucketSearch:
    """``np.searchsorted(cum, keys, side="right")`` for one fixed ascending ``cum`` and many
    key arrays: the same indices, found through a table of buckets instead of a binary search.

    ``cum`` (non-negative, ascending: a cumulative sum of activities) is cut into as many equal
    buckets of ``[0, cum[-1]]`` as it has entries; ``start[b]`` counts the entries at or
    below bucket b's lower edge. A key's answer lies between its bucket's two counts, and a
    few vectorised steps over the entries of that bucket find it. Every comparison is the
    one searchsorted makes (``cum[i] <= key``), so the result is identical; the walk is
    bounded by the fullest bucket, and if that holds more than ``max_walk`` entries (very
    uneven activities) the plain searchsorted is used. Fewer than ``MIN_KEYS`` keys also go to
    searchsorted, which is faster there (its search stays in cache; the table's dozen numpy
    calls cost more than they save). With 10^4-10^5 keys into the 10^5-entry tables of a
    10^6-viewer population it is about 2x faster than searchsorted.
    """

    MIN_KEYS = 4096

    def __init__(self, cum: np.ndarray, max_walk: int = 32):
        self.cum = cum
        n = len(cum)
        self.width = float(cum[-1]) / n if n else 0.0
        self.start = None
        if n and self.width > 0 and np.isfinite(self.width):
            edges = np.arange(n + 1) * self.width
            start = np.searchsorted(cum, edges, side="right")
            start[0], start[n] = 0, n  # keys below 0 or above the last edge stay in range
            if np.diff(start).max() <= max_walk:
                self.start = start.astype(np.int32 if n < 2**31 - 1 else np.int64)

    @property
    def nbytes(self) -> int:
        return 0 if self.start is None else self.start.nbytes

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        """Indices as ``np.searchsorted(cum, keys, side="right")``, int64 (keys not NaN)."""
        if self.start is None or len(keys) < self.MIN_KEYS:
            return np.searchsorted(self.cum, keys, side="right")
        n, w = len(self.cum), self.width
        b = np.minimum(keys / w, n - 1).astype(np.int64)  # keys >= 0; one off at most
        np.maximum(b, 0, out=b)
        b -= (b * w > keys) & (b > 0)
        b += ((b + 1) * w <= keys) & (b < n - 1)
        idx = self.start[b].astype(np.int64)
        hi = self.start[b + 1]
        walk = np.flatnonzero(idx < hi)
        while len(walk):
            walk = walk[self.cum[idx[walk]] <= keys[walk]]
            idx[walk] += 1
            walk = walk[idx[walk] < hi[walk]]
        return idx


class Population:
    """Vectorised viewer state and the operations the model applies to it.

    Parameters
    ----------
    cfg, behaviour
        Population and behaviour sections of the scenario.
    n_streams
        Number of streams (sizes the follower counts).
    rng
        The population's own generator (used for initial traits only).
    platform
        Version 2 switches: ``interest_drift`` keeps each viewer's baseline interests,
        ``latent_needs`` the origin of their demand (None or both off: neither is kept).
    """

    def __init__(
        self,
        cfg: PopulationConfig,
        behaviour: BehaviourConfig,
        n_streams: int,
        rng: np.random.Generator,
        platform: PlatformConfig | None = None,
    ):
        n, k = cfg.viewers, cfg.categories
        self.cfg, self.behaviour = cfg, behaviour
        self.n, self.k = n, k
        self.interests = rng.dirichlet(np.full(k, cfg.interest_concentration), size=n).astype(
            np.float32
        )
        self.activity = (
            cfg.sessions_per_day
            * rng.lognormal(-0.5 * cfg.activity_sigma**2, cfg.activity_sigma, n)
        ).astype(np.float32)
        self.chronotype = rng.choice(len(CHRONOTYPES), size=n, p=CHRONOTYPE_SHARES).astype(np.uint8)
        patience = rng.lognormal(-0.5 * cfg.patience_sigma**2, cfg.patience_sigma, n)
        price_sensitivity = cfg.price_sensitivity_mean * rng.lognormal(
            -0.5 * cfg.price_sensitivity_sigma**2, cfg.price_sensitivity_sigma, n
        )
        # Side by side in one (N, 2) array: behaviour reads both for each entrant, and one
        # 8-byte row is one cache miss where two separate arrays were two.
        self.traits = np.stack([patience, price_sensitivity], axis=1).astype(np.float32)
        self.patience = self.traits[:, 0]
        self.price_sensitivity = self.traits[:, 1]
        self.follow = np.full((n, cfg.follow_slots), -1, dtype=np.int32)
        self.affinity = np.zeros((n, cfg.follow_slots), dtype=np.float32)
        self.need = np.zeros((n, k), dtype=bool)
        self.last_buy_day = np.full((n, k), NEVER, dtype=np.int16)
        self.adopted = np.zeros((n, k), dtype=bool)
        self.adopters = np.zeros(k, dtype=np.int64)
        self.reserved = np.full(n, -1, dtype=np.int32)
        self.followers = np.zeros(n_streams, dtype=np.int64)
        # Session sampling: members of each chronotype and their cumulative activity.
        self._members = [np.flatnonzero(self.chronotype == g) for g in range(len(CHRONOTYPES))]
        self._cum_activity = [np.cumsum(self.activity[m], dtype=np.float64) for m in self._members]
        self._search = [BucketSearch(c) for c in self._cum_activity]
        self.platform = platform or PlatformConfig()
        self.baseline: np.ndarray | None = None
        self._twins: tuple[np.ndarray, np.ndarray] | None = None
        self.origin: np.ndarray | None = None
        self.latent_multiplier = 1 + self.platform.latent_need_strength * (
            behaviour.need_multiplier - 1
        )
        """Buy-hazard multiplier of a latent need (at most ``need_multiplier``)."""
        if self.platform.interest_drift:
            # The baseline is kept in float16 (2 bytes per category); the interests start at
            # its normalised value, so that decay returns them to where they began.
            self.baseline = self.interests.astype(np.float16)
            self.interests = self.baseline_rows(0, n)
        if self.platform.latent_needs:
            self.origin = np.empty((n, k), dtype=np.uint8)
            self.origin.fill(NO_ORIGIN)  # written now: no page faults at the first latent needs
        self.need_state: np.ndarray | None = None
        """Each viewer's need state per category (:meth:`need_states`), int8 (N, K), kept
        only where the audience baseline reads it (:meth:`keep_need_states`): computed at
        the first read of a day and updated by that day's purchases."""
        self._state_day: int | None = None
        self._state_tau = 0.0
        self._activity_bin: np.ndarray | None = None

    # ------------------------------------------------------------------ sessions

    def expected_sessions(self, hour: int, ticks_per_hour: float, lift: float = 1.0) -> np.ndarray:
        """Expected sessions per chronotype in one tick of the given hour, shape (G,)."""
        totals = np.array([c[-1] if len(c) else 0.0 for c in self._cum_activity])
        return totals * CHRONOTYPES[:, hour] / ticks_per_hour * lift

    def draw_sessions(
        self,
        hour: int,
        ticks_per_hour: float,
        lift: float,
        rng: np.random.Generator,
        kernel: bool | None = None,
    ) -> np.ndarray:
        """Viewers who open the app this tick (a viewer may appear twice), int64 (n,).

        The count per chronotype is Poisson with the expected sessions; viewers within a
        chronotype are drawn in proportion to their activity (searchsorted on the
        cumulative activity, with the uniforms drawn in ascending order), so each viewer's
        sessions are Poisson at their own rate. Under interest drift, large ticks find the
        sessions' twins in one compiled pass (:func:`simulation.kernels.use`; ``kernel``
        forces the choice).
        """
        counts = rng.poisson(self.expected_sessions(hour, ticks_per_hour, lift))
        parts = []
        for g, c in enumerate(counts):
            if c == 0:
                continue
            cum = self._cum_activity[g]
            keys = sorted_uniforms(c, rng) * cum[-1]  # sorted keys: cache-friendly search
            idx = self._search[g](keys)  # = np.searchsorted(cum, keys, side="right")
            parts.append(self._members[g][np.minimum(idx, len(cum) - 1)])
        if not parts:
            return np.empty(0, dtype=np.int64)
        drawn = np.concatenate(parts).astype(np.int64)
        if self.baseline is None:
            # Random order: budget-limited ads and searches go to whoever comes first.
            return rng.permutation(drawn)
        # The same order (permuting an array or its positions draws the same numbers), and
        # each session's twin for the interest drift: within a chronotype the viewers come
        # out sorted and chronotypes are disjoint, so a viewer's sessions are adjacent here.
        n = len(drawn)
        order = rng.permutation(n)
        viewers = drawn[order]
        if kernels.use(n, kernel):  # the same indices in one compiled pass
            self._twins = (viewers, kernels.get("session_twins")(drawn, order))
            return viewers
        start = np.ones(n, dtype=bool)
        start[1:] = drawn[1:] != drawn[:-1]
        first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        self._twins = (viewers, position[first[order]])
        return viewers

    def traits_of(self, viewers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Patience and price sensitivity of ``viewers``, float32 (n,) each: one gather of
        the 8-byte rows of ``traits`` (as integers, so that the bits are copied as they are)."""
        rows = self.traits.view(np.uint64).reshape(-1).take(viewers).view(np.float32)
        return rows[0::2], rows[1::2]

    def snapshot(self, viewers: np.ndarray, interests: np.ndarray | None = None) -> Sessions:
        """Gather the session-local rows of a tick's session viewers (with their twins when
        ``viewers`` is the array the last ``draw_sessions`` returned under drift);
        ``interests``: their interest rows when already gathered this tick (unchanged since)."""
        twins = self._twins
        return Sessions(
            viewers,
            self.interests.take(viewers, axis=0) if interests is None else interests,
            self.follow.take(viewers, axis=0),
            self.affinity.take(viewers, axis=0),
            twins[1] if twins is not None and twins[0] is viewers else None,
        )

    # ------------------------------------------------------------------ interests

    def activity_bins(self, viewers: np.ndarray) -> np.ndarray:
        """The audience baseline's activity bin of each viewer
        (:func:`simulation.estimates.activity_bins` of their session rate against
        ``sessions_per_day``), int8 (n,). The rates never change: every viewer is binned
        once, at the first call, and later calls gather one byte per viewer (a tick's
        sessions read 1 MB at 1M viewers instead of the 4 MB rates, and bin nothing)."""
        if self._activity_bin is None:
            self._activity_bin = activity_bins(self.activity, self.cfg.sessions_per_day)
        return self._activity_bin.take(viewers)

    def relative_interest(self, viewers: np.ndarray, categories: np.ndarray) -> np.ndarray:
        """Interest in a category relative to uniform (1 = average), float32 (n,)."""
        view, idx = flat(self.interests, viewers, categories)
        return view[idx] * np.float32(self.k)

    # ------------------------------------------------------------------ interest drift

    def baseline_rows(self, lo: int, hi: int) -> np.ndarray:
        """Baseline interests of viewers lo..hi-1, float32 (hi - lo, K), rows normalised to
        sum to 1 (the float16 store rounds each value to 11 significant bits)."""
        assert self.baseline is not None
        b = self.baseline[lo:hi].astype(np.float32)
        b /= row_sums(b)[:, None]
        return b

    def baseline_of(self, viewers: np.ndarray, categories: np.ndarray) -> np.ndarray:
        """Baseline interest share of each (viewer, category) pair, float32 (n,)."""
        assert self.baseline is not None
        rows = self.baseline.take(viewers, axis=0).astype(np.float32)
        return rows[np.arange(len(viewers)), categories] / rows.sum(axis=1)

    def drift_interests(
        self,
        sessions: Sessions,
        session: np.ndarray,
        categories: np.ndarray,
        exposure: float,
        entered: np.ndarray,
        entry_weight: np.ndarray,
        kernel: bool | None = None,
    ) -> None:
        """Move the tick's viewers' interests toward the categories they were shown.

        Every impression of category c adds weight ``exposure`` to c and every entry a
        further ``entry_weight`` (its dwell-scaled weight); per viewer and tick,

            x <- (x + A) / (1 + W),   A_c = sum of the weights on c,  W = sum_c A_c,

        a convex combination of x and the events' category mix, so rows stay
        distributions, and the order of the tick's events does not matter. Only the rows of
        the tick's session viewers are read (from the snapshot) and written.

        Parameters
        ----------
        sessions
            The tick's sessions; their snapshot rows are the interests before the update.
        session, categories
            Session index and category of each impression, (m,).
        exposure
            Weight of one impression.
        entered, entry_weight
            Indices of the impressions that were entered and their extra weights, (e,).
        kernel
            Compiled weights pass or not (:func:`simulation.kernels.use`; None: by size).
        """
        n, k = len(sessions), self.k
        if n == 0 or len(session) == 0:
            return
        compiled = kernels.use(len(session), kernel)
        if compiled:
            add = kernels.get("drift_weights")(
                session,
                categories,
                n,
                k,
                np.float32(exposure),
                entered,
                np.asarray(entry_weight, dtype=np.float32),
            )
        else:
            key = np.multiply(session, k, dtype=np.int64)
            key += categories
            add = np.multiply(np.bincount(key, minlength=n * k), exposure, dtype=np.float32)
            if len(entered):  # few: an unbuffered add beats a second (n*K) bincount
                np.add.at(add, key[entered], np.asarray(entry_weight, dtype=np.float32))
        viewers = sessions.viewer
        own = np.arange(n)
        if sessions.twin is not None:  # known from the draw
            lost = np.flatnonzero(sessions.twin != own)
            winner = sessions.twin[lost]
        else:
            # Stamp each session's index into its viewer's first interest (every stamped
            # row is rewritten below): the session whose stamp stays is the twin.
            col0 = self.interests.reshape(-1)
            idx0 = viewers * k
            col0[idx0] = own.astype(np.float32)  # exact below 2**24 sessions per tick
            lost = np.flatnonzero(col0[idx0] != own)
            winner = col0[idx0[lost]].astype(np.int64)
        # A viewer with two sessions in the tick: the twin collects the others' weights,
        # and only it is written.
        if compiled:  # the same arithmetic in one pass (kernels._drift_rows)
            kernels.get("drift_rows")(
                add, lost, winner, sessions.interests, viewers, self.interests, k
            )
            return
        add = add.reshape(n, k)
        if len(lost):
            cols = np.arange(k)
            np.add.at(add.reshape(-1), (winner[:, None] * k + cols).ravel(), add[lost].ravel())
        total = row_sums(add)
        total += 1
        add += sessions.interests
        add /= total[:, None]
        rows = self.interests.view(np.dtype((np.void, 4 * k))).reshape(-1)  # one item per row
        new = add.view(rows.dtype).reshape(-1)
        if len(lost):
            keep = np.ones(n, dtype=bool)
            keep[lost] = False
            rows[viewers[keep]] = new[keep]
        else:
            rows[viewers] = new

    def decay_interests(self, rows: int = 32768, kernel: bool | None = None) -> None:
        """One day's decay toward the baseline: x <- b + (1 - rho)(x - b), every viewer,
        in blocks of ``rows`` (rho = ``drift_decay_per_day``). Large populations update
        each block in one compiled pass (``kernels._decay_rows``, the same float32
        arithmetic) once a per-tick pass has loaded the kernels
        (:func:`simulation.kernels.use_once_loaded`; ``kernel`` forces the choice)."""
        rho = np.float32(self.platform.drift_decay_per_day)
        keep = np.float32(1) - rho
        compiled = kernels.use_once_loaded(self.n * self.k, kernel)
        for lo in range(0, self.n, rows):
            x = self.interests[lo : lo + rows]
            b = self.baseline[lo : lo + rows].astype(np.float32)
            if compiled:
                kernels.get("decay_rows")(x, b, rho, keep)
                continue
            b *= (rho / row_sums(b))[:, None]  # rho x the normalised baseline
            x *= keep
            x += b

    # ------------------------------------------------------------------ follows

    def lookup(self, viewers: np.ndarray, streams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Follow slot and affinity of each (viewer, stream) pair; slot -1 and affinity 0 if
        the viewer does not follow the stream. Shapes (n,), int64 and float32."""
        return follow_lookup(self.follow, self.affinity, viewers, streams)

    def add_follows(self, viewers: np.ndarray, streams: np.ndarray, affinity: float) -> int:
        """Add follows; a viewer already following the stream is left alone. A full list
        drops its lowest-affinity entry when that is below the new affinity. At most one new
        follow per viewer per call (the first). Returns the number added."""
        if len(viewers) == 0:
            return 0
        viewers, first = np.unique(viewers, return_index=True)
        streams = streams[first].astype(np.int32)
        rows = self.follow.take(viewers, axis=0)
        new = ~(rows == streams[:, None]).any(axis=1)
        viewers, streams, rows = viewers[new], streams[new], rows[new]
        aff = np.where(rows >= 0, self.affinity.take(viewers, axis=0), -1.0)
        slot = aff.argmin(axis=1)
        ok = aff[np.arange(len(slot)), slot] < affinity
        viewers, streams, slot = viewers[ok], streams[ok], slot[ok]
        follow, idx = flat(self.follow, viewers, slot)
        evicted = follow[idx]
        gone = evicted[evicted >= 0]
        if len(gone):
            self.followers -= np.bincount(gone, minlength=len(self.followers))
        follow[idx] = streams
        self.affinity.reshape(-1)[idx] = affinity
        self.followers += np.bincount(streams, minlength=len(self.followers))
        return len(viewers)

    def change_affinity(
        self, viewers: np.ndarray, slots: np.ndarray, delta: np.ndarray, towards_one: bool
    ) -> None:
        """Raise affinity by ``delta*(1-aff)`` (``towards_one``) or add ``delta``, clipped to
        [0, 1], for follow entries (viewer, slot); pairs with slot -1 are ignored."""
        ok = slots >= 0
        v, s = viewers[ok], slots[ok]
        view, idx = flat(self.affinity, v, s)
        a = view[idx]
        d = np.asarray(delta, dtype=np.float32)
        d = d[ok] if d.ndim else d
        a = a + d * (1 - a) if towards_one else a + d
        view[idx] = np.clip(a, 0, 1)

    def decay_affinity(self) -> None:
        """Daily forgetting; follows below ``unfollow_below`` are dropped."""
        b = self.behaviour
        self.affinity *= np.float32(1 - b.affinity_decay_per_day)
        self.drop_weak_follows()

    def drop_weak_follows(self) -> None:
        weak = (self.follow >= 0) & (self.affinity < self.behaviour.unfollow_below)
        if weak.any():
            self.followers -= np.bincount(self.follow[weak], minlength=len(self.followers))
            self.follow[weak] = -1
            self.affinity[weak] = 0

    def seed_followers(
        self,
        streams: np.ndarray,
        categories: np.ndarray,
        shares: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Give each stream in turn ``shares[i]`` of the viewers as initial followers, drawn
        in proportion to interest in its category ``categories[i]``, with affinities spread
        over [0.2, 0.8]."""
        todo = [
            (int(s), int(c), round(float(f) * self.n))
            for s, c, f in zip(streams, categories, shares, strict=True)
        ]
        todo = [t for t in todo if t[2] > 0]
        if not todo:
            return
        # Weighted sampling without replacement (Efraimidis-Spirakis keys), O(N) per stream.
        # One (K, N) copy of the weights serves every stream: an interests column is strided,
        # and copying it out for each stream cost more than drawing the stream's keys. The
        # keys are written into one reused buffer.
        weight = np.maximum(np.ascontiguousarray(self.interests.T), 1e-30)
        keys = np.empty(self.n)
        for stream, category, m in todo:
            rng.random(out=keys)
            np.log(keys, out=keys)
            keys /= weight[category]
            viewers = largest(keys, m) if m < self.n else np.arange(self.n)
            self.add_follows(viewers, np.full(len(viewers), stream), 0.2)
            slot, _ = self.lookup(viewers, np.full(len(viewers), stream))
            ok = slot >= 0
            view, idx = flat(self.affinity, viewers[ok], slot[ok])
            view[idx] = rng.uniform(0.2, 0.8, int(ok.sum()))

    # ------------------------------------------------------------------ needs & purchases

    def arrive_needs(self, rng: np.random.Generator, lift: float = 1.0, rows: int = 32768) -> None:
        """One day of need arrivals and expiries, vectorised over (N, K).

        Hazard per viewer and category: ``need_rate * relative interest * lift +
        need_word_of_mouth * adopters_k / N`` (Bass: external p, imitation q); with
        ``repeat_needs`` off, adopters get no further needs in that category.

        Worked in blocks of ``rows`` viewers so the temporaries stay in cache: all the expiry
        draws first, then all the arrival draws, so the generator yields the same numbers
        in the same places as drawing each (N, K) array at once.
        """
        if rows < 1:
            raise ValueError(f"rows must be at least 1, got {rows}")
        c = self.cfg
        expiry = np.float32(1 - np.exp(-1 / c.need_lifetime_days))
        scale = np.float32(c.need_rate * lift * self.k)
        word = np.float32(c.need_word_of_mouth) * (self.adopters / self.n).astype(np.float32)
        for lo in range(0, self.n, rows):
            block = self.need[lo : lo + rows]
            block &= rng.random(block.shape, dtype=np.float32) >= expiry  # not expired
        for lo in range(0, self.n, rows):
            block = self.need[lo : lo + rows]
            p = scale * self.interests[lo : lo + rows]
            p += word
            np.negative(p, out=p)
            np.exp(p, out=p)
            np.subtract(1, p, out=p)  # 1 - exp(-rate)
            arrive = rng.random(block.shape, dtype=np.float32) < p
            if not c.repeat_needs:
                arrive &= ~self.adopted[lo : lo + rows]
            block |= arrive

    def satiation(self, viewers: np.ndarray, categories: np.ndarray, day: int) -> np.ndarray:
        """Buy-hazard factor after a recent purchase in the category, float32 (n,)."""
        view, idx = flat(self.last_buy_day, viewers, categories)
        last = view[idx].astype(np.float32)
        tau = np.float32(max(self.behaviour.satiation_days, 1e-9))
        since = np.float32(day) - last
        return np.where(
            last < 0, np.float32(1), 1 - np.exp(-(since + np.float32(0.5)) / tau)
        ).astype(np.float32)

    def keep_need_states(self, satiation_days: float) -> None:
        """Keep :attr:`need_state` for satiation over ``satiation_days`` (12 bytes more per
        viewer with 12 categories): a tick then reads one row per session instead of the
        ``need`` and ``last_buy_day`` rows (:meth:`need_states`)."""
        self.need_state = np.zeros((self.n, self.k), dtype=np.int8)
        self._state_tau = float(satiation_days)
        self._state_day = None

    def _satiation_levels(self, last: np.ndarray, day: int, satiation_days: float) -> np.ndarray:
        """2 x the satiation level of each last purchase day (0: none within tau; 1, 2, 3:
        within tau, tau/2, tau/8 days), int8."""
        level = np.zeros(last.shape, dtype=np.int8)
        for share in (1.0, 0.5, 0.125):
            # last > day - share x tau, for whole days: an integer comparison (never = -1).
            recent = last > max(math.floor(day - share * satiation_days), -1)
            level += recent.view(np.int8) * np.int8(2)
        return level

    def _refresh_need_states(self, day: int, rows: int = 65536) -> None:
        """:attr:`need_state` from ``need`` and ``last_buy_day`` for ``day``, in blocks."""
        assert self.need_state is not None
        for lo in range(0, self.n, rows):
            block = self.need_state[lo : lo + rows]
            block[:] = self._satiation_levels(
                self.last_buy_day[lo : lo + rows], day, self._state_tau
            )
            block += self.need[lo : lo + rows].view(np.int8)
        self._state_day = day

    def need_states(
        self, session_viewers: np.ndarray, session: np.ndarray, categories: np.ndarray, day: int
    ) -> np.ndarray:
        """Need state of each (session's viewer, category) pair as kept in
        :attr:`need_state` (refreshed first when it is of an earlier day), int8 (n,): 1 if
        the viewer has a need in the category, + 2 x the satiation level (0: no purchase in
        the category within tau; 1, 2, 3: the last one within tau, tau/2, tau/8 days).

        ``session_viewers`` are the tick's session viewers (drawn in ascending order within
        each chronotype, so their rows are read nearly in order), ``session`` the session
        index of each pair: the sessions' rows are gathered once and each pair reads its
        row's element, far fewer cache misses than a read per pair at random. Needs
        :meth:`keep_need_states`."""
        assert self.need_state is not None, "keep_need_states() first"
        if self._state_day != day:
            self._refresh_need_states(day)
        flat = session * self.k + categories
        return self.need_state.take(session_viewers, axis=0).reshape(-1)[flat]

    def demand_of(
        self, viewers: np.ndarray, categories: np.ndarray, interest: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Where the demand behind each purchase came from, two bool (n,) arrays:

        ``need``: the buyer held an exogenous need in the category (one that arrived, not
        one a latent need became); ``created``: otherwise, the demand was made by content:
        a latent need or a need it became (``latent_needs``), or an interest share
        ``interest`` at least (1 + ``created_interest_margin``) x the buyer's baseline
        share (``interest_drift``). Read before the purchases are recorded.
        """
        view, idx = flat(self.need, viewers, categories)
        need = view[idx]
        created = np.zeros(len(viewers), dtype=bool)
        if self.origin is not None:
            origin = self.origin.reshape(-1)[idx]
            created = np.where(need, origin == CREATED_NEED, origin == LATENT)
            need = need & (origin != CREATED_NEED)
        if self.baseline is not None and len(viewers):
            margin = np.float32(1 + self.platform.created_interest_margin)
            drifted = interest >= margin * self.baseline_of(viewers, categories)
            created |= ~need & drifted
        return need, created

    def leave_latent_needs(
        self, viewers: np.ndarray, categories: np.ndarray, rng: np.random.Generator
    ) -> None:
        """Entries without a purchase: each leaves a latent need for its category with
        probability ``latent_need_prob``, unless the viewer already has a need or a latent
        need there."""
        assert self.origin is not None
        hit = rng.random(len(viewers)) < self.platform.latent_need_prob
        view, idx = flat(self.origin, viewers[hit], categories[hit])
        free = (view[idx] == NO_ORIGIN) & ~self.need.reshape(-1)[idx]
        view[idx[free]] = LATENT

    def age_latent_needs(self, rng: np.random.Generator) -> None:
        """One day of latent needs, after the day's need arrivals and expiries: each latent
        need ends with probability 1 - exp(-1/``latent_need_lifetime_days``); a surviving
        one, in a category without a need, becomes a full need with probability
        ``latent_search_per_day`` (marked CREATED_NEED); a CREATED_NEED whose need has
        expired is cleared. One uniform per latent need, drawn in index order."""
        assert self.origin is not None
        p = self.platform
        origin, need = self.origin.reshape(-1), self.need.reshape(-1)
        created = np.flatnonzero(origin == CREATED_NEED)
        origin[created[~need[created]]] = NO_ORIGIN
        latent = np.flatnonzero(origin == LATENT)
        u = rng.random(len(latent))
        ends = 1 - np.exp(-1 / p.latent_need_lifetime_days)
        origin[latent[u < ends]] = NO_ORIGIN
        search = (u >= ends) & (u < ends + (1 - ends) * p.latent_search_per_day)
        search &= ~need[latent]
        becomes = latent[search]
        origin[becomes] = CREATED_NEED
        need[becomes] = True

    def record_purchases(self, viewers: np.ndarray, categories: np.ndarray, day: int) -> None:
        """Purchases satisfy the need (and any latent need), start satiation and mark
        adoption."""
        view, idx = flat(self.need, viewers, categories)
        view[idx] = False
        if self.origin is not None:
            self.origin.reshape(-1)[idx] = NO_ORIGIN
        view, idx = flat(self.last_buy_day, viewers, categories)
        view[idx] = day
        if self.need_state is not None and self._state_day == day:  # no need, bought today
            today = self._satiation_levels(np.array([day], dtype=np.int16), day, self._state_tau)
            self.need_state.reshape(-1)[idx] = today[0]
        first = ~self.adopted.reshape(-1)[idx]
        if first.any():
            pairs = np.sort(viewers[first] * self.k + categories[first])
            pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]  # np.unique, without its hashing
            self.adopted.reshape(-1)[pairs] = True  # pairs are flat (viewer, category) indices
            self.adopters += np.bincount(pairs % self.k, minlength=self.k)

    # ------------------------------------------------------------------ memory

    def nbytes(self) -> int:
        """Bytes held by per-viewer arrays."""
        arrays = [
            self.interests,
            self.activity,
            self.chronotype,
            self.traits,
            self.follow,
            self.affinity,
            self.need,
            self.last_buy_day,
            self.adopted,
            self.reserved,
        ]
        arrays += [a for a in (self.baseline, self.origin, self.need_state) if a is not None]
        return int(
            sum(a.nbytes for a in arrays)
            + sum(m.nbytes for m in self._members)
            + sum(c.nbytes for c in self._cum_activity)
            + sum(b.nbytes for b in self._search)
        )
