"""Closed-form results the validation suite compares the simulator against.

Every function here is a pure function of its arguments (numpy/scipy only, no random state),
so a validation check is "run the simulator, compute the statistic, compare with the number
from this module using a confidence interval from :func:`mean_ci` or :func:`proportion_ci`".

Contents, by model:

* Pólya urn (allocation proportional to prior + past conversions): long-run shares are
  Dirichlet; :func:`polya_concentration`, :func:`gini`, :func:`dirichlet_expected_gini`,
  :func:`marginal_share_distribution`, :func:`unpredictability`,
  :func:`dirichlet_unpredictability`; after finitely many draws (exact):
  :func:`polya_count_distribution`, :func:`polya_expected_gini`,
  :func:`polya_unpredictability`.
* Nonlinear (γ) urn: :func:`gamma_urn_limit`.
* Urn with per-stream conversion rates ("fitness"): :func:`fitness_urn_exponents`.
* Cold start as a Poisson Galton–Watson branching process: :func:`extinction_probability`,
  :func:`mean_total_reach`, :func:`borel_tanner_pmf`.
* Bass diffusion: :func:`bass_cdf`, :func:`bass_pdf`, :func:`bass_peak_time`,
  :func:`bass_discrete`.
* Second-price auction with uniform values: :func:`second_price_expected_price`,
  :func:`expected_winner_value`.
* Statistics: :func:`mean_ci` (Student t), :func:`proportion_ci` (Wilson).
"""

from __future__ import annotations

import itertools
import math
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, special, stats

from simulation.intervals import mean_interval, wilson_interval

__all__ = [
    "Interval",
    "bass_cdf",
    "bass_discrete",
    "bass_pdf",
    "bass_peak_time",
    "borel_tanner_pmf",
    "dirichlet_expected_gini",
    "dirichlet_unpredictability",
    "expected_winner_value",
    "extinction_probability",
    "fitness_urn_exponents",
    "gamma_urn_limit",
    "gini",
    "marginal_share_distribution",
    "mean_ci",
    "mean_total_reach",
    "polya_concentration",
    "polya_count_distribution",
    "polya_expected_gini",
    "polya_unpredictability",
    "proportion_ci",
    "second_price_expected_price",
    "unpredictability",
]

FloatOrArray = float | NDArray[np.float64]


def _out(x: NDArray[np.float64]) -> FloatOrArray:
    """Return a Python float for 0-d results, the array otherwise."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _check_K(K: int) -> int:
    if int(K) != K or K < 1:
        raise ValueError(f"K must be a positive integer, got {K!r}")
    return int(K)


def _check_positive(name: str, x: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {x!r}")
    return arr


# --------------------------------------------------------------------------------------------
# Pólya urn / Dirichlet
# --------------------------------------------------------------------------------------------


def polya_concentration(prior: float, increment: float) -> float:
    r"""Dirichlet parameter of the long-run shares of a Pólya urn.

    With K identical streams each starting at weight ``prior`` (a), and each conversion adding
    ``increment`` (Δ) to the converting stream's weight, the vector of long-run shares is
    :math:`\mathrm{Dirichlet}(\alpha, \ldots, \alpha)` with

    .. math:: \alpha = a / \Delta .

    Source: Eggenberger & Pólya (1923); Blackwell & MacQueen (1973), Ann. Statist. 1:353–355.
    Only the ratio matters, and the result holds whatever the conversion probability is, as long
    as it is the same for every stream (it only changes the clock, not the sequence of
    allocations).

    Parameters
    ----------
    prior : float
        Initial weight a > 0 of every stream.
    increment : float
        Weight Δ > 0 added per conversion.

    Returns
    -------
    float
        α = a / Δ.
    """
    _check_positive("prior", prior)
    _check_positive("increment", increment)
    return float(prior) / float(increment)


def gini(values: ArrayLike, axis: int = -1) -> FloatOrArray:
    r"""Gini coefficient of non-negative values, along ``axis`` (sort-based, O(K log K)).

    Convention (the "population" Gini, normalised by :math:`K^2`):

    .. math::

        G = \frac{\sum_{i=1}^K \sum_{j=1}^K |x_i - x_j|}{2 K^2 \bar x}
          = \frac{\sum_{i=1}^K (2i - K - 1)\, x_{(i)}}{K \sum_i x_i},

    where :math:`x_{(1)} \le \dots \le x_{(K)}` are the sorted values. It lies in
    :math:`[0, (K-1)/K]`; the maximum is reached when one entry holds everything. This is the
    convention under which :func:`dirichlet_expected_gini` is exact for finite K. The
    "sample" convention (normalised by :math:`2K(K-1)\bar x`) equals this value times
    :math:`K/(K-1)`.

    Parameters
    ----------
    values : array_like
        Non-negative values (shares, conversions, GMV ...). Any shape; the Gini is taken along
        ``axis``.
    axis : int, default -1
        Axis holding the K values of one allocation.

    Returns
    -------
    float or ndarray
        The Gini coefficient(s); a float for 1-d input. An all-zero vector has Gini 0
        (nothing to be unequal about).

    Raises
    ------
    ValueError
        If a value is negative or not finite, or the axis is empty.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 0:
        raise ValueError("gini needs at least one axis of values")
    x = np.moveaxis(x, axis, -1)
    K = x.shape[-1]
    if K == 0:
        raise ValueError("gini of an empty vector is undefined")
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError("gini needs finite, non-negative values")
    xs = np.sort(x, axis=-1)
    weights = 2.0 * np.arange(1, K + 1) - K - 1
    num = xs @ weights
    total = xs.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(total > 0, num / (K * total), 0.0)
    return _out(g)


