"""The values of the run summaries: ``api.took_off``, ``api.summarize`` (ROI, final tier,
followers, the group's totals), the paired leverage of ``api.run_summary``,
``metrics.top_share`` and ``experiments._measure.takeoff_day``.

Every input is a small hand-made table and every expected value is worked out by hand from
the documented definitions (docs/MODEL.md section 11 "Outputs", the functions' docstrings),
not copied from the functions' output.
"""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simulation import api
from simulation.commands.experiment import ensure_importable
from simulation.config import load_scenario
from simulation.metrics import top_share

ensure_importable()

from experiments._measure import takeoff_day  # noqa: E402

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def free_table(rows: list[tuple[int, int, int, int]]) -> pd.DataFrame:
    """A streams table with only what the take-off rule reads: (day, stream, live_minutes,
    free_impressions) per row."""
    df = pd.DataFrame(rows, columns=["day", "stream", "live_minutes", "free_impressions"])
    return df.astype("int64")


FOCAL = np.array([0])


def test_took_off_multiple_is_three():
    # The published rule (docs/MODEL.md section 11) is "3 x the median"; every hand-worked
    # threshold below assumes it.
    assert api.TOOK_OFF_MULTIPLE == 3.0


# --------------------------------------------------------------------------------------------
# api.took_off
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("focal_free", "expected"), [(30, True), (29, False)])
def test_took_off_threshold_is_three_times_the_median_inclusive(focal_free, expected):
    # Live that day: focal + 4 others -> values {focal, 5, 10, 10, 20}; with focal = 30 or 29
    # the median is 10, so the threshold is 30 and "at least" makes 30 take off, 29 not.
    st = free_table(
        [(0, 0, 240, focal_free), (0, 1, 240, 5), (0, 2, 240, 10), (0, 3, 240, 10), (0, 4, 240, 20)]
    )
    assert api.took_off(st, FOCAL) is expected


def test_took_off_median_counts_only_streams_live_that_day():
    # Live: focal 30, others 20, 20 -> median 20, threshold 60: not taken off.
    # Three off-air rows with 0 free impressions would pull the median to 10 (threshold 30,
    # taken off) if they were counted.
    st = free_table(
        [
            (0, 0, 240, 30),
            (0, 1, 240, 20),
            (0, 2, 240, 20),
            (0, 3, 0, 0),
            (0, 4, 0, 0),
            (0, 5, 0, 0),
        ]
    )
    assert api.took_off(st, FOCAL) is False


def test_took_off_even_count_median_is_the_mean_of_the_middle_two():
    # Live values {focal 40, 10, 12, 20}: median (12 + 20) / 2 = 16, threshold 48 -> False;
    # with focal 48 -> True.
    rows = [(0, 1, 240, 10), (0, 2, 240, 12), (0, 3, 240, 20)]
    assert api.took_off(free_table([(0, 0, 240, 40), *rows]), FOCAL) is False
    assert api.took_off(free_table([(0, 0, 240, 48), *rows]), FOCAL) is True


@pytest.mark.parametrize(("focal_free", "expected"), [(0, False), (2, False), (3, True)])
def test_took_off_median_is_floored_at_one(focal_free, expected):
    # Live values {focal, 0, 0, 0, 0}: median 0, floored at 1 -> threshold 3.
    # Without the floor a focal room with 0 free impressions would "take off" (0 >= 0).
    st = free_table([(0, 0, 240, focal_free)] + [(0, s, 240, 0) for s in range(1, 5)])
    assert api.took_off(st, FOCAL) is expected


def test_took_off_fractional_median_below_one_is_floored():
    # Live values {focal 2, 0, 0, 1}: median 0.5 -> floored to 1, threshold 3: 2 does not
    # take off (it would against the unfloored threshold 1.5).
    st = free_table([(0, 0, 240, 2), (0, 1, 240, 0), (0, 2, 240, 0), (0, 3, 240, 1)])
    assert api.took_off(st, FOCAL) is False


def test_took_off_judges_the_last_live_day_not_the_last_day():
    # Day 0: focal 10 vs others {10, 10} -> median 10, threshold 30: no.
    # Day 1: focal 90 vs others {10, 20} -> median 20, threshold 60: yes (last live day).
    # Day 2: focal off air (0 free); others 50, 50 live. Judging day 2 would say no.
    st = free_table(
        [
            (0, 0, 240, 10),
            (0, 1, 240, 10),
            (0, 2, 240, 10),
            (1, 0, 240, 90),
            (1, 1, 240, 10),
            (1, 2, 240, 20),
            (2, 0, 0, 0),
            (2, 1, 240, 50),
            (2, 2, 240, 50),
        ]
    )
    assert api.took_off(st, FOCAL) is True


