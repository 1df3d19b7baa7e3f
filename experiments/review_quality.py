"""Review quality: does cutting product quality raise the short-run margin but, after the
review lag, cost traffic and long-run GMV?

Scenario
    ``default`` (interest feed); the focal room as in the scenario (quality 0.9) except for
    the variable.
Variable under study
    The focal room's true product quality: 0.9 (as is), cut to 0.7 and to 0.5. A lower
    quality lowers the unit cost (``behaviour.quality_cost`` x quality) and, once buyers' ratings
    arrive ``behaviour.review_lag_days`` (3) days later, the review score the ranking uses
    and the raters' affinity to the room.
Sizes
    full: 15,000 viewers, the default 209 streams, 21 days, 20 seeds per arm (3 arms);
    moderate: 10,000 viewers, 21 days, 6 seeds; quick: 3,000 viewers, ~40 streams, 5 days,
    2 seeds.
Metrics (focal room)
    Short run: margin per day (yuan) over the days before the first rating arrives (days
    0..lag-1). Long run: free impressions and GMV per day over the second half of the run.
    Also the margin over the whole run and the final review score.
Tests
    Paired t (common random numbers; Wilcoxon reported), each cut level against 0.9, Holm
    over the claims: long-run free impressions lower (< 0), long-run GMV lower (< 0), and
    short-run margin higher (> 0) — the last only when the short-run sales differ between
    the arms. Before the first rating arrives quality touches nothing but the unit cost, so
    with common random numbers the sales of days 0..lag-1 are identical and the margin gain
    is exactly ``quality_cost x (0.9 - q) x GMV``: an accounting identity, reported with its
    interval but not counted as a tested claim.
Predicted pattern (source)
    Cutting quality raises short-run margin but costs traffic and long-run GMV after the
    review lag.
"""

import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments._figures import NON_NEGATIVE, UNBOUNDED, band, finish, new_figure
from experiments._plan import QUICK_SIZES, Arm, Plan, crn_plan
from experiments._report import (
    Analysis,
    describe_test,
    fmt,
    fmt_p,
    mechanism,
    run_sentence,
    verdict_sentence,
)
from experiments._stats import Test, arm_rows, arm_values, daily_matrix, judge, paired_test
from simulation.config import load_scenario

NAME = "review_quality"
SCENARIO = load_scenario("default")
ROOT_SEED = 105
QUALITIES = (0.9, 0.7, 0.5)
REVIEW_LAG = load_scenario("default").behaviour.review_lag_days
SIZES: dict[str, dict[str, Any]] = {
    "full": {"population.viewers": 15_000, "days": 21},
    "moderate": {"population.viewers": 10_000, "days": 21},
    "quick": {**QUICK_SIZES, "days": 5},
}


def plan(size: str, replicates: int | None = None) -> Plan:
    """Arms: focal quality 0.9 (as is), 0.7, 0.5."""
    arms = tuple(
        Arm(
            f"q{q:g}",
            {} if q == QUALITIES[0] else {"streams.focal.quality": q},
            "default",
            f"quality {q:g}" + (" (as is)" if q == QUALITIES[0] else " (cut)"),
            x=q,
        )
        for q in QUALITIES
    )
    return crn_plan(
        NAME, size, arms, ROOT_SEED, SIZES, replicates, notes={"review_lag_days": REVIEW_LAG}
    )


