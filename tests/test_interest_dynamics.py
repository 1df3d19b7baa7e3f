"""Interest drift and created demand (issue 21, docs/MODEL.md 7.15.2): scripted unit tests of
each mechanism, invariants over random inputs, reruns and the switches-off promise."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation import api
from simulation.config import BehaviourConfig, PlatformConfig, PopulationConfig
from simulation.model import SnowballModel
from simulation.population import CREATED_NEED, LATENT, NO_ORIGIN, Population

from conftest import scripted, small

ON = {"platform.interest_drift": True, "platform.latent_needs": True}


def make(n=200, k=4, seed=0, **platform):
    pf = PlatformConfig(**{"interest_drift": True, "latent_needs": True, **platform})
    return Population(
        PopulationConfig(viewers=n, categories=k),
        BehaviourConfig(),
        5,
        np.random.default_rng(seed),
        pf,
    )


def show(pop, viewers, categories, exposure, entered=(), weight=()):
    """One tick: impression i shows ``categories[i]`` to ``viewers[i]``, one session per
    distinct position in ``viewers`` order (a viewer listed under two sessions gets two)."""
    viewers = np.asarray(viewers, np.int64)
    sessions_viewers, session = np.unique(viewers, return_inverse=True)
    sessions = pop.snapshot(sessions_viewers)
    pop.drift_interests(
        sessions,
        session.astype(np.int64),
        np.asarray(categories, np.int64),
        exposure,
        np.asarray(entered, np.int64),
        np.asarray(weight, np.float64),
    )


# --------------------------------------------------------------------------------------------
# Drift: closed form of the scripted path
# --------------------------------------------------------------------------------------------


def test_a_viewer_shown_only_one_category_follows_the_closed_form():
    """m impressions of c per tick, T ticks, then D days of decay: the gap to c shrinks by
    (1 + m eta)^-T, every other share by the same factor; decay shrinks x - b by (1 - rho)^D."""
    eta, m, ticks, rho, days = 0.003, 5, 40, 0.2, 3
    pop = make(drift_per_impression=eta, drift_decay_per_day=rho)
    v, c = 7, 2
    b = pop.baseline_rows(0, pop.n)[v].astype(np.float64)
    assert np.array_equal(pop.interests[v], b.astype(np.float32))  # starts at the baseline
    for _ in range(ticks):
        show(pop, [v] * m, [c] * m, eta)
    shrink = (1 + m * eta) ** -ticks
    expected = b * shrink
    expected[c] = 1 - (1 - b[c]) * shrink
    assert np.allclose(pop.interests[v], expected, rtol=2e-5, atol=1e-7)
    others = np.arange(pop.n) != v
    assert np.array_equal(pop.interests[others], pop.baseline_rows(0, pop.n)[others])
    for _ in range(days):
        pop.decay_interests(rows=37)
    assert np.allclose(pop.interests[v], b + (1 - rho) ** days * (expected - b), atol=3e-7)


def test_an_entry_adds_its_dwell_weight_and_order_within_a_tick_does_not_matter():
    pop, pop2 = make(seed=1), make(seed=1)
    v = 3
    x = pop.interests[v].astype(np.float64)
    # Two impressions (categories 0 and 1), the second entered with weight 0.04.
    show(pop, [v, v], [0, 1], 0.01, entered=[1], weight=[0.04])
    show(pop2, [v, v], [1, 0], 0.01, entered=[0], weight=[0.04])
    w = np.array([0.01, 0.05, 0, 0])
    assert np.allclose(pop.interests[v], (x + w) / (1 + w.sum()), rtol=1e-6)
    assert np.array_equal(pop.interests, pop2.interests)


def test_a_viewer_with_two_sessions_in_a_tick_gets_one_combined_update():
    pop, ref = make(seed=2), make(seed=2)
    v = 11
    # Sessions: [v, 4, v] (three sessions, v twice) against one session of v with all of it.
    sessions = pop.snapshot(np.array([v, 4, v]))
    pop.drift_interests(
        sessions,
        np.array([0, 0, 1, 2, 2]),
        np.array([1, 1, 0, 3, 1]),
        0.02,
        np.array([3]),
        np.array([0.1]),
    )
    show(ref, [v, v, v, v], [1, 1, 3, 1], 0.02, entered=[2], weight=[0.1])
    show(ref, [4], [0], 0.02)
    assert np.allclose(pop.interests, ref.interests, rtol=1e-6, atol=1e-8)


def test_twins_from_the_draw_match_the_stamped_ones_and_the_draw_is_unchanged():
    """Under drift draw_sessions finds each viewer's twin session without touching the
    interests; it returns the same sessions in the same order as without drift, and the
    drift it leads to equals the stamped fallback's."""
    off = Population(PopulationConfig(viewers=300, categories=5), BehaviourConfig(), 5,
                     np.random.default_rng(9))  # fmt: skip
    pop, ref = make(n=300, k=5, seed=9), make(n=300, k=5, seed=9)
    rng_a, rng_b, rng_c = (np.random.default_rng(1) for _ in range(3))
    viewers = pop.draw_sessions(20, 1, 40.0, rng_a)  # many sessions: repeats certain
    assert np.array_equal(viewers, off.draw_sessions(20, 1, 40.0, rng_b))
    assert np.array_equal(viewers, ref.draw_sessions(20, 1, 40.0, rng_c))
    sessions = pop.snapshot(viewers)
    twin = sessions.twin
    assert twin is not None and np.array_equal(viewers[twin], viewers)
    assert (twin != np.arange(len(viewers))).any()
    for v in np.unique(viewers):  # one twin per viewer
        assert len(np.unique(twin[viewers == v])) == 1
    plain = ref.snapshot(viewers.copy())  # not the drawn array: no twins, stamps instead
    assert plain.twin is None
    rng = np.random.default_rng(2)
    session = rng.integers(0, len(viewers), 3000)
    cats = rng.integers(0, 5, 3000)
    entered = np.flatnonzero(rng.random(3000) < 0.2)
    w = rng.exponential(0.1, len(entered))
    pop.drift_interests(sessions, session, cats, 0.01, entered, w)
    ref.drift_interests(plain, session, cats, 0.01, entered, w)
    # The twins may differ (so may the order in which a repeated viewer's weights are added).
    assert np.allclose(pop.interests, ref.interests, rtol=1e-6, atol=1e-9)
    once = np.unique(viewers)[np.bincount(viewers)[np.unique(viewers)] == 1]
    assert np.array_equal(pop.interests[once], ref.interests[once])


