"""User metrics (the Metric interface, ``add_metrics``, ``[metrics] extra``) and run keys on
the tables a run writes, so that many runs stack."""

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from simulation import api
from simulation.cli import main
from simulation.config import ConfigError, load_scenario, replace
from simulation.metrics import TICK_METRICS, Metric
from simulation.model import SnowballModel, run_id
from simulation.results import with_run_keys

from conftest import small

TINY = {"population.viewers": 800, "streams.field.count": 10, "streams.alliance.count": 4}

USER_MODULE = '''
"""Metrics a user might write."""


class LiveShare:
    name = "live_share"
    level = "tick"
    description = "share of streams on air"

    def measure(self, model):
        return float(model.live.mean())


class TopRoomGmv:
    name = "top_room_gmv"
    level = "day"
    description = "the day's largest GMV of one room, yuan"

    def measure(self, model):
        return float(model.day_counts["gmv"].max())


class NoMeasure:
    name = "nothing"
    level = "tick"
    description = "lacks measure"


class Hourly:
    name = "hourly"
    level = "hour"
    description = "an unknown level"

    def measure(self, model):
        return 0


class Broken:
    def __init__(self):
        raise RuntimeError("needs a database")
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """An importable module ``snowball_user_metrics`` on sys.path."""
    (tmp_path / "snowball_user_metrics.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "snowball_user_metrics", raising=False)
    import snowball_user_metrics

    return snowball_user_metrics


class CountingMetric:
    """A tick metric that counts how often it is measured (to check: once per tick)."""

    name = "calls"
    level = "tick"
    description = "times measured so far"

    def __init__(self):
        self.calls = 0

    def measure(self, model):
        self.calls += 1
        return self.calls


def test_builtin_metrics_follow_the_interface():
    for m in TICK_METRICS:
        assert isinstance(m, Metric) and m.level == "tick" and m.description


def test_user_metrics_through_the_api_land_in_the_tick_and_day_tables(user_module):
    sc = small(days=2)
    plain = api.run(sc, seed=4)
    res = api.run(sc, seed=4, metrics=(user_module.LiveShare(), user_module.TopRoomGmv()))
    # The built-in columns are untouched by the extra metrics.
    pd.testing.assert_frame_equal(res.ticks.drop(columns="live_share"), plain.ticks)
    pd.testing.assert_frame_equal(res.streams, plain.streams)
    assert list(res.ticks.columns)[-1] == "live_share"
    np.testing.assert_allclose(
        res.ticks["live_share"], res.ticks["live_streams"] / res.model.table.n
    )
    assert list(res.days.columns) == ["day", "top_room_gmv"]
    assert res.days["day"].tolist() == [0, 1] and res.days["day"].dtype == np.int64
    expected = res.streams.groupby("day")["gmv"].max().to_numpy()
    np.testing.assert_allclose(res.days["top_room_gmv"], expected)
    assert res.days["top_room_gmv"].max() > 0
    assert set(res.tables) == set(plain.tables) == {"ticks", "streams", "days", "loop_gains"}
    assert list(plain.days.columns) == ["day"] and plain.days["day"].tolist() == [0, 1]


class SessionsAsFloat:
    """A metric that declares its column's dtype."""

    name = "sessions_f"
    level = "tick"
    description = "sessions, as a float column"
    dtype = "float64"

    def measure(self, model):
        return model.tick_stats["sessions"]


def test_each_metric_is_measured_once_per_tick_in_its_dtype():
    counter = CountingMetric()
    m = SnowballModel(small(days=1, **TINY), seed=1, metrics=[counter, SessionsAsFloat()])
    m.run_days()
    assert counter.calls == m.config.n_ticks
    ticks = api.ticks_table(m)
    assert ticks["calls"].tolist() == list(range(1, m.config.n_ticks + 1))
    assert ticks["calls"].dtype == np.int64 and ticks["sessions_f"].dtype == np.float64
    np.testing.assert_array_equal(ticks["sessions_f"], ticks["sessions"])


def test_add_metrics_only_before_the_first_step(user_module):
    m = api.build_model(small(days=1, **TINY), seed=1)
    m.add_metrics(user_module.LiveShare())
    m.step()
    with pytest.raises(RuntimeError, match="before the first step"):
        m.add_metrics(user_module.TopRoomGmv())


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda u: u.NoMeasure(), "lacks measure"),
        (lambda u: u.Hourly(), "level 'hour' must be one of tick, day"),
        (lambda u: u.LiveShare, "is a class; give an instance"),
        (lambda u: TICK_METRICS[0], "'tick' is already a column"),
        (lambda u: (u.LiveShare(), u.LiveShare()), "'live_share' is already a column"),
    ],
)
def test_a_bad_metric_through_the_api_is_a_one_line_error(user_module, make, fragment):
    made = make(user_module)
    metrics = made if isinstance(made, tuple) else (made,)
    m = api.build_model(small(days=1, **TINY), seed=1)
    with pytest.raises(ConfigError) as err:
        m.add_metrics(*metrics)
    text = str(err.value)
    assert "\n" not in text and fragment in text and text.startswith("add_metrics: metric = ")


def scenario_file(tmp_path, extra: str) -> str:
    path = tmp_path / "with_metrics.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            base = "v1"
            days = 2
            [population]
            viewers = 800
            [streams.field]
            count = 10
            [streams.alliance]
            count = 4
            [metrics]
            extra = {extra}
            """
        )
    )
    return str(path)


def test_user_metrics_through_a_scenario_file(tmp_path, user_module):
    path = scenario_file(
        tmp_path, '["snowball_user_metrics:LiveShare", "snowball_user_metrics:TopRoomGmv"]'
    )
    sc = load_scenario(path)
    assert sc.metrics.extra == (
        "snowball_user_metrics:LiveShare",
        "snowball_user_metrics:TopRoomGmv",
    )
    res = api.run(sc, seed=2)
    assert "live_share" in res.ticks.columns and res.ticks["live_share"].between(0, 1).all()
    assert res.days["day"].tolist() == [0, 1]
    np.testing.assert_allclose(
        res.days["top_room_gmv"], res.streams.groupby("day")["gmv"].max().to_numpy()
    )


def test_the_run_command_writes_keyed_tables_and_the_day_table(tmp_path, user_module, capsys):
    path = scenario_file(
        tmp_path, '["snowball_user_metrics:LiveShare", "snowball_user_metrics:TopRoomGmv"]'
    )
    out = tmp_path / "out"
    assert main(["run", path, "--seed", "5", "--out", str(out), "--quiet"]) == 0
    assert "days.parquet" in capsys.readouterr().out
    man = json.loads((out / "manifest.json").read_text())
    sc = load_scenario(path, {"seed": 5})
    assert man["run_id"] == run_id(sc, 5) and len(man["run_id"]) == 12
    n_streams = SnowballModel(sc).table.n
    assert man["rows"] == {
        "ticks": sc.n_ticks,
        "streams": 2 * n_streams,
        "days": 2,
        "loop_gains": n_streams,
    }
    keys = ["scenario", "seed", "run_id"]
    for name in ("ticks", "streams", "days", "loop_gains"):
        df = pd.read_parquet(out / f"{name}.parquet")
        assert list(df.columns[:3]) == keys, name
        assert (df["scenario"] == "with_metrics").all() and (df["seed"] == 5).all()
        assert (df["run_id"] == man["run_id"]).all() and df["seed"].dtype == np.int64
        assert len(df) == man["rows"][name]
    days = pd.read_parquet(out / "days.parquet")
    assert list(days.columns) == [*keys, "day", "top_room_gmv"]


@pytest.mark.parametrize(
    "value, fragment",
    [
        ('["no_such_module_xyz:Metric"]', "cannot import module 'no_such_module_xyz'"),
        ('["snowball_user_metrics:Missing"]', "has no 'Missing'"),
        ('["snowball_user_metrics:NoMeasure"]', "is not a metric (lacks measure)"),
        ('["snowball_user_metrics:Hourly"]', "must be one of tick, day"),
        ('["snowball_user_metrics:Broken"]', "Broken() failed without arguments"),
        ('["just_a_module"]', "must be written 'package.module:ClassName'"),
        ("[3]", "must be a list of strings"),
        ('"snowball_user_metrics:LiveShare"', "must be a list of strings"),
    ],
)
def test_a_bad_metric_in_a_scenario_file_is_one_line_exit_2(
    tmp_path, user_module, capsys, value, fragment
):
    path = scenario_file(tmp_path, value)
    out = tmp_path / "out"
    assert main(["run", path, "--out", str(out), "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert fragment in lines[0] and "metrics.extra" in lines[0] and path in lines[0], lines
    assert not out.exists()


def test_a_bad_metric_given_with_set_is_refused_before_the_run(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", "--set", 'metrics.extra=["nope_xyz:M"]', "--out", str(out), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "metrics.extra = 'nope_xyz:M': cannot import module 'nope_xyz'" in err
    assert not out.exists()


def test_runs_stack_and_keep_their_keys():
    sc = small(days=1, **TINY)
    runs = [api.run(sc, seed=s) for s in (1, 2)] + [api.run(replace(sc, name="other"), seed=1)]
    ids = [r.run_id for r in runs]
    assert len(set(ids)) == 3  # the seed and the name are part of the inputs
    stacked = pd.concat([r.keyed("streams") for r in runs], ignore_index=True)
    assert list(stacked.columns[:3]) == ["scenario", "seed", "run_id"]
    for r in runs:
        back = stacked[stacked["run_id"] == r.run_id].drop(columns=["scenario", "seed", "run_id"])
        pd.testing.assert_frame_equal(back.reset_index(drop=True), r.streams)
    ticks = pd.concat([r.keyed("ticks") for r in runs], ignore_index=True)
    assert ticks.groupby(["scenario", "seed"]).size().tolist() == [sc.n_ticks] * 3


def test_run_id_covers_the_inputs_only():
    sc = small(days=1, **TINY)
    assert run_id(sc, 3) == run_id(replace(sc, seed=3), 3)  # seed given either way
    assert run_id(sc, 3) != run_id(sc, 4)
    assert run_id(sc, 3) != run_id(replace(sc, **{"population.viewers": 801}), 3)
    assert SnowballModel(sc, 3).run_id == run_id(sc, 3)


def test_run_keys_refuse_a_clashing_column():
    df = pd.DataFrame({"seed": [1]})
    with pytest.raises(ValueError, match="already has a column 'seed'"):
        with_run_keys(df, {"scenario": "x", "seed": 1, "run_id": "abc"})
