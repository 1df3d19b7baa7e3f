"""FACT portfolio: how do a merchant's four fields — its own room (Field), an influencer
matrix (Alliance), a platform promotion day (Campaign) and a head influencer (Top KOL) —
shape the level and variance of its GMV, and does a KOL burst last without the merchant's
own room?

Scenario
    ``default`` (interest feed) plus, in every arm so that the market is the same, four
    alliance influencers and one top KOL (traits drawn from the scenario's alliance and
    top-KOL ranges) in the focal merchant's category, selling products with the merchant's
    price and quality, and one platform campaign day (day 16 of 21; the calendar's
    defaults). The KOL streams once, on a day between 7 and 13 (its weekly rate is set so
    that exactly one stream falls in the run; the day is drawn per seed and shared by the
    arms).
Variable under study
    Where the merchant (the focal field room) allots the same ad budget B (the focal
    campaign's 800 yuan a day, fixed strategy; budgets are scaled to the population) and
    whom the influencers sell for. Arms: ``field`` (B a day on its own room; the influencers
    sell their own selection); ``alliance`` (the four influencers sell for the merchant,
    each with B/4 a day; its room streams without ads); ``campaign`` (the whole run's budget
    spent on its room on the campaign day); ``kol`` (as field, and the KOL sells for the
    merchant); ``no_room_alliance`` (its room never goes live; the influencer matrix sells
    for it with B/4 each); ``no_room_alliance_kol`` (the same plus the KOL). The KOL's fee is
    outside the model.
Sizes
    full: 15,000 viewers, the default 209 streams + 5, 21 days, 20 seeds per arm (6 arms);
    moderate: 10,000 viewers, 21 days, 6 seeds; quick: 3,000 viewers, ~45 streams, 6 days,
    2 seeds.
Metrics
    The merchant's GMV per day (all streams selling its products) over the run, and its
    day-to-day volatility (the sd of the daily log changes of its GMV; the CV over the run is
    reported too); after the KOL's stream (from the day after its last hour on air, since an
    evening stream may run past midnight), the merchant's GMV per day.
Tests
    Paired t (common random numbers; Wilcoxon reported), Holm over three claims: (1) the
    alliance matrix lowers the volatility vs the own room alone (< 0); (2) with its own
    room, the KOL burst leaves more GMV per day after it (kol - field > 0); (3) without its
    own room it does not (no_room_alliance_kol - no_room_alliance, predicted none: a paired
    equivalence test, TOST, against the margin below).
Equivalence margin
    kol_fades_without_room: 10% of the no_room_alliance arm's mean merchant GMV per day after
    the KOL's stream (yuan per day). The source's claim is that without its own room the
    merchant keeps nothing of the KOL's burst; a lasting step of less than a tenth of the
    merchant's own daily sales is within its day-to-day swing and too small to act on. Set
    before looking at any result.
Predicted pattern (source)
    Field is the long-run stable base; alliance matrices lower variance; campaigns and KOLs
    bring bursts; a KOL burst leaves lasting GMV only if the merchant's own room converts
    the new fans.
"""

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments._figures import NON_NEGATIVE, band, ci_points, finish, new_figure
from experiments._measure import Measurement, group_daily, log_positive
from experiments._plan import QUICK_SIZES, Arm, Plan, crn_plan
from experiments._report import (
    Analysis,
    describe_test,
    equivalence_word,
    fmt,
    mechanism,
    run_sentence,
    verdict_sentence,
)
from experiments._stats import (
    Test,
    arm_rows,
    arm_values,
    daily_matrix,
    judge,
    mean_interval,
    paired_equivalence_test,
    paired_test,
)
from simulation.api import focal_streams
from simulation.config import load_scenario, to_dict

