"""Re-measure the numbers quoted in docs/TEACHING.md.

Each lesson's runs go through the dashboard's own session model (the same controls, presets
and overrides as the page), at the page's default size of 10,000 viewers, for seeds 1-3.
The script prints one Markdown table per lesson. Run it after the model changes and update
the "What the model shows" paragraphs:

    .venv/bin/python docs/check_lessons.py            # every lesson (10-20 min on 2 cores)
    .venv/bin/python docs/check_lessons.py 3 5        # lessons 3 and 5 only
"""

import sys
from dataclasses import replace
from typing import Any

import numpy as np

from simulation.dashboard.session import DashboardModel, controls_from_preset

SEEDS = (1, 2, 3)
VIEWERS = 10_000
NO_ADS = {"strategy": "none", "daily_budget": 0.0}

# lesson number -> (title, [(arm label, preset, days, control changes)])
LESSONS: dict[int, tuple[str, list[tuple[str, str, int, dict[str, Any]]]]] = {
    1: (
        "Does free traffic follow paid traffic?",
        [
            ("default, ads", "default", 7, {}),
            ("default, no ads", "default", 7, NO_ADS),
            ("weak_room, ads", "weak_room", 7, {}),
            ("weak_room, no ads", "weak_room", 7, NO_ADS),
        ],
    ),
    2: (
        "Scale the budget, or scale only on feedback?",
        [
            ("default, feedback_gated", "default", 14, {}),
            ("default, always_scale", "default", 14, {"strategy": "always_scale"}),
            ("weak_room, feedback_gated", "weak_room", 14, {}),
            ("weak_room, always_scale", "weak_room", 14, {"strategy": "always_scale"}),
        ],
    ),
    3: (
        "Snowball or funnel?",
        [
            ("feed, no ads", "default", 14, NO_ADS),
            ("feed, cold_start", "default", 14, {"strategy": "cold_start"}),
            ("funnel, no ads", "funnel", 14, NO_ADS),
            ("funnel, cold_start", "funnel", 14, {"strategy": "cold_start"}),
        ],
    ),
    4: ("Where do fans come from?", [("default", "default", 21, {})]),
    5: (
        "Cheap goods: more margin now, less traffic later?",
        [("default", "default", 21, {}), ("cheap_goods", "cheap_goods", 21, {})],
    ),
    6: (
        "Which product mix sells best?",
        [(f"drivers {d:.0%}", "default", 10, {"driver_share": d}) for d in (0.0, 0.3, 0.6, 0.85)],
    ),
    7: (
        "Stream every day, or a few long days?",
        [("default", "default", 14, {}), ("sporadic", "sporadic", 14, {})],
    ),
    8: (
        "Who gains from a platform promotion?",
        [
            ("default", "default", 14, {}),
            ("default, promotion day 10", "default", 14, {"promotion": True, "promotion_day": 10}),
            ("cheap_goods", "cheap_goods", 14, {}),
            (
                "cheap_goods, promotion day 10",
                "cheap_goods",
                14,
                {"promotion": True, "promotion_day": 10},
            ),
        ],
    ),
    9: (
        "Who wins on the platform?",
        [("feed", "default", 14, {}), ("funnel", "funnel", 14, {})],
    ),
}


def measure(preset: str, days: int, seed: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Run one arm to its end, as the dashboard would, and summarise the focal room."""
    controls, _ = controls_from_preset(preset)
    model = DashboardModel(
        controls=replace(controls, **changes), viewers=VIEWERS, days=days, seed=seed
    )
    if model.sim is None:
        raise SystemExit(f"{preset} {changes}: {model.problems or model.error}")
    while model.running:
        model.step()
    h = model.history
    per_day = 1440 // model.tick_minutes
    gmv_day = h["gmv"].reshape(days, per_day).sum(axis=1)
    imp_day = (h["free"] + h["paid"] + h["follow"]).reshape(days, per_day).sum(axis=1)
    follow_day = h["follow"].reshape(days, per_day).sum(axis=1)
    share = np.divide(follow_day, imp_day, out=np.zeros(days), where=imp_day > 0)
    out = model.summary()
    out["gmv_weeks"] = [round(float(w)) for w in np.add.reduceat(gmv_day, range(0, days, 7))]
    out["gmv_day10"] = float(gmv_day[9]) if days >= 10 else float("nan")
    out["fan_share_first_last"] = (float(share[0]), float(share[-1]))
    return out


def table(number: int) -> str:
    title, arms = LESSONS[number]
    rows = [
        f"### Lesson {number}: {title}",
        "",
        "| arm | seed | free | paid | follow | GMV | margin | profit | ad spend | ROI | fans "
        "| review | Gini | GMV by week | GMV day 10 | fan share day 1 → last |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, preset, days, changes in arms:
        for seed in SEEDS:
            s = measure(preset, days, seed, changes)
            first, last = s["fan_share_first_last"]
            profit = "n/a" if s["profit"] is None else f"{s['profit']:,.0f}"
            rows.append(
                f"| {label} | {seed} | {s['free']:,} | {s['paid']:,} | {s['follow']:,} | "
                f"{s['gmv']:,.0f} | {s['margin']:,.0f} | {profit} | {s['ad_spend']:,.0f} | "
                f"{s['roi']:.2f} | {s['fans']:,} | {s['review']:.2f} | {s['gini']:.3f} | "
                f"{' / '.join(f'{w:,}' for w in s['gmv_weeks'])} | {s['gmv_day10']:,.0f} | "
                f"{first:.1%} → {last:.1%} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Measure the lessons of docs/TEACHING.md (seeds 1-3) and print one "
        "Markdown table per lesson on stdout (progress rows go to stderr: redirect only "
        "stdout into docs/LESSONS_MEASURED.md)."
    )
    # No ``choices=`` here: Python 3.11's argparse checks an empty ``nargs="*"`` list against
    # them and refuses the no-argument form (every lesson).
    parser.add_argument("lessons", nargs="*", type=int, metavar="N", help="lessons (default: all)")
    wanted = parser.parse_args(argv).lessons or sorted(LESSONS)
    unknown = sorted(set(wanted) - set(LESSONS))
    if unknown:
        parser.error(f"no lesson {unknown[0]}; lessons are {', '.join(map(str, sorted(LESSONS)))}")
    for number in wanted:
        print(table(number), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
