"""The sweep engine with small deterministic runners: identical rows on every executor
(in-process, local processes, a real Dask LocalCluster), failures recorded, resume, folder
checks, bounded in-flight work, and one-line errors with nothing written."""

import concurrent.futures as cf
import json
import threading
import time

import pandas as pd
import pytest

from simulation import cli
from simulation.results import MANIFEST_COMMON
from simulation.sweep import engine
from simulation.sweep.engine import run_sweep
from simulation.sweep.executors import ExecutorChoice, OpenExecutor
from simulation.sweep.fakes import (
    KILL_ENV,
    KillingRunner,
    failing_runner,
    killing_runner,
    toy_runner,
)
from simulation.sweep.seeds import run_seed
from simulation.sweep.store import SweepStore

PERSUASION = "streams.focal.persuasion"
BUDGET = "streams.focal.campaign.daily_budget"

GRID = f"""
name = "grid"
scenario = "default"
seed = 42
replicates = 3
days = 2
metrics = ["took_off", "focal_gmv", "roi", "free_impressions"]
[parameters]
"{PERSUASION}" = {{ low = 0.02, high = 0.10, num = 3 }}
"{BUDGET}" = [0, 1000, 4000]
"""

LHS = f"""
name = "lhs"
scenario = "default"
seed = 9
replicates = 3
[design]
kind = "lhs"
samples = 6
[parameters]
"{PERSUASION}" = {{ low = 0.02, high = 0.10 }}
"{BUDGET}" = {{ low = 10, high = 5000, log = true }}
"""


def write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def table(out) -> pd.DataFrame:
    """runs.parquet without the wall time (the only column that may differ)."""
    return pd.read_parquet(out / "runs.parquet").drop(columns=["wall_seconds"])


def inline(**kw):
    return {"executor": ExecutorChoice(jobs=1), "progress": False, **kw}


@pytest.fixture(scope="module")
def dask_cluster():
    import dask
    from distributed import LocalCluster

    # a run that kills its worker is given up after 2 deaths, not 4 (the scheduler runs here)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
    ):
        yield cluster


# ------------------------------------------------------------------------ same rows anywhere


def test_same_rows_in_process_two_processes_and_dask(tmp_path, dask_cluster):
    spec = write(tmp_path, LHS)
    one = run_sweep(spec, tmp_path / "one", runner=toy_runner, **inline())
    two = run_sweep(
        spec, tmp_path / "two", runner=toy_runner, executor=ExecutorChoice(jobs=2), progress=False
    )
    dask = run_sweep(
        spec,
        tmp_path / "dask",
        runner=toy_runner,
        progress=False,
        executor=ExecutorChoice(dask=dask_cluster.scheduler_address),
    )
    assert one.ok == two.ok == dask.ok == 18
    a, b, c = table(tmp_path / "one"), table(tmp_path / "two"), table(tmp_path / "dask")
    assert list(zip(a.point, a.replicate, strict=True)) == [
        (p, k) for p in range(6) for k in range(3)
    ]
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    assert a["seed"].nunique() == 3  # common random numbers: replicate k shares its seed
    assert dask.manifest["sessions"][-1]["executor"]["kind"] == "dask"


def test_rows_do_not_depend_on_completion_order(tmp_path):
    """A pool that completes runs in reverse order gives the same table."""
    spec = write(tmp_path, GRID)
    run_sweep(spec, tmp_path / "a", runner=toy_runner, **inline())

    class Reversing(cf.Executor):
        def __init__(self):
            self.calls = []

        def submit(self, fn, /, *args, **kwargs):
            fut = cf.Future()
            self.calls.append((fut, fn, args))
            if len(self.calls) == 5:
                self.flush()
            return fut

        def flush(self):
            for fut, fn, args in reversed(self.calls):
                fut.set_result(fn(*args))
            self.calls.clear()

    ex = Reversing()

    def opener(choice):
        def cap():
            if ex.calls and len(ex.calls) < 5:
                ex.flush()
            return 5

        return OpenExecutor(ex, "reversing", cap, lambda: None, lambda: None, {"kind": "t"})

    orig = engine.open_executor
    engine.open_executor = opener
    try:
        run_sweep(spec, tmp_path / "b", runner=toy_runner, progress=False)
    finally:
        engine.open_executor = orig
    pd.testing.assert_frame_equal(table(tmp_path / "a"), table(tmp_path / "b"))


# --------------------------------------------------------------- failures, resume, folders


