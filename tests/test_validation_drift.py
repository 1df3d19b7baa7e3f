"""Validation case ``interest_drift``: the closed form is right, the case holds at other
parameter values, it can fail, and scenarios outside the special case are refused."""

import math

import numpy as np
import pytest

from simulation import validation_drift
from simulation.config import ConfigError, load_scenario
from simulation.population import CHRONOTYPES, Population
from simulation.validation import CASES, VALIDATION_DIR, evaluate, validate


def _recursion_monte_carlo(sc, chronotype: int, viewers: int, seed: int) -> np.ndarray:
    """Mean h_d, d = 1..days, of the drift recursion itself (no model): per tick, Poisson
    sessions of S slots, each of category c with probability 1/K, an impression weighing
    eta_e; the gap divides by 1 + W; at day end h <- rho + (1 - rho) h."""
    rng = np.random.default_rng(seed)
    p, pop = sc.platform, sc.population
    h = np.ones(viewers)
    out = []
    for _ in range(sc.days):
        for tod in range(sc.ticks_per_day):
            lam = pop.sessions_per_day * CHRONOTYPES[chronotype, tod * 24 // sc.ticks_per_day]
            lam /= sc.ticks_per_day / 24
            shown = rng.binomial(
                rng.poisson(lam, viewers) * pop.slots_per_session, 1 / pop.categories
            )
            h = h / (1 + p.drift_per_impression * shown)
        h = p.drift_decay_per_day + (1 - p.drift_decay_per_day) * h
        out.append(h.mean())
    return np.array(out)


def test_closed_form_matches_the_recursion_it_solves():
    """E[h_d] from the Laplace-transform integral against 200,000 simulated recursions;
    |z| < 4 on every day."""
    sc = load_scenario(VALIDATION_DIR / "drift.toml", {"days": 6})
    path, fixed = validation_drift.expected_gap(sc, "shop", sc.days)
    assert np.allclose(path[0], 1) and (np.diff(path, axis=0) < 0).all()
    mc = _recursion_monte_carlo(sc, 1, 200_000, seed=2)
    se = 0.3 / math.sqrt(200_000)  # sd of h is below 0.3
    assert np.abs(mc - path[1:, 1]).max() < 4 * se
    rho = sc.platform.drift_decay_per_day
    r = (1 - rho) * validation_drift.daily_shrink(sc, "shop")
    assert np.allclose(fixed, rho / (1 - r))


def test_without_drift_weight_the_gap_stays_and_with_no_decay_it_closes():
    sc = load_scenario(VALIDATION_DIR / "drift.toml", {"platform.drift_per_impression": 0.0})
    path, fixed = validation_drift.expected_gap(sc, "shop", 3)
    assert np.allclose(path, 1) and np.allclose(fixed, 1)
    sc = load_scenario(VALIDATION_DIR / "drift.toml", {"platform.drift_decay_per_day": 0.0})
    _, fixed = validation_drift.expected_gap(sc, "shop", 3)
    assert np.allclose(fixed, 0)


@pytest.mark.parametrize(
    "overrides",
    [
        {
            "platform.drift_per_impression": 0.045,
            "platform.drift_decay_per_day": 0.07,
            "platform.drift_per_dwell_minute": 0.02,
            "population.sessions_per_day": 3.0,
            "days": 9,
        },
        {"tick_minutes": 30, "population.slots_per_session": 3, "urn.worlds": 2},
    ],
)
def test_the_case_holds_at_other_parameter_values(overrides):
    report = validate(["interest_drift"], quick=True, seed=5, overrides=overrides)
    table = report.table
    assert len(table) == 6 and (table["verdict"] == "pass").all(), table.to_string()


def test_the_default_scenarios_end_at_the_fixed_point():
    """Both scenarios run long enough that the last day is checked against h* itself."""
    for path in CASES["interest_drift"].scenario_paths():
        sc = load_scenario(path)
        group = validation_drift.check_drift_case(sc)
        expected, fixed = validation_drift.expected_gap(sc, group, sc.days)
        gap = np.abs(expected[-1] - fixed).max()
        assert gap <= validation_drift.FIXED_POINT_TOLERANCE, (path.name, gap)


def test_the_case_fails_when_the_model_decays_at_another_rate(monkeypatch):
    """The model decays at twice the configured rate: the theory (from the configuration)
    no longer holds and the checks fail."""
    original = Population.decay_interests

    def twice(self, rows=32768):
        original(self, rows)
        original(self, rows)

    monkeypatch.setattr(Population, "decay_interests", twice)
    case = CASES["interest_drift"]
    scs = [load_scenario(p) for p in case.scenario_paths()]
    out = case.run(scs, case.sizes["quick"], np.random.SeedSequence(1))
    table = evaluate(out.measurements)
    assert (table["verdict"] == "fail").sum() >= 4


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"feed.interest_sharpness": 1.0}, "feed.interest_sharpness"),
        ({"platform.interest_drift": False}, "platform.interest_drift"),
        ({"population.activity_sigma": 0.5}, "population.activity_sigma"),
        ({"behaviour.entry_interest_weight": 0.8}, "behaviour.entry_interest_weight"),
        ({"behaviour.follow_per_minute": 0.01}, "behaviour.follow_per_minute"),
        ({"urn.worlds": 8}, "urn.worlds"),
        ({"policy": "interest_feed"}, "policy"),
    ],
)
def test_scenarios_outside_the_special_case_are_refused(overrides, key):
    case = CASES["interest_drift"]
    scs = [load_scenario(p, overrides) for p in case.scenario_paths()]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        case.run(scs, case.sizes["quick"], np.random.SeedSequence(1))
