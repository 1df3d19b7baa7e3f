"""The measurement behind docs/MODEL.md 7.22 (not a study): paid traffic to explore.

Version 1's market (``SCENARIO = "v1"``), 20,000 viewers, 10 days, seeds 1-6: version 1's
market with only audience expansion switched on, so its effect is isolated;
``SCENARIO = "default"`` runs it in version 2's market. The focal room's campaign (interest
targeting, 800 yuan a day, max delivery) run by ``explore_when_stable`` against its base
strategy ``fixed`` (the same budget, never expanding), and, for scale, ``fixed`` at full
expansion from day 0. Per run, over the 10 days, for the focal room: viewers reached (distinct
viewers shown the room, any source; distinct viewers shown its ads), fans at the end and fans
whose strongest interest is not the room's category ("outside the core category"), GMV, paid
ROI (paid GMV / ad spend), gross margin less ad spend, and the expansion level and impressions.
Effects are paired differences against ``fixed`` (same seed) with 95 % Student-t intervals.

    python docs/explore_note.py
"""

import numpy as np

from simulation.behaviour import PAID
from simulation.intervals import mean_interval
from simulation.model import SnowballModel

SCENARIO = "v1"
BASE = {"population.viewers": 20_000}
DAYS = 10
CAMPAIGN = "streams.focal.campaign"
ARMS = {
    "fixed (base)": {f"{CAMPAIGN}.strategy": "fixed"},
    "explore_when_stable": {f"{CAMPAIGN}.strategy": "explore_when_stable"},
    "fixed, expansion 1": {f"{CAMPAIGN}.strategy": "fixed", f"{CAMPAIGN}.expansion": 1.0},
}
SEEDS = (1, 2, 3, 4, 5, 6)
METRICS = (
    "reach",
    "paid_reach",
    "fans",
    "fans_outside",
    "gmv",
    "roi",
    "margin_less_ads",
    "mean_level",
    "paid_impressions",
    "expansion_impressions",
    "expansion_follows",
)


def measure(seed: int, overrides: dict) -> dict[str, float]:
    """One run's focal-room numbers (see the module docstring)."""
    m = SnowballModel(SCENARIO, seed=seed, days=DAYS, overrides={**BASE, **overrides})
    shown = np.zeros(m.population.n, dtype=bool)
    paid_shown = np.zeros(m.population.n, dtype=bool)
    respond = m.behaviour.respond

    def spy(imp, *args, **kwargs):
        focal = imp.stream == 0
        shown[imp.viewer[focal]] = True
        paid_shown[imp.viewer[focal & (imp.source == PAID)]] = True
        return respond(imp, *args, **kwargs)

    m.behaviour.respond = spy
    m.run_days()
    pop, cat = m.population, int(m.table.category[0])
    fans = np.flatnonzero((pop.follow == 0).any(axis=1))
    top = pop.interests[fans].argmax(axis=1)
    rec = m.daily_records

    def total(key: str) -> float:
        return float(sum(r[key][0] for r in rec)) if key in rec[0] else 0.0

    hist = m.ad_agents[0].history
    return {
        "reach": float(shown.sum()),
        "paid_reach": float(paid_shown.sum()),
        "fans": float(len(fans)),
        "fans_outside": float((top != cat).sum()),
        "gmv": total("gmv"),
        "roi": total("paid_gmv") / max(total("ad_spend"), 1e-9),
        "margin_less_ads": total("margin") - total("ad_spend"),
        "mean_level": float(np.mean([h.expansion for h in hist])),
        "paid_impressions": total("paid_impressions"),
        "expansion_impressions": total("expansion_impressions"),
        "expansion_follows": total("expansion_follows"),
    }


def main() -> None:
    got = {arm: {k: np.array(v) for k, v in _collect(o).items()} for arm, o in ARMS.items()}
    print("| arm | " + " | ".join(METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    for arm, g in got.items():
        print(f"| {arm} | " + " | ".join(f"{g[k].mean():,.2f}" for k in METRICS) + " |")
    base = got["fixed (base)"]
    for arm in list(ARMS)[1:]:
        print(f"\n{arm} - fixed (paired, {len(SEEDS)} seeds, mean [95 % CI]):")
        for k in METRICS:
            d = got[arm][k] - base[k]
            mean, lo, hi, _ = mean_interval(d)
            rel = mean / base[k].mean() if base[k].mean() else float("nan")
            print(f"  {k}: {mean:+,.2f} [{lo:+,.2f}, {hi:+,.2f}] ({rel:+.1%})")


def _collect(overrides: dict) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in METRICS}
    for seed in SEEDS:
        for k, v in measure(seed, overrides).items():
            out[k].append(v)
    return out


if __name__ == "__main__":
    main()