def dirichlet_expected_gini(alpha: ArrayLike, K: int) -> FloatOrArray:
    r"""Expected Gini (:func:`gini` convention) of shares drawn from Dirichlet(α, ..., α).

    .. math::

        E[G] = \frac{K-1}{K}\,
               \frac{\Gamma(\alpha + \tfrac12)}{\alpha\,\Gamma(\alpha)\,\sqrt{\pi}} .

    Derivation: write the shares as :math:`X_i = Y_i / S` with :math:`Y_i` iid Gamma(α, 1) and
    :math:`S = \sum Y_i`; :math:`X` is independent of :math:`S`, so
    :math:`E\sum_{i,j}|X_i - X_j| = E\sum_{i,j}|Y_i - Y_j| / E[S]
    = K(K-1)\,E|Y - Y'| / (K\alpha)`, and the Gamma mean difference is
    :math:`E|Y - Y'| = 2\Gamma(\alpha+\tfrac12)/(\sqrt\pi\,\Gamma(\alpha))` (the Gini of a
    Gamma(α) population is :math:`\Gamma(\alpha+\tfrac12)/(\alpha\Gamma(\alpha)\sqrt\pi)`,
    McDonald & Jensen 1979, JASA 74:856–860). Dividing by :math:`2K^2\bar x = 2K` gives the
    formula. Values for K = 48: α = 1 → 0.490, α = 2 → 0.367, α = 5 → 0.241.

    Parameters
    ----------
    alpha : array_like
        Dirichlet parameter α > 0 (see :func:`polya_concentration`).
    K : int
        Number of streams.

    Returns
    -------
    float or ndarray
        E[G], same shape as ``alpha``.
    """
    a = _check_positive("alpha", alpha)
    K = _check_K(K)
    ratio = np.exp(special.gammaln(a + 0.5) - special.gammaln(a))
    return _out((K - 1) / K * ratio / (a * math.sqrt(math.pi)))


def marginal_share_distribution(alpha: float, K: int) -> stats.rv_continuous:
    r"""Distribution of one stream's long-run share under Dirichlet(α, ..., α) with K streams.

    The marginal of a symmetric Dirichlet is :math:`X_i \sim \mathrm{Beta}(\alpha, (K-1)\alpha)`,
    with mean :math:`1/K` and variance :math:`(K-1)/(K^2 (K\alpha + 1))`
    (Kotz, Balakrishnan & Johnson, *Continuous Multivariate Distributions* vol. 1, ch. 49).

    Parameters
    ----------
    alpha : float
        Dirichlet parameter α > 0.
    K : int
        Number of streams, K ≥ 2.

    Returns
    -------
    scipy.stats frozen distribution
        ``scipy.stats.beta(alpha, (K - 1) * alpha)``.
    """
    _check_positive("alpha", alpha)
    K = _check_K(K)
    if K < 2:
        raise ValueError("the marginal share needs K >= 2 (with K = 1 the share is 1)")
    return stats.beta(float(alpha), (K - 1) * float(alpha))


