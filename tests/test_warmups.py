"""Warm-up videos as content (``platform.warmup_content``, simulation/warmups.py,
docs/MODEL.md 7.19): reach by interest, engagement seeding the go-live estimates, and the
bookings and follows engaged views win. Scripted cases on a small market with one-hour ticks
(the focal room starts at 19:00; its warm-ups run in the ticks of 17:00 and 18:00)."""

import math

import numpy as np
import pytest
from scipy import stats

from simulation.model import SnowballModel
from simulation.warmups import WARMUP_FIELDS, WarmupContent, interest_sample

from conftest import small

N = 10_000
ON = {
    "tick_minutes": 60,
    "population.viewers": N,
    "platform.warmup_content": True,
    "streams.focal.warmup_videos": 2,
    "streams.focal.warmup_reach": 0.05,
    "streams.field.warmup_videos": 0,
    "streams.field_ads.warmup_videos": 0,
}
"""About 2 x 0.05 x 10,000 = 1,000 warm-up views of the focal room (room 0) before it first
goes live; no other room posts warm-ups."""


def clear_follows(pop):
    pop.follow[:] = -1
    pop.affinity[:] = 0
    pop.followers[:] = 0


def until_start(m):
    """Step to the tick before the focal room's first live tick (all its warm-up views)."""
    start = int(m.table.start_tick[0])
    assert m.table.days_on[0, 0] and start >= 2
    for _ in range(start):
        m.step()
    assert not m.live[0]


# ------------------------------------------------------------------ reach by interest


def test_interest_sample_draws_in_proportion_to_the_weights():
    """Unit: 200,000 draws over five weights match the proportions (chi-square goodness of
    fit, p > 0.001) and reject uniform draws (p < 1e-100); all-zero weights draw uniformly."""
    w = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    rng = np.random.default_rng(7)
    idx = interest_sample(w, 200_000, rng)
    counts = np.bincount(idx, minlength=5)
    assert counts[0] == 0
    assert stats.chisquare(counts[1:], 200_000 * w[1:] / w.sum()).pvalue > 1e-3
    assert stats.chisquare(counts, np.full(5, 40_000.0)).pvalue < 1e-100
    flat = np.bincount(interest_sample(np.zeros(4), 40_000, rng), minlength=4)
    assert stats.chisquare(flat).pvalue > 1e-3


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_views_concentrate_on_viewers_interested_in_the_rooms_category(seed, monkeypatch):
    """Per warm-up tick, let q be the share of the tick's session interest (in the focal
    room's category) held by the sessions above the median interest. Views drawn in
    proportion to interest land above the median with probability q; drawn uniformly, with
    1/2. Summed over the ticks (normal approximation of the sum of binomials): the count above
    the median is within 3.5 sd of sum n_t q_t, and more than 5 sd above sum n_t / 2 (for
    each of the five seeds)."""
    captured = []
    engage = WarmupContent._engage

    def spy(self, streams, viewers, cat, rng, z):
        captured.append((streams.copy(), viewers.copy(), int(cat[0])))
        engage(self, streams, viewers, cat, rng, z)

    sessions = []
    step = WarmupContent.step

    def spy_step(self, day, tod, viewers, live, ahead, *rows):
        sessions.append(viewers.copy())
        step(self, day, tod, viewers, live, ahead, *rows)
        if len(captured) < len(sessions):  # no views this tick
            sessions.pop()

    monkeypatch.setattr(WarmupContent, "_engage", spy)
    monkeypatch.setattr(WarmupContent, "step", spy_step)
    m = SnowballModel(small(**ON), seed=seed)
    until_start(m)
    assert len(captured) == 2  # the two warm-up ticks
    interests = m.population.interests
    above = mean = var = half = total = 0.0
    for (streams, chosen, c), viewers in zip(captured, sessions, strict=True):
        assert (streams == 0).all() and c == m.table.category[0]
        w = interests[viewers, c].astype(np.float64)
        med = np.median(w)
        q = w[w > med].sum() / w.sum()
        n = len(chosen)
        above += (interests[chosen, c] > med).sum()
        mean += n * q
        var += n * q * (1 - q)
        half += n / 2
        total += n
    assert total > 600
    assert abs(above - mean) < 3.5 * math.sqrt(var)
    assert (above - half) / math.sqrt(total / 4) > 5


# ------------------------------------------------------------------ seeding at go-live


def first_live_rates(overrides, seed=3):
    """The focal room's entry estimate as the feed reads it in its first live tick, the
    platform priors then, and the warm-up evidence it went live with."""
    m = SnowballModel(small(**overrides), seed=seed)
    until_start(m)
    seen = {}
    serve = m.policy.serve

    def spy(sessions, live, kernel=None):
        seen["entry"] = float(m.rates["entry"][0])
        seen["priors"] = m.estimator.priors()
        return serve(sessions, live, kernel)

    m.policy.serve = spy
    m.step()
    assert m.live[0]
    seeded = {k: float(v[0]) for k, v in m.warmups.seeded.items()}
    return seen, seeded, m


