"""Sweep specs: a TOML file in, a validated frozen :class:`SweepSpec` out.

A spec names a base scenario, fixed overrides (``[set]``), the parameters to vary
(``[parameters]``: a list of values, or a range ``{low, high}`` with optional ``num`` and
``log``), the design that turns them into points (``[design]``), replicates per point, the
root seed, days, and the summary metrics to keep. Parameter names are the dotted scenario keys
that ``--set`` accepts (``streams.focal.persuasion``). docs/SWEEPS.md has the full format.

There is one validator: the spec's own keys are dataclass fields declared with the scenario
schema's ``setting()`` (default, meaning, range, choices) and checked by
:func:`simulation.config.build`, and every fixed or varied scenario value is checked by the
scenario's own coercion rules against its field's metadata. Only what is particular to a
sweep (ranges, designs, sizes) is checked here.

Everything wrong raises :class:`simulation.config.ConfigError` naming the spec file, the key,
the value and what is allowed; nothing is run or written before the spec has passed.
"""

import dataclasses
import difflib
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation.config import (
    MISSING,
    ConfigError,
    build,
    check_number,
    coerce,
    describe_rule,
    known_keys,
    read_toml,
    setting,
)
from simulation.files import UnreadableFile, read_regular_file
from simulation.sweep.labels import plural

DESIGN_KINDS = ("grid", "random", "lhs", "sobol", "morris")
SAMPLED_KINDS = ("random", "lhs", "sobol", "morris")
SOBOL_MIN_SAMPLES = 8
MAX_RUNS = 100_000_000
MAX_LEVELS = 1_000_000
"""Most levels one grid parameter may have (its levels are held in memory)."""

TABLES = ("set", "design", "parameters", "analysis")
RANGE_KEYS = ("low", "high", "num", "log")
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
    sequence of numbers), ``str`` or ``bool``; ``tp`` and ``meta`` are the schema field's type
    and its ``setting()`` metadata (range, choices, length, one-line meaning).
    """

    key: str
    kind: str
    tp: Any
    meta: dict[str, Any]

    @property
    def doc(self) -> str:
        """The field's one-line meaning, with units where the schema gives them."""
        return str(self.meta.get("doc", ""))


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return next(a for a in typing.get_args(tp) if a is not type(None))
    return tp


def _kind(tp: Any) -> str:
    simple = {bool: "bool", int: "int", float: "float", str: "str"}
    if tp in simple:
        return simple[tp]
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        return "pair" if len(args) == 2 and args[1] is not Ellipsis else "list"
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
        if parts[i] not in fields:
            return None
        tp = _unwrap_optional(hints[parts[i]])
        if typing.get_origin(tp) is dict or dataclasses.is_dataclass(tp):
            cls = typing.get_args(tp)[1] if typing.get_origin(tp) is dict else tp
            i += 2 if typing.get_origin(tp) is dict else 1
            continue
        if i != len(parts) - 1:
            return None
        return FieldInfo(key, _kind(tp), hints[parts[i]], dict(fields[parts[i]].metadata))
    return None


def _normalise(key: str) -> tuple[str, str | None]:
    """``streams.focal.x`` -> (``streams.<group>.x``, ``focal``)."""
    parts = key.split(".")
    if len(parts) >= 2 and parts[0] == "streams":
        return ".".join(["streams", "<group>", *parts[2:]]), parts[1]
    return key, None


def suggest_key(key: str, focal: str = "focal") -> str | None:
    """The nearest known scenario key to ``key`` (stream groups filled in), or None."""
    known = known_keys()
    norm, group = _normalise(key)
    near = difflib.get_close_matches(norm, known, n=1, cutoff=0.6)
    if not near:
        leaves = {k.rsplit(".", 1)[-1]: k for k in reversed(known)}
        close = difflib.get_close_matches(key.rsplit(".", 1)[-1], list(leaves), n=1, cutoff=0.75)
        near = [leaves[close[0]]] if close else []
    return near[0].replace("<group>", group or focal) if near else None


