"""SnowballModel follows Mesa's conventions: keyword construction, ``running``, plain-function
reporters, ``batch_run`` on the class itself; and it leaves ``Model.scenario`` to Mesa."""

import inspect
import multiprocessing
import types

import mesa
import numpy as np
import pandas as pd
import pytest

from simulation import api
from simulation.config import Scenario
from simulation.model import SnowballModel

from conftest import small

TINY = {"population.viewers": 800, "streams.field.count": 10, "streams.alliance.count": 4}


def test_while_running_step_ends_after_the_configured_days():
    m = SnowballModel(config="v1", seed=2, days=1, overrides=TINY)
    assert m.running
    while m.running:
        m.step()
    assert m.steps == m.config.n_ticks == m.tpd
    assert len(api.ticks_table(m)) == m.tpd and len(m.daily_records) == 1
    with pytest.raises(RuntimeError, match="day\\(s\\) are done"):
        m.step()
    assert m.steps == m.tpd and not m.running


def test_run_days_runs_the_rest_and_running_ends():
    m = api.build_model("v1", seed=2, overrides=TINY, days=2)
    m.run_days(1)
    assert m.running and m.steps == m.tpd
    m.run_days()  # the rest of the scenario
    assert not m.running and m.steps == 2 * m.tpd


def test_keyword_construction_equals_a_built_scenario():
    by_kwargs = SnowballModel(config="v1", seed=7, days=1, overrides=TINY)
    sc = api.scenario_of("v1", TINY, 1)
    positional = SnowballModel(sc, 7)
    assert by_kwargs.config == positional.config and by_kwargs.seed == 7
    assert by_kwargs.config.days == 1 and by_kwargs.config.population.viewers == 800
    for m in (by_kwargs, positional):
        while m.running:
            m.step()
    pd.testing.assert_frame_equal(api.ticks_table(by_kwargs), api.ticks_table(positional))
    pd.testing.assert_frame_equal(api.streams_table(by_kwargs), api.streams_table(positional))


def test_the_config_is_ours_and_mesa_keeps_its_scenario():
    m = SnowballModel(small(days=1, **TINY), seed=1)
    assert isinstance(m.config, Scenario)
    assert m.config.seed == small(days=1, **TINY).seed and m.seed == 1
    if "scenario" in inspect.signature(mesa.Model.__init__).parameters:  # Mesa >= 3.5
        from mesa.experimental.scenarios import Scenario as MesaScenario

        assert isinstance(m.scenario, MesaScenario) and m.scenario.model is m
    # No "scenario" argument: Mesa >= 3.5's SolaraViz would pass its own Scenario in it.
    assert "scenario" not in inspect.signature(SnowballModel).parameters


def test_reporters_are_plain_functions():
    """Mesa 3.4+ accepts functions of the model (not functools.partial) as reporters."""
    m = SnowballModel(small(days=1, **TINY), seed=1)
    reporters = m.datacollector.model_reporters
    assert list(reporters) == [x.name for x in m.tick_metrics]
    assert all(type(r) is types.FunctionType for r in reporters.values())


@pytest.fixture
def keep_start_method():
    """Mesa >= 3.5's batch_run forces the "spawn" start method process-wide: put it back."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def test_batch_run_constructs_and_runs_the_model_class(keep_start_method):
    seeds = [3, 4]
    params = {"config": "v1", "days": 1, "overrides": [TINY]}  # a dict is one value
    kwargs = {"number_processes": 1, "max_steps": 10_000, "display_progress": False}
    if "rng" in inspect.signature(mesa.batch_run).parameters:  # Mesa >= 3.5: seeds as rng
        rows = mesa.batch_run(SnowballModel, params, rng=seeds, **kwargs)
    else:  # Mesa 3.3: seeds as a parameter
        rows = mesa.batch_run(SnowballModel, {**params, "seed": seeds}, iterations=1, **kwargs)
    assert len(rows) == 2
    for row, seed in zip(sorted(rows, key=lambda r: r["seed"]), seeds, strict=True):
        ref = api.run("v1", seed=seed, days=1, overrides=TINY)
        assert row["seed"] == seed
        # Mesa 3.3 reports the last step's index (steps - 1), Mesa 3.5 the model time.
        assert row["Step"] in (len(ref.ticks) - 1, len(ref.ticks))
        last = ref.ticks.iloc[-1]
        for col in ("tick", "impressions", "orders", "live_streams"):
            assert row[col] == last[col], col
        assert np.isclose(row["gini_gmv"], last["gini_gmv"])
    assert rows[0]["impressions"] != rows[1]["impressions"]


def test_solara_viz_rebuilds_the_model_from_its_parameters():
    """What SolaraViz's reset does with the model and its ``model_params``: check them
    against the constructor and build ``type(model)(**kwargs)`` (Mesa >= 3.5 first sorts
    them into model and Mesa-Scenario arguments, and must add no ``scenario``)."""
    sv = pytest.importorskip("mesa.visualization.solara_viz")
    params = {"config": "v1", "seed": 1, "days": 1, "overrides": TINY}
    model = SnowballModel(**params)
    if hasattr(sv, "_build_model_init_kwargs"):  # Mesa >= 3.5
        sv._check_model_params(model, params)  # as SolaraViz calls it
        kwargs = sv._build_model_init_kwargs(
            model, params, add_scenario_when_empty=True, require_model_accepts_scenario=True
        )
    else:  # Mesa 3.3
        sv._check_model_params(SnowballModel.__init__, params)
        kwargs = params
    assert kwargs == params
    again = type(model)(**kwargs)
    assert again.config == model.config and again.run_id == model.run_id


@pytest.mark.skipif(
    hasattr(mesa.Model, "scenario"), reason="Mesa >= 3.5: model.scenario is Mesa's Scenario"
)
def test_the_old_scenario_attribute_points_to_config():
    m = SnowballModel(small(days=1, **TINY), seed=1)
    with pytest.raises(AttributeError, match=r"model\.config"):
        m.scenario  # noqa: B018
