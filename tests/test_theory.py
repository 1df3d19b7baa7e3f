"""Tests for simulation.theory: reference values, identities, and Monte Carlo agreement.

Monte Carlo comparisons use a fixed ``numpy.random.default_rng(seed)`` and a tolerance of
``Z_TOL`` standard errors of the Monte Carlo estimate (not a hand-picked absolute tolerance).
"""

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import integrate, stats

from simulation import theory as th

Z_TOL = 4.0  # Monte Carlo tolerance, in standard errors


def assert_within_se(estimate: float, se: float, expected: float, z: float = Z_TOL) -> None:
    """Assert |estimate - expected| <= z * se, with a readable message."""
    assert se > 0
    dev = (estimate - expected) / se
    assert abs(dev) <= z, f"estimate {estimate:.6g} vs {expected:.6g}: {dev:+.2f} SE (se={se:.3g})"


def mc_mean(samples: np.ndarray) -> tuple[float, float]:
    """Sample mean and its standard error."""
    samples = np.asarray(samples, dtype=float)
    return float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(samples.size))


# --------------------------------------------------------------------------------------------
# Gini and the Dirichlet limit of the Pólya urn
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "expected"), [(1.0, 0.490), (2.0, 0.367), (5.0, 0.241)])
def test_dirichlet_expected_gini_reference_values(alpha: float, expected: float) -> None:
    assert round(th.dirichlet_expected_gini(alpha, 48), 3) == expected


def test_dirichlet_expected_gini_closed_forms() -> None:
    # alpha = 1: Gamma(3/2) / (Gamma(1) sqrt(pi)) = 1/2, so E[G] = (K - 1) / (2K).
    assert th.dirichlet_expected_gini(1.0, 48) == pytest.approx(47 / 96, rel=1e-12)
    # K = 1: a single stream has no inequality.
    assert th.dirichlet_expected_gini(3.0, 1) == 0.0
    # Vectorised over alpha, decreasing in alpha.
    values = th.dirichlet_expected_gini(np.array([0.5, 1.0, 2.0, 5.0, 50.0]), 48)
    assert isinstance(values, np.ndarray)
    assert np.all(np.diff(values) < 0)
    # alpha -> infinity: G -> 0 like 1/sqrt(pi * alpha).
    assert th.dirichlet_expected_gini(1e6, 48) * math.sqrt(math.pi * 1e6) == pytest.approx(
        47 / 48, rel=1e-5
    )


@pytest.mark.parametrize(("alpha", "K"), [(0.3, 48), (1.0, 48), (2.0, 48), (5.0, 48), (1.0, 5)])
def test_dirichlet_expected_gini_matches_monte_carlo(alpha: float, K: int) -> None:
    rng = np.random.default_rng(20240601)
    shares = rng.dirichlet(np.full(K, alpha), size=20_000)
    est, se = mc_mean(th.gini(shares, axis=1))
    assert_within_se(est, se, th.dirichlet_expected_gini(alpha, K))


def test_gini_sample_convention_would_not_reproduce_formula() -> None:
    # The K(K-1) normalisation overshoots by K/(K-1); at K=5 that is far beyond the MC error.
    rng = np.random.default_rng(7)
    K = 5
    g = th.gini(rng.dirichlet(np.ones(K), size=20_000))
    est, se = mc_mean(g * K / (K - 1))
    assert abs(est - th.dirichlet_expected_gini(1.0, K)) > 10 * se


def _gini_pairwise(x: np.ndarray) -> float:
    K = x.size
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * K * K * x.mean()))


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(1, 40),
        elements=st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    )
)
def test_gini_matches_pairwise_definition(x: np.ndarray) -> None:
    g = th.gini(x)
    K = x.size
    if x.sum() == 0:
        assert g == 0.0
        return
    assert g == pytest.approx(_gini_pairwise(x), rel=1e-9, abs=1e-12)
    assert -1e-12 <= g <= (K - 1) / K + 1e-12
    # Invariant under permutation and scaling.
    assert th.gini(x[::-1] * 3.5) == pytest.approx(g, rel=1e-9, abs=1e-12)


