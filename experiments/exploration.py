"""Exploration: does giving more free traffic to exploration lower inequality (Gini) and let
the feed find quality faster?

Scenario
    ``default`` (interest feed), unchanged except for the variable.
Variable under study
    ``feed.exploration``, the share of free slots given to a uniformly random live stream of
    the slot's category (``feed.exploration_scope = "category"``, the scenario's): 0, 0.05
    (the scenario's), 0.1, 0.2, 0.4.
Sizes
    full: 15,000 viewers, the default 209 streams, 10 days, 20 seeds per arm (5 arms);
    moderate: 10,000 viewers, 7 days, 6 seeds; quick: 3,000 viewers, ~40 streams, 3 days,
    2 seeds, two levels.
Metrics
    Gini of GMV and of impressions across all streams over the run. "Finding quality": each
    stream's hidden quality q = hook x retention x persuasion (entry x dwell x conversion for
    an average viewer; never seen by the platform); on each day, the Spearman correlation
    across the streams that have been live so far between q and their cumulative free
    impressions per live hour ("traffic follows quality"), and between q and the value the
    feed itself measures from the day's counts ("the feed's read of quality": its own
    estimator and value formula applied to each stream's daily counts). Speed = the mean of
    each correlation over the first three days. Also the day the focal good newcomer takes
    off (free impressions >= 3 x the median of live streams; runs where it never does count
    as the run's length).
Tests
    Per-seed OLS slopes on the exploration share (common random numbers), one-sample t on
    the slopes, Wilcoxon reported, Holm over the three claims: (1) Gini of GMV falls (< 0);
    (2) the early correlation of the feed's measured value with quality rises (> 0); (3) the
    early correlation of free traffic per live hour with quality rises (> 0).
Predicted pattern (source)
    More exploration / cold-start traffic lowers Gini and finds quality faster.
"""

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments._figures import CORRELATION, SHARE, band, ci_points, finish, new_figure
from experiments._measure import Measurement, takeoff_day
from experiments._plan import QUICK_SIZES, Arm, Plan, crn_plan
from experiments._report import (
    Analysis,
    describe_test,
    mechanism,
    run_sentence,
    trend,
    verdict_sentence,
)
from experiments._stats import (
    Test,
    arm_rows,
    daily_matrix,
    judge,
    mean_interval,
    per_seed_slopes,
    slope_test,
)
from simulation.api import focal_streams, scenario_of
from simulation.estimates import Estimator
from simulation.metrics import gini, top_share

NAME = "exploration"
ROOT_SEED = 110
LEVELS = (0.0, 0.05, 0.1, 0.2, 0.4)
QUICK_LEVELS = (0.0, 0.4)
EARLY_DAYS = 3
SIZES: dict[str, dict[str, Any]] = {
    "full": {"population.viewers": 15_000, "days": 10},
    "moderate": {"population.viewers": 10_000, "days": 7},
    "quick": {**QUICK_SIZES, "days": 3},
}


def plan(size: str, replicates: int | None = None) -> Plan:
    """Arms: one per exploration share."""
    levels = QUICK_LEVELS if size == "quick" else LEVELS
    arms = tuple(
        Arm(f"e{e:g}", {"feed.exploration": e}, "default", f"exploration {e:g}", x=e)
        for e in levels
    )
    return crn_plan(NAME, size, arms, ROOT_SEED, SIZES, replicates)


def measured_value_corr(result: Any, quality: np.ndarray) -> np.ndarray:
    """Per day, the Spearman correlation across the streams live that day between hidden
    quality and the value the platform measures from the day's traffic: the feed's own
    estimator (:class:`simulation.estimates.Estimator`: smoothed rates with the day's
    platform averages as priors, then its value formula) applied to each stream's counts."""
    st = result.streams
    sc = result.scenario
    est = Estimator(result.model.table.n, sc.feed, sc.tick_minutes)
    fields = {
        "impressions": "impressions",
        "entries": "entries",
        "dwell": "dwell_minutes",
        "orders": "orders",
        "gmv": "gmv",
    }
    out = np.full(sc.days, np.nan)
    for d, g in st.groupby("day"):
        g = g.sort_values("stream")
        counts = {k: g[c].to_numpy(float) for k, c in fields.items()}
        est.total = {k: float(v.sum()) for k, v in counts.items()}
        value = est.value(est.rates(counts))
        live = (g["live_minutes"] > 0).to_numpy()
        if live.sum() >= 3:
            out[int(d)] = stats.spearmanr(quality[live], value[live]).statistic
    return out


