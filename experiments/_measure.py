"""Measuring one run: what a finished run contributes to a study's tables.

A study's ``measure(result, arm) -> Measurement`` gives whole-run scalars, a per-day table
and optionally a per-stream table; a study without one gets :func:`focal_measurement`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulation.api import TOOK_OFF_MULTIPLE, RunResult, focal_streams
from simulation.economics import PROFIT_FIELDS
from simulation.model import CAP_BOUND_FIELDS

if TYPE_CHECKING:
    from experiments._plan import Arm


@dataclass
class Measurement:
    """What one run contributes: whole-run scalars, a per-day table (one row per day) and,
    optionally, a per-stream table (one row per stream)."""

    scalars: dict[str, Any]
    daily: pd.DataFrame
    streams: pd.DataFrame | None = None


DAILY_SUMS = (
    "free_impressions",
    "paid_impressions",
    "follow_impressions",
    "fan_impressions",
    "impressions",
    "entries",
    "dwell_minutes",
    "orders",
    "gmv",
    "margin",
    "ad_spend",
    "paid_orders",
    "paid_gmv",
    "live_minutes",
)


def daily_sums(streams: pd.DataFrame) -> tuple[str, ...]:
    """:data:`DAILY_SUMS` plus the economics columns the run has (returns, refunds and the
    profit terms: present only with ``economics.returns`` / ``profit_accounting`` on) and the
    interest feed's ``cap_bound_ticks`` and ``top_cap_bound_ticks`` (live ticks held at the
    tier cap, at any tier and at the top one; absent from runs made before the counters
    existed)."""
    extra = (*PROFIT_FIELDS, *CAP_BOUND_FIELDS)
    return DAILY_SUMS + tuple(c for c in extra if c in streams.columns)


def group_daily(result: RunResult, group: str = "focal") -> pd.DataFrame:
    """Per-day totals of one stream group (sums over its streams), plus its followers, best
    pool tier, mean review score and budget. Days with no rows give zeros."""
    st = result.streams
    ids = focal_streams(result.model, group)
    mine = st[st["stream"].isin(ids)]
    days = np.arange(result.scenario.days)
    agg = mine.groupby("day").agg(
        **{c: (c, "sum") for c in daily_sums(st)},
        followers=("followers", "sum"),
        budget=("budget", "sum"),
        pool_tier=("pool_tier", "max"),
        review_score=("review_score", "mean"),
    )
    agg = agg.reindex(days, fill_value=0)
    agg.index.name = "day"
    return agg.reset_index()


def platform_daily(result: RunResult) -> pd.DataFrame:
    """Per-day platform totals: impressions by source, orders, GMV, ad spend."""
    st = result.streams
    cols = [
        "free_impressions",
        "paid_impressions",
        "follow_impressions",
        "impressions",
        "entries",
        "dwell_minutes",
        "orders",
        "gmv",
        "ad_spend",
        *(c for c in ("refunds", "profit") if c in st.columns),
    ]
    out = st.groupby("day")[cols].sum().reindex(np.arange(result.scenario.days), fill_value=0)
    out.columns = [f"platform_{c}" for c in out.columns]
    out.index.name = "day"
    return out.reset_index()


def focal_measurement(result: RunResult, arm: Arm, group: str = "focal") -> Measurement:
    """The default measurement: the focal group's daily table and its run totals."""
    daily = group_daily(result, group).merge(platform_daily(result), on="day")
    totals = {f"total_{c}": float(daily[c].sum()) for c in daily_sums(result.streams)}
    spend = totals["total_ad_spend"]
    totals["paid_roi"] = totals["total_paid_gmv"] / spend if spend > 0 else math.nan
    if "total_profit" in totals:  # economics.profit_accounting: profit beside ROI
        totals["profit_per_ad_yuan"] = totals["total_profit"] / spend if spend > 0 else math.nan
    totals["final_followers"] = float(daily["followers"].iloc[-1])
    return Measurement(totals, daily)


def takeoff_day(streams: pd.DataFrame, ids: np.ndarray, days: int) -> tuple[float, bool]:
    """First day the group's free impressions reach TOOK_OFF_MULTIPLE x the median of the
    streams live that day (the rule of :func:`simulation.api.took_off`, day by day); the run's
    length and False if never."""
    live = streams[streams["live_minutes"] > 0]
    med = live.groupby("day")["free_impressions"].median()
    mine = live[live["stream"].isin(ids)].groupby("day")["free_impressions"].sum()
    for day, free in mine.items():
        if free >= TOOK_OFF_MULTIPLE * max(float(med.get(day, 0.0)), 1.0):
            return float(day), True
    return float(days), False


def log_positive(x: np.ndarray) -> np.ndarray:
    """Natural log where ``x`` > 0, NaN elsewhere (no warnings)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
