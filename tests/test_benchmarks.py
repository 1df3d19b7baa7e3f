"""The benchmark suite runs end to end on tiny markets (speed itself is never asserted)."""

import importlib.util

import numpy as np
import pandas as pd
import pytest

from benchmarks import versions
from benchmarks.__main__ import main, scale_check
from benchmarks.worker import scaled_overrides
from simulation.config import load_scenario


def test_suite_writes_its_table_phases_and_plot(tmp_path, capsys):
    args = ["--sizes", "2000,4000", "--days", "1", "--repeats", "2", "--rounds", "0"]
    assert main([*args, "--out", str(tmp_path)]) == 0
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
    out = capsys.readouterr().out
    assert "idle tick" in out and "ratio of medians" not in out  # --rounds 0: no comparison
    assert not (tmp_path / "versions.csv").exists()
    assert (bench["compiled_kernels"] == (importlib.util.find_spec("numba") is not None)).all()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--sizes", "abc"], "--sizes 'abc'"),
        (["--sizes", "500"], "at least 1000 viewers"),
        (["--days", "x"], "argument --days: invalid int value"),
        (["--out", "{file}"], "cannot create the folder (File exists)"),
        (["--rounds", "-1"], "--rounds -1"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, fragment):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit) as exit_:
        main([a.format(file=tmp_path / "a_file") for a in args])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "--help" in lines[0], lines


def _csv_bytes(result) -> bytes:
    return b"".join(t.to_csv(index=False).encode() for t in (result.streams, result.ticks))


def test_version_1_overrides_turn_default_into_v1_byte_for_byte():
    """The overrides the version comparison derives from the two scenario files make a run of
    ``default`` the same run as ``v1``: every column of both tables, byte for byte (and not
    the same run as ``default`` itself, so the check can fail)."""
    from simulation import api

    from conftest import small

    over = versions.version_1_overrides()
    assert {"behaviour.run_of_show", "economics.returns", "platform.latent_needs"} <= set(over)
    assert over["behaviour.run_of_show"] is False and "name" not in over
    as_v1 = api.run(small("default", **over), seed=5, days=1)
    v1 = api.run(small("v1"), seed=5, days=1)
    assert _csv_bytes(as_v1) == _csv_bytes(v1)
    assert _csv_bytes(api.run(small("default"), seed=5, days=1)) != _csv_bytes(v1)


def test_version_comparison_interleaves_rounds_and_writes_its_ratios(tmp_path):
    calls = []

    def fake_run(viewers, days, seed, extra):
        version = "v1" if extra.get("behaviour.run_of_show") is False else "v2"
        calls.append((seed, version))
        wall = {"v1": 1.0, "v2": 1.5}[version] + seed
        return {"wall_seconds": wall, "cpu_seconds": wall / 2, "impressions": 10**9}

    df = versions.compare(fake_run, 3000, 1, 3, extra={"days": 1})
    assert calls == [(0, "v2"), (0, "v1"), (1, "v1"), (1, "v2"), (2, "v2"), (2, "v1")]
    assert list(df.columns) == [
        "round", "version", "seed", "viewers", "days", "wall_seconds", "impressions",
        "ns_per_impression", "cpu_ns_per_impression", "round_ratio", "median_round_ratio",
        "ratio_of_medians", "cpu_round_ratio",
    ]  # fmt: skip
    ratios = df.drop_duplicates("round")["round_ratio"].to_numpy()
    np.testing.assert_allclose(ratios, [1.5, 2.5 / 2, 3.5 / 3])
    assert (df["median_round_ratio"] == 2.5 / 2).all()
    assert (df["ratio_of_medians"] == 2.5 / 2).all()
    np.testing.assert_allclose(df["cpu_round_ratio"], df["round_ratio"])
    stored = pd.read_csv(versions.write(df, tmp_path))
    assert list(stored.columns) == list(df.columns) and len(stored) == 6
    assert "ratio of medians 1.250" in versions.summary(df)


def test_suite_compares_the_versions_at_its_largest_size(tmp_path):
    args = ["--sizes", "2000", "--days", "1", "--repeats", "1", "--rounds", "2"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "versions.csv")
    pairs = sorted(zip(df["round"], df["version"], strict=True))
    assert pairs == [(0, "v1"), (0, "v2"), (1, "v1"), (1, "v2")]
    assert (df["viewers"] == 2000).all() and (df["ns_per_impression"] > 0).all()
    ns = df.pivot(index="round", columns="version", values="ns_per_impression")
    np.testing.assert_allclose(df.drop_duplicates("round")["round_ratio"], ns["v2"] / ns["v1"])
    # the two versions are different workloads: version 1's runs make other impressions
    imp = df.pivot(index="round", columns="version", values="impressions")
    assert (imp["v1"] != imp["v2"]).any()


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
