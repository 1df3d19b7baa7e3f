"""Fan accumulation: as a room's fans accumulate, do the fan share of its traffic and its GPM
rise and its day-to-day GMV variance fall?

Scenario
    ``default`` (interest feed), unchanged: the focal room with its feedback-gated campaign.
Variable under study
    Time — the room's age over a long run (its follower base grows). One arm.
Sizes
    full: 20,000 viewers, the default 209 streams, 42 days (six weeks), 20 seeds;
    moderate: 10,000 viewers, 28 days, 6 seeds; quick: 3,000 viewers, ~40 streams, 4 days,
    2 seeds.
Metrics (focal room, per day)
    Fan share of traffic = impressions shown to the room's followers / all its impressions;
    GPM = GMV per 1000 impressions (yuan); followers; and the day-to-day volatility of GMV in
    each week: the standard deviation of the daily log changes log(GMV_t / GMV_t-1) over the
    week's days (a growth trend shifts their mean, not their spread; the plain coefficient of
    variation within the week is reported too).
Tests
    (1) fan share and (2) GPM: OLS slope on day within each seed, one-sample t on the slopes
    (> 0); (3) volatility in the last week minus the second week (the first contains the
    cold start), paired by seed (< 0). Wilcoxon signed-rank reported; Holm over the three.
Predicted pattern (source)
    Fan share and GPM rise; day-to-day GMV variance falls.
"""

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments._figures import NON_NEGATIVE, PERCENT, band, ci_points, finish, new_figure
from experiments._measure import Measurement, focal_measurement, log_positive
from experiments._plan import QUICK_SIZES, Arm, Plan, crn_plan
from experiments._report import (
    Analysis,
    describe_test,
    fmt,
    mechanism,
    run_sentence,
    verdict_sentence,
)
from experiments._stats import (
    Test,
    arm_rows,
    daily_matrix,
    judge,
    mean_interval,
    paired_test,
    per_seed_slopes,
    slope_test,
)

NAME = "fan_accumulation"
ROOT_SEED = 104
SIZES: dict[str, dict[str, Any]] = {
    "full": {"population.viewers": 20_000, "days": 42},
    "moderate": {"population.viewers": 10_000, "days": 28},
    "quick": {**QUICK_SIZES, "days": 4},
}


def plan(size: str, replicates: int | None = None) -> Plan:
    """One arm: the default scenario."""
    arms = (Arm("default", {}, "default", "focal room, scenario as is"),)
    return crn_plan(NAME, size, arms, ROOT_SEED, SIZES, replicates)


def measure(result: Any, arm: Arm) -> Measurement:
    """What one run contributes (see the module docstring's metrics)."""
    m = focal_measurement(result, arm)
    d = m.daily
    imp = d["impressions"].clip(lower=1)
    d["fan_share"] = np.where(d["impressions"] > 0, d["fan_impressions"] / imp, np.nan)
    d["gpm"] = np.where(d["impressions"] > 0, 1000 * d["gmv"] / imp, np.nan)
    return m


