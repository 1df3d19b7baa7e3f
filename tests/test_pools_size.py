"""Pool quotas that mean the same at every size (``platform.pool_quota``): the quota forms on
scripted categories, the binding diagnostic, byte-identity of the version-1 form, and a
statistical comparison of how often good rooms hold the top pool at two market sizes."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmarks.pool_quota import measure
from simulation import api
from simulation.distribution.interest_feed import tier_quota, waterfill

from conftest import small

CAPS = np.array([0.5, 1.0, 2.0, 4.0, 8.0])


def one_category(r: float, live: int, c: float, form: str, peer_cap: float = 1e9):
    """Room 0 with weight r against ``live - 1`` peers of weight 1 (quota multiple
    ``peer_cap``, default: never binding); 1000 slots. Returns (alloc, cap) of room 0."""
    weight = np.r_[r, np.ones(live - 1)]
    multiple = np.r_[c, np.full(live - 1, peer_cap)]
    cat = np.zeros(live, dtype=np.int64)
    slots, n_live = np.array([1000.0]), np.array([live])
    cap = tier_quota(multiple, slots, n_live, cat, form)
    alloc = waterfill(weight, cap, cat, slots)
    return alloc[0], cap[0]


@pytest.mark.parametrize("live", [2, 3, 7, 30, 170])
@pytest.mark.parametrize("c", [0.5, 1.0, 4.0, 8.0])
def test_size_invariant_quota_binds_exactly_when_weight_exceeds_c_times_the_peers(live, c):
    for r, binds in ((c * 0.98, False), (c * 1.02, True)):
        alloc, cap = one_category(r, live, c, "size_invariant")
        assert (alloc >= cap * (1 - 1e-9)) == binds, (r, live, c)
        uncapped = 1000 * r / (r + live - 1)
        assert alloc == pytest.approx(min(uncapped, cap))


def test_the_fair_share_quota_binds_at_a_threshold_that_moves_with_the_number_of_rooms():
    """Version 1: a top-tier room (c = 8) is never held back among 7 live rooms, however
    good; among 170 it is held back from r = 8 x 169 / 162 = 8.35 on."""
    alloc, cap = one_category(1000.0, 7, 8.0, "fair_share")
    assert cap > 1000 and alloc < cap
    alloc, cap = one_category(8.3, 170, 8.0, "fair_share")
    assert alloc < cap
    alloc, cap = one_category(8.4, 170, 8.0, "fair_share")
    assert alloc == pytest.approx(cap)


def test_fair_share_is_the_version_1_arithmetic_and_a_lone_room_may_take_every_slot():
    rng = np.random.default_rng(0)
    k, n = 5, 40
    cat = rng.integers(0, k, n)
    slots = rng.integers(0, 5000, k).astype(float)
    n_live = np.bincount(cat, minlength=k)
    multiple = CAPS[rng.integers(0, 5, n)]
    old = multiple * (slots / np.maximum(n_live, 1))[cat]
    assert np.array_equal(tier_quota(multiple, slots, n_live, cat, "fair_share"), old)
    for c in CAPS:  # alone in its category: c / c = 1 exactly
        cap = tier_quota(np.array([c]), np.array([777.0]), np.array([1]), np.array([0]),
                         "size_invariant")  # fmt: skip
        assert cap[0] == 777.0


def test_random_categories_every_room_above_c_times_its_peers_mean_is_held_at_its_quota():
    """Water-filling moves what capped rooms cannot take to the others, so a room at or
    below c x its peers' mean weight may be capped too; one above it always is."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        live = int(rng.integers(2, 40))
        w = rng.lognormal(0, 1.5, live)
        c = CAPS[rng.integers(0, 5, live)]
        cat = np.zeros(live, dtype=np.int64)
        cap = tier_quota(c, np.array([1000.0]), np.array([live]), cat, "size_invariant")
        alloc = waterfill(w, cap, cat, np.array([1000.0]))
        peers_mean = (w.sum() - w) / (live - 1)
        above = w > c * peers_mean * (1 + 1e-9)
        assert (alloc[above] >= cap[above] * (1 - 1e-9)).all()
        assert (alloc <= cap * (1 + 1e-12)).all()


def run_tables(quota: str | None, seed: int = 11):
    over = {} if quota is None else {"platform.pool_quota": quota}
    return api.run(small("v1", **over), seed=seed, days=2)


def test_fair_share_named_is_the_default_run_byte_for_byte_and_size_invariant_is_reproducible():
    base, named = run_tables(None), run_tables("fair_share")
    pd.testing.assert_frame_equal(base.streams, named.streams)
    pd.testing.assert_frame_equal(base.ticks, named.ticks)
    a, b = run_tables("size_invariant"), run_tables("size_invariant")
    pd.testing.assert_frame_equal(a.streams, b.streams)
    assert not a.streams.equals(base.streams)  # the quotas changed the allocation


def test_the_capped_diagnostic_marks_only_live_rooms_held_at_their_quota():
    model = api.build_model(small("v1", **{"platform.pool_quota": "size_invariant"}), 3)
    seen = 0
    for _ in range(model.tpd):
        model.step()
        capped = model.policy.capped
        assert not (capped & ~model.live).any()
        seen += int(capped.sum())
    assert seen > 0


SIZES = (10_000, 30_000)
SEEDS = range(6)


@pytest.fixture(scope="module")
def good_rooms_by_size():
    """Good rooms' live ticks on day 1 of 2 under size_invariant quotas, per seed, at two
    sizes of the scale_1m market (benchmarks.pool_quota.measure; 12 runs, about 12 s of
    CPU)."""
    return {v: [measure(v, "size_invariant", seed, 2) for seed in SEEDS] for v in SIZES}


def test_good_rooms_reach_and_hold_the_top_pool_as_often_at_both_sizes(good_rooms_by_size):
    """Welch's t-test over 6 seeds per size: the good rooms' share of live ticks in the top
    tier does not differ between 10^4 and 3 x 10^4 viewers at the 1% level. The share of
    live ticks with a binding quota is printed, not asserted: it is not size-invariant at
    these sizes (about 0.04 against 0.23 when this test was written), because at 10^4 a good
    room is mostly the only live room of its category, and a room alone has no quota under
    size_invariant (docs/MODEL.md, 7.15.4)."""
    top, binding = {}, {}
    for v, rows in good_rooms_by_size.items():
        top[v] = np.array([r["good_tier"][-1] / max(sum(r["good_tier"]), 1) for r in rows])
        binding[v] = np.array([r["good_capped"] / max(sum(r["good_tier"]), 1) for r in rows])
        print(v, "top tier", np.round(top[v], 3), "binding", np.round(binding[v], 3))
    p = stats.ttest_ind(top[SIZES[0]], top[SIZES[1]], equal_var=False).pvalue
    assert p > 0.01, (top, p)
    assert all(0 < t.mean() < 1 for t in top.values())
