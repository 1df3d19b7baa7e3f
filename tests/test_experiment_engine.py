"""Studies on the sweep engine (issue 20): ``snowball experiment`` runs its runs through the
sweep's executors and driving loop, keeping each completed run in a work folder.

The tables are byte-identical in this process, in two local processes and on a local Dask
cluster; a driver killed with SIGKILL resumes with ``--resume`` to identical tables without
running any run twice; a run that kills its worker process makes the study fail in one line
and keeps the work folder for ``--resume --retry-failed``; SIGTERM exits cleanly."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulation.commands.experiment import ensure_importable

ensure_importable()

from experiments import STUDIES, _execute, _study, _work  # noqa: E402
from experiments.fan_accumulation import measure as smallest_measure  # noqa: E402
from simulation.cli import main  # noqa: E402
from simulation.sweep.engine import MAX_WORKER_DEATHS  # noqa: E402
from simulation.sweep.executors import ExecutorChoice  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SMALLEST = "fan_accumulation"  # 1 arm x 2 seeds at --quick
SEVERAL = "inequality"  # 2 arms x 4 seeds at --quick (room to be killed mid-way), streams too
KILL_ENV = "SNOWBALL_TEST_KILL_SEED"
TABLES = ("runs.csv", "summary.csv", "daily.csv.gz", "streams.csv.gz")


def tables(folder: Path) -> dict[str, bytes]:
    """The study's tables as bytes, runs.csv without its wall_seconds column."""
    out = {}
    for name in TABLES:
        path = folder / name
        if not path.exists():
            continue
        data = path.read_bytes()
        if name == "runs.csv":
            lines = [line.split(",") for line in data.decode().splitlines()]
            i = lines[0].index("wall_seconds")
            data = "\n".join(",".join(r[:i] + r[i + 1 :]) for r in lines).encode()
        out[name] = data
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Each study's --quick tables run in this process, once per module."""
    cache: dict[str, dict[str, bytes]] = {}

    def get(name: str) -> dict[str, bytes]:
        if name not in cache:
            out = tmp_path_factory.mktemp("ref") / name
            _study.run_study(name, quick=True, out_dir=out)
            cache[name] = tables(out)
        return cache[name]

    return get


