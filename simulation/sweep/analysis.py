"""``snowball analyze DIR``: what a sweep says, with its uncertainty.

Writes to ``DIR/analysis/``:

summary.csv
    One row per (point, metric): the point's parameter values, runs and failures, the mean
    over the point's successful replicates and its 95% interval — Student-t for numbers,
    Wilson for yes/no metrics such as ``took_off`` (so the interval of a probability stays
    in [0, 1] even at 0 or 20 of 20).
sensitivity.csv, sensitivity.png (Sobol and Morris designs)
    Sobol: first-order (S1) and total-order (ST) indices with 95% bootstrap intervals from
    ``SALib.analyze.sobol`` (second order in sensitivity_s2.csv). Morris: mu*, its 95%
    interval, sigma and mu from ``SALib.analyze.morris``. The response of a point is the mean
    over its replicates (a proportion for yes/no metrics); with common random numbers the
    replicate noise is shared across points and largely cancels.
phase.png (two or more varied parameters)
    A heat map of one metric over two parameters — by default the probability of taking off
    — with the contour where the mean crosses the threshold (solid) and where the bounds of
    its 95% interval do (dashed). Other varied parameters are averaged over.
response.png (one varied parameter)
    The metric's mean and 95% interval against the parameter.
"""

import contextlib
import difflib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.atomic import atomic_path
from simulation.errors import first_line
from simulation.intervals import CONF_LEVEL, t_interval, wilson_interval
from simulation.sweep.store import (
    COORD_PREFIX,
    DESIGN_FILE,
    MANIFEST_FILE,
    ROWS_DIR,
    RUNS_FILE,
    SweepStore,
)

OUTPUTS = (
    "summary.csv",
    "sensitivity.csv",
    "sensitivity_s2.csv",
    "sensitivity.png",
    "phase.png",
    "response.png",
)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass
class SweepData:
    """A sweep's runs and what defined them."""

    root: Path
    name: str
    runs: pd.DataFrame
    design: pd.DataFrame
    parameters: list[dict[str, Any]]
    design_kind: str
    design_opts: dict[str, Any]
    replicates: int
    root_seed: int
    analysis: dict[str, Any]
    metrics: list[str]
    complete: bool
    n_runs_expected: int
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Varied parameters, in spec order."""
        return [p["key"] for p in self.parameters]

    def doc(self, key: str) -> str:
        """The schema's one-line meaning of a varied parameter ('' if none)."""
        for p in self.parameters:
            if p["key"] == key:
                return p.get("doc", "")
        return ""

    def is_bool(self, metric: str) -> bool:
        """Whether a metric is yes/no (summarised as a proportion, Wilson interval)."""
        return pd.api.types.is_bool_dtype(self.runs[metric].dropna().infer_objects())