def test_took_off_is_not_any_day():
    # Day 0: focal 100 vs others {10, 10} -> takes off that day.
    # Day 1 (last live day): focal 20 vs others {10, 10} -> median 10, threshold 30: no.
    st = free_table(
        [
            (0, 0, 240, 100),
            (0, 1, 240, 10),
            (0, 2, 240, 10),
            (1, 0, 240, 20),
            (1, 1, 240, 10),
            (1, 2, 240, 10),
        ]
    )
    assert api.took_off(st, FOCAL) is False


def test_took_off_sums_free_impressions_over_the_group():
    # Focal group = streams 0 and 1 (20 + 10 = 30). Live values {20, 10, 10, 10, 10}: median
    # 10, threshold 30. Neither stream alone reaches 30; the group does.
    st = free_table(
        [(0, 0, 240, 20), (0, 1, 240, 10), (0, 2, 240, 10), (0, 3, 240, 10), (0, 4, 240, 10)]
    )
    assert api.took_off(st, np.array([0, 1])) is True
    assert api.took_off(st, np.array([0])) is False


def test_took_off_last_live_day_is_the_groups():
    # Focal group {0, 1}: stream 0 live on days 0-1, stream 1 live on day 0 only. The group's
    # last live day is 1, where stream 0 has 30 vs others {10, 10} -> median 10 -> yes.
    st = free_table(
        [
            (0, 0, 240, 0),
            (0, 1, 240, 0),
            (0, 2, 240, 10),
            (0, 3, 240, 10),
            (1, 0, 240, 30),
            (1, 1, 0, 0),
            (1, 2, 240, 10),
            (1, 3, 240, 10),
        ]
    )
    assert api.took_off(st, np.array([0, 1])) is True


def test_took_off_false_without_a_focal_group_or_a_live_day():
    st = free_table([(0, 0, 0, 0), (0, 1, 240, 0), (1, 0, 0, 0), (1, 1, 240, 0)])
    # No focal streams at all (focal_streams of an unknown group is empty).
    assert api.took_off(st, np.empty(0, dtype=np.int64)) is False
    # A focal room never on air (stream 0): it has no last live day, so it has not taken off.
    assert api.took_off(st, FOCAL) is False


# --------------------------------------------------------------------------------------------
# experiments._measure.takeoff_day
# --------------------------------------------------------------------------------------------


def test_takeoff_day_is_the_first_qualifying_day():
    # Others {10, 10, 10} every day (median of the four live values is 10 when focal >= 10).
    # Focal: day 0 10 (no), day 1 29 (no: threshold 30), day 2 30 (yes), day 3 100 (yes).
    focal = {0: 10, 1: 29, 2: 30, 3: 100}
    rows = [(d, 0, 240, f) for d, f in focal.items()]
    rows += [(d, s, 240, 10) for d in range(4) for s in (1, 2, 3)]
    day, took = takeoff_day(free_table(rows), FOCAL, 4)
    assert (day, took) == (2.0, True)
    assert isinstance(day, float)


def test_takeoff_day_never_returns_the_run_length():
    # Focal 20 vs others {10, 10}: median 10, threshold 30, never reached in 3 days.
    rows = [(d, 0, 240, 20) for d in range(3)]
    rows += [(d, s, 240, 10) for d in range(3) for s in (1, 2)]
    st = free_table(rows)
    assert takeoff_day(st, FOCAL, 3) == (3.0, False)
    # The run's length is what the caller passes (days with no row at all still count).
    assert takeoff_day(st, FOCAL, 7) == (7.0, False)


def test_takeoff_day_empty_group_never_takes_off():
    st = free_table([(0, 0, 240, 100), (0, 1, 240, 1)])
    assert takeoff_day(st, np.empty(0, dtype=np.int64), 5) == (5.0, False)


