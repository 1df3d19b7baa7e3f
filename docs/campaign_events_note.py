"""The measurement behind docs/MODEL.md 7.12's note (not a study): version 1's market
(``SCENARIO = "v1"``), 7 days, 20,000 viewers, seeds 1-4; a platform-wide sale on day 3 with
its review gate on against off (and no sale): the focal room's GMV on the sale day and the day
after, with the paired differences gate on - gate off. Version 1's market with only the sale
switched on, so its effect is isolated; ``SCENARIO = "default"`` runs it in version 2's market.

    python docs/campaign_events_note.py
"""

import numpy as np
from scipy import stats

from simulation import api

SCENARIO = "v1"
BASE = {"population.viewers": 20_000, "days": 7}
SALE = "calendar.sales.sale"
ARMS = {
    "no sale": {},
    "sale, review gate on": {f"{SALE}.days": [3]},
    "sale, review gate off": {f"{SALE}.days": [3], f"{SALE}.review_gate": False},
}
SEEDS = (1, 2, 3, 4)


def focal_gmv(overrides: dict) -> tuple[np.ndarray, float]:
    """(seeds x 2) focal GMV on days 3 and 4; the mean share of rooms taking part on day 3."""
    gmv, share = [], []
    for seed in SEEDS:
        s = api.run(SCENARIO, seed=seed, overrides={**BASE, **overrides}).streams
        f = s[s.group == "focal"].set_index("day")
        gmv.append([f.gmv[3], f.gmv[4]])
        if "event_participant" in s:
            share.append(s[s.day == 3].event_participant.mean())
    return np.asarray(gmv), float(np.mean(share)) if share else 0.0


def main() -> None:
    got = {name: focal_gmv(o) for name, o in ARMS.items()}
    print("| arm | focal GMV, sale day (mean ± sd) | day after | rooms taking part |")
    print("|---|---|---|---|")
    for name, (g, share) in got.items():
        print(
            f"| {name} | {g[:, 0].mean():,.0f} ± {g[:, 0].std(ddof=1):,.0f} | "
            f"{g[:, 1].mean():,.0f} ± {g[:, 1].std(ddof=1):,.0f} | {share:.0%} |"
        )
    d = got["sale, review gate on"][0] - got["sale, review gate off"][0]
    for j, day in enumerate(("sale day", "day after")):
        t = stats.ttest_1samp(d[:, j], 0.0)
        print(
            f"gate on - off, {day}: {d[:, j].mean():+,.0f} yuan (per seed "
            f"{', '.join(f'{x:+,.0f}' for x in d[:, j])}; paired t p = {t.pvalue:.3f})"
        )


if __name__ == "__main__":
    main()
