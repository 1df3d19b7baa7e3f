"""Campaigns as platform events (simulation/events.py; docs/MODEL.md 7.12): each event type,
each registration gate, the entry hook, the counters, version 1 with everything switched
off, and byte-identical reruns with events on."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_regression import PINNED, digest

from simulation import api, events
from simulation.config import ConfigError, EventConfig, load_scenario
from simulation.events import EVENT_FIELDS, eligible, featured
from simulation.model import SnowballModel

from conftest import scripted, small

SALE = "calendar.sales.double11"
IP = "calendar.marketing_ips.brand_day"
CAT = "calendar.category_events.beauty"


def model_on_day_1(**overrides) -> SnowballModel:
    """A small model whose events are decided for day 1 (review scores set by the test)."""
    return SnowballModel(small(**overrides), seed=1)


def decide(m: SnowballModel, review: np.ndarray, day: int = 1) -> events.Events:
    """Today's events after setting every room's review score."""
    m.table.review_score[:] = review
    m.events.start_day(day)
    return m.events


# ------------------------------------------------------------------ gates


def test_review_gate_admits_only_rooms_at_or_above_min_review():
    m = model_on_day_1(**{f"{SALE}.days": [1], f"{SALE}.boost": 3.0})
    n = m.table.n
    review = np.linspace(3.5, 5.0, n)
    review[:2] = [4.3, 4.29]  # the gate is inclusive
    ev = decide(m, review)
    expected = review >= 4.3
    np.testing.assert_array_equal(ev.participant, expected)
    np.testing.assert_array_equal(ev.boost, np.where(expected, 3.0, 1.0))
    np.testing.assert_array_equal(m.day_counts["event_participant"], expected.astype(float))
    assert 5 < expected.sum() < n - 5
    # The ranking weight of a room below the gate is not boosted.
    live = np.arange(n)
    boosted = m.policy.stream_weights(live)
    ev.active = False
    plain = m.policy.stream_weights(live)
    np.testing.assert_allclose(boosted / plain, np.where(expected, 3.0, 1.0), rtol=1e-12)


def test_review_gate_switched_off_admits_everyone():
    m = model_on_day_1(**{f"{SALE}.days": [1], f"{SALE}.review_gate": False})
    ev = decide(m, np.full(m.table.n, 1.0))
    assert ev.participant.all() and (ev.boost == 1.5).all()


def test_sales_gate_reads_prior_gmv_against_the_mean_room():
    m = model_on_day_1(
        **{
            f"{SALE}.days": [1],
            f"{SALE}.review_gate": False,
            f"{SALE}.sales_gate": True,
            f"{SALE}.min_sales": 1.0,
            f"{SALE}.sales_window_days": 1,
        }
    )
    n = m.table.n
    gmv = np.zeros(n)
    gmv[:4] = [100.0, 50.0, 10.0, 0.0]  # mean over all rooms: 160 / n
    old = np.full(n, 1e6)  # outside the one-day window: never read
    m.daily_records = [{"gmv": old}, {"gmv": gmv}]
    ev = decide(m, np.full(n, 4.5))
    np.testing.assert_array_equal(ev.participant, gmv >= 160 / n)
    assert ev.participant[:3].all() and not ev.participant[3:].any()


@given(
    review=st.lists(st.floats(1, 5), min_size=1, max_size=30),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_gates_switched_on_admit_a_subset_of_gates_switched_off(review, data):
    n = len(review)
    review = np.asarray(review)
    gmv = np.asarray(data.draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n)))
    open_to = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    on = EventConfig(review_gate=True, sales_gate=True, min_review=4.0, min_sales=1.0)
    off = EventConfig(review_gate=False, sales_gate=False)
    a, b = eligible(review, gmv, on, open_to), eligible(review, gmv, off, open_to)
    assert not (a & ~b).any()  # on is a subset of off
    np.testing.assert_array_equal(b, open_to)  # off admits every room the event is open to
    assert not (a & (review < 4.0)).any()


@given(
    gmv=st.lists(st.floats(0, 1e6), min_size=1, max_size=40),
    cap=st.integers(1, 50),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_featured_are_the_cap_highest_prior_gmv_participants(gmv, cap, data):
    gmv = np.asarray(gmv)
    part = np.asarray(data.draw(st.lists(st.booleans(), min_size=len(gmv), max_size=len(gmv))))
    f = featured(gmv, part, cap)
    assert f.sum() == min(cap, part.sum())
    assert not (f & ~part).any()
    if f.any() and (part & ~f).any():
        assert gmv[f].min() >= gmv[part & ~f].max()


# ------------------------------------------------------------------ entry hook


def test_the_entry_rule_decides_who_of_the_eligible_enters(monkeypatch):
    """The hook for room operators: ENTRY_RULES[entry] is the only entry decision."""
    seen = {}

    def only_room_0(model, name, event, ok):
        seen["name"], seen["eligible"] = name, ok.copy()
        out = np.zeros_like(ok)
        out[0] = True
        return out

    monkeypatch.setitem(events.ENTRY_RULES, "all_eligible", only_room_0)
    m = model_on_day_1(**{f"{SALE}.days": [1]})
    review = np.full(m.table.n, 4.5)
    review[0] = 4.0  # below the gate: the rule cannot let it in
    review[1] = 5.0
    ev = decide(m, review)
    assert seen["name"] == "double11" and not seen["eligible"][0] and seen["eligible"][1]
    assert not ev.participant.any()


# ------------------------------------------------------------------ marketing IP


def test_marketing_ip_features_at_most_its_cap_and_reserves_their_slots():
    m = model_on_day_1(
        **{
            f"{IP}.days": [1],
            f"{IP}.featured_cap": 3,
            f"{IP}.reserved_share": 0.3,
            f"{IP}.boost": 2.0,
        }
    )
    n = m.table.n
    review = np.full(n, 4.5)
    review[5] = 4.0  # below the gate: never featured, whatever its sales
    gmv = np.arange(n, dtype=float)
    gmv[5] = 1e9
    m.daily_records = [{"gmv": gmv}]
    ev = decide(m, review)
    expected = np.zeros(n, dtype=bool)
    expected[[n - 1, n - 2, n - 3]] = True  # the three highest prior GMV that pass
    np.testing.assert_array_equal(ev.featured, expected)
    assert ev.participant.sum() == n - 1  # participants are not all featured: the cap binds
    np.testing.assert_array_equal(ev.boost, np.where(expected, 2.0, 1.0))
    # Reserved slots: each with probability 0.3 when its category has a live featured room.
    k = m.config.population.categories
    live = np.ones(n, dtype=bool)
    live[n - 1] = False  # a featured room off air gets nothing
    cat = np.random.default_rng(0).integers(0, k, 200_000)
    take, rooms = ev.reserve(cat, live, np.random.default_rng(1))
    assert set(rooms.tolist()) <= {n - 2, n - 3}
    np.testing.assert_array_equal(m.table.category[rooms], cat[take])
    has = np.isin(cat, m.table.category[[n - 2, n - 3]])
    share = len(take) / has.sum()
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / has.sum())


def test_marketing_ip_impressions_go_only_to_featured_rooms_in_a_run():
    sc = small(
        **{
            f"{IP}.days": [1],
            f"{IP}.featured_cap": 4,
            f"{IP}.reserved_share": 0.2,
            f"{IP}.review_gate": False,
        }
    )
    s = api.run(sc, seed=2).streams
    for f in EVENT_FIELDS:
        assert s[f].dtype == np.float64
    d0, d1 = s[s.day == 0], s[s.day == 1]
    assert (d0[list(EVENT_FIELDS[:2])] == 0).all().all() and d0.event_impressions.sum() == 0
    assert d1.event_featured.sum() == 4
    assert d1.event_impressions.sum() > 0
    assert (d1.event_impressions[d1.event_featured == 0] == 0).all()
    # Reserved impressions are free impressions.
    assert (d1.event_impressions <= d1.free_impressions).all()


def test_a_room_below_the_review_gate_gets_no_resource_in_a_run():
    sc = small(**{f"{IP}.days": [1], f"{IP}.reserved_share": 0.2, f"{IP}.min_review": 5.0})
    s = api.run(sc, seed=2).streams
    assert s.event_participant.sum() == 0 and s.event_impressions.sum() == 0
    assert (s.event_boost == 1.0).all()


# ------------------------------------------------------------------ category event


def test_category_event_lifts_only_its_category():
    m = model_on_day_1(
        **{
            f"{CAT}.days": [1],
            f"{CAT}.category": 3,
            f"{CAT}.volume_lift": 1.0,
            f"{CAT}.intent_lift": 2.0,
            f"{CAT}.boost": 4.0,
            f"{CAT}.review_gate": False,
        }
    )
    ev = decide(m, np.full(m.table.n, 4.5))
    in_cat = m.table.category == 3
    assert in_cat.any() and (~in_cat).any()
    np.testing.assert_array_equal(ev.participant, in_cat)
    np.testing.assert_array_equal(ev.boost, np.where(in_cat, 4.0, 1.0))
    np.testing.assert_array_equal(ev.need_lift, np.where(np.arange(12) == 3, 2.0, 1.0))
    assert ev.session_lift == 1.0
    streams = np.arange(m.table.n)
    np.testing.assert_array_equal(ev.intent(1.0, streams), np.where(in_cat, 3.0, 1.0))


def test_category_event_need_arrivals_rise_only_in_its_category():
    """The same draws at a higher rate: needs in the category are a superset, the other
    categories' needs are exactly those of the model without the event."""
    over = {"tick_minutes": 60}
    plain = SnowballModel(small(**over), seed=4)
    lifted = SnowballModel(
        small(**over, **{f"{CAT}.days": [1], f"{CAT}.category": 3, f"{CAT}.volume_lift": 2.0}),
        seed=4,
    )
    plain._start_day(1)
    lifted._start_day(1)
    a, b = plain.population.need, lifted.population.need
    others = np.arange(a.shape[1]) != 3
    np.testing.assert_array_equal(a[:, others], b[:, others])
    assert (b[:, 3] >= a[:, 3]).all() and b[:, 3].sum() > 1.5 * a[:, 3].sum()


