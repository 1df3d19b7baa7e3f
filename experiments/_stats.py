"""Statistics of a study: intervals, the tests of its claims, Holm's adjustment and the
verdict, and the per-arm summary rows.

Verdict rule (all studies): each claim is a test with a predicted direction; p-values are
Holm-adjusted across the study's claims; a claim is "as predicted" when the adjusted
p < 0.05 in the predicted direction (for a "not positive" prediction: unless the effect is
significantly positive), "opposite" when significant the other way, "no significant
difference" otherwise. Supported = every claim as predicted; not supported = none; mixed
otherwise.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from simulation.intervals import mean_interval, t_quantile

if TYPE_CHECKING:
    from experiments._plan import Arm

ALPHA = 0.05
OUTCOMES = ("as predicted", "opposite", "no significant difference")
VERDICTS = ("supported", "not supported", "mixed")


@dataclass
class Test:
    """One claim tested: an effect with its 95% interval, a test and the predicted sign.

    ``predicted`` is ``">0"``, ``"<0"`` or ``"<=0"`` (not positive). ``effect`` is the mean of
    the paired differences (or of the per-seed statistic), ``d_z`` its mean / sd.
    """

    claim: str
    description: str
    metric: str
    comparison: str
    predicted: str
    test: str
    effect: float
    low: float
    high: float
    n: int
    statistic: float
    p_value: float
    d_z: float = math.nan
    wilcoxon_statistic: float = math.nan
    wilcoxon_p: float = math.nan
    p_adjusted: float = math.nan
    outcome: str = ""

    def row(self) -> dict[str, Any]:
        return {
            "kind": "test",
            "claim": self.claim,
            "description": self.description,
            "metric": self.metric,
            "comparison": self.comparison,
            "predicted": self.predicted,
            "effect": self.effect,
            "effect_low": self.low,
            "effect_high": self.high,
            "n": self.n,
            "cohen_dz": self.d_z,
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "p_holm": self.p_adjusted,
            "wilcoxon_statistic": self.wilcoxon_statistic,
            "wilcoxon_p": self.wilcoxon_p,
            "outcome": self.outcome,
        }


def _wilcoxon(d: np.ndarray) -> tuple[float, float]:
    d = d[np.isfinite(d)]
    if len(d) < 2 or np.all(d == 0):
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = stats.wilcoxon(d)
        except ValueError:
            return math.nan, math.nan
    return float(r.statistic), float(r.pvalue)


def one_sample_test(
    claim: str,
    description: str,
    metric: str,
    values: Sequence[float],
    predicted: str,
    comparison: str = "mean vs 0",
    test: str = "one-sample t",
) -> Test:
    """t-test (and Wilcoxon signed-rank) of mean(values) = 0; for per-seed differences or
    per-seed statistics such as slopes."""
    d = np.asarray(values, dtype=float)
    d = d[np.isfinite(d)]
    m, lo, hi, _ = mean_interval(d)
    n = len(d)
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    if n > 1 and sd > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = stats.ttest_1samp(d, 0.0)
        t, p = float(r.statistic), float(r.pvalue)
    elif n > 1:  # every difference identical
        t = math.copysign(math.inf, m) if m != 0 else math.nan
        p = 0.0 if m != 0 else 1.0
    else:
        t, p = math.nan, math.nan
    w, wp = _wilcoxon(d)
    dz = m / sd if n > 1 and sd > 0 else math.nan
    return Test(
        claim, description, metric, comparison, predicted, test, m, lo, hi, n, t, p, dz, w, wp
    )


def paired_test(
    claim: str,
    description: str,
    metric: str,
    a: Sequence[float],
    b: Sequence[float],
    predicted: str,
    names: tuple[str, str] = ("A", "B"),
) -> Test:
    """Paired t-test of b - a over replicates (common random numbers), with Wilcoxon."""
    a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return one_sample_test(
        claim, description, metric, b_ - a_, predicted, f"{names[1]} - {names[0]}", "paired t"
    )


def welch_test(
    claim: str,
    description: str,
    metric: str,
    a: Sequence[float],
    b: Sequence[float],
    predicted: str,
    names: tuple[str, str] = ("A", "B"),
) -> Test:
    """Welch's unequal-variance t-test of mean(b) - mean(a) (arms not paired)."""
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    a_, b_ = a_[np.isfinite(a_)], b_[np.isfinite(b_)]
    eff = float(b_.mean() - a_.mean()) if len(a_) and len(b_) else math.nan
    lo = hi = t = p = math.nan
    if len(a_) > 1 and len(b_) > 1:
        va, vb = a_.var(ddof=1) / len(a_), b_.var(ddof=1) / len(b_)
        se = math.sqrt(va + vb)
        if se > 0:
            df = (va + vb) ** 2 / (va**2 / (len(a_) - 1) + vb**2 / (len(b_) - 1))
            half = float(t_quantile(df)) * se
            lo, hi = eff - half, eff + half
            r = stats.ttest_ind(b_, a_, equal_var=False)
            t, p = float(r.statistic), float(r.pvalue)
    pooled = math.sqrt((a_.var(ddof=1) + b_.var(ddof=1)) / 2) if len(a_) > 1 and len(b_) > 1 else 0
    d = eff / pooled if pooled > 0 else math.nan
    return Test(
        claim,
        description,
        metric,
        f"{names[1]} - {names[0]}",
        predicted,
        "Welch t",
        eff,
        lo,
        hi,
        len(a_) + len(b_),
        t,
        p,
        d,
    )


