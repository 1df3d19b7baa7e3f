"""``snowball experiment``: run the studies of ``experiments/`` and write ``results/<study>/``.

``snowball experiment NAME [--replicates R] [--quick] [--jobs J]`` runs one study;
``snowball experiment --all`` runs every study in order and rewrites ``results/GALLERY.md``;
``--list`` shows the studies and ``--plan`` their size and estimated cost without running;
``--reanalyse`` recomputes a folder's summary, figure and report from its raw run outputs.
The studies are the ``experiments`` package, installed with ``simulation``. Outputs go under
``./results/`` of the current folder. The full-size run also rewrites the gallery in
``README.md``, but only in the project's own clone: when the current folder holds a README.md
with the gallery markers (:data:`experiments._gallery.GALLERY_START`).
"""

import argparse
import time
from pathlib import Path
from typing import Any

MAX_REPLICATES = 100_000
"""Largest ``--replicates``: a full study runs 10 to 40 seeds per arm; 100,000 is far past
any use and keeps the seed list (built before the first run) small."""


def ensure_importable() -> None:
    """Import the ``experiments`` package (installed with ``simulation``); a broken install
    that lacks it is reported as such rather than as a failing study."""
    try:
        import experiments  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"the experiments package of snowball-sim is missing ({exc}); reinstall snowball-sim"
        ) from exc


def register(subparsers: Any) -> None:
    """Add the ``experiment`` subcommand."""
    p = subparsers.add_parser(
        "experiment",
        help="run a study (a claim of the source material) and write results/<study>/",
        description="Run one study, or --all, and write results/<study>/: figure.png, "
        "summary.csv, runs.csv and daily.csv.gz (raw run outputs), manifest.json and "
        "REPORT.md.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the study (see --list)")
    p.add_argument("--all", action="store_true", help="run every study in order")
    p.add_argument("--list", action="store_true", help="list the studies and exit")
    p.add_argument(
        "--replicates",
        "-r",
        type=int,
        default=None,
        metavar="R",
        help="seeds per arm (default: the study's own for the chosen size)",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="a tiny version (seconds; for the test suite)"
    )
    size.add_argument(
        "--size",
        choices=("quick", "moderate", "full"),
        default=None,
        help="study size (default full; moderate is a smaller market and fewer seeds)",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=1,
        metavar="J",
        help="worker processes (default 1: run in this process)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: in ./results/ of the current folder: "
        "results/<study>/ at full size, results/<size>/<study>/ "
        "at the others, so a --quick run never replaces the published results; with --all, "
        "DIR/<study>/)",
    )
    p.add_argument(
        "--plan",
        action="store_true",
        help="print each study's arms, seeds and estimated single-core cost; run nothing",
    )
    p.add_argument(
        "--reanalyse",
        action="store_true",
        help="recompute summary, figure and report from the raw outputs already in the "
        "output folder; run nothing",
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar (drawn only on a terminal)"
    )
    p.set_defaults(func=cmd_experiment)


