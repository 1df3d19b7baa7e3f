"""The contract every room operator meets, run for every registered operator.

Like the strategies' contract (tests/test_strategy_contract.py): one class of tests states
what any operator must do, and every entry of :data:`simulation.operators.OPERATORS` runs all
of it. The operators are driven by a scripted room (:func:`play`), not the model: a seeded
generator turns each day's budget into what the merchant's dashboard shows (off-air days,
under-spending, paid ROI on both sides of the threshold, margin, fans), so the stateful paths
— holding, scaling, falling back — are exercised.

The contract: registered under its name with its flags declared; the same dashboards give the
same decisions (no hidden randomness, no shared state between instances); ``reset`` returns an
instance to the state of a new one; ``clone`` gives a new one; a pickled operator continues
exactly as the original; every decision is valid (a finite budget factor >= 0, a finite
investment >= 0, nothing invested off the air; a mix of valid shares at or above the
floor that add up to 1, unchanged off the air); and the flags say what the operator does
(``invests``, ``adjusts_budget``, ``adjusts_mix``). docs/CONTRIBUTING.md says how to add an
operator.
"""

from __future__ import annotations

import inspect
import math
import pickle

import numpy as np
import pytest

from simulation import operators
from simulation.config import OperatorConfig
from simulation.operators import OPERATORS, Operator, OperatorDecision, RoomDashboard

SEEDS = (1, 2, 3)
DAYS = 24
BASE_BUDGET = 100.0
START_MIX = (0.3, 0.55, 0.15)


def config(**over) -> OperatorConfig:
    """Settings that let every operator move: a threshold inside the scripted ROI range."""
    base = dict(capacity_budget=200.0, capacity_margin_share=0.1, roi_threshold=2.0)
    return OperatorConfig(**{**base, **over})


def observe(
    day: int, dec: OperatorDecision, rng: np.random.Generator, mix: tuple[float, ...]
) -> RoomDashboard:
    """The dashboard after a day on budget ``BASE_BUDGET x dec.budget_factor`` and the
    room's ``mix``: off the air one day in eight, spends 60-100 % of the budget, ROI between
    0.5 and 5, a margin of 10 % of GMV, fans that grow; per item of the script (240 minutes
    on air split by the mix), earnings per minute drawn each day from overlapping ranges
    (the profit item earns most on average, the welfare item loses), with the profit
    contribution shown on odd days only (the gross-margin fallback on even days)."""
    live = rng.random() >= 1 / 8
    budget = BASE_BUDGET * dec.budget_factor
    spend = budget * rng.uniform(0.6, 1.0) if live else 0.0
    paid = int(spend * rng.uniform(5, 15))
    free = int(rng.uniform(5_000, 15_000)) if live else 0
    paid_gmv = spend * rng.uniform(0.5, 5.0)
    gmv = paid_gmv + (free * 0.2 if live else 0.0)
    orders = int(gmv / 50)
    air = np.asarray(mix) * (240.0 if live else 0.0)
    per_minute = rng.uniform([0.0, 1.0, -3.0], [3.0, 6.0, 1.0])
    margin = per_minute * air
    entries = air * rng.uniform(1, 3, 3)

    def t(x: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in x)

    return RoomDashboard(
        day=day,
        live=live,
        free_impressions=free,
        paid_impressions=paid,
        follow_impressions=0,
        entries=int((free + paid) * 0.08),
        orders=orders,
        gmv=gmv,
        margin=0.1 * gmv,
        ad_spend=spend,
        paid_orders=int(paid_gmv / 50),
        paid_gmv=paid_gmv,
        budget=budget,
        review_score=4.5,
        fans=100 + day,
        mix=mix,
        item_airtime=t(air),
        item_entries=t(entries),
        item_orders=t(np.floor(entries * 0.05)),
        item_gmv=t(4 * np.abs(margin)),
        item_margin=t(margin),
        item_returns=t(np.floor(entries * 0.01)),
        item_contribution=t(margin - 0.1 * air) if day % 2 else None,
    )


def play(
    op: Operator, seed: int, days: int = DAYS, history: list[RoomDashboard] | None = None
) -> tuple[list[OperatorDecision], list[RoomDashboard]]:
    """Run ``op`` for ``days`` days in the scripted room of ``seed``: the first day runs on
    the strategy's budget (factor 1) and ``START_MIX`` (or the history's last mix), each
    later one on the operator's decision."""
    rng = np.random.default_rng(seed)
    hist = list(history or [])
    dec = OperatorDecision()
    mix = hist[-1].mix if hist else START_MIX
    decisions = []
    for _ in range(days):
        if dec.mix is not None:
            mix = dec.mix
        hist.append(observe(len(hist), dec, rng, mix))
        seen = list(hist)
        dec = op.decide(hist)
        assert hist == seen, "decide() must not change the history it is given"
        decisions.append(dec)
    return decisions, hist


