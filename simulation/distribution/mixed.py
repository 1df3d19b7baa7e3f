"""One platform, two entrances: every session is a feed session or a search/mall session.

The same viewers, needs, rooms, follows and ad budgets serve both entrances:

- **Entrance.** Each viewer has a propensity p_v ~ Beta(search_share x c, (1 - search_share)
  x c), c = ``search_propensity_concentration``, drawn once (mean ``search_share``; some
  viewers mostly search, others mostly scroll). Each session opens at the search entrance
  with probability p_v, otherwise at the feed. The draws come from the model's ``entrance``
  generator, which no other policy reads.
- **Feed sessions** go through :class:`~simulation.distribution.interest_feed.InterestFeed`
  unchanged: follow channel, CPM feed ads, free recommendation among the rooms on air.
- **Search sessions** go through :class:`~simulation.distribution.search_funnel.SearchFunnel`
  unchanged: only a viewer with a need acts (a mall session without a need shows no live
  room), store visits, CPC search ads, organic listings.
- **A room's shop.** A room is one shop with two faces: its live stream airs on its schedule
  and is recommended in the feed only while on air; its shop (listings, store page) is open
  to search all day. A search impression of a room off the air is an impression of its shop,
  booked to the room like any other.
- **Search rank.** The listings rank on the room's recent orders from every entrance: the
  funnel's sales memory folds in all of the day's orders, so sales made in the live room lift
  the shop in search (and search sales count in the room's estimates, which the feed reads).
- **Budgets.** A campaign's one daily budget pays for both entrances: CPM feed ads while its
  room is on air, CPC search ads all day. Pacing weighs each tick by its ad opportunity,
  1 while the room is on air and ``search_share`` while only its shop is open (in expectation
  a share s of sessions search at any hour, 1 - s scroll the feed), and spreads the budget
  over the day's summed weight (1 - s) x live ticks + s x ticks a day — the feed's pacing at
  s = 0, the funnel's at s = 1 (:meth:`simulation.ads.Campaigns.pace`). Within a tick the
  feed's CPM ads are charged first, and the search ads may spend only what of the tick's
  allowance is left.
- **Behaviour.** Search impressions require a need and a search ends at its first purchase;
  feed impressions do not (``requires_need`` and ``one_order_per_session`` are per-impression
  arrays, see :meth:`simulation.behaviour.Behaviour.respond`).

Limits: at ``search_share`` 0 the policy *is* the interest feed and at 1 the search funnel —
the delegate alone is built and run, with the same generator, and no propensity is drawn, so a
run is byte-identical to the pure policy's (tests/test_mixed_platform.py; the validation case
``platform_limits`` tests the equivalence over seeds, and reports how far the platform just
inside the limits moves from them).
"""

from dataclasses import fields, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from simulation.behaviour import PAID, Impressions, Outcome
from simulation.distribution.interest_feed import InterestFeed
from simulation.distribution.search_funnel import SearchFunnel
from simulation.population import Sessions

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel

PER_IMPRESSION = ("entered", "dwell", "bought", "price", "margin", "is_fan")
"""The fields of an :class:`Outcome` that hold one value per impression."""


def subset(sessions: Sessions, rows: np.ndarray) -> Sessions:
    """The sessions ``rows`` of a tick's snapshot, as a snapshot of their own (every
    per-session array field gathered; the per-sharpness cache starts empty)."""
    n = len(sessions)
    kw = {}
    for f in fields(sessions):
        if not f.init or f.name.startswith("_"):
            continue
        v = getattr(sessions, f.name)
        kw[f.name] = v[rows] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) else v
    return Sessions(**kw)


def tail(imp: Impressions, start: int) -> Impressions:
    """Impressions ``start:`` as views (writes to ``charge`` reach ``imp``)."""
    parts = [getattr(imp, f)[start:] for f in Impressions.FIELDS]
    return Impressions(*parts)