def test_failed_runs_are_recorded_and_do_not_stop_the_sweep(tmp_path):
    res = run_sweep(write(tmp_path, GRID), tmp_path / "o", runner=failing_runner, **inline())
    assert (res.ok, res.failed, res.missing) == (18, 9, 0)
    df = table(tmp_path / "o")
    failed = df[df.status == "failed"]
    assert set(failed[BUDGET]) == {4000.0}
    assert failed["error"].str.startswith("ValueError: the toy model refuses").all()
    assert failed["focal_gmv"].isna().all()
    assert df[df.status == "ok"]["error"].isna().all()
    assert list(df.columns[:5]) == ["point", "replicate", "seed", "status", "error"]
    assert list(df.columns[7:]) == ["took_off", "focal_gmv", "roi", "free_impressions"]
    assert df["took_off"].dropna().map(type).eq(bool).all()
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["counts"] == {"runs": 27, "ok": 18, "failed": 9, "missing": 0}
    assert m["root_seed"] == 42 and m["design"]["points"] == 9
    assert m["git"]["commit"] and m["versions"]["numpy"]
    assert set(MANIFEST_COMMON) <= set(m) and m["kind"] == "snowball-sweep"
    record = json.loads((tmp_path / "o" / "sweep.json").read_text())
    assert m["created"] == record["created"] and m["wall_seconds"] > 0


def test_resume_skips_done_runs_and_repairs_damage(tmp_path):
    spec = write(tmp_path, GRID)
    out = tmp_path / "o"
    run_sweep(spec, out, runner=toy_runner, **inline())
    reference = table(out)
    store = SweepStore(out)
    # as if killed: some rows never written, one torn (impossible with rename, but a
    # crash of the machine could do it), temporaries left behind, outputs of a past session
    for p, k in [(0, 0), (4, 2), (8, 1)]:
        store.row_path(p, k).unlink()
    store.row_path(5, 1).write_text('{"point": 5, "replicate"')
    (store.rows / ".000006-000.json.123.tmp").write_text("{")
    calls = []

    def counting(params, seed):
        calls.append(seed)
        return toy_runner(params, seed)

    counting.name = "simulation.sweep.fakes:toy_runner"  # same runner, counted
    res = run_sweep(spec, out, resume=True, runner=counting, **inline())
    assert len(calls) == 4 and res.ran == 4 and res.already_done == 23
    assert not list(store.rows.glob("*.tmp"))
    pd.testing.assert_frame_equal(table(out), reference)
    assert any("unreadable" in n for n in res.notes)
    # nothing left to do
    res = run_sweep(spec, out, resume=True, runner=counting, **inline())
    assert res.ran == 0 and len(calls) == 4 and res.complete


def test_resume_with_more_replicates_and_retry_failed(tmp_path):
    out = tmp_path / "o"
    run_sweep(write(tmp_path, GRID), out, runner=failing_runner, **inline())
    more = write(tmp_path, GRID.replace("replicates = 3", "replicates = 5"), "more.toml")
    res = run_sweep(more, out, resume=True, runner=failing_runner, **inline())
    assert res.ran == 18 and res.runs == 45 and res.failed == 15
    res = run_sweep(more, out, resume=True, retry_failed=True, runner=failing_runner, **inline())
    assert res.ran == 15 and res.failed == 15
    df = table(out)
    assert len(df) == 45 and not df.duplicated(["point", "replicate"]).any()


def test_folder_rules(tmp_path):
    spec = write(tmp_path, GRID)
    out = tmp_path / "o"
    run_sweep(spec, out, runner=toy_runner, **inline())
    with pytest.raises(cli.UsageError, match="already holds this sweep; pass --resume"):
        run_sweep(spec, out, runner=toy_runner, **inline())
    other = write(tmp_path, GRID.replace("seed = 42", "seed = 43"), "other.toml")
    for resume in (False, True):
        with pytest.raises(cli.UsageError, match=r"holds a different sweep .* differs in seed"):
            run_sweep(other, out, resume=resume, runner=toy_runner, **inline())
    with pytest.raises(cli.UsageError, match=r"holds a different sweep .* runner"):
        run_sweep(spec, out, resume=True, runner=failing_runner, **inline())
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    with pytest.raises(cli.UsageError, match="not empty and holds no sweep"):
        run_sweep(spec, junk, runner=toy_runner, **inline())
    assert sorted(p.name for p in junk.iterdir()) == ["notes.txt"]


