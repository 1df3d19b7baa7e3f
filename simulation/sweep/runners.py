"""What one run of a sweep is.

A *runner* is any picklable callable ``runner(params, seed) -> {metric: value}``: ``params``
maps dotted scenario keys to this point's values, ``seed`` is the run's seed. It may carry a
``name`` (recorded in the manifest and part of the sweep's fingerprint) and ``metrics`` (the
names it returns, used to check the spec's ``metrics``).

The default runner is :class:`SimulationRunner`: it applies the point's values to the base
scenario and calls :func:`simulation.api.run_summary`. Tests inject other runners
(:mod:`simulation.sweep.fakes`), either as an argument of :func:`simulation.sweep.run_sweep`
or, for a ``snowball sweep`` subprocess, through the environment variable
``SNOWBALL_SWEEP_RUNNER=module:function`` — meant only for tests; the command says so when
it is set.
"""

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from simulation.api import SUMMARY_METRICS
from simulation.config import ConfigError
from simulation.sweep.spec import SweepSpec, _quote, _suggest

RUNNER_ENV = "SNOWBALL_SWEEP_RUNNER"

#: Summary metrics of :func:`simulation.api.run_summary`.
METRICS = SUMMARY_METRICS

Runner = Callable[[dict[str, Any], int], Mapping[str, Any]]


@dataclass(frozen=True)
class SimulationRunner:
    """One simulation: the base scenario with this point's values, run with the run's seed.

    The base scenario (spec scenario + ``[set]`` + ``days``) travels with the runner, so
    workers on another machine need the package, not the spec's files.
    """

    base: Any
    focal: str = "focal"
    paired_leverage: bool = False
    name = "simulation.api.run_summary"
    metrics = METRICS

    def __call__(self, params: dict[str, Any], seed: int) -> Mapping[str, Any]:
        """Run the point's scenario with ``seed``; return ``run_summary``'s metrics."""
        from simulation.api import run_summary

        return run_summary(
            self.scenario(params), seed, focal=self.focal, paired_leverage=self.paired_leverage
        )

    def scenario(self, params: dict[str, Any]) -> Any:
        """The scenario of one point (validated like a file)."""
        from simulation.config import replace

        return replace(self.base, **params) if params else self.base


@dataclass(frozen=True)
class PreparedRunner:
    """A runner checked against a spec, with what the manifest records about it."""

    runner: Runner
    name: str
    metrics: tuple[str, ...] | None
    base_config: dict[str, Any] | None
    is_test_runner: bool = False
    from_env: bool = False
    scenario_file: dict[str, Any] | None = None

    def warning(self) -> str | None:
        """A line to show when runs use a test runner chosen by the environment."""
        if not self.from_env:
            return None
        return (
            f"snowball: note: {RUNNER_ENV} is set: runs use the test runner {self.name}, "
            "not the simulator"
        )


def runner_name(runner: Any) -> str:
    """``runner.name`` or ``module:qualname``."""
    name = getattr(runner, "name", None)
    if isinstance(name, str) and name:
        return name
    module = getattr(runner, "__module__", type(runner).__module__)
    qual = getattr(runner, "__qualname__", type(runner).__qualname__)
    return f"{module}:{qual}"


def runner_from_env() -> Runner | None:
    """The test runner named by ``SNOWBALL_SWEEP_RUNNER`` (``module:function``), if set."""
    target = os.environ.get(RUNNER_ENV, "").strip()
    if not target:
        return None
    from simulation.errors import UsageError

    module, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UsageError(
            f"{RUNNER_ENV}={target}: cannot import it ({exc}); expected module:function"
        ) from None
    if not callable(obj):
        raise UsageError(f"{RUNNER_ENV}={target}: not callable")
    return obj


def _resource(exc: ConfigError, spec: SweepSpec) -> ConfigError:
    """Point a scenario error at the spec line that caused it, when one did."""
    key = exc.key
    if key in spec.names:
        where = f"parameters.{_quote(key)}"
    elif key in spec.fixed:
        where = f"set.{_quote(key)}"
    elif key == "days" and spec.days is not None:
        where = "days"
    else:
        return exc
    return ConfigError(spec.source, where, exc.value, exc.allowed)


