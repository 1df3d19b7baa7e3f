"""The mixed platform (policy ``mixed``): its limits are the pure policies byte for byte,
sessions split by the viewers' propensities, search impressions behave as the funnel's and
feed impressions as the feed's, one budget pays for both entrances, and the shop's search
rank counts the orders of both."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from test_model import check_invariants

from simulation import api
from simulation.behaviour import PAID, Impressions
from simulation.config import ConfigError, load_scenario
from simulation.distribution.mixed import MixedPlatform, subset
from simulation.model import SnowballModel

from conftest import scripted, small


def mixed(share: float = 0.3, **overrides):
    return small("mixed", **{"platform.search_share": share, **overrides})


# --------------------------------------------------------------------------------------------
# Limits and reproducibility
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pure", "share"), [("default", 0.0), ("funnel", 1.0)])
def test_the_limits_are_the_pure_policies_byte_for_byte(pure, share):
    """At share 0 the mixed platform runs the interest feed alone, at 1 the search funnel
    alone, on the same generators and with no propensity drawn: every table is identical
    (the scenario's name aside, which only the run id reads)."""
    a = api.run(small(pure), seed=11, days=2)
    b = api.run(small(pure, policy="mixed", **{"platform.search_share": share}), seed=11, days=2)
    assert b.model.policy.propensity is None and b.model.policy.pure is not None
    pd.testing.assert_frame_equal(a.ticks, b.ticks)
    pd.testing.assert_frame_equal(a.streams, b.streams)
    assert a.model.always_open == b.model.always_open == (share == 1.0)


def test_a_mixed_run_is_reproducible_and_seeds_differ():
    a = api.run(mixed(), seed=5)
    b = api.run(mixed(), seed=5)
    c = api.run(mixed(), seed=6)
    pd.testing.assert_frame_equal(a.ticks, b.ticks)
    pd.testing.assert_frame_equal(a.streams, b.streams)
    assert not a.streams["gmv"].equals(c.streams["gmv"])


def test_the_named_scenario_is_the_default_market_on_the_mixed_policy():
    sc, d = load_scenario("mixed"), load_scenario("v1")
    assert sc.policy == "mixed" and 0 < sc.platform.search_share < 1
    assert sc.streams == d.streams and sc.population == d.population


def test_search_share_outside_zero_one_is_refused():
    with pytest.raises(ConfigError, match=r"platform\.search_share"):
        load_scenario("mixed", {"platform.search_share": 1.5})
    with pytest.raises(ConfigError, match="search_propensity_concentration"):
        load_scenario("mixed", {"platform.search_propensity_concentration": 0.0})


# --------------------------------------------------------------------------------------------
# Entrances
# --------------------------------------------------------------------------------------------


def test_propensities_have_the_configured_mean_and_spread():
    """Beta(s c, (1 - s) c): one-sample t-test of the mean against s and a chi-square test
    of the variance against s (1 - s) / (c + 1), both two-sided at alpha = 0.001."""
    s, c = 0.3, 2.0
    m = SnowballModel(mixed(s, **{"population.viewers": 20_000}), seed=2)
    p = m.policy.propensity.astype(float)
    assert stats.ttest_1samp(p, s).pvalue > 1e-3
    var = s * (1 - s) / (c + 1)
    chi2 = (len(p) - 1) * p.var(ddof=1) / var
    tail = min(stats.chi2.cdf(chi2, len(p) - 1), stats.chi2.sf(chi2, len(p) - 1))
    assert 2 * tail > 1e-3
    # Concentration is spread: a large one puts every viewer near s.
    tight = SnowballModel(mixed(s, **{"platform.search_propensity_concentration": 1e4}), 2)
    assert np.abs(tight.policy.propensity - s).max() < 0.05


def test_sessions_open_at_search_with_their_viewers_propensity():
    """Over a day the count of search sessions is the sum of independent Bernoulli(p_v) over
    the sessions: z-test against its mean and variance, two-sided at alpha = 0.001."""
    m = SnowballModel(mixed(0.4), seed=3)
    pol = m.policy
    expected = var = observed = 0.0
    serve = pol.serve

    def counting(sessions, live):
        nonlocal expected, var, observed
        p = pol.propensity[sessions.viewer].astype(float)
        imp = serve(sessions, live)
        expected += p.sum()
        var += (p * (1 - p)).sum()
        observed += pol.last_search_sessions
        return imp

    pol.serve = counting
    m.run_days(1)
    assert observed > 1000
    assert abs(observed - expected) / np.sqrt(var) < 3.29


def test_search_shops_are_open_off_the_air_and_feed_rooms_only_on_it():
    m = SnowballModel(mixed(0.5), seed=4)
    pol, off_air_search = m.policy, 0
    serve = pol.serve

    def check(sessions, live):
        nonlocal off_air_search
        imp = serve(sessions, live)
        lo = pol.search_start
        assert live[imp.stream[:lo]].all()
        off_air_search += int((~live[imp.stream[lo:]]).sum())
        np.testing.assert_array_equal(pol.requires_need, np.arange(len(imp)) >= lo)
        return imp

    pol.serve = check
    m.run_days(1)
    assert off_air_search > 0
    assert not m.always_open and m.paces_by_entrance


def test_subset_keeps_every_per_session_field():
    m = SnowballModel(mixed(), seed=1)
    sessions = m.population.snapshot(np.arange(50))
    rows = np.array([3, 7, 49])
    part = subset(sessions, rows)
    for name in ("viewer", "interests", "follow", "affinity"):
        np.testing.assert_array_equal(getattr(part, name), getattr(sessions, name)[rows])


# --------------------------------------------------------------------------------------------
# Behaviour per entrance
# --------------------------------------------------------------------------------------------


def respond(model, imp, need, one, seed=0):
    pop = model.population
    sessions = pop.snapshot(np.arange(pop.n))
    return model.behaviour.respond(
        imp, sessions, pop, 0, 1.0, need, one, np.random.default_rng(seed)
    )


@pytest.mark.parametrize("flag", [False, True])
def test_constant_per_impression_flags_are_the_bool_flags(flag):
    """An array of one value decides exactly as that bool: same outcome, bit for bit."""
    outs = []
    for as_array in (False, True):
        model = SnowballModel(small(**{"population.viewers": 5000}), seed=3)
        v = np.repeat(np.arange(5000), 2)
        imp = scripted(v, 0, session=v)
        model.population.need[::3, model.table.category[0]] = True
        value = np.full(len(imp), flag) if as_array else flag
        outs.append(respond(model, imp, value, value))
    for name in ("entered", "dwell", "bought", "price", "margin"):
        np.testing.assert_array_equal(getattr(outs[0], name), getattr(outs[1], name))
    assert outs[0].bought.any()


def test_search_impressions_need_a_need_and_stop_at_the_first_purchase():
    """Scripted: every viewer sees the same room twice in one session through the feed and
    twice in another through search; only a third of them have a need. Search purchases all
    come from viewers with a need and at most one per session; feed purchases also come from
    viewers without one."""
    model = SnowballModel(small(**{"population.viewers": 20_000}), seed=3)
    pop, cat = model.population, model.table.category[0]
    model.table.persuasion[0] = 0.3
    pop.need[:] = False
    needy = np.arange(0, 20_000, 3)
    pop.need[needy, cat] = True
    v = np.arange(20_000)
    viewers = np.concatenate([v, v, v, v])
    # Feed sessions: rows 0..N-1 of the snapshot; search sessions: the same viewers again.
    sessions = pop.snapshot(np.concatenate([v, v]))
    session = np.concatenate([v, v, v + 20_000, v + 20_000])
    imp = scripted(viewers, 0, session=session)
    search = session >= 20_000
    out = model.behaviour.respond(
        imp, sessions, pop, 0, 1.0, search, search, np.random.default_rng(1)
    )
    has_need = np.isin(viewers, needy)
    assert out.bought[search].any() and out.bought[~search & ~has_need].any()
    assert not out.bought[search & ~has_need].any()
    per_session = np.bincount(session[search & out.bought])
    assert per_session.max() == 1


# --------------------------------------------------------------------------------------------
# Budgets and ranking shared by the entrances
# --------------------------------------------------------------------------------------------


def test_one_budget_pays_for_both_entrances_and_is_never_exceeded():
    sc = mixed(0.5, days=2)
    res = api.run(sc, seed=7)
    s = res.streams
    assert (s["ad_spend"] <= s["budget"] + 1e-6).all()
    assert (s["search_ad_spend"] <= s["ad_spend"] + 1e-9).all()
    search_spend = s["search_ad_spend"].sum()
    feed_spend = s["ad_spend"].sum() - search_spend
    assert search_spend > 0 and feed_spend > 0
    for k in ("impressions", "orders", "gmv"):
        assert (s[f"search_{k}"] <= s[k] + 1e-9).all()
        assert 0 < s[f"search_{k}"].sum() < s[k].sum()


def test_the_tick_allowance_holds_across_both_entrances():
    """Feed CPM charges come first; the search clicks billed in the same tick never take a
    campaign past the tick's allowance."""
    m = SnowballModel(mixed(0.5), seed=8)
    camps, over = m.campaigns, []
    account = m._account

    def check(imp: Impressions, out, *args):
        paid = imp.source == PAID
        spend = np.bincount(imp.campaign[paid], imp.charge[paid], minlength=camps.n)
        over.append(float((spend - camps.tick_allowance).max(initial=0.0)))
        return account(imp, out, *args)

    m._account = check
    m.run_days(1)
    assert max(over) <= 1e-6


def test_the_shop_ranks_on_orders_from_both_entrances():
    """The funnel's sales memory after day 0 is (1 - e^(-1/memory)) x the day's orders of
    every entrance, which exceed the search entrance's alone."""
    m = SnowballModel(mixed(0.3), seed=9)
    pol = m.policy
    assert isinstance(pol, MixedPlatform)
    seen = {}
    end = pol.end_of_day

    def capture():
        seen["orders"] = m.day_counts["orders"].copy()
        seen["search"] = m.day_counts["search_orders"].copy()
        end()

    pol.end_of_day = capture
    m.run_days(1)
    keep = np.exp(-1 / m.config.funnel.sales_memory_days)
    np.testing.assert_allclose(pol.search.sales, seen["orders"] * (1 - keep))
    assert seen["orders"].sum() > seen["search"].sum() > 0


# --------------------------------------------------------------------------------------------
# The validation case platform_limits
# --------------------------------------------------------------------------------------------


def limits_case(overrides=None, runs=2):
    from simulation.validation import CASES

    case = CASES["platform_limits"]
    scs = [load_scenario(p, {"days": 1, **(overrides or {})}) for p in case.scenario_paths()]
    return case.run(scs, {"runs": runs, "inside": 0.01}, np.random.SeedSequence(3))


def test_the_equivalence_rule_needs_the_interval_inside_the_margin():
    from simulation.validation import Measurement, evaluate

    def row(samples):
        m = Measurement("c", "v", "q", 0.0, kind="equivalence", relation="≈", margin=0.01)
        m.samples = np.asarray(samples, dtype=float)
        return evaluate([m]).iloc[0]

    assert row([0.0, 0.0, 0.0])["verdict"] == "pass"
    assert row([0.001, -0.002, 0.0005, 0.0])["verdict"] == "pass"
    # Centred but too noisy to show equivalence: not a pass (a non-significant difference).
    noisy = row([0.05, -0.05, 0.04, -0.04])
    assert noisy["verdict"] == "fail" and noisy["p_value"] > noisy["level"]
    assert row([0.02, 0.021, 0.019])["verdict"] == "fail"  # a real difference beyond it


def test_platform_limits_passes_at_the_limits_and_fails_when_a_limit_is_broken(monkeypatch):
    from simulation.validation import evaluate

    table = evaluate(limits_case().measurements)
    assert len(table) == 6 and (table["verdict"] == "pass").all()
    assert (table["simulated"] == 0).all()
    # One extra draw from the policy's generator at share 0 or 1 breaks byte-identity: the
    # runs then differ by their noise and the equivalence test must not pass.
    init = MixedPlatform.__init__

    def extra_draw(self, model):
        model.rngs["policy"].random()
        init(self, model)

    monkeypatch.setattr(MixedPlatform, "__init__", extra_draw)
    broken = evaluate(limits_case().measurements)
    assert (broken["verdict"] == "fail").any()


def test_platform_limits_refuses_a_share_inside_the_limits():
    with pytest.raises(ConfigError, match=r"platform\.search_share"):
        limits_case({"platform.search_share": 0.5})


def test_the_compiled_kernels_give_the_same_mixed_run(monkeypatch):
    """The feed's compiled path on an entrance's subset of sessions draws as numpy does."""
    from simulation import kernels

    if not kernels.available():
        pytest.skip("numba is not installed")
    runs = []
    for force in (False, True):
        monkeypatch.setattr(kernels, "FORCE", force)
        runs.append(api.run(mixed(), seed=4, days=1))
    pd.testing.assert_frame_equal(runs[0].streams, runs[1].streams)
    pd.testing.assert_frame_equal(runs[0].ticks, runs[1].ticks)


def test_snowball_run_reports_what_came_through_search(tmp_path, capsys):
    from simulation.cli import main

    args = ["run", "mixed", "--days", "1", "--set", "population.viewers=1500", "-q"]
    assert main([*args, "--out", str(tmp_path / "m")]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "through search" in x)
    assert "of orders" in line and "of ad spend" in line
    assert main(["run", "default", *args[2:], "--out", str(tmp_path / "d")]) == 0
    assert "through search" not in capsys.readouterr().out


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    share=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)),
    concentration=st.floats(0.05, 50.0),
    budget=st.floats(0, 3000),
    seed=st.integers(0, 2**31),
)
def test_invariants_hold_at_any_share(share, concentration, budget, seed):
    """The whole model's invariants (tests/test_model.py) at random shares, limits included:
    impressions add up, orders <= entries <= impressions, spend <= budget, and the search
    columns are parts of the totals."""
    sc = mixed(
        share,
        **{
            "population.viewers": 800,
            "platform.search_propensity_concentration": concentration,
            "streams.focal.campaign.daily_budget": budget,
        },
    )
    res = api.run(sc, seed=seed)
    check_invariants(res)
    s = res.streams
    for k in ("impressions", "orders", "gmv", "ad_spend"):
        assert (s[f"search_{k}"] >= 0).all() and (s[f"search_{k}"] <= s[k] + 1e-9).all()
    if share == 0:
        assert (s["search_impressions"] == 0).all()
    if share == 1:
        assert (s["search_impressions"] == s["impressions"]).all()


def test_the_dashboard_runs_the_mixed_preset():
    import io

    from simulation.dashboard import charts
    from simulation.dashboard.session import DashboardModel, controls_from_preset

    m = DashboardModel(controls=controls_from_preset("mixed")[0], viewers=2000, days=1, seed=5)
    for _ in range(144):  # one day of 10-minute ticks
        m.step()
    for name, figure in charts.FIGURES.items():
        figure(m).savefig(io.BytesIO(), format="png")
        assert charts.readout(name, m)
