"""What a worker does for one run: call the runner, turn any exception into a failed row.

This module is imported by every worker process (local or on a Dask cluster), so it imports
nothing heavy; the runner brings its own imports.
"""

import math
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from simulation.errors import one_line

ROW_SCHEMA = 1
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Task:
    """One run: replicate ``replicate`` of design point ``point`` with its seed and values."""

    point: int
    replicate: int
    seed: int
    params: dict[str, Any]


def _plain(value: Any, name: str) -> float | int | bool:
    """A metric as a plain Python scalar (numpy scalars included)."""
    if isinstance(value, bool):
        return value
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, bool | int | float):
        return value
    raise TypeError(f"metric {name!r} is {type(value).__name__}, not a number or bool")


def describe_error(exc: BaseException) -> str:
    """``Type: message (at file:line)`` on one line."""
    where = ""
    tb = traceback.extract_tb(exc.__traceback__)
    if tb:
        last = tb[-1]
        where = f" (at {os.path.basename(last.filename)}:{last.lineno} in {last.name})"
    text = one_line(exc, typed=True) + where
    return text[:MAX_ERROR_CHARS]


def execute(
    runner: Callable[[dict[str, Any], int], Mapping[str, Any]], task: Task
) -> dict[str, Any]:
    """Run one task and return its row (never raises for an error inside the run).

    Returns
    -------
    dict
        ``point``, ``replicate``, ``seed``, ``status`` (``ok`` or ``failed``), ``error``
        (None or one line), ``params``, ``metrics`` (name -> scalar; empty when failed) and
        ``wall_seconds`` (the runner's own ``wall_seconds`` metric if it reports one, else
        the time measured here).
    """
    t0 = time.perf_counter()
    status, error, metrics = "ok", None, {}
    try:
        out = runner(dict(task.params), task.seed)
        if not isinstance(out, Mapping):
            raise TypeError(f"runner returned {type(out).__name__}, not a mapping of metrics")
        metrics = {str(k): _plain(v, str(k)) for k, v in out.items()}
    except Exception as exc:  # a failing run is a result, not a crash of the sweep
        status, error, metrics = "failed", describe_error(exc), {}
    wall = time.perf_counter() - t0
    reported = metrics.get("wall_seconds")
    if (
        isinstance(reported, int | float)
        and not isinstance(reported, bool)
        and math.isfinite(reported)
    ):
        wall = float(reported)
    return _row(task, status, error, metrics, wall)


def failed_row(task: Task, error: str) -> dict[str, Any]:
    """The row of a run that never came back from its worker (the process died)."""
    return _row(task, "failed", error[:MAX_ERROR_CHARS], {}, 0.0)


def _row(
    task: Task, status: str, error: str | None, metrics: dict[str, Any], wall: float
) -> dict[str, Any]:
    """One run's row, its keys in the stored order (see :func:`execute`)."""
    return {
        "schema": ROW_SCHEMA,
        "point": task.point,
        "replicate": task.replicate,
        "seed": task.seed,
        "status": status,
        "error": error,
        "params": dict(task.params),
        "metrics": metrics,
        "wall_seconds": wall,
    }


def init_worker(parent_pid: int) -> None:
    """Initializer of local worker processes (of a sweep, and of a study: experiments._execute).

    Workers ignore Ctrl-C (the driver handles it and stops them), and exit on their own
    within a second if the driver dies (e.g. ``kill -9``), so no orphan keeps computing.
    They use the command's allocator settings (:mod:`simulation.allocator`).
    """
    import signal

    from simulation import allocator

    allocator.tune()
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="snowball-parent-watch", daemon=True).start()
