"""The Python API for notebooks and studies.

>>> from simulation import api
>>> result = api.run("default", seed=1, days=2, overrides={"population.viewers": 20_000})
>>> result.streams.groupby("kind").gmv.sum()          # one row per stream per day
>>> result.ticks.plot(x="tick", y="impressions")     # one row per tick
"""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation import loop_gains
from simulation.config import STREAM_KINDS, Scenario, replace
from simulation.metrics import DAY_KEY
from simulation.model import SnowballModel, resolve_config, run_id
from simulation.results import with_run_keys

COUNT_COLUMNS = (
    "free_impressions",
    "paid_impressions",
    "follow_impressions",
    "impressions",
    "fan_impressions",
    "entries",
    "interactions",
    "orders",
    "paid_orders",
    "warmup_views",
    "live_ticks",
    "followers",
)

TOOK_OFF_MULTIPLE = 3.0
"""The focal group "took off" when, on its last live day, its free impressions (summed over
the group, which is one room by convention) are at least this multiple of the median free
impressions per stream live that day."""


SUMMARY_METRICS = (
    "total_gmv",
    "total_orders",
    "focal_gmv",
    "focal_margin",
    "focal_profit",
    "focal_final_tier",
    "focal_followers",
    "free_impressions",
    "paid_impressions",
    "follow_impressions",
    "ad_spend",
    "roi",
    "leverage",
    "gini_gmv",
    "top10_share_gmv",
    "took_off",
    "wall_seconds",
)
"""Keys of :func:`run_summary`'s result (impressions, spend, ROI and profit are the focal
group's; profit is NaN unless ``economics.profit_accounting`` is on)."""


@dataclass
class RunResult:
    """One finished run: the model (for inspection) and its tables.

    ``ticks`` (one row per tick), ``streams`` (one row per stream per day), ``days`` (one
    row per day: ``day`` and the day metrics' columns) and ``loop_gains`` (one row per
    stream: :func:`simulation.loop_gains.room_table`) hold the run's values only;
    :meth:`keyed` gives a table with the run's keys in front, ready to stack with other
    runs' (``pd.concat([r.keyed("streams") for r in results])``).
    """

    scenario: Scenario
    seed: int
    model: SnowballModel
    ticks: pd.DataFrame
    streams: pd.DataFrame
    wall_seconds: float
    days: pd.DataFrame = field(default_factory=pd.DataFrame)
    loop_gains: pd.DataFrame = field(default_factory=pd.DataFrame)
    items: pd.DataFrame | None = None
    """With ``behaviour.run_of_show``: one row per room, item and day
    (:meth:`simulation.run_of_show.RunOfShow.table`); None otherwise."""

    @property
    def run_id(self) -> str:
        """See :func:`simulation.model.run_id`."""
        return run_id(self.scenario, self.seed)

    @property
    def keys(self) -> dict[str, Any]:
        """The run's keys: scenario name, seed and run id (:data:`~simulation.metrics.RUN_KEYS`)."""
        return {"scenario": self.scenario.name, "seed": int(self.seed), "run_id": self.run_id}

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables by name, as ``snowball run`` writes them (``items`` only with
        ``behaviour.run_of_show``)."""
        out = {
            "ticks": self.ticks,
            "streams": self.streams,
            "days": self.days,
            "loop_gains": self.loop_gains,
        }
        if self.items is not None:
            out["items"] = self.items
        return out

    def keyed(self, table: str) -> pd.DataFrame:
        """Table ``table`` ("ticks", "streams", "days" or "loop_gains") with the run's keys as
        its first columns, as ``snowball run`` writes it."""
        return with_run_keys(getattr(self, table), self.keys)


scenario_of = resolve_config
"""A Scenario from an object, a name or a path, with overrides and an optional length
(:func:`simulation.model.resolve_config`)."""


def build_model(
    scenario: Scenario | str | Path | None = "default",
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    days: int | None = None,
    metrics: tuple[Any, ...] = (),
) -> SnowballModel:
    """Build a model ready to step (``SnowballModel(config=scenario, ...)``)."""
    return SnowballModel(scenario, seed, days=days, overrides=overrides, metrics=metrics)


def ticks_table(model: SnowballModel) -> pd.DataFrame:
    """One row per tick: the DataCollector's tick metrics, each column in its metric's
    ``dtype`` (the built-ins: counts int64, amounts float64) or, for a metric without one,
    as pandas infers it."""
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    for m in model.tick_metrics:
        dtype = getattr(m, "dtype", None)
        if dtype is not None:
            df[m.name] = df[m.name].astype(dtype)
    return df


def days_table(model: SnowballModel) -> pd.DataFrame:
    """One row per completed day: ``day``, one column per day metric and, with
    ``platform.interest_drift``, ``attention_<k>``: category k's share of all viewers'
    interest at the end of the day (``model.category_attention``)."""
    df = model.datacollector.get_table_dataframe("days").reset_index(drop=True)
    df[DAY_KEY] = df[DAY_KEY].astype("int64")
    attention = model.category_attention
    for k in range(attention.shape[1] if len(attention) == len(df) else 0):
        df[f"attention_{k}"] = attention[:, k]
    return df


def streams_table(model: SnowballModel) -> pd.DataFrame:
    """One row per stream per day, with the stream's group, kind and category."""
    if not model.daily_records:
        return pd.DataFrame()
    cols = model.daily_records[0].keys()
    data = {c: np.concatenate([r[c] for r in model.daily_records]) for c in cols}
    df = pd.DataFrame(data)
    t = model.table
    s = df["stream"].to_numpy()
    df.insert(
        2, "group", pd.Categorical(np.asarray(t.group_names)[t.group[s]], categories=t.group_names)
    )
    df.insert(
        3,
        "kind",
        pd.Categorical(np.asarray(STREAM_KINDS)[t.kind[s]], categories=list(STREAM_KINDS)),
    )
    df.insert(4, "category", t.category[s])
    df.insert(5, "merchant_room", t.merchant_room[s])
    for c in COUNT_COLUMNS:
        df[c] = df[c].astype("int64")
    df["day"] = df["day"].astype("int64")
    df["stream"] = df["stream"].astype("int64")
    df["pool_tier"] = df["pool_tier"].astype("int64")
    df["live_minutes"] = df.pop("live_ticks") * model.config.tick_minutes
    return df


