"""Paid strategies: which paid-traffic strategy pays, on rooms of low, average and high
conversion capacity — and does feedback-gated scaling beat always-scale?

Scenario
    ``default`` (interest feed). The focal room keeps its scenario traits and campaign
    settings (800 yuan a day base budget, interest targeting, campaign defaults for scale
    step, budget ceiling, ROI floor) except for the variables.
Variables under study
    The focal campaign's strategy — every strategy of version 1's registry
    (:data:`STUDY_STRATEGIES`; later strategies wait for a redesign) except
    ``max_delivery`` while the campaign's own bidding mode is max_delivery (then ``fixed``
    makes exactly the same decisions: the same budget every day, bid by max delivery) —
    crossed with the room's capacity: persuasion 0.6, 1.0 and 1.6 x the peer average of
    0.05 (low, average, high). The ``none`` arm of each capacity is the
    common-random-numbers baseline for the incremental measures.
Sizes
    full: 15,000 viewers, the default 209 streams, 14 days (long enough for always-scale to
    reach the budget ceiling), 20 seeds per arm (18 arms); budgets are scaled with the
    viewers (``scale_budgets``: x 0.15 at 15,000), so the report's yuan are at that size;
    moderate: 10,000 viewers, 10 days, 6 seeds; quick: 3,000 viewers, ~40 streams, 3 days,
    2 seeds, average capacity only.
Metrics
    Focal GMV, margin, ad spend, paid ROI (paid GMV / spend), leverage ((free impressions -
    free impressions of the none arm) / paid impressions), incremental ROI ((GMV - GMV of
    none) / spend) and incremental profit (margin - spend - margin of none), all over the run.
Tests
    Paired t (common random numbers), Wilcoxon signed-rank reported, Holm over the five
    claims: (1-3) paid ROI of feedback_gated > always_scale at each capacity; (4) at low
    capacity, always_scale's paid ROI < fixed's (scaling without positive feedback lowers
    ROI); (5) incremental profit of feedback_gated > always_scale (per-seed mean over the
    capacities).
Predicted pattern (source)
    Scaling a budget without positive feedback lowers ROI; feedback-gated beats
    always-scale.
"""

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments._figures import NON_NEGATIVE, UNBOUNDED, error_bars, finish, new_figure
from experiments._plan import QUICK_SIZES, Arm, Plan, crn_plan
from experiments._report import (
    Analysis,
    describe_test,
    fmt,
    mechanism,
    run_sentence,
    verdict_sentence,
)
from experiments._stats import Test, arm_rows, judge, mean_interval, one_sample_test, paired_test
from simulation.config import load_scenario
from simulation.strategies import STRATEGIES

NAME = "paid_strategies"
SCENARIO_CAMPAIGN = load_scenario("default").streams["focal"].campaign
ROOT_SEED = 103
PEER_PERSUASION = 0.05
CAPACITIES = {"low": 0.6, "average": 1.0, "high": 1.6}
SIZES: dict[str, dict[str, Any]] = {
    "full": {"population.viewers": 15_000, "days": 14},
    "moderate": {"population.viewers": 10_000, "days": 10},
    "quick": {**QUICK_SIZES, "days": 3},
}


STUDY_STRATEGIES = (
    "none",
    "fixed",
    "cold_start",
    "roi_target",
    "max_delivery",
    "feedback_gated",
    "always_scale",
)
"""The strategies the study was designed with (version 1's registry). Strategies registered
later (version 2's ``explore_when_stable``, docs/MODEL.md 7.22) are not added to its arms:
the study's design stays as it is until it is redesigned (issue 22)."""


def strategies_run() -> list[str]:
    """The study's strategies (:data:`STUDY_STRATEGIES`, each registered): all but
    ``max_delivery`` when the campaign's own bidding mode is max delivery (``fixed`` then
    decides identically)."""
    same = SCENARIO_CAMPAIGN.bidding == "max_delivery"
    return [s for s in STRATEGIES if s in STUDY_STRATEGIES and not (same and s == "max_delivery")]


