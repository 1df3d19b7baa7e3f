"""The benchmark suite runs end to end on tiny markets (speed itself is never asserted)."""

import pandas as pd

from benchmarks.__main__ import main


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