class OperatorContract:
    """What every operator must do; :class:`TestEveryRegisteredOperator` takes the registry."""

    @pytest.fixture
    def cfg(self) -> OperatorConfig:
        return config()

    def test_registered_under_its_name_with_its_flags_declared(self, operator_class):
        name = operator_class.name
        assert name and name.isidentifier() and OPERATORS.get(name) is operator_class
        assert issubclass(operator_class, Operator)
        assert operator_class.description and "\n" not in operator_class.description
        assert operator_class.decide is not Operator.decide, "decide() is not implemented"
        for flag in ("invests", "adjusts_budget", "adjusts_mix", "needs_run_of_show"):
            assert isinstance(getattr(operator_class, flag), bool), flag

    @pytest.mark.parametrize("seed", SEEDS)
    def test_same_dashboards_give_the_same_decisions(self, operator_class, cfg, seed):
        first, hist = play(operator_class(cfg), seed)
        again, hist_again = play(operator_class(cfg), seed)
        assert first == again and hist == hist_again
        a, b = operator_class(cfg), operator_class(cfg)
        play(a, seed + 100)
        assert play(b, seed)[0] == first

    def test_reset_returns_to_the_state_of_a_new_instance(self, operator_class, cfg):
        op = operator_class(cfg)
        first, _ = play(op, 7)
        op.reset()
        assert vars(op) == vars(operator_class(cfg))
        assert play(op, 7)[0] == first

    def test_clone_is_a_new_instance_with_the_same_configuration(self, operator_class, cfg):
        op = operator_class(cfg)
        fresh, _ = play(operator_class(cfg), 11)
        play(op, 5)
        c = op.clone()
        assert c is not op and type(c) is operator_class and c.cfg == op.cfg
        assert vars(c) == vars(operator_class(cfg))
        assert play(c, 11)[0] == fresh

    def test_pickle_round_trip_continues_exactly(self, operator_class, cfg):
        op = operator_class(cfg)
        _, hist = play(op, 13, days=DAYS // 2)
        copy = pickle.loads(pickle.dumps(op))
        assert type(copy) is operator_class and vars(copy) == vars(op)
        ours, _ = play(op, 14, days=DAYS // 2, history=hist)
        theirs, _ = play(copy, 14, days=DAYS // 2, history=hist)
        assert ours == theirs

    @pytest.mark.parametrize("seed", SEEDS)
    def test_every_decision_is_valid(self, operator_class, cfg, seed):
        decisions, hist = play(operator_class(cfg), seed)
        for d, day in zip(decisions, hist, strict=True):
            assert isinstance(d, OperatorDecision)
            assert 0 <= d.budget_factor <= cfg.max_factor and math.isfinite(d.budget_factor)
            assert d.capacity_investment >= 0 and math.isfinite(d.capacity_investment)
            if not day.live:
                assert d.capacity_investment == 0, "capacity bought on a day off the air"
            if d.mix is not None:
                assert len(d.mix) == len(day.mix) and all(math.isfinite(x) for x in d.mix)
                assert min(d.mix) >= cfg.mix_floor - 1e-12
                assert abs(sum(d.mix) - 1) <= 1e-9
                if not day.live:
                    assert d.mix == day.mix, "mix changed on a day off the air"

    @pytest.mark.parametrize("seed", SEEDS)
    def test_flags_say_what_it_does(self, operator_class, cfg, seed):
        """``invests``: some positive investment in a scripted run; otherwise none.
        ``adjusts_budget``: some factor other than 1; otherwise all exactly 1.
        ``adjusts_mix``: some mix other than the room's; otherwise none."""
        runs = [play(operator_class(cfg), s) for s in (seed, seed + 10)]
        decisions = [d for ds, _ in runs for d in ds]
        invested = any(d.capacity_investment > 0 for d in decisions)
        adjusted = any(d.budget_factor != 1.0 for d in decisions)
        mixed = any(
            d.mix is not None and d.mix != day.mix
            for ds, hist in runs
            for d, day in zip(ds, hist, strict=True)
        )
        assert invested == operator_class.invests
        assert adjusted == operator_class.adjusts_budget
        assert mixed == operator_class.adjusts_mix


class TestEveryRegisteredOperator(OperatorContract):
    """The contract for every entry of the registry."""

    @pytest.fixture(params=list(OPERATORS))
    def operator_class(self, request) -> type[Operator]:
        return OPERATORS[request.param]


def test_the_registry_holds_every_operator_class():
    """An Operator subclass defined in the module but left out of the registry would escape
    the contract."""
    classes = {
        c
        for _, c in inspect.getmembers(operators, inspect.isclass)
        if issubclass(c, Operator) and c is not Operator
    }
    assert classes == set(OPERATORS.values())
    assert list(OPERATORS) == [
        "static",
        "capacity_investment",
        "capacity_first",
        "adaptive_mix",
        "alliance_diagnosis",
    ]
