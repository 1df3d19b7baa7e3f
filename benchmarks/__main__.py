"""``python -m benchmarks``: wall time, throughput, scaling and memory of the model.

For each size (viewers; streams scale with viewers, 2,000 per million) it runs the model in
fresh processes several times and reports the median and range of wall time, impressions per
second, viewer-ticks per second, ticks per second and peak RSS; then the cost of a tick with
no viewer active (O(streams) work only), the per-phase profile at the largest size, and the
bytes of per-viewer state. Writes results/benchmarks/bench.csv, phases.csv and scaling.png.
Then it times version 2's market (``scale_1m`` as it is) against version 1's (the same market
with the values on which the scenarios ``v1`` and ``default`` differ) at the largest size, in
``--rounds`` interleaved pairs of fresh processes, and writes the cost per impression of each
and their ratio (benchmarks.versions, versions.csv).
``--full`` also runs ``scale_1m`` itself (1M viewers, 30 days) and the same market at 100k
viewers for the same 30 days, and compares their per-viewer rates (scale_1m.json,
scale_check.csv); then splits entries and orders by fan status at both sizes over 5 days
(benchmarks.conversion, conversion.csv).
"""

import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "benchmarks"


def run_worker(
    viewers: int,
    days: int,
    seed: int,
    sessions_per_day: float | None = None,
    env: dict[str, str] | None = None,
    extra: dict | None = None,
) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.worker",
        str(viewers),
        str(days),
        str(seed),
        "-" if sessions_per_day is None else str(sessions_per_day),
        json.dumps(extra or {}),
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, check=True, env=env and {**os.environ, **env}
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from simulation.cli import OneLineParser

    p = OneLineParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="comma-separated viewer counts (default: 10k, 100k, 1M)",
    )
    p.add_argument("--days", type=int, default=2, help="simulated days per run (default 2)")
    p.add_argument("--repeats", type=int, default=3, help="runs per size (default 3)")
    p.add_argument(
        "--full",
        action="store_true",
        help="also time the scale_1m scenario itself (1M viewers, 30 days) once and compare its "
        "per-viewer rates with the same market at 100k viewers over the same days",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds of version 2 against version 1 at the largest size "
        "(default 3; 0 skips the comparison)",
    )
    p.add_argument("--out", type=Path, default=OUT, help=f"output folder (default: {OUT})")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a scenario override on top of the scaled scale_1m market, as `snowball run --set` "
        "(repeatable), e.g. --set platform.audience_estimates=true to time a mechanism",
    )
    args = p.parse_args(argv)
    out_dir = args.out
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    except ValueError:
        p.error(f"--sizes {args.sizes!r}: give comma-separated viewer counts, e.g. 10000,100000")
    if min(sizes) < 1000:
        p.error(f"--sizes {args.sizes!r}: each size must be at least 1000 viewers")
    if args.days < 1 or args.repeats < 1:
        p.error("--days and --repeats must be at least 1")
    if args.rounds < 0:
        p.error(f"--rounds {args.rounds}: give 0 (no comparison) or more rounds")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        p.error(f"--out {str(out_dir)!r}: cannot create the folder ({exc.strerror})")
    from simulation.config import ConfigError, load_scenario, parse_override

    try:
        extra = dict(parse_override(t) for t in args.set)
        load_scenario("scale_1m", extra)  # refused here, in one line, not in a worker
    except ConfigError as exc:
        p.error(str(exc))
    import pandas as pd

    kernels = importlib.util.find_spec("numba") is not None
    if kernels:
        # Compile the kernels (or load them from the cache) once in an untimed run, so the
        # first timed run of the largest size does not include compiling.
        run_worker(min(sizes), 1, seed=0, env={"SNOWBALL_KERNELS": "1"}, extra=extra)
    else:
        print(
            "numba is not installed: the compiled kernels are off and large sizes run on numpy "
            '(about 1.7x slower at 1M viewers); `make bench` or pip install -e ".[fast]" adds it',
            file=sys.stderr,
        )
    rows = []
    for n in sizes:
        for r in range(args.repeats):
            res = run_worker(n, args.days, seed=r, extra=extra)
            rows.append(res)
            print(
                f"  {n:>9,} viewers, run {r + 1}/{args.repeats}: {res['wall_seconds']:.1f} s",
                file=sys.stderr,
            )
    idle = run_worker(sizes[-1], 1, seed=0, sessions_per_day=0.0, extra=extra)
    table = []
    for n in sizes:
        rs = [r for r in rows if r["viewers"] == n]
        walls = [r["wall_seconds"] for r in rs]
        med = statistics.median(walls)
        imp = statistics.median(r["impressions"] for r in rs)
        ticks = rs[0]["ticks"]
        table.append(
            {
                "viewers": n,
                "streams": rs[0]["streams"],
                "days": args.days,
                "runs": len(rs),
                "wall_median_s": med,
                "wall_min_s": min(walls),
                "wall_max_s": max(walls),
                "impressions": imp,
                "impressions_per_s": imp / med,
                "viewer_ticks_per_s": n * ticks / med,
                "ticks_per_s": ticks / med,
                "ns_per_impression": med / imp * 1e9,
                "build_median_s": statistics.median(r["build_seconds"] for r in rs),
                "peak_rss_mb": max(r["peak_rss_bytes"] for r in rs) / 2**20,
                "viewer_state_bytes_per_viewer": rs[0]["viewer_state_bytes"] / n,
                **per_viewer_day(rs, n, args.days),
            }
        )
    df = pd.DataFrame(table)
    df["idle_tick_ms_at_largest"] = idle["wall_seconds"] / idle["ticks"] * 1000
    df["compiled_kernels"] = kernels
    df["overrides"] = " ".join(args.set)
    df.to_csv(out_dir / "bench.csv", index=False)
    big = [r for r in rows if r["viewers"] == sizes[-1]]
    phases = pd.DataFrame([r["phases"] for r in big]).median().rename("seconds")
    phases = phases.to_frame()
    phases["share"] = phases["seconds"] / phases["seconds"].sum()
    phases.to_csv(out_dir / "phases.csv", index_label="phase")
    comparison = None
    if args.rounds:
        from benchmarks import versions

        comparison = versions.compare(
            run_worker,
            sizes[-1],
            args.days,
            args.rounds,
            extra=extra,
            log=lambda line: print(line, file=sys.stderr),
        )
        versions.write(comparison, out_dir)
    full = None
    if args.full:
        full, check = scale_check(out_dir, FULL_VIEWERS, REFERENCE_VIEWERS, FULL_DAYS)
        conv = conversion_check(out_dir, (REFERENCE_VIEWERS, FULL_VIEWERS), CONVERSION_DAYS)
    plot(df, out_dir / "scaling.png")
    pd.set_option("display.width", 160)
    print(
        df.drop(columns=["idle_tick_ms_at_largest", "compiled_kernels"])
        .round(2)
        .to_string(index=False)
    )
    print(f"compiled kernels: {'on (numba)' if kernels else 'off (numba not installed)'}")
    print(
        f"\nidle tick (no viewer active) at {sizes[-1]:,} viewers and "
        f"{idle['streams']:,} streams: {df['idle_tick_ms_at_largest'].iloc[0]:.2f} ms"
    )
    print(f"\nphases at {sizes[-1]:,} viewers (median of {len(big)} runs):")
    print(phases.round(3).to_string())
    if comparison is not None:
        print("\n" + versions.summary(comparison))
    if full:
        print(
            f"\nscale_1m (1M viewers, {full['streams']:,} streams, 30 days): "
            f"{full['wall_seconds']:.1f} s running + {full['build_seconds']:.1f} s building, "
            f"{full['impressions'] / full['wall_seconds']:,.0f} impressions/s, "
            f"peak RSS {full['peak_rss_bytes'] / 2**30:.2f} GiB"
        )
        print(
            f"\nper-viewer rates against a {REFERENCE_VIEWERS:,}-viewer market "
            f"({full['reference_streams']:,} streams, the same {FULL_DAYS} days):"
        )
        print(check.round(4).to_string(index=False))
        print(f"\nby fan status ({CONVERSION_DAYS} days, conversion.csv):")
        print(conv.round(4).T.to_string(header=False))
    written = ", versions.csv" if comparison is not None else ""
    written += ", scale_1m.json, scale_check.csv, conversion.csv" if full else ""
    print(f"\nwrote {out_dir}/bench.csv, phases.csv, scaling.png{written}")
    return 0


