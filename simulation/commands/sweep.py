"""``snowball sweep`` and ``snowball analyze``: run a parameter sweep, then summarise it.

``snowball sweep SPEC.toml [--jobs J | --dask ADDRESS | --dask local:N] [--resume]
[--out DIR]`` runs every (point, replicate) of the spec, recording each run as it completes;
``snowball analyze DIR`` writes per-point summaries, sensitivity indices and a phase diagram
to DIR/analysis/. docs/SWEEPS.md explains the spec format and the output folder.

Exit status: 0 when every run succeeded, 1 when some runs failed or are missing (their rows
say why; ``--resume`` continues), 2 for bad input (one line on stderr, nothing written), 143
after SIGTERM (workers stopped, completed runs kept; ``--resume`` continues).
"""

import argparse
import math
import signal
import sys
from pathlib import Path
from typing import Any

from simulation.errors import UsageError


def spec_path(text: str) -> Path:
    """A sweep spec given as a path, or as the name (``sobol_roi``) or file name
    (``sobol_roi.toml``) of an example spec in experiments/sweeps/ (package data), when no
    file of that name is in the current folder."""
    from simulation.paths import package_data

    path = Path(text)
    if not path.exists() and path.parent == Path("."):
        bundled = package_data("sweeps") / (path.name if path.suffix == ".toml" else f"{text}.toml")
        if bundled.is_file():
            return bundled
    return path


