"""Paid leverage: does paid traffic lever free traffic only for rooms whose viewers convert
better than the peer average?

Scenario
    ``default`` (interest feed). The focal room keeps its scenario traits and its campaign
    (feedback-gated, 800 yuan a day, interest targeting) except for the variable.
Variable under study
    The focal room's persuasion (conversion strength) as a multiple of the peer average
    (0.05, the centre of the field groups' range [0.02, 0.08]): 0.4, 0.7, 1.0, 1.4 and 2.0
    x; each level is run with the campaign (``ads``) and without it (``no_ads``, strategy
    ``none``) on the same seed (common random numbers).
Sizes
    full: 20,000 viewers, the default 209 streams, 10 days, 20 seeds (10 arms);
    moderate: 10,000 viewers, 7 days, 6 seeds; quick: 3,000 viewers, ~40 streams, 3 days,
    2 seeds.
Metric
    Free-traffic leverage per seed and level = (free impressions with ads - without) / paid
    impressions, over the run. Beside it, the measured relative conversion of the room
    (orders per entry in the no-ads run / the platform's orders per entry) and the paid
    viewers' orders per impression relative to the platform's.
Tests
    (1) Trend: OLS slope of leverage on the relative persuasion within each seed, one-sample
    t on the per-seed slopes (> 0). (2) Above the peer average: per-seed mean leverage over
    the levels > 1, one-sample t (> 0). (3) Below: the same over the levels < 1, predicted not
    positive: confirmed only by the upper one-sided test of the TOST pair against the margin
    below (the 90% interval's upper end under +margin; a negative leverage fits the
    prediction). Wilcoxon signed-rank reported; Holm correction over the three.
Equivalence margin
    below_not_positive: +0.1 extra free impressions per paid impression. Leverage under 0.1
    means the free traffic a campaign earns adds less than a tenth to the impressions it
    buys, too little to change what the campaign is worth; the source's "near zero" is
    read as that. Set before looking at any result.
Predicted pattern (source)
    Leverage rises with the room's conversion: positive above the peer average, near zero or
    negative below it.
"""

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments._figures import NON_NEGATIVE, ci_points, finish, new_figure
from experiments._measure import Measurement, focal_measurement
from experiments._plan import QUICK_SIZES, Arm, Plan, crn_plan
from experiments._report import (
    Analysis,
    describe_test,
    equivalence_word,
    fmt,
    mechanism,
    run_sentence,
    trend,
    verdict_sentence,
)
from experiments._stats import (
    CONTRADICTED,
    Test,
    arm_rows,
    equivalence_test,
    judge,
    mean_interval,
    one_sample_test,
    per_seed_slopes,
    slope_test,
)
from simulation.config import load_scenario

NAME = "paid_leverage"
ROOT_SEED = 102
PEER_PERSUASION = 0.05
LEVELS = (0.4, 0.7, 1.0, 1.4, 2.0)
QUICK_LEVELS = (0.4, 2.0)
MARGIN = 0.1
"""The non-superiority margin of "not positive below the peer average", in leverage
(docstring)."""
EQUIVALENCE_MARGINS = {"below_not_positive": "+0.1 extra free impressions per paid impression"}
"""Each prediction of no (positive) effect and its margin, as the docstring states it."""
SIZES: dict[str, dict[str, Any]] = {
    "full": {"population.viewers": 20_000, "days": 10},
    "moderate": {"population.viewers": 10_000, "days": 7},
    "quick": {**QUICK_SIZES, "days": 3},
}


def plan(size: str, replicates: int | None = None) -> Plan:
    """Arms: persuasion level x {ads, no_ads}."""
    levels = QUICK_LEVELS if size == "quick" else LEVELS
    arms = []
    for rel in levels:
        p = round(rel * PEER_PERSUASION, 6)
        for ads in (True, False):
            over: dict[str, Any] = {"streams.focal.persuasion": p}
            if not ads:
                over["streams.focal.campaign.strategy"] = "none"
            arms.append(
                Arm(
                    f"p{rel:g}_{'ads' if ads else 'no_ads'}",
                    over,
                    "default",
                    f"persuasion {rel:g} x peers, {'with' if ads else 'without'} ads",
                    x=rel,
                    tags={"ads": ads},
                )
            )
    return crn_plan(
        NAME, size, arms, ROOT_SEED, SIZES, replicates, notes={"peer_persuasion": PEER_PERSUASION}
    )


