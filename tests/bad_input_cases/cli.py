"""Bad inputs of ``run``, ``experiment``, ``validate``, ``scenarios``, ``strategies``,
``operators`` and the dashboard's flags (see the package docstring for the shape of a case)."""

import json
import os
from pathlib import Path

import pytest

TINY = ["--set", "population.viewers=800", "--days", "1", "-q"]


def args(*argv: str):
    """A case that needs no files: the arguments as given, output (if any) inside tmp."""
    return lambda tmp: [*argv]


def run(*argv: str):
    """``run ARGS --out tmp/out``: the output folder is never created."""
    return lambda tmp: ["run", *argv, "--out", str(tmp / "out"), "-q"]


def scenario_file(text: str, name: str = "bad.toml"):
    """``run FILE`` with ``text`` written to ``tmp/scen/FILE``."""

    def setup(tmp: Path) -> list[str]:
        (tmp / "scen").mkdir()
        path = tmp / "scen" / name
        path.write_text(text)
        return ["run", str(path), "--out", str(tmp / "out"), "-q"]

    return setup


def raw_scenario(content: bytes):
    def setup(tmp: Path) -> list[str]:
        path = tmp / "bad.toml"
        path.write_bytes(content)
        return ["run", str(path), "--out", str(tmp / "out")]

    return setup


def link_loop(tmp: Path) -> Path:
    """``tmp/loop_a`` -> ``loop_b`` -> ``loop_a``: a symbolic link loop."""
    os.symlink("loop_b", tmp / "loop_a")
    os.symlink("loop_a", tmp / "loop_b")
    return tmp / "loop_a"


def out_is_loop(*argv: str):
    return lambda tmp: [*argv, "--out", str(link_loop(tmp))]


def scenario_loop(tmp: Path) -> list[str]:
    return ["run", str(link_loop(tmp)), "--out", str(tmp / "out")]


def scenario_fifo(tmp: Path) -> list[str]:
    fifo = tmp / "pipe.toml"
    os.mkfifo(fifo)  # opening it would block until a writer comes: refused before opening
    return ["run", str(fifo), "--out", str(tmp / "out")]


def scenario_folder(tmp: Path) -> list[str]:
    (tmp / "folder.toml").mkdir()
    return ["run", str(tmp / "folder.toml"), "--out", str(tmp / "out")]


def scenario_unreadable(tmp: Path) -> list[str]:
    if os.geteuid() == 0:
        pytest.skip("root reads a file without read permission")
    path = tmp / "secret.toml"
    path.write_text('base = "default"\n')
    path.chmod(0)
    return ["run", str(path), "--out", str(tmp / "out")]


def base_only_in_cwd(tmp: Path) -> list[str]:
    """``base = "mybase"`` where ``mybase.toml`` is in the working folder (tmp) but neither
    next to the scenario nor among the named scenarios: not found."""
    (tmp / "mybase.toml").write_text('base = "default"\ndays = 2\n')
    (tmp / "scen").mkdir()
    child = tmp / "scen" / "child.toml"
    child.write_text('base = "mybase"\n')
    return ["run", str(child), "--out", str(tmp / "out")]


def base_loop(tmp: Path) -> list[str]:
    (tmp / "a.toml").write_text('base = "b.toml"\n')
    (tmp / "b.toml").write_text('base = "a.toml"\n')
    return ["run", str(tmp / "a.toml"), "--out", str(tmp / "out")]


def out_inside_a_file(*argv: str):
    def setup(tmp: Path) -> list[str]:
        (tmp / "file.txt").write_text("x")
        return [*argv, "--out", str(tmp / "file.txt" / "sub")]

    return setup


def out_foreign_folder(*argv: str):
    def setup(tmp: Path) -> list[str]:
        (tmp / "project" / "src").mkdir(parents=True)
        (tmp / "project" / "src" / "main.py").write_text("code")
        return [*argv, "--out", str(tmp / "project")]

    return setup


def out_with_notes(tmp: Path) -> list[str]:
    out = tmp / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"schema_version": 1, "kind": "run"}))
    (out / "notes.txt").write_text("my notes")
    return ["run", *TINY, "--out", str(out)]


def out_other_study(tmp: Path) -> list[str]:
    other = tmp / "exploration"
    other.mkdir()
    man = {"schema_version": 1, "kind": "experiment", "study": "exploration"}
    (other / "manifest.json").write_text(json.dumps(man))
    (other / "REPORT.md").write_text("# exploration")
    return ["experiment", "review_quality", "--quick", "-q", "--out", str(other)]


