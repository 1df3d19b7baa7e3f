"""The whole model: reproducibility, invariants over random scenarios, every strategy x
room operator x policy, and the Python API."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import api
from simulation.ads import AdBudget
from simulation.config import TARGETING
from simulation.distribution import POLICIES
from simulation.model import SnowballModel
from simulation.operators import OPERATORS
from simulation.strategies import STRATEGIES
from simulation.streams import Stream

from conftest import small


def test_agents_are_mesa_agents(small_default):
    m = SnowballModel(small_default, seed=1)
    assert len(m.agents_by_type[Stream]) == m.table.n
    assert len(m.agents_by_type[AdBudget]) == m.campaigns.n > 0
    s = m.stream_agents[0]
    assert s.kind == "field" and s.group == "focal" and s.review_score == 4.5


def test_same_seed_same_tables_different_seed_different(small_default):
    a = api.run(small_default, seed=5)
    b = api.run(small_default, seed=5)
    c = api.run(small_default, seed=6)
    pd.testing.assert_frame_equal(a.ticks, b.ticks)
    pd.testing.assert_frame_equal(a.streams, b.streams)
    assert not a.ticks["gmv"].equals(c.ticks["gmv"])


def check_invariants(res: api.RunResult) -> None:
    sc, tk, st_ = res.scenario, res.ticks, res.streams
    # Impressions by source add up to the slots filled, which never exceed the slots.
    assert (
        tk["free_impressions"] + tk["paid_impressions"] + tk["follow_impressions"]
        == tk["impressions"]
    ).all()
    assert (tk["impressions"] <= tk["sessions"] * sc.population.slots_per_session).all()
    assert (
        st_["impressions"]
        == st_[["free_impressions", "paid_impressions", "follow_impressions"]].sum(axis=1)
    ).all()
    # Funnel: orders <= entries <= impressions; fans are part of the impressions.
    assert (st_["orders"] <= st_["entries"]).all()
    assert (st_["entries"] <= st_["impressions"]).all()
    assert (st_["fan_impressions"] <= st_["impressions"]).all()
    assert (st_["paid_orders"] <= st_["orders"]).all()
    # No negative or missing stocks (ROI is undefined without spend, by definition).
    numeric = st_.drop(columns=["roi", "group", "kind"])
    assert not numeric.isna().any().any()
    signed = ["merchant_room", "margin", "profit"]  # profit: what is left, may be a loss
    assert (numeric.drop(columns=signed, errors="ignore") >= 0).all().all()
    assert not tk.isna().any().any() and (tk >= 0).all().all()
    assert st_.loc[st_["ad_spend"] > 0, "roi"].notna().all()
    assert st_.loc[st_["ad_spend"] == 0, "roi"].isna().all()
    # Spend never exceeds the day's budget.
    assert (st_["ad_spend"] <= st_["budget"] + 1e-6).all()
    # Followers are bounded by viewers and match the follow lists.
    assert (st_["followers"] <= sc.population.viewers).all()
    pop = res.model.population
    assert pop.followers.sum() == (pop.follow >= 0).sum()
    # Shares and Gini in range; tick totals equal stream totals.
    assert tk["gini_gmv"].between(0, 1).all() and tk["gini_impressions"].between(0, 1).all()
    assert math.isclose(tk["gmv"].sum(), st_["gmv"].sum(), rel_tol=1e-9, abs_tol=1e-6)
    assert tk["orders"].sum() == st_["orders"].sum()
    assert math.isclose(tk["ad_spend"].sum(), st_["ad_spend"].sum(), rel_tol=1e-9, abs_tol=1e-6)
    assert st_["pool_tier"].between(0, len(sc.feed.tier_caps) - 1).all()
    assert st_["review_score"].between(1, 5).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    viewers=st.integers(300, 3000),
    policy=st.sampled_from(sorted(POLICIES)),
    strategy=st.sampled_from(sorted(STRATEGIES)),
    operator=st.sampled_from(list(OPERATORS)),
    budget=st.floats(0, 3000),
    targeting=st.sampled_from(TARGETING),
    ad_load=st.floats(0, 0.6),
    campaign_day=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_invariants_hold_in_random_scenarios(
    viewers, policy, strategy, operator, budget, targeting, ad_load, campaign_day, seed
):
    sc = small(
        **{
            "population.viewers": viewers,
            "policy": policy,
            "streams.focal.campaign.strategy": strategy,
            "streams.focal.campaign.daily_budget": budget,
            "streams.focal.campaign.targeting": targeting,
            "streams.field_ads.campaign.daily_budget": budget / 2,
            "streams.field_ads.operator": operator,
            "feed.ad_load": ad_load,
            "calendar.campaign_days": [1] if campaign_day else [],
            "behaviour.run_of_show": OPERATORS[operator].needs_run_of_show,
        }
    )
    check_invariants(api.run(sc, seed=seed))


def test_gmv_is_price_times_orders_for_single_item_rooms():
    sc = small(**{"streams.field.mix": [0.0, 1.0, 0.0], "streams.field.price": 80.0})
    res = api.run(sc, seed=2)
    f = res.streams[res.streams["group"] == "field"]
    assert f["orders"].sum() > 0
    np.testing.assert_allclose(f["gmv"], f["orders"] * 80.0 * sc.behaviour.role_price[1])


def reference_tally(model, imp, out):
    """Model._tally written the plain way: one bincount over every impression per sum."""
    n, n_c = model.table.n, model.campaigns.n
    s, src = imp.stream, imp.source
    paid = src == 1
    ref = {f"{x}_impressions": np.bincount(s[src == c], minlength=n) for c, x in enumerate(
        ("free", "paid", "follow"))}  # fmt: skip
    weights = {
        "fan_impressions": out.is_fan,
        "entries": out.entered,
        "dwell_minutes": out.dwell,
        "orders": out.bought,
        "gmv": out.price,
        "margin": out.margin,
        "ad_spend": imp.charge,
        "fan_orders": out.bought & out.is_fan,
        "fan_gmv": out.price * out.is_fan,
    }
    ref.update({k: np.bincount(s, w, minlength=n) for k, w in weights.items()})
    ref["interactions"] = out.stream_interactions
    ref["paid_orders"] = np.bincount(s[paid], out.bought[paid], minlength=n)
    ref["paid_gmv"] = np.bincount(s[paid], out.price[paid], minlength=n)
    lo = getattr(model.policy, "search_start", n_imp := len(imp))
    search = np.arange(n_imp) >= lo
    ref["search_impressions"] = np.bincount(s[search], minlength=n)
    for k, w in (("orders", out.bought), ("gmv", out.price), ("ad_spend", imp.charge)):
        ref[f"search_{k}"] = np.bincount(s[search], w[search], minlength=n)
    camp = imp.campaign[paid]
    ref["camp_spend"] = np.bincount(camp, imp.charge[paid], minlength=n_c)
    ref["camp_impressions"] = np.bincount(camp, minlength=n_c)
    ref["camp_orders"] = np.bincount(camp, out.bought[paid], minlength=n_c).astype(np.int64)
    ref["camp_gmv"] = np.bincount(camp, out.price[paid], minlength=n_c)
    for k, origin in (("need_orders", out.need_bought), ("created_orders", out.created_bought)):
        per_impression = np.zeros(len(s), dtype=bool)
        per_impression[np.flatnonzero(out.bought)[origin]] = True
        ref[k] = np.bincount(s, per_impression, minlength=n)
    return ref


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_tally_equals_the_plain_bincounts(policy):
    """The accounting sums only over impressions whose weight can be non-zero (entrants,
    buyers, paid slots); every sum must equal the full bincount bit for bit on the ticks of a
    real run (with per-click billing under the funnel), in its documented dtype."""
    model = SnowballModel(small(policy=policy, **{"population.viewers": 2000}), seed=8)
    seen = []
    account = model._account

    def check(imp, out, *args):
        got, ref = model._tally(imp, out), reference_tally(model, imp, out)
        assert got.keys() == ref.keys()
        for k in ref:
            counts = (k.endswith("_impressions") and k != "fan_impressions") or k == "camp_orders"
            assert got[k].dtype == (np.int64 if counts else np.float64), k
            np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
        seen.append((len(imp), float(imp.charge.sum()), int(out.bought.sum())))
        return account(imp, out, *args)

    model._account = check
    model.run_days(1)
    n, spend, orders = np.array(seen).sum(axis=0)
    assert n > 0
    if policy in ("interest_feed", "private_values", "search_funnel", "mixed"):  # ads, sales
        assert spend > 0 and orders > 0


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("operator", list(OPERATORS))
def test_every_strategy_and_operator_under_every_policy(policy, strategy, operator):
    """The smoke test: every strategy x room operator x policy runs two days of a tiny
    market, and what each part says it does shows in the focal room's rows."""
    sc = small(
        **{
            "policy": policy,
            "streams.focal.campaign.strategy": strategy,
            "streams.focal.operator": operator,
            "days": 2,
            "population.viewers": 1000,
            # alliance_diagnosis acts on the alliance rooms that sell the focal room's goods
            **(
                {"streams.alliance.merchant": "focal", "alliance.product_match": True}
                if operator == "alliance_diagnosis"
                else {}
            ),
            "behaviour.run_of_show": OPERATORS[operator].needs_run_of_show,
        }
    )
    res = api.run(sc, seed=11)
    focal = res.streams[res.streams["group"] == "focal"]
    if operator == "alliance_diagnosis":
        sold = res.streams.loc[res.streams["group"] == "alliance", "product_category"]
        assert (sold == focal["category"].iloc[0]).any()  # they start on the merchant's
    assert len(focal) == 2
    if STRATEGIES[strategy].spends:
        assert focal["budget"].iloc[0] > 0
    else:
        assert focal["ad_spend"].sum() == 0 and focal["paid_impressions"].sum() == 0
    persuasion = focal["persuasion"].to_numpy()
    if operator == "capacity_investment" and focal["live"].iloc[0]:
        assert persuasion[1] > persuasion[0]  # day 0's investment works from day 1
    if operator == "static" and strategy != "feedback_gated":
        assert persuasion[1] == persuasion[0]  # nobody invests
    if OPERATORS[operator].adjusts_mix and focal["live"].all():
        s = int(focal["stream"].iloc[0])
        items = res.items[res.items["stream"] == s]
        air = items.pivot(index="day", columns="item", values="airtime_minutes").to_numpy()
        mix = [d.mix for d in res.model.stream_agents[s].dashboards]
        np.testing.assert_allclose(air / air.sum(axis=1, keepdims=True), mix, atol=1e-9)
    assert res.ticks["impressions"].sum() > 0


def test_summary_and_paired_leverage(small_default):
    s = api.run_summary(small_default, seed=4, paired_leverage=True)
    for key in (
        "total_gmv",
        "focal_gmv",
        "focal_final_tier",
        "free_impressions",
        "paid_impressions",
        "follow_impressions",
        "ad_spend",
        "roi",
        "leverage",
        "gini_gmv",
        "top10_share_gmv",
        "took_off",
        "wall_seconds",
    ):
        assert key in s
    assert s["paid_impressions"] > 0 and math.isfinite(s["leverage"])
    assert isinstance(s["took_off"], bool)


def test_without_ads_removes_only_the_group_campaign(small_default):
    sc = api.without_ads(small_default, "focal")
    assert sc.streams["focal"].campaign.strategy == "none"
    assert sc.streams["field_ads"].campaign.strategy == "fixed"


def test_api_builds_and_steps_for_notebooks():
    m = api.build_model("v1", seed=1, overrides={"population.viewers": 1000}, days=1)
    m.run_days(1)
    assert len(api.ticks_table(m)) == m.tpd
    assert set(api.streams_table(m)["day"]) == {0}
