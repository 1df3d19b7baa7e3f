"""Executing a plan: every (arm, replicate) run, in this process or in a pool of spawned
worker processes (``import mesa`` selects the spawn start method, so the worker function is
top level), gathered into the study's raw tables.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from experiments._measure import Measurement
from experiments._plan import Arm, Plan, build_scenario
from simulation.api import RunResult
from simulation.sweep.worker import init_worker as _init_worker

Measure = Callable[[RunResult, Arm], Measurement]
"""A study's ``measure``: what one finished run contributes (a module-level function, so
that it reaches spawned workers by reference)."""


def _execute(
    measure: Measure,
    arm: Arm,
    sizes: Mapping[str, Any],
    replicate: int,
    seed: int,
    market_seed: int | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame | None]:
    """One run of one arm (top level so that spawned workers can call it)."""
    from simulation import api

    sc = build_scenario(arm, sizes, market_seed)
    result = api.run(sc, seed)
    m = measure(result, arm)
    keys = {"arm": arm.name, "replicate": replicate, "seed": seed}
    row = {**keys, **dict(arm.tags), "x": arm.x}
    if market_seed is not None:
        row["market_seed"] = market_seed
    row.update(m.scalars)
    row["wall_seconds"] = round(result.wall_seconds, 3)
    tables = []
    for t in (m.daily, m.streams):
        if t is not None:
            t = t.copy()
            for i, (k, v) in enumerate(keys.items()):
                t.insert(i, k, v)
        tables.append(t)
    return row, tables[0], tables[1]


def execute_plan(
    plan: Plan, measure: Measure, jobs: int = 1, progress: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Run every (arm, replicate) of ``plan`` and ``measure`` each run; returns the tables
    (runs, daily, streams — the last None unless the study measures streams), sorted by arm
    order and replicate. ``jobs`` > 1 uses a pool of spawned processes."""
    tasks = [
        (measure, arm, dict(plan.sizes), k, seed, plan.market_of(arm, k))
        for k, seed in enumerate(plan.seeds)
        for arm in plan.arms
    ]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), unit="run", desc=plan.study, leave=False, file=sys.stderr)
    results: list[tuple[dict[str, Any], pd.DataFrame, pd.DataFrame | None]] = []
    try:
        if jobs <= 1:
            for t in tasks:
                results.append(_execute(*t))
                if bar is not None:
                    bar.update(1)
        else:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(
                max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
            ) as pool:
                futures = [pool.submit(_execute, *t) for t in tasks]
                try:
                    for fut in cf.as_completed(futures):
                        fut.result()
                        if bar is not None:
                            bar.update(1)
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
                results = [f.result() for f in futures]
    finally:
        if bar is not None:
            bar.close()
    order = {a.name: i for i, a in enumerate(plan.arms)}

    def tidy(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        df["_o"] = df["arm"].map(order)
        df = df.sort_values(["_o", "replicate", *keys], kind="stable").drop(columns="_o")
        return df.reset_index(drop=True)

    runs = tidy(pd.DataFrame([r for r, _, _ in results]), [])
    daily = tidy(pd.concat([d for _, d, _ in results], ignore_index=True), ["day"])
    parts = [s for _, _, s in results if s is not None]
    streams = tidy(pd.concat(parts, ignore_index=True), ["stream"]) if parts else None
    return runs, daily, streams
