"""Distribution policies: how a tick's sessions become impressions.

Every policy implements :class:`simulation.distribution.base.DistributionPolicy`; the
registry below is what scenarios name in ``policy``. ``interest_feed`` and ``search_funnel``
are the two platforms the studies compare; ``urn``, ``cascade`` and ``private_values`` are
the small allocation rules that put the model into the special cases with closed-form
answers (docs/VALIDATION.md).
"""

from simulation.distribution.base import DistributionPolicy
from simulation.distribution.cascade import Cascade
from simulation.distribution.interest_feed import InterestFeed
from simulation.distribution.private_values import PrivateValues
from simulation.distribution.search_funnel import SearchFunnel
from simulation.distribution.urn import Urn

POLICIES: dict[str, type] = {
    cls.name: cls for cls in (InterestFeed, SearchFunnel, Urn, Cascade, PrivateValues)
}

__all__ = [
    "POLICIES",
    "Cascade",
    "DistributionPolicy",
    "InterestFeed",
    "PrivateValues",
    "SearchFunnel",
    "Urn",
]
