"""The runs of the validation case ``platform_limits``: the mixed platform at its limits
against the pure policies (the case's checks are built in :mod:`simulation.validation`).

At ``platform.search_share`` 0 the mixed platform (:mod:`simulation.distribution.mixed`)
must be the interest feed, and at 1 the search funnel. For each seed the case builds the same
scenario twice, once under ``mixed`` and once under the pure policy of that limit, and
compares the runs' totals of :data:`STATISTICS`. The check per statistic is an equivalence
test (two one-sided t-tests, TOST) on the per-seed differences relative to the pure policy's
mean over the seeds, with the margin :data:`MARGIN`: it passes only when the data show the
difference to be within 1 % of the pure mean (a non-significant difference would not do).

The design makes the limits exact (the delegate policy alone is built, on the same
generators, with no propensity drawn), so the differences are 0; if a limit were broken — an
extra draw, a different pacing — the runs would differ by their run-to-run noise (several
per cent of GMV at the case's size, far more of ad spend) and the test would fail.

Just inside the limits (``search_share`` = ``inside`` and 1 − ``inside``, the same seeds)
the case also reports, without a verdict, how far the platform moves from the pure policy:
an O(inside) effect plus the noise of runs whose draws diverge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.config import ConfigError, Scenario, replace
from simulation.model import SnowballModel

MARGIN = 0.01
"""Equivalence margin: a difference within 1 % of the pure policy's mean counts as none."""

PURE = {0.0: "interest_feed", 1.0: "search_funnel"}
"""The pure policy at each limit of ``search_share``."""

STATISTICS = {"GMV": "gmv", "impressions": "impressions", "ad spend": "ad_spend"}
"""Run totals compared (label -> column of the daily stream table)."""


@dataclass
class LimitRuns:
    """One limit's runs: totals per seed (seeds x :data:`STATISTICS`) under the pure policy,
    the mixed platform at the limit and just inside it, and the relative differences."""

    share: float
    near: float
    pure: np.ndarray
    mixed: np.ndarray
    inside: np.ndarray

    @property
    def policy(self) -> str:
        return PURE[self.share]

    @property
    def difference(self) -> np.ndarray:
        return relative_differences(self.mixed, self.pure)

    @property
    def inside_difference(self) -> np.ndarray:
        return relative_differences(self.inside, self.pure)


def check_limit(sc: Scenario) -> float:
    """The scenario's share, if it is a limit of the mixed platform.

    Raises
    ------
    ConfigError
        Naming the key, when the policy is not ``mixed`` or the share is not 0 or 1.
    """
    if sc.policy != "mixed":
        raise ConfigError(sc.name, "policy", sc.policy, "must be 'mixed' here")
    share = sc.platform.search_share
    if share not in PURE:
        raise ConfigError(sc.name, "platform.search_share", share, "must be 0 or 1 here (a limit)")
    return share


def run_totals(sc: Scenario, seed: int) -> np.ndarray:
    """The run's totals of :data:`STATISTICS`, in that order (float64)."""
    model = SnowballModel(sc, seed)
    model.run_days()
    rec = model.daily_records
    return np.array([sum(float(r[col].sum()) for r in rec) for col in STATISTICS.values()])


def relative_differences(mixed: np.ndarray, pure: np.ndarray) -> np.ndarray:
    """(mixed − pure) per run, over the pure policy's mean per statistic (runs x stats); a
    statistic whose pure mean is 0 is compared in absolute terms (0 / 0 would hide a
    difference)."""
    scale = np.abs(pure.mean(axis=0))
    return (mixed - pure) / np.where(scale > 0, scale, 1.0)


def limit_runs(sc: Scenario, seeds: list[int], inside: float) -> LimitRuns:
    """Run ``sc`` (the mixed platform at a limit), its pure policy and the platform just
    ``inside`` the limit, each with every seed."""
    share = check_limit(sc)
    near = abs(share - inside)
    pure_sc = replace(sc, policy=PURE[share])
    near_sc = replace(sc, **{"platform.search_share": near})
    return LimitRuns(
        share,
        near,
        np.array([run_totals(pure_sc, s) for s in seeds]),
        np.array([run_totals(sc, s) for s in seeds]),
        np.array([run_totals(near_sc, s) for s in seeds]),
    )
