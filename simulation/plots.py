"""Figures. The model never imports this module; commands and studies do.

Figures are drawn with matplotlib's object API (:class:`matplotlib.figure.Figure`, saved
with ``fig.savefig``), which needs no backend: importing this module leaves the caller's
backend (``matplotlib.use``) and pyplot's figure list alone; matplotlib itself is imported
only when a figure is drawn (importing it creates its cache folder under HOME, which a
command refused for bad input must not do, and the studies import :func:`lorenz` early).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from simulation.metrics import gini

SOURCE_COLOURS = {"free": "#4C72B0", "paid": "#DD8452", "follow": "#55A868"}


def lorenz(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve points (share of streams, share of total), both starting at 0."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    total = x.sum()
    cum = (
        np.concatenate(([0.0], np.cumsum(x) / total))
        if total > 0
        else np.linspace(0, 1, len(x) + 1)
    )
    return np.linspace(0, 1, len(x) + 1), cum


def overview(
    ticks: pd.DataFrame,
    streams: pd.DataFrame,
    title: str,
    path: Path,
    tier_history: np.ndarray | None = None,
    tick_minutes: int = 10,
    pools: bool = True,
    policy: str = "",
) -> Path:
    """Four panels: traffic by source per hour, GMV per hour, pool tier of the top rooms
    over time (per tick when ``tier_history`` (ticks, streams) is given, else per day),
    Lorenz curve of GMV across streams.

    ``pools=False`` (a policy without traffic pools: the search funnel and the validation
    policies, whose model is ``always_open``) says so in the tier panel instead of drawing
    the rooms' constant tier 0, which showed as flat lines on a meaningless axis.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 8), layout="constrained")
    ax = fig.subplots(2, 2)
    hours = (ticks["tick"] * tick_minutes / 60).to_numpy()
    hour = np.floor(hours).astype(int)
    by_hour = ticks.groupby(hour)[
        ["free_impressions", "paid_impressions", "follow_impressions", "gmv"]
    ].sum()
    days = by_hour.index.to_numpy() / 24
    a = ax[0, 0]
    a.stackplot(
        days,
        by_hour["free_impressions"],
        by_hour["paid_impressions"],
        by_hour["follow_impressions"],
        labels=["free", "paid", "follow"],
        colors=list(SOURCE_COLOURS.values()),
        alpha=0.85,
    )
    a.set(title="Traffic by source", xlabel="day", ylabel="impressions per hour")
    a.legend(loc="upper left")
    a = ax[0, 1]
    a.plot(days, by_hour["gmv"] / 1000, color="#8172B3")
    a.set(title="GMV", xlabel="day", ylabel="GMV per hour (thousand yuan)")
    a = ax[1, 0]
    if pools:
        _tier_panel(a, streams, tier_history, tick_minutes)
    else:
        no_pools_panel(a, policy)
    a = ax[1, 1]
    totals = streams.groupby("stream")["gmv"].sum().to_numpy()
    x, y = lorenz(totals)
    a.plot(x, y, color="#C44E52", label=f"GMV (Gini {gini(totals):.2f})")
    imp = streams.groupby("stream")["impressions"].sum().to_numpy()
    x2, y2 = lorenz(imp)
    a.plot(x2, y2, color="#4C72B0", ls="--", label=f"impressions (Gini {gini(imp):.2f})")
    a.plot([0, 1], [0, 1], color="grey", lw=0.8)
    a.set(
        title="Concentration across streams",
        xlabel="share of streams (poorest first)",
        ylabel="cumulative share",
    )
    a.legend(loc="upper left")
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    return path


NO_POOLS_WHY = {
    "search_funnel": "listings are ranked by relevance, past sales and reviews",
}
"""What allocates traffic instead, per policy without pools (said in the tier panel)."""


def no_pools_panel(a: object, policy: str) -> None:
    """The tier panel under a policy without traffic pools: says so, draws no axis."""
    a.set(title="Pool tier of the top rooms", xticks=[], yticks=[])
    why = NO_POOLS_WHY.get(policy, "every room is always eligible; there are no tiers")
    a.text(
        0.5,
        0.5,
        f"No traffic pools under the {policy or 'this'} policy:\n{why}.",
        ha="center",
        va="center",
        transform=a.transAxes,
        fontsize=11,
        color="#555555",
    )


def _tier_panel(
    a: object, streams: pd.DataFrame, tier_history: np.ndarray | None, tick_minutes: int
) -> None:
    """The pool tier of the six top rooms by GMV, while live."""
    import matplotlib.ticker

    top = streams.groupby("stream")["gmv"].sum().nlargest(6).index
    for j, s in enumerate(top):
        d = streams[streams["stream"] == s]
        label = f"{d['group'].iloc[0]} #{s} ({d['kind'].iloc[0]})"
        if tier_history is not None:
            tier = tier_history[:, s].astype(float)
            tier[tier < 0] = np.nan
            t_days = np.arange(len(tier)) * tick_minutes / 1440
            a.plot(t_days, tier + 0.06 * (j - 2.5), label=label, alpha=0.85, lw=1.4)
        else:
            a.step(d["day"], d["pool_tier"], where="mid", label=label, alpha=0.85)
    a.set(
        title="Pool tier of the six top rooms by GMV (while live)",
        xlabel="day",
        ylabel="traffic-pool tier",
    )
    a.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    a.legend(fontsize=8, loc="lower right")
