"""The command line, run as a user would: real subprocesses, real files."""

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation.cli import main
from simulation.results import MANIFEST_COMMON, OUTPUT_FILES, atomic_dir, commit_label

TINY = [
    "--set",
    "population.viewers=800",
    "--set",
    "streams.field.count=10",
    "--set",
    "streams.alliance.count=4",
    "--days",
    "1",
    "--quiet",
]


def snowball(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "simulation", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env=None if env is None else {**os.environ, **env},
    )


def test_run_writes_all_outputs_and_reruns_are_byte_identical(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, "3"), (b, "3"), (c, "4")):
        r = snowball("run", *TINY, "--seed", seed, "--out", str(out))
        assert r.returncode == 0, r.stderr
    assert "figure:" in r.stdout and "overview.png" in r.stdout
    for name in ("ticks.parquet", "streams.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()
    assert (a / "overview.png").stat().st_size > 10_000
    man = json.loads((a / "manifest.json").read_text())
    assert set(MANIFEST_COMMON) | {"config", "seed", "run_id"} <= set(man)
    assert man["kind"] == "run" and man["commit"] == commit_label(man["git"])
    assert man["seed"] == 3 and man["config"]["population"]["viewers"] == 800
    # The versions actually installed (the newest-Python CI stage runs the newest Mesa).
    assert man["versions"]["mesa"] == importlib.metadata.version("mesa")
    assert man["versions"]["numpy"] == importlib.metadata.version("numpy")
    assert man["versions"]["python"] == platform.python_version()
    ma = {k: v for k, v in man.items() if k not in ("wall_seconds", "created")}
    mb = json.loads((b / "manifest.json").read_text())
    assert ma == {k: v for k, v in mb.items() if k not in ("wall_seconds", "created")}
    ticks = pd.read_parquet(a / "ticks.parquet")
    streams = pd.read_parquet(a / "streams.parquet")
    for col in (
        "free_impressions",
        "paid_impressions",
        "follow_impressions",
        "entries",
        "dwell_minutes",
        "orders",
        "gmv",
        "ad_spend",
        "live_streams",
        "gini_gmv",
        "gini_impressions",
    ):
        assert col in ticks.columns
    for col in (
        "kind",
        "free_impressions",
        "paid_impressions",
        "follow_impressions",
        "entries",
        "orders",
        "gmv",
        "gpm",
        "ad_spend",
        "roi",
        "followers",
        "pool_tier",
        "review_score",
    ):
        assert col in streams.columns
    assert len(ticks) == 144 and len(streams) == streams["stream"].nunique()


def test_funnel_scenario_runs(tmp_path):
    r = snowball("run", "funnel", *TINY, "--out", str(tmp_path / "f"))
    assert r.returncode == 0, r.stderr
    assert "policy search_funnel" in r.stdout


def test_scenarios_strategies_and_operators_listings():
    r = snowball("scenarios")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert {"default", "funnel"} <= set(names)
    r = snowball("strategies")
    assert "feedback_gated" in r.stdout and "always_scale" in r.stdout
    r = snowball("operators")
    assert r.returncode == 0
    from simulation.operators import OPERATORS

    assert [line.split()[0] for line in r.stdout.splitlines()] == list(OPERATORS)
    assert "capacity_first" in r.stdout and "[invests, adjusts_budget]" in r.stdout
    assert "adaptive_mix" in r.stdout and "[adjusts_mix]" in r.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "--set", "population.viewrs=5"], "did you mean 'population.viewers'"),
        (["run", "--set", "population.viewers=0"], "population.viewers = 0"),
        (["run", "--days", "0"], "days = 0"),
        (["run", "--days", "-3"], "days = -3"),
        (["run", "--seed", "-1"], "seed"),
        (["run", "--set", "streams.focal.hook=2"], "streams.focal.hook = 2"),
        (["run", "--set", "streams.focal.campaign.daily_budget=-10"], "daily_budget = -10"),
        (["run", "--set", "streams.focal.campaign.strategy=yolo"], "strategy = 'yolo'"),
        (["run", "--set", "policy=magic"], "policy = 'magic'"),
        (["run", "--set", "days=two"], "days = 'two'"),
        (["run", "--set", "nokey"], "key=value"),
        (["run", "no_such_scenario"], "no such scenario"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, args, fragment):
    out = tmp_path / "out"
    assert main([*args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert fragment in lines[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "--days", "abc"], "argument --days: invalid int value: 'abc'"),
        (["run", "--seed", "1.5"], "argument --seed: invalid int value: '1.5'"),
        (["no_such_command"], "invalid choice: 'no_such_command'"),
        (["run", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_flags_are_one_line_exit_2(capsys, args, fragment):
    """argparse's own errors too: one line naming the flag and value, not the usage block."""
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "--help" in lines[0], lines
    if args[0] == "run":
        assert "snowball run --help" in lines[0]  # the command's own help


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('[streams.alliance]\nmerchant = "nobody"\n', "streams.alliance.merchant = 'nobody'"),
        ('[streams.alliance]\nmerchant = "field"\n', "with count = 1"),
        ("streams = 5\n", "streams = 5: must be a table of named groups"),
        ("population = 3\n", "population = 3: is a value, not a table"),
    ],
)
def test_bad_scenario_files_name_the_file_on_loading(tmp_path, capsys, text, fragment):
    """Caught when the file is loaded (before any run or sweep), naming the file even when
    --set values are given: a merchant that is not a one-room field group, a value where a
    table belongs (the file's value, not the --set key, is at fault)."""
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "default"\n' + text)
    out = tmp_path / "out"
    assert main(["run", str(bad), "--set", "population.viewers=500", "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and str(bad) in lines[0], lines
    assert not out.exists()


def test_bad_input_from_a_real_process_has_no_traceback(tmp_path):
    r = snowball("run", "--set", "population.viewrs=5", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_malformed_toml_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[population\nviewers = 3\n")
    r = snowball("run", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and str(bad) in r.stderr and "TOML" in r.stderr
    assert not (tmp_path / "o").exists()


def test_atomic_dir_leaves_target_untouched_on_failure(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "half.parquet").write_text("partial")
        raise RuntimeError("boom")
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]


def test_interrupted_run_writes_nothing(tmp_path):
    """SIGINT during the simulation: exit 130, no output folder, no temp folder left."""
    import fcntl
    import pty
    import signal
    import struct
    import termios
    import threading
    import time

    out = tmp_path / "out"
    # stderr is a terminal (a pty of 24 x 80: tqdm draws nothing 0 columns wide), as for a
    # user: the progress bar is drawn only there.
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulation",
            "run",
            "--out",
            str(out),
            "--days",
            "30",
            "--set",
            "population.viewers=50000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        # As from a terminal, even if this test runs where SIGINT is ignored (a background job).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain():
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the pty closes when the process ends
                break
            if not chunk:
                break
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    # Wait until the simulation is running (its progress bar appears on stderr).
    deadline = time.monotonic() + 300  # the first run after an install compiles kernels
    while b"tick" not in b"".join(chunks) and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    err = b"".join(chunks).decode(errors="replace")
    assert "tick" in err
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    os.close(master)
    assert list(Path(tmp_path).iterdir()) == []


def one_line_exit_2(r):
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


def test_out_refuses_a_non_empty_folder_that_holds_no_earlier_run(tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("code")
    err = one_line_exit_2(snowball("run", *TINY, "--out", str(project)))
    assert "not empty" in err
    assert (project / "src" / "main.py").read_text() == "code"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_out_replaces_an_earlier_run_but_not_files_someone_added(tmp_path):
    out = tmp_path / "out"  # version 1's market: no optional outputs (items.parquet)
    assert snowball("run", "v1", *TINY, "--out", str(out)).returncode == 0
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES["run"]
    first = (out / "manifest.json").stat().st_mtime_ns
    assert snowball("run", "v1", *TINY, "--seed", "2", "--out", str(out)).returncode == 0
    assert (out / "manifest.json").stat().st_mtime_ns != first  # replaced
    (out / ".DS_Store").write_bytes(b"\0")  # a file browser's metadata does not block it
    assert snowball("run", "v1", *TINY, "--out", str(out)).returncode == 0
    (out / "notes.txt").write_text("my notes")
    err = one_line_exit_2(snowball("run", "v1", *TINY, "--out", str(out)))
    assert "notes.txt" in err and (out / "notes.txt").read_text() == "my notes"
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES["run"] | {"notes.txt"}


@pytest.mark.parametrize("where", ["inside_a_file", "cwd"])
def test_out_that_cannot_be_written_is_one_line_before_any_run(tmp_path, where):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    out = str(blocker / "sub") if where == "inside_a_file" else "."
    work = tmp_path / "work"
    work.mkdir()
    err = one_line_exit_2(snowball("run", *TINY, "--out", out, cwd=work))
    assert "--out" in err
    assert list(work.iterdir()) == [] and blocker.read_text() == "x"


def test_experiment_out_refuses_a_foreign_folder_before_running(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "thesis.tex").write_text("draft")
    err = one_line_exit_2(
        snowball("experiment", "review_quality", "--quick", "--quiet", "--out", str(keep))
    )
    assert "not empty" in err and (keep / "thesis.tex").read_text() == "draft"


def test_experiment_out_refuses_another_studys_folder(tmp_path):
    other = tmp_path / "exploration"
    other.mkdir()
    man = {"schema_version": 1, "kind": "experiment", "study": "exploration"}
    (other / "manifest.json").write_text(json.dumps(man))
    (other / "REPORT.md").write_text("# exploration")
    err = one_line_exit_2(
        snowball("experiment", "review_quality", "--quick", "--quiet", "--out", str(other))
    )
    assert "'exploration'" in err and "'review_quality'" in err
    assert (other / "REPORT.md").read_text() == "# exploration"


def test_quick_studies_default_to_their_own_folder():
    from experiments._outputs import RESULTS_DIR, study_dir

    assert study_dir("paid_leverage") == RESULTS_DIR / "paid_leverage"
    assert study_dir("paid_leverage", "quick") == RESULTS_DIR / "quick" / "paid_leverage"


def test_set_on_a_mistyped_stream_group_is_refused(tmp_path):
    err = one_line_exit_2(
        snowball("run", "--set", "streams.focl.persuasion=0.1", "--out", str(tmp_path / "o"))
    )
    assert "did you mean 'focal'" in err and not (tmp_path / "o").exists()


def test_a_scenario_that_is_not_utf8_is_one_line(tmp_path):
    bad = tmp_path / "binary.toml"
    bad.write_bytes(b"\xff\xfe bad")
    err = one_line_exit_2(snowball("run", str(bad), "--out", str(tmp_path / "o")))
    assert "UTF-8" in err and str(bad) in err


def test_a_missing_base_names_the_file_and_key(tmp_path):
    child = tmp_path / "child.toml"
    child.write_text('base = "nonexistent"\n')
    err = one_line_exit_2(snowball("run", str(child), "--out", str(tmp_path / "o")))
    assert str(child) in err and "base" in err and "nonexistent" in err


def test_sweep_out_that_cannot_be_written_is_one_line(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    spec = Path(__file__).resolve().parents[1] / "experiments/sweeps/phase_quality_budget.toml"
    err = one_line_exit_2(snowball("sweep", str(spec), "--out", str(blocker / "sub")))
    assert "--out" in err and blocker.read_text() == "x"


def test_experiment_out_with_a_tilde_writes_under_home(tmp_path):
    r = snowball(
        "experiment", "review_quality", "--quick", "--quiet", "--out", "~/study",
        cwd=tmp_path, env={"HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    study = tmp_path / "home" / "study"
    assert (study / "manifest.json").exists() and not (tmp_path / "~").exists()
    assert {p.name for p in study.iterdir()} <= OUTPUT_FILES["experiment"]


def test_reanalyse_refuses_a_folder_of_another_kind_or_study(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"schema_version": 1, "kind": "run"}))
    err = one_line_exit_2(snowball("experiment", "inequality", "--reanalyse", "--out", str(run)))
    assert "inequality" in err
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(
        json.dumps({"schema_version": 1, "kind": "experiment", "study": "paid_strategies"})
    )
    one_line_exit_2(snowball("experiment", "inequality", "--reanalyse", "--out", str(other)))


def test_validate_set_on_a_mistyped_stream_group_is_refused(tmp_path):
    args = ["validate", "--quick", "--case", "gamma_urn", "--set", "streams.nogroup.hook=0.1"]
    err = one_line_exit_2(snowball(*args, "--out", str(tmp_path / "v")))
    assert "nogroup" in err and not (tmp_path / "v").exists()


@pytest.mark.parametrize("damage", ["missing", "truncated", "corrupt_gzip"])
def test_reanalyse_of_damaged_outputs_is_one_line(tmp_path, damage):
    import shutil

    study = tmp_path / "review_quality"
    shutil.copytree(Path(__file__).resolve().parents[1] / "results" / "review_quality", study)
    if damage == "missing":
        (study / "runs.csv").unlink()
    elif damage == "truncated":
        (study / "runs.csv").write_text((study / "runs.csv").read_text().splitlines()[0][:40])
    else:
        (study / "daily.csv.gz").write_bytes(b"\x1f\x8b not really gzip")
    before = sorted(p.name for p in study.iterdir())
    err = one_line_exit_2(
        snowball("experiment", "review_quality", "--reanalyse", "--out", str(study))
    )
    assert "cannot be reanalysed" in err and "without --reanalyse" in err
    assert sorted(p.name for p in study.iterdir()) == before  # nothing rewritten


def test_a_closed_pipe_ends_quietly():
    """``snowball experiment --list | head -1``: the reader leaves early; no traceback."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as usual
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulation", "experiment", "--list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    proc.stdout.close()  # before the command starts writing
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_run_without_a_focal_room_does_not_report_one(tmp_path):
    r = snowball("run", *TINY, "--set", "streams.focal.count=0", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "focal room" not in r.stdout
    r = snowball("run", *TINY, "--out", str(tmp_path / "p"))
    assert "focal room: GMV" in r.stdout


def test_no_progress_bar_when_stderr_is_not_a_terminal_and_q_everywhere(tmp_path):
    """A log (stderr a pipe) gets no bar; ``-q`` is accepted by every command."""
    r = snowball("run", *TINY[:-1], "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "tick" not in r.stderr and "\r" not in r.stderr
    for argv in (["run", "-q"], ["experiment", "-q"], ["validate", "-q"], ["sweep", "-q"],
                 ["analyze", "-q"], ["dashboard", "-q"], ["scenarios", "-q"],
                 ["strategies", "-q"], ["operators", "-q"]):  # fmt: skip
        args, extra = (
            __import__("simulation.cli")
            .cli.build_parser()
            .parse_known_args([*argv, "x"] if argv[0] in ("sweep", "analyze") else argv)
        )
        assert not extra and args.quiet, argv


def test_a_killed_writer_leaves_a_temp_folder_that_the_next_start_removes(tmp_path):
    """SIGKILL mid-write: its hidden temp folder stays; the next run removes it (its writer
    is gone) but never a live writer's."""
    import signal
    import time

    out = tmp_path / "out"
    code = (
        "import os, sys, time\n"
        "from simulation.results import atomic_dir\n"
        "with atomic_dir(__import__('pathlib').Path(sys.argv[1])) as tmp:\n"
        "    (tmp / 'half.parquet').write_text('partial')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(600)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == b"writing"
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait(timeout=30)
    temps = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
    assert len(temps) == 2 and all(f"-{p.pid}-" in " ".join(temps) for p in procs)
    try:
        r = snowball("run", *TINY, "--out", str(out))
        assert r.returncode == 0, r.stderr
        left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out."))
        assert len(left) == 1 and f"-{procs[1].pid}-" in left[0]  # the live writer's stays
    finally:
        procs[1].kill()
        procs[1].wait(timeout=30)
    time.sleep(0.1)
    assert snowball("run", *TINY, "--out", str(out)).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_set_runs_default_to_their_own_folder():
    from simulation.commands.run import default_folder_name

    plain = default_folder_name("default", 0, {})
    a = default_folder_name("default", 0, {"population.viewers": 20000})
    b = default_folder_name("default", 0, {"population.viewers": 20001})
    c = default_folder_name("default", 0, {"population.viewers": 20000, "days": 1})
    assert plain == "default-seed0"
    assert a.startswith("default-seed0-viewers20000-") and len({plain, a, b, c}) == 4
    assert c == default_folder_name("default", 0, {"days": 1, "population.viewers": 20000})


def test_base_is_resolved_next_to_the_file_never_in_the_working_folder(tmp_path, monkeypatch):
    from simulation.config import SCENARIO_DIR, load_scenario

    named = load_scenario(SCENARIO_DIR / "default.toml").days
    monkeypatch.chdir(tmp_path)
    (tmp_path / "default").write_text("days = 99\n")  # a stray file where the command runs
    (tmp_path / "default.toml").write_text("days = 98\n")
    (tmp_path / "scen").mkdir()
    child = tmp_path / "scen" / "child.toml"
    child.write_text('base = "default"\n')
    assert load_scenario(child).days == named == 7
    (tmp_path / "scen" / "default.toml").write_text('base = "default"\ndays = 3\n')
    assert load_scenario(child).days == 3  # a sibling file named in base comes first


def test_plot_modules_leave_the_backend_alone():
    code = (
        "import matplotlib; matplotlib.use('svg')\n"
        "import simulation.plots, simulation.validation_plots\n"
        "print(matplotlib.get_backend())\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "svg", r.stderr


def test_the_memory_estimate_counts_the_populations_own_arrays():
    import numpy as np

    from simulation.config import BehaviourConfig, PopulationConfig
    from simulation.footprint import viewer_state_bytes
    from simulation.population import Population

    for k, f in ((12, 8), (3, 20)):
        cfg = PopulationConfig(viewers=5000, categories=k, follow_slots=f)
        pop = Population(cfg, BehaviourConfig(), 10, np.random.default_rng(0))
        # Besides the per-viewer arrays: one bucket-table end per chronotype (4 x 4 bytes).
        assert 0 <= pop.nbytes() - 5000 * viewer_state_bytes(k, f) <= 16


def test_the_overview_says_there_are_no_pools_under_a_policy_without_them():
    from matplotlib.figure import Figure

    from simulation.plots import no_pools_panel

    ax = Figure().subplots()
    no_pools_panel(ax, "search_funnel")
    assert [t.get_text().split(":")[0] for t in ax.texts] == [
        "No traffic pools under the search_funnel policy"
    ]
    assert not ax.lines and not ax.get_yticks().size


def test_leftovers_of_dead_writers_only_are_removed_and_a_set_aside_output_is_put_back(tmp_path):
    from simulation.results import _host, remove_leftovers, writer_tag

    target = tmp_path / "out"
    dead = f"w-{_host()}-999999999-1"  # above any pid_max: no such process
    old = tmp_path / f".out.{dead}.old"  # killed between the two renames: the earlier output
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    (tmp_path / f".out.{dead}.abc_12.tmp").mkdir()
    (tmp_path / f".out.{dead}.xyz.probe").mkdir()
    kept = [
        tmp_path / ".out.w-otherhost-999999999-1.abc.tmp",  # another machine's: unknowable
        tmp_path / f".out.{writer_tag()}.live.tmp",  # this process: alive
        tmp_path / ".out.abcdefgh.tmp",  # not a name this code writes
        tmp_path / f".outer.{dead}.abc.tmp",  # another target's
    ]
    for k in kept:
        k.mkdir()
    removed = remove_leftovers(target)
    assert len(removed) == 2
    assert (target / "manifest.json").exists() and not old.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", *(k.name for k in kept)])


# ------------------------------------------------------------------ start-up

HEAVY = ("mesa", "pandas", "scipy", "numba", "matplotlib", "pyarrow", "simulation.model")

LOADED = """
import sys
from simulation.cli import main
code = main(sys.argv[1:])
heavy = {heavy!r}
print(code, " ".join(m for m in heavy if m in sys.modules))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--set", "nope=1"],
        ["run", "--set", "policy=interst_feed"],
        ["run", "--seed", "-1"],
        ["validate", "--alpha", "1"],
        ["sweep", "--jobs", "0", "x.toml"],
        ["sweep", "missing.toml"],
        ["analyze", "--threshold", "nan", "results"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_bad_input_is_refused_before_the_heavy_modules_load(tmp_path, argv):
    """Start-up: the command line refuses these bad inputs having imported none of the
    model, pandas, scipy, Mesa, numba or matplotlib (each would add up to seconds of CPU to
    every refusal; tests/test_bad_inputs.py runs a hundred of them)."""
    r = subprocess.run(
        [sys.executable, "-c", LOADED.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert r.stdout.split("\n")[0] == "2 ", (r.stdout, r.stderr)
    assert len(r.stderr.splitlines()) == 1 and "error" in r.stderr, r.stderr


def test_import_simulation_is_cheap_and_the_public_names_load_on_use():
    code = (
        "import sys, simulation\n"
        f"heavy = {HEAVY!r}\n"
        "before = [m for m in heavy if m in sys.modules]\n"
        "names = {n: getattr(simulation, n) for n in simulation.__all__}\n"
        "print(before, 'mesa' in sys.modules, sorted(names))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        "[] True ['ConfigError', 'RunResult', 'Scenario', 'build_model', 'load_scenario', "
        "'run', 'run_summary', 'summarize']"
    )


def test_validate_help_names_the_cases_and_the_defaults(capsys):
    from simulation.validation import CASES, DEFAULT_SEED, FAMILY_ALPHA

    with pytest.raises(SystemExit) as exc:
        main(["validate", "--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"cases: {', '.join(CASES)}" in out
    assert f"(default {DEFAULT_SEED})" in out and f"default {FAMILY_ALPHA})" in out