NAME = "fact_portfolio"
SCENARIO = load_scenario("default")
ROOT_SEED = 109
ALLIANCE_SIZE = 4
MARGIN_SHARE = 0.10
"""The equivalence margin of "no lasting GMV without an own room": this share of the
no_room_alliance arm's mean merchant GMV per day after the KOL's stream (docstring)."""
EQUIVALENCE_MARGINS = {
    "kol_fades_without_room": "10% of the no_room_alliance arm's mean merchant GMV per day "
    "after the KOL's stream (yuan per day)"
}
"""Each prediction of no effect and its margin, as the docstring states it."""
SIZES: dict[str, dict[str, Any]] = {
    "full": {"population.viewers": 15_000, "days": 21},
    "moderate": {"population.viewers": 10_000, "days": 21},
    "quick": {**QUICK_SIZES, "days": 6},
}
ARMS = {
    "field": "own room, B a day",
    "alliance": "4 influencers for the merchant, B/4 each",
    "campaign": "own room, whole budget on the campaign day",
    "kol": "own room, B a day, + top KOL",
    "no_room_alliance": "no own room; 4 influencers, B/4 each",
    "no_room_alliance_kol": "no own room; 4 influencers + top KOL",
}


def campaign_day(days: int) -> int:
    return days - 5 if days >= 14 else days - 1


def kol_days_per_week(days: int) -> float:
    """A fixed weekly rate with exactly one stream in the run, between days/3 and 2 days/3
    (for 21 days: once every 14 days, first on day 7-13)."""
    return 7 / (2 * days / 3)


def _market(days: int) -> dict[str, Any]:
    """Overrides that add the merchant's potential influencers and the campaign day."""
    sc = load_scenario("default")
    focal = sc.streams["focal"]
    product = {
        "category": focal.category,
        "price": list(focal.price),
        "quality": list(focal.quality),
        "mix": list(focal.mix),
    }
    over: dict[str, Any] = {"calendar.campaign_days": [campaign_day(days)]}
    for name, src, extra in (
        ("merchant_alliance", "alliance", {"count": ALLIANCE_SIZE}),
        ("merchant_kol", "top_kol", {"count": 1, "days_per_week": kol_days_per_week(days)}),
    ):
        g = {k: v for k, v in to_dict(sc.streams[src]).items() if v is not None}
        g.update(product)
        g.update(extra)
        for k, v in g.items():
            over[f"streams.{name}.{k}"] = v
    return over


def plan(size: str, replicates: int | None = None) -> Plan:
    """Arms: the six portfolios of the docstring."""
    days = SIZES[size]["days"]
    budget = load_scenario("default").streams["focal"].campaign.daily_budget
    fixed_b = {"streams.focal.campaign.strategy": "fixed"}
    no_ads = {"streams.focal.campaign.strategy": "none"}
    matrix = {
        "streams.merchant_alliance.merchant": "focal",
        "streams.merchant_alliance.campaign.strategy": "fixed",
        "streams.merchant_alliance.campaign.daily_budget": budget / ALLIANCE_SIZE,
        "streams.merchant_alliance.campaign.targeting": "interest",
    }
    kol = {"streams.merchant_kol.merchant": "focal"}
    no_room = {"streams.focal.hours": 0.0, **no_ads}
    burst = {
        "streams.focal.campaign.strategy": "cold_start",
        "streams.focal.campaign.start_day": campaign_day(days),
        "streams.focal.campaign.burst_days": 1,
        "streams.focal.campaign.burst_multiplier": float(days),
    }
    overrides = {
        "field": fixed_b,
        "alliance": {**no_ads, **matrix},
        "campaign": burst,
        "kol": {**fixed_b, **kol},
        "no_room_alliance": {**no_room, **matrix},
        "no_room_alliance_kol": {**no_room, **matrix, **kol},
    }
    market = _market(days)
    arms = tuple(
        Arm(name, {**market, **overrides[name]}, "default", label) for name, label in ARMS.items()
    )
    notes = {
        "campaign_day": campaign_day(days),
        "alliance_size": ALLIANCE_SIZE,
        "base_budget": budget,
    }
    return crn_plan(NAME, size, arms, ROOT_SEED, SIZES, replicates, notes=notes)


def volatility(gmv: np.ndarray) -> float:
    """Standard deviation of the daily log changes of GMV (days with GMV > 0)."""
    logs = log_positive(gmv)
    change = np.diff(logs)
    change = change[np.isfinite(change)]
    return float(change.std(ddof=1)) if len(change) >= 2 else float("nan")


