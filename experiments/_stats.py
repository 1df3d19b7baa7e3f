"""Statistics of a study: intervals, the tests of its claims, Holm's adjustment and the
verdict, and the per-arm summary rows.

Verdict rule (all studies): each claim is a test of a prediction; p-values are
Holm-adjusted across the study's claims.

- A directional prediction (``">0"``, ``"<0"``) is "as predicted" when the adjusted
  p < 0.05 in the predicted direction, "opposite" when significant the other way, "no
  significant difference" otherwise.
- A prediction of no effect (``"~0"``: "no effect", "fades") or of no positive effect
  (``"<=0"``: "not positive") carries an equivalence margin, stated in the study's docstring
  in the study's units and argued from substance (a share of the baseline, or the smallest
  effect that would matter), never chosen after the result. A non-significant difference
  does not confirm it: only an equivalence test does (:func:`equivalence_test`, TOST). It is
  "equivalent (confirmed)" when the Holm-adjusted TOST p < 0.05 (for ``"~0"`` the 90%
  interval lies inside +-margin; for ``"<=0"`` only the upper test, the interval's upper end
  below +margin), "contradicted" when the effect is shown beyond the margin (the one-sided
  test that it exceeds +margin, or for ``"~0"`` falls below -margin, on the side of the
  estimate, Holm-adjusted p < 0.05 in a second pass over the study's claims), and "not
  shown either way" otherwise: a wide interval that holds both negligible and substantial
  effects decides nothing.

Supported = every claim confirmed ("as predicted" or "equivalent (confirmed)"); not
supported = none; mixed otherwise.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from simulation.intervals import mean_interval, t_quantile

if TYPE_CHECKING:
    from experiments._plan import Arm

ALPHA = 0.05
OUTCOMES = ("as predicted", "opposite", "no significant difference")
"""Outcomes of a directional prediction (``">0"``, ``"<0"``)."""
EQUIVALENT = "equivalent (confirmed)"
UNDECIDED = "not shown either way"
CONTRADICTED = "contradicted"
EQUIVALENCE_OUTCOMES = (EQUIVALENT, UNDECIDED, CONTRADICTED)
"""Outcomes of a prediction of no effect (``"~0"``) or no positive effect (``"<=0"``)."""
EQUIVALENCE_KINDS = ("~0", "<=0")
"""The predictions that need an equivalence test (and a margin)."""
CONFIRMED = ("as predicted", EQUIVALENT)
"""The outcomes that count towards a study's verdict."""
VERDICTS = ("supported", "not supported", "mixed")