def dirichlet_unpredictability(alpha: float, K: int) -> float:
    r"""Expected Salganik unpredictability of K identical streams under Dirichlet(α) shares.

    For two independent worlds (replicate runs) the share of a given stream is
    :math:`X, X'` iid Beta(α, (K−1)α), and the expected unpredictability
    (Salganik, Dodds & Watts 2006, Science 311:854–856) is

    .. math::

        U = E|X - X'| = 2 \int_0^1 F(x)\,(1 - F(x))\,dx,

    with F the Beta cdf (the identity :math:`E|X-X'| = 2\int F(1-F)` holds for any iid pair).
    The integral is evaluated with adaptive quadrature, the half x > 1/2 through the law of
    1 − X, Beta((K−1)α, α), to avoid cancellation, each half on pieces split at Beta
    quantiles (see ``_half_integral``), so that large K (mass near 1/K) and small α
    (mass piled up at 0 and 1) are both resolved. Checked against the α = 1 closed form
    :math:`2(1/K - 1/(2K-1))` and against the quantile form :math:`2\int_0^1 (2u-1)Q(u)\,du`
    for α in [0.002, 1e5], K in [2, 1e5]: relative error below 1e-9.
    Note U is the expectation over pairs of *independent* runs; two streams of the same run
    are negatively correlated and are not what U measures.

    Parameters
    ----------
    alpha : float
        Dirichlet parameter α > 0.
    K : int
        Number of streams, K ≥ 2.

    Returns
    -------
    float
        E|X − X'|. Compare with :func:`unpredictability` of simulated shares.
    """
    dist = marginal_share_distribution(alpha, K)
    a, b = float(alpha), (K - 1) * float(alpha)
    sd = float(dist.std())
    # F(1 - F) over [0, 1/2] for X directly, and over [1/2, 1] as the same integral for
    # 1 - X ~ Beta(b, a) over [0, 1/2]: floats are dense near 0, so shares piled up next to 1
    # (small alpha, small K) are resolved without cancellation in 1 - x.
    return 2.0 * (_half_integral(dist, a, sd) + _half_integral(stats.beta(b, a), b, sd))


def _half_integral(dist: stats.rv_continuous, shape: float, sd: float) -> float:
    """Integral of G(1 - G) over [0, 1/2], G the cdf of ``dist``, a Beta whose first shape
    parameter is ``shape``; ``sd`` sets the absolute tolerance.

    Cuts: the quantiles 0.001, 0.01, ..., 0.999 of ``dist`` below 1/2, then 1/2, with extra
    cuts at every power of 10 in between (for small shapes the quantiles span hundreds of
    decades). The first piece [0, c] uses x = c * t**(1/shape) when shape < 1 (G ~ x**shape
    near 0 becomes smooth in t) and is split in steps of ``sd`` towards 0 otherwise. Pieces
    too short to matter (G(1 - G) <= 1/4) are skipped.
    """
    tol = {"limit": 200, "epsabs": 1e-12 * sd, "epsrel": 1e-10}
    negligible = 4e-15 * sd

    def g(x: float) -> float:
        return dist.cdf(x) * dist.sf(x)

    quantiles = dist.ppf([0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999])
    body = [*(float(x) for x in quantiles if x < 0.5), 0.5]
    edge = body[0]
    total = 0.0
    if edge > negligible:
        if shape < 1:

            def h(t: float) -> float:
                if t <= 0.0:
                    return 0.0
                x = edge * t ** (1.0 / shape)
                return g(x) * x / (shape * t)

            total += integrate.quad(h, 0.0, 1.0, **tol)[0]
        else:
            steps = edge - sd * 2.0 ** np.arange(64)
            cuts = np.concatenate(([0.0], steps[steps > 0][::-1], [edge]))
            for lo, hi in itertools.pairwise(cuts):
                total += integrate.quad(g, lo, hi, **tol)[0]
    cuts = [edge]
    for lo, hi in itertools.pairwise(body):
        if lo > 0 and hi > 10 * lo:
            decades = np.arange(math.floor(math.log10(lo)) + 1, math.ceil(math.log10(hi)))
            cuts.extend(10.0**decades)
        cuts.append(hi)
    for lo, hi in itertools.pairwise(cuts):
        if hi - lo > negligible:
            total += integrate.quad(g, lo, hi, **tol)[0]
    return total


def unpredictability(shares: ArrayLike) -> float:
    r"""Salganik unpredictability of shares observed in W independent worlds.

    .. math::

        U = \frac{1}{K} \sum_{i=1}^K \binom{W}{2}^{-1} \sum_{j<k} |m_{ij} - m_{ik}|,

    where :math:`m_{ij}` is stream i's share in world j (Salganik, Dodds & Watts 2006). The
    pairwise sum is computed by sorting, as in :func:`gini`. Its expectation under the Pólya
    urn is :func:`dirichlet_unpredictability`.

    Parameters
    ----------
    shares : array_like, shape (W, K)
        Row j holds the K shares of world j; W ≥ 2.

    Returns
    -------
    float
        U.
    """
    m = np.asarray(shares, dtype=float)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 1:
        raise ValueError("shares must have shape (W, K) with W >= 2 worlds")
    W = m.shape[0]
    ms = np.sort(m, axis=0)
    weights = 2.0 * np.arange(1, W + 1) - W - 1
    pair_sums = weights @ ms  # sum_{j<k} |m_ij - m_ik| for each stream i
    return float(np.mean(pair_sums) / (W * (W - 1) / 2))


