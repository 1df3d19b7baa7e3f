"""Validation against closed forms: the quick validation passes, its checks can fail, the
special-case policies behave as documented, and the finite-N Pólya formulas are exact."""

import json
import math
from itertools import product

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulation import theory, validation
from simulation.cli import main
from simulation.config import ConfigError, load_scenario
from simulation.distribution.urn import choose_in_cells, rank_in_group
from simulation.model import SnowballModel
from simulation.results import own_files
from simulation.validation import CASES, VALIDATION_DIR, Measurement, evaluate

# --------------------------------------------------------------------------------------------
# The quick validation, as the suite runs it
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation") / "quick"
    code = main(["validate", "--quick", "--quiet", "--out", str(out)])
    return code, out


def test_quick_validation_passes_every_case(quick_run):
    code, out = quick_run
    table = pd.read_csv(out / "validation.csv")
    failed = table[table["verdict"] != "pass"]
    assert code == 0, f"failed checks:\n{failed[['case', 'variant', 'quantity']]}"
    assert set(table["case"]) == set(CASES)
    # Only its own files, so that a later run may replace the folder (results.own_files).
    man = json.loads((out / "manifest.json").read_text())
    assert {p.name for p in out.iterdir()} == own_files(man) and len(man["figures"]) > 1
    # Every case of the issue is there, with the quantities it names.
    text = " ".join(table["quantity"])
    for phrase in ("E[Gini]", "Beta(", "unpredictability", "drift of the leader", "slope",
                   "fittest", "dies out", "total reach", "Borel–Tanner", "adopted share",
                   "peak adoption", "clearing price", "spend per tick"):  # fmt: skip
        assert phrase in text, phrase
    # One Bonferroni level for all checks, intervals around the simulated value.
    m = len(table)
    assert np.allclose(table["level"], 0.05 / m)
    means = table[table["test"].isin(["t", "Wilson"])]
    assert (means["ci_low"] <= means["simulated"]).all()
    assert (means["simulated"] <= means["ci_high"]).all()


def test_quick_validation_writes_figures_and_manifest(quick_run):
    _, out = quick_run
    for case in CASES:
        assert (out / f"{case}.png").stat().st_size > 10_000
    man = json.loads((out / "manifest.json").read_text())
    assert man["kind"] == "validation" and man["size"] == "quick" and man["passed"] is True
    assert man["checks"] == len(pd.read_csv(out / "validation.csv"))
    assert set(man["seeds"]) == set(CASES)
    assert man["scenarios"]["polya"]["polya"]["urn"]["worlds"] == 64
    assert "| case |" in (out / "validation.md").read_text()


# --------------------------------------------------------------------------------------------
# The checks can fail
# --------------------------------------------------------------------------------------------


def test_evaluate_applies_bonferroni_and_the_verdict_rules():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, 400)
    ms = [
        Measurement("c", "v", "right mean", 0.0, samples=x),
        Measurement("c", "v", "wrong mean", 0.5, samples=x),
        Measurement("c", "v", "right direction", 0.5, relation="<", samples=x),
        Measurement("c", "v", "wrong direction", -0.5, relation="<", samples=x),
        Measurement("c", "v", "no effect", 0.0, relation=">", samples=x),
        Measurement("c", "v", "proportion", 0.4, kind="proportion", successes=40, trials=100),
        Measurement("c", "v", "bad proportion", 0.6, kind="proportion", successes=40, trials=100),
        Measurement("c", "v", "fit", math.nan, kind="gof", p_value=0.2, n=9, test="KS"),
        Measurement("c", "v", "misfit", math.nan, kind="gof", p_value=1e-4, n=9, test="KS"),
    ]
    t = evaluate(ms).set_index("quantity")
    assert np.allclose(t["level"], 0.05 / len(ms))
    expected = ["pass", "fail", "pass", "fail", "fail", "pass", "fail", "pass", "fail"]
    assert list(t["verdict"]) == expected
    # The simultaneous interval is wider than a plain 95% interval.
    plain = theory.mean_ci(x)
    assert t.loc["right mean", "ci_high"] - t.loc["right mean", "ci_low"] > plain.high - plain.low