def test_in_flight_work_is_bounded(tmp_path):
    """The driver keeps at most capacity() runs in flight, however many there are."""
    spec = write(tmp_path, GRID.replace("replicates = 3", "replicates = 8"))
    pool = cf.ThreadPoolExecutor(4)
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def runner(params, seed):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.002)
        with lock:
            state["now"] -= 1
        return toy_runner(params, seed)

    submitted = {"pending": 0, "max": 0}

    class Counting(cf.Executor):
        def submit(self, fn, /, *args, **kwargs):
            fut = pool.submit(fn, *args, **kwargs)
            submitted["pending"] += 1
            submitted["max"] = max(submitted["max"], submitted["pending"])
            fut.add_done_callback(
                lambda f: submitted.__setitem__("pending", submitted["pending"] - 1)
            )
            return fut

    def opener(choice):
        return OpenExecutor(
            Counting(), "counting", lambda: 6, pool.shutdown, lambda: None, {"kind": "t"}
        )

    orig = engine.open_executor
    engine.open_executor = opener
    try:
        res = run_sweep(spec, tmp_path / "o", runner=runner, progress=False)
    finally:
        engine.open_executor = orig
    assert res.ok + res.failed == 72
    assert submitted["max"] <= 6 and state["max"] <= 4


KILLED = """
name = "killed"
scenario = "default"
seed = 5
replicates = 3
common_random_numbers = false
[parameters]
"streams.focal.persuasion" = [0.02, 0.05, 0.08, 0.1]
"""


def test_a_run_that_kills_its_worker_is_retried_then_recorded_failed(tmp_path, monkeypatch):
    """Issue 19: a run that SIGKILLs its worker (the OOM killer, a segfault) broke the pool
    for good: rows 4 -> 4 -> 4 over resumes, never recorded. Now the pool is rebuilt, the run
    is retried alone MAX_WORKER_DEATHS times, recorded failed with its cause, and the other
    runs finish; a resume then has nothing to do."""
    killer = (1, 2)
    monkeypatch.setenv(KILL_ENV, str(run_seed(5, *killer, False)))
    spec = write(tmp_path, KILLED)
    out = tmp_path / "o"
    res = run_sweep(
        spec, out, runner=killing_runner, executor=ExecutorChoice(jobs=2), progress=False
    )
    assert (res.ok, res.failed, res.missing, res.ran) == (11, 1, 0, 12) and res.complete
    df = table(out)
    assert len(df) == 12 and not df.duplicated(["point", "replicate"]).any()
    dead = df[df.status == "failed"]
    assert [tuple(x) for x in dead[["point", "replicate"]].to_numpy()] == [killer]
    error = dead["error"].iloc[0]
    assert error.startswith("WorkerDied:") and "SIGKILL" in error, error
    assert f"{engine.MAX_WORKER_DEATHS} times running it alone" in error
    assert any("pool was rebuilt" in n for n in res.notes)
    t0 = time.monotonic()
    again = run_sweep(
        spec, out, resume=True, runner=killing_runner, executor=ExecutorChoice(jobs=2),
        progress=False,
    )  # fmt: skip
    assert again.ran == 0 and again.complete and not again.notes
    assert time.monotonic() - t0 < 30


def test_a_run_that_kills_its_dask_worker_is_recorded_failed(tmp_path, dask_cluster):
    """Dask heals itself (the nanny restarts the worker, the scheduler reschedules the run)
    and gives up after distributed.scheduler.allowed-failures deaths (KilledWorker): that run
    is recorded failed and the rest finish."""
    killer = (2, 0)
    runner = KillingRunner((run_seed(5, *killer, False),))
    res = run_sweep(
        write(tmp_path, KILLED), tmp_path / "o", runner=runner, progress=False,
        executor=ExecutorChoice(dask=dask_cluster.scheduler_address),
    )  # fmt: skip
    assert (res.ok, res.failed, res.missing, res.lost) == (11, 1, 0, 0)
    dead = table(tmp_path / "o").query("status == 'failed'")
    assert [tuple(x) for x in dead[["point", "replicate"]].to_numpy()] == [killer]
    assert "KilledWorker" in dead["error"].iloc[0]


def test_workers_that_cannot_start_stop_the_sweep(tmp_path, monkeypatch):
    """Every run kills its worker: a bounded number of runs is recorded, then the sweep stops
    instead of spending three pool starts on every run."""
    seeds = [run_seed(5, p, r, False) for p in range(4) for r in range(3)]
    monkeypatch.setenv(KILL_ENV, ",".join(map(str, seeds)))
    monkeypatch.setattr(engine, "MAX_WORKER_DEATHS", 1)
    monkeypatch.setattr(engine, "MAX_DEAD_IN_A_ROW", 2)
    res = run_sweep(
        write(tmp_path, KILLED), tmp_path / "o", runner=killing_runner,
        executor=ExecutorChoice(jobs=2), progress=False,
    )  # fmt: skip
    assert res.failed == 2 and res.missing == 10 and res.ok == 0
    assert any("the sweep stopped" in n for n in res.notes)


