"""Product mix: do traffic-driver items lift a room's metrics and profit items carry its
margin, so that the margin-maximising mix is interior?

Scenario
    ``default`` (interest feed); the focal room as in the scenario except for its mix.
Variable under study
    The focal room's share of time on traffic-driver items d = 0, 0.15, 0.3 (the scenario's),
    0.45, 0.6, 0.75, 0.85, with welfare items at the scenario's 0.15 and profit items taking
    the rest (0.85 - d). Item prices, costs, appeal and entry/dwell lifts per role are the
    behaviour defaults (drivers: cheap, appealing, thin margin; profit items: dear, less
    appealing, fat margin).
Sizes
    full: 15,000 viewers, the default 209 streams, 10 days, 20 seeds per arm (7 arms);
    moderate: 10,000 viewers, 7 days, 6 seeds; quick: 3,000 viewers, ~40 streams, 3 days,
    2 seeds, three mixes.
Metrics (focal room, over the run)
    Free impressions, GMV, margin (yuan; the merchant's gross profit before ad spend) and
    margin per yuan of GMV.
Tests
    (1) drivers lift traffic: per-seed OLS slope of free impressions on d, one-sample t
    (> 0); (2) profit items carry margin: per-seed slope of margin / GMV on d (< 0);
    (3) margin rises at the low end: margin(d = 0.15) - margin(d = 0) > 0, paired t;
    (4) margin falls at the high end: margin(0.85) - margin(0.75) < 0, paired t. (3) and (4)
    together say the maximum is interior. Common random numbers; Wilcoxon reported; Holm
    over the four.
Predicted pattern (source)
    An interior optimum: traffic drivers lift metrics, profit items carry margin.
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
    fmt,
    mechanism,
    run_sentence,
    trend,
    verdict_sentence,
)
from experiments._stats import (
    Test,
    arm_rows,
    judge,
    mean_interval,
    paired_test,
    per_seed_slopes,
    slope_test,
)
from simulation.config import load_scenario

NAME = "product_mix"
ROOT_SEED = 106
SCENARIO_DRIVER, _, WELFARE = load_scenario("default").streams["focal"].mix
DRIVER_SHARES = (0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.85)
QUICK_SHARES = (0.0, 0.15, 0.85)
SIZES: dict[str, dict[str, Any]] = {
    "full": {"population.viewers": 15_000, "days": 10},
    "moderate": {"population.viewers": 10_000, "days": 7},
    "quick": {**QUICK_SIZES, "days": 3},
}


def mix_of(driver: float) -> list[float]:
    return [driver, round(1 - WELFARE - driver, 6), WELFARE]


def plan(size: str, replicates: int | None = None) -> Plan:
    """Arms: one per driver share."""
    shares = QUICK_SHARES if size == "quick" else DRIVER_SHARES
    arms = tuple(
        Arm(
            f"d{d:g}",
            {"streams.focal.mix": mix_of(d)},
            "default",
            f"drivers {d:.0%}, profit {1 - WELFARE - d:.0%}, welfare {WELFARE:.0%}",
            x=d,
        )
        for d in shares
    )
    return crn_plan(
        NAME, size, arms, ROOT_SEED, SIZES, replicates, notes={"welfare_share": WELFARE}
    )


def measure(result: Any, arm: Arm) -> Measurement:
    """What one run contributes (see the module docstring's metrics)."""
    m = focal_measurement(result, arm)
    g = m.scalars["total_gmv"]
    m.scalars["margin_per_gmv"] = m.scalars["total_margin"] / g if g > 0 else float("nan")
    return m


def analyse(
    runs: pd.DataFrame, daily: pd.DataFrame, plan: Plan, streams: pd.DataFrame | None = None
) -> Analysis:
    """Tests, verdict, report and figure from the raw tables (module docstring)."""
    metrics = {
        "total_free_impressions": "focal free impressions over the run",
        "total_gmv": "focal GMV over the run, yuan",
        "total_margin": "focal margin over the run, yuan",
        "margin_per_gmv": "focal margin per yuan of GMV",
        "total_orders": "focal orders over the run",
    }
    rows = arm_rows(runs, metrics, plan.arms)
    xs = [a.x for a in plan.arms]
    names = {a.x: a.name for a in plan.arms}

    def vals(x: float, col: str) -> np.ndarray:
        return runs[runs["arm"] == names[x]].sort_values("replicate")[col].to_numpy(float)

    lo0, lo1, hi1, hi0 = xs[0], xs[1], xs[-2], xs[-1]
    tests: list[Test] = [
        slope_test(
            "drivers_lift_traffic",
            "per-seed slope of free impressions on the driver share",
            "free impressions per unit driver share",
            per_seed_slopes(runs, "x", "total_free_impressions"),
            ">0",
        ),
        slope_test(
            "profit_items_carry_margin",
            "per-seed slope of margin per yuan of GMV on the driver share",
            "margin / GMV per unit driver share",
            per_seed_slopes(runs, "x", "margin_per_gmv"),
            "<0",
        ),
        paired_test(
            "margin_rises_low_end",
            f"margin, drivers {lo1:g} minus {lo0:g}",
            "total_margin",
            vals(lo0, "total_margin"),
            vals(lo1, "total_margin"),
            ">0",
            (names[lo0], names[lo1]),
        ),
        paired_test(
            "margin_falls_high_end",
            f"margin, drivers {hi0:g} minus {hi1:g}",
            "total_margin",
            vals(hi1, "total_margin"),
            vals(hi0, "total_margin"),
            "<0",
            (names[hi1], names[hi0]),
        ),
    ]
    verdict = judge(tests)
    t = {x.claim: x for x in tests}
    margin = {x: mean_interval(vals(x, "total_margin"))[0] for x in xs}
    gmv = {x: mean_interval(vals(x, "total_gmv"))[0] for x in xs}
    best = max(xs, key=lambda x: margin[x])
    ends = {
        "free": float(np.mean(vals(xs[-1], "total_free_impressions")))
        / max(float(np.mean(vals(xs[0], "total_free_impressions"))), 1e-9),
        "orders": float(np.mean(vals(xs[-1], "total_orders")))
        / max(float(np.mean(vals(xs[0], "total_orders"))), 1e-9),
    }
    best_gmv = max(xs, key=lambda x: gmv[x])
    interior = (
        t["margin_rises_low_end"].outcome == t["margin_falls_high_end"].outcome == ("as predicted")
    )
    report = [
        run_sentence(
            plan,
            "the default market with the focal room's share of time on "
            f"traffic-driver items at {', '.join(f'{x:g}' for x in xs)} (welfare "
            f"{WELFARE:g}, profit items the rest)",
        ),
        f"Free impressions {trend(t['drivers_lift_traffic'], 'rose', 'fell')} with the driver "
        f"share (slope {describe_test(t['drivers_lift_traffic'], 'per unit share')}) and "
        f"margin per yuan of GMV {trend(t['profit_items_carry_margin'], 'rose', 'fell')} "
        f"({describe_test(t['profit_items_carry_margin'], 'per unit share')}); mean GMV was "
        f"highest at d = {best_gmv:g}.",
        "Margin over the run was "
        + ", ".join(f"{fmt(margin[x])} (d = {x:g})" for x in xs)
        + f" yuan, highest at d = {best:g}; from d = {lo0:g} to {lo1:g} it changed by "
        f"{describe_test(t['margin_rises_low_end'], 'yuan')}, from {hi1:g} to {hi0:g} by "
        f"{describe_test(t['margin_falls_high_end'], 'yuan')}.",
        verdict_sentence(verdict, tests),
        _mechanism(interior, best, xs, ends, plan.scenario(plan.arms[0])),
    ]
    nc = "did not significantly change"
    traffic = trend(t["drivers_lift_traffic"], "raised", "lowered", nc)
    per_gmv = trend(t["profit_items_carry_margin"], "raised", "lowered", nc)
    if interior:
        optimum = "an interior optimum"
    elif t["margin_falls_high_end"].outcome == "opposite":
        optimum = (
            f"no interior optimum: margin still rose at the high end, "
            f"{fmt(t['margin_falls_high_end'].effect)} yuan from d = {hi1:g} to {hi0:g}, "
            "significantly"
        )
    else:
        optimum = "no significant interior optimum"
    finding = (
        f"The focal room's margin was highest at {best:.0%} traffic-driver time "
        f"({optimum}); more "
        f"driver time {traffic} free traffic and {per_gmv} margin per yuan of GMV — verdict "
        f"{verdict}."
    )

    def draw(path: Path) -> None:
        fig, ax = new_figure(3, 3, width=5.0, height=4.0)
        ci_points(ax[0], xs, [vals(x, "total_margin") / 1000 for x in xs], "margin", "#55A868")
        ax[0].set(
            title="Margin over the run",
            xlabel="share of time on traffic drivers",
            ylabel="thousand yuan",
        )
        gmv = [vals(x, "total_gmv") / 1000 for x in xs]
        ci_points(ax[1], xs, gmv, "GMV", "#4C72B0", bounds=NON_NEGATIVE)
        ax[1].set(
            title="GMV over the run",
            xlabel="share of time on traffic drivers",
            ylabel="thousand yuan",
        )
        ci_points(
            ax[2],
            xs,
            [vals(x, "total_free_impressions") / 1000 for x in xs],
            "free impressions",
            "#8172B3",
            bounds=NON_NEGATIVE,
        )
        ax[2].set(
            title="Free impressions over the run",
            xlabel="share of time on traffic drivers",
            ylabel="thousand impressions",
        )
        for a in ax:
            a.axvline(SCENARIO_DRIVER, color="grey", ls=":", lw=0.8)
        finish(
            fig,
            path,
            f"Product mix of the focal room (welfare items {WELFARE:.0%}, profit "
            f"items the rest; dotted: the scenario's mix). Mean and 95% interval over "
            f"{plan.replicates} paired seeds",
            plan,
        )

    return Analysis(tests, rows, verdict, report, finding, draw)


def role_margin_rate(scenario: Any = None) -> list[float]:
    """Expected margin per minute of dwell of each role (driver, profit, welfare) in the
    focal room for an average viewer, relative units: appeal x price term x unit margin
    (yuan), with the behaviour's price term min(4, (price / reference)^-s) at the mean
    sensitivity s."""
    sc = scenario or load_scenario("default")
    b, f = sc.behaviour, sc.streams["focal"]
    price, quality = f.price[0], f.quality[0]
    s = sc.population.price_sensitivity_mean
    out = []
    for r in range(3):
        p = price * b.role_price[r]
        unit_margin = p * (1 - b.role_cost[r] - b.quality_cost * quality)
        out.append(b.role_appeal[r] * min(4.0, (p / b.reference_price) ** -s) * unit_margin)
    return out


def _mechanism(
    interior: bool, best: float, xs: list[float], ends: dict[str, float], scenario: Any
) -> str:
    """What these runs measured of the mechanism, and what is only a hypothesis (the role
    parameters quoted are those of the runs' own ``scenario``)."""
    b = scenario.behaviour
    rate = role_margin_rate(scenario)
    measured = [
        f"from d = {xs[0]:g} to {xs[-1]:g} the room's free impressions went "
        f"x{ends['free']:.2f} and its orders x{ends['orders']:.2f}"
    ]
    if interior:
        measured.append(f"the margin peaked in between (here near d = {best:g})")
    elif best in (xs[0], xs[-1]):
        measured.append(f"the margin was highest at the edge d = {best:g}")
    else:
        measured.append(
            f"the margin was highest at d = {best:g}, but the curve is too flat at its ends "
            "to separate from noise"
        )
    hypotheses = [
        f"per minute a viewer spends in the room, a driver item (price x "
        f"{b.role_price[0]:g}, cost {b.role_cost[0]:.0%} + quality, appeal x "
        f"{b.role_appeal[0]:g}) earns {rate[0] / rate[1]:.2f} x the expected margin of a "
        f"profit item (price x {b.role_price[1]:g}, cost {b.role_cost[1]:.0%}, appeal x "
        f"{b.role_appeal[1]:g}) and a welfare item {rate[2] / rate[1]:.2f} x (the model's "
        "expected margins, not counted in these runs); but drivers also lift entry and dwell "
        "and with them the room's measured engagement and GPM, hence its window value and "
        "free traffic"
        + (
            "; where the traffic gain outweighs the thinner unit margin, the margin is "
            "highest at an edge"
            if not interior and best in (xs[0], xs[-1])
            else ""
        )
    ]
    return mechanism(measured, hypotheses)
