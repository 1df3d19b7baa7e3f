"""The studies of ``experiments/``: every study runs in its --quick form and writes a complete,
well-formed folder whose summary can be recomputed from its raw run outputs; the shared
statistics are checked against scipy; and, marked slow, the direction of the effect of
studies 1-3 at a moderate size over a fixed list of seeds with each study's own test."""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulation.commands.experiment import ensure_importable

ensure_importable()

from experiments import (  # noqa: E402
    STUDIES,
    STUDY_NAMES,
    _execute,
    _figures,
    _gallery,
    _measure,
    _plan,
    _report,
    _stats,
    _study,
)
from simulation.atomic import atomic_write_json  # noqa: E402
from simulation.cli import main  # noqa: E402
from simulation.config import load_scenario  # noqa: E402

SUMMARY_COLUMNS = {
    "kind",
    "arm",
    "metric",
    "mean",
    "ci_low",
    "ci_high",
    "n",
    "claim",
    "effect",
    "effect_low",
    "effect_high",
    "cohen_dz",
    "test",
    "statistic",
    "p_value",
    "p_holm",
    "wilcoxon_p",
    "predicted",
    "outcome",
}


# --------------------------------------------------------------------------------------------
# Every study, quick
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_outputs(tmp_path_factory):
    """Each study's --quick folder, written once per module on first use."""
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            out = tmp_path_factory.mktemp(name) / name
            analysis = _study.run_study(name, quick=True, out_dir=out)
            cache[name] = (out, analysis)
        return cache[name]

    return get


def test_registry_lists_every_study_module():
    assert list(STUDIES) == list(STUDY_NAMES)
    assert len(STUDY_NAMES) == 10
    for name in STUDY_NAMES:
        study = STUDIES[name]
        assert isinstance(study, _study.Study) and study.name == name
        for word in ("Scenario", "Variable", "Sizes", "Test", "Predicted pattern"):
            assert word in study.doc, f"{name}: docstring lacks {word!r}"
        assert study.question and "\n" not in study.question
        for fn in ("plan", "measure", "analyse", "run"):
            assert callable(getattr(study, fn)), f"{name}.{fn}"
    # A module without its own measure gets the default, focal one.
    assert STUDIES["review_quality"].measure is _measure.focal_measurement
    assert STUDIES["paid_leverage"].measure is not _measure.focal_measurement