def test_decay_returns_interests_to_the_baseline():
    pop = make(seed=3, drift_decay_per_day=0.5)
    b = pop.baseline_rows(0, pop.n)
    rng = np.random.default_rng(0)
    v = rng.integers(0, pop.n, 2000)
    show(pop, v, rng.integers(0, pop.k, 2000), 0.05)
    gap0 = np.abs(pop.interests - b).max()
    assert gap0 > 0.01
    for _ in range(30):
        pop.decay_interests()
    assert np.abs(pop.interests - b).max() < gap0 * 0.5**30 + 1e-6


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    k=st.integers(1, 12),
    exposure=st.floats(0, 1),
    rho=st.floats(0, 1),
    impressions=st.integers(0, 300),
)
def test_interests_stay_a_distribution(seed, k, exposure, rho, impressions):
    pop = make(n=30, k=k, seed=seed, drift_decay_per_day=rho)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        v = rng.integers(0, pop.n, impressions)
        entered = np.flatnonzero(rng.random(impressions) < 0.3)
        show(
            pop,
            v,
            rng.integers(0, k, impressions),
            exposure,
            entered,
            rng.exponential(1, len(entered)),
        )
        pop.decay_interests(rows=7)
    assert (pop.interests >= 0).all()
    assert np.allclose(pop.interests.sum(axis=1), 1, atol=2e-6)


# --------------------------------------------------------------------------------------------
# Latent needs
# --------------------------------------------------------------------------------------------


def test_an_entry_without_a_purchase_leaves_a_latent_need_unless_one_is_there():
    pop = make(latent_need_prob=1.0)
    pop.need[:] = False
    pop.need[5, 1] = True
    pop.leave_latent_needs(np.array([4, 5, 6]), np.array([1, 1, 2]), np.random.default_rng(0))
    assert pop.origin[4, 1] == LATENT and pop.origin[6, 2] == LATENT
    assert pop.origin[5, 1] == NO_ORIGIN  # a need is there already
    assert (pop.origin != NO_ORIGIN).sum() == 2
    none = make(latent_need_prob=0.0)
    none.leave_latent_needs(np.array([4]), np.array([1]), np.random.default_rng(0))
    assert (none.origin == NO_ORIGIN).all()


def test_latent_needs_expire_after_their_lifetime():
    """Geometric lifetimes: the share left after d days is exp(-d / L); a binomial check at
    alpha = 0.001 on 20,000 latent needs."""
    life, days = 2.5, 3
    pop = make(n=5000, latent_need_lifetime_days=life, latent_search_per_day=0.0)
    pop.need[:] = False
    pop.origin[:] = LATENT
    rng = np.random.default_rng(4)
    for _ in range(days):
        pop.age_latent_needs(rng)
    left = int((pop.origin == LATENT).sum())
    p = np.exp(-days / life)
    n = pop.origin.size
    assert abs(left - n * p) < 3.3 * np.sqrt(n * p * (1 - p))
    assert not pop.need.any()


