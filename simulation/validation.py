"""Validation: the simulator reproduces closed-form results in its special cases.

Each case runs the real model — the same viewer population, behaviour, estimators,
accounting and auction code — configured by scenario files in ``experiments/validation/``
into a special case whose answer is known, and compares what it measures with the closed
form from :mod:`simulation.theory`. docs/VALIDATION.md explains every case.

=============  =====================================================================
case           configuration (policy and the settings that make it special)
=============  =====================================================================
polya          ``urn``: identical streams, weight = a + past orders (α = a/Δ = 1, 2, 5)
gamma_urn      ``urn`` with ``exponent`` γ < 1, = 1, > 1
fitness_urn    ``urn`` on entries; streams differ only in their hook (entry probability)
cascade        ``cascade``: each entry earns Poisson(R) impressions next tick, R > 1, R < 1
bass           ``search_funnel``: needs at rate p plus word of mouth q, one purchase each
auction        ``private_values``: iid U(0, v) values per slot; budgets slack, then binding
returns        ``economics.returns``: rooms of fixed quality, one presented quality
               (:mod:`simulation.validation_returns`)
platform_lim.  ``mixed`` at ``search_share`` 0 and 1 against ``interest_feed`` and
               ``search_funnel`` (:mod:`simulation.validation_limits`)
interest_drift ``urn`` with interest-blind slots: a constant exposure schedule moves
               interests (closed form in :mod:`simulation.validation_drift`)
audience_      rooms served fixed audiences of very different interest, no allocation
uplift         feedback; uplift and per-room rates against their closed forms
=============  =====================================================================

Statistics. Every check is a test at a stated level: t-intervals (:func:`theory.mean_ci`)
over independent worlds, blocks of worlds or runs; Wilson intervals
(:func:`theory.proportion_ci`) for proportions; normal intervals for a delta-method
estimate (the fitness urn's slopes); for distributions, Hotelling's T² on binned
randomised probability integral transforms (the urn's shares), chi-square (total reach) and
Kolmogorov–Smirnov (clearing prices). The family-wise error over all checks of one
validation run is held at ``FAMILY_ALPHA`` by Bonferroni: each check uses level
``FAMILY_ALPHA / m`` and its interval is the simultaneous ``1 - FAMILY_ALPHA / m`` interval.
A check whose theory is an equality passes when the theory lies in the interval (or the
test's p-value is at least the level); a check whose theory is a direction (the γ-urn's
limits, the fitness urn's take-over) passes only when the whole interval lies on the
predicted side.

Randomness: one root seed; :class:`numpy.random.SeedSequence` spawns one child per case (in
registry order, so a case's numbers do not depend on which other cases run), one per
scenario, and one per run plus one for the analysis (random subsets, randomised PITs).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulation import theory, validation_drift
from simulation import validation_limits as limits
from simulation import validation_returns as returns_case
from simulation import validation_run_of_show as show_case
from simulation.config import ConfigError, Scenario, load_scenario, to_dict
from simulation.model import SnowballModel
from simulation.paths import package_data

VALIDATION_DIR = package_data("validation")  # experiments/validation/, shipped in the wheel
FAMILY_ALPHA = 0.05
"""Family-wise error rate of one validation run (Bonferroni over its checks)."""
DEFAULT_SEED = 20240601
WORLDS_PER_BLOCK = 8
"""Worlds per unpredictability estimate (Salganik, Dodds & Watts ran 8 worlds)."""
RELATION_OF_LIMIT = {"equal": "<", "dirichlet": "=", "monopoly": ">"}
PIT_BINS = 10
"""Equiprobable bins of the share goodness-of-fit test."""


# --------------------------------------------------------------------------------------------
# Measurements and their evaluation
# --------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """One simulated quantity and the theory it is tested against.

    ``kind`` is ``"mean"`` (``samples``: independent replicates, t-interval), ``"proportion"``
    (``successes`` of ``trials``, Wilson interval), ``"normal"`` (an ``estimate`` with its
    ``standard_error``, normal interval) or ``"gof"`` (a goodness-of-fit test already
    computed: ``statistic``, ``p_value``, ``n``) or ``"equivalence"`` (``samples`` of a
    difference that theory says is ``theory``; two one-sided t-tests (TOST) that it lies
    within ``theory`` ± ``margin``). ``relation`` says what the theory predicts: ``"="`` the
    value ``theory``, ``"<"`` or ``">"`` a value below or above it, ``"≈"`` equivalence.
    ``limit`` is the closed form as text, shown beside the value tested (the long-run value
    when the test uses an exact finite-size one).
    """

    case: str
    variant: str
    quantity: str
    theory: float
    kind: str = "mean"
    relation: str = "="
    samples: np.ndarray | None = None
    successes: int = 0
    trials: int = 0
    statistic: float = math.nan
    p_value: float = math.nan
    estimate: float = math.nan
    standard_error: float = math.nan
    n: int = 0
    test: str = ""
    limit: str = ""
    """The closed form as text: the long-run value, or the formula behind ``theory``."""
    law: str = ""
    """For a goodness-of-fit check: the distribution tested against, as text."""
    note: str = ""
    margin: float = math.nan
    """For an equivalence check: the half-width of the equivalence region around ``theory``."""


def evaluate(measurements: list[Measurement], family_alpha: float = FAMILY_ALPHA) -> pd.DataFrame:
    """Turn measurements into the validation table, one row per check.

    Bonferroni: with m checks, each uses level ``family_alpha / m``; ``ci_low``/``ci_high``
    are simultaneous intervals (jointly covering all true values with probability at least
    ``1 - family_alpha``). See the module docstring for the verdict rule.
    """
    m = max(len(measurements), 1)
    level = family_alpha / m
    rows = []
    for x in measurements:
        low = high = math.nan
        if x.kind == "mean":
            a = np.asarray(x.samples, dtype=float)
            ci = theory.mean_ci(a, 1 - level)
            simulated, low, high, n = ci.estimate, ci.low, ci.high, ci.n
            alternative = {"=": "two-sided", "<": "less", ">": "greater"}[x.relation]
            p = _t_pvalue(a, x.theory, alternative)
            test = x.test or "t"
        elif x.kind == "proportion":
            ci = theory.proportion_ci(x.successes, x.trials, 1 - level)
            simulated, low, high, n = ci.estimate, ci.low, ci.high, ci.n
            p = float(stats.binomtest(x.successes, x.trials, x.theory).pvalue)
            test = x.test or "Wilson"
        elif x.kind == "normal":
            z = float(stats.norm.ppf(1 - level / 2))
            simulated, n = x.estimate, x.n
            low, high = simulated - z * x.standard_error, simulated + z * x.standard_error
            zs = (simulated - x.theory) / x.standard_error
            p = {"=": 2 * stats.norm.sf(abs(zs)), "<": stats.norm.cdf(zs), ">": stats.norm.sf(zs)}[
                x.relation
            ]
            test = x.test or "normal"
        elif x.kind == "equivalence":
            # TOST at the check's level: both one-sided tests reject, i.e. the 1 - 2 x level
            # interval lies inside theory ± margin; p is the larger one-sided p-value.
            a = np.asarray(x.samples, dtype=float)
            ci = theory.mean_ci(a, 1 - 2 * level)
            simulated, low, high, n = ci.estimate, ci.low, ci.high, ci.n
            p = max(
                _t_pvalue(a, x.theory - x.margin, "greater"),
                _t_pvalue(a, x.theory + x.margin, "less"),
            )
            test = x.test or "TOST"
        elif x.kind == "gof":
            simulated, n, p, test = x.statistic, x.n, x.p_value, x.test
        else:  # pragma: no cover - programming error
            raise ValueError(f"unknown measurement kind {x.kind!r}")
        if x.kind == "gof":
            ok = p >= level
        elif x.kind == "equivalence":
            ok = x.theory - x.margin < low and high < x.theory + x.margin
        elif x.relation == "=":
            ok = low <= x.theory <= high
        elif x.relation == "<":
            ok = high < x.theory
        else:
            ok = low > x.theory
        rows.append(
            {
                "case": x.case,
                "variant": x.variant,
                "quantity": x.quantity,
                "relation": x.relation,
                "theory": x.theory,
                "simulated": simulated,
                "ci_low": low,
                "ci_high": high,
                "n": int(n),
                "test": test,
                "p_value": p,
                "level": level,
                "verdict": "pass" if ok else "fail",
                "limit": x.limit,
                "law": x.law,
                "note": x.note,
            }
        )
    return pd.DataFrame(rows)


def _t_pvalue(a: np.ndarray, mu: float, alternative: str) -> float:
    """t-test p-value of mean(a) against mu; degenerate (constant) samples give 0 or 1."""
    if a.std() == 0:
        diff = float(a.mean()) - mu
        holds = {"two-sided": diff == 0, "less": diff >= 0, "greater": diff <= 0}[alternative]
        return 1.0 if holds else 0.0
    return float(stats.ttest_1samp(a, mu, alternative=alternative).pvalue)


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@dataclass
class CaseOutput:
    """What a case produced: its checks, data for its figure, and the seeds it used."""

    measurements: list[Measurement] = field(default_factory=list)
    figure: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """A special case: its scenario files, how to run them at each size, and its figure."""

    name: str
    title: str
    scenarios: tuple[str, ...]
    run: Callable[[list[Scenario], dict[str, Any], np.random.SeedSequence], CaseOutput]
    sizes: dict[str, dict[str, Any]]

    def scenario_paths(self) -> list[Path]:
        return [VALIDATION_DIR / f for f in self.scenarios]


def _runs(size: dict[str, Any], sc: Scenario) -> int:
    runs = size["runs"]
    return int(runs[sc.name] if isinstance(runs, dict) else runs)


def _spawn(ss: np.random.SeedSequence, runs: int) -> tuple[list[int], np.random.Generator]:
    """Model seeds for ``runs`` runs and a generator for the analysis, all from ``ss``."""
    children = ss.spawn(runs + 1)
    seeds = [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children[:runs]]
    return seeds, np.random.default_rng(children[runs])


def _require(sc: Scenario, ok: bool, key: str, value: Any, allowed: str) -> None:
    """A scenario outside the special case is a configuration error naming the key."""
    if not ok:
        raise ConfigError(sc.name, key, value, allowed)


def _require_no_ads(sc: Scenario) -> None:
    for name, g in sc.streams.items():
        _require(
            sc,
            g.campaign is None or g.campaign.strategy == "none",
            f"streams.{name}.campaign",
            g.campaign.strategy if g.campaign else None,
            "this case has no ads; remove the campaign",
        )


def _require_no_fans(sc: Scenario) -> None:
    """Follows would give a stream's returning viewers an affinity: streams would differ."""
    b = sc.behaviour
    for key in ("follow_per_minute", "follow_after_buy", "store_follow_after_buy"):
        _require(sc, getattr(b, key) == 0, f"behaviour.{key}", getattr(b, key), "must be 0 here")
    for name, g in sc.streams.items():
        _require(
            sc,
            g.initial_followers == 0,
            f"streams.{name}.initial_followers",
            g.initial_followers,
            "must be 0 here",
        )