@pytest.mark.parametrize("name", STUDY_NAMES)
def test_quick_study_writes_a_complete_folder(name, quick_outputs):
    out, analysis = quick_outputs(name)
    for f in (
        "figure.png",
        "summary.csv",
        "manifest.json",
        "REPORT.md",
        "runs.csv",
        "daily.csv.gz",
    ):
        assert (out / f).is_file(), f
    png = (out / "figure.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000

    summary = pd.read_csv(out / "summary.csv")
    assert SUMMARY_COLUMNS <= set(summary.columns)
    arms = summary[summary["kind"] == "arm"]
    tests = summary[summary["kind"] == "test"]
    plan = STUDIES[name].plan("quick")
    assert set(arms["arm"]) == {a.name for a in plan.arms}
    assert len(tests) >= 2
    ok = arms["n"] > 1
    assert (arms.loc[ok, "ci_low"] <= arms.loc[ok, "mean"] + 1e-9).all()
    assert (arms.loc[ok, "mean"] <= arms.loc[ok, "ci_high"] + 1e-9).all()
    p = tests["p_value"].dropna()
    assert ((p >= 0) & (p <= 1)).all()
    assert (tests["p_holm"].dropna() >= p.loc[tests["p_holm"].dropna().index] - 1e-12).all()
    assert set(tests["outcome"]) <= set(_stats.OUTCOMES) | set(_stats.EQUIVALENCE_OUTCOMES)
    assert set(tests["predicted"]) <= {">0", "<0", "<=0", "~0"}
    eq = tests[tests["predicted"].isin(_stats.EQUIVALENCE_KINDS)]
    assert set(eq["outcome"]) <= set(_stats.EQUIVALENCE_OUTCOMES)
    assert eq["test"].str.startswith("TOST").all()

    man = json.loads((out / "manifest.json").read_text())
    assert man["study"] == name and man["size"] == "quick"
    # A quick run is a smoke test: no verdict in the manifest, the report or the finding.
    assert man["verdict"] == analysis.verdict == _report.QUICK_VERDICT
    assert man["finding"] == analysis.finding and analysis.finding.startswith("Smoke test only")
    assert not any(f"verdict {v}" in analysis.finding for v in _stats.VERDICTS)
    assert len(man["seeds"]) == man["replicates"] == plan.replicates
    for key in ("config", "versions", "commit", "arms", "root_seed", "finding"):
        assert key in man

    from test_report_honesty import check_mechanism, mechanism_text

    check_mechanism(mechanism_text(analysis.report))

    report = (out / "REPORT.md").read_text()
    paragraph = report.split("\n\n")[1]
    note = "**Quick run: a smoke test with no verdict.**"
    assert paragraph.startswith(note)
    sentences = [s for s in paragraph.replace("e.g.", "eg").split(". ") if s.strip()]
    assert 4 <= len(sentences) <= 9, sentences
    assert "Verdict: none (quick run;" in paragraph
    assert not any(f"**{v}**" in report for v in _stats.VERDICTS)

    # Common random numbers: replicate k has one seed in every arm.
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == plan.n_runs
    assert (runs.groupby("replicate")["seed"].nunique() == 1).all()
    assert list(runs.groupby("replicate")["seed"].first()) == list(plan.seeds)


@pytest.mark.parametrize("name", STUDY_NAMES)
def test_summary_recomputes_from_raw_outputs(name, quick_outputs):
    out, _ = quick_outputs(name)
    again = _study.reanalyse(out).summary()
    written = pd.read_csv(out / "summary.csv")
    assert len(again) == len(written)
    for col in ("mean", "ci_low", "ci_high", "effect", "statistic", "p_value", "p_holm"):
        a = pd.to_numeric(again[col], errors="coerce").to_numpy(float)
        b = pd.to_numeric(written[col], errors="coerce").to_numpy(float)
        assert np.allclose(a, b, rtol=1e-4, atol=1e-9, equal_nan=True), col
    assert list(again["outcome"].fillna("")) == list(written["outcome"].fillna(""))


# --------------------------------------------------------------------------------------------
# Shared machinery
# --------------------------------------------------------------------------------------------


def test_crn_seeds_are_deterministic_and_distinct():
    a, b = _plan.crn_seeds(7, 5), _plan.crn_seeds(7, 5)
    assert a == b and len(set(a)) == 5
    assert _plan.crn_seeds(7, 3) == a[:3]
    assert _plan.crn_seeds(8, 5) != a


def test_paired_test_matches_scipy():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 12)
    b = a + rng.normal(0.5, 1, 12)
    t = _stats.paired_test("c", "d", "m", a, b, ">0")
    ref = stats.ttest_rel(b, a)
    assert t.statistic == pytest.approx(ref.statistic)
    assert t.p_value == pytest.approx(ref.pvalue)
    assert t.effect == pytest.approx(np.mean(b - a))
    assert t.low < t.effect < t.high
    assert t.d_z == pytest.approx(np.mean(b - a) / np.std(b - a, ddof=1))
    assert t.wilcoxon_p == pytest.approx(stats.wilcoxon(b - a).pvalue)


def test_welch_test_matches_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 10), rng.normal(1, 2, 14)
    t = _stats.welch_test("c", "d", "m", a, b, ">0")
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert t.statistic == pytest.approx(ref.statistic)
    assert t.p_value == pytest.approx(ref.pvalue)


