"""A study's report: the :class:`Analysis` its ``analyse`` returns, and the words of its
REPORT.md, generated from the computed numbers (never written by hand).

A quick run (``--quick``: 2 seeds in a tiny market) is a smoke test of the code path, not a
study: :func:`smoke_test` makes its report, verdict, finding and figure say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from experiments._stats import ALPHA, CONTRADICTED, EQUIVALENT, Test

if TYPE_CHECKING:
    from experiments._plan import Plan


@dataclass
class Analysis:
    """What :func:`analyse` of a study returns (computed only from the tables)."""

    tests: list[Test]
    arm_rows: list[dict[str, Any]]
    verdict: str
    report: list[str]
    finding: str
    draw: Callable[[Path], None]

    def summary(self) -> pd.DataFrame:
        cols = [
            "kind",
            "arm",
            "label",
            "x",
            "metric",
            "description",
            "mean",
            "ci_low",
            "ci_high",
            "n",
            "claim",
            "comparison",
            "predicted",
            "effect",
            "effect_low",
            "effect_high",
            "cohen_dz",
            "test",
            "statistic",
            "p_value",
            "p_holm",
            "wilcoxon_statistic",
            "wilcoxon_p",
            "outcome",
            "margin",
            "ci90_low",
            "ci90_high",
            "p_beyond_margin",
        ]
        df = pd.DataFrame(self.arm_rows + [t.row() for t in self.tests])
        for c in cols:
            if c not in df.columns:
                df[c] = math.nan if c not in ("kind", "arm", "label", "metric") else ""
        return df[cols]


def count(n: int, noun: str) -> str:
    """``3 days``, ``1 day``: a count with its noun in the right number."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def fmt(x: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (thousands separated)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return f"{x:,.{decimals}f}"


def fmt_p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def describe_test(t: Test, unit: str = "", digits: int = 3) -> str:
    """``+1,234 yuan [95% CI 800, 1,600], paired t = 4.1, Holm p = 0.002`` style text; for a
    prediction of no (positive) effect, the equivalence test against its margin and its
    outcome (:func:`describe_equivalence`)."""
    if t.equivalence:
        return describe_equivalence(t, unit, digits)
    u = f" {unit}" if unit else ""
    return (
        f"{fmt(t.effect, digits)}{u} [95% CI {fmt(t.low, digits)}, {fmt(t.high, digits)}], "
        f"{t.test} = {fmt(t.statistic, 3)}, Holm-adjusted {fmt_p(t.p_adjusted)}"
    )


def describe_equivalence(t: Test, unit: str = "", digits: int = 3) -> str:
    """``-12 yuan [95% CI -85, 134]; equivalence margin ±50 yuan, 90% CI -70, 119: not shown
    either way (TOST (paired t), Holm-adjusted p = 0.41)`` style text."""
    u = f" {unit}" if unit else ""
    bound = f"±{fmt(t.margin, digits)}" if t.predicted == "~0" else f"+{fmt(t.margin, digits)}"
    what = "equivalence margin" if t.predicted == "~0" else "non-superiority margin"
    return (
        f"{fmt(t.effect, digits)}{u} [95% CI {fmt(t.low, digits)}, {fmt(t.high, digits)}]; "
        f"{what} {bound}{u}, 90% CI {fmt(t.low90, digits)}, {fmt(t.high90, digits)}: "
        f"{t.outcome or 'not judged'} ({t.test}, Holm-adjusted {fmt_p(t.p_adjusted)})"
    )


def equivalence_word(t: Test, none: str, effect: str, undecided: str) -> str:
    """The word for what an equivalence test found: ``none`` when confirmed equivalent,
    ``effect`` when contradicted, ``undecided`` when not shown either way."""
    if t.outcome == EQUIVALENT:
        return none
    if t.outcome == CONTRADICTED:
        return effect
    return undecided


