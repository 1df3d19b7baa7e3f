"""Validation case ``returns``: the return rate against its binomial expectation.

Every order's experienced quality is ``X = clip(q + N(0, sigma), 0, 1)`` (the buyer's
rating draw, ``behaviour.rating_noise`` = sigma), and the order is returned with probability
``min(1, b + s max(0, P - X))`` (``economics.return_base_rate`` b,
``return_quality_slope`` s, ``presented_quality`` P). Orders' draws are independent, so
a room of fixed true quality q returns a Binomial(orders, r) number of them, with

    r = b + s (G(P) - G(P - g*)),   g* = (1 - b) / s   (the cap; G(P - g*) = 0 when P <= g*)

where ``G(c) = E[max(0, c - X)]`` has the closed form (Z standard normal, d = c - q)::

    G(c) = d Phi(d / sigma) + sigma phi(d / sigma) + q Phi(-q / sigma) - sigma phi(q / sigma)

(the last two terms are the clip at 0; the clip at 1 never matters since c <= 1). The case
runs the real model — viewers, feed, behaviour, ratings, accounts — and tests each group's
returned share of orders with a Wilson interval against r, at whatever parameters the
scenario (or ``snowball validate --set``) gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from simulation.config import Scenario
from simulation.intervals import wilson_interval
from simulation.model import SnowballModel


def shortfall_mean(c: float, quality: float, sigma: float) -> float:
    """``E[max(0, c - clip(quality + N(0, sigma), 0, 1))]`` for ``c`` in [0, 1]."""
    if sigma == 0:
        return max(0.0, c - min(max(quality, 0.0), 1.0))
    d = c - quality
    norm = stats.norm
    return float(
        d * norm.cdf(d / sigma)
        + sigma * norm.pdf(d / sigma)
        + quality * norm.cdf(-quality / sigma)
        - sigma * norm.pdf(quality / sigma)
    )


def expected_return_rate(
    quality: float, presented: float, sigma: float, base: float, slope: float
) -> float:
    """Probability that an order of a room of true ``quality`` is returned (module docstring):
    ``E[min(1, base + slope max(0, presented - X))]``, X the experienced quality."""
    if slope == 0 or base >= 1:
        return min(base, 1.0)
    cap = (1 - base) / slope
    capped = shortfall_mean(presented - cap, quality, sigma) if presented > cap else 0.0
    return base + slope * (shortfall_mean(presented, quality, sigma) - capped)


def group_counts(sc: Scenario, seeds: list[int], groups: list[str]) -> tuple[dict, dict]:
    """Orders and returned orders of each stream group, summed over runs of ``sc`` at
    ``seeds`` (the real model, run to its end)."""
    orders = dict.fromkeys(groups, 0)
    returns = dict.fromkeys(groups, 0)
    for seed in seeds:
        model = SnowballModel(sc, seed)
        model.run_days()
        names = np.asarray(model.table.group_names)[model.table.group]
        got_orders = np.zeros(model.table.n)
        got_returns = np.zeros(model.table.n)
        for rec in model.daily_records:
            got_orders += rec["orders"]
            got_returns += rec["returns"]
        for g in groups:
            orders[g] += int(got_orders[names == g].sum())
            returns[g] += int(got_returns[names == g].sum())
    return orders, returns


def draw(data: dict[str, Any], axes: np.ndarray) -> None:
    """The case's figure on ``axes[0]``: each group's returned share (95 % Wilson interval)
    beside its binomial expectation, against the group's true quality."""
    ax = axes[0]
    rows = data["rows"]
    q = np.array([r["quality"] for r in rows])
    theory = np.array([r["theory"] for r in rows])
    k = np.array([r["returns"] for r in rows])
    n = np.array([r["orders"] for r in rows])
    share = k / n
    lo, hi = wilson_interval(k, n, 0.95)
    err = [share - lo, hi - share]
    ax.errorbar(q, share, yerr=err, fmt="o", capsize=4, label="simulated (95 % Wilson)")
    ax.plot(q, theory, "x", ms=10, mew=2, label="binomial expectation")
    for r in rows:
        where = (r["quality"], r["theory"])
        text = f"{r['group']} (P = {r['presented']:g})"
        ax.annotate(text, where, textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set(
        xlabel="true quality of the room's goods",
        ylabel="returned share of orders",
        title="Returns: experienced quality short of what was presented",
        ylim=(0, max(1e-3, 1.2 * float(max(share.max(), theory.max())))),
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
