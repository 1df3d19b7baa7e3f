"""What one browser session controls and steps: the dashboard's controls and its Mesa model.

The page's controls are a :class:`Controls` value. Choosing a scenario preset fills every
control with that preset's values (:func:`controls_from_preset`); moving a control changes
only that value. On Reset the page builds a :class:`DashboardModel` from the controls: it
loads the preset, applies as overrides only the controls that differ from the preset
(:func:`scenario_overrides`), so an untouched page runs exactly the preset, and steps a
:class:`~simulation.model.SnowballModel` one tick per Mesa step while it records the focal
room's history for the charts.

Every value passes :func:`~simulation.dashboard.bounds.checked` before a model is built
from it (:func:`checked_controls`, and the run size in :class:`DashboardModel`), so a value
the browser was not offered never reaches the simulation. A combination of controls that
makes no sense (a budget with strategy "none", a product mix above 100%, ...) is reported by
:func:`problems` as sentences for the page; the model is then not built and the page says
why.

A session's model stops for good (:meth:`DashboardModel.stop`) when its page has gone (the
``connected`` callable the page passes says so) or the server shuts down (:func:`stop_all`),
so no run loop outlives its page or delays the server's exit. Nothing here imports solara,
so it is tested without a browser.
"""

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from simulation.config import SCENARIO_DIR, ConfigError, Scenario, load_scenario
from simulation.dashboard.bounds import PRESETS, ControlError, checked
from simulation.loop_gains import MIN_PAIRS, gains_so_far
from simulation.metrics import gini
from simulation.model import SnowballModel

FOCAL = "focal"
"""The stream group the dashboard follows (one room in the shipped presets)."""

DEFAULT_VIEWERS = 10_000
DEFAULT_DAYS = 14
DEFAULT_SEED = 1

POLICY_LABELS = {
    "interest_feed": "interest feed (snowball)",
    "search_funnel": "search funnel (traditional)",
    "mixed": "mixed platform (feed and search)",
}
"""How the page names each distribution policy."""

STRATEGY_NONE = "none"


def preset_names() -> list[str]:
    """Scenario presets (the project's named scenarios), ``default`` first."""
    return list(PRESETS)


def preset_path(name: str) -> Path:
    """The file of the named preset ``name``.

    Raises
    ------
    ControlError
        If ``name`` is not one of :data:`~simulation.dashboard.bounds.PRESETS` (the path is
        built from the table's own string, never from the one given).
    """
    return SCENARIO_DIR / f"{checked('scenario', name)}.toml"


@dataclass(frozen=True)
class Controls:
    """The values of the page's scenario and focal-room controls.

    Attributes
    ----------
    scenario
        Preset name in experiments/scenarios/.
    policy
        Distribution policy (a key of :data:`simulation.distribution.POLICIES`).
    hook, retention, persuasion
        The focal room's hidden traits (entry probability, dwell multiplier, conversion).
    driver_share, welfare_share
        Share of air time on traffic-driver and welfare items; profit items get the rest.
    strategy, daily_budget
        The focal room's paid-traffic strategy and its base daily budget, yuan.
    promotion, promotion_day
        Whether the platform runs a promotion (a campaign day), and on which day (from 1).
    """

    scenario: str = "default"
    policy: str = "interest_feed"
    hook: float = 0.10
    retention: float = 1.2
    persuasion: float = 0.07
    driver_share: float = 0.3
    welfare_share: float = 0.15
    strategy: str = "feedback_gated"
    daily_budget: float = 800.0
    promotion: bool = False
    promotion_day: int = 4

    @property
    def profit_share(self) -> float:
        """Share of air time on profit items (what driver and welfare items leave)."""
        return round(1.0 - self.driver_share - self.welfare_share, 6)

    @property
    def mix(self) -> tuple[float, float, float]:
        """(driver, profit, welfare) shares, as the scenario's ``mix``."""
        return (self.driver_share, self.profit_share, self.welfare_share)


