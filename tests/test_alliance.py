"""Alliance (issue 22, simulation/alliance.py): the product match and the merchant's
traffic x conversion diagnosis.

Scripted tests of the ``alliance_diagnosis`` rule on hand-made days of an alliance room, and
small model runs for what the rule and the switch do in the model: a product the influencer's
audience does not like converts less (a two-proportion test over a fixed list of seeds);
with the switch off the product category changes nothing; a re-match changes what the room
sells from the next day; funding is spent on the alliance room and charged to the merchant's
profit; commission is never negative. The operator contract (tests/test_operator_contract.py)
takes the operator from the registry.
"""

import math

import numpy as np
import pytest

from simulation import api
from simulation.config import OperatorConfig
from simulation.operators import AllianceDiagnosis, AllianceRoomDay

from conftest import small

K = 12


def day(room=5, live=True, entries=200, orders=10, organic=1000, product=0, peer=1000.0, **kw):
    """A day of an alliance room (content category 3, merchant category 0): ``organic``
    free impressions, none paid or by follow."""
    base = dict(
        room=room,
        day=0,
        live=live,
        free_impressions=organic,
        paid_impressions=0,
        follow_impressions=0,
        entries=entries,
        orders=orders,
        product_category=product,
        content_category=3,
        merchant_category=0,
        peer_organic_impressions=peer,
        audience_interest=tuple(2.0 if k == 7 else 1.0 for k in range(K)),
    )
    return AllianceRoomDay(**{**base, **kw})


def operator(**over) -> AllianceDiagnosis:
    cfg = dict(
        assortment=(0, 3, 7),
        conversion_floor=0.03,
        traffic_floor=0.5,
        min_entries=30,
        traffic_budget=400.0,
    )
    return AllianceDiagnosis(OperatorConfig(**{**cfg, **over}))


# ---------------------------------------------------------------- the rule, scripted


def test_low_conversion_rematches_to_the_audiences_top_untried_product():
    op = operator()
    (d,) = op.diagnose([day(entries=200, orders=2)])  # 1 % < 3 %
    assert d.rematched and d.product_category == 7  # the followers like 7 best
    assert d.funding == 0.0  # no paid traffic for a product that does not sell


def test_low_traffic_with_good_conversion_funds_paid_traffic():
    op = operator()
    (d,) = op.diagnose([day(entries=200, orders=20, organic=300, peer=1000.0)])
    assert not d.rematched and d.product_category == 0
    assert d.funding == 400.0


def test_good_traffic_and_conversion_change_nothing():
    op = operator()
    (d,) = op.diagnose([day(entries=200, orders=20, organic=800, peer=1000.0)])
    assert (d.product_category, d.funding, d.rematched) == (0, 0.0, False)


def test_low_conversion_wins_over_low_traffic():
    """Both low: the product is fixed first, no paid traffic is bought for it."""
    (d,) = operator().diagnose([day(entries=100, orders=1, organic=10)])
    assert d.rematched and d.funding == 0.0


def test_too_few_entries_is_no_conversion_evidence():
    (d,) = operator().diagnose([day(entries=29, orders=0, organic=10)])
    assert not d.rematched and d.funding == 400.0  # judged on traffic alone


def test_a_day_off_the_air_keeps_product_and_funding():
    op = operator()
    op.diagnose([day(entries=200, orders=20, organic=100)])  # funded
    (d,) = op.diagnose([day(live=False, entries=0, orders=0, organic=0)])
    assert (d.product_category, d.funding, d.rematched) == (0, 400.0, False)


def test_rematch_returns_to_the_best_measured_product_then_tries_the_rest():
    """0 converts 2 %: try the audience's 7. 7 converts 1 %: back to 0 (measured better).
    0 low again: the untried 3. 3 low too, all tried: the best measured, 0."""
    op = operator()
    seq = []
    product = 0
    for orders in (4, 2, 4, 1):  # of 200 entries a day
        (d,) = op.diagnose([day(entries=200, orders=orders, product=product)])
        product = d.product_category
        seq.append(product)
    assert seq == [7, 0, 3, 0]


def test_without_followers_the_influencers_own_category_comes_first():
    (d,) = operator().diagnose([day(entries=200, orders=1, audience_interest=())])
    assert d.product_category == 3


