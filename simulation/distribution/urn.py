"""The urn policy: free traffic in proportion to an urn weight (validation special cases).

Every slot of every session is a free slot. Its category is drawn from the viewer's
interests (``feed.interest_sharpness``, as in the interest feed), its world uniformly from
``urn.worlds`` parallel worlds, and it goes to a live stream of that category and world with
probability proportional to

    ``(prior + increment x events)^exponent``,

where ``events`` counts the stream's past orders, entries or impressions (``increment_on``).
Viewers then respond through the ordinary :class:`~simulation.behaviour.Behaviour`, and the
events they produce feed the weights of the next tick. There is no follow channel, no ad
slot and no traffic pool: shops are always open (schedules and warm-ups do not apply).

Special cases (docs/VALIDATION.md): exponent 1 and ``increment_on = "orders"`` is the Pólya
urn, whose long-run shares are Dirichlet(prior / increment); exponent γ ≠ 1 is the γ-urn;
``increment_on = "entries"`` with streams of different hooks is the fitness urn.

Worlds: the streams of each group are dealt to the worlds in turn (the i-th stream of a
group goes to world ``i mod worlds``), so a group whose count is a multiple of ``worlds``
puts the same streams in every world. Worlds share the viewers but nothing else: each is an
independent urn, like the parallel worlds of Salganik, Dodds & Watts (2006).

The weights are updated once per tick, after behaviour: the slots of one tick are drawn
from the same weights (a batched urn). The batching is negligible when the events of one
tick are few compared with the total weight of a world (docs/VALIDATION.md).
"""

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from simulation.behaviour import Impressions, Outcome
from simulation.population import Sessions

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel


def rank_in_group(group: np.ndarray) -> np.ndarray:
    """Position of each stream within its group (0, 1, ... in index order), int64 (S,)."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group)
    start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - start[group[order]]
    return rank


def choose_in_cells(
    weight: np.ndarray,
    cell: np.ndarray,
    n_cells: int,
    slot_cell: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """For each slot, a stream of the slot's cell drawn in proportion to ``weight``.

    Parameters
    ----------
    weight
        (S,) non-negative weight of each stream (0 = not eligible), streams sorted by cell.
    cell
        (S,) cell (category x world) of each stream, sorted (non-decreasing).
    n_cells
        Number of cells.
    slot_cell
        (n,) cell of each slot.
    u
        (n,) uniform numbers in [0, 1).

    Returns
    -------
    (n,) int64 position in the sorted streams, or -1 where the slot's cell has no eligible
    stream.
    """
    totals = np.bincount(cell, weight, minlength=n_cells)
    within = weight / np.maximum(totals[cell], 1e-300)
    # Cell blocks laid end to end on [c, c + 1): one searchsorted for every slot.
    cum = np.cumsum(within)
    before = np.concatenate(([0.0], np.cumsum(totals > 0)))[:-1]
    cum = cell + cum - before[cell]
    j = np.minimum(np.searchsorted(cum, slot_cell + u, side="right"), len(cell) - 1)
    ok = (totals[slot_cell] > 0) & (cell[j] == slot_cell)
    return np.where(ok, j, -1)


class Urn:
    """Allocation in proportion to an urn weight. See the module docstring."""

    name: ClassVar[str] = "urn"
    requires_need: ClassVar[bool] = False
    one_order_per_session: ClassVar[bool] = False
    always_open: ClassVar[bool] = True

    def __init__(self, model: "SnowballModel"):
        self.m = model
        self.cfg = model.config.urn
        self.rng = model.rngs["policy"]
        t = model.table
        self.events = np.zeros(t.n)
        """Counted events (orders, entries or impressions) of each stream so far, (S,)."""
        self.world = rank_in_group(t.group) % self.cfg.worlds
        """World of each stream, (S,)."""
        self.n_cells = model.population.k * self.cfg.worlds
        self.cell = t.category * self.cfg.worlds + self.world
        """Cell (category x world) of each stream, (S,)."""
        self._order = np.argsort(self.cell, kind="stable")
        self._cell_sorted = self.cell[self._order]

    def weights(self) -> np.ndarray:
        """Urn weight of each stream, ``prior + increment x events``, (S,)."""
        return self.cfg.prior + self.cfg.increment * self.events

    def serve(self, sessions: Sessions, live: np.ndarray) -> Impressions:
        m, rng = self.m, self.rng
        slots = m.population.cfg.slots_per_session
        if len(sessions) == 0:
            return Impressions.empty()
        sess = np.repeat(np.arange(len(sessions)), slots)
        viewer = sessions.viewer[sess]
        cat = sessions.sample_categories(sess, m.config.feed.interest_sharpness, rng)
        world = rng.integers(0, self.cfg.worlds, len(sess))
        slot_cell = cat * self.cfg.worlds + world
        w = np.where(live, self.weights() ** self.cfg.exponent, 0.0)[self._order]
        j = choose_in_cells(w, self._cell_sorted, self.n_cells, slot_cell, rng.random(len(sess)))
        ok = j >= 0
        return Impressions.free(viewer[ok], self._order[j[ok]], sess[ok])

    def settle(self, imp: Impressions, out: Outcome) -> None:
        """Add the tick's events to the weights (after behaviour, once per tick)."""
        n = self.m.table.n
        if self.cfg.increment_on == "orders":
            self.events += np.bincount(imp.stream, out.bought, minlength=n)
        elif self.cfg.increment_on == "entries":
            self.events += np.bincount(imp.stream, out.entered, minlength=n)
        else:
            self.events += np.bincount(imp.stream, minlength=n)

    def end_of_day(self) -> None:
        """The urn has no daily work."""
