"""The sweep driver: check everything, then keep a bounded number of runs in flight and
record each one as it completes.

Order of work (nothing is written until every check has passed):

1. read the spec, build the design, check the runner (the base scenario and the first point
   must build);
2. check the output folder: empty, or holding this very sweep (and ``--resume`` given);
3. start or reach the executor (an unreachable Dask scheduler fails here, within seconds);
4. only now create the folder, take its lock, write the design and the sweep record;
5. submit runs — at most ``2 x workers`` in flight, so the driver's memory stays flat however
   many runs there are — and write each completed run's row at once;
6. consolidate the rows into runs.parquet and write manifest.json.
"""

import concurrent.futures as cf
import contextlib
import datetime as dt
import hashlib
import json
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from simulation.sweep.design import Design, build_design, design_from_coordinates
from simulation.sweep.executors import ExecutorChoice, open_executor
from simulation.sweep.labels import plural
from simulation.sweep.runners import PreparedRunner, Runner, prepare
from simulation.sweep.seeds import run_seed
from simulation.sweep.spec import SweepSpec, load_spec
from simulation.sweep.store import (
    DESIGN_FILE,
    MANIFEST_FILE,
    RECORD_SCHEMA,
    RUNS_FILE,
    ScanCounts,
    SweepStore,
    atomic_write_json,
)
from simulation.sweep.worker import Task, execute

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VERSION_PACKAGES = (
    "snowball-sim",
    "numpy",
    "scipy",
    "mesa",
    "pandas",
    "pyarrow",
    "SALib",
    "dask",
    "distributed",
    "tqdm",
)