def _require_one_category(sc: Scenario, why: str) -> None:
    k = sc.population.categories
    _require(sc, k == 1, "population.categories", k, f"must be 1 ({why})")


def entry_probability(sc: Scenario, hook: float, mix: tuple[float, ...]) -> float:
    """Probability that an impression becomes an entry, for a viewer of relative interest 1,
    no affinity and no boost: ``sum_r mix_r * sigmoid(logit(hook) + role_entry_lift_r)``
    (:mod:`simulation.behaviour`; the hook is clipped to [1e-6, 1 - 1e-6] as there)."""
    h = min(max(hook, 1e-6), 1 - 1e-6)
    logit = math.log(h / (1 - h))
    lifts = sc.behaviour.role_entry_lift
    return float(sum(w / (1 + math.exp(-(logit + d))) for w, d in zip(mix, lifts, strict=True)))


def _fixed(sc: Scenario, name: str, key: str) -> float:
    lo, hi = getattr(sc.streams[name], key)
    _require(sc, lo == hi, f"streams.{name}.{key}", [lo, hi], "must be one number in this case")
    return lo


# --------------------------------------------------------------------------------------------
# Urn cases: Pólya, γ-urn, fitness
# --------------------------------------------------------------------------------------------


def _check_urn(sc: Scenario, identical: bool) -> None:
    _require(sc, sc.policy == "urn", "policy", sc.policy, "must be 'urn' in this case")
    _require_no_ads(sc)
    _require_no_fans(sc)
    _require_one_category(sc, "every viewer's relative interest is then 1")
    if identical:
        groups = [n for n, g in sc.streams.items() if g.count > 0]
        _require(sc, len(groups) == 1, "streams", groups, "needs one group of identical streams")
        for key in ("hook", "retention", "persuasion", "price", "quality"):
            _fixed(sc, groups[0], key)


def world_members(model: SnowballModel) -> np.ndarray:
    """Streams of each world of the urn policy, (W, K) int64 (index order within a world)."""
    world = model.policy.world
    w = model.config.urn.worlds
    counts = np.bincount(world, minlength=w)
    _require(
        model.config,
        counts.min() == counts.max() and counts.min() >= 2,
        "urn.worlds",
        w,
        f"every world needs the same number (>= 2) of streams; got {sorted(set(counts))} "
        "(make each group's count a multiple of urn.worlds)",
    )
    return np.stack([np.flatnonzero(world == i) for i in range(w)])