def check_key(key: str, source: str, where: str, value: Any, focal: str) -> FieldInfo:
    """Validate a dotted scenario key; return its schema information."""
    if key in FORBIDDEN_PARAMETERS and where.startswith("parameters"):
        raise ConfigError(source, where, value, FORBIDDEN_PARAMETERS[key])
    info = scenario_field(key)
    if info is not None:
        return info
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
# The spec's own keys (declared like the scenario's, checked by simulation.config.build)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TopLevel:
    """The spec's top-level values (the tables and ``metrics`` are read separately)."""

    name: str = setting("", "name of the sweep (default: the spec file's name)")
    description: str = setting("", "one line about the study")
    scenario: str = setting("", "base scenario: a named scenario or a path relative to the spec")
    days: int | None = setting(None, "days simulated (overrides the scenario's)", 1)
    replicates: int = setting(1, "runs per design point, each with its own seed", 1)
    seed: int | None = setting(None, "root seed: every run's seed is spawned from it", 0)
    common_random_numbers: bool = setting(True, "replicate k has the same seed at every point")
    paired_leverage: bool | None = setting(None, "add a run without ads per run (for leverage)")
    focal: str = setting("focal", "stream group whose metrics are kept")
    max_runs: int | None = setting(None, "refuse a design of more runs than this", 1)


@dataclass(frozen=True)
class _Range:
    """A parameter range ``{ low, high, num, log }``."""

    low: float | None = setting(None, "lower end")
    high: float | None = setting(None, "upper end")
    num: int | None = setting(None, "number of grid levels along the range", 2)
    log: bool = setting(False, "levels spaced geometrically, samples drawn log-uniformly")


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

    @property
    def n_levels(self) -> int:
        """Number of grid levels, known without building them."""
        return len(self.values) if self.values is not None else int(self.num or 0)

    def levels(self) -> tuple[Any, ...]:
        """Grid levels: the listed values, or ``num`` points along the range."""
        if self.values is not None:
            return self.values
        import numpy as np

        assert self.low is not None and self.high is not None and self.num is not None
        space = np.geomspace if self.log else np.linspace
        return tuple(self.to_value(float(p)) for p in space(self.low, self.high, self.num))

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

    kind: str = setting("grid", "how parameters become points", choices=DESIGN_KINDS)
    samples: int | None = setting(
        None, "points (random, lhs), base samples N (sobol) or trajectories r (morris)"
    )
    levels: int = setting(4, "grid levels of the Morris method (even)")
    optimal_trajectories: int | None = setting(None, "Morris: keep the r most spread trajectories")
    second_order: bool = setting(True, "Sobol: also estimate second-order indices")


@dataclass(frozen=True)
class AnalysisSpec:
    """Defaults for ``snowball analyze`` (each can be overridden on the command line)."""

    metric: str | None = setting(None, "metric of the phase diagram and first sensitivity panel")
    metrics: tuple[str, ...] = setting((), "metrics of the sensitivity chart")
    phase: tuple[str, str] | None = setting(None, "the two varied parameters of the phase diagram")
    threshold: float | None = setting(None, "level of the phase diagram's contour")
    resamples: int = setting(1000, "bootstrap resamples of the sensitivity intervals", 10)


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
        return {
            "scenario": self.scenario,
            "set": {k: self.fixed[k] for k in sorted(self.fixed)},
            "days": self.days,
            "seed": self.seed,
            "common_random_numbers": self.common_random_numbers,
            "paired_leverage": self.paired_leverage,
            "focal": self.focal,
            "design": dataclasses.asdict(self.design),
            "parameters": [p.identity() for p in self.parameters],
        }