def analyse(
    runs: pd.DataFrame, daily: pd.DataFrame, plan: Plan, streams: pd.DataFrame | None = None
) -> Analysis:
    """Tests, verdict, report and figure from the raw tables (module docstring)."""
    days = int(daily["day"].max()) + 1
    lag = int(plan.notes["review_lag_days"])
    long_from = days // 2
    early = daily[daily["day"] < lag].groupby(["arm", "replicate"])
    short = early["margin"].mean()
    late = daily[daily["day"] >= long_from].groupby(["arm", "replicate"])
    extra = pd.DataFrame(
        {
            "short_margin": short,
            "short_orders": early["orders"].sum(),
            "short_gmv": early["gmv"].sum(),
            "long_free": late["free_impressions"].mean(),
            "long_gmv": late["gmv"].mean(),
            "long_margin": late["margin"].mean(),
        }
    ).reset_index()
    final = daily[daily["day"] == days - 1][["arm", "replicate", "review_score"]]
    runs = runs.merge(extra, on=["arm", "replicate"]).merge(final, on=["arm", "replicate"])
    metrics = {
        "short_margin": f"focal margin per day, days 0-{lag - 1}, yuan",
        "long_free": f"focal free impressions per day, days {long_from}-{days - 1}",
        "long_gmv": f"focal GMV per day, days {long_from}-{days - 1}, yuan",
        "long_margin": f"focal margin per day, days {long_from}-{days - 1}, yuan",
        "total_margin": "focal margin over the run, yuan",
        "review_score": "focal review score on the last day (stars)",
        "final_followers": "focal followers at the end",
    }
    booked = "total_profit" in runs  # economics.profit_accounting (version 2's market)
    if booked:
        metrics["total_profit"] = (
            "focal profit over the run after cost of goods, fees, returns and refunds, ads "
            "and operating costs (simulation.economics), yuan"
        )
    if "total_returns" in runs:
        runs = runs.assign(return_rate=runs["total_returns"] / runs["total_orders"])
        metrics["return_rate"] = "focal returns / orders over the run"
    rows = arm_rows(runs, metrics, plan.arms)
    ref = plan.arms[0].name

    vals = partial(arm_values, runs)

    def same_sales(arm: str) -> bool:
        return all(
            np.array_equal(vals(ref, c), vals(arm, c)) for c in ("short_orders", "short_gmv")
        )

    tests: list[Test] = []
    identity: dict[str, Test] = {}
    for a in plan.arms[1:]:
        names = (ref, a.name)
        short_test = paired_test(
            f"short_margin_up_{a.name}",
            f"{a.label}: short-run margin per day",
            "short_margin",
            vals(ref, "short_margin"),
            vals(a.name, "short_margin"),
            ">0",
            names,
        )
        if same_sales(a.name):
            identity[a.name] = short_test
        else:
            tests.append(short_test)
        tests += [
            paired_test(
                f"long_traffic_down_{a.name}",
                f"{a.label}: long-run free impressions per day",
                "long_free",
                vals(ref, "long_free"),
                vals(a.name, "long_free"),
                "<0",
                names,
            ),
            paired_test(
                f"long_gmv_down_{a.name}",
                f"{a.label}: long-run GMV per day",
                "long_gmv",
                vals(ref, "long_gmv"),
                vals(a.name, "long_gmv"),
                "<0",
                names,
            ),
        ]
    verdict = judge(tests)
    t = {x.claim: x for x in tests}
    cut = plan.arms[-1].name

    def mean(arm: str, col: str) -> float:
        return float(np.nanmean(vals(arm, col)))

    rel = {
        col: mean(cut, col) / mean(ref, col) - 1 if mean(ref, col) else float("nan")
        for col in ("short_margin", "long_free", "long_gmv", "total_margin")
    }
    report = [
        run_sentence(
            plan,
            "the default market with the focal room's product quality at "
            + ", ".join(f"{q:g}" for q in QUALITIES),
        ),
        _short_sentence(
            plan.arms[0].x,
            plan.arms[-1].x,
            lag,
            rel["short_margin"],
            identity.get(cut) or t[f"short_margin_up_{cut}"],
            cut in identity,
        ),
        f"From day {long_from} on it changed free impressions per day by "
        f"{describe_test(t[f'long_traffic_down_{cut}'])} ({rel['long_free']:+.0%}) and GMV "
        f"per day by {describe_test(t[f'long_gmv_down_{cut}'], 'yuan')} "
        f"({rel['long_gmv']:+.0%}); the margin over the whole run changed by "
        f"{rel['total_margin']:+.0%}.",
        *([_profit_sentence(plan, runs, vals, mean)] if booked else []),
        verdict_sentence(verdict, tests),
        _mechanism(
            mean, ref, cut, lag, t[f"long_traffic_down_{cut}"].outcome == "as predicted", rel
        ),
    ]
    total = "higher" if rel["total_margin"] > 0 else "lower"
    by_construction = " (by construction: same sales, lower unit cost)" if cut in identity else ""
    finding = (
        f"Cutting quality {plan.arms[0].x:g} → {plan.arms[-1].x:g} raised the first days' margin "
        f"{rel['short_margin']:+.0%}{by_construction} but, after the {lag}-day review lag, "
        f"changed free traffic {rel['long_free']:+.0%} and GMV {rel['long_gmv']:+.0%} in the "
        f"second half (margin over the run still {abs(rel['total_margin']):.0%} {total}) — "
        f"verdict {verdict}."
    )

    def draw(path: Path) -> None:
        fig, ax = new_figure(4, 2, width=5.5, height=3.8)
        x = np.arange(days)
        colours = ["#4C72B0", "#DD8452", "#C44E52"]
        panels = [
            ("margin", "Margin per day", "yuan per day", UNBOUNDED),
            ("free_impressions", "Free impressions per day", "impressions per day", NON_NEGATIVE),
            ("gmv", "GMV per day", "yuan per day", NON_NEGATIVE),
            ("review_score", "Review score", "stars (1-5)", (0.0, 5.0)),  # 0: a day off the air
        ]
        for a, (col, title, unit, bounds) in zip(ax, panels, strict=True):
            for arm, c in zip(plan.arms, colours, strict=False):
                band(a, x, daily_matrix(daily, arm.name, col), arm.label, c, bounds=bounds)
            a.axvline(lag - 0.5, color="grey", ls=":", lw=1)
            a.axvspan(long_from - 0.5, days - 0.5, color="grey", alpha=0.06)
            a.set(title=title, xlabel="day", ylabel=unit)
        ax[0].legend(fontsize=8)
        finish(
            fig,
            path,
            "Cutting product quality (dotted: first ratings arrive; shaded: "
            f"long-run window). Mean and 95% interval over {plan.replicates} paired "
            "seeds",
            plan,
        )

    return Analysis(tests, rows, verdict, report, finding, draw)


