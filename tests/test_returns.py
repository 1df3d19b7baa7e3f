"""Returns (economics.returns): the per-order rule, its closed form, the order of the
rating arrays it relies on, and the validation case ``returns``."""

import numpy as np
import pytest
from scipy import stats

from simulation import api, validation
from simulation.config import ConfigError, load_scenario
from simulation.economics import return_probability
from simulation.model import SnowballModel
from simulation.validation import CASES, evaluate
from simulation.validation_returns import expected_return_rate, shortfall_mean

from conftest import small


def test_return_probability_rule():
    p = return_probability(0.8, np.array([0.9, 0.8, 0.6, 0.0]), 0.1, 2.0)
    assert np.allclose(p, [0.1, 0.1, 0.5, 1.0])  # capped at 1


@pytest.mark.parametrize(
    "q, presented, sigma, base, slope",
    [
        (0.55, 0.85, 0.2, 0.1, 1.5),  # no cap
        (0.1, 0.95, 0.3, 0.2, 3.0),  # the clip at 0 and the cap both bind
        (0.95, 0.9, 0.1, 0.05, 1.0),  # the clip at 1
        (0.6, 0.6, 0.0, 0.3, 5.0),  # no noise
        (0.5, 0.9, 0.0, 0.3, 5.0),  # no noise, capped
        (0.7, 0.8, 0.2, 0.0, 0.0),  # no returns at all
    ],
)
def test_closed_form_matches_monte_carlo(q, presented, sigma, base, slope):
    rng = np.random.default_rng(1)
    n = 400_000
    x = np.clip(q + rng.normal(0, sigma, n), 0, 1)
    p = return_probability(presented, x, base, slope)
    r = expected_return_rate(q, presented, sigma, base, slope)
    assert abs(p.mean() - r) < 5 * p.std() / np.sqrt(n) + 1e-12
    g = np.maximum(presented - x, 0).mean()
    assert abs(g - shortfall_mean(presented, q, sigma)) < 5 * x.std() / np.sqrt(n) + 1e-12


def test_rating_arrays_are_in_the_order_of_the_bought_impressions():
    """Returns pair each order's price with its buyer's experienced quality by position."""
    m = SnowballModel(small("v1", **{"economics.returns": True}), 1)
    seen = []
    respond = m.behaviour.respond

    def spy(imp, *args):
        out = respond(imp, *args)
        seen.append((imp.stream[np.flatnonzero(out.bought)], out.rating_stream, out))
        return out

    m.behaviour.respond = spy
    m.run_days(1)
    assert sum(len(s) for s, _, _ in seen) > 50
    for streams, rated, out in seen:
        assert np.array_equal(streams, rated)
        assert len(out.rating_value) == int(out.bought.sum())


def test_lower_quality_returns_more_in_the_model():
    """Over a fixed list of seeds: rooms presenting 0.9 with worse goods return more."""
    rates = {}
    for q in (0.5, 0.9):
        k = n = 0
        for seed in (1, 2, 3):
            sc = small(
                "default",
                **{
                    "economics.returns": True,
                    "economics.presented_quality": 0.9,
                    "streams.field.quality": q,
                },
            )
            m = SnowballModel(sc, seed)
            m.run_days()
            field = np.asarray(m.table.group_names)[m.table.group] == "field"
            k += sum(r["returns"][field].sum() for r in m.daily_records)
            n += sum(r["orders"][field].sum() for r in m.daily_records)
        rates[q] = (k, n)
    (k0, n0), (k1, n1) = rates[0.5], rates[0.9]
    table = np.array([[k0, n0 - k0], [k1, n1 - k1]])
    assert k0 / n0 > k1 / n1 and stats.chi2_contingency(table).pvalue < 1e-3


def _run(case, overrides=None, seed=3):
    c = CASES[case]
    scs = [load_scenario(p, overrides) for p in c.scenario_paths()]
    return c.run(scs, c.sizes["quick"], np.random.SeedSequence(seed))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {  # the checker's own values: cap and clip bind, everyone presents perfection
            "economics.return_base_rate": 0.2,
            "economics.return_quality_slope": 4.0,
            "economics.presented_quality": 1.0,
            "behaviour.rating_noise": 0.35,
        },
        {"economics.presented_quality": -1.0, "behaviour.rating_noise": 0.05},
    ],
)
def test_validation_case_passes_at_chosen_parameters(overrides):
    out = _run("returns", overrides)
    table = evaluate(out.measurements)
    assert len(table) == 2 and (table["verdict"] == "pass").all(), table
    assert (table["n"] >= 100).all()


def test_validation_case_can_fail():
    """The same counts tested against a wrong rate (the base rate alone) fail."""
    out = _run("returns")
    low = out.measurements[0]
    low.theory = 0.1
    assert evaluate([low])["verdict"].iloc[0] == "fail"


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"economics.returns": False}, "economics.returns"),
        ({"streams.low.quality": [0.5, 0.7]}, "streams.low.quality"),
    ],
)
def test_validation_refuses_scenarios_outside_the_case(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        _run("returns", overrides)


def test_validation_registry_has_the_case():
    assert "returns" in validation.CASES
    # appended after version 1's six cases, whose seeds are therefore unchanged
    v1 = ["polya", "gamma_urn", "fitness_urn", "cascade", "bass", "auction"]
    assert list(validation.CASES)[: len(v1)] == v1


def test_a_group_presents_its_own_quality_where_set():
    from simulation.config import EconomicsConfig
    from simulation.economics import Economics

    class Table:
        n = 3
        quality = np.array([0.5, 0.7, 0.9])
        kind = np.zeros(3, dtype=int)
        merchant_room = np.arange(3)
        presented_quality = np.array([0.9, -1.0, -1.0])

    honest = Economics(EconomicsConfig(returns=True), Table(), 6)
    assert np.allclose(honest.presented, [0.9, 0.7, 0.9])
    one = Economics(EconomicsConfig(returns=True, presented_quality=0.8), Table(), 6)
    assert np.allclose(one.presented, [0.9, 0.8, 0.8])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_quiet_quality_cut_raises_the_rooms_returns(seed):
    """A room at quality 0.5 that keeps presenting 0.9 (a quiet cut) is returned far more
    often than the same room presenting its true quality: with slope 1 the expected rate
    rises by about the 0.4 gap (validation case ``returns`` checks the exact form)."""

    def focal_rate(presented: float) -> float:
        over = {"economics.returns": True, "streams.focal.quality": 0.5,
                "streams.focal.presented_quality": presented}  # fmt: skip
        st = api.run(small("v1", **over), seed=seed, days=2).streams
        f = st[st["group"] == "focal"]
        return f["returns"].sum() / f["orders"].sum()

    honest, quiet = focal_rate(-1.0), focal_rate(0.9)
    assert quiet > honest + 0.25


def test_the_quality_cut_script_runs_and_a_quiet_cut_is_returned_more(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs" / "quality_cut.py"
    spec = importlib.util.spec_from_file_location("quality_cut", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    argv = ["--days", "2", "--seeds", "2", "--jobs", "1", "--set", "population.viewers=2000"]
    assert mod.main(argv) == 0
    rows = [
        r for r in capsys.readouterr().out.splitlines() if r.startswith("| ") and "---" not in r
    ]
    assert [r.split(" | ")[0][2:] for r in rows[1:]] == list(mod.arms(0.5))
    rate = {r.split(" | ")[0][2:]: float(r.split(" | ")[2].rstrip("%")) for r in rows[1:]}
    assert rate["quiet cut to 0.5 (presents 0.9)"] > rate["honest cut to 0.5"] + 20