def test_per_impression_intent_lifts_only_the_impressions_it_names():
    """Behaviour with an intent per impression: the same draws as a scalar where equal; a
    lift on some impressions turns a superset of their entrants into buyers and leaves the
    others as they were."""
    m = SnowballModel(small(**{"population.viewers": 20_000}), seed=5)
    m.table.persuasion[0] = 0.2
    pop = m.population
    everyone = np.arange(pop.n)

    def run(intent):
        p = copy.deepcopy(pop)
        imp = scripted(everyone, 0)
        return m.behaviour.respond(
            imp, p.snapshot(everyone), p, 0, intent, False, False, np.random.default_rng(9)
        ).bought

    scalar = run(3.0)
    np.testing.assert_array_equal(run(np.full(pop.n, 3.0)), scalar)
    half = everyone < pop.n // 2
    mixed = run(np.where(half, 3.0, 1.0))
    plain = run(1.0)
    np.testing.assert_array_equal(mixed[~half], plain[~half])
    assert (mixed[half] >= plain[half]).all() and mixed[half].sum() > plain[half].sum()


# ------------------------------------------------------------------ sale, version 1, reruns


def test_sale_lifts_sessions_intent_and_needs_platform_wide():
    m = model_on_day_1(
        **{f"{SALE}.days": [1], f"{SALE}.volume_lift": 1.0, f"{SALE}.intent_lift": 0.5}
    )
    ev = decide(m, np.full(m.table.n, 4.5))
    assert ev.session_lift == 2.0 and (ev.need_lift == 2.0).all()
    assert ev.intent(1.0, np.arange(m.table.n)) == 1.5
    ev = decide(m, np.full(m.table.n, 4.5), day=0)  # not the sale's day
    assert ev.session_lift == 1.0 and not ev.active and (ev.boost == 1.0).all()


