"""Validation case ``run_of_show``: each item's entries and orders under a fixed script.

The scenario has no feedback a room could act on: the urn policy with one category (every
viewer's relative interest is 1), no fans or affinity, no satiation, ``need_multiplier`` 1,
patience and price sensitivity without spread, identical rooms always on air and a script
pass (``show_cycle_minutes`` C) that divides a tick. An impression then arrives at a uniform
position T of the pass, so (docs/MODEL.md 7.18):

- the share of impressions that arrive while item r is on air is its airtime share ``m_r``;
- an impression on item r becomes an entry with ``p_r = sigmoid(logit(hook) + lift_r)``;
- an entrant on item r stays ``D ~ Exp(M_r)``, ``M_r = dwell_mean x retention x
  dwell_lift_r``, and buys item j with probability ``q_rj = E[(1 - e^-H) w_j / H]``, where
  ``w_j = kappa a_j min(4, (price x role_price_j / ref)^-s) ov_j(T, D)`` (``ov_j`` the
  minutes of item j on air in the visit), ``H = sum_j w_j`` and ``kappa = h0 persuasion /
  0.05``; the expectation over T uniform in item r's segment and D is computed by
  quadrature (midpoints in T, quantile midpoints in D).

One approximation remains: a viewer buys at most once per category per tick, so a viewer
with two sessions in one tick could lose an order; the scenario keeps that rare (5-minute
ticks, 2 sessions a day: with 30-minute ticks and 4 sessions a day the orders came out
2-3 % below the closed form, a detectable bias).

The case tests the impression shares and entry rates as proportions, and each item's orders
given the entries on each item against ``sum_r entries_r q_rj`` (a sum of independent
Bernoullis: normal, with its own standard error). Any parameter the scenario (or
``snowball validate --set``) gives is read from it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simulation.config import Scenario
from simulation.model import SnowballModel
from simulation.run_of_show import N_ITEMS, ROLES, RunOfShow


def entry_rates(sc: Scenario, hook: float) -> np.ndarray:
    """``p_r`` per item (the hook clipped as in simulation/behaviour.py)."""
    h = min(max(hook, 1e-6), 1 - 1e-6)
    logit = math.log(h / (1 - h)) + np.asarray(sc.behaviour.role_entry_lift, dtype=float)
    return 1 / (1 + np.exp(-logit))


def purchase_matrix(
    sc: Scenario,
    mix: tuple[float, ...],
    retention: float,
    persuasion: float,
    price: float,
    points: int = 600,
) -> np.ndarray:
    """``q[r, j]``: probability that an entrant on item r buys item j (module docstring)."""
    b, p = sc.behaviour, sc.population
    show = RunOfShow(b.show_cycle_minutes, sc.tick_minutes, 1)
    show.set_mix(np.asarray([mix], dtype=float))
    sens = p.price_sensitivity_mean
    role_price = np.asarray(b.role_price, dtype=float)
    term = np.minimum(4.0, (price * role_price / b.reference_price) ** (-sens))
    kappa = b.buy_hazard_per_minute * persuasion / 0.05
    weight = kappa * np.asarray(b.role_appeal, dtype=float) * term
    q = np.zeros((N_ITEMS, N_ITEMS))
    quant = -np.log1p(-(np.arange(points) + 0.5) / points)  # Exp(1) quantile midpoints
    for r in range(N_ITEMS):
        length = show.length[0, r]
        if length <= 0:
            continue
        t = show.start[0, r] + (np.arange(points) + 0.5) / points * length
        mean = b.dwell_mean_minutes * retention * b.role_dwell_lift[r]
        tt, dd = np.meshgrid(t, quant * mean, indexing="ij")
        ov = show.overlap(np.zeros(tt.size, dtype=np.int64), tt.ravel(), dd.ravel())
        w = ov * weight
        h = w.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(h[:, None] > 0, w / h[:, None], 0.0)
        q[r] = ((1 - np.exp(-h))[:, None] * share).mean(axis=0)
    return q


def item_counts(sc: Scenario, seeds: list[int]) -> dict[str, np.ndarray]:
    """Impressions, entries, orders (3,) summed over the rooms and runs, and entries by item
    per run for the order check's expectation (runs summed: the q's are the same)."""
    tot = {k: np.zeros(N_ITEMS) for k in ("impressions", "entries", "orders")}
    for seed in seeds:
        model = SnowballModel(sc, seed)
        model.run_days()
        for rec in model.show.records:
            for k in tot:
                tot[k] += rec[k].reshape(-1, N_ITEMS).sum(axis=0)
    return tot


def draw(data: dict[str, Any], axes: np.ndarray) -> None:
    """The case's figure: per item, the simulated entries and orders per 1,000 impressions
    beside the closed form."""
    ax = axes[0]
    rows = data["rows"]
    x = np.arange(len(rows))
    for off, key, label in ((-0.2, "entries", "entries"), (0.2, "orders", "orders x 10")):
        scale = 10.0 if key == "orders" else 1.0
        sim = np.array([1000 * scale * r[key] / max(r["impressions"], 1) for r in rows])
        th = np.array([1000 * scale * r[f"{key}_theory"] / max(r["impressions"], 1) for r in rows])
        ax.bar(x + off, sim, width=0.35, alpha=0.6, label=f"{label}, simulated")
        ax.plot(x + off, th, "kx", ms=10, mew=2)
    ax.plot([], [], "kx", label="closed form")
    ax.set_xticks(x, [r["role"] for r in rows])
    ax.set(
        ylabel="per 1,000 impressions on air",
        title="Run-of-show: entries and orders per item under a fixed script",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


__all__ = ["ROLES", "draw", "entry_rates", "item_counts", "purchase_matrix"]