def test_takeoff_day_skips_off_air_days_and_off_air_rows():
    # Day 0: focal off air (its 0 is not a live day).
    # Day 1: focal 30, live others 20, 20 -> median 20, threshold 60: no. Three off-air rows
    #        with 0 would drop the median to 10 (threshold 30: yes) if counted.
    # Day 2: focal 60, live others 20, 20 -> median 20, threshold 60: yes.
    rows = [(0, 0, 0, 0), (0, 1, 240, 0), (0, 2, 240, 0)]
    rows += [(1, 0, 240, 30), (1, 1, 240, 20), (1, 2, 240, 20)]
    rows += [(1, s, 0, 0) for s in (3, 4, 5)]
    rows += [(2, 0, 240, 60), (2, 1, 240, 20), (2, 2, 240, 20)]
    rows += [(2, s, 0, 0) for s in (3, 4, 5)]
    assert takeoff_day(free_table(rows), FOCAL, 3) == (2.0, True)


def test_takeoff_day_median_is_floored_at_one():
    # Day 0: everyone live at 0 -> median 0, floored to 1, threshold 3: focal 0 does not take
    #        off (it would against an unfloored threshold 0).
    # Day 1: focal 2, others 0, 0, 0 -> median 0 -> threshold 3: no.
    # Day 2: focal 3, others 0, 0, 0 -> yes.
    focal = {0: 0, 1: 2, 2: 3}
    rows = [(d, 0, 240, f) for d, f in focal.items()]
    rows += [(d, s, 240, 0) for d in range(3) for s in (1, 2, 3)]
    assert takeoff_day(free_table(rows), FOCAL, 3) == (2.0, True)


def test_takeoff_day_sums_the_group():
    # Group {0, 1}: 20 + 10 = 30 on day 1 vs others {10, 10, 10} -> median 10 -> threshold
    # 30: day 1. Day 0: 5 + 5 = 10 < 30.
    rows = [(0, 0, 240, 5), (0, 1, 240, 5), (1, 0, 240, 20), (1, 1, 240, 10)]
    rows += [(d, s, 240, 10) for d in range(2) for s in (2, 3, 4)]
    assert takeoff_day(free_table(rows), np.array([0, 1]), 2) == (1.0, True)


def test_takeoff_day_agrees_with_took_off_on_the_last_live_day():
    # "The rule of took_off, day by day": a room that qualifies only on its last live day
    # (day 2 of 3; day 3 off air) is found on day 2 by both.
    rows = [(d, 0, 240, f) for d, f in {0: 10, 1: 10, 2: 90}.items()] + [(3, 0, 0, 0)]
    rows += [(d, s, 240, 10) for d in range(4) for s in (1, 2)]
    st = free_table(rows)
    assert api.took_off(st, FOCAL) is True
    assert takeoff_day(st, FOCAL, 4) == (2.0, True)


# --------------------------------------------------------------------------------------------
# api.summarize
# --------------------------------------------------------------------------------------------

STREAM_COLUMNS = (
    "day",
    "stream",
    "live_minutes",
    "gmv",
    "margin",
    "pool_tier",
    "followers",
    "free_impressions",
    "paid_impressions",
    "follow_impressions",
    "ad_spend",
    "paid_gmv",
)


def run_result(rows: list[dict], ticks: pd.DataFrame, groups: list[int]) -> api.RunResult:
    """A RunResult with a hand-made streams table and a stand-in model holding only the
    stream -> group map (group 0 "focal", group 1 "field")."""
    streams = pd.DataFrame([{c: r.get(c, 0) for c in STREAM_COLUMNS} for r in rows])
    table = SimpleNamespace(group_names=["focal", "field"], group=np.asarray(groups))
    model = SimpleNamespace(table=table)
    return api.RunResult(None, 1, model, ticks, streams, wall_seconds=1.25)


def focal_day(day, **kw):
    return {"day": day, "stream": 0, "live_minutes": 240, **kw}


def other(day, stream, gmv, free, live=240):
    row = {"day": day, "stream": stream, "live_minutes": live, "gmv": gmv}
    return {**row, "free_impressions": free}


TICKS = pd.DataFrame({"gmv": [400.0, 350.0, 250.0], "orders": [3, 4, 5]})

