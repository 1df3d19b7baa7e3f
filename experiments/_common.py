"""What every study shares: arms and seeds, running them in parallel, statistics, figures
and the output folder.

A study (one module in :mod:`experiments`) provides

``plan(size, replicates) -> Plan``
    the arms (one scenario each: the base scenario, the study's sizes, and the value of the
    variable under study), the seeds and the sizes (usually via :func:`crn_plan`);
``measure(result, arm) -> Measurement``
    what one finished run contributes: whole-run scalars, a per-day table and optionally a
    per-stream table (optional: :func:`focal_measurement` if the module has none);
``analyse(runs, daily, plan, streams=None) -> Analysis``
    the tests, the verdict, the report sentences and the figure, computed only from the
    tables ``runs`` (one row per run), ``daily`` (one row per run and day) and ``streams``
    (one row per run and stream);

and its docstring (question, scenario, variable, sizes, metric, tests, predicted pattern).
:func:`load_study` wraps a module as a :class:`Study` (what :data:`experiments.STUDIES`
returns); ``Study.run`` is :func:`run_study`.

:func:`run_study` runs every (arm, replicate) — in this process or in a pool of spawned
worker processes (``import mesa`` selects the spawn start method, so the worker function is
top level) — and writes ``results/<study>/`` in one atomic step: ``runs.csv``,
``daily.csv.gz`` and ``streams.csv.gz`` (the raw run outputs, full precision),
``summary.csv``, ``manifest.json``, ``REPORT.md`` and ``figure.png``. :func:`reanalyse`
recomputes the analysis from the raw outputs of a folder; :func:`refresh_outputs` rewrites
the folder from them.

Sizes: a study's population and run length are size choices; every campaign budget (yuan)
is scaled with the population (:func:`scale_budgets`) so that a smaller market's ad
auction matches the scenario's. The REPORT text is generated from the computed numbers.

Common random numbers: replicate k of every arm is run with the same seed, spawned from the
study's root seed with :class:`numpy.random.SeedSequence`, so arm differences are paired.

Verdict rule (all studies): each claim is a test with a predicted direction; p-values are
Holm-adjusted across the study's claims; a claim is "as predicted" when the adjusted
p < 0.05 in the predicted direction (for a "not positive" prediction: unless the effect is
significantly positive), "opposite" when significant the other way, "no significant
difference" otherwise. Supported = every claim as predicted; not supported = none; mixed
otherwise.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import math
import multiprocessing
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulation.api import TOOK_OFF_MULTIPLE, RunResult, focal_streams
from simulation.config import (
    Scenario,
    load_scenario,
    replace,
    scenario_from_dict,
    to_dict,
)
from simulation.paths import RESULTS
from simulation.results import (
    atomic_dir,
    check_output_folder,
    manifest,
    write_json,
)

ALPHA = 0.05
SIZES = ("quick", "moderate", "full")
RESULTS_DIR = RESULTS  # ./results of the current folder
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

OUTCOMES = ("as predicted", "opposite", "no significant difference")
VERDICTS = ("supported", "not supported", "mixed")


# --------------------------------------------------------------------------------------------
# Plans, arms, seeds
# --------------------------------------------------------------------------------------------


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
    return scenario_from_dict(_drop_none(raw), f"{scenario.name} (frozen market {market_seed})")


def _drop_none(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d


def base_group(name: str) -> str:
    """Original group of a (possibly frozen) group name."""
    return name.split("__")[0]


# --------------------------------------------------------------------------------------------
# Measuring one run
# --------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """What one run contributes: whole-run scalars, a per-day table (one row per day) and,
    optionally, a per-stream table (one row per stream)."""

    scalars: dict[str, Any]
    daily: pd.DataFrame
    streams: pd.DataFrame | None = None


DAILY_SUMS = (
    "free_impressions",
    "paid_impressions",
    "follow_impressions",
    "fan_impressions",
    "impressions",
    "entries",
    "dwell_minutes",
    "orders",
    "gmv",
    "margin",
    "ad_spend",
    "paid_orders",
    "paid_gmv",
    "live_minutes",
)


def group_daily(result: RunResult, group: str = "focal") -> pd.DataFrame:
    """Per-day totals of one stream group (sums over its streams), plus its followers, best
    pool tier, mean review score and budget. Days with no rows give zeros."""
    st = result.streams
    ids = focal_streams(result.model, group)
    mine = st[st["stream"].isin(ids)]
    days = np.arange(result.scenario.days)
    agg = mine.groupby("day").agg(
        **{c: (c, "sum") for c in DAILY_SUMS},
        followers=("followers", "sum"),
        budget=("budget", "sum"),
        pool_tier=("pool_tier", "max"),
        review_score=("review_score", "mean"),
    )
    agg = agg.reindex(days, fill_value=0)
    agg.index.name = "day"
    return agg.reset_index()


def platform_daily(result: RunResult) -> pd.DataFrame:
    """Per-day platform totals: impressions by source, orders, GMV, ad spend."""
    st = result.streams
    cols = [
        "free_impressions",
        "paid_impressions",
        "follow_impressions",
        "impressions",
        "entries",
        "dwell_minutes",
        "orders",
        "gmv",
        "ad_spend",
    ]
    out = st.groupby("day")[cols].sum().reindex(np.arange(result.scenario.days), fill_value=0)
    out.columns = [f"platform_{c}" for c in out.columns]
    out.index.name = "day"
    return out.reset_index()


def focal_measurement(result: RunResult, arm: Arm, group: str = "focal") -> Measurement:
    """The default measurement: the focal group's daily table and its run totals."""
    daily = group_daily(result, group).merge(platform_daily(result), on="day")
    totals = {f"total_{c}": float(daily[c].sum()) for c in DAILY_SUMS}
    spend = totals["total_ad_spend"]
    totals["paid_roi"] = totals["total_paid_gmv"] / spend if spend > 0 else math.nan
    totals["final_followers"] = float(daily["followers"].iloc[-1])
    return Measurement(totals, daily)


