"""Sweep specs, designs and seeds: every bad input is one ConfigError naming file, key, value
and what is allowed; designs and seeds are deterministic and independent of execution."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.config import ConfigError
from simulation.sweep.design import build_design
from simulation.sweep.seeds import run_seed
from simulation.sweep.spec import load_spec, parse_spec

BASE = """
name = "t"
scenario = "default"
seed = 1
replicates = 2
"""

PERSUASION = "streams.focal.persuasion"
BUDGET = "streams.focal.campaign.daily_budget"


def spec_from(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return load_spec(path)


def error_of(tmp_path, text) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        spec_from(tmp_path, text)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(tmp_path / "spec.toml") in msg, msg
    return info.value


# ------------------------------------------------------------------------------ good specs


def test_grid_spec_points_and_order(tmp_path):
    spec = spec_from(
        tmp_path,
        BASE
        + f"""
[set]
"population.viewers" = 5000
[parameters]
"{PERSUASION}" = {{ low = 0.02, high = 0.10, num = 5 }}
"{BUDGET}" = [0, 500, 2000]
""",
    )
    assert spec.n_points == 15 and spec.n_runs == 30
    assert spec.fixed == {"population.viewers": 5000}
    design = build_design(spec)
    # the last parameter varies fastest
    assert design.point(0) == {PERSUASION: 0.02, BUDGET: 0.0}
    assert design.point(1) == {PERSUASION: 0.02, BUDGET: 500.0}
    assert design.point(3)[PERSUASION] == pytest.approx(0.04)
    assert design.point(14) == {PERSUASION: 0.10, BUDGET: 2000.0}
    with pytest.raises(IndexError):
        design.point(15)


def test_nested_tables_are_dotted_keys(tmp_path):
    spec = spec_from(
        tmp_path,
        BASE
        + """
[parameters.streams.focal]
persuasion = [0.03, 0.06]
[parameters.streams.focal.campaign]
daily_budget = [100, 200]
""",
    )
    assert spec.names == (PERSUASION, BUDGET)


def test_integer_and_log_ranges(tmp_path):
    spec = spec_from(
        tmp_path,
        BASE
        + f"""
[design]
kind = "lhs"
samples = 40
[parameters]
"population.viewers" = {{ low = 1000, high = 100000, log = true }}
"{BUDGET}" = {{ low = 10, high = 10000, log = true }}
""",
    )
    design = build_design(spec)
    viewers = [design.point(i)["population.viewers"] for i in range(40)]
    budgets = np.array([design.point(i)[BUDGET] for i in range(40)])
    assert all(isinstance(v, int) and 1000 <= v <= 100000 for v in viewers)
    assert budgets.min() >= 10 and budgets.max() <= 10000
    # log-uniform: a Latin hypercube puts 10 of 40 points in each decade... of 4 quarters
    decades = np.histogram(np.log10(budgets), bins=[1, 2, 3, 4])[0]
    assert decades.min() >= 12


@pytest.mark.parametrize(
    "kind,samples,extra,points",
    [
        ("random", 7, "", 7),
        ("lhs", 9, "", 9),
        ("sobol", 8, "", 8 * (2 * 3 + 2)),
        ("sobol", 16, "second_order = false", 16 * (3 + 2)),
        ("morris", 5, "levels = 6", 5 * (3 + 1)),
        ("morris", 10, "optimal_trajectories = 4", 4 * (3 + 1)),
    ],
)
def test_sampled_designs_sizes_and_determinism(tmp_path, kind, samples, extra, points):
    text = (
        BASE
        + f"""
