"""Parameter sweeps: designs, replicates, local and Dask executors, resume, analysis.

A sweep is described by a TOML spec (see docs/SWEEPS.md and experiments/sweeps/): a base
scenario, the parameters to vary (lists make a full grid; ranges are sampled by a random,
Latin-hypercube, Sobol or Morris design), replicates per point, the root seed and the
summary metrics to keep. ``snowball sweep SPEC.toml`` runs it; ``snowball analyze DIR``
summarises it.

Modules
-------
spec       reading and validating a sweep spec
design     design points (grid, random, lhs, sobol, morris)
seeds      per-run seeds spawned from the root seed
worker     the function a worker process runs for one (point, replicate)
runners    what one run is: the simulator (``simulation.api.run_summary``) or a test runner
fakes      small deterministic runners for tests and for checking a cluster set-up
executors  local processes, in-process, or a Dask cluster behind ``concurrent.futures``
store      the output folder: one file per completed run, consolidation, manifest
engine     the driver loop (bounded in-flight futures, progress bar)
analysis   per-point summaries and SALib sensitivity indices
plots      the sensitivity bar chart and the phase diagram
labels     plural nouns and the metrics' labels and units (a leaf every module may import)

This package keeps its import light (worker processes import it to run a task); the heavy
parts are imported by the modules that need them.
"""

from typing import Any

from simulation.sweep.labels import plural

__all__ = ["analyze_sweep", "load_spec", "plural", "run_sweep"]


def __getattr__(name: str) -> Any:
    if name == "load_spec":
        from simulation.sweep.spec import load_spec

        return load_spec
    if name == "run_sweep":
        from simulation.sweep.engine import run_sweep

        return run_sweep
    if name == "analyze_sweep":
        from simulation.sweep.analysis import analyze_sweep

        return analyze_sweep
    raise AttributeError(name)