def takeoff_day(streams: pd.DataFrame, ids: np.ndarray, days: int) -> tuple[float, bool]:
    """First day the group's free impressions reach TOOK_OFF_MULTIPLE x the median of the
    streams live that day (the rule of :func:`simulation.api.took_off`, day by day); the run's
    length and False if never."""
    live = streams[streams["live_minutes"] > 0]
    med = live.groupby("day")["free_impressions"].median()
    mine = live[live["stream"].isin(ids)].groupby("day")["free_impressions"].sum()
    for day, free in mine.items():
        if free >= TOOK_OFF_MULTIPLE * max(float(med.get(day, 0.0)), 1.0):
            return float(day), True
    return float(days), False


def log_positive(x: np.ndarray) -> np.ndarray:
    """Natural log where ``x`` > 0, NaN elsewhere (no warnings)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _execute(
    study: str,
    arm: Arm,
    sizes: Mapping[str, Any],
    replicate: int,
    seed: int,
    market_seed: int | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame | None]:
    """One run of one arm (top level so that spawned workers can call it)."""
    from simulation import api

    sc = build_scenario(arm, sizes, market_seed)
    result = api.run(sc, seed)
    m = load_study(study).measure(result, arm)
    keys = {"arm": arm.name, "replicate": replicate, "seed": seed}
    row = {**keys, **dict(arm.tags), "x": arm.x}
    if market_seed is not None:
        row["market_seed"] = market_seed
    row.update(m.scalars)
    row["wall_seconds"] = round(result.wall_seconds, 3)
    tables = []
    for t in (m.daily, m.streams):
        if t is not None:
            t = t.copy()
            for i, (k, v) in enumerate(keys.items()):
                t.insert(i, k, v)
        tables.append(t)
    return row, tables[0], tables[1]


def _init_worker(parent_pid: int) -> None:
    """Workers ignore Ctrl-C (the driver stops them) and exit if the driver dies; they use
    the command's allocator settings (:mod:`simulation.allocator`)."""
    import signal
    import threading

    from simulation import allocator

    allocator.tune()
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


