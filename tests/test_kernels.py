"""The compiled kernels (simulation/kernels.py) against the numpy reference implementation.

Each test forces the kernel path with the ``kernel`` parameter (never through the size
threshold) on small inputs and requires the same results as the numpy path given the same
random draws: identical arrays (and identical bookings left in the population).
"""

import numpy as np
import pytest

from simulation import kernels
from simulation.auction import second_price_grouped
from simulation.model import SnowballModel
from simulation.population import Sessions

from conftest import small

pytest.importorskip("numba")


def assert_same(a, b):
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)


def test_size_rule_and_force():
    assert not kernels.use(kernels.MIN_SIZE - 1)
    assert kernels.use(kernels.MIN_SIZE) == kernels.available()
    assert kernels.use(10, force=True)
    assert not kernels.use(10**9, force=False)


@pytest.mark.parametrize("sharpness", [1.0, 1.7])
def test_sample_categories(sharpness):
    rng = np.random.default_rng(1)
    k, n_sess = 12, 300
    interests = rng.dirichlet(np.full(k, 0.3), n_sess).astype(np.float32)
    interests[:5] = 0  # degenerate rows: every draw lands on the last category
    sessions = Sessions(np.arange(n_sess), interests, np.empty((n_sess, 0)), np.empty((n_sess, 0)))
    slots = np.repeat(np.arange(n_sess), 7)
    ref = sessions.sample_categories(slots, sharpness, np.random.default_rng(5), kernel=False)
    got = sessions.sample_categories(slots, sharpness, np.random.default_rng(5), kernel=True)
    assert_same(got, ref)


