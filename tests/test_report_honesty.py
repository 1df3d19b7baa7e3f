"""The two report fixes of issue 22: a prediction of no effect is confirmed only by an
equivalence test (TOST) against a margin stated in the study's docstring, and every mechanism
sentence is measured in the study's own runs or labelled a hypothesis; plus the feed's
``cap_bound_ticks`` counter that the snowball_vs_funnel mechanism quotes."""

import ast
import importlib
import inspect
import math
import re

import numpy as np
import pytest
from scipy import stats

from experiments import STUDY_NAMES, _report, _stats

# --------------------------------------------------------------------------------------------
# TOST
# --------------------------------------------------------------------------------------------


def test_tost_matches_two_one_sided_scipy_t_tests():
    rng = np.random.default_rng(5)
    d = rng.normal(0.3, 1.0, 20)
    r = _stats.tost(d, 1.0)
    low = stats.ttest_1samp(d, -1.0, alternative="greater")
    high = stats.ttest_1samp(d, 1.0, alternative="less")
    assert r["t_low"] == pytest.approx(low.statistic) and r["p_low"] == pytest.approx(low.pvalue)
    assert r["t_high"] == pytest.approx(high.statistic)
    assert r["p_high"] == pytest.approx(high.pvalue)
    assert r["p"] == pytest.approx(max(low.pvalue, high.pvalue))
    # p < 0.05 exactly when the 90% interval lies inside the margin.
    ci = stats.t.interval(0.90, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert (r["low90"], r["high90"]) == pytest.approx(ci)
    for margin in np.linspace(0.05, 2.0, 40):
        s = _stats.tost(d, margin)
        assert (s["p"] < 0.05) == (-margin < s["low90"] and s["high90"] < margin), margin
    # Beyond the margin on the estimate's side: H0 mean <= +margin.
    above = stats.ttest_1samp(d, 1.0, alternative="greater")
    assert r["p_beyond"] == pytest.approx(above.pvalue)


def test_a_non_significant_difference_with_a_wide_interval_is_not_confirmed():
    """The old rule took a non-significant difference as "no effect"; TOST does not."""
    rng = np.random.default_rng(1)
    d = rng.normal(20.0, 250.0, 20)  # the funnel burst's kind of result: a wide interval
    plain = _stats.one_sample_test("c", "", "gmv", d, ">0")
    assert plain.p_value > 0.05  # not significantly different from 0 ...
    t = _stats.equivalence_test("c", "", "gmv", d, 50.0)
    verdict = _stats.judge([t])
    assert t.outcome == _stats.UNDECIDED == "not shown either way"  # ... nor shown negligible
    assert verdict == "not supported" and not t.confirmed
    assert t.low < 0 < 50 < t.high  # holds 0 and effects beyond the margin


def test_a_tight_interval_inside_the_margin_is_confirmed():
    rng = np.random.default_rng(2)
    a = rng.normal(1000.0, 100.0, 20)
    b = a + rng.normal(3.0, 10.0, 20)  # paired: a small, precisely measured difference
    t = _stats.paired_equivalence_test("c", "", "gmv", a, b, 50.0, names=("a", "b"))
    assert _stats.judge([t]) == "supported"
    assert t.outcome == _stats.EQUIVALENT == "equivalent (confirmed)" and t.confirmed
    assert -50 < t.low90 <= t.high90 < 50
    assert t.test == "TOST (paired t)" and t.comparison == "b - a" and t.margin == 50.0
    # Paired: the same as the one-sample TOST of the differences, not of the two arms.
    assert t.p_value == pytest.approx(_stats.tost(b - a, 50.0)["p"])


def test_an_effect_shown_beyond_the_margin_is_contradicted():
    rng = np.random.default_rng(3)
    d = rng.normal(200.0, 40.0, 20)
    t = _stats.equivalence_test("c", "", "gmv", d, 50.0)
    _stats.judge([t])
    assert t.outcome == _stats.CONTRADICTED
    below = _stats.equivalence_test("c", "", "gmv", -d, 50.0)
    _stats.judge([below])
    assert below.outcome == _stats.CONTRADICTED  # "~0": either side
    # "<=0" (not positive) is tested on the upper side only: a large negative is confirmed.
    neg = _stats.equivalence_test("c", "", "gmv", -d, 50.0, "<=0")
    _stats.judge([neg])
    assert neg.outcome == _stats.EQUIVALENT
    pos = _stats.equivalence_test("c", "", "gmv", d, 50.0, "<=0")
    _stats.judge([pos])
    assert pos.outcome == _stats.CONTRADICTED


def test_significantly_nonzero_but_not_beyond_the_margin_is_not_shown_either_way():
    rng = np.random.default_rng(4)
    d = rng.normal(45.0, 15.0, 20)  # clearly > 0, straddling the margin 50
    plain = _stats.one_sample_test("c", "", "gmv", d, ">0")
    assert plain.p_value < 0.001
    t = _stats.equivalence_test("c", "", "gmv", d, 50.0)
    _stats.judge([t])
    assert t.outcome == _stats.UNDECIDED


def test_equivalence_claims_join_the_holm_family():
    rng = np.random.default_rng(6)
    eq = _stats.equivalence_test("e", "", "m", rng.normal(0, 1, 20), 1.0)
    p_eq = eq.p_value
    d = _stats.one_sample_test("d", "", "m", rng.normal(1, 1, 20), ">0")
    _stats.judge([eq, d])
    assert eq.p_adjusted == pytest.approx(_stats.holm([p_eq, d.p_value])[0])
    assert eq.p_adjusted >= p_eq


def test_a_prediction_of_no_effect_without_a_margin_is_refused():
    t = _stats.Test("c", "d", "m", "b-a", "~0", "TOST", 0.0, -1, 1, 10, 1.0, 0.5)
    with pytest.raises(ValueError, match="without a margin"):
        _stats.judge([t])
    with pytest.raises(ValueError, match="positive number"):
        _stats.tost([1.0, 2.0, 3.0], 0.0)
    with pytest.raises(ValueError, match="unknown prediction"):
        _stats.judge([_stats.Test("c", "d", "m", "b-a", "=0", "t", 0.0, -1, 1, 10, 1.0, 0.5)])


def test_tost_with_too_few_or_identical_values():
    assert math.isnan(_stats.tost([1.0], 1.0)["p"])
    assert _stats.tost([0.5, 0.5, 0.5], 1.0)["p"] == 0.0
    assert _stats.tost([2.0, 2.0, 2.0], 1.0)["p"] == 1.0
    assert _stats.tost([2.0, 2.0, 2.0], 1.0)["p_beyond"] == 0.0


def test_the_report_words_of_an_equivalence_test():
    rng = np.random.default_rng(2)
    t = _stats.equivalence_test("c", "", "gmv", rng.normal(1.0, 2.0, 20), 50.0)
    _stats.judge([t])
    text = _report.describe_test(t, "yuan")
    assert "equivalence margin ±50.0 yuan" in text and "equivalent (confirmed)" in text
    assert "90% CI" in text and "TOST" in text
    assert _report.equivalence_word(t, "none", "some", "unclear") == "none"
    with pytest.raises(ValueError):
        _report.trend(t, "up", "down")
    assert "confirmed only by an equivalence test" in _report.verdict_sentence("supported", [t])


# --------------------------------------------------------------------------------------------
# The studies' predictions of no effect
# --------------------------------------------------------------------------------------------

PLAIN_TESTS = {"paired_test", "one_sample_test", "welch_test", "slope_test"}
EQUIVALENCE_CALLS = {"equivalence_test", "paired_equivalence_test"}


def _calls_in(module) -> list[tuple[str, list]]:
    """(name, constant arguments) of each call of a test function in the module's source."""
    out = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [*node.args, *(k.value for k in node.keywords)]
            consts = [a.value for a in args if isinstance(a, ast.Constant)]
            out.append((node.func.id, consts))
    return out


@pytest.mark.parametrize("name", STUDY_NAMES)
def test_predictions_of_no_effect_use_the_equivalence_kind_with_a_stated_margin(name):
    module = importlib.import_module(f"experiments.{name}")
    calls = _calls_in(module)
    for fn, consts in calls:
        if fn in PLAIN_TESTS:  # a plain difference test predicts a direction only
            assert not {"<=0", "~0"} & set(consts), (name, fn, consts)
    uses = [c for fn, c in calls if fn in EQUIVALENCE_CALLS]
    margins = getattr(module, "EQUIVALENCE_MARGINS", {})
    assert len(uses) == len(margins), name
    doc = " ".join(module.__doc__.split())
    if margins:
        assert "Equivalence margin" in module.__doc__, name
    for claim, text in margins.items():
        assert any(claim in c for c in uses), (name, claim)
        assert f"{claim}: {text}" in doc, (name, claim)  # stated in the docstring
    # No study's words still call a plain test's outcome "not positive".
    assert "(predicted not positive)" not in inspect.getsource(module), name


def test_the_three_predictions_of_no_effect_are_equivalence_tests():
    from experiments import fact_portfolio, paid_leverage, snowball_vs_funnel

    expected = {
        snowball_vs_funnel: {"funnel_burst_fades"},
        fact_portfolio: {"kol_fades_without_room"},
        paid_leverage: {"below_not_positive"},
    }
    for module, claims in expected.items():
        assert set(module.EQUIVALENCE_MARGINS) == claims


# --------------------------------------------------------------------------------------------
# Mechanism sentences
# --------------------------------------------------------------------------------------------

MEASURED = "Mechanism, measured in these runs:"
HYPOTHESIS = "Hypothesis:"


def check_mechanism(text: str) -> None:
    """A mechanism text is sentences, each either measured (opens with MEASURED and quotes at
    least one number) or a hypothesis (opens with HYPOTHESIS)."""
    parts = [p for p in re.split(rf"(?=(?:{re.escape(MEASURED)}|{HYPOTHESIS}))", text) if p]
    assert parts and "".join(parts) == text
    for p in parts:
        assert p.startswith((MEASURED, HYPOTHESIS)), p
        if p.startswith(MEASURED):
            assert re.search(r"\d", p), f"a measured mechanism quotes no number: {p}"
    assert not text.startswith("Mechanism:"), text


def test_the_mechanism_checker_can_fail():
    for bad in ("Mechanism: the cap bounds the traffic.", f"{MEASURED} it grows.", "So it goes."):
        with pytest.raises(AssertionError):
            check_mechanism(bad)
    check_mechanism(f"{MEASURED} the cap bound in 1.2% of live ticks. {HYPOTHESIS} fans.")


def mechanism_text(report: list[str]) -> str:
    """The mechanism part of a report's sentences (from its first mechanism word on)."""
    out = []
    for s in report:
        at = [s.find(w) for w in (MEASURED, HYPOTHESIS, "Mechanism") if w in s]
        if at:
            out.append(s[min(at) :])
    return " ".join(out)


@pytest.mark.parametrize("name", STUDY_NAMES)
def test_every_stored_reports_mechanism_is_measured_or_a_hypothesis(name):
    """Reanalysed from the stored raw outputs (no simulation runs)."""
    from experiments._outputs import RESULTS_DIR
    from experiments._study import reanalyse

    analysis = reanalyse(RESULTS_DIR / name)
    text = mechanism_text(analysis.report)
    assert text, f"{name}: no mechanism sentence"
    check_mechanism(text)
    assert _report.MEASURED == MEASURED and _report.HYPOTHESIS == HYPOTHESIS


def test_the_cap_claim_is_a_hypothesis_until_the_runs_count_the_cap():
    """The stored snowball_vs_funnel runs predate the cap counter: the cap claim is labelled
    a hypothesis. With the counter, the measured share is quoted, and a cap that rarely
    binds is said not to bound the traffic."""
    import pandas as pd

    from experiments import snowball_vs_funnel as svf

    daily = pd.DataFrame(
        {
            "arm": ["default_no_ads"] * 4,
            "replicate": [0, 0, 0, 0],
            "day": [0, 1, 2, 3],
            "live_minutes": [240.0] * 4,
        }
    )
    assert math.isnan(svf.cap_share(daily, "default_no_ads"))
    ticks = 240 / svf.SCENARIO.tick_minutes
    daily["top_cap_bound_ticks"] = [ticks, ticks, 1.0, 2.0]  # days 0-1 are not counted
    assert math.isnan(svf.cap_share(daily, "default_no_ads", "cap_bound_ticks"))
    assert svf.cap_share(daily, "default_no_ads") == pytest.approx(3.0 / (2 * ticks))


# --------------------------------------------------------------------------------------------
# The cap counter
# --------------------------------------------------------------------------------------------


def test_cap_bound_ticks_counts_the_live_ticks_the_feed_held_a_stream_at_its_cap():
    """Scripted: step a small model through two days, summing the feed's per-tick ``capped``
    flags (cleared before each tick: a tick with no free allocation counts nothing), and
    those flags while the stream held the top tier (the tier the allocation used: read right
    after it, since streams going live re-enter a tier before it and the horse race reranks
    after it). The day records' float64
    ``cap_bound_ticks`` and ``top_cap_bound_ticks`` equal those sums and stay within the
    live ticks; under size-invariant quotas caps bind in a small market
    (tests/test_pools_size.py)."""
    from simulation import api

    from conftest import small

    model = api.build_model(small("v1", **{"platform.pool_quota": "size_invariant"}), 3)
    n, top = model.table.n, len(model.config.feed.tier_caps) - 1
    expected, expected_top, live_ticks = np.zeros((2, n)), np.zeros((2, n)), np.zeros((2, n))
    allocate, at_top = model.policy._free, np.zeros(n, dtype=bool)

    def spy(*args, **kwargs):
        out = allocate(*args, **kwargs)
        at_top[:] = model.table.tier == top
        return out

    model.policy._free = spy
    for day in range(2):
        for _ in range(model.tpd):
            model.policy.capped[:] = False
            model.step()
            expected[day] += model.policy.capped
            expected_top[day] += model.policy.capped & at_top
            live_ticks[day] += model.live
    got = np.stack([rec["cap_bound_ticks"] for rec in model.daily_records])
    got_top = np.stack([rec["top_cap_bound_ticks"] for rec in model.daily_records])
    assert got.dtype == got_top.dtype == np.float64
    assert np.array_equal(got, expected) and np.array_equal(got_top, expected_top)
    assert got_top.sum() > 0  # 582 bound ticks, 34 of them at the top tier, when written
    assert (got_top <= got).all() and (got <= live_ticks).all()


def test_cap_bound_ticks_reaches_the_streams_table_and_the_study_tables():
    from experiments._measure import daily_sums
    from simulation import api

    from conftest import small

    r = api.run(small("v1"), seed=11, days=2)
    col, top = r.streams["cap_bound_ticks"], r.streams["top_cap_bound_ticks"]
    assert col.dtype == top.dtype == np.float64 and (top >= 0).all()
    ticks = r.streams["live_minutes"] / r.scenario.tick_minutes
    assert (top <= col).all() and (col <= ticks + 1e-9).all()
    assert {"cap_bound_ticks", "top_cap_bound_ticks"} <= set(daily_sums(r.streams))
    funnel = api.run(small("funnel_v1"), seed=11, days=2)
    assert (funnel.streams["cap_bound_ticks"] == 0).all()  # no tier caps in the funnel


def test_the_snowball_mechanism_says_a_rarely_binding_cap_does_not_bound_the_traffic():
    from experiments import snowball_vs_funnel as svf

    def claim(outcome):
        return _stats.Test("c", "", "m", "", ">0", "t", 0.0, 0, 0, 2, 0.0, 1.0, outcome=outcome)

    t = {
        "feed_burst_lasts": claim("as predicted"),
        "feed_accelerates": claim("no significant difference"),
        "funnel_burst_fades": claim(_stats.EQUIVALENT),
    }
    args = (
        lambda arm, col: np.zeros(3),
        lambda base, col: 0.0,
        4.0,
        {"gmv": 3.0, "free_impressions": 1.5},
    )
    rare = svf._mechanism(t, *args, 0.012)
    check_mechanism(rare)
    assert "top tier's cap in only 1.2% of its live ticks" in rare and "does not bound" in rare
    assert "cap bounds" not in rare
    often = svf._mechanism(t, *args, 0.3, 0.5)
    check_mechanism(often)
    assert "top tier's cap in 30.0% of its live ticks (at a lower tier's cap in 20.0%)" in often
    assert "does not bound" not in often
    unmeasured = svf._mechanism(t, *args, math.nan)
    check_mechanism(unmeasured)
    assert "Hypothesis: the top tier's cap bounds" in unmeasured


def test_a_margin_that_cannot_be_set_leaves_the_claim_undecided():
    """A margin that is a share of a baseline that sold nothing is NaN: the claim is neither
    confirmed nor contradicted (a quick run's tiny market can sell nothing)."""
    t = _stats.equivalence_test("c", "", "gmv", [0.0, 0.0, 1.0], math.nan)
    assert _stats.judge([t]) == "not supported" and t.outcome == _stats.UNDECIDED
    assert math.isnan(t.p_value) and math.isnan(t.row()["margin"])
    assert "n/a" in _report.describe_test(t, "yuan")