@dataclass
class SweepResult:
    """What a sweep session did."""

    out: Path
    runs: int
    ok: int
    failed: int
    missing: int
    ran: int
    lost: int
    already_done: int
    wall_seconds: float
    manifest: dict[str, Any] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every run of the design has a row (ok or failed)."""
        return self.missing == 0


def default_out(spec: SweepSpec) -> Path:
    """``results/sweeps/<name>`` in the project (beside ``results/runs``)."""
    return PROJECT_ROOT / "results" / "sweeps" / spec.name


def fingerprint(identity: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of what defines the runs."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _differences(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if a == b else [prefix or "(all)"]


def _check_folder(
    store: SweepStore, digest: str, identity: dict[str, Any], resume: bool
) -> dict[str, Any] | None:
    """Decide whether the folder may receive this sweep; return its record when resuming.

    Raises :class:`simulation.cli.UsageError` (nothing is written) when it holds something
    else, or this sweep without ``--resume``.
    """
    from simulation.cli import UsageError

    root = store.root
    if not root.exists():
        return None
    if not root.is_dir():
        raise UsageError(f"--out {root}: exists and is not a folder")
    if not any(root.iterdir()):
        return None
    record = store.record()
    if record is None:
        if store.is_aborted_start():
            return None
        raise UsageError(
            f"--out {root}: the folder is not empty and holds no sweep; choose "
            "an empty or new folder"
        )
    if record.get("damaged") or "fingerprint" not in record:
        raise UsageError(f"--out {root}: {root / 'sweep.json'} is damaged; choose another folder")
    if record["fingerprint"] != digest:
        diff = _differences(record.get("identity", {}), identity)
        shown = ", ".join(diff[:4]) + (", ..." if len(diff) > 4 else "")
        raise UsageError(
            f"--out {root}: holds a different sweep (from "
            f"{record.get('spec_file', '?')}; differs in {shown}); choose "
            "another folder (--resume continues only the same spec)"
        )
    if not resume:
        raise UsageError(
            f"--out {root}: already holds this sweep; pass --resume to continue "
            "it, or choose another folder"
        )
    return record


def versions() -> dict[str, str | None]:
    """Python, platform and package versions."""
    out: dict[str, str | None] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for name in VERSION_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_info() -> dict[str, Any]:
    """Commit of the working tree (and whether it has uncommitted changes to what can change
    a result: see :data:`simulation.results.CODE_PATHS`)."""
    from simulation.results import CODE_PATHS

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(
                ["git", "-C", str(PROJECT_ROOT), *args],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no", *CODE_PATHS)
    out: dict[str, Any] = {"commit": commit, "dirty": None if status is None else bool(status)}
    if status:
        diff = git("diff", "HEAD", *CODE_PATHS)
        if diff is not None:
            out["diff_sha256"] = hashlib.sha256(diff.encode()).hexdigest()
    return out


def _code_state(session: dict[str, Any]) -> str:
    return f"{session.get('commit')}+{session.get('diff_sha256') or ''}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _scan(store: SweepStore, design: Design, spec: SweepSpec, retry_failed: bool) -> ScanCounts:
    """Count rows on disk; drop any that is not a valid row of its run."""
    counts = ScanCounts()
    for point in range(design.n_points):
        for rep in range(spec.replicates):
            seed = run_seed(spec.seed, point, rep, spec.common_random_numbers)
            row = store.read_row(point, rep, seed)
            if row is None:
                if store.has_row(point, rep):
                    store.remove_row(point, rep)
                    counts.repaired += 1
                counts.missing += 1
            elif row["status"] == "failed" and retry_failed:
                counts.missing += 1
            elif row["status"] == "ok":
                counts.ok += 1
            else:
                counts.failed += 1
    return counts


def _pending(
    store: SweepStore, design: Design, spec: SweepSpec, retry_failed: bool
) -> Iterator[Task]:
    """Runs still to do, replicate by replicate (so a partial sweep covers every point)."""
    for rep in range(spec.replicates):
        for point in range(design.n_points):
            seed = run_seed(spec.seed, point, rep, spec.common_random_numbers)
            if store.has_row(point, rep):
                if not retry_failed:
                    continue
                row = store.read_row(point, rep, seed)
                if row is not None and row["status"] == "ok":
                    continue
            yield Task(point=point, replicate=rep, seed=seed, params=design.point(point))


def _progress(spec: SweepSpec, total: int, initial: int, enabled: bool) -> Any:
    from tqdm import tqdm

    tty = sys.stderr.isatty()
    return tqdm(
        total=total,
        initial=initial,
        unit="run",
        desc=spec.name,
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        mininterval=0.5 if tty else 15.0,
        smoothing=0.05,
    )


def run_sweep(
    spec: SweepSpec | str | Path,
    out: str | Path | None = None,
    *,
    executor: ExecutorChoice | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    runner: Runner | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run (or resume) a sweep and consolidate its results.

    Parameters
    ----------
    spec : SweepSpec or path
        The sweep spec.
    out : path, optional
        Output folder; default ``results/sweeps/<spec name>``.
    executor : ExecutorChoice, optional
        Local processes (default: one per core), in-process (``jobs=1``) or Dask.
    resume : bool
        Continue the sweep already in ``out`` (same spec): runs with a row are skipped.
    retry_failed : bool
        With ``resume``, run again the runs recorded as failed.
    runner : callable, optional
        ``runner(params, seed) -> metrics``; default: the simulator
        (:class:`simulation.sweep.runners.SimulationRunner`).
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    SweepResult

    Raises
    ------
    simulation.config.ConfigError, simulation.cli.UsageError
        Bad spec, bad folder, unreachable executor: nothing has been written.
    """
    started = time.monotonic()
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    out_dir = Path(out) if out is not None else default_out(spec)
    store = SweepStore(out_dir)
    design = build_design(spec)
    notes: list[str] = []
    if resume and spec.design.kind != "grid":
        stored = store.read_coordinates(design.names)
        if stored is not None:
            if stored.shape != design.coordinates.shape or not (stored == design.coordinates).all():
                notes.append(
                    "the stored design differs from the one this software "
                    "generates; using the stored design"
                )
            design = design_from_coordinates(spec, stored)
    prepared: PreparedRunner = prepare(spec, runner, design.point(0))
    identity = {
        **spec.identity(),
        "runner": prepared.name,
        "scenario_file": prepared.scenario_file,
    }
    digest = fingerprint(identity)
    record = _check_folder(store, digest, identity, resume)
    if record is not None:
        store.lock()
    try:
        opened = open_executor(executor or ExecutorChoice())
    except BaseException:
        store.unlock()
        raise
    session = {
        "started": _now(),
        "finished": None,
        "executor": opened.details,
        **{k: v for k, v in git_info().items() if k in ("commit", "dirty", "diff_sha256")},
        "ran": None,
        "lost": None,
    }
    try:
        store.prepare_session()
        if record is None:
            store.lock()
            store.remove_temporaries()
            store.write_design(design)
            record = {
                "schema": RECORD_SCHEMA,
                "kind": "snowball-sweep",
                "name": spec.name,
                "fingerprint": digest,
                "identity": identity,
                "spec_file": spec.source,
                "spec": spec.raw,
                "runner": prepared.name,
                "created": _now(),
                "points": design.n_points,
                "replicates": spec.replicates,
                "sessions": [],
            }
        else:
            store.remove_temporaries()
            store.discard_outputs()
            if not (store.root / DESIGN_FILE).is_file():
                store.write_design(design)
            if record.get("code_seen") and record["code_seen"] != _code_state(session):
                notes.append(
                    "the code changed since this sweep's last session (commit or "
                    "uncommitted changes); the manifest records the code of every session"
                )
            changed = _differences(record.get("resolved") or {}, prepared.base_config or {})
            if record.get("resolved") is not None and changed:
                notes.append(
                    "the resolved base scenario differs from the one this sweep started "
                    f"with (in {', '.join(changed[:3])}): the code's defaults changed; "
                    "earlier and new runs may not be comparable"
                )
        record["replicates"] = spec.replicates
        record["resolved"] = prepared.base_config
        record["spec"] = spec.raw
        record["code_seen"] = _code_state(session)
        record["sessions"].append(session)
        store.write_record(record)
        return _drive(
            spec,
            store,
            design,
            prepared,
            opened,
            record,
            session,
            retry_failed,
            progress,
            started,
            notes,
        )
    except BaseException:
        with contextlib.suppress(Exception):
            opened.stop()
        raise
    finally:
        store.unlock()


