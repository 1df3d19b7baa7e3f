"""Platform estimates and the traffic-pool horse race, with scripted counts."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from simulation.config import FeedConfig
from simulation.distribution.interest_feed import (
    audience_precision,
    binomial_inverse,
    uniform_in_category,
    waterfill,
)
from simulation.estimates import Estimator, TrafficPools


def counts(imp, ent, dwell, orders, gmv):
    return {
        "impressions": np.array(imp, float),
        "entries": np.array(ent, float),
        "dwell": np.array(dwell, float),
        "orders": np.array(orders, float),
        "gmv": np.array(gmv, float),
    }


def test_new_stream_starts_at_the_peer_average():
    e = Estimator(3, FeedConfig(prior_strength=100), tick_minutes=10)
    e.update(counts([1000, 1000, 0], [100, 300, 0], [150, 450, 0], [5, 15, 0], [500, 1500, 0]))
    r = e.rates()
    p = e.priors()
    assert r["entry"][2] == pytest.approx(p["entry"])
    assert r["entry"][0] < p["entry"] < r["entry"][1]
    v = e.value(r)
    assert v[2] == pytest.approx(1.0) and v[0] < 1 < v[1]


def test_more_evidence_moves_estimates_further_from_prior():
    e = Estimator(2, FeedConfig(prior_strength=100), tick_minutes=10)
    e.update(counts([50, 5000], [25, 2500], [25, 2500], [0, 0], [0, 0]))
    e.total = dict.fromkeys(Estimator.FIELDS, 0.0)  # prior = built-in defaults
    r = e.rates()
    assert r["entry"][0] < r["entry"][1] < 0.5 + 1e-12


def test_counters_decay_with_half_life():
    e = Estimator(1, FeedConfig(estimator_half_life_minutes=30), tick_minutes=10)
    e.update(counts([8], [8], [8], [8], [8]))
    for _ in range(3):
        e.update(counts([0], [0], [0], [0], [0]))
    assert e.c["impressions"][0] == pytest.approx(4.0)


def test_horse_race_promotes_top_and_demotes_bottom():
    pools = TrafficPools(FeedConfig(promote_percentile=0.7, demote_percentile=0.3), 1)
    tier = np.array([1, 1, 1, 1, 1, 1])
    live = np.array([True] * 5 + [False])
    value = np.array([0.1, 0.5, 1.0, 1.5, 2.0, 9.0])
    pools.rerank(tier, live, np.zeros(6, int), value, np.full(6, 100.0))
    # percentiles 0, .25, .5, .75, 1: two demoted, two promoted; off-air stream untouched
    assert tier.tolist() == [0, 0, 1, 2, 2, 1]


def test_thinly_judged_streams_stay_put():
    pools = TrafficPools(FeedConfig(min_window_impressions=0.5), 1)
    tier = np.array([2, 2, 2])
    pools.rerank(
        tier,
        np.ones(3, bool),
        np.zeros(3, int),
        np.array([0.1, 5.0, 1.0]),
        np.array([1.0, 500.0, 1.0]),
    )
    assert tier.tolist() == [2, 2, 2]  # only one stream had enough impressions


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.just(0.0), st.floats(1e-6, 10)), st.floats(0, 50), st.integers(0, 2)
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.floats(0, 100), min_size=3, max_size=3),
)
def test_waterfill_respects_caps_and_proportions(rows, totals):
    w = np.array([r[0] for r in rows])
    cap = np.array([r[1] for r in rows])
    g = np.array([r[2] for r in rows])
    total = np.array(totals)
    alloc = waterfill(w, cap, g, total)
    assert np.all(alloc >= -1e-9) and np.all(alloc <= cap + 1e-6)
    per = np.bincount(g, alloc, minlength=3)
    assert np.all(per <= total + 1e-6)
    for k in range(3):
        members = (g == k) & (w > 0)
        if not members.any():
            continue
        uncapped = members & (alloc < cap - 1e-6)
        if uncapped.any():
            # anything left over means every member is capped; otherwise the total is used
            assert per[k] == pytest.approx(total[k], rel=1e-6, abs=1e-6)
            ratio = alloc[uncapped] / w[uncapped]
            assert np.allclose(ratio, ratio[0], rtol=1e-6)


def test_waterfill_reference_case():
    alloc = waterfill(
        np.array([1.0, 1.0, 2.0]), np.array([10.0, 1.0, 10.0]), np.zeros(3, int), np.array([9.0])
    )
    assert np.allclose(alloc, [8 / 3, 1.0, 16 / 3])


def test_audience_precision_grows_with_fans():
    p = audience_precision(np.array([0.0, 100.0, 1e6]), 100.0)
    assert p[0] == 0 and p[1] == pytest.approx(0.5) and 0.99 < p[2] < 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 10), st.integers(0, 3)), min_size=1, max_size=15),
    st.integers(0, 2**32 - 1),
)
@example(rows=[(5e-324, 0), (1e-323, 0)], seed=0)  # subnormal total: m / total overflows
def test_alias_tables_sample_in_proportion_to_weight(rows, seed):
    """Exact check: the alias rule's implied probability of each member equals its share,
    without an overflow or invalid value (weights that sum to a subnormal number included)."""
    from simulation.distribution.interest_feed import alias_tables

    rows = sorted(rows, key=lambda r: r[1])
    w = np.array([r[0] for r in rows])
    g = np.array([r[1] for r in rows])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        prob, alias = alias_tables(w, g, 4)
    counts = np.bincount(g, minlength=4)
    totals = np.bincount(g, w, minlength=4)
    implied = np.zeros(len(w))
    for i in range(len(w)):
        m = counts[g[i]]
        implied[i] += prob[i] / m
        implied[alias[i]] += (1 - prob[i]) / m
        assert g[alias[i]] == g[i]
    for k in range(4):
        members = g == k
        if members.any() and totals[k] > 0:
            np.testing.assert_allclose(implied[members], w[members] / totals[k], atol=1e-9)


def test_room_memory_carries_a_record_overnight():
    """A room's long-run record is the prior of its window estimate: after a night of no
    traffic the fast counters are empty, yet a converting room still ranks above a room that
    did not convert. Without memory both fall back to the platform average."""
    good = counts([1000, 1000], [200, 200], [600, 600], [40, 2], [4000, 200])
    night = counts([0, 0], [0, 0], [0, 0], [0, 0], [0, 0])
    values = {}
    for days in (7.0, 0.0):
        cfg = FeedConfig(prior_strength=200, room_memory_days=days)
        e = Estimator(2, cfg, tick_minutes=10)
        for _ in range(12):  # two hours live
            e.update(good)
        for _ in range(72):  # twelve hours off air
            e.update(night)
        if days:
            assert e.c["impressions"].max() < 1e-3 * e.long["impressions"].max()
        values[days] = e.value(e.rates())
    assert values[7.0][0] > 1.2 and values[7.0][1] < 0.9
    np.testing.assert_allclose(values[0.0], 1.0, rtol=0.01)  # 2^-12 of the counts remain


def test_room_memory_is_the_prior_not_the_window():
    """A horse-race window (explicit counts) is judged against the platform average only."""
    e = Estimator(2, FeedConfig(room_memory_days=7.0), tick_minutes=10)
    e.update(counts([1000, 1000], [300, 100], [900, 300], [30, 10], [3000, 1000]))
    w = counts([0, 0], [0, 0], [0, 0], [0, 0], [0, 0])
    np.testing.assert_allclose(e.rates(w)["entry"], e.priors()["entry"])
    assert e.rates()["entry"][0] > e.priors()["entry"] > e.rates()["entry"][1]


def _explore(sizes, seed, n=4000):
    count = np.array(sizes)
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    members = np.arange(100, 100 + count.sum())
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, len(sizes), n)
    pick = uniform_in_category(cat, members, start, count, rng.random(len(cat)))
    return count, start, cat, pick - 100  # pick as a position in members


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_uniform_in_category_stays_in_category(sizes, seed):
    """Exploration picks a live stream of the slot's category, or any live stream when none
    of that category is live."""
    if sum(sizes) == 0:
        return
    count, _, cat, pos = _explore(sizes, seed)
    assert np.all((pos >= 0) & (pos < count.sum()))
    has = count[cat] > 0
    cat_of = np.repeat(np.arange(len(sizes)), count)
    assert np.all(cat_of[pos[has]] == cat[has])


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_uniform_in_category_is_uniform(seed):
    """Within a category every member is equally likely, and a slot of a category with no
    member picks uniformly among all members: chi-square goodness of fit per category and
    for the empty-category slots, fixed seeds, alpha = 0.001 / 4 per test (Bonferroni over
    the four tests of a seed)."""
    sizes = [3, 0, 5, 4]
    count, start, cat, pos = _explore(sizes, seed, n=20_000)
    for g in (0, 2, 3):
        obs = np.bincount(pos[cat == g] - start[g], minlength=count[g])
        assert len(obs) == count[g] and stats.chisquare(obs).pvalue > 1e-3 / 4
    fallback = np.bincount(pos[cat == 1], minlength=count.sum())
    assert stats.chisquare(fallback).pvalue > 1e-3 / 4


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 12), min_size=1, max_size=30),
    st.sampled_from([0.0, 1e-9, 0.15, 0.5, 1.0]),
    st.integers(0, 2**32 - 1),
)
def test_binomial_inverse_stays_in_range(n, p, seed):
    """Counts lie in [0, n]; p = 0 gives none and p = 1 all, whatever the uniforms."""
    n = np.array(n)
    u = np.random.default_rng(seed).random(len(n))
    u[::3] = np.nextafter(1.0, 0.0)  # the largest uniform
    u[1::3] = 0.0
    k = binomial_inverse(n, p, u)
    assert k.dtype == np.int64 and np.all((k >= 0) & (k <= n))
    if p == 0.0:
        assert not k.any()
    if p == 1.0:
        assert np.array_equal(k, n)


def _binomial_gof(trials, p_true, p_drawn, seed, size=20_000):
    """Chi-square p-value of Binomial(trials, p_true) counts drawn by inversion with p_drawn
    (cells with expected count below 5 pooled into the last one)."""
    u = np.random.default_rng(seed).random(size)
    k = binomial_inverse(np.full(size, trials), p_drawn, u)
    expected = stats.binom.pmf(np.arange(trials + 1), trials, p_true) * size
    observed = np.bincount(k, minlength=trials + 1).astype(float)
    keep = expected >= 5
    e = np.append(expected[keep], expected[~keep].sum())
    o = np.append(observed[keep], observed[~keep].sum())
    if e[-1] == 0:
        e, o = e[:-1], o[:-1]
    return stats.chisquare(o, e).pvalue


@pytest.mark.parametrize("trials", [1, 5, 8, 20])
def test_binomial_inverse_is_binomial(trials):
    """Chi-square goodness of fit to Binomial(trials, 0.15) over seeds 0-4, 20,000 counts
    each, alpha = 0.001 per test; the same test rejects counts drawn at p = 0.16 (power)."""
    for seed in range(5):
        assert _binomial_gof(trials, 0.15, 0.15, seed) > 0.001
    if trials >= 5:
        assert _binomial_gof(trials, 0.15, 0.16, 0) < 0.001
