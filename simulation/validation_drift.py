"""Validation case ``interest_drift``: interests under a fixed exposure schedule follow the
closed-form path and fixed point of the drift equation (docs/VALIDATION.md, case 7;
docs/MODEL.md 7.15.2). This module holds the case's preconditions, closed form and
measurement; :mod:`simulation.validation` turns them into checks.

The special case. Policy ``urn`` with ``feed.interest_sharpness`` 0: every slot's category
is uniform over the K categories whatever the viewer's interests, and every stream is in
one category c, so a slot shows c with probability 1/K and is otherwise empty: each viewer
is shown c at a constant rate, with no allocation feedback. Entries do not depend on
interest either (``entry_interest_weight`` 0, no follows, identical streams), so the
weights a viewer's interests receive are independent of those interests.

The drift equation (``Population.drift_interests``, ``decay_interests``): per tick t,
x <- (x + A_t)/(1 + W_t), where all of the weight W_t is on c; at each day's end
x <- b + (1 - rho)(x - b). The gap to c, g = 1 - x_c, normalised by its start 1 - b_c,
h = g / (1 - b_c), therefore obeys

    h_{d+1} = rho + (1 - rho) M_d h_d,   M_d = prod_t 1 / (1 + W_t),   h_0 = 1,

with M_d independent of h_d, so E[h_d] = h* + (1 - h*) r^d, r = (1 - rho) E[M], and the
fixed point h* = rho / (1 - r). E[1/(1 + W_t)] = int_0^inf e^-s L_t(s) ds with L_t the
Laplace transform of W_t: sessions Poisson(lambda_t) (the viewer's activity x their
chronotype's share of the hour / ticks per hour), each of S slots showing c with
probability 1/K, an impression weighing ``drift_per_impression`` plus, if entered (per role
r: probability q_r, dwell exponential with mean m_r), ``drift_per_dwell_minute`` x dwell:

    L_t(s) = exp(lambda_t (psi(s)^S - 1)),  psi(s) = 1 - 1/K + phi(s)/K,
    phi(s) = exp(-s eta_e) sum_r mix_r (1 - q_r + q_r / (1 + s eta_d m_r)).

Every expectation is computed from the scenario's parameters, per chronotype; the check is a
t-interval (Bonferroni level) of the mean of h over viewers against the mean of their
chronotypes' E[h_d], on the first day, the middle day and the last day; on the last day
against the fixed point h* itself when E[h_D] is within ``FIXED_POINT_TOLERANCE`` of it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import integrate

from simulation.config import ConfigError, Scenario
from simulation.model import SnowballModel
from simulation.population import CHRONOTYPES

FIXED_POINT_TOLERANCE = 1e-4
"""The last day's check is against the fixed point h* when the mean path is this close to it
(far below the interval's half-width), else against the path."""

MIN_GAP = 0.05
"""Viewers whose baseline gap 1 - b_c is below this are left out (h's rounding error in
float32 grows as 1 / (1 - b_c))."""


def _require(sc: Scenario, ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(sc.name, key, value, allowed)


def _fixed(sc: Scenario, name: str, key: str) -> None:
    lo, hi = getattr(sc.streams[name], key)
    _require(sc, lo == hi, f"streams.{name}.{key}", [lo, hi], "must be one number in this case")


def check_drift_case(sc: Scenario) -> str:
    """Refuse a scenario outside the special case (ConfigError naming the key; ads and
    follows are refused by the caller, :mod:`simulation.validation`); returns the name of
    its one stream group."""
    _require(sc, sc.policy == "urn", "policy", sc.policy, "must be 'urn' in this case")
    _require(sc, sc.platform.interest_drift, "platform.interest_drift", False, "must be true")
    _require(
        sc,
        sc.feed.interest_sharpness == 0,
        "feed.interest_sharpness",
        sc.feed.interest_sharpness,
        "must be 0 (slot categories independent of interests)",
    )
    _require(
        sc,
        sc.population.categories >= 2,
        "population.categories",
        sc.population.categories,
        "must be at least 2 (with one category interests cannot move)",
    )
    _require(
        sc,
        sc.population.activity_sigma == 0,
        "population.activity_sigma",
        sc.population.activity_sigma,
        "must be 0 (every viewer's session rate is sessions_per_day)",
    )
    _require(
        sc,
        not sc.calendar.campaign_days,
        "calendar.campaign_days",
        list(sc.calendar.campaign_days),
        "must be empty (campaign days lift the session rate)",
    )
    groups = [n for n, g in sc.streams.items() if g.count > 0]
    _require(sc, len(groups) == 1, "streams", groups, "needs one group of identical streams")
    g = sc.streams[groups[0]]
    _require(
        sc,
        g.count >= sc.urn.worlds,
        "urn.worlds",
        sc.urn.worlds,
        f"must be at most streams.{groups[0]}.count (every world needs a stream of c)",
    )
    _require(
        sc,
        g.category >= 0,
        f"streams.{groups[0]}.category",
        g.category,
        "must name one category",
    )
    if sc.platform.drift_per_dwell_minute > 0:
        b = sc.behaviour
        _require(
            sc,
            b.entry_interest_weight == 0,
            "behaviour.entry_interest_weight",
            b.entry_interest_weight,
            "must be 0 when entries move interests (no engagement feedback)",
        )
        _require(
            sc,
            sc.population.patience_sigma == 0,
            "population.patience_sigma",
            sc.population.patience_sigma,
            "must be 0 when entries move interests (dwell means known)",
        )
        _fixed(sc, groups[0], "hook")
        _fixed(sc, groups[0], "retention")
    return groups[0]


def impression_transform(sc: Scenario, group: str):
    """phi(s) = E[exp(-s w)] of one impression's weight w (module docstring)."""
    pf, b = sc.platform, sc.behaviour
    eta_e, eta_d = pf.drift_per_impression, pf.drift_per_dwell_minute
    g = sc.streams[group]
    if eta_d == 0:
        return lambda s: math.exp(-s * eta_e)
    h = min(max(g.hook[0], 1e-6), 1 - 1e-6)
    logit = math.log(h / (1 - h))
    q = [1 / (1 + math.exp(-(logit + lift))) for lift in b.role_entry_lift]
    m = [b.dwell_mean_minutes * g.retention[0] * d for d in b.role_dwell_lift]

    def phi(s: float) -> float:
        mixed = sum(
            w * (1 - qr + qr / (1 + s * eta_d * mr)) for w, qr, mr in zip(g.mix, q, m, strict=True)
        )
        return math.exp(-s * eta_e) * mixed

    return phi


def daily_shrink(sc: Scenario, group: str) -> np.ndarray:
    """E[M] = prod over a day's ticks of E[1 / (1 + W_t)], per chronotype, (G,)."""
    pop = sc.population
    k, slots = pop.categories, pop.slots_per_session
    phi = impression_transform(sc, group)
    tpd = sc.ticks_per_day
    tph = tpd / 24
    out = np.ones(len(CHRONOTYPES))
    for g in range(len(CHRONOTYPES)):
        for tod in range(tpd):
            lam = pop.sessions_per_day * CHRONOTYPES[g, int(tod / tph)] / tph

            def integrand(s: float, lam: float = lam) -> float:
                psi = 1 - 1 / k + phi(s) / k
                return math.exp(-s + lam * (psi**slots - 1))

            value, _ = integrate.quad(integrand, 0, math.inf, epsabs=1e-13, epsrel=1e-11)
            out[g] *= value
    return out


def expected_gap(sc: Scenario, group: str, days: int) -> tuple[np.ndarray, np.ndarray]:
    """E[h_d] for d = 0..days per chronotype, (days + 1, G), and the fixed point h*, (G,)."""
    rho = sc.platform.drift_decay_per_day
    r = (1 - rho) * daily_shrink(sc, group)
    fixed = np.where(r < 1, rho / np.maximum(1 - r, 1e-300), 1.0)
    d = np.arange(days + 1)[:, None]
    return fixed + (1 - fixed) * r**d, fixed


def measure_gaps(sc: Scenario, group: str, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Run the scenario once per seed; h = (1 - x_c)/(1 - b_c) at the end of each day for
    every viewer with 1 - b_c >= MIN_GAP, (days, viewers over all runs), and the viewers'
    chronotypes, (viewers,)."""
    c = sc.streams[group].category
    gaps, types = [], []
    for seed in seeds:
        model = SnowballModel(sc, seed)
        pop = model.population
        start = 1 - pop.baseline_rows(0, pop.n)[:, c].astype(np.float64)
        keep = np.flatnonzero(start >= MIN_GAP)
        h = np.empty((sc.days, len(keep)))
        for d in range(sc.days):
            model.run_days(1)
            h[d] = (1 - pop.interests[keep, c].astype(np.float64)) / start[keep]
        gaps.append(h)
        types.append(pop.chronotype[keep])
    return np.concatenate(gaps, axis=1), np.concatenate(types)
