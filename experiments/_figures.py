"""A study's figure: panels, means with their 95% intervals over seeds, and the title.

Intervals are drawn within the range of what they measure (``bounds``: counts and yuan are
never below zero, shares lie in [0, 1]); a t-interval from few seeds can otherwise reach
below zero. Only the drawing is clipped: summary.csv keeps the t-interval as computed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.intervals import mean_interval

if TYPE_CHECKING:
    from experiments._plan import Plan

Bounds = tuple[float, float]
"""(lowest, highest) value a drawn quantity can take, in the units drawn."""
UNBOUNDED: Bounds = (-math.inf, math.inf)
"""Differences, slopes, log-ratios: any sign."""
NON_NEGATIVE: Bounds = (0.0, math.inf)
"""Counts, yuan, minutes, followers and ratios of them: never below zero."""
SHARE: Bounds = (0.0, 1.0)
"""Shares and probabilities (Gini coefficients too)."""
PERCENT: Bounds = (0.0, 100.0)
"""Shares drawn as percentages."""
CORRELATION: Bounds = (-1.0, 1.0)
"""Correlation coefficients."""


def error_bars(
    mean: np.ndarray, low: np.ndarray, high: np.ndarray, bounds: Bounds = UNBOUNDED
) -> np.ndarray:
    """Matplotlib's ``yerr`` (2, n) for intervals [low, high] around ``mean``, the interval
    clipped to ``bounds`` first; an undefined bound (fewer than 2 values) draws no bar."""
    low = np.clip(np.asarray(low, dtype=float), *bounds)
    high = np.clip(np.asarray(high, dtype=float), *bounds)
    mean = np.asarray(mean, dtype=float)
    return np.nan_to_num(np.vstack([mean - low, high - mean]))


def new_figure(n: int, ncols: int | None = None, width: float = 5.0, height: float = 3.8):
    """A figure with ``n`` panels; returns (fig, flat list of axes). A plain
    :class:`matplotlib.figure.Figure`, drawn by the Agg renderer when saved: no pyplot, so
    neither the process's backend nor pyplot's list of open figures is touched."""
    from matplotlib.figure import Figure

    ncols = ncols or min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    flat = list(axes.ravel())
    for a in flat[n:]:
        a.set_visible(False)
    return fig, flat[:n]


def band(
    ax: Any,
    x: np.ndarray,
    y: np.ndarray,
    label: str,
    color: str | None = None,
    *,
    bounds: Bounds = UNBOUNDED,
    **kw: Any,
) -> None:
    """Mean over replicates (rows of ``y``) with its 95% t-interval as a shaded band, the
    band clipped to ``bounds`` (the range of what ``y`` measures)."""
    y = np.asarray(y, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(y, axis=0)
    lo = np.full_like(mean, np.nan)
    hi = np.full_like(mean, np.nan)
    for j in range(y.shape[1]):
        _, lo[j], hi[j], _ = mean_interval(y[:, j])
    lo, hi = np.clip(lo, *bounds), np.clip(hi, *bounds)
    (line,) = ax.plot(x, mean, label=label, color=color, **kw)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)


def ci_points(
    ax: Any,
    x: Sequence[float],
    values: Sequence[np.ndarray],
    label: str = "",
    color: str | None = None,
    connect: bool = True,
    *,
    bounds: Bounds = UNBOUNDED,
    **kw: Any,
) -> None:
    """Means with 95% t-intervals as error bars at positions ``x``, the bars clipped to
    ``bounds`` (the range of what ``values`` measure)."""
    m, lo, hi = (np.array(v) for v in zip(*(mean_interval(v)[:3] for v in values), strict=True))
    ax.errorbar(
        x,
        m,
        yerr=error_bars(m, lo, hi, bounds),
        fmt="o-" if connect else "o",
        capsize=3,
        label=label,
        color=color,
        **kw,
    )


QUICK_LABEL = "QUICK RUN: smoke test, no verdict"


def finish(fig: Any, path: Path, title: str, plan: Plan) -> None:
    """Title the figure and save it; a quick plan's figure says across its panels that it is
    a smoke test with no verdict (:func:`experiments._report.smoke_test`)."""
    if plan.size == "quick":
        title = f"{title}\n{QUICK_LABEL} ({plan.replicates} seeds per arm)"
        fig.text(
            0.5,
            0.5,
            QUICK_LABEL,
            ha="center",
            va="center",
            rotation=20,
            fontsize=28,
            color="#C44E52",
            alpha=0.25,
        )
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=100)