def experiment(name: str, out: Path, *extra: str) -> subprocess.Popen:
    """A ``snowball experiment NAME --quick`` subprocess in its own process group."""
    command = [sys.executable, "-m", "simulation", "experiment", name, "--quick"]
    return subprocess.Popen(
        [*command, "--out", str(out), "-q", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def runs_kept(out: Path) -> int:
    runs = _work.work_dir(out) / _work.RUNS_DIR
    return len(list(runs.glob("*.pkl"))) if runs.is_dir() else 0


def wait_for_runs(proc: subprocess.Popen, out: Path, at_least: int) -> None:
    deadline = time.monotonic() + 120
    while runs_kept(out) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the study made no progress"
        time.sleep(0.01)


def reap(proc: subprocess.Popen) -> None:
    """Whatever of the process group is left (its workers exit on their own within a
    second of the driver's death; this is belt and braces)."""
    time.sleep(0.3)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ------------------------------------------------------------------ same tables anywhere


def test_tables_are_identical_in_process_two_processes_and_dask(tmp_path, reference, capsys):
    expected = reference(SMALLEST)
    assert set(expected) == {"runs.csv", "summary.csv", "daily.csv.gz"}
    for extra in (["--jobs", "1"], ["--jobs", "2"], ["--dask", "local:2"]):
        out = tmp_path / extra[1].replace(":", "")
        assert main(["experiment", SMALLEST, "--quick", "--out", str(out), "-q", *extra]) == 0
        assert tables(out) == expected, extra
        assert not _work.work_dir(out).exists()  # removed once the outputs are written
        man = json.loads((out / "manifest.json").read_text())
        kind = {"1": "inline", "2": "processes", "local:2": "dask"}[extra[1]]
        assert man["executor"]["kind"] == kind and man["jobs"] == (1 if kind == "inline" else 2)
        assert [s["ran"] for s in man["sessions"]] == [2]
    capsys.readouterr()


def test_execute_plan_gives_the_same_tables_whatever_the_completion_order():
    """In memory (no work folder): two processes complete runs in any order; the tables
    are put back in plan order, so they equal the serial ones (the streams table too)."""
    study = STUDIES[SEVERAL]
    plan = study.plan("quick", 2)
    one = _execute.execute_plan(plan, study.measure, jobs=1)
    two = _execute.execute_plan(plan, study.measure, executor=ExecutorChoice(jobs=2))
    cols = [c for c in one[0].columns if c != "wall_seconds"]
    assert one[0][cols].equals(two[0][cols])
    assert one[1].equals(two[1]) and one[2] is not None and one[2].equals(two[2])


# ----------------------------------------------------------------------- kill and resume


def test_a_killed_study_resumes_to_identical_tables_running_no_run_twice(
    tmp_path, reference, capsys
):
    out = tmp_path / "out"
    n = STUDIES[SEVERAL].plan("quick").n_runs
    proc = experiment(SEVERAL, out, "--jobs", "2")
    wait_for_runs(proc, out, 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    reap(proc)
    kept = runs_kept(out)
    assert 2 <= kept < n
    assert not out.exists()  # nothing is written to the output folder before the end

    # Without --resume the work folder is refused in one line, and nothing is touched.
    assert main(["experiment", SEVERAL, "--quick", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --resume" in err and f"left {kept} completed" in err
    # Another plan (more replicates) is refused even with --resume.
    args = ["experiment", SEVERAL, "--quick", "--out", str(out), "-q", "--resume"]
    assert main([*args, "--replicates", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another plan" in err and "replicates" in err, err
    assert runs_kept(out) == kept

    done = experiment(SEVERAL, out, "--jobs", "2", "--resume")
    _, stderr = done.communicate(timeout=300)
    assert done.returncode == 0, stderr
    assert f"resuming, {kept} runs already done" in stderr
    assert tables(out) == reference(SEVERAL)
    man = json.loads((out / "manifest.json").read_text())
    sessions = man["sessions"]
    assert len(sessions) == 2 and sessions[0]["finished"] is None  # the first was killed
    assert sessions[1]["ran"] == n - kept  # the resumed session ran exactly what was missing
    assert not _work.work_dir(out).exists()


def test_sigterm_stops_a_study_cleanly_and_keeps_its_runs(tmp_path):
    out = tmp_path / "out"
    n = STUDIES[SEVERAL].plan("quick").n_runs
    proc = experiment(SEVERAL, out, "--jobs", "2")
    wait_for_runs(proc, out, 2)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    assert proc.returncode == 143, stderr
    assert took < 10
    assert "leaked" not in stderr and "resource_tracker" not in stderr, stderr
    assert "Traceback" not in stderr, stderr
    assert "terminated (SIGTERM)" in stderr and "--resume" in stderr, stderr
    time.sleep(1.0)
    ps = subprocess.run(
        ["ps", "-o", "stat=,args=", "-g", str(proc.pid)], capture_output=True, text=True
    ).stdout
    assert not [line for line in ps.splitlines() if not line.strip().startswith("Z")], ps
    assert 2 <= runs_kept(out) <= n
    assert not out.exists()


# ------------------------------------------------------------- a run that kills its worker


def killing_measure(result, arm):
    """The study's own measure, but SIGKILLs its worker process for the seed in
    ``SNOWBALL_TEST_KILL_SEED`` (what the out-of-memory killer does)."""
    if str(result.seed) == os.environ.get(KILL_ENV):
        os.kill(os.getpid(), signal.SIGKILL)
    return smallest_measure(result, arm)


def test_a_run_that_kills_its_worker_fails_the_study_in_one_line(
    tmp_path, reference, monkeypatch, capsys
):
    import experiments.fan_accumulation as module

    expected = reference(SMALLEST)
    plan = STUDIES[SMALLEST].plan("quick")
    killer = plan.seeds[1]
    monkeypatch.setenv(KILL_ENV, str(killer))
    monkeypatch.setattr(module, "measure", killing_measure)
    out = tmp_path / "out"
    args = ["experiment", SMALLEST, "--quick", "--out", str(out), "-q", "--jobs", "2"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"replicate 1 (seed {killer}): WorkerDied:" in err and "SIGKILL" in err, err
    assert f"{MAX_WORKER_DEATHS} times running it alone" in err
    assert "--resume --retry-failed" in err
    assert not out.exists()
    runs = _work.work_dir(out) / _work.RUNS_DIR
    assert [p.name for p in runs.glob("*.pkl")] == ["a0000-r00000.pkl"]
    assert [p.name for p in runs.glob("*.failed.json")] == ["a0000-r00001.failed.json"]

    # Resuming without --retry-failed has nothing to run and fails the same way.
    assert main([*args, "--resume"]) == 1
    assert "WorkerDied" in capsys.readouterr().err
    # The cause is gone: --retry-failed runs it again, and the study concludes.
    monkeypatch.setattr(module, "measure", smallest_measure)
    monkeypatch.delenv(KILL_ENV)
    assert main([*args, "--resume", "--retry-failed"]) == 0
    assert tables(out) == expected
    man = json.loads((out / "manifest.json").read_text())
    assert [s["ran"] for s in man["sessions"]] == [2, 0, 1]
    assert not _work.work_dir(out).exists()
    # Resuming a complete study (same plan and code state) has nothing to do.
    capsys.readouterr()
    before = (out / "manifest.json").read_bytes()
    assert main([*args, "--resume"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert (out / "manifest.json").read_bytes() == before


def test_flags_are_checked_in_one_line(capsys):
    for args, words in [
        (["--retry-failed"], "add --resume"),
        (["--dask", " "], "needs an address"),
        (["--resume", "--plan"], "cannot go with --plan"),
        (["--dask", "local:x"], "local:N needs a number"),
    ]:
        assert main(["experiment", SMALLEST, "--quick", "--out", "/tmp/never-x", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, (args, err)
    assert not Path("/tmp/never-x").exists()
