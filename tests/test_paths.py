"""Package data and output folders (simulation/paths.py): what an installed wheel relies on."""

from pathlib import Path

from simulation import paths, results
from simulation.commands.run import RUNS_DIR
from simulation.commands.sweep import spec_path
from simulation.results import check_output_folder
from simulation.sweep import engine
from simulation.sweep.spec import load_spec
from simulation.validation import CASES


def test_package_data_holds_the_scenarios_the_code_names():
    scenarios = {p.name for p in paths.package_data("scenarios").glob("*.toml")}
    assert {"default.toml", "funnel.toml", "scale_1m.toml"} <= scenarios
    validation = {p.name for p in paths.package_data("validation").glob("*.toml")}
    assert {f for case in CASES.values() for f in case.scenarios} <= validation
    sweeps = {p.name for p in paths.package_data("sweeps").glob("*.toml")}
    assert {"phase_quality_budget.toml", "sobol_roi.toml"} <= sweeps


def test_default_outputs_land_under_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert not paths.RESULTS.is_absolute()
    out = check_output_folder(RUNS_DIR / "default-seed0", "run")
    assert out == tmp_path.resolve() / "results" / "runs" / "default-seed0"
    spec = load_spec(paths.package_data("sweeps") / "sobol_roi.toml")
    assert engine.default_out(spec).resolve() == tmp_path.resolve() / "results/sweeps/sobol_roi"


def test_no_clone_no_commit(monkeypatch):
    monkeypatch.setattr(results, "PROJECT_ROOT", None)
    assert results.commit_label(results.git_info()) is None
    assert results.git_info() == {"commit": None, "dirty": None}


def test_the_clone_is_found_from_the_code():
    # The tests run from the clone (editable install or its folder on sys.path).
    assert paths.SOURCE_ROOT == Path(paths.__file__).resolve().parent.parent


def test_sweep_spec_by_name_or_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bundled = paths.package_data("sweeps") / "sobol_roi.toml"
    assert spec_path("sobol_roi") == bundled
    assert spec_path("sobol_roi.toml") == bundled
    (tmp_path / "sobol_roi.toml").write_text("name = 'mine'\n")
    assert spec_path("sobol_roi.toml") == Path("sobol_roi.toml")  # a file here wins
    assert spec_path("no_such_spec") == Path("no_such_spec")  # load_spec reports it