def cmd_experiment(args: argparse.Namespace) -> int:
    from simulation.cli import UsageError

    ensure_importable()
    from experiments import STUDIES, STUDY_NAMES

    if args.list:
        for name in STUDY_NAMES:
            print(f"{name:<20} {STUDIES[name].question}")
        return 0
    if args.all and args.name:
        raise UsageError("give a study NAME or --all, not both")
    if not args.all and not args.name:
        raise UsageError("give a study NAME or --all (see snowball experiment --list)")
    if args.name and args.name not in STUDIES:
        import difflib

        near = difflib.get_close_matches(args.name, STUDY_NAMES, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise UsageError(f"no study named '{args.name}'{hint}; studies: {', '.join(STUDY_NAMES)}")
    if args.replicates is not None and args.replicates < 2:
        raise UsageError("--replicates must be at least 2 (the tests pair replicates)")
    if args.replicates is not None and args.replicates > MAX_REPLICATES:
        raise UsageError(
            f"--replicates {args.replicates}: must be in 2..{MAX_REPLICATES:,} (the seeds of "
            "every run are listed before the first one starts)"
        )
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    # The flags are checked before the studies' modules (the model, pandas, scipy) load.
    from experiments._gallery import write_gallery
    from experiments._outputs import RESULTS_DIR, study_dir
    from experiments._plan import pick_size
    from experiments._study import run_study
    from simulation.commands.run import show_progress
    from simulation.footprint import check_fits
    from simulation.results import check_output_folder, check_parent_folder, read_manifest

    size = pick_size(args.size, args.quick)
    names = list(STUDY_NAMES) if args.all else [args.name]
    jobs = {}  # worker processes per study: never more than it has runs
    if not args.reanalyse and not args.plan:
        for name in names:  # every run of a study is built from its plan: check them first
            plan = STUDIES[name].plan(size, args.replicates)
            jobs[name] = min(args.jobs, plan.n_runs)
            check_fits(
                (plan.scenario(arm) for arm in plan.arms),
                f"study {name} ({size} size)",
                concurrent=jobs[name],
            )
    if args.plan:
        total = 0.0
        for name in names:
            plan = STUDIES[name].plan(size, args.replicates)
            cost = plan.estimated_seconds()
            total += cost
            print(f"{name:<20} {plan.describe()}; ~{cost / 60:.1f} CPU minutes")
        if len(names) > 1:
            print(f"{'total':<20} ~{total / 60:.1f} CPU minutes")
        return 0
    if args.out is not None and args.all:
        check_parent_folder(args.out)
    outs = {}
    for name in names:
        if args.out is not None:
            out = args.out / name if args.all else args.out
        else:
            out = study_dir(name, size)
        if args.reanalyse:
            out = check_parent_folder(out)
            man = read_manifest(out) or {}
            if (man.get("kind"), man.get("study")) != ("experiment", name):
                raise UsageError(f"--out {out}: holds no outputs of the study {name} to reanalyse")
        # Before any run: a folder that would be lost (or files in it) is refused.
        out = check_output_folder(out, "experiment", same={"study": name})
        outs[name] = out
    for name in names:
        out = outs[name]
        if args.reanalyse:
            analysis = _reanalyse(name, out)
            print(f"{name}: {analysis.verdict} (reanalysed) -> {out}/\n  {analysis.finding}")
            continue
        start = time.perf_counter()
        analysis = run_study(
            name,
            args.replicates,
            jobs=jobs[name],
            out_dir=out,
            size=size,
            progress=show_progress(args),
        )
        print(
            f"{name}: {analysis.verdict} ({time.perf_counter() - start:.0f} s) -> {out}/\n"
            f"  {analysis.finding}"
        )
    if args.out is None and size == "full":
        # The README's gallery only in the project's clone (a README.md with the markers).
        write_gallery(RESULTS_DIR, readme=Path.cwd() / "README.md")
    elif args.out is None and args.all:
        write_gallery(study_dir(names[0], size).parent)
    elif args.all:
        write_gallery(args.out.expanduser().resolve())
    return 0


def _reanalyse(name: str, out: Path) -> object:
    """``refresh_outputs(out)``, with stored outputs that are missing, unreadable or lack a
    column the analysis reads reported in one line (they are files on disk: rerunning the
    study mends them). Other errors of the analysis are the code's and propagate."""
    import zlib

    from experiments._outputs import load_outputs
    from experiments._study import refresh_outputs
    from simulation.errors import UsageError, first_line

    def damaged(what: str) -> UsageError:
        return UsageError(
            f"--out {out}: the stored outputs of {name} cannot be reanalysed ({what}); "
            "run the study again without --reanalyse"
        )

    try:
        load_outputs(out)
    except (OSError, EOFError, zlib.error, ValueError) as exc:  # parse errors are ValueErrors
        raise damaged(first_line(exc)) from None
    try:
        return refresh_outputs(out)
    except KeyError as exc:
        raise damaged(f"no {exc} in the stored tables") from None
