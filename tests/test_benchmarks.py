"""The benchmark suite runs end to end on tiny markets (speed itself is never asserted)."""

import importlib.util

import numpy as np
import pandas as pd
import pytest

from benchmarks.__main__ import main, scale_check
from benchmarks.worker import scaled_overrides
from simulation.config import load_scenario


def test_suite_writes_its_table_phases_and_plot(tmp_path, capsys):
    assert (
        main(["--sizes", "2000,4000", "--days", "1", "--repeats", "2", "--out", str(tmp_path)]) == 0
    )
    bench = pd.read_csv(tmp_path / "bench.csv")
    assert list(bench["viewers"]) == [2000, 4000] and (bench["runs"] == 2).all()
    assert (bench["wall_min_s"] <= bench["wall_median_s"]).all()
    assert (bench["wall_median_s"] <= bench["wall_max_s"]).all()
    assert (bench["impressions"] > 0).all() and (bench["impressions_per_viewer_day"] > 0).all()
    assert (bench["viewer_state_bytes_per_viewer"] < 256).all()
    phases = pd.read_csv(tmp_path / "phases.csv", index_col="phase")
    assert {"sessions", "allocation", "auction", "behaviour", "estimator"} <= set(phases.index)
    assert abs(phases["share"].sum() - 1) < 1e-9
    assert (tmp_path / "scaling.png").stat().st_size > 0
    assert "idle tick" in capsys.readouterr().out
    assert (bench["compiled_kernels"] == (importlib.util.find_spec("numba") is not None)).all()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--sizes", "abc"], "--sizes 'abc'"),
        (["--sizes", "500"], "at least 1000 viewers"),
        (["--days", "x"], "argument --days: invalid int value"),
        (["--out", "{file}"], "cannot create the folder (File exists)"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, fragment):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit) as exit_:
        main([a.format(file=tmp_path / "a_file") for a in args])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "--help" in lines[0], lines


def test_scale_check_compares_per_viewer_rates_at_two_sizes(tmp_path):
    full, check = scale_check(tmp_path, viewers=4000, reference=2000, days=1)
    assert full["viewers"] == 4000 and full["reference"]["viewers"] == 2000
    stored = pd.read_csv(tmp_path / "scale_check.csv")
    assert list(stored["rate"]) == list(check["rate"])
    assert "sessions_per_viewer_day" in set(check["rate"])
    row = check.set_index("rate").loc["entries_per_impression"]
    ref = full["reference"]
    assert row["reference"] == ref["entries"] / ref["impressions"]
    assert row["ratio"] == row["scale"] / row["reference"]
    assert (tmp_path / "scale_1m.json").stat().st_size > 0


def _per_viewer_seeding(scenario) -> tuple[float, float]:
    """Expected seeded follows per viewer and warm-up views per viewer per day-on-air."""
    groups = scenario.streams.values()
    follows = sum(g.count * g.initial_followers for g in groups)
    warmups = sum(g.count * g.warmup_videos * g.warmup_reach for g in groups)
    return follows, warmups


def test_scale_1m_seeds_each_viewer_like_the_default_market():
    """Per-stream shares of viewers are divided by how much each group's count grew, so a
    viewer of scale_1m starts with the default market's follows and warm-up exposure (the
    shares once gave 6.5 follows per viewer against 0.8)."""
    default, scale = load_scenario("v1"), load_scenario("scale_1m")
    assert sum(g.count for g in scale.streams.values()) == 2000
    assert scale.population.viewers == 1_000_000 and scale.days == 30
    np.testing.assert_allclose(_per_viewer_seeding(scale), _per_viewer_seeding(default), rtol=1e-6)


@pytest.mark.parametrize("viewers", [1000, 10_000, 100_000, 1_000_000])
def test_scaled_markets_keep_per_viewer_seeding(viewers):
    scaled = load_scenario("scale_1m", overrides=scaled_overrides(viewers, 2))
    counts = sum(g.count for g in scaled.streams.values())
    assert abs(counts - 2000 * viewers / 1_000_000) <= len(scaled.streams)
    np.testing.assert_allclose(
        _per_viewer_seeding(scaled), _per_viewer_seeding(load_scenario("scale_1m")), rtol=1e-6
    )


def test_conversion_split_adds_up_to_the_run_and_fans_follow():
    """The fan / source split covers every impression, entry and order of the run once, and
    the wrapped model is the same run as an unwrapped one (the split only counts)."""
    from benchmarks.conversion import decompose, summary
    from simulation import api

    df = decompose(3000, 1)
    assert len(df) == 6 and set(df["source"]) == {"free", "paid", "follow"}
    assert df[["impressions", "entries", "orders"]].sum().to_dict() == df.attrs["totals"]
    model = api.build_model("scale_1m", seed=0, overrides=scaled_overrides(3000, 1))
    model.run_days(1)
    plain = api.ticks_table(model)
    assert df.attrs["totals"] == {k: int(plain[k].sum()) for k in df.attrs["totals"]}
    fan_imp = sum(int(r["fan_impressions"].sum()) for r in model.daily_records)
    assert int(df.loc[df["fan"], "impressions"].sum()) == fan_imp > 0
    row = summary(df).iloc[0]
    fan = df[df["fan"]]
    assert row["orders_per_entry_fan"] == fan["orders"].sum() / fan["entries"].sum()
    assert 0 < row["fan_share_of_impressions"] < 1