def measure(result: Any, arm: Arm) -> Measurement:
    """What one run contributes (see the module docstring's metrics)."""
    st = result.streams
    t = result.model.table
    quality = t.hook * t.retention * t.base_persuasion
    days = result.scenario.days
    totals = st.groupby("stream")[["gmv", "impressions"]].sum()
    free = st.pivot(index="day", columns="stream", values="free_impressions").to_numpy(float)
    hours = st.pivot(index="day", columns="stream", values="live_minutes").to_numpy(float) / 60
    cum_free, cum_hours = free.cumsum(axis=0), hours.cumsum(axis=0)
    rho = np.full(days, np.nan)
    for d in range(days):
        seen = cum_hours[d] > 0
        if seen.sum() >= 3:
            rate = cum_free[d, seen] / cum_hours[d, seen]
            rho[d] = stats.spearmanr(quality[seen], rate).statistic
    est = measured_value_corr(result, quality)
    day, took = takeoff_day(st, focal_streams(result.model, "focal"), days)
    scalars = {
        "gini_gmv": float(gini(totals["gmv"].to_numpy())),
        "gini_impressions": float(gini(totals["impressions"].to_numpy())),
        "top10_share_gmv": top_share(totals["gmv"].to_numpy(), 0.1),
        "early_quality_corr": float(np.nanmean(rho[:EARLY_DAYS])),
        "early_estimate_corr": float(np.nanmean(est[:EARLY_DAYS])),
        "final_quality_corr": float(rho[-1]),
        "focal_takeoff_day": day,
        "focal_took_off": took,
        "total_gmv": float(totals["gmv"].sum()),
    }
    daily = pd.DataFrame({"day": np.arange(days), "quality_corr": rho, "estimate_corr": est})
    return Measurement(scalars, daily)


def analyse(
    runs: pd.DataFrame, daily: pd.DataFrame, plan: Plan, streams: pd.DataFrame | None = None
) -> Analysis:
    """Tests, verdict, report and figure from the raw tables (module docstring)."""
    metrics = {
        "gini_gmv": "Gini of GMV across streams",
        "gini_impressions": "Gini of impressions across streams",
        "top10_share_gmv": "share of GMV of the top 10% of streams",
        "early_quality_corr": f"Spearman(quality, free impressions per live hour), mean of "
        f"days 0-{EARLY_DAYS - 1}",
        "final_quality_corr": "the same on the last day",
        "early_estimate_corr": f"Spearman(quality, the feed's measured value of the day), "
        f"mean of days 0-{EARLY_DAYS - 1}",
        "focal_takeoff_day": "day the focal newcomer took off (run length if never)",
        "focal_took_off": "share of runs where the focal newcomer took off",
        "total_gmv": "platform GMV over the run, yuan",
    }
    rows = arm_rows(runs, metrics, plan.arms)
    tests: list[Test] = [
        slope_test(
            "gini_falls",
            "per-seed slope of the Gini of GMV on the exploration share",
            "Gini per unit exploration",
            per_seed_slopes(runs, "x", "gini_gmv"),
            "<0",
        ),
        slope_test(
            "quality_found_faster",
            "per-seed slope of the early correlation of the feed's measured value with hidden "
            "quality on the exploration share",
            "correlation per unit exploration",
            per_seed_slopes(runs, "x", "early_estimate_corr"),
            ">0",
        ),
        slope_test(
            "traffic_follows_quality_sooner",
            "per-seed slope of the early correlation of free traffic per live hour with "
            "hidden quality on the exploration share",
            "correlation per unit exploration",
            per_seed_slopes(runs, "x", "early_quality_corr"),
            ">0",
        ),
    ]
    verdict = judge(tests)
    t = {x.claim: x for x in tests}
    xs = [a.x for a in plan.arms]

    def vals(x: float, col: str) -> np.ndarray:
        r = runs[runs["x"] == x].sort_values("replicate")
        return r[col].to_numpy(float)

    def m(x: float, col: str) -> float:
        return mean_interval(vals(x, col))[0]

    lo, hi = xs[0], xs[-1]
    report = [
        run_sentence(
            plan,
            "the default market with the feed's exploration share at "
            + ", ".join(f"{x:g}" for x in xs),
        ),
        f"The Gini of GMV across streams went from {m(lo, 'gini_gmv'):.3f} (exploration "
        f"{lo:g}) to {m(hi, 'gini_gmv'):.3f} ({hi:g}); per-seed slope "
        f"{describe_test(t['gini_falls'], 'per unit share')}.",
        f"Over the first {EARLY_DAYS} days the rank correlation of the feed's measured value "
        f"with hidden quality went from {m(lo, 'early_estimate_corr'):.3f} to "
        f"{m(hi, 'early_estimate_corr'):.3f} (slope "
        f"{describe_test(t['quality_found_faster'], 'per unit share')}), and that of free "
        f"traffic per live hour from {m(lo, 'early_quality_corr'):.3f} to "
        f"{m(hi, 'early_quality_corr'):.3f} (slope "
        f"{describe_test(t['traffic_follows_quality_sooner'], 'per unit share')}); the good "
        f"newcomer took off in {m(lo, 'focal_took_off'):.0%} vs {m(hi, 'focal_took_off'):.0%} "
        "of runs.",
        verdict_sentence(verdict, tests),
        _mechanism(t, m, lo, hi),
    ]
    nc = "did not significantly change"
    gini_word = trend(t["gini_falls"], "raised", "lowered", nc)
    found = trend(t["quality_found_faster"], "sharpened", "blurred", "did not significantly change")
    follows = trend(t["traffic_follows_quality_sooner"], "more", "less", "about as")
    finding = (
        f"Raising exploration from {lo:g} to {hi:g} {gini_word} the Gini of GMV "
        f"({m(lo, 'gini_gmv'):.2f} → {m(hi, 'gini_gmv'):.2f}), {found} the feed's early read "
        f"of quality ({m(lo, 'early_estimate_corr'):.3f} → {m(hi, 'early_estimate_corr'):.3f}), "
        f"and early free traffic followed quality {follows} closely "
        f"({m(lo, 'early_quality_corr'):.2f} → {m(hi, 'early_quality_corr'):.2f}) — verdict "
        f"{verdict}."
    )

    def draw(path: Path) -> None:
        fig, ax = new_figure(3, 3, width=5.0, height=4.0)
        ci_points(ax[0], xs, [vals(x, "gini_gmv") for x in xs], "GMV", "#C44E52", bounds=SHARE)
        ci_points(
            ax[0],
            xs,
            [vals(x, "gini_impressions") for x in xs],
            "impressions",
            "#4C72B0",
            bounds=SHARE,
        )
        ax[0].set(
            title="Inequality across streams",
            xlabel="exploration share of free slots",
            ylabel="Gini over the run",
        )
        ax[0].legend(fontsize=8)
        ci_points(
            ax[1],
            xs,
            [vals(x, "early_estimate_corr") for x in xs],
            "feed's measured value",
            "#8172B3",
            bounds=CORRELATION,
        )
        ci_points(
            ax[1],
            xs,
            [vals(x, "early_quality_corr") for x in xs],
            "free traffic per live hour",
            "#55A868",
            bounds=CORRELATION,
        )
        ax[1].set(
            title=f"Finding quality (days 0-{EARLY_DAYS - 1})",
            xlabel="exploration share of free slots",
            ylabel="Spearman correlation with hidden quality",
        )
        ax[1].legend(fontsize=8)
        days = int(daily["day"].max()) + 1
        cmap = ["#C44E52", "#DD8452", "#8172B3", "#4C72B0", "#55A868"]
        for i, a in enumerate(plan.arms):
            band(
                ax[2],
                np.arange(days),
                daily_matrix(daily, a.name, "estimate_corr"),
                a.label,
                cmap[i % len(cmap)],
                bounds=CORRELATION,
            )
        ax[2].set(
            title="The feed's measured value vs quality, by day",
            xlabel="day",
            ylabel="Spearman correlation with hidden quality",
        )
        ax[2].legend(fontsize=7)
        finish(
            fig,
            path,
            "More exploration: inequality and how fast the feed finds quality "
            f"(mean and 95% interval over {plan.replicates} paired seeds)",
            plan,
        )

    return Analysis(tests, rows, verdict, report, finding, draw)