# --------------------------------------------------------------------------------------------
# Pólya urn after finitely many draws
# --------------------------------------------------------------------------------------------


def _check_draws(N: int) -> int:
    if int(N) != N or N < 0:
        raise ValueError(f"N must be a non-negative integer, got {N!r}")
    return int(N)


def polya_count_distribution(alpha: float, K: int, N: int) -> stats.rv_discrete:
    r"""Law of one stream's count after N draws of a symmetric Pólya urn (exact, any N).

    With K streams of prior weight α (in units of the increment), the counts after N draws
    are Dirichlet-multinomial(N; α, ..., α), so one stream's count is

    .. math:: n_i \sim \mathrm{BetaBinomial}(N, \alpha, (K-1)\alpha),

    and :math:`n_i / N \to \mathrm{Beta}(\alpha, (K-1)\alpha)`
    (:func:`marginal_share_distribution`) as N grows. Source: Johnson, Kotz & Balakrishnan,
    *Discrete Multivariate Distributions* (1997), ch. 40 (Pólya–Eggenberger distribution).

    Parameters
    ----------
    alpha : float
        Prior weight over increment, α > 0 (:func:`polya_concentration`).
    K : int
        Number of streams, K ≥ 2.
    N : int
        Number of draws (conversions), N ≥ 0.

    Returns
    -------
    scipy.stats frozen distribution
        ``scipy.stats.betabinom(N, alpha, (K - 1) * alpha)``.
    """
    _check_positive("alpha", alpha)
    K = _check_K(K)
    if K < 2:
        raise ValueError("the count distribution needs K >= 2")
    return stats.betabinom(_check_draws(N), float(alpha), (K - 1) * float(alpha))


def polya_expected_gini(alpha: float, K: int, N: int) -> float:
    r"""Expected Gini of the urn composition after N draws of a symmetric Pólya urn (exact).

    The composition (each stream's share of the urn's weight, hence of the next draw) is
    :math:`Z_i = (\alpha + n_i)/(K\alpha + N)`, a martingale that converges to the
    Dirichlet(α) limit. By exchangeability,

    .. math::

        E[G(Z)] = \frac{K-1}{2}\,\frac{E|n_1 - n_2|}{K\alpha + N},

    where, with :math:`s = n_1 + n_2 \sim \mathrm{BetaBinomial}(N, 2\alpha, (K-2)\alpha)`
    and :math:`n_1 \mid s \sim \mathrm{BetaBinomial}(s, \alpha, \alpha)` (aggregation and
    conditioning properties of the Dirichlet-multinomial), the mean difference is an exact
    double sum, evaluated here in O(N²). As N → ∞ the result tends to
    :func:`dirichlet_expected_gini` from below: Var(Z_i) = Var(X_i) N / (Kα + N).

    Parameters
    ----------
    alpha : float
        α > 0.
    K : int
        Number of streams, K ≥ 2.
    N : int
        Number of draws, N ≥ 0.

    Returns
    -------
    float
        E[G] of the composition after exactly N draws.
    """
    _check_positive("alpha", alpha)
    K = _check_K(K)
    if K < 2:
        raise ValueError("the Gini of one stream is 0; need K >= 2")
    N = _check_draws(N)
    a = float(alpha)
    s_all = np.arange(N + 1)
    if K > 2:
        p_s = stats.betabinom.pmf(s_all, N, 2 * a, (K - 2) * a)
    else:
        p_s = (s_all == N).astype(float)
    x = np.arange(N + 1, dtype=float)[None, :]
    total = 0.0
    for lo in range(0, N + 1, 256):
        s = s_all[lo : lo + 256, None].astype(float)
        inside = x <= s
        k = np.where(inside, s - x, 0.0)
        logp = (
            special.gammaln(s + 1)
            - special.gammaln(x + 1)
            - special.gammaln(k + 1)
            + special.betaln(x + a, k + a)
            - special.betaln(a, a)
        )
        e_abs = np.where(inside, np.exp(logp) * np.abs(2 * x - s), 0.0).sum(axis=1)
        total += float(p_s[lo : lo + 256] @ e_abs)
    return (K - 1) / 2 * total / (K * a + N)


