"""Top KOL sessions (simulation/kol.py): 混场 order shares, 专场 orders, fees, capture by the
merchant's own room, look-alike seeds, the switch off = version 1, and bad values."""

import numpy as np
import pytest
from scipy import stats

from simulation.config import ConfigError, load_scenario
from simulation.kol import DEDICATED, KOL_FIELDS, MIXED
from simulation.model import SnowballModel

from conftest import small

SEEDS = (0, 1, 2, 3, 4, 5, 6, 7)


def kol_over(mode: str, own_room: bool = True, **extra) -> dict:
    """One top KOL on air every day for the focal merchant, with profit and returns."""
    over = {
        "economics.profit_accounting": True,
        "economics.returns": True,
        "streams.top_kol.count": 0,
        "streams.merchant_kol.kind": "top_kol",
        "streams.merchant_kol.category": 0,
        "streams.merchant_kol.hook": 0.2,
        "streams.merchant_kol.persuasion": 0.08,
        "streams.merchant_kol.start_hour": 20.0,
        "streams.merchant_kol.hours": 5.0,
        "streams.merchant_kol.initial_followers": 0.08,
        "streams.merchant_kol.merchant": "focal",
        "streams.merchant_kol.kol_session": mode,
    }
    if not own_room:
        over["streams.focal.hours"] = 0.0
        over["streams.focal.campaign.strategy"] = "none"
    over.update({f"streams.merchant_kol.{k}": v for k, v in extra.items()})
    return over


def build(mode: str, seed: int = 0, days: int = 2, own_room: bool = True, **extra):
    return SnowballModel(small("v1", **kol_over(mode, own_room, **extra)), seed, days=days)


def kol_index(m: SnowballModel) -> int:
    return int(np.flatnonzero(m.table.group == m.table.group_names.index("merchant_kol"))[0])


def focal_index(m: SnowballModel) -> int:
    return int(np.flatnonzero(m.table.group == m.table.group_names.index("focal"))[0])


# ------------------------------------------------------------------ 混场: the slot's orders


def test_mixed_merchant_share_of_orders_is_the_slot_share():
    """Per seed, 4,000 scripted orders of the 混场 room: the merchant's share is the slot
    share (binomial test per seed, and pooled over the seeds)."""
    share = 0.125
    hits, total = 0, 0
    for seed in SEEDS:
        m = build("mixed", seed, kol_slot_share=share)
        k = kol_index(m)
        mine = m.kol.merchant_orders(np.full(4000, k), None)
        assert stats.binomtest(int(mine.sum()), 4000, share).pvalue > 1e-3
        hits, total = hits + int(mine.sum()), total + 4000
    assert stats.binomtest(hits, total, share).pvalue > 1e-3
    assert abs(hits / total - share) < 0.01


def test_mixed_slot_share_is_not_a_constant():
    """The share moves with the setting (a test that could fail if it were ignored)."""
    m = build("mixed", 0, kol_slot_share=0.5)
    mine = m.kol.merchant_orders(np.full(4000, kol_index(m)), None)
    assert stats.binomtest(int(mine.sum()), 4000, 0.5).pvalue > 1e-3


def test_mixed_slot_on_the_run_of_show_clock_is_centred():
    """With the clock: a 5-hour session, share 1/8: minutes [131.25, 168.75) are the slot,
    i.e. the ticks starting at 140, 150 and 160 minutes."""
    m = build("mixed", 0, kol_slot_share=0.125)
    k = kol_index(m)
    clocks = np.arange(0, 300, 10.0)
    inside = []
    for c in clocks:
        clock = np.zeros(m.table.n)
        clock[k] = c
        inside.append(bool(m.kol.in_slot(clock)[k]))
    assert clocks[inside].tolist() == [140.0, 150.0, 160.0]
    clock = np.zeros(m.table.n)
    clock[k] = 150.0
    assert m.kol.merchant_orders(np.full(5, k), clock).all()
    clock[k] = 20.0
    assert not m.kol.merchant_orders(np.full(5, k), clock).any()