class MixedPlatform:
    """The mixed platform. See the module docstring for the mechanics.

    Attributes
    ----------
    requires_need, one_order_per_session : bool or np.ndarray
        What viewer behaviour reads: the pure delegate's flags at ``search_share`` 0 or 1,
        otherwise one bool per impression of the tick last served (True for search).
    search_start : int
        Index of the first impression of the tick last served that came through the search
        entrance (feed impressions come first); the model's ``search_*`` day columns.
    always_open : bool
        True at ``search_share`` 1 only (the search funnel's shops without schedules).
    paces_by_entrance : bool
        True strictly inside the limits: campaigns pace on :meth:`pacing_weight` and
        :meth:`pacing_ticks` (the model reads them).
    """

    name: ClassVar[str] = "mixed"
    per_impression_flags: ClassVar[bool] = True

    def __init__(self, model: "SnowballModel"):
        self.m = model
        cfg = model.config.platform
        self.share = float(cfg.search_share)
        self.feed = InterestFeed(model) if self.share < 1 else None
        self.search = SearchFunnel(model) if self.share > 0 else None
        self.pure = self.feed if self.search is None else self.search if self.feed is None else None
        self.always_open = self.share == 1.0
        self.paces_by_entrance = self.pure is None
        self.search_start = 0
        if self.pure is not None:
            self.requires_need = self.pure.requires_need
            self.one_order_per_session = self.pure.one_order_per_session
            self.propensity = None
            return
        self.requires_need = np.zeros(0, dtype=bool)
        self.one_order_per_session = self.requires_need
        self.rng = model.rngs["entrance"]
        c = cfg.search_propensity_concentration
        n = model.population.n
        self.propensity = self.rng.beta(self.share * c, (1 - self.share) * c, n).astype(np.float32)
        self._open = np.ones(model.table.n, dtype=bool)
        self.last_search_sessions = 0

    def pacing_ticks(self, live_ticks: np.ndarray) -> np.ndarray:
        """The day's summed pacing weight per stream, (1 - s) x live ticks + s x ticks a day
        (float64)."""
        return (1 - self.share) * live_ticks + self.share * self.m.tpd

    def pacing_weight(self, live: np.ndarray) -> np.ndarray:
        """This tick's pacing weight per stream: 1 on air, s while only the shop is open."""
        return np.where(live, 1.0, self.share)

    def search_probability(self, sessions: Sessions) -> np.ndarray:
        """Each session's probability of opening at the search entrance: its viewer's
        propensity, (n,) float32 (the one place a state-dependent entrance would go)."""
        return self.propensity.take(sessions.viewer)

    def serve(self, sessions: Sessions, live: np.ndarray) -> Impressions:
        """Split the sessions by entrance, serve each through its policy and put the feed's
        impressions first, then the search ones (with ``session`` indexing ``sessions``)."""
        if self.pure is not None:
            imp = self.pure.serve(sessions, live)
            self.search_start = 0 if self.pure is self.search else len(imp)
            return imp
        searching = self.rng.random(len(sessions), dtype=np.float32) < self.search_probability(
            sessions
        )
        rows_s = np.flatnonzero(searching)
        rows_f = np.flatnonzero(~searching)
        self.last_search_sessions = len(rows_s)
        feed = self.feed.serve(subset(sessions, rows_f), live)
        feed.session = rows_f[feed.session]
        camps = self.m.campaigns
        paid = np.flatnonzero(feed.source == PAID)
        spent = np.bincount(feed.campaign[paid], feed.charge[paid], minlength=camps.n)
        search = self.search.serve(subset(sessions, rows_s), self._open, spent)
        search.session = rows_s[search.session]
        search.fan_slot, search.affinity = sessions.lookup(search.session, search.stream)
        if len(feed) and (feed.fan_slot is None or feed.affinity is None):
            feed.fan_slot, feed.affinity = sessions.lookup(feed.session, feed.stream)
        imp = Impressions.concat([feed, search])
        self.search_start = len(feed)
        flags = np.zeros(len(imp), dtype=bool)
        flags[len(feed) :] = True
        self.requires_need = self.one_order_per_session = flags
        return imp

    def settle(self, imp: Impressions, out: Outcome) -> None:
        """The search entrance's clicks are billed (CPC); feed ads were charged at serving."""
        if self.pure is not None:
            self.pure.settle(imp, out)
            return
        lo = self.search_start
        if lo == len(imp):
            return
        part = replace(out, **{f: getattr(out, f)[lo:] for f in PER_IMPRESSION})
        self.search.settle(tail(imp, lo), part)

    def end_of_day(self) -> None:
        """The funnel folds the day's orders (from both entrances) into its sales memory and
        re-sorts its listings; the feed has nothing daily."""
        for policy in (self.feed, self.search):
            if policy is not None:
                policy.end_of_day()
