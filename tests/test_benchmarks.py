"""The benchmark suite runs end to end on tiny markets (speed itself is never asserted)."""

import pandas as pd

from benchmarks.__main__ import main, scale_check


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