FOCAL_DAYS = [
    focal_day(
        0,
        gmv=100.0,
        margin=30.0,
        pool_tier=1,
        followers=10,
        free_impressions=50,
        paid_impressions=20,
        follow_impressions=5,
        ad_spend=40.0,
        paid_gmv=60.0,
    ),
    focal_day(
        1,
        gmv=200.0,
        margin=50.0,
        pool_tier=3,
        followers=25,
        free_impressions=80,
        paid_impressions=30,
        follow_impressions=10,
        ad_spend=60.0,
        paid_gmv=240.0,
    ),
    focal_day(
        2,
        gmv=300.0,
        margin=70.0,
        pool_tier=2,
        followers=40,
        free_impressions=120,
        paid_impressions=0,
        follow_impressions=15,
        ad_spend=0.0,
        paid_gmv=0.0,
    ),
]
# Streams 1-3 (group "field"): whole-run GMV 200, 100, 100; day-2 free impressions 40, 30, 20.
OTHERS = [
    other(0, 1, 100.0, 10),
    other(0, 2, 50.0, 10),
    other(0, 3, 50.0, 10),
    other(1, 1, 50.0, 10),
    other(1, 2, 25.0, 10),
    other(1, 3, 25.0, 10),
    other(2, 1, 50.0, 40),
    other(2, 2, 25.0, 30),
    other(2, 3, 25.0, 20),
]


def test_summarize_values_of_a_scripted_run():
    s = api.summarize(run_result(FOCAL_DAYS + OTHERS, TICKS, [0, 1, 1, 1]))
    assert s["total_gmv"] == 1000.0  # 400 + 350 + 250 (ticks)
    assert s["total_orders"] == 12  # 3 + 4 + 5
    assert s["focal_gmv"] == 600.0  # 100 + 200 + 300
    assert s["focal_margin"] == 150.0  # 30 + 50 + 70
    assert s["free_impressions"] == 250  # 50 + 80 + 120
    assert s["paid_impressions"] == 50  # 20 + 30 + 0
    assert s["follow_impressions"] == 30  # 5 + 10 + 15
    assert s["ad_spend"] == 100.0  # 40 + 60 + 0
    assert s["wall_seconds"] == 1.25
    # Per-stream GMV totals {600, 200, 100, 100}, sum 1000, mean 250:
    # sum over ordered pairs |xi - xj| = 2 * (400 + 500 + 500 + 100 + 100 + 0) = 3200,
    # Gini = 3200 / (2 * 4^2 * 250) = 0.4 (population convention, docs section 11).
    assert s["gini_gmv"] == pytest.approx(0.4, abs=1e-12)
    # Top 10 % of 4 streams = at least one stream: 600 / 1000.
    assert s["top10_share_gmv"] == pytest.approx(0.6, abs=1e-12)
    # Day 2 (last live day): live free {120, 40, 30, 20}, median 35, threshold 105 <= 120.
    assert s["took_off"] is True


def test_summarize_roi_is_paid_gmv_over_spend_of_the_whole_run():
    # (60 + 240 + 0) / (40 + 60 + 0) = 3.0; the mean of the daily ROIs (1.5 and 4.0, day 2
    # has no spend) would be 2.75.
    s = api.summarize(run_result(FOCAL_DAYS + OTHERS, TICKS, [0, 1, 1, 1]))
    assert s["roi"] == pytest.approx(3.0, abs=1e-12)


def test_summarize_final_tier_and_followers_are_the_last_days():
    # Last day (2): tier 2 (the run's highest, 3 on day 1, is not the final tier), followers
    # 40 (end of the last day, not the sum 75).
    s = api.summarize(run_result(FOCAL_DAYS + OTHERS, TICKS, [0, 1, 1, 1]))
    assert s["focal_final_tier"] == 2
    assert s["focal_followers"] == 40
    assert isinstance(s["focal_final_tier"], int) and isinstance(s["focal_followers"], int)


def test_summarize_roi_is_nan_without_spend():
    days = [
        focal_day(d, gmv=50.0, free_impressions=10, ad_spend=0.0, paid_gmv=0.0) for d in range(3)
    ]
    s = api.summarize(run_result(days + OTHERS, TICKS, [0, 1, 1, 1]))
    assert s["ad_spend"] == 0.0
    assert math.isnan(s["roi"])


def test_summarize_final_tier_is_the_last_live_days():
    # pool_tier is 0 on a day off air, so a room off air on the run's last day reports the
    # tier of its last *live* day (3 on day 1), the day took_off judges too (day 1: 90 vs
    # others {40, 30, 20} -> median 35, threshold 105: no). Followers are end-of-day counts,
    # so off-air days keep them: the last day's.
    days = [
        focal_day(0, pool_tier=2, followers=10, free_impressions=50),
        focal_day(1, pool_tier=3, followers=20, free_impressions=90),
        {**focal_day(2, pool_tier=0, followers=25, free_impressions=0), "live_minutes": 0},
    ]
    others = [other(d, s, 10.0, f) for d in range(3) for s, f in ((1, 40), (2, 30), (3, 20))]
    s = api.summarize(run_result(days + others, TICKS, [0, 1, 1, 1]))
    assert s["focal_final_tier"] == 3
    assert s["focal_followers"] == 25
    assert s["took_off"] is False