def _profit_sentence(plan: Plan, runs: pd.DataFrame, vals: Any, mean: Any) -> str:
    """Whether the cut paid once returns exist: the booked profit over the run of each cut
    against the room as is (paired t, common random numbers). Reported beside the claims,
    not counted among them: the study's design (its claims) predates profit accounting."""
    ref = plan.arms[0]
    parts = []
    for a in plan.arms[1:]:
        t = paired_test(
            f"profit_{a.name}",
            f"{a.label}: profit over the run",
            "total_profit",
            vals(ref.name, "total_profit"),
            vals(a.name, "total_profit"),
            "",
            (ref.name, a.name),
        )
        parts.append(
            f"to {a.x:g} by {fmt(t.effect)} yuan [95% CI {fmt(t.low)}, {fmt(t.high)}], paired "
            f"t = {t.statistic:.3g}, {fmt_p(t.p_value)}"
        )
    returns = ""
    if "return_rate" in runs:
        returns = (
            " Returns were "
            + ", ".join(
                f"{mean(a.name, 'return_rate'):.1%} of orders at quality {a.x:g}" for a in plan.arms
            )
            + "."
        )
    return (
        "Profit over the run, after cost of goods, fees, returns and refunds, ads and "
        f"operating costs, was {fmt(mean(ref.name, 'total_profit'))} yuan at quality "
        f"{ref.x:g}; cutting quality changed it "
        + "; ".join(parts)
        + " (reported beside the claims, not counted among them)."
        + returns
    )


def _short_sentence(
    q_ref: float, q: float, lag: int, rel: float, test: Test, identity: bool
) -> str:
    head = f"Cutting quality to {q:g} raised the margin per day before the first ratings "
    if not identity:
        return f"{head}(days 0-{lag - 1}) by {describe_test(test, 'yuan')} ({rel:+.0%})."
    c = SCENARIO.behaviour.quality_cost
    return (
        f"{head}(days 0-{lag - 1}) by {fmt(test.effect)} yuan [95% CI "
        f"{fmt(test.low)}, {fmt(test.high)}] ({rel:+.0%}) — by construction, not "
        "counted as a tested claim: until a rating arrives quality changes only the unit "
        "cost, so with common random numbers the orders and GMV of those days were identical "
        f"in every seed and the margin differs by exactly {c:g} x ({q_ref:g} - {q:g}) x GMV."
    )


def _mechanism(mean: Any, ref: str, cut: str, lag: int, fell: bool, rel: dict[str, float]) -> str:
    """What these runs measured of the mechanism, and what is only a hypothesis."""
    w = SCENARIO.feed.review_weight
    r_ref, r_cut = mean(ref, "review_score"), mean(cut, "review_score")
    factor = math.exp(w * (r_cut - r_ref))
    fol = mean(cut, "final_followers") / mean(ref, "final_followers") - 1
    measured = [
        f"the cut room's review score ended at {r_cut:.2f} stars vs {r_ref:.2f}, its "
        f"followers at the end {fol:+.0%} and its free impressions per day in the second half "
        f"{rel['long_free']:+.0%}"
    ]
    hypotheses = [
        f"ratings follow the experienced quality, so {lag} days after the cut the review score "
        f"falls; the feed weighs a room by exp({w:g} x (review - 4.5)), which at these scores "
        f"is {factor:.2f} x the uncut room's weight, and raters who were disappointed lose "
        "affinity and unfollow"
        + (
            ", so the cheaper product costs the room free traffic, fans and GMV, while the "
            "lower unit cost keeps each sale's margin higher"
            if fell
            else "; over this run that did not lower the room's free traffic measurably"
        )
    ]
    return mechanism(measured, hypotheses)