@pytest.mark.parametrize("with_extra", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_auction_broad_kernel(seed, with_extra):
    rng = np.random.default_rng(seed)
    a, c, k = 400, 30, 5
    value = rng.uniform(0, 100, c)
    value[:3] = value[3]  # ties
    category = rng.integers(0, k, c)
    broad = rng.random(c) < 0.6
    bar = rng.uniform(0, 2, c) * (rng.random(c) < 0.5)
    segment = rng.integers(0, k, a)
    interest = rng.exponential(1, (a, k)).astype(np.float32)
    factor = np.clip(interest, 0.05, 20) ** np.float32(0.5)
    allowance = rng.uniform(0, 3, c)
    extra = None
    if with_extra:
        n = int(rng.integers(0, 2 * a))
        extra = (rng.integers(0, a, n), rng.integers(0, c, n))
    batch = rng.integers(0, 3, a)
    participate = rng.random((3, c)) < 0.7
    args = (value, category, broad, bar, segment, interest, factor, allowance, 5.0, extra)
    ref = second_price_grouped(*args, batch, participate, max_rounds=3, kernel=False)
    got = second_price_grouped(*args, batch, participate, max_rounds=3, kernel=True)
    for x, y in zip(got, ref, strict=True):
        assert_same(x, y)


@pytest.fixture(scope="module")
def ticking():
    """A small model stepped into its evening, with a fresh tick's sessions."""
    model = SnowballModel(small(**{"population.viewers": 6000}), seed=4)
    for _ in range(20 * 6):
        model.step()
    pop = model.population
    viewers = pop.draw_sessions(20, model.tph, 1.0, np.random.default_rng(0))
    live = model._live_now(model.day, 20 * 6)
    assert live.any()
    return model, pop.snapshot(viewers), live


def test_free_slots(ticking):
    model, sessions, live = ticking
    feed = model.policy
    n = len(sessions) * 6
    slot_sess = np.repeat(np.arange(len(sessions)), 6)
    cat = np.random.default_rng(3).integers(0, model.population.k, n)
    out = []
    for kernel in (False, True):
        feed.rng = np.random.default_rng(11)
        out.append(feed._free(sessions, slot_sess, cat, live, kernel=kernel))
    ref, got = out
    assert len(ref) > 0
    for f in ("viewer", "stream", "source", "session", "boost", "campaign", "charge"):
        assert_same(getattr(got, f), getattr(ref, f))


def test_follow_channel(ticking):
    model, sessions, live = ticking
    feed, pop = model.policy, model.population
    rng = np.random.default_rng(21)
    reserved = np.full(pop.n, -1, dtype=pop.reserved.dtype)
    some = rng.choice(pop.n, pop.n // 3, replace=False)
    reserved[some] = rng.choice(np.flatnonzero(live), len(some))
    # Some bookings of rooms the viewer already follows (shown once, as followed).
    fans = np.flatnonzero(pop.follow[:, 0] >= 0)[:200]
    reserved[fans] = pop.follow[fans, 0]
    out = []
    for kernel in (False, True):
        pop.reserved[:] = reserved
        feed.rng = np.random.default_rng(22)
        imp, n_follow = feed._follow_channel(sessions, live, kernel=kernel)
        out.append((imp, n_follow, pop.reserved.copy()))
    pop.reserved[:] = -1
    (ref, ref_n, ref_res), (got, got_n, got_res) = out
    assert len(ref) > 0 and (ref.boost > 0).any()
    for f in ("viewer", "stream", "source", "session", "boost", "campaign", "charge"):
        assert_same(getattr(got, f), getattr(ref, f))
    assert_same(got_n, ref_n)
    assert_same(got_res, ref_res)


def test_serve(ticking):
    """The whole interest-feed step (follow channel, slot split, auction, free slots)."""
    model, sessions, live = ticking
    feed, pop = model.policy, model.population
    reserved = pop.reserved.copy()
    out = []
    for kernel in (False, True):
        pop.reserved[:] = reserved
        feed.rng = np.random.default_rng(31)
        out.append((feed.serve(sessions, live, kernel=kernel), pop.reserved.copy()))
    (ref, ref_res), (got, got_res) = out
    assert (ref.source == 1).any() and (ref.source == 2).any()  # paid and follow slots
    for f in ("viewer", "stream", "source", "session", "boost", "campaign", "charge"):
        assert_same(getattr(got, f), getattr(ref, f))
    assert_same(got_res, ref_res)


@pytest.mark.parametrize("funnel", [False, True])
def test_respond(ticking, funnel):
    """Behaviour.respond: every outcome and every population update the same."""
    import copy

    model, sessions, live = ticking
    feed = model.policy
    feed.rng = np.random.default_rng(41)
    imp = feed.serve(sessions, live)
    # Some searches (boosted entries) and some viewers with needs and past purchases.
    imp.boost[::7] += np.float32(1.5)
    out = []
    for kernel in (False, True):
        pop = copy.deepcopy(model.population)
        rng = np.random.default_rng(42)
        pop.need |= rng.random(pop.need.shape) < 0.3
        pop.last_buy_day[rng.random(pop.last_buy_day.shape) < 0.2] = model.day
        res = model.behaviour.respond(
            imp, sessions, pop, model.day + 1, 1.7, funnel, funnel, rng, kernel=kernel
        )
        out.append((res, pop))
    (ref, ref_pop), (got, got_pop) = out
    assert ref.entered.sum() > 100 and ref.bought.any() and ref.is_fan.any()
    for f in ref.__dataclass_fields__:
        assert_same(getattr(got, f), getattr(ref, f))
    for f in ("follow", "affinity", "need", "last_buy_day", "adopted", "adopters", "followers"):
        assert_same(getattr(got_pop, f), getattr(ref_pop, f))


def test_respond_kernels_bitwise(ticking):
    """The kernels' intermediate values (entry logit, mean dwell, hazard factors) bit for bit
    against numpy's expressions in Behaviour.respond (outcomes alone would hide a last-bit
    difference)."""
    model, sessions, live = ticking
    feed, pop, b, t = model.policy, model.population, model.behaviour, model.table
    c = b.cfg
    feed.rng = np.random.default_rng(51)
    imp = feed.serve(sessions, live)
    imp.boost[::5] += np.float32(1.3)
    n, k, s, v = len(imp), pop.k, imp.stream, imp.viewer
    rng = np.random.default_rng(52)
    u, u2 = rng.random(n), rng.random(n)
    # numpy reference (the expressions of Behaviour.respond's numpy path)
    cat = t.category[s]
    z = sessions.relative_interest(imp.session, cat)
    slot, aff = sessions.lookup(imp.session, s)
    role = (u > b.mix_cum[s, 0]).astype(np.int64) + (u > b.mix_cum[s, 1])
    logit = (
        b.logit_hook[s]
        + c.entry_interest_weight * np.log(np.maximum(z, 1e-3))
        + c.entry_affinity_weight * aff
        + b.role_entry[role]
        + imp.boost
    )
    entered = u2 < 1 / (1 + np.exp(-logit))
    e = np.flatnonzero(entered)
    mean_dwell = (
        c.dwell_mean_minutes
        * t.retention[s[e]]
        * pop.patience[v[e]]
        * b.role_dwell[role[e]]
        * (1 + c.dwell_affinity_lift * aff[e])
    )
    h0 = c.buy_hazard_per_minute * (t.persuasion[s[e]] / 0.05) * b.role_appeal[role[e]]
    # kernels
    log_z = np.log(np.maximum(sessions.interests * np.float32(k), 1e-3))
    out = [np.empty(n, d) for d in (np.int16, np.float32, np.int8, np.float32, np.int8, float)]
    kernels.get("entry")(
        s, imp.session, imp.boost, u, t.category, sessions.interests, np.float32(k), log_z,
        sessions.follow, sessions.affinity, b.mix_cum, b.logit_hook, b.role_entry,
        np.float32(c.entry_interest_weight), np.float32(c.entry_affinity_weight), *out,
    )  # fmt: skip
    k_cat, k_z, k_slot, k_aff, k_role, neg = out
    np.testing.assert_array_equal(k_cat, cat)
    assert_same(k_z, z)
    np.testing.assert_array_equal(k_slot, slot)
    assert_same(k_aff, aff)
    np.testing.assert_array_equal(k_role, role)
    assert_same(-neg, logit)
    dtypes = (np.int64,) * 4 + (np.float32,) * 2 + (np.int64,) * 2 + (float,) * 2
    bufs = [np.empty(n, d) for d in (*dtypes, np.float32, float, bool, np.float32)]
    got_entered, m = kernels.get("entrants")(
        np.exp(neg), u2, v, s, k_role, k_aff, k_z, k_slot, k_cat, t.retention, pop.patience,
        b.role_dwell, c.dwell_mean_minutes, np.float32(c.dwell_affinity_lift), b.prices,
        pop.price_sensitivity, t.persuasion, b.role_appeal, pop.need.reshape(-1),
        pop.last_buy_day.reshape(-1), k, *bufs, c.buy_hazard_per_minute,
    )  # fmt: skip
    assert_same(got_entered, entered)
    assert_same(bufs[0][:m], e)
    assert_same(bufs[8][:m], mean_dwell)
    assert_same(bufs[9][:m], b.prices[s[e], role[e]])
    assert_same(bufs[11][:m], h0)
    # the buy draw's exponent from the hazard's factors
    rng = np.random.default_rng(53)
    h0, dwell = h0[:m], rng.exponential(2.0, m)
    price_pow = (bufs[9][:m] / c.reference_price) ** (-pop.price_sensitivity[v[e]])
    z_pow = np.maximum(k_z[e], 1e-3) ** c.buy_interest_weight
    need = rng.random(m) < 0.5
    sat = rng.random(m).astype(np.float32)
    for need_no in (0.0, 1.0):
        hazard = (
            h0
            * np.minimum(4.0, price_pow)
            * z_pow
            * (1 + c.buy_affinity_weight * k_aff[e])
            * np.where(need, c.need_multiplier, need_no)
            * sat
            * 1.7
        )
        got = kernels.get("buy_exponent")(
            h0, price_pow, z_pow, k_aff[e], np.float32(c.buy_affinity_weight), need,
            c.need_multiplier, need_no, sat, 1.7, dwell,
        )  # fmt: skip
        assert_same(got, -hazard * dwell)


def test_record_purchases(ticking):
    """Repeated (viewer, category) pairs adopt and count once, like np.unique."""
    import copy

    model = ticking[0]
    rng = np.random.default_rng(61)
    viewers = rng.integers(0, 50, 400)  # many repeats
    cats = rng.integers(0, model.population.k, 400)
    out = []
    for kernel in (False, True):
        pop = copy.deepcopy(model.population)
        pop.adopted[:10] = True
        pop.record_purchases(viewers, cats, 9, kernel=kernel)
        out.append(pop)
    for f in ("need", "last_buy_day", "adopted", "adopters"):
        assert_same(getattr(out[1], f), getattr(out[0], f))


def test_tally(ticking):
    """Model._tally: the per-stream and per-campaign sums of a served and answered tick,
    identical with the compiled pass (dtypes included)."""
    import copy

    model, sessions, live = ticking
    feed = model.policy
    feed.rng = np.random.default_rng(51)
    imp = feed.serve(sessions, live)
    pop = copy.deepcopy(model.population)
    out = model.behaviour.respond(
        imp, sessions, pop, model.day, 1.0, False, False, np.random.default_rng(52)
    )
    assert (imp.source == 1).any() and out.bought.any() and out.is_fan.any()
    ref = model._tally(imp, out, kernel=False)
    got = model._tally(imp, out, kernel=True)
    assert got.keys() == ref.keys()
    for k in ref:
        assert_same(got[k], ref[k])
    assert ref["paid_impressions"].sum() == (imp.source == 1).sum()