def reanalyse_run_folder(tmp: Path) -> list[str]:
    run_dir = tmp / "run"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text(json.dumps({"schema_version": 1, "kind": "run"}))
    return ["experiment", "inequality", "--reanalyse", "--out", str(run_dir)]


DEFAULT = 'base = "default"\n'
HUGE = str(2**70)  # 1180591620717411303424

CASES = [
    # run: scenario values given with --set and --days/--seed
    ("run-unknown-key", run("--set", "population.viewrs=5")),
    ("run-viewers-zero", run("--set", "population.viewers=0")),
    ("run-viewers-2^70", run("--set", f"population.viewers={HUGE}")),
    ("run-viewers-1e8-memory", run("--set", "population.viewers=100000000")),
    ("run-streams-1e10-memory", run("--set", "streams.field.count=10000000000")),
    ("run-seed-2^70", run("--set", f"seed={HUGE}")),
    ("run-days-zero", run("--days", "0")),
    ("run-days-negative", run("--days", "-3")),
    ("run-seed-negative", run("--seed", "-1")),
    ("run-hook-above-1", run("--set", "streams.focal.hook=2")),
    ("run-budget-negative", run("--set", "streams.focal.campaign.daily_budget=-10")),
    ("run-commission-negative", run("--set", "economics.commission_rate=-0.1")),
    ("run-platform-fee-above-1", run("--set", "economics.platform_fee_rate=1.5")),
    ("run-return-rate-above-1", run("--set", "economics.return_base_rate=2")),
    ("run-presented-quality-gap", run("--set", "economics.presented_quality=-0.5")),
    ("run-returns-not-bool", run("--set", "economics.returns=1")),
    ("run-kol-slot-share-zero", run("--set", "streams.top_kol.kol_slot_share=0")),
    ("run-kol-slot-share-above-1", run("--set", "streams.top_kol.kol_slot_share=1.5")),
    ("run-kol-fee-negative", run("--set", "streams.top_kol.kol_dedicated_fee=-100")),
    ("run-kol-session-unknown", run("--set", "streams.top_kol.kol_session=solo")),
    ("run-kol-session-no-merchant", run("--set", "streams.top_kol.kol_session=mixed")),
    ("run-show-cycle-zero", run("--set", "behaviour.show_cycle_minutes=0")),
    ("run-show-cycle-negative", run("--set", "behaviour.show_cycle_minutes=-10")),
    ("run-show-not-bool", run("--set", "behaviour.run_of_show=1")),
    ("run-show-fourth-role", run("--set", "streams.focal.mix=[0.4,0.3,0.2,0.1]")),
    ("run-warmup-book-prob-above-1", run("--set", "platform.warmup_book_prob=1.5")),
    ("run-warmup-follow-prob-negative", run("--set", "platform.warmup_follow_prob=-0.1")),
    ("run-warmup-evidence-weight-above-1", run("--set", "platform.warmup_evidence_weight=2")),
    ("run-warmup-content-not-bool", run("--set", "platform.warmup_content=1")),
    ("run-event-type-unknown", run("--set", "calendar.festivals.x.days=[1]")),
    ("run-event-day-outside-run", run("--set", "calendar.sales.x.days=[30]")),
    ("run-event-category-out-of-range", run("--set", "calendar.category_events.c.category=99")),
    ("run-event-category-missing", run("--set", "calendar.category_events.c.days=[1]")),
    (
        "run-event-reserved-share-above-1",
        run("--set", "calendar.marketing_ips.ip.reserved_share=2"),
    ),
    ("run-event-discount-negative", run("--set", "calendar.sales.x.discount=-0.1")),
    ("run-event-discount-whole-price", run("--set", "calendar.sales.x.discount=1")),
    ("run-event-entry-unknown", run("--set", "calendar.sales.x.entry=whoever")),
    ("run-strategy-unknown", run("--set", "streams.focal.campaign.strategy=yolo")),
    ("run-expansion-above-1", run("--set", "streams.focal.campaign.expansion=1.5")),
    ("run-expansion-negative", run("--set", "streams.focal.campaign.expansion=-0.2")),
    ("run-expansion-step-zero", run("--set", "streams.focal.campaign.expansion_step=0")),
    ("run-stable-cv-zero", run("--set", "streams.focal.campaign.stable_cv=0")),
    ("run-operator-unknown", run("--set", "streams.focal.operator=capacity_frist")),
    (
        "run-operator-spend-negative",
        run("--set", "streams.focal.operator_params.capacity_budget=-5"),
    ),
    ("run-operator-threshold-zero", run("--set", "streams.focal.operator_params.roi_threshold=0")),
    ("run-operator-hold-above-1", run("--set", "streams.focal.operator_params.hold_factor=1.5")),
    ("run-operator-unknown-key", run("--set", "streams.focal.operator_params.budget=5")),
    (
        "run-adaptive-mix-without-show",
        run("--set", "behaviour.run_of_show=false", "--set", "streams.focal.operator=adaptive_mix"),
    ),
    ("run-adaptive-mix-step-zero", run("--set", "streams.focal.operator_params.mix_step=0")),
    ("run-adaptive-mix-step-above-1", run("--set", "streams.focal.operator_params.mix_step=1.5")),
    (
        "run-adaptive-mix-floor-too-high",
        run("--set", "streams.focal.operator_params.mix_floor=0.4"),
    ),
    ("run-adaptive-mix-window-zero", run("--set", "streams.focal.operator_params.mix_window=0")),
    (
        "run-script-without-show",
        run(
            "--set",
            "behaviour.run_of_show=false",
            "--set",
            'streams.focal.script_roles=["driver"]',
            "--set",
            "streams.focal.script_minutes=[5]",
        ),
    ),
    (
        "run-script-minutes-missing",
        run(
            "--set",
            "behaviour.run_of_show=true",
            "--set",
            'streams.focal.script_roles=["driver", "profit"]',
            "--set",
            "streams.focal.script_minutes=[5]",
        ),
    ),
    (
        "run-script-role-unknown",
        run(
            "--set",
            "behaviour.run_of_show=true",
            "--set",
            'streams.focal.script_roles=["hero"]',
            "--set",
            "streams.focal.script_minutes=[5]",
        ),
    ),
    (
        "run-script-minutes-zero",
        run(
            "--set",
            "behaviour.run_of_show=true",
            "--set",
            'streams.focal.script_roles=["driver"]',
            "--set",
            "streams.focal.script_minutes=[0]",
        ),
    ),
    ("run-capacity-delay-negative", run("--set", "capacity_delay_days=-1")),
    ("run-policy-unknown", run("--set", "policy=magic")),
    ("run-days-string", run("--set", "days=two")),
    ("run-set-without-equals", run("--set", "nokey")),
    ("run-mistyped-group", run("--set", "streams.focl.persuasion=0.1")),
    ("run-tick-7", run("--set", "tick_minutes=7")),
    ("run-tick-120", run("--set", "tick_minutes=120")),
    ("run-tick-720", run("--set", "tick_minutes=720")),
    ("run-tick-1440", run("--set", "tick_minutes=1440")),
    ("run-hours-under-half-a-tick", run("--set", "streams.focal.hours=0.05")),
    ("run-no-such-scenario", run("no_such_scenario")),
    # run: argparse
    ("run-days-abc", run("--days", "abc")),
    ("run-seed-float", run("--seed", "1.5")),
    ("run-unknown-flag", run("--no-such-flag")),
    ("no-such-command", args("no_such_command")),
    # run: scenario files
    ("file-malformed-toml", scenario_file("[population\nviewers = 3\n")),
    ("file-not-utf8", raw_scenario(b"\xff\xfe bad")),
    ("file-symlink-loop", scenario_loop),
    ("file-fifo", scenario_fifo),
    ("file-folder", scenario_folder),
    ("file-dev-zero", lambda tmp: ["run", "/dev/zero", "--out", str(tmp / "out")]),
    ("file-unreadable", scenario_unreadable),
    ("file-base-missing", scenario_file('base = "nonexistent"\n')),
    ("file-base-not-a-string", scenario_file("base = 3\n")),
    ("file-base-loop", base_loop),
    ("file-base-only-in-cwd", base_only_in_cwd),
    ("file-merchant-nobody", scenario_file(DEFAULT + '[streams.alliance]\nmerchant = "nobody"\n')),
    (
        "file-merchant-not-one-room",
        scenario_file(DEFAULT + '[streams.alliance]\nmerchant = "field"\n'),
    ),
    ("file-streams-a-number", scenario_file(DEFAULT + "streams = 5\n")),
    ("file-population-a-number", scenario_file(DEFAULT + "population = 3\n")),
    ("file-tick-720", scenario_file(DEFAULT + "tick_minutes = 720\n")),
    # run: --out
    ("run-out-symlink-loop", out_is_loop("run", *TINY)),
    ("run-out-inside-a-file", out_inside_a_file("run", *TINY)),
    ("run-out-cwd", args("run", *TINY, "--out", ".")),
    ("run-out-foreign-folder", out_foreign_folder("run", *TINY)),
    ("run-out-earlier-run-with-notes", out_with_notes),
    # experiment
    ("experiment-unknown-study", args("experiment", "no_such_study")),
    ("experiment-name-and-all", args("experiment", "inequality", "--all")),
    ("experiment-no-name", args("experiment")),
    ("experiment-replicates-1", args("experiment", "inequality", "--quick", "-r", "1")),
    ("experiment-replicates-2^70", args("experiment", "inequality", "--quick", "-r", HUGE)),
    ("experiment-jobs-0", args("experiment", "inequality", "--quick", "-j", "0")),
    ("experiment-retry-failed-alone", args("experiment", "inequality", "--retry-failed")),
    ("experiment-dask-local-x", args("experiment", "inequality", "--quick", "--dask", "local:x")),
    ("experiment-dask-and-jobs", args("experiment", "inequality", "--dask", "local:2", "-j", "2")),
    ("experiment-size-unknown", args("experiment", "inequality", "--size", "huge")),
    ("experiment-out-symlink-loop", out_is_loop("experiment", "review_quality", "--quick", "-q")),
    ("experiment-reanalyse-out-loop", out_is_loop("experiment", "inequality", "--reanalyse")),
    (
        "experiment-out-foreign-folder",
        out_foreign_folder("experiment", "review_quality", "--quick"),
    ),
    ("experiment-out-other-study", out_other_study),
    ("experiment-reanalyse-run-folder", reanalyse_run_folder),
    ("experiment-without-unknown", args("experiment", "inequality", "--quick", "--without", "ads")),
    (
        "experiment-without-twice",
        args("experiment", "inequality", "--quick", "--without", "economics,economics"),
    ),
    # validate
    ("validate-unknown-case", args("validate", "--quick", "--case", "nope")),
    ("validate-alpha-1", args("validate", "--quick", "--alpha", "1")),
    ("validate-seed-negative", args("validate", "--quick", "--seed", "-1")),
    (
        "validate-mistyped-group",
        lambda tmp: [
            "validate",
            "--quick",
            "--case",
            "gamma_urn",
            "--set",
            "streams.nogroup.hook=0.1",
            "--out",
            str(tmp / "v"),
        ],
    ),
    (
        "validate-viewers-1e8-memory",
        lambda tmp: [
            "validate",
            "-q",
            "--case",
            "bass",
            "--set",
            "population.viewers=100000000",
            "--out",
            str(tmp / "v"),
        ],
    ),
    (
        "validate-tick-720",
        lambda tmp: [
            "validate",
            "-q",
            "--case",
            "bass",
            "--set",
            "tick_minutes=720",
            "--out",
            str(tmp / "v"),
        ],
    ),
    ("validate-out-symlink-loop", out_is_loop("validate", "--quick", "-q", "--case", "bass")),
    (
        "validate-out-inside-a-file",
        out_inside_a_file("validate", "--quick", "-q", "--case", "bass"),
    ),
    # listings and the dashboard's flags
    ("scenarios-extra-argument", args("scenarios", "extra")),
    ("strategies-unknown-flag", args("strategies", "--verbose")),
    ("operators-unknown-flag", args("operators", "--verbose")),
    ("dashboard-port-not-a-number", args("dashboard", "--port", "abc")),
    ("dashboard-port-out-of-range", args("dashboard", "--port", "70000")),
    ("dashboard-port-negative", args("dashboard", "--port", "-5")),
    ("dashboard-host-unknown", args("dashboard", "--host", "no such host")),
    # alliance (issue 22, simulation/alliance.py)
    (
        "run-alliance-product-category-unknown",
        scenario_file(
            '[streams.brand]\nkind = "field"\ncount = 1\n'
            '[streams.infl]\nkind = "alliance"\nmerchant = "brand"\nproduct_category = 99\n'
        ),
    ),
    (
        "run-alliance-product-category-without-merchant",
        run("--set", "streams.alliance.product_category=3"),
    ),
    (
        "run-alliance-assortment-unknown-category",
        run("--set", "streams.focal.operator_params.assortment=[0, 99]"),
    ),
    ("run-alliance-product-match-not-bool", run("--set", "alliance.product_match=maybe")),
    (
        "run-alliance-traffic-budget-negative",
        run("--set", "streams.focal.operator_params.traffic_budget=-1"),
    ),
]
