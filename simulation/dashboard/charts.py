"""The dashboard's charts: matplotlib figures of a :class:`DashboardModel`, with captions.

Each ``*_figure(model)`` returns a :class:`matplotlib.figure.Figure` (object API, no pyplot
state, so sessions never share a figure) sized for one cell of the page's grid. The x axis of
the time charts always spans the whole run, so students watch it fill in. :data:`CAPTIONS`
holds the sentence printed under each chart: what to look for (:func:`caption` adapts it to
the model, e.g. under a policy without traffic pools).
"""

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from simulation.dashboard.session import POLICY_LABELS, DashboardModel
from simulation.metrics import top_share
from simulation.plots import SOURCE_COLOURS, lorenz

FIGSIZE = (5.6, 3.1)
"""Inches; at 100 dpi one chart fills a half-width cell of the page's grid."""
DPI = 100
REFRESH_TICKS = 18
"""A chart whose data did not change is still redrawn every this many ticks (3 hours)."""
GMV_COLOUR = "#8172B3"
ROI_COLOUR = "#C44E52"
TIER_COLOUR = "#4C72B0"
BUDGET_COLOUR = "#55A868"
SPEND_COLOUR = "#DD8452"
PROFIT_COLOUR = "#2F2F2F"

CAPTIONS = {
    "traffic": "Does free traffic (blue) grow day after day behind paid traffic (orange), or "
    "stay flat while the ads keep burning budget?",
    "gmv": "Sales per day (bars) and the paid GMV each yuan of ads brought back that day "
    "(line): does it hold up as the budget grows, or sink below 1 (dashed: less paid GMV than "
    "ad spend)? With profit accounting on (every preset but v1 and funnel_v1), the dark "
    "squares are each day's profit after goods, fees, commission, returns, ads, host and "
    "capacity.",
    "tier": "A room that climbs above its peers (grey) into a bigger traffic pool, and stays "
    "there through its live hours, is snowballing.",
    "budget": "The strategy sets each day's budget (green outline); the room spends (orange) "
    "only what it wins in the auction while it is live. Budget far above the spend is money "
    "the room could not spend: raising it buys no more traffic.",
    "fans": "A rising follower line and a growing fan share of impressions (dots) mean the "
    "room is building an audience that comes back without any ad spend.",
    "gini": "Does inequality keep climbing as the rooms that got ahead get ever more traffic "
    "(run the same seed under the search funnel to compare)?",
    "lorenz": "The further the curve sags below the diagonal, the more of the platform's GMV "
    "a few rooms take (Gini 0 = equal, 1 = one room takes all); the dot is the focal room.",
}


NO_POOLS_CAPTION = (
    "The {policy} has no traffic pools: every listing is always eligible, ranked by "
    "relevance, past sales and reviews, so there is no tier to climb (compare the interest "
    "feed)."
)


def _no_pools(model: DashboardModel) -> str | None:
    """The policy's name if it has no traffic pools (the search funnel), else None."""
    if model.sim is None or not model.sim.always_open:
        return None
    return POLICY_LABELS.get(model.config.policy, model.config.policy).split(" (")[0]


def caption(name: str, model: DashboardModel) -> str:
    """The sentence under chart ``name``: :data:`CAPTIONS`, except where the model makes it
    wrong (the tier chart under a policy without traffic pools)."""
    policy = _no_pools(model)
    if name == "tier" and policy is not None:
        return NO_POOLS_CAPTION.format(policy=policy)
    return CAPTIONS[name]