def design_points(design: DesignSpec, parameters: tuple[Parameter, ...]) -> int:
    """Number of points a design has (before replicates), from counts alone: nothing is
    built, so a design of any size is measured in microseconds."""
    n_par = len(parameters)
    if design.kind == "grid":
        return math.prod(p.n_levels for p in parameters)
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
        One line naming the file, the key (or the line and column of a syntax error), the
        value and what is allowed.
    """
    path = Path(path)
    raw = read_toml(path, "sweep spec")
    return parse_spec(raw, str(path), path.resolve().parent, default_name=path.stem)


def _suggest(key: str, names: tuple[str, ...] | list[str]) -> str:
    near = difflib.get_close_matches(key, list(names), n=1, cutoff=0.5)
    return f" (did you mean '{near[0]}'?)" if near else ""


def _table(raw: dict[str, Any], key: str, what: str, source: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(source, key, value, f"must be a table of {what}")
    return value


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


LISTED = {
    "int": "integers",
    "float": "numbers",
    "pair": "numbers or [low, high] trait ranges",
    "list": "lists of numbers (a grid over a list lists lists, e.g. [[0.3, 0.5, 0.2]])",
    "bool": "true/false values",
    "str": "strings",
}


def _check_value(info: FieldInfo, v: Any, source: str, where: str, shown: Any) -> Any:
    """One listed value of a parameter, checked by the scenario's own rules for its field.

    A trait range given as one number stays a number (the scenario reads it as [x, x]).
    """
    if info.kind not in LISTED:
        raise ConfigError(source, where, shown, f"{info.key} cannot be varied")
    try:
        value = coerce(info.tp, v, info.meta, source, where)
    except ConfigError:
        if info.meta.get("choices"):
            allowed = f"values must be {describe_rule(info.meta, '')}"
        else:
            allowed = f"must list {describe_rule(info.meta, LISTED[info.kind])}"
        raise ConfigError(source, where, shown, allowed) from None
    return float(v) if info.kind == "pair" and not isinstance(v, list) else value


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
        if len(value) > MAX_LEVELS:
            raise ConfigError(source, where, f"{len(value)} values", f"at most {MAX_LEVELS:,}")
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
    rng = build(_Range, value, source, where)
    if info.kind not in ("int", "float", "pair"):
        raise ConfigError(
            source, where, value, f"{info.key} is not a number: list its values instead of a range"
        )
    for bound in ("low", "high"):
        if bound not in value:
            raise ConfigError(
                source, f"{where}.{bound}", MISSING, "a range needs both low and high"
            )
    low, high, num = rng.low, rng.high, rng.num
    assert low is not None and high is not None
    if low == high:
        raise ConfigError(
            source, where, value, "empty range: low = high (a fixed value belongs in [set])"
        )
    if low > high:
        raise ConfigError(source, where, value, "inverted range: low must be < high")
    for bound in ("low", "high"):
        check_number(value[bound], info.meta, "a number", source, f"{where}.{bound}", value[bound])
    if rng.log and low <= 0:
        raise ConfigError(source, f"{where}.low", value["low"], "a log range needs low > 0")
    integers = math.floor(high) - math.ceil(low) + 1
    if info.kind == "int" and integers < 1:
        raise ConfigError(
            source, where, value, f"{info.key} is an integer and the range holds no integer"
        )
    if kind == "grid":
        if num is None:
            raise ConfigError(
                source,
                f"{where}.num",
                MISSING,
                "a range in a grid design needs num = the number of levels "
                "(>= 2); or choose a sampled design (random, lhs, sobol, morris)",
            )
        if num > MAX_LEVELS:
            raise ConfigError(
                source, f"{where}.num", num, f"a grid parameter has at most {MAX_LEVELS:,} levels"
            )
        if info.kind == "int" and num > integers:
            raise ConfigError(
                source,
                f"{where}.num",
                num,
                f"levels repeat after rounding to integers ({info.key} is an integer); at "
                f"most {integers} levels fit",
            )
    elif num is not None:
        raise ConfigError(
            source,
            f"{where}.num",
            num,
            f"num is for grid designs; a {kind} design draws design.samples points",
        )
    return Parameter(
        key=key, kind=info.kind, doc=info.doc, low=low, high=high, num=num, log=rng.log
    )


def _check_levels(param: Parameter, source: str) -> None:
    """An integer grid range whose rounded levels repeat (built only once the design's size
    has passed, so that a huge ``num`` never allocates)."""
    levels = param.levels()
    if param.is_range and len(set(levels)) != len(levels):
        raise ConfigError(
            source,
            f"parameters.{_quote(param.key)}.num",
            param.num,
            f"levels repeat after rounding to integers ({param.key} is an integer); use "
            "fewer levels or list the values",
        )


def _parse_design(raw: Any, params_raw: dict[str, Any], source: str) -> DesignSpec:
    if not isinstance(raw, dict):
        raise ConfigError(source, "design", raw, "must be a table ([design])")
    if "kind" not in raw and any(_is_range(v) and "num" not in v for v in params_raw.values()):
        raise ConfigError(
            source,
            "design.kind",
            MISSING,
            "parameters with ranges need a design: one of " + ", ".join(SAMPLED_KINDS),
        )
    design = build(DesignSpec, raw, source, "design")
    kind = design.kind
    for key in ("samples", "levels", "optimal_trajectories", "second_order"):
        kinds = {"levels": ("morris",), "optimal_trajectories": ("morris",)}.get(key)
        kinds = ("sobol",) if key == "second_order" else kinds or SAMPLED_KINDS
        if key in raw and kind not in kinds:
            raise ConfigError(
                source,
                f"design.{key}",
                raw[key],
                "not used by a grid design (its points are every combination of the listed levels)"
                if kind == "grid"
                else f"only used by a {' or '.join(kinds)} design",
            )
    if kind == "grid":
        return design
    if not params_raw:
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
    samples = design.samples
    if samples is None:
        raise ConfigError(
            source,
            "design.samples",
            MISSING,
            f"a {kind} design needs samples = the number of {what}",
        )
    if samples < minimum:
        raise ConfigError(
            source, "design.samples", samples, f"a {kind} design needs at least {minimum} {what}"
        )
    if kind == "sobol" and samples & (samples - 1):
        lower = 1 << (samples.bit_length() - 1)
        raise ConfigError(
            source,
            "design.samples",
            samples,
            f"a Sobol design needs a power of two (e.g. {lower} or {lower * 2}) for its "
            "balance properties",
        )
    if kind == "morris" and (design.levels < 2 or design.levels % 2):
        raise ConfigError(
            source,
            "design.levels",
            design.levels,
            "must be an even integer >= 2 (grid levels of the Morris method)",
        )
    optimal = design.optimal_trajectories
    if optimal is not None and not 2 <= optimal < samples:
        raise ConfigError(
            source,
            "design.optimal_trajectories",
            optimal,
            f"must be an integer >= 2 and < design.samples ({samples}): the "
            "optimal trajectories are chosen among the sampled ones",
        )
    return design


def _resolve_scenario(scenario: str, base_dir: Path) -> Path:
    from simulation.config import resolve_path

    p = Path(scenario)
    if p.suffix == ".toml" or "/" in scenario or "\\" in scenario:
        return p if p.is_absolute() else (base_dir / p)
    return resolve_path(scenario)


def _check_scenario(scenario: str, path: Path, source: str) -> None:
    """The base scenario must be a readable file (the scenario loader reads it later)."""
    from simulation.config import scenario_names

    try:
        read_regular_file(path, "scenario")
    except UnreadableFile as exc:
        if not path.exists() and not path.is_symlink():
            names = ", ".join(scenario_names()) or "(none)"
            raise ConfigError(
                source,
                "scenario",
                scenario,
                f"no such scenario file ({path}); give a path relative to "
                f"the spec or a named scenario: {names}",
            ) from None
        raise ConfigError(source, "scenario", scenario, f"{path} {exc.allowed}") from None


def _required(raw: dict[str, Any], key: str, source: str, what: str) -> None:
    if key not in raw:
        raise ConfigError(source, key, MISSING, f"is required: {what}")


def parse_spec(
    raw: dict[str, Any], source: str, base_dir: Path | None = None, default_name: str = "sweep"
) -> SweepSpec:
    """Validate a parsed spec mapping (see :func:`load_spec`)."""
    base_dir = base_dir or Path.cwd()
    scalars = {k: v for k, v in raw.items() if k not in (*TABLES, "metrics")}
    known = [f.name for f in dataclasses.fields(_TopLevel)] + ["metrics", *TABLES]
    for key in scalars:
        if key not in known:
            raise ConfigError(
                source,
                key,
                raw[key],
                f"unknown key{_suggest(key, known)}; known keys: " + ", ".join(known),
            )
    top = build(_TopLevel, scalars, source)
    _required(raw, "scenario", source, "a scenario name or path")
    _required(raw, "seed", source, "an integer >= 0")
    name = top.name or default_name
    if not name.strip() or any(c in name for c in "/\\") or name.startswith("."):
        raise ConfigError(source, "name", name, "must be a plain name (no slashes)")
    if not top.scenario.strip():
        raise ConfigError(source, "scenario", top.scenario, "must be a non-empty string")
    scenario_path = _resolve_scenario(top.scenario, base_dir)
    _check_scenario(top.scenario, scenario_path, source)

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
    paired = wants_leverage if top.paired_leverage is None else top.paired_leverage
    if wants_leverage and not paired:
        raise ConfigError(
            source,
            "paired_leverage",
            paired,
            "metrics lists leverage, which needs paired_leverage = true (a "
            "second run without ads per run)",
        )

    fixed = _flatten(_table(raw, "set", "fixed scenario values", source), "", lambda v: False)
    for key, value in fixed.items():
        where = f"set.{_quote(key)}"
        if key == "seed":
            raise ConfigError(source, where, value, FORBIDDEN_PARAMETERS["seed"])
        check_key(key, source, where, value, top.focal)
    if top.days is not None and "days" in fixed:
        raise ConfigError(
            source, "set.days", fixed["days"], "days is given twice: keep the top-level days"
        )

    params_raw = _table(raw, "parameters", "scenario keys to vary", source)
    params_raw = _flatten(params_raw, "", _is_range)
    design = _parse_design(raw.get("design", {}), params_raw, source)
    parameters = []
    for key, value in params_raw.items():
        where = f"parameters.{_quote(key)}"
        info = check_key(key, source, where, value, top.focal)
        if key in fixed:
            raise ConfigError(
                source, where, value, f"{key} is both fixed in [set] and varied; keep one"
            )
        if key == "days" and top.days is not None:
            raise ConfigError(
                source,
                where,
                value,
                "days is varied and also fixed by the top-level days; keep one",
            )
        parameters.append(_parse_parameter(key, value, info, design.kind, source))
    parameters = tuple(parameters)

    # sizes from counts, before anything of the design's size is built
    n_runs = design_points(design, parameters) * top.replicates
    if n_runs > MAX_RUNS:
        raise ConfigError(
            source,
            "parameters",
            f"{n_runs} runs",
            f"a sweep may have at most {MAX_RUNS:,} runs; split the study",
        )
    if top.max_runs is not None and n_runs > top.max_runs:
        raise ConfigError(
            source,
            "max_runs",
            top.max_runs,
            f"the design needs {n_runs} runs ({plural(n_runs // top.replicates, 'point')} x "
            f"{plural(top.replicates, 'replicate')}); raise max_runs or shrink the design",
        )
    if design.kind == "grid":
        for p in parameters:
            _check_levels(p, source)

    analysis = _parse_analysis(
        _table(raw, "analysis", "analysis defaults", source), parameters, metrics, source
    )
    return SweepSpec(
        source=source,
        name=name,
        description=top.description,
        scenario=top.scenario,
        scenario_path=str(scenario_path),
        days=top.days,
        replicates=top.replicates,
        seed=typing.cast(int, top.seed),
        common_random_numbers=top.common_random_numbers,
        metrics=metrics,
        paired_leverage=paired,
        focal=top.focal,
        max_runs=top.max_runs,
        fixed=fixed,
        design=design,
        parameters=parameters,
        analysis=analysis,
        raw=raw,
    )


def _parse_analysis(
    raw: dict[str, Any],
    parameters: tuple[Parameter, ...],
    metrics: tuple[str, ...] | None,
    source: str,
) -> AnalysisSpec:
    lists = {k: raw[k] for k in ("metrics", "phase") if k in raw}
    analysis = build(
        AnalysisSpec, {k: v for k, v in raw.items() if k not in lists}, source, "analysis"
    )
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

    if analysis.metric is not None:
        check_metric(analysis.metric, "analysis.metric")
    chart = lists.get("metrics", [])
    if not isinstance(chart, list):
        raise ConfigError(source, "analysis.metrics", chart, "must be a list of metric names")
    chart = tuple(check_metric(m, "analysis.metrics") for m in chart)
    phase = lists.get("phase")
    if phase is not None:
        if (
            not isinstance(phase, list)
            or len(phase) != 2
            or len(set(map(str, phase))) != 2
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
    return dataclasses.replace(analysis, metrics=chart, phase=phase)
