"""The snowball model: one Mesa ``Model`` owning the world and its seeded generators.

One tick (``tick_minutes`` of platform time):

1. Sessions arrive by each viewer's rhythm (campaign days raise volume).
2. Warm-up videos of rooms about to go live book interested viewers.
3. The distribution policy fills the sessions' slots: follow channel, paid auction, free
   recommendation (interest feed) or store visits, search ads and organic results (funnel),
   or each session by its entrance (the mixed platform).
4. Viewers act on what they are shown (enter, dwell, interact, buy, follow); buyers' ratings
   are queued for ``review_lag_days`` later.
5. The platform's estimators absorb all of the tick's traffic; every horse-race window the
   traffic pools promote and demote live streams against their peers.

Once a day: ratings that are due move review scores and raters' affinities, needs arrive and
expire, ad strategies decide tomorrow from what their campaign observed, room operators
decide from their room's dashboard (a factor on tomorrow's budget, capacity investment) and
investments that are due take effect, affinities decay, and the funnel re-sorts its listings.

Randomness: one root seed; ``numpy.random.SeedSequence(seed).spawn`` gives each component
its own generator, so no two components share a stream of numbers and no global state is
used.
"""

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from mesa import DataCollector, Model

from simulation import alliance
from simulation.ads import EXPANSION_FIELDS, AdBudget, Campaigns, build_campaigns
from simulation.behaviour import FOLLOW, PAID, SOURCES, Behaviour, Impressions, Outcome
from simulation.config import Scenario, load_scenario, replace, to_dict
from simulation.distribution import POLICIES
from simulation.economics import RETURN_FIELDS, Economics
from simulation.estimates import (
    Estimator,
    TrafficPools,
    UpliftEstimator,
    audience_counts,
)
from simulation.events import EVENT_FIELDS, Events
from simulation.kol import KOL_FIELDS, KolSessions
from simulation.kol import active as kol_active
from simulation.loop_gains import WindowLog
from simulation.metrics import (
    DAY_KEY,
    TICK_METRICS,
    check_metric,
    scenario_metrics,
    tick_reporters,
)
from simulation.operators import RoomDashboard
from simulation.population import Population, Sessions
from simulation.run_of_show import RunOfShow, apply_scripts, item_contribution
from simulation.streams import Stream, StreamTable
from simulation.warmups import WARMUP_FIELDS, WarmupContent, views_due

RNG_COMPONENTS = (
    "population",
    "streams",
    "sessions",
    "warmup",
    "policy",
    "behaviour",
    "needs",
    "returns",
    "entrance",
    "demand",
    "events",
    "kol",
)
"""One generator per component, in spawn order; new components are appended (a child of
``SeedSequence.spawn`` is fixed by its index, so every existing stream stays as it was).
``returns``: which orders are returned (``economics.returns``, issue 22). ``entrance``: the
mixed platform's viewer propensities and per-session entrances (only that policy strictly
inside its limits reads it). ``demand``: latent needs (only with ``platform.latent_needs``).
``events``: which free slots a marketing IP reserves for its featured rooms
(simulation/events.py; only while one with a reserved share runs). ``kol``: which orders of a
top KOL's 混场 are the merchant's and which buyers its room captures (simulation/kol.py; only
with a group's ``kol_session`` set)."""
WARMUP_HOURS = 2
"""Warm-up videos run in the hours before a stream goes live."""

DAY_FIELDS = (
    "free_impressions",
    "paid_impressions",
    "follow_impressions",
    "fan_impressions",
    "fan_orders",
    "fan_gmv",
    "entries",
    "dwell_minutes",
    "interactions",
    "orders",
    "gmv",
    "margin",
    "ad_spend",
    "paid_orders",
    "paid_gmv",
    "warmup_views",
    "live_ticks",
    "search_impressions",
    "search_orders",
    "search_gmv",
    "search_ad_spend",
    "need_orders",
    "created_orders",
)
# --- economics (issue 22): day fields that exist only when their switch is on -----------------
# economics.returns adds RETURN_FIELDS (returns, refunds, returned_cost) to the day counts;
# economics.profit_accounting adds simulation.economics.PROFIT_FIELDS to the day record.
# --- calendar events (issue 22): simulation.events.EVENT_FIELDS, only when an event is set ---
# --- audience expansion (issue 22): simulation.ads.EXPANSION_FIELDS, only when a campaign may
# expand (campaign.expansion > 0 or a strategy with ``expands``) ---
# --- reports (issue 22): the interest feed's counts of ticks a stream was held at its cap ---
CAP_BOUND_FIELDS = ("cap_bound_ticks", "top_cap_bound_ticks")
"""Live ticks a stream's free allocation was held at its pool-tier quota: at any tier, and
while it held the top tier (counted by the interest feed; float64)."""
# --- warm-up content (issue 22): simulation.warmups.WARMUP_FIELDS, only with the switch on ---


def resolve_config(
    config: Scenario | str | Path | None,
    overrides: Mapping[str, Any] | None = None,
    days: int | None = None,
) -> Scenario:
    """A Scenario from an object, a name or a path, with dotted-key overrides and an
    optional length (``days``), validated like a scenario file."""
    extra = dict(overrides or {})
    if days is not None:
        extra["days"] = days
    if isinstance(config, Scenario):
        return replace(config, **extra) if extra else config
    return load_scenario(config, extra)


