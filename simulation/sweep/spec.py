"""Sweep specs: a TOML file in, a validated frozen :class:`SweepSpec` out.

A spec names a base scenario, fixed overrides (``[set]``), the parameters to vary
(``[parameters]``: a list of values, or a range ``{low, high}`` with optional ``num`` and
``log``), the design that turns them into points (``[design]``), replicates per point, the
root seed, days, and the summary metrics to keep. Parameter names are the dotted scenario keys
that ``--set`` accepts (``streams.focal.persuasion``). docs/SWEEPS.md has the full format.

Everything wrong raises :class:`simulation.config.ConfigError` naming the spec file, the key,
the value and what is allowed; nothing is run or written before the spec has passed.
"""

import dataclasses
import difflib
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation.config import _MISSING, ConfigError
from simulation.sweep.labels import plural

DESIGN_KINDS = ("grid", "random", "lhs", "sobol", "morris")
SAMPLED_KINDS = ("random", "lhs", "sobol", "morris")
SENSITIVITY_KINDS = ("sobol", "morris")
SOBOL_MIN_SAMPLES = 8
MAX_RUNS = 100_000_000

TOP_KEYS = (
    "name",
    "description",
    "scenario",
    "days",
    "replicates",
    "seed",
    "common_random_numbers",
    "metrics",
    "paired_leverage",
    "focal",
    "max_runs",
    "set",
    "design",
    "parameters",
    "analysis",
)
DESIGN_KEYS = ("kind", "samples", "levels", "optimal_trajectories", "second_order")
RANGE_KEYS = ("low", "high", "num", "log")
ANALYSIS_KEYS = ("metric", "metrics", "phase", "threshold", "resamples")
FORBIDDEN_PARAMETERS = {
    "seed": "run seeds are spawned from the sweep's root seed; use replicates instead",
    "name": "the scenario's name is not a model parameter",
    "description": "the scenario's description is not a model parameter",
}


# --------------------------------------------------------------------------------------------
# Scenario keys
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """What the scenario schema says about one dotted key.

    ``kind`` is ``int``, ``float``, ``pair`` (a trait range: a number fixes it), ``list`` (a
    sequence of numbers), ``str`` or ``bool``. ``doc`` is the field's one-line meaning, with
    units where the schema gives them.
    """

    key: str
    kind: str
    lo: float | None
    hi: float | None
    lo_open: bool
    choices: tuple[str, ...] | None
    doc: str


def _unwrap_optional(tp: Any) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return args[0]
    return tp


def _kind(tp: Any) -> str:
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    if tp is str:
        return "str"
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is not Ellipsis:
            return "pair"
        return "list"
    return "other"


def scenario_field(key: str) -> FieldInfo | None:
    """Schema information for a dotted scenario key, or None if it names no value.

    Stream groups are free names: ``streams.<any group>.persuasion`` resolves to the
    ``persuasion`` field of a stream group.
    """
    from simulation import config

    parts = key.split(".")
    cls: Any = config.Scenario
    i = 0
    while i < len(parts):
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        name = parts[i]
        if name not in fields:
            return None
        tp = _unwrap_optional(hints[name])
        if typing.get_origin(tp) is dict:
            cls = typing.get_args(tp)[1]
            i += 2
            if i >= len(parts):
                return None
            continue
        if dataclasses.is_dataclass(tp):
            cls = tp
            i += 1
            if i >= len(parts):
                return None
            continue
        if i != len(parts) - 1:
            return None
        meta = dict(fields[name].metadata)
        return FieldInfo(
            key=key,
            kind=_kind(tp),
            lo=meta.get("lo"),
            hi=meta.get("hi"),
            lo_open=bool(meta.get("lo_open")),
            choices=meta.get("choices"),
            doc=str(meta.get("doc", "")),
        )
    return None  # pragma: no cover - loop always returns


def _normalise(key: str) -> tuple[str, str | None]:
    """``streams.focal.x`` -> (``streams.<group>.x``, ``focal``)."""
    parts = key.split(".")
    if len(parts) >= 2 and parts[0] == "streams":
        return ".".join(["streams", "<group>", *parts[2:]]), parts[1]
    return key, None


