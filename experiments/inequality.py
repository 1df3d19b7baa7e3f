"""Inequality: does the interest feed concentrate GMV more (Gini, top-10% share), make
outcomes less predictable across worlds, and let a good newcomer take off faster than the
search funnel?

Scenarios
    ``default`` (interest feed) and ``funnel`` (search funnel), the same market.
Variable under study
    The distribution policy. To measure unpredictability (Salganik, Dodds & Watts 2006) the
    same streams must meet different luck: each replicate runs in a frozen market — the
    streams' traits drawn once from the scenario's ranges with a market seed
    (:func:`experiments._plan.freeze_market`) — and W worlds (run seeds: viewers,
    sessions, behaviour, schedule phases) share each market. Both policies run every (market,
    world) with the same seed.
Sizes
    full: 20,000 viewers, the default 209 streams, 14 days, 10 markets x 4 worlds = 40 runs
    per policy; moderate: 10,000 viewers, 10 days, 3 x 4; quick: 3,000 viewers, ~40 streams,
    3 days, 2 x 2.
Metrics
    Gini of GMV across streams and the top-10% share of GMV (per run); unpredictability U of
    the streams' GMV shares across the W worlds of a market (mean over streams of the mean
    absolute difference between worlds; :func:`simulation.theory.unpredictability`); the day
    the focal good newcomer takes off (free impressions >= 3 x the median of live streams;
    the run's length if never).
Tests
    Paired t (Wilcoxon reported), Holm over four claims: (1) Gini and (2) top-10% share
    higher under the feed; (3) U higher under the feed (pairs: markets); (4) take-off day
    earlier under the feed. For (1), (2) and (4) each (market, world) gives a feed-minus-
    funnel difference, and the worlds of one market share its streams, so the differences
    are averaged within each market and the t-test runs on the market means (one value
    per market: the worlds are not independent replicates).
Predicted pattern (source)
    The interest feed yields higher inequality and cross-seed unpredictability than the
    funnel, and faster take-off for good newcomers.
"""

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments._figures import NON_NEGATIVE, SHARE, band, ci_points, finish, new_figure
from experiments._measure import Measurement, takeoff_day
from experiments._plan import QUICK_SIZES, Arm, Plan, base_group, crn_seeds
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
    arm_values,
    judge,
    mean_interval,
    one_sample_test,
    paired_test,
)
from simulation.api import focal_streams
from simulation.config import load_scenario
from simulation.metrics import gini, top_share
from simulation.plots import lorenz
from simulation.theory import unpredictability

NAME = "inequality"
SCENARIO = load_scenario("default")
FUNNEL = load_scenario("funnel")
ROOT_SEED = 108
POLICIES = {"default": "interest feed", "funnel": "search funnel"}
SIZES: dict[str, dict[str, Any]] = {
    "full": {"population.viewers": 20_000, "days": 14},
    "moderate": {"population.viewers": 10_000, "days": 10},
    "quick": {**QUICK_SIZES, "days": 3},
}
WORLDS = {"full": 4, "moderate": 4, "quick": 2}
MARKETS = {"full": 10, "moderate": 3, "quick": 2}