def test_an_empty_assortment_leaves_only_the_merchants_own_product():
    (d,) = operator(assortment=()).diagnose([day(entries=200, orders=1)])
    assert d.product_category == 0 and not d.rematched and d.funding == 0.0


def test_rooms_are_judged_independently_and_reset_forgets():
    op = operator()
    a, b = op.diagnose([day(room=1, orders=1), day(room=2, orders=20, organic=100)])
    assert a.rematched and not b.rematched and b.funding == 400.0 and a.funding == 0.0
    assert op.tried and op.funding
    op.reset()
    assert vars(op) == vars(operator())


def test_the_merchants_own_room_is_left_as_static_leaves_it():
    op = operator()
    dec = op.decide([])
    assert dec.budget_factor == 1.0 and dec.capacity_investment == 0.0
    assert not op.invests and not op.adjusts_budget


# ---------------------------------------------------------------- the model

BRAND = {
    "streams.brand.kind": "field",
    "streams.brand.count": 1,
    "streams.brand.category": 0,
    "streams.infl.kind": "alliance",
    "streams.infl.count": 6,
    "streams.infl.category": 3,
    "streams.infl.merchant": "brand",
    "streams.infl.hook": [0.10, 0.16],
    "streams.infl.persuasion": [0.05, 0.08],
    "streams.infl.days_per_week": 7,
    "streams.infl.initial_followers": 0.02,
    "economics.profit_accounting": True,
}


def alliance_run(seed: int = 1, days: int = 2, viewers: int = 6000, **over):
    sc = small("v1", **{**BRAND, "population.viewers": viewers, "days": days, **over})
    r = api.run(sc, seed=seed)
    infl = r.streams["stream"].isin(
        np.flatnonzero(r.model.table.group == r.model.table.group_names.index("infl"))
    )
    return r, r.streams[infl]


MATCH_SEEDS = (1, 2, 3, 4, 5)


def test_a_mismatched_product_converts_less_than_a_matched_one():
    """Influencers of category 3 selling a product of category 3 (matched) or 7: over the
    seeds' pooled entries, a one-sided two-proportion z-test at p < 0.001."""
    counts = {}
    for product in (3, 7):
        e = o = 0
        for seed in MATCH_SEEDS:
            _, rows = alliance_run(
                seed,
                **{"alliance.product_match": True, "streams.infl.product_category": product},
            )
            e += rows["entries"].sum()
            o += rows["orders"].sum()
        counts[product] = (o, e)
    (o1, e1), (o2, e2) = counts[3], counts[7]
    p1, p2, pool = o1 / e1, o2 / e2, (o1 + o2) / (e1 + e2)
    z = (p1 - p2) / math.sqrt(pool * (1 - pool) * (1 / e1 + 1 / e2))
    assert z > 3.09, (counts, z)


def test_with_the_switch_off_the_product_category_changes_nothing():
    _, a = alliance_run(**{"streams.infl.product_category": 3})
    _, b = alliance_run(**{"streams.infl.product_category": 7})
    for col in ("entries", "orders", "gmv", "followers"):
        assert (a[col].to_numpy() == b[col].to_numpy()).all(), col
    assert "product_category" not in a.columns


def test_with_the_switch_on_a_matched_product_is_version_1():
    """A product of the room's own category reads the same interest as version 1."""
    _, a = alliance_run(**{"streams.infl.product_category": 3})
    _, b = alliance_run(**{"streams.infl.product_category": 3, "alliance.product_match": True})
    for col in ("entries", "orders", "gmv"):
        assert (a[col].to_numpy() == b[col].to_numpy()).all(), col


DIAGNOSIS = {
    "alliance.product_match": True,
    "streams.infl.product_category": 7,
    "streams.brand.operator": "alliance_diagnosis",
    "streams.brand.operator_params.assortment": [0, 3, 7],
}


def test_the_operator_rematches_in_the_model_from_the_next_day():
    r, rows = alliance_run(
        days=3, **DIAGNOSIS, **{"streams.brand.operator_params.conversion_floor": 1.0}
    )
    assert r.model.behaviour.product_category is r.model.alliance.product_category
    for s, g in rows.groupby("stream"):
        g = g.sort_values("day")
        cats, rem = g["product_category"].to_numpy(), g["alliance_rematch"].to_numpy()
        assert cats[0] == 7 and (rem == 1.0).any(), s
        for d in range(len(g) - 1):  # a re-match at the end of day d shows on day d + 1
            assert (cats[d + 1] != cats[d]) == (rem[d] == 1.0), (s, d)
    assert set(rows["product_category"].unique()) <= {0.0, 3.0, 7.0}
    assert rows["product_category"].dtype == np.float64


