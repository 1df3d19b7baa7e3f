"""The claim-2 probe of issue 21: free-traffic leverage of a room at the bottom of every peer
range with a fixed ad budget, with and without audience-aware estimates.

Leverage is experiments/paid_leverage.py's: (the focal room's free impressions over the run
with its campaign - without it, same seed) / its paid impressions with the campaign. The
probe reports the mean over a fixed list of seeds, its sign and a one-sample t-test's p-value
against 0; it asserts nothing about the value (tests/test_audience_estimates.py runs it, and
``python tests/claim2_probe.py [--small | --full] [interest | broad] [off | on]`` prints it at
the moderate, the test's or the full size of paid_leverage, for the targetings and audience
estimates named, default all).
"""

import sys
from typing import Any

import numpy as np
from scipy import stats

from simulation.model import SnowballModel

BOTTOM = {
    "streams.focal.hook": 0.06,
    "streams.focal.retention": 0.8,
    "streams.focal.persuasion": 0.02,
    "streams.focal.campaign.daily_budget": 800.0,
}
"""The bottom of every field-room range of ``default`` (hook, retention, persuasion)."""
SEEDS = (301, 302, 303, 304, 305, 306)
MODERATE = {"population.viewers": 10_000, "days": 7}
"""paid_leverage's moderate size."""
FULL = {"population.viewers": 20_000, "days": 10}
"""paid_leverage's full size."""
TEST_SIZE = {
    "population.viewers": 3000,
    "days": 3,
    "streams.field.count": 24,
    "streams.field_ads.count": 6,
    "streams.alliance.count": 6,
    "streams.top_kol.count": 2,
    "streams.top_kol.days_per_week": 7,
}
"""The test suite's small market (tests/conftest.py's SMALL), over three days."""


def focal_free_and_paid(overrides: dict[str, Any], seed: int) -> tuple[float, float]:
    """The focal room's free and paid impressions over one run of ``default``."""
    m = SnowballModel("v1", seed, overrides=overrides)
    m.run_days()
    focal = m.table.group_names.index("focal")
    i = int(np.flatnonzero(m.table.group == focal)[0])
    free = sum(float(r["free_impressions"][i]) for r in m.daily_records)
    paid = sum(float(r["paid_impressions"][i]) for r in m.daily_records)
    return free, paid


def leverage(
    size: dict[str, Any], seeds: tuple[int, ...], targeting: str, audience: bool
) -> dict[str, Any]:
    """Per-seed leverage of the bottom room with a fixed budget, and its summary."""
    base = {
        **size,
        **BOTTOM,
        "streams.focal.campaign.targeting": targeting,
        "platform.audience_estimates": audience,
    }
    values = []
    for seed in seeds:
        free_ads, paid = focal_free_and_paid(
            {**base, "streams.focal.campaign.strategy": "fixed"}, seed
        )
        free_none, _ = focal_free_and_paid(
            {**base, "streams.focal.campaign.strategy": "none"}, seed
        )
        values.append((free_ads - free_none) / paid if paid > 0 else float("nan"))
    x = np.asarray(values)
    t = stats.ttest_1samp(x, 0.0)
    return {
        "targeting": targeting,
        "audience_estimates": audience,
        "n": len(x),
        "mean": float(x.mean()),
        "sign": int(np.sign(x.mean())),
        "positive_seeds": int((x > 0).sum()),
        "p": float(t.pvalue),
        "values": x,
    }


def describe(r: dict[str, Any]) -> str:
    est = "audience" if r["audience_estimates"] else "per-room"
    return (
        f"{r['targeting']:>8} targeting, {est:>8} estimates: leverage {r['mean']:+.3f} "
        f"(n = {r['n']} seeds, {r['positive_seeds']}/{r['n']} > 0, two-sided t p = {r['p']:.3g})"
    )


if __name__ == "__main__":  # pragma: no cover - a measurement script
    args = sys.argv[1:]
    size = TEST_SIZE if "--small" in args else FULL if "--full" in args else MODERATE
    targetings = [t for t in ("interest", "broad") if t in args] or ["interest", "broad"]
    switches = [s == "on" for s in ("off", "on") if s in args] or [False, True]
    for targeting in targetings:
        for audience in switches:
            print(describe(leverage(size, SEEDS, targeting, audience)), flush=True)