def test_mixed_run_keeps_the_merchant_part_in_the_row():
    m = build("mixed", 3, days=2, kol_slot_share=0.25)
    k = kol_index(m)
    assert m.kol.mode[k] == MIXED
    m.run_days()
    session = sum(r["kol_session_orders"][k] for r in m.daily_records)
    mine = sum(r["orders"][k] for r in m.daily_records)
    assert session > 100
    assert 0 < mine < session
    assert stats.binomtest(int(mine), int(session), 0.25).pvalue > 1e-3
    gmv = sum(r["gmv"][k] for r in m.daily_records)
    assert gmv < sum(r["kol_session_gmv"][k] for r in m.daily_records)


# ------------------------------------------------------------------ 专场


def test_dedicated_every_order_is_the_merchants_and_takes_its_goods():
    m = build("dedicated", 1, days=2)
    k, f = kol_index(m), focal_index(m)
    t = m.table
    assert m.kol.mode[k] == DEDICATED
    assert t.category[k] == t.category[f] and t.price[k] == t.price[f]
    assert t.quality[k] == t.quality[f] and (t.mix[k] == t.mix[f]).all()
    assert m.kol.merchant_orders(np.full(100, k), None).all()
    m.run_days()
    for r in m.daily_records:
        assert r["orders"][k] == r["kol_session_orders"][k]
        assert r["gmv"][k] == r["kol_session_gmv"][k]
    assert sum(r["orders"][k] for r in m.daily_records) > 0


# ------------------------------------------------------------------ fees


@pytest.mark.parametrize(
    "mode, key, fee", [("mixed", "kol_slot_fee", 250.0), ("dedicated", "kol_dedicated_fee", 2500.0)]
)
def test_fee_charged_once_per_session_and_taken_from_profit(mode, key, fee):
    m = build(mode, 2, days=3, **{key: fee})
    m.run_days()
    k = kol_index(m)
    for r in m.daily_records:
        went_live_today = r["live"][k] and r["kol_slot_fees"][k] > 0
        assert r["kol_slot_fees"][k] == (fee if went_live_today else 0.0)
        terms = (
            r["refunds"][k]
            + r["cogs"][k]
            + r["platform_fees"][k]
            + r["commission"][k]
            + r["return_handling"][k]
            + r["ad_spend"][k]
            + r["host_cost"][k]
            + r["capacity_cost"][k]
        )
        assert r["profit"][k] == pytest.approx(r["gmv"][k] - terms - r["kol_slot_fees"][k])
        assert r["commission"][k] == pytest.approx(0.2 * (r["gmv"][k] - r["refunds"][k]))
        assert r["commission"][k] >= 0 and 0 <= r["refunds"][k] <= r["gmv"][k]
    assert sum(r["kol_slot_fees"][k] for r in m.daily_records) == 3 * fee
    others = np.arange(m.table.n) != k
    assert all((r["kol_slot_fees"][others] == 0).all() for r in m.daily_records)


# ------------------------------------------------------------------ capture


def test_capture_only_with_an_own_room():
    with_room = build("dedicated", 4, days=2, kol_capture_follow=0.5)
    without = build("dedicated", 4, days=2, own_room=False, kol_capture_follow=0.5)
    k = kol_index(with_room)
    assert with_room.kol.capture[k] == 0.5 and without.kol.capture[k] == 0.0
    # version 1's store-follow path is closed for the session's room
    assert with_room.table.store_room[k] == -1
    for m in (with_room, without):
        m.run_days()
    captured = [
        sum(r["kol_buyers_captured"][k] for r in m.daily_records) for m in (with_room, without)
    ]
    assert captured[0] > 0 and captured[1] == 0
    f = focal_index(without)
    assert without.population.followers[f] == 0  # nobody follows a room never on air


def test_v1_kol_keeps_the_store_follow_path_and_no_kol_state():
    m = build("v1", 0)
    k = kol_index(m)
    assert m.kol is None
    assert m.table.store_room[k] == m.table.merchant_room[k] >= 0
    m.run_days(1)
    assert not any(f in m.daily_records[0] for f in KOL_FIELDS)