def _figure(twin: bool = False) -> tuple[Figure, Axes]:
    """A figure with fixed margins (much cheaper to redraw every frame than a layout
    engine); ``twin`` leaves room for a right-hand axis."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    fig.subplots_adjust(left=0.12, right=0.86 if twin else 0.97, top=0.9, bottom=0.15)
    return fig, fig.subplots()


def _message(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, color="#555555")
    ax.set_axis_off()


def _unavailable(model: DashboardModel, ax: Axes, needs_focal: bool = True) -> bool:
    """Write why there is nothing to draw into ``ax``; False if there is something."""
    if model.sim is None:
        _message(ax, "No model yet: fix the controls\n(see the message above) and press Reset.")
        return True
    if needs_focal and not model.has_focal:
        _message(ax, f'The preset "{model.controls.scenario}" has no focal room.')
        return True
    return False


def _tick_days(model: DashboardModel, n: int) -> np.ndarray:
    """End of each of the first ``n`` ticks, in days from the start."""
    return (np.arange(n) + 1) * model.tick_minutes / 1440


def _per_day(model: DashboardModel, series: np.ndarray) -> np.ndarray:
    """Sum a per-tick series by day (the current, partial day included)."""
    tpd = 1440 // model.tick_minutes
    days = -(-len(series) // tpd)
    padded = np.zeros(days * tpd)
    padded[: len(series)] = series
    return padded.reshape(days, tpd).sum(axis=1)


def _time_axis(ax: Axes, model: DashboardModel) -> None:
    ax.set_xlim(0, model.days)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    ax.set_xlabel("day")
    ax.grid(alpha=0.25)


def _day_axis(ax: Axes, model: DashboardModel) -> None:
    ax.set_xlim(0.4, model.days + 0.6)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    ax.set_xlabel("day")
    ax.grid(axis="y", alpha=0.25)


def traffic_figure(model: DashboardModel) -> Figure:
    """The focal room's impressions per day, stacked by source (free, paid, follow)."""
    fig, ax = _figure()
    ax.set_title("Focal room: impressions per day by source")
    if _unavailable(model, ax):
        return fig
    h = model.history
    bottom = None
    for source in ("free", "paid", "follow"):
        per_day = _per_day(model, h[source])
        x = np.arange(1, len(per_day) + 1)
        ax.bar(
            x,
            per_day,
            bottom=bottom,
            color=SOURCE_COLOURS[source],
            label=source,
            width=0.8,
        )
        bottom = per_day if bottom is None else bottom + per_day
    _day_axis(ax, model)
    ax.set_ylabel("impressions")
    ax.set_ylim(bottom=0, top=max(10.0, 1.3 * float(bottom.max(initial=0))))
    handles = [Patch(color=SOURCE_COLOURS[s], label=s) for s in ("free", "paid", "follow")]
    ax.legend(handles=handles, loc="upper left", fontsize=8, ncols=3)
    return fig


def gmv_figure(model: DashboardModel) -> Figure:
    """The focal room's GMV per day (bars) and paid ROI per day (line, right axis)."""
    fig, ax = _figure(twin=True)
    ax.set_title("Focal room: GMV and return on ad spend")
    if _unavailable(model, ax):
        return fig
    h = model.history
    gmv = _per_day(model, h["gmv"])
    x = np.arange(1, len(gmv) + 1)
    ax.bar(x, gmv / 1000, color=GMV_COLOUR, alpha=0.8, width=0.8, label="GMV")
    _day_axis(ax, model)
    ax.set_ylim(bottom=0, top=max(1.0, 1.15 * float(gmv.max(initial=0)) / 1000))
    ax.set_ylabel("GMV per day (thousand yuan)")
    profit = model.daily_profit()
    if profit is not None and len(profit):  # booked at the end of each day
        px = np.arange(1, len(profit) + 1)
        ax.plot(px, profit / 1000, color=PROFIT_COLOUR, marker="s", ms=4, lw=1.4, label="profit")
        ax.axhline(0.0, color="0.3", lw=0.6)
        low = min(0.0, 1.15 * float(profit.min()) / 1000)
        high = max(1.0, 1.15 * float(max(gmv.max(initial=0), profit.max())) / 1000)
        ax.set_ylim(low, high)
        ax.set_ylabel("GMV and profit per day (thousand yuan)")
        ax.legend(loc="upper left", fontsize=8)
    spend = _per_day(model, h["ad_spend"])
    roi_ax = ax.twinx()
    if spend.sum() > 0:
        tpd = 1440 // model.tick_minutes
        cum = h["paid_gmv_cum"]
        ends = np.minimum(np.arange(1, len(gmv) + 1) * tpd, len(cum)) - 1
        paid_gmv = np.diff(np.concatenate(([0.0], cum[ends])))
        with np.errstate(divide="ignore", invalid="ignore"):
            roi = np.where(spend > 0, paid_gmv / spend, np.nan)
        roi_ax.plot(x, roi, color=ROI_COLOUR, marker="o", ms=4, lw=1.6, label="ROI")
        roi_ax.axhline(1.0, color=ROI_COLOUR, ls="--", lw=0.8, alpha=0.7)
        top = np.nanmax(roi) if np.isfinite(roi).any() else 1.0
        roi_ax.set_ylim(0, max(2.0, 1.15 * top))
    else:
        roi_ax.text(
            0.98,
            0.92,
            "no ad spend: no ROI",
            transform=ax.transAxes,
            ha="right",
            color=ROI_COLOUR,
            fontsize=8,
        )
        roi_ax.set_ylim(0, 2)
    roi_ax.set_ylabel("paid GMV ÷ ad spend", color=ROI_COLOUR)
    roi_ax.tick_params(axis="y", colors=ROI_COLOUR)
    return fig