def measure(result: Any, arm: Arm) -> Measurement:
    """What one run contributes (see the module docstring's metrics)."""
    st = result.streams
    days = np.arange(result.scenario.days)
    focal = int(focal_streams(result.model, "focal")[0])
    mine = st[st["merchant_room"] == focal]
    merchant = mine.groupby("day")[["gmv", "ad_spend"]].sum().reindex(days, fill_value=0)
    own = group_daily(result, "focal")
    kol = group_daily(result, "merchant_kol")
    ally = group_daily(result, "merchant_alliance")
    d = pd.DataFrame(
        {
            "day": days,
            "merchant_gmv": merchant["gmv"].to_numpy(),
            "own_room_gmv": own["gmv"].to_numpy(),
            "kol_live": (kol["live_minutes"] > 0).to_numpy(),
            "kol_gmv": kol["gmv"].to_numpy(),
            "alliance_gmv": ally["gmv"].to_numpy(),
            "own_followers": own["followers"].to_numpy(),
            "ad_spend": (own["ad_spend"] + ally["ad_spend"]).to_numpy(),
        }
    )
    g = d["merchant_gmv"]
    kol_day = int(d.loc[d["kol_live"], "day"].min()) if d["kol_live"].any() else -1
    scalars = {
        "merchant_gmv": float(g.sum()),
        "merchant_cv": float(g.std(ddof=1) / g.mean()) if g.mean() > 0 else float("nan"),
        "merchant_volatility": volatility(g.to_numpy(float)),
        "kol_day": kol_day,
        "ad_spend": float(d["ad_spend"].sum()),
        "own_followers_end": float(d["own_followers"].iloc[-1]),
    }
    return Measurement(scalars, d)