def test_summarize_without_a_focal_group():
    # A group name that does not exist: every focal figure is empty (0, NaN ROI, not taken
    # off); the platform figures are unchanged.
    s = api.summarize(run_result(FOCAL_DAYS + OTHERS, TICKS, [0, 1, 1, 1]), focal="nobody")
    assert s["focal_gmv"] == 0.0 and s["focal_margin"] == 0.0
    assert s["focal_final_tier"] == 0 and s["focal_followers"] == 0
    assert (s["free_impressions"], s["paid_impressions"], s["follow_impressions"]) == (0, 0, 0)
    assert s["ad_spend"] == 0.0
    assert math.isnan(s["roi"])
    assert s["took_off"] is False
    assert s["total_gmv"] == 1000.0 and s["total_orders"] == 12
    assert s["gini_gmv"] == pytest.approx(0.4, abs=1e-12)
    assert s["top10_share_gmv"] == pytest.approx(0.6, abs=1e-12)


def test_summarize_sums_a_group_of_several_streams():
    # Group "focal" = streams 0 and 1 (group 1 "field" = streams 2 and 3), one day.
    # ROI = (30 + 90) / (20 + 20) = 3.0; followers 7 + 5 = 12; free 30 + 20 = 50 vs live
    # {30, 20, 10, 5}: median 15, threshold 45 -> 50 takes off (neither stream alone does).
    rows = [
        focal_day(0, gmv=100.0, free_impressions=30, ad_spend=20.0, paid_gmv=30.0, followers=7),
        {
            **focal_day(0, gmv=50.0, free_impressions=20, ad_spend=20.0, paid_gmv=90.0),
            "stream": 1,
            "followers": 5,
        },
        other(0, 2, 30.0, 10),
        other(0, 3, 20.0, 5),
    ]
    ticks = pd.DataFrame({"gmv": [200.0], "orders": [4]})
    s = api.summarize(run_result(rows, ticks, [0, 0, 1, 1]))
    assert s["focal_gmv"] == 150.0
    assert s["free_impressions"] == 50
    assert s["ad_spend"] == 40.0
    assert s["roi"] == pytest.approx(3.0, abs=1e-12)
    assert s["focal_followers"] == 12
    assert s["took_off"] is True


# --------------------------------------------------------------------------------------------
# api.run_summary: paired leverage
# --------------------------------------------------------------------------------------------


@pytest.fixture
def scripted_runs(monkeypatch):
    """Replace api.run and api.summarize: a run records its scenario and seed; its summary
    is WITH_ADS or WITHOUT_ADS according to the focal campaign's strategy."""
    calls: list[tuple[str, int]] = []
    summaries: dict[str, dict] = {}

    def fake_run(sc, seed):
        strategy = sc.streams["focal"].campaign.strategy
        calls.append((strategy, seed))
        return SimpleNamespace(strategy=strategy)

    def fake_summarize(res, focal="focal"):
        assert focal == "focal"
        return dict(summaries["none" if res.strategy == "none" else "ads"])

    monkeypatch.setattr(api, "run", fake_run)
    monkeypatch.setattr(api, "summarize", fake_summarize)
    return SimpleNamespace(calls=calls, summaries=summaries, scenario=load_scenario("v1"))


def summary(free: int, paid: int, wall: float) -> dict:
    return {"free_impressions": free, "paid_impressions": paid, "wall_seconds": wall}


@pytest.mark.parametrize(
    ("with_ads", "without", "leverage"),
    [
        # (1000 - 700) / 400
        ((1000, 400), (700, 0), 0.75),
        # ads crowd free traffic out: (600 - 700) / 400
        ((600, 400), (700, 0), -0.25),
        # no gain: (700 - 700) / 50
        ((700, 50), (700, 0), 0.0),
    ],
)
def test_run_summary_leverage_is_free_gain_per_paid_impression(
    scripted_runs, with_ads, without, leverage
):
    scripted_runs.summaries["ads"] = summary(*with_ads, wall=2.0)
    scripted_runs.summaries["none"] = summary(*without, wall=1.5)
    out = api.run_summary(scripted_runs.scenario, 11, paired_leverage=True)
    assert out["leverage"] == pytest.approx(leverage, abs=1e-12)
    # The pair: the scenario as given, then the same seed with the focal strategy "none".
    assert scripted_runs.calls == [("feedback_gated", 11), ("none", 11)]
    # The other figures are the run with ads; wall time is the pair's.
    assert (out["free_impressions"], out["paid_impressions"]) == with_ads
    assert out["wall_seconds"] == 3.5