def test_a_latent_need_becomes_a_need_marked_as_created_and_a_purchase_clears_it():
    pop = make(latent_need_lifetime_days=1e9, latent_search_per_day=1.0)
    pop.need[:] = False
    pop.origin[:] = NO_ORIGIN
    pop.origin[3, 0] = LATENT
    pop.age_latent_needs(np.random.default_rng(0))
    assert pop.need[3, 0] and pop.origin[3, 0] == CREATED_NEED
    need, created = pop.demand_of(np.array([3]), np.array([0]), np.array([0.0], np.float32))
    assert not need[0] and created[0]  # a need content made is created demand, not a need
    pop.record_purchases(np.array([3]), np.array([0]), day=2)
    assert not pop.need[3, 0] and pop.origin[3, 0] == NO_ORIGIN and pop.last_buy_day[3, 0] == 2
    # A created need that expires (arrive_needs) is cleared at the next ageing.
    pop.origin[4, 1] = CREATED_NEED
    pop.age_latent_needs(np.random.default_rng(0))
    assert pop.origin[4, 1] == NO_ORIGIN


def test_orders_are_sorted_by_where_their_demand_came_from():
    pop = make(created_interest_margin=0.5)
    pop.need[:] = False
    pop.origin[:] = NO_ORIGIN
    b = pop.baseline_rows(0, pop.n)
    viewers = np.array([0, 1, 2, 3, 4])
    cats = np.array([0, 0, 0, 0, 0])
    pop.need[0, 0] = True  # exogenous need
    pop.need[1, 0] = True  # exogenous need over a latent one: still a need order
    pop.origin[1, 0] = LATENT
    pop.origin[2, 0] = LATENT  # latent need only: created
    interest = b[viewers, 0].copy()
    interest[3] = 1.6 * b[3, 0]  # drifted above the margin: created
    interest[4] = 1.4 * b[4, 0]  # drifted, but below the margin
    need, created = pop.demand_of(viewers, cats, interest)
    assert need.tolist() == [True, True, False, False, False]
    assert created.tolist() == [False, False, True, True, False]


def _respond(model, imp, requires_need=False, seed=0):
    pop = model.population
    sessions = pop.snapshot(np.arange(pop.n))
    imp.session = imp.viewer.copy()
    return model.behaviour.respond(
        imp, sessions, pop, 0, 1.0, requires_need, False, np.random.default_rng(seed)
    )


def test_a_latent_need_raises_conversion_but_never_opens_the_funnel():
    """Same impressions and draws with and without latent needs in the room's category:
    every purchase without one is also made with one (the hazard is larger, the uniforms
    the same), and more are made; under requires_need a latent need alone buys nothing."""
    outs = {}
    for latent in (False, True):
        model = SnowballModel(small(**{"population.viewers": 20_000}, **{k: True for k in ON}), 3)
        pop = model.population
        c = model.table.category[0]
        pop.need[:] = False
        pop.origin[:] = NO_ORIGIN
        if latent:
            pop.origin[:, c] = LATENT
        model.table.persuasion[0] = 0.2
        imp = scripted(np.arange(20_000), 0)
        outs[latent] = _respond(model, imp)
        assert not _respond(model, scripted(np.arange(20_000), 0), requires_need=True).bought.any()
        if latent:
            assert outs[latent].created_bought.all() and not outs[latent].need_bought.any()
    a, b = outs[False].bought, outs[True].bought
    assert np.array_equal(outs[False].entered, outs[True].entered)
    assert (b | ~a).all() and b.sum() > a.sum() > 20


# --------------------------------------------------------------------------------------------
# The model: switches, reruns, recorded demand and attention
# --------------------------------------------------------------------------------------------


def test_switches_off_keep_no_state_and_draw_nothing():
    model = SnowballModel(small(), 11, days=1)
    state = model.rngs["demand"].bit_generator.state
    model.run_days()
    assert model.population.baseline is None and model.population.origin is None
    assert model.rngs["demand"].bit_generator.state == state
    assert model.category_attention.shape == (0, model.population.k)
    r = api.run(small(), seed=11, days=1)
    assert not any(c.startswith("attention_") for c in r.days.columns)
    assert (r.streams["created_orders"] == 0).all()
    assert (r.streams["need_orders"] <= r.streams["orders"]).all()