def test_polya_checks_fail_when_the_simulated_alpha_is_not_the_configured_one(monkeypatch):
    """Negative control: at the quick size the Pólya checks detect an α off by a factor 2
    (every check fails), while with the right α they fail no more often than their
    family-wise level of 0.05 allows: the number of seeds 0-11 with any failed check passes a
    one-sided binomial test against a rate of 0.05 at alpha = 0.001, i.e. at most 4 (measured:
    2 of 12, and 4 of 60 over seeds 0-59)."""
    sc = load_scenario(VALIDATION_DIR / "polya.toml")
    size = {"runs": 1, "conversions": 600}
    failed = [
        (evaluate(validation._polya([sc], size, np.random.SeedSequence(s)).measurements)[
            "verdict"
        ] == "fail").any()
        for s in range(12)
    ]  # fmt: skip
    assert stats.binom(12, 0.05).sf(sum(failed) - 1) > 0.001, failed
    monkeypatch.setattr(validation, "_alpha", lambda s: 2 * s.urn.prior / s.urn.increment)
    bad = validation._polya([sc], size, np.random.SeedSequence(5))
    verdicts = evaluate(bad.measurements).set_index("quantity")["verdict"]
    assert (verdicts == "fail").all(), verdicts


def test_gamma_drift_separates_the_three_limits():
    """The leader's drift is 0 only for γ = 1: the γ = 0.5 and γ = 2 runs reject it."""
    out = validation._gamma_urn(
        [load_scenario(VALIDATION_DIR / f) for f in CASES["gamma_urn"].scenarios],
        {"runs": 1, "conversions": 400},
        np.random.SeedSequence(3),
    )
    t = evaluate(out.measurements)
    drift = t[t["quantity"].str.startswith("drift")].set_index("variant")
    assert drift.loc["γ = 0.5", "ci_high"] < 0 < drift.loc["γ = 2", "ci_low"]
    assert drift.loc["γ = 1", "ci_low"] <= 0 <= drift.loc["γ = 1", "ci_high"]


# --------------------------------------------------------------------------------------------
# Preconditions: a scenario outside its special case is refused, naming the key
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, overrides, key",
    [
        ("polya", {"behaviour.follow_per_minute": 0.01}, "behaviour.follow_per_minute"),
        ("polya", {"population.categories": 3}, "population.categories"),
        ("polya", {"streams.shop.hook": [0.3, 0.6]}, "streams.shop.hook"),
        ("cascade", {"streams.newcomer.hook": 0.5, "cascade.reward_per_entry": 4.0}, "hook"),
        ("cascade", {"cascade.graduate_at": 3}, "cascade.graduate_at"),
        ("bass", {"population.repeat_needs": True}, "population.repeat_needs"),
        ("auction", {"auction.reserve_cpm": 1.0}, "auction.reserve_cpm"),
    ],
)
def test_scenarios_outside_the_special_case_are_refused(case, overrides, key):
    c = CASES[case]
    scs = [load_scenario(p, overrides) for p in c.scenario_paths()]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        c.run(scs, c.sizes["quick"], np.random.SeedSequence(1))


def test_cli_rejects_an_unknown_case(capsys):
    assert main(["validate", "--case", "nope", "--quiet"]) == 2
    assert "polya" in capsys.readouterr().err