def tier_figure(model: DashboardModel) -> Figure:
    """The focal room's traffic-pool tier while it is live, and its live peers' median.

    The x axis joins the room's live hours end to end (a room is on air a few hours a day,
    so on a calendar axis each session would be a sliver); dotted lines mark a new day.
    """
    fig, ax = _figure()
    ax.set_title("Focal room: traffic-pool tier while live")
    if _unavailable(model, ax):
        return fig
    caps = model.config.feed.tier_caps
    ax.set_ylim(-0.3, len(caps) - 1 + 0.9)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("pool tier (0 = cold start)")
    ax.grid(alpha=0.25)
    policy = _no_pools(model)
    if policy is not None:
        _message(
            ax,
            f"The {policy} has no traffic pools:\nlistings are ranked by relevance, "
            "past sales and reviews.",
        )
        return fig
    h = model.history
    hours_per_tick = model.tick_minutes / 60
    t = model.sim.table
    f = model.focal
    planned = int((t.days_on[f].any(axis=0)).sum() * t.duration_ticks[f].max())
    ax.set_xlim(0, max(planned, 1) * hours_per_tick)
    ax.set_xlabel("hours on air (dotted line: a new day)")
    live = np.flatnonzero(~np.isnan(h["tier"]))
    if len(live) == 0:
        ax.text(0.5, 0.5, "not live yet", transform=ax.transAxes, ha="center", color="#555555")
        return fig
    x = np.arange(len(live) + 1) * hours_per_tick
    day = live * model.tick_minutes // 1440
    for k in np.flatnonzero(np.diff(day)) + 1:
        ax.axvline(x[k], color="#999999", ls=":", lw=0.8)
    tier = h["tier"][live]
    peers = h["peer_tier"][live]
    ax.stairs(peers, x, color="grey", ls="--", lw=1, label="median live peer", baseline=None)
    ax.stairs(tier, x, color=TIER_COLOUR, lw=2, label="focal room", baseline=None)
    ax.legend(loc="upper left", fontsize=8, ncols=2)
    return fig


def budget_figure(model: DashboardModel) -> Figure:
    """The focal campaign's daily budget (as its strategy set it) against its ad spend per
    day: how much of what the strategy offered the room could spend."""
    fig, ax = _figure()
    ax.set_title("Focal room: daily ad budget and spend")
    if _unavailable(model, ax):
        return fig
    h = model.history
    budget = daily_budget(model)
    if not budget.any() and not h["ad_spend"].any():
        _message(ax, f'The focal room has no ad campaign (strategy "{model.controls.strategy}").')
        return fig
    spend = _per_day(model, h["ad_spend"])
    x = np.arange(1, len(spend) + 1)
    ax.bar(x, spend, color=SPEND_COLOUR, width=0.6, label="spent")
    ax.bar(x, budget, width=0.8, fill=False, edgecolor=BUDGET_COLOUR, lw=1.8, label="budget")
    _day_axis(ax, model)
    ax.set_ylabel("yuan per day")
    top = max(float(budget.max(initial=0)), float(spend.max(initial=0)))
    ax.set_ylim(0, max(10.0, 1.3 * top))
    ax.legend(loc="upper left", fontsize=8, ncols=2)
    return fig


