"""``snowball experiment``: run the studies of ``experiments/`` and write ``results/<study>/``.

``snowball experiment NAME [--replicates R] [--quick] [--jobs J | --dask ADDRESS]`` runs one
study on the sweep's executors (local processes, or a Dask cluster), keeping each completed
run in a work folder beside the output folder so that a killed study continues with
``--resume`` (``--retry-failed`` also reruns the runs recorded failed);
``snowball experiment --all`` runs every study in order and rewrites ``results/GALLERY.md``;
``--list`` shows the studies and ``--plan`` their size and estimated cost without running;
``--reanalyse`` recomputes a folder's summary, figure and report from its raw run outputs;
``--without MECHANISM`` runs an ablation (a version-2 mechanism set back to version 1's values
in every arm, :mod:`experiments._versions`) into ``results/ablations/``. The studies are the
``experiments`` package, installed with ``simulation``. Outputs go under
``./results/`` of the current folder. The full-size run also rewrites the gallery in
``README.md``, but only in the project's own clone: when the current folder holds a README.md
with the gallery markers (:data:`experiments._gallery.GALLERY_START`).
"""

import argparse
import signal
import sys
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
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="J",
        help="local worker processes (default 1: run in this process)",
    )
    where.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run on a Dask cluster: a scheduler (tcp://host:port or a scheduler file) or "
        "local:N for a local cluster of N workers",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run: keep the runs its work folder holds "
        "(.<out>.work beside the output folder) and run only the others",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume, also run again the runs recorded as failed",
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
        "--without",
        metavar="MECHANISM[,MECHANISM]",
        default=None,
        help="an ablation: run with these version-2 mechanisms set back to version 1's values "
        "in every arm (audience_estimates, interest_dynamics, warmup_content, run_of_show, "
        "economics); default output results/ablations/without_<m>/<study>/",
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar (drawn only on a terminal)"
    )
    p.set_defaults(func=cmd_experiment)


def cmd_experiment(args: argparse.Namespace) -> int:
    from simulation.errors import UsageError

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
    if args.name and args.name not in STUDY_NAMES:  # names only: no study module loads
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
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.dask is not None:
        from simulation.sweep.executors import check_address

        check_address(args.dask)
    if args.retry_failed and not args.resume:
        raise UsageError("--retry-failed continues an interrupted run: add --resume")
    if (args.resume or args.dask is not None) and (args.reanalyse or args.plan):
        flag = "--resume" if args.resume else "--dask"
        raise UsageError(f"{flag} runs a study: it cannot go with --plan or --reanalyse")
    # The flags are checked before the studies' modules (the model, pandas, scipy) load.
    from experiments._execute import StudyFailed
    from experiments._gallery import write_gallery
    from experiments._outputs import RESULTS_DIR, study_dir
    from experiments._plan import pick_size
    from experiments._study import run_study
    from experiments._versions import ablate, ablation_dir, check_names
    from experiments._work import StudyWork, plan_identity
    from simulation.commands.run import show_progress
    from simulation.footprint import check_fits
    from simulation.results import check_output_folder, check_parent_folder, read_manifest
    from simulation.sweep.engine import Terminated, sigterm_stops
    from simulation.sweep.executors import ExecutorChoice

    size = pick_size(args.size, args.quick)
    names = list(STUDY_NAMES) if args.all else [args.name]
    without = check_names(args.without.split(",")) if args.without is not None else []

    def plan_of(name: str):
        return ablate(STUDIES[name].plan(size, args.replicates), without)

    jobs = {}  # worker processes per study: never more than it has runs
    if not args.reanalyse and not args.plan:
        for name in names:  # every run of a study is built from its plan: check them first
            plan = plan_of(name)
            jobs[name] = min(args.jobs or 1, plan.n_runs)
            check_fits(  # on a Dask cluster each worker runs one at a time, elsewhere
                (plan.scenario(arm) for arm in plan.arms),
                f"study {name} ({size} size)",
                concurrent=jobs[name] if args.dask is None else 1,
            )
    if args.plan:
        total = 0.0
        for name in names:
            plan = plan_of(name)
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
        elif without:
            out = ablation_dir(RESULTS_DIR, name, size, without)
        else:
            out = study_dir(name, size)
        if args.reanalyse:
            out = check_parent_folder(out)
            man = read_manifest(out) or {}
            if (man.get("kind"), man.get("study")) != ("experiment", name):
                raise UsageError(f"--out {out}: holds no outputs of the study {name} to reanalyse")
        # Before any run: a folder that would be lost (or files in it) is refused, and so
        # is a work folder of an interrupted run without --resume (or of another plan).
        out = check_output_folder(out, "experiment", same={"study": name})
        if not args.reanalyse:
            StudyWork(out).check(plan_identity(plan_of(name)), args.resume)
        outs[name] = out
    for name in names:
        out = outs[name]
        if args.reanalyse:
            analysis = _reanalyse(name, out)
            print(f"{name}: {analysis.verdict} (reanalysed) -> {out}/\n  {analysis.finding}")
            continue
        start = time.perf_counter()
        work = StudyWork(out)
        if args.resume and not work.exists() and _complete(name, out, plan_of(name)):
            print(f"{name}: already complete (same plan and code state) -> {out}/")
            continue
        if args.resume and not work.exists():
            print(
                f"snowball: note: {name}: no interrupted run to resume ({work.root} does "
                "not exist); running it from the start",
                file=sys.stderr,
            )
        elif args.resume:
            print(f"{name}: resuming, {work.count_runs()} runs already done", file=sys.stderr)
        choice = (
            ExecutorChoice(jobs=jobs[name]) if args.dask is None else ExecutorChoice(dask=args.dask)
        )
        try:
            with sigterm_stops():
                analysis = run_study(
                    name,
                    args.replicates,
                    jobs=jobs[name],
                    out_dir=out,
                    size=size,
                    progress=show_progress(args),
                    executor=choice,
                    resume=args.resume,
                    retry_failed=args.retry_failed,
                    without=without,
                )
        except StudyFailed as exc:
            print(f"snowball: error: {exc}", file=sys.stderr)
            return 1
        except (Terminated, KeyboardInterrupt) as exc:
            what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
            kept = (
                f"the completed runs are kept in {work.root}"
                if work.exists()
                else ("no run had completed")
            )
            print(
                f"snowball: {what}: {kept}; run the same command with --resume to continue",
                file=sys.stderr,
            )
            return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
        print(
            f"{name}: {analysis.verdict} ({time.perf_counter() - start:.0f} s) -> {out}/\n"
            f"  {analysis.finding}"
        )
    if without:
        pass  # an ablation is not a result of the gallery
    elif args.out is None and size == "full":
        # The README's gallery only in the project's clone (a README.md with the markers).
        write_gallery(RESULTS_DIR, readme=Path.cwd() / "README.md")
    elif args.out is None and args.all:
        write_gallery(study_dir(names[0], size).parent)
    elif args.all:
        write_gallery(args.out.expanduser().resolve())
    return 0


def _complete(name: str, out: Path, plan: Any) -> bool:
    """Whether ``out`` holds the outputs of exactly this plan of study ``name``, made by
    this code state (the manifest's ``plan_fingerprint``): ``--resume`` has nothing to do."""
    from experiments._work import plan_identity
    from simulation.results import read_manifest
    from simulation.sweep.engine import fingerprint

    man = read_manifest(out) or {}
    if man.get("kind") != "experiment" or not man.get("plan_fingerprint"):
        return False
    return man["plan_fingerprint"] == fingerprint(plan_identity(plan))


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