def urn_snapshots(
    sc: Scenario, seed: int, checkpoints: list[int], rng: np.random.Generator
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Run the urn until every world has counted each checkpoint's number of events.

    Returns each world's event counts at exactly each checkpoint ((W, K) int64 per
    checkpoint) and the world members. A tick in which a world passes a checkpoint is cut
    at it by a uniformly random subset of that tick's events (multivariate hypergeometric):
    the slots of a tick are exchangeable, so this is the urn stopped after exactly that
    many events.
    """
    model = SnowballModel(sc, seed)
    pol = model.policy
    members = world_members(model)
    prev = np.rint(pol.events[members]).astype(np.int64)
    prev_total = prev.sum(axis=1)
    todo = sorted(set(checkpoints))
    out = {c: np.zeros_like(prev) for c in todo}
    filled = {c: np.zeros(len(members), dtype=bool) for c in todo}
    for _ in range(sc.n_ticks):
        model.step()
        cur = np.rint(pol.events[members]).astype(np.int64)
        total = cur.sum(axis=1)
        for c in todo:
            cross = ~filled[c] & (total >= c)
            for w in np.flatnonzero(cross):
                take = c - prev_total[w]
                out[c][w] = prev[w] + rng.multivariate_hypergeometric(cur[w] - prev[w], take)
            filled[c] |= cross
        prev, prev_total = cur, total
        if all(f.all() for f in filled.values()):
            return out, members
    raise ConfigError(
        sc.name,
        "days",
        sc.days,
        f"too short: some worlds counted fewer than {todo[-1]} {sc.urn.increment_on}; "
        "raise days or the session rate",
    )


def _alpha(sc: Scenario) -> float:
    return theory.polya_concentration(sc.urn.prior, sc.urn.increment)


def share_fit_test(
    counts: np.ndarray, alpha: float, n_draws: int, rng: np.random.Generator, bins: int = PIT_BINS
) -> tuple[float, float]:
    """Goodness of fit of every stream's count to the Pólya urn after ``n_draws`` draws.

    Each count's randomised probability integral transform ``F(n - 1) + V (F(n) - F(n - 1))``
    (V uniform, F the BetaBinomial(N, α, (K−1)α) cdf) is exactly U(0, 1) under the urn, so
    each world's K streams fall into ``bins`` equiprobable bins K / bins times each on
    average. The streams of one world are dependent (their counts sum to N), the worlds are
    independent: Hotelling's T² on the worlds' bin-count vectors (``bins - 1`` of them) tests
    that mean, with the covariance estimated from the worlds, F(bins − 1, W − bins + 1)
    (Hotelling 1931). Type-I error checked by simulation of exact Dirichlet-multinomial worlds
    (W = 64: 0.0015 to 0.0025 at level 0.002).

    Parameters
    ----------
    counts
        (W, K) counts of the W worlds after exactly ``n_draws`` draws; W > ``bins``.
    alpha, n_draws
        The urn's α and N.
    rng
        Generator for the randomisation.

    Returns
    -------
    (F statistic, p-value)
    """
    worlds, k = counts.shape
    pmf = theory.polya_count_distribution(alpha, k, n_draws).pmf(np.arange(n_draws + 1))
    cdf = np.minimum(np.concatenate(([0.0], np.cumsum(pmf))), 1.0)
    u = cdf[counts] + rng.random(counts.shape) * (cdf[counts + 1] - cdf[counts])
    b = np.minimum((u * bins).astype(np.int64), bins - 1)
    x = np.stack([(b == j).sum(axis=1) for j in range(bins - 1)], axis=1).astype(float)
    d = x.mean(axis=0) - k / bins
    dims = bins - 1
    t2 = worlds * d @ np.linalg.solve(np.cov(x, rowvar=False), d)
    f = (worlds - dims) / (dims * (worlds - 1)) * t2
    return float(f), float(stats.f.sf(f, dims, worlds - dims))


def _polya(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    out = CaseOutput()
    n_draws = int(size["conversions"])
    variants = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        _check_urn(sc, identical=True)
        _require(sc, sc.urn.exponent == 1, "urn.exponent", sc.urn.exponent, "must be 1 (Pólya)")
        seeds, rng = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        counts = []
        for seed in seeds:
            snaps, _ = urn_snapshots(sc, seed, [n_draws], rng)
            counts.append(snaps[n_draws])
        n = np.concatenate(counts)
        worlds, k = n.shape
        alpha = _alpha(sc)
        comp = (alpha + n) / (k * alpha + n_draws)
        label = f"α = {alpha:g}"
        what = f"{sc.urn.increment_on}"
        gini = theory.gini(comp)
        out.measurements.append(
            Measurement(
                "polya",
                label,
                f"E[Gini] of the {k} shares after N = {n_draws} {what}",
                theory.polya_expected_gini(alpha, k, n_draws),
                samples=gini,
                limit=f"N → ∞: {theory.dirichlet_expected_gini(alpha, k):.3f}",
                note=f"{worlds} worlds; limit = Dirichlet E[G] as N → ∞",
            )
        )
        d_obs, p_value = share_fit_test(n, alpha, n_draws, rng)
        out.measurements.append(
            Measurement(
                "polya",
                label,
                f"every stream's share ~ Beta({alpha:g}, {(k - 1) * alpha:g}) "
                f"(after N: count ~ BetaBinomial(N, {alpha:g}, {(k - 1) * alpha:g}))",
                math.nan,
                kind="gof",
                relation="~",
                statistic=d_obs,
                p_value=p_value,
                n=worlds,
                test=f"Hotelling T² ({PIT_BINS} PIT bins)",
                limit=f"N → ∞: share ~ Beta({alpha:g}, {(k - 1) * alpha:g})",
                law=f"BetaBinomial({n_draws}, {alpha:g}, {(k - 1) * alpha:g})",
                note=f"simulated = F statistic of Hotelling's T² over {worlds} worlds x {k} "
                "streams",
            )
        )
        blocks = worlds // WORLDS_PER_BLOCK
        _require(
            sc,
            blocks >= 2,
            "urn.worlds",
            sc.urn.worlds,
            f"needs at least {2 * WORLDS_PER_BLOCK} worlds over all runs",
        )
        u = [
            theory.unpredictability(comp[b * WORLDS_PER_BLOCK : (b + 1) * WORLDS_PER_BLOCK])
            for b in range(blocks)
        ]
        out.measurements.append(
            Measurement(
                "polya",
                label,
                f"unpredictability U across worlds after N = {n_draws} {what}",
                theory.polya_unpredictability(alpha, k, n_draws),
                samples=np.asarray(u),
                limit=f"N → ∞: {theory.dirichlet_unpredictability(alpha, k):.4f}",
                note=f"{blocks} blocks of {WORLDS_PER_BLOCK} worlds",
            )
        )
        variants.append({"label": label, "alpha": alpha, "k": k, "n": n_draws, "shares": comp})
    out.figure = {"variants": variants}
    return out


def _gamma_urn(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    out = CaseOutput()
    n_draws = int(size["conversions"])
    half = n_draws // 2
    checkpoints = sorted({max(n_draws >> j, 1) for j in range(6)} | {half})
    variants = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        _check_urn(sc, identical=True)
        gamma = sc.urn.exponent
        _require(sc, gamma > 0, "urn.exponent", gamma, "must be > 0 for the γ-urn")
        seeds, rng = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        snaps: dict[int, list[np.ndarray]] = {c: [] for c in checkpoints}
        for seed in seeds:
            s, _ = urn_snapshots(sc, seed, checkpoints, rng)
            for c in checkpoints:
                snaps[c].append(s[c])
        counts = {c: np.concatenate(v) for c, v in snaps.items()}
        worlds, k = counts[n_draws].shape
        alpha = _alpha(sc)
        limit = theory.gamma_urn_limit(gamma)
        relation = RELATION_OF_LIMIT[limit]
        label = f"γ = {gamma:g}"
        z_half = (alpha + counts[half]) / (k * alpha + half)
        lead = z_half.argmax(axis=1)
        rows = np.arange(worlds)
        late = (counts[n_draws] - counts[half])[rows, lead] / (n_draws - half)
        drift = late - z_half[rows, lead]
        out.measurements.append(
            Measurement(
                "gamma_urn",
                label,
                f"drift of the leader at N/2: its share of the {sc.urn.increment_on} "
                f"N/2..N minus its share at N/2 (N = {n_draws})",
                0.0,
                relation=relation,
                samples=drift,
                limit={
                    "equal": "N → ∞: equal shares",
                    "dirichlet": "N → ∞: Dirichlet",
                    "monopoly": "N → ∞: monopoly",
                }[limit],
                note=f"{worlds} worlds; 0 is the martingale (Pólya) value",
            )
        )
        comp = {c: (alpha + counts[c]) / (k * alpha + c) for c in checkpoints}
        out.measurements.append(
            Measurement(
                "gamma_urn",
                label,
                f"E[Gini] of the {k} shares after N = {n_draws}, against the Pólya urn "
                f"with α = {alpha:g}",
                theory.polya_expected_gini(alpha, k, n_draws),
                relation=relation,
                samples=theory.gini(comp[n_draws]),
                limit={
                    "equal": "N → ∞: 0",
                    "dirichlet": "N → ∞: Dirichlet",
                    "monopoly": f"N → ∞: {(k - 1) / k:.3f}",
                }[limit],
                note=f"{worlds} worlds",
            )
        )
        variants.append(
            {
                "label": label,
                "gamma": gamma,
                "checkpoints": checkpoints,
                "gini": [theory.gini(comp[c]) for c in checkpoints],
                "top": [comp[c].max(axis=1) for c in checkpoints],
                "alpha": alpha,
                "k": k,
            }
        )
    polya = variants[0] if variants else None
    if polya is not None:
        polya_curve = [
            theory.polya_expected_gini(polya["alpha"], polya["k"], c) for c in checkpoints
        ]
        out.figure = {"variants": variants, "polya_gini": polya_curve, "checkpoints": checkpoints}
    return out


def fitness_of_streams(sc: Scenario, model: SnowballModel) -> np.ndarray:
    """Entry probability f of every stream (its fitness in the entries urn), (S,)."""
    t = model.table
    f = np.empty(t.n)
    for gi, name in enumerate(t.group_names):
        g = sc.streams[name]
        f[t.group == gi] = entry_probability(sc, _fixed(sc, name, "hook"), g.mix)
    return f


def fitness_growth(a: float, rho: float, level: float) -> float:
    """Exact mean urn weight of a stream of relative fitness ``rho`` = f_j / f_max at the
    moment the fittest stream's weight first reaches ``level`` (both start at ``a``, weights
    in units of the increment; sequential urn).

    In the continuous-time embedding (Athreya & Karlin 1968) the streams are independent
    Yule processes with rates f_j; the fittest reaches ``level`` at
    ``f_max T = sum_{k=a}^{level-1} E_k / k`` (E_k iid Exp(1)), and the other stream's mean
    at time T is ``a exp(f_j T)``, so

        E[n_j] = a prod_k k / (k - rho) = a Γ(level) Γ(a - rho) / (Γ(a) Γ(level - rho)),

    which grows as level^rho: the log-log slope f_j / f_max of :func:`theory.fitness_urn_exponents`.
    """
    from scipy.special import gammaln

    return float(a * np.exp(gammaln(level) + gammaln(a - rho) - gammaln(a) - gammaln(level - rho)))


def fitness_snapshots(
    sc: Scenario, seed: int, levels: list[int], rng: np.random.Generator
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Run the fitness urn until the fittest stream of every world has weight ``levels[-1]``.

    Returns each world's weights (in units of the increment, prior included) at the moment
    its fittest stream first reaches each level ((W, K) per level) and the streams' fitness
    (W, K). The tick in which a level is crossed is cut at the fittest stream's crossing
    entry, the tick's entries taken in a uniformly random order (the slots of a tick are
    exchangeable).
    """
    model = SnowballModel(sc, seed)
    pol = model.policy
    members = world_members(model)
    f = fitness_of_streams(sc, model)[members]
    rows = np.arange(len(members))
    best = f.argmax(axis=1)
    unit = sc.urn.increment
    prev = pol.weights()[members] / unit
    out = {c: np.zeros(members.shape) for c in levels}
    filled = {c: np.zeros(len(members), dtype=bool) for c in levels}
    for _ in range(sc.n_ticks):
        model.step()
        cur = pol.weights()[members] / unit
        for c in levels:
            cross = ~filled[c] & (cur[rows, best] >= c - 1e-9)
            for w in np.flatnonzero(cross):
                events = np.repeat(
                    np.arange(members.shape[1]), np.rint(cur[w] - prev[w]).astype(int)
                )
                rng.shuffle(events)
                need = int(np.rint(c - prev[w, best[w]]))
                cut = np.flatnonzero(events == best[w])[need - 1]
                out[c][w] = prev[w] + np.bincount(events[: cut + 1], minlength=members.shape[1])
            filled[c] |= cross
        prev = cur
        if filled[levels[-1]].all():
            return out, f
    raise ConfigError(
        sc.name, "days", sc.days, f"too short for the fittest streams to reach weight {levels[-1]}"
    )


