"""The one small interface every distribution policy implements."""

from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from simulation.behaviour import Impressions, Outcome

if TYPE_CHECKING:  # pragma: no cover
    pass


class DistributionPolicy(Protocol):
    """Turns a tick's sessions and the platform's estimates into impressions.

    ``requires_need`` and ``one_order_per_session`` tell viewer behaviour whether content
    can create demand (interest feed) or purchase needs an existing need (search funnel).
    A policy with both entrances (``mixed``) sets ``per_impression_flags`` and holds them as
    instance attributes: one bool per impression of the tick it last served.
    """

    name: ClassVar[str]
    requires_need: ClassVar[bool]
    one_order_per_session: ClassVar[bool]

    def serve(self, sessions: np.ndarray, live: np.ndarray) -> Impressions:
        """Fill the slots of ``sessions`` (viewer per session, (n,)) given which streams are
        live ((S,) bool); returns the impressions with their sources and CPM charges."""
        ...

    def settle(self, imp: Impressions, out: Outcome) -> None:
        """Per-click charges and anything else that depends on the outcome."""
        ...

    def end_of_day(self) -> None:
        """Daily work (e.g. the search ranking's re-sort)."""
        ...
