"""Bad input to ``snowball sweep`` and ``snowball analyze``: each case makes its files in a
temporary folder and returns the arguments after ``snowball``. Every one must end with exit
status 2, exactly one line on stderr, no traceback, and nothing new or changed on disk
(tests/test_bad_inputs.py runs them as ``python -m simulation ARGS`` with cwd = the folder).

``CASES`` is a list of ``(case_id, setup)``; ``setup(tmp) -> argv``.
"""

import os
from collections.abc import Callable
from pathlib import Path

PERSUASION = "streams.focal.persuasion"
BUDGET = "streams.focal.campaign.daily_budget"

SPEC = f"""
name = "bad"
scenario = "default"
seed = 1
replicates = 1
[parameters]
"{PERSUASION}" = [0.03, 0.06]
"""


def _spec(tmp: Path, text: str = SPEC, name: str = "spec.toml") -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def _sweep(tmp: Path, spec: Path, *extra: str) -> list[str]:
    return ["sweep", str(spec), "--out", str(tmp / "out"), "--jobs", "1", "-q", *extra]


def _with(body: str) -> Callable[[Path], list[str]]:
    """A spec of SPEC's top lines and ``body`` (its own [parameters] or [design])."""
    head = SPEC.split("[parameters]")[0]
    return lambda tmp: _sweep(tmp, _spec(tmp, head + body))


def _swept(tmp: Path) -> Path:
    """A finished two-run sweep (toy runner) in tmp/done, for the analyze cases."""
    from simulation.sweep.engine import run_sweep
    from simulation.sweep.executors import ExecutorChoice
    from simulation.sweep.fakes import toy_runner

    out = tmp / "done"
    run_sweep(
        _spec(tmp, SPEC + f'"{BUDGET}" = [0, 1000]\n', "done.toml"),
        out,
        runner=toy_runner,
        executor=ExecutorChoice(jobs=1),
        progress=False,
    )
    return out


# ------------------------------------------------------------------------ the spec file


def spec_missing(tmp: Path) -> list[str]:
    return _sweep(tmp, tmp / "nope.toml")


def spec_is_a_folder(tmp: Path) -> list[str]:
    (tmp / "folder.toml").mkdir()
    return _sweep(tmp, tmp / "folder.toml")


def spec_is_a_fifo(tmp: Path) -> list[str]:
    os.mkfifo(tmp / "fifo.toml")
    return _sweep(tmp, tmp / "fifo.toml")


def spec_is_a_symlink_loop(tmp: Path) -> list[str]:
    (tmp / "a.toml").symlink_to(tmp / "b.toml")
    (tmp / "b.toml").symlink_to(tmp / "a.toml")
    return _sweep(tmp, tmp / "a.toml")


def spec_is_a_dangling_symlink(tmp: Path) -> list[str]:
    (tmp / "link.toml").symlink_to(tmp / "gone.toml")
    return _sweep(tmp, tmp / "link.toml")


def spec_without_read_permission(tmp: Path) -> list[str]:
    spec = _spec(tmp)
    spec.chmod(0)
    return _sweep(tmp, spec)


def spec_not_utf8(tmp: Path) -> list[str]:
    spec = tmp / "spec.toml"
    spec.write_bytes(b'name = "\xff\xfe"\n')
    return _sweep(tmp, spec)


def spec_syntax_error(tmp: Path) -> list[str]:
    return _sweep(tmp, _spec(tmp, SPEC.replace("seed = 1", "seed = = 1")))


def spec_unknown_top_key(tmp: Path) -> list[str]:
    return _sweep(tmp, _spec(tmp, SPEC.replace("replicates", "replicate")))


def spec_seed_missing(tmp: Path) -> list[str]:
    return _sweep(tmp, _spec(tmp, SPEC.replace("seed = 1\n", "")))


def spec_scenario_missing(tmp: Path) -> list[str]:
    return _sweep(tmp, _spec(tmp, SPEC.replace('"default"', '"nowhere"')))