@pytest.mark.parametrize("audience", [False, True])
def test_go_live_entry_estimate_starts_from_the_warmup_engagement(audience):
    """In its first live tick the focal room (no live record yet) has the entry estimate
    (w E + m p) / (w V + m) (v1 estimator) or p (w E + m p) / (w E_hat + m p) (uplift), with
    V views, E engagements, E_hat the baseline's expected engagements, w the evidence
    weight, m the prior strength and p the platform entry rate; with ``warmup_seeding`` off
    it is the prior p. A room whose warm-ups hook (hook 0.3) starts higher than one whose
    warm-ups do not (hook 0.03), both above and below p."""
    base = {**ON, "platform.audience_estimates": audience}
    starts = {}
    for hook in (0.03, 0.3):
        seen, seeded, m = first_live_rates({**base, "streams.focal.hook": hook})
        w, prior = m.config.platform.warmup_evidence_weight, m.config.feed.prior_strength
        p = seen["priors"]["entry"]
        v, e, e_hat = seeded["views"], seeded["engaged"], seeded["expected"]
        assert v > 600 and 0 < e < v
        if audience:
            assert e_hat > 0
            want = p * (w * e + prior * p) / (w * e_hat + prior * p)
        else:
            assert e_hat == 0
            want = (w * e + prior * p) / (w * v + prior)
        assert seen["entry"] == pytest.approx(want, rel=1e-12)
        starts[hook] = (seen["entry"], p)
        off, _, _ = first_live_rates(
            {**base, "streams.focal.hook": hook, "platform.warmup_seeding": False}
        )
        assert off["entry"] == pytest.approx(off["priors"]["entry"], rel=1e-12)
    (low, p_low), (high, p_high) = starts[0.03], starts[0.3]
    assert low < p_low and high > p_high and high > 2 * low


def test_warmup_evidence_decays_like_the_window_counters():
    """After go-live the seeded evidence decays by the counters' per-tick factor each tick."""
    _, seeded, m = first_live_rates(ON)
    w = m.config.platform.warmup_evidence_weight
    assert m.estimator.warm["impressions"][0] == pytest.approx(
        w * seeded["views"] * m.estimator.decay, rel=1e-12
    )
    m.step()
    assert m.estimator.warm["impressions"][0] == pytest.approx(
        w * seeded["views"] * m.estimator.decay**2, rel=1e-12
    )


# ------------------------------------------------------------------ bookings and follows


@pytest.mark.parametrize("seed", [1, 2])
def test_bookings_and_follows_are_counted_and_consistent(seed):
    """Before the focal room first goes live (follows cleared at the start; no other path can
    follow a room that is not live): its followers are exactly its ``warmup_follows``; the
    viewers holding its booking are at most its ``warmup_bookings``; follows, bookings <=
    engagements <= views; and bookings and follows are within 4 sd of Binomial(engagements,
    prob)."""
    m = SnowballModel(small(**ON), seed=seed)
    clear_follows(m.population)
    until_start(m)
    dc = m.day_counts
    views, eng = dc["warmup_views"][0], dc["warmup_engagements"][0]
    book, fol = dc["warmup_bookings"][0], dc["warmup_follows"][0]
    pf = m.config.platform
    assert 0 < eng <= views and book <= eng and 0 < fol <= eng
    assert m.population.followers[0] == fol
    held = (m.population.reserved == 0).sum()
    assert 0 < held <= book
    for count, prob in ((book, pf.warmup_book_prob), (fol, pf.warmup_follow_prob)):
        assert abs(count - eng * prob) <= 4 * math.sqrt(eng * prob * (1 - prob))
    assert {f: dc[f].dtype for f in WARMUP_FIELDS} == dict.fromkeys(WARMUP_FIELDS, np.float64)


def test_certain_bookings_and_follows_match_the_engagements_exactly():
    """With both probabilities 1 every engaged view books (bookings = engagements) and every
    distinct engaged viewer follows (follows = followers = distinct engaged viewers); with
    both 0 there are none, and nobody holds a booking of the room."""
    captured = []
    engage = WarmupContent._engage

    def spy(self, streams, viewers, cat, rng, z):
        z = self.m.population.relative_interest(viewers, cat)
        captured.append((viewers.copy(), z))
        engage(self, streams, viewers, cat, rng, z)

    for prob in (1.0, 0.0):
        captured.clear()
        sc = small(**ON, **{"platform.warmup_book_prob": prob, "platform.warmup_follow_prob": prob})
        m = SnowballModel(sc, seed=4)
        m.warmups._engage = spy.__get__(m.warmups)
        clear_follows(m.population)
        until_start(m)
        dc = m.day_counts
        eng = dc["warmup_engagements"][0]
        assert eng > 50
        if prob:
            assert dc["warmup_bookings"][0] == eng
            assert dc["warmup_follows"][0] == m.population.followers[0] > 0
            # Every follower of the room got a warm-up view of it.
            fans = np.flatnonzero((m.population.follow == 0).any(axis=1))
            seen = np.unique(np.concatenate([v for v, _ in captured]))
            assert np.isin(fans, seen).all()
        else:
            assert dc["warmup_bookings"][0] == dc["warmup_follows"][0] == 0
            assert m.population.followers[0] == 0 and not (m.population.reserved == 0).any()


# ------------------------------------------------------------------ switch


def test_switch_on_without_warmup_videos_changes_nothing_else():
    """With the switch on but no room posting warm-ups, every version-1 day column is the
    same as with it off (no draw, no evidence), and only the switch adds its three fields."""
    sc = {**ON, "days": 1, "streams.focal.warmup_videos": 0}
    on = SnowballModel(small(**sc), seed=5)
    off = SnowballModel(small(**{**sc, "platform.warmup_content": False}), seed=5)
    on.run_days()
    off.run_days()
    a, b = on.daily_records[-1], off.daily_records[-1]
    assert set(a) - set(b) == set(WARMUP_FIELDS) and set(b) <= set(a)
    for k in b:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert off.warmups is None and on.estimator.warm is None
