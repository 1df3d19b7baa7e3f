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

import collections
import concurrent.futures as cf
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from simulation import results
from simulation.atomic import atomic_write_json
from simulation.paths import RESULTS
from simulation.results import code_digest, git_info
from simulation.results import now as _now
from simulation.sweep.design import Design, build_design, design_from_coordinates
from simulation.sweep.executors import ExecutorChoice, OpenExecutor, open_executor
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
    json_sha256,
)
from simulation.sweep.worker import Task, execute, failed_row

MAX_WORKER_DEATHS = 2
"""A run whose worker process dies (out of memory, a segfault) is run again alone in a new
worker; when its worker has died this many times while it ran alone it is recorded as failed
with the cause, and the sweep goes on."""
MAX_DEAD_IN_A_ROW = 5
"""So many runs recorded failed by worker deaths, with no run coming back in between, stop
the sweep: the workers probably cannot start at all."""
T = TypeVar("T")


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
    """``results/sweeps/<name>`` of the current folder (beside ``results/runs``)."""
    return RESULTS / "sweeps" / spec.name


def fingerprint(identity: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of what defines the runs."""
    return json_sha256(identity)


def differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two nested dicts (``(all)`` for two
    different non-dicts)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += differences(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if a == b else [prefix or "(all)"]


def differences_shown(a: Any, b: Any) -> str:
    """The first four of :func:`differences`, for a message (``...`` when there are more)."""
    diff = differences(a, b)
    return ", ".join(diff[:4]) + (", ..." if len(diff) > 4 else "")


def _check_folder(
    store: SweepStore, digest: str, identity: dict[str, Any], resume: bool
) -> dict[str, Any] | None:
    """Decide whether the folder may receive this sweep; return its record when resuming.

    Raises :class:`simulation.cli.UsageError` (nothing is written) when it holds something
    else, or this sweep without ``--resume``.
    """
    from simulation.errors import UsageError

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
    if record.get("damaged"):
        if not resume:
            raise UsageError(
                f"--out {root}: holds a sweep whose record is damaged ({record['damaged']}); "
                "pass --resume with the sweep's spec to rebuild it from the spec"
            )
        return record
    if record["fingerprint"] != digest:
        shown = differences_shown(record.get("identity", {}), identity)
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


def _resumed_design(
    store: SweepStore,
    spec: SweepSpec,
    design: Design,
    record: dict[str, Any],
    rebuild: list[str],
    notes: list[str],
) -> Design:
    """The design a resumed sweep continues: the stored coordinates of a sampled design when
    design.parquet is intact, else the spec's own. Damaged metadata (a sweep.json or
    design.parquet that does not parse or does not match its checksum) is listed in
    ``rebuild`` and written anew from the spec, after the rows on disk have been checked to
    belong to the spec's design (same seed and values for every run that has a row).
    """
    from simulation.errors import UsageError

    damaged = [record["damaged"]] if record.get("damaged") else []
    problem = store.design_problem(record) if not damaged else None
    if problem is not None:
        damaged.append(problem)
    if not damaged and design.kind != "grid":
        stored = store.read_coordinates(design.names)
        if stored is not None:
            if stored.shape != design.coordinates.shape or not (stored == design.coordinates).all():
                notes.append(
                    "the stored design differs from the one this software "
                    "generates; using the stored design"
                )
            design = design_from_coordinates(spec, stored)
    if not damaged:
        if design.kind == "grid" and "design_sha256" not in record:
            rebuild.append("design")  # a record from before checksums: write it anew, sure
        return design
    if record.get("damaged"):
        rebuild.append("record")
    rebuild.append("design")
    bad = _foreign_row(store, spec, design)
    if bad is not None:
        raise UsageError(
            f"--out {store.root}: {'; '.join(damaged)}, and the runs on disk do not belong to "
            f"{spec.source} ({bad}); resume with the spec the sweep was made with"
        )
    notes.append(
        f"{'; '.join(damaged)}: rebuilt from {spec.source} (the rows on disk match it)"
        + ("; the history of earlier sessions is lost" if "record" in rebuild else "")
    )
    return design


def _foreign_row(store: SweepStore, spec: SweepSpec, design: Design) -> str | None:
    """The first row file that is not a run of ``design`` (None if every one is)."""
    if not store.rows.is_dir():
        return None
    for entry in sorted(os.scandir(store.rows), key=lambda e: e.name):
        stem = entry.name.removesuffix(".json")
        point_text, _, rep_text = stem.partition("-")
        if not entry.name.endswith(".json") or not (point_text + rep_text).isdigit():
            continue
        point, rep = int(point_text), int(rep_text)
        try:
            row = json.loads(Path(entry.path).read_text())
        except (OSError, ValueError):
            continue  # a torn row is redone anyway
        if point >= design.n_points or not isinstance(row, dict):
            return f"{entry.name}: point {point} is outside the design"
        seed = run_seed(spec.seed, point, rep, spec.common_random_numbers)
        if row.get("seed") != seed or row.get("params") != design.point(point):
            return f"{entry.name} has another seed or other parameter values"
    return None


def _code_state(session: dict[str, Any]) -> str:
    """What the sweep's resume compares: the digest of the source (:func:`code_digest`), the
    same in a clone and an installed wheel (git's commit and diff exist only in a clone)."""
    return code_digest()


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
    prepared: PreparedRunner = prepare(spec, runner, design.point(0))
    identity = {
        **spec.identity(),
        "runner": prepared.name,
        "scenario_file": prepared.scenario_file,
    }
    digest = fingerprint(identity)
    record = _check_folder(store, digest, identity, resume)
    rebuild: list[str] = []  # damaged metadata to write anew from the spec
    existing = record is not None
    if record is not None:
        design = _resumed_design(store, spec, design, record, rebuild, notes)
        if record.get("damaged"):
            record = None
    opened = open_executor(executor or ExecutorChoice())
    if existing:  # only now: every refusal above leaves the folder exactly as it was
        try:
            store.lock()
        except BaseException:
            opened.stop()
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
            if not store.locked:
                store.lock()
            store.remove_temporaries()
            store.discard_outputs()
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
                "design_sha256": store.design_checksum(),
                "sessions": [],
            }
        else:
            store.remove_temporaries()
            store.discard_outputs()
            if "design" in rebuild:
                store.write_design(design)
            if "design" in rebuild or "design_sha256" not in record:
                record["design_sha256"] = store.design_checksum()
            if record.get("code_seen") and record["code_seen"] != _code_state(session):
                notes.append(
                    "the code changed since this sweep's last session (the source of the "
                    "simulation or experiments packages); the manifest records the code of "
                    "every session"
                )
            changed = differences(record.get("resolved") or {}, prepared.base_config or {})
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
    ran = 0
    report = DriveReport()

    def record_row(row: dict[str, Any]) -> None:
        nonlocal ran, failed
        store.write_row(row)
        ran += 1
        failed += row["status"] == "failed"
        bar.update(1)
        lost = report.lost
        bar.set_postfix_str(f"failed {failed}" + (f", lost {lost}" if lost else ""), refresh=False)

    try:
        drive(
            opened,
            _pending(store, design, spec, retry_failed),
            lambda ex, task: ex.submit(execute, prepared.runner, task),
            lambda task, row: record_row(row),
            lambda task, cause: record_row(failed_row(task, cause)),
            key=lambda task: (task.point, task.replicate),
            report=report,
        )
    finally:
        bar.close()
    opened.close()
    lost = report.lost
    if report.stopped:
        notes.append(
            f"the last {report.dead_in_a_row} runs all killed their worker process "
            f"and no run came back in between ({report.stopped}): the workers may not "
            "start at all; the sweep stopped (--resume continues, "
            "--retry-failed runs those again)"
        )
    if lost:
        notes.append(
            f"{lost} runs did not come back from their workers (first: "
            f"{report.first_loss}); --resume runs them again"
        )
    if report.breaks:
        notes.append(
            f"worker processes died {plural(report.breaks, 'time')}; the pool was rebuilt each "
            "time, and each run in flight was run again alone, up to "
            f"{MAX_WORKER_DEATHS} times, before being recorded as failed"
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
    atomic_write_json(store.root / MANIFEST_FILE, manifest, indent=1)
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


class Terminated(BaseException):
    """SIGTERM arrived: unwinds a sweep or a study like Ctrl-C, so that its worker processes
    are stopped and joined (no orphans, no leaked semaphores) and its folder is unlocked."""


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the duration of a sweep or a study (main
    thread only; the previous handler is put back)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class DriveReport:
    """What :func:`drive` saw besides the results it handed over."""

    lost: int = 0
    """Runs that did not come back from their workers (neither a result nor a worker death
    of their own): they have no record; a resumed session runs them again."""
    first_loss: str = ""
    breaks: int = 0
    """Times the local process pool broke (a worker process died) and was rebuilt."""
    dead_in_a_row: int = 0
    stopped: str = ""
    """Why the loop stopped before the tasks ran out (the cause of the last worker death),
    or empty: :data:`MAX_DEAD_IN_A_ROW` runs in a row killed their worker."""


def drive(
    opened: OpenExecutor,
    tasks: Iterable[T],
    submit: Callable[[cf.Executor, T], cf.Future],
    on_result: Callable[[T, Any], None],
    on_dead: Callable[[T, str], None],
    *,
    key: Callable[[T], Hashable],
    report: DriveReport | None = None,
) -> DriveReport:
    """Run ``tasks`` on an open executor and hand over each result as it completes.

    The one driving loop of sweeps and studies. At most ``opened.capacity()`` tasks are in
    flight (the driver's memory stays flat however many tasks there are). Each result that
    comes back goes to ``on_result(task, result)``, which persists it. A task whose worker
    process dies is never lost silently: a local pool that breaks (``BrokenProcessPool``) is
    rebuilt and every task that was in flight is run again alone, one at a time, so that a
    task that kills its worker is known by name; once its worker has died
    :data:`MAX_WORKER_DEATHS` times while it ran alone, ``on_dead(task, cause)`` records it
    failed and the loop goes on. Dask heals itself and gives up on a task with
    ``KilledWorker``: alone, that task goes to ``on_dead``; beside others, it is run again
    alone first. Any other exception from a future is a task that did not come back (a lost
    worker): it is counted in the report and left without a record.

    Parameters
    ----------
    opened : OpenExecutor
        Where tasks run (:func:`simulation.sweep.executors.open_executor`); not closed here.
    tasks : iterable
        The tasks, consumed lazily.
    submit : callable
        ``submit(executor, task) -> Future``; called with the executor in use at the time
        (a rebuilt pool is a new executor).
    on_result, on_dead : callable
        Record a task's result, or its failure by worker deaths (``cause`` is one line
        starting ``WorkerDied:``).
    key : callable
        A task's identity (hashable), to count the worker deaths of each task.
    report : DriveReport, optional
        Filled in as the loop goes (callbacks may read it); a new one if not given.

    Returns
    -------
    DriveReport
        Lost tasks, pool breaks, and whether the loop stopped early.

    Notes
    -----
    A ``KeyboardInterrupt`` (or SIGTERM turned into :class:`Terminated`) propagates at once:
    the caller stops the executor (``opened.stop()``), and every result handed over before
    is already persisted.
    """
    report = report if report is not None else DriveReport()
    in_flight: dict[cf.Future, T] = {}
    suspects: collections.deque[T] = collections.deque()  # run alone, one at a time
    deaths: dict[Hashable, int] = {}  # worker deaths of a task while it ran alone
    pending = iter(tasks)
    exhausted = False

    def come_back(task: T, result: Any) -> None:
        report.dead_in_a_row = 0
        on_result(task, result)

    while True:
        while len(in_flight) < (1 if suspects else opened.capacity()):
            if suspects:
                if in_flight:
                    break
                task = suspects.popleft()
            else:
                task = None if exhausted else next(pending, None)
                if task is None:
                    exhausted = True
                    break
            in_flight[submit(opened.executor, task)] = task
        if not in_flight:
            break
        done, _ = cf.wait(list(in_flight), timeout=5.0, return_when=cf.FIRST_COMPLETED)
        crashed: list[T] = []
        alone = len(in_flight) == 1
        for fut in done:
            task = in_flight.pop(fut)
            try:
                result = fut.result()
            except BrokenProcessPool:
                crashed.append(task)
            except Exception as exc:
                if type(exc).__name__ == "KilledWorker" and alone:  # Dask gave up on it
                    on_dead(task, _killed_worker(exc))
                elif type(exc).__name__ == "KilledWorker":  # or on a task beside it
                    suspects.append(task)
                else:  # the task did not come back: a lost worker
                    report.lost += 1
                    report.first_loss = report.first_loss or f"{type(exc).__name__}: {exc}"
            else:
                come_back(task, result)
        if not crashed:
            continue
        # A worker process died and took the pool with it: every task in flight is lost.
        # Settle them, start a new pool, and run each of them again alone, so that a task
        # that kills its worker is known by name.
        for fut in cf.wait(list(in_flight)).done:
            task = in_flight.pop(fut)
            try:
                result = fut.result()
            except Exception:
                crashed.append(task)
            else:
                come_back(task, result)
        report.breaks += 1
        if opened.rebuild is None:  # pragma: no cover - only local pools break
            raise RuntimeError("the executor broke and cannot be rebuilt")
        cause = opened.rebuild()
        if len(crashed) == 1:  # it ran alone: its death is its own
            task = crashed[0]
            k = key(task)
            deaths[k] = deaths.get(k, 0) + 1
            if deaths[k] >= MAX_WORKER_DEATHS:
                times = plural(deaths[k], "time")
                on_dead(task, f"WorkerDied: {cause}; {times} running it alone")
                report.dead_in_a_row += 1
                if report.dead_in_a_row >= MAX_DEAD_IN_A_ROW:
                    report.stopped = cause
                    break
                continue
        suspects.extend(crashed)
    return report


def _killed_worker(exc: BaseException) -> str:
    """The failure of a run that Dask's scheduler gave up on while it ran alone (its
    workers died ``distributed.scheduler.allowed-failures`` + 1 times)."""
    return (
        "WorkerDied: the Dask workers running it alone died (KilledWorker: "
        f"{' '.join(str(exc).split())[:300]})"
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
    wall = sum(float(s.get("wall_seconds") or 0.0) for s in record["sessions"])
    return results.manifest(
        "snowball-sweep",
        wall_seconds=round(wall, 3),
        created=record.get("created"),
        record_schema=RECORD_SCHEMA,
        name=spec.name,
        description=spec.description,
        complete=summary["missing"] == 0,
        spec_file=spec.source,
        spec=spec.raw,
        fingerprint=record["fingerprint"],
        scenario=spec.scenario,
        scenario_file=spec.scenario_path,
        overrides=spec.overrides(),
        config=prepared.base_config,
        runner=prepared.name,
        test_runner=prepared.is_test_runner,
        root_seed=spec.seed,
        seeding={
            "common_random_numbers": crn,
            "run_seed": (
                "SeedSequence(root_seed, spawn_key=(1, replicate))"
                if crn
                else "SeedSequence(root_seed, spawn_key=(2, point, replicate))"
            )
            + ".generate_state(1, uint64)[0] >> 1",
            "design_seed": "SeedSequence(root_seed, spawn_key=(0,))",
        },
        design={
            "kind": d.kind,
            "samples": d.samples,
            "levels": d.levels,
            "optimal_trajectories": d.optimal_trajectories,
            "second_order": d.second_order,
            "points": design.n_points,
            "parameters": [{**p.identity(), "doc": p.doc} for p in spec.parameters],
        },
        replicates=spec.replicates,
        metrics=summary["metrics"],
        counts={k: summary[k] for k in ("runs", "ok", "failed", "missing")},
        compute_seconds=round(summary["compute_seconds"], 3),
        sessions=record["sessions"],
        files={"runs": RUNS_FILE, "design": DESIGN_FILE, "rows": "rows/"},
    )
