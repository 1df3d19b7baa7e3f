"""One benchmark run in its own process, so that its peak resident memory is its own.

Prints one JSON line: wall time of the run (and of building the model), its CPU time (the
process's, all threads: on a machine shared with other work it moves less than the wall
time), ticks, impressions, sessions, slots (sessions x slots per session), entries, orders
and GMV, per-phase seconds, peak RSS (bytes), bytes of per-viewer state.
"""

import json
import resource
import sys
import time


def scaled_overrides(viewers: int, days: int, sessions_per_day: float | None = None) -> dict:
    """The ``scale_1m`` market scaled to ``viewers``: each group's stream count in proportion
    (2,000 streams per million viewers, at least one stream per group), and its per-stream
    shares of viewers (initial followers, warm-up reach) divided by the same factor the count
    changed by, so that follows and warm-up views per viewer stay those of ``scale_1m``."""
    from simulation.config import load_scenario

    f = viewers / 1_000_000
    out = {"population.viewers": viewers, "days": days}
    for name, g in load_scenario("scale_1m").streams.items():
        count = max(1, round(g.count * f))
        out[f"streams.{name}.count"] = count
        ratio = g.count / count
        if g.initial_followers > 0:
            out[f"streams.{name}.initial_followers"] = min(1.0, g.initial_followers * ratio)
        if g.warmup_videos > 0:
            out[f"streams.{name}.warmup_reach"] = min(1.0, g.warmup_reach * ratio)
    if sessions_per_day is not None:
        out["population.sessions_per_day"] = sessions_per_day
    return out


def viewer_state_bytes(model) -> int:
    """Bytes of per-viewer state: the population's arrays and, under the mixed platform, each
    viewer's search propensity (the one per-viewer array a policy keeps)."""
    propensity = getattr(model.policy, "propensity", None)
    return int(model.population.nbytes()) + (0 if propensity is None else propensity.nbytes)


def main(argv: list[str]) -> None:
    from simulation import allocator

    allocator.tune()  # as the snowball command does, before the model is built
    from simulation import api

    viewers, days, seed = int(argv[0]), int(argv[1]), int(argv[2])
    spd = float(argv[3]) if len(argv) > 3 and argv[3] != "-" else None
    extra = json.loads(argv[4]) if len(argv) > 4 else {}
    t0 = time.perf_counter()
    overrides = {**scaled_overrides(viewers, days, spd), **extra}
    model = api.build_model("scale_1m", seed=seed, overrides=overrides)
    start, cpu = time.perf_counter(), time.process_time()
    model.run_days(days)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    ticks = api.ticks_table(model)
    fan_impressions = sum(int(r["fan_impressions"].sum()) for r in model.daily_records)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "viewers": viewers,
                "streams": int(model.table.n),
                "days": days,
                "seed": seed,
                "wall_seconds": wall,
                "cpu_seconds": cpu,
                "build_seconds": start - t0,
                "ticks": len(ticks),
                "impressions": int(ticks["impressions"].sum()),
                "sessions": int(ticks["sessions"].sum()),
                "slots": int(ticks["sessions"].sum()) * model.population.cfg.slots_per_session,
                "entries": int(ticks["entries"].sum()),
                "orders": int(ticks["orders"].sum()),
                "gmv": float(ticks["gmv"].sum()),
                "fan_impressions": fan_impressions,
                "follows": int((model.population.follow >= 0).sum()),
                "phases": dict(model.timer.seconds),
                "peak_rss_bytes": int(rss),
                "viewer_state_bytes": viewer_state_bytes(model),
                "overrides": extra,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
