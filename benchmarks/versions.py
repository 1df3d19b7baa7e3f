"""Version 2's market against version 1's, per impression, in interleaved fresh processes.

The issue's speed budget compares the cost per impression of version 2's market (``default``,
so ``scale_1m`` as it is) with version 1's (the same market with version 1's values) at a
million viewers. Version 1's values are not written down here: they are the keys on which the
named scenarios ``v1`` and ``default`` differ, read from both, so the comparison follows the
scenario files. Each round runs both versions with the same seed, one after the other in
fresh processes, alternating which goes first; on a shared machine only such pairs mean
anything, so the table keeps every round and its own ratio.
"""

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

VERSIONS = ("v2", "v1")
"""The two markets of the comparison: ``scale_1m`` as it is (version 2) and the same market
with version 1's values (:func:`version_1_overrides`)."""


def version_1_overrides() -> dict[str, Any]:
    """The dotted-key overrides that turn a market built on ``default`` into version 1's: every
    key whose value differs between the scenarios ``v1`` and ``default`` (their names and
    descriptions aside), with ``v1``'s value — the ablation of every version-2 mechanism
    (:func:`experiments._versions.ablation_overrides`, whose mechanisms cover exactly those
    keys: tests/test_versions.py checks it)."""
    from experiments._versions import MECHANISMS, ablation_overrides

    return ablation_overrides(MECHANISMS)


def compare(
    run: Callable[..., dict],
    viewers: int,
    days: int,
    rounds: int,
    extra: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
):
    """Time both versions ``rounds`` times at ``viewers`` for ``days`` days, interleaved.

    ``run(viewers, days, seed=..., extra=...)`` runs one fresh worker process and returns its
    JSON record (``benchmarks.__main__.run_worker``). Round ``r`` uses seed ``r`` for both
    versions; even rounds run version 2 first, odd rounds version 1 first, so that a slow
    spell or a warming cache does not always fall on the same version. ``extra`` (the
    suite's ``--set``) applies to both.

    Returns
    -------
    pandas.DataFrame
        One row per round and version: seed, wall seconds, impressions, ns per impression
        (wall) and CPU ns per impression (the worker process's CPU time, which a busy machine
        moves less), the round's ratio (version 2's ns per impression over version 1's), and,
        on every row, the median of the per-round ratios and the ratio of the two versions'
        median ns per impression, then the round's ratio of CPU ns per impression.
    """
    import pandas as pd

    overrides = {"v2": dict(extra or {}), "v1": {**version_1_overrides(), **(extra or {})}}
    rows = []
    for r in range(rounds):
        order = VERSIONS if r % 2 == 0 else VERSIONS[::-1]
        for version in order:
            res = run(viewers, days, seed=r, extra=overrides[version])
            ns = res["wall_seconds"] / max(res["impressions"], 1) * 1e9
            rows.append(
                {
                    "round": r,
                    "version": version,
                    "seed": r,
                    "viewers": viewers,
                    "days": days,
                    "wall_seconds": res["wall_seconds"],
                    "impressions": res["impressions"],
                    "ns_per_impression": ns,
                    "cpu_ns_per_impression": res["cpu_seconds"] / max(res["impressions"], 1) * 1e9,
                }
            )
            if log:
                log(f"  round {r + 1}/{rounds}, {version}: {ns:.1f} ns per impression")
    df = pd.DataFrame(rows)
    ns = df.pivot(index="round", columns="version", values="ns_per_impression")
    per_round = ns["v2"] / ns["v1"]
    df["round_ratio"] = df["round"].map(per_round)
    df["median_round_ratio"] = statistics.median(per_round)
    df["ratio_of_medians"] = statistics.median(ns["v2"]) / statistics.median(ns["v1"])
    cpu = df.pivot(index="round", columns="version", values="cpu_ns_per_impression")
    df["cpu_round_ratio"] = df["round"].map(cpu["v2"] / cpu["v1"])
    return df


def summary(df) -> str:
    """The comparison in a few printable lines: each round, then both ratios."""
    lines = [
        f"version 2 against version 1 at {df['viewers'].iloc[0]:,} viewers, ns per impression:"
    ]
    for r, g in df.groupby("round"):
        ns = g.set_index("version")["ns_per_impression"]
        lines.append(
            f"  round {r + 1} (seed {g['seed'].iloc[0]}): v2 {ns['v2']:.1f}, v1 {ns['v1']:.1f}, "
            f"ratio {g['round_ratio'].iloc[0]:.3f} (CPU time: {g['cpu_round_ratio'].iloc[0]:.3f})"
        )
    lines.append(
        f"  median per-round ratio {df['median_round_ratio'].iloc[0]:.3f}, "
        f"ratio of medians {df['ratio_of_medians'].iloc[0]:.3f}"
    )
    return "\n".join(lines)


def write(df, out_dir: Path) -> Path:
    """Write the comparison to ``out_dir/versions.csv``; returns the path."""
    path = out_dir / "versions.csv"
    df.to_csv(path, index=False)
    return path
