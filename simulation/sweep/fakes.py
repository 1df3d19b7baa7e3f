"""Small deterministic runners for tests, and for checking a cluster set-up without the
simulator.

Each is a top-level function ``runner(params, seed) -> {metric: value}``, deterministic in
(params, seed), so it can be pickled to worker processes and Dask workers. Select one for a
``snowball sweep`` subprocess with ``SNOWBALL_SWEEP_RUNNER=simulation.sweep.fakes:toy_runner``
(test use only).

None of these is a model of anything; ``toy_runner`` only mimics the simulator's metric names
and a take-off probability that rises with persuasion and daily budget, so the analysis and
its figures have something shaped like a real sweep to show.
"""

import math
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.sweep.runners import METRICS

PERSUASION = "streams.focal.persuasion"
BUDGET = "streams.focal.campaign.daily_budget"
DELAY_ENV = "SNOWBALL_SWEEP_TEST_DELAY"


def _number(params: dict[str, Any], key: str, default: float) -> float:
    v = params.get(key, default)
    if isinstance(v, list | tuple):
        v = sum(v) / len(v)
    return float(v)


def toy_runner(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """A made-up response with the simulator's metric names.

    P(take-off) = logistic(4 (q - 1) + 1.5 log(1 + budget / 500) - 1.2 + 0.3 e) with
    q = persuasion / 0.05 and e a smooth function of any other numeric parameter.
    """
    rng = np.random.default_rng(seed)
    q = _number(params, PERSUASION, 0.05) / 0.05
    budget = _number(params, BUDGET, 500.0)
    extra = sum(
        math.sin(1.0 + float(v))
        for k, v in params.items()
        if k not in (PERSUASION, BUDGET) and isinstance(v, int | float) and not isinstance(v, bool)
    )
    z = 4.0 * (q - 1.0) + 1.5 * math.log1p(budget / 500.0) - 1.2 + 0.3 * extra
    p = 1.0 / (1.0 + math.exp(-z))
    took_off = bool(rng.random() < p)
    focal_gmv = (
        1000.0
        * q
        * (1.0 + budget / 1000.0)
        * (3.0 if took_off else 1.0)
        * float(rng.lognormal(0.0, 0.3))
    )
    ad_spend = budget * 7.0 * float(rng.uniform(0.9, 1.0))
    paid = int(rng.poisson(20.0 * ad_spend))
    free = int(rng.poisson(5000.0 * q * (4.0 if took_off else 1.0)))
    follow = int(rng.poisson(300.0 * q * (3.0 if took_off else 1.0)))
    total_gmv = focal_gmv + float(rng.gamma(20.0, 500.0))
    return {
        "total_gmv": total_gmv,
        "focal_gmv": focal_gmv,
        "focal_final_tier": int(min(4, max(0, round(4 * p + rng.normal(0.0, 0.5))))),
        "free_impressions": free,
        "paid_impressions": paid,
        "follow_impressions": follow,
        "ad_spend": ad_spend,
        "roi": focal_gmv / ad_spend if ad_spend > 0 else math.nan,
        "leverage": math.nan,
        "gini_gmv": float(np.clip(0.3 + 0.3 * p + rng.normal(0.0, 0.02), 0.0, 1.0)),
        "top10_share_gmv": float(np.clip(0.4 + 0.3 * p + rng.normal(0.0, 0.02), 0.0, 1.0)),
        "took_off": took_off,
    }


toy_runner.metrics = METRICS  # type: ignore[attr-defined]


def failing_runner(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """``toy_runner``, but raises ``ValueError`` for points with a daily budget >= 4000."""
    if _number(params, BUDGET, 0.0) >= 4000.0:
        raise ValueError("the toy model refuses budgets of 4000 yuan or more")
    return toy_runner(params, seed)


failing_runner.metrics = METRICS  # type: ignore[attr-defined]


def slow_runner(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """``toy_runner`` after sleeping ``SNOWBALL_SWEEP_TEST_DELAY`` seconds (default 0.2)."""
    time.sleep(float(os.environ.get(DELAY_ENV, "0.2")))
    return toy_runner(params, seed)


slow_runner.metrics = METRICS  # type: ignore[attr-defined]


KILL_ENV = "SNOWBALL_SWEEP_KILL_SEEDS"


@dataclass(frozen=True)
class KillingRunner:
    """``toy_runner``, but SIGKILLs its own worker process for the runs whose seeds are
    listed: what the out-of-memory killer or a segfault does. In the driver's own process
    (``--jobs 1``) it raises instead of killing the driver."""

    seeds: tuple[int, ...]
    name = "simulation.sweep.fakes:KillingRunner"
    metrics = METRICS

    def __call__(self, params: dict[str, Any], seed: int) -> dict[str, Any]:
        """Die for a chosen seed, else return ``toy_runner``'s metrics."""
        import multiprocessing
        import signal

        if seed in self.seeds:
            if multiprocessing.parent_process() is None:
                raise RuntimeError("KillingRunner would kill the driver: use worker processes")
            os.kill(os.getpid(), signal.SIGKILL)
        return toy_runner(params, seed)


def killing_runner(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """:class:`KillingRunner` for the seeds listed (comma-separated) in
    ``SNOWBALL_SWEEP_KILL_SEEDS``, for ``snowball sweep`` subprocesses."""
    chosen = tuple(int(s) for s in os.environ.get(KILL_ENV, "").split(",") if s.strip())
    return KillingRunner(chosen)(params, seed)


killing_runner.metrics = METRICS  # type: ignore[attr-defined]


ISHIGAMI_A = 7.0
ISHIGAMI_B = 0.1


def ishigami(
    x1: float, x2: float, x3: float, a: float = ISHIGAMI_A, b: float = ISHIGAMI_B
) -> float:
    """The Ishigami function sin x1 + a sin^2 x2 + b x3^4 sin x1 (inputs in [-pi, pi])."""
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)


def ishigami_indices(
    a: float = ISHIGAMI_A, b: float = ISHIGAMI_B
) -> dict[str, tuple[float, float, float]]:
    """Analytic first-order (S1) and total-order (ST) Sobol indices of :func:`ishigami`
    with independent U(-pi, pi) inputs."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": (v1 / v, v2 / v, 0.0), "ST": ((v1 + v13) / v, v2 / v, v13 / v)}


def ishigami_runner(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """The Ishigami function of the first three parameters (in spec order), each mapped
    from [0, 1] to [-pi, pi] (x = -pi + 2 pi u; Sobol indices do not change under such an
    affine map, so any three scenario keys ranging over [0, 1] will do)."""
    values = [float(v) for v in params.values()]
    if len(values) < 3:
        raise ValueError("the Ishigami runner needs three parameters")
    x = [-math.pi + 2.0 * math.pi * u for u in values[:3]]
    return {"ishigami": ishigami(x[0], x[1], x[2])}


ishigami_runner.metrics = ("ishigami", "wall_seconds")  # type: ignore[attr-defined]
