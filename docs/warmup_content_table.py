"""Measure warm-up videos as content (docs/MODEL.md 7.19): the focal room with its warm-up
videos against the same room without, and the seeding ablation, under
``platform.warmup_content``.

Runs version 1's market (``SCENARIO = "v1"``) at 20,000 viewers for 5 days with
``platform.warmup_content`` on: version 1's market with only this mechanism switched on, so
its effect is isolated; ``--scenario default`` runs it in version 2's market. One run per
(arm, seed), seeds shared across arms (common random numbers: the same population, stream
traits and sessions). Arms:

- ``warmups``: the focal room posts its two warm-up videos (the scenario's), seeding on;
- ``none``: the focal room posts none (every other room as in the scenario);
- ``no_seed``: two videos, ``platform.warmup_seeding`` false (reach, bookings, follows on).

Per arm and seed, the focal room's first-day free impressions, entries, follows (followers at
the end of the day; it starts with none), warm-up bookings and follows, follow-channel
impressions, and its five-day free impressions and GMV. Effects are paired differences
(warmups - none; warmups - no_seed) with a t 95 % confidence interval over the seeds.

Usage: ``python docs/warmup_content_table.py [--scenario v1] [--seeds 8] [--audience]
[--set KEY=VALUE ...]`` (``--audience``: with ``platform.audience_estimates`` on; ``--set``: a
scenario override for every arm, a TOML value, e.g. ``streams.focal.hook=0.2``). Prints a
markdown table.
"""

import argparse
import sys
import tomllib

import numpy as np
from scipy import stats

from simulation.config import ConfigError, load_scenario
from simulation.model import SnowballModel

SCENARIO = "v1"
ARMS = {
    "warmups": {},
    "none": {"streams.focal.warmup_videos": 0},
    "no_seed": {"platform.warmup_seeding": False},
}
METRICS = (
    "day-1 free impressions",
    "day-1 entries",
    "day-1 follow impressions",
    "day-1 followers (end)",
    "day-1 warm-up views",
    "day-1 warm-up engagements",
    "day-1 warm-up bookings",
    "day-1 warm-up follows",
    "go-live entry estimate",
    "5-day free impressions",
    "5-day GMV",
)


def run(seed: int, overrides: dict, scenario: str = SCENARIO) -> dict[str, float]:
    """One run's focal-room (stream 0) numbers."""
    base = {"population.viewers": 20_000, "platform.warmup_content": True}
    m = SnowballModel(scenario, seed=seed, days=5, overrides={**base, **overrides})
    start = int(m.table.start_tick[0])
    for _ in range(start + 1):  # through the focal room's first live tick
        m.step()
    entry = float(m.rates["entry"][0])  # the estimate the feed read in that tick
    m.run_days()
    d0 = m.daily_records[0]
    recs = m.daily_records
    return {
        "day-1 free impressions": float(d0["free_impressions"][0]),
        "day-1 entries": float(d0["entries"][0]),
        "day-1 follow impressions": float(d0["follow_impressions"][0]),
        "day-1 followers (end)": float(d0["followers"][0]),
        "day-1 warm-up views": float(d0["warmup_views"][0]),
        "day-1 warm-up engagements": float(d0["warmup_engagements"][0]),
        "day-1 warm-up bookings": float(d0["warmup_bookings"][0]),
        "day-1 warm-up follows": float(d0["warmup_follows"][0]),
        "go-live entry estimate": entry,
        "5-day free impressions": float(sum(r["free_impressions"][0] for r in recs)),
        "5-day GMV": float(sum(r["gmv"][0] for r in recs)),
    }


def ci(diff: np.ndarray) -> str:
    """Mean and t 95 % interval of paired differences."""
    n = len(diff)
    mean = diff.mean()
    half = stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
    return f"{mean:+.4g} [{mean - half:+.4g}, {mean + half:+.4g}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=SCENARIO, help=f"scenario (default {SCENARIO})")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--audience", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args()
    try:
        load_scenario(a.scenario)
    except ConfigError as e:  # an unknown scenario: one line, exit 2
        print(f"--scenario: {e}", file=sys.stderr)
        sys.exit(2)
    extra = {"platform.audience_estimates": True} if a.audience else {}
    for item in a.set:
        key, _, value = item.partition("=")
        extra[key] = tomllib.loads(f"x = {value}")["x"]
    seeds = list(range(1, a.seeds + 1))
    res = {arm: [run(s, {**extra, **o}, a.scenario) for s in seeds] for arm, o in ARMS.items()}
    print(
        f"{a.scenario}, seeds {seeds[0]}..{seeds[-1]}, audience_estimates {a.audience}, "
        f"set {a.set}\n"
    )
    print("| focal room | warm-ups | none | no seeding | warm-ups − none | warm-ups − no seeding |")
    print("|---|---|---|---|---|---|")
    for k in METRICS:
        x = {arm: np.array([r[k] for r in rs]) for arm, rs in res.items()}
        print(
            f"| {k} | {x['warmups'].mean():.4g} | {x['none'].mean():.4g} | "
            f"{x['no_seed'].mean():.4g} | {ci(x['warmups'] - x['none'])} | "
            f"{ci(x['warmups'] - x['no_seed'])} |"
        )


if __name__ == "__main__":
    main()
