"""Damaged sweep metadata (issue 19): a corrupt design.parquet or a truncated or edited
sweep.json is detected by the checksums in the sweep's record, rebuilt from the spec on
``--resume`` when the rows on disk belong to that spec, and otherwise refused in one line that
says what is damaged and how to recover."""

import json

import pandas as pd
import pytest

from simulation import cli
from simulation.errors import UsageError
from simulation.sweep.engine import run_sweep
from simulation.sweep.executors import ExecutorChoice
from simulation.sweep.fakes import toy_runner
from simulation.sweep.store import SweepStore

PERSUASION = "streams.focal.persuasion"
BUDGET = "streams.focal.campaign.daily_budget"

GRID = f"""
name = "grid"
scenario = "default"
seed = 42
replicates = 2
[parameters]
"{PERSUASION}" = {{ low = 0.02, high = 0.10, num = 3 }}
"{BUDGET}" = [0, 1000]
"""

LHS = f"""
name = "lhs"
scenario = "default"
seed = 9
replicates = 2
[design]
kind = "lhs"
samples = 6
[parameters]
"{PERSUASION}" = {{ low = 0.02, high = 0.10 }}
"{BUDGET}" = {{ low = 10, high = 5000, log = true }}
"""


def inline(**kw):
    return {"executor": ExecutorChoice(jobs=1), "progress": False, "runner": toy_runner, **kw}


def half_done(tmp_path, text):
    """A sweep run to the end, then with half of its rows removed (as if killed)."""
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    out = tmp_path / "o"
    run_sweep(spec, out, **inline())
    reference = pd.read_parquet(out / "runs.parquet").drop(columns="wall_seconds")
    for path in sorted((out / "rows").glob("*.json"))[::2]:
        path.unlink()
    return spec, out, reference


def corrupt_design(out, keep_parquet: bool) -> None:
    path = out / "design.parquet"
    data = bytearray(path.read_bytes())
    if keep_parquet:  # a flipped byte inside the data pages: the file still parses
        data[len(data) // 3] ^= 0xFF
    else:
        data = data[: len(data) // 2]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("text", [GRID, LHS], ids=["grid", "lhs"])
@pytest.mark.parametrize("keep_parquet", [True, False], ids=["flipped", "truncated"])
def test_a_corrupt_design_is_rebuilt_on_resume(tmp_path, text, keep_parquet):
    spec, out, reference = half_done(tmp_path, text)
    intact = (out / "design.parquet").read_bytes()
    corrupt_design(out, keep_parquet)
    with pytest.raises(UsageError, match=r"design\.parquet.*--resume"):
        analyze(out)
    res = run_sweep(spec, out, resume=True, **inline())
    assert res.complete and any("design.parquet" in n and "rebuilt" in n for n in res.notes)
    assert (out / "design.parquet").read_bytes() == intact
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "runs.parquet").drop(columns="wall_seconds"), reference
    )
    record = json.loads((out / "sweep.json").read_text())
    assert len(record["sessions"]) == 2  # the record itself was intact: history kept


def analyze(out):
    from simulation.sweep.analysis import analyze_sweep

    return analyze_sweep(out)


@pytest.mark.parametrize("damage", ["truncate", "edit"])
def test_a_damaged_record_is_rebuilt_from_the_spec(tmp_path, damage):
    spec, out, reference = half_done(tmp_path, GRID)
    path = out / "sweep.json"
    if damage == "truncate":
        path.write_text(path.read_text()[:100])
    else:
        path.write_text(path.read_text().replace('"replicates": 2', '"replicates": 7'))
    with pytest.raises(UsageError, match=r"sweep\.json.*--resume"):
        run_sweep(spec, out, **inline())
    with pytest.raises(UsageError, match=r"sweep\.json.*--resume"):
        analyze(out)
    res = run_sweep(spec, out, resume=True, **inline())
    assert res.complete and res.ran == 6 and any("history" in n for n in res.notes)
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "runs.parquet").drop(columns="wall_seconds"), reference
    )
    assert SweepStore(out).record()["fingerprint"]  # intact again, checksum and all
    analyze(out)


def test_damage_with_another_spec_is_refused_and_keeps_the_rows(tmp_path, capsys):
    _, out, _ = half_done(tmp_path, GRID)
    (out / "sweep.json").write_text("{")
    before = sorted(p.name for p in (out / "rows").iterdir())
    other = tmp_path / "other.toml"
    other.write_text(GRID.replace("seed = 42", "seed = 43"))
    with pytest.raises(UsageError, match="do not belong to"):
        run_sweep(other, out, resume=True, **inline())
    assert sorted(p.name for p in (out / "rows").iterdir()) == before
    rc = cli.main(["analyze", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "sweep.json" in err and "--resume" in err


def test_a_grid_sweep_from_before_checksums_gets_its_design_rewritten(tmp_path):
    """A record without design_sha256 (written before checksums existed) cannot vouch for its
    design.parquet: a grid design is written anew from the spec and its checksum recorded."""
    spec, out, reference = half_done(tmp_path, GRID)
    store = SweepStore(out)
    record = store.record()
    del record["design_sha256"]
    store.write_record(record)
    corrupt_design(out, keep_parquet=True)
    res = run_sweep(spec, out, resume=True, **inline())
    assert res.complete
    assert SweepStore(out).record()["design_sha256"] == SweepStore(out).design_checksum()
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "runs.parquet").drop(columns="wall_seconds"), reference
    )
    analyze(out)


def test_resuming_in_a_folder_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    """A read-only sweep folder (root ignores permission bits, so the file system's refusal
    is simulated): one line, not a PermissionError traceback."""
    import builtins
    import errno

    spec, out, _ = half_done(tmp_path, GRID)
    real_open = builtins.open

    def read_only(file, mode="r", *args, **kwargs):
        if str(file).startswith(str(out)) and any(c in mode for c in "wa+"):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only)
    with pytest.raises(UsageError, match="cannot write there"):
        run_sweep(spec, out, resume=True, **inline())