def test_funding_is_spent_on_the_alliance_room_and_charged_to_the_merchant():
    over = {
        **DIAGNOSIS,
        "streams.brand.operator_params.conversion_floor": 0.0,  # never re-match
        "streams.brand.operator_params.traffic_floor": 100.0,  # always low traffic
        "streams.brand.operator_params.traffic_budget": 300.0,
    }
    r, rows = alliance_run(days=3, **over)
    brand = int(np.flatnonzero(r.model.table.group == r.model.table.group_names.index("brand"))[0])
    assert (rows["merchant_room"] == brand).all()
    day0 = rows[rows["day"] == 0]
    assert (day0["alliance_funding"] == 0).all() and (day0["ad_spend"] == 0).all()
    later = rows[rows["day"] > 0]
    assert (later["alliance_funding"] == 300.0).all()
    assert later["ad_spend"].sum() > 0
    assert (rows["ad_spend"] <= rows["alliance_funding"] + 1e-6).all()
    # The spend is a cost in the row's profit, and the row's profit is the merchant's.
    terms = ("refunds", "cogs", "platform_fees", "commission", "return_handling")
    rest = rows["gmv"] - sum(rows[t] for t in terms) - rows["host_cost"] - rows["capacity_cost"]
    assert np.allclose(rows["profit"], rest - rows["ad_spend"])
    assert (rows["host_cost"] == 0).all()


@pytest.mark.parametrize("seed", (1, 2))
def test_commission_is_never_negative_and_paid_only_by_rooms_selling_for_a_merchant(seed):
    r, rows = alliance_run(seed, **DIAGNOSIS)
    s = r.streams
    assert (s["commission"] >= 0).all()
    assert np.allclose(rows["commission"], 0.20 * (rows["gmv"] - rows["refunds"]))
    assert rows["commission"].sum() > 0
    own = s[~s["stream"].isin(rows["stream"].unique())]  # rooms selling their own goods
    assert (own["commission"] == 0).all() and (own["gmv"] > 0).any()


def scripted_days(seed: int, n_days: int = 12) -> list[list[AllianceRoomDay]]:
    """Three alliance rooms over ``n_days`` days from a seeded generator: off the air one
    day in six, conversion 0-8 %, organic traffic 0.1-2 x the peers', the product each day
    whatever the operator chose (filled in by :func:`play`)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_days):
        days = []
        for room in (1, 2, 3):
            live = rng.random() >= 1 / 6
            entries = int(rng.integers(0, 400)) if live else 0
            days.append(
                day(
                    room=room,
                    live=live,
                    entries=entries,
                    orders=int(entries * rng.uniform(0, 0.08)),
                    organic=int(1000 * rng.uniform(0.1, 2.0)) if live else 0,
                )
            )
        out.append(days)
    return out


def play(op: AllianceDiagnosis, script: list[list[AllianceRoomDay]]) -> list:
    """Feed ``script`` to ``op``, each room selling the product the operator chose."""
    product = {1: 0, 2: 0, 3: 0}
    decisions = []
    for days in script:
        days = [AllianceRoomDay(**{**vars(d), "product_category": product[d.room]}) for d in days]
        out = op.diagnose(days)
        for d in out:
            product[d.room] = d.product_category
            assert d.funding in (0.0, 400.0) and d.product_category in (0, 3, 7)
        decisions.append(out)
    return decisions


@pytest.mark.parametrize("seed", (1, 2, 3))
def test_diagnose_is_deterministic_and_survives_pickle_and_clone(seed):
    """The contract's promises for :meth:`AllianceDiagnosis.diagnose`, which the registry's
    contract (on ``decide``) does not reach."""
    import pickle

    script = scripted_days(seed)
    first = play(operator(), script)
    assert first == play(operator(), script)
    assert any(d.rematched for ds in first for d in ds)
    assert any(d.funding > 0 for ds in first for d in ds)
    op = operator()
    play(op, script[:6])
    copy = pickle.loads(pickle.dumps(op))
    assert vars(copy) == vars(op)
    assert play(copy, script[6:]) == play(op, script[6:])
    fresh = op.clone()
    assert vars(fresh) == vars(operator()) and play(fresh, script) == first
