"""snowball: an agent-based simulator of the recommendation feedback loop in interest
e-commerce (short-video and live-stream commerce).

Quick use::

    from simulation import load_scenario, run
    result = run("default", seed=1, days=3)
    result.streams, result.ticks   # pandas DataFrames

The public names are loaded on first use (PEP 562 ``__getattr__``): ``import simulation``
itself loads only the configuration and the three registries of part names (policies,
strategies and room operators, which the scenario loader asks to validate ``policy``,
``campaign.strategy`` and ``operator``),
so the command line refuses bad input before the model, pandas, scipy and Mesa are imported.
"""

import typing

# The registries register their lookups with the scenario loader when imported: here, so
# that every scenario load, from any entry point, can validate names. All are cheap (the
# policy classes are imported on first use), and so is the configuration.
from simulation import distribution as distribution
from simulation import operators as operators
from simulation import strategies as strategies
from simulation.config import ConfigError, Scenario, load_scenario

__version__ = "0.1.0"

if typing.TYPE_CHECKING:
    from simulation.api import RunResult, build_model, run, run_summary, summarize

_FROM_API = ("RunResult", "build_model", "run", "run_summary", "summarize")

__all__ = [
    "ConfigError",
    "RunResult",
    "Scenario",
    "build_model",
    "load_scenario",
    "run",
    "run_summary",
    "summarize",
]


def __getattr__(name: str) -> object:
    """A name of :mod:`simulation.api`, imported on first use (and kept here after)."""
    if name not in _FROM_API:
        raise AttributeError(f"module 'simulation' has no attribute {name!r}")
    from simulation import api

    value = getattr(api, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