@dataclass
class Test:
    """One claim tested: an effect with its 95% interval, a test and the predicted sign.

    ``predicted`` is ``">0"``, ``"<0"``, ``"~0"`` (no effect: within +-``margin``) or
    ``"<=0"`` (not positive: below +``margin``). ``effect`` is the mean of the paired
    differences (or of the per-seed statistic), ``d_z`` its mean / sd. For the two
    equivalence kinds ``p_value`` is the TOST p (:func:`equivalence_test`), ``p_beyond`` the
    one-sided p that the effect lies beyond the margin, and ``low90``/``high90`` the 90%
    interval the TOST compares with the margin.
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
    margin: float | None = None
    p_beyond: float = math.nan
    low90: float = math.nan
    high90: float = math.nan

    @property
    def equivalence(self) -> bool:
        """Whether this claim is a prediction of no (positive) effect, judged by TOST."""
        return self.predicted in EQUIVALENCE_KINDS

    @property
    def confirmed(self) -> bool:
        """Whether the outcome counts towards the verdict (:data:`CONFIRMED`)."""
        return self.outcome in CONFIRMED

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
            "margin": math.nan if self.margin is None else self.margin,
            "ci90_low": self.low90,
            "ci90_high": self.high90,
            "p_beyond_margin": self.p_beyond,
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


def tost(values: Sequence[float], margin: float, upper_only: bool = False) -> dict[str, float]:
    """Two one-sided t-tests (TOST) of mean(values) against the margin +-``margin``.

    H0_low: mean <= -margin and H0_high: mean >= +margin, each by a one-sided Student t on
    the finite values (for a paired design pass the paired differences). The TOST p is the
    larger of the two one-sided p's; p < alpha is the same as the 100(1 - 2 alpha)%
    interval lying inside (-margin, +margin). ``upper_only`` keeps only H0_high (a
    prediction of no *positive* effect: the interval's upper end below +margin).

    Returns ``mean``, ``t_low``, ``p_low``, ``t_high``, ``p_high``, ``p`` (TOST),
    ``p_beyond`` (one-sided p that the mean lies beyond the margin on the side of the
    estimate: above +margin for a mean >= 0 or with ``upper_only``, else below -margin),
    ``low90``/``high90`` (the 90% t-interval) and ``n``. NaN for fewer than 2 values or a
    NaN margin (one that cannot be set, e.g. a share of a baseline that sold nothing: the
    claim is then "not shown either way"); with zero spread the one-sided p's are 0 or 1 by
    where the mean lies.
    """
    if not (margin > 0 or math.isnan(margin)):
        raise ValueError(f"an equivalence margin must be a positive number, not {margin!r}")
    d = np.asarray(values, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    nan = math.nan
    out = {"mean": float(d.mean()) if n else nan, "n": float(n)}
    if n < 2 or math.isnan(margin):
        out.update(t_low=nan, p_low=nan, t_high=nan, p_high=nan, p=nan, p_beyond=nan)
        out.update(low90=nan, high90=nan)
        return out
    m = out["mean"]
    se = float(d.std(ddof=1)) / math.sqrt(n)
    df = n - 1
    if se > 0:
        t_low, t_high = (m + margin) / se, (m - margin) / se
        p_low = float(stats.t.sf(t_low, df))  # H0: mean <= -margin
        p_high = float(stats.t.cdf(t_high, df))  # H0: mean >= +margin
        p_above = float(stats.t.sf(t_high, df))  # H0: mean <= +margin
        p_below = float(stats.t.cdf(t_low, df))  # H0: mean >= -margin
        half = float(t_quantile(df, 0.90)) * se
    else:
        t_low = math.copysign(math.inf, m + margin) if m + margin else nan
        t_high = math.copysign(math.inf, m - margin) if m - margin else nan
        p_low, p_high = float(m <= -margin), float(m >= margin)
        p_above, p_below = float(m <= margin), float(m >= -margin)
        half = 0.0
    above = upper_only or m >= 0
    out.update(
        t_low=t_low,
        p_low=p_low,
        t_high=t_high,
        p_high=p_high,
        p=p_high if upper_only else max(p_low, p_high),
        p_beyond=p_above if above else p_below,
        low90=m - half,
        high90=m + half,
    )
    return out


def equivalence_test(
    claim: str,
    description: str,
    metric: str,
    values: Sequence[float],
    margin: float,
    predicted: str = "~0",
    comparison: str = "mean vs 0",
    test: str = "TOST (one-sample t)",
) -> Test:
    """A prediction of no effect (``"~0"``) or of no positive effect (``"<=0"``) tested by
    :func:`tost` against ``margin`` (in the units of ``values``), beside the ordinary t-test
    and Wilcoxon of mean = 0 (reported, not judged). For per-seed differences or per-seed
    statistics; :func:`paired_equivalence_test` for two paired arms."""
    if predicted not in EQUIVALENCE_KINDS:
        raise ValueError(
            f"an equivalence test predicts one of {EQUIVALENCE_KINDS}, not {predicted!r}"
        )
    base = one_sample_test(claim, description, metric, values, predicted, comparison, test)
    r = tost(values, margin, upper_only=predicted == "<=0")
    # The t reported is the binding one-sided test's (the larger p).
    binding = r["t_high"] if predicted == "<=0" or r["p_high"] >= r["p_low"] else r["t_low"]
    return replace(
        base,
        statistic=binding,
        p_value=r["p"],
        margin=float(margin),
        p_beyond=r["p_beyond"],
        low90=r["low90"],
        high90=r["high90"],
    )


def paired_equivalence_test(
    claim: str,
    description: str,
    metric: str,
    a: Sequence[float],
    b: Sequence[float],
    margin: float,
    predicted: str = "~0",
    names: tuple[str, str] = ("A", "B"),
) -> Test:
    """Paired TOST of b - a over replicates (common random numbers): :func:`equivalence_test`
    of the paired differences."""
    a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return equivalence_test(
        claim,
        description,
        metric,
        b_ - a_,
        margin,
        predicted,
        f"{names[1]} - {names[0]}",
        "TOST (paired t)",
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
    """Holm-adjust the tests in place, set each outcome, and return the verdict (see the
    module docstring).

    The claims' p-values (the TOST p for a prediction of no effect) form one Holm family,
    which decides "as predicted" and "equivalent (confirmed)"; whether a prediction of no
    effect is "contradicted" is decided in a second Holm pass over the same claims, with
    the one-sided p that its effect lies beyond the margin in place of its TOST p.
    """
    for t in tests:
        if t.equivalence and t.margin is None:
            raise ValueError(f"claim {t.claim!r} predicts {t.predicted} without a margin")
        if not t.equivalence and t.predicted not in (">0", "<0"):
            raise ValueError(f"claim {t.claim!r}: unknown prediction {t.predicted!r}")
    adj = holm([t.p_value for t in tests])
    beyond = holm([t.p_beyond if t.equivalence else t.p_value for t in tests])
    for t, pa, pb in zip(tests, adj, beyond, strict=True):
        t.p_adjusted = float(pa)
        sig = math.isfinite(pa) and pa < alpha
        up = t.effect > 0
        if t.equivalence:
            if sig:
                t.outcome = EQUIVALENT
            elif math.isfinite(pb) and pb < alpha:
                t.outcome = CONTRADICTED
            else:
                t.outcome = UNDECIDED
        elif not sig:
            t.outcome = "no significant difference"
        elif up == (t.predicted == ">0"):
            t.outcome = "as predicted"
        else:
            t.outcome = "opposite"
    hits = sum(t.confirmed for t in tests)
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
