"""Tiny sweeps through the real simulator (``simulation.api.run_summary``): the same rows in
process and in worker processes, paired leverage, scenario errors pointed at the spec line,
and a point whose scenario is invalid recorded as a failed run."""

import math

import pandas as pd
import pytest

from simulation.config import ConfigError
from simulation.sweep.engine import run_sweep
from simulation.sweep.executors import ExecutorChoice

SMALL = """
[set]
"population.viewers" = 1500
"streams.field.count" = 8
"streams.field_ads.count" = 2
"streams.alliance.count" = 2
"streams.top_kol.count" = 1
"""


def spec(tmp_path, head, body="", name="spec.toml"):
    path = tmp_path / name
    path.write_text(f'scenario = "default"\ndays = 1\n{head}\n{SMALL}\n{body}')
    return path


def run(path, out, jobs=1):
    return run_sweep(path, out, executor=ExecutorChoice(jobs=jobs), progress=False)


def test_real_sweep_same_rows_in_process_and_in_workers(tmp_path):
    path = spec(
        tmp_path,
        'name = "real"\nseed = 5\nreplicates = 2',
        """
[parameters]
"streams.focal.persuasion" = [0.03, 0.09]
""",
    )
    one = run(path, tmp_path / "one", jobs=1)
    two = run(path, tmp_path / "two", jobs=2)
    assert one.ok == two.ok == 4 and one.failed == 0
    a = pd.read_parquet(tmp_path / "one" / "runs.parquet")
    b = pd.read_parquet(tmp_path / "two" / "runs.parquet")
    pd.testing.assert_frame_equal(a.drop(columns="wall_seconds"), b.drop(columns="wall_seconds"))
    for col in (
        "total_gmv",
        "focal_gmv",
        "focal_final_tier",
        "free_impressions",
        "paid_impressions",
        "follow_impressions",
        "ad_spend",
        "roi",
        "gini_gmv",
        "top10_share_gmv",
        "took_off",
    ):
        assert col in a.columns
    assert (a["total_gmv"] > 0).all() and (a["wall_seconds"] > 0).all()
    resolved = one.manifest["config"]
    assert resolved["population"]["viewers"] == 1500 and resolved["days"] == 1
    assert one.manifest["runner"] == "simulation.api.run_summary"
    assert not one.manifest["test_runner"]


def test_paired_leverage_and_a_failing_point(tmp_path):
    path = spec(
        tmp_path,
        'name = "lev"\nseed = 1\nmetrics = ["leverage", "roi"]',
        """
[parameters]
"feed.demote_percentile" = [0.3, 0.9]
""",
    )
    res = run(path, tmp_path / "o")
    assert (res.ok, res.failed) == (1, 1)
    df = pd.read_parquet(tmp_path / "o" / "runs.parquet").set_index("point")
    assert math.isfinite(df.loc[0, "leverage"])
    assert df.loc[1, "status"] == "failed"
    assert "ConfigError" in df.loc[1, "error"] and "promote_percentile" in df.loc[1, "error"]


@pytest.mark.parametrize(
    "head,fixed,body,needle",
    [
        (
            "",
            '"population.viewers" = 0',
            "",
            'set."population.viewers" = 0: must be an integer >= 1',
        ),
        (
            "",
            "",
            '[parameters]\n"streams.nope.persuasion" = [0.1, 0.2]',
            "stream group 'nope' is not in scenario default",
        ),
        ('focal = "focl"', "", "", "did you mean 'focal'"),
        ("", '"streams.focl.hook" = 0.1', "", "stream group 'focl' is not in scenario default"),
        (
            "",
            "",
            '[parameters]\n"streams.focal.campaign.strategy" = ["yolo", "fixed"]',
            "parameters.\"streams.focal.campaign.strategy\" = 'yolo'",
        ),
    ],
)
def test_scenario_errors_point_at_the_spec(tmp_path, head, fixed, body, needle):
    path = tmp_path / "spec.toml"
    small = SMALL.replace('"population.viewers" = 1500', fixed) if fixed else SMALL
    path.write_text(f'name = "bad"\nscenario = "default"\nseed = 1\n{head}\n{small}\n{body}')
    with pytest.raises(ConfigError) as info:
        run(path, tmp_path / "o")
    msg = str(info.value)
    assert str(path) in msg and needle in msg, msg
    assert not (tmp_path / "o").exists()