[design]
kind = "{kind}"
samples = {samples}
{extra}
[parameters]
"{PERSUASION}" = {{ low = 0.02, high = 0.10 }}
"{BUDGET}" = {{ low = 0, high = 5000 }}
"streams.focal.hook" = {{ low = 0.05, high = 0.2 }}
"""
    )
    spec = spec_from(tmp_path, text)
    assert spec.n_points == points
    a, b = build_design(spec), build_design(spec_from(tmp_path, text, "again.toml"))
    assert a.coordinates.shape == (points, 3)
    np.testing.assert_array_equal(a.coordinates, b.coordinates)
    for i in range(points):
        pt = a.point(i)
        assert 0.02 <= pt[PERSUASION] <= 0.10 and 0 <= pt[BUDGET] <= 5000
    other = spec_from(tmp_path, text.replace("seed = 1", "seed = 2"), "other.toml")
    assert not np.array_equal(build_design(other).coordinates, a.coordinates)


def test_seeds_common_random_numbers_and_independent():
    crn = [[run_seed(7, i, k, True) for k in range(3)] for i in range(4)]
    assert all(row == crn[0] for row in crn)  # replicate k shares its seed across points
    assert len(set(crn[0])) == 3
    ind = {run_seed(7, i, k, False) for i in range(4) for k in range(3)}
    assert len(ind) == 12
    assert run_seed(7, 2, 1, False) == run_seed(7, 2, 1, False)
    assert run_seed(8, 0, 0, True) != run_seed(7, 0, 0, True)
    assert all(0 <= s < 2**63 for s in ind)


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "body,key,needle",
    [
        (
            '[parameters]\n"streams.focal.persuation" = [0.1]',
            "persuation",
            f"did you mean '{PERSUASION}'",
        ),
        ('[parameters]\n"daily_budget" = [1, 2]', "daily_budget", f"did you mean '{BUDGET}'"),
        ('[parameters]\n"streams.focal" = [1, 2]', "streams.focal", "is a table"),
        ("[parameters]\nseed = [1, 2]", "seed", "replicates"),
        (
            f'[parameters]\n"{PERSUASION}" = {{ low = 0.05, high = 0.05, num = 3 }}',
            PERSUASION,
            "empty range",
        ),
        (
            f'[parameters]\n"{PERSUASION}" = {{ low = 0.09, high = 0.01, num = 3 }}',
            PERSUASION,
            "inverted range",
        ),
        (f'[parameters]\n"{PERSUASION}" = []', PERSUASION, "at least one value"),
        (f'[parameters]\n"{PERSUASION}" = [0.1, 0.1]', PERSUASION, "must not repeat"),
        (f'[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 2.0, num = 3 }}', "high", "<= 1"),
        (f'[parameters]\n"{PERSUASION}" = [0.01, -0.5]', PERSUASION, ">= 0"),
        (
            f'[parameters]\n"{BUDGET}" = {{ low = 0, high = 10, num = 3, log = true }}',
            "low",
            "log range needs low > 0",
        ),
        (
            f'[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1 }}',
            "design.kind",
            "need a design",
        ),
        (
            f'[design]\nkind = "grid"\n[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1 }}',
            "num",
            "needs num",
        ),
        (
            f'[design]\nkind = "lhs"\nsamples = 8\n[parameters]\n"{PERSUASION}" = [0.01, 0.1]',
            PERSUASION,
            "samples ranges",
        ),
        (
            f'[design]\nkind = "sobol"\nsamples = 100\n[parameters]\n"{PERSUASION}" = '
            "{ low = 0.01, high = 0.1 }",
            "design.samples",
            "power of two (e.g. 64 or 128)",
        ),
        (
            f'[design]\nkind = "sobol"\nsamples = 4\n[parameters]\n"{PERSUASION}" = '
            "{ low = 0.01, high = 0.1 }",
            "design.samples",
            "at least 8",
        ),
        (
            f'[design]\nkind = "morris"\nsamples = 4\nlevels = 3\n[parameters]\n"{PERSUASION}" = '
            "{ low = 0.01, high = 0.1 }",
            "design.levels",
            "even",
        ),
        (
            f'[design]\nkind = "morris"\nsamples = 4\noptimal_trajectories = 4\n[parameters]\n'
            f'"{PERSUASION}" = {{ low = 0.01, high = 0.1 }}',
            "optimal_trajectories",
            "< design",
        ),
        (
            f'[design]\nkind = "lhs"\n[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1 }}',
            "design.samples",
            "needs samples",
        ),
        (
            f'[design]\nkind = "latin"\nsamples = 3\n[parameters]\n"{PERSUASION}" = '
            "{ low = 0.01, high = 0.1 }",
            "design.kind",
            "grid, random, lhs, sobol, morris",
        ),
        (
            f'max_runs = 50\n[design]\nkind = "sobol"\nsamples = 8\n[parameters]\n'
            f'"{PERSUASION}" = {{ low = 0.01, high = 0.1 }}\n"{BUDGET}" = {{ low = 1, high = 9 }}',
            "max_runs",
            "needs 96 runs (48 points x 2 replicates)",
        ),
        (
            '[parameters]\n"population.viewers" = { low = 1, high = 9, num = 20 }',
            "num",
            "levels repeat",
        ),
        ('[parameters]\n"population.viewers" = [1000.5]', "population.viewers", "integers"),
        (
            '[parameters]\n"streams.focal.campaign.bidding" = ["max_delivery", "nope"]',
            "bidding",
            "max_delivery, cost_cap",
        ),
        (
            f'[set]\n"{PERSUASION}" = 0.05\n[parameters]\n"{PERSUASION}" = [0.01]',
            PERSUASION,
            "both fixed",
        ),
        ('[set]\n"population.viewrs" = 10', "viewrs", "did you mean 'population.viewers'"),
        ('metrics = ["leverage"]\npaired_leverage = false', "paired_leverage", "leverage"),
        (
            f'[parameters]\n"{PERSUASION}" = [0.01, 0.02]\n[analysis]\nphase = ["{PERSUASION}", '
            '"x"]',
            "analysis.phase",
            "not a varied parameter",
        ),
    ],
)
def test_bad_spec_is_one_line(tmp_path, body, key, needle):
    err = error_of(tmp_path, BASE + body)
    msg = str(err)
    assert key in msg and needle in msg, msg


@pytest.mark.parametrize(
    "text,needle",
    [
        ('name = "t"\nscenario = "default"\nreplicate = 2\nseed = 1', "did you mean 'replicates'"),
        ('name = "t"\nscenario = "default"', "seed = (missing)"),
        ('name = "t"\nscenario = "nowhere"\nseed = 1', "no such scenario file"),
        ('name = "t"\nscenario = "default"\nseed = -1', "integer >= 0"),
        ('name = "t"\nscenario = "default"\nseed = 1\nreplicates = 0', "integer >= 1"),
        ('name = "t"\nscenario = "default\nseed = 1', "valid TOML"),
        ('name = "a/b"\nscenario = "default"\nseed = 1', "plain name"),
    ],
)
def test_bad_top_level(tmp_path, text, needle):
    assert needle in str(error_of(tmp_path, text))


def test_missing_spec_file(tmp_path):
    with pytest.raises(ConfigError, match="no such sweep spec file"):
        load_spec(tmp_path / "nope.toml")


# --------------------------------------------------------------------- invariants (tier 2)

ranges = st.fixed_dictionaries(
    {
        "low": st.one_of(st.floats(-1, 2), st.integers(-5, 5)),
        "high": st.one_of(st.floats(-1, 2), st.integers(-5, 5)),
    },
    optional={"num": st.integers(0, 6), "log": st.booleans()},
)
values = st.lists(
    st.one_of(st.floats(-1, 2, allow_nan=False), st.integers(-3, 3), st.text(max_size=3)),
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["grid", "random", "lhs"]),
    samples=st.integers(0, 5),
    p1=st.one_of(ranges, values),
    p2=st.one_of(ranges, values),
)
def test_any_parameter_table_is_valid_or_one_config_error(kind, samples, p1, p2):
    raw = {
        "name": "h",
        "scenario": "default",
        "seed": 3,
        "design": {"kind": kind} | ({"samples": samples} if kind != "grid" else {}),
        "parameters": {PERSUASION: p1, "streams.focal.hook": p2},
    }
    try:
        spec = parse_spec(raw, "h.toml")
    except ConfigError as exc:
        assert str(exc).startswith("h.toml: ") and "\n" not in str(exc)
        return
    design = build_design(spec)
    assert design.n_points == spec.n_points >= 1
    for i in range(design.n_points):
        for key, v in design.point(i).items():
            assert isinstance(v, float) and 0 <= v <= 1 and math.isfinite(v), (key, v)


def test_counts_in_messages_agree_in_number():
    from simulation.sweep import plural

    assert plural(1, "replicate") == "1 replicate" and plural(32, "point") == "32 points"
    assert plural(0, "run") == "0 runs"


# ------------------------------------------------------- sizes, syntax, unreadable files


@pytest.mark.parametrize(
    "body,key",
    [
        (f'[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1, num = 1000000000 }}', "num"),
        (
            f'[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1, num = 100000 }}\n'
            f'"{BUDGET}" = {{ low = 1, high = 9000, num = 100000 }}',
            "parameters",
        ),
        (
            f'[parameters]\n"population.viewers" = {{ low = 1, high = 2000000000, num = 999999 '
            f'}}\n"{BUDGET}" = {{ low = 1, high = 9000, num = 999999 }}',
            "parameters",
        ),
        (
            f'max_runs = 10\n[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1, '
            "num = 900000 }",
            "max_runs",
        ),
        (
            f'[design]\nkind = "lhs"\nsamples = 1000000000000\n[parameters]\n"{PERSUASION}" = '
            "{ low = 0.01, high = 0.1 }",
            "parameters",
        ),
        (
            f'[design]\nkind = "sobol"\nsamples = 1099511627776\n[parameters]\n"{PERSUASION}" = '
            "{ low = 0.01, high = 0.1 }",
            "parameters",
        ),
        (
            f'[design]\nkind = "morris"\nsamples = 100000000000\n[parameters]\n"{PERSUASION}" = '
            "{ low = 0.01, high = 0.1 }",
            "parameters",
        ),
        (
            f'[design]\nkind = "random"\nsamples = 100000000\n[parameters]\n"{PERSUASION}" = '
            "{ low = 0.01, high = 0.1 }",
            "parameters",
        ),
    ],
)
def test_huge_designs_are_refused_from_counts(tmp_path, body, key):
    """Issue 19: num = 1e9 used to build 7.45 GiB of levels before max_runs was checked."""
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    err = error_of(tmp_path, BASE + body)
    assert time.perf_counter() - t0 < 2.0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 64, grown_mib
    assert key in str(err)


def test_large_but_allowed_grid_counts_without_building(tmp_path):
    spec = spec_from(
        tmp_path,
        BASE + f'[parameters]\n"{PERSUASION}" = {{ low = 0.01, high = 0.1, num = 5000 }}\n'
        f'"{BUDGET}" = {{ low = 0, high = 9000, num = 5000 }}',
    )
    assert spec.n_points == 25_000_000 and spec.n_runs == 50_000_000


@pytest.mark.parametrize(
    "text,where",
    [
        ('name = "t"\nscenario = "default"\nseed = 1\nreplicates = = 2\n', "line 4, column 14"),
        ('name = "t"\nscenario = "default\nseed = 1\n', "line 2"),
        ('name = "t"\n[parameters\n', "line 2"),
    ],
)
def test_syntax_errors_name_line_and_column(tmp_path, text, where):
    msg = str(error_of(tmp_path, text))
    assert "not valid TOML" in msg and where in msg, msg


def unreadable_error(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_a_fifo_a_folder_and_a_symlink_loop_are_one_line(tmp_path):
    import os

    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    assert "not a regular file" in unreadable_error(fifo)  # and does not block
    assert "is a folder" in unreadable_error(tmp_path)
    loop = tmp_path / "loop.toml"
    loop.symlink_to(tmp_path / "loop2.toml")
    (tmp_path / "loop2.toml").symlink_to(loop)
    assert "loops" in unreadable_error(loop)
    dangling = tmp_path / "dangling.toml"
    dangling.symlink_to(tmp_path / "nowhere.toml")
    assert "symbolic link to nothing" in unreadable_error(dangling)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    assert "UTF-8" in unreadable_error(binary)


@pytest.mark.skipif(
    __import__("os").geteuid() == 0, reason="root reads files without read permission"
)
def test_a_spec_without_read_permission_is_one_line(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(BASE)
    spec.chmod(0)
    assert "permission denied" in unreadable_error(spec).lower()


def test_an_unreadable_scenario_is_one_line(tmp_path):
    import os

    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "dir.toml").mkdir()
    for name, needle in (("fifo.toml", "not a regular file"), ("dir.toml", "is a folder")):
        err = error_of(tmp_path, BASE.replace('"default"', f'"{name}"'))
        assert "scenario" in str(err) and needle in str(err), str(err)


def test_spec_keys_are_declared_like_scenario_fields():
    """One validator: the spec's keys carry the scenario schema's setting() metadata."""
    import dataclasses

    from simulation.sweep.spec import AnalysisSpec, DesignSpec, _TopLevel

    for cls in (_TopLevel, DesignSpec, AnalysisSpec):
        for f in dataclasses.fields(cls):
            assert f.metadata.get("doc"), (cls.__name__, f.name)
    replicates = next(f for f in dataclasses.fields(_TopLevel) if f.name == "replicates")
    assert replicates.metadata["lo"] == 1