def suggest_key(key: str, focal: str = "focal") -> str | None:
    """The nearest known scenario key to ``key`` (stream groups filled in), or None."""
    from simulation.config import known_keys

    known = known_keys()
    norm, group = _normalise(key)
    group = group or focal
    near = difflib.get_close_matches(norm, known, n=1, cutoff=0.6)
    if not near:
        last = key.rsplit(".", 1)[-1]
        leaves = {k.rsplit(".", 1)[-1]: k for k in reversed(known)}
        close = difflib.get_close_matches(last, list(leaves), n=1, cutoff=0.75)
        near = [leaves[close[0]]] if close else []
    return near[0].replace("<group>", group) if near else None


def check_key(key: str, source: str, where: str, value: Any, focal: str) -> FieldInfo:
    """Validate a dotted scenario key; return its schema information."""
    if key in FORBIDDEN_PARAMETERS and where.startswith("parameters"):
        raise ConfigError(source, where, value, FORBIDDEN_PARAMETERS[key])
    info = scenario_field(key)
    if info is not None:
        return info
    from simulation.config import known_keys

    norm, _ = _normalise(key)
    if any(k.startswith(norm + ".") for k in known_keys()):
        raise ConfigError(
            source, where, value, f"'{key}' is a table, not a value; name a key inside it"
        )
    near = suggest_key(key, focal)
    hint = f" (did you mean '{near}'?)" if near else ""
    raise ConfigError(
        source,
        where,
        value,
        f"unknown scenario key{hint}; parameters are dotted scenario keys such "
        f"as streams.{focal}.persuasion or population.viewers",
    )


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One varied scenario key.

    Either ``values`` (a list: every value is a grid level) or a range ``low``..``high``. A
    range in a grid design has ``num`` levels (evenly spaced; geometrically if ``log``); in a
    sampled design it is sampled uniformly (log-uniformly if ``log``). Integer keys are
    rounded to the nearest integer after sampling.
    """

    key: str
    kind: str
    doc: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    num: int | None = None
    log: bool = False

    @property
    def is_range(self) -> bool:
        """True for a range, False for a list of values."""
        return self.values is None

    def levels(self) -> tuple[Any, ...]:
        """Grid levels: the listed values, or ``num`` points along the range."""
        if self.values is not None:
            return self.values
        import numpy as np

        assert self.low is not None and self.high is not None and self.num is not None
        if self.log:
            pts = np.geomspace(self.low, self.high, self.num)
        else:
            pts = np.linspace(self.low, self.high, self.num)
        return tuple(self.to_value(float(p)) for p in pts)

    def bounds(self) -> tuple[float, float]:
        """The sampled interval in design coordinates (log10 of the value if ``log``)."""
        assert self.low is not None and self.high is not None
        if self.log:
            return math.log10(self.low), math.log10(self.high)
        return float(self.low), float(self.high)

    def from_coordinate(self, x: float) -> Any:
        """A design coordinate (see :meth:`bounds`) -> the scenario value."""
        return self.to_value(10.0**x if self.log else x)

    def to_value(self, v: float) -> Any:
        """Clip to the range and round integer keys."""
        if self.low is not None and self.high is not None:
            v = min(max(v, self.low), self.high)
        if self.kind == "int":
            return round(v)
        return float(v)

    def identity(self) -> dict[str, Any]:
        """What defines this parameter's values (for the sweep's fingerprint)."""
        out: dict[str, Any] = {"key": self.key}
        if self.values is not None:
            out["values"] = list(self.values)
        else:
            out.update(low=self.low, high=self.high, num=self.num, log=self.log)
        return out


@dataclass(frozen=True)
class DesignSpec:
    """How parameters become points; see :mod:`simulation.sweep.design`."""

    kind: str
    samples: int | None = None
    levels: int = 4
    optimal_trajectories: int | None = None
    second_order: bool = True


@dataclass(frozen=True)
class AnalysisSpec:
    """Defaults for ``snowball analyze`` (each can be overridden on the command line)."""

    metric: str | None = None
    metrics: tuple[str, ...] = ()
    phase: tuple[str, str] | None = None
    threshold: float | None = None
    resamples: int = 1000


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec. ``source`` is the file it came from (used in messages)."""

    source: str
    name: str
    description: str
    scenario: str
    scenario_path: str
    days: int | None
    replicates: int
    seed: int
    common_random_numbers: bool
    metrics: tuple[str, ...] | None
    paired_leverage: bool
    focal: str
    max_runs: int | None
    fixed: dict[str, Any]
    design: DesignSpec
    parameters: tuple[Parameter, ...]
    analysis: AnalysisSpec
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Varied parameters, in spec order."""
        return tuple(p.key for p in self.parameters)

    @property
    def n_points(self) -> int:
        """Number of design points."""
        return design_points(self.design, self.parameters)

    @property
    def n_runs(self) -> int:
        """Design points x replicates."""
        return self.n_points * self.replicates

    def overrides(self) -> dict[str, Any]:
        """Fixed overrides every run applies before its point's parameters (incl. days)."""
        out = dict(self.fixed)
        if self.days is not None:
            out["days"] = self.days
        return out

    def identity(self) -> dict[str, Any]:
        """Everything that decides which runs exist and what each computes.

        Name, description, the metrics kept, replicates (more may be added on resume) and the
        analysis defaults are left out: changing them does not change any run.
        """
        d = self.design
        return {
            "scenario": self.scenario,
            "set": {k: self.fixed[k] for k in sorted(self.fixed)},
            "days": self.days,
            "seed": self.seed,
            "common_random_numbers": self.common_random_numbers,
            "paired_leverage": self.paired_leverage,
            "focal": self.focal,
            "design": {
                "kind": d.kind,
                "samples": d.samples,
                "levels": d.levels,
                "optimal_trajectories": d.optimal_trajectories,
                "second_order": d.second_order,
            },
            "parameters": [p.identity() for p in self.parameters],
        }


