"""Configuration: loading, inheritance, overrides and one-line errors."""

import dataclasses

import pytest

from simulation.config import (
    ConfigError,
    Scenario,
    known_keys,
    load_scenario,
    parse_override,
    replace,
    scenario_from_dict,
    to_dict,
)


@pytest.mark.parametrize(("feed", "funnel"), [("default", "funnel"), ("v1", "funnel_v1")])
def test_named_scenarios_load(feed, funnel):
    d = load_scenario(feed)
    f = load_scenario(funnel)
    assert d.policy == "interest_feed" and f.policy == "search_funnel"
    assert d.population.viewers == 100_000
    # funnel inherits the whole market from default
    assert f.streams.keys() == d.streams.keys()
    assert f.streams["focal"] == d.streams["focal"]
    assert f.name == funnel and f.description != d.description


def test_default_is_version_1s_market_with_version_2s_mechanisms_on():
    """`default` differs from `v1` in exactly the version-2 switches and sourced values that
    default.toml lists; the market (groups, sizes, rooms) is version 1's."""
    from experiments._versions import flat

    a = flat(to_dict(load_scenario("v1")))
    b = flat(to_dict(load_scenario("default")))
    changed = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)} - {"name", "description"}
    assert changed == {
        "platform.audience_estimates", "platform.interaction_weight", "platform.interest_drift",
        "platform.latent_needs", "platform.warmup_content", "behaviour.run_of_show",
        "behaviour.role_cost", "economics.profit_accounting", "economics.returns",
        "auction.max_delivery_value",
    }  # fmt: skip
    # (default.toml also writes out the sourced economic values that are the code's defaults)
    for switch in ("audience_estimates", "interest_drift", "latent_needs", "warmup_content"):
        assert getattr(load_scenario("v1").platform, switch) is False


def test_a_named_scenario_may_be_given_by_its_file_name(tmp_path, monkeypatch):
    """``snowball run default.toml`` from anywhere means the named scenario's file, unless a
    file of that name is where the user is."""
    monkeypatch.chdir(tmp_path)
    assert load_scenario("default.toml") == load_scenario("default")
    (tmp_path / "default.toml").write_text('base = "default"\ndays = 3\n')
    assert load_scenario("default.toml").days == 3
    with pytest.raises(ConfigError, match="no such scenario"):
        load_scenario("defualt.toml")


def test_default_market_has_all_kinds_and_ads():
    d = load_scenario("v1")
    kinds = {g.kind for g in d.streams.values()}
    assert kinds == {"field", "alliance", "top_kol"}
    assert any(g.campaign is not None for g in d.streams.values())
    assert 150 <= sum(g.count for g in d.streams.values()) <= 250


def test_overrides_apply_and_validate():
    sc = load_scenario(
        "default",
        {
            "population.viewers": 5000,
            "streams.focal.campaign.daily_budget": 123.0,
            "streams.focal.hook": [0.1, 0.2],
        },
    )
    assert sc.population.viewers == 5000
    assert sc.streams["focal"].campaign.daily_budget == 123.0
    assert sc.streams["focal"].hook == (0.1, 0.2)
    assert replace(sc, days=3).days == 3


@pytest.mark.parametrize(
    "overrides, key, fragment",
    [
        ({"population.viewrs": 5}, "population.viewers", "did you mean"),
        ({"population.viewers": 0}, "population.viewers", ">= 1"),
        ({"days": 0}, "days", ">= 1"),
        ({"days": 2.5}, "days", "integer"),
        ({"streams.focal.hook": 1.5}, "streams.focal.hook", "<= 1"),
        ({"streams.focal.persuasion": [0.5, 0.1]}, "streams.focal.persuasion", "low <= high"),
        (
            {"streams.focal.campaign.daily_budget": -1.0},
            "streams.focal.campaign.daily_budget",
            ">= 0",
        ),
        (
            {"streams.focal.campaign.strategy": "yolo"},
            "streams.focal.campaign.strategy",
            "feedback_gated",
        ),
        ({"policy": "magic"}, "policy", "interest_feed"),
        ({"tick_minutes": 7}, "tick_minutes", "divide 1440"),
        ({"streams.focal.mix": [0.5, 0.5, 0.5]}, "streams.focal.mix", "add up to 1"),
        ({"streams.focal.kind": "mall"}, "streams.focal.kind", "one of"),
        ({"population.repeat_needs": "yes"}, "population.repeat_needs", "true or false"),
        ({"behaviour.rating_noise": "0.1"}, "behaviour.rating_noise", "number"),
        ({"feed.demote_percentile": 0.9}, "feed.demote_percentile", "promote"),
        ({"streams.focal.category": 12}, "streams.focal.category", "0..11"),
    ],
)
def test_bad_values_raise_one_line_errors(overrides, key, fragment):
    with pytest.raises(ConfigError) as err:
        load_scenario("v1", overrides)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"{key.split('.')[-1] if 'did you mean' in fragment else key}" in msg
    assert fragment in msg
    assert "v1.toml" in msg


def test_unknown_key_suggests_nearest():
    with pytest.raises(ConfigError) as err:
        load_scenario("v1", {"feed.exploraton": 0.1})
    assert "did you mean 'feed.exploration'" in str(err.value)


def test_malformed_and_missing_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("days = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ConfigError, match="no such scenario"):
        load_scenario(tmp_path / "missing.toml")


def test_base_inheritance_loop_is_an_error(tmp_path):
    (tmp_path / "a.toml").write_text('base = "b.toml"\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\n')
    with pytest.raises(ConfigError, match="loop"):
        load_scenario(tmp_path / "a.toml")


def test_parse_override_reads_toml_values():
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("x=0.5") == ("x", 0.5)
    assert parse_override("x=[1, 2]") == ("x", [1, 2])
    assert parse_override("x=true") == ("x", True)
    assert parse_override("x=feedback_gated") == ("x", "feedback_gated")
    with pytest.raises(ConfigError):
        parse_override("novalue")


def test_every_field_documents_itself():
    keys = known_keys()
    assert "population.viewers" in keys and "streams.<group>.campaign.strategy" in keys

    def walk(cls):
        for f in dataclasses.fields(cls):
            assert f.metadata.get("doc"), f"{cls.__name__}.{f.name} has no doc"
            if dataclasses.is_dataclass(f.type) and isinstance(f.type, type):
                walk(f.type)

    walk(Scenario)


def test_streams_needed():
    with pytest.raises(ConfigError, match="at least one stream"):
        scenario_from_dict({"name": "x"})


def test_config_is_frozen():
    sc = load_scenario("v1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.days = 3


def test_parameter_table_in_model_md_is_current():
    """docs/MODEL.md's parameter table is generated from the config schema; it is stale, or
    a parameter is never discussed in the hand-written text, when --check exits 1."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "docs" / "gen_params.py"
    r = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