def register(subparsers: Any) -> None:
    """Add the ``sweep`` and ``analyze`` subcommands."""
    p = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep described by a spec (TOML)",
        description="Run every point x replicate of a sweep spec, recording each run as it "
        "completes; a killed sweep continues with --resume.",
        epilog="Examples: snowball sweep experiments/sweeps/phase_quality_budget.toml "
        "--jobs 8 | --dask local:4 | --dask tcp://scheduler:8786 (see docs/SWEEPS.md)",
    )
    p.add_argument(
        "spec",
        metavar="SPEC.toml",
        help="the sweep spec: a file, or the name of an example spec shipped with snowball "
        "(experiments/sweeps/: phase_quality_budget, sobol_roi)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--jobs",
        "-j",
        metavar="J",
        help="local worker processes (default: one per core; 1 runs in this process)",
    )
    where.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="a Dask scheduler (tcp://host:port or a scheduler file) or "
        "local:N for a local Dask cluster of N workers",
    )
    p.add_argument(
        "--dask-timeout",
        metavar="SECONDS",
        default="5",
        help="give up on an unanswering Dask scheduler after this long (default 5)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep already in --out: skip completed runs",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume, also run again the runs recorded as failed",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: results/sweeps/<spec name> in the current folder)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=sweep_command)

    a = subparsers.add_parser(
        "analyze",
        help="summarise a sweep: intervals per point, sensitivity, phase diagram",
        description="Write DIR/analysis/: summary.csv (mean and 95% interval per point and "
        "metric), sensitivity.csv/.png (Sobol or Morris designs) and phase.png (two varied "
        "parameters).",
    )
    a.add_argument("dir", metavar="DIR", help="a sweep's output folder")
    a.add_argument(
        "--metric",
        help="metric of the phase diagram and the first sensitivity "
        "panel (default: the spec's [analysis] metric, else took_off)",
    )
    a.add_argument(
        "--phase", metavar="A,B", help="the two varied parameters of the phase diagram (x, y)"
    )
    a.add_argument(
        "--threshold",
        metavar="T",
        help="level of the phase diagram's contour (default 0.5 for a yes/no "
        "metric such as took_off)",
    )
    a.add_argument(
        "--out",
        metavar="OUT",
        help="write the analysis to OUT instead of DIR/analysis (e.g. for a sweep folder "
        "that cannot be written)",
    )
    a.add_argument("--quiet", "-q", action="store_true", help="no notes on stderr")
    a.set_defaults(func=analyze_command)


def _positive_int(flag: str, text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise UsageError(f"{flag} {text}: must be a whole number >= 1")
    return n


def _positive_float(flag: str, text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = math.nan
    if not (math.isfinite(x) and x > 0):
        raise UsageError(f"{flag} {text}: must be a number of seconds > 0")
    return x


def sweep_command(args: argparse.Namespace) -> int:
    """Run ``snowball sweep``; exit status 0 (all ok), 1 (failed or missing runs)."""
    from simulation.sweep import plural
    from simulation.sweep.spec import load_spec

    jobs = _positive_int("--jobs", args.jobs) if args.jobs is not None else None
    timeout = _positive_float("--dask-timeout", args.dask_timeout)
    if args.dask is not None and not args.dask.strip():
        raise UsageError("--dask: needs an address (tcp://host:port, a scheduler file or local:N)")
    if args.retry_failed and not args.resume:
        raise UsageError("--retry-failed continues a sweep: add --resume")
    # The flags and the spec are checked before the engine (and with it the model, pandas
    # and scipy) is imported: a bad one is refused in a fraction of the start-up time.
    spec = load_spec(spec_path(args.spec))

    from simulation.sweep.engine import Terminated, run_sweep, sigterm_stops
    from simulation.sweep.executors import ExecutorChoice

    choice = ExecutorChoice(jobs=jobs, dask=args.dask, dask_timeout=timeout)
    try:
        with sigterm_stops():
            result = run_sweep(
                spec,
                args.out,
                executor=choice,
                resume=args.resume,
                retry_failed=args.retry_failed,
                progress=not args.quiet and sys.stderr.isatty(),  # no bar redrawn into a log
            )
    except Terminated:
        print(
            "snowball: terminated (SIGTERM): the runs completed so far are kept; run the "
            "same command with --resume to continue",
            file=sys.stderr,
        )
        return 128 + signal.SIGTERM
    m = result.manifest
    session = m["sessions"][-1]
    print(
        f"sweep {m['name']}: {plural(result.runs, 'run')} "
        f"({plural(m['design']['points'], 'point')} x {plural(m['replicates'], 'replicate')}) "
        f"in {result.out}"
    )
    print(
        f"  ok {result.ok}, failed {result.failed}, missing {result.missing}; this "
        f"session ran {result.ran} in {result.wall_seconds:.1f} s "
        f"({session['executor'].get('kind')})"
    )
    print(
        f"  wrote {Path(result.out) / 'runs.parquet'} and manifest.json; next: snowball "
        f"analyze {result.out}"
    )
    notes = list(result.notes)
    if result.ran and (Path(result.out) / "analysis").is_dir():
        notes.append(
            f"{Path(result.out) / 'analysis'} was made before this session's runs; run "
            f"snowball analyze {result.out} again to bring it up to date"
        )
    for note in notes:
        print(f"snowball: note: {note}", file=sys.stderr)
    if result.failed:
        print(
            f"snowball: {result.failed} runs failed; their errors are in the 'error' column "
            "of runs.parquet",
            file=sys.stderr,
        )
    return 0 if result.complete and not result.failed else 1


def analyze_command(args: argparse.Namespace) -> int:
    """Run ``snowball analyze`` and print what it found and wrote."""
    threshold = None
    if args.threshold is not None:
        try:
            threshold = float(args.threshold)
        except ValueError:
            threshold = math.nan
        if not math.isfinite(threshold):
            raise UsageError(f"--threshold {args.threshold}: must be a number (finite)")
    phase = None
    if args.phase is not None:
        parts = [p.strip() for p in args.phase.split(",")]
        if len(parts) != 2 or not all(parts):
            raise UsageError(f"--phase {args.phase}: must name two varied parameters, A,B")
        phase = (parts[0], parts[1])
    from simulation.sweep.analysis import analyze_sweep  # pandas: after the flags' checks

    report = analyze_sweep(
        args.dir, metric=args.metric, phase=phase, threshold=threshold, out=args.out
    )
    print(report.text())
    for note in [] if args.quiet else report.notes:
        print(f"snowball: note: {note}", file=sys.stderr)
    return 0