def check_metrics(spec: SweepSpec, known: tuple[str, ...] | None) -> None:
    """The spec's metrics (and its analysis metrics) must be ones the runner returns."""
    if known is None:
        return
    for where, names in (
        ("metrics", spec.metrics or ()),
        ("analysis.metric", (spec.analysis.metric,) if spec.analysis.metric else ()),
        ("analysis.metrics", spec.analysis.metrics),
    ):
        for m in names:
            if m not in known:
                raise ConfigError(
                    spec.source,
                    where,
                    m,
                    f"unknown metric{_suggest(m, known)}; known: {', '.join(known)}",
                )


def prepare(
    spec: SweepSpec, runner: Runner | None = None, first_point: dict | None = None
) -> PreparedRunner:
    """Choose and check the runner of ``spec``.

    With no ``runner`` (and no test runner in the environment) this loads the base scenario,
    checks that the focal group and every stream group the parameters name exist, and builds
    the scenario of the first point, so a bad key or value fails here, before anything runs.

    Raises
    ------
    ConfigError
        A bad scenario value, pointed at the spec key that set it.
    simulation.cli.UsageError
        The simulator's API is missing, or the test runner cannot be imported.
    """
    if runner is None:
        runner = runner_from_env()
        if runner is not None:
            prepared = PreparedRunner(
                runner,
                runner_name(runner),
                getattr(runner, "metrics", None),
                None,
                True,
                from_env=True,
            )
            check_metrics(spec, prepared.metrics)
            return prepared
    if runner is not None:
        prepared = PreparedRunner(
            runner, runner_name(runner), getattr(runner, "metrics", None), None, True
        )
        check_metrics(spec, prepared.metrics)
        return prepared
    return _prepare_simulation(spec, first_point)


def _prepare_simulation(spec: SweepSpec, first_point: dict | None) -> PreparedRunner:
    from simulation.config import load_scenario
    from simulation.errors import UsageError

    try:
        groups = sorted(load_scenario(spec.scenario_path).streams)
        base = load_scenario(spec.scenario_path, spec.overrides())
    except ConfigError as exc:
        raise _resource(exc, spec) from None
    if spec.focal not in base.streams:
        raise ConfigError(
            spec.source,
            "focal",
            spec.focal,
            f"must name a stream group of scenario {spec.scenario}"
            f"{_suggest(spec.focal, groups)}: {', '.join(groups)}",
        )
    keys = [(f"set.{_quote(k)}", k) for k in spec.fixed]
    keys += [(f"parameters.{_quote(k)}", k) for k in spec.names]
    for where, key in keys:
        parts = key.split(".")
        if parts[0] == "streams" and parts[1] not in groups:
            raise ConfigError(
                spec.source,
                where,
                key,
                f"stream group '{parts[1]}' is not in scenario {spec.scenario}"
                f"{_suggest(parts[1], groups)}; groups: {', '.join(groups)}",
            )
    try:
        import simulation.api as api
    except ImportError as exc:
        raise UsageError(
            f"the simulator's run API is not available ({exc}); cannot run {spec.source}"
        ) from None
    metrics = api.SUMMARY_METRICS
    check_metrics(spec, metrics)
    runner = SimulationRunner(base=base, focal=spec.focal, paired_leverage=spec.paired_leverage)
    if first_point:
        try:
            runner.scenario(first_point)
        except ConfigError as exc:
            raise _resource(exc, spec) from None
    return PreparedRunner(
        runner,
        SimulationRunner.name,
        metrics,
        base.to_dict(),
        False,
        scenario_file=_scenario_file(spec.scenario_path),
    )


def _scenario_file(path: str) -> dict[str, Any] | None:
    """The scenario file's values as written (with ``base = ...`` inheritance resolved)."""
    from pathlib import Path

    from simulation import config

    try:
        return config.read_raw(Path(path))
    except (ConfigError, OSError):
        return None
