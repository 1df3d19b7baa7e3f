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
returns); ``Study.run`` is :func:`run_study`, which plans, executes
(:mod:`experiments._execute`), analyses and writes the folder (:mod:`experiments._outputs`).
:func:`reanalyse` recomputes the analysis from the raw outputs of a folder;
:func:`refresh_outputs` rewrites the folder from them.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments._execute import execute_plan
from experiments._measure import Measurement, focal_measurement
from experiments._outputs import load_outputs, study_dir, write_outputs
from experiments._plan import Arm, Plan, pick_size
from experiments._report import Analysis, smoke_test
from simulation.api import RunResult
from simulation.atomic import atomic_write_json
from simulation.results import check_output_folder


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
        arguments after the name: replicates, quick, jobs, out_dir, size, progress)."""
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
) -> Analysis:
    """Plan, run, analyse and write one study; returns its analysis. The output folder is
    checked before the runs (:func:`simulation.results.check_output_folder`): one holding
    anything but this study's earlier outputs is refused, not replaced."""
    study = load_study(name)
    plan = study.plan(pick_size(size, quick), replicates)
    out = Path(out_dir) if out_dir is not None else study_dir(name, plan.size)
    out = check_output_folder(out, "experiment", same={"study": name})
    start = time.perf_counter()
    runs, daily, streams = execute_plan(plan, study.measure, jobs, progress)
    analysis = study.analysis(runs, daily, plan, streams)
    wall = time.perf_counter() - start
    write_outputs(out, plan, runs, daily, streams, analysis, wall, jobs, study.question)
    return analysis


def reanalyse(folder: Path) -> Analysis:
    """Recompute a study's analysis from the raw outputs in ``folder`` (its plan is rebuilt
    from the manifest's size and replicates and checked against the recorded seeds)."""
    man, runs, daily, streams = load_outputs(folder)
    study = load_study(man["study"])
    plan = study.plan(man["size"], man["replicates"])
    if list(plan.seeds) != man["seeds"]:
        raise ValueError(f"{folder}: seeds in the manifest differ from the study's plan")
    return study.analysis(runs, daily, plan, streams)


def refresh_outputs(folder: Path) -> Analysis:
    """Recompute a study's summary, figure and report from the raw outputs in ``folder`` and
    rewrite the folder (the raw tables and the run metadata are kept)."""
    import json

    folder = Path(folder)
    man, runs, daily, streams = load_outputs(folder)
    check_output_folder(folder, "experiment", same={"study": man.get("study")})
    study = load_study(man["study"])
    plan = study.plan(man["size"], man["replicates"])
    analysis = reanalyse(folder)
    wall, jobs = man["wall_seconds"], man["jobs"]
    write_outputs(folder, plan, runs, daily, streams, analysis, wall, jobs, study.question)
    with open(folder / "manifest.json") as fh:
        new = json.load(fh)
    new["run_seconds_total"] = man.get("run_seconds_total", man.get("cpu_seconds_of_runs"))
    new["refreshed_from_raw_outputs"] = True
    new["runs_commit"] = man.get("runs_commit", man.get("commit"))
    atomic_write_json(folder / "manifest.json", new)
    return analysis
