"""The whole study: what a study module provides, and running, reanalysing and refreshing it.

A study (one module in :mod:`experiments`) provides

``plan(size, replicates) -> Plan``
    the arms, the seeds and the sizes (:mod:`experiments._plan`, usually via
    :func:`~experiments._plan.crn_plan`);
``measure(result, arm) -> Measurement``
    what one finished run contributes: whole-run scalars, a per-day table and optionally a
    per-stream table (optional: :func:`~experiments._measure.focal_measurement` if the
    module has none; :mod:`experiments._measure`);
``analyse(runs, daily, plan, streams=None) -> Analysis``
    the tests, the verdict, the report sentences and the figure, computed only from the
    tables ``runs`` (one row per run), ``daily`` (one row per run and day) and ``streams``
    (one row per run and stream) (:mod:`experiments._stats`, :mod:`experiments._report`,
    :mod:`experiments._figures`);

and its docstring (question, scenario, variable, sizes, metric, tests, predicted pattern).
:func:`load_study` wraps a module as a :class:`Study` (what :data:`experiments.STUDIES`
returns); ``Study.run`` is :func:`run_study`, which plans, executes on the sweep's
executors with each run kept as it completes (:mod:`experiments._execute`,
:mod:`experiments._work`), analyses and writes the folder (:mod:`experiments._outputs`).
:func:`reanalyse` recomputes the analysis from the raw outputs of a folder;
:func:`refresh_outputs` rewrites the folder from them.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments._execute import (
    RunOutput,
    StudyFailed,
    StudyTask,
    assemble,
    drive_plan,
    failure_message,
    plan_tasks,
)
from experiments._measure import Measurement, focal_measurement
from experiments._outputs import RESULTS_DIR, load_outputs, study_dir, write_outputs
from experiments._plan import Arm, Plan, pick_size
from experiments._report import Analysis, smoke_test
from experiments._versions import ablate, ablation_dir
from experiments._work import StudyWork, now, plan_identity
from simulation.api import RunResult
from simulation.atomic import atomic_write_json
from simulation.results import check_output_folder
from simulation.sweep.executors import ExecutorChoice, open_executor


@dataclass(frozen=True)
class Study:
    """One study: its name, its module's docstring and its ``plan``, ``measure`` and
    ``analyse`` (see this module's docstring)."""

    name: str
    doc: str
    plan: Callable[[str, int | None], Plan]
    measure: Callable[[RunResult, Arm], Measurement]
    analyse: Callable[..., Analysis]

    @property
    def question(self) -> str:
        """The docstring's first paragraph on one line."""
        return " ".join(self.doc.strip().split("\n\n")[0].split())

    def run(self, *args: Any, **kwargs: Any) -> Analysis:
        """Run the study and write its folder: :func:`run_study` of this study (same
        arguments after the name: replicates, quick, jobs, out_dir, size, progress, and the
        keywords executor, resume, retry_failed)."""
        return run_study(self.name, *args, **kwargs)

    def analysis(self, runs: Any, daily: Any, plan: Plan, streams: Any = None) -> Analysis:
        """The study's ``analyse`` of the tables; for a quick plan, marked as the smoke test
        it is (:func:`experiments._report.smoke_test`)."""
        analysis = self.analyse(runs, daily, plan, streams)
        return smoke_test(analysis, plan) if plan.size == "quick" else analysis


def load_study(name: str) -> Study:
    """The study of module ``experiments.<name>`` (its ``measure`` defaults to
    :func:`focal_measurement`)."""
    module = importlib.import_module(f"experiments.{name}")
    return Study(
        name,
        module.__doc__ or "",
        module.plan,
        getattr(module, "measure", focal_measurement),
        module.analyse,
    )


def run_study(
    name: str,
    replicates: int | None = None,
    quick: bool = False,
    jobs: int = 1,
    out_dir: Path | None = None,
    size: str | None = None,
    progress: bool = False,
    *,
    executor: ExecutorChoice | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    without: Iterable[str] = (),
) -> Analysis:
    """Plan, run, analyse and write one study; returns its analysis.

    ``without`` names version-2 mechanisms to set back to version 1's values in every arm
    (an ablation, :func:`experiments._versions.ablate`; default output folder
    :func:`experiments._versions.ablation_dir`).

    The output folder is checked before the runs
    (:func:`simulation.results.check_output_folder`): one holding anything but this study's
    earlier outputs is refused, not replaced. The runs go through the sweep's driving loop
    on ``executor`` (default: ``jobs`` local processes, in this process for 1;
    :mod:`experiments._execute`), and each completed run is kept in the study's work folder
    (:mod:`experiments._work`) as it comes back. When every run is done the tables are
    assembled, analysed and written in one atomic step, and the work folder is removed.

    A work folder left by an interrupted run is refused unless ``resume`` is given; with it,
    the runs it holds are kept (it must be of the same plan and code state) and only the
    others run; ``retry_failed`` runs again those recorded failed.

    Raises
    ------
    simulation.errors.UsageError
        The output or work folder cannot be used (nothing is run or written).
    experiments._execute.StudyFailed
        Runs failed or did not come back: the work folder is kept for ``--resume``
        (``--retry-failed`` for the failed ones), and no output is written.
    """
    study = load_study(name)
    without = list(without)
    plan = ablate(study.plan(pick_size(size, quick), replicates), without)
    if out_dir is not None:
        out = Path(out_dir)
    elif without:
        out = ablation_dir(RESULTS_DIR, name, plan.size, without)
    else:
        out = study_dir(name, plan.size)
    out = check_output_folder(out, "experiment", same={"study": name})
    work = StudyWork(out)
    identity = plan_identity(plan)
    record = work.check(identity, resume)
    choice = executor or ExecutorChoice(jobs=max(1, min(jobs, plan.n_runs)))
    start = time.perf_counter()
    opened = open_executor(choice)
    try:
        record = work.open(record, identity)
        session: dict[str, Any] = {
            "started": now(),
            "finished": None,
            "executor": opened.details,
            "ran": 0,
            "failed": 0,
        }
        record["sessions"].append(session)
        work.write_record(record)
        tasks = plan_tasks(plan)
        failed: dict[StudyTask, str] = {}
        pending = []
        for t in tasks:
            if work.has_run(t):
                continue
            cause = work.failure(t)
            if cause is not None and not retry_failed:
                failed[t] = cause
            else:
                pending.append(t)

        def record_run(task: StudyTask, output: RunOutput) -> None:
            work.write_run(task, output)
            failed.pop(task, None)
            session["ran"] += 1

        def record_failed(task: StudyTask, cause: str) -> None:
            work.write_failure(task, cause)
            failed[task] = cause
            session["ran"] += 1
            session["failed"] += 1

        done = len(tasks) - len(pending) - len(failed)
        drive_plan(
            plan,
            study.measure,
            opened,
            pending,
            record_run,
            record_failed,
            progress,
            done=done,
        )
    except BaseException:
        with contextlib.suppress(Exception):
            opened.stop()
        work.unlock()
        raise
    opened.close()
    session["finished"] = now()
    work.write_record(record)
    missing = [t for t in tasks if not work.has_run(t) and t not in failed]
    if failed or missing:
        work.unlock()
        ordered = {t: failed[t] for t in tasks if t in failed}
        hint = "--resume --retry-failed" if failed else "--resume"
        raise StudyFailed(
            f"{failure_message(plan, ordered, missing)}; the {work.count_runs()} completed "
            f"runs are kept in {work.root}: run again with {hint}"
        )
    runs, daily, streams = assemble(plan, (work.read_run(t) for t in tasks))
    analysis = study.analysis(runs, daily, plan, streams)
    wall = time.perf_counter() - start
    workers = int(opened.details.get("workers") or 1)
    write_outputs(
        out,
        plan,
        runs,
        daily,
        streams,
        analysis,
        wall,
        workers,
        study.question,
        executor=opened.details,
        sessions=record["sessions"],
        plan_fingerprint=record["fingerprint"],
    )
    work.remove()
    return analysis


def reanalyse(folder: Path) -> Analysis:
    """Recompute a study's analysis from the raw outputs in ``folder`` (its plan is rebuilt
    from the manifest's size and replicates and checked against the recorded seeds)."""
    return _analyse(folder, *load_outputs(folder))[2]


def _analyse(
    folder: Path, man: dict[str, Any], runs, daily, streams
) -> tuple[Study, Plan, Analysis]:
    """The study, its rebuilt plan and its analysis of outputs read from ``folder``."""
    study = load_study(man["study"])
    plan = ablate(
        study.plan(man["size"], man["replicates"]), (man.get("notes") or {}).get("without", [])
    )
    if list(plan.seeds) != man["seeds"]:
        raise ValueError(f"{folder}: seeds in the manifest differ from the study's plan")
    return study, plan, study.analysis(runs, daily, plan, streams)


def refresh_outputs(folder: Path) -> Analysis:
    """Recompute a study's summary, figure and report from the raw outputs in ``folder`` and
    rewrite the folder (the raw tables and the run metadata are kept)."""
    import json

    folder = Path(folder)
    man, runs, daily, streams = load_outputs(folder)
    check_output_folder(folder, "experiment", same={"study": man.get("study")})
    study, plan, analysis = _analyse(folder, man, runs, daily, streams)
    wall, jobs = man["wall_seconds"], man["jobs"]
    write_outputs(
        folder,
        plan,
        runs,
        daily,
        streams,
        analysis,
        wall,
        jobs,
        study.question,
        executor=man.get("executor"),
        sessions=man.get("sessions"),
        plan_fingerprint=man.get("plan_fingerprint"),
    )
    with open(folder / "manifest.json") as fh:
        new = json.load(fh)
    new["run_seconds_total"] = man.get("run_seconds_total", man.get("cpu_seconds_of_runs"))
    new["refreshed_from_raw_outputs"] = True
    new["runs_commit"] = man.get("runs_commit", man.get("commit"))
    atomic_write_json(folder / "manifest.json", new)
    return analysis