def execute_plan(
    plan: Plan, jobs: int = 1, progress: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Run every (arm, replicate) of ``plan``; returns the tables (runs, daily, streams —
    the last None unless the study measures streams), sorted by arm order and replicate.
    ``jobs`` > 1 uses a pool of spawned processes."""
    tasks = [
        (plan.study, arm, dict(plan.sizes), k, seed, plan.market_of(arm, k))
        for k, seed in enumerate(plan.seeds)
        for arm in plan.arms
    ]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), unit="run", desc=plan.study, leave=False, file=sys.stderr)
    results: list[tuple[dict[str, Any], pd.DataFrame, pd.DataFrame | None]] = []
    try:
        if jobs <= 1:
            for t in tasks:
                results.append(_execute(*t))
                if bar is not None:
                    bar.update(1)
        else:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(
                max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
            ) as pool:
                futures = [pool.submit(_execute, *t) for t in tasks]
                try:
                    for fut in cf.as_completed(futures):
                        fut.result()
                        if bar is not None:
                            bar.update(1)
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
                results = [f.result() for f in futures]
    finally:
        if bar is not None:
            bar.close()
    order = {a.name: i for i, a in enumerate(plan.arms)}

    def tidy(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        df["_o"] = df["arm"].map(order)
        df = df.sort_values(["_o", "replicate", *keys], kind="stable").drop(columns="_o")
        return df.reset_index(drop=True)

    runs = tidy(pd.DataFrame([r for r, _, _ in results]), [])
    daily = tidy(pd.concat([d for _, d, _ in results], ignore_index=True), ["day"])
    parts = [s for _, _, s in results if s is not None]
    streams = tidy(pd.concat(parts, ignore_index=True), ["stream"]) if parts else None
    return runs, daily, streams


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


@dataclass
class Test:
    """One claim tested: an effect with its 95% interval, a test and the predicted sign.

    ``predicted`` is ``">0"``, ``"<0"`` or ``"<=0"`` (not positive). ``effect`` is the mean of
    the paired differences (or of the per-seed statistic), ``d_z`` its mean / sd.
    """

    claim: str
    description: str
    metric: str
    comparison: str
    predicted: str
    test: str
    effect: float
    low: float
    high: float
    n: int
    statistic: float
    p_value: float
    d_z: float = math.nan
    wilcoxon_statistic: float = math.nan
    wilcoxon_p: float = math.nan
    p_adjusted: float = math.nan
    outcome: str = ""

    def row(self) -> dict[str, Any]:
        return {
            "kind": "test",
            "claim": self.claim,
            "description": self.description,
            "metric": self.metric,
            "comparison": self.comparison,
            "predicted": self.predicted,
            "effect": self.effect,
            "effect_low": self.low,
            "effect_high": self.high,
            "n": self.n,
            "cohen_dz": self.d_z,
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "p_holm": self.p_adjusted,
            "wilcoxon_statistic": self.wilcoxon_statistic,
            "wilcoxon_p": self.wilcoxon_p,
            "outcome": self.outcome,
        }


def _t_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of a Student-t interval; NaN bounds for fewer than 2 values."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if n < 2:
        return m, math.nan, math.nan
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return m, m - half, m + half


def mean_interval(x: Iterable[float]) -> tuple[float, float, float, int]:
    """Mean, 95% t-interval and n of the finite values of ``x``."""
    a = np.asarray(list(x), dtype=float)
    a = a[np.isfinite(a)]
    m, lo, hi = _t_interval(a)
    return m, lo, hi, len(a)


def _wilcoxon(d: np.ndarray) -> tuple[float, float]:
    d = d[np.isfinite(d)]
    if len(d) < 2 or np.all(d == 0):
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = stats.wilcoxon(d)
        except ValueError:
            return math.nan, math.nan
    return float(r.statistic), float(r.pvalue)


def one_sample_test(
    claim: str,
    description: str,
    metric: str,
    values: Sequence[float],
    predicted: str,
    comparison: str = "mean vs 0",
    test: str = "one-sample t",
) -> Test:
    """t-test (and Wilcoxon signed-rank) of mean(values) = 0; for per-seed differences or
    per-seed statistics such as slopes."""
    d = np.asarray(values, dtype=float)
    d = d[np.isfinite(d)]
    m, lo, hi = _t_interval(d)
    n = len(d)
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    if n > 1 and sd > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = stats.ttest_1samp(d, 0.0)
        t, p = float(r.statistic), float(r.pvalue)
    elif n > 1:  # every difference identical
        t = math.copysign(math.inf, m) if m != 0 else math.nan
        p = 0.0 if m != 0 else 1.0
    else:
        t, p = math.nan, math.nan
    w, wp = _wilcoxon(d)
    dz = m / sd if n > 1 and sd > 0 else math.nan
    return Test(
        claim, description, metric, comparison, predicted, test, m, lo, hi, n, t, p, dz, w, wp
    )


def paired_test(
    claim: str,
    description: str,
    metric: str,
    a: Sequence[float],
    b: Sequence[float],
    predicted: str,
    names: tuple[str, str] = ("A", "B"),
) -> Test:
    """Paired t-test of b - a over replicates (common random numbers), with Wilcoxon."""
    a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return one_sample_test(
        claim, description, metric, b_ - a_, predicted, f"{names[1]} - {names[0]}", "paired t"
    )


def welch_test(
    claim: str,
    description: str,
    metric: str,
    a: Sequence[float],
    b: Sequence[float],
    predicted: str,
    names: tuple[str, str] = ("A", "B"),
) -> Test:
    """Welch's unequal-variance t-test of mean(b) - mean(a) (arms not paired)."""
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    a_, b_ = a_[np.isfinite(a_)], b_[np.isfinite(b_)]
    eff = float(b_.mean() - a_.mean()) if len(a_) and len(b_) else math.nan
    lo = hi = t = p = math.nan
    if len(a_) > 1 and len(b_) > 1:
        va, vb = a_.var(ddof=1) / len(a_), b_.var(ddof=1) / len(b_)
        se = math.sqrt(va + vb)
        if se > 0:
            df = (va + vb) ** 2 / (va**2 / (len(a_) - 1) + vb**2 / (len(b_) - 1))
            half = float(stats.t.ppf(0.975, df)) * se
            lo, hi = eff - half, eff + half
            r = stats.ttest_ind(b_, a_, equal_var=False)
            t, p = float(r.statistic), float(r.pvalue)
    pooled = math.sqrt((a_.var(ddof=1) + b_.var(ddof=1)) / 2) if len(a_) > 1 and len(b_) > 1 else 0
    d = eff / pooled if pooled > 0 else math.nan
    return Test(
        claim,
        description,
        metric,
        f"{names[1]} - {names[0]}",
        predicted,
        "Welch t",
        eff,
        lo,
        hi,
        len(a_) + len(b_),
        t,
        p,
        d,
    )


def slope_test(
    claim: str, description: str, metric: str, slopes: Sequence[float], predicted: str
) -> Test:
    """:func:`one_sample_test` of per-seed OLS slopes (see :func:`per_seed_slopes`) vs 0."""
    return one_sample_test(
        claim,
        description,
        metric,
        slopes,
        predicted,
        "per-seed OLS slope vs 0",
        "one-sample t on slopes",
    )


def per_seed_slopes(df: pd.DataFrame, x: str, y: str, by: str = "replicate") -> np.ndarray:
    """OLS slope of ``y`` on ``x`` within each replicate (common random numbers), shape (R,)."""
    out = []
    for _, g in df.groupby(by, sort=True):
        g = g[np.isfinite(g[x]) & np.isfinite(g[y])]
        if len(g) >= 2 and g[x].nunique() >= 2:
            out.append(float(np.polyfit(g[x].to_numpy(float), g[y].to_numpy(float), 1)[0]))
        else:
            out.append(math.nan)
    return np.asarray(out)


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full(len(p), math.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out


def judge(tests: list[Test], alpha: float = ALPHA) -> str:
    """Holm-adjust the tests in place, set each outcome, and return the verdict."""
    adj = holm([t.p_value for t in tests])
    for t, pa in zip(tests, adj, strict=True):
        t.p_adjusted = float(pa)
        sig = math.isfinite(pa) and pa < alpha
        up = t.effect > 0
        if t.predicted == "<=0":
            t.outcome = "opposite" if sig and up else "as predicted"
        elif not sig:
            t.outcome = "no significant difference"
        elif up == (t.predicted == ">0"):
            t.outcome = "as predicted"
        else:
            t.outcome = "opposite"
    hits = sum(t.outcome == "as predicted" for t in tests)
    if tests and hits == len(tests):
        return "supported"
    if hits == 0:
        return "not supported"
    return "mixed"


# --------------------------------------------------------------------------------------------
# Arm summaries
# --------------------------------------------------------------------------------------------


def arm_rows(
    runs: pd.DataFrame, metrics: Mapping[str, str], arms: Sequence[Arm]
) -> list[dict[str, Any]]:
    """Per arm and metric: mean, 95% t-interval over replicates and n (summary.csv rows).

    ``metrics`` maps a column of ``runs`` to its description with units.
    """
    rows = []
    for a in arms:
        r = runs[runs["arm"] == a.name]
        for col, desc in metrics.items():
            m, lo, hi, n = mean_interval(r[col])
            rows.append(
                {
                    "kind": "arm",
                    "arm": a.name,
                    "label": a.label or a.name,
                    "x": a.x,
                    "metric": col,
                    "description": desc,
                    "mean": m,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": n,
                }
            )
    return rows


def arm_values(runs: pd.DataFrame, arm: str, col: str) -> np.ndarray:
    """Column ``col`` of one arm's runs in replicate order (paired across arms)."""
    return runs[runs["arm"] == arm].sort_values("replicate")[col].to_numpy(float)


def daily_matrix(daily: pd.DataFrame, arm: str, col: str) -> np.ndarray:
    """(replicates, days) matrix of a daily column for one arm."""
    d = daily[daily["arm"] == arm].pivot(index="replicate", columns="day", values=col)
    return d.sort_index().to_numpy(dtype=float)


# --------------------------------------------------------------------------------------------
# Analysis results and text
# --------------------------------------------------------------------------------------------


@dataclass
class Analysis:
    """What :func:`analyse` of a study returns (computed only from the tables)."""

    tests: list[Test]
    arm_rows: list[dict[str, Any]]
    verdict: str
    report: list[str]
    finding: str
    draw: Callable[[Path], None]

    def summary(self) -> pd.DataFrame:
        cols = [
            "kind",
            "arm",
            "label",
            "x",
            "metric",
            "description",
            "mean",
            "ci_low",
            "ci_high",
            "n",
            "claim",
            "comparison",
            "predicted",
            "effect",
            "effect_low",
            "effect_high",
            "cohen_dz",
            "test",
            "statistic",
            "p_value",
            "p_holm",
            "wilcoxon_statistic",
            "wilcoxon_p",
            "outcome",
        ]
        df = pd.DataFrame(self.arm_rows + [t.row() for t in self.tests])
        for c in cols:
            if c not in df.columns:
                df[c] = math.nan if c not in ("kind", "arm", "label", "metric") else ""
        return df[cols]


def count(n: int, noun: str) -> str:
    """``3 days``, ``1 day``: a count with its noun in the right number."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def fmt(x: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (thousands separated)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return f"{x:,.{decimals}f}"


def fmt_p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def describe_test(t: Test, unit: str = "", digits: int = 3) -> str:
    """``+1,234 yuan [95% CI 800, 1,600], paired t = 4.1, Holm p = 0.002`` style text."""
    u = f" {unit}" if unit else ""
    return (
        f"{fmt(t.effect, digits)}{u} [95% CI {fmt(t.low, digits)}, {fmt(t.high, digits)}], "
        f"{t.test} = {fmt(t.statistic, 3)}, Holm-adjusted {fmt_p(t.p_adjusted)}"
    )


def trend(t: Test, up: str, down: str, flat: str = "did not change significantly") -> str:
    """The word for what a test found: ``up``/``down`` when significant (Holm) in that
    direction, else ``flat``."""
    sig = math.isfinite(t.p_adjusted) and t.p_adjusted < ALPHA
    if not sig:
        return flat
    return up if t.effect > 0 else down


def run_sentence(plan: Plan, what: str) -> str:
    """The report's first sentence: what was run, at which size."""
    return (
        f"We ran {what}: {plan.describe()} ({plan.size} size), replicate k of every arm "
        f"sharing seed k (common random numbers), every other parameter at the scenario "
        f"defaults."
    )


def verdict_sentence(verdict: str, tests: list[Test]) -> str:
    n_ok = sum(t.outcome == "as predicted" for t in tests)
    return (
        f"Verdict: **{verdict}** ({n_ok} of {len(tests)} claims as predicted at Holm-adjusted "
        f"p < {ALPHA})."
    )


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def new_figure(n: int, ncols: int | None = None, width: float = 5.0, height: float = 3.8):
    """A figure with ``n`` panels (Agg backend); returns (fig, flat list of axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols = ncols or min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(width * ncols, height * nrows),
        constrained_layout=True,
        squeeze=False,
    )
    flat = list(axes.ravel())
    for a in flat[n:]:
        a.set_visible(False)
    return fig, flat[:n]


def band(
    ax: Any, x: np.ndarray, y: np.ndarray, label: str, color: str | None = None, **kw: Any
) -> None:
    """Mean over replicates (rows of ``y``) with its 95% t-interval as a shaded band."""
    y = np.asarray(y, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(y, axis=0)
    lo = np.full_like(mean, np.nan)
    hi = np.full_like(mean, np.nan)
    for j in range(y.shape[1]):
        _, lo[j], hi[j] = _t_interval(y[:, j])
    (line,) = ax.plot(x, mean, label=label, color=color, **kw)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)


def ci_points(
    ax: Any,
    x: Sequence[float],
    values: Sequence[np.ndarray],
    label: str = "",
    color: str | None = None,
    connect: bool = True,
    **kw: Any,
) -> None:
    """Means with 95% t-intervals as error bars at positions ``x``."""
    m, lo, hi = zip(*(_t_interval(v) for v in values), strict=True)
    m, lo, hi = np.array(m), np.array(lo), np.array(hi)
    err = np.vstack([m - lo, hi - m])
    ax.errorbar(
        x,
        m,
        yerr=np.nan_to_num(err),
        fmt="o-" if connect else "o",
        capsize=3,
        label=label,
        color=color,
        **kw,
    )


def finish(fig: Any, path: Path, title: str) -> None:
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)


# --------------------------------------------------------------------------------------------
# The whole study
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Study:
    """One study: its name, its module's docstring and its ``plan``, ``measure`` and
    ``analyse`` (see the module docstring of :mod:`experiments._common`)."""

    name: str
    doc: str
    plan: Callable[[str, int | None], Plan]
    measure: Callable[[RunResult, Arm], Measurement]
    analyse: Callable[..., Analysis]

    @property
    def question(self) -> str:
        """The docstring's first paragraph on one line."""
        return " ".join(self.doc.strip().split("\n\n")[0].split())

    def run(self, *args: Any, **kwargs: Any) -> Analysis:
        """Run the study and write its folder: :func:`run_study` of this study (same
        arguments after the name: replicates, quick, jobs, out_dir, size, progress)."""
        return run_study(self.name, *args, **kwargs)


def load_study(name: str) -> Study:
    """The study of module ``experiments.<name>`` (its ``measure`` defaults to
    :func:`focal_measurement`)."""
    module = importlib.import_module(f"experiments.{name}")
    return Study(
        name,
        module.__doc__ or "",
        module.plan,
        getattr(module, "measure", focal_measurement),
        module.analyse,
    )


def write_outputs(
    out: Path,
    plan: Plan,
    runs: pd.DataFrame,
    daily: pd.DataFrame,
    streams: pd.DataFrame | None,
    analysis: Analysis,
    wall: float,
    jobs: int,
) -> None:
    """Write the study's folder atomically."""
    with atomic_dir(out) as tmp:
        runs.to_csv(tmp / "runs.csv", index=False)
        # gzip without a timestamp: the same table gives the same bytes (a --reanalyse
        # leaves the raw outputs untouched in git).
        gz = {"method": "gzip", "mtime": 0}
        daily.to_csv(tmp / "daily.csv.gz", index=False, compression=gz)
        if streams is not None:
            streams.to_csv(tmp / "streams.csv.gz", index=False, compression=gz)
        analysis.summary().to_csv(tmp / "summary.csv", index=False, float_format="%.6g")
        analysis.draw(tmp / "figure.png")
        bases = sorted({a.base for a in plan.arms})
        base_configs = {
            b: to_dict(scale_budgets(load_scenario(b, dict(plan.sizes)), b)) for b in bases
        }
        write_json(
            manifest(
                kind="experiment",
                study=plan.study,
                question=load_study(plan.study).question,
                size=plan.size,
                replicates=plan.replicates,
                root_seed=plan.root_seed,
                seeds=list(plan.seeds),
                sizes=dict(plan.sizes),
                arms=[
                    {
                        "name": a.name,
                        "base": a.base,
                        "overrides": dict(a.overrides),
                        "x": None if math.isnan(a.x) else a.x,
                        "tags": dict(a.tags),
                        "market_seed": a.market_seed,
                    }
                    for a in plan.arms
                ],
                market_seeds=list(plan.market_seeds) if plan.market_seeds else None,
                notes=dict(plan.notes),
                config=base_configs,
                verdict=analysis.verdict,
                finding=analysis.finding,
                runs=len(runs),
                jobs=jobs,
                wall_seconds=round(wall, 1),
                run_seconds_total=round(float(runs["wall_seconds"].sum()), 1),
            ),
            tmp / "manifest.json",
        )
        text = [f"# {plan.study}", "", " ".join(analysis.report), ""]
        text.append(
            "Files: `figure.png`, `summary.csv` (per arm and per claim), `runs.csv` and "
            "`daily.csv.gz` (raw run outputs), `manifest.json` (config, seeds, versions, "
            "commit)."
        )
        (tmp / "REPORT.md").write_text("\n".join(text) + "\n")


def study_dir(name: str, size: str = "full") -> Path:
    """A study's default output folder: ``results/<name>/`` at full size (the published
    results), ``results/<size>/<name>/`` at the other sizes."""
    return RESULTS_DIR / name if size == "full" else RESULTS_DIR / size / name


def run_study(
    name: str,
    replicates: int | None = None,
    quick: bool = False,
    jobs: int = 1,
    out_dir: Path | None = None,
    size: str | None = None,
    progress: bool = False,
) -> Analysis:
    """Plan, run, analyse and write one study; returns its analysis. The output folder is
    checked before the runs (:func:`simulation.results.check_output_folder`): one holding
    anything but this study's earlier outputs is refused, not replaced."""
    study = load_study(name)
    plan = study.plan(pick_size(size, quick), replicates)
    out = Path(out_dir) if out_dir is not None else study_dir(name, plan.size)
    out = check_output_folder(out, "experiment", same={"study": name})
    start = time.perf_counter()
    runs, daily, streams = execute_plan(plan, jobs, progress)
    analysis = study.analyse(runs, daily, plan, streams)
    write_outputs(out, plan, runs, daily, streams, analysis, time.perf_counter() - start, jobs)
    return analysis


def load_outputs(
    folder: Path,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(manifest, runs, daily, streams or None) of a study's output folder."""
    import json

    folder = Path(folder)
    with open(folder / "manifest.json") as fh:
        man = json.load(fh)
    runs = pd.read_csv(folder / "runs.csv")
    daily = pd.read_csv(folder / "daily.csv.gz")
    path = folder / "streams.csv.gz"
    streams = pd.read_csv(path) if path.exists() else None
    return man, runs, daily, streams


def reanalyse(folder: Path) -> Analysis:
    """Recompute a study's analysis from the raw outputs in ``folder`` (its plan is rebuilt
    from the manifest's size and replicates and checked against the recorded seeds)."""
    man, runs, daily, streams = load_outputs(folder)
    study = load_study(man["study"])
    plan = study.plan(man["size"], man["replicates"])
    if list(plan.seeds) != man["seeds"]:
        raise ValueError(f"{folder}: seeds in the manifest differ from the study's plan")
    return study.analyse(runs, daily, plan, streams)


def refresh_outputs(folder: Path) -> Analysis:
    """Recompute a study's summary, figure and report from the raw outputs in ``folder`` and
    rewrite the folder (the raw tables and the run metadata are kept)."""
    import json

    folder = Path(folder)
    man, runs, daily, streams = load_outputs(folder)
    check_output_folder(folder, "experiment", same={"study": man.get("study")})
    plan = load_study(man["study"]).plan(man["size"], man["replicates"])
    analysis = reanalyse(folder)
    write_outputs(folder, plan, runs, daily, streams, analysis, man["wall_seconds"], man["jobs"])
    with open(folder / "manifest.json") as fh:
        new = json.load(fh)
    new["run_seconds_total"] = man.get("run_seconds_total", man.get("cpu_seconds_of_runs"))
    new["refreshed_from_raw_outputs"] = True
    new["runs_commit"] = man.get("runs_commit", man.get("commit"))
    write_json(new, folder / "manifest.json")
    return analysis


GALLERY_START = "<!-- gallery:start (written by snowball experiment --all) -->"
GALLERY_END = "<!-- gallery:end -->"


def gallery_lines(results_dir: Path, prefix: str, names: Iterable[str] | None = None) -> list[str]:
    """Markdown for each study in ``results_dir`` that has a manifest: heading with the
    verdict, the figure (linked as ``prefix + name/figure.png``), the one-sentence finding."""
    import json

    from experiments import STUDY_NAMES

    lines = [
        "Each figure is regenerated by `snowball experiment --all` (one study: "
        "`snowball experiment NAME`); the folder holds the report, the tables and the "
        "manifest. Means over seeds with 95% intervals.",
        "",
    ]
    for name in names or STUDY_NAMES:
        man_path = Path(results_dir) / name / "manifest.json"
        if not man_path.exists():
            continue
        with open(man_path) as fh:
            man = json.load(fh)
        lines += [
            f"### {name} — {man['verdict']}",
            "",
            f"![{name}]({prefix}{name}/figure.png)",
            "",
            f"{man['finding']} ([report]({prefix}{name}/REPORT.md); {man['size']} size, "
            f"{man['replicates']} seeds per arm.)",
            "",
        ]
    return lines


def write_gallery(
    results_dir: Path = RESULTS_DIR,
    names: Iterable[str] | None = None,
    readme: Path | None = None,
) -> Path:
    """``results_dir/GALLERY.md``: each study's figure with its one-sentence finding (from the
    manifests in ``results_dir``). With ``readme``, the same gallery also replaces the block
    between :data:`GALLERY_START` and :data:`GALLERY_END` in that file (links relative to
    the readme's folder), so the README never shows findings other than the results'."""
    results_dir = Path(results_dir)
    head = ["## Gallery: the source's claims as studies", ""]
    path = results_dir / "GALLERY.md"
    path.write_text("\n".join(head + gallery_lines(results_dir, "", names)))
    if readme is not None and Path(readme).exists():
        text = Path(readme).read_text()
        if GALLERY_START in text and GALLERY_END in text:
            rel = os.path.relpath(results_dir.resolve(), Path(readme).resolve().parent)
            body = gallery_lines(results_dir, f"{Path(rel).as_posix()}/", names)
            before, rest = text.split(GALLERY_START, 1)
            after = rest.split(GALLERY_END, 1)[1]
            tmp = Path(readme).with_suffix(".md.tmp")
            tmp.write_text(before + GALLERY_START + "\n\n" + "\n".join(body) + GALLERY_END + after)
            os.replace(tmp, readme)
    return path