FULL_VIEWERS, FULL_DAYS, REFERENCE_VIEWERS = 1_000_000, 30, 100_000


def scale_check(out_dir: Path, viewers: int, reference: int, days: int):
    """Run the ``scale_1m`` market at ``viewers`` and at ``reference`` viewers (streams
    scaled along) for the same ``days``, seed 0, and compare their per-viewer rates: a
    larger market should reproduce them, apart from the parameters that are absolute rather
    than per viewer (docs/MODEL.md, "Absolute"). Writes ``scale_1m.json`` (the large run, with
    its reference) and ``scale_check.csv``; returns both."""
    import pandas as pd

    full = run_worker(viewers, days, seed=0)
    ref = run_worker(reference, days, seed=0)
    check = pd.DataFrame(
        {"reference": rates(ref, reference, days), "scale": rates(full, viewers, days)}
    )
    check = check.rename_axis("rate").reset_index()
    check["ratio"] = check["scale"] / check["reference"]
    full = {**full, "reference_viewers": reference, "reference_streams": ref["streams"]}
    full["reference"] = ref
    (out_dir / "scale_1m.json").write_text(json.dumps(full, indent=2) + "\n")
    check.to_csv(out_dir / "scale_check.csv", index=False)
    return full, check


CONVERSION_DAYS = 5


