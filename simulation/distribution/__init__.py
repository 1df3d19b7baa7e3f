"""Distribution policies: how a tick's sessions become impressions.

Every policy implements :class:`simulation.distribution.base.DistributionPolicy`; the
registry below is what scenarios name in ``policy``. ``interest_feed`` and ``search_funnel``
are the two platforms the studies compare; ``urn``, ``cascade`` and ``private_values`` are
the small allocation rules that put the model into the special cases with closed-form
answers (docs/VALIDATION.md).

This package owns its names: :func:`policy_class` is the one lookup, and it is what the
scenario loader calls (through :func:`simulation.config.register_part_registry`) to reject a
``policy`` that is not registered. ``tests/test_policy_contract.py`` runs every registered
policy through the same contract; docs/CONTRIBUTING.md says how to add one.
"""

from simulation.config import register_part_registry, unknown_name
from simulation.distribution.base import DistributionPolicy
from simulation.distribution.cascade import Cascade
from simulation.distribution.interest_feed import InterestFeed
from simulation.distribution.private_values import PrivateValues
from simulation.distribution.search_funnel import SearchFunnel
from simulation.distribution.urn import Urn

POLICIES: dict[str, type] = {
    cls.name: cls for cls in (InterestFeed, SearchFunnel, Urn, Cascade, PrivateValues)
}


def policy_class(name: str, source: str = "policy", key: str = "policy") -> type:
    """The registered distribution policy called ``name``.

    Raises
    ------
    ConfigError
        When no policy of that name is registered, naming ``source`` and ``key`` (the
        scenario file and key the name came from), the registered names in alphabetical
        order, and the nearest one when ``name`` looks like a typo.
    """
    try:
        return POLICIES[name]
    except (KeyError, TypeError):
        raise unknown_name(source, key, name, sorted(POLICIES)) from None


register_part_registry("policy", policy_class)

__all__ = [
    "POLICIES",
    "Cascade",
    "DistributionPolicy",
    "InterestFeed",
    "PrivateValues",
    "SearchFunnel",
    "Urn",
    "policy_class",
]