def week_length(days: int) -> int:
    return 7 if days >= 21 else max(2, days // 2)


def weekly_cv(gmv: np.ndarray, week: int) -> np.ndarray:
    """(replicates, weeks) coefficient of variation of daily GMV within each week."""
    n = gmv.shape[1] // week
    out = np.full((gmv.shape[0], n), np.nan)
    for i in range(n):
        w = gmv[:, i * week : (i + 1) * week]
        mean = w.mean(axis=1)
        sd = w.std(axis=1, ddof=1) if week > 1 else np.zeros(len(w))
        out[:, i] = np.where(mean > 0, sd / np.where(mean > 0, mean, 1), np.nan)
    return out


def weekly_volatility(gmv: np.ndarray, week: int) -> np.ndarray:
    """(replicates, weeks) sd of the daily log changes of GMV over each week's days."""
    logs = log_positive(gmv)
    change = np.diff(logs, axis=1)  # change[:, d - 1] = log g_d - log g_(d-1)
    n = gmv.shape[1] // week
    out = np.full((gmv.shape[0], n), np.nan)
    for i in range(n):
        c = change[:, max(i * week, 1) - 1 : (i + 1) * week - 1]
        ok = np.isfinite(c).sum(axis=1) >= 2
        if ok.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[ok, i] = np.nanstd(c[ok], axis=1, ddof=1)
    return out


def _volatility_sentence(early: float, last: float, a: str, b: str, week: int) -> str:
    def vol(x: float, where: str) -> str:
        return f"{x:.2f} in {where}" if np.isfinite(x) else f"not measurable in {where}"

    head = "The day-to-day volatility of GMV (sd of daily log changes)"
    if np.isfinite(early):
        return f"{head} was {vol(early, a)} and {vol(last, b)}"
    if week < 3:
        why = (
            f"{week} days hold one daily change and an sd needs two (the run is too short "
            "for this claim)"
        )
    else:
        why = "fewer than two day-to-day changes between days with sales"
    return f"{head} could not be measured in {a}: {why}; it was {vol(last, b)}"


def analyse(
    runs: pd.DataFrame, daily: pd.DataFrame, plan: Plan, streams: pd.DataFrame | None = None
) -> Analysis:
    """Tests, verdict, report and figure from the raw tables (module docstring)."""
    days = int(daily["day"].max()) + 1
    week = week_length(days)
    gmv = daily_matrix(daily, "default", "gmv")
    cv = weekly_cv(gmv, week)
    vol = weekly_volatility(gmv, week)
    early, last = (1, cv.shape[1] - 1) if cv.shape[1] >= 3 else (0, cv.shape[1] - 1)

    def span(i: int) -> str:  # "week 2" in runs of three weeks or more, else the days
        return f"week {i + 1}" if week == 7 else f"days {i * week + 1}-{(i + 1) * week}"

    first, final = ("week", "week") if week == 7 else (f"{week} days",) * 2
    runs = runs.assign(
        cv_early=cv[:, early],
        cv_last=cv[:, last],
        volatility_early=vol[:, early],
        volatility_last=vol[:, last],
    )
    fan = daily_matrix(daily, "default", "fan_share")
    gpm = daily_matrix(daily, "default", "gpm")
    runs = runs.assign(
        fan_share_first_week=np.nanmean(fan[:, :week], axis=1),
        fan_share_last_week=np.nanmean(fan[:, -week:], axis=1),
        gpm_first_week=np.nanmean(gpm[:, :week], axis=1),
        gpm_last_week=np.nanmean(gpm[:, -week:], axis=1),
    )
    metrics = {
        "fan_share_first_week": f"fan share of focal impressions, first {first}",
        "fan_share_last_week": f"fan share of focal impressions, last {final}",
        "gpm_first_week": f"focal GPM, first {first}, yuan per 1000 impressions",
        "gpm_last_week": f"focal GPM, last {final}, yuan per 1000 impressions",
        "volatility_early": f"sd of daily log changes of focal GMV in {span(early)}",
        "volatility_last": f"sd of daily log changes of focal GMV in {span(last)} (last)",
        "cv_early": f"CV of daily focal GMV in {span(early)}",
        "cv_last": f"CV of daily focal GMV in {span(last)} (last)",
        "final_followers": "focal followers at the end",
        "total_gmv": "focal GMV over the run, yuan",
    }
    rows = arm_rows(runs, metrics, plan.arms)
    tests: list[Test] = [
        slope_test(
            "fan_share_rises",
            "per-seed slope of the daily fan share on day",
            "fan share per day",
            per_seed_slopes(daily, "day", "fan_share"),
            ">0",
        ),
        slope_test(
            "gpm_rises",
            "per-seed slope of daily GPM on day",
            "GPM (yuan per 1000 impressions) per day",
            per_seed_slopes(daily, "day", "gpm"),
            ">0",
        ),
        paired_test(
            "variance_falls",
            f"volatility of daily GMV, {span(last)} minus {span(early)}",
            "sd of daily log changes of GMV",
            runs["volatility_early"].to_numpy(float),
            runs["volatility_last"].to_numpy(float),
            "<0",
            (span(early), span(last)),
        ),
    ]
    verdict = judge(tests)
    t = {x.claim: x for x in tests}

    def mean(col: str) -> float:
        return mean_interval(runs[col])[0]

    follow = daily_matrix(daily, "default", "follow_impressions")
    imp = daily_matrix(daily, "default", "impressions")
    fans = daily_matrix(daily, "default", "fan_impressions")
    others = daily_matrix(daily, "default", "impressions") - fans
    vol_fan = mean_interval(weekly_volatility(fans, week)[:, last])[0]
    vol_other = mean_interval(weekly_volatility(others, week)[:, last])[0]
    follow_share_last = float(np.nansum(follow[:, -week:]) / max(np.nansum(imp[:, -week:]), 1))
    report = [
        run_sentence(
            plan, f"the default market unchanged, following the focal room over {days} days"
        ),
        f"The fan share of its impressions went from {mean('fan_share_first_week'):.1%} in "
        f"the first {first} to {mean('fan_share_last_week'):.1%} in the last (slope "
        f"{describe_test(t['fan_share_rises'], 'per day', 2)}), and GPM from "
        f"{fmt(mean('gpm_first_week'))} to {fmt(mean('gpm_last_week'))} yuan per 1000 "
        f"impressions (slope {describe_test(t['gpm_rises'], 'yuan per day')}).",
        _volatility_sentence(
            mean("volatility_early"), mean("volatility_last"), span(early), span(last), week
        )
        + f" (CV within the {'week' if week == 7 else 'period'} {mean('cv_early'):.2f} and "
        f"{mean('cv_last'):.2f}) "
        f"({describe_test(t['variance_falls'])}).",
        verdict_sentence(verdict, tests),
        _mechanism(t, follow_share_last, mean("final_followers"), vol_fan, vol_other, final),
    ]
    if np.isfinite(mean("volatility_early")):
        volatility = (
            f"{'weekly ' if week == 7 else ''}day-to-day volatility of GMV went "
            f"{mean('volatility_early'):.2f} → {mean('volatility_last'):.2f}"
        )
    elif week < 3:
        volatility = "run was too short to compare day-to-day volatility"
    else:
        volatility = "day-to-day volatility of GMV could not be compared (too few days with sales)"
    finding = (
        f"Over {days} days the good room's fan share of traffic rose from "
        f"{mean('fan_share_first_week'):.0%} to {mean('fan_share_last_week'):.0%}, GPM from "
        f"{fmt(mean('gpm_first_week'))} to {fmt(mean('gpm_last_week'))} yuan, and the "
        f"{volatility} — verdict {verdict}."
    )

    def draw(path: Path) -> None:
        fig, ax = new_figure(4, 2, width=5.5, height=3.8)
        x = np.arange(days)
        band(ax[0], x, 100 * fan, "fan share", "#55A868", bounds=PERCENT)
        ax[0].set(
            title="Fan share of the room's impressions",
            xlabel="day",
            ylabel="% of impressions shown to followers",
        )
        band(ax[1], x, gpm, "GPM", "#8172B3", bounds=NON_NEGATIVE)
        ax[1].set(title="GPM", xlabel="day", ylabel="yuan per 1000 impressions")
        band(ax[2], x, gmv / 1000, "GMV", "#4C72B0", bounds=NON_NEGATIVE)
        ax2 = ax[2].twinx()
        band(
            ax2,
            x,
            daily_matrix(daily, "default", "followers") / 1000,
            "followers",
            "#DD8452",
            bounds=NON_NEGATIVE,
            ls="--",
        )
        ax[2].set(
            title="Daily GMV (solid) and followers (dashed)",
            xlabel="day",
            ylabel="thousand yuan per day",
        )
        ax2.set_ylabel("thousand followers")
        weeks = np.arange(1, cv.shape[1] + 1)
        ci_points(
            ax[3],
            weeks,
            [vol[:, i] for i in range(vol.shape[1])],
            "volatility",
            "#C44E52",
            bounds=NON_NEGATIVE,
        )
        ci_points(
            ax[3],
            weeks,
            [cv[:, i] for i in range(cv.shape[1])],
            "CV within the week",
            "#8172B3",
            bounds=NON_NEGATIVE,
        )
        ax[3].set_xticks(weeks)
        ax[3].legend(fontsize=8)
        ax[3].set(
            title="Day-to-day variability of GMV",
            xlabel=f"week ({week} days)",
            ylabel="sd of daily log changes / CV",
        )
        finish(
            fig,
            path,
            "Fan accumulation in the focal room (mean and 95% interval over "
            f"{plan.replicates} seeds)",
            plan,
        )

    return Analysis(tests, rows, verdict, report, finding, draw)


def _mechanism(
    t: dict[str, Test],
    follow_share: float,
    followers: float,
    vol_fan: float,
    vol_other: float,
    last: str = "week",
) -> str:
    """What these runs measured of the mechanism, and what is only a hypothesis."""
    steadier = vol_fan < vol_other
    measured = [
        f"followers accumulated to about {fmt(followers)} by the end, and the follow channel "
        f"brought {follow_share:.1%} of the room's impressions in the last {last}",
        f"in the last {last} the room's impressions to fans varied "
        f"{'less' if steadier else 'no less'} from day to day than those to other viewers "
        f"(sd of daily log changes {vol_fan:.2f} vs {vol_other:.2f})",
    ]
    hypotheses = [
        "fans' stored affinity raises their entry, dwell and buy hazard (the only "
        "viewer-level difference a room's history makes), so a growing fan share lifts GPM"
    ]
    if t["variance_falls"].outcome == "as predicted" and steadier:
        hypotheses.append("a larger fan share steadies GMV")
    elif t["variance_falls"].outcome != "as predicted":
        hypotheses.append("GMV still swings with the free traffic the horse race allots each day")
    return mechanism(measured, hypotheses)
