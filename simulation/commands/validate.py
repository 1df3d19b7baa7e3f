"""``snowball validate``: the simulator against closed forms in its special cases.

``snowball validate [--quick] [--case NAME ...] [--seed N] [--set KEY=VALUE ...] [--out DIR]``
runs each special case of :mod:`simulation.validation` through the real model, prints the
table (case, quantity, theory, simulated mean, 95% simultaneous interval, n, verdict) and
writes the table as CSV and Markdown, one figure per case and a manifest to the output
folder (default ``./results/validation/`` for the full run of every case,
``results/validation-quick/`` with ``--quick``, ``results/validation-<cases>/`` for a
subset, so that a partial run never replaces the full results).

Exit status: 0 when every check passes, 1 when any fails, 2 for bad input (one line on
stderr, nothing written).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.paths import RESULTS

if TYPE_CHECKING:
    import pandas as pd

RESULTS_DIR = RESULTS  # ./results of the current folder


class _HelpWithCases(argparse.Action):
    """``-h/--help`` of ``validate``. The case names and the defaults of ``--seed`` and
    ``--alpha`` live in :mod:`simulation.validation`, which imports the model, pandas and
    scipy: they are read here, when the help is asked for, so that building the parser stays
    cheap and a bad input is refused before those modules load."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any):
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from simulation.validation import CASES, DEFAULT_SEED, FAMILY_ALPHA

        parser.epilog = "cases: " + ", ".join(CASES)
        parser.set_defaults(seed=DEFAULT_SEED, alpha=FAMILY_ALPHA)  # shown by %(default)s
        parser.print_help()
        parser.exit()


def register(subparsers: Any) -> None:
    """Add the ``validate`` subcommand."""
    p = subparsers.add_parser(
        "validate",
        help="check the simulator against closed-form results in its special cases",
        description="Run each special case (scenario files in experiments/validation/) "
        "through the real model and test it against theory; see docs/VALIDATION.md.",
        add_help=False,
    )
    p.add_argument("-h", "--help", action=_HelpWithCases, help="show this help message and exit")
    p.add_argument("--quick", action="store_true", help="the small size the test suite runs")
    p.add_argument(
        "--case",
        dest="cases",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this case (repeatable; the cases are listed below)",
    )
    p.add_argument(
        "--seed", type=int, default=None, help="root seed of the validation (default %(default)s)"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value in every scenario of the selected cases, "
        "e.g. cascade.reward_per_entry=2.0 (repeatable)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="family-wise error rate over all checks (Bonferroni; default %(default)s)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default, in ./results/ of the current folder: validation/, "
        "validation-quick/ with "
        "--quick, validation[-quick]-<cases>/ for --case)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_validate)


def default_out(quick: bool, cases: list[str]) -> Path:
    """Output folder: results/validation[-quick][-case...]."""
    name = "validation" + ("-quick" if quick else "")
    if cases:
        name += "-" + "-".join(dict.fromkeys(cases))
    return RESULTS_DIR / name


def cmd_validate(args: argparse.Namespace) -> int:
    from simulation.atomic import atomic_write_json
    from simulation.config import ConfigError, load_scenario, parse_override

    # The flags first: a bad one is refused before simulation.validation (the model, pandas,
    # scipy) is imported.
    if args.seed is not None and args.seed < 0:
        raise ConfigError("--seed", "seed", args.seed, "must be an integer >= 0")
    if args.alpha is not None and not 0 < args.alpha < 1:
        raise ConfigError("--alpha", "alpha", args.alpha, "must be in (0, 1)")
    from simulation.footprint import check_fits
    from simulation.results import atomic_dir, check_output_folder, manifest
    from simulation.validation import CASES, DEFAULT_SEED, FAMILY_ALPHA, validate

    if args.seed is None:
        args.seed = DEFAULT_SEED
    if args.alpha is None:
        args.alpha = FAMILY_ALPHA
    for name in args.cases:
        if name not in CASES:
            raise ConfigError("--case", "case", name, f"must be one of {', '.join(CASES)}")
    overrides = dict(parse_override(text) for text in args.overrides)
    for name in args.cases or CASES:  # each case builds its models from these scenarios
        paths = CASES[name].scenario_paths()
        scs = [load_scenario(p, overrides, new_groups=False) for p in paths]
        check_fits(scs, f"validation case {name}" + (" with --set" if overrides else ""))
    out = check_output_folder(args.out or default_out(args.quick, args.cases), "validation")
    start = time.perf_counter()
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    report = validate(args.cases or None, args.quick, args.seed, overrides, args.alpha, log)
    wall = time.perf_counter() - start
    from simulation.validation_plots import case_figure  # matplotlib makes its cache folder

    table = report.table
    with atomic_dir(out) as tmp:
        table.to_csv(tmp / "validation.csv", index=False)
        (tmp / "validation.md").write_text(markdown_table(table))
        figures = []
        for case, data in report.figures.items():
            path = case_figure(case, data, tmp / f"{case}.png")
            if path is not None:
                figures.append(path.name)
        atomic_write_json(
            tmp / "manifest.json",
            manifest(
                kind="validation",
                size=report.size,
                cases=list(report.figures),
                root_seed=report.root_seed,
                family_alpha=report.family_alpha,
                checks=len(table),
                level_per_check=float(table["level"].iloc[0]) if len(table) else None,
                passed=report.passed,
                overrides=overrides,
                seeds=report.seeds,
                scenarios=report.scenarios,
                figures=figures,
                wall_seconds_per_case=report.wall_seconds,
                wall_seconds=round(wall, 2),
            ),
        )
    print(text_table(table, report.family_alpha))
    failed = int((table["verdict"] != "pass").sum())
    print(
        f"\n{len(table) - failed} of {len(table)} checks pass ({report.size} size, "
        f"{wall:.1f} s); wrote {out}/ (validation.csv, validation.md, "
        f"{', '.join(figures)}, manifest.json)"
    )
    return 0 if report.passed else 1


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.5g}"