def run(
    scenario: Scenario | str | Path | None = "default",
    seed: int | None = None,
    days: int | None = None,
    overrides: dict[str, Any] | None = None,
    progress: bool = False,
    *,
    metrics: tuple[Any, ...] = (),
) -> RunResult:
    """Build, run to the end and tabulate; ``metrics`` are added to the model before the
    first step (:meth:`~simulation.model.SnowballModel.add_metrics`)."""
    sc = scenario_of(scenario, overrides, days)
    start = time.perf_counter()
    model = SnowballModel(sc, seed, metrics=metrics)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sc.n_ticks, unit="tick", desc=f"{sc.name} seed {model.seed}", leave=False)
    try:
        model.run_days(progress=bar)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - start
    streams = streams_table(model)
    return RunResult(
        sc,
        model.seed,
        model,
        ticks_table(model),
        streams,
        wall,
        days_table(model),
        loop_gains.room_table(model, streams),
        None if model.show is None else model.show.table(),
    )


def focal_streams(model: SnowballModel, focal: str) -> np.ndarray:
    """Indices of the streams of group ``focal`` (empty if there is no such group)."""
    t = model.table
    if focal not in t.group_names:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(t.group == t.group_names.index(focal))


def took_off(streams: pd.DataFrame, focal_ids: np.ndarray) -> bool:
    """See :data:`TOOK_OFF_MULTIPLE`."""
    if len(focal_ids) == 0:
        return False
    live = streams[streams["live_minutes"] > 0]
    mine = live[live["stream"].isin(focal_ids)]
    if mine.empty:
        return False
    last = int(mine["day"].max())
    median = float(live.loc[live["day"] == last, "free_impressions"].median())
    mine_free = float(mine.loc[mine["day"] == last, "free_impressions"].sum())
    return mine_free >= TOOK_OFF_MULTIPLE * max(median, 1.0)


def summarize(result: RunResult, focal: str = "focal") -> dict[str, Any]:
    """Whole-run summary metrics (platform and focal group)."""
    st, tk = result.streams, result.ticks
    ids = focal_streams(result.model, focal)
    mine = st[st["stream"].isin(ids)]
    totals = st.groupby("stream")["gmv"].sum().to_numpy()
    from simulation.metrics import gini, top_share

    spend = float(mine["ad_spend"].sum())
    last_day = mine[mine["day"] == mine["day"].max()] if not mine.empty else mine
    # The tier is the room's pool on a day it is live (0 on a day off air): the final tier
    # is that of its last live day, the day took_off judges too.
    on_air = mine[mine["live_minutes"] > 0]
    last_live = on_air[on_air["day"] == on_air["day"].max()]
    return {
        "total_gmv": float(tk["gmv"].sum()),
        "total_orders": int(tk["orders"].sum()),
        "focal_gmv": float(mine["gmv"].sum()),
        "focal_margin": float(mine["margin"].sum()),
        "focal_profit": float(mine["profit"].sum()) if "profit" in mine else math.nan,
        "focal_final_tier": int(last_live["pool_tier"].max()) if not on_air.empty else 0,
        "focal_followers": int(last_day["followers"].sum()) if not mine.empty else 0,
        "free_impressions": int(mine["free_impressions"].sum()),
        "paid_impressions": int(mine["paid_impressions"].sum()),
        "follow_impressions": int(mine["follow_impressions"].sum()),
        "ad_spend": spend,
        "roi": float(mine["paid_gmv"].sum()) / spend if spend > 0 else math.nan,
        "gini_gmv": gini(totals),
        "top10_share_gmv": top_share(totals, 0.1),
        "took_off": took_off(st, ids),
        "wall_seconds": result.wall_seconds,
    }


def without_ads(scenario: Scenario, group: str) -> Scenario:
    """The same scenario with ``group``'s ad campaign removed (strategy "none")."""
    if group not in scenario.streams or scenario.streams[group].campaign is None:
        return scenario
    return replace(scenario, **{f"streams.{group}.campaign.strategy": "none"})


def run_summary(
    scenario: Scenario | str | Path,
    seed: int,
    *,
    focal: str = "focal",
    paired_leverage: bool = False,
) -> dict[str, Any]:
    """Run once and summarise; with ``paired_leverage`` also run the same seed without the
    focal group's ads and report free-traffic leverage = (free impressions with ads -
    without) / paid impressions, for the focal group. The pair shares every component's
    seed (common random numbers); draws diverge once the two paths do."""
    sc = scenario_of(scenario)
    res = run(sc, seed)
    out = summarize(res, focal)
    out["leverage"] = math.nan
    if paired_leverage:
        base = summarize(run(without_ads(sc, focal), seed), focal)
        paid = out["paid_impressions"]
        out["leverage"] = (
            (out["free_impressions"] - base["free_impressions"]) / paid if paid > 0 else math.nan
        )
        out["wall_seconds"] += base["wall_seconds"]
    return out
