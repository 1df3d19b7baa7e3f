"""Version 1 against version 2 (experiments/_versions.py): the ablation units cover exactly
what differs between the `v1` and `default` scenarios, an ablation of every unit is version 1,
and the report's "Since version 1" lines say what changed and, only where ablation runs show
it, which mechanism changed it."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from experiments import _versions as V
from experiments._plan import Arm, Plan
from simulation import api
from simulation.config import load_scenario, to_dict
from simulation.errors import UsageError

from conftest import SMALL


def test_the_mechanisms_partition_the_difference_between_the_versions():
    keys = [k for ks in V.MECHANISMS.values() for k in ks]
    assert len(keys) == len(set(keys))  # no key in two mechanisms
    assert set(keys) == set(V.version_differences())


def test_every_mechanism_set_back_is_version_1():
    back = load_scenario("default", V.ablation_overrides(V.MECHANISMS))
    a, b = to_dict(back), to_dict(load_scenario("v1"))
    for d in (a, b):
        d.pop("name"), d.pop("description")
    assert a == b


def test_an_ablated_run_equals_version_1_byte_for_byte():
    over = {**SMALL, **V.ablation_overrides(V.MECHANISMS)}
    r2 = api.run(load_scenario("default", over), seed=3, days=1)
    r1 = api.run(load_scenario("v1", SMALL), seed=3, days=1)
    pd.testing.assert_frame_equal(r2.streams, r1.streams)


def test_one_mechanism_set_back_leaves_the_others_on():
    sc = load_scenario("default", V.ablation_overrides(["run_of_show"]))
    assert not sc.behaviour.run_of_show
    assert sc.platform.audience_estimates and sc.economics.returns


def plan(**overrides):
    return Plan("s", "quick", (Arm("a", overrides), Arm("b", {})), (1, 2), {}, 0)


def test_ablate_adds_the_overrides_to_every_arm_and_records_them():
    p = V.ablate(plan(**{"feed.exploration": 0.1}), ["warmup_content"])
    assert p.notes["without"] == ["warmup_content"]
    assert all(a.overrides["platform.warmup_content"] is False for a in p.arms)
    assert p.arms[0].overrides["feed.exploration"] == 0.1
    assert V.ablate(plan(), []) == plan()


def test_an_arm_that_sets_an_ablated_key_is_refused():
    with pytest.raises(UsageError, match=r"arm a sets behaviour\.run_of_show itself"):
        V.ablate(plan(**{"behaviour.run_of_show": True}), ["run_of_show"])


def test_unknown_or_repeated_mechanisms_are_refused():
    with pytest.raises(UsageError, match="no such mechanism; mechanisms: audience_estimates"):
        V.check_names(["ads"])
    with pytest.raises(UsageError, match="named twice"):
        V.check_names(["economics", "economics"])
    assert V.check_names(["run_of_show", "economics"]) == ["economics", "run_of_show"]


def claims(rows):
    return pd.DataFrame(
        [
            {
                "kind": "test",
                "claim": c,
                "effect": e,
                "effect_low": e - 1,
                "effect_high": e + 1,
                "outcome": o,
            }
            for c, e, o in rows
        ]
    )


def write(path, df):
    path.mkdir(parents=True)
    df.to_csv(path / "summary.csv", index=False)


def test_since_version_1_names_the_changed_claims(tmp_path):
    write(tmp_path / "v1" / "s", claims([("x", 5.0, "as predicted"), ("y", 1.0, "as predicted")]))
    new = claims([("x", 0.5, "no significant difference"), ("y", 2.0, "as predicted")])
    lines = V.changes_since_version_1("s", new, tmp_path / "s", "full")
    text = "\n".join(lines)
    assert (
        "`x`: 5.00 [4.00, 6.00], as predicted → 0.500 [-0.500, 1.50], no significant "
        "difference (**changed**)" in text
    )
    assert "`y`: 1.00 [0, 2.00], as predicted → 2.00 [1.00, 3.00], as predicted." in text
    assert "1 claim changed outcome. No ablation runs" in text
    assert "Measured" not in text


def test_an_ablation_that_restores_the_old_outcome_is_named_as_the_cause(tmp_path):
    write(tmp_path / "v1" / "s", claims([("x", 5.0, "as predicted"), ("z", 3.0, "as predicted")]))
    new = claims([("x", 0.5, "no significant difference"), ("z", 0.1, "contradicted")])
    write(
        V.ablation_dir(tmp_path, "s", "full", ["run_of_show"]),
        claims([("x", 4.0, "as predicted"), ("z", 0.2, "contradicted")]),
    )
    write(
        V.ablation_dir(tmp_path, "s", "full", ["economics"]),
        claims([("x", 0.4, "no significant difference"), ("z", 0.3, "contradicted")]),
    )
    text = "\n".join(V.changes_since_version_1("s", new, tmp_path / "s", "full"))
    assert "Measured: `x` goes back to its version-1 outcome with `run_of_show` set back" in text
    assert "without `run_of_show` 4.00 [3.00, 5.00], as predicted" in text
    assert "For 1 changed claim no stored ablation restores" in text
    assert "`z` goes back" not in text


def test_nothing_to_compare_gives_no_lines(tmp_path):
    new = claims([("x", 1.0, "as predicted")])
    assert V.changes_since_version_1("s", new, tmp_path / "s", "full") == []
    write(tmp_path / "v1" / "s", new)
    assert V.changes_since_version_1("s", new, tmp_path / "s", "moderate") == []
    assert V.changes_since_version_1("s", new, tmp_path / "s", "full", ["economics"]) == []
    assert "No claim's outcome changed." in V.changes_since_version_1(
        "s", new, tmp_path / "s", "full"
    )


def test_an_ablation_study_runs_end_to_end_and_reanalyses(tmp_path):
    out = tmp_path / "abl"
    cmd = [
        sys.executable,
        "-m",
        "simulation",
        "experiment",
        "exploration",
        "--quick",
        "-q",
        "--without",
        "run_of_show",
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, cwd=tmp_path)
    man = json.loads((out / "manifest.json").read_text())
    assert man["notes"]["without"] == ["run_of_show"]
    assert all(a["overrides"]["behaviour.run_of_show"] is False for a in man["arms"])
    assert (out / "REPORT.md").read_text().splitlines()[2].startswith("Ablation: every arm with")
    subprocess.run([*cmd[:-2], "--reanalyse", "--out", str(out)], check=True, cwd=tmp_path)


def test_a_combined_ablation_is_read_and_named_by_its_mechanisms(tmp_path):
    write(tmp_path / "v1" / "s", claims([("x", 5.0, "as predicted")]))
    new = claims([("x", 0.5, "no significant difference")])
    both = ["interest_dynamics", "audience_estimates"]
    write(V.ablation_dir(tmp_path, "s", "full", both), claims([("x", 4.0, "as predicted")]))
    write(tmp_path / "ablations" / "without_nonsense" / "s", claims([("x", 4.0, "as predicted")]))
    text = "\n".join(V.changes_since_version_1("s", new, tmp_path / "s", "full"))
    assert "with `audience_estimates` + `interest_dynamics` set back, so that change" in text
    assert "nonsense" not in text
