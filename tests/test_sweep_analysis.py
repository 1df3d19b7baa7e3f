"""``snowball analyze`` checked against theory: Sobol indices of the Ishigami function,
Morris effects of a linear function, interval formulas; and its outputs for grids, partial
sweeps and bad flags."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulation import cli
from simulation.errors import UsageError
from simulation.intervals import t_interval, wilson_interval
from simulation.sweep.analysis import (
    analyze_sweep,
    load_sweep,
    phase_surface,
    point_summary,
)
from simulation.sweep.engine import run_sweep
from simulation.sweep.executors import ExecutorChoice
from simulation.sweep.fakes import failing_runner, ishigami_indices, ishigami_runner
from simulation.sweep.store import SweepStore

PERSUASION = "streams.focal.persuasion"
BUDGET = "streams.focal.campaign.daily_budget"
HOOK = "streams.focal.hook"
QUALITY = "streams.focal.quality"
PNG = b"\x89PNG\r\n\x1a\n"

GRID = f"""
name = "grid"
scenario = "default"
seed = 42
replicates = 6
metrics = ["took_off", "focal_gmv"]
[parameters]
"{PERSUASION}" = {{ low = 0.02, high = 0.10, num = 3 }}
"{BUDGET}" = [0, 1000, 4000]
"streams.focal.warmup_videos" = [0, 2]
"""


def sweep(tmp_path, text, runner, name="spec.toml", out="o"):
    path = tmp_path / name
    path.write_text(text)
    run_sweep(path, tmp_path / out, runner=runner, executor=ExecutorChoice(jobs=1), progress=False)
    return tmp_path / out


def test_sobol_indices_of_ishigami_match_theory(tmp_path):
    """The whole path — spec, Saltelli design, engine, runs.parquet, analysis — on the
    Ishigami function, whose indices are known in closed form (a = 7, b = 0.1).

    Tolerance: twice SALib's 95% bootstrap half-width (about four standard errors), so a
    correct pipeline fails with probability well below 1e-3 over the six comparisons, while
    the intervals themselves must be narrow (< 0.15) for the check to have power. With the
    fixed root seed the outcome is deterministic.
    """
    out = sweep(
        tmp_path,
        f"""
name = "ishigami"
scenario = "default"
seed = 3
[design]
kind = "sobol"
samples = 512
[parameters]
"{HOOK}" = {{ low = 0, high = 1 }}
"{QUALITY}" = {{ low = 0, high = 1 }}
"{PERSUASION}" = {{ low = 0, high = 1 }}
""",
        ishigami_runner,
    )
    report = analyze_sweep(out)
    table = pd.read_csv(out / "analysis" / "sensitivity.csv")
    assert list(table["parameter"]) == [HOOK, QUALITY, PERSUASION]
    assert (table["method"] == "sobol").all() and (table["metric"] == "ishigami").all()
    theory = ishigami_indices()
    for order in ("S1", "ST"):
        conf = table[f"{order}_conf"].to_numpy()
        assert (conf < 0.15).all(), conf
        err = np.abs(table[order].to_numpy() - np.array(theory[order]))
        assert (err <= 2 * conf).all(), (order, table[order].to_numpy(), theory[order], conf)
    # and the ranking a reader takes from the chart: x1 matters most in total, x3 only
    # through its interaction with x1
    assert table["ST"].idxmax() == 0 and table["S1"].iloc[2] < 0.1 < table["ST"].iloc[2]
    s2 = pd.read_csv(out / "analysis" / "sensitivity_s2.csv")
    assert len(s2) == 3
    assert (out / "analysis" / "sensitivity.png").read_bytes()[:8] == PNG
    assert "S1" in report.text() and "sensitivity.png" in report.text()


def linear_runner(params, seed):
    """y = 3 x1 (+ 0 x2): every elementary effect of x1 is 3 x its range."""
    values = list(params.values())
    return {"linear": 3.0 * values[0] + 0.0 * values[1]}


linear_runner.metrics = ("linear", "wall_seconds")


def test_morris_effects_of_a_linear_function(tmp_path):
    out = sweep(
        tmp_path,
        f"""
