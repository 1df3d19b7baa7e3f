"""A study's work folder: each completed run kept on disk as it comes back, so that a killed
study resumes (``snowball experiment NAME --resume``) without losing or repeating a run.

Layout, beside the study's output folder ``OUT`` (a hidden sibling, so that the output
folder itself is only ever replaced whole, in one rename)::

    .OUT.work/
      work.json      the plan's fingerprint (plan + code state), what it covers, sessions
      runs/          one file per completed run: a0002-r00013.pkl = arm 2, replicate 13
                     (its row, daily table and streams table, pickled as they came back
                     from the worker); a0002-r00013.failed.json = that run failed, and why
      .lock          held (flock) by the one driver working in the folder

Each run's file is written to a temporary name, fsync-ed and renamed onto its final name,
which is a function of (arm, replicate) alone: after a kill at any moment a final name holds
a complete run or does not exist, and no run is ever recorded twice. The runs are stored as
pickles because that is exactly what crossed the process boundary from the worker (a Dask
worker pickles its result too): the tables assembled from them are the tables an
uninterrupted run assembles, byte for byte. The folder is read only by the code state that
wrote it (the fingerprint covers the source of ``simulation`` and ``experiments`` and the
versions of the numerical packages), and it is removed once the study's outputs are
written.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

from experiments._execute import RunOutput, StudyTask
from experiments._plan import Plan
from simulation.atomic import (
    atomic_write_bytes,
    atomic_write_json,
    lock_folder,
    remove_temporaries,
)
from simulation.results import code_digest, now
from simulation.sweep.engine import differences_shown, fingerprint

WORK_KIND = "snowball-study-work"
RECORD_FILE = "work.json"
RUNS_DIR = "runs"
LOCK_FILE = ".lock"
VERSION_PACKAGES = ("numpy", "pandas", "scipy", "mesa", "pyarrow")
"""Packages whose version can change a run's numbers (or how its tables pickle)."""


def work_dir(out: Path) -> Path:
    """The work folder of the output folder ``out``: ``.<name>.work`` beside it."""
    out = Path(out)
    return out.parent / f".{out.name}.work"


def plan_identity(plan: Plan) -> dict[str, Any]:
    """What defines a study's runs: its plan (arms, seeds, sizes) and the code state."""
    versions = {}
    for name in VERSION_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "study": plan.study,
        "size": plan.size,
        "replicates": plan.replicates,
        "root_seed": plan.root_seed,
        "seeds": list(plan.seeds),
        "market_seeds": list(plan.market_seeds) if plan.market_seeds else None,
        "sizes": dict(plan.sizes),
        "arms": [a.record() for a in plan.arms],
        "code": code_digest(),
        "versions": versions,
    }


class StudyWork:
    """The work folder of one study's output folder (see the module docstring)."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.root = work_dir(self.out)
        self.runs = self.root / RUNS_DIR
        self._lock_fh: Any = None

    # ----------------------------------------------------------------------------- reading

    def exists(self) -> bool:
        """Whether an interrupted run left a work folder."""
        return self.root.exists()

    def record(self) -> dict[str, Any] | None:
        """The folder's record (None if unreadable or not a study's work folder)."""
        try:
            rec = json.loads((self.root / RECORD_FILE).read_text())
        except (OSError, ValueError):
            return None
        return rec if isinstance(rec, dict) and rec.get("kind") == WORK_KIND else None

    def run_path(self, task: StudyTask) -> Path:
        """Where the completed run ``task`` is kept."""
        return self.runs / f"{task.name}.pkl"

    def failure_path(self, task: StudyTask) -> Path:
        """Where the failure of the run ``task`` is recorded."""
        return self.runs / f"{task.name}.failed.json"

    def has_run(self, task: StudyTask) -> bool:
        """Whether ``task`` completed (its file exists)."""
        return self.run_path(task).is_file()

    def failure(self, task: StudyTask) -> str | None:
        """Why ``task`` failed, if it is recorded failed (and did not complete since)."""
        try:
            rec = json.loads(self.failure_path(task).read_text())
        except (OSError, ValueError):
            return None
        return str(rec.get("error")) if isinstance(rec, dict) else None

    def read_run(self, task: StudyTask) -> RunOutput:
        """The kept output of the completed run ``task``."""
        with open(self.run_path(task), "rb") as fh:
            return pickle.load(fh)

    def count_runs(self) -> int:
        """Completed runs in the folder."""
        return len(list(self.runs.glob("*.pkl"))) if self.runs.is_dir() else 0

    def check(self, identity: dict[str, Any], resume: bool) -> dict[str, Any] | None:
        """Whether this run may use the folder: None to start anew (no folder), the record
        to resume. Raises :class:`simulation.errors.UsageError` (nothing is touched) for a
        folder left by an interrupted run without ``resume``, or one of another plan or code
        state, or an unreadable one."""
        from simulation.errors import UsageError

        if not self.root.exists():
            return None
        rec = self.record()
        study = identity["study"]
        if not resume:
            raise UsageError(
                f"{self.root}: an interrupted run of {study} left {self.count_runs()} "
                "completed runs here; pass --resume to continue it, or delete the folder to "
                "start anew"
            )
        if rec is None:
            raise UsageError(
                f"{self.root}: not a readable work folder of a study (no valid "
                f"{RECORD_FILE}); delete it to start anew"
            )
        if rec.get("fingerprint") != fingerprint(identity):
            shown = differences_shown(rec.get("identity", {}), identity)
            raise UsageError(
                f"--resume: {self.root} holds the runs of another plan or code state of "
                f"{rec.get('study', '?')} (differs in {shown}); run the plan it was made "
                "with, or delete the folder to start anew"
            )
        return rec

    # ----------------------------------------------------------------------------- writing

    def open(self, record: dict[str, Any] | None, identity: dict[str, Any]) -> dict[str, Any]:
        """Create (or reopen) the folder, take its lock, remove temporaries a killed session
        left; return the record to extend (a new one if ``record`` is None)."""
        from simulation.errors import OutputFolderError

        try:
            self.runs.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputFolderError(
                f"{self.root}: cannot write there ({exc.strerror or exc})"
            ) from None
        self._lock_fh = lock_folder(
            self.root / LOCK_FILE,
            str(self.root),
            f"{self.root}: another snowball experiment is running this study into "
            f"{self.out}; wait for it or choose another --out",
        )
        remove_temporaries(self.root, self.runs)
        if record is None:
            record = {
                "kind": WORK_KIND,
                "study": identity["study"],
                "out": str(self.out),
                "fingerprint": fingerprint(identity),
                "identity": identity,
                "created": now(),
                "sessions": [],
            }
        return record

    def write_record(self, record: dict[str, Any]) -> None:
        """Write work.json atomically."""
        atomic_write_json(self.root / RECORD_FILE, record)

    def write_run(self, task: StudyTask, output: RunOutput) -> None:
        """Keep one completed run (atomically, durably) and drop an earlier failure of it."""
        data = pickle.dumps(output, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write_bytes(self.run_path(task), data)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.failure_path(task))

    def write_failure(self, task: StudyTask, error: str) -> None:
        """Record the run ``task`` failed, and why."""
        atomic_write_json(
            self.failure_path(task),
            {
                "arm": task.arm,
                "replicate": task.replicate,
                "seed": task.seed,
                "error": error,
                "at": now(),
            },
        )

    def unlock(self) -> None:
        """Release the folder's lock (if held)."""
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    def remove(self) -> None:
        """Delete the folder (the study's outputs are written: its runs are in them)."""
        self.unlock()
        shutil.rmtree(self.root, ignore_errors=True)
