"""The vectorised viewer population, with scripted inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulation.config import BehaviourConfig, PopulationConfig
from simulation.population import (
    CHRONOTYPES,
    BucketSearch,
    Population,
    follow_lookup,
    largest,
    row_cumsum,
    sorted_uniforms,
)


def make(n=2000, k=4, streams=10, seed=0, **kw):
    return Population(
        PopulationConfig(viewers=n, categories=k, **kw),
        BehaviourConfig(),
        streams,
        np.random.default_rng(seed),
    )


def test_shapes_and_narrow_dtypes():
    p = make()
    assert p.interests.shape == (2000, 4) and p.interests.dtype == np.float32
    assert np.allclose(p.interests.sum(axis=1), 1, atol=1e-5)
    assert p.follow.dtype == np.int32 and p.affinity.dtype == np.float32
    assert p.last_buy_day.dtype == np.int16 and p.need.dtype == bool
    assert p.nbytes() < 2000 * 200


@pytest.mark.parametrize("n", [50, 1000, 100_000])
@pytest.mark.parametrize("share", [0.0005, 0.01, 0.1, 0.124, 0.5, 0.99])
def test_largest_is_the_top_m_of_argpartition(n, share):
    """The sampled-threshold selection returns exactly the full partition's top m (keys
    shaped like the follower seeding's: log-uniform over interest weights, some huge
    negatives from zero weights), whichever of its branches runs."""
    rng = np.random.default_rng(int(n * share * 1000))
    w = rng.dirichlet(np.full(4, 0.3), size=n)[:, 0].astype(np.float32)
    keys = np.log(rng.random(n)) / np.maximum(w, 1e-30)
    m = max(1, round(share * n))
    reference = np.sort(np.argpartition(-keys, m - 1)[:m])
    assert np.array_equal(largest(keys, m), reference)


def test_largest_falls_back_when_the_sample_misleads(monkeypatch):
    """Every sampled key (stride 10) is large, so the sample's cut admits too few
    candidates and the full partition must run; the result is still the exact top m."""
    n, m = 40_960, 100
    keys = np.random.default_rng(3).random(n)
    keys[::10] += 10
    reference = np.sort(np.argpartition(-keys, m - 1)[:m])
    sizes = []
    real = np.argpartition
    monkeypatch.setattr(np, "argpartition", lambda a, k: sizes.append(len(a)) or real(a, k))
    assert np.array_equal(largest(keys, m), reference)
    assert sizes == [n]


@pytest.mark.parametrize("slots", [1, 3, 4, 5, 8])
def test_follow_lookup_matches_a_plain_scan(slots):
    """Slot and affinity of (row, stream) pairs against a per-pair scan of the row, for list
    widths on and off the one-word fast path; a stream listed twice reports its first
    slot."""
    rng = np.random.default_rng(slots)
    rows_n, m = 300, 5000
    follow = np.where(rng.random((rows_n, slots)) < 0.5, rng.integers(0, 20, (rows_n, slots)), -1)
    follow = follow.astype(np.int32)
    affinity = rng.random((rows_n, slots)).astype(np.float32)
    rows = rng.integers(0, rows_n, m)
    streams = rng.integers(0, 20, m)
    slot, aff = follow_lookup(follow, affinity, rows, streams)
    assert slot.dtype == np.int64 and aff.dtype == np.float32
    for i in range(m):
        hits = np.flatnonzero(follow[rows[i]] == streams[i])
        want = hits[0] if len(hits) else -1
        assert slot[i] == want
        assert aff[i] == (affinity[rows[i], want] if want >= 0 else 0)
    assert (slot >= 0).mean() > 0.01  # the fast path sees hits (1 slot: ~2.5%)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    sigma=st.sampled_from([0.0, 0.8, 3.0]),
    zeros=st.floats(0, 0.5),
    max_walk=st.sampled_from([1, 4, 32]),
)
def test_bucket_search_is_searchsorted(seed, n, sigma, zeros, max_walk):
    """Same indices as ``searchsorted(side="right")`` for uneven and tied cumulative sums
    (zero activities), for keys at 0, at the total, on every entry, just beside them and out
    of range, on the bucket path and on the fallback."""
    rng = np.random.default_rng(seed)
    act = rng.lognormal(0, sigma, n).astype(np.float32)
    act[rng.random(n) < zeros] = 0  # ties, and leading zeros (cum[0] = 0)
    act[-1] = max(act[-1], np.float32(1e-3))  # a positive total
    cum = np.cumsum(act, dtype=np.float64)
    total = cum[-1]
    edges = np.arange(n + 1) * (total / n)  # the table's bucket edges (sigma 0: on entries)
    keys = np.concatenate(
        [
            np.sort(rng.random(3 * n) * total),
            cum,
            np.nextafter(cum, -np.inf),
            np.nextafter(cum, np.inf),
            edges,
            np.nextafter(edges, -np.inf),
            np.nextafter(edges, np.inf),
            [0.0, total, -1.0, -0.0, 2 * total, np.nextafter(total, np.inf)],
        ]
    )
    search = BucketSearch(cum, max_walk=max_walk)
    search.MIN_KEYS = 0  # the table even for few keys
    got = search(keys)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.searchsorted(cum, keys, side="right"))


@pytest.mark.parametrize("n", [10, 97, 1000, 4099])
@pytest.mark.parametrize("total", [1.0, 0.3, 7.7, 1e6 / 3])
def test_bucket_search_at_the_rounded_bucket_edges(n, total):
    """Entries exactly on the table's edges fl(b x total / n) and keys one ulp below them:
    where ``key / width`` rounds up into the next bucket (the step down in ``__call__``)."""
    edges = np.arange(n + 1) * (total / n)
    cum = np.sort(np.concatenate([edges[1:n], [total]]))
    search = BucketSearch(cum)
    search.MIN_KEYS = 0
    assert search.start is not None
    keys = np.concatenate([np.nextafter(edges, -np.inf), edges, np.nextafter(edges, np.inf)])
    keys = keys[keys >= 0]
    np.testing.assert_array_equal(search(keys), np.searchsorted(cum, keys, side="right"))


def test_bucket_search_uses_its_table_for_even_activities():
    cum = np.cumsum(np.random.default_rng(0).lognormal(-0.32, 0.8, 10_000))
    assert BucketSearch(cum).start is not None  # the bucket path, not the fallback
    assert BucketSearch(cum, max_walk=1).start is None


@pytest.mark.parametrize("shape", [(0, 4), (5, 0), (7, 1), (300, 12)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_cumsum_is_numpys(shape, dtype):
    a = np.random.default_rng(shape[0]).random(shape).astype(dtype)
    got = row_cumsum(a)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.cumsum(a, axis=1))


def test_chronotypes_are_daily_profiles():
    assert np.allclose(CHRONOTYPES.sum(axis=1), 1)
    assert CHRONOTYPES.shape == (4, 24)


def test_sessions_match_expected_rate():
    """Sessions over a day: Poisson total with mean sum(activity); tested over fixed seeds
    with a z-test on the daily total."""
    p = make(n=5000)
    expected = float(p.activity.sum())
    totals = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        totals.append(sum(len(p.draw_sessions(h, 1.0, 1.0, rng)) for h in range(24)))
    z = (np.mean(totals) - expected) / np.sqrt(expected / len(totals))
    assert abs(z) < 4


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_active_viewers_have_more_sessions(seed):
    """Sessions over three days rise with a viewer's activity: one-sided Spearman rank test,
    alpha = 0.001 per seed."""
    p = make(n=4000)
    rng = np.random.default_rng(seed)
    counts = np.zeros(p.n)
    for _ in range(3):
        for h in range(24):
            np.add.at(counts, p.draw_sessions(h, 1.0, 1.0, rng), 1)
    assert stats.spearmanr(p.activity, counts, alternative="greater").pvalue < 1e-3


def test_category_sampling_follows_interests():
    p = make(n=50, k=3)
    p.interests[:] = np.array([0.7, 0.2, 0.1], dtype=np.float32)
    rng = np.random.default_rng(2)
    sess = p.snapshot(np.array([0, 1]))
    slots = np.zeros(30_000, dtype=np.int64)
    cats = sess.sample_categories(slots, 1.0, rng)
    freq = np.bincount(cats, minlength=3) / len(cats)
    assert np.allclose(freq, [0.7, 0.2, 0.1], atol=0.015)
    cats = sess.sample_categories(slots, 0.0, rng)
    assert np.allclose(np.bincount(cats, minlength=3) / len(cats), 1 / 3, atol=0.015)


def test_session_snapshot_matches_population_lookups():
    p = make(n=100, k=4, streams=10)
    rng = np.random.default_rng(5)
    p.add_follows(np.arange(100), rng.integers(0, 10, 100), 0.4)
    viewers = rng.integers(0, 100, 40)
    sess = p.snapshot(viewers)
    rows = rng.integers(0, 40, 500)
    streams = rng.integers(0, 10, 500)
    s1, a1 = sess.lookup(rows, streams)
    s2, a2 = p.lookup(viewers[rows], streams)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(a1, a2)
    cats = rng.integers(0, 4, 500)
    np.testing.assert_array_equal(
        sess.relative_interest(rows, cats), p.relative_interest(viewers[rows], cats)
    )


def test_follow_add_lookup_evict_and_counts():
    p = make(n=3, k=2, streams=20, follow_slots=2)
    v = np.array([0, 0, 1])
    s = np.array([5, 6, 5])
    # one new follow per viewer per call: viewer 0 gets 5, viewer 1 gets 5
    assert p.add_follows(v, s, 0.3) == 2
    assert p.followers[5] == 2
    p.add_follows(np.array([0]), np.array([6]), 0.4)
    slot, aff = p.lookup(np.array([0, 0, 1, 2]), np.array([5, 6, 6, 5]))
    assert (slot >= 0).tolist() == [True, True, False, False]
    assert np.allclose(aff, [0.3, 0.4, 0, 0])
    # full list: a stronger new follow evicts the weakest
    p.add_follows(np.array([0]), np.array([7]), 0.35)
    assert p.followers[5] == 1 and p.followers[7] == 1
    # a weaker one does not
    assert p.add_follows(np.array([0]), np.array([8]), 0.1) == 0
    # following again changes nothing
    assert p.add_follows(np.array([0]), np.array([7]), 0.9) == 0
    assert p.followers.sum() == (p.follow >= 0).sum()


def test_affinity_decay_drops_weak_follows():
    p = make(n=2, k=2, streams=5)
    p.add_follows(np.array([0, 1]), np.array([1, 2]), 0.2)
    slot, _ = p.lookup(np.array([1]), np.array([2]))
    p.change_affinity(np.array([1]), slot, np.float32(0.9), towards_one=True)
    for _ in range(80):  # 0.2 * 0.97**80 < 0.03 < 0.92 * 0.97**80
        p.decay_affinity()
    assert p.followers[1] == 0 and p.followers[2] == 1
    assert p.followers.sum() == (p.follow >= 0).sum()


def test_needs_arrive_at_the_configured_rate_and_expire():
    p = make(n=20_000, k=2, need_rate=0.1, need_lifetime_days=1e9)
    rng = np.random.default_rng(3)
    p.arrive_needs(rng)
    rate = p.need.mean()
    # hazard = need_rate * K * interest, averaged: 1 - E[exp(-0.2 x)] <= 0.1
    expected = float(np.mean(1 - np.exp(-0.1 * 2 * p.interests)))
    assert rate == pytest.approx(expected, abs=4 * np.sqrt(expected / p.need.size))
    p2 = make(n=1000, k=2, need_rate=0.0, need_lifetime_days=1.0)
    p2.need[:] = True
    p2.arrive_needs(rng)
    assert p2.need.mean() == pytest.approx(np.exp(-1), abs=0.03)


@pytest.mark.parametrize("repeat", [True, False])
def test_needs_in_blocks_equal_the_whole_array_draws(repeat):
    """arrive_needs works in row blocks; with blocks that do not divide N it must leave the
    same needs and the same generator state as drawing each (N, K) array at once."""
    p = make(n=1003, k=5, need_rate=0.05, need_lifetime_days=3.0, repeat_needs=repeat)
    rng = np.random.default_rng(4)
    p.need[:] = rng.random(p.need.shape) < 0.3
    p.adopted[:] = rng.random(p.adopted.shape) < 0.2
    p.adopters[:] = p.adopted.sum(axis=0)
    need, c = p.need.copy(), p.cfg
    ref_rng, rng = np.random.default_rng(5), np.random.default_rng(5)
    expire = ref_rng.random(need.shape, dtype=np.float32) < np.float32(
        1 - np.exp(-1 / c.need_lifetime_days)
    )
    need &= ~expire
    rate = (
        np.float32(c.need_rate * 1.5 * p.k) * p.interests
        + np.float32(c.need_word_of_mouth) * (p.adopters / p.n).astype(np.float32)[None, :]
    )
    arrive = ref_rng.random(need.shape, dtype=np.float32) < 1 - np.exp(-rate)
    if not repeat:
        arrive &= ~p.adopted
    need |= arrive
    p.arrive_needs(rng, lift=1.5, rows=64)
    assert np.array_equal(p.need, need)
    assert rng.random() == ref_rng.random()


def test_purchases_satisfy_needs_and_satiate():
    p = make(n=5, k=2, repeat_needs=False, need_rate=1.0)
    p.need[:] = True
    p.record_purchases(np.array([0, 0, 1]), np.array([1, 1, 0]), day=3)
    assert not p.need[0, 1] and not p.need[1, 0] and p.need[0, 0]
    assert p.adopters.tolist() == [1, 1]
    sat = p.satiation(np.array([0, 0]), np.array([1, 0]), day=3)
    assert sat[0] < 0.1 and sat[1] == 1.0
    p.need[:] = False
    p.arrive_needs(np.random.default_rng(0))
    assert not p.need[0, 1] and not p.need[1, 0]  # adopters get no new needs


def test_needs_block_size_must_be_positive():
    with pytest.raises(ValueError, match="rows must be at least 1"):
        make(n=10).arrive_needs(np.random.default_rng(0), rows=0)


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_sorted_uniforms_ascend_within_the_unit_interval(n):
    x = sorted_uniforms(n, np.random.default_rng(n))
    assert x.shape == (n,) and x.dtype == np.float64
    assert np.all(np.diff(x) >= 0) and np.all((x >= 0) & (x <= 1))


@pytest.mark.parametrize("n", [1, 7, 200])
def test_sorted_uniforms_are_uniform_order_statistics(n):
    """400 draws from one fixed seed: the pooled values are uniform, and the j-th smallest
    is Beta(j, n + 1 - j) for the smallest, middle and largest j (Kolmogorov-Smirnov, alpha =
    0.001 per test); the first of n unsorted uniforms fails the smallest's test (power)."""
    rng = np.random.default_rng(12345)
    draws = np.array([sorted_uniforms(n, rng) for _ in range(400)])
    assert stats.kstest(draws.ravel(), "uniform").pvalue > 0.001
    for j in sorted({1, (n + 1) // 2, n}):
        assert stats.kstest(draws[:, j - 1], stats.beta(j, n + 1 - j).cdf).pvalue > 0.001
    if n > 1:
        plain = rng.random((400, n))
        assert stats.kstest(plain[:, 0], stats.beta(1, n).cdf).pvalue < 0.001