OFF = {
    f"{SALE}.days": [1],
    f"{SALE}.volume_lift": 0.0,
    f"{SALE}.intent_lift": 0.0,
    f"{SALE}.boost": 1.0,
    f"{IP}.days": [0, 1],
    f"{IP}.reserved_share": 0.0,
    f"{IP}.boost": 1.0,
    f"{CAT}.days": [0],
    f"{CAT}.category": 2,
    f"{CAT}.volume_lift": 0.0,
    f"{CAT}.intent_lift": 0.0,
    f"{CAT}.boost": 1.0,
}


@pytest.mark.skipif(int(np.__version__.split(".")[0]) != 2, reason="digests recorded with numpy 2")
def test_every_event_switched_off_is_version_1():
    """Events of every type on their days with every resource at its off value: version 1's
    pinned digest (the new columns are added; none of version 1's counts move)."""
    assert digest("v1", OFF) == PINNED["v1"]


def test_reruns_with_events_on_are_byte_identical():
    on = {
        f"{SALE}.days": [1],
        f"{IP}.days": [0, 1],
        f"{IP}.reserved_share": 0.1,
        f"{IP}.review_gate": False,
        f"{CAT}.days": [1],
        f"{CAT}.category": 2,
        f"{CAT}.sales_gate": True,
    }
    a, b = (api.run(small(**on), seed=3) for _ in range(2))
    assert a.streams.equals(b.streams) and a.ticks.equals(b.ticks)
    assert a.streams.event_impressions.sum() > 0
    plain = api.run(small(), seed=3).streams
    assert not plain.gmv.equals(a.streams.gmv)  # the events did something


