"""Figures of ``snowball analyze``: the sensitivity bar chart, the phase diagram and the
response curve. Every figure states what its numbers are (mean over how many runs), shows the
95% interval and labels units. Kept apart from the analysis so the model and the driver never
import matplotlib. Figures are built with matplotlib's object API (a ``Figure`` with its own
Agg canvas), so importing or using this module leaves the user's backend and pyplot's state
alone.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from simulation.atomic import atomic_path
from simulation.sweep.labels import METRIC_LABELS, metric_label, plural

if TYPE_CHECKING:  # annotations only: the analysis imports this module to draw
    from simulation.sweep.analysis import PhaseSurface, SweepData

TOOK_OFF_TEXT = (
    "Took off: on its last live day the focal room's free impressions are at "
    "least {multiple:g} x the median of the rooms live that day"
)


def _figure(figsize: tuple[float, float]) -> Figure:
    """A figure on its own Agg canvas (no pyplot, no backend switch)."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> None:
    with atomic_path(path, fsync=False) as tmp:
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight")


_BARS = {
    True: (
        ("ST", "ST_conf", "#1f77b4", "total order ST"),
        ("S1", "S1_conf", "#ff7f0e", "first order S1"),
    ),
    False: (
        ("mu_star", "mu_star_conf", "#1f77b4", "mu* (mean |elementary effect|)"),
        ("sigma", None, "#9467bd", "sigma (spread: interactions, non-linearity)"),
    ),
}
"""The two bars per parameter of a Sobol (True) or Morris (False) panel: column, interval
column, colour, label."""

WIDE_INTERVAL = 0.25
"""Median half-width of the ST intervals above which a panel warns the reader."""


def _took_off_multiple() -> float:
    try:
        from simulation.api import TOOK_OFF_MULTIPLE
    except ImportError:  # pragma: no cover - the API defines it
        return 3.0
    return float(TOOK_OFF_MULTIPLE)


def _axis_label(key: str, doc: str, width: int = 60) -> str:
    if not doc:
        return key
    return key + "\n" + "\n".join(textwrap.wrap(doc, width))


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.4g}"
    return str(v)