def test_gini_extremes_and_axis() -> None:
    K = 48
    assert th.gini(np.full(K, 0.3)) == pytest.approx(0.0, abs=1e-15)
    monopoly = np.zeros(K)
    monopoly[7] = 1.0
    assert th.gini(monopoly) == pytest.approx((K - 1) / K)
    assert th.gini(np.zeros(4)) == 0.0
    rows = np.array([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_allclose(th.gini(rows), [0.75, 0.0])
    np.testing.assert_allclose(th.gini(rows.T, axis=0), [0.75, 0.0])
    assert isinstance(th.gini([1.0, 2.0]), float)


@pytest.mark.parametrize("bad", [[1.0, -0.1], [np.nan, 1.0], [], 3.0])
def test_gini_rejects_bad_input(bad: object) -> None:
    with pytest.raises(ValueError):
        th.gini(bad)


def test_polya_concentration() -> None:
    assert th.polya_concentration(2.0, 0.5) == 4.0
    with pytest.raises(ValueError):
        th.polya_concentration(0.0, 1.0)


def test_marginal_share_distribution_matches_dirichlet_component() -> None:
    alpha, K = 2.0, 48
    dist = th.marginal_share_distribution(alpha, K)
    assert dist.mean() == pytest.approx(1 / K)
    assert dist.var() == pytest.approx((K - 1) / (K**2 * (K * alpha + 1)))
    rng = np.random.default_rng(11)
    first = rng.dirichlet(np.full(K, alpha), size=5_000)[:, 0]
    assert stats.kstest(first, dist.cdf).pvalue > 1e-3
    with pytest.raises(ValueError):
        th.marginal_share_distribution(1.0, 1)


def test_dirichlet_unpredictability_closed_forms() -> None:
    # K = 2, alpha = 1: X ~ U(0, 1), E|X - X'| = 1/3.
    assert th.dirichlet_unpredictability(1.0, 2) == pytest.approx(1 / 3, abs=1e-9)
    # alpha = 1: X ~ Beta(1, b), b = K - 1, and 2 * int F(1 - F) = 2 (1/(b+1) - 1/(2b+1)).
    for K in (3, 48, 10_000):
        b = K - 1
        expected = 2 * (1 / (b + 1) - 1 / (2 * b + 1))
        assert th.dirichlet_unpredictability(1.0, K) == pytest.approx(expected, rel=1e-7)


def _unpredictability_by_quantiles(alpha: float, K: int) -> float:
    """Independent reference: E|X - X'| = 2 int_0^1 (2u - 1) Q(u) du, with Q the Beta quantile
    function (upper half through 1 - X, whose quantiles are accurate near 0)."""
    dist = stats.beta(alpha, (K - 1) * alpha)
    mirror = stats.beta((K - 1) * alpha, alpha)
    tol = {"epsabs": 1e-14 * dist.std(), "epsrel": 1e-12, "limit": 200}
    us = [0.0, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5]
    total = 0.0
    for lo, hi in itertools.pairwise(us):
        total += integrate.quad(lambda u: (2 * u - 1) * dist.ppf(u), lo, hi, **tol)[0]
        total += integrate.quad(lambda v: (1 - 2 * v) * (1 - mirror.ppf(v)), lo, hi, **tol)[0]
    return 2 * total


@pytest.mark.parametrize(
    ("alpha", "K"), [(0.01, 2), (0.05, 3), (0.3, 1_000), (2.0, 48), (20.0, 48), (1e5, 48)]
)
def test_dirichlet_unpredictability_matches_quantile_form(alpha: float, K: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no IntegrationWarning, even for extreme parameters
        value = th.dirichlet_unpredictability(alpha, K)
    assert value == pytest.approx(_unpredictability_by_quantiles(alpha, K), rel=1e-9)


@pytest.mark.parametrize(("alpha", "K"), [(0.1, 48), (1.0, 48), (5.0, 48), (0.5, 5)])
def test_dirichlet_unpredictability_matches_monte_carlo(alpha: float, K: int) -> None:
    rng = np.random.default_rng(99)
    n_pairs = 20_000
    a = np.full(K, alpha)
    world_1 = rng.dirichlet(a, size=n_pairs)
    world_2 = rng.dirichlet(a, size=n_pairs)
    # Pairs of worlds are iid; average over streams within a pair, then SE across pairs.
    est, se = mc_mean(np.abs(world_1 - world_2).mean(axis=1))
    assert_within_se(est, se, th.dirichlet_unpredictability(alpha, K))


def test_unpredictability_estimator_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(3)
    W, K = 7, 12
    shares = rng.dirichlet(np.ones(K), size=W)
    brute = np.mean(
        [
            np.mean([abs(shares[j, i] - shares[k, i]) for j in range(W) for k in range(j + 1, W)])
            for i in range(K)
        ]
    )
    assert th.unpredictability(shares) == pytest.approx(brute, rel=1e-12)
    with pytest.raises(ValueError):
        th.unpredictability(shares[:1])


def test_unpredictability_estimator_is_unbiased_for_theory() -> None:
    rng = np.random.default_rng(5)
    alpha, K, W, reps = 1.0, 20, 8, 2_000
    values = [th.unpredictability(rng.dirichlet(np.full(K, alpha), size=W)) for _ in range(reps)]
    est, se = mc_mean(np.array(values))
    assert_within_se(est, se, th.dirichlet_unpredictability(alpha, K))


# --------------------------------------------------------------------------------------------
# γ-urn and fitness urn
# --------------------------------------------------------------------------------------------


def test_gamma_urn_limit() -> None:
    assert th.gamma_urn_limit(0.5) == "equal"
    assert th.gamma_urn_limit(1.0) == "dirichlet"
    assert th.gamma_urn_limit(1.5) == "monopoly"
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            th.gamma_urn_limit(bad)


def test_fitness_urn_exponents() -> None:
    np.testing.assert_allclose(th.fitness_urn_exponents([0.02, 0.05, 0.04]), [0.4, 1.0, 0.8])
    with pytest.raises(ValueError):
        th.fitness_urn_exponents([0.1, 0.0])
    with pytest.raises(ValueError):
        th.fitness_urn_exponents([])


# --------------------------------------------------------------------------------------------
# Branching process cold start
# --------------------------------------------------------------------------------------------


def simulate_poisson_gw(
    rng: np.random.Generator, R: float, n0: int, reps: int, cap: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``reps`` Poisson(R) Galton–Watson processes, generation by generation.

    Returns (extinct, total). With ``cap``, a line reaching ``cap`` alive individuals is
    declared surviving (its extinction probability q**cap is negligible) and stops growing.
    """
    alive = np.full(reps, n0, dtype=np.int64)
    total = alive.copy()
    running = np.ones(reps, dtype=bool)
    for _ in range(10_000):
        if not running.any():
            break
        alive[running] = rng.poisson(R * alive[running])
        total[running] += alive[running]
        running &= alive > 0
        if cap is not None:
            running &= alive < cap
    else:
        raise AssertionError("branching simulation did not finish")
    return alive == 0, total


@pytest.mark.parametrize("R", [0.0, 0.3, 1.0, 1.2, 2.0, 3.0, 10.0])
def test_extinction_probability_fixed_point_and_smallest_root(R: float) -> None:
    q = th.extinction_probability(R)
    assert 0.0 <= q <= 1.0
    assert q == pytest.approx(math.exp(-R * (1 - q)), abs=1e-12)
    # Smallest root: exp(-R(1 - x)) - x > 0 on [0, q).
    grid = np.linspace(0.0, q, 1_000, endpoint=False)
    assert np.all(np.exp(-R * (1 - grid)) - grid > 0)
    if R <= 1:
        assert q == 1.0
    else:
        assert q < 1 / R


def test_extinction_probability_vectorised_and_seeds() -> None:
    Rs = np.array([0.5, 1.5, 2.0])
    q = th.extinction_probability(Rs)
    assert isinstance(q, np.ndarray)
    assert q.shape == (3,)
    assert th.extinction_probability(2.0, n0=3) == pytest.approx(q[2] ** 3)
    with pytest.raises(ValueError):
        th.extinction_probability(-1.0)


@pytest.mark.parametrize(("R", "n0"), [(1.5, 1), (2.0, 1), (3.0, 1), (1.5, 2)])
def test_extinction_probability_matches_simulation(R: float, n0: int) -> None:
    rng = np.random.default_rng(1234)
    reps = 20_000
    extinct, _ = simulate_poisson_gw(rng, R, n0, reps, cap=200)
    q = th.extinction_probability(R, n0=n0)
    assert_within_se(extinct.mean(), math.sqrt(q * (1 - q) / reps), q)


@pytest.mark.parametrize(("R", "n0"), [(0.5, 1), (0.8, 1), (0.8, 5)])
def test_mean_total_reach_matches_simulation(R: float, n0: int) -> None:
    rng = np.random.default_rng(42)
    extinct, total = simulate_poisson_gw(rng, R, n0, 20_000)
    assert extinct.all()
    est, se = mc_mean(total)
    assert_within_se(est, se, th.mean_total_reach(n0, R))


def test_mean_total_reach_rejects_supercritical() -> None:
    assert th.mean_total_reach(3, 0.0) == 3.0
    for R in (1.0, 1.5):
        with pytest.raises(ValueError):
            th.mean_total_reach(1, R)


@pytest.mark.parametrize(("R", "n0"), [(0.3, 1), (0.8, 1), (0.8, 4), (0.95, 2)])
def test_borel_tanner_sums_to_one_with_right_moments(R: float, n0: int) -> None:
    n = np.arange(0, 20_000)
    pmf = th.borel_tanner_pmf(n, n0, R)
    assert np.all(pmf[:n0] == 0.0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-10)
    mean = (n * pmf).sum()
    assert mean == pytest.approx(th.mean_total_reach(n0, R), rel=1e-8)
    var = ((n - mean) ** 2 * pmf).sum()
    assert var == pytest.approx(n0 * R / (1 - R) ** 3, rel=1e-6)


@pytest.mark.parametrize(("R", "n0"), [(1.5, 1), (2.0, 3)])
def test_borel_tanner_supercritical_mass_is_extinction_probability(R: float, n0: int) -> None:
    pmf = th.borel_tanner_pmf(np.arange(n0, 5_000), n0, R)
    assert pmf.sum() == pytest.approx(th.extinction_probability(R, n0=n0), abs=1e-10)


def test_borel_tanner_edge_cases() -> None:
    assert th.borel_tanner_pmf(2, 2, 0.0) == 1.0
    assert th.borel_tanner_pmf(3, 2, 0.0) == 0.0
    # n0 = 1 is the Borel distribution: P(T = 1) = exp(-R).
    assert th.borel_tanner_pmf(1, 1, 0.7) == pytest.approx(math.exp(-0.7))
    with pytest.raises(ValueError):
        th.borel_tanner_pmf(1.5, 1, 0.5)


def test_borel_tanner_goodness_of_fit_to_simulation() -> None:
    R, n0, reps = 0.6, 2, 20_000
    rng = np.random.default_rng(2024)
    _, total = simulate_poisson_gw(rng, R, n0, reps)
    # Bins n0, n0+1, ..., last, plus a pooled tail; every expected count >= 5.
    support = np.arange(n0, 400)
    expected = reps * th.borel_tanner_pmf(support, n0, R)
    last = int(support[np.nonzero(expected >= 5)[0][-1]])
    edges = np.arange(n0, last + 1)
    observed = np.array([np.sum(total == k) for k in edges] + [np.sum(total > last)])
    exp_counts = np.append(expected[: edges.size], reps - expected[: edges.size].sum())
    assert stats.chisquare(observed, exp_counts).pvalue > 1e-3


# --------------------------------------------------------------------------------------------
# Bass diffusion
# --------------------------------------------------------------------------------------------

BASS = [(0.03, 0.38), (0.01, 0.5), (0.2, 0.1)]


@pytest.mark.parametrize(("p", "q"), BASS)
def test_bass_cdf_limits_and_monotone(p: float, q: float) -> None:
    assert th.bass_cdf(0.0, p, q) == 0.0
    assert th.bass_cdf(1e4, p, q) == pytest.approx(1.0, abs=1e-12)
    t = np.linspace(0, 60, 2_001)
    F = th.bass_cdf(t, p, q)
    assert np.all(np.diff(F) > 0)
    assert np.all((F >= 0) & (F < 1))
    assert np.all(np.diff(th.bass_cdf(np.linspace(60, 1e3, 100), p, q)) >= 0)


@pytest.mark.parametrize(("p", "q"), BASS)
def test_bass_pdf_is_derivative_and_satisfies_ode(p: float, q: float) -> None:
    t = np.linspace(0.5, 40, 200)
    h = 1e-5
    numeric = (th.bass_cdf(t + h, p, q) - th.bass_cdf(t - h, p, q)) / (2 * h)
    np.testing.assert_allclose(th.bass_pdf(t, p, q), numeric, rtol=1e-6, atol=1e-9)
    F = th.bass_cdf(t, p, q)
    np.testing.assert_allclose(th.bass_pdf(t, p, q), (p + q * F) * (1 - F), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(("p", "q"), [(0.03, 0.38), (0.01, 0.5), (0.1, 0.15)])
def test_bass_peak_time(p: float, q: float) -> None:
    t_star = th.bass_peak_time(p, q)
    assert t_star == pytest.approx(math.log(q / p) / (p + q))
    t = np.linspace(0, 3 * t_star, 300_001)
    t_grid = t[np.argmax(th.bass_pdf(t, p, q))]
    assert abs(t_grid - t_star) <= 2 * (t[1] - t[0])
    assert th.bass_cdf(t_star, p, q) == pytest.approx((q - p) / (2 * q), rel=1e-12)
    assert th.bass_pdf(t_star, p, q) == pytest.approx((p + q) ** 2 / (4 * q), rel=1e-12)


def test_bass_peak_time_is_zero_without_interior_peak() -> None:
    for p, q in [(0.2, 0.1), (0.1, 0.1), (0.05, 0.0)]:
        assert th.bass_peak_time(p, q) == 0.0
        f = th.bass_pdf(np.linspace(0, 50, 500), p, q)
        assert np.all(np.diff(f) <= 1e-15)
    with pytest.raises(ValueError):
        th.bass_peak_time(0.0, 0.3)


def test_bass_discrete_is_exact_without_imitation() -> None:
    t, F = th.bass_discrete(30, 0.07, 0.0, dt=1.0)
    np.testing.assert_allclose(F, th.bass_cdf(t, 0.07, 0.0), rtol=1e-12, atol=1e-15)


def test_bass_discrete_converges_to_continuous_first_order() -> None:
    p, q, T = 0.03, 0.38, 40.0
    errors = []
    for dt in (1.0, 0.1, 0.01):
        t, F = th.bass_discrete(T, p, q, dt)
        assert t.shape == F.shape == (round(T / dt) + 1,)
        assert F[0] == 0.0
        gap = F - th.bass_cdf(t, p, q)
        assert np.all(gap <= 1e-12)  # the stale hazard makes the discrete curve lag
        errors.append(np.abs(gap).max())
    assert errors[-1] < 2e-3
    for coarse, fine in itertools.pairwise(errors):
        assert 5 < coarse / fine < 20  # first order in dt


def test_bass_discrete_initial_condition_and_validation() -> None:
    t, F = th.bass_discrete(5, 0.03, 0.38, dt=0.5, F0=0.2)
    assert F[0] == 0.2
    assert t[-1] == pytest.approx(5.0)
    assert np.all(np.diff(F) > 0)
    with pytest.raises(ValueError):
        th.bass_discrete(5, 0.03, 0.38, dt=0.0)
    with pytest.raises(ValueError):
        th.bass_discrete(5, 0.03, 0.38, F0=1.5)


# --------------------------------------------------------------------------------------------
# Second-price auction
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N", [2, 3, 10])
def test_second_price_matches_monte_carlo(N: int) -> None:
    rng = np.random.default_rng(77)
    values = np.sort(rng.uniform(size=(50_000, N)), axis=1)
    est, se = mc_mean(values[:, -2])
    assert_within_se(est, se, th.second_price_expected_price(N))
    est, se = mc_mean(values[:, -1])
    assert_within_se(est, se, th.expected_winner_value(N))


def test_second_price_closed_forms() -> None:
    assert th.second_price_expected_price(1) == 0.0
    assert th.second_price_expected_price(4) == pytest.approx(0.6)
    assert th.expected_winner_value(4) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        th.second_price_expected_price(0)


# --------------------------------------------------------------------------------------------
# Statistics helpers
# --------------------------------------------------------------------------------------------


def test_mean_ci_basic() -> None:
    ci = th.mean_ci([1.0, 2.0, 3.0, 4.0])
    mean, low, high, n = ci
    assert (mean, n) == (2.5, 4)
    half = stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2
    assert high - mean == pytest.approx(half)
    assert mean - low == pytest.approx(half)
    assert ci.contains(2.5)
    assert not ci.contains(10.0)
    assert th.mean_ci([1.0, 2.0, 3.0], level=0.99).high > th.mean_ci([1.0, 2.0, 3.0]).high
    for bad in ([1.0], [1.0, math.nan]):
        with pytest.raises(ValueError):
            th.mean_ci(bad)
    with pytest.raises(ValueError):
        th.mean_ci([1.0, 2.0], level=1.0)


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_mean_ci_coverage(level: float) -> None:
    # For normal data the t-interval is exact, so the hit rate is Binomial(reps, level) / reps.
    rng = np.random.default_rng(31)
    reps, n, mu = 2_000, 8, 3.0
    samples = rng.normal(mu, 2.0, size=(reps, n))
    hits = sum(th.mean_ci(row, level).contains(mu) for row in samples)
    assert_within_se(hits / reps, math.sqrt(level * (1 - level) / reps), level)


def test_proportion_ci_reference_values() -> None:
    # Newcombe (1998), Statist. Med. 17:857-872, Table I, Wilson score method.
    cases = {
        (81, 263): (0.2553, 0.3662),
        (15, 148): (0.0624, 0.1605),
        (0, 20): (0.0, 0.1611),
        (1, 29): (0.0061, 0.1718),
    }
    for (k, n), (low, high) in cases.items():
        ci = th.proportion_ci(k, n)
        assert ci.estimate == k / n
        assert ci.n == n
        assert (round(ci.low, 4), round(ci.high, 4)) == (low, high)


def test_proportion_ci_edges_and_validation() -> None:
    assert th.proportion_ci(0, 10).low == 0.0
    assert th.proportion_ci(10, 10).high == 1.0
    for k in range(11):
        ci = th.proportion_ci(k, 10)
        assert 0.0 <= ci.low <= ci.estimate <= ci.high <= 1.0
    for k, n in [(-1, 10), (11, 10), (1, 0)]:
        with pytest.raises(ValueError):
            th.proportion_ci(k, n)


@pytest.mark.parametrize("n", [20, 50, 100])
def test_proportion_ci_exact_coverage(n: int) -> None:
    # Exact coverage by enumerating k ~ Binomial(n, p); Wilson oscillates around nominal
    # (Brown, Cai & DasGupta 2001), so check its average over p and its worst case.
    k = np.arange(n + 1)
    intervals = [th.proportion_ci(int(i), n) for i in k]
    low = np.array([ci.low for ci in intervals])
    high = np.array([ci.high for ci in intervals])
    ps = np.linspace(0.1, 0.9, 81)
    coverage = np.array([stats.binom.pmf(k, n, p)[(low <= p) & (p <= high)].sum() for p in ps])
    assert 0.94 < coverage.mean() < 0.96
    assert coverage.min() > 0.92


def test_proportion_ci_monte_carlo_coverage() -> None:
    rng = np.random.default_rng(8)
    p, n, reps = 0.3, 200, 4_000
    hits = sum(th.proportion_ci(int(k), n).contains(p) for k in rng.binomial(n, p, size=reps))
    # Exact coverage at (n, p), to compare the simulated hit rate against.
    k = np.arange(n + 1)
    covered = np.array([th.proportion_ci(int(i), n).contains(p) for i in k])
    exact = stats.binom.pmf(k, n, p)[covered].sum()
    assert abs(exact - 0.95) < 0.01
    assert_within_se(hits / reps, math.sqrt(exact * (1 - exact) / reps), exact)