def measure(result: Any, arm: Arm) -> Measurement:
    """What one run contributes (see the module docstring's metrics)."""
    m = focal_measurement(result, arm)
    d = m.daily
    sums = {
        c: float(d[c].sum())
        for c in (
            "orders",
            "entries",
            "impressions",
            "dwell_minutes",
            "gmv",
            "paid_orders",
            "paid_impressions",
        )
    }
    plat = {
        c: float(d[f"platform_{c}"].sum())
        for c in ("orders", "entries", "impressions", "dwell_minutes", "gmv")
    }

    def ratio(num: str, den: str) -> float:
        a = sums[num] / sums[den] if sums[den] > 0 else float("nan")
        b = plat[num] / plat[den] if plat[den] > 0 else float("nan")
        return a / b if b > 0 else float("nan")

    feed = result.scenario.feed
    w_e, w_g = feed.value_engagement_weight, feed.value_gmv_weight
    m.scalars["relative_cvr"] = ratio("orders", "entries")
    m.scalars["relative_engagement"] = ratio("dwell_minutes", "impressions")
    m.scalars["relative_gpm"] = ratio("gmv", "impressions")
    m.scalars["relative_value"] = (
        w_e * m.scalars["relative_engagement"] + w_g * m.scalars["relative_gpm"]
    ) / (w_e + w_g)
    opi = plat["orders"] / plat["impressions"] if plat["impressions"] > 0 else float("nan")
    paid = sums["paid_impressions"]
    m.scalars["paid_relative_orders"] = (
        sums["paid_orders"] / paid / opi if paid > 0 and opi > 0 else float("nan")
    )
    top = len(result.scenario.feed.tier_caps) - 1
    live = d[d["live_minutes"] > 0]
    m.scalars["top_tier_days"] = float((live["pool_tier"] == top).mean()) if len(live) else 0.0
    return m


