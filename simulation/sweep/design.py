"""Design points: which parameter values each point of a sweep runs.

=========  ==================================================  ===========================
kind       points                                              for
=========  ==================================================  ===========================
grid       every combination of the listed levels (the last    phase diagrams, response
           parameter varies fastest)                           curves
random     ``samples`` uniform draws in the ranges             exploration
lhs        ``samples`` Latin-hypercube points                  space-filling exploration,
           (``scipy.stats.qmc.LatinHypercube``)                surrogates
sobol      Saltelli's scheme on a scrambled Sobol' sequence    Sobol sensitivity indices
           (``SALib.sample.sobol``): N*(2D+2) points, or       (first, total, second order)
           N*(D+2) with ``second_order = false``
morris     ``samples`` one-at-a-time trajectories              screening many parameters
           (``SALib.sample.morris``): r*(D+1) points           (mu*, sigma)
=========  ==================================================  ===========================

Sampled designs work in *design coordinates*: the value itself, or its log10 for a range with
``log = true`` (sampled log-uniformly; sensitivity indices then refer to the log of the
parameter). Integer keys are rounded after sampling. The coordinates are stored in the output
folder (design.parquet) so a resumed sweep and its analysis use exactly the points that were
run, whatever library versions come later.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.sweep.seeds import design_rng
from simulation.sweep.spec import Parameter, SweepSpec


@dataclass(frozen=True, eq=False)
class Design:
    """The points of a sweep.

    Attributes
    ----------
    kind : str
        The design kind (see the module docstring).
    parameters : tuple of Parameter
        The varied parameters, in spec order.
    n_points : int
        Number of points.
    coordinates : numpy.ndarray or None
        Shape (n_points, n_parameters): design coordinates of a sampled design; None for a
        grid, whose points are computed from their index (so a grid of any size costs no
        memory).
    """

    kind: str
    parameters: tuple[Parameter, ...]
    n_points: int
    coordinates: np.ndarray | None = None
    grid_levels: tuple[tuple[Any, ...], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Varied parameters, in spec order."""
        return tuple(p.key for p in self.parameters)

    def point(self, i: int) -> dict[str, Any]:
        """Parameter values of point ``i`` as plain Python values, in spec order."""
        if not 0 <= i < self.n_points:
            raise IndexError(i)
        if self.coordinates is None:
            idx = []
            for levels in reversed(self.grid_levels):
                i, r = divmod(i, len(levels))
                idx.append(levels[r])
            values = list(reversed(idx))
            return {p.key: _plain(v) for p, v in zip(self.parameters, values, strict=True)}
        row = self.coordinates[i]
        return {
            p.key: p.from_coordinate(float(x)) for p, x in zip(self.parameters, row, strict=True)
        }

    def problem(self) -> dict[str, Any]:
        """The SALib problem: names and bounds in design coordinates."""
        return {
            "num_vars": len(self.parameters),
            "names": list(self.names),
            "bounds": [list(p.bounds()) for p in self.parameters],
        }


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    return v


def build_design(spec: SweepSpec) -> Design:
    """Generate the design of ``spec``; sampled designs draw from the root seed's design
    stream (see :mod:`simulation.sweep.seeds`), so the same spec gives the same points."""
    params = spec.parameters
    d = spec.design
    n = spec.n_points
    if d.kind == "grid":
        return _grid(spec)
    rng = design_rng(spec.seed)
    lows = np.array([p.bounds()[0] for p in params])
    highs = np.array([p.bounds()[1] for p in params])
    problem = {
        "num_vars": len(params),
        "names": [p.key for p in params],
        "bounds": [list(p.bounds()) for p in params],
    }
    if d.kind == "random":
        unit = rng.random((n, len(params)))
        coords = lows + unit * (highs - lows)
    elif d.kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(params), rng=rng).random(n)
        coords = lows + unit * (highs - lows)
    elif d.kind == "sobol":
        sobol = _salib("sample.sobol", spec)

        coords = sobol.sample(
            problem, d.samples, calc_second_order=d.second_order, scramble=True, seed=rng
        )
    elif d.kind == "morris":
        morris = _salib("sample.morris", spec)

        coords = morris.sample(
            problem,
            d.samples,
            num_levels=d.levels,
            optimal_trajectories=d.optimal_trajectories,
            local_optimization=True,
            seed=rng,
        )
    else:  # pragma: no cover - the spec parser allows only the kinds above
        raise ValueError(d.kind)
    coords = np.asarray(coords, dtype=float)
    if coords.shape != (n, len(params)):  # pragma: no cover - library contract
        raise RuntimeError(f"{d.kind} design gave {coords.shape}, expected {(n, len(params))}")
    return Design(kind=d.kind, parameters=params, n_points=n, coordinates=coords)


def design_from_coordinates(spec: SweepSpec, coordinates: np.ndarray) -> Design:
    """The design of ``spec`` with stored coordinates (a resumed or analysed sweep)."""
    if spec.design.kind == "grid":
        return _grid(spec)
    coordinates = np.asarray(coordinates, dtype=float)
    return Design(
        kind=spec.design.kind,
        parameters=spec.parameters,
        n_points=coordinates.shape[0],
        coordinates=coordinates,
    )


def _salib(module: str, spec: SweepSpec) -> Any:
    """Import a SALib module, or explain how to get it."""
    import importlib

    try:
        return importlib.import_module(f"SALib.{module}")
    except ImportError:
        from simulation.errors import UsageError

        raise UsageError(
            f"{spec.source}: a {spec.design.kind} design needs SALib: "
            "pip install 'snowball-sim[sweep]'"
        ) from None


def _grid(spec: SweepSpec) -> Design:
    return Design(
        kind="grid",
        parameters=spec.parameters,
        n_points=spec.n_points,
        grid_levels=tuple(p.levels() for p in spec.parameters),
    )