def polya_unpredictability(alpha: float, K: int, N: int) -> float:
    r"""Expected unpredictability of the urn composition after N draws (exact).

    For one stream in two independent urns (worlds), :math:`Z = (\alpha + n)/(K\alpha + N)`
    and :math:`Z'` likewise with n, n' iid :func:`polya_count_distribution`; for integer
    counts :math:`E|n - n'| = 2\sum_{x=0}^{N-1} F(x)(1 - F(x))` (F the cdf), so

    .. math:: U_N = \frac{2\sum_{x=0}^{N-1} F(x)(1 - F(x))}{K\alpha + N},

    which tends to :func:`dirichlet_unpredictability` as N → ∞ (Salganik, Dodds & Watts 2006
    define U; the limit is Beta(α, (K−1)α)).

    Parameters
    ----------
    alpha : float
        α > 0.
    K : int
        Number of streams, K ≥ 2.
    N : int
        Number of draws, N ≥ 0.

    Returns
    -------
    float
        E|Z − Z'|.
    """
    dist = polya_count_distribution(alpha, K, N)
    N = _check_draws(N)
    if N == 0:
        return 0.0
    # The cdf as a running sum of the pmf (scipy's betabinom.cdf sums afresh for each x).
    cdf = np.minimum(np.cumsum(dist.pmf(np.arange(N))), 1.0)
    return float(2.0 * np.sum(cdf * (1.0 - cdf)) / (K * float(alpha) + N))


# --------------------------------------------------------------------------------------------
# γ-urn and fitness urn
# --------------------------------------------------------------------------------------------


def gamma_urn_limit(gamma: float) -> Literal["equal", "dirichlet", "monopoly"]:
    r"""Qualitative long-run behaviour of the urn that selects stream i with prob ∝ n_i^γ.

    * γ < 1: ``"equal"`` — every share converges almost surely to 1/K.
    * γ = 1: ``"dirichlet"`` — the classical Pólya urn; shares converge to a random
      Dirichlet(α) vector, α = a/Δ (:func:`polya_concentration`).
    * γ > 1: ``"monopoly"`` — almost surely one stream receives all but finitely many
      selections, so its share converges to 1.

    Source: Chung, Handjani & Jungreis (2003), "Generalizations of Pólya's urn problem",
    Ann. Comb. 7:141–153; Drinea, Frieze & Mitzenmacher (2002), "Balls and bins models with
    feedback", SODA; Davis (1990), Probab. Theory Related Fields 84:203–229 (Rubin's
    construction, monopoly for γ > 1); Oliveira (2009), "The onset of dominance in
    balls-in-bins processes with feedback", Random Structures Algorithms 34.

    Parameters
    ----------
    gamma : float
        Feedback exponent γ > 0.

    Returns
    -------
    {"equal", "dirichlet", "monopoly"}
    """
    g = float(gamma)
    if not math.isfinite(g) or g <= 0:
        raise ValueError(f"gamma must be finite and > 0, got {gamma!r}")
    if g < 1:
        return "equal"
    if g == 1:
        return "dirichlet"
    return "monopoly"


def fitness_urn_exponents(f: ArrayLike) -> NDArray[np.float64]:
    r"""Growth exponents of an urn where selection ∝ n_j and a selection converts w.p. f_j.

    Embedding in continuous time (Athreya & Karlin 1968, Ann. Math. Statist. 39:1801–1817),
    stream j is a Yule process with rate :math:`f_j`, so :math:`n_j(t) \approx W_j e^{f_j t}`
    and the total is dominated by :math:`e^{f_{\max} t}`. In terms of the number of
    selections N,

    .. math:: n_j(N) \asymp N^{f_j / f_{\max}},

    i.e. the fittest stream(s) grow linearly and every other stream's share tends to 0 as a
    power law (a simulation with f = (0.3, 0.6, 1) over 2·10^6 selections gives log-log
    slopes 0.35, 0.59, 1.00). Source: Kotz, Mahmoud & Robert (2000), "On generalized Pólya
    urn models", Statist. Probab. Lett. 49; Janson (2004), "Functional limit theorems for
    multitype branching processes and generalized Pólya urns", Stoch. Proc. Appl. 110:177–245.
    (The exponents describe growth in N only; the random prefactors :math:`W_j` are not
    given here.)

    Parameters
    ----------
    f : array_like, shape (K,)
        Conversion probabilities (or any positive rates) f_j > 0.

    Returns
    -------
    ndarray, shape (K,)
        ``f / f.max()`` — the exponent of N for each stream (1 for the fittest).
    """
    arr = _check_positive("f", f)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("f must be a non-empty 1-d array")
    return arr / arr.max()


# --------------------------------------------------------------------------------------------
# Cold start: Poisson Galton–Watson branching process
# --------------------------------------------------------------------------------------------


