"""The measurement behind docs/MODEL.md 7.21 (not a study): a top KOL's 专场 for the focal
merchant, with and without the merchant's own room, and 混场 against 专场.

Version 1's market (``SCENARIO = "v1"``), 20,000 viewers, 10 days, profit accounting and
returns on, seeds 1-10 (common random numbers: every arm of a seed shares its seed): version
1's market with only these mechanisms and the KOL session switched on, so the session's effect
is isolated; ``SCENARIO = "default"`` runs it in version 2's market. One extra top KOL (the
scenario's top-KOL traits, the focal merchant's goods, on air 18:00-23:00) streams only on
day 3 (its schedule is set to that day after the model is built). Arms:

- ``room, no KOL``: the focal room as in the scenario; the KOL sells its own selection;
- ``room + 专场``: the KOL's session is a 专场 for the focal merchant;
- ``room + 专场, no capture``: the same with ``kol_capture_follow = 0`` and no look-alike
  seeds (the capture mechanism off);
- ``room + 混场``: a 混场 slot (``kol_slot_share`` of the session) instead;
- ``room + v1 KOL``: version 1's KOL (every order the merchant's, no fee, v1 store follows);
- ``no room, no KOL`` and ``no room + 专场``: the focal room never goes live (and buys no ads);
- ``room (look-alike), no KOL`` and ``room (look-alike) + 专场``: the focal campaign targets
  look-alikes, the channel the seeds act on.

The merchant's GMV and profit are summed over the rows selling its goods (its room and the
KOL row); "after" is days 4-9. Paired differences over the seeds: mean, 95 % t interval,
paired t test (two-sided).

    python docs/kol_sessions_note.py
"""

import numpy as np
from scipy import stats

from simulation.config import load_scenario, to_dict
from simulation.model import SnowballModel

SCENARIO = "v1"
SEEDS = tuple(range(1, 11))
DAYS, SESSION_DAY = 10, 3
BASE = {
    "population.viewers": 20_000,
    "days": DAYS,
    "economics.profit_accounting": True,
    "economics.returns": True,
}


def market() -> dict:
    """The extra KOL: the scenario's top-KOL traits with the focal merchant's goods."""
    sc = load_scenario(SCENARIO)
    focal = sc.streams["focal"]
    g = {k: v for k, v in to_dict(sc.streams["top_kol"]).items() if v is not None}
    g.update(
        count=1,
        category=focal.category,
        price=list(focal.price),
        quality=list(focal.quality),
        mix=list(focal.mix),
        start_hour=18.0,
        hours=5.0,
        days_per_week=7.0,
    )
    return {f"streams.merchant_kol.{k}": v for k, v in g.items()}


KOL = {"streams.merchant_kol.merchant": "focal"}
NO_ROOM = {"streams.focal.hours": 0.0, "streams.focal.campaign.strategy": "none"}
LOOKALIKE = {"streams.focal.campaign.targeting": "lookalike"}
ARMS = {
    "room, no KOL": {},
    "room + 专场": {**KOL, "streams.merchant_kol.kol_session": "dedicated"},
    "room + 专场, no capture": {
        **KOL,
        "streams.merchant_kol.kol_session": "dedicated",
        "streams.merchant_kol.kol_capture_follow": 0.0,
        "streams.merchant_kol.kol_seed_lookalike": False,
    },
    "room + 混场": {**KOL, "streams.merchant_kol.kol_session": "mixed"},
    "room + v1 KOL": {**KOL},
    "no room, no KOL": {**NO_ROOM},
    "no room + 专场": {**NO_ROOM, **KOL, "streams.merchant_kol.kol_session": "dedicated"},
    "room (look-alike), no KOL": {**LOOKALIKE},
    "room (look-alike) + 专场": {
        **LOOKALIKE,
        **KOL,
        "streams.merchant_kol.kol_session": "dedicated",
    },
}