def _quick_and_full_plans():
    quick = STUDIES["review_quality"].plan("quick")
    return quick, dataclasses.replace(quick, size="full")


def test_drawn_intervals_stay_within_the_metrics_range():
    """Two seeds give a t-interval of +-12.7 standard errors: for a count it reaches far below
    zero unless clipped at the count's bounds. Unbounded metrics keep the whole interval."""
    _, (ax,) = _figures.new_figure(1)
    y = np.array([[1.0, 10.0], [3.0, 30.0]])  # 2 seeds x 2 days
    _figures.band(ax, np.arange(2), y, "count", bounds=_figures.NON_NEGATIVE)
    _figures.band(ax, np.arange(2), y - 20, "difference")
    clipped, free = (c.get_paths()[0].vertices[:, 1] for c in ax.collections)
    assert clipped.min() == 0.0 and free.min() < -20
    err = _figures.error_bars([0.5, 0.55], [-0.3, 0.2], [1.3, 0.9], _figures.SHARE)
    np.testing.assert_allclose(err, [[0.5, 0.35], [0.5, 0.35]])
    assert np.isnan(_figures.error_bars([0.5], [np.nan], [np.nan])).sum() == 0


def test_figures_leave_pyplot_and_the_backend_alone(tmp_path):
    """Library code leaves global state alone: a study's figure is a plain Figure, so drawing
    one neither selects a backend nor leaves an open pyplot figure behind."""
    import matplotlib
    import matplotlib.pyplot as plt

    backend, open_figures = matplotlib.get_backend(), plt.get_fignums()
    fig, _ = _figures.new_figure(2)
    _figures.finish(fig, tmp_path / "f.png", "title", _quick_and_full_plans()[1])
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert matplotlib.get_backend() == backend and plt.get_fignums() == open_figures


def test_a_quick_run_is_labelled_a_smoke_test_with_no_verdict(tmp_path):
    quick, full = _quick_and_full_plans()
    texts = {}
    for plan in (quick, full):
        fig, _ = _figures.new_figure(1)
        _figures.finish(fig, tmp_path / f"{plan.size}.png", "title", plan)
        texts[plan.size] = " ".join(t.get_text() for t in fig.texts)
    assert _figures.QUICK_LABEL in texts["quick"] and "2 seeds per arm" in texts["quick"]
    assert _figures.QUICK_LABEL not in texts["full"]

    tests = [_stats.Test("c", "d", "m", "b-a", ">0", "paired t", 1.0, 0.5, 1.5, 2, 3.0, 0.01)]
    verdict = _stats.judge(tests)
    analysis = _report.Analysis(
        tests,
        [],
        verdict,
        ["We ran it.", _report.verdict_sentence(verdict, tests)],
        "It grew — verdict supported.",
        print,
    )
    smoke = _report.smoke_test(analysis, quick)
    assert smoke.verdict == _report.QUICK_VERDICT and analysis.verdict == "supported"
    assert smoke.report[0].startswith("**Quick run: a smoke test with no verdict.**")
    assert smoke.report[1:] == [
        "We ran it.",
        "Verdict: none (quick run; 1 of 1 claims came out as predicted, which at this size "
        "means nothing).",
    ]
    assert smoke.finding == (
        "Smoke test only (quick run, no verdict): It grew — no verdict at this size."
    )
    assert smoke.summary().equals(analysis.summary())


