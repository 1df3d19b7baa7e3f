"""Distribution policies: how a tick's sessions become impressions.

Every policy implements :class:`simulation.distribution.base.DistributionPolicy`; the
registry below is what scenarios name in ``policy``.
"""

from simulation.distribution.base import DistributionPolicy
from simulation.distribution.interest_feed import InterestFeed
from simulation.distribution.search_funnel import SearchFunnel

POLICIES: dict[str, type] = {cls.name: cls for cls in (InterestFeed, SearchFunnel)}

__all__ = ["POLICIES", "DistributionPolicy", "InterestFeed", "SearchFunnel"]