def trend(t: Test, up: str, down: str, flat: str = "did not change significantly") -> str:
    """The word for what a test found: ``up``/``down`` when significant (Holm) in that
    direction, else ``flat``. Not for an equivalence test (its p is not a test of a
    difference): :func:`equivalence_word`."""
    if t.equivalence:
        raise ValueError(f"{t.claim}: trend() of an equivalence test; use equivalence_word()")
    sig = math.isfinite(t.p_adjusted) and t.p_adjusted < ALPHA
    if not sig:
        return flat
    return up if t.effect > 0 else down


def run_sentence(plan: Plan, what: str) -> str:
    """The report's first sentence: what was run, at which size."""
    return (
        f"We ran {what}: {plan.describe()} ({plan.size} size), replicate k of every arm "
        f"sharing seed k (common random numbers), every other parameter at the scenario "
        f"defaults."
    )


def verdict_sentence(verdict: str, tests: list[Test]) -> str:
    n_ok = sum(t.confirmed for t in tests)
    n_eq = sum(t.equivalence for t in tests)
    how = (
        ", predictions of no effect confirmed only by an equivalence test (TOST) against "
        "the margin in the study's design"
        if n_eq
        else ""
    )
    return (
        f"Verdict: **{verdict}** ({n_ok} of {len(tests)} claims confirmed at Holm-adjusted "
        f"p < {ALPHA}{how})."
    )


MEASURED = "Mechanism, measured in these runs:"
"""Opens a mechanism sentence whose every statement is a number from the study's own runs
(a counter or an arm of the design), quoted."""
HYPOTHESIS = "Hypothesis:"
"""Opens a mechanism sentence that these runs do not measure (an explanation from the model's
rules, to be tested by a counter or an ablation)."""


def mechanism(measured: list[str], hypotheses: list[str]) -> str:
    """A report's mechanism text: what the runs measured (each part quoting its number),
    then what is only a hypothesis, each in a sentence of its own that says which it is."""
    out = []
    if measured:
        out.append(f"{MEASURED} {'; '.join(measured)}.")
    if hypotheses:
        out.append(f"{HYPOTHESIS} {'; '.join(hypotheses)}.")
    return " ".join(out)


QUICK_VERDICT = "none (a quick run is a smoke test)"
"""The verdict of every quick run: its tests decide nothing."""


def smoke_test(analysis: Analysis, plan: Plan) -> Analysis:
    """``analysis`` of a quick plan, saying what it is: a smoke test with no verdict.

    A quick run has two seeds per arm in a tiny market: enough to check that the study runs
    end to end, far too few for its tests to decide a claim (a t-interval from two seeds is
    ±12.7 standard errors wide). The report opens by saying so, the verdict sentence becomes
    a count of the tests' outcomes with that caveat, the verdict is :data:`QUICK_VERDICT`, and
    the finding is prefixed and its closing "verdict X" becomes "no verdict at this size"; the
    figure carries the same label (see
    :func:`experiments._figures.finish`). The tests themselves stay in summary.csv.
    """
    note = (
        f"**Quick run: a smoke test with no verdict.** {count(plan.replicates, 'seed')} per "
        "arm in a tiny market check that the study runs end to end; at this size its "
        "intervals are wide and its tests decide nothing (run the study at full size for a "
        "verdict)."
    )
    judged = verdict_sentence(analysis.verdict, analysis.tests)
    n_ok = sum(t.confirmed for t in analysis.tests)
    instead = (
        f"Verdict: none (quick run; {n_ok} of {len(analysis.tests)} claims came out as "
        "predicted, which at this size means nothing)."
    )
    report = [note] + [instead if s == judged else s for s in analysis.report]
    said = analysis.finding.replace(f"verdict {analysis.verdict}", "no verdict at this size")
    finding = f"Smoke test only (quick run, no verdict): {said}"
    return replace(analysis, verdict=QUICK_VERDICT, report=report, finding=finding)
