"""Executing a plan: every (arm, replicate) run on the sweep's executors, gathered into the
study's raw tables.

The runs go through :func:`simulation.sweep.engine.drive`, the driving loop of
``snowball sweep``: in this process (one job), a pool of spawned local worker processes, or a
Dask cluster (:func:`simulation.sweep.executors.open_executor`), with at most a bounded
number of runs in flight, a broken pool rebuilt and a run that kills its worker retried
alone before it is recorded failed. Each completed run is handed to a callback as it comes
back: :func:`execute_plan` keeps them in memory, :func:`experiments._study.run_study` writes
each to the study's work folder (:mod:`experiments._work`) so that a killed study resumes.
Whatever the executor and the order in which runs complete, :func:`assemble` gives the same
tables: runs are put back in plan order before they are sorted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from experiments._measure import Measurement
from experiments._plan import Arm, Plan, build_scenario
from simulation.api import RunResult
from simulation.sweep.engine import DriveReport, drive
from simulation.sweep.executors import ExecutorChoice, OpenExecutor, open_executor
from simulation.sweep.worker import describe_error

Measure = Callable[[RunResult, Arm], Measurement]
"""A study's ``measure``: what one finished run contributes (a module-level function, so
that it reaches worker processes by reference)."""

RunOutput = tuple[dict[str, Any], pd.DataFrame, pd.DataFrame | None]
"""One run's contribution: its row of runs.csv, its daily table and its streams table (None
unless the study measures streams), each table with the run's keys in front."""


@dataclass(frozen=True)
class StudyTask:
    """One run of a plan: replicate ``replicate`` (seed ``seed``) of arm number ``arm``."""

    arm: int
    replicate: int
    seed: int
    market_seed: int | None = None

    @property
    def name(self) -> str:
        """The run's file name stem in the work folder: a function of (arm, replicate)."""
        return f"a{self.arm:04d}-r{self.replicate:05d}"

    def label(self, plan: Plan) -> str:
        """How a message names the run."""
        return f"{plan.arms[self.arm].name} replicate {self.replicate} (seed {self.seed})"


class StudyFailed(Exception):
    """Runs of a study failed (they raised, or killed their worker process twice) or did not
    come back: the study cannot conclude. The message is one line naming them."""


def _execute(
    measure: Measure,
    arm: Arm,
    sizes: Mapping[str, Any],
    replicate: int,
    seed: int,
    market_seed: int | None = None,
) -> RunOutput:
    """One run of one arm (top level so that worker processes can call it)."""
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


def run_task(
    measure: Measure, arm: Arm, sizes: Mapping[str, Any], task: StudyTask
) -> tuple[str, Any]:
    """What a worker does for one run: ``("ok", RunOutput)``, or ``("failed", one line)``
    when the run raises (an error in a run is a result of the run, not a lost worker)."""
    try:
        return "ok", _execute(measure, arm, sizes, task.replicate, task.seed, task.market_seed)
    except Exception as exc:
        return "failed", describe_error(exc)


def plan_tasks(plan: Plan) -> list[StudyTask]:
    """Every run of ``plan``, replicate by replicate (every arm of replicate 0 first)."""
    return [
        StudyTask(i, k, seed, plan.market_of(arm, k))
        for k, seed in enumerate(plan.seeds)
        for i, arm in enumerate(plan.arms)
    ]


def drive_plan(
    plan: Plan,
    measure: Measure,
    opened: OpenExecutor,
    tasks: Iterable[StudyTask],
    record: Callable[[StudyTask, RunOutput], None],
    record_failed: Callable[[StudyTask, str], None],
    progress: bool = False,
    total: int | None = None,
    done: int = 0,
) -> DriveReport:
    """Run ``tasks`` of ``plan`` on ``opened`` through the sweep's driving loop
    (:func:`simulation.sweep.engine.drive`); each completed run goes to ``record`` and each
    failed one (it raised, or killed its worker twice) to ``record_failed`` as it comes
    back. ``total`` and ``done`` size the progress bar (on stderr)."""
    sizes = dict(plan.sizes)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=plan.n_runs if total is None else total,
            initial=done,
            unit="run",
            desc=plan.study,
            leave=False,
            file=sys.stderr,
        )

    def on_result(task: StudyTask, result: tuple[str, Any]) -> None:
        status, value = result
        if status == "ok":
            record(task, value)
        else:
            record_failed(task, value)
        if bar is not None:
            bar.update(1)

    def on_dead(task: StudyTask, cause: str) -> None:
        record_failed(task, cause)
        if bar is not None:
            bar.update(1)

    try:
        return drive(
            opened,
            tasks,
            lambda ex, t: ex.submit(run_task, measure, plan.arms[t.arm], sizes, t),
            on_result,
            on_dead,
            key=lambda t: (t.arm, t.replicate),
        )
    finally:
        if bar is not None:
            bar.close()


def failure_message(
    plan: Plan, failed: Mapping[StudyTask, str], missing: Sequence[StudyTask] = ()
) -> str:
    """One line naming the failed runs (with their causes) and the runs that did not come
    back, the first few of each."""
    parts = []
    if failed:
        shown = "; ".join(f"{t.label(plan)}: {cause}" for t, cause in list(failed.items())[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        parts.append(f"{len(failed)} of {plan.n_runs} runs failed ({shown}{more})")
    if missing:
        shown = ", ".join(t.label(plan) for t in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        parts.append(f"{len(missing)} runs did not come back from their workers ({shown}{more})")
    return f"study {plan.study}: " + "; ".join(parts)


def assemble(
    plan: Plan, outputs: Iterable[RunOutput]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """The study's tables (runs, daily, streams or None) from the runs' outputs given in the
    order of :func:`plan_tasks`, sorted by arm order and replicate."""
    results = list(outputs)
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


def execute_plan(
    plan: Plan,
    measure: Measure,
    jobs: int = 1,
    progress: bool = False,
    executor: ExecutorChoice | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Run every (arm, replicate) of ``plan`` and ``measure`` each run, keeping the results
    in memory (nothing is written: :func:`experiments._study.run_study` is the resumable
    path); returns the tables (runs, daily, streams — the last None unless the study
    measures streams), sorted by arm order and replicate. ``jobs`` > 1 uses a pool of
    spawned processes; ``executor`` (e.g. a Dask cluster) overrides ``jobs``.

    Raises
    ------
    StudyFailed
        A run failed or did not come back.
    """
    tasks = plan_tasks(plan)
    got: dict[StudyTask, RunOutput] = {}
    failed: dict[StudyTask, str] = {}
    opened = open_executor(executor or ExecutorChoice(jobs=max(1, jobs)))
    try:
        drive_plan(
            plan,
            measure,
            opened,
            tasks,
            got.__setitem__,
            failed.__setitem__,
            progress,
        )
    except BaseException:
        opened.stop()
        raise
    opened.close()
    missing = [t for t in tasks if t not in got and t not in failed]
    if failed or missing:
        ordered = {t: failed[t] for t in tasks if t in failed}
        raise StudyFailed(failure_message(plan, ordered, missing))
    return assemble(plan, (got[t] for t in tasks))
