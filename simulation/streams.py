"""Live streams: the per-stream state table and the Mesa agents that front it.

All per-stream state is held in :class:`StreamTable` arrays (shape (S,)) so that per-tick
work is vectorised over streams; each :class:`Stream` agent is a named view on one row and
holds the room operator that makes its daily decisions (:mod:`simulation.operators`). Hidden
traits (hook, retention, persuasion, quality) are never read by the distribution policies:
they only enter viewer behaviour.
"""

import math

import mesa
import numpy as np

from simulation.config import STREAM_KINDS, Scenario, StreamGroupConfig, check_merchants
from simulation.operators import Operator, OperatorDecision, RoomDashboard, operator_class

KIND_CODE = {k: i for i, k in enumerate(STREAM_KINDS)}


def _draw(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> np.ndarray:
    lo, hi = bounds
    return np.full(n, lo) if lo == hi else rng.uniform(lo, hi, n)


class StreamTable:
    """Per-stream traits, schedule, reviews and pool tier as arrays.

    Attributes (S streams, D days)
    ------------------------------
    group, kind, category : int arrays (S,)
    hook, retention, persuasion, price, quality : float64 (S,), hidden traits
    mix : float64 (S, 3), share of time per role (driver, profit, welfare)
    start_tick, duration_ticks : int64 (S,), daily slot on air
    days_on : bool (S, D), streaming days
    warmup_videos : int64 (S,); warmup_reach : float64 (S,), share of viewers per video
    merchant_room : int64 (S,), the field room of the merchant whose products it sells
    review_score : float64 (S,), 1-5 stars, visible to the platform
    tier : int64 (S,), traffic-pool tier, 0 = cold-start quota
    """

    def __init__(self, scenario: Scenario, rng: np.random.Generator):
        groups = [(name, g) for name, g in scenario.streams.items() if g.count > 0]
        self.group_names = [name for name, _ in groups]
        self.group_configs: list[StreamGroupConfig] = [g for _, g in groups]
        counts = [g.count for _, g in groups]
        n = self.n = int(sum(counts))
        tpd = scenario.ticks_per_day
        tph = tpd / 24
        k = scenario.population.categories
        self.group = np.repeat(np.arange(len(groups)), counts)
        self.kind = np.repeat([KIND_CODE[g.kind] for _, g in groups], counts)
        cat, hook, ret, pers, price, qual, start = ([] for _ in range(7))
        for _, g in groups:
            c = g.count
            cat.append(np.full(c, g.category) if g.category >= 0 else rng.integers(0, k, c))
            hook.append(_draw(rng, g.hook, c))
            ret.append(_draw(rng, g.retention, c))
            pers.append(_draw(rng, g.persuasion, c))
            price.append(_draw(rng, g.price, c))
            qual.append(_draw(rng, g.quality, c))
            start.append(_draw(rng, g.start_hour, c))
        self.category = np.concatenate(cat).astype(np.int64)
        self.hook = np.concatenate(hook)
        self.retention = np.concatenate(ret)
        self.base_retention = self.retention.copy()
        self.persuasion = np.concatenate(pers)
        self.base_persuasion = self.persuasion.copy()
        self.price = np.concatenate(price)
        self.quality = np.concatenate(qual)
        self.mix = np.repeat([g.mix for _, g in groups], counts, axis=0).astype(np.float64)
        self.start_tick = (np.round(np.concatenate(start) * tph).astype(np.int64)) % tpd
        self.duration_ticks = np.repeat(
            [max(0, round(g.hours * tph)) for _, g in groups], counts
        ).astype(np.int64)
        self.warmup_videos = np.repeat([g.warmup_videos for _, g in groups], counts)
        self.warmup_reach = np.repeat([g.warmup_reach for _, g in groups], counts).astype(
            np.float64
        )
        self.initial_followers = np.repeat([g.initial_followers for _, g in groups], counts)
        self.presented_quality = np.repeat([g.presented_quality for _, g in groups], counts).astype(
            np.float64
        )
        """Per room, the quality it presents for returns (-1: the economics-wide rule)."""
        self.days_on = self._schedule(scenario, rng)
        self.merchant_room = self._merchants(scenario)
        self.store_room = self.merchant_room
        """Per room, the merchant's room its buyers may follow (behaviour's store-follow
        path; simulation/kol.py sets -1 for the top KOL sessions, which capture their own)."""
        beh = scenario.behaviour
        self.review_sum = np.zeros(n)
        self.review_n = np.zeros(n)
        self.review_score = np.full(n, beh.review_prior)
        self.tier = np.zeros(n, dtype=np.int64)
        self.last_live_day = np.full(n, -1, dtype=np.int64)
        self.tier_max_today = np.zeros(n, dtype=np.int64)
        self.live = np.zeros(n, dtype=bool)

    # ------------------------------------------------------------------ schedule

    def _schedule(self, scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
        """Streaming days: ``fixed`` spreads days_per_week evenly over the calendar with a
        random phase per stream; ``random`` draws each day with probability D/7."""
        days = scenario.days
        out = np.zeros((self.n, days), dtype=bool)
        d = np.arange(days)
        i = 0
        for g in self.group_configs:
            rate = g.days_per_week / 7
            for _ in range(g.count):
                if g.pattern == "fixed":
                    phase = rng.random() * 7
                    out[i] = np.floor((d + 1 + phase) * rate) > np.floor((d + phase) * rate)
                else:
                    out[i] = rng.random(days) < rate
                i += 1
        return out

    def _merchants(self, scenario: Scenario) -> np.ndarray:
        """Index of the field room of each stream's merchant (itself for field rooms, -1
        for influencers selling their own selection)."""
        room = np.where(self.kind == KIND_CODE["field"], np.arange(self.n), -1)
        first = {
            name: int(np.flatnonzero(self.group == gi)[0])
            for gi, name in enumerate(self.group_names)
        }
        check_merchants(scenario, scenario.name)  # checked on loading; scenarios built in code
        for gi, g in enumerate(self.group_configs):
            if g.merchant:
                room[self.group == gi] = first[g.merchant]
        return room.astype(np.int64)

    def live_mask(self, day: int, tod: int, tpd: int) -> np.ndarray:
        """Which streams are on air in tick ``tod`` of ``day`` (a slot may cross midnight)."""
        offset = (tod - self.start_tick) % tpd
        start_day = day - (tod < self.start_tick).astype(np.int64)
        ok = (offset < self.duration_ticks) & (start_day >= 0)
        on = np.zeros(self.n, dtype=bool)
        on[ok] = self.days_on[np.flatnonzero(ok), start_day[ok]]
        return on

    def live_ticks_on(self, day: int, tpd: int) -> np.ndarray:
        """Ticks of calendar ``day`` in which each stream is on air: the part of today's slot
        before midnight (if today is a streaming day) plus the tail of yesterday's slot after
        midnight (if yesterday was); (S,) int64, the sum of ``live_mask`` over the day."""
        start, dur = self.start_tick, np.minimum(self.duration_ticks, tpd)
        head = np.minimum(dur, tpd - start)
        tail = np.maximum(start + dur - tpd, 0)
        today = self.days_on[:, day]
        yesterday = self.days_on[:, day - 1] if day > 0 else np.zeros(self.n, dtype=bool)
        return np.where(today, head, 0) + np.where(yesterday, tail, 0)

    def starting_in(self, day: int, tod: int, ticks_ahead: int, tpd: int) -> np.ndarray:
        """Streams that go live between ``ticks_ahead`` ticks from now and now (exclusive of
        already-live), with the number of ticks until they start; (S,) int64, -1 if not."""
        until = (self.start_tick - tod) % tpd
        start_day = day + ((tod + until) >= tpd).astype(np.int64)
        ok = (until > 0) & (until <= ticks_ahead) & (start_day < self.days_on.shape[1])
        out = np.full(self.n, -1, dtype=np.int64)
        idx = np.flatnonzero(ok)
        on = self.days_on[idx, start_day[idx]] & (self.duration_ticks[idx] > 0)
        out[idx[on]] = until[idx[on]]
        return out

    # ------------------------------------------------------------------ products

    def role_prices(self, role_price: tuple[float, ...]) -> np.ndarray:
        """Price of each role's item per stream, yuan, (S, 3)."""
        return self.price[:, None] * np.asarray(role_price)[None, :]

    def unit_margin_share(self, role_cost: tuple[float, ...], quality_cost: float) -> np.ndarray:
        """Margin as a share of price per stream and role, (S, 3): 1 - cost - q*quality."""
        return 1 - np.asarray(role_cost)[None, :] - quality_cost * self.quality[:, None]

    # ------------------------------------------------------------------ reviews

    def apply_ratings(
        self,
        streams: np.ndarray,
        stars: np.ndarray,
        prior: float,
        prior_n: float,
        memory_days: float,
    ) -> None:
        """One day of reviews: decay old ratings (e-folding ``memory_days``), add the new
        ones (stars in [1, 5]) and recompute the Bayesian-smoothed review score."""
        keep = math.exp(-1 / memory_days)
        self.review_sum *= keep
        self.review_n *= keep
        if len(streams):
            self.review_sum += np.bincount(streams, weights=stars, minlength=self.n)
            self.review_n += np.bincount(streams, minlength=self.n)
        self.review_score = (prior * prior_n + self.review_sum) / (prior_n + self.review_n)


class Stream(mesa.Agent):
    """A live room: a Mesa agent fronting one row of the :class:`StreamTable`.

    It holds the room's operator (:mod:`simulation.operators`, from its group's ``operator``)
    and the room's capacity investment: yuan queued by its ad campaign's strategy or its
    operator, which after ``capacity_delay_days`` raise persuasion and retention with
    diminishing returns (:meth:`step`).
    """

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index
        self.pending_investment = 0.0
        """Yuan decided today (booked as a cost tomorrow; see simulation.economics)."""
        self.maturing: list[tuple[int, float]] = []
        """(first day it works, yuan) of investments paid but not yet effective."""
        self.invested = 0.0
        """Yuan of investment in effect."""
        cfg = self.table.group_configs[self.table.group[index]]
        self.operator: Operator = operator_class(cfg.operator)(cfg.operator_params)
        self.dashboards: list[RoomDashboard] = []
        """What the operator has seen, a day each (kept only for operators that act)."""

    @property
    def table(self) -> StreamTable:
        return self.model.table

    @property
    def kind(self) -> str:
        return STREAM_KINDS[self.table.kind[self.index]]

    @property
    def group(self) -> str:
        return self.table.group_names[self.table.group[self.index]]

    @property
    def category(self) -> int:
        return int(self.table.category[self.index])

    @property
    def followers(self) -> int:
        return int(self.model.population.followers[self.index])

    @property
    def review_score(self) -> float:
        return float(self.table.review_score[self.index])

    @property
    def tier(self) -> int:
        return int(self.table.tier[self.index])

    @property
    def acts(self) -> bool:
        """Whether the room's operator ever changes anything (``static`` does not)."""
        op = self.operator
        return op.invests or op.adjusts_budget or op.adjusts_mix

    def invest(self, yuan: float) -> None:
        """Queue an investment (yuan) in the room's conversion capacity."""
        self.pending_investment += max(0.0, yuan)

    def operate(self, dashboard: RoomDashboard) -> OperatorDecision:
        """End of day, after the ad strategies: the operator reads today's dashboard and
        decides; its capacity investment is queued here, and the decision returned for the
        model to apply the budget factor to the room's campaign."""
        self.dashboards.append(dashboard)
        decision = self.operator.decide(self.dashboards)  # the contract: never changed
        self.invest(decision.capacity_investment)
        return decision

    def step(self) -> None:
        """End of day: today's investment starts maturing; what is due by tomorrow takes
        effect. With I the yuan in effect and g(I) = log2(1 + I / 1000)::

            persuasion = min(1, base persuasion x (1 + capacity_return x g(I)))
            retention = min(20, base retention x (1 + capacity_retention_return x g(I)))

        An investment decided on day d works from day d + 1 + ``capacity_delay_days`` (with
        the defaults, 0 and a retention return of 0, this is version 1's rule)."""
        sc = self.model.config
        tomorrow = self.model.day + 1
        if self.pending_investment > 0:
            self.maturing.append((tomorrow + sc.capacity_delay_days, self.pending_investment))
            self.pending_investment = 0.0
        if not self.maturing or self.maturing[0][0] > tomorrow:
            return
        due = [y for d, y in self.maturing if d <= tomorrow]
        self.maturing = [(d, y) for d, y in self.maturing if d > tomorrow]
        self.invested += sum(due)
        g = math.log2(1 + self.invested / 1000)
        t, i = self.table, self.index
        t.persuasion[i] = min(1.0, t.base_persuasion[i] * (1 + sc.capacity_return * g))
        t.retention[i] = min(20.0, t.base_retention[i] * (1 + sc.capacity_retention_return * g))