def extinction_probability(R: ArrayLike, n0: int = 1) -> FloatOrArray:
    r"""Extinction probability of a Galton–Watson process with Poisson(R) offspring.

    For one ancestor, q is the smallest root in [0, 1] of the fixed-point equation

    .. math:: q = e^{-R(1 - q)},

    so q = 1 for R ≤ 1, and for R > 1 (Lambert W, principal branch)

    .. math:: q = -W_0(-R e^{-R}) / R \in (0, 1/R).

    With ``n0`` independent ancestors the probability that all lines die out is
    :math:`q^{n_0}`. Source: Harris (1963), *The Theory of Branching Processes*, ch. I;
    Corless et al. (1996), Adv. Comput. Math. 5:329 (Lambert W).

    Parameters
    ----------
    R : array_like
        Mean offspring R ≥ 0 (the reproduction number of the cold-start cascade).
    n0 : int, default 1
        Number of initial seeds.

    Returns
    -------
    float or ndarray
        Extinction probability, same shape as ``R``.
    """
    r = np.asarray(R, dtype=float)
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ValueError(f"R must be finite and >= 0, got {R!r}")
    if int(n0) != n0 or n0 < 0:
        raise ValueError(f"n0 must be a non-negative integer, got {n0!r}")
    super_critical = r > 1
    rs = np.where(super_critical, r, 2.0)  # placeholder keeps lambertw in its domain
    q_super = -np.real(special.lambertw(-rs * np.exp(-rs), 0)) / rs
    q = np.where(super_critical, q_super, 1.0)
    return _out(q ** int(n0))


def mean_total_reach(n0: float, R: float) -> float:
    r"""Expected total progeny (seeds included) of a subcritical Galton–Watson process.

    .. math:: E[T] = \frac{n_0}{1 - R}, \qquad R < 1,

    valid for any offspring law with mean R (sum of the generation means
    :math:`n_0 R^g`); the variance for Poisson offspring is :math:`n_0 R / (1-R)^3`.

    Parameters
    ----------
    n0 : float
        Number of initial seeds (generation 0), n0 ≥ 0.
    R : float
        Mean offspring, 0 ≤ R < 1.

    Returns
    -------
    float
        n0 / (1 − R).

    Raises
    ------
    ValueError
        If R ≥ 1: the expected total is infinite (R = 1) or the total is infinite with
        positive probability (R > 1).
    """
    if not math.isfinite(R) or R < 0:
        raise ValueError(f"R must be finite and >= 0, got {R!r}")
    if R >= 1:
        raise ValueError(f"mean total reach is infinite for R >= 1 (got R={R})")
    if n0 < 0:
        raise ValueError(f"n0 must be >= 0, got {n0!r}")
    return float(n0) / (1.0 - R)


def borel_tanner_pmf(n: ArrayLike, n0: int, R: float) -> FloatOrArray:
    r"""Distribution of the total progeny T of a Poisson(R) Galton–Watson process (Borel–Tanner).

    .. math::

        P(T = n) = \frac{n_0}{n}\, e^{-Rn}\, \frac{(Rn)^{n - n_0}}{(n - n_0)!},
        \qquad n = n_0, n_0 + 1, \ldots

    (T counts the n0 seeds too.) Source: Tanner (1961), Biometrika 48:222–224; it follows from
    the hitting-time theorem (Otter 1949; Dwass 1969). Computed in log space. For R ≤ 1 the
    pmf sums to 1 with mean :math:`n_0/(1-R)` (R < 1); for R > 1 it sums to
    :math:`q^{n_0}` (:func:`extinction_probability`), the rest being the mass of T = ∞.

    Parameters
    ----------
    n : array_like of int
        Total sizes at which to evaluate; values below n0 get probability 0.
    n0 : int
        Number of seeds, n0 ≥ 1.
    R : float
        Mean offspring R ≥ 0.

    Returns
    -------
    float or ndarray
        P(T = n), same shape as ``n``.
    """
    if int(n0) != n0 or n0 < 1:
        raise ValueError(f"n0 must be a positive integer, got {n0!r}")
    if not math.isfinite(R) or R < 0:
        raise ValueError(f"R must be finite and >= 0, got {R!r}")
    nn = np.asarray(n, dtype=float)
    if np.any(nn != np.floor(nn)):
        raise ValueError("n must hold integers")
    valid = nn >= n0
    m = np.where(valid, nn, float(n0))  # keep logs finite off the support
    k = m - n0
    logp = math.log(n0) - np.log(m) - R * m + special.xlogy(k, R * m) - special.gammaln(k + 1)
    return _out(np.where(valid, np.exp(logp), 0.0))


# --------------------------------------------------------------------------------------------
# Bass diffusion
# --------------------------------------------------------------------------------------------


def _check_bass(p: float, q: float) -> None:
    if not (math.isfinite(p) and p > 0):
        raise ValueError(f"p (innovation) must be finite and > 0, got {p!r}")
    if not (math.isfinite(q) and q >= 0):
        raise ValueError(f"q (imitation) must be finite and >= 0, got {q!r}")


