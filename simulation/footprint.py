"""How much memory a run will take, estimated from its size before the model is built.

A scenario that cannot fit in the machine's memory used to end in a ``MemoryError`` (or an
out-of-memory kill) after seconds of building; :func:`check_fits` refuses it first, in one
line. The estimate is linear in the run's size:

    peak RSS ≈ BASE_BYTES
               + viewers x (VIEWER_OVERHEAD x viewer_state_bytes(categories, follow_slots)
                            + SLOT_BYTES x peak_slots_per_viewer(scenario))
               + streams x (STREAM_BYTES + ticks + days)
               + ticks x TICK_BYTES

* ``viewer_state_bytes`` adds up the per-viewer arrays :class:`simulation.population.Population`
  keeps (8 K + 8 F + 37 bytes for K categories and F follow slots: 197 at the defaults, the
  figure ``Population.nbytes`` reports; ``tests/test_bad_inputs.py`` holds the two to each
  other). ``VIEWER_OVERHEAD`` adds the float64 draws made while building (interests are drawn
  as float64 and narrowed) and the allocator's pages kept for reuse
  (:mod:`simulation.allocator`).
* The per-tick buffers (sessions, impressions, entries, purchases) grow with the feed slots
  filled in the busiest tick: ``peak_slots_per_viewer`` = sessions per day x the busiest
  hour's share of a day's sessions (the daily rhythm, ``CHRONOTYPES``) x ticks per hour^-1 x
  slots per session (x the campaign days' volume lift when there are any).
* Per stream: its Mesa agent, its rows in the stream table, the estimator and the campaign
  arrays (``STREAM_BYTES``), plus one byte per tick (the tier history, int8 ticks x streams)
  and one per day (the streaming calendar, bool streams x days).
* Per tick: the tick's records (its row of the tick table and the per-tick histories).

Calibration (``snowball run``'s own process: ``allocator.tune()``, build and one simulated day
of ``default`` with 150 field rooms (229 streams), peak RSS from ``getrusage``; 2-core
machine, 2026-12-06). Two sizes at the default 10-minute tick: 1,000,000 viewers peaked at
598 MiB and 3,000,000 at 1,204 MiB, 317 bytes per extra viewer. The same 1,000,000 viewers
with 60-minute ticks (six times the slots per tick: 4.20 against 0.70 per viewer in the
busiest tick) peaked at 1,068 MiB: 141 bytes per viewer per peak slot (SLOT_BYTES), which
leaves 317 - 0.70 x 141 = 218 bytes per viewer outside the tick buffers, 1.11 x the 197 bytes
of state (VIEWER_OVERHEAD), and an intercept of 296 MiB (BASE_BYTES). At 100,000 viewers the
peak rose from 324 MiB with 229 streams to 400 MiB with 40,079, 1,997 bytes per extra
stream, of which 145 are one day's tier history and calendar; 20,000 viewers over 30 days
peaked 10.5 MiB above one day, 2,414 bytes per extra tick besides the streams' history.
Check: 2,000,000 viewers at 60-minute ticks, one day: estimated 1,843 MiB, measured
1,843 MiB (``/usr/bin/time -v snowball run``, 2026-12-06). Runs below about 50,000
viewers sit under the line (20,000 viewers peak at 198 MiB, estimated 302 MiB): the
estimate errs on the large side, and matters only for the large runs it refuses.

The rule: a run is refused when its estimate exceeds the memory available now
(``MemAvailable`` in /proc/meminfo, lowered to the room left under a cgroup's
``memory.max`` if the process runs in one; ``os.sysconf`` where there is no /proc).
``--jobs J`` runs J models at once, each in its own process: J times the estimate.
"""

import math
import os
from collections.abc import Iterable
from pathlib import Path

from simulation.config import Scenario
from simulation.errors import UsageError

BASE_BYTES = 296 * 2**20
"""Intercept of the calibration line: the interpreter, numpy, pandas, Mesa and the compiled
kernels, before any viewer."""

VIEWER_OVERHEAD = 1.11
"""Peak bytes per viewer outside the tick buffers, as a multiple of
:func:`viewer_state_bytes` (218 / 197, measured)."""

SLOT_BYTES = 141
"""Peak bytes of the tick buffers per feed slot filled in the busiest tick (measured)."""

STREAM_BYTES = 1_852
"""Peak bytes per stream besides its tier history and calendar (1,997 measured with one day,
less its 145 bytes of history and calendar)."""

TICK_BYTES = 2_414
"""Peak bytes per simulated tick besides the streams' tier history (measured)."""


