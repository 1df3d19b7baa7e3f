"""Where runs execute, all behind ``concurrent.futures.Executor``.

============================  ==============================================================
choice                        executor
============================  ==============================================================
``--jobs 1``                  in the driver process, one run after another
``--jobs J`` (default: cores)  ``ProcessPoolExecutor`` with J spawned worker processes
``--dask local:N``            a ``dask.distributed.LocalCluster`` of N single-threaded
                              worker processes
``--dask tcp://host:port``    any running dask.distributed scheduler (dask-jobqueue on
                              SLURM/PBS, Kubernetes, ``dask scheduler``); a path to a
                              scheduler file works too
============================  ==============================================================

Worker processes are started with the ``spawn`` method (``import mesa`` selects it anyway),
so everything they run must be importable: the runner is a top-level callable.
"""

import concurrent.futures as cf
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulation.errors import one_line
from simulation.sweep.worker import init_worker

DEFAULT_DASK_TIMEOUT = 5.0


def default_jobs() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ExecutorChoice:
    """What the command line asked for: ``jobs`` local processes or a Dask ``dask`` address
    (``local:N``, ``tcp://host:port`` or a scheduler file)."""

    jobs: int | None = None
    dask: str | None = None
    dask_timeout: float = DEFAULT_DASK_TIMEOUT


