"""Where the focal room's best product mix lies, and whether it moves with the mechanisms.

Runs version 1's market (``SCENARIO = "v1"``) at a small size with
``economics.profit_accounting`` on and only the mechanisms the arms switch (the run-of-show,
returns), so their effect is isolated; ``--scenario default`` runs it in version 2's market.
It sweeps the focal room's driver share (the rest split between the profit and welfare items in
the default mix's ratio, 0.55 : 0.15) under three mechanism settings: the run-of-show and
returns on, the run-of-show off (items drawn per impression), returns off. Each cell is the
focal room's GMV and profit over the run, mean (sd) over the seeds, common random numbers
across the arms (the same seeds), and the paired difference against the default driver
share 0.3 with the number of seeds in which it is positive. Then the ``adaptive_mix``
operator runs from the default mix (and from a driver-heavy one) and the script prints where
its mix ends. Nothing is tuned: docs/MODEL.md 7.17 shows what it printed.

    python docs/mix_optimum.py                          # 20,000 viewers, 6 days, seeds 1-3
    python docs/mix_optimum.py --days 2 --seeds 1 --set population.viewers=5000
    python docs/mix_optimum.py --scenario default        # in version 2's market
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from simulation.api import focal_streams, streams_table
from simulation.config import ConfigError, load_scenario, parse_override
from simulation.model import SnowballModel

SCENARIO = "v1"
DRIVER_SHARES = (0.1, 0.3, 0.5, 0.7, 0.9)
SETTINGS: dict[str, dict[str, Any]] = {
    "run-of-show on, returns on": {"behaviour.run_of_show": True, "economics.returns": True},
    "run-of-show off, returns on": {"behaviour.run_of_show": False, "economics.returns": True},
    "run-of-show on, returns off": {"behaviour.run_of_show": True, "economics.returns": False},
}


def mix_of(driver: float, base: tuple[float, ...]) -> list[float]:
    """Driver share ``driver``; the rest split as the profit and welfare shares of ``base``."""
    _, p, w = base
    rest = 1 - driver
    return [driver, rest * p / (p + w), rest * w / (p + w)]


def focal_run(
    over: dict[str, Any], seed: int, days: int, scenario: str = SCENARIO
) -> tuple[float, float, np.ndarray]:
    """The focal room's GMV and profit over the run, and its mix at the end."""
    m = SnowballModel(scenario, seed=seed, days=days, overrides=over)
    m.run_days()
    f = focal_streams(m, "focal")
    st = streams_table(m)
    mine = st[st["stream"].isin(f)]
    return float(mine["gmv"].sum()), float(mine["profit"].sum()), m.table.mix[f[0]].copy()


def paired(xs: list[float], ref: list[float]) -> str:
    """Mean paired difference (the same seeds) against the reference arm, with how many
    seeds it is positive in."""
    d = np.asarray(xs) - np.asarray(ref)
    return f"{d.mean():+,.0f} ({(d > 0).sum()}/{len(d)})"


def cell(xs: list[float]) -> str:
    a = np.asarray(xs)
    return f"{a.mean():,.0f} ({a.std(ddof=1):,.0f})" if len(a) > 1 else f"{a.mean():,.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=SCENARIO, help=f"scenario (default {SCENARIO})")
    ap.add_argument("--days", type=int, default=6)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--no-adaptive", action="store_true", help="the sweep only")
    a = ap.parse_args(argv)
    try:
        base_mix = load_scenario(a.scenario).streams["focal"].mix
    except ConfigError as e:  # an unknown scenario: one line, exit 2
        print(f"--scenario: {e}", file=sys.stderr)
        return 2
    common: dict[str, Any] = {"population.viewers": 20_000, "economics.profit_accounting": True}
    common.update(dict(parse_override(s) for s in a.set))
    seeds = range(1, a.seeds + 1)
    print("| setting | driver share | GMV | profit | GMV − at 0.3 | profit − at 0.3 |")
    print("|---|---|---|---|---|---|")
    for name, switches in SETTINGS.items():
        rows = {}
        for d in DRIVER_SHARES:
            over = {**common, **switches, "streams.focal.mix": mix_of(d, base_mix)}
            runs = [focal_run(over, s, a.days, a.scenario) for s in seeds]
            rows[d] = ([r[0] for r in runs], [r[1] for r in runs])
        g0, p0 = rows[base_mix[0]] if base_mix[0] in rows else rows[DRIVER_SHARES[0]]
        for d, (gmv, profit) in rows.items():
            print(
                f"| {name} | {d:.1f} | {cell(gmv)} | {cell(profit)} | {paired(gmv, g0)} | "
                f"{paired(profit, p0)} |",
                flush=True,
            )
    if a.no_adaptive:
        return 0
    print()
    print("| adaptive_mix, setting | start mix | end mix (mean over seeds) | GMV | profit |")
    print("|---|---|---|---|---|")
    for name in ("run-of-show on, returns on", "run-of-show on, returns off"):
        for start in (list(base_mix), mix_of(0.7, base_mix)):
            over = {
                **common,
                **SETTINGS[name],
                "streams.focal.mix": start,
                "streams.focal.operator": "adaptive_mix",
            }
            runs = [focal_run(over, s, a.days, a.scenario) for s in seeds]
            end = np.mean([r[2] for r in runs], axis=0)
            shown = " / ".join(f"{x:.2f}" for x in start)
            ended = " / ".join(f"{x:.2f}" for x in end)
            gmv, profit = [r[0] for r in runs], [r[1] for r in runs]
            print(
                f"| {name} | {shown} | {ended} | {cell(gmv)} | {cell(profit)} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