class TooLargeError(UsageError):
    """A run that would not fit in the machine's memory."""


def viewer_state_bytes(
    categories: int, follow_slots: int, interest_drift: bool = False, latent_needs: bool = False
) -> int:
    """Bytes of per-viewer state in :class:`~simulation.population.Population`.

    Interests float32 (4 K), need and adoption bool (2 K), last purchase day int16 (2 K),
    follow list int32 and affinities float32 (8 F), activity float32 (4), chronotype uint8 (1),
    patience and price sensitivity float32 (8), reservation int32 (4), and the session
    sampler's member index int64 (8), cumulative activity float64 (8) and bucket table
    int32 (4). Version 2: the baseline interests float16 (2 K) with ``interest_drift``, the
    demand origins uint8 (K) with ``latent_needs`` (docs/MODEL.md 7.15.2).
    """
    extra = 2 * categories * interest_drift + categories * latent_needs
    return 8 * categories + 8 * follow_slots + 37 + extra


def peak_slots_per_viewer(scenario: Scenario) -> float:
    """Feed slots per viewer in the busiest tick: sessions per day x the busiest hour's
    share of them x the tick's share of an hour x slots per session (x the volume lift of
    campaign days and of the busiest day's sales, if the scenario has any)."""
    from simulation.population import CHRONOTYPE_SHARES, CHRONOTYPES

    pop = scenario.population
    busiest_hour = float((CHRONOTYPE_SHARES[:, None] * CHRONOTYPES).sum(axis=0).max())
    cal = scenario.calendar
    lift = 1 + cal.volume_lift if cal.campaign_days else 1.0
    sale_lift = [  # the busiest day's sales (calendar events, docs/MODEL.md 7.12)
        math.prod(1 + e.volume_lift for e in cal.sales.values() if d in e.days)
        for d in {d for e in cal.sales.values() for d in e.days}
    ]
    lift *= max(sale_lift, default=1.0)
    per_tick = pop.sessions_per_day * busiest_hour * scenario.tick_minutes / 60 * lift
    return per_tick * pop.slots_per_session


def stream_count(scenario: Scenario) -> int:
    return sum(g.count for g in scenario.streams.values())


def estimate_bytes(scenario: Scenario) -> float:
    """Estimated peak resident memory of building and running ``scenario`` in one process
    (a float: sizes beyond any machine are estimated, not overflowed)."""
    pop = scenario.population
    per_viewer = VIEWER_OVERHEAD * viewer_state_bytes(
        pop.categories,
        pop.follow_slots,
        scenario.platform.interest_drift,
        scenario.platform.latent_needs,
    ) + SLOT_BYTES * peak_slots_per_viewer(scenario)
    per_stream = STREAM_BYTES + scenario.n_ticks + scenario.days
    return (
        BASE_BYTES
        + float(pop.viewers) * per_viewer
        + float(stream_count(scenario)) * per_stream
        + float(scenario.n_ticks) * TICK_BYTES
    )


def available_bytes() -> int:
    """Memory this process can take now: ``MemAvailable``, within a cgroup's limit."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):  # pragma: no cover - not POSIX
            return 2**63
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            avail = min(avail, max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return avail


def _gib(x: float) -> str:
    return f"{x / 2**30:,.1f} GiB" if x < 2**30 * 1e6 else f"{x / 2**30:.2g} GiB"


def check_fits(
    scenarios: Iterable[Scenario],
    where: str,
    concurrent: int = 1,
    available: int | None = None,
) -> None:
    """Refuse (:class:`TooLargeError`, one line) the largest of ``scenarios`` when
    ``concurrent`` runs of it would not fit in the memory available.

    ``where`` names the input the scenarios came from (a file, ``--set``, a study), for the
    message.
    """
    scs = list(scenarios)
    if not scs:
        return
    biggest = max(scs, key=estimate_bytes)
    need = estimate_bytes(biggest) * max(concurrent, 1)
    have = available_bytes() if available is None else available
    if need <= have:
        return
    pop = biggest.population
    jobs = f" x {concurrent} jobs" if concurrent > 1 else ""
    hint = "fewer viewers or streams" + (", or fewer --jobs" if concurrent > 1 else "")
    raise TooLargeError(
        f"{where}: population.viewers = {pop.viewers:,} with {stream_count(biggest):,} streams "
        f"over {biggest.days} days{jobs} needs about {_gib(need)} of memory (estimated "
        f"before building the model), more than the {_gib(have)} available; use {hint}"
    )