@pytest.mark.parametrize("scenario", ["default", "funnel"])
def test_reruns_with_the_switches_on_are_byte_identical(scenario):
    a = api.run(small(scenario), seed=5, days=2, overrides=ON)
    b = api.run(small(scenario), seed=5, days=2, overrides=ON)
    for name in ("streams", "ticks", "days"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.equals(y), name
    assert np.array_equal(a.model.population.interests, b.model.population.interests)
    c = api.run(small(scenario), seed=6, days=2, overrides=ON)
    assert not np.array_equal(a.model.population.interests, c.model.population.interests)


def test_created_and_need_orders_are_parts_of_the_orders_and_attention_is_recorded():
    r = api.run(small(), seed=7, days=3, overrides=ON)
    s = r.streams
    assert (s["need_orders"] + s["created_orders"] <= s["orders"]).all()
    assert s["created_orders"].sum() > 0 and s["need_orders"].sum() > 0
    attention = r.days[[f"attention_{k}" for k in range(r.model.population.k)]].to_numpy()
    assert attention.shape == (3, r.model.population.k)
    assert np.allclose(attention.sum(axis=1), 1, atol=1e-6)
    assert np.array_equal(attention, r.model.category_attention)
    pop = r.model.population
    assert (pop.interests >= 0).all() and np.allclose(pop.interests.sum(axis=1), 1, atol=2e-6)
    assert not np.array_equal(pop.interests, pop.baseline_rows(0, pop.n))  # they moved
    assert ((pop.origin == CREATED_NEED) <= pop.need).all()


def test_latent_needs_turn_into_searches_under_the_funnel():
    """Under the funnel a purchase needs a need: with every entry leaving a latent need and
    every latent need becoming a search the next day, created orders appear; without the
    switch there are none."""
    strong = {
        "platform.latent_needs": True,
        "platform.latent_need_prob": 1.0,
        "platform.latent_search_per_day": 1.0,
    }
    on = api.run(small("funnel_v1"), seed=3, days=3, overrides=strong).streams
    off = api.run(small("funnel_v1"), seed=3, days=3).streams
    assert on["created_orders"].sum() > 0 and off["created_orders"].sum() == 0
    assert (on["need_orders"] + on["created_orders"] == on["orders"]).all()


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 1000),
    exposure=st.floats(0, 0.05),
    per_minute=st.floats(0, 0.1),
    rho=st.floats(0, 1),
    prob=st.floats(0, 1),
    life=st.floats(0.1, 20),
    strength=st.floats(0, 1),
    search=st.floats(0, 1),
)
def test_model_invariants_over_random_demand_settings(
    seed, exposure, per_minute, rho, prob, life, strength, search
):
    ov = {
        **ON,
        "population.viewers": 1500,
        "platform.drift_per_impression": exposure,
        "platform.drift_per_dwell_minute": per_minute,
        "platform.drift_decay_per_day": rho,
        "platform.latent_need_prob": prob,
        "platform.latent_need_lifetime_days": life,
        "platform.latent_need_strength": strength,
        "platform.latent_search_per_day": search,
    }
    model = SnowballModel(small(), seed, days=2, overrides=ov)
    pop = model.population
    for _ in range(2):
        model.run_days(1)
        assert (pop.interests >= 0).all()
        assert np.allclose(pop.interests.sum(axis=1), 1, atol=2e-6)
        assert set(np.unique(pop.origin)) <= {NO_ORIGIN, LATENT, CREATED_NEED}
        assert ((pop.origin == CREATED_NEED) <= pop.need).all()
    for rec in model.daily_records:
        assert (rec["need_orders"] >= 0).all() and (rec["created_orders"] >= 0).all()
        assert (rec["need_orders"] + rec["created_orders"] <= rec["orders"]).all()


@pytest.mark.parametrize("drift", [False, True])
@pytest.mark.parametrize("latent", [False, True])
def test_state_bytes_per_viewer_match_the_footprint_estimate(drift, latent):
    """197 bytes per viewer at K = 12, F = 8 today; + 24 with drift (float16 baseline),
    + 12 with latent needs (uint8 origins): 233 with both, under the issue's 260."""
    from simulation.footprint import viewer_state_bytes

    pf = PlatformConfig(interest_drift=drift, latent_needs=latent)
    pop = Population(PopulationConfig(viewers=5000), BehaviourConfig(), 5,
                     np.random.default_rng(0), pf)  # fmt: skip
    per_viewer = viewer_state_bytes(12, 8, drift, latent)
    assert per_viewer == 197 + 24 * drift + 12 * latent <= 260
    assert 0 <= pop.nbytes() - 5000 * per_viewer <= 16