def test_holm_and_verdict_rule():
    assert list(_stats.holm([0.01, 0.04, 0.03])) == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(_stats.holm([math.nan, 0.01])[0])

    def t(effect, p, predicted):
        return _stats.Test("c", "d", "m", "b-a", predicted, "paired t", effect, 0, 0, 10, 1.0, p)

    both = [t(1.0, 0.001, ">0"), t(-1.0, 0.001, "<0")]
    assert _stats.judge(both) == "supported"
    assert [x.outcome for x in both] == ["as predicted"] * 2
    assert _stats.judge([t(-1.0, 0.001, ">0"), t(0.1, 0.5, ">0")]) == "not supported"
    # A prediction of no (positive) effect is judged by its equivalence test: a
    # non-significant difference no longer confirms it (tests/test_report_honesty.py).
    wide = _stats.equivalence_test("c", "", "m", [-3.0, 4.0, -2.0, 5.0, 0.5], 1.0, "<=0")
    assert _stats.judge([t(1.0, 0.001, ">0"), wide]) == "mixed"
    assert wide.outcome == _stats.UNDECIDED
    tight = _stats.equivalence_test("c", "", "m", [0.01, -0.02, 0.0, 0.02, -0.01], 1.0)
    assert _stats.judge([t(1.0, 0.001, ">0"), tight]) == "supported"
    assert tight.outcome == _stats.EQUIVALENT


def test_per_seed_slopes():
    df = pd.DataFrame(
        {"replicate": [0, 0, 0, 1, 1, 1], "x": [0, 1, 2] * 2, "y": [0, 2, 4, 1, 1, 1]}
    )
    assert list(_stats.per_seed_slopes(df, "x", "y")) == pytest.approx([2.0, 0.0])


