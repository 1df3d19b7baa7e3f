"""``snowball run``, ``snowball scenarios``, ``snowball strategies`` and ``snowball operators``."""

import argparse
import hashlib
import json
import math
import re
import sys
from pathlib import Path

from simulation.config import (
    SCENARIO_DIR,
    ConfigError,
    load_scenario,
    parse_override,
    read_raw,
    resolve_path,
)
from simulation.paths import RESULTS

RUNS_DIR = RESULTS / "runs"  # ./results/runs of the current folder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run one scenario and write its tables, manifest and figure",
        description="Run a scenario (default: experiments/scenarios/"
        "default.toml) and write ticks.parquet, streams.parquet, days.parquet, "
        "loop_gains.parquet, manifest.json and overview.png.",
    )
    p.add_argument(
        "scenario",
        nargs="?",
        default=None,
        help="scenario file or name in experiments/scenarios/ (default: default)",
    )
    p.add_argument("--seed", type=int, default=None, help="root seed (default: the scenario's)")
    p.add_argument("--days", type=int, default=None, help="days to simulate")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value, e.g. population.viewers=20000 (repeatable)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: results/runs/<scenario>-seed<N>/ in the current "
        "folder; with --set or --days, <scenario>-seed<N>-<what changed>-<hash>/)",
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar (drawn only on a terminal)"
    )
    p.set_defaults(func=cmd_run)

    for name, what, func in (
        ("scenarios", "the named scenarios", cmd_scenarios),
        ("strategies", "the paid-traffic strategies", cmd_strategies),
        ("operators", "the room operators", cmd_operators),
    ):
        p = sub.add_parser(name, help=f"list {what}")
        # -q is accepted by every command (scripts pass it everywhere); a list is all these print.
        p.add_argument("--quiet", "-q", action="store_true", help="accepted; prints the list only")
        p.set_defaults(func=func)