def _cells(row: pd.Series) -> dict[str, str]:
    """Display strings of one row: theory, simulated and interval."""
    if row["relation"] == "~":
        theory = row["law"]
        simulated = f"{row['test']}: {_num(row['simulated'])}, p = {row['p_value']:.3g}"
        interval = f"pass if p ≥ {row['level']:.2g}"
    else:
        rel = "" if row["relation"] == "=" else row["relation"] + " "
        theory = rel + _num(row["theory"])
        simulated = _num(row["simulated"])
        interval = f"[{_num(row['ci_low'])}, {_num(row['ci_high'])}]"
        if row["relation"] == "≈":  # an equivalence test's (TOST's) 1 − 2 x level interval
            interval += " (TOST: the 1 − 2α/m interval, inside the margin to pass)"
    return {"theory": theory, "simulated": simulated, "interval": interval}


def text_table(table: pd.DataFrame, family_alpha: float) -> str:
    """The table as the terminal shows it: per case, each check on two lines."""
    if table.empty:
        return "(no checks)"
    m = len(table)
    lines = [
        f"Validation: {m} checks, family-wise error {family_alpha:g} (Bonferroni: each at "
        f"{family_alpha / m:.2g}); intervals are simultaneous {1 - family_alpha:.0%} intervals."
    ]
    for case, rows in table.groupby("case", sort=False):
        lines += ["", case]
        for _, row in rows.iterrows():
            c = _cells(row)
            verdict = "pass" if row["verdict"] == "pass" else "FAIL"
            limit = f" ({row['limit']})" if row["limit"] else ""
            lines.append(f"  {row['variant']} · {row['quantity']}")
            lines.append(
                f"      theory {c['theory']}{limit} | simulated {c['simulated']} | "
                f"95% {c['interval']} | n {row['n']} | {verdict}"
            )
    return "\n".join(lines)


def markdown_table(table: pd.DataFrame) -> str:
    """The table in Markdown (pasted into docs/VALIDATION.md)."""
    head = (
        "| case | variant | quantity | theory | closed form | simulated | 95% interval "
        "(simultaneous) | n | verdict |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    body = []
    for _, row in table.iterrows():
        c = _cells(row)
        body.append(
            f"| {row['case']} | {row['variant']} | {row['quantity']} | {c['theory']} | "
            f"{row['limit']} | {c['simulated']} | {c['interval']} | {row['n']} | "
            f"{row['verdict']} |"
        )
    return head + "\n".join(body) + "\n"
