"""Distribution policies: how a tick's sessions become impressions.

Every policy implements :class:`simulation.distribution.base.DistributionPolicy`; the
registry below is what scenarios name in ``policy``. ``interest_feed`` and ``search_funnel``
are the two platforms the studies compare, and ``mixed`` is one platform with both entrances
(each session a feed or a search session; the two pure policies are its limits);
``urn``, ``cascade`` and ``private_values`` are the small allocation rules that put the model
into the special cases with closed-form answers (docs/VALIDATION.md).

This package owns its names: :func:`policy_class` is the one lookup, and it is what the
scenario loader calls (through :func:`simulation.config.register_part_registry`) to reject a
``policy`` that is not registered. ``tests/test_policy_contract.py`` runs every registered
policy through the same contract; docs/CONTRIBUTING.md says how to add one.
"""

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from simulation.config import register_part_registry, unknown_name

if TYPE_CHECKING:
    from simulation.distribution.base import DistributionPolicy
    from simulation.distribution.cascade import Cascade
    from simulation.distribution.interest_feed import InterestFeed
    from simulation.distribution.mixed import MixedPlatform
    from simulation.distribution.private_values import PrivateValues
    from simulation.distribution.search_funnel import SearchFunnel
    from simulation.distribution.urn import Urn

POLICY_NAMES: tuple[str, ...] = (
    "interest_feed",
    "search_funnel",
    "urn",
    "cascade",
    "private_values",
    "mixed",
)
"""The registered policies' names, in the registry's order. Known without importing the
classes: a scenario's ``policy`` is validated (and a bad one refused) before numpy, scipy and
the kernels load; :func:`_classes` imports the classes on first use and checks this list
against their ``name``."""

_loaded: dict[str, type] = {}


def _classes() -> dict[str, type]:
    """Name -> class of every registered policy, imported on first call."""
    if not _loaded:
        from simulation.distribution.cascade import Cascade
        from simulation.distribution.interest_feed import InterestFeed
        from simulation.distribution.mixed import MixedPlatform
        from simulation.distribution.private_values import PrivateValues
        from simulation.distribution.search_funnel import SearchFunnel
        from simulation.distribution.urn import Urn

        classes = {
            cls.name: cls
            for cls in (InterestFeed, SearchFunnel, Urn, Cascade, PrivateValues, MixedPlatform)
        }
        if tuple(classes) != POLICY_NAMES:
            raise RuntimeError(
                f"POLICY_NAMES {POLICY_NAMES} disagree with the classes' names {tuple(classes)}"
            )
        _loaded.update(classes)
    return _loaded


class _Policies(Mapping[str, type]):
    """The registry: a read-only mapping from name to class whose names are known at once and
    whose classes are imported when the first one is looked up."""

    def __getitem__(self, name: str) -> type:
        if name not in POLICY_NAMES:
            raise KeyError(name)
        return _classes()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(POLICY_NAMES)

    def __len__(self) -> int:
        return len(POLICY_NAMES)

    def __contains__(self, name: object) -> bool:
        return name in POLICY_NAMES

    def __repr__(self) -> str:
        return f"POLICIES({', '.join(POLICY_NAMES)})"


POLICIES: Mapping[str, type] = _Policies()
"""Name -> policy class, for every registered policy (what scenarios name in ``policy``)."""


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


def _check_policy_name(name: str, source: str, key: str) -> None:
    """The scenario loader's check: ``name`` is registered (without importing the class)."""
    if not isinstance(name, str) or name not in POLICY_NAMES:
        raise unknown_name(source, key, name, sorted(POLICY_NAMES))


register_part_registry("policy", _check_policy_name)

_CLASS_NAMES = (
    "Cascade",
    "InterestFeed",
    "MixedPlatform",
    "PrivateValues",
    "SearchFunnel",
    "Urn",
)


def __getattr__(name: str) -> type:
    """The policy classes and :class:`DistributionPolicy`, imported on first use."""
    if name in _CLASS_NAMES:
        return next(cls for cls in _classes().values() if cls.__name__ == name)
    if name == "DistributionPolicy":
        from simulation.distribution.base import DistributionPolicy

        return DistributionPolicy
    raise AttributeError(f"module 'simulation.distribution' has no attribute {name!r}")


__all__ = [
    "POLICIES",
    "POLICY_NAMES",
    "Cascade",
    "DistributionPolicy",
    "InterestFeed",
    "MixedPlatform",
    "PrivateValues",
    "SearchFunnel",
    "Urn",
    "policy_class",
]