def daily_budget(model: DashboardModel) -> np.ndarray:
    """The focal campaigns' budget for each day run so far (the current day included),
    yuan: the value in force at the day's first tick."""
    tpd = 1440 // model.tick_minutes
    return model.history["budget"][::tpd].copy()


def fans_figure(model: DashboardModel) -> Figure:
    """The focal room's followers over time and the fan share of its impressions per day."""
    fig, ax = _figure(twin=True)
    ax.set_title("Focal room: fans")
    if _unavailable(model, ax):
        return fig
    h = model.history
    x = _tick_days(model, model.ticks)
    ax.plot(x, h["fans"], color=SOURCE_COLOURS["follow"], lw=2, label="followers")
    _time_axis(ax, model)
    ax.set_ylabel("followers", color=SOURCE_COLOURS["follow"])
    ax.set_ylim(bottom=0, top=max(10.0, 1.4 * float(h["fans"].max(initial=0))))
    share_ax = ax.twinx()
    follow = _per_day(model, h["follow"])
    total = follow + _per_day(model, h["free"]) + _per_day(model, h["paid"])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, follow / total, np.nan)
    days = np.arange(1, len(share) + 1) - 0.5  # the middle of each day
    share_ax.plot(days, 100 * share, "o", color="#333333", ms=4, label="fan share of impressions")
    lines = ax.get_lines() + share_ax.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="upper left", fontsize=8)
    share_ax.set_ylim(0, max(10.0, 1.4 * float(np.nanmax(100 * share, initial=0))))
    share_ax.set_ylabel("follow-channel share of impressions (%)", fontsize=8)
    return fig


def lorenz_figure(model: DashboardModel) -> Figure:
    """Lorenz curve of cumulative GMV across all streams, with the focal room marked."""
    fig, ax = _figure()
    if _unavailable(model, ax, needs_focal=False):
        ax.set_title("GMV across rooms (Lorenz curve)")
        return fig
    sim = model.sim
    gmv = sim.cum_gmv
    g = model.summary()["gini"]
    ax.set_title(f"GMV across {len(gmv)} rooms: Gini {g:.2f}")
    x, y = lorenz(gmv)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.plot(x, y, color=ROI_COLOUR, lw=2)
    ax.fill_between(x, y, x, color=ROI_COLOUR, alpha=0.08)
    if model.has_focal and gmv.sum() > 0:
        order = np.argsort(gmv, kind="stable")
        rank = int(np.flatnonzero(order == model.focal[0])[0]) + 1
        ax.plot(x[rank], y[rank], "o", color="black", ms=6)
        # above the curve, unless that is the top of the axes (where the title is): then
        # below and to the left, inside the axes
        below = y[rank] > 0.75
        ax.annotate(
            "focal room",
            (x[rank], y[rank]),
            textcoords="offset points",
            xytext=(-80, -28) if below else (-70, 12),
            fontsize=8,
            arrowprops={"arrowstyle": "-", "color": "black", "lw": 0.6},
        )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="share of rooms (smallest GMV first)",
        ylabel="cumulative share of GMV",
    )
    ax.grid(alpha=0.25)
    return fig


