"""Viewer behaviour on scripted impressions (the rest of the model only supplies state)."""

import numpy as np
import pytest

from simulation.behaviour import FREE, Impressions
from simulation.model import SnowballModel

from conftest import small


def scripted(viewers, stream, session=None):
    n = len(viewers)
    return Impressions(
        np.asarray(viewers, np.int64),
        np.full(n, stream, np.int64),
        np.full(n, FREE, np.int8),
        np.arange(n) if session is None else np.asarray(session),
        np.zeros(n, np.float32),
        np.full(n, -1, np.int64),
        np.zeros(n),
    )


@pytest.fixture
def model():
    return SnowballModel(small(**{"population.viewers": 20_000}), seed=3)


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


def test_one_order_per_session_and_per_category(model):
    model.table.persuasion[:] = 1.0
    model.behaviour.refresh()
    v = np.repeat(np.arange(2000), 5)
    out = respond(model, scripted(v, 0, session=v), one_order=True)
    per_session = np.bincount(v, out.bought)
    assert per_session.max() == 1 and per_session.sum() > 100


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
    pop = model.population
    pop.follow[:] = -1
    pop.followers[:] = 0
    model.table.persuasion[0] = 0.3
    model.behaviour.refresh()
    imp = scripted(np.arange(20_000), 0)
    out = respond(model, imp)
    slot, _ = pop.lookup(imp.viewer, imp.stream)
    follows = slot >= 0
    assert follows[out.bought].mean() > 3 * follows[out.entered & ~out.bought].mean()
    assert pop.followers[0] == follows.sum()