def test_unknown_metric_for_the_runner(tmp_path):
    from simulation.config import ConfigError

    spec = write(tmp_path, GRID.replace('"free_impressions"]', '"free_impresions"]'))
    with pytest.raises(ConfigError, match="did you mean 'free_impressions'"):
        run_sweep(spec, tmp_path / "o", runner=toy_runner, **inline())
    assert not (tmp_path / "o").exists()


# -------------------------------------------------------------- the command line, bad input


def one_line_error(capsys, argv) -> str:
    rc = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("snowball: error: "), err
    assert "Traceback" not in err
    return err


def test_cli_bad_inputs_are_one_line_and_write_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SNOWBALL_SWEEP_RUNNER", "simulation.sweep.fakes:toy_runner")
    out = tmp_path / "o"
    bad = write(tmp_path, GRID.replace(PERSUASION, "streams.focal.persuation", 1), "bad.toml")
    err = one_line_error(capsys, ["sweep", str(bad), "--out", str(out)])
    assert "bad.toml" in err and "did you mean 'streams.focal.persuasion'" in err
    spec = write(tmp_path, GRID)
    err = one_line_error(capsys, ["sweep", str(spec), "--out", str(out), "--jobs", "0"])
    assert "--jobs 0" in err
    err = one_line_error(capsys, ["sweep", str(spec), "--out", str(out), "--retry-failed"])
    t0 = time.monotonic()
    err = one_line_error(
        capsys,
        [
            "sweep",
            str(spec),
            "--out",
            str(out),
            "--dask",
            "tcp://127.0.0.1:9",
            "--dask-timeout",
            "1",
        ],
    )
    assert time.monotonic() - t0 < 10
    assert "no Dask scheduler answered" in err
    err = one_line_error(capsys, ["sweep", str(spec), "--out", str(out), "--dask", "local:x"])
    assert not out.exists()
    err = one_line_error(capsys, ["analyze", str(tmp_path)])
    assert "not a sweep folder" in err


def test_cli_runs_and_refuses_a_different_spec(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SNOWBALL_SWEEP_RUNNER", "simulation.sweep.fakes:failing_runner")
    spec = write(tmp_path, GRID)
    out = tmp_path / "o"
    rc = cli.main(["sweep", str(spec), "--out", str(out), "--jobs", "1", "-q"])
    captured = capsys.readouterr()
    assert rc == 1  # some runs failed
    assert "ok 18, failed 9, missing 0" in captured.out
    assert "test runner" in captured.err
    before = sorted(p.name for p in (out / "rows").iterdir())
    other = write(tmp_path, GRID.replace("num = 3", "num = 4"), "other.toml")
    err = one_line_error(capsys, ["sweep", str(other), "--out", str(out), "--resume"])
    assert "holds a different sweep" in err and "parameters" in err
    assert sorted(p.name for p in (out / "rows").iterdir()) == before


def test_resume_that_adds_runs_says_the_analysis_is_stale(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SNOWBALL_SWEEP_RUNNER", "simulation.sweep.fakes:failing_runner")
    spec = write(tmp_path, GRID)
    out = tmp_path / "o"
    cli.main(["sweep", str(spec), "--out", str(out), "--jobs", "1", "-q"])
    assert cli.main(["analyze", str(out)]) == 0
    capsys.readouterr()
    cli.main(["sweep", str(spec), "--out", str(out), "--jobs", "1", "-q", "--resume"])
    assert "analyze" not in capsys.readouterr().err  # nothing ran: nothing is stale
    more = write(tmp_path, GRID.replace("replicates = 3", "replicates = 4"))
    cli.main(["sweep", str(more), "--out", str(out), "--jobs", "1", "-q", "--resume"])
    err = capsys.readouterr().err
    assert "was made before this session's runs" in err and f"analyze {out}" in err


def test_a_local_dask_cluster_starts_no_dashboard_and_leaves_port_8787_alone(capfd):
    """Issue 19: --dask local:N printed a port-8787 warning when another cluster held it."""
    import socket
    import warnings

    from simulation.sweep.executors import open_executor

    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("0.0.0.0", 8787))
        holder.listen()
    except OSError:  # someone else holds it already: just as good for this test
        holder.close()
        holder = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            opened = open_executor(ExecutorChoice(dask="local:1"))
            try:
                scheduler = opened.executor._client.cluster.scheduler
                assert "dashboard" not in scheduler.services or not any(
                    "bokeh" in str(type(h)) for h in scheduler.services.values()
                )
                assert scheduler.http_server.port != 8787
            finally:
                opened.close()
    finally:
        if holder is not None:
            holder.close()
    out = capfd.readouterr()
    text = out.out + out.err + " ".join(str(w.message) for w in caught)
    assert "8787" not in text and "already in use" not in text, text