def show_progress(args: argparse.Namespace) -> bool:
    """Draw a progress bar: not with ``--quiet``, and only when stderr is a terminal (a bar
    redrawn into a log file or a pipe is hundreds of lines of carriage returns)."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def default_folder_name(scenario_name: str, seed: int, overrides: dict) -> str:
    """``<scenario>-seed<N>``, and with overrides (``--set``, ``--days``) a readable suffix
    of what was changed plus a hash of all of it: ``default-seed0-viewers20000-days1-1a2b3c``.

    The suffix is the last part of each key and its value, cut to 40 characters; the hash
    (6 hex digits of SHA-256 over the overrides as sorted JSON) tells apart command lines
    whose suffixes agree, so two different command lines never share (and silently replace)
    a folder, while the same command line, in any order of its ``--set``, reuses its own.
    """
    name = f"{scenario_name}-seed{seed}"
    changed = {k: v for k, v in overrides.items() if k != "seed"}
    if not changed:
        return name
    parts = []
    for key, value in sorted(changed.items()):
        text = key.rsplit(".", 1)[-1] + re.sub(r"[^A-Za-z0-9.]+", "_", str(value)).strip("_")
        parts.append(text)
    readable = "-".join(parts)[:40].rstrip("-_.")
    digest = hashlib.sha256(json.dumps(changed, sort_keys=True, default=str).encode()).hexdigest()[
        :6
    ]
    return f"{name}-{readable}-{digest}"


def overrides_from(args: argparse.Namespace) -> dict:
    out = {}
    for text in args.overrides:
        key, value = parse_override(text)
        out[key] = value
    if args.days is not None:
        out["days"] = args.days
    if args.seed is not None:
        if args.seed < 0:
            raise ConfigError("--seed", "seed", args.seed, "must be an integer >= 0")
        out["seed"] = args.seed
    return out


def cmd_run(args: argparse.Namespace) -> int:
    # The checks first, each importing only what it needs: a bad scenario or flag is refused
    # before the model, pandas and scipy load (a second and more of start-up).
    from simulation.footprint import check_fits

    overrides = overrides_from(args)
    scenario = load_scenario(args.scenario, overrides, new_groups=False)
    where = str(resolve_path(args.scenario)) + (" with --set" if args.overrides else "")
    if scenario.metrics.extra:  # import them now, so a bad one is refused before the run
        from simulation.metrics import scenario_metrics

        scenario_metrics(scenario.metrics.extra, str(resolve_path(args.scenario)))
    check_fits([scenario], where)

    from simulation.api import run, summarize
    from simulation.atomic import atomic_write_json
    from simulation.config import to_dict
    from simulation.results import (
        atomic_dir,
        check_output_folder,
        manifest,
        write_run_tables,
    )

    default = RUNS_DIR / default_folder_name(scenario.name, scenario.seed, overrides)
    out = check_output_folder(args.out or default, "run")
    result = run(scenario, progress=show_progress(args))
    from simulation.plots import overview  # after the checks: matplotlib makes its cache folder

    with atomic_dir(out) as tmp:
        write_run_tables(tmp, result.keys, result.tables)
        overview(
            result.ticks,
            result.streams,
            f"{scenario.name} — {scenario.population.viewers:,} viewers, "
            f"{result.model.table.n} streams, {scenario.days} days, seed "
            f"{scenario.seed}",
            tmp / "overview.png",
            result.model.tier_history,
            scenario.tick_minutes,
            pools=not result.model.always_open,
            policy=scenario.policy,
        )
        atomic_write_json(
            tmp / "manifest.json",
            manifest(
                kind="run",
                scenario=scenario.name,
                scenario_file=str(resolve_path(args.scenario)),
                seed=scenario.seed,
                run_id=result.run_id,
                config=to_dict(scenario),
                rows={name: len(df) for name, df in result.tables.items()},
                wall_seconds=round(result.wall_seconds, 3),
            ),
        )
    s = summarize(result)
    tk = result.ticks
    imp = tk[["free_impressions", "paid_impressions", "follow_impressions"]].sum()
    total = max(int(imp.sum()), 1)
    print(
        f"{scenario.name}: {scenario.population.viewers:,} viewers, "
        f"{result.model.table.n} streams, {scenario.days} day{'' if scenario.days == 1 else 's'}, "
        f"policy {scenario.policy}, "
        f"seed {scenario.seed} ({result.wall_seconds:.1f} s)"
    )
    print(
        f"  impressions {total:,}: free {imp.iloc[0] / total:.0%}, paid "
        f"{imp.iloc[1] / total:.0%}, follow {imp.iloc[2] / total:.0%}"
    )
    print(
        f"  GMV {s['total_gmv']:,.0f} yuan from {s['total_orders']:,} orders; ad spend "
        f"{tk['ad_spend'].sum():,.0f} yuan; Gini of GMV across streams "
        f"{s['gini_gmv']:.2f}, top 10% hold {s['top10_share_gmv']:.0%}"
    )
    st = result.streams
    if "refunds" in st:  # economics.returns
        orders = max(int(st["orders"].sum()), 1)
        print(
            f"  returns {st['returns'].sum() / orders:.1%} of orders, refunds "
            f"{st['refunds'].sum():,.0f} yuan"
        )
    if "profit" in st:  # economics.profit_accounting
        print(
            f"  profit {st['profit'].sum():,.0f} yuan after cost of goods "
            f"{st['cogs'].sum():,.0f}, platform fees {st['platform_fees'].sum():,.0f}, "
            f"commission {st['commission'].sum():,.0f}, ad spend {st['ad_spend'].sum():,.0f} "
            f"and operating costs {(st['host_cost'] + st['capacity_cost']).sum():,.0f}"
        )
    if scenario.policy == "mixed":  # one platform, two entrances: what came through search
        share = {
            k: st[f"search_{k}"].sum() / st[k].sum() if st[k].sum() > 0 else 0.0
            for k in ("impressions", "orders", "gmv", "ad_spend")
        }
        print(
            f"  through search: {share['impressions']:.0%} of impressions, "
            f"{share['orders']:.0%} of orders, {share['gmv']:.0%} of GMV, "
            f"{share['ad_spend']:.0%} of ad spend"
        )
    if "focal" in scenario.streams and scenario.streams["focal"].count > 0:
        roi = "n/a" if math.isnan(s["roi"]) else f"{s['roi']:.2f}"
        profit = "" if math.isnan(s["focal_profit"]) else f", profit {s['focal_profit']:,.0f} yuan"
        print(
            f"  focal room: GMV {s['focal_gmv']:,.0f} yuan, followers "
            f"{s['focal_followers']:,}, final tier {s['focal_final_tier']}, paid ROI {roi}"
            f"{profit}, took off: {'yes' if s['took_off'] else 'no'}"
        )
    from simulation.loop_gains import summary_lines

    lines = summary_lines(result.model, result.loop_gains)
    if lines:
        print("  loop gains" + (" of the focal room:" if len(lines) > 1 else ":"))
        for line in lines:
            print(f"    {line}")
    print(f"  wrote {out}/ ({', '.join(f'{n}.parquet' for n in result.tables)}, manifest.json)")
    print(f"  figure: {out / 'overview.png'}")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        try:
            desc = read_raw(path).get("description", "")
        except ConfigError as exc:
            desc = f"(unreadable: {exc})"
        print(f"{path.stem:<22} {desc}")
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from simulation.strategies import STRATEGIES

    for name, cls in STRATEGIES.items():
        flags = [f for f in ("uses_feedback", "scales_budget", "expands") if getattr(cls, f)]
        print(f"{name:<20} {cls.description}" + (f"  [{', '.join(flags)}]" if flags else ""))
    return 0


def cmd_operators(args: argparse.Namespace) -> int:
    from simulation.operators import OPERATORS

    for name, cls in OPERATORS.items():
        flags = [f for f in ("invests", "adjusts_budget", "adjusts_mix") if getattr(cls, f)]
        print(f"{name:<20} {cls.description}" + (f"  [{', '.join(flags)}]" if flags else ""))
    return 0
