"""The cascade policy: cold start as a branching process (validation special case).

A stream that goes live for the first time gets ``cascade.seed_impressions`` free
impressions (its cold-start quota). From then on the platform rewards engagement only: every
entry the stream earns in a tick is worth Poisson(``reward_per_entry``) free impressions in
the next tick, shown to viewers drawn at random from the sessions of that tick. Each tick is
one generation: an impression "begets" the impressions its entry earns, so with entry
probability h the mean offspring per impression is R = h x reward_per_entry and, when every
impression enters (h = 1), the offspring law is Poisson(R) — a Poisson Galton-Watson process.

A stream whose cascade asks for at least ``graduate_at`` impressions in one tick has taken
off: it leaves the cold-start pool and the cascade stops serving it. A stream whose cascade
reaches zero is extinct. ``reach`` counts the cascade impressions a stream was served.

Slots the cascade does not use stay empty (short videos, not live impressions). If the
tick's slots cannot hold every stream's cascade, each stream is served in proportion and the
shortfall is counted in ``unserved`` (a validation run treats any shortfall as an error).
There is no follow channel and no ad slot; shops are always open.
"""

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from simulation.behaviour import Impressions, Outcome
from simulation.population import Sessions

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel


class Cascade:
    """Cold-start traffic earned impression by impression. See the module docstring."""

    name: ClassVar[str] = "cascade"
    requires_need: ClassVar[bool] = False
    one_order_per_session: ClassVar[bool] = False
    always_open: ClassVar[bool] = True

    def __init__(self, model: "SnowballModel"):
        self.m = model
        self.cfg = model.config.cascade
        self.rng = model.rngs["policy"]
        n = model.table.n
        self.demand = np.zeros(n, dtype=np.int64)
        """Cascade impressions each stream is due this tick, (S,)."""
        self.started = np.zeros(n, dtype=bool)
        self.graduated = np.zeros(n, dtype=bool)
        """Streams whose cascade took off (reached ``graduate_at``), (S,)."""
        self.reach = np.zeros(n, dtype=np.int64)
        """Cascade impressions served to each stream so far, (S,)."""
        self.generations = np.zeros(n, dtype=np.int64)
        """Ticks in which each stream was served (its cascade's generations), (S,)."""
        self.unserved = 0
        """Impressions the slots could not hold (should stay 0)."""
        self._served = np.zeros(n, dtype=bool)

    @property
    def extinct(self) -> np.ndarray:
        """Streams whose cascade died out before taking off, (S,) bool."""
        return self.started & ~self.graduated & (self.demand == 0)

    def serve(self, sessions: Sessions, live: np.ndarray) -> Impressions:
        rng = self.rng
        new = live & ~self.started
        self.demand[new] = self.cfg.seed_impressions
        self.started |= new
        due = live & (self.demand > 0)
        self._served = due
        idx = np.flatnonzero(due)
        want = self.demand[idx]
        slots = self.m.population.cfg.slots_per_session
        capacity = len(sessions) * slots
        total = int(want.sum())
        if total > capacity:
            got = np.floor(want * (capacity / total)).astype(np.int64)
            self.unserved += total - int(got.sum())
            want = got
            total = int(want.sum())
        if total == 0:
            return Impressions.empty()
        stream = np.repeat(idx, want)
        slot = rng.choice(capacity, size=total, replace=False)
        sess = slot // slots
        self.reach[idx] += want
        self.generations[idx] += 1
        return Impressions.free(sessions.viewer[sess], stream, sess)

    def settle(self, imp: Impressions, out: Outcome) -> None:
        """Each entry earns Poisson(reward_per_entry) impressions for the next tick."""
        n = self.m.table.n
        entries = np.bincount(imp.stream, out.entered, minlength=n)
        due = self._served
        nxt = self.rng.poisson(self.cfg.reward_per_entry * entries[due])
        took_off = nxt >= self.cfg.graduate_at
        idx = np.flatnonzero(due)
        self.graduated[idx[took_off]] = True
        self.demand[idx] = np.where(took_off, 0, nxt)

    def end_of_day(self) -> None:
        """The cascade has no daily work."""
