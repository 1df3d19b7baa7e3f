"""A real ``snowball sweep`` subprocess killed with SIGKILL mid-way, then resumed: the result
is exactly the complete set of runs, no duplicates, no torn rows, identical to a sweep that
was never interrupted."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from simulation.sweep.engine import run_sweep
from simulation.sweep.executors import ExecutorChoice
from simulation.sweep.fakes import toy_runner

ROOT = Path(__file__).resolve().parent.parent

SPEC = """
name = "killme"
scenario = "default"
seed = 2024
replicates = 4
metrics = ["took_off", "focal_gmv", "roi"]
[design]
kind = "lhs"
samples = 12
[parameters]
"streams.focal.persuasion" = { low = 0.02, high = 0.10 }
"streams.focal.campaign.daily_budget" = { low = 0, high = 3000 }
"""
TOTAL = 48


def sweep_process(spec: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "SNOWBALL_SWEEP_RUNNER": "simulation.sweep.fakes:slow_runner",
        "SNOWBALL_SWEEP_TEST_DELAY": "0.08",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulation",
            "sweep",
            str(spec),
            "--out",
            str(out),
            "--jobs",
            "2",
            "-q",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def rows_on_disk(out: Path) -> list[Path]:
    rows = out / "rows"
    return sorted(rows.glob("*.json")) if rows.is_dir() else []


def kill_when(proc: subprocess.Popen, out: Path, at_least: int) -> int:
    """SIGKILL the driver once ``at_least`` rows exist; return how many existed."""
    deadline = time.monotonic() + 60
    while len(rows_on_disk(out)) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    n = len(rows_on_disk(out))
    # its worker processes notice the driver is gone and exit on their own; clean up
    # whatever of this process group is left anyway
    time.sleep(0.3)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return n


def test_killed_sweep_resumes_to_exactly_the_complete_set(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"

    first = kill_when(sweep_process(spec, out), out, 8)
    assert 8 <= first < TOTAL
    for path in rows_on_disk(out):  # every row on disk is complete
        json.loads(path.read_text())
    assert not (out / "runs.parquet").exists()

    # kill the resumed sweep too, then let the third session finish
    second = kill_when(sweep_process(spec, out, "--resume"), out, first + 8)
    assert second < TOTAL
    done = sweep_process(spec, out, "--resume")
    stdout, stderr = done.communicate(timeout=120)
    assert done.returncode == 0, stderr
    assert f"ok {TOTAL}, failed 0, missing 0" in stdout

    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == TOTAL
    assert not runs.duplicated(["point", "replicate"]).any()
    assert not list((out / "rows").glob("*.tmp"))
    assert len(rows_on_disk(out)) == TOTAL
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"runs": TOTAL, "ok": TOTAL, "failed": 0, "missing": 0}
    sessions = manifest["sessions"]
    assert len(sessions) == 3
    assert [s["finished"] is None for s in sessions] == [True, True, False]  # two were killed
    assert sessions[2]["ran"] == TOTAL - second  # the last one ran exactly what was missing

    reference = tmp_path / "reference"
    run_sweep(spec, reference, runner=toy_runner, executor=ExecutorChoice(jobs=1), progress=False)
    expected = pd.read_parquet(reference / "runs.parquet").drop(columns="wall_seconds")
    pd.testing.assert_frame_equal(runs.drop(columns="wall_seconds"), expected)


def test_sigterm_stops_the_sweep_cleanly_and_resume_finishes(tmp_path):
    """Issue 19: SIGTERM of a sweep exits at once, stops and joins its workers (no
    resource_tracker 'leaked semaphore' warning, no orphans) and keeps the completed runs."""
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    proc = sweep_process(spec, out)
    deadline = time.monotonic() + 60
    while len(rows_on_disk(out)) < 6:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.01)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    print(f"exited {took:.2f} s after SIGTERM")
    assert proc.returncode == 143, stderr
    assert took < 10
    assert "leaked" not in stderr and "resource_tracker" not in stderr, stderr
    assert "Traceback" not in stderr and "terminated (SIGTERM)" in stderr, stderr
    time.sleep(1.0)
    ps = subprocess.run(  # nothing of its process group is left running (exited ones may
        # wait as zombies for a container's init to reap them)
        ["ps", "-o", "stat=,args=", "-g", str(proc.pid)],
        capture_output=True,
        text=True,
    ).stdout
    assert not [line for line in ps.splitlines() if not line.strip().startswith("Z")], ps
    kept = len(rows_on_disk(out))
    assert 6 <= kept < TOTAL
    done = sweep_process(spec, out, "--resume")
    stdout, stderr = done.communicate(timeout=120)
    assert done.returncode == 0, stderr
    assert f"ok {TOTAL}, failed 0, missing 0" in stdout