def slope_test(
    claim: str, description: str, metric: str, slopes: Sequence[float], predicted: str
) -> Test:
    """:func:`one_sample_test` of per-seed OLS slopes (see :func:`per_seed_slopes`) vs 0."""
    return one_sample_test(
        claim,
        description,
        metric,
        slopes,
        predicted,
        "per-seed OLS slope vs 0",
        "one-sample t on slopes",
    )


def per_seed_slopes(df: pd.DataFrame, x: str, y: str, by: str = "replicate") -> np.ndarray:
    """OLS slope of ``y`` on ``x`` within each replicate (common random numbers), shape (R,)."""
    out = []
    for _, g in df.groupby(by, sort=True):
        g = g[np.isfinite(g[x]) & np.isfinite(g[y])]
        if len(g) >= 2 and g[x].nunique() >= 2:
            out.append(float(np.polyfit(g[x].to_numpy(float), g[y].to_numpy(float), 1)[0]))
        else:
            out.append(math.nan)
    return np.asarray(out)


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full(len(p), math.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out


def judge(tests: list[Test], alpha: float = ALPHA) -> str:
    """Holm-adjust the tests in place, set each outcome, and return the verdict."""
    adj = holm([t.p_value for t in tests])
    for t, pa in zip(tests, adj, strict=True):
        t.p_adjusted = float(pa)
        sig = math.isfinite(pa) and pa < alpha
        up = t.effect > 0
        if t.predicted == "<=0":
            t.outcome = "opposite" if sig and up else "as predicted"
        elif not sig:
            t.outcome = "no significant difference"
        elif up == (t.predicted == ">0"):
            t.outcome = "as predicted"
        else:
            t.outcome = "opposite"
    hits = sum(t.outcome == "as predicted" for t in tests)
    if tests and hits == len(tests):
        return "supported"
    if hits == 0:
        return "not supported"
    return "mixed"


def arm_rows(
    runs: pd.DataFrame, metrics: Mapping[str, str], arms: Sequence[Arm]
) -> list[dict[str, Any]]:
    """Per arm and metric: mean, 95% t-interval over replicates and n (summary.csv rows).

    ``metrics`` maps a column of ``runs`` to its description with units.
    """
    rows = []
    for a in arms:
        r = runs[runs["arm"] == a.name]
        for col, desc in metrics.items():
            m, lo, hi, n = mean_interval(r[col])
            rows.append(
                {
                    "kind": "arm",
                    "arm": a.name,
                    "label": a.label or a.name,
                    "x": a.x,
                    "metric": col,
                    "description": desc,
                    "mean": m,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": n,
                }
            )
    return rows


def arm_values(runs: pd.DataFrame, arm: str, col: str) -> np.ndarray:
    """Column ``col`` of one arm's runs in replicate order (paired across arms)."""
    return runs[runs["arm"] == arm].sort_values("replicate")[col].to_numpy(float)


def daily_matrix(daily: pd.DataFrame, arm: str, col: str) -> np.ndarray:
    """(replicates, days) matrix of a daily column for one arm."""
    d = daily[daily["arm"] == arm].pivot(index="replicate", columns="day", values=col)
    return d.sort_index().to_numpy(dtype=float)