def _drive(
    spec: SweepSpec,
    store: SweepStore,
    design: Design,
    prepared: PreparedRunner,
    opened: Any,
    record: dict[str, Any],
    session: dict[str, Any],
    retry_failed: bool,
    progress: bool,
    started: float,
    notes: list[str],
) -> SweepResult:
    if prepared.warning():
        print(prepared.warning(), file=sys.stderr)
    counts = _scan(store, design, spec, retry_failed)
    if counts.repaired:
        notes.append(f"{counts.repaired} unreadable row files were removed and their runs redone")
    total = design.n_points * spec.replicates
    already = counts.done
    if progress:
        print(
            f"sweep {spec.name}: {plural(design.n_points, 'point')} x "
            f"{plural(spec.replicates, 'replicate')} = {plural(total, 'run')}, {already} "
            f"already done; {opened.description}; out: "
            f"{store.root}",
            file=sys.stderr,
        )
    bar = _progress(spec, total, already, progress)
    failed = counts.failed
    ran = lost = 0
    first_loss = ""
    broken = False
    in_flight: dict[cf.Future, Task] = {}
    tasks = _pending(store, design, spec, retry_failed)
    exhausted = False
    ex = opened.executor
    try:
        while True:
            while not exhausted and not broken and len(in_flight) < opened.capacity():
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                in_flight[ex.submit(execute, prepared.runner, task)] = task
            if not in_flight:
                break
            done, _ = cf.wait(list(in_flight), timeout=5.0, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                task = in_flight.pop(fut)
                try:
                    row = fut.result()
                except BrokenProcessPool as exc:
                    broken = True
                    lost += 1
                    first_loss = first_loss or f"a worker process died ({exc})"
                    continue
                except Exception as exc:  # the run did not come back: a lost worker
                    lost += 1
                    first_loss = first_loss or f"{type(exc).__name__}: {exc}"
                    continue
                store.write_row(row)
                ran += 1
                if row["status"] == "failed":
                    failed += 1
                bar.update(1)
                bar.set_postfix_str(
                    f"failed {failed}" + (f", lost {lost}" if lost else ""), refresh=False
                )
    finally:
        bar.close()
    opened.close()
    if lost:
        notes.append(
            f"{lost} runs did not come back from their workers (first: "
            f"{first_loss}); --resume runs them again"
        )
    if broken:
        notes.append(
            "the process pool broke (a worker died, e.g. out of memory); the sweep "
            "stopped early; --resume continues it"
        )

    def seed_of(point: int, replicate: int) -> int:
        return run_seed(spec.seed, point, replicate, spec.common_random_numbers)

    summary = store.consolidate(
        design.n_points, spec.replicates, seed_of, design.names, spec.metrics
    )
    session["finished"] = _now()
    session["ran"] = ran
    session["lost"] = lost
    wall = time.monotonic() - started
    session["wall_seconds"] = round(wall, 3)
    store.write_record(record)
    manifest = _manifest(spec, design, prepared, record, summary)
    atomic_write_json(store.root / MANIFEST_FILE, manifest)
    return SweepResult(
        out=store.root,
        runs=summary["runs"],
        ok=summary["ok"],
        failed=summary["failed"],
        missing=summary["missing"],
        ran=ran,
        lost=lost,
        already_done=already,
        wall_seconds=wall,
        manifest=manifest,
        notes=notes,
    )


def _manifest(
    spec: SweepSpec,
    design: Design,
    prepared: PreparedRunner,
    record: dict[str, Any],
    summary: dict[str, Any],
) -> dict[str, Any]:
    d = spec.design
    crn = spec.common_random_numbers
    return {
        "schema": RECORD_SCHEMA,
        "kind": "snowball-sweep",
        "name": spec.name,
        "description": spec.description,
        "complete": summary["missing"] == 0,
        "spec_file": spec.source,
        "spec": spec.raw,
        "fingerprint": record["fingerprint"],
        "scenario": {
            "name": spec.scenario,
            "path": spec.scenario_path,
            "overrides": spec.overrides(),
            "resolved": prepared.base_config,
        },
        "runner": prepared.name,
        "test_runner": prepared.is_test_runner,
        "seeds": {
            "root_seed": spec.seed,
            "common_random_numbers": crn,
            "run_seed": (
                "SeedSequence(root_seed, spawn_key=(1, replicate))"
                if crn
                else "SeedSequence(root_seed, spawn_key=(2, point, replicate))"
            )
            + ".generate_state(1, uint64)[0] >> 1",
            "design_seed": "SeedSequence(root_seed, spawn_key=(0,))",
        },
        "design": {
            "kind": d.kind,
            "samples": d.samples,
            "levels": d.levels,
            "optimal_trajectories": d.optimal_trajectories,
            "second_order": d.second_order,
            "points": design.n_points,
            "parameters": [{**p.identity(), "doc": p.doc} for p in spec.parameters],
        },
        "replicates": spec.replicates,
        "metrics": summary["metrics"],
        "counts": {k: summary[k] for k in ("runs", "ok", "failed", "missing")},
        "compute_seconds": round(summary["compute_seconds"], 3),
        "created": record.get("created"),
        "sessions": record["sessions"],
        "versions": versions(),
        "git": git_info(),
        "files": {"runs": RUNS_FILE, "design": DESIGN_FILE, "rows": "rows/"},
    }