def bass_cdf(t: ArrayLike, p: float, q: float) -> FloatOrArray:
    r"""Cumulative adoption fraction of the Bass (1969) diffusion model.

    Solution of :math:`F' = (p + qF)(1 - F)`, :math:`F(0) = 0`:

    .. math::

        F(t) = \frac{1 - e^{-(p+q)t}}{1 + (q/p)\, e^{-(p+q)t}} .

    Source: Bass (1969), Management Science 15:215–227.

    Parameters
    ----------
    t : array_like
        Times t ≥ 0 (same unit as 1/p).
    p : float
        Innovation coefficient p > 0 (external hazard).
    q : float
        Imitation coefficient q ≥ 0 (hazard per unit of adopted fraction).

    Returns
    -------
    float or ndarray
        F(t) in [0, 1).
    """
    _check_bass(p, q)
    e = np.exp(-(p + q) * np.asarray(t, dtype=float))
    return _out((1.0 - e) / (1.0 + (q / p) * e))


def bass_pdf(t: ArrayLike, p: float, q: float) -> FloatOrArray:
    r"""Adoption rate dF/dt of the Bass model.

    .. math::

        f(t) = \frac{(p+q)^2}{p}\, \frac{e^{-(p+q)t}}{\left(1 + (q/p) e^{-(p+q)t}\right)^2}
             = (p + qF(t))(1 - F(t)).

    Source: Bass (1969). Its maximum over t ≥ 0 is at :func:`bass_peak_time`; when q > p the
    peak value is :math:`(p+q)^2/(4q)` and :math:`F(t^*) = (q-p)/(2q)`.

    Parameters
    ----------
    t : array_like
        Times t ≥ 0.
    p, q : float
        Innovation (> 0) and imitation (≥ 0) coefficients.

    Returns
    -------
    float or ndarray
        f(t).
    """
    _check_bass(p, q)
    e = np.exp(-(p + q) * np.asarray(t, dtype=float))
    return _out((p + q) ** 2 / p * e / (1.0 + (q / p) * e) ** 2)


def bass_peak_time(p: float, q: float) -> float:
    r"""Time of peak adoption rate in the Bass model.

    .. math:: t^* = \frac{\ln(q/p)}{p+q} \quad (q > p), \qquad t^* = 0 \quad (q \le p).

    When q ≤ p the adoption rate is non-increasing on [0, ∞), so its maximum over t ≥ 0 is at
    t = 0 and this function **returns 0.0** (no exception); the formula itself is 0 at q = p,
    so the result is continuous in q. Source: Bass (1969).

    Parameters
    ----------
    p : float
        Innovation coefficient p > 0.
    q : float
        Imitation coefficient q ≥ 0.

    Returns
    -------
    float
        t* ≥ 0.
    """
    _check_bass(p, q)
    if q <= p:
        return 0.0
    return math.log(q / p) / (p + q)


