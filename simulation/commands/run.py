"""``snowball run``, ``snowball scenarios`` and ``snowball strategies``."""

import argparse
import math
from pathlib import Path

from simulation.config import (
    SCENARIO_DIR,
    ConfigError,
    load_scenario,
    parse_override,
    read_raw,
    resolve_path,
)

RUNS_DIR = Path(__file__).resolve().parents[2] / "results" / "runs"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run one scenario and write its tables, manifest and figure",
        description="Run a scenario (default: experiments/scenarios/"
        "default.toml) and write ticks.parquet, streams.parquet, days.parquet, "
        "manifest.json and overview.png.",
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
        help="output folder (default: the project's results/runs/<scenario>-seed<N>/, "
        "wherever you run from)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("scenarios", help="list the named scenarios")
    p.set_defaults(func=cmd_scenarios)
    p = sub.add_parser("strategies", help="list the paid-traffic strategies")
    p.set_defaults(func=cmd_strategies)


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
    from simulation.api import run, summarize
    from simulation.config import to_dict
    from simulation.metrics import scenario_metrics
    from simulation.plots import overview
    from simulation.results import (
        atomic_dir,
        check_output_folder,
        manifest,
        write_json,
        write_run_tables,
    )

    scenario = load_scenario(args.scenario, overrides_from(args), new_groups=False)
    scenario_metrics(scenario.metrics.extra, str(resolve_path(args.scenario)))  # import now
    out = check_output_folder(args.out or RUNS_DIR / f"{scenario.name}-seed{scenario.seed}", "run")
    result = run(scenario, progress=not args.quiet)
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
        )
        write_json(
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
            tmp / "manifest.json",
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
    if "focal" in scenario.streams and scenario.streams["focal"].count > 0:
        roi = "n/a" if math.isnan(s["roi"]) else f"{s['roi']:.2f}"
        print(
            f"  focal room: GMV {s['focal_gmv']:,.0f} yuan, followers "
            f"{s['focal_followers']:,}, final tier {s['focal_final_tier']}, paid ROI {roi}, "
            f"took off: {'yes' if s['took_off'] else 'no'}"
        )
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
        flags = [f for f in ("uses_feedback", "scales_budget") if getattr(cls, f)]
        print(f"{name:<16} {cls.description}" + (f"  [{', '.join(flags)}]" if flags else ""))
    return 0