def spec_scenario_is_a_fifo(tmp: Path) -> list[str]:
    os.mkfifo(tmp / "scenario.toml")
    return _sweep(tmp, _spec(tmp, SPEC.replace('"default"', '"scenario.toml"')))


def spec_scenario_is_a_folder(tmp: Path) -> list[str]:
    (tmp / "scenario.toml").mkdir()
    return _sweep(tmp, _spec(tmp, SPEC.replace('"default"', '"scenario.toml"')))


CASES_OF_SPECS = [
    (
        "spec_unknown_parameter",
        _with('[parameters]\n"streams.focal.persuation" = [0.03, 0.06]\n'),
    ),
    (
        "spec_grid_num_1e9",
        _with(f'[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1, num = 1000000000 }}\n'),
    ),
    (
        "spec_grid_product_too_large",
        _with(
            f'[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1, num = 100000 }}\n'
            f'"{BUDGET}" = {{ low = 0, high = 9000, num = 100000 }}\n'
        ),
    ),
    (
        "spec_lhs_samples_huge",
        _with(
            f'[design]\nkind = "lhs"\nsamples = 1000000000000\n[parameters]\n'
            f'"{PERSUASION}" = {{ low = 0.01, high = 0.1 }}\n'
        ),
    ),
    (
        "spec_sobol_samples_huge",
        _with(
            f'[design]\nkind = "sobol"\nsamples = 1099511627776\n[parameters]\n'
            f'"{PERSUASION}" = {{ low = 0.01, high = 0.1 }}\n'
        ),
    ),
    (
        "spec_max_runs_exceeded",
        _with(
            f'max_runs = 3\n[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1, num = 4 }}\n'
        ),
    ),
    (
        "spec_inverted_range",
        _with(f'[parameters]\n"{PERSUASION}" = {{ low = 0.1, high = 0.01, num = 3 }}\n'),
    ),
    ("spec_value_out_of_range", _with(f'[parameters]\n"{PERSUASION}" = [0.5, 2.0]\n')),
    (
        "spec_nan_bound",
        _with(f'[parameters]\n"{PERSUASION}" = {{ low = nan, high = 0.1, num = 3 }}\n'),
    ),
    (
        "spec_sobol_not_power_of_two",
        _with(
            f'[design]\nkind = "sobol"\nsamples = 100\n[parameters]\n'
            f'"{PERSUASION}" = {{ low = 0.01, high = 0.1 }}\n'
        ),
    ),
]


# ------------------------------------------------------------------- sweep flags, folders


def jobs_zero(tmp: Path) -> list[str]:
    return [*_sweep(tmp, _spec(tmp))[:-3], "--jobs", "0"]


def retry_failed_without_resume(tmp: Path) -> list[str]:
    return _sweep(tmp, _spec(tmp), "--retry-failed")


def dask_local_not_a_number(tmp: Path) -> list[str]:
    return [*_sweep(tmp, _spec(tmp))[:-3], "--dask", "local:x"]


def dask_timeout_nan(tmp: Path) -> list[str]:
    return [*_sweep(tmp, _spec(tmp))[:-3], "--dask", "local:1", "--dask-timeout", "nan"]


def out_is_a_file(tmp: Path) -> list[str]:
    (tmp / "out").write_text("not a folder")
    return _sweep(tmp, _spec(tmp))


def out_holds_something_else(tmp: Path) -> list[str]:
    (tmp / "out").mkdir()
    (tmp / "out" / "notes.txt").write_text("mine")
    return _sweep(tmp, _spec(tmp))


def out_holds_a_sweep_of_another_runner(tmp: Path) -> list[str]:
    out = _swept(tmp)
    return ["sweep", str(tmp / "done.toml"), "--out", str(out), "--jobs", "1", "-q"]