def _middle(bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return lo if lo == hi else round((lo + hi) / 2, 6)


def controls_from_preset(name: str, keep: Controls | None = None) -> tuple[Controls, str]:
    """The controls a named preset implies, and its description line.

    Raises
    ------
    ControlError
        If ``name`` is not a named preset (nothing is read then).
    ConfigError
        If the preset cannot be loaded.
    """
    path = preset_path(name)
    return controls_from_scenario(load_scenario(path), path.stem, keep)


def controls_from_scenario(
    sc: Scenario, name: str, keep: Controls | None = None
) -> tuple[Controls, str]:
    """The controls scenario ``sc`` implies (as preset ``name``), and its description line.

    Scenario-independent choices are not part of :class:`Controls`; everything else is set
    from the scenario: its policy, the focal room's traits, mix and ad campaign, and its
    first promotion day. ``keep`` supplies values the scenario does not set (e.g. when it has
    no focal room).
    """
    base = keep or Controls()
    values: dict[str, Any] = {"scenario": name, "policy": sc.policy}
    group = sc.streams.get(FOCAL)
    if group is not None:
        values.update(
            hook=_middle(group.hook),
            retention=_middle(group.retention),
            persuasion=_middle(group.persuasion),
            driver_share=group.mix[0],
            welfare_share=group.mix[2],
        )
        camp = group.campaign
        values.update(
            strategy=camp.strategy if camp else STRATEGY_NONE,
            daily_budget=camp.daily_budget if camp else 0.0,
        )
    days = sc.calendar.campaign_days
    values.update(promotion=bool(days), promotion_day=(days[0] + 1) if days else 4)
    return replace(base, **values), sc.description


def checked_controls(controls: Controls) -> Controls:
    """``controls`` with every value passed through
    :func:`~simulation.dashboard.bounds.checked`.

    Raises
    ------
    ControlError
        For the first value the tables do not allow.
    """
    return Controls(
        **{f.name: checked(f.name, getattr(controls, f.name)) for f in fields(Controls)}
    )


def problems(controls: Controls, days: int | None = None) -> list[str]:
    """Sentences for every control combination that makes no sense (empty if none).

    The page shows them as messages and does not build a model from such controls. ``days``
    is the run's length (None: not known yet, skip the checks that need it).
    """
    out = []
    c = controls
    if c.strategy == STRATEGY_NONE and c.daily_budget > 0:
        out.append(
            f'Strategy "none" never buys traffic, so a daily budget of {c.daily_budget:,.0f} '
            "yuan makes no sense: set the budget to 0, or choose a strategy that buys traffic "
            '(e.g. "fixed").'
        )
    elif c.strategy != STRATEGY_NONE and c.daily_budget <= 0:
        out.append(
            f'Strategy "{c.strategy}" buys traffic but the daily budget is 0 yuan: give it a '
            'budget, or choose strategy "none" for a room without ads.'
        )
    if c.driver_share + c.welfare_share > 1 + 1e-9:
        out.append(
            f"The product mix adds up to more than 100%: traffic drivers "
            f"{c.driver_share:.0%} + welfare items {c.welfare_share:.0%} leave nothing for "
            "profit items. Lower one of them."
        )
    if c.promotion and days is not None and c.promotion_day > days:
        out.append(
            f"The platform promotion is on day {c.promotion_day} but the run lasts {days} "
            "days: move the promotion earlier or run more days."
        )
    return out


def scenario_overrides(
    controls: Controls, preset: Scenario, viewers: int, days: int
) -> dict[str, Any]:
    """Dotted-key overrides that turn ``preset`` into what the controls say.

    Only controls that differ from the preset become overrides, so untouched controls run the
    preset exactly (no float round trips). A trait the preset draws from a range is shown as
    the range's middle and stays a range until the slider is moved.
    """
    c = controls
    out: dict[str, Any] = {"population.viewers": int(viewers), "days": int(days)}
    if c.policy != preset.policy:
        out["policy"] = c.policy
    group = preset.streams.get(FOCAL)
    if group is not None:
        key = f"streams.{FOCAL}"
        for trait in ("hook", "retention", "persuasion"):
            value = getattr(c, trait)
            if value != _middle(getattr(group, trait)):  # a range shows as its middle
                out[f"{key}.{trait}"] = value
        if not np.allclose(c.mix, group.mix, rtol=0, atol=1e-9):
            out[f"{key}.mix"] = list(c.mix)
        camp = group.campaign
        if camp is None:
            if c.strategy != STRATEGY_NONE:
                out[f"{key}.campaign.strategy"] = c.strategy
                out[f"{key}.campaign.daily_budget"] = c.daily_budget
        else:
            if c.strategy != camp.strategy:
                out[f"{key}.campaign.strategy"] = c.strategy
            if c.daily_budget != camp.daily_budget:
                out[f"{key}.campaign.daily_budget"] = c.daily_budget
    preset_days = preset.calendar.campaign_days
    if c.promotion:
        if not preset_days or preset_days[0] != c.promotion_day - 1:
            out["calendar.campaign_days"] = [c.promotion_day - 1]
    elif preset_days:
        out["calendar.campaign_days"] = []
    return out


def build_scenario(controls: Controls, viewers: int, days: int) -> Scenario:
    """The scenario the controls describe.

    Raises
    ------
    ControlError
        If the preset is not a named one.
    ConfigError
        If the scenario does not validate.
    """
    path = preset_path(controls.scenario)
    preset = load_scenario(path)
    return load_scenario(path, scenario_overrides(controls, preset, viewers, days))


_LIVE: "weakref.WeakSet[DashboardModel]" = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


def stop_all(reason: str) -> int:
    """Stop every session's model (the server is shutting down); returns how many."""
    with _LIVE_LOCK:
        models = list(_LIVE)
    for model in models:
        model.stop(reason)
    return len(models)


class DashboardModel(mesa.Model):
    """The Mesa model a dashboard session steps: one tick of the snowball model per step.

    Mesa's model controller rebuilds it on Reset as ``DashboardModel(**parameters)``, so
    every parameter has a default. ``source`` is a callable returning the page's current
    :class:`Controls` (the scenario and focal-room card); ``controls`` gives them directly
    (tests, notebooks). ``connected`` is a callable that says whether the page that owns the
    model is still connected: once it says no, the model stops (see :meth:`stop`). Every
    value is checked against :mod:`simulation.dashboard.bounds` first; a value outside the
    tables builds nothing and becomes one of ``problems``.

    Attributes
    ----------
    sim : SnowballModel or None
        The simulation, or None when the controls made no sense (see ``problems``) or the
        scenario did not validate (see ``error``).
    focal : numpy.ndarray
        Indices of the focal group's streams (empty if the preset has none).
    history : dict[str, numpy.ndarray]
        Per-tick series of the focal room, shape (ticks run,) each: ``free``, ``paid``,
        ``follow`` (impressions in the tick), ``gmv``, ``ad_spend`` (yuan in the tick),
        ``paid_gmv_cum`` and ``margin_cum`` (paid GMV and gross margin so far, yuan),
        ``fans`` (followers at the end of the tick), ``review`` (review score, 1-5 stars),
        ``tier`` (pool tier, NaN while off air), ``peer_tier`` (median tier of the other
        live rooms of its category while the focal room is live, else NaN), ``gini`` (Gini
        of cumulative GMV across streams).
    """

    SERIES = (
        "free",
        "paid",
        "follow",
        "gmv",
        "ad_spend",
        "paid_gmv_cum",
        "margin_cum",
        "fans",
        "review",
        "tier",
        "peer_tier",
        "gini",
        "budget",
    )

    def __init__(
        self,
        source: Callable[[], Controls] | None = None,
        viewers: int = DEFAULT_VIEWERS,
        days: int = DEFAULT_DAYS,
        seed: int = DEFAULT_SEED,
        controls: Controls | None = None,
        connected: Callable[[], bool] | None = None,
    ):
        if controls is None:
            controls = source() if source is not None else Controls()
        self.controls = controls
        self.error: str | None = None
        self.sim: SnowballModel | None = None
        self.config: Scenario | None = None
        self.stopped: str | None = None
        self._connected = connected
        self.focal = np.empty(0, dtype=np.int64)
        self._buffers = {name: np.zeros(0) for name in self.SERIES}
        try:
            self.viewers = checked("viewers", viewers)
            self.days = checked("days", days)
            self.run_seed = checked("seed", seed)
            self.controls = controls = checked_controls(controls)
        except ControlError as exc:
            super().__init__(seed=DEFAULT_SEED)
            self.viewers, self.days, self.run_seed = DEFAULT_VIEWERS, DEFAULT_DAYS, DEFAULT_SEED
            self.problems = [str(exc)]
            self.running = False
            return
        super().__init__(seed=self.run_seed)
        self.problems = problems(controls, self.days)
        if self.problems:
            self.running = False
            return
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self.config = build_scenario(controls, self.viewers, self.days)
            self.sim = SnowballModel(self.config, self.run_seed)
        except ConfigError as exc:
            self.error = str(exc)
            self.running = False
            return
        except Exception as exc:  # the page shows it; a session must never crash
            self.error = f"the model could not be built ({type(exc).__name__}: {exc})"
            self.running = False
            return
        t = self.sim.table
        if FOCAL in t.group_names:
            self.focal = np.flatnonzero(t.group == t.group_names.index(FOCAL))
        n = self.config.n_ticks
        self._buffers = {name: np.zeros(n) for name in self.SERIES}

    # ------------------------------------------------------------------ state

    @property
    def ticks(self) -> int:
        """Ticks of the simulation run so far."""
        return 0 if self.sim is None else int(self.sim.steps)

    @property
    def finished(self) -> bool:
        return self.sim is None or self.ticks >= self.config.n_ticks

    @property
    def tick_minutes(self) -> int:
        return self.config.tick_minutes if self.config else 10

    @property
    def history(self) -> dict[str, np.ndarray]:
        return {name: buf[: self.ticks] for name, buf in self._buffers.items()}

    @property
    def has_focal(self) -> bool:
        return len(self.focal) > 0

    def stop(self, reason: str) -> None:
        """Stop for good: from now on :meth:`step` runs nothing and ``running`` is False, so
        Mesa's play loop ends after the tick in progress. Safe to call from any thread."""
        if self.stopped is None:
            self.stopped = reason
        self.running = False

    def step(self) -> None:
        """One tick of the simulation, then record the focal room (nothing once the run is
        finished or stopped, or when the page has gone)."""
        if self.stopped is None and self._connected is not None and not self._connected():
            self.stop("its page disconnected")
        if self.finished or self.stopped is not None:
            self.running = False
            return
        sim = self.sim
        sim.step()
        i = self.ticks - 1
        b, f = self._buffers, self.focal
        b["gini"][i] = gini(sim.cum_gmv)
        if len(f):
            c = sim.campaigns
            b["budget"][i] = c.budget[np.isin(c.stream, f)].sum() if c.n else 0.0
            last = sim.last_tick
            b["free"][i] = last["free_impressions"][f].sum()
            b["paid"][i] = last["paid_impressions"][f].sum()
            b["follow"][i] = last["follow_impressions"][f].sum()
            b["gmv"][i] = last["gmv"][f].sum()
            b["ad_spend"][i] = last["ad_spend"][f].sum()
            for name, key in (("paid_gmv_cum", "paid_gmv"), ("margin_cum", "margin")):
                done = sum(float(r[key][f].sum()) for r in sim.daily_records)
                b[name][i] = done + float(sim.day_counts[key][f].sum())
            b["fans"][i] = sim.population.followers[f].sum()
            b["review"][i] = sim.table.review_score[f].mean()
            tiers = sim.tier_history[i, f]
            b["tier"][i] = tiers.max() if (tiers >= 0).any() else np.nan
            t = sim.table
            peers = t.live & np.isin(t.category, t.category[f])
            peers[f] = False
            live = bool(t.live[f].any())
            b["peer_tier"][i] = np.median(t.tier[peers]) if live and peers.any() else np.nan
        if self.finished:
            self.running = False

    def summary(self) -> dict[str, Any]:
        """The focal room so far: cumulative impressions by source, GMV, margin, ad spend,
        paid ROI, fans, review score and pool tier, profit over the completed days (None
        without ``economics.profit_accounting``), plus the platform's Gini of GMV and the
        clock."""
        h = self.history
        n = self.ticks
        minutes = n * self.tick_minutes
        day = max(1, -(-minutes // 1440))  # the day the last tick belongs to, from 1
        of_day = minutes - (day - 1) * 1440  # its end, 0..1440 minutes
        spend = float(h["ad_spend"].sum())
        paid_gmv = float(h["paid_gmv_cum"][-1]) if n else 0.0
        margin = float(h["margin_cum"][-1]) if n else 0.0
        tier = h["tier"][-1] if n else np.nan
        profit, profit_days = self._profit_so_far()
        return {
            "tick": n,
            "day": day,
            "clock": f"{of_day // 60:02d}:{of_day % 60:02d}",
            "free": int(h["free"].sum()),
            "paid": int(h["paid"].sum()),
            "follow": int(h["follow"].sum()),
            "gmv": float(h["gmv"].sum()),
            "ad_spend": spend,
            "paid_gmv": paid_gmv,
            "margin": margin,
            "roi": paid_gmv / spend if spend > 0 else float("nan"),
            "fans": int(h["fans"][-1]) if n else self._fans_now(),
            "review": float(h["review"][-1]) if n else self._review_now(),
            "tier": None if np.isnan(tier) else int(tier),
            "gini": float(h["gini"][-1]) if n else 0.0,
            "profit": profit,
            "profit_days": profit_days,
        }

    def daily_profit(self) -> np.ndarray | None:
        """The focal room's profit on each completed day (yuan, after cost of goods, fees,
        commission, refunds and returns handling, ad spend, host and capacity costs:
        simulation.economics), or None when the scenario books no profit
        (``economics.profit_accounting`` off) or there is no model or focal room."""
        sim = self.sim
        if sim is None or not self.has_focal or not sim.config.economics.profit_accounting:
            return None
        f = self.focal
        return np.array([float(r["profit"][f].sum()) for r in sim.daily_records])

    def _profit_so_far(self) -> tuple[float | None, int]:
        """Profit over the completed days and how many days that is (profit is booked at
        the end of a day)."""
        daily = self.daily_profit()
        if daily is None:
            return None, 0
        return float(daily.sum()), len(daily)

    def loop_gains(self) -> dict[str, Any] | None:
        """The focal room's loop gains so far (:func:`simulation.loop_gains.gains_so_far`:
        free-traffic elasticity to uplift with its interval, fans' GPM multiple and share of
        impressions, created demand's share of orders), or None without a model or a focal
        room."""
        if self.sim is None or not self.has_focal:
            return None
        return gains_so_far(self.sim, int(self.focal[0]))

    def _review_now(self) -> float:
        if self.sim is None or not self.has_focal:
            return float("nan")
        return float(self.sim.table.review_score[self.focal].mean())

    def _fans_now(self) -> int:
        if self.sim is None or not self.has_focal:
            return 0
        return int(self.sim.population.followers[self.focal].sum())


def status_line(model: DashboardModel) -> str:
    """One line with every number the page reports about the focal room (the browser test
    reads this line, so it is one element updated at once)."""
    s = model.summary()
    roi = "n/a" if np.isnan(s["roi"]) else f"{s['roi']:.2f}"
    if model.sim is not None and model.sim.always_open:
        label = POLICY_LABELS.get(model.config.policy, model.config.policy).split(" (")[0]
        tier = f"none (no traffic pools under the {label})"
    else:
        tier = "off air" if s["tier"] is None else str(s["tier"])
    review = "n/a" if np.isnan(s["review"]) else f"{s['review']:.2f}"
    days = model.days
    return (
        f"Day {s['day']} of {days}, {s['clock']} · tick {s['tick']} · focal room: "
        f"free {s['free']:,} · paid {s['paid']:,} · follow {s['follow']:,} impressions · "
        f"GMV {s['gmv']:,.0f} yuan · ad spend {s['ad_spend']:,.0f} yuan · ROI {roi} · "
        f"fans {s['fans']:,} · review {review} · pool tier {tier} · Gini of GMV {s['gini']:.2f}"
        + _profit_text(s)
    )


def _profit_text(s: dict[str, Any]) -> str:
    """`` · profit X yuan over N completed days`` when the scenario books profit, else ``""``."""
    if s["profit"] is None:
        return ""
    days = s["profit_days"]
    if days == 0:
        return " · profit: booked at the end of day 1"
    return f" · profit {s['profit']:,.0f} yuan over {days} completed day{'s' * (days > 1)}"


def loop_gains_lines(model: DashboardModel) -> list[str]:
    """The focal room's loop gains so far as short sentences for the page's card (computed
    here, on the server; empty without a model or a focal room)."""
    g = model.loop_gains()
    if g is None:
        return []
    if np.isfinite(g["uplift_elasticity"]):
        traffic = (
            f"Free traffic ← conversion: +1% of measured uplift brings "
            f"{g['uplift_elasticity']:+.2f}% free impressions in the next "
            f"{model.config.feed.rerank_minutes}-minute window "
            f"(95% interval {g['uplift_elasticity_low']:+.2f} to "
            f"{g['uplift_elasticity_high']:+.2f}; {int(g['window_pairs'])} windows in "
            f"{int(g['live_spells'])} live spells)."
        )
    else:
        traffic = (
            f"Free traffic ← conversion: not measured yet ({int(g['window_pairs'])} windows "
            f"in {int(g['live_spells'])} live spells; it needs {MIN_PAIRS} windows in 2 "
            "spells)."
        )
    if np.isfinite(g["fan_gpm_multiple"]):
        fans = (
            f"Fans → conversion: fans spend {g['fan_gpm_multiple']:.2f}x what other viewers "
            f"do per impression (GPM {g['fan_gpm']:,.0f} vs {g['other_gpm']:,.0f} yuan); fans "
            f"get {g['fan_share']:.1%} of the room's impressions."
        )
    elif np.isfinite(g["fan_share"]):
        fans = (
            f"Fans → conversion: no GPM multiple yet; fans get {g['fan_share']:.1%} of the "
            "room's impressions."
        )
    else:
        fans = "Fans → conversion: no impressions yet."
    if not g["created_measured"]:
        created = "Created demand: not measured (this run's viewers' interests do not move)."
    elif np.isfinite(g["created_share"]):
        created = f"Created demand: {g['created_share']:.1%} of the room's orders."
    else:
        created = "Created demand: no orders yet."
    return [traffic, fans, created]