def _fitness_urn(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    out = CaseOutput()
    top = int(size["best_weight"])
    levels = [top // 64, top // 16, top // 4, top]
    variants = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        _check_urn(sc, identical=False)
        _require(sc, sc.urn.exponent == 1, "urn.exponent", sc.urn.exponent, "must be 1 here")
        _require(
            sc,
            sc.urn.increment_on == "entries",
            "urn.increment_on",
            sc.urn.increment_on,
            "must be 'entries' (a selection converts with the stream's entry probability)",
        )
        a = sc.urn.prior / sc.urn.increment
        _require(
            sc, levels[0] > a, "urn.prior", sc.urn.prior, f"must be below {levels[0]} increments"
        )
        seeds, rng = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        weights: dict[int, list[np.ndarray]] = {c: [] for c in levels}
        f_rows = []
        for seed in seeds:
            snaps, f = fitness_snapshots(sc, seed, levels, rng)
            f_rows.append(f)
            for c in levels:
                weights[c].append(snaps[c])
        f = np.concatenate(f_rows)
        _require(
            sc,
            bool((np.sort(f, axis=1) == np.sort(f[0])).all())
            and int((f[0] == f[0].max()).sum()) == 1,
            "streams",
            "(groups)",
            "every world needs the same set of fitnesses with one fittest stream",
        )
        w = {c: np.concatenate(v) for c, v in weights.items()}
        worlds = len(f)
        rows = np.arange(worlds)
        best = f.argmax(axis=1)
        f_max = float(f[0].max())
        b1, b2 = levels[-2], levels[-1]
        span = math.log(b2 / b1)
        label = "f = " + ", ".join(f"{x:.3g}" for x in np.sort(f[0]))
        fits = np.sort(np.unique(f[0]))
        means = []
        for fit in fits:
            col = np.argmax(f == fit, axis=1)
            means.append([w[c][rows, col].mean() for c in levels])
            if fit == f_max:
                continue
            rho = fit / f_max
            x, y = w[b1][rows, col], w[b2][rows, col]
            m1, m2 = x.mean(), y.mean()
            cov = np.cov(x, y)
            var = (cov[1, 1] / m2**2 + cov[0, 0] / m1**2 - 2 * cov[0, 1] / (m1 * m2)) / worlds
            exact = math.log(fitness_growth(a, rho, b2) / fitness_growth(a, rho, b1)) / span
            out.measurements.append(
                Measurement(
                    "fitness_urn",
                    label,
                    f"log-log slope of E[n_j] for f_j = {fit:.3g} against the fittest "
                    f"stream's n (∝ N), n = {b1}..{b2}",
                    exact,
                    kind="normal",
                    estimate=math.log(m2 / m1) / span,
                    standard_error=math.sqrt(var) / span,
                    n=worlds,
                    test="delta method",
                    limit=f"f_j / f_max = {rho:.3f}",
                    note=f"{worlds} worlds; exact value for n = {b1}..{b2}: the Yule embedding",
                )
            )
        share = {c: w[c][rows, best] / w[c].sum(axis=1) for c in levels}
        out.measurements.append(
            Measurement(
                "fitness_urn",
                label,
                f"rise of the fittest stream's share while its n grows from {b1} to {b2}",
                0.0,
                relation=">",
                samples=share[b2] - share[b1],
                limit="N → ∞: share → 1",
                note=f"{worlds} worlds; share at n = {b2}: {share[b2].mean():.3f}",
            )
        )
        variants.append(
            {
                "label": label,
                "a": a,
                "fits": fits,
                "levels": levels,
                "weights": [
                    [w[c][rows, np.argmax(f == fit, axis=1)] for c in levels] for fit in fits
                ],
                "best_share": [share[c] for c in levels],
            }
        )
    out.figure = {"variants": variants}
    return out


# --------------------------------------------------------------------------------------------
# Cold start as a branching process
# --------------------------------------------------------------------------------------------


def _cascade(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    out = CaseOutput()
    variants = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        _require(sc, sc.policy == "cascade", "policy", sc.policy, "must be 'cascade' here")
        _require_no_ads(sc)
        _require_no_fans(sc)
        _require_one_category(sc, "every viewer then enters with the same probability")
        hs = {
            entry_probability(sc, _fixed(sc, name, "hook"), g.mix)
            for name, g in sc.streams.items()
            if g.count
        }
        _require(sc, len(hs) == 1, "streams", "(hooks)", "every stream needs the same hook")
        h = hs.pop()
        c = sc.cascade
        r = h * c.reward_per_entry
        n0 = c.seed_impressions
        _require(sc, n0 >= 1, "cascade.seed_impressions", n0, "must be >= 1")
        _require(
            sc,
            abs(r - 1) > 1e-9,
            "cascade.reward_per_entry",
            c.reward_per_entry,
            "R = 1 is critical: no finite answer to test",
        )
        if r > 1:
            _require(
                sc,
                h > 1 - 1e-4,
                "streams.<group>.hook",
                h,
                "extinction against q = exp(-R(1-q)) needs Poisson offspring: every "
                "impression must enter (hook = 1)",
            )
            q = theory.extinction_probability(r, 1)
            _require(
                sc,
                q**c.graduate_at < 1e-6,
                "cascade.graduate_at",
                c.graduate_at,
                f"too low: a cascade that takes off still dies with probability "
                f"q^{c.graduate_at} = {q**c.graduate_at:.1e}",
            )
        seeds, _ = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        extinct, graduated, reach = [], [], []
        for seed in seeds:
            model = SnowballModel(sc, seed)
            pol = model.policy
            for _ in range(sc.n_ticks):
                model.step()
                if (pol.started & (pol.graduated | pol.extinct)).all():
                    break
            else:
                raise ConfigError(sc.name, "days", sc.days, "too short for every cascade to end")
            _require(
                sc,
                pol.unserved == 0,
                "population.viewers",
                sc.population.viewers,
                f"the slots could not hold the cascades ({pol.unserved} impressions short); "
                "raise viewers, sessions_per_day or slots_per_session",
            )
            extinct.append(pol.extinct.copy())
            graduated.append(pol.graduated.copy())
            reach.append(pol.reach.copy())
        extinct_a, grad_a, reach_a = map(np.concatenate, (extinct, graduated, reach))
        n = len(extinct_a)
        label = f"R = {r:.3g}, n0 = {n0}"
        if r > 1:
            out.measurements.append(
                Measurement(
                    "cascade",
                    label,
                    "share of new streams whose cascade dies out",
                    q**n0,
                    kind="proportion",
                    successes=int(extinct_a.sum()),
                    trials=n,
                    limit=f"q^n0, q = {q:.4f} solves q = exp(−R(1−q))",
                    note=f"{n} streams; the rest took off (reached {c.graduate_at} a tick)",
                )
            )
        else:
            _require(
                sc,
                not grad_a.any(),
                "cascade.graduate_at",
                c.graduate_at,
                "too low: a subcritical cascade reached it, which truncates its reach",
            )
            out.measurements.append(
                Measurement(
                    "cascade",
                    label,
                    "mean total reach (impressions until the cascade dies)",
                    theory.mean_total_reach(n0, r),
                    samples=reach_a.astype(float),
                    limit="n0 / (1 − R)",
                    note=f"{n} streams",
                )
            )
            if h > 1 - 1e-4:
                stat, p, bins = _borel_tanner_chi2(reach_a, n0, r)
                out.measurements.append(
                    Measurement(
                        "cascade",
                        label,
                        f"distribution of total reach ~ Borel–Tanner(n0 = {n0}, R = {r:.3g})",
                        math.nan,
                        kind="gof",
                        relation="~",
                        statistic=stat,
                        p_value=p,
                        n=n,
                        test=f"chi-square ({bins} bins)",
                        law=f"Borel–Tanner({n0}, {r:.3g})",
                        note="simulated = chi-square statistic",
                    )
                )
        variants.append({"label": label, "r": r, "n0": n0, "extinct": extinct_a, "reach": reach_a})
    out.figure = {"variants": variants}
    return out


def _borel_tanner_chi2(reach: np.ndarray, n0: int, r: float) -> tuple[float, float, int]:
    """Chi-square goodness of fit of total reach to Borel–Tanner, bins with expected >= 5."""
    n = len(reach)
    top = int(max(reach.max(), n0)) + 1
    support = np.arange(n0, top + 1)
    pmf = np.asarray(theory.borel_tanner_pmf(support, n0, r))
    edges = [n0]
    acc = 0.0
    for t, p in zip(support, pmf, strict=True):
        acc += p * n
        if acc >= 5 and (1 - pmf[: t - n0 + 1].sum()) * n >= 5:
            edges.append(int(t) + 1)
            acc = 0.0
    # Bins [edges[i], edges[i+1]) and a last bin [edges[-1], inf).
    expected, observed = [], []
    for lo, hi in itertools.pairwise(edges):
        expected.append(pmf[lo - n0 : hi - n0].sum() * n)
        observed.append(int(((reach >= lo) & (reach < hi)).sum()))
    expected.append((1 - pmf[: edges[-1] - n0].sum()) * n)
    observed.append(int((reach >= edges[-1]).sum()))
    e, o = np.asarray(expected), np.asarray(observed)
    stat = float(((o - e) ** 2 / e).sum())
    return stat, float(stats.chi2.sf(stat, len(e) - 1)), len(e)


# --------------------------------------------------------------------------------------------
# Bass diffusion in the search funnel
# --------------------------------------------------------------------------------------------


def peak_time(daily: np.ndarray, half_width: int) -> float:
    """Time (days, a day's adoptions placed at its middle) of the peak of a daily series:
    the vertex of a least-squares parabola over ``half_width`` days either side of the
    largest 3-day moving average. Applied alike to the simulated and the theoretical series,
    so that the estimator's own bias cancels."""
    smooth = np.convolve(daily, np.ones(3) / 3, mode="same")
    k = int(np.argmax(smooth))
    lo, hi = max(k - half_width, 0), min(k + half_width + 1, len(daily))
    x = np.arange(lo, hi) - k
    a, b, _ = np.polyfit(x, daily[lo:hi], 2)
    vertex = -b / (2 * a) if a < 0 else 0.0
    return float(k + np.clip(vertex, -half_width, half_width) + 0.5)


def _bass(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    out = CaseOutput()
    variants = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        pc = sc.population
        _require(sc, sc.policy == "search_funnel", "policy", sc.policy, "must be 'search_funnel'")
        _require(sc, not pc.repeat_needs, "population.repeat_needs", True, "must be false")
        _require_one_category(sc, "the need rate is then p for every viewer")
        _require_no_ads(sc)
        _require(
            sc,
            not sc.calendar.campaign_days,
            "calendar.campaign_days",
            list(sc.calendar.campaign_days),
            "must be empty (campaign days lift the need rate)",
        )
        _require(
            sc,
            not sc.calendar.events(),
            "calendar",
            [f"{kind}.{name}" for kind, name, _ in sc.calendar.events()],
            "must have no campaign events (sales and category events lift the need rate)",
        )
        p, q = pc.need_rate, pc.need_word_of_mouth
        _require(sc, p > 0, "population.need_rate", p, "must be > 0 (Bass p)")
        _, f_day = theory.bass_discrete(sc.days, p, q)
        levels = (0.1, 0.5, 0.9)
        days_at = [int(np.argmax(f_day[1:] >= lv)) for lv in levels]
        _require(
            sc,
            f_day[-1] >= levels[-1],
            "days",
            sc.days,
            f"too short: the adoption curve must pass {levels[-1]}",
        )
        seeds, _ = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        curves = []
        for seed in seeds:
            model = SnowballModel(sc, seed)
            f = np.empty(sc.days)
            for d in range(sc.days):
                for _ in range(sc.ticks_per_day):
                    model.step()
                f[d] = model.population.adopters[0] / model.population.n
            curves.append(f)
        curves = np.asarray(curves)
        label = f"p = {p:g}, q = {q:g} per day"
        for k in days_at:
            out.measurements.append(
                Measurement(
                    "bass",
                    label,
                    f"adopted share F at the end of day {k + 1}",
                    float(f_day[k + 1]),
                    samples=curves[:, k],
                    limit=f"continuous-time Bass F = {theory.bass_cdf(k + 1, p, q):.4f}",
                    note=f"{len(curves)} runs of {pc.viewers} viewers; theory = Bass with "
                    "daily steps (needs arise once a day)",
                )
            )
        half_width = max(2, round(1 / (p + q)))
        daily = np.diff(curves, axis=1, prepend=0.0)
        peaks = np.array([peak_time(row, half_width) for row in daily])
        out.measurements.append(
            Measurement(
                "bass",
                label,
                "peak adoption time, days",
                peak_time(np.diff(f_day), half_width),
                samples=peaks,
                limit=f"continuous-time ln(q/p)/(p+q) = {theory.bass_peak_time(p, q):.2f}",
                note="theory = the same estimator on the day-stepped Bass curve",
            )
        )
        variants.append({"label": label, "p": p, "q": q, "curves": curves, "f_day": f_day})
    out.figure = {"variants": variants}
    return out


# --------------------------------------------------------------------------------------------
# Second-price auction and pacing
# --------------------------------------------------------------------------------------------


def _check_auction(sc: Scenario) -> list[str]:
    _require(sc, sc.policy == "private_values", "policy", sc.policy, "must be 'private_values'")
    _require(sc, sc.auction.reserve_cpm == 0, "auction.reserve_cpm", sc.auction.reserve_cpm, "0")
    groups = [n for n, g in sc.streams.items() if g.count]
    for name in groups:
        camp = sc.streams[name].campaign
        _require(
            sc,
            camp is not None and camp.strategy == "fixed" and camp.bidding == "max_delivery",
            f"streams.{name}.campaign",
            None if camp is None else camp.strategy,
            "every stream needs a 'fixed', 'max_delivery' campaign",
        )
    return groups


def _auction(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    out = CaseOutput()
    figure: dict[str, Any] = {}
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        _check_auction(sc)
        seeds, _ = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        v = sc.private_values.value_max_cpm
        if sc.private_values.slots_per_tick == 0:
            prices, bidders = [], 0
            for seed in seeds:
                model = SnowballModel(sc, seed)
                bidders = model.campaigns.n
                _require(sc, bidders >= 2, "streams", bidders, "needs at least 2 bidders")
                for _ in range(sc.n_ticks):
                    model.step()
                    pol = model.policy
                    _require(
                        sc,
                        pol.last_bidders in (0, bidders),
                        "streams.<group>.campaign.daily_budget",
                        "(budgets)",
                        "binds: a budget ran out, so bids were shaded; raise it",
                    )
                    _require(
                        sc,
                        bool((model.campaigns.mu == 0).all()),
                        "streams.<group>.campaign.daily_budget",
                        "(budgets)",
                        "binds: pacing shaded the bids; raise it",
                    )
                    prices.append(pol.last_prices / v)
            x = np.concatenate(prices)
            label = f"N = {bidders}, values U(0, {v:g}) yuan CPM"
            out.measurements.append(
                Measurement(
                    "auction",
                    label,
                    "clearing price ÷ v (budgets never bind)",
                    theory.second_price_expected_price(bidders),
                    samples=x,
                    limit="(N − 1)/(N + 1)",
                    note=f"{len(x)} slots",
                )
            )
            ks = stats.kstest(x, stats.beta(bidders - 1, 2).cdf)
            out.measurements.append(
                Measurement(
                    "auction",
                    label,
                    f"clearing price ÷ v ~ Beta({bidders - 1}, 2), the 2nd highest of N values",
                    math.nan,
                    kind="gof",
                    relation="~",
                    statistic=float(ks.statistic),
                    p_value=float(ks.pvalue),
                    n=len(x),
                    test="KS",
                    law=f"Beta({bidders - 1}, 2)",
                    note="simulated = KS distance",
                )
            )
            figure["prices"] = {"label": label, "x": x, "n": bidders}
        else:
            ratios, profiles = [], []
            tpd = sc.ticks_per_day
            for seed in seeds:
                model = SnowballModel(sc, seed)
                camps = model.campaigns
                ratio = np.empty((sc.n_ticks, camps.n))
                for t in range(sc.n_ticks):
                    even = camps.budget / tpd
                    model.step()
                    ratio[t] = model.last_tick["ad_spend"][camps.stream] / even
                by_tick = ratio.reshape(sc.days, tpd, camps.n)
                ratios.append(float(by_tick[:, tpd // 2 : tpd - 1, :].mean()))
                profiles.append(by_tick.mean(axis=(0, 2)))
            label = f"{model.campaigns.n} bidders, binding budgets, {tpd} ticks a day"
            out.measurements.append(
                Measurement(
                    "auction",
                    label,
                    "spend per tick ÷ (daily budget ÷ ticks), second half of each day "
                    "before its last tick",
                    1.0,
                    samples=np.asarray(ratios),
                    limit="spend per period → budget / periods",
                    note=f"{len(ratios)} runs; first half of the day: "
                    f"{np.mean([p[: tpd // 2].mean() for p in profiles]):.3f}, last tick: "
                    f"{np.mean([p[-1] for p in profiles]):.3f}, whole day (spend ÷ budget): "
                    f"{np.mean([p.mean() for p in profiles]):.4f}",
                )
            )
            figure["pacing"] = {"label": label, "profiles": np.asarray(profiles)}
    out.figure = figure
    return out


def _platform_limits(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    """The mixed platform at search_share 0 and 1 against the pure policies: one equivalence
    check (TOST, margin ``validation_limits.MARGIN``) per limit and statistic on the paired
    per-seed relative differences; just inside the limits reported in the notes and figure
    (see :mod:`simulation.validation_limits`)."""
    for sc in scenarios:
        limits.check_limit(sc)  # refuse before any run
    out = CaseOutput()
    variants = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        runs = _runs(size, sc)
        seeds, _ = _spawn(child, runs)
        out.seeds[sc.name] = seeds
        r = limits.limit_runs(sc, seeds, float(size["inside"]))
        d, d_in = r.difference, r.inside_difference
        label = f"search_share {r.share:g} against {r.policy}"
        for j, name in enumerate(limits.STATISTICS):
            sd_in = d_in[:, j].std(ddof=1) if runs > 1 else 0.0
            out.measurements.append(
                Measurement(
                    "platform_limits",
                    label,
                    f"{name}: (mixed − {r.policy}) ÷ mean of {r.policy}, paired seeds",
                    0.0,
                    kind="equivalence",
                    relation="≈",
                    samples=d[:, j],
                    margin=limits.MARGIN,
                    limit=f"−{limits.MARGIN:g} < difference < {limits.MARGIN:g} (TOST)",
                    note=f"{runs} seeds; interval: the TOST's 1 − 2 × level one; "
                    f"{r.policy} mean {r.pure[:, j].mean():.6g}; just inside (search_share "
                    f"{r.near:g}, not tested): {d_in[:, j].mean():+.4f} ± {sd_in:.4f} "
                    "(mean ± sd over seeds)",
                )
            )
        variants.append(
            {"label": label, "pure": r.pure, "mixed": r.mixed, "inside": d_in, "near": r.near}
        )
    out.figure = {
        "variants": variants,
        "statistics": list(limits.STATISTICS),
        "margin": limits.MARGIN,
    }
    return out


# --------------------------------------------------------------------------------------------
# Audience-aware estimates (simulation/validation_uplift.py)
# --------------------------------------------------------------------------------------------


def _audience_uplift(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    from simulation import validation_uplift as vu

    out = CaseOutput()
    variants = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        vu.check(sc, _require)
        seeds, _ = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        r = vu.run_case(sc, seeds, int(size["impressions"]))
        label = "rich vs poor audience"
        for ch in vu.CHANNELS:
            trait = float(r["theory_trait"][ch].mean())
            own = float(r["theory_own"][ch].mean())
            for est, name in (("new", "uplift"), ("old", "per-room rate")):
                theory_ratio = r[f"theory_{est}"][ch]
                limit = float(theory_ratio.mean())
                out.measurements.append(
                    Measurement(
                        "audience_uplift",
                        label,
                        f"{name} ratio rich/poor of {ch} over its closed form",
                        1.0,
                        samples=r[est][ch] / theory_ratio,
                        limit=f"{name} limit {limit:.3f}; relative trait {trait:.3f} on all "
                        f"viewers (bias {limit / trait - 1:+.1%}), {own:.3f} against peers on "
                        f"their own audiences (bias {limit / own - 1:+.1%})",
                        note=f"{r['runs']} runs, {r['impressions']:.0f} measured impressions "
                        "per room; closed form from the viewers drawn and the behaviour's "
                        "formulas",
                    )
                )
        variants.append({"label": label, **r})
    out.figure = {"variants": variants}
    return out


def _returns_groups(sc: Scenario) -> list[str]:
    """The ``returns`` case's preconditions; its stream groups with streams."""
    ec = sc.economics
    _require(sc, ec.returns, "economics.returns", ec.returns, "must be true")
    groups = [name for name, g in sc.streams.items() if g.count > 0]
    for name in groups:
        lo, hi = sc.streams[name].quality
        _require(
            sc,
            lo == hi,
            f"streams.{name}.quality",
            [lo, hi],
            "must be one number (a group's rate is then one binomial expectation)",
        )
    return groups


def _returns(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    """Returns against their binomial expectation given experienced quality
    (:mod:`simulation.validation_returns`: the closed form and the runs)."""
    out = CaseOutput()
    rows = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        groups = _returns_groups(sc)
        seeds, _ = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        orders, returns = returns_case.group_counts(sc, seeds, groups)
        ec, sigma = sc.economics, sc.behaviour.rating_noise
        for g in groups:
            q = sc.streams[g].quality[0]
            presented = q if ec.presented_quality < 0 else ec.presented_quality
            r = returns_case.expected_return_rate(
                q, presented, sigma, ec.return_base_rate, ec.return_quality_slope
            )
            _require(
                sc,
                orders[g] >= 100,
                f"streams.{g}",
                orders[g],
                "made fewer than 100 orders; run more days, viewers or runs",
            )
            label = f"quality {q:g}, presented {presented:g}, rating noise {sigma:g}"
            out.measurements.append(
                Measurement(
                    "returns",
                    label,
                    f"returned share of orders, group {g}",
                    r,
                    kind="proportion",
                    successes=returns[g],
                    trials=orders[g],
                    limit=f"b + s E[min(max(0, P − X), g*)] = {r:.4f}, "
                    f"b = {ec.return_base_rate:g}, s = {ec.return_quality_slope:g}",
                    note=f"{len(seeds)} run(s); X = clip(q + N(0, σ), 0, 1), the rating draw",
                )
            )
            rows.append(
                {
                    "group": g,
                    "quality": q,
                    "presented": presented,
                    "theory": r,
                    "returns": returns[g],
                    "orders": orders[g],
                }
            )
    out.figure = {"rows": rows}
    return out


def _run_of_show(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    """Each item's impressions, entries and orders under a fixed script against the closed
    form (:mod:`simulation.validation_run_of_show`)."""
    out = CaseOutput()
    rows = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        _require(sc, sc.policy == "urn", "policy", sc.policy, "must be 'urn' in this case")
        _require_no_ads(sc)
        _require_no_fans(sc)
        _require_one_category(sc, "every viewer's relative interest is then 1")
        b, p = sc.behaviour, sc.population
        _require(sc, b.run_of_show, "behaviour.run_of_show", b.run_of_show, "must be true")
        for key in ("entry_affinity_weight", "buy_affinity_weight", "satiation_days"):
            _require(sc, getattr(b, key) == 0, f"behaviour.{key}", getattr(b, key), "must be 0")
        _require(
            sc, b.need_multiplier == 1, "behaviour.need_multiplier", b.need_multiplier, "must be 1"
        )
        for key in ("patience_sigma", "price_sensitivity_sigma"):
            _require(sc, getattr(p, key) == 0, f"population.{key}", getattr(p, key), "must be 0")
        _require(
            sc,
            p.slots_per_session == 1,
            "population.slots_per_session",
            p.slots_per_session,
            "must be 1 (one impression per viewer per tick)",
        )
        ratio = sc.tick_minutes / b.show_cycle_minutes
        _require(
            sc,
            abs(ratio - round(ratio)) < 1e-9 and round(ratio) >= 1,
            "behaviour.show_cycle_minutes",
            b.show_cycle_minutes,
            f"must divide tick_minutes ({sc.tick_minutes})",
        )
        groups = [n for n, g in sc.streams.items() if g.count > 0]
        _require(sc, len(groups) == 1, "streams", groups, "needs one group of identical streams")
        g = groups[0]
        hook, ret, pers, price = (
            _fixed(sc, g, k) for k in ("hook", "retention", "persuasion", "price")
        )
        mix = sc.streams[g].mix
        seeds, _ = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        tot = show_case.item_counts(sc, seeds)
        p_enter = show_case.entry_rates(sc, hook)
        q = show_case.purchase_matrix(sc, mix, ret, pers, price)
        n_imp = int(tot["impressions"].sum())
        note = f"{len(seeds)} run(s)"
        for r, role in enumerate(show_case.ROLES):
            if mix[r] <= 0:
                continue
            out.measurements.append(
                Measurement(
                    "run_of_show",
                    sc.name,
                    f"share of impressions on the {role} item",
                    float(mix[r]),
                    kind="proportion",
                    successes=int(tot["impressions"][r]),
                    trials=n_imp,
                    limit=f"airtime share m_r = {mix[r]:g}",
                    note=note,
                )
            )
            out.measurements.append(
                Measurement(
                    "run_of_show",
                    sc.name,
                    f"entries per impression on the {role} item",
                    float(p_enter[r]),
                    kind="proportion",
                    successes=int(tot["entries"][r]),
                    trials=int(tot["impressions"][r]),
                    limit=f"sigmoid(logit(hook) + lift_r) = {p_enter[r]:.4f}",
                    note=note,
                )
            )
        expect = tot["entries"] @ q
        var = tot["entries"] @ (q * (1 - q))
        for j, role in enumerate(show_case.ROLES):
            if mix[j] <= 0:
                continue
            _require(
                sc,
                expect[j] >= 50,
                f"streams.{g}",
                float(expect[j]),
                f"expects fewer than 50 orders of the {role} item; run more days, viewers or runs",
            )
            out.measurements.append(
                Measurement(
                    "run_of_show",
                    sc.name,
                    f"orders of the {role} item",
                    float(expect[j]),
                    kind="normal",
                    estimate=float(tot["orders"][j]),
                    standard_error=float(np.sqrt(var[j])),
                    limit="sum_r entries_r q_rj, q_rj = E[(1 - e^-H) w_j / H] over the visit",
                    note=f"{note}; cross-selling: q_rj > 0 for j != r",
                )
            )
            rows.append(
                {
                    "role": role,
                    "impressions": float(tot["impressions"][j]),
                    "entries": float(tot["entries"][j]),
                    "entries_theory": float(tot["impressions"][j] * p_enter[j]),
                    "orders": float(tot["orders"][j]),
                    "orders_theory": float(expect[j]),
                }
            )
    out.figure = {"rows": rows}
    return out


def _interest_drift(scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence):
    out = CaseOutput()
    variants = []
    for sc, child in zip(scenarios, ss.spawn(len(scenarios)), strict=True):
        _require_no_ads(sc)
        _require_no_fans(sc)
        group = validation_drift.check_drift_case(sc)
        path, fixed = validation_drift.expected_gap(sc, group, sc.days)
        seeds, _ = _spawn(child, _runs(size, sc))
        out.seeds[sc.name] = seeds
        h, chrono = validation_drift.measure_gaps(sc, group, seeds)
        theory_path = path[:, chrono].mean(axis=1)  # E[mean h] over these viewers, day 0..D
        h_star = float(fixed[chrono].mean())
        pf = sc.platform
        label = (
            f"eta_e = {pf.drift_per_impression:g}, eta_d = {pf.drift_per_dwell_minute:g}/min, "
            f"rho = {pf.drift_decay_per_day:g}/day"
        )
        transient = float(np.abs(theory_path[sc.days] - h_star))
        for d in sorted({1, (sc.days + 1) // 2, sc.days}):
            # On the last day, when the path is within 10^-4 of its limit, the check is
            # against the fixed point itself.
            at_fixed_point = d == sc.days and transient <= validation_drift.FIXED_POINT_TOLERANCE
            out.measurements.append(
                Measurement(
                    "interest_drift",
                    label,
                    f"remaining gap to the shown category h = (1 - x_c)/(1 - b_c), end of day {d}"
                    + (" (at the fixed point)" if at_fixed_point else ""),
                    h_star if at_fixed_point else float(theory_path[d]),
                    samples=h[d - 1],
                    limit=f"h* + (1 - h*) r^d; fixed point h* = rho/(1 - r) = {h_star:.4f}",
                    note=f"{h.shape[1]} viewers in {len(seeds)} runs; theory = the mean of "
                    "their chronotypes' closed forms"
                    + (f" (path - h* = {transient:.1e})" if at_fixed_point else ""),
                )
            )
        variants.append(
            {"label": label, "simulated": h, "theory": theory_path, "fixed_point": h_star}
        )
    out.figure = {"variants": variants}
    return out


# --------------------------------------------------------------------------------------------
# Registry and driver
# --------------------------------------------------------------------------------------------

CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case(
            "polya",
            "Pólya urn: shares, expected Gini and unpredictability",
            ("polya.toml", "polya_a2.toml", "polya_a5.toml"),
            _polya,
            {"quick": {"runs": 1, "conversions": 600}, "full": {"runs": 5, "conversions": 2000}},
        ),
        Case(
            "gamma_urn",
            "γ-urn: equal shares, Dirichlet, monopoly",
            ("gamma_sub.toml", "gamma_one.toml", "gamma_super.toml"),
            _gamma_urn,
            {"quick": {"runs": 1, "conversions": 600}, "full": {"runs": 3, "conversions": 2000}},
        ),
        Case(
            "fitness_urn",
            "Fitness urn: the fittest takes over, n_j ~ N^(f_j / f_max)",
            ("fitness.toml",),
            _fitness_urn,
            {
                "quick": {"runs": 1, "best_weight": 8_000},
                "full": {"runs": 5, "best_weight": 32_000},
            },
        ),
        Case(
            "cascade",
            "Cold start as a branching process: extinction and total reach",
            ("cascade_super.toml", "cascade_sub.toml"),
            _cascade,
            {"quick": {"runs": 1}, "full": {"runs": 5}},
        ),
        Case(
            "bass",
            "Bass diffusion in the search funnel",
            ("bass.toml",),
            _bass,
            {"quick": {"runs": 6}, "full": {"runs": 40}},
        ),
        Case(
            "auction",
            "Second-price auction with private values, and budget pacing",
            ("auction.toml", "pacing.toml"),
            _auction,
            {
                "quick": {"runs": {"auction": 1, "pacing": 4}},
                "full": {"runs": {"auction": 5, "pacing": 16}},
            },
        ),
        Case(
            "returns",
            "Returns against their binomial expectation given experienced quality",
            ("returns.toml",),
            _returns,
            {"quick": {"runs": 1}, "full": {"runs": 4}},
        ),
        Case(
            "platform_limits",
            "The mixed platform at search_share 0 and 1 is the interest feed and the funnel",
            ("limits_feed.toml", "limits_search.toml"),
            _platform_limits,
            {"quick": {"runs": 3, "inside": 0.01}, "full": {"runs": 12, "inside": 0.01}},
        ),
        Case(
            "audience_uplift",
            "Audience-aware estimates: uplift recovers relative traits whatever the audience",
            ("audience_uplift.toml",),
            _audience_uplift,
            {
                "quick": {"runs": 6, "impressions": 3000},
                "full": {"runs": 20, "impressions": 6000},
            },
        ),
        Case(
            "interest_drift",
            "Interest drift under a fixed exposure schedule: path and fixed point",
            ("drift.toml", "drift_entries.toml"),
            _interest_drift,
            {"quick": {"runs": 1}, "full": {"runs": 4}},
        ),
        Case(
            "run_of_show",
            "Run-of-show: each item's entries and orders under a fixed script",
            ("run_of_show.toml",),
            _run_of_show,
            {"quick": {"runs": 1}, "full": {"runs": 4}},
        ),
    )
}


@dataclass
class Report:
    """A finished validation: the table, the figures' data and what is needed to rerun it."""

    table: pd.DataFrame
    figures: dict[str, dict[str, Any]]
    seeds: dict[str, dict[str, list[int]]]
    scenarios: dict[str, dict[str, Any]]
    size: str
    root_seed: int
    family_alpha: float
    wall_seconds: dict[str, float]

    @property
    def passed(self) -> bool:
        return bool((self.table["verdict"] == "pass").all()) and len(self.table) > 0


def validate(
    cases: list[str] | None = None,
    quick: bool = False,
    seed: int = DEFAULT_SEED,
    overrides: dict[str, Any] | None = None,
    family_alpha: float = FAMILY_ALPHA,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the special cases (default: all) and test them against theory.

    Parameters
    ----------
    cases
        Case names (see :data:`CASES`); None runs every case.
    quick
        Run the quick size (for the test suite) instead of the full size.
    seed
        Root seed of the whole validation.
    overrides
        Dotted-key scenario overrides applied to every scenario of the selected cases.
    family_alpha
        Family-wise error rate of the run (Bonferroni over its checks).
    progress
        Called with a line of text as each case starts and ends.
    """
    names = list(CASES) if not cases else list(dict.fromkeys(cases))
    for name in names:
        if name not in CASES:
            raise ConfigError("--case", "case", name, f"must be one of {', '.join(CASES)}")
    size = "quick" if quick else "full"
    root = np.random.SeedSequence(seed)
    children = dict(zip(CASES, root.spawn(len(CASES)), strict=True))
    measurements: list[Measurement] = []
    figures, seeds, scenarios, walls = {}, {}, {}, {}
    for name in names:
        case = CASES[name]
        scs = [load_scenario(p, overrides, new_groups=False) for p in case.scenario_paths()]
        if progress:
            progress(f"{name}: {case.title} ({', '.join(s.name for s in scs)}) ...")
        start = time.perf_counter()
        result = case.run(scs, case.sizes[size], children[name])
        walls[name] = round(time.perf_counter() - start, 2)
        measurements += result.measurements
        figures[name] = result.figure
        seeds[name] = result.seeds
        scenarios[name] = {s.name: to_dict(s) for s in scs}
        if progress:
            progress(f"{name}: done in {walls[name]:.1f} s")
    table = evaluate(measurements, family_alpha)
    return Report(table, figures, seeds, scenarios, size, seed, family_alpha, walls)
