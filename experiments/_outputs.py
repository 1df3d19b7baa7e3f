"""A study's output folder: writing it in one atomic step and reading it back.

``results/<study>/`` holds ``runs.csv``, ``daily.csv.gz`` and ``streams.csv.gz`` (the raw run
outputs, full precision), ``summary.csv``, ``manifest.json``, ``REPORT.md`` and
``figure.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from experiments._plan import Plan, scale_budgets
from experiments._report import Analysis
from experiments._versions import changes_since_version_1
from simulation.atomic import atomic_write_json
from simulation.config import load_scenario, to_dict
from simulation.paths import RESULTS
from simulation.results import atomic_dir, manifest

RESULTS_DIR = RESULTS  # ./results of the current folder


def write_outputs(
    out: Path,
    plan: Plan,
    runs: pd.DataFrame,
    daily: pd.DataFrame,
    streams: pd.DataFrame | None,
    analysis: Analysis,
    wall: float,
    jobs: int,
    question: str,
    *,
    executor: dict[str, Any] | None = None,
    sessions: list[dict[str, Any]] | None = None,
    plan_fingerprint: str | None = None,
) -> None:
    """Write the study's folder atomically (``question``: the study's, for the manifest;
    ``jobs``: the workers that ran it; ``executor`` and ``sessions``: where it ran and, for
    a resumed study, what each session ran, for the manifest; ``plan_fingerprint``: of the
    plan and code state that made the runs, :func:`experiments._work.plan_identity`, so that
    ``--resume`` knows a study that is already complete)."""
    with atomic_dir(out) as tmp:
        runs.to_csv(tmp / "runs.csv", index=False)
        # gzip without a timestamp: the same table gives the same bytes (a --reanalyse
        # leaves the raw outputs untouched in git).
        gz = {"method": "gzip", "mtime": 0}
        daily.to_csv(tmp / "daily.csv.gz", index=False, compression=gz)
        if streams is not None:
            streams.to_csv(tmp / "streams.csv.gz", index=False, compression=gz)
        analysis.summary().to_csv(tmp / "summary.csv", index=False, float_format="%.6g")
        analysis.draw(tmp / "figure.png")
        bases = sorted({a.base for a in plan.arms})
        base_configs = {
            b: to_dict(scale_budgets(load_scenario(b, dict(plan.sizes)), b)) for b in bases
        }
        atomic_write_json(
            tmp / "manifest.json",
            manifest(
                kind="experiment",
                study=plan.study,
                question=question,
                size=plan.size,
                replicates=plan.replicates,
                root_seed=plan.root_seed,
                seeds=list(plan.seeds),
                sizes=dict(plan.sizes),
                arms=[a.record() for a in plan.arms],
                market_seeds=list(plan.market_seeds) if plan.market_seeds else None,
                notes=dict(plan.notes),
                config=base_configs,
                verdict=analysis.verdict,
                finding=analysis.finding,
                runs=len(runs),
                jobs=jobs,
                executor=executor,
                sessions=sessions,
                plan_fingerprint=plan_fingerprint,
                wall_seconds=round(wall, 1),
                run_seconds_total=round(float(runs["wall_seconds"].sum()), 1),
            ),
        )
        without = list(plan.notes.get("without", []))
        text = [f"# {plan.study}", ""]
        if without:
            text += [
                "Ablation: every arm with "
                + ", ".join(f"`{m}`" for m in without)
                + " set back to version 1's values (experiments/_versions.py).",
                "",
            ]
        text += [" ".join(analysis.report), ""]
        since = changes_since_version_1(plan.study, analysis.summary(), out, plan.size, without)
        if since:
            text += [*since, ""]
        text.append(
            "Files: `figure.png`, `summary.csv` (per arm and per claim), `runs.csv` and "
            "`daily.csv.gz` (raw run outputs), `manifest.json` (config, seeds, versions, "
            "commit)."
        )
        (tmp / "REPORT.md").write_text("\n".join(text) + "\n")


def study_dir(name: str, size: str = "full") -> Path:
    """A study's default output folder: ``results/<name>/`` at full size (the published
    results), ``results/<size>/<name>/`` at the other sizes."""
    return RESULTS_DIR / name if size == "full" else RESULTS_DIR / size / name


def load_outputs(
    folder: Path,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(manifest, runs, daily, streams or None) of a study's output folder."""
    import json

    folder = Path(folder)
    with open(folder / "manifest.json") as fh:
        man = json.load(fh)
    runs = pd.read_csv(folder / "runs.csv")
    daily = pd.read_csv(folder / "daily.csv.gz")
    path = folder / "streams.csv.gz"
    streams = pd.read_csv(path) if path.exists() else None
    return man, runs, daily, streams
