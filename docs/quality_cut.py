"""Does cutting product quality pay once returns exist? (issue 22's check; docs/MODEL.md 7.16)

Runs version 2's default market (returns and profit accounting on) with the focal room as
is (quality 0.9) and cut to a lower quality in two ways: an *honest* cut (the room presents
its new quality, the default: returns stay near the base rate) and a *quiet* cut (the room
keeps presenting 0.9, ``streams.focal.presented_quality``: returns rise with the gap). Each
arm runs the same seeds (common random numbers); the script prints the focal room's GMV,
return rate and profit over the run, mean and 95 % interval over seeds, and each cut's
paired profit difference against the room as is with a paired t-test. Nothing is tuned:
MODEL.md 7.16 quotes what it printed.

    python docs/quality_cut.py                      # 15,000 viewers, 21 days, seeds 1-10
    python docs/quality_cut.py --days 3 --seeds 2 --set population.viewers=3000
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy import stats

from simulation.api import focal_streams, streams_table
from simulation.config import load_scenario, parse_override


def arms(cut: float) -> dict[str, dict[str, Any]]:
    """The room as is, the honest cut and the quiet cut (presenting the old 0.9)."""
    return {
        "as is (0.9)": {},
        f"honest cut to {cut:g}": {"streams.focal.quality": cut},
        f"quiet cut to {cut:g} (presents 0.9)": {
            "streams.focal.quality": cut,
            "streams.focal.presented_quality": 0.9,
        },
    }


def focal_run(job: tuple[dict[str, Any], int, int]) -> tuple[float, float, float]:
    """The focal room's GMV, returns / orders and profit over one run."""
    from experiments._plan import scale_budgets
    from simulation.model import SnowballModel

    over, seed, days = job
    sc = scale_budgets(load_scenario("default", over), "default")
    m = SnowballModel(sc, seed=seed, days=days)
    m.run_days()
    st = streams_table(m)
    mine = st[st["stream"].isin(focal_streams(m, "focal"))]
    orders = float(mine["orders"].sum())
    rate = float(mine["returns"].sum()) / orders if orders else float("nan")
    return float(mine["gmv"].sum()), rate, float(mine["profit"].sum())


def interval(x: np.ndarray) -> str:
    m = float(np.mean(x))
    h = float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))
    return f"{m:,.0f} [{m - h:,.0f}, {m + h:,.0f}]"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=21)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--cut", type=float, default=0.5)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = p.parse_args(argv)
    base = {"population.viewers": 15_000}
    for item in a.set:
        k, v = parse_override(item)
        base[k] = v
    seeds = list(range(1, a.seeds + 1))
    table = arms(a.cut)
    jobs = [({**base, **o}, s, a.days) for o in table.values() for s in seeds]
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as pool:
            out = list(pool.map(focal_run, jobs))
    else:  # in this process (and importable as a file, as the tests load it)
        out = [focal_run(j) for j in jobs]
    res = {
        name: np.array(out[i * len(seeds) : (i + 1) * len(seeds)]) for i, name in enumerate(table)
    }
    print(
        f"default market (version 2), {base}, {a.days} days, seeds {seeds[0]}-{seeds[-1]}; "
        "focal room over the run, mean [95% CI]"
    )
    print("| arm | GMV, yuan | returns / orders | profit, yuan | profit − as is (paired t) |")
    print("|---|---|---|---|---|")
    ref = res["as is (0.9)"][:, 2]
    for name, r in res.items():
        if name.startswith("as is"):
            diff = "—"
        else:
            d = r[:, 2] - ref
            t = stats.ttest_1samp(d, 0.0)
            diff = f"{interval(d)}, t = {t.statistic:.2f}, p = {t.pvalue:.3g}"
        print(
            f"| {name} | {interval(r[:, 0])} | {np.mean(r[:, 1]):.1%} | {interval(r[:, 2])} "
            f"| {diff} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
