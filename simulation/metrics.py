"""Metrics: inequality measures, the metric interface, and the platform-level metrics.

A metric is any object with a ``name`` (its column), a ``level`` ("tick" or "day"), a
``description`` and ``measure(model)`` (the value, read from the model: a number, a bool or a
string) -- the :class:`Metric` protocol. The built-in platform metrics (:data:`TICK_METRICS`)
are instances of it, and a user adds more through the API (``model.add_metrics(...)`` before
the first step) or a scenario file (``[metrics] extra = ["package.module:ClassName"]``, loaded
by :func:`load_extra`), in the manner of T-RECS's ``add_metrics``.

The model measures every tick metric once at the end of each tick and every day metric once
at the end of each day (after the day's last tick, before the night's updates: ratings,
strategies, operators, affinity decay); the values go through Mesa's ``DataCollector``
(tick metrics as model reporters, day metrics as rows of its ``days`` table), so Mesa's
``batch_run`` and visualisations see them. Per-stream daily figures are aggregated by the
model itself (``streams.parquet``).

``measure`` should only read the model: a metric that changed it would change the run.

The loop-gain day metrics (the focal room's free-traffic elasticity to uplift, fans' GPM
multiple and share of impressions, created demand's share of orders) are in
:mod:`simulation.loop_gains` (``LOOP_GAIN_METRICS``); they are not added by default.
"""

import importlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from simulation.config import ConfigError
from simulation.errors import one_line
from simulation.theory import gini

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel

LEVELS = ("tick", "day")
"""When a metric is measured: at the end of every tick, or at the end of every day."""

RUN_KEYS = ("scenario", "seed", "run_id")
"""The columns that name a run in its written tables (simulation/results.py)."""


@runtime_checkable
class Metric(Protocol):
    """What the model needs of a metric (built-in or user-supplied). A metric may also
    have a ``dtype`` (a numpy/pandas type name such as "float64"): a tick metric's column is
    then cast to it, else pandas infers the column's type from the values.

    Attributes
    ----------
    name
        Column name in the tick table (level "tick") or the day table (level "day"); unique
        among the model's metrics of both levels.
    level
        "tick" or "day" (:data:`LEVELS`).
    description
        One line: what is measured, in which unit.
    """

    name: str
    level: str
    description: str

    def measure(self, model: "SnowballModel") -> Any:
        """The metric's value for the tick or day just completed."""
        ...


def top_share(values: np.ndarray, fraction: float = 0.1) -> float:
    """Share of the total held by the top ``fraction`` of entries: ``fraction * n`` rounded
    to the nearest whole number, halves up (10 % of 15 entries is 2, of 25 is 3), and at
    least one."""
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())[::-1]
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return 0.0
    k = max(1, math.floor(fraction * len(x) + 0.5))
    return float(x[:k].sum() / total)


@dataclass(frozen=True)
class TickMetric:
    """A platform-level quantity of the tick, read from ``model.tick_stats[key or name]``.

    ``dtype`` is the column's type in the tick table (counts are int64, amounts float64).
    """

    name: str
    description: str
    key: str | None = None
    dtype: str = "int64"
    level: ClassVar[str] = "tick"

    def measure(self, model: "SnowballModel") -> Any:
        return model.tick_stats[self.key or self.name]


@dataclass(frozen=True)
class GiniMetric(TickMetric):
    """Gini across streams of a cumulative per-stream total (the model attribute ``key``)."""

    dtype: str = "float64"

    def measure(self, model: "SnowballModel") -> float:
        return float(gini(getattr(model, self.key)))


TICK_METRICS: tuple[TickMetric, ...] = (
    TickMetric("tick", "tick index from 0"),
    TickMetric("day", "day index from 0"),
    TickMetric("minute_of_day", "minutes since midnight at the start of the tick"),
    TickMetric("sessions", "app sessions opened in the tick"),
    TickMetric("free_impressions", "slots filled by free recommendation (organic search)"),
    TickMetric("paid_impressions", "slots filled by the ad auction"),
    TickMetric("follow_impressions", "slots filled by the follow channel (store visits)"),
    TickMetric("impressions", "all slots filled"),
    TickMetric("entries", "impressions that became room entries (clicks)"),
    TickMetric("dwell_minutes", "minutes spent in rooms", dtype="float64"),
    TickMetric("orders", "orders placed"),
    TickMetric("gmv", "gross merchandise value, yuan", dtype="float64"),
    TickMetric("ad_spend", "yuan charged to ad budgets", dtype="float64"),
    TickMetric("live_streams", "streams on air (open shops under the funnel)"),
    GiniMetric("gini_gmv", "Gini of cumulative GMV across streams", "cum_gmv"),
    GiniMetric(
        "gini_impressions", "Gini of cumulative impressions across streams", "cum_impressions"
    ),
)