def signature(name: str, model: DashboardModel) -> tuple:
    """A cheap summary of what chart ``name`` draws: the page redraws a chart only when it
    changes. The focal-room charts change only while the room gets traffic (a few hours a
    day), so most frames redraw only the two inequality charts."""
    if model.sim is None:
        return (id(model), None)
    if name in ("lorenz", "gini"):
        return (id(model), model.ticks)
    h = model.history
    active = int(np.count_nonzero(h["free"] + h["paid"] + h["follow"]))
    fans = float(h["fans"][-1]) if model.ticks else 0.0
    return (id(model), model.ticks // REFRESH_TICKS, active, fans)


def readout(name: str, model: DashboardModel) -> str:
    """The numbers behind chart ``name`` so far, as one line of text under it."""
    if model.sim is None:
        return ""
    if name != "lorenz" and not model.has_focal:
        return ""
    s = model.summary()
    if name == "traffic":
        total = s["free"] + s["paid"] + s["follow"]
        share = f" (free share {s['free'] / total:.0%})" if total else ""
        return (
            f"So far: free {s['free']:,} · paid {s['paid']:,} · follow {s['follow']:,} "
            f"impressions{share}"
        )
    if name == "gmv":
        roi = "n/a" if np.isnan(s["roi"]) else f"{s['roi']:.2f}"
        text = (
            f"So far: GMV {s['gmv']:,.0f} · margin {s['margin']:,.0f} · ad spend "
            f"{s['ad_spend']:,.0f} · paid GMV {s['paid_gmv']:,.0f} yuan · ROI {roi}"
        )
        if s["profit"] is not None and s["profit_days"]:
            text += f" · profit {s['profit']:,.0f} yuan over {s['profit_days']} day(s)"
        return text
    if name == "tier":
        policy = _no_pools(model)
        if policy is not None:
            return f"No traffic pools under the {policy}."
        h = model.history
        if s["tier"] is not None:
            peer = h["peer_tier"][-1]
            peers = "" if np.isnan(peer) else f" · median live peer {peer:g}"
            return f"Now: live in tier {s['tier']}{peers}"
        live = h["tier"][~np.isnan(h["tier"])]
        last = f" (last live in tier {live[-1]:.0f})" if len(live) else " (not live yet)"
        return f"Now: off air{last}"
    if name == "budget":
        budget = daily_budget(model)
        if len(budget) == 0:
            return "No day run yet."
        spend = _per_day(model, model.history["ad_spend"])
        offered = float(budget.sum())
        used = f" ({s['ad_spend'] / offered:.0%} of the budgets)" if offered > 0 else ""
        return (
            f"Today: budget {budget[-1]:,.0f} · spent {spend[-1]:,.0f} yuan · so far: budgets "
            f"{offered:,.0f} · spent {s['ad_spend']:,.0f} yuan{used}"
        )
    if name == "fans":
        total = s["free"] + s["paid"] + s["follow"]
        share = f"{s['follow'] / total:.1%}" if total else "n/a"
        return f"Followers: {s['fans']:,} · follow-channel share of impressions so far: {share}"
    if name == "gini":
        if model.ticks == 0:
            return "No sales yet."
        h = model.history
        day_ago = h["gini"][max(0, model.ticks - 1440 // model.tick_minutes - 1)]
        return f"Gini now {s['gini']:.3f} · a day ago {day_ago:.3f}"
    gmv = model.sim.cum_gmv
    text = f"Gini {s['gini']:.2f} · top 10% of rooms hold {top_share(gmv, 0.1):.0%} of GMV"
    if model.has_focal and gmv.sum() > 0:
        rank = int((gmv > gmv[model.focal[0]]).sum()) + 1
        text += f" · focal room ranks {rank} of {len(gmv)}"
    return text


def gini_figure(model: DashboardModel) -> Figure:
    """Gini of cumulative GMV across all streams, tick by tick."""
    fig, ax = _figure()
    ax.set_title("Inequality of GMV across rooms over time")
    if _unavailable(model, ax, needs_focal=False):
        return fig
    h = model.history
    ax.plot(_tick_days(model, model.ticks), h["gini"], color=ROI_COLOUR, lw=2)
    _time_axis(ax, model)
    ax.set_ylim(0, 1)
    ax.set_ylabel("Gini of GMV so far")
    return fig


FIGURES = {
    "traffic": traffic_figure,
    "gmv": gmv_figure,
    "budget": budget_figure,
    "tier": tier_figure,
    "fans": fans_figure,
    "lorenz": lorenz_figure,
    "gini": gini_figure,
}
"""Chart name -> figure builder, in page order; :data:`CAPTIONS` has the same keys."""
