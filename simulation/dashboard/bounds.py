"""Every value the dashboard accepts from a page: the bounds of each number, the list of each
choice, and the one check every value passes on the server.

The page's sliders and selects are drawn from these tables (their ``min``, ``max``, ``step``
and ``values``), and :func:`checked` applies the same tables to whatever the browser sends
back. The browser is not trusted: a crafted websocket message can send any value for any
control, so a number outside its bounds, a number that is not finite, a value of the wrong
type or a name that is not in its list is refused here, before it reaches the controls or
the model. Scenario presets are compared as names against :data:`PRESETS`; no path is ever
built from what the page sends.

Nothing here imports solara, so the tables and the check are tested without a browser.
"""

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

from simulation.config import scenario_names
from simulation.distribution import POLICIES
from simulation.strategies import STRATEGIES


@dataclass(frozen=True)
class Bound:
    """The range of one numeric control, inclusive at both ends.

    Attributes
    ----------
    lo, hi
        Smallest and largest value allowed.
    step
        The slider's step (the check does not require values on the grid: presets set
        values between its marks).
    integer
        Whether only whole numbers are allowed.
    """

    lo: float
    hi: float
    step: float
    integer: bool = False


BOUNDS: dict[str, Bound] = {
    # Mesa's "Model Parameters" card: the size of the run
    "viewers": Bound(2_000, 50_000, 1_000, integer=True),
    "days": Bound(1, 30, 1, integer=True),
    "seed": Bound(0, 100, 1, integer=True),
    # the controller: milliseconds between frames of Play, ticks per frame and per Step
    "play_interval": Bound(10, 500, 10, integer=True),
    "render_interval": Bound(1, 100, 1, integer=True),
    # the scenario card: the focal room's traits, product mix, ads and promotion
    "hook": Bound(0.02, 0.25, 0.01),
    "retention": Bound(0.3, 2.5, 0.1),
    "persuasion": Bound(0.01, 0.15, 0.005),
    "driver_share": Bound(0.0, 1.0, 0.05),
    "welfare_share": Bound(0.0, 1.0, 0.05),
    "daily_budget": Bound(0, 5_000, 50),
    "promotion_day": Bound(1, 30, 1, integer=True),
}
"""Name -> bounds of every numeric control (daily budget in yuan, intervals in ms / ticks)."""

FLAGS = ("promotion",)
"""Controls that are on or off (only ``True`` and ``False`` are accepted)."""


def _preset_names() -> tuple[str, ...]:
    names = scenario_names()
    return tuple(sorted(names, key=lambda n: n != "default"))


PRESETS: tuple[str, ...] = _preset_names()
"""The project's named scenarios (experiments/scenarios/*.toml), ``default`` first; read once
when the server starts."""

CHOICES: dict[str, tuple[str, ...]] = {
    "scenario": PRESETS,
    "policy": tuple(POLICIES),
    "strategy": tuple(STRATEGIES),
}
"""Name -> the values a select may take."""


class ControlError(ValueError):
    """A value the page may not send; ``str()`` is the sentence the page shows."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def checked(name: str, value: Any) -> Any:
    """``value`` as the control ``name`` holds it, if the tables allow it.

    Returns whole numbers as ``int``, other numbers as ``float``, flags as ``bool`` and a
    choice as the table's own string (so nothing the page sent is used as a name).

    Raises
    ------
    ControlError
        If ``name`` is not a control, or ``value`` is out of bounds, not finite, of the wrong
        type, or not in the control's list.
    """
    if name in CHOICES:
        allowed = CHOICES[name]
        for known in allowed:
            if isinstance(value, str) and value == known:
                return known
        raise ControlError(f"{name} = {_show(value)} refused: choose one of {', '.join(allowed)}.")
    if name in FLAGS:
        if isinstance(value, bool):
            return value
        raise ControlError(f"{name} = {_show(value)} refused: must be true or false.")
    if name not in BOUNDS:
        raise ControlError(f"{name} refused: the dashboard has no such control.")
    b = BOUNDS[name]
    kind = "a whole number" if b.integer else "a number"
    allowed = f"{kind} from {b.lo:g} to {b.hi:g}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ControlError(f"{name} = {_show(value)} refused: must be {allowed}.")
    number = float(value)
    if not math.isfinite(number) or not b.lo <= number <= b.hi:
        raise ControlError(f"{name} = {_show(value)} refused: must be {allowed}.")
    if b.integer:
        if number != int(number):
            raise ControlError(f"{name} = {_show(value)} refused: must be {allowed}.")
        return int(number)
    return number