def plan(size: str, replicates: int | None = None) -> Plan:
    """Arms: the two policies; replicate k runs world k % W of market k // W."""
    w = WORLDS[size]
    reps = replicates or MARKETS[size] * w
    markets = max(2, -(-reps // w))
    reps = markets * w
    market_seeds = crn_seeds(ROOT_SEED + 1_000_000, markets)
    arms = tuple(
        Arm(base, {}, base, label, tags={"policy": base}) for base, label in POLICIES.items()
    )
    return Plan(
        NAME,
        size,
        arms,
        crn_seeds(ROOT_SEED, reps),
        SIZES[size],
        ROOT_SEED,
        {"worlds": w, "markets": markets},
        market_seeds=tuple(market_seeds[k // w] for k in range(reps)),
    )


def measure(result: Any, arm: Arm) -> Measurement:
    """What one run contributes (see the module docstring's metrics)."""
    st = result.streams
    totals = st.groupby("stream").agg(gmv=("gmv", "sum"), free=("free_impressions", "sum"))
    names = np.asarray(result.model.table.group_names)[result.model.table.group]
    day, took = takeoff_day(st, focal_streams(result.model, "focal"), result.scenario.days)
    g = totals["gmv"].to_numpy()
    scalars = {
        "gini_gmv": float(gini(g)),
        "top10_share_gmv": top_share(g, 0.1),
        "focal_takeoff_day": day,
        "focal_took_off": took,
        "total_gmv": float(g.sum()),
    }
    streams = pd.DataFrame(
        {
            "stream": totals.index.to_numpy(),
            "group": [base_group(n) for n in names[totals.index.to_numpy()]],
            "gmv": g,
            "share": g / g.sum() if g.sum() > 0 else np.zeros(len(g)),
            "free_impressions": totals["free"].to_numpy(),
        }
    )
    daily = pd.DataFrame({"day": np.arange(result.scenario.days)})
    daily = daily.assign(gmv=st.groupby("day")["gmv"].sum().reindex(daily["day"]).to_numpy())
    return Measurement(scalars, daily, streams)


def unpredictability_table(streams: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """U per (policy, market) over the market's worlds."""
    w = int(plan.notes["worlds"])
    rows = []
    for a in plan.arms:
        s = streams[streams["arm"] == a.name]
        for m in range(int(plan.notes["markets"])):
            reps = range(m * w, (m + 1) * w)
            shares = s[s["replicate"].isin(reps)].pivot(
                index="replicate", columns="stream", values="share"
            )
            rows.append(
                {
                    "arm": a.name,
                    "market": m,
                    "unpredictability": unpredictability(shares.to_numpy(float)),
                }
            )
    return pd.DataFrame(rows)


def analyse(
    runs: pd.DataFrame, daily: pd.DataFrame, plan: Plan, streams: pd.DataFrame | None = None
) -> Analysis:
    """Tests, verdict, report and figure from the raw tables (module docstring)."""
    if streams is None:
        raise ValueError("the inequality study needs its per-stream table")
    u = unpredictability_table(streams, plan)
    w = int(plan.notes["worlds"])
    runs = runs.assign(market=runs["replicate"] // w)
    metrics = {
        "gini_gmv": "Gini of GMV across streams",
        "top10_share_gmv": "share of GMV of the top 10% of streams",
        "focal_takeoff_day": "day the focal newcomer took off (run length if never)",
        "focal_took_off": "share of runs where the focal newcomer took off",
        "total_gmv": "platform GMV over the run, yuan",
    }
    rows = arm_rows(runs, metrics, plan.arms)
    for a in plan.arms:
        x = u[u["arm"] == a.name]["unpredictability"]
        mean, lo, hi, n = mean_interval(x)
        rows.append(
            {
                "kind": "arm",
                "arm": a.name,
                "label": a.label,
                "metric": "unpredictability",
                "description": f"U of GMV shares across {w} worlds per market",
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "n": n,
            }
        )

    vals = partial(arm_values, runs)

    def uvals(arm: str) -> np.ndarray:
        return u[u["arm"] == arm].sort_values("market")["unpredictability"].to_numpy(float)

    names = ("funnel", "default")

    def by_market(claim: str, description: str, col: str, predicted: str) -> Test:
        diff = vals("default", col) - vals("funnel", col)  # replicate k: market k // w
        means = pd.Series(diff).groupby(np.arange(len(diff)) // w).mean().to_numpy()
        return one_sample_test(
            claim,
            f"{description} (mean of each market's worlds; pairs: markets)",
            col,
            means,
            predicted,
            "default - funnel",
            "paired t",
        )

    tests: list[Test] = [
        by_market("feed_gini_higher", "Gini of GMV, feed minus funnel", "gini_gmv", ">0"),
        by_market(
            "feed_top10_higher",
            "top-10% share of GMV, feed minus funnel",
            "top10_share_gmv",
            ">0",
        ),
        paired_test(
            "feed_less_predictable",
            "unpredictability U, feed minus funnel (pairs: markets)",
            "unpredictability",
            uvals("funnel"),
            uvals("default"),
            ">0",
            names,
        ),
        by_market(
            "feed_faster_takeoff",
            "take-off day of the good newcomer, feed minus funnel",
            "focal_takeoff_day",
            "<0",
        ),
    ]
    verdict = judge(tests)
    t = {x.claim: x for x in tests}

    def m(arm: str, col: str) -> float:
        return float(np.nanmean(vals(arm, col)))

    um = {a: float(np.mean(uvals(a))) for a in POLICIES}
    groups = (
        streams.groupby(["arm", "group"])["share"].sum()
        / streams.groupby("arm")["replicate"].nunique()
    )
    report = [
        run_sentence(
            plan,
            f"the default market under both policies in "
            f"{plan.notes['markets']} frozen markets x {w} worlds",
        ),
        f"Gini of GMV: feed {m('default', 'gini_gmv'):.3f}, funnel "
        f"{m('funnel', 'gini_gmv'):.3f} ({describe_test(t['feed_gini_higher'])}); top-10% "
        f"share {m('default', 'top10_share_gmv'):.1%} vs {m('funnel', 'top10_share_gmv'):.1%}"
        f" ({describe_test(t['feed_top10_higher'])}).",
        f"Unpredictability across worlds: feed {um['default']:.2e}, funnel "
        f"{um['funnel']:.2e} ({describe_test(t['feed_less_predictable'])}); the good "
        f"newcomer took off in {m('default', 'focal_took_off'):.0%} of feed runs (mean day "
        f"{m('default', 'focal_takeoff_day'):.1f}) vs {m('funnel', 'focal_took_off'):.0%} of "
        f"funnel runs (day {m('funnel', 'focal_takeoff_day'):.1f}; "
        f"{describe_test(t['feed_faster_takeoff'], 'days')}).",
        verdict_sentence(verdict, tests),
        _mechanism(t, groups, streams),
    ]
    conc = trend(t["feed_gini_higher"], "more than", "less than", "about as much as")
    pred = trend(t["feed_less_predictable"], "less", "more", "about as")
    finding = (
        f"The feed concentrated GMV {conc} the funnel (Gini {m('default', 'gini_gmv'):.2f} vs "
        f"{m('funnel', 'gini_gmv'):.2f}), was {pred} predictable across worlds of the same "
        f"market, and the good newcomer took off in "
        f"{m('default', 'focal_took_off'):.0%} vs {m('funnel', 'focal_took_off'):.0%} of runs "
        f"— verdict {verdict}."
    )

    def draw(path: Path) -> None:
        fig, ax = new_figure(4, 2, width=5.5, height=4.0)
        colours = {"default": "#4C72B0", "funnel": "#DD8452"}
        for arm, c in colours.items():
            s = streams[streams["arm"] == arm]
            curves = [lorenz(g["gmv"].to_numpy())[1] for _, g in s.groupby("replicate")]
            x = lorenz(s[s["replicate"] == s["replicate"].min()]["gmv"].to_numpy())[0]
            band(ax[0], x, np.array(curves), POLICIES[arm], c, bounds=SHARE)
        ax[0].plot([0, 1], [0, 1], color="grey", lw=0.8)
        ax[0].set(
            title="Lorenz curve of GMV across streams",
            xlabel="share of streams (poorest first)",
            ylabel="cumulative share of GMV",
        )
        ax[0].legend(fontsize=8)
        pos = np.arange(2)
        labels = [POLICIES[a] for a in POLICIES]
        for a_, (col, title, unit) in zip(
            ax[1:3],
            (
                ("gini_gmv", "Gini of GMV", "Gini"),
                ("top10_share_gmv", "Top-10% share of GMV", "share"),
            ),
            strict=True,
        ):
            for i, arm in enumerate(POLICIES):
                ci_points(
                    a_, [i], [vals(arm, col)], color=colours[arm], connect=False, bounds=SHARE
                )
            a_.set_xticks(pos, labels)
            a_.set_xlim(-0.5, 1.5)
            a_.set(title=title, ylabel=unit)
        for i, arm in enumerate(POLICIES):
            ci_points(
                ax[3],
                [i],
                [uvals(arm) * 1000],
                color=colours[arm],
                connect=False,
                bounds=NON_NEGATIVE,
            )
        ax[3].set_xticks(pos, labels)
        ax[3].set_xlim(-0.5, 1.5)
        ax[3].set(title=f"Unpredictability across {w} worlds", ylabel="U of GMV shares (x 1/1000)")
        finish(
            fig,
            path,
            "Inequality and unpredictability: interest feed vs search funnel "
            f"(mean and 95% interval over {plan.replicates} runs / "
            f"{plan.notes['markets']} markets)",
            plan,
        )

    return Analysis(tests, rows, verdict, report, finding, draw)


def _mechanism(t: dict[str, Test], groups: pd.Series, streams: pd.DataFrame) -> str:
    """What these runs measured of the mechanism, and what is only a hypothesis."""

    def share(arm: str, g: str) -> float:
        return float(groups.get((arm, g), 0.0))

    zero = (streams["gmv"] <= 0).groupby(streams["arm"]).mean()

    feed, funnel = SCENARIO.feed, FUNNEL.funnel
    measured = [
        f"top KOLs (own audiences) held {share('default', 'top_kol'):.0%} of GMV under the feed "
        f"and {share('funnel', 'top_kol'):.0%} under the funnel",
        f"{zero.get('funnel', 0):.0%} of streams sold nothing under the funnel vs "
        f"{zero.get('default', 0):.0%} under the feed",
    ]
    hypotheses = [
        "the feed allocates free slots by measured value, each stream capped by its pool tier "
        f"(the top cap is {feed.tier_caps[-1] / feed.tier_caps[0]:g} x the cold-start quota), "
        "while the funnel ranks each category's listings by past sales x review x a relevance "
        f"drawn per query and shows {funnel.results_per_page} per search with position decay, "
        "so a shop with few sales reaches the page mainly on the queries whose wording "
        "happens to favour it"
    ]
    if t["feed_gini_higher"].outcome == "opposite":
        hypotheses.append("the funnel's sales-ranked pages concentrate more than the feed's caps")
    if t["feed_less_predictable"].outcome == "opposite":
        hypotheses.append(
            "which shops lead the pages depends on the early sales that happen to rank them "
            "(newcomers all start with none), so it differs from world to world"
        )
    return mechanism(measured, hypotheses)