# ------------------------------------------------------------------ bad values


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"calendar.festivals.x.days": [1]}, "calendar.festivals"),
        ({f"{SALE}.days": [5]}, f"{SALE}.days"),
        ({f"{CAT}.days": [1], f"{CAT}.category": 12}, f"{CAT}.category"),
        ({f"{CAT}.days": [1]}, f"{CAT}.category"),
        ({f"{IP}.reserved_share": 1.5}, f"{IP}.reserved_share"),
        ({f"{IP}.featured_cap": 0}, f"{IP}.featured_cap"),
        ({f"{SALE}.entry": "maybe"}, f"{SALE}.entry"),
        ({f"{SALE}.review_gate": 1}, f"{SALE}.review_gate"),
    ],
)
def test_bad_event_values_are_refused_naming_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        load_scenario("v1", {"days": 3, **overrides})
    assert key in str(err.value) and "\n" not in str(err.value)


def test_the_bass_validation_case_refuses_campaign_events():
    """Sales and category events lift the need rate, which the Bass case reads as p."""
    from simulation import validation

    sc = load_scenario("experiments/validation/bass.toml", {f"{SALE}.days": [0]})
    with pytest.raises(ConfigError, match="campaign events"):
        validation._bass([sc], {"runs": 1}, np.random.SeedSequence(0))


def test_reserved_slots_give_the_same_counts_on_the_compiled_path(monkeypatch):
    """The reserved impressions come before the free ones on both paths of the feed."""
    from simulation import kernels

    if not kernels.available():
        pytest.skip("numba is not installed")
    sc = small(**{f"{IP}.days": [0, 1], f"{IP}.reserved_share": 0.2, f"{SALE}.days": [1]})
    cols = ["free_impressions", "follow_impressions", "entries", "orders", "event_impressions"]
    got = []
    for force in (False, True):
        monkeypatch.setattr(kernels, "FORCE", force)
        got.append(api.run(sc, seed=3).streams[cols].to_numpy())
    np.testing.assert_array_equal(got[0], got[1])
    assert got[0][:, -1].sum() > 0


def test_memory_estimate_counts_the_busiest_days_sales():
    from simulation.footprint import peak_slots_per_viewer

    plain = peak_slots_per_viewer(load_scenario("v1"))
    two_sales = load_scenario(
        "default",
        {
            "calendar.sales.a.days": [1],
            "calendar.sales.b.days": [1, 2],
            "calendar.sales.b.volume_lift": 1.0,
        },
    )
    assert peak_slots_per_viewer(two_sales) == pytest.approx(3.0 * plain)


def counts(overrides: dict) -> np.ndarray:
    """Version 1's integer stream-day counts of a 5-day small run (ratings, 3 days late,
    have moved review scores apart by day 4)."""
    s = api.run(small(**{"days": 5, **overrides}), seed=11).streams
    return s[["free_impressions", "entries", "orders", "followers", "pool_tier"]].to_numpy()


def test_a_default_sale_is_version_1s_campaign_day():
    """The sale with its defaults is the same platform rule as version 1's campaign day
    (volume and intent lifts 0.5, x1.5 for review >= 4.3): the same counts, draw for draw,
    at the default bar and at another; switching its review gate off changes the run."""
    for bar in (4.3, 4.5):
        legacy = counts({"calendar.campaign_days": [4], "calendar.min_review": bar})
        sale = counts({f"{SALE}.days": [4], f"{SALE}.min_review": bar})
        np.testing.assert_array_equal(sale, legacy)
    ungated = counts({f"{SALE}.days": [4], f"{SALE}.min_review": 4.5, f"{SALE}.review_gate": False})
    assert not np.array_equal(ungated, legacy)


def test_every_entry_name_the_config_accepts_has_its_rule():
    from simulation.config import EVENT_ENTRY

    assert set(events.ENTRY_RULES) == set(EVENT_ENTRY)


# ------------------------------------------------------------------ entering costs: discounts


def _capture_outcomes(m: SnowballModel) -> list:
    """Wrap the model's behaviour so every tick's (impressions, outcome) is kept."""
    seen = []
    respond = m.behaviour.respond

    def spy(imp, *args, **kwargs):
        out = respond(imp, *args, **kwargs)
        seen.append((m.day, imp, out))
        return out

    m.behaviour.respond = spy
    return seen