def test_budgets_scale_with_the_population():
    arm = _plan.Arm("a", {"streams.focal.campaign.strategy": "none"})
    base = load_scenario("v1")
    sc = _plan.build_scenario(arm, {"population.viewers": base.population.viewers // 5})
    for name, g in base.streams.items():
        if g.campaign is not None:
            assert sc.streams[name].campaign.daily_budget == pytest.approx(
                g.campaign.daily_budget / 5
            )
            assert sc.streams[name].campaign.max_budget == pytest.approx(g.campaign.max_budget / 5)
    assert sc.streams["focal"].campaign.strategy == "none"


def test_frozen_market_keeps_traits_across_seeds():
    from simulation.model import SnowballModel

    sc = _plan.build_scenario(_plan.Arm("a"), _plan.QUICK_SIZES, market_seed=5)
    assert sc.streams["focal"].count == 1
    assert sum(g.count for g in sc.streams.values()) == sum(
        g.count for g in load_scenario("v1", _plan.QUICK_SIZES).streams.values()
    )
    t1, t2 = SnowballModel(sc, 1).table, SnowballModel(sc, 2).table
    for attr in ("hook", "retention", "persuasion", "price", "quality", "category", "start_tick"):
        assert np.array_equal(getattr(t1, attr), getattr(t2, attr)), attr


def test_parallel_runs_equal_serial_runs():
    plan = STUDIES["review_quality"].plan("quick", 2)
    plan = dataclasses.replace(plan, arms=plan.arms[:2])
    measure = STUDIES["review_quality"].measure
    serial = _execute.execute_plan(plan, measure, jobs=1)
    parallel = _execute.execute_plan(plan, measure, jobs=2)
    cols = [c for c in serial[0].columns if c != "wall_seconds"]
    pd.testing.assert_frame_equal(serial[0][cols], parallel[0][cols])
    pd.testing.assert_frame_equal(serial[1], parallel[1])


def test_cli_lists_plans_and_rejects_bad_input(capsys):
    assert main(["experiment", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in STUDY_NAMES)
    assert main(["experiment", "--all", "--plan", "--quick"]) == 0
    assert "CPU minutes" in capsys.readouterr().out
    assert main(["experiment", "paid_leverag"]) == 2
    assert "did you mean 'paid_leverage'" in capsys.readouterr().err
    assert main(["experiment"]) == 2
    assert main(["experiment", "exploration", "--replicates", "1"]) == 2


def test_cli_runs_a_quick_study(tmp_path, capsys):
    out = tmp_path / "exploration"
    assert main(["experiment", "exploration", "--quick", "--quiet", "--out", str(out)]) == 0
    assert (out / "figure.png").exists()
    assert "exploration:" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# Direction of the effect at a moderate size (slow): the study's own statistic and test, its
# moderate sizes and its fixed list of seeds (spawned from its root seed). Studies 1-3 on the
# arms the claim compares; studies 4-9 run their whole moderate plan through their own
# analysis.
# --------------------------------------------------------------------------------------------


def _moderate(name: str, arms: list[str]):
    plan = STUDIES[name].plan("moderate")
    plan = dataclasses.replace(plan, arms=tuple(plan.arm(a) for a in arms))
    runs, daily, _ = _execute.execute_plan(plan, STUDIES[name].measure, jobs=2)
    return plan, runs, daily


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="underpowered at moderate size: over replicates 0-5 at 10,000 viewers of version "
    "2's market the feed's acceleration index less the funnel's is -0.05 [-0.45, +0.36] (d_z "
    "-0.13), paired t p = 0.77 (version 1's market: +0.19, p = 0.065 with round 8's random "
    "stream); the full study finds +0.17 [0.06, 0.29], p = 0.005 "
    "(results/snowball_vs_funnel). Strict: if the moderate run starts to pass, this fails and "
    "the note must be revisited.",
)
def test_snowball_vs_funnel_growth_bends_up_more_under_the_feed():
    """Study 1: the acceleration index of the good room without ads is higher under the
    interest feed than under the search funnel (paired t, p < 0.05)."""
    from experiments.snowball_vs_funnel import acceleration

    _, _, daily = _moderate("snowball_vs_funnel", ["default_no_ads", "funnel_no_ads"])
    feed = acceleration(_stats.daily_matrix(daily, "default_no_ads", "gmv"))
    funnel = acceleration(_stats.daily_matrix(daily, "funnel_no_ads", "gmv"))
    t = _stats.paired_test("feed_shape_steeper", "", "acceleration", funnel, feed, ">0")
    assert t.effect > 0 and t.p_value < 0.05, t


@pytest.mark.slow
def test_paid_leverage_is_positive_above_the_peer_average():
    """Study 2: rooms converting above the peer average get free traffic from paid traffic
    (mean leverage over the levels above 1 x, one-sample t, p < 0.05). Measured over
    replicates 0-5 of version 2's market: +0.44 [0.06, 0.82] (d_z 1.22), p = 0.030 (version
    1's, round 8's random stream: +0.68, p = 0.024); the full study (20 seeds) finds +0.18
    [0.09, 0.26], p = 0.0005 (results/paid_leverage)."""
    from experiments.paid_leverage import leverage_table

    _, runs, _ = _moderate("paid_leverage", ["p1.4_ads", "p1.4_no_ads", "p2_ads", "p2_no_ads"])
    lev = leverage_table(runs)
    above = lev[lev["x"] > 1].groupby("replicate")["leverage"].mean()
    t = _stats.one_sample_test("above_positive", "", "leverage", above.to_numpy(), ">0")
    assert t.effect > 0 and t.p_value < 0.05, t


@pytest.mark.slow
def test_feedback_gated_beats_always_scale_on_roi():
    """Study 3: on the low-capacity room, feedback-gated's paid ROI beats always-scale's
    (paired t, p < 0.05)."""
    _, runs, _ = _moderate("paid_strategies", ["low_always_scale", "low_feedback_gated"])

    def roi(arm):
        return runs[runs["arm"] == arm].sort_values("replicate")["paid_roi"].to_numpy(float)

    t = _stats.paired_test(
        "gated_roi", "", "paid_roi", roi("low_always_scale"), roi("low_feedback_gated"), ">0"
    )
    assert t.effect > 0 and t.p_value < 0.05, t


def test_gallery_is_written_from_the_manifests_into_the_readme(tmp_path):
    """The gallery (results/GALLERY.md and the README block) is built from each study's
    manifest — its verdict and finding — never written by hand."""
    out = tmp_path / "results"
    for name, verdict in (("exploration", "mixed"), ("inequality", "not supported")):
        (out / name).mkdir(parents=True)
        atomic_write_json(
            out / name / "manifest.json",
            {"verdict": verdict, "finding": f"{name} found x.", "size": "quick", "replicates": 2},
        )
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# t\n\n{_gallery.GALLERY_START}\nstale\n{_gallery.GALLERY_END}\n\n## after\n"
    )
    path = _gallery.write_gallery(out, readme=readme)
    text = readme.read_text()
    assert "stale" not in text and text.endswith("## after\n")
    assert "### inequality — not supported" in text
    assert "![exploration](results/exploration/figure.png)" in text
    assert "inequality found x." in text
    assert "![exploration](exploration/figure.png)" in path.read_text()
    assert "fan_accumulation" not in text  # only studies with a manifest


def test_run_study_refuses_a_folder_with_foreign_files_before_running(tmp_path):
    from simulation.errors import OutputFolderError

    (tmp_path / "thesis.tex").write_text("draft")
    with pytest.raises(OutputFolderError, match="not empty"):
        _study.run_study("review_quality", quick=True, out_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


MODERATE_CLAIMS = {
    "fan_accumulation": {"fan_share_rises": ">0", "gpm_rises": ">0"},
    "inequality": {"feed_less_predictable": ">0", "feed_faster_takeoff": "<0"},
    # traffic_follows_quality_sooner: the full study finds the opposite of the prediction
    # (results/exploration); the moderate run must reproduce that finding.
    "exploration": {"gini_falls": "<0", "traffic_follows_quality_sooner": "<0"},
    "product_mix": {"drivers_lift_traffic": ">0"},
    "review_quality": {
        "long_traffic_down_q0.7": "<0",
        "long_gmv_down_q0.7": "<0",
        "long_traffic_down_q0.5": "<0",
        "long_gmv_down_q0.5": "<0",
    },
}
"""Per study, the claims the full study found significant (results/<study>/summary.csv) that
its moderate plan also shows (two-sided p < 0.05, unadjusted), with the sign found; each is
significant in version 2's full studies too, with the same sign. Measured on version 1's
market and left out, as underpowered at moderate size (moderate effect, p; full-size Holm p):
fan_accumulation variance_falls (-0.046, 0.40; 4e-6), inequality feed_gini_higher (+0.046,
0.09; 2e-4), exploration quality_found_faster (+0.005, 0.77; 0.002), product_mix
margin_rises_low_end (+245, 0.51; 2e-4) and margin_falls_high_end (full: opposite, +620; 1e-4;
moderate +402, 0.22); content_cadence more_traffic (+8,645 impressions, 0.098; 0.003),
more_gmv (+8,060 yuan, 0.21; 0.003) and daily_helps (+10,086, 0.064; 0.003), all three
significant at moderate size with round 7's random stream, none with round 8's (docs/
PERFORMANCE.md). Not re-measured at moderate size on version 2, whose full studies find
feed_gini_higher and margin_rises_low_end not significant and margin_falls_high_end as
predicted (-5,408 yuan, Holm p 2e-12). fact_portfolio has no claim the full study found
significantly different from zero (its confirmed claim is an equivalence)."""


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODERATE_CLAIMS))
def test_moderate_plan_reproduces_the_full_studys_significant_claims(name):
    """Studies 4-9: the whole moderate plan, analysed by the study itself; each listed claim
    (its paired or slope t-test) is significant at 0.05 with the full study's sign."""
    mod = STUDIES[name]
    plan = mod.plan("moderate")
    runs, daily, streams = _execute.execute_plan(plan, mod.measure, jobs=2)
    tests = {t.claim: t for t in mod.analyse(runs, daily, plan, streams).tests}
    for claim, sign in MODERATE_CLAIMS[name].items():
        t = tests[claim]
        assert t.p_value < 0.05 and (t.effect > 0) == (sign == ">0"), t