def load_sweep(root: str | Path) -> SweepData:
    """Read a sweep folder (consolidated, or only its row files if it was interrupted).

    Raises
    ------
    simulation.cli.UsageError
        ``root`` holds no sweep.
    """
    from simulation.errors import UsageError
    from simulation.sweep.spec import scenario_field

    root = Path(root)
    store = SweepStore(root)
    record = store.record() if root.is_dir() else None
    if record is None:
        raise UsageError(f"{root}: not a sweep folder (no sweep.json); run snowball sweep first")
    recover = f"rebuild it from the spec: snowball sweep SPEC.toml --out {root} --resume"
    if record.get("damaged"):
        raise UsageError(f"{record['damaged']}; {recover}")
    problem = store.design_problem(record)
    if problem is not None:
        raise UsageError(f"{problem}; {recover}")
    identity = record["identity"]
    params = []
    for p in identity["parameters"]:
        info = scenario_field(p["key"])
        params.append({**p, "doc": info.doc if info else ""})
    design_opts = dict(identity["design"])
    replicates = int(record.get("replicates", 1))
    manifest_path = root / MANIFEST_FILE
    manifest = None
    if manifest_path.is_file():
        with contextlib.suppress(ValueError, OSError):
            manifest = json.loads(manifest_path.read_text())
    runs_path = root / RUNS_FILE
    runs, notes = None, []
    if runs_path.is_file() and manifest is not None:
        try:
            runs = pd.read_parquet(runs_path)
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            notes.append(
                f"{runs_path} cannot be read ({first_line(exc)}); the runs were read from "
                f"their row files in {ROWS_DIR}/ instead"
            )
        else:
            complete = bool(manifest.get("complete", True))
            expected = int(manifest["counts"]["runs"])
    if runs is None:
        runs = _runs_from_rows(root / ROWS_DIR, [p["key"] for p in params])
        expected = int(record.get("points", 0)) * replicates
        complete = len(runs) >= expected
    design_path = root / DESIGN_FILE
    try:
        design = pd.read_parquet(design_path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{design_path}: cannot be read ({first_line(exc)}); {recover}") from None
    base = {
        "point",
        "replicate",
        "seed",
        "status",
        "error",
        "wall_seconds",
        *[p["key"] for p in params],
    }
    metrics = [c for c in runs.columns if c not in base]
    analysis = dict(record.get("spec", {}).get("analysis", {}) or {})
    return SweepData(
        root=root,
        name=str(record.get("name", root.name)),
        runs=runs,
        design=design,
        parameters=params,
        design_kind=design_opts["kind"],
        design_opts=design_opts,
        replicates=replicates,
        root_seed=int(identity["seed"]),
        analysis=analysis,
        metrics=metrics,
        complete=complete,
        n_runs_expected=expected,
        notes=notes,
    )


def _runs_from_rows(rows_dir: Path, names: list[str]) -> pd.DataFrame:
    """Rows of an unconsolidated sweep (tolerant: unreadable files are skipped)."""
    records = []
    if rows_dir.is_dir():
        for entry in sorted(os.scandir(rows_dir), key=lambda e: e.name):
            if not entry.name.endswith(".json"):
                continue
            try:
                row = json.loads(Path(entry.path).read_text())
            except (OSError, ValueError):
                continue
            flat = {k: row.get(k) for k in ("point", "replicate", "seed", "status", "error")}
            for k in names:
                v = row.get("params", {}).get(k)
                flat[k] = json.dumps(v) if isinstance(v, list) else v
            for k, v in row.get("metrics", {}).items():
                if k != "wall_seconds":
                    flat[k] = v
            flat["wall_seconds"] = row.get("wall_seconds")
            records.append(flat)
    df = pd.DataFrame.from_records(records)
    if df.empty:
        return pd.DataFrame(
            columns=["point", "replicate", "seed", "status", "error", *names, "wall_seconds"]
        )
    return df.sort_values(["point", "replicate"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Intervals and per-point summaries
# --------------------------------------------------------------------------------------------


def _metric_values(runs: pd.DataFrame, metric: str, is_bool: bool) -> pd.Series:
    """The metric of successful runs as floats (bools as 0/1); NaN where unusable."""
    ok = runs["status"] == "ok"
    values = pd.to_numeric(runs[metric].where(ok).astype("float64"), errors="coerce")
    return values.where(np.isfinite(values))


def interval_table(values: pd.DataFrame, by: list[str], metric: str, is_bool: bool) -> pd.DataFrame:
    """n, mean, sd, ci_low, ci_high of ``values[metric]`` grouped by ``by``."""
    g = values.groupby(by, sort=True, dropna=False)[metric]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    if is_bool:
        lo, hi = wilson_interval(out["mean"].to_numpy() * out["n"].to_numpy(), out["n"].to_numpy())
        out["interval"] = "wilson"
    else:
        lo, hi = t_interval(out["mean"].to_numpy(), out["sd"].to_numpy(), out["n"].to_numpy())
        out["interval"] = "t"
    out["ci_low"], out["ci_high"] = lo, hi
    return out


def point_summary(data: SweepData) -> pd.DataFrame:
    """Mean and 95% interval of every metric at every point (long format)."""
    runs = data.runs
    names = data.names
    if runs.empty:
        return pd.DataFrame()
    per_point = runs.groupby("point").agg(
        runs=("status", "size"), failed=("status", lambda s: int((s == "failed").sum()))
    )
    params = runs.groupby("point")[names].first() if names else None
    tables = []
    for metric in [*data.metrics, "wall_seconds"]:
        if metric not in runs.columns:
            continue
        is_bool = metric != "wall_seconds" and data.is_bool(metric)
        frame = pd.DataFrame(
            {"point": runs["point"], metric: _metric_values(runs, metric, is_bool)}
        )
        table = interval_table(frame, ["point"], metric, is_bool)
        table.insert(1, "metric", metric)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    out = out.merge(per_point, left_on="point", right_index=True)
    if params is not None:
        out = out.merge(params, left_on="point", right_index=True)
    cols = [
        "point",
        *names,
        "metric",
        "runs",
        "failed",
        "n",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "interval",
    ]
    return out[cols].sort_values(["point", "metric"], kind="stable").reset_index(drop=True)


def point_means(data: SweepData, metric: str) -> np.ndarray:
    """Mean of ``metric`` over each point's successful replicates, shape (n_points,); NaN for
    a point with none."""
    n_points = (
        int(data.design["point"].max()) + 1
        if not data.design.empty
        else int(data.runs["point"].max()) + 1
    )
    values = _metric_values(data.runs, metric, data.is_bool(metric))
    means = values.groupby(data.runs["point"]).mean()
    out = np.full(n_points, np.nan)
    out[means.index.to_numpy(dtype=int)] = means.to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# Sensitivity
# --------------------------------------------------------------------------------------------


def _problem(data: SweepData) -> dict[str, Any]:
    bounds = []
    for p in data.parameters:
        lo, hi = p["low"], p["high"]
        bounds.append([math.log10(lo), math.log10(hi)] if p.get("log") else [lo, hi])
    return {"num_vars": len(data.parameters), "names": data.names, "bounds": bounds}


def _analysis_seed(root_seed: int) -> int:
    from simulation.sweep.seeds import analysis_rng

    return int(analysis_rng(root_seed).integers(2**31 - 1))


def sobol_indices(
    y: np.ndarray,
    names: list[str],
    *,
    second_order: bool,
    resamples: int,
    seed: int,
    bounds: list[list[float]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """First- and total-order Sobol indices (and second order) of responses ``y``.

    Parameters
    ----------
    y : numpy.ndarray
        Shape (N*(2D+2),) or (N*(D+2),): responses in the order of SALib's Sobol sample.

    Returns
    -------
    (first_total, second)
        ``parameter, S1, S1_conf, ST, ST_conf`` (``*_conf``: half-width of the 95%
        bootstrap interval) and ``parameter_a, parameter_b, S2, S2_conf``.
    """
    from SALib.analyze import sobol

    problem = {
        "num_vars": len(names),
        "names": names,
        "bounds": bounds or [[0.0, 1.0]] * len(names),
    }
    res = sobol.analyze(
        problem,
        np.asarray(y, dtype=float),
        calc_second_order=second_order,
        num_resamples=resamples,
        conf_level=CONF_LEVEL,
        seed=seed,
    )
    first = pd.DataFrame(
        {
            "parameter": names,
            "S1": res["S1"],
            "S1_conf": res["S1_conf"],
            "ST": res["ST"],
            "ST_conf": res["ST_conf"],
        }
    )
    pairs = []
    if second_order:
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                pairs.append(
                    {
                        "parameter_a": names[i],
                        "parameter_b": names[j],
                        "S2": res["S2"][i, j],
                        "S2_conf": res["S2_conf"][i, j],
                    }
                )
    return first, pd.DataFrame(pairs)


def morris_indices(
    x: np.ndarray, y: np.ndarray, problem: dict[str, Any], *, levels: int, resamples: int, seed: int
) -> pd.DataFrame:
    """Morris screening: ``parameter, mu, mu_star, mu_star_conf, sigma``.

    ``x`` has shape (r*(D+1), D) in design coordinates; ``y`` shape (r*(D+1),).
    """
    from SALib.analyze import morris

    res = morris.analyze(
        problem,
        np.asarray(x, dtype=float),
        np.asarray(y, dtype=float),
        num_resamples=resamples,
        conf_level=CONF_LEVEL,
        num_levels=levels,
        seed=seed,
    )
    return pd.DataFrame(
        {
            "parameter": problem["names"],
            "mu": res["mu"],
            "mu_star": res["mu_star"],
            "mu_star_conf": res["mu_star_conf"],
            "sigma": res["sigma"],
        }
    )


def sensitivity(
    data: SweepData, metrics: list[str], resamples: int
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Sensitivity indices of each metric (Sobol or Morris design); notes say which metrics
    were skipped and why."""
    notes: list[str] = []
    tables, second = [], []
    seed = _analysis_seed(data.root_seed)
    for metric in metrics:
        y = point_means(data, metric)
        if np.isnan(y).any():
            notes.append(
                f"sensitivity of {metric} skipped: {int(np.isnan(y).sum())} points "
                "have no successful run with a value (the design needs all)"
            )
            continue
        if np.nanstd(y) == 0:
            notes.append(f"sensitivity of {metric} skipped: it is the same at every point")
            continue
        if data.design_kind == "sobol":
            first, s2 = sobol_indices(
                y,
                data.names,
                second_order=bool(data.design_opts["second_order"]),
                resamples=resamples,
                seed=seed,
                bounds=_problem(data)["bounds"],
            )
            first.insert(0, "method", "sobol")
            if not s2.empty:
                s2.insert(0, "metric", metric)
                second.append(s2)
        else:
            coords = data.design[[COORD_PREFIX + k for k in data.names]].to_numpy()
            first = morris_indices(
                coords,
                y,
                _problem(data),
                levels=int(data.design_opts["levels"]),
                resamples=resamples,
                seed=seed,
            )
            first.insert(0, "method", "morris")
        first.insert(0, "metric", metric)
        tables.append(first)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    s2 = pd.concat(second, ignore_index=True) if second else pd.DataFrame()
    return table, s2, notes


# --------------------------------------------------------------------------------------------
# Phase diagram
# --------------------------------------------------------------------------------------------


@dataclass
class PhaseSurface:
    """A metric over two parameters.

    ``mean``, ``low``, ``high``, ``n`` have shape (len(y), len(x)). On a grid ``x`` and
    ``y`` are the levels and ``x_edges``/``y_edges`` are None; for a sampled design the runs
    are binned and ``x``/``y`` are bin centres between the edges.
    """

    x_key: str
    y_key: str
    metric: str
    is_bool: bool
    x: np.ndarray
    y: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray
    x_edges: np.ndarray | None = None
    y_edges: np.ndarray | None = None
    averaged_over: list[str] = field(default_factory=list)


def _is_log(data: SweepData, key: str) -> bool:
    return any(p["key"] == key and p.get("log") for p in data.parameters)


def phase_surface(data: SweepData, x_key: str, y_key: str, metric: str) -> PhaseSurface:
    """Mean and 95% interval of ``metric`` on the (x, y) plane, over all runs of each cell
    (replicates, and the levels of any other varied parameter)."""
    runs = data.runs
    is_bool = data.is_bool(metric)
    values = _metric_values(runs, metric, is_bool)
    frame = pd.DataFrame({"x": runs[x_key], "y": runs[y_key], metric: values})
    edges: dict[str, np.ndarray | None] = {"x": None, "y": None}
    if data.design_kind != "grid":
        n_points = max(int(runs["point"].nunique()), 1)
        bins = int(np.clip(round(math.sqrt(n_points / 4)), 3, 15))
        for axis, key in (("x", x_key), ("y", y_key)):
            p = next(p for p in data.parameters if p["key"] == key)
            e = (
                np.geomspace(p["low"], p["high"], bins + 1)
                if p.get("log")
                else np.linspace(p["low"], p["high"], bins + 1)
            )
            idx = np.clip(
                np.searchsorted(e, frame[axis].astype(float), side="right") - 1, 0, bins - 1
            )
            centres = np.sqrt(e[:-1] * e[1:]) if p.get("log") else (e[:-1] + e[1:]) / 2
            frame[axis] = centres[idx]
            edges[axis] = e
    table = interval_table(frame, ["x", "y"], metric, is_bool)
    xs = (
        np.sort(frame["x"].dropna().unique())
        if edges["x"] is None
        else _centres(edges["x"], _is_log(data, x_key))
    )
    ys = (
        np.sort(frame["y"].dropna().unique())
        if edges["y"] is None
        else _centres(edges["y"], _is_log(data, y_key))
    )
    shape = (len(ys), len(xs))
    grids = {k: np.full(shape, np.nan) for k in ("mean", "ci_low", "ci_high", "n")}
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    for row in table.itertuples(index=False):
        i, j = yi.get(row.y), xi.get(row.x)
        if i is None or j is None:
            continue
        grids["mean"][i, j] = row.mean
        grids["ci_low"][i, j] = row.ci_low
        grids["ci_high"][i, j] = row.ci_high
        grids["n"][i, j] = row.n
    others = [k for k in data.names if k not in (x_key, y_key)]
    return PhaseSurface(
        x_key=x_key,
        y_key=y_key,
        metric=metric,
        is_bool=is_bool,
        x=xs,
        y=ys,
        mean=grids["mean"],
        low=grids["ci_low"],
        high=grids["ci_high"],
        n=grids["n"],
        x_edges=edges["x"],
        y_edges=edges["y"],
        averaged_over=others,
    )


def _centres(e: np.ndarray, log: bool) -> np.ndarray:
    return np.sqrt(e[:-1] * e[1:]) if log else (e[:-1] + e[1:]) / 2


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


@dataclass
class AnalysisReport:
    """What ``analyze`` wrote and found."""

    out: Path
    written: list[Path]
    sensitivity: pd.DataFrame
    notes: list[str]
    summary_rows: int
    runs: int
    expected: int
    phase: PhaseSurface | None = None
    charted: list[str] = field(default_factory=list)
    root: Path | None = None

    def text(self) -> str:
        """A plain-text report for the terminal."""
        root = self.root or self.out.parent
        lines = [f"analysis of {root} ({self.runs} of {self.expected} runs)"]
        if not self.sensitivity.empty:
            shown = self.sensitivity
            if self.charted:
                shown = shown[shown["metric"].isin(self.charted)]
            lines.append(
                "sensitivity indices (95% interval half-widths in brackets; every metric "
                "in sensitivity.csv):"
            )
            lines.append(_format_sensitivity(shown))
        if self.phase is not None:
            lines.append(_describe_phase(self.phase))
        lines += [f"  wrote {p}" for p in self.written]
        return "\n".join(lines)


def _format_sensitivity(table: pd.DataFrame) -> str:
    rows = []
    for metric, part in table.groupby("metric", sort=False):
        rows.append(f"  {metric}:")
        if part["method"].iloc[0] == "sobol":
            part = part.sort_values("ST", ascending=False)
            for r in part.itertuples(index=False):
                rows.append(
                    f"    {r.parameter:<45} S1 {r.S1:6.3f} [{r.S1_conf:.3f}]  "
                    f"ST {r.ST:6.3f} [{r.ST_conf:.3f}]"
                )
        else:
            part = part.sort_values("mu_star", ascending=False)
            for r in part.itertuples(index=False):
                rows.append(
                    f"    {r.parameter:<45} mu* {r.mu_star:10.4g} "
                    f"[{r.mu_star_conf:.3g}]  sigma {r.sigma:10.4g}"
                )
    return "\n".join(rows)


def _describe_phase(s: PhaseSurface) -> str:
    return (
        f"phase diagram: {s.metric} over {s.x_key} x {s.y_key}: "
        f"{np.nanmin(s.mean):.3g} to {np.nanmax(s.mean):.3g} across "
        f"{int(np.isfinite(s.mean).sum())} cells"
    )


def _atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path, fsync=False) as tmp:
        frame.to_csv(tmp, index=False)


def _choose_metric(data: SweepData, requested: str | None, where: str) -> str:
    from simulation.errors import UsageError

    if requested is not None:
        if requested not in data.metrics:
            near = difflib.get_close_matches(requested, data.metrics, n=1, cutoff=0.5)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise UsageError(
                f"{where} {requested}: not a metric of this sweep{hint}; "
                f"metrics: {', '.join(data.metrics)}"
            )
        return requested
    if "took_off" in data.metrics:
        return "took_off"
    if not data.metrics:
        raise UsageError(f"{data.root}: the sweep has no metric columns (no run succeeded?)")
    return data.metrics[0]


def _choose_phase(data: SweepData, phase: tuple[str, str] | None) -> tuple[str, str] | None:
    """The phase diagram's parameters: asked for, the spec's, or the first two varied ones
    (a Sobol or Morris study draws one only when asked)."""
    from simulation.errors import UsageError

    names = data.names
    if phase is None and data.analysis.get("phase"):
        phase = tuple(data.analysis["phase"])
    if phase is None:
        sensitivity_design = data.design_kind in ("sobol", "morris")
        return (names[0], names[1]) if len(names) >= 2 and not sensitivity_design else None
    for key in phase:
        if key not in names:
            near = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise UsageError(
                f"--phase {','.join(phase)}: '{key}' is not a varied "
                f"parameter{hint}; varied: {', '.join(names)}"
            )
    if phase[0] == phase[1]:
        raise UsageError(f"--phase {','.join(phase)}: needs two different parameters")
    return (phase[0], phase[1])


def _writable_folder(out: Path, root: Path, given: bool) -> None:
    """Create ``out`` and check that files can be made in it (a probe file, removed at
    once), so that nothing is half-written when the place is read-only.

    Raises
    ------
    simulation.cli.UsageError
        One line naming the folder; for the default place inside the sweep folder it points
        at ``--out``.
    """
    from simulation.errors import UsageError

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=given, exist_ok=True)
        probe = out / f".probe.{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if given:
            raise UsageError(f"--out {out}: cannot write there ({reason})") from None
        raise UsageError(
            f"{root}: the sweep folder cannot be written ({reason}); write the analysis "
            "elsewhere with --out DIR"
        ) from None


def analyze_sweep(
    root: str | Path,
    *,
    metric: str | None = None,
    phase: tuple[str, str] | None = None,
    threshold: float | None = None,
    out: str | Path | None = None,
) -> AnalysisReport:
    """Summarise a sweep folder into ``root/analysis/`` or ``out`` (see the module
    docstring). Every argument is checked before anything is written.

    Parameters
    ----------
    root : path
        The sweep's output folder.
    metric : str, optional
        Metric of the phase diagram (and first panel of the sensitivity chart); default the
        spec's ``[analysis] metric``, else ``took_off``.
    phase : (str, str), optional
        x and y parameters of the phase diagram; default the spec's ``[analysis] phase``,
        else the first two varied parameters.
    threshold : float, optional
        Level of the phase diagram's contour (finite); default the spec's, else 0.5 for a
        yes/no metric (none for others).
    out : path, optional
        Folder to write to instead of ``root/analysis`` (for a sweep folder that cannot be
        written); created if missing.

    Raises
    ------
    simulation.cli.UsageError
        A bad argument, no runs, a damaged sweep folder, or a place that cannot be written:
        one line, and nothing written.
    """
    from simulation.errors import UsageError

    data = load_sweep(root)
    notes: list[str] = list(data.notes)
    if data.runs.empty:
        raise UsageError(f"{data.root}: no completed runs to analyse")
    metric = _choose_metric(data, metric or data.analysis.get("metric"), "--metric")
    phase = _choose_phase(data, phase)
    if threshold is None:
        threshold = data.analysis.get("threshold")
    if threshold is not None and not math.isfinite(threshold):
        raise UsageError(f"--threshold {threshold}: must be a finite number")
    sensitivity_design = data.design_kind in ("sobol", "morris")
    if sensitivity_design and data.complete:
        try:
            import SALib.analyze  # noqa: F401
        except ImportError:
            raise UsageError(
                f"{data.root}: sensitivity indices need SALib: pip install 'snowball-sim[sweep]'"
            ) from None
    out_dir = Path(out) if out is not None else data.root / "analysis"
    _writable_folder(out_dir, data.root, out is not None)
    from simulation.sweep import plots  # after the checks: matplotlib makes its cache folder

    if not data.complete:
        notes.append(
            f"the sweep is incomplete ({len(data.runs)} of {data.n_runs_expected} "
            "runs); results cover the runs done so far"
        )
    written: list[Path] = []

    summary = point_summary(data)
    _atomic_csv(summary, out_dir / "summary.csv")
    written.append(out_dir / "summary.csv")

    sens = pd.DataFrame()
    shown: list[str] = []
    if sensitivity_design:
        chart = list(data.analysis.get("metrics") or [])
        if metric not in chart:
            chart.insert(0, metric)
        analysable = [m for m in data.metrics if m != "wall_seconds"]
        if not data.complete:
            notes.append(
                "sensitivity indices need every point of the design: skipped until "
                "the sweep is complete (snowball sweep --resume)"
            )
        else:
            resamples = int(data.analysis.get("resamples", 1000))
            sens, s2, more = sensitivity(data, analysable, resamples)
            notes += more
            if not sens.empty:
                _atomic_csv(sens, out_dir / "sensitivity.csv")
                written.append(out_dir / "sensitivity.csv")
            if not s2.empty:
                _atomic_csv(s2, out_dir / "sensitivity_s2.csv")
                written.append(out_dir / "sensitivity_s2.csv")
            shown = [m for m in chart if not sens.empty and m in set(sens["metric"])]
            if not shown and not sens.empty:
                shown = list(dict.fromkeys(sens["metric"]))[:1]
            if shown:
                plots.sensitivity_chart(sens, shown, data, out_dir / "sensitivity.png")
                written.append(out_dir / "sensitivity.png")

    surface = None
    names = data.names
    if phase is not None:
        if _numeric_parameter(data, phase[0]) and _numeric_parameter(data, phase[1]):
            surface = phase_surface(data, phase[0], phase[1], metric)
            level = threshold if threshold is not None else (0.5 if surface.is_bool else None)
            plots.phase_diagram(surface, data, out_dir / "phase.png", level)
            written.append(out_dir / "phase.png")
        else:
            notes.append("phase diagram skipped: both parameters must be numbers")
    elif len(names) == 1 and not sensitivity_design and _numeric_parameter(data, names[0]):
        key = names[0]
        is_bool = data.is_bool(metric)
        frame = pd.DataFrame(
            {"x": data.runs[key], metric: _metric_values(data.runs, metric, is_bool)}
        )
        table = interval_table(frame, ["x"], metric, is_bool)
        plots.response_curve(table, key, metric, is_bool, data, out_dir / "response.png", threshold)
        written.append(out_dir / "response.png")
    for name in OUTPUTS:  # nothing stale from an earlier analysis with other options
        if out_dir / name not in written:
            with contextlib.suppress(FileNotFoundError):
                (out_dir / name).unlink()
    return AnalysisReport(
        out=out_dir,
        written=written,
        sensitivity=sens,
        notes=notes,
        summary_rows=len(summary),
        runs=len(data.runs),
        expected=data.n_runs_expected,
        phase=surface,
        charted=shown,
        root=data.root,
    )


def _numeric_parameter(data: SweepData, key: str) -> bool:
    return pd.api.types.is_numeric_dtype(data.runs[key]) and not pd.api.types.is_bool_dtype(
        data.runs[key]
    )
