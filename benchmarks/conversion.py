"""Where conversion differs between two sizes of the same market: impressions, entries and
orders split by whether the viewer already follows the room (fan or not) and by traffic
source (free, paid, follow).

    python -m benchmarks.conversion [VIEWERS ...] [--days D] [--seed S]

A diagnostic, not a timed run: it wraps the model's ``Behaviour.respond`` on one model
instance to count each tick's outcomes by class, which costs a few bincounts per tick. The
``--full`` benchmark runs it for 5 days at 100,000 and 1,000,000 viewers and writes
``conversion.csv`` (docs/PERFORMANCE.md, "Per-viewer rates").
"""

from __future__ import annotations

import sys

import numpy as np


def decompose(viewers: int, days: int, seed: int = 0):
    """Run the ``scale_1m`` market at ``viewers`` for ``days`` and count impressions,
    entries and orders by fan status and traffic source. Returns a DataFrame with one row
    per (viewers, fan, source) and the run's totals as ``attrs["totals"]`` (tick table)."""
    import pandas as pd

    from benchmarks.worker import scaled_overrides
    from simulation import api
    from simulation.behaviour import SOURCES  # indexed by the source codes

    model = api.build_model("scale_1m", seed=seed, overrides=scaled_overrides(viewers, days))
    n_src = len(SOURCES)
    counts = np.zeros((3, 2 * n_src), dtype=np.int64)  # (impressions, entries, orders) x class
    respond = model.behaviour.respond

    def counted(imp, sessions, *args, **kwargs):
        out = respond(imp, sessions, *args, **kwargs)
        cls = out.is_fan.astype(np.int64) * n_src + imp.source
        counts[0] += np.bincount(cls, minlength=2 * n_src)
        counts[1] += np.bincount(cls, out.entered, minlength=2 * n_src).astype(np.int64)
        counts[2] += np.bincount(cls, out.bought, minlength=2 * n_src).astype(np.int64)
        return out

    model.behaviour.respond = counted  # this instance only
    model.run_days(days)
    rows = []
    for fan in (0, 1):
        for code, name in enumerate(SOURCES):
            imp, ent, orders = counts[:, fan * n_src + code]
            rows.append(
                {
                    "viewers": viewers,
                    "streams": int(model.table.n),
                    "days": days,
                    "fan": bool(fan),
                    "source": name,
                    "impressions": int(imp),
                    "entries": int(ent),
                    "orders": int(orders),
                }
            )
    df = pd.DataFrame(rows)
    ticks = api.ticks_table(model)
    df.attrs["totals"] = {k: int(ticks[k].sum()) for k in ("impressions", "entries", "orders")}
    df.attrs["follows_per_viewer"] = float((model.population.follow >= 0).sum() / viewers)
    return df


def summary(df):
    """Per size: the fans' share of impressions and entries, and entries per impression
    and orders per entry for fans, non-fans and all."""
    import pandas as pd

    out = []
    for viewers, d in df.groupby("viewers", sort=True):
        fan, other = d[d["fan"]], d[~d["fan"]]
        tot = d[["impressions", "entries", "orders"]].sum()
        row = {"viewers": viewers, "streams": int(d["streams"].iloc[0])}
        row["fan_share_of_impressions"] = fan["impressions"].sum() / max(tot["impressions"], 1)
        row["fan_share_of_entries"] = fan["entries"].sum() / max(tot["entries"], 1)
        for label, part in (("fan", fan), ("non_fan", other), ("all", d)):
            s = part[["impressions", "entries", "orders"]].sum()
            row[f"entries_per_impression_{label}"] = s["entries"] / max(s["impressions"], 1)
            row[f"orders_per_entry_{label}"] = s["orders"] / max(s["entries"], 1)
        out.append(row)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from simulation.cli import OneLineParser

    p = OneLineParser(prog="python -m benchmarks.conversion", description=__doc__)
    p.add_argument("viewers", nargs="*", type=int, default=[100_000, 1_000_000])
    p.add_argument("--days", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if any(v < 1_000 for v in args.viewers) or args.days < 1:
        p.error("viewers must be at least 1000 and --days at least 1")
    df = pd.concat([decompose(v, args.days, args.seed) for v in args.viewers], ignore_index=True)
    pd.set_option("display.width", 160)
    print(df.to_string(index=False))
    print()
    print(summary(df).round(4).T.to_string(header=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