def design_points(design: DesignSpec, parameters: tuple[Parameter, ...]) -> int:
    """Number of points a design has (before replicates)."""
    n_par = len(parameters)
    if design.kind == "grid":
        return math.prod(len(p.levels()) for p in parameters)
    assert design.samples is not None
    if design.kind in ("random", "lhs"):
        return design.samples
    if design.kind == "sobol":
        return design.samples * ((2 * n_par + 2) if design.second_order else (n_par + 2))
    trajectories = design.optimal_trajectories or design.samples
    return trajectories * (n_par + 1)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file.

    Raises
    ------
    ConfigError
        One line naming the file, the key, the value and what is allowed.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", str(path), "no such sweep spec file") from None
    except IsADirectoryError:
        raise ConfigError(
            str(path), "(file)", str(path), "is a folder, not a sweep spec (TOML)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(syntax)", str(exc), "must be valid TOML") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "(file)", str(path), "must be UTF-8 TOML") from None
    return parse_spec(raw, str(path), path.resolve().parent, default_name=path.stem)


def _suggest(key: str, names: tuple[str, ...] | list[str]) -> str:
    near = difflib.get_close_matches(key, list(names), n=1, cutoff=0.5)
    return f" (did you mean '{near[0]}'?)" if near else ""


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...], source: str, prefix: str) -> None:
    for key in table:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else key
            raise ConfigError(
                source,
                where,
                table[key],
                f"unknown key{_suggest(key, allowed)}; known keys: {', '.join(allowed)}",
            )