DAY_KEY = "day"
"""The first column of the day table: the day index from 0."""


def check_metric(obj: Any, source: str, key: str, value: Any, taken: Iterable[str] = ()) -> Any:
    """Return ``obj`` if it is a usable metric, else raise a one-line :class:`ConfigError`.

    Usable: :class:`Metric` attributes of the right kinds (``name`` a non-empty string,
    ``level`` one of :data:`LEVELS`, ``description`` a string, ``measure`` callable) and a
    name that is not in ``taken`` (the model's other metric names) nor a run key or "day".
    ``source``, ``key`` and ``value`` say where the metric came from, for the message.
    """
    if isinstance(obj, type):
        raise ConfigError(source, key, value, "is a class; give an instance of it")
    missing = [a for a in ("name", "level", "description", "measure") if not hasattr(obj, a)]
    if missing or not callable(obj.measure):
        what = ", ".join(missing) if missing else "a callable measure"
        raise ConfigError(
            source,
            key,
            value,
            f"is not a metric (lacks {what}); a metric has name, level ('tick' or 'day'), "
            "description and measure(model)",
        )
    if not isinstance(obj.name, str) or not obj.name.isidentifier():
        raise ConfigError(
            source, key, value, f"metric name {obj.name!r} must be a Python identifier string"
        )
    if obj.level not in LEVELS:
        raise ConfigError(
            source, key, value, f"metric level {obj.level!r} must be one of {', '.join(LEVELS)}"
        )
    if not isinstance(obj.description, str):
        raise ConfigError(source, key, value, "metric description must be a string")
    reserved = {*RUN_KEYS, DAY_KEY} if obj.level == "day" else set(RUN_KEYS)
    if obj.name in reserved or obj.name in set(taken):
        raise ConfigError(
            source,
            key,
            value,
            f"metric name {obj.name!r} is already a column (names in use: "
            f"{', '.join(sorted({*taken, *reserved}))})",
        )
    return obj


def load_metric(spec: str, source: str, key: str = "metrics.extra") -> Any:
    """The metric named by ``"package.module:Name"``: the module is imported and ``Name``
    looked up; a class is instantiated without arguments, any other object is used as it is.
    Every failure is a one-line :class:`ConfigError` naming ``key`` and ``spec``."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(source, key, spec, "must be written 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or an error raised by the module's own code
        raise ConfigError(
            source, key, spec, f"cannot import module {module_name!r} ({one_line(exc, typed=True)})"
        ) from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(source, key, spec, f"module {module_name!r} has no {attr!r}")
        target = getattr(target, part)
    if isinstance(target, type):
        try:
            target = target()
        except Exception as exc:
            raise ConfigError(
                source,
                key,
                spec,
                f"{attr}() failed without arguments ({one_line(exc, typed=True)})",
            ) from None
    return target


def load_extra(specs: Sequence[str], source: str, taken: Iterable[str] = ()) -> list[Any]:
    """The metrics of a scenario's ``metrics.extra``, loaded and checked (names unique
    among themselves and against ``taken``)."""
    names = list(taken)
    out = []
    for spec in specs:
        m = check_metric(load_metric(spec, source), source, "metrics.extra", spec, names)
        names.append(m.name)
        out.append(m)
    return out


def scenario_metrics(extra: Sequence[str], source: str) -> list[Any]:
    """A scenario's extra metrics (``metrics.extra``), loaded and checked against the
    built-in names; ``source`` (the scenario file, or its name) leads any error message."""
    return load_extra(extra, source, [m.name for m in TICK_METRICS])


def tick_reporters(metrics: Iterable[Any] = TICK_METRICS) -> dict[str, Callable[[Any], Any]]:
    """Model reporters for Mesa's DataCollector, one per tick metric.

    Each reporter is a plain function of the model (the one reporter form every Mesa 3.x
    accepts) that returns the value the model measured for the tick (``model.tick_values``):
    each metric is measured exactly once per tick, even when the DataCollector calls a
    reporter an extra time to validate it.
    """
    return {m.name: _reporter(m.name) for m in metrics}


def _reporter(name: str) -> Callable[[Any], Any]:
    def report(model: Any) -> Any:
        return model.tick_values[name]

    report.__name__ = f"report_{name}"
    return report