def leverage_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (level, replicate): leverage and the paired quantities behind it."""
    ads = runs[runs["ads"].astype(bool)].set_index(["x", "replicate"])
    none = runs[~runs["ads"].astype(bool)].set_index(["x", "replicate"])
    out = pd.DataFrame(
        {
            "free_with": ads["total_free_impressions"],
            "free_without": none["total_free_impressions"],
            "paid": ads["total_paid_impressions"],
            "relative_cvr": none["relative_cvr"],
            "relative_value": none["relative_value"],
            "relative_engagement": none["relative_engagement"],
            "top_tier_days": none["top_tier_days"],
            "relative_value_with": ads["relative_value"],
            "top_tier_days_with": ads["top_tier_days"],
            "paid_relative_orders": ads["paid_relative_orders"],
            "gmv_with": ads["total_gmv"],
            "gmv_without": none["total_gmv"],
        }
    )
    out["leverage"] = np.where(
        out["paid"] > 0,
        (out["free_with"] - out["free_without"]) / out["paid"].clip(lower=1),
        np.nan,
    )
    return out.reset_index()


def analyse(
    runs: pd.DataFrame, daily: pd.DataFrame, plan: Plan, streams: pd.DataFrame | None = None
) -> Analysis:
    """Tests, verdict, report and figure from the raw tables (module docstring)."""
    lev = leverage_table(runs)
    runs = runs.merge(
        lev[["x", "replicate", "leverage"]].assign(ads=True),
        on=["x", "replicate", "ads"],
        how="left",
    )
    metrics = {
        "leverage": "free-traffic leverage (extra free per paid impression; ads arms)",
        "total_free_impressions": "focal free impressions over the run",
        "total_paid_impressions": "focal paid impressions over the run",
        "total_gmv": "focal GMV over the run, yuan",
        "paid_roi": "paid GMV per yuan spent",
        "relative_cvr": "focal orders per entry / platform orders per entry",
        "relative_engagement": "focal dwell per impression / platform's",
        "relative_value": "the feed's value formula on run totals, focal / platform",
        "top_tier_days": "share of live days the room reached the top pool tier",
        "paid_relative_orders": "orders per paid impression / platform orders per impression",
    }
    if "total_profit" in runs:  # economics.profit_accounting: profit beside ROI
        metrics["total_profit"] = "focal profit after every cost (simulation.economics), yuan"
    rows = arm_rows(runs, metrics, plan.arms)
    slopes = per_seed_slopes(lev, "x", "leverage")
    above = lev[lev["x"] > 1].groupby("replicate")["leverage"].mean()
    below = lev[lev["x"] < 1].groupby("replicate")["leverage"].mean()
    tests: list[Test] = [
        slope_test(
            "leverage_rises",
            "slope of leverage on relative persuasion (per seed)",
            "leverage per unit of relative persuasion",
            slopes,
            ">0",
        ),
        one_sample_test(
            "above_positive",
            "mean leverage of the rooms above the peer average",
            "leverage",
            above.to_numpy(),
            ">0",
        ),
        equivalence_test(
            "below_not_positive",
            "mean leverage of the rooms below the peer average (predicted not positive: "
            f"below +{MARGIN:g})",
            "leverage",
            below.to_numpy(),
            MARGIN,
            "<=0",
        ),
    ]
    verdict = judge(tests)
    t = {x.claim: x for x in tests}
    levels = sorted(lev["x"].unique())
    by_level = {x: lev[lev["x"] == x] for x in levels}
    lev_means = {x: mean_interval(g["leverage"])[0] for x, g in by_level.items()}
    report = [
        run_sentence(
            plan,
            "the default market with the focal room's persuasion set to "
            f"{', '.join(f'{x:g}' for x in levels)} x the peer average, each with and "
            "without its feedback-gated campaign",
        ),
        "Leverage by level was "
        + ", ".join(f"{fmt(lev_means[x])} ({x:g} x)" for x in levels)
        + f"; the per-seed slope was {describe_test(t['leverage_rises'], 'per unit')}.",
        f"Above the peer average the mean leverage was {describe_test(t['above_positive'])}; "
        f"below it {describe_test(t['below_not_positive'])}.",
        verdict_sentence(verdict, tests),
        _mechanism(t, levels, lev, runs),
    ]
    peak = max(levels, key=lambda x: lev_means[x])
    above = trend(t["above_positive"], "positive", "negative", "not significantly positive")
    rises = trend(t["leverage_rises"], "rose", "fell", "did not rise significantly")
    below = equivalence_word(
        t["below_not_positive"],
        f"not positive (shown below +{MARGIN:g})",
        f"positive (shown above +{MARGIN:g})",
        f"not shown either way against +{MARGIN:g}",
    )
    at_peak = (
        f", {fmt(lev_means[peak], 2)} at {peak:g} x (its peak)"
        if peak not in (levels[0], levels[-1])
        else ""
    )
    finding = (
        f"Free-traffic leverage was {fmt(lev_means[levels[0]], 2)} at {levels[0]:g} x the "
        f"peers' conversion{at_peak} and "
        f"{fmt(lev_means[levels[-1]], 2)} at {levels[-1]:g} x: {above} above the peer "
        f"average and {below} below it ({fmt(t['above_positive'].effect, 2)} vs "
        f"{fmt(t['below_not_positive'].effect, 2)}), and it {rises} with conversion — verdict "
        f"{verdict}."
    )

    def draw(path: Path) -> None:
        fig, ax = new_figure(3, 3, width=5.0, height=4.0)
        ci_points(
            ax[0],
            levels,
            [by_level[x]["leverage"].to_numpy() for x in levels],
            "leverage",
            "#4C72B0",
        )
        ax[0].axhline(0, color="grey", lw=0.8)
        ax[0].axvline(1, color="grey", ls=":", lw=0.8)
        ax[0].set(
            title="Free-traffic leverage",
            xlabel="focal persuasion / peer average",
            ylabel="extra free impressions per paid impression",
        )
        for col, lab, c in (
            ("free_with", "with ads", "#DD8452"),
            ("free_without", "without ads", "#7f7f7f"),
        ):
            free = [by_level[x][col].to_numpy() / 1000 for x in levels]
            ci_points(ax[1], levels, free, lab, c, bounds=NON_NEGATIVE)
        ax[1].set(
            title="Focal free impressions over the run",
            xlabel="focal persuasion / peer average",
            ylabel="thousand impressions",
        )
        ax[1].legend(fontsize=8)
        ci_points(
            ax[2],
            levels,
            [by_level[x]["relative_cvr"].to_numpy() for x in levels],
            "room (no-ads run): orders per entry",
            "#55A868",
            bounds=NON_NEGATIVE,
        )
        ci_points(
            ax[2],
            levels,
            [by_level[x]["relative_value"].to_numpy() for x in levels],
            "room (no-ads run): feed's value",
            "#4C72B0",
            bounds=NON_NEGATIVE,
        )
        ci_points(
            ax[2],
            levels,
            [by_level[x]["paid_relative_orders"].to_numpy() for x in levels],
            "paid viewers: orders per impression",
            "#DD8452",
            bounds=NON_NEGATIVE,
        )
        ax[2].axhline(1, color="grey", lw=0.8)
        ax[2].set(
            title="The room relative to the platform average",
            xlabel="focal persuasion / peer average",
            ylabel="ratio to platform average",
        )
        ax[2].legend(fontsize=8)
        finish(
            fig,
            path,
            "Paid leverage vs the room's conversion relative to peers (mean and "
            f"95% interval over {plan.replicates} paired seeds)",
            plan,
        )

    return Analysis(tests, rows, verdict, report, finding, draw)


def _mechanism(
    t: dict[str, Test], levels: list[float], lev: pd.DataFrame, runs: pd.DataFrame
) -> str:
    """What these runs measured of the mechanism, and what is only a hypothesis."""

    def mean(x: float, col: str) -> float:
        return float(np.nanmean(lev.loc[lev["x"] == x, col]))

    parts = [
        f"{x:g} x: value {mean(x, 'relative_value'):.2f} (engagement "
        f"{mean(x, 'relative_engagement'):.2f}, conversion {mean(x, 'relative_cvr'):.2f}), "
        f"top tier on {mean(x, 'top_tier_days'):.0%} of days"
        for x in levels
    ]
    measured = ["without ads the rooms measured " + "; ".join(parts)]
    hypotheses = [
        "paid viewers enter the same horse-race windows as free ones, so paid traffic moves "
        "the room's pool tier only through its measured value (engagement and GPM against "
        "the platform)"
    ]
    below = [x for x in levels if x < 1]
    if below and t["below_not_positive"].outcome == CONTRADICTED:
        lifted = "; ".join(
            f"{x:g} x: value {mean(x, 'relative_value'):.2f} → "
            f"{mean(x, 'relative_value_with'):.2f}, top tier on "
            f"{mean(x, 'top_tier_days'):.0%} → {mean(x, 'top_tier_days_with'):.0%} of days, "
            f"paid impressions ordering at {mean(x, 'paid_relative_orders'):.2f} x the "
            "platform's rate"
            for x in below
        )
        measured.append(
            "below the peer average paid traffic still earned free traffic, and the "
            f"campaign's viewers raised the room's measured value and tier (without → with "
            f"ads, {lifted})"
        )
    if t["leverage_rises"].outcome != "as predicted":
        top = levels[-1]
        share = _cap_share(runs, top)
        if np.isfinite(share):
            measured.append(
                f"at {top:g} x without ads the feed held the room's free allocation at the "
                f"top tier's cap in {share:.1%} of its live ticks"
            )
        hypotheses.append(
            "leverage does not keep rising with conversion because the better rooms reach the "
            "top tier without ads"
            + (
                " and the top tier's cap bounds their free traffic"
                if not np.isfinite(share) or share >= RARELY
                else ""
            )
        )
    return mechanism(measured, hypotheses)


RARELY = 0.05
"""A cap that binds in fewer than this share of the live ticks does not bound the traffic."""


def _cap_share(runs: pd.DataFrame, x: float) -> float:
    """Share of the no-ads room's live ticks at level ``x`` in which the feed held its free
    allocation at the top tier's cap (pooled over seeds); NaN for runs without the counter."""
    if "total_top_cap_bound_ticks" not in runs.columns:
        return float("nan")
    r = runs[(runs["x"] == x) & ~runs["ads"].astype(bool)]
    ticks = r["total_live_minutes"].sum() / load_scenario("default").tick_minutes
    return float(r["total_top_cap_bound_ticks"].sum() / ticks) if ticks > 0 else float("nan")
