"""Viewer behaviour on scripted impressions (the rest of the model only supplies state)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulation.behaviour import buy_decisions
from simulation.model import SnowballModel

from conftest import scripted, small


def fresh_model():
    return SnowballModel(small(**{"population.viewers": 20_000}), seed=3)


@pytest.fixture
def model():
    return fresh_model()


def respond(model, imp, requires_need=False, one_order=False, seed=0):
    """Impressions whose ``session`` is the index of its viewer in a snapshot of everyone."""
    pop = model.population
    sessions = pop.snapshot(np.arange(pop.n))
    imp.session = imp.viewer.copy()
    return model.behaviour.respond(
        imp, sessions, pop, 0, 1.0, requires_need, one_order, np.random.default_rng(seed)
    )


def test_no_hook_no_entries(model):
    model.table.hook[:] = 0.0
    model.behaviour.refresh()
    out = respond(model, scripted(np.arange(5000), 0))
    assert not out.entered.any() and not out.bought.any() and out.dwell.sum() == 0


def test_fans_enter_and_buy_more_through_affinity(model):
    """Same stream, same item mix; half the viewers hold affinity 0.8. Two-proportion z-test
    on entries and on orders per impression, one-sided, alpha = 0.001."""
    pop = model.population
    v = np.arange(20_000)
    fans = v[::2]
    pop.follow[:] = -1
    pop.add_follows(fans, np.zeros(len(fans), np.int64), 0.8)
    model.table.persuasion[0] = 0.08
    imp = scripted(np.concatenate([v, v]), 0)
    out = respond(model, imp)
    is_fan = np.isin(imp.viewer, fans)
    assert np.array_equal(out.is_fan, is_fan)
    for x in (out.entered, out.bought):
        p1, p0 = x[is_fan].mean(), x[~is_fan].mean()
        pooled = x.mean()
        se = np.sqrt(pooled * (1 - pooled) * (1 / is_fan.sum() + 1 / (~is_fan).sum()))
        assert (p1 - p0) / se > 3.1


def test_purchase_requires_need_in_the_funnel(model):
    pop = model.population
    pop.need[:] = False
    imp = scripted(np.arange(20_000), 0)
    assert not respond(model, imp, requires_need=True).bought.any()
    pop.need[:, model.table.category[0]] = True
    assert respond(model, imp, requires_need=True).bought.any()


def test_gmv_is_item_price_and_margin_follows_quality(model):
    t, b = model.table, model.behaviour
    t.mix[0] = [1.0, 0.0, 0.0]
    t.persuasion[0] = 0.5
    b.refresh()
    out = respond(model, scripted(np.arange(20_000), 0))
    assert out.bought.sum() > 50
    price = t.price[0] * b.cfg.role_price[0]
    assert np.allclose(out.price[out.bought], price)
    assert np.all(out.price[~out.bought] == 0)
    share = 1 - b.cfg.role_cost[0] - b.cfg.quality_cost * t.quality[0]
    assert np.allclose(out.margin[out.bought], price * share)


def two_streams(model, same_category: bool) -> tuple[int, int]:
    cat = model.table.category
    a = 0
    others = np.flatnonzero((cat == cat[a]) if same_category else (cat != cat[a]))
    return a, int(others[others != a][0])


def respond_in_sessions(model, session_viewer, imp_session, streams, one_order):
    """Impressions (session, stream) where session i belongs to viewer session_viewer[i];
    every stream sells eagerly so that most entrants buy."""
    pop = model.population
    model.table.persuasion[:] = 1.0
    model.behaviour.refresh()
    sessions = pop.snapshot(np.asarray(session_viewer, np.int64))
    imp = scripted(sessions.viewer[imp_session], 0)
    imp.stream = np.asarray(streams, np.int64)
    imp.session = np.asarray(imp_session, np.int64)
    out = model.behaviour.respond(
        imp, sessions, pop, 0, 1.0, False, one_order, np.random.default_rng(0)
    )
    return imp, out


def test_feed_viewer_buys_once_per_category_per_tick_across_sessions():
    """Feed (one_order=False): each viewer has two sessions this tick and each session is
    shown two rooms. Rooms of one category: at most one order per viewer; rooms of two
    categories: two orders happen (the rule is per category, not per viewer)."""
    n = 2000
    session_viewer = np.concatenate([np.arange(n), np.arange(n)])  # sessions i and n + i
    imp_session = np.repeat(np.arange(2 * n), 2)
    for same, check in ((True, lambda per: per.max() == 1), (False, lambda per: per.max() == 2)):
        model = fresh_model()
        a, b = two_streams(model, same)
        imp, out = respond_in_sessions(
            model, session_viewer, imp_session, np.tile([a, b], 2 * n), one_order=False
        )
        per_viewer = np.bincount(imp.viewer, out.bought, minlength=n)
        assert per_viewer.sum() > 100
        assert check(per_viewer), (same, np.bincount(per_viewer.astype(int)))
        per_cat = np.bincount(imp.viewer * 100 + model.table.category[imp.stream], out.bought)
        assert per_cat.max() == 1


def test_funnel_search_ends_at_its_first_purchase():
    """Funnel (one_order=True): one session shown rooms of two categories buys at most once,
    and it is the first position bought at; without the rule, some sessions buy twice."""
    n = 4000
    a, b = two_streams(fresh_model(), same_category=False)
    imp_session = np.repeat(np.arange(n), 2)
    streams = np.tile([a, b], n)
    args = (np.arange(n), imp_session, streams)
    imp, out = respond_in_sessions(fresh_model(), *args, one_order=True)
    per_session = np.bincount(imp.session, out.bought, minlength=n)
    assert per_session.max() == 1 and per_session.sum() > 200
    _, free = respond_in_sessions(fresh_model(), *args, one_order=False)
    assert np.bincount(imp.session, free.bought, minlength=n).max() == 2
    # The same draws decide who would buy where: the funnel keeps the first of them.
    would = free.bought.reshape(n, 2)
    kept = out.bought.reshape(n, 2)
    assert np.array_equal(kept[:, 0], would[:, 0])
    assert np.array_equal(kept[:, 1], would[:, 1] & ~would[:, 0])


def test_buyers_rate_later_and_ratings_move_the_review_score(model):
    t = model.table
    t.persuasion[0] = 0.5
    t.quality[0] = 0.2
    model.behaviour.refresh()
    out = respond(model, scripted(np.arange(20_000), 0))
    assert len(out.rating_stream) == out.bought.sum() > 0
    assert np.all((out.rating_value >= 0) & (out.rating_value <= 1))
    before = t.review_score[0]
    model.behaviour.apply_ratings(
        model.population, out.rating_viewer, out.rating_stream, out.rating_value
    )
    assert t.review_score[0] < before - 0.5
    assert t.review_score[1] == pytest.approx(before)


def test_buyers_follow_more_than_browsers(model):
    """Buying raises the chance to follow (follow_after_buy): buyers' follow rate against
    that of entrants who did not buy, one-sided two-proportion z-test, alpha = 0.001."""
    pop = model.population
    pop.follow[:] = -1
    pop.followers[:] = 0
    model.table.persuasion[0] = 0.3
    model.behaviour.refresh()
    imp = scripted(np.arange(20_000), 0)
    out = respond(model, imp)
    slot, _ = pop.lookup(imp.viewer, imp.stream)
    follows = slot >= 0
    buyers, browsers = follows[out.bought], follows[out.entered & ~out.bought]
    count, nobs = [buyers.sum(), browsers.sum()], [len(buyers), len(browsers)]
    pooled = sum(count) / sum(nobs)
    z = (count[0] / nobs[0] - count[1] / nobs[1]) / np.sqrt(
        pooled * (1 - pooled) * (1 / nobs[0] + 1 / nobs[1])
    )
    assert stats.norm.sf(z) < 1e-3
    assert pop.followers[0] == follows.sum()


def test_interactions_are_poisson_in_the_streams_dwell(model):
    """MODEL.md 7.6: a stream's interactions in a tick are Poisson with mean
    ``interact_per_minute`` x its dwell minutes (drawn once per stream: the sum of the visits'
    Poisson counts). 300 ticks of 2,000 impressions on each of three streams (seeds 0-299);
    with mu = rate x the stream's dwell that tick, the total over ticks passes an exact
    two-sided Poisson test against the summed mu, and the dispersion statistic
    sum((k - mu)^2 / mu) a two-sided chi-square test with one degree of freedom per draw
    (alpha = 0.001 each). Streams without dwell get no interactions."""
    rate = model.config.behaviour.interact_per_minute
    streams = np.array([0, 1, 2])
    k_all, mu_all = [], []
    for seed in range(300):
        viewers = np.arange(6000)
        imp = scripted(viewers, 0)
        imp.stream = np.repeat(streams, 2000)
        out = respond(model, imp, seed=seed)
        dwell_s = np.bincount(imp.stream, out.dwell, minlength=model.table.n)
        assert out.stream_interactions.shape == (model.table.n,)
        assert (out.stream_interactions[dwell_s == 0] == 0).all()
        k_all.append(out.stream_interactions[streams])
        mu_all.append(rate * dwell_s[streams])
    k, mu = np.concatenate(k_all), np.concatenate(mu_all)
    assert mu.min() > 5
    total = stats.poisson(mu.sum())
    p_total = 2 * min(total.cdf(k.sum()), total.sf(k.sum() - 1))
    assert p_total > 0.001
    chi2 = float(((k - mu) ** 2 / mu).sum())
    dist = stats.chi2(len(k))
    assert 2 * min(dist.cdf(chi2), dist.sf(chi2)) > 0.001


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 400),
    scale=st.sampled_from([1e-6, 1e-3, 0.05, 1.0, 50.0]),
    need_multiplier=st.floats(1.0, 100.0),
    requires_need=st.booleans(),
    intent=st.floats(0.0, 5.0),
)
def test_buy_decisions_equal_evaluating_every_entrant(
    seed, n, scale, need_multiplier, requires_need, intent
):
    """Behaviour's skip of the need and satiation look-ups: the decisions are those of the
    full hazard, and entrants above the bound's probability are not evaluated. Hazards are
    built as respond builds them (base x need term x satiation x intent, satiation float32
    in [0, 1] with exact 1s), with uniforms placed on the decision boundaries too."""
    rng = np.random.default_rng(seed)
    base = rng.exponential(scale, n)
    dwell = rng.exponential(3.0, n)
    need = rng.random(n) < 0.3
    sat = np.where(rng.random(n) < 0.5, 1, rng.random(n)).astype(np.float32)
    no_need = 0.0 if requires_need else 1.0
    hazard = base * np.where(need, need_multiplier, no_need) * sat * intent
    p = 1 - np.exp(-hazard * dwell)
    u = rng.random(n)
    edge = rng.random(n) < 0.2  # uniforms at and next to the probability
    u[edge] = np.nextafter(p[edge], rng.choice([-1.0, 0.0, 2.0], int(edge.sum())))
    seen = []

    def hazard_of(i):
        seen.append(i)
        return hazard[i]

    bound = base * max(need_multiplier, no_need) * intent
    got = buy_decisions(u, dwell, bound, hazard_of)
    np.testing.assert_array_equal(got, u < p)
    (evaluated,) = seen
    assert set(np.flatnonzero(u < p)) <= set(evaluated)
    assert np.all(u[evaluated] < 1 - np.exp(-bound[evaluated] * dwell[evaluated]) + 1e-12)