class InlineExecutor(cf.Executor):
    """Runs each submitted call at once, in this process (``--jobs 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        """Run ``fn(*args, **kwargs)`` now; return its finished future."""
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


@dataclass
class OpenExecutor:
    """An executor in use: how many runs to keep in flight, how to close or stop it."""

    executor: cf.Executor
    description: str
    capacity: Callable[[], int]
    close: Callable[[], None]
    stop: Callable[[], None]
    details: dict[str, Any] = field(default_factory=dict)
    rebuild: Callable[[], str] | None = None
    """Replace a broken local process pool and say how its worker died (None: the
    executor cannot break that way, or heals itself, as Dask does)."""


def open_executor(choice: ExecutorChoice) -> OpenExecutor:
    """Start (or connect to) the executor ``choice`` names.

    Nothing is written anywhere; a Dask address that does not answer within
    ``choice.dask_timeout`` seconds raises :class:`simulation.cli.UsageError`.
    """
    if choice.dask is not None:
        return _open_dask(choice.dask, choice.dask_timeout)
    jobs = choice.jobs or default_jobs()
    if jobs == 1:
        ex = InlineExecutor()
        return OpenExecutor(
            ex,
            "1 process (in the driver)",
            lambda: 1,
            lambda: ex.shutdown(wait=True),
            lambda: None,
            {"kind": "inline", "workers": 1},
        )

    def new_pool() -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(os.getpid(),),
        )

    def stop() -> None:
        # Running tasks would otherwise finish before the interpreter may exit.
        pool = opened.executor
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)

    def rebuild() -> str:
        """Replace a broken pool (a worker process died) by a new one; say how it died."""
        broken = opened.executor
        workers = list((getattr(broken, "_processes", None) or {}).values())
        broken.shutdown(wait=True, cancel_futures=True)  # joins the workers
        opened.executor = new_pool()
        return death_cause([p.exitcode for p in workers])

    opened = OpenExecutor(
        new_pool(),
        f"{jobs} local processes",
        lambda: 2 * jobs,
        lambda: opened.executor.shutdown(wait=True),
        stop,
        {"kind": "processes", "workers": jobs},
        rebuild=rebuild,
    )
    return opened


def death_cause(exit_codes: list[int | None]) -> str:
    """How the worker processes of a broken pool ended, in words (exit status or signal).

    The pool terminates its other workers (SIGTERM) once one has died, so those exits are
    left out unless nothing else is known.
    """
    codes = [c for c in exit_codes if c not in (None, 0)]
    telling = [c for c in codes if c != -signal.SIGTERM] or codes
    if not telling:
        return "a worker process died (exit status unknown)"
    words = []
    for code in sorted(set(telling)):
        if code < 0 and -code in signal.valid_signals():
            name = signal.Signals(-code).name
            hint = " (the out-of-memory killer, or another process)" if name == "SIGKILL" else ""
            words.append(f"killed by signal {name}{hint}")
        else:
            words.append(f"exited with status {code}")
    return (
        "the worker process was " + " or ".join(words)
        if telling[0] < 0
        else ("the worker process " + " or ".join(words))
    )


def check_address(address: str) -> None:
    """Refuse a ``--dask`` address that cannot be right whatever the network (empty, or
    ``local:N`` without a number of workers N >= 1), before anything else is done.

    Raises
    ------
    simulation.cli.UsageError
        With one line naming the address and what is allowed.
    """
    from simulation.errors import UsageError

    if not address.strip():
        raise UsageError("--dask: needs an address (tcp://host:port, a scheduler file or local:N)")
    if address.startswith("local:"):
        n = address.partition(":")[2]
        if not n.isdigit() or int(n) < 1:
            raise UsageError(f"--dask {address}: local:N needs a number of workers N >= 1")


def _open_dask(address: str, timeout: float) -> OpenExecutor:
    from simulation.errors import UsageError

    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            "--dask needs dask.distributed: pip install 'snowball-sim[sweep]'"
        ) from None
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    check_address(address)
    if address.startswith("local:"):
        n = address.partition(":")[2]
        from distributed import LocalCluster

        try:
            cluster = LocalCluster(
                n_workers=int(n),
                threads_per_worker=1,
                processes=True,
                # No dashboard, and the scheduler's HTTP endpoints (which it starts even
                # without one, on port 8787 by default) on a free local port: no warning
                # when another cluster holds 8787.
                dashboard_address=None,
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                scheduler_port=0,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster, timeout=f"{max(timeout, 30.0)}s")
        except Exception as exc:
            if cluster is not None:
                cluster.close()
            raise UsageError(
                f"--dask {address}: could not start a local Dask cluster ({one_line(exc)})"
            ) from None
        description = f"Dask LocalCluster of {n} processes"
    else:
        kwargs: dict[str, Any] = {"timeout": f"{timeout}s"}
        if os.path.isfile(address):
            kwargs["scheduler_file"] = address
            target = None
        else:
            target = address
        t0 = time.monotonic()
        try:
            client = Client(target, **kwargs)
        except Exception as exc:
            waited = time.monotonic() - t0
            raise UsageError(
                f"--dask {address}: no Dask scheduler answered "
                f"({one_line(exc)}; gave up after {waited:.0f} s); start one "
                "(dask scheduler, dask-jobqueue) or check the address"
            ) from None
        description = f"Dask scheduler {client.scheduler.address}"

    executor = client.get_executor(pure=False)
    state = {"capacity": 2, "checked": 0.0}

    def capacity() -> int:
        now = time.monotonic()
        if now - state["checked"] > 5.0:
            state["checked"] = now
            try:
                threads = sum(client.nthreads().values())
            except Exception:  # keep the last known value if the scheduler is busy
                threads = state["capacity"] // 2
            state["capacity"] = max(2, 2 * threads)
        return state["capacity"]

    def close() -> None:
        try:
            executor.shutdown(wait=False)
            client.close()
        finally:
            if cluster is not None:
                cluster.close()

    def stop() -> None:
        close()

    threads = sum(client.nthreads().values())
    if threads == 0 and cluster is None:
        print(
            f"snowball: note: the Dask scheduler at {address} has no workers yet; runs "
            "start when workers join",
            file=sys.stderr,
        )
    return OpenExecutor(
        executor,
        description,
        capacity,
        close,
        stop,
        {
            "kind": "dask",
            "address": client.scheduler.address,
            "workers": len(client.nthreads()),
            "threads": threads,
        },
    )
