"""How often good rooms reach each pool tier and hit its quota, at 10^4 to 10^6 viewers, under
the two quota forms (``platform.pool_quota``: ``fair_share``, ``size_invariant``).

    python -m benchmarks.pool_quota run VIEWERS QUOTA SEED [--days D]   # one run, one line
    python -m benchmarks.pool_quota table [--doc]                       # the table

``run`` builds the ``scale_1m`` market at VIEWERS (stream counts and per-stream shares of
viewers scaled as :func:`benchmarks.worker.scaled_overrides` does, 2,000 streams per
million viewers) with version 1's values (:func:`benchmarks.versions.version_1_overrides`;
the stored runs and MODEL.md 7.15.4's table were made before version 2 was the default),
steps it for D days (default 2) and, after every tick from day 1 on (day 0 is the cold
start: every room opens in tier 0), counts for the focal room and for the *good rooms* --
field rooms (groups focal, field, field_ads) whose trait index hook x retention x
persuasion is at or above the 80th percentile of the run's field rooms -- their live ticks,
their tier in each, and the ticks in which their tier quota bound the free allocation
(``InterestFeed.capped``: the value-weighted share would have exceeded the quota). It appends
one JSON line to results/pool_quota/runs.jsonl. ``table`` pools the lines by (viewers,
quota) and prints a markdown table (with ``--doc``, writes it into docs/MODEL.md between the
``pool-quota-table`` markers). A diagnostic, not a timed run; run the 10^6 runs one at a
time (a few GB each).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "pool_quota"
RUNS = OUT / "runs.jsonl"
MODEL_MD = ROOT / "docs" / "MODEL.md"
BEGIN, END = "<!-- pool-quota-table: begin -->", "<!-- pool-quota-table: end -->"
GOOD_PERCENTILE = 80
FIELD_GROUPS = ("focal", "field", "field_ads")
FIRST_DAY = 1


def good_rooms(model) -> np.ndarray:
    """Field rooms whose hook x retention x persuasion is at or above the run's
    :data:`GOOD_PERCENTILE` among field rooms."""
    t = model.table
    names = np.asarray(t.group_names)
    field = np.flatnonzero(np.isin(names[t.group], FIELD_GROUPS))
    index = t.hook[field] * t.retention[field] * t.persuasion[field]
    return field[index >= np.percentile(index, GOOD_PERCENTILE)]


def measure(viewers: int, quota: str, seed: int, days: int = 2) -> dict:
    """One run; counts of live ticks, ticks per tier and capped ticks (from day
    :data:`FIRST_DAY` on) for the focal room and the good rooms."""
    from benchmarks.versions import version_1_overrides
    from benchmarks.worker import scaled_overrides
    from simulation import api

    overrides = {
        **version_1_overrides(),
        **scaled_overrides(viewers, days),
        "platform.pool_quota": quota,
    }
    model = api.build_model("scale_1m", seed=seed, overrides=overrides)
    t = model.table
    focal = np.flatnonzero(t.group == t.group_names.index("focal"))
    good = good_rooms(model)
    n_tiers = len(model.config.feed.tier_caps)
    counts = {
        name: {"tier": np.zeros(n_tiers, np.int64), "capped": 0, "capped_top": 0}
        for name in ("focal", "good")
    }
    start = time.perf_counter()
    first = FIRST_DAY * model.tpd
    while model.running:
        model.step()
        tick = model.steps - 1
        if tick < first:
            continue
        for name, ids in (("focal", focal), ("good", good)):
            tier = model.tier_history[tick, ids]
            on = tier >= 0
            c = counts[name]
            c["tier"] += np.bincount(tier[on], minlength=n_tiers)
            capped = model.policy.capped[ids] & on
            c["capped"] += int(capped.sum())
            c["capped_top"] += int((capped & (tier == n_tiers - 1)).sum())
    k = model.config.population.categories
    return {
        "viewers": viewers,
        "quota": quota,
        "seed": seed,
        "days": days,
        "first_day": FIRST_DAY,
        "streams": int(t.n),
        "streams_per_category": t.n / k,
        "good_rooms": len(good),
        "wall_seconds": round(time.perf_counter() - start, 1),
        **{
            f"{name}_{key}": (v.tolist() if isinstance(v, np.ndarray) else v)
            for name, c in counts.items()
            for key, v in c.items()
        },
    }


def table(rows: list[dict]) -> str:
    """Markdown: one row per (viewers, quota, rooms), pooled over the runs' seeds."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["viewers"], r["quota"], r["days"]), []).append(r)
    lines = [
        "| viewers | streams per category | quota | days (counted) | seeds | rooms "
        "| live ticks | share of live ticks in tier 0 / 1 / 2 / 3 / 4 | cap binds "
        "| cap binds in tier 4 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (viewers, quota, days), rs in sorted(groups.items()):
        seeds = ", ".join(str(r["seed"]) for r in sorted(rs, key=lambda r: r["seed"]))
        for name, label in (("focal", "focal room"), ("good", "good rooms")):
            tier = np.sum([r[f"{name}_tier"] for r in rs], axis=0)
            live = int(tier.sum())
            capped = sum(r[f"{name}_capped"] for r in rs)
            top = sum(r[f"{name}_capped_top"] for r in rs)
            rooms = sum(r["good_rooms"] for r in rs) if name == "good" else len(rs)
            shares = " / ".join(f"{x / live:.2f}" for x in tier) if live else "n/a"
            lines.append(
                f"| {viewers:,} | {rs[0]['streams_per_category']:.1f} | {quota} "
                f"| {days} ({days - rs[0]['first_day']}) | {seeds} | {label} ({rooms}) "
                f"| {live:,} | {shares} | {capped / max(live, 1):.3f} "
                f"| {top / max(int(tier[-1]), 1):.3f} |"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "table"):
        print(__doc__)
        return 2
    if argv[0] == "run":
        days = 2
        if "--days" in argv:
            i = argv.index("--days")
            days = int(argv[i + 1])
            argv = argv[:i] + argv[i + 2 :]
        viewers, quota, seed = int(argv[1]), argv[2], int(argv[3])
        row = measure(viewers, quota, seed, days)
        OUT.mkdir(parents=True, exist_ok=True)
        with RUNS.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row))
        return 0
    rows = [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()]
    text = table(rows)
    print(text)
    if "--doc" in argv:
        doc = MODEL_MD.read_text()
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        MODEL_MD.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
