"""snowball: an agent-based simulator of the recommendation feedback loop in interest
e-commerce (short-video and live-stream commerce).

Quick use::

    from simulation import load_scenario, run
    result = run("default", seed=1, days=3)
    result.streams, result.ticks   # pandas DataFrames
"""

__version__ = "0.1.0"

from simulation.api import RunResult, build_model, run, run_summary, summarize
from simulation.config import ConfigError, Scenario, load_scenario

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