def test_run_summary_leverage_is_nan_without_paid_impressions(scripted_runs):
    scripted_runs.summaries["ads"] = summary(900, 0, wall=2.0)
    scripted_runs.summaries["none"] = summary(700, 0, wall=1.5)
    out = api.run_summary(scripted_runs.scenario, 3, paired_leverage=True)
    assert math.isnan(out["leverage"])
    assert out["wall_seconds"] == 3.5


def test_run_summary_without_pairing_runs_once_and_leverage_is_nan(scripted_runs):
    scripted_runs.summaries["ads"] = summary(1000, 400, wall=2.0)
    out = api.run_summary(scripted_runs.scenario, 5)
    assert math.isnan(out["leverage"])
    assert scripted_runs.calls == [("feedback_gated", 5)]
    assert out["wall_seconds"] == 2.0


# --------------------------------------------------------------------------------------------
# metrics.top_share
# --------------------------------------------------------------------------------------------


def test_top_share_of_one_to_ten():
    values = np.arange(1, 11)  # sum 55
    assert top_share(values, 0.1) == pytest.approx(10 / 55, abs=1e-15)
    assert top_share(values, 0.2) == pytest.approx(19 / 55, abs=1e-15)
    assert top_share(values, 0.5) == pytest.approx(40 / 55, abs=1e-15)  # 10+9+8+7+6
    assert top_share(values, 1.0) == 1.0


def test_top_share_is_order_free_and_flattens():
    shuffled = np.array([3, 10, 1, 7, 2, 9, 4, 8, 6, 5])
    assert top_share(shuffled, 0.2) == pytest.approx(19 / 55, abs=1e-15)
    assert top_share(shuffled.reshape(2, 5), 0.2) == pytest.approx(19 / 55, abs=1e-15)
    assert top_share(list(shuffled), 0.2) == pytest.approx(19 / 55, abs=1e-15)


def test_top_share_takes_at_least_one_entry():
    # 10 % of 3 entries is 0.3 of an entry: the top one, 5 / 10.
    assert top_share(np.array([2.0, 5.0, 3.0]), 0.1) == 0.5
    assert top_share(np.array([7.0]), 0.1) == 1.0


def test_top_share_ties_at_the_cut_count_once():
    # Ten entries, two tied at the top: the top 10 % is one entry, 5 / (5 + 5 + 8) = 5 / 18,
    # not both tied entries (10 / 18).
    values = np.array([5.0, 5.0] + [1.0] * 8)
    assert top_share(values, 0.1) == pytest.approx(5 / 18, abs=1e-15)
    # All equal: the top 10 % of ten equal entries hold exactly 10 %.
    assert top_share(np.full(10, 4.0), 0.1) == pytest.approx(0.1, abs=1e-15)


def test_top_share_of_the_default_market_takes_21_of_209():
    # The default scenario has 209 streams: 10 % is 20.9 -> 21 entries. 21 entries of 2 and
    # 188 of 1 (total 230): 42 / 230 (20 entries would give 40 / 230, 22 give 43 / 230).
    values = np.array([2.0] * 21 + [1.0] * 188)
    assert top_share(values, 0.1) == pytest.approx(42 / 230, abs=1e-15)


@pytest.mark.parametrize(("n", "k"), [(14, 1), (16, 2), (39, 4), (15, 2), (25, 3), (45, 5)])
def test_top_share_counts_the_nearest_whole_number_of_entries(n, k):
    # 10 % of 14, 16, 39 entries is 1.4, 1.6, 3.9 -> 1, 2, 4 entries (39 streams: the
    # quick-size market); 1.5, 2.5, 4.5 -> 2, 3, 5 (halves up). Values: k + 1 entries of 3,
    # the rest 1, so the share tells the count: 3k / (3(k + 1) + (n - k - 1)).
    values = np.array([3.0] * (k + 1) + [1.0] * (n - k - 1))
    assert top_share(values, 0.1) == pytest.approx(3 * k / (3 * (k + 1) + n - k - 1), abs=1e-15)


def test_top_share_is_zero_for_empty_or_zero_total():
    assert top_share(np.array([]), 0.1) == 0.0
    assert top_share(np.zeros(5), 0.1) == 0.0