def after_kol(daily: pd.DataFrame) -> pd.DataFrame:
    """Merchant GMV per day after the KOL's stream, per (arm, replicate): from the day after
    the KOL's last hour on air to the end of the run."""
    rows = []
    for (arm, rep), g in daily.groupby(["arm", "replicate"], sort=False):
        live = g.loc[g["kol_live"].astype(bool), "day"]
        after = g[g["day"] > live.max()] if len(live) else g.iloc[0:0]
        rows.append(
            {
                "arm": arm,
                "replicate": rep,
                "gmv_after_kol": float(after["merchant_gmv"].mean())
                if len(after)
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def analyse(
    runs: pd.DataFrame, daily: pd.DataFrame, plan: Plan, streams: pd.DataFrame | None = None
) -> Analysis:
    """Tests, verdict, report and figure from the raw tables (module docstring)."""
    runs = runs.drop(columns=["gmv_after_kol"], errors="ignore").merge(
        after_kol(daily), on=["arm", "replicate"], how="left"
    )
    metrics = {
        "merchant_gmv": "merchant GMV over the run, yuan",
        "merchant_volatility": "sd of the daily log changes of the merchant's GMV",
        "merchant_cv": "CV of the merchant's daily GMV over the run",
        "gmv_after_kol": "merchant GMV per day after the KOL's stream, yuan",
        "ad_spend": "merchant ad spend over the run, yuan",
        "own_followers_end": "followers of the merchant's own room at the end",
    }
    rows = arm_rows(runs, metrics, plan.arms)

    vals = partial(arm_values, runs)
    level = vals("no_room_alliance", "gmv_after_kol")
    level = level[np.isfinite(level)]  # NaN where the run ended before the KOL's stream did
    base = float(level.mean()) if len(level) else float("nan")

    tests: list[Test] = [
        paired_test(
            "alliance_lowers_variance",
            "day-to-day volatility of merchant GMV, alliance minus field",
            "merchant_volatility",
            vals("field", "merchant_volatility"),
            vals("alliance", "merchant_volatility"),
            "<0",
            ("field", "alliance"),
        ),
        paired_test(
            "kol_lasts_with_room",
            "merchant GMV per day after the KOL's stream, kol minus field",
            "gmv_after_kol",
            vals("field", "gmv_after_kol"),
            vals("kol", "gmv_after_kol"),
            ">0",
            ("field", "kol"),
        ),
        paired_equivalence_test(
            "kol_fades_without_room",
            "merchant GMV per day after the KOL's stream without an own room, with minus "
            f"without the KOL (predicted none: within ±{MARGIN_SHARE:.0%} of the no-KOL "
            "level)",
            "gmv_after_kol",
            vals("no_room_alliance", "gmv_after_kol"),
            vals("no_room_alliance_kol", "gmv_after_kol"),
            MARGIN_SHARE * base if base > 0 else float("nan"),
            "~0",
            ("no_room_alliance", "no_room_alliance_kol"),
        ),
    ]
    verdict = judge(tests)
    t = {x.claim: x for x in tests}

    def m(arm: str, col: str) -> float:
        return mean_interval(vals(arm, col))[0]

    portfolio = ["field", "alliance", "campaign", "kol"]
    levels = ", ".join(
        f"{a} {fmt(m(a, 'merchant_gmv') / 1000)}k (volatility {m(a, 'merchant_volatility'):.2f})"
        for a in portfolio
    )
    spent = ", ".join(f"{a} {fmt(m(a, 'ad_spend'))}" for a in portfolio)
    fol = {a: m(a, "own_followers_end") for a in ("field", "kol")}
    report = [
        run_sentence(
            plan,
            "the default market with a merchant's own room, an influencer "
            "matrix, a platform campaign day and a top KOL combined into six "
            "portfolios with the same ad budget allotted",
        ),
        f"Merchant GMV over the run (and the sd of its daily log changes) by portfolio: "
        f"{levels}. {_spend_sentence(m, spent)} The alliance matrix changed the volatility by "
        f"{describe_test(t['alliance_lowers_variance'])}.",
        f"After the KOL's stream the merchant's GMV per day changed by "
        f"{describe_test(t['kol_lasts_with_room'], 'yuan')} with its own room (own-room "
        f"followers at the end {fmt(fol['kol'])} vs {fmt(fol['field'])}) and by "
        f"{describe_test(t['kol_fades_without_room'], 'yuan')} without it.",
        verdict_sentence(verdict, tests),
        _mechanism(t, m),
    ]
    best = max(portfolio, key=lambda a: m(a, "merchant_gmv"))
    steady = min(portfolio, key=lambda a: m(a, "merchant_volatility"))
    which = (
        f"the {best} portfolio sold the most and was the steadiest"
        if best == steady
        else f"the {best} portfolio sold the most and the {steady} one was the steadiest"
    )

    def sig(x: Test) -> str:
        return "significant" if x.p_adjusted < 0.05 else "not significant"

    with_room, without = t["kol_lasts_with_room"], t["kol_fades_without_room"]
    if np.isfinite(with_room.effect) and np.isfinite(without.effect):
        none = equivalence_word(
            without,
            f"shown within ±{fmt(without.margin)}",
            f"shown beyond ±{fmt(without.margin)}",
            f"neither shown within nor beyond ±{fmt(without.margin)}",
        )
        after = (
            f"after a KOL's stream the merchant's GMV per day changed by "
            f"{fmt(with_room.effect)} yuan with its own room ({sig(with_room)}) and by "
            f"{fmt(without.effect)} without it ({none})"
        )
    else:
        after = "the days after the KOL's stream were too few to measure its after-effect"
    finding = (
        f"With the same ad budget allotted (spent: {spent} yuan) {which}; {after} — verdict "
        f"{verdict}."
    )

    def draw(path: Path) -> None:
        fig, ax = new_figure(4, 2, width=6.0, height=4.0)
        days = int(daily["day"].max()) + 1
        x = np.arange(days)
        colours = {
            "field": "#4C72B0",
            "alliance": "#55A868",
            "campaign": "#8172B3",
            "kol": "#DD8452",
            "no_room_alliance": "#7f7f7f",
            "no_room_alliance_kol": "#C44E52",
        }
        for a in portfolio:
            gmv = daily_matrix(daily, a, "merchant_gmv") / 1000
            band(ax[0], x, gmv, a, colours[a], bounds=NON_NEGATIVE)
        ax[0].axvline(plan.notes["campaign_day"], color="grey", ls=":", lw=1)
        ax[0].set(
            title="Merchant GMV per day by portfolio (dotted: campaign day)",
            xlabel="day",
            ylabel="thousand yuan per day",
        )
        ax[0].legend(fontsize=8)
        for i, a in enumerate(portfolio):
            ci_points(
                ax[1],
                [i],
                [vals(a, "merchant_volatility")],
                color=colours[a],
                connect=False,
                bounds=NON_NEGATIVE,
            )
        ax[1].set_xticks(range(len(portfolio)), portfolio)
        ax[1].set_xlim(-0.5, len(portfolio) - 0.5)
        ax[1].set(title="Day-to-day volatility", ylabel="sd of daily log changes of merchant GMV")
        for j, group in enumerate((("field", "kol"), ("no_room_alliance", "no_room_alliance_kol"))):
            a_ = ax[2 + j]
            for a in group:
                rel = _relative_to_kol(daily, a)
                band(
                    a_,
                    rel.columns.to_numpy(),
                    rel.to_numpy() / 1000,
                    a,
                    colours[a],
                    bounds=NON_NEGATIVE,
                )
            a_.axvline(0, color="grey", ls=":", lw=1)
            a_.set(
                title=("With" if j == 0 else "Without") + " the merchant's own room",
                xlabel="days since the KOL's stream",
                ylabel="merchant GMV, thousand yuan",
            )
            a_.legend(fontsize=8)
        finish(
            fig,
            path,
            "FACT portfolio, same ad budget allotted (mean and 95% interval over "
            f"{plan.replicates} paired seeds)",
            plan,
        )

    return Analysis(tests, rows, verdict, report, finding, draw)


def _relative_to_kol(
    daily: pd.DataFrame, arm: str, before: int = 5, after: int = 7
) -> pd.DataFrame:
    """(replicates, days relative to the KOL's stream) merchant GMV; the KOL day is taken
    from the kol arms (the same seed puts it on the same day in every arm)."""
    kol_days = daily[daily["kol_live"].astype(bool)].groupby("replicate")["day"].min()
    out = {}
    for rep, g in daily[daily["arm"] == arm].groupby("replicate"):
        k = kol_days.get(rep)
        if k is None:
            continue
        s = g.set_index("day")["merchant_gmv"]
        out[rep] = {r: s.get(k + r, np.nan) for r in range(-before, after + 1)}
    return pd.DataFrame(out).T.sort_index()


def _spend_sentence(m: Any, spent: str) -> str:
    """What the portfolios spent, and why spend fell short of the allotted budget where it
    did (a campaign spends only while its room is live and wins slots)."""
    field = m("field", "ad_spend")
    short = {a: m(a, "ad_spend") < 0.95 * field for a in ("alliance", "campaign")}
    if not any(short.values()):
        return f"The budget allotted was the same; the spend, yuan over the run: {spent}."
    why = []
    if short["alliance"]:
        why.append("the influencers' rooms left part of theirs unspent")
    if short["campaign"]:
        why.append("the campaign day could not place the whole run's budget in one day")
    return (
        f"The budget allotted was the same, the spend was not (yuan over the run: {spent}): a "
        f"campaign spends only while its room is live and wins slots, so {' and '.join(why)}."
    )


def _mechanism(t: dict[str, Test], m: Any) -> str:
    """What these runs measured of the mechanism, and what is only a hypothesis."""
    b = SCENARIO.behaviour
    fol_kol, fol_field = m("kol", "own_followers_end"), m("field", "own_followers_end")
    vol = {a: m(a, "merchant_volatility") for a in ("field", "alliance")}
    measured = [
        "the KOL's stream left the merchant's own room "
        f"{fol_kol - fol_field:+.0f} followers at the end ({fol_kol / max(fol_field, 1) - 1:+.0%}"
        ", kol against field)"
    ]
    hypotheses = [
        "a buyer in an influencer's room follows the merchant's own room with probability "
        f"{b.store_follow_after_buy:g}, and only a room that goes live can turn those follows "
        "into repeat traffic through the follow channel (without it the KOL's buyers have "
        "nowhere to return to)"
    ]
    if t["kol_lasts_with_room"].outcome != "as predicted":
        hypotheses.append("those follows are too few to lift its later GMV measurably at this size")
    if t["alliance_lowers_variance"].outcome != "as predicted":
        measured.append(
            f"the merchant's volatility was {vol['alliance']:.2f} with the alliance matrix and "
            f"{vol['field']:.2f} with its own room alone"
        )
        hypotheses.append(
            "the influencers' extra rooms add sales on more days, but each has its own "
            "day-to-day swings"
        )
    return mechanism(measured, hypotheses)