def damaged_record_without_resume(tmp: Path) -> list[str]:
    out = _swept(tmp)
    (out / "sweep.json").write_text((out / "sweep.json").read_text()[:50])
    return ["sweep", str(tmp / "done.toml"), "--out", str(out), "--jobs", "1", "-q"]


def damaged_record_resumed_with_another_spec(tmp: Path) -> list[str]:
    out = _swept(tmp)
    (out / "sweep.json").write_text("{")
    other = _spec(tmp, (tmp / "done.toml").read_text().replace("seed = 1", "seed = 2"), "o.toml")
    return ["sweep", str(other), "--out", str(out), "--jobs", "1", "-q", "--resume"]


# ------------------------------------------------------------------------------ analyze


def analyze_missing_folder(tmp: Path) -> list[str]:
    return ["analyze", str(tmp / "nowhere")]


def analyze_not_a_sweep(tmp: Path) -> list[str]:
    return ["analyze", str(tmp)]


def analyze_phase_not_varied(tmp: Path) -> list[str]:
    return ["analyze", str(_swept(tmp)), "--phase", f"{PERSUASION},nope"]


def analyze_phase_one_name(tmp: Path) -> list[str]:
    return ["analyze", str(_swept(tmp)), "--phase", PERSUASION]


def analyze_threshold_nan(tmp: Path) -> list[str]:
    return ["analyze", str(_swept(tmp)), "--threshold", "nan"]


def analyze_threshold_inf(tmp: Path) -> list[str]:
    return ["analyze", str(_swept(tmp)), "--threshold", "inf"]


def analyze_unknown_metric(tmp: Path) -> list[str]:
    return ["analyze", str(_swept(tmp)), "--metric", "took_of"]


def analyze_out_is_a_file(tmp: Path) -> list[str]:
    out = _swept(tmp)
    return ["analyze", str(out), "--out", str(out / "manifest.json")]


def analyze_corrupt_design(tmp: Path) -> list[str]:
    out = _swept(tmp)
    data = bytearray((out / "design.parquet").read_bytes())
    data[len(data) // 3] ^= 0xFF
    (out / "design.parquet").write_bytes(bytes(data))
    return ["analyze", str(out)]


def analyze_truncated_record(tmp: Path) -> list[str]:
    out = _swept(tmp)
    (out / "sweep.json").write_text((out / "sweep.json").read_text()[:80])
    return ["analyze", str(out)]


def analyze_read_only_sweep_folder(tmp: Path) -> list[str]:
    out = _swept(tmp)
    out.chmod(0o555)
    return ["analyze", str(out)]


CASES: list[tuple[str, Callable[[Path], list[str]]]] = [
    (f.__name__, f)
    for f in (
        spec_missing,
        spec_is_a_folder,
        spec_is_a_fifo,
        spec_is_a_symlink_loop,
        spec_is_a_dangling_symlink,
        spec_not_utf8,
        spec_syntax_error,
        spec_unknown_top_key,
        spec_seed_missing,
        spec_scenario_missing,
        spec_scenario_is_a_fifo,
        spec_scenario_is_a_folder,
    )
]
CASES += CASES_OF_SPECS
CASES += [
    (f.__name__, f)
    for f in (
        jobs_zero,
        retry_failed_without_resume,
        dask_local_not_a_number,
        dask_timeout_nan,
        out_is_a_file,
        out_holds_something_else,
        out_holds_a_sweep_of_another_runner,
        damaged_record_without_resume,
        damaged_record_resumed_with_another_spec,
        analyze_missing_folder,
        analyze_not_a_sweep,
        analyze_phase_not_varied,
        analyze_phase_one_name,
        analyze_threshold_nan,
        analyze_threshold_inf,
        analyze_unknown_metric,
        analyze_out_is_a_file,
        analyze_corrupt_design,
        analyze_truncated_record,
    )
]
if os.geteuid() != 0:  # root reads and writes regardless of permission bits
    CASES += [
        (f.__name__, f) for f in (spec_without_read_permission, analyze_read_only_sweep_folder)
    ]
