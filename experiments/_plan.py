"""Planning a study: its arms, seeds and sizes, and each arm's scenario.

A study's ``plan(size, replicates) -> Plan`` names the arms (one scenario each: the base
scenario, the study's sizes, and the value of the variable under study), the seeds and the
sizes, usually through :func:`crn_plan`.

Sizes: a study's population and run length are size choices; every campaign budget (yuan)
is scaled with the population (:func:`scale_budgets`) so that a smaller market's ad
auction matches the scenario's.

Common random numbers: replicate k of every arm is run with the same seed, spawned from the
study's root seed with :class:`numpy.random.SeedSequence`, so arm differences are paired.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments._report import count
from simulation.config import (
    Scenario,
    drop_none,
    load_scenario,
    replace,
    scenario_from_dict,
    to_dict,
)

SIZES = ("quick", "moderate", "full")
SECONDS_PER_VIEWER_DAY = 1.8e-5
"""Measured cost of the interest feed on one core (default market, 10-minute ticks); the
funnel is cheaper. Used only for cost estimates."""
SECONDS_PER_STREAM_TICK = 3e-6
"""Per-tick overhead per stream (dominates tiny runs)."""

QUICK_SIZES: dict[str, Any] = {
    "tick_minutes": 30,
    "population.viewers": 3000,
    "streams.field.count": 24,
    "streams.field_ads.count": 6,
    "streams.alliance.count": 6,
    "streams.top_kol.count": 2,
}
"""The tiny market of ``--quick`` (the test suite's smoke test, not a study): a few thousand
viewers, ~40 streams, 30-minute ticks."""

REPLICATES: dict[str, int] = {"full": 20, "moderate": 6, "quick": 2}
"""Seeds per arm at each size, unless a study sets its own (see :func:`crn_plan`)."""


@dataclass(frozen=True)
class Arm:
    """One setting of the variable under study.

    Parameters
    ----------
    name
        Short identifier (a column value in the tables).
    overrides
        Dotted scenario keys applied on top of the base scenario and the study's sizes: the
        variable under study, and nothing else.
    base
        Named scenario it starts from (``default`` or ``funnel``).
    label
        Legend text.
    x
        Numeric value of the variable (for trends), NaN if categorical.
    tags
        Extra columns for the runs table (e.g. ``policy``, ``condition``).
    market_seed
        If set, the streams' traits are drawn once from this seed and frozen (see
        :func:`freeze_market`), so that different run seeds are different worlds of the
        same market.
    """

    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    base: str = "default"
    label: str = ""
    x: float = math.nan
    tags: Mapping[str, Any] = field(default_factory=dict)
    market_seed: int | None = None

    def record(self) -> dict[str, Any]:
        """The arm as plain JSON values (the manifest's and the work folder's description)."""
        return {
            "name": self.name,
            "base": self.base,
            "overrides": dict(self.overrides),
            "x": None if math.isnan(self.x) else self.x,
            "tags": dict(self.tags),
            "market_seed": self.market_seed,
        }


@dataclass(frozen=True)
class Plan:
    """Everything needed to run a study: arms x seeds at given sizes."""

    study: str
    size: str
    arms: tuple[Arm, ...]
    seeds: tuple[int, ...]
    sizes: Mapping[str, Any]
    root_seed: int
    notes: Mapping[str, Any] = field(default_factory=dict)
    market_seeds: tuple[int, ...] | None = None
    """If set, replicate k runs in the frozen market ``market_seeds[k]`` (see
    :func:`freeze_market`); arms with their own ``market_seed`` keep theirs."""

    @property
    def replicates(self) -> int:
        return len(self.seeds)

    @property
    def n_runs(self) -> int:
        return len(self.arms) * len(self.seeds)

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(name)

    def market_of(self, arm: Arm, replicate: int) -> int | None:
        if arm.market_seed is not None:
            return arm.market_seed
        return self.market_seeds[replicate] if self.market_seeds else None

    def scenario(self, arm: Arm, replicate: int = 0) -> Scenario:
        return build_scenario(arm, self.sizes, self.market_of(arm, replicate))

    def estimated_seconds(self) -> float:
        """Single-core estimate of the whole study (see :data:`SECONDS_PER_VIEWER_DAY`)."""
        total = 0.0
        for a in self.arms:
            sc = self.scenario(a)
            n_streams = sum(g.count for g in sc.streams.values())
            per_run = sc.days * (
                sc.population.viewers * SECONDS_PER_VIEWER_DAY
                + n_streams * sc.ticks_per_day * SECONDS_PER_STREAM_TICK
                + 0.03
            )
            total += per_run * len(self.seeds)
        return total

    def describe(self) -> str:
        sc = self.scenario(self.arms[0])
        n_streams = sum(g.count for g in sc.streams.values())
        return (
            f"{count(len(self.arms), 'arm')} x {count(len(self.seeds), 'seed')} = "
            f"{count(self.n_runs, 'run')} of {sc.population.viewers:,} viewers, "
            f"{count(n_streams, 'stream')}, {count(sc.days, 'day')}"
        )


def crn_seeds(root_seed: int, replicates: int) -> tuple[int, ...]:
    """Run seeds of replicates 0..R-1: ``SeedSequence(root_seed).spawn(R)``, each reduced to
    a 32-bit integer. Every arm uses the same list (common random numbers)."""
    children = np.random.SeedSequence(root_seed).spawn(replicates)
    return tuple(int(c.generate_state(1, dtype=np.uint32)[0]) for c in children)


def crn_plan(
    study: str,
    size: str,
    arms: Iterable[Arm],
    root_seed: int,
    sizes: Mapping[str, Mapping[str, Any]],
    replicates: int | None = None,
    notes: Mapping[str, Any] | None = None,
    default_replicates: Mapping[str, int] = REPLICATES,
) -> Plan:
    """The usual plan: ``arms`` at ``sizes[size]``, each run on the same ``replicates``
    seeds (default ``default_replicates[size]``) spawned from ``root_seed`` (see
    :func:`crn_seeds`)."""
    reps = replicates or default_replicates[size]
    return Plan(
        study,
        size,
        tuple(arms),
        crn_seeds(root_seed, reps),
        sizes[size],
        root_seed,
        dict(notes or {}),
    )


def pick_size(size: str | None, quick: bool) -> str:
    size = "quick" if quick else (size or "full")
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    return size


def build_scenario(arm: Arm, sizes: Mapping[str, Any], market_seed: int | None = None) -> Scenario:
    """The arm's scenario: base file, then the study's sizes, then the arm's overrides; in a
    frozen market if ``market_seed`` (or the arm's own) is given."""
    sc = scale_budgets(load_scenario(arm.base, {**dict(sizes), **dict(arm.overrides)}), arm.base)
    seed = arm.market_seed if arm.market_seed is not None else market_seed
    if seed is not None:
        sc = freeze_market(sc, seed)
    return sc


def scale_budgets(scenario: Scenario, base: str) -> Scenario:
    """Every campaign's ``daily_budget`` and ``max_budget`` scaled by viewers / the base
    scenario's viewers.

    Budgets are yuan, not relative to the platform's size: the same budgets in a market of
    a fifth of the viewers buy a five times larger share of the ad inventory at far higher
    prices. Scaling them keeps the ad market of a smaller study population equivalent to
    the scenario's own (measured: at 20,000 viewers with budgets x 0.2 the paid share of
    impressions, the clearing CPM and paid ROI match 100,000 viewers with full budgets).
    Studies therefore state budgets at the scenario's reference size.
    """
    ref = load_scenario(base).population.viewers
    factor = scenario.population.viewers / ref
    if factor == 1:
        return scenario
    over: dict[str, Any] = {}
    for name, g in scenario.streams.items():
        if g.campaign is not None:
            over[f"streams.{name}.campaign.daily_budget"] = g.campaign.daily_budget * factor
            over[f"streams.{name}.campaign.max_budget"] = g.campaign.max_budget * factor
    return replace(scenario, **over) if over else scenario


def freeze_market(scenario: Scenario, market_seed: int) -> Scenario:
    """The same scenario with every stream's drawn traits fixed.

    The streams are drawn once, exactly as the model would (``StreamTable`` with a generator
    seeded by ``market_seed``); each becomes a group of one stream with those traits (group
    ``<name>`` for groups of one, ``<name>__<j>`` otherwise). Runs with different seeds are
    then different worlds — viewers, sessions, behaviour, schedule phases — of one market.
    """
    from simulation.streams import StreamTable

    table = StreamTable(scenario, np.random.default_rng(market_seed))
    tph = scenario.ticks_per_day / 24
    raw = to_dict(scenario)
    groups: dict[str, Any] = {}
    index_in_group: dict[str, int] = {}
    for i in range(table.n):
        gname = table.group_names[table.group[i]]
        g = raw["streams"][gname]
        j = index_in_group.get(gname, 0)
        index_in_group[gname] = j + 1
        new = dict(g)
        new.update(
            count=1,
            category=int(table.category[i]),
            hook=float(table.hook[i]),
            retention=float(table.retention[i]),
            persuasion=float(table.persuasion[i]),
            price=float(table.price[i]),
            quality=float(table.quality[i]),
            start_hour=float(table.start_tick[i] / tph),
        )
        name = gname if g["count"] == 1 else f"{gname}__{j:03d}"
        groups[name] = new
    raw["streams"] = groups
    return scenario_from_dict(drop_none(raw), f"{scenario.name} (frozen market {market_seed})")


def base_group(name: str) -> str:
    """Original group of a (possibly frozen) group name."""
    return name.split("__")[0]