def bass_discrete(
    T: float, p: float, q: float, dt: float = 1.0, F0: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r"""Bass diffusion stepped in discrete time, as a simulation with a per-step hazard does it.

    Each not-yet-adopted unit adopts during a step of length dt with probability
    :math:`1 - e^{-(p + qF_k)\,dt}`, the hazard being frozen at the start of the step:

    .. math:: F_{k+1} = F_k + (1 - F_k)\left(1 - e^{-(p + qF_k)\,dt}\right).

    This is the exact mean-field recursion of such a simulation (e.g. dt = 1 day).

    **When it differs from** :func:`bass_cdf`: for q = 0 the recursion is exact
    (:math:`1 - F_k = e^{-pk\,dt}`). For q > 0 the imitation hazard uses the stale
    :math:`F_k` while the true hazard rises during the step, so the discrete curve lags:
    :math:`F_k \le F(k\,dt)` for every k (the one-step map is increasing in :math:`F_k`, so
    the lag propagates by induction). The gap is :math:`O(q\,dt)` (first order: the maximum
    gap shrinks about tenfold when dt does; about 0.11 at dt = 1 for p = 0.03, q = 0.4) and
    is largest on the steep part of the curve, just after the peak time. Compare a
    day-stepped simulation with this recursion, not with the continuous formula, unless
    :math:`q\,dt \ll 1`.

    Parameters
    ----------
    T : float
        Horizon (same time unit as 1/p); the number of steps is ``round(T / dt)``.
    p : float
        Innovation coefficient p > 0.
    q : float
        Imitation coefficient q ≥ 0.
    dt : float, default 1.0
        Step length.
    F0 : float, default 0.0
        Adopted fraction at time 0.

    Returns
    -------
    t : ndarray, shape (n_steps + 1,)
        Times ``k * dt``.
    F : ndarray, shape (n_steps + 1,)
        Adopted fraction at those times, ``F[0] == F0``.
    """
    _check_bass(p, q)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be finite and > 0, got {dt!r}")
    if not (math.isfinite(T) and T >= 0):
        raise ValueError(f"T must be finite and >= 0, got {T!r}")
    if not 0.0 <= F0 <= 1.0:
        raise ValueError(f"F0 must be in [0, 1], got {F0!r}")
    n_steps = round(T / dt)
    F = np.empty(n_steps + 1)
    F[0] = F0
    f = float(F0)
    for k in range(n_steps):
        f = f + (1.0 - f) * -math.expm1(-(p + q * f) * dt)
        F[k + 1] = f
    return np.arange(n_steps + 1) * dt, F


# --------------------------------------------------------------------------------------------
# Second-price auction
# --------------------------------------------------------------------------------------------


def _check_bidders(N: int) -> int:
    if int(N) != N or N < 1:
        raise ValueError(f"N must be a positive integer, got {N!r}")
    return int(N)


def second_price_expected_price(N: int) -> float:
    r"""Expected price in a second-price auction with N bidders, iid U(0, 1) values.

    Bidding one's value is dominant, so the price is the second-highest value, whose mean is

    .. math:: E[V_{(N-1:N)}] = \frac{N-1}{N+1}

    (the k-th order statistic of N uniforms has mean k/(N+1)). With N = 1 and no reserve the
    price is 0. Source: Vickrey (1961), J. Finance 16:8–37; Krishna, *Auction Theory*, ch. 2.

    Parameters
    ----------
    N : int
        Number of bidders, N ≥ 1.

    Returns
    -------
    float
        (N − 1)/(N + 1).
    """
    N = _check_bidders(N)
    return (N - 1) / (N + 1)


def expected_winner_value(N: int) -> float:
    r"""Expected value of the winner (the highest of N iid U(0, 1) values).

    .. math:: E[V_{(N:N)}] = \frac{N}{N+1} .

    The winner's expected surplus is therefore :math:`1/(N+1)`.
    Source: Krishna, *Auction Theory*, ch. 2.

    Parameters
    ----------
    N : int
        Number of bidders, N ≥ 1.

    Returns
    -------
    float
        N/(N + 1).
    """
    N = _check_bidders(N)
    return N / (N + 1)


# --------------------------------------------------------------------------------------------
# Statistics helpers
# --------------------------------------------------------------------------------------------


class Interval(NamedTuple):
    """A point estimate with a two-sided confidence interval; unpacks as (estimate, low, high,
    n)."""

    estimate: float
    low: float
    high: float
    n: int

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in [low, high]."""
        return self.low <= value <= self.high


def _check_level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return float(level)


def mean_ci(x: ArrayLike, level: float = 0.95) -> Interval:
    r"""Student-t confidence interval for a mean.

    .. math:: \bar x \pm t_{n-1,\,(1+\ell)/2}\; s / \sqrt n,

    with s the sample standard deviation (ddof = 1). Exact for normal data, asymptotically
    valid otherwise (e.g. for means of many replicate runs). Source: Student (1908).

    Parameters
    ----------
    x : array_like
        Observations (flattened); at least 2, all finite.
    level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    Interval
        ``(mean, low, high, n)``.
    """
    level = _check_level(level)
    a = np.asarray(x, dtype=float).ravel()
    n = a.size
    if n < 2:
        raise ValueError(f"mean_ci needs at least 2 observations, got {n}")
    if not np.all(np.isfinite(a)):
        raise ValueError("mean_ci needs finite observations")
    return Interval(*mean_interval(a, level))


def proportion_ci(k: int, n: int, level: float = 0.95) -> Interval:
    r"""Wilson score confidence interval for a binomial proportion.

    With :math:`\hat p = k/n` and :math:`z = \Phi^{-1}((1+\ell)/2)`,

    .. math::

        \frac{\hat p + z^2/(2n)}{1 + z^2/n} \pm
        \frac{z}{1 + z^2/n} \sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}} .

    Unlike the Wald interval it stays in [0, 1] and behaves well for k = 0 or k = n.
    Source: Wilson (1927), JASA 22:209–212; Brown, Cai & DasGupta (2001), Statist. Sci.
    16:101–133.

    Parameters
    ----------
    k : int
        Number of successes, 0 ≤ k ≤ n.
    n : int
        Number of trials, n ≥ 1.
    level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    Interval
        ``(k/n, low, high, n)``.
    """
    level = _check_level(level)
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if int(k) != k or not 0 <= k <= n:
        raise ValueError(f"k must be an integer in [0, n], got {k!r}")
    lo, hi = wilson_interval(k, n, level)
    phat = k / n
    low = 0.0 if k == 0 else max(0.0, float(lo))
    high = 1.0 if k == n else min(1.0, float(hi))
    return Interval(phat, low, high, int(n))