def test_overrides_reach_the_theory_and_results_are_reproducible(tmp_path):
    """--set changes the special case and the theory follows it; same seed, same table."""
    args = ["validate", "--case", "cascade", "--quiet", "--set", "cascade.reward_per_entry=2.0"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    a = pd.read_csv(tmp_path / "a" / "validation.csv")
    b = pd.read_csv(tmp_path / "b" / "validation.csv")
    pd.testing.assert_frame_equal(a, b)
    assert set(a["variant"]) == {"R = 2, n0 = 1", "R = 2, n0 = 5"}
    assert np.allclose(a["theory"], [theory.extinction_probability(2.0, n0) for n0 in (1, 5)])
    assert main([*args, "--seed", "7", "--out", str(tmp_path / "c")]) == 0
    c = pd.read_csv(tmp_path / "c" / "validation.csv")
    assert not np.allclose(a["simulated"], c["simulated"])


def test_every_validation_scenario_loads_and_belongs_to_a_case():
    files = {p.name for p in VALIDATION_DIR.glob("*.toml")}
    used = {f for c in CASES.values() for f in c.scenarios}
    assert files == used
    for f in files:
        load_scenario(VALIDATION_DIR / f)


# --------------------------------------------------------------------------------------------
# The special-case policies
# --------------------------------------------------------------------------------------------


def test_choose_in_cells_draws_in_proportion_within_the_cell():
    rng = np.random.default_rng(1)
    cell = np.array([0, 0, 0, 2, 2, 3])
    weight = np.array([1.0, 0.0, 3.0, 2.0, 2.0, 0.0])
    slot_cell = rng.integers(0, 4, 40_000)
    j = choose_in_cells(weight, cell, 4, slot_cell, rng.random(len(slot_cell)))
    assert (j[np.isin(slot_cell, [1, 3])] == -1).all()
    for c, expect in ((0, [0.25, 0, 0.75]), (2, [0.5, 0.5])):
        picks = j[slot_cell == c]
        members = np.flatnonzero(cell == c)
        observed = np.array([(picks == s).sum() for s in members])
        expected = np.array(expect) * len(picks)
        keep = expected > 0
        assert observed[~keep].sum() == 0
        assert stats.chisquare(observed[keep], expected[keep]).pvalue > 1e-3


def test_rank_in_group_deals_streams_to_worlds_in_turn():
    group = np.array([0, 0, 0, 1, 1, 0, 1])
    assert list(rank_in_group(group)) == [0, 1, 2, 0, 1, 3, 2]


def small_urn(**overrides):
    base = {"days": 1, "population.viewers": 2000, "urn.worlds": 4, "streams.shop.count": 16}
    return load_scenario(VALIDATION_DIR / "polya.toml", {**base, **overrides})


@pytest.mark.parametrize("event", ["orders", "entries", "impressions"])
def test_urn_weights_count_the_configured_events(event):
    sc = small_urn(**{"urn.increment_on": event, "urn.increment": 0.5, "urn.prior": 2.0})
    m = SnowballModel(sc, seed=2)
    m.run_days(1)
    column = {"orders": "orders", "entries": "entries", "impressions": "impressions"}[event]
    day = pd.DataFrame(m.daily_records[0])
    if event == "impressions":
        counted = day["free_impressions"].to_numpy()
    else:
        counted = day[column].to_numpy()
    assert counted.sum() > 0
    np.testing.assert_allclose(m.policy.events, counted)
    np.testing.assert_allclose(m.policy.weights(), 2.0 + 0.5 * counted)
    # Each world holds 4 of the 16 streams, one of each rank.
    assert (np.bincount(m.policy.world) == 4).all()


def test_cascade_reach_is_the_free_traffic_and_every_cascade_ends():
    sc = load_scenario(VALIDATION_DIR / "cascade_super.toml", {"streams.newcomer.count": 300})
    m = SnowballModel(sc, seed=4)
    pol = m.policy
    for _ in range(sc.n_ticks):
        m.step()
        if (pol.graduated | pol.extinct).all():
            break
    assert pol.unserved == 0
    assert (pol.graduated ^ pol.extinct).all()
    np.testing.assert_array_equal(pol.reach, m.cum_impressions)
    assert (pol.reach[pol.extinct] >= sc.cascade.seed_impressions).all()


def test_private_values_prices_are_second_highest_values_and_budgets_hold():
    sc = load_scenario(VALIDATION_DIR / "auction.toml", {"population.viewers": 500})
    m = SnowballModel(sc, seed=3)
    m.run_days(1)
    prices = m.policy.last_prices
    assert len(prices) > 0 and (prices >= 0).all()
    assert (prices <= sc.private_values.value_max_cpm).all()
    # Binding budgets: spend never exceeds them.
    sc = load_scenario(VALIDATION_DIR / "pacing.toml", {"days": 1})
    m = SnowballModel(sc, seed=3)
    m.run_days(1)
    assert (m.campaigns.spent <= m.campaigns.budget + 1e-9).all()
    assert (m.campaigns.mu > 0).all()


def test_entry_probability_matches_behaviour_with_role_lifts():
    sc = load_scenario(VALIDATION_DIR / "fitness.toml")
    assert math.isclose(validation.entry_probability(sc, 0.45, (0.3, 0.55, 0.15)), 0.45)
    sc = load_scenario(VALIDATION_DIR / "fitness.toml", {"behaviour.role_entry_lift": [1, 0, -1]})
    p = validation.entry_probability(sc, 0.5, (0.5, 0.25, 0.25))
    expect = 0.5 / (1 + math.exp(-1)) + 0.25 * 0.5 + 0.25 / (1 + math.exp(1))
    assert math.isclose(p, expect)


# --------------------------------------------------------------------------------------------
# Exact finite-N Pólya formulas
# --------------------------------------------------------------------------------------------


def _enumerate_dirichlet_multinomial(alpha: float, k: int, n: int):
    """Every count vector of a K-stream Pólya urn after n draws with its probability."""
    for counts in product(range(n + 1), repeat=k):
        if sum(counts) != n:
            continue
        logp = (
            math.lgamma(n + 1)
            + math.lgamma(k * alpha)
            - math.lgamma(n + k * alpha)
            + sum(math.lgamma(c + alpha) - math.lgamma(alpha) - math.lgamma(c + 1) for c in counts)
        )
        yield np.array(counts), math.exp(logp)


@pytest.mark.parametrize("alpha, k, n", [(1.0, 3, 6), (0.7, 4, 5), (2.5, 3, 7)])
def test_polya_expected_gini_is_exact_by_enumeration(alpha, k, n):
    total = expect = 0.0
    for counts, p in _enumerate_dirichlet_multinomial(alpha, k, n):
        total += p
        expect += p * theory.gini((alpha + counts) / (k * alpha + n))
    assert math.isclose(total, 1.0, rel_tol=1e-12)
    assert math.isclose(theory.polya_expected_gini(alpha, k, n), expect, rel_tol=1e-10)


def test_polya_unpredictability_is_exact_and_tends_to_the_dirichlet_limit():
    alpha, k, n = 1.5, 4, 9
    dist = theory.polya_count_distribution(alpha, k, n)
    x = np.arange(n + 1)
    pmf = dist.pmf(x)
    brute = (pmf[:, None] * pmf[None, :] * np.abs(x[:, None] - x[None, :])).sum() / (k * alpha + n)
    assert math.isclose(theory.polya_unpredictability(alpha, k, n), brute, rel_tol=1e-10)
    big = theory.polya_unpredictability(1.0, 48, 200_000)
    assert math.isclose(big, theory.dirichlet_unpredictability(1.0, 48), rel_tol=1e-3)


def test_polya_expected_gini_rises_to_the_dirichlet_limit():
    values = [theory.polya_expected_gini(1.0, 48, n) for n in (10, 100, 1000, 4000)]
    assert values == sorted(values)
    limit = theory.dirichlet_expected_gini(1.0, 48)
    assert values[-1] < limit and math.isclose(values[-1], limit, rel_tol=0.01)


def test_polya_expected_gini_matches_a_sequential_urn():
    """A plain sequential urn (no batching) agrees with the exact formula."""
    rng = np.random.default_rng(9)
    alpha, k, n, worlds = 1.0, 8, 60, 4000
    counts = np.zeros((worlds, k))
    for i in range(n):
        p = (alpha + counts) / (k * alpha + i)
        u = rng.random(worlds)[:, None]
        counts[np.arange(worlds), (p.cumsum(axis=1) < u).sum(axis=1)] += 1
    g = theory.gini((alpha + counts) / (k * alpha + n))
    ci = theory.mean_ci(g, 0.999)
    assert ci.contains(theory.polya_expected_gini(alpha, k, n))