def test_captured_buyers_follow_the_merchant_room():
    m = build("dedicated", 0, kol_capture_follow=1.0)
    k, f = kol_index(m), focal_index(m)
    dc = {x: np.zeros(m.table.n) for x in (*KOL_FIELDS, "orders", "gmv", "margin")}
    viewers = np.array([11, 12, 13])
    live = np.zeros(m.table.n, dtype=bool)
    live[k] = True
    m.kol.account(
        dc,
        live,
        np.full(3, k),
        viewers,
        np.full(3, 100.0),
        np.full(3, 10.0),
        None,
        None,
        m.population,
        None,
    )
    assert dc["kol_buyers_captured"][k] == 3
    assert dc["kol_slot_fees"][k] == m.kol.fee[k]
    assert all((m.population.follow[v] == f).any() for v in viewers)


# ------------------------------------------------------------------ look-alike seeds


def test_lookalike_seeds_are_the_kol_buyers_not_following():
    m = build("mixed", 0, kol_slot_share=1.0, kol_capture_follow=0.0)
    k, f = kol_index(m), focal_index(m)
    pop = m.population
    dc = {x: np.zeros(m.table.n) for x in (*KOL_FIELDS, "orders", "gmv", "margin")}
    live = np.zeros(m.table.n, dtype=bool)
    viewers = np.array([21, 22, 23, 22])  # one buyer twice
    m.kol.account(
        dc, live, np.full(4, k), viewers, np.full(4, 50.0), np.full(4, 5.0), None, None, pop, None
    )
    already = (pop.follow[[21, 22, 23]] == f).any(axis=1).sum()
    m.kol.end_day(pop)
    assert m.kol.lookalike_seeds[f] == 3 - already
    pop.add_follows(np.array([21]), np.array([f]), 0.5)
    m.kol.end_day(pop)
    assert m.kol.lookalike_seeds[f] == 3 - (pop.follow[[21, 22, 23]] == f).any(axis=1).sum()
    assert m.kol.lookalike_seeds[f] < 3


def test_lookalike_seeds_off():
    m = build("dedicated", 0, kol_seed_lookalike=False)
    k, f = kol_index(m), focal_index(m)
    dc = {x: np.zeros(m.table.n) for x in (*KOL_FIELDS, "orders", "gmv", "margin")}
    m.kol.account(
        dc,
        np.zeros(m.table.n, dtype=bool),
        np.full(2, k),
        np.array([1, 2]),
        np.full(2, 50.0),
        np.full(2, 5.0),
        None,
        None,
        m.population,
        None,
    )
    m.kol.end_day(m.population)
    assert m.kol.lookalike_seeds[f] == 0


def test_lookalike_auction_reads_the_seeds(monkeypatch):
    """The feed's look-alike bar reads followers plus the KOL seeds."""
    import simulation.distribution.interest_feed as feed

    seen = []
    real = feed.audience_precision

    def spy(followers, half):
        seen.append(np.asarray(followers).copy())
        return real(followers, half)

    m = build("dedicated", 0, days=2, kol_capture_follow=0.0)
    m.kol.lookalike_seeds[:] = 1e6
    monkeypatch.setattr(feed, "audience_precision", spy)
    m.run_days(1)
    assert any((s >= 1e6).all() and len(s) for s in seen)


# ------------------------------------------------------------------ reproducible, bad values


def test_same_seed_same_days():
    runs = []
    for _ in range(2):
        m = build("mixed", 5, days=2)
        m.run_days()
        runs.append(m.daily_records)
    for a, b in zip(*runs, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize(
    "key, value",
    [
        ("streams.top_kol.kol_slot_share", 0.0),
        ("streams.top_kol.kol_slot_share", 1.2),
        ("streams.top_kol.kol_slot_fee", -1.0),
        ("streams.top_kol.kol_dedicated_fee", -5.0),
        ("streams.top_kol.kol_capture_follow", 1.5),
        ("streams.top_kol.kol_session", "solo"),
        ("streams.top_kol.kol_session", "dedicated"),  # no merchant
        ("streams.focal.kol_session", "mixed"),  # not a top KOL
    ],
)
def test_bad_values_are_refused_in_one_line(key, value):
    with pytest.raises(ConfigError, match=key.split(".")[-1]) as e:
        load_scenario("v1", {key: value})
    assert "\n" not in str(e.value)