def test_a_discount_cuts_the_participants_prices_not_their_unit_cost():
    """On an event with ``discount`` d every order of a participant is at (1 - d) x a list
    price of its room and its margin is that price less the list price's unit cost; rooms
    the event is not open to, and every room on other days, sell at list prices."""
    d = 0.2
    over = {
        f"{CAT}.days": [1],
        f"{CAT}.category": 0,  # open to the rooms of category 0 only
        f"{CAT}.review_gate": False,
        f"{CAT}.discount": d,
    }
    m = SnowballModel(small(**over), seed=3)
    seen = _capture_outcomes(m)
    m.run_days(2)
    part = m.daily_records[1]["event_participant"].astype(bool)
    assert 0 < part.sum() < m.table.n
    np.testing.assert_array_equal(
        m.daily_records[1]["event_price_factor"], np.where(part, 1 - d, 1.0)
    )
    assert (m.daily_records[0]["event_price_factor"] == 1).all()
    lists = m.behaviour.prices  # (S, roles) list prices
    cost = lists * (1 - m.behaviour.margin_share)  # yuan per unit, whatever the price
    checked = {True: 0, False: 0}
    for day, imp, out in seen:
        b = np.flatnonzero(out.bought)
        s = imp.stream[b]
        discounted = part[s] if day == 1 else np.zeros(len(b), dtype=bool)
        factor = np.where(discounted, 1 - d, 1.0)
        # which role each order was: the list price it is a multiple of
        match = np.isclose(out.price[b, None], factor[:, None] * lists[s], rtol=1e-12)
        assert match.any(axis=1).all()
        role = match.argmax(axis=1)
        np.testing.assert_allclose(
            out.margin[b], out.price[b] - cost[s, role], rtol=1e-9, atol=1e-9
        )
        for flag in (True, False):
            checked[flag] += int((discounted == flag).sum())
    assert checked[True] > 20 and checked[False] > 20


def test_no_discount_leaves_the_model_as_it_was():
    """``discount = 0`` (the default) is the event as before: the same tables byte for byte
    as a run whose event does not name a discount."""
    plain = api.run(small(**{f"{SALE}.days": [1]}), seed=4).streams
    zero = api.run(small(**{f"{SALE}.days": [1], f"{SALE}.discount": 0.0}), seed=4).streams
    assert plain.equals(zero)
    assert (plain.event_price_factor == 1).all()


def test_the_operator_entry_rule_enters_when_the_margin_survives_the_discount():
    """Operator.enters_event: enter when the gross margin share over the last week exceeds
    the discount (then the unit margin after the discount stays positive); no sales yet:
    enter."""
    from simulation.operators import ENTRY_WINDOW_DAYS, RoomDashboard, operator_class

    op = operator_class("capacity_investment")(load_scenario("v1").streams["focal"].operator_params)

    def day(gmv, margin):
        return RoomDashboard(
            day=0, live=True, free_impressions=0, paid_impressions=0, follow_impressions=0,
            entries=0, orders=0, gmv=gmv, margin=margin, ad_spend=0.0, paid_orders=0,
            paid_gmv=0.0, budget=0.0, review_score=4.5, fans=0,
        )  # fmt: skip

    def sale(discount):
        return EventConfig(days=(1,), discount=discount)

    week = [day(1000.0, 150.0)] * ENTRY_WINDOW_DAYS  # margin share 0.15
    assert op.enters_event("s", sale(0.10), week)
    assert not op.enters_event("s", sale(0.20), week)
    assert not op.enters_event("s", sale(0.15), week)  # zero unit margin: no reason to
    # Only the last week counts: older losses are forgotten.
    old = [day(1000.0, -900.0)] * 3
    assert op.enters_event("s", sale(0.10), old + week)
    assert op.enters_event("s", sale(0.5), [day(0.0, 0.0)] * 3)  # nothing sold yet


def test_entry_by_operator_in_a_run():
    """``entry = "operator"``: an acting operator whose room's margin share is below the
    discount stays out (no price cut, no boost); under ``all_eligible`` the same room
    enters; rooms without an acting operator enter either way."""
    base = {
        "days": 3,
        f"{SALE}.days": [2],
        f"{SALE}.review_gate": False,
        f"{SALE}.discount": 0.9,  # above any room's margin share
        "streams.focal.operator": "capacity_investment",
    }
    rows = {}
    for entry in ("all_eligible", "operator"):
        s = api.run(small(**base, **{f"{SALE}.entry": entry}), seed=5).streams
        rows[entry] = s[s.day == 2]
    m = SnowballModel(small(**base), seed=5)
    (focal,) = np.flatnonzero(np.asarray(m.table.group_names)[m.table.group] == "focal")
    on = rows["operator"].set_index("stream")
    every = rows["all_eligible"].set_index("stream")
    assert every.event_participant[focal] == 1 and on.event_participant[focal] == 0
    assert on.event_price_factor[focal] == 1.0
    assert every.event_price_factor[focal] == pytest.approx(0.1)
    others = on.index != focal
    assert (on.event_participant[others] == 1).all()