def one(overrides: dict, seed: int) -> dict[str, float]:
    """One run's merchant measures."""
    m = SnowballModel(SCENARIO, seed, overrides={**BASE, **market(), **overrides})
    t = m.table
    k = int(np.flatnonzero(t.group == t.group_names.index("merchant_kol"))[0])
    f = int(np.flatnonzero(t.group == t.group_names.index("focal"))[0])
    t.days_on[k] = False
    t.days_on[k, SESSION_DAY] = True
    m.run_days()
    recs = m.daily_records
    rows = np.flatnonzero(t.merchant_room == f)

    def merchant(key: str, days) -> float:
        return float(sum(recs[d][key][rows].sum() for d in days))

    after = range(SESSION_DAY + 1, DAYS)
    r3 = recs[SESSION_DAY]
    has = "kol_slot_fees" in r3
    return {
        "gmv_after": merchant("gmv", after),
        "profit_after": merchant("profit", after),
        "profit_total": merchant("profit", range(DAYS)),
        "kol_gmv": float(r3["gmv"][k]) if t.merchant_room[k] == f else 0.0,
        "kol_profit": float(r3["profit"][k]) if t.merchant_room[k] == f else 0.0,
        "fee": float(r3["kol_slot_fees"][k]) if has else 0.0,
        "captured": float(r3["kol_buyers_captured"][k]) if has else 0.0,
        "followers_end": float(recs[-1]["followers"][f]),
        "paid_gmv_after": merchant("paid_gmv", after),
    }


def paired(a: np.ndarray, b: np.ndarray) -> str:
    d = a - b
    mean, se = d.mean(), d.std(ddof=1) / np.sqrt(len(d))
    half = stats.t.ppf(0.975, len(d) - 1) * se
    p = stats.ttest_rel(a, b).pvalue if np.any(d != 0) else 1.0
    return f"{mean:+,.0f} [{mean - half:+,.0f}, {mean + half:+,.0f}], p = {p:.3g}"


def main() -> None:
    got = {name: [one(o, s) for s in SEEDS] for name, o in ARMS.items()}
    keys = list(next(iter(got.values()))[0])
    val = {name: {k: np.array([r[k] for r in runs]) for k in keys} for name, runs in got.items()}
    print("| arm | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name, v in val.items():
        print(f"| {name} | " + " | ".join(f"{v[k].mean():,.0f}" for k in keys) + " |")
    print()
    comps = [
        ("专场 effect with own room", "room + 专场", "room, no KOL"),
        ("专场 effect without own room", "no room + 专场", "no room, no KOL"),
        (
            "capture mechanism (专场 vs 专场 without capture)",
            "room + 专场",
            "room + 专场, no capture",
        ),
        ("混场 vs 专场 (own room)", "room + 混场", "room + 专场"),
        ("专场 vs v1 KOL (own room)", "room + 专场", "room + v1 KOL"),
        (
            "专场 effect, look-alike campaign",
            "room (look-alike) + 专场",
            "room (look-alike), no KOL",
        ),
    ]
    for label, a, b in comps:
        print(f"**{label}** ({a} − {b}):")
        for k in ("gmv_after", "profit_after", "profit_total", "followers_end"):
            print(f"- {k}: {paired(val[a][k], val[b][k])}")
    # the interaction: does the own room change the 专场's effect?
    with_room = val["room + 专场"]["profit_after"] - val["room, no KOL"]["profit_after"]
    without = val["no room + 专场"]["profit_after"] - val["no room, no KOL"]["profit_after"]
    print(f"**own room x 专场, profit after** (with − without): {paired(with_room, without)}")
    with_room = val["room + 专场"]["gmv_after"] - val["room, no KOL"]["gmv_after"]
    without = val["no room + 专场"]["gmv_after"] - val["no room, no KOL"]["gmv_after"]
    print(f"**own room x 专场, GMV after** (with − without): {paired(with_room, without)}")


if __name__ == "__main__":
    main()