def run_id(config: Scenario, seed: int) -> str:
    """The run's id: the first 12 hex digits of the SHA-256 of the resolved configuration
    (:func:`~simulation.config.to_dict`, as JSON with sorted keys) with ``seed`` in place of
    the scenario's default seed.

    Two runs share an id exactly when they have the same inputs (every scenario value,
    the name included, and the seed), so rows stacked from many runs can be told apart and
    a repeated run is recognisable. The id does not cover the code: the manifest's commit
    does.
    """
    raw = to_dict(config)
    raw["seed"] = int(seed)
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class PhaseTimer:
    """Wall time per phase of the tick, accumulated over the run (seconds)."""

    PHASES = ("sessions", "allocation", "auction", "behaviour", "estimator", "collection")

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        """Charge the time since the previous lap to ``phase``."""
        now = time.perf_counter()
        self.seconds[phase] += now - self._last
        self._last = now


class SnowballModel(Model):
    """The world: viewers, streams, ad budgets, the platform and its distribution policy.

    Built from keyword arguments, as Mesa models are, so that ``mesa.batch_run`` and
    ``SolaraViz`` can construct it directly::

        SnowballModel(config="funnel", seed=3, days=7, overrides={"population.viewers": 20_000})
        SnowballModel(scenario_object, 3)           # a validated Scenario, positional

    Parameters
    ----------
    config
        The scenario: a validated :class:`~simulation.config.Scenario`, a scenario name in
        experiments/scenarios/ (``"default"``, ``"funnel"``) or the path of a scenario file.
        (Not called ``scenario``: Mesa >= 3.5 reserves ``Model.scenario`` and the ``scenario``
        argument for its own ``Scenario`` objects.)
    seed
        Root seed; defaults to the scenario's ``seed``.
    days
        Days to simulate, replacing the scenario's ``days``.
    overrides
        Dotted keys and values applied to the scenario, as ``snowball run --set`` does
        (``{"streams.focal.persuasion": 0.09}``); validated like a file.
    metrics
        Extra metrics (:class:`~simulation.metrics.Metric`), as :meth:`add_metrics` adds.

    Attributes
    ----------
    config : Scenario
        The resolved scenario the model runs.
    running : bool
        True until the configured days are done (Mesa's convention: ``while model.running:
        model.step()`` runs the whole scenario).
    """

    def __init__(
        self,
        config: Scenario | str | Path | None = "default",
        seed: int | None = None,
        *,
        days: int | None = None,
        overrides: Mapping[str, Any] | None = None,
        metrics: Iterable[Any] = (),
    ):
        scenario = resolve_config(config, overrides, days)
        self.config = scenario
        self.seed = int(scenario.seed if seed is None else seed)
        root = np.random.SeedSequence(self.seed)
        children = root.spawn(1 + len(RNG_COMPONENTS))
        super().__init__(rng=np.random.default_rng(children[0]))
        self.rngs = {
            name: np.random.default_rng(c)
            for name, c in zip(RNG_COMPONENTS, children[1:], strict=True)
        }
        sc = scenario
        self.tpd = sc.ticks_per_day
        self.tph = self.tpd / 24
        self.table = StreamTable(sc, self.rngs["streams"])
        n = self.table.n
        # --- top KOL sessions (issue 22, simulation/kol.py): a 专场 takes its merchant's goods ---
        self.kol = (
            KolSessions(
                self.table, sc.tick_minutes, sc.behaviour.affinity_initial, self.rngs["kol"]
            )
            if kol_active(sc)
            else None
        )
        self.population = Population(
            sc.population, sc.behaviour, n, self.rngs["population"], sc.platform
        )
        seeded = np.flatnonzero(self.table.initial_followers > 0)
        self.population.seed_followers(
            seeded,
            self.table.category[seeded],
            self.table.initial_followers[seeded],
            self.rngs["population"],
        )
        self.stream_agents = [Stream(self, i) for i in range(n)]
        configs = build_campaigns(sc, self.table.group, self.table.group_names)
        # --- alliance (issue 22, simulation/alliance.py): funding campaigns, product match ---
        self.alliance = (
            alliance.Alliance(self.table, self.stream_agents) if alliance.active(sc) else None
        )
        if self.alliance is not None:
            configs = configs + self.alliance.funding_campaigns(configs)
        self.campaigns = Campaigns(configs, sc.auction)
        if self.alliance is not None:
            self.alliance.bind(self.campaigns.stream)
        self.bidding_now = np.zeros(self.campaigns.n, dtype=bool)
        self.ad_agents = [AdBudget(self, j, s, cfg) for j, (s, cfg) in enumerate(configs)]
        self.operated = [a for a in self.stream_agents if a.acts]
        """Rooms whose operator acts (none unless a group sets ``operator``)."""
        self.audience = sc.platform.audience_estimates
        if self.audience:
            self.estimator: Estimator = UpliftEstimator(n, sc.feed, sc.tick_minutes, sc.platform)
        else:
            self.estimator = Estimator(n, sc.feed, sc.tick_minutes, sc.platform)
        self.pools = TrafficPools(sc.feed, sc.population.categories)
        self.rerank_ticks = max(1, round(sc.feed.rerank_minutes / sc.tick_minutes))
        self.window_log = WindowLog(n, self.rerank_ticks, self.tpd)
        """Free impressions and uplift per horse-race window (simulation.loop_gains)."""
        # --- run-of-show (issue 22, simulation/run_of_show.py) ---
        self.show = (
            RunOfShow(sc.behaviour.show_cycle_minutes, sc.tick_minutes, n)
            if sc.behaviour.run_of_show
            else None
        )
        if self.show is not None:  # explicit item scripts of the stream groups
            apply_scripts(self.show, self.table)
        self.behaviour = Behaviour(sc.behaviour, self.table, self.show)
        if self.audience:  # the baseline's need feature, per entry (Outcome.need_state)
            self.population.keep_need_states(sc.behaviour.satiation_days)
        if self.alliance is not None and sc.alliance.product_match:
            self.behaviour.product_category = self.alliance.product_category
        self.rates = self.estimator.rates()
        self.value = self.estimator.value(self.rates)
        self.uplift = self.value
        """The value the feed allocates on, (S,): with ``platform.audience_estimates`` the
        room's smoothed uplift over the baseline (1 = as expected for its audience)."""
        self.day = 0
        self.tod = 0
        self.live = np.zeros(n, dtype=bool)
        self.day_live = np.zeros(n, dtype=bool)
        self.live_ticks_today = np.zeros(n, dtype=np.int64)
        self.campaign_day = False
        self.cum_gmv = np.zeros(n)
        self.cum_impressions = np.zeros(n)
        self.day_counts = {f: np.zeros(n) for f in DAY_FIELDS}
        # --- economics (issue 22) ---
        ec = sc.economics
        self.economics = (
            Economics(ec, self.table, self.tph) if ec.profit_accounting or ec.returns else None
        )
        if ec.returns:
            self.day_counts.update({f: np.zeros(n) for f in RETURN_FIELDS})
        # --- calendar events (issue 22) ---
        self.events = Events(self) if sc.calendar.events() else None
        """The campaign events' day state (simulation.events); None without events."""
        if self.events is not None:
            self.day_counts.update({f: np.zeros(n) for f in EVENT_FIELDS})
        # --- audience expansion (issue 22, simulation/ads.py): only when a campaign may expand
        if self.campaigns.expanding:
            self.day_counts.update({f: np.zeros(n) for f in EXPANSION_FIELDS})
        # --- reports (issue 22): live ticks each stream's free allocation was held at its
        # tier cap, any tier and the top one (counted by the interest feed; float64, outside
        # version 1's digest) ---
        self.day_counts.update({f: np.zeros(n) for f in CAP_BOUND_FIELDS})
        # --- warm-up videos as content (issue 22, simulation/warmups.py) ---
        self.warmups = WarmupContent(self) if sc.platform.warmup_content else None
        if self.warmups is not None:
            self.day_counts.update({f: np.zeros(n) for f in WARMUP_FIELDS})
        if self.kol is not None:
            self.day_counts.update({f: np.zeros(n) for f in KOL_FIELDS})
        self.day_profit: np.ndarray | None = None
        """Each room's profit on the last completed day (economics.profit_accounting), (S,)."""
        self.pending_ratings: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        self.daily_records: list[dict[str, np.ndarray]] = []
        self._attention: list[np.ndarray] = []
        self.tier_history = np.full((sc.n_ticks, n), -1, dtype=np.int8)
        """Pool tier of each stream at the end of each tick, -1 while off air."""
        self.tick_stats: dict[str, float] = {}
        self.policy = POLICIES[sc.policy](self)
        self.always_open = bool(getattr(self.policy, "always_open", False))
        self.paces_by_entrance = bool(getattr(self.policy, "paces_by_entrance", False))
        """The mixed platform: campaigns bid in the feed while on air and in search all day,
        and pace on the policy's per-tick weights (``pacing_weight``, ``pacing_ticks``)."""
        self.tick_metrics: list[Any] = list(TICK_METRICS)
        self.day_metrics: list[Any] = []
        self.tick_values: dict[str, Any] = {}
        """The tick metrics' values for the tick just run (what the reporters return)."""
        extra = scenario_metrics(scenario.metrics.extra, f"scenario {scenario.name!r}")
        self._collector(extra)
        self.timer = PhaseTimer()
        self._start_day(0)
        if metrics:
            self.add_metrics(*metrics)

    if not hasattr(Model, "scenario"):  # Mesa < 3.5: point code written for v1 to config

        @property
        def scenario(self) -> Scenario:
            """Renamed: the resolved scenario is ``model.config`` (from Mesa 3.5 on,
            ``Model.scenario`` is Mesa's own ``Scenario``)."""
            raise AttributeError(
                "SnowballModel.scenario is now model.config (Mesa >= 3.5 owns Model.scenario)"
            )

    # ------------------------------------------------------------------ metrics

    def add_metrics(self, *metrics: Any) -> None:
        """Measure more metrics in this run (like T-RECS's ``add_metrics``).

        Each metric has a ``name``, a ``level`` ("tick": a column of the tick table, measured
        after every tick; "day": a column of the day table, measured after each day's last
        tick), a ``description`` and ``measure(model)``; see :mod:`simulation.metrics`. Call
        before the first step, so every tick or day has a value.

        Raises
        ------
        ConfigError
            One line, if an object lacks the interface or its name is already a column.
        RuntimeError
            If the model has already stepped.
        """
        if self.steps > 0:
            raise RuntimeError(
                f"add_metrics: the model has run {self.steps} tick(s); add metrics before "
                "the first step"
            )
        taken = [m.name for m in (*self.tick_metrics, *self.day_metrics)]
        checked = []
        for m in metrics:
            checked.append(check_metric(m, "add_metrics", "metric", m, taken))
            taken.append(m.name)
        self._collector(checked)

    def _collector(self, new: list[Any]) -> None:
        """Add ``new`` metrics to the lists and (re)build the DataCollector (before the first
        step, so nothing collected is lost)."""
        self.tick_metrics += [m for m in new if m.level == "tick"]
        self.day_metrics += [m for m in new if m.level == "day"]
        self.datacollector = DataCollector(
            model_reporters=tick_reporters(self.tick_metrics),
            tables={"days": [DAY_KEY, *(m.name for m in self.day_metrics)]},
        )

    def _measure_tick(self) -> None:
        self.tick_values = {m.name: m.measure(self) for m in self.tick_metrics}
        self.datacollector.collect(self)

    def _measure_day(self, day: int) -> None:
        row = {DAY_KEY: day, **{m.name: m.measure(self) for m in self.day_metrics}}
        self.datacollector.add_table_row("days", row)

    @property
    def run_id(self) -> str:
        """Short hash of the resolved configuration and the seed (:func:`run_id`)."""
        return run_id(self.config, self.seed)

    # ------------------------------------------------------------------ time

    @property
    def tick(self) -> int:
        """Index of the last completed tick (-1 before the first)."""
        return self.steps - 1

    def run_days(self, days: int | None = None, progress=None) -> None:
        """Step through ``days`` days (default: the rest of the scenario's length)."""
        n = self.config.n_ticks - self.steps if days is None else days * self.tpd
        for _ in range(n):
            self.step()
            if progress is not None:
                progress.update(1)

    def step(self) -> None:
        """One tick; after the last tick of the configured days ``running`` becomes False.

        Raises
        ------
        RuntimeError
            When called after the configured days are done.
        """
        t = self.steps - 1  # Mesa counted this step before calling it
        if t >= self.config.n_ticks:
            self.steps -= 1  # a refused step is not a step
            raise RuntimeError(
                f"the scenario's {self.config.days} day(s) are done (model.running is False); "
                "build the model with more days to run longer"
            )
        self.timer.lap("collection")
        day, tod = divmod(t, self.tpd)
        if tod == 0 and t > 0:
            self._start_day(day)
        self.day, self.tod = day, tod
        sc, pop = self.config, self.population
        live = self._live_now(day, tod)
        if self.show is not None:
            self.show.begin_tick(live)
        hour = int(tod / self.tph)
        lift = 1 + sc.calendar.volume_lift if self.campaign_day else 1.0
        if self.events is not None:
            lift *= self.events.session_lift
        viewers = pop.draw_sessions(hour, self.tph, lift, self.rngs["sessions"])
        rows = None  # the sessions' interest rows, gathered once for warm-ups and the snapshot
        if not self.always_open:
            if self.warmups is not None:  # platform.warmup_content (simulation/warmups.py)
                rows = pop.interests.take(viewers, axis=0)
                ahead = max(1, int(WARMUP_HOURS * self.tph))
                self.warmups.step(day, tod, viewers, live, ahead, rows)
            else:
                self._warmups(day, tod, viewers)
        sessions = pop.snapshot(viewers, rows)
        self.timer.lap("sessions")
        self.rates = self.estimator.rates()
        self.value = self.uplift = self.estimator.value(self.rates)
        self.bidding_now[:] = False
        imp = self.policy.serve(sessions, live)
        self.timer.lap("allocation")
        intent = 1 + sc.calendar.intent_lift if self.campaign_day else 1.0
        if self.events is not None:
            intent = self.events.intent(intent, imp.stream)
        out = self.behaviour.respond(
            imp,
            sessions,
            pop,
            day,
            intent,
            self.policy.requires_need,
            self.policy.one_order_per_session,
            self.rngs["behaviour"],
        )
        self.policy.settle(imp, out)
        self._move_demand(imp, out, sessions)
        self.timer.lap("behaviour")
        self._account(imp, out, len(sessions), live, sessions)
        if self.show is not None:
            self.show.end_tick(live)
        self.window_log.record(self, live)
        if not self.always_open and (tod + 1) % self.rerank_ticks == 0:
            window = self.estimator.rates(self.estimator.window)
            self.pools.rerank(
                self.table.tier,
                live,
                self.table.category,
                self.estimator.value(window),
                self.estimator.window["impressions"],
            )
            self.estimator.reset_window()
        self.table.tier_max_today = np.maximum(
            self.table.tier_max_today, np.where(live, self.table.tier, 0)
        )
        if t < len(self.tier_history):
            self.tier_history[t] = np.where(live, self.table.tier, -1)
        self.timer.lap("estimator")
        self._measure_tick()
        if tod == self.tpd - 1:
            self._end_day(day)
        if t + 1 >= self.config.n_ticks:
            self.running = False

    def _move_demand(self, imp: Impressions, out: Outcome, sessions: Sessions) -> None:
        """Version 2's demand dynamics after behaviour (docs/MODEL.md 7.15.2): the tick's
        impressions and entries move interests (``interest_drift``) and entries without a
        purchase may leave latent needs (``latent_needs``)."""
        pop, pf = self.population, self.config.platform
        if pop.baseline is None and pop.origin is None:
            return
        category = self.table.category[imp.stream] if out.category is None else out.category
        entered = np.flatnonzero(out.entered)
        if pop.baseline is not None:
            pop.drift_interests(
                sessions,
                imp.session,
                category,
                pf.drift_per_impression,
                entered,
                pf.drift_per_dwell_minute * out.dwell[entered],
            )
        if pop.origin is not None:
            left = entered[~out.bought[entered]]
            pop.leave_latent_needs(imp.viewer[left], category[left], self.rngs["demand"])

    @property
    def category_attention(self) -> np.ndarray:
        """Each category's share of all viewers' interest at the end of each completed day,
        (days, K) float64 (rows sum to 1); recorded only with ``platform.interest_drift``
        (without it interests never move), else (0, K)."""
        k = self.population.k
        return np.array(self._attention).reshape(-1, k)

    def _live_now(self, day: int, tod: int) -> np.ndarray:
        t = self.table
        if self.always_open:
            live = np.ones(t.n, dtype=bool)
        else:
            live = t.live_mask(day, tod, self.tpd)
            went_live = live & ~self.live
            if went_live.any():
                idx = np.flatnonzero(went_live)
                first = t.last_live_day[idx] < 0
                off = np.maximum(day - t.last_live_day[idx] - 1, 0)
                drop = (
                    self.config.feed.start_tier_drop + self.config.feed.tier_decay_per_day_off * off
                )
                t.tier[idx] = np.where(first, 0, np.maximum(t.tier[idx] - drop, 0))
        t.last_live_day[live] = day
        self.live = live
        t.live = live
        self.day_live |= live
        return live

    def _warmups(self, day: int, tod: int, sessions: np.ndarray) -> None:
        """Warm-up videos: each reaches ``warmup_reach x viewers`` over the WARMUP_HOURS
        before its stream; a viewer who sees it books the stream with the probability they
        would enter it (hook x interest), and gets it in the follow channel once live."""
        t, pop = self.table, self.population
        streams = views_due(self, day, tod, len(sessions), max(1, int(WARMUP_HOURS * self.tph)))
        if len(streams) == 0:  # (a zero-size draw would consume nothing either)
            return
        rng = self.rngs["warmup"]
        viewers = sessions[rng.integers(0, len(sessions), len(streams))]
        z = pop.relative_interest(viewers, t.category[streams])
        b = self.config.behaviour
        logit = self.behaviour.logit_hook[streams] + b.entry_interest_weight * np.log(
            np.maximum(z, 1e-3)
        )
        book = rng.random(len(streams)) < 1 / (1 + np.exp(-logit))
        pop.reserved[viewers[book]] = streams[book]
        self.day_counts["warmup_views"] += np.bincount(streams, minlength=t.n)

    # ------------------------------------------------------------------ accounting

    def _tally(self, imp: Impressions, out: Outcome) -> dict[str, np.ndarray]:
        """Per-stream sums of the tick's impressions and outcomes and, under ``camp_*``,
        per-campaign sums over the paid impressions: impression counts (by source, by
        campaign, via search) and campaign orders int64, everything else float64. The
        ``search_*`` sums are over the impressions from the policy's ``search_start`` on."""
        n, n_c = self.table.n, self.campaigns.n
        s, src = imp.stream, imp.source
        # One pass over all impressions for the three sources; the weighted sums only over
        # the impressions where the weight can be non-zero (entrants, buyers, paid slots):
        # dropping zero terms leaves every float sum, in its order, exactly the same.

        def total(index, weights=None, length=n):  # float64 even when index is empty
            return np.bincount(index, weights, minlength=length).astype(np.float64, copy=False)

        # Paid and follow slots are few: count them on their own and the free ones as the rest.
        paid = np.flatnonzero(src == PAID)
        follow = np.flatnonzero(src == FOLLOW)
        sums = {
            "paid_impressions": np.bincount(s[paid], minlength=n),
            "follow_impressions": np.bincount(s[follow], minlength=n),
        }
        sums["free_impressions"] = (
            np.bincount(s, minlength=n) - sums["paid_impressions"] - sums["follow_impressions"]
        )
        sums["fan_impressions"] = total(s[out.is_fan])
        e = np.flatnonzero(out.entered)
        s_e = s[e]
        sums["entries"] = total(s_e)
        sums["dwell_minutes"] = total(s_e, out.dwell[e])
        sums["interactions"] = out.stream_interactions.astype(np.float64)
        b = np.flatnonzero(out.bought)
        s_b, price_b = s[b], out.price[b]
        sums["orders"] = total(s_b)
        if out.need_bought is not None and out.created_bought is not None:
            sums["need_orders"] = total(s_b[out.need_bought])
            sums["created_orders"] = total(s_b[out.created_bought])
        else:
            sums["need_orders"] = sums["created_orders"] = np.zeros(n)
        sums["gmv"] = total(s_b, price_b)
        sums["margin"] = total(s_b, out.margin[b])
        fan_b = out.is_fan[b]  # orders and GMV of buyers who followed the room
        sums["fan_orders"] = total(s_b[fan_b])
        sums["fan_gmv"] = total(s_b[fan_b], price_b[fan_b])
        s_p, charge_p = s[paid], imp.charge[paid]
        sums["ad_spend"] = total(s_p, charge_p)
        bought_p, price_p = out.bought[paid], out.price[paid]
        sums["paid_orders"] = total(s_p, bought_p)
        sums["paid_gmv"] = total(s_p, price_p)
        # The impressions from ``search_start`` on came through the search entrance (all of
        # them under the funnel, none under the feed; the mixed platform's tail).
        lo = getattr(self.policy, "search_start", len(imp))
        if lo == 0:
            for k in ("orders", "gmv", "ad_spend"):
                sums[f"search_{k}"] = sums[k]
            sums["search_impressions"] = np.bincount(s, minlength=n)
        else:
            b_s, p_s = b[np.searchsorted(b, lo) :], paid[np.searchsorted(paid, lo) :]
            sums["search_orders"] = total(s[b_s])
            sums["search_gmv"] = total(s[b_s], out.price[b_s])
            sums["search_ad_spend"] = total(s[p_s], imp.charge[p_s])
            sums["search_impressions"] = np.bincount(s[lo:], minlength=n)
        camp = imp.campaign[paid]
        sums["camp_spend"] = total(camp, charge_p, n_c)
        sums["camp_impressions"] = np.bincount(camp, minlength=n_c)
        sums["camp_orders"] = np.bincount(camp, bought_p, minlength=n_c).astype(np.int64)
        sums["camp_gmv"] = total(camp, price_p, n_c)
        return sums

    def _account(
        self,
        imp: Impressions,
        out: Outcome,
        n_sessions: int,
        live: np.ndarray,
        sessions: Sessions | None = None,
        entry_need: np.ndarray | None = None,
    ) -> None:
        dc = self.day_counts
        sums = self._tally(imp, out)
        per_source = [sums[f"{x}_impressions"] for x in SOURCES]
        impressions = per_source[0] + per_source[1] + per_source[2]
        entries, dwell = sums["entries"], sums["dwell_minutes"]
        orders, gmv, spend = sums["orders"], sums["gmv"], sums["ad_spend"]
        for k in DAY_FIELDS:
            if k not in ("warmup_views", "live_ticks"):  # counted elsewhere
                dc[k] += sums[k]
        dc["live_ticks"] += live
        # --- economics (issue 22): returns decided per order, booked on the order's day ---
        if self.config.economics.returns and len(out.rating_stream):
            bought = np.flatnonzero(out.bought)  # the order of the rating arrays
            price = out.price[bought]
            returned = self.economics.draw_returns(
                out.rating_stream,
                price,
                price - out.margin[bought],
                out.rating_value,
                self.rngs["returns"],
            )
            for k in RETURN_FIELDS:
                dc[k] += returned[k]
        if self.kol is not None:  # top KOL sessions: the merchant's orders, fees, capture
            bought = np.flatnonzero(out.bought)
            has_returns = self.config.economics.returns and len(bought) > 0
            self.kol.account(
                dc,
                live,
                out.rating_stream,
                out.rating_viewer,
                out.price[bought],
                out.margin[bought],
                self.economics.last_returned if has_returns else None,
                out.price[bought] - out.margin[bought] if has_returns else None,
                self.population,
                None if self.show is None else self.show.clock,
            )
        if self.show is not None:  # run-of-show: per room x item counts (one bincount each)
            bought = np.flatnonzero(out.bought)
            self.show.tally(
                imp.stream,
                out.item,
                out.entered,
                out.rating_stream,
                out.order_item,
                out.item[bought],
                out.price[bought],
                out.margin[bought],
                self.economics.last_returned
                if self.config.economics.returns and len(bought)
                else None,
                out.item_impressions,
            )
        c = self.campaigns
        if c.n:
            spend_c, orders_c = sums["camp_spend"], sums["camp_orders"]
            c.spent += spend_c
            c.day_impressions += sums["camp_impressions"]
            c.day_orders += orders_c
            c.paid_orders_total += orders_c
            c.day_gmv += sums["camp_gmv"]
            if c.expanding:  # audience expansion (issue 22): reach outside the base audience
                for k, v in c.tally_expansion(imp, out, self.population, self.table.n).items():
                    dc[k] += v
            weight = self.policy.pacing_weight(live)[c.stream] if self.paces_by_entrance else None
            c.pace(spend_c, self.live_ticks_today[c.stream], self.bidding_now, weight)
        counts = {
            "impressions": impressions,
            "entries": entries,
            "dwell": dwell,
            "orders": orders,
            "gmv": gmv,
            "interactions": sums["interactions"],
        }
        if self.audience and sessions is not None and len(imp):
            need = out.need_state if entry_need is None else entry_need
            counts.update(self._audience_counts(imp, out, sessions, need, impressions > 0))
        self.estimator.update(counts)
        self.cum_gmv += gmv
        self.cum_impressions += impressions
        if len(out.rating_stream):
            due = self.day + self.config.behaviour.review_lag_days
            self.pending_ratings.setdefault(due, []).append(
                (out.rating_viewer, out.rating_stream, out.rating_value)
            )
        self.last_tick = {
            "free_impressions": per_source[0],
            "paid_impressions": per_source[1],
            "follow_impressions": per_source[2],
            "entries": entries,
            "orders": orders,
            "gmv": gmv,
            "ad_spend": spend,
        }
        """Per-stream counts of the tick just run, (S,) each (for live views)."""
        self.tick_stats = {
            "tick": self.steps - 1,
            "day": self.day,
            "minute_of_day": self.tod * self.config.tick_minutes,
            "sessions": n_sessions,
            "free_impressions": int(per_source[0].sum()),
            "paid_impressions": int(per_source[1].sum()),
            "follow_impressions": int(per_source[2].sum()),
            "impressions": len(imp),
            "entries": int(out.entered.sum()),
            "dwell_minutes": float(out.dwell.sum()),
            "orders": int(out.bought.sum()),
            "gmv": float(out.price.sum()),
            "ad_spend": float(imp.charge.sum()),
            "live_streams": int(live.sum()),
        }

    def _audience_counts(
        self,
        imp: Impressions,
        out: Outcome,
        sessions: Sessions,
        entry_need: np.ndarray,
        shown: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """The baseline's expected counts of the tick's impressions per stream (and the tick
        into the baseline): never reads the impressions' source (docs/MODEL.md 7.15.1).
        ``entry_need``: each entry's need state as the tick began (``Outcome.need_state``:
        the baseline reads the state the viewer was shown the room in, before purchases
        satisfy needs and start satiation)."""
        s, t = imp.stream, self.table
        cat = t.category
        z = out.z if out.z is not None else sessions.relative_interest(imp.session, cat[s])
        if imp.fan_slot is None or imp.affinity is None:
            _, aff = sessions.lookup(imp.session, s)
        else:
            aff = imp.affinity
        act = self.population.activity_bins(sessions.viewer)
        return audience_counts(
            self.estimator.baseline,
            s,
            imp.session,
            z,
            aff,
            out.is_fan,
            act,
            entry_need,
            out.entered,
            out.dwell,
            out.bought,
            t.n,
            self.estimator.interaction_weight > 0,
            shown=shown,
        )

    # ------------------------------------------------------------------ days

    def _start_day(self, day: int) -> None:
        sc, t, pop = self.config, self.table, self.population
        self.day = day
        self.campaign_day = day in sc.calendar.campaign_days
        due = self.pending_ratings.pop(day, [])
        if due:
            v, s, r = (np.concatenate(x) for x in zip(*due, strict=True))
        else:
            v = s = np.empty(0, dtype=np.int64)
            r = np.empty(0)
        self.behaviour.apply_ratings(pop, v, s, r)
        need_lift = 1 + sc.calendar.volume_lift if self.campaign_day else 1.0
        if self.events is not None:  # gates read today's review scores
            self.events.start_day(day)
            factor = self.events.price_factor  # the participants' discounts (1: none)
            self.behaviour.price_factor = None if (factor == 1).all() else factor
            per_cat = self.events.need_lift
            if (per_cat == per_cat[0]).all():  # one lift for all: the scalar path's numbers
                need_lift = need_lift * float(per_cat[0])
            else:
                need_lift = need_lift * per_cat.astype(np.float32)
        pop.arrive_needs(self.rngs["needs"], need_lift)
        if pop.origin is not None:
            pop.age_latent_needs(self.rngs["demand"])
        pop.reserved[:] = -1
        if self.always_open:
            self.live_ticks_today = np.full(t.n, self.tpd, dtype=np.int64)
        elif self.paces_by_entrance:
            self.live_ticks_today = self.policy.pacing_ticks(t.live_ticks_on(day, self.tpd))
        else:
            self.live_ticks_today = t.live_ticks_on(day, self.tpd)
        self.day_live = np.zeros(t.n, dtype=bool)
        t.tier_max_today = np.zeros(t.n, dtype=np.int64)
        if self.economics is not None:
            self.economics.start_day()
        if self.alliance is not None:
            self.alliance.start_day()

    def _end_day(self, day: int) -> None:
        self.daily_records.append(self._day_record(day))
        if self.show is not None:
            self.show.end_day(day)
        self._measure_day(day)
        if self.kol is not None:  # tomorrow's look-alike seeds
            self.kol.end_day(self.population)
        self.agents_by_type[AdBudget].do("step") if self.ad_agents else None
        if self.operated:  # room operators, after the strategies (simulation/operators.py)
            self._operate(self.daily_records[-1])
        if self.alliance is not None:  # merchants' alliance diagnoses (simulation/alliance.py)
            self.alliance.end_day(self, self.daily_records[-1])
        if self.economics is not None:  # investments decided tonight, booked tomorrow
            self.economics.invest(np.array([a.pending_investment for a in self.stream_agents]))
        self.agents_by_type[Stream].do("step")
        self.behaviour.refresh()
        self.population.decay_affinity()
        if self.population.baseline is not None:
            self.population.decay_interests()
            interests = self.population.interests
            self._attention.append(interests.sum(axis=0, dtype=np.float64) / len(interests))
        self.policy.end_of_day()
        for x in self.day_counts.values():
            x[:] = 0
        c = self.campaigns
        c.day_impressions[:] = 0
        c.day_orders[:] = 0
        c.day_gmv[:] = 0

    def _operate(self, rec: dict[str, np.ndarray]) -> None:
        """Each acting room's operator reads today's dashboard (from the day's record) and
        decides; its budget factor multiplies tomorrow's budget of the room's campaign, which
        its strategy has just set (clipped to the campaign's ``max_budget``), and its capacity
        investment is queued on the room (docs/MODEL.md 7.17)."""
        has_returns = "refunds" in rec
        has_profit = "profit" in rec
        campaigns = {a.stream: a for a in self.ad_agents}
        c = self.campaigns
        for agent in self.operated:
            i = agent.index
            dash = RoomDashboard(
                day=int(rec["day"][i]),
                live=bool(rec["live"][i]),
                free_impressions=int(rec["free_impressions"][i]),
                paid_impressions=int(rec["paid_impressions"][i]),
                follow_impressions=int(rec["follow_impressions"][i]),
                entries=int(rec["entries"][i]),
                orders=int(rec["orders"][i]),
                gmv=float(rec["gmv"][i]),
                margin=float(rec["margin"][i]),
                ad_spend=float(rec["ad_spend"][i]),
                paid_orders=int(rec["paid_orders"][i]),
                paid_gmv=float(rec["paid_gmv"][i]),
                budget=float(rec["budget"][i]),
                review_score=float(rec["review_score"][i]),
                fans=int(rec["followers"][i]),
                returns=float(rec["returns"][i]) if has_returns else None,
                refunds=float(rec["refunds"][i]) if has_returns else None,
                profit=float(rec["profit"][i]) if has_profit else None,
                mix=tuple(float(x) for x in self.table.mix[i]),
                **(self._item_dashboard(i, has_returns, has_profit) if self.show else {}),
            )
            decision = agent.operate(dash)
            ad = campaigns.get(i)
            if ad is not None and decision.budget_factor != 1.0:
                j = ad.index
                c.budget[j] = min(c.budget[j] * decision.budget_factor, ad.cfg.max_budget)
            if decision.mix is not None:  # the script from tomorrow (Behaviour.refresh)
                self.table.mix[i] = decision.mix

    def _item_dashboard(self, i: int, has_returns: bool, has_profit: bool) -> dict[str, Any]:
        """Room ``i``'s per-item dashboard fields from the run-of-show's day just stored."""
        k = self.show.last_day(i)

        def row(f: str) -> tuple[float, ...]:
            return tuple(float(x) for x in k[f])

        out = {f"item_{f}": row(f) for f in ("entries", "orders", "gmv", "margin")}
        out["item_airtime"] = row("airtime_minutes")
        out["item_roles"] = tuple(int(r) for r in self.show.item_role[i, : len(k["gmv"])])
        out["item_returns"] = row("returns") if has_returns else None
        if has_profit:
            sells = bool(self.economics.sells_for_merchant[i])
            contribution = item_contribution(k, self.config.economics, sells)
            out["item_contribution"] = tuple(float(x) for x in contribution)
        return out

    def _day_record(self, day: int) -> dict[str, np.ndarray]:
        t, dc, c = self.table, self.day_counts, self.campaigns
        if self.kol is not None:  # a 混场 row's accounts are its merchant's part
            self.kol.settle(dc)
        n = t.n
        impressions = dc["free_impressions"] + dc["paid_impressions"] + dc["follow_impressions"]
        budget = np.zeros(n)
        if c.n:
            budget[c.stream] = c.budget
        with np.errstate(divide="ignore", invalid="ignore"):
            gpm = np.where(impressions > 0, 1000 * dc["gmv"] / impressions, 0.0)
            roi = np.where(dc["ad_spend"] > 0, dc["paid_gmv"] / dc["ad_spend"], np.nan)
        rec = {"day": np.full(n, day), "stream": np.arange(n)}
        rec.update({k: v.copy() for k, v in dc.items()})
        rec.update(
            {
                "impressions": impressions,
                "gpm": gpm,
                "roi": roi,
                "budget": budget,
                "followers": self.population.followers.copy(),
                "pool_tier": t.tier_max_today.copy(),
                "review_score": t.review_score.copy(),
                "live": self.day_live.copy(),
                "persuasion": t.persuasion.copy(),
            }
        )
        # --- economics (issue 22) ---
        if self.config.economics.profit_accounting:
            # the host works the room's scheduled streaming hours under every policy (the
            # search funnel keeps a shop open all day, but nobody hosts it around the clock)
            rec.update(self.economics.profit_terms(dc, t.live_ticks_on(day, self.tpd)))
            if self.kol is not None:  # the KOL fees are the merchant's cost
                self.kol.book_fees(rec)
            self.day_profit = rec["profit"]
        return rec