def sensitivity_chart(table: pd.DataFrame, metrics: list[str], data: SweepData, path: Path) -> None:
    """One panel per metric: Sobol S1 and ST (or Morris mu* and sigma) per parameter, with
    95% bootstrap intervals, parameters sorted by importance."""
    n = len(metrics)
    n_par = len(data.names)
    fig = _figure((6.5 * n + 2.5, max(3.6, 1.8 + 0.55 * n_par)))
    axes = fig.subplots(1, n, squeeze=False)
    method = table["method"].iloc[0]
    for ax, metric in zip(axes[0], metrics, strict=True):
        part = table[table["metric"] == metric]
        is_bool = metric == "took_off" or (metric in data.metrics and data.is_bool(metric))
        y = np.arange(len(part))
        sobol = method == "sobol"
        part = part.sort_values("ST" if sobol else "mu_star", ascending=True)
        h = 0.38
        for offset, (col, conf, color, label) in zip((h / 2, -h / 2), _BARS[sobol], strict=True):
            xerr = part[conf] if conf else None
            ax.barh(y + offset, part[col], h, xerr=xerr, color=color, capsize=3, label=label)
        if sobol:
            ax.axvline(0, color="0.3", lw=0.8)
            ax.set_xlabel("Sobol index: share of the variance of the point means")
            hi = float(
                np.nanmax(part[["ST", "S1"]].to_numpy() + part[["ST_conf", "S1_conf"]].to_numpy())
            )
            lo = float(
                np.nanmin(part[["ST", "S1"]].to_numpy() - part[["ST_conf", "S1_conf"]].to_numpy())
            )
            # indices live in [0, 1]; estimation noise may spill over, but not unboundedly
            ax.set_xlim(max(-0.5, min(-0.05, lo - 0.02)), min(1.5, max(1.0, hi + 0.02)))
            if float(np.nanmedian(part["ST_conf"])) > WIDE_INTERVAL:
                ax.text(
                    0.98,
                    0.99,
                    "wide intervals: raise design.samples or replicates",
                    transform=ax.transAxes,
                    ha="right",
                    va="top",
                    fontsize=8,
                    color="#b22222",
                )
        else:
            unit = METRIC_LABELS.get(metric, (metric, ""))[1] or "units of the metric"
            if is_bool:
                unit = "change in probability"
            ax.set_xlabel(f"{unit} per full range of the parameter")
        ax.set_yticks(y)
        ax.set_yticklabels(part["parameter"], fontsize=8)
        ax.set_title(metric_label(metric, is_bool), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    d = data.design_opts
    if method == "sobol":
        what = (
            f"Sobol indices (Saltelli design, N = {d['samples']} base samples, "
            f"{len(data.design)} points x {plural(data.replicates, 'replicate')}); "
            "error bars: 95% bootstrap intervals"
        )
    else:
        what = (
            f"Morris screening ({d['samples']} trajectories, {d['levels']} levels, "
            f"{plural(data.replicates, 'replicate')} per point); error bars: 95% bootstrap "
            "intervals of mu*"
        )
    fig.suptitle(f"{data.name}: which parameters matter\n{what}", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def phase_diagram(s: PhaseSurface, data: SweepData, path: Path, level: float | None) -> None:
    """Heat map of the metric's mean over two parameters with threshold contours."""
    _save(phase_figure(s, data, level), path)


LABEL_ZORDER = 4
"""Cell labels sit above the contours (zorder 2), on a patch of their cell's colour, so a
contour never runs through a number."""


def phase_figure(s: PhaseSurface, data: SweepData, level: float | None) -> Figure:
    """The phase diagram as a figure (see :func:`phase_diagram`); its legend lists only the
    contours that were drawn."""
    fig = _figure((8.5, 6.5))
    ax = fig.subplots()
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    vmin, vmax = (0.0, 1.0) if s.is_bool else (np.nanmin(s.mean), np.nanmax(s.mean))
    mean = np.ma.masked_invalid(s.mean)
    grid = s.x_edges is None
    if grid:
        nx, ny = len(s.x), len(s.y)
        im = ax.imshow(
            mean,
            origin="lower",
            aspect="auto",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            extent=(-0.5, nx - 0.5, -0.5, ny - 0.5),
            interpolation="nearest",
        )
        cx, cy = np.arange(nx), np.arange(ny)
        ax.set_xticks(cx)
        ax.set_xticklabels([_fmt(v) for v in s.x], rotation=45 if nx > 8 else 0)
        ax.set_yticks(cy)
        ax.set_yticklabels([_fmt(v) for v in s.y])
        if nx * ny <= 200:
            for i in range(ny):
                for j in range(nx):
                    val = s.mean[i, j]
                    finite = bool(np.isfinite(val))
                    frac = (val - vmin) / (vmax - vmin) if finite and vmax > vmin else 0.5
                    ax.text(
                        j,
                        i,
                        (f"{val:.2f}" if s.is_bool else f"{val:.3g}") if finite else "no\nvalue",
                        ha="center",
                        va="center",
                        fontsize=7 if finite else 6,
                        color=("black" if frac > 0.6 else "white") if finite else "0.3",
                        zorder=LABEL_ZORDER,
                        bbox={
                            "boxstyle": "round,pad=0.2",
                            "facecolor": im.to_rgba(val) if finite else "0.85",
                            "edgecolor": "none",
                        },
                    )
    else:
        im = ax.pcolormesh(
            s.x_edges, s.y_edges, mean, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat"
        )
        cx, cy = s.x, s.y
        for key, setter in ((s.x_key, ax.set_xscale), (s.y_key, ax.set_yscale)):
            if any(p["key"] == key and p.get("log") for p in data.parameters):
                setter("log")
    drawn: list[str] = []
    if level is not None and len(cx) >= 2 and len(cy) >= 2:
        if _contour(ax, cx, cy, s.mean, level, "-", 2.2):
            drawn.append("mean")
        bounds = [_contour(ax, cx, cy, z, level, "--", 1.2) for z in (s.low, s.high)]
        if any(bounds):
            drawn.append("bound")
    if drawn:
        handles = {
            "mean": Line2D([], [], color="black", ls="-", lw=2.2, label=f"mean = {level:g}"),
            "bound": Line2D(
                [], [], color="black", ls="--", lw=1.2, label=f"95% interval bound = {level:g}"
            ),
        }
        ax.legend(
            handles=[handles[k] for k in drawn], loc="upper left", fontsize=8, framealpha=0.85
        )
    cbar = fig.colorbar(im, ax=ax)
    cbar.set_label(("mean " if not s.is_bool else "") + metric_label(s.metric, s.is_bool))
    ax.set_xlabel(_axis_label(s.x_key, data.doc(s.x_key)))
    ax.set_ylabel(_axis_label(s.y_key, data.doc(s.y_key), 45))
    counts = s.n[np.isfinite(s.n) & (s.n > 0)].astype(int)
    if not counts.size:
        n_text = "0 runs"
    elif counts.min() == counts.max():
        n_text = plural(int(counts.min()), "run")
    else:
        n_text = f"{counts.min()}-{counts.max()} runs"
    sub = f"each cell: mean of {n_text}"
    if not grid:
        sub += " (sampled points binned)"
    if s.averaged_over:
        sub += f", averaged over {', '.join(s.averaged_over)}"
    notes = []
    if level is not None and "mean" in drawn:
        notes.append(
            f"Solid line: the mean crosses {level:g}."
            + (
                f" Dashed: the lower or upper bound of its 95% interval "
                f"({'Wilson' if s.is_bool else 'Student t'}) crosses it; outside the dashed "
                "lines the side of the threshold is clear at 95%."
                if "bound" in drawn
                else ""
            )
        )
    elif level is not None and "bound" in drawn:
        notes.append(
            f"Dashed: a bound of the mean's 95% interval crosses {level:g}; the mean itself "
            "stays on one side."
        )
    elif level is not None:
        notes.append(f"The mean and its 95% interval stay on one side of {level:g} everywhere.")
    if np.isnan(s.mean).any():
        notes.append("Grey cells: no successful run.")
    if s.metric == "took_off":
        notes.append(TOOK_OFF_TEXT.format(multiple=_took_off_multiple()) + ".")
    title = METRIC_LABELS.get(s.metric, (s.metric, ""))[0]
    ax.set_title(f"{data.name}: {title}\n{sub}", fontsize=10)
    if notes:
        fig.text(
            0.01,
            0.0,
            "\n".join(textwrap.fill(n, 120) for n in notes),
            fontsize=7.5,
            ha="left",
            va="top",
            color="0.25",
        )
    fig.tight_layout()
    return fig


def _contour(
    ax: Any, x: np.ndarray, y: np.ndarray, z: np.ndarray, level: float, style: str, width: float
) -> bool:
    """Draw the ``level`` contour of ``z`` (shape (len(y), len(x))) if it crosses it; say
    whether it did."""
    finite = z[np.isfinite(z)]
    if not (finite.size and finite.min() < level < finite.max()):
        return False
    ax.contour(
        x,
        y,
        np.ma.masked_invalid(z),
        levels=[level],
        colors="black",
        linestyles=style,
        linewidths=width,
        zorder=2,
    )
    return True


def response_curve(
    table: pd.DataFrame,
    key: str,
    metric: str,
    is_bool: bool,
    data: SweepData,
    path: Path,
    level: float | None,
) -> None:
    """Mean and 95% interval of the metric against the one varied parameter."""
    fig = _figure((7.5, 5))
    ax = fig.subplots()
    t = table.sort_values("x")
    x = t["x"].astype(float).to_numpy()
    ax.plot(x, t["mean"], "o-", color="#1f77b4", label="mean")
    ax.fill_between(
        x,
        t["ci_low"],
        t["ci_high"],
        color="#1f77b4",
        alpha=0.25,
        label="95% interval" + (" (Wilson)" if is_bool else " (t)"),
    )
    if level is not None:
        ax.axhline(level, color="black", ls=":", lw=1, label=f"threshold {level:g}")
    if any(p["key"] == key and p.get("log") for p in data.parameters):
        ax.set_xscale("log")
    ax.set_xlabel(_axis_label(key, data.doc(key)))
    ax.set_ylabel(("mean " if not is_bool else "") + metric_label(metric, is_bool))
    lo, hi = int(t["n"].min()), int(t["n"].max())
    per_point = plural(lo, "run") if lo == hi else f"{lo}-{hi} runs"
    ax.set_title(f"{data.name}: {metric} against {key}\n{per_point} per point", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
