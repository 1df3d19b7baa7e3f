"""Metrics: inequality measures and the platform-level observers collected every tick.

Each observer has a ``name`` and ``measure(model)`` and is wired into Mesa's DataCollector
(see :func:`tick_reporters`). Per-stream daily figures are aggregated by the model itself.
"""

import math
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.theory import gini

if TYPE_CHECKING:  # pragma: no cover
    from simulation.model import SnowballModel


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
    """A platform-level quantity measured once per tick."""

    name: str
    description: str
    key: str | None = None

    def measure(self, model: "SnowballModel") -> Any:
        return model.tick_stats[self.key or self.name]


@dataclass(frozen=True)
class GiniMetric(TickMetric):
    """Gini across streams of a cumulative per-stream total."""

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
    TickMetric("dwell_minutes", "minutes spent in rooms"),
    TickMetric("orders", "orders placed"),
    TickMetric("gmv", "gross merchandise value, yuan"),
    TickMetric("ad_spend", "yuan charged to ad budgets"),
    TickMetric("live_streams", "streams on air (open shops under the funnel)"),
    GiniMetric("gini_gmv", "Gini of cumulative GMV across streams", "cum_gmv"),
    GiniMetric(
        "gini_impressions", "Gini of cumulative impressions across streams", "cum_impressions"
    ),
)


def tick_reporters(metrics: tuple[TickMetric, ...] = TICK_METRICS) -> dict[str, partial]:
    """Model reporters for Mesa's DataCollector (a partial is called with the model)."""
    return {m.name: partial(m.measure) for m in metrics}
