"""The one Student-t interval of a mean and the one Wilson interval of a proportion, used by
the sweep analysis, the studies and the validation (through :mod:`simulation.theory`).

The arithmetic is written once, in one order, so equal inputs give equal floats anywhere:
t: ``mean -/+ t_{df,(1+level)/2} * se`` with ``se = sd / sqrt(n)``; Wilson: with
``p = k/n`` and ``denom = 1 + z**2/n``, ``(p + z**2/(2n)) / denom -/+ z / denom *
sqrt(p(1-p)/n + z**2/(4n**2))``.
"""

import math
from collections.abc import Iterable

import numpy as np
from scipy import stats

CONF_LEVEL = 0.95
"""The confidence level of every interval unless a caller asks for another."""


def t_quantile(df: float | np.ndarray, level: float = CONF_LEVEL) -> float | np.ndarray:
    """The two-sided Student-t quantile :math:`t_{df,(1+level)/2}` (NaN where df is NaN)."""
    return stats.t.ppf(0.5 + level / 2, df)


def t_interval(
    mean: np.ndarray, sd: np.ndarray, n: np.ndarray, level: float = CONF_LEVEL
) -> tuple[np.ndarray, np.ndarray]:
    """Student-t intervals of means from their samples' sd and size (arrays of one shape;
    NaN where n < 2 or sd is NaN)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.asarray(sd, dtype=float) / np.sqrt(n)
        half = t_quantile(np.where(n >= 2, n - 1, np.nan), level) * se
    return np.asarray(mean) - half, np.asarray(mean) + half


def mean_interval(x: Iterable[float], level: float = CONF_LEVEL) -> tuple[float, float, float, int]:
    """``(mean, low, high, n)``: the Student-t interval of the finite values of ``x`` (NaN
    mean for none, NaN bounds for fewer than 2)."""
    a = np.asarray(x if isinstance(x, np.ndarray) else list(x), dtype=float).ravel()
    a = a[np.isfinite(a)]
    n = len(a)
    m = float(a.mean()) if n else math.nan
    if n < 2:
        return m, math.nan, math.nan, n
    se = float(a.std(ddof=1)) / math.sqrt(n)
    half = float(t_quantile(n - 1, level)) * se
    return m, m - half, m + half, n


def wilson_interval(
    successes: np.ndarray, n: np.ndarray, level: float = CONF_LEVEL
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score intervals of proportions (arrays or scalars of one shape; NaN where
    n = 0). Not clipped: at 0 or n successes a bound may miss 0 or 1 by a rounding error."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half