def conversion_check(out_dir: Path, sizes: tuple[int, ...], days: int):
    """Entries and orders split by fan status and source at each size (benchmarks.conversion),
    ``days`` days, seed 0: writes ``conversion.csv`` and returns its per-size summary."""
    import pandas as pd

    from benchmarks import conversion

    df = pd.concat([conversion.decompose(n, days) for n in sizes], ignore_index=True)
    df.to_csv(out_dir / "conversion.csv", index=False)
    return conversion.summary(df)


def rates(run: dict, viewers: int, days: int) -> dict[str, float]:
    """Per-viewer daily rates of one run and the funnel ratios between them."""
    out = {"sessions_per_viewer_day": run["sessions"] / viewers / days}
    out.update(per_viewer_day([run], viewers, days))
    out["slots_filled"] = run["impressions"] / max(run["slots"], 1)
    out["entries_per_impression"] = run["entries"] / max(run["impressions"], 1)
    out["orders_per_entry"] = run["orders"] / max(run["entries"], 1)
    out["gmv_per_order"] = run["gmv"] / max(run["orders"], 1)
    # Fans (viewers who follow the room they are shown) enter and buy more often; how often
    # a slot meets one depends on rooms per category, not only on viewers (PERFORMANCE.md).
    out["fan_share_of_impressions"] = run["fan_impressions"] / max(run["impressions"], 1)
    out["follows_per_viewer_at_end"] = run["follows"] / viewers
    return out


def per_viewer_day(runs: list[dict], viewers: int, days: int) -> dict[str, float]:
    """Median per-viewer daily rates of the runs: a larger market should show the same."""
    out = {}
    for key in ("impressions", "entries", "orders", "gmv"):
        out[f"{key}_per_viewer_day"] = statistics.median(r[key] for r in runs) / viewers / days
    return out


def plot(df, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    x = df["viewers"].to_numpy()
    y = df["wall_median_s"].to_numpy()
    ax[0].errorbar(
        x,
        y,
        yerr=[y - df["wall_min_s"], df["wall_max_s"] - y],
        fmt="o-",
        label="median (range) wall time",
    )
    ax[0].plot(x, y[0] * x / x[0], "k--", lw=0.8, label="linear in viewers")
    ax[0].set(
        xscale="log",
        yscale="log",
        xlabel="viewers (streams scale along)",
        ylabel=f"wall time for {df['days'].iloc[0]} simulated days (s)",
        title="Scaling",
    )
    ax[0].legend()
    ax[1].plot(x, df["ns_per_impression"], "o-")
    ax[1].set(
        xscale="log",
        xlabel="viewers",
        ylabel="wall time per impression (ns)",
        title="Cost per impression",
        ylim=(0, None),
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