name = "morris"
scenario = "default"
seed = 5
[design]
kind = "morris"
samples = 10
levels = 4
[parameters]
"{BUDGET}" = {{ low = 0, high = 2 }}
"{PERSUASION}" = {{ low = 0.02, high = 0.1 }}
""",
        linear_runner,
    )
    analyze_sweep(out)
    table = pd.read_csv(out / "analysis" / "sensitivity.csv")
    assert (table["method"] == "morris").all()
    assert table["mu_star"].tolist() == pytest.approx([6.0, 0.0], abs=1e-9)
    assert table["sigma"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert (out / "analysis" / "sensitivity.png").read_bytes()[:8] == PNG


def test_interval_formulas():
    lo, hi = wilson_interval(np.array([0, 2, 4]), np.array([4, 4, 4]))
    # Wilson: 0 of 4 -> [0, z^2/(n+z^2)]; symmetric at 2 of 4
    z2 = 1.959963984540054**2
    assert lo[0] == pytest.approx(0, abs=1e-12) and hi[0] == pytest.approx(z2 / (4 + z2))
    assert lo[1] + hi[1] == pytest.approx(1.0)
    assert hi[2] == pytest.approx(1.0) and lo[2] == pytest.approx(1 - z2 / (4 + z2))
    x = np.array([1.0, 2.5, 2.0, 4.0, 3.5])
    lo, hi = t_interval(np.array([x.mean()]), np.array([x.std(ddof=1)]), np.array([5]))
    ref = stats.t.interval(0.95, 4, loc=x.mean(), scale=stats.sem(x))
    assert (lo[0], hi[0]) == pytest.approx(ref)
    lo, hi = t_interval(np.array([1.0]), np.array([np.nan]), np.array([1]))
    assert math.isnan(lo[0]) and math.isnan(hi[0])


def test_summary_and_phase_diagram_of_a_grid(tmp_path, capsys):
    out = sweep(tmp_path, GRID, failing_runner)
    data = load_sweep(out)
    summary = point_summary(data)
    runs = data.runs
    took = summary[summary.metric == "took_off"].set_index("point")
    ok = runs[runs.status == "ok"]
    expected = ok.groupby("point")["took_off"].mean()
    pd.testing.assert_series_equal(took["mean"].dropna(), expected.astype(float), check_names=False)
    assert (took["interval"] == "wilson").all()
    assert ((took["ci_low"].dropna() >= 0) & (took["ci_high"].dropna() <= 1)).all()
    failing = took[took[BUDGET] == 4000.0]
    assert (failing["failed"] == 6).all() and failing["mean"].isna().all()
    gmv = summary[summary.metric == "focal_gmv"]
    assert (gmv["interval"] == "t").all()

    surface = phase_surface(data, PERSUASION, BUDGET, "took_off")
    assert surface.mean.shape == (3, 3) and surface.is_bool
    assert surface.averaged_over == ["streams.focal.warmup_videos"]
    cell = ok[(ok[PERSUASION] == 0.1) & (ok[BUDGET] == 1000.0)]["took_off"]
    assert surface.mean[1, 2] == pytest.approx(cell.mean()) and surface.n[1, 2] == 12
    assert np.isnan(surface.mean[2]).all()  # budget 4000: every run failed
    assert ((surface.low <= surface.mean + 1e-12) | np.isnan(surface.mean)).all()

    rc = cli.main(["analyze", str(out), "--phase", f"{PERSUASION},{BUDGET}"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "phase.png" in printed and "summary.csv" in printed
    assert (out / "analysis" / "phase.png").read_bytes()[:8] == PNG
    assert not (out / "analysis" / "sensitivity.csv").exists()  # a grid has no indices
    assert not list((out / "analysis").glob(".*tmp"))


def test_partial_sweep_and_one_parameter(tmp_path):
    text = GRID.replace('"streams.focal.warmup_videos" = [0, 2]\n', "").replace(
        f'"{BUDGET}" = [0, 1000, 4000]\n', ""
    )
    out = sweep(tmp_path, text, failing_runner)
    (out / "runs.parquet").unlink()  # as if killed before consolidation
    (out / "manifest.json").unlink()
    SweepStore(out).row_path(0, 0).unlink()
    report = analyze_sweep(out, metric="focal_gmv")
    assert report.runs == 17 and any("incomplete" in n for n in report.notes)
    assert (out / "analysis" / "response.png").read_bytes()[:8] == PNG


def test_analyze_bad_flags(tmp_path, capsys):
    out = sweep(tmp_path, GRID, failing_runner)
    for argv, needle in [
        (["analyze", str(out), "--metric", "took_of"], "did you mean 'took_off'"),
        (["analyze", str(out), "--phase", f"{PERSUASION},nope"], "not a varied parameter"),
        (["analyze", str(out), "--phase", PERSUASION], "two varied parameters"),
        (["analyze", str(out), "--threshold", "high"], "must be a number"),
        (["analyze", str(tmp_path / "missing")], "not a sweep folder"),
    ]:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err


def test_a_damaged_runs_table_is_read_from_the_row_files(tmp_path, capsys):
    """A truncated runs.parquet (a disk that filled, a bad copy) is not a traceback: the runs
    come from their row files, with a note; a damaged design is one line naming the file."""
    out = sweep(tmp_path, GRID, failing_runner)
    whole = load_sweep(out).runs
    data = (out / "runs.parquet").read_bytes()
    (out / "runs.parquet").write_bytes(data[: len(data) // 3])
    again = load_sweep(out)
    assert len(again.runs) == len(whole) and any("runs.parquet" in n for n in again.notes)
    assert cli.main(["analyze", str(out)]) == 0
    assert "runs.parquet cannot be read" in capsys.readouterr().err
    (out / "design.parquet").write_bytes(b"not parquet")
    assert cli.main(["analyze", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "design.parquet" in err and "--resume" in err
    (out / "design.parquet").unlink()  # as the message says: delete it and resume
    run_sweep(
        tmp_path / "spec.toml", out, runner=failing_runner, executor=ExecutorChoice(jobs=1),
        resume=True, progress=False,
    )  # fmt: skip
    assert cli.main(["analyze", str(out)]) == 0
    pd.testing.assert_frame_equal(load_sweep(out).runs, whole)


def test_analyze_checks_every_argument_before_writing(tmp_path, capsys):
    """Issue 19: --phase a,b wrote summary.csv before refusing; --threshold nan passed."""
    out = sweep(tmp_path, GRID, failing_runner)
    for argv, needle in [
        (["--phase", f"{PERSUASION},nope"], "not a varied parameter"),
        (["--phase", f"{PERSUASION},{PERSUASION}"], "two different"),
        (["--threshold", "nan"], "finite"),
        (["--threshold", "inf"], "finite"),
        (["--metric", "nope"], "not a metric"),
        (["--out", str(out / "runs.parquet")], "not a folder"),
    ]:
        assert cli.main(["analyze", str(out), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err
        assert not (out / "analysis").exists(), argv
    with pytest.raises(UsageError, match="finite"):
        analyze_sweep(out, threshold=float("nan"))
    assert not (out / "analysis").exists()


def test_analyze_to_another_folder(tmp_path, capsys):
    out = sweep(tmp_path, GRID, failing_runner)
    elsewhere = tmp_path / "elsewhere" / "a"
    assert cli.main(["analyze", str(out), "--out", str(elsewhere)]) == 0
    assert (elsewhere / "summary.csv").is_file() and (elsewhere / "phase.png").is_file()
    assert not (out / "analysis").exists()
    assert f"analysis of {out}" in capsys.readouterr().out


def test_a_read_only_sweep_folder_points_at_out(tmp_path, capsys, monkeypatch):
    """A sweep folder that cannot be written (read-only mount, another user's results): one
    line naming the folder and --out. Root writes anywhere, so the refusal is simulated by
    failing the probe write the way a read-only file system does."""
    import errno
    import os
    from pathlib import Path

    out = sweep(tmp_path, GRID, failing_runner)
    if os.geteuid() != 0:
        out.chmod(0o555)
    else:
        real = Path.write_bytes

        def read_only(self, data):
            if self.parent == out / "analysis" or self.parent == out:
                raise OSError(errno.EROFS, "Read-only file system")
            return real(self, data)

        monkeypatch.setattr(Path, "mkdir", lambda self, *a, **k: None)
        monkeypatch.setattr(Path, "write_bytes", read_only)
    try:
        assert cli.main(["analyze", str(out)]) == 2
    finally:
        out.chmod(0o755)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(out) in err and "--out" in err, err
    assert not (out / "analysis").exists()