def _mechanism(t: dict[str, Test], m: Any, lo: float, hi: float) -> str:
    """What these runs measured of the mechanism, and what is only a hypothesis."""
    scope = scenario_of("default").feed.exploration_scope
    a, b = m(lo, "early_estimate_corr"), m(hi, "early_estimate_corr")
    qa, qb = m(lo, "early_quality_corr"), m(hi, "early_quality_corr")
    measured = [
        f"from exploration {lo:g} to {hi:g} the rank correlation of the feed's early measured "
        f"value with hidden quality went {a:.3f} → {b:.3f}, and that of free traffic per live "
        f"hour {qa:.3f} → {qb:.3f}"
    ]
    if scope == "category":
        slot = (
            "an exploration slot goes to a uniformly random live stream of the slot's category "
            "(the category is drawn from the viewer's interests, as for every free slot) — "
            "outside the value ranking and the tier caps — so it spreads traffic within each "
            "category and gives every live stream measured impressions"
        )
    else:
        slot = (
            "an exploration slot goes to a uniformly random live stream of any category — "
            "outside the value ranking, the tier caps and the viewer's interests — so it "
            "spreads traffic and gives every live stream measured impressions"
        )
    hypotheses = [slot]
    if t["quality_found_faster"].outcome == "as predicted":
        hypotheses.append("this sharpens the feed's measured value of each room")
    elif scope != "category":
        hypotheses.append(
            "the extra impressions come from viewers who mostly do not care for the room's "
            "category (entry and buying fall with the viewer's relative interest), so they "
            "hardly sharpen the feed's measured value"
        )
    if t["traffic_follows_quality_sooner"].outcome != "as predicted":
        hypotheses.append(
            "the random slots dilute the value-ranked allocation, so free traffic per live hour "
            "tracks quality no more closely"
        )
    return mechanism(measured, hypotheses)