def _int(
    raw: dict,
    key: str,
    source: str,
    where: str,
    lo: int,
    default: Any = None,
    required: bool = False,
) -> Any:
    if key not in raw:
        if required:
            raise ConfigError(source, where, _MISSING, f"is required: an integer >= {lo}")
        return default
    v = raw[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ConfigError(source, where, v, f"must be an integer >= {lo}")
    return v


def _bool(raw: dict, key: str, source: str, where: str, default: bool) -> bool:
    v = raw.get(key, default)
    if not isinstance(v, bool):
        raise ConfigError(source, where, v, "must be true or false")
    return v


def _str(
    raw: dict, key: str, source: str, where: str, default: Any = None, required: bool = False
) -> Any:
    if key not in raw:
        if required:
            raise ConfigError(source, where, _MISSING, "is required: a string")
        return default
    v = raw[key]
    if not isinstance(v, str) or (required and not v.strip()):
        raise ConfigError(source, where, v, "must be a non-empty string")
    return v


def _quote(key: str) -> str:
    return f'"{key}"' if "." in key else key


def _is_range(v: Any) -> bool:
    return isinstance(v, dict) and any(k in v for k in RANGE_KEYS)


def _flatten(table: Any, prefix: str, leaf: typing.Callable[[Any], bool]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and not leaf(v):
            out.update(_flatten(v, key, leaf))
        else:
            out[key] = v
    return out


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_bounds(info: FieldInfo, x: float, source: str, where: str, shown: Any) -> None:
    """A number against the scenario key's allowed range (from the schema)."""
    parts = []
    if info.lo is not None:
        parts.append(("> " if info.lo_open else ">= ") + f"{info.lo:g}")
    if info.hi is not None:
        parts.append(f"<= {info.hi:g}")
    allowed = " and ".join(parts)
    bad_lo = info.lo is not None and (x < info.lo or (info.lo_open and x == info.lo))
    bad_hi = info.hi is not None and x > info.hi
    if bad_lo or bad_hi:
        raise ConfigError(
            source, where, shown, f"must be {allowed} (the allowed range of {info.key})"
        )


def _check_value(info: FieldInfo, v: Any, source: str, where: str, shown: Any) -> Any:
    """One listed value of a parameter against the schema type and range."""
    kind = info.kind
    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(
                source, where, shown, f"must list integers ({info.key} is an integer)"
            )
        _check_bounds(info, v, source, where, shown)
        return v
    if kind in ("float", "pair"):
        if kind == "pair" and isinstance(v, list) and len(v) == 2 and all(map(_is_number, v)):
            for x in v:
                _check_bounds(info, x, source, where, shown)
            if v[0] > v[1]:
                raise ConfigError(
                    source, where, shown, "a [low, high] trait range needs low <= high"
                )
            return tuple(float(x) for x in v)
        if not _is_number(v):
            what = "numbers or [low, high] pairs" if kind == "pair" else "numbers"
            raise ConfigError(source, where, shown, f"must list {what}")
        _check_bounds(info, v, source, where, shown)
        return float(v)
    if kind == "bool":
        if not isinstance(v, bool):
            raise ConfigError(source, where, shown, "must list true/false values")
        return v
    if kind == "str":
        if not isinstance(v, str):
            raise ConfigError(source, where, shown, "must list strings")
        if info.choices and v not in info.choices:
            raise ConfigError(
                source, where, shown, f"values must be one of {', '.join(info.choices)}"
            )
        return v
    if kind == "list":
        if not isinstance(v, list) or not all(map(_is_number, v)):
            raise ConfigError(
                source,
                where,
                shown,
                f"{info.key} is a list of numbers: a "
                "grid over it lists lists, e.g. [[0.3, 0.5, 0.2], [0.2, 0.6, "
                "0.2]]",
            )
        for x in v:
            _check_bounds(info, x, source, where, shown)
        return tuple(float(x) for x in v)
    raise ConfigError(source, where, shown, f"{info.key} cannot be varied")


def _parse_parameter(key: str, value: Any, info: FieldInfo, kind: str, source: str) -> Parameter:
    where = f"parameters.{_quote(key)}"
    if isinstance(value, list):
        if kind != "grid":
            raise ConfigError(
                source,
                where,
                value,
                f"a {kind} design samples ranges: write {{ low = ..., high = "
                "... }, or use a grid design for a list of values",
            )
        if not value:
            raise ConfigError(source, where, value, "must list at least one value")
        values = tuple(_check_value(info, v, source, where, value) for v in value)
        if len(set(values)) != len(values):
            raise ConfigError(source, where, value, "values must not repeat")
        return Parameter(key=key, kind=info.kind, doc=info.doc, values=values)
    if not isinstance(value, dict):
        raise ConfigError(
            source,
            where,
            value,
            "must be a list of values or a range { low = ..., high = ... } "
            "(a fixed value belongs in [set])",
        )
    _check_keys(value, RANGE_KEYS, source, where)
    if info.kind not in ("int", "float", "pair"):
        raise ConfigError(
            source, where, value, f"{info.key} is not a number: list its values instead of a range"
        )
    for bound in ("low", "high"):
        if bound not in value:
            raise ConfigError(
                source, f"{where}.{bound}", _MISSING, "a range needs both low and high"
            )
        if not _is_number(value[bound]):
            raise ConfigError(source, f"{where}.{bound}", value[bound], "must be a number")
    low, high = value["low"], value["high"]
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(source, f"{where}.log", log, "must be true or false")
    if low == high:
        raise ConfigError(
            source, where, value, "empty range: low = high (a fixed value belongs in [set])"
        )
    if low > high:
        raise ConfigError(source, where, value, "inverted range: low must be < high")
    for bound, x in (("low", low), ("high", high)):
        _check_bounds(info, x, source, f"{where}.{bound}", x)
    if log and low <= 0:
        raise ConfigError(source, f"{where}.low", low, "a log range needs low > 0")
    if info.kind == "int" and math.floor(high) < math.ceil(low):
        raise ConfigError(
            source, where, value, f"{info.key} is an integer and the range holds no integer"
        )
    num = value.get("num")
    if kind == "grid":
        if num is None:
            raise ConfigError(
                source,
                f"{where}.num",
                _MISSING,
                "a range in a grid design needs num = the number of levels "
                "(>= 2); or choose a sampled design (random, lhs, sobol, "
                "morris)",
            )
        if isinstance(num, bool) or not isinstance(num, int) or num < 2:
            raise ConfigError(source, f"{where}.num", num, "must be an integer >= 2")
    elif num is not None:
        raise ConfigError(
            source,
            f"{where}.num",
            num,
            f"num is for grid designs; a {kind} design draws design.samples points",
        )
    param = Parameter(
        key=key, kind=info.kind, doc=info.doc, low=float(low), high=float(high), num=num, log=log
    )
    if kind == "grid":
        levels = param.levels()
        if len(set(levels)) != len(levels):
            raise ConfigError(
                source,
                f"{where}.num",
                num,
                f"levels repeat after rounding to integers ({info.key} is an "
                f"integer); at most {math.floor(high) - math.ceil(low) + 1} "
                "levels fit",
            )
    return param


def _parse_design(raw: Any, params_raw: dict[str, Any], source: str) -> DesignSpec:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, "design", raw, "must be a table ([design])")
    _check_keys(raw, DESIGN_KEYS, source, "design")
    kind = raw.get("kind")
    if kind is None:
        if any(_is_range(v) and "num" not in v for v in params_raw.values()):
            raise ConfigError(
                source,
                "design.kind",
                _MISSING,
                "parameters with ranges need a design: one of " + ", ".join(SAMPLED_KINDS),
            )
        kind = "grid"
    if kind not in DESIGN_KINDS:
        raise ConfigError(
            source,
            "design.kind",
            kind,
            f"must be one of {', '.join(DESIGN_KINDS)}{_suggest(kind, DESIGN_KINDS)}"
            if isinstance(kind, str)
            else f"must be one of {', '.join(DESIGN_KINDS)}",
        )
    if kind == "grid":
        for key in ("samples", "levels", "optimal_trajectories", "second_order"):
            if key in raw:
                raise ConfigError(
                    source,
                    f"design.{key}",
                    raw[key],
                    "not used by a grid design (its points are every "
                    "combination of the listed levels)",
                )
        return DesignSpec(kind="grid")
    for key, kinds in (
        ("levels", ("morris",)),
        ("optimal_trajectories", ("morris",)),
        ("second_order", ("sobol",)),
    ):
        if key in raw and kind not in kinds:
            raise ConfigError(
                source, f"design.{key}", raw[key], f"only used by a {' or '.join(kinds)} design"
            )
    n_par = len(params_raw)
    if n_par == 0:
        raise ConfigError(
            source, "parameters", "(none)", f"a {kind} design needs at least one parameter range"
        )
    minimum = {"random": 1, "lhs": 2, "sobol": SOBOL_MIN_SAMPLES, "morris": 2}[kind]
    what = {
        "random": "points",
        "lhs": "points",
        "sobol": "base samples N (the design runs N*(2D+2) points, or N*(D+2) "
        "without second order)",
        "morris": "trajectories r (the design runs r*(D+1) points)",
    }[kind]
    if "samples" not in raw:
        raise ConfigError(
            source,
            "design.samples",
            _MISSING,
            f"a {kind} design needs samples = the number of {what}",
        )
    samples = raw["samples"]
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < minimum:
        raise ConfigError(
            source, "design.samples", samples, f"a {kind} design needs at least {minimum} {what}"
        )
    if kind == "sobol" and samples & (samples - 1):
        lower = 1 << (samples.bit_length() - 1)
        raise ConfigError(
            source,
            "design.samples",
            samples,
            f"a Sobol design needs a power of two (e.g. {lower} or "
            f"{lower * 2}) for its balance properties",
        )
    levels = raw.get("levels", 4)
    if kind == "morris" and (
        isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2
    ):
        raise ConfigError(
            source,
            "design.levels",
            levels,
            "must be an even integer >= 2 (grid levels of the Morris method)",
        )
    optimal = raw.get("optimal_trajectories")
    if optimal is not None and (
        isinstance(optimal, bool)
        or not isinstance(optimal, int)
        or optimal < 2
        or optimal >= samples
    ):
        raise ConfigError(
            source,
            "design.optimal_trajectories",
            optimal,
            f"must be an integer >= 2 and < design.samples ({samples}): the "
            "optimal trajectories are chosen among the sampled ones",
        )
    second_order = raw.get("second_order", True)
    if not isinstance(second_order, bool):
        raise ConfigError(source, "design.second_order", second_order, "must be true or false")
    return DesignSpec(
        kind=kind,
        samples=samples,
        levels=levels,
        optimal_trajectories=optimal,
        second_order=second_order,
    )


def _resolve_scenario(scenario: str, base_dir: Path) -> Path:
    from simulation.config import resolve_path

    p = Path(scenario)
    if p.suffix == ".toml" or "/" in scenario or "\\" in scenario:
        return p if p.is_absolute() else (base_dir / p)
    return resolve_path(scenario)


def parse_spec(
    raw: dict[str, Any], source: str, base_dir: Path | None = None, default_name: str = "sweep"
) -> SweepSpec:
    """Validate a parsed spec mapping (see :func:`load_spec`)."""
    base_dir = base_dir or Path.cwd()
    _check_keys(raw, TOP_KEYS, source, "")
    name = _str(raw, "name", source, "name", default=default_name)
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ConfigError(source, "name", name, "must be a plain name (no slashes)")
    description = _str(raw, "description", source, "description", default="")
    scenario = _str(raw, "scenario", source, "scenario", required=True)
    scenario_path = _resolve_scenario(scenario, base_dir)
    if not scenario_path.is_file():
        from simulation.config import SCENARIO_DIR

        names = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))) or "(none)"
        raise ConfigError(
            source,
            "scenario",
            scenario,
            f"no such scenario file ({scenario_path}); give a path relative to "
            f"the spec or a named scenario: {names}",
        )
    focal = _str(raw, "focal", source, "focal", default="focal")
    days = _int(raw, "days", source, "days", 1)
    replicates = _int(raw, "replicates", source, "replicates", 1, default=1)
    seed = _int(raw, "seed", source, "seed", 0, required=True)
    crn = _bool(raw, "common_random_numbers", source, "common_random_numbers", True)
    max_runs = _int(raw, "max_runs", source, "max_runs", 1)

    metrics = raw.get("metrics")
    if metrics is not None:
        if (
            not isinstance(metrics, list)
            or not metrics
            or not all(isinstance(m, str) and m for m in metrics)
        ):
            raise ConfigError(
                source,
                "metrics",
                metrics,
                "must be a non-empty list of metric names (or left out to keep every metric)",
            )
        if len(set(metrics)) != len(metrics):
            raise ConfigError(source, "metrics", metrics, "names must not repeat")
        metrics = tuple(metrics)
    wants_leverage = metrics is not None and "leverage" in metrics
    paired = _bool(raw, "paired_leverage", source, "paired_leverage", wants_leverage)
    if wants_leverage and not paired:
        raise ConfigError(
            source,
            "paired_leverage",
            paired,
            "metrics lists leverage, which needs paired_leverage = true (a "
            "second run without ads per run)",
        )

    set_raw = raw.get("set", {})
    if not isinstance(set_raw, dict):
        raise ConfigError(source, "set", set_raw, "must be a table of fixed scenario values")
    fixed = _flatten(set_raw, "", lambda v: False)
    for key, value in fixed.items():
        if key in ("seed",):
            raise ConfigError(source, f"set.{_quote(key)}", value, FORBIDDEN_PARAMETERS["seed"])
        check_key(key, source, f"set.{_quote(key)}", value, focal)
    if days is not None and "days" in fixed:
        raise ConfigError(
            source, "set.days", fixed["days"], "days is given twice: keep the top-level days"
        )

    params_raw = raw.get("parameters", {})
    if not isinstance(params_raw, dict):
        raise ConfigError(
            source, "parameters", params_raw, "must be a table of scenario keys to vary"
        )
    params_raw = _flatten(params_raw, "", _is_range)
    design = _parse_design(raw.get("design"), params_raw, source)
    parameters = []
    for key, value in params_raw.items():
        where = f"parameters.{_quote(key)}"
        info = check_key(key, source, where, value, focal)
        if key in fixed:
            raise ConfigError(
                source, where, value, f"{key} is both fixed in [set] and varied; keep one"
            )
        if key == "days" and days is not None:
            raise ConfigError(
                source,
                where,
                value,
                "days is varied and also fixed by the top-level days; keep one",
            )
        parameters.append(_parse_parameter(key, value, info, design.kind, source))
    parameters = tuple(parameters)

    analysis = _parse_analysis(raw.get("analysis", {}), parameters, metrics, source)
    spec = SweepSpec(
        source=source,
        name=name,
        description=description,
        scenario=scenario,
        scenario_path=str(scenario_path),
        days=days,
        replicates=replicates,
        seed=seed,
        common_random_numbers=crn,
        metrics=metrics,
        paired_leverage=paired,
        focal=focal,
        max_runs=max_runs,
        fixed=fixed,
        design=design,
        parameters=parameters,
        analysis=analysis,
        raw=raw,
    )
    if spec.n_runs > MAX_RUNS:
        raise ConfigError(
            source,
            "parameters",
            f"{spec.n_runs} runs",
            f"a sweep may have at most {MAX_RUNS:,} runs; split the study",
        )
    if max_runs is not None and spec.n_runs > max_runs:
        raise ConfigError(
            source,
            "max_runs",
            max_runs,
            f"the design needs {spec.n_runs} runs ({plural(spec.n_points, 'point')} x "
            f"{plural(replicates, 'replicate')}); raise max_runs or shrink the design",
        )
    return spec


