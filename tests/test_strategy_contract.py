"""The contract every paid-traffic strategy meets, run for every registered strategy.

As in Axelrod's strategy tests, one class of tests states what any strategy must do, and every
entry of :data:`simulation.strategies.STRATEGIES` runs all of it (the class is parametrised
over the registry): a new strategy gets the whole contract by being registered. The
strategies are driven by a scripted market (:func:`play`), not the model: a seeded generator
turns each day's budget into what the campaign observes (off-air days, under-spending, paid
and free impressions, GMV), so the stateful paths — a raise judged, a step back, a hold — are
exercised.

The contract: registered under its name with its flags declared; the same observations give
the same decisions (no hidden randomness, no shared state between instances); ``reset``
returns an instance to the state of a new one; ``clone`` gives a new one; a pickled
strategy continues exactly as the original; every decision is a valid plan; and the
classifier flags say what the strategy does (``spends``, ``bidding``, ``scales_budget``,
``uses_feedback``). docs/CONTRIBUTING.md says how to add a strategy.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from simulation.config import BIDDING, CampaignConfig
from simulation.strategies import STRATEGIES, CampaignDay, Decision, Strategy

SEEDS = (1, 2, 3)
DAYS = 24


def config(name: str, **over) -> CampaignConfig:
    """A campaign that lets every strategy move: a raise step of 50 %, a reachable ROI floor
    and target, a two-day burst, a two-day hold."""
    base = dict(
        strategy=name,
        daily_budget=100.0,
        max_budget=1000.0,
        scale_step=0.5,
        roi_floor=1.0,
        target_roi=2.0,
        leverage_threshold=0.2,
        burst_days=2,
        hold_days=2,
        capacity_share=0.5,
    )
    return CampaignConfig(**{**base, **over})


def observe(day: int, dec: Decision, rng: np.random.Generator, leverage: float) -> CampaignDay:
    """What the campaign sees after a day on budget ``dec.budget``: off the air one day in
    eight, spends 60-100 % of the budget, 5-15 paid impressions per yuan, free traffic that
    grows by ``leverage`` per paid impression (plus noise), ROI between 0.5 and 5."""
    live = rng.random() >= 1 / 8
    spend = dec.budget * rng.uniform(0.6, 1.0) if live else 0.0
    paid = int(spend * rng.uniform(5, 15))
    free = int(10_000 + leverage * paid + rng.normal(0, 200)) if live else 0
    gmv = spend * rng.uniform(0.5, 5.0)
    orders = int(gmv / 50)
    return CampaignDay(day, dec.budget, spend, paid, orders, gmv, max(free, 0), 0, live)


def play(
    strategy: Strategy,
    seed: int,
    days: int = DAYS,
    leverage: float = 1.0,
    history: list[CampaignDay] | None = None,
) -> tuple[list[Decision], list[CampaignDay]]:
    """Run ``strategy`` for ``days`` days in the scripted market of ``seed``; returns its
    decisions (the first is ``initial()`` unless ``history`` continues a run) and the
    history."""
    rng = np.random.default_rng(seed)
    hist = list(history or [])
    dec = strategy.initial() if not hist else strategy.decide(hist)
    decisions = [dec]
    for _ in range(days):
        hist.append(observe(len(hist), dec, rng, leverage))
        seen = list(hist)
        dec = strategy.decide(hist)
        assert hist == seen, "decide() must not change the history it is given"
        decisions.append(dec)
    return decisions, hist


class StrategyContract:
    """What every strategy must do. Subclasses choose the strategies through the
    ``strategy_class`` fixture; :class:`TestEveryRegisteredStrategy` takes the registry."""

    @pytest.fixture
    def cfg(self, strategy_class: type[Strategy]) -> CampaignConfig:
        return config(strategy_class.name)

    def test_registered_under_its_name_with_its_flags_declared(self, strategy_class):
        name = strategy_class.name
        assert name and name.isidentifier() and STRATEGIES.get(name) is strategy_class
        assert issubclass(strategy_class, Strategy)
        assert strategy_class.description and "\n" not in strategy_class.description
        assert strategy_class.decide is not Strategy.decide, "decide() is not implemented"
        for flag in ("spends", "uses_feedback", "scales_budget", "expands"):
            assert isinstance(getattr(strategy_class, flag), bool), flag
        assert strategy_class.bidding is None or strategy_class.bidding in BIDDING

    @pytest.mark.parametrize("seed", SEEDS)
    def test_same_observations_give_the_same_decisions(self, strategy_class, cfg, seed):
        first, hist = play(strategy_class(cfg), seed)
        again, hist_again = play(strategy_class(cfg), seed)
        assert first == again and hist == hist_again
        # Two instances never share state: playing one does not move the other.
        a, b = strategy_class(cfg), strategy_class(cfg)
        play(a, seed + 100)
        assert play(b, seed)[0] == first

    def test_reset_returns_to_the_state_of_a_new_instance(self, strategy_class, cfg):
        s = strategy_class(cfg)
        first, _ = play(s, 7)
        s.reset()
        assert vars(s) == vars(strategy_class(cfg))
        assert play(s, 7)[0] == first

    def test_clone_is_a_new_instance_with_the_same_configuration(self, strategy_class, cfg):
        s = strategy_class(cfg)
        fresh, _ = play(strategy_class(cfg), 11)
        play(s, 5)  # some state to leave behind
        c = s.clone()
        assert c is not s and type(c) is strategy_class and c.cfg == s.cfg
        assert vars(c) == vars(strategy_class(cfg))
        assert play(c, 11)[0] == fresh

    def test_pickle_round_trip_continues_exactly(self, strategy_class, cfg):
        s = strategy_class(cfg)
        _, hist = play(s, 13, days=DAYS // 2)
        copy = pickle.loads(pickle.dumps(s))
        assert type(copy) is strategy_class and vars(copy) == vars(s)
        ours, _ = play(s, 14, days=DAYS // 2, history=hist)
        theirs, _ = play(copy, 14, days=DAYS // 2, history=hist)
        assert ours == theirs

    @pytest.mark.parametrize("seed", SEEDS)
    def test_every_decision_is_a_valid_plan(self, strategy_class, cfg, seed):
        decisions, _ = play(strategy_class(cfg), seed)
        mode = strategy_class.bidding or cfg.bidding
        for d in decisions:
            assert isinstance(d, Decision)
            assert 0 <= d.budget <= cfg.max_budget and math.isfinite(d.budget)
            assert d.bidding == mode
            assert d.capacity_investment >= 0 and math.isfinite(d.capacity_investment)
            # ``expands``: an audience expansion level in [0, 1]; otherwise the campaign's own
            if strategy_class.expands:
                assert d.expansion is not None and 0 <= d.expansion <= 1
            else:
                assert d.expansion is None

    @pytest.mark.parametrize("seed", SEEDS)
    def test_spends_flag(self, strategy_class, cfg, seed):
        """``spends`` False: never a positive budget. True: a positive first budget."""
        budgets = [d.budget for d in play(strategy_class(cfg), seed)[0]]
        if strategy_class.spends:
            assert budgets[0] > 0
        else:
            assert max(budgets) == 0

    def test_scales_budget_flag(self, strategy_class, cfg):
        """``scales_budget``: raises the budget above the base in response to what it
        observed, in a market where paid traffic pays and brings free traffic. Without the
        flag the budget stays within the base (or a burst fixed in advance)."""
        hist: list[CampaignDay] = []
        s = strategy_class(cfg)
        dec = s.initial()
        budgets = [dec.budget]
        for d in range(9):
            hist.append(
                CampaignDay(
                    d,
                    dec.budget,
                    dec.budget,
                    int(10 * dec.budget) + 1,
                    int(dec.budget / 10),
                    4 * dec.budget,
                    int(10_000 + 50 * dec.budget),
                    0,
                    True,
                )
            )
            dec = s.decide(hist)
            budgets.append(dec.budget)
        ceiling = cfg.daily_budget * max(cfg.burst_multiplier, 1)
        if strategy_class.scales_budget:
            assert max(budgets) > ceiling
        else:
            assert max(budgets) <= ceiling

    def test_uses_feedback_flag(self, strategy_class, cfg):
        """``uses_feedback``: the decisions depend on the room's free traffic. Scripted
        markets that differ only in how free traffic responds to paid traffic give different
        decisions (in at least one of the seeds) exactly when the flag is set."""
        differs = [
            play(strategy_class(cfg), seed, leverage=2.0)[0]
            != play(strategy_class(cfg), seed, leverage=0.0)[0]
            for seed in SEEDS
        ]
        assert any(differs) == strategy_class.uses_feedback


class TestEveryRegisteredStrategy(StrategyContract):
    """The contract for every entry of the registry (a new strategy is included by being
    registered)."""

    @pytest.fixture(params=list(STRATEGIES))
    def strategy_class(self, request) -> type[Strategy]:
        return STRATEGIES[request.param]


def test_the_registry_holds_every_strategy_class():
    """A Strategy subclass defined in the module but left out of the registry would escape
    the contract."""
    import inspect

    from simulation import strategies

    classes = {
        c
        for _, c in inspect.getmembers(strategies, inspect.isclass)
        if issubclass(c, Strategy) and c is not Strategy
    }
    assert classes == set(STRATEGIES.values())