def plan(size: str, replicates: int | None = None) -> Plan:
    """Arms: every study strategy (see :func:`strategies_run`) x capacity."""
    caps = {"average": 1.0} if size == "quick" else CAPACITIES
    arms = []
    for cap, rel in caps.items():
        for strategy in strategies_run():
            arms.append(
                Arm(
                    f"{cap}_{strategy}",
                    {
                        "streams.focal.persuasion": round(rel * PEER_PERSUASION, 6),
                        "streams.focal.campaign.strategy": strategy,
                    },
                    "default",
                    f"{strategy}, {cap} capacity",
                    x=rel,
                    tags={"capacity": cap, "strategy": strategy},
                )
            )
    notes = {"peer_persuasion": PEER_PERSUASION, "capacities": caps}
    return crn_plan(NAME, size, arms, ROOT_SEED, SIZES, replicates, notes=notes)


def with_incremental(runs: pd.DataFrame) -> pd.DataFrame:
    """Add leverage, incremental ROI and incremental profit against the none arm of the same
    capacity and replicate."""
    base = runs[runs["strategy"] == "none"].set_index(["capacity", "replicate"])
    key = pd.MultiIndex.from_frame(runs[["capacity", "replicate"]])
    free0 = base["total_free_impressions"].reindex(key).to_numpy()
    gmv0 = base["total_gmv"].reindex(key).to_numpy()
    margin0 = base["total_margin"].reindex(key).to_numpy()
    out = runs.copy()
    paid = out["total_paid_impressions"].to_numpy(float)
    spend = out["total_ad_spend"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["leverage"] = np.where(paid > 0, (out["total_free_impressions"] - free0) / paid, np.nan)
        out["incremental_roi"] = np.where(spend > 0, (out["total_gmv"] - gmv0) / spend, np.nan)
    out["incremental_profit"] = out["total_margin"] - spend - margin0
    if "total_profit" in runs:  # economics.profit_accounting: the booked profit, every cost
        profit0 = base["total_profit"].reindex(key).to_numpy()
        out["incremental_booked_profit"] = out["total_profit"] - profit0
    out["net_margin"] = out["total_margin"] - spend
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cpm"] = np.where(paid > 0, 1000 * spend / paid, np.nan)
        out["paid_orders_per_mille"] = np.where(
            paid > 0, 1000 * out["total_paid_orders"] / paid, np.nan
        )
    return out


def analyse(
    runs: pd.DataFrame, daily: pd.DataFrame, plan: Plan, streams: pd.DataFrame | None = None
) -> Analysis:
    """Tests, verdict, report and figure from the raw tables (module docstring)."""
    runs = with_incremental(runs)
    last = daily[daily["day"] == daily["day"].max()][["arm", "replicate", "budget"]]
    runs = runs.merge(last.rename(columns={"budget": "final_budget"}), on=["arm", "replicate"])
    metrics = {
        "total_gmv": "focal GMV over the run, yuan",
        "total_ad_spend": "focal ad spend over the run, yuan",
        "paid_roi": "paid GMV per yuan spent",
        "leverage": "extra free impressions per paid impression (vs none)",
        "incremental_roi": "extra GMV per yuan spent (vs none)",
        "net_margin": "focal margin minus ad spend, yuan",
        "incremental_profit": "margin minus spend minus the none arm's margin, yuan",
        "cpm": "yuan per 1000 paid impressions",
        "paid_orders_per_mille": "paid orders per 1000 paid impressions",
        "final_budget": "daily budget on the last day, yuan",
    }
    if "total_profit" in runs:  # economics.profit_accounting: profit beside ROI
        metrics["total_profit"] = "focal profit after every cost (simulation.economics), yuan"
        metrics["incremental_booked_profit"] = "focal profit minus the none arm's, yuan"
    rows = arm_rows(runs, metrics, plan.arms)
    caps = list(plan.notes["capacities"])

    def vals(cap: str, strategy: str, col: str) -> np.ndarray:
        r = runs[(runs["capacity"] == cap) & (runs["strategy"] == strategy)]
        return r.sort_values("replicate")[col].to_numpy(float)

    tests: list[Test] = [
        paired_test(
            f"gated_roi_beats_scale_{cap}",
            f"{cap} capacity: paid ROI, feedback_gated minus always_scale",
            "paid_roi",
            vals(cap, "always_scale", "paid_roi"),
            vals(cap, "feedback_gated", "paid_roi"),
            ">0",
            ("always_scale", "feedback_gated"),
        )
        for cap in caps
    ]
    low = "low" if "low" in caps else caps[0]
    tests.append(
        paired_test(
            "scaling_lowers_roi",
            f"{low} capacity: paid ROI, always_scale minus fixed",
            "paid_roi",
            vals(low, "fixed", "paid_roi"),
            vals(low, "always_scale", "paid_roi"),
            "<0",
            ("fixed", "always_scale"),
        )
    )
    profit_diff = np.mean(
        [
            vals(c, "feedback_gated", "incremental_profit")
            - vals(c, "always_scale", "incremental_profit")
            for c in caps
        ],
        axis=0,
    )
    tests.append(
        one_sample_test(
            "gated_profit_beats_scale",
            "incremental profit, feedback_gated minus always_scale (mean over capacities)",
            "incremental_profit",
            profit_diff,
            ">0",
            "feedback_gated - always_scale",
            "paired t",
        )
    )
    verdict = judge(tests)
    t = {x.claim: x for x in tests}
    strategies = strategies_run()

    def m(cap: str, s: str, col: str) -> float:
        return mean_interval(vals(cap, s, col))[0]

    g, a = "feedback_gated", "always_scale"
    roi_text = "; ".join(
        f"{cap}: feedback_gated {fmt(m(cap, g, 'paid_roi'))} vs always_scale "
        f"{fmt(m(cap, a, 'paid_roi'))} (spend {fmt(m(cap, g, 'total_ad_spend'))} vs "
        f"{fmt(m(cap, a, 'total_ad_spend'))} yuan)"
        for cap in caps
    )
    best = {
        cap: max(
            (s for s in strategies if s != "none"),
            key=lambda s, c=cap: m(c, s, "incremental_profit"),
        )
        for cap in caps
    }
    top_profit = max(m(c, best[c], "incremental_profit") for c in caps)
    none = runs[runs["strategy"] == "none"]
    margin_rate = float(none["total_margin"].sum() / max(none["total_gmv"].sum(), 1e-9))
    loss_note = (
        f" — but every paid strategy earned less margin than it spent, against no ads (the "
        f"room's margin is {margin_rate:.1%} of GMV)"
        if top_profit < 0
        else ""
    )
    shown = [x for x in ("fixed", g, a) if x in strategies]
    profit_text = "; ".join(
        f"{cap}: "
        + ", ".join(f"{x} {fmt(m(cap, x, 'incremental_profit'))}" for x in shown)
        + (f", best {best[cap]} {fmt(m(cap, best[cap], 'incremental_profit'))}")
        for cap in caps
    )
    gated_loses = [c for c in caps if m(c, g, "incremental_profit") < 0]
    fixed_roi = {c: m(c, "fixed", "paid_roi") for c in caps} if "fixed" in strategies else {}
    fixed_beats = [c for c in fixed_roi if fixed_roi[c] > m(c, g, "paid_roi")]
    report = [
        run_sentence(
            plan,
            "the default market with every paid-traffic strategy of version 1 on "
            "the focal room at "
            + ", ".join(f"{c} ({CAPACITIES.get(c, 1.0):g} x peers)" for c in caps)
            + " conversion capacity",
        ),
        f"Paid ROI — {roi_text}"
        + (
            "; a fixed budget: " + ", ".join(f"{fmt(fixed_roi[c])} ({c})" for c in caps)
            if fixed_roi
            else ""
        )
        + ".",
        f"Incremental profit against no ads (margin minus spend minus the none arm's margin, "
        f"yuan) — {profit_text}.",
        f"Always-scale minus fixed at {low} capacity: "
        f"{describe_test(t['scaling_lowers_roi'])}; incremental profit of feedback_gated "
        f"minus always_scale: {describe_test(t['gated_profit_beats_scale'], 'yuan')}.",
        verdict_sentence(verdict, tests),
        "The strategy with the highest incremental profit was "
        + ", ".join(f"{best[c]} ({c})" for c in caps)
        + loss_note
        + ". "
        + _mechanism(runs, caps),
    ]
    ok = sum(x.confirmed for x in tests)

    def across(values: dict[str, float]) -> str:
        """One value, or the low-to-high range over the capacities."""
        v = [values[c] for c in caps]
        return fmt(v[0]) if len(v) == 1 else f"{fmt(v[0])}–{fmt(v[-1])}"

    def where(subset: list[str], col: str, strategy: str, unit: str = "") -> str:
        """'at every capacity (a, b, c)' or 'at low and high (a, b)'."""
        which = (
            ("every capacity" if len(caps) > 1 else f"{caps[0]} capacity")
            if len(subset) == len(caps)
            else " and ".join(subset)
        )
        values = ", ".join(fmt(m(c, strategy, col)) for c in subset)
        return f"at {which} ({values}{unit})"

    caveats = []
    if fixed_beats:
        caveats.append(
            f"a fixed budget had the higher paid ROI {where(fixed_beats, 'paid_roi', 'fixed')}"
        )
    if gated_loses:
        caveats.append(
            "feedback-gated spent more than it earned in margin against no ads "
            f"{where(gated_loses, 'incremental_profit', g, ' yuan')}"
        )
    roi_g = {c: m(c, g, "paid_roi") for c in caps}
    roi_a = {c: m(c, a, "paid_roi") for c in caps}
    finding = (
        f"Feedback-gated's paid ROI was {across(roi_g)} against always-scale's "
        f"{across(roi_a)} ({ok}/{len(tests)} claims as predicted)"
        + ("; but " + " and ".join(caveats) if caveats else "")
        + f" — verdict {verdict}."
    )

    def draw(path: Path) -> None:
        fig, ax = new_figure(4, 2, width=6.5, height=4.0)
        panels = [
            ("paid_roi", "Paid ROI", "paid GMV per yuan spent", NON_NEGATIVE),
            ("total_ad_spend", "Ad spend over the run", "thousand yuan", NON_NEGATIVE),
            (
                "incremental_profit",
                "Incremental profit vs no ads",
                "thousand yuan (margin - spend)",
                UNBOUNDED,
            ),
            ("leverage", "Free-traffic leverage", "extra free per paid impression", UNBOUNDED),
        ]
        width = 0.8 / len(caps)
        colours = ["#C44E52", "#8172B3", "#55A868"]
        xs = np.arange(len(strategies))
        for a, (col, title, unit, bounds) in zip(ax, panels, strict=True):
            scale = 1000 if unit.startswith("thousand") else 1
            for j, cap in enumerate(caps):
                stats_ = [mean_interval(vals(cap, s, col) / scale) for s in strategies]
                mean, low, high = (np.array([s[i] for s in stats_]) for i in range(3))
                err = error_bars(mean, low, high, bounds)
                a.bar(
                    xs + (j - (len(caps) - 1) / 2) * width,
                    mean,
                    width,
                    yerr=err,
                    capsize=2,
                    color=colours[j % 3],
                    label=f"{cap} capacity",
                )
            a.axhline(0, color="grey", lw=0.8)
            a.set_xticks(xs, strategies, rotation=30, ha="right", fontsize=8)
            a.set(title=title, ylabel=unit)
        ax[0].legend(fontsize=8)
        finish(
            fig,
            path,
            "Paid-traffic strategies by room capacity (mean and 95% interval "
            f"over {plan.replicates} paired seeds)",
            plan,
        )

    return Analysis(tests, rows, verdict, report, finding, draw)


def _mechanism(runs: pd.DataFrame, caps: list[str]) -> str:
    """What these runs measured of the mechanism, and what is only a hypothesis."""

    def mean(cap: str, strategy: str, col: str) -> float:
        r = runs[(runs["capacity"] == cap) & (runs["strategy"] == strategy)][col]
        return float(np.nanmean(r)) if len(r) else float("nan")

    cap = caps[0]
    a, g = "always_scale", "feedback_gated"
    cpm = {s: mean(cap, s, "cpm") for s in (a, g)}
    conv = {s: mean(cap, s, "paid_orders_per_mille") for s in (a, g)}
    budget = {s: mean(cap, s, "final_budget") for s in (a, g)}
    measured = [
        f"at {cap} capacity always-scale ended at a budget of {fmt(budget[a])} yuan a day vs "
        f"{fmt(budget[g])} for feedback-gated (yuan at the study's size, budgets being scaled "
        f"with the viewers), paid {fmt(cpm[a])} yuan per 1000 paid impressions vs "
        f"{fmt(cpm[g])}, and its paid impressions brought {fmt(conv[a])} vs {fmt(conv[g])} "
        "orders per 1000"
    ]
    hypotheses = [
        f"always-scale raises the budget {SCENARIO_CAMPAIGN.scale_step:.0%} a day whatever "
        "happens and pacing spends it by bidding up"
        + (", for impressions that convert less" if conv[a] < conv[g] else "")
        + "; feedback-gated raises only while extra paid impressions bring extra free ones, "
        "and otherwise steps back and holds"
    ]
    return mechanism(measured, hypotheses)