def _parse_analysis(
    raw: Any, parameters: tuple[Parameter, ...], metrics: tuple[str, ...] | None, source: str
) -> AnalysisSpec:
    if not isinstance(raw, dict):
        raise ConfigError(source, "analysis", raw, "must be a table ([analysis])")
    _check_keys(raw, ANALYSIS_KEYS, source, "analysis")
    names = [p.key for p in parameters]

    def check_metric(m: Any, where: str) -> str:
        if not isinstance(m, str) or not m:
            raise ConfigError(source, where, m, "must be a metric name")
        if metrics is not None and m not in metrics:
            raise ConfigError(
                source,
                where,
                m,
                f"must be one of the kept metrics{_suggest(m, metrics)}: {', '.join(metrics)}",
            )
        return m

    metric = raw.get("metric")
    if metric is not None:
        metric = check_metric(metric, "analysis.metric")
    chart = raw.get("metrics", [])
    if not isinstance(chart, list):
        raise ConfigError(source, "analysis.metrics", chart, "must be a list of metric names")
    chart = tuple(check_metric(m, "analysis.metrics") for m in chart)
    phase = raw.get("phase")
    if phase is not None:
        if (
            not isinstance(phase, list)
            or len(phase) != 2
            or len(set(phase)) != 2
            or not all(isinstance(p, str) for p in phase)
        ):
            raise ConfigError(
                source, "analysis.phase", phase, "must name two different varied parameters"
            )
        for p in phase:
            if p not in names:
                raise ConfigError(
                    source,
                    "analysis.phase",
                    phase,
                    f"'{p}' is not a varied parameter{_suggest(p, names)}; "
                    f"varied: {', '.join(names) or '(none)'}",
                )
        phase = (phase[0], phase[1])
    threshold = raw.get("threshold")
    if threshold is not None and not _is_number(threshold):
        raise ConfigError(source, "analysis.threshold", threshold, "must be a number")
    resamples = _int(raw, "resamples", source, "analysis.resamples", 10, default=1000)
    return AnalysisSpec(
        metric=metric,
        metrics=chart,
        phase=phase,
        threshold=None if threshold is None else float(threshold),
        resamples=resamples,
    )
