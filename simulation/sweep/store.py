"""The output folder of a sweep, and why a killed sweep never leaves a bad row.

Layout::

    DIR/
      sweep.json       what this folder holds: the spec, its fingerprint, sessions
      design.parquet   the design points (values, and design coordinates when sampled)
      rows/            one JSON file per completed run: 000042-003.json = point 42, rep 3
      runs.parquet     all completed runs, one row each, ordered by point and replicate
      manifest.json    spec, resolved base scenario, seeds, versions, commit, counts, times
      analysis/        written by ``snowball analyze``
      .lock            held (flock) by the one driver writing to the folder

Durability: the driver writes each completed run's row to a temporary name in ``rows/``
(fsync-ed unless the run took under 50 ms), then ``os.replace``-s it onto its final name,
which is a function of (point, replicate) alone. A rename is atomic, so after a kill at any
moment — even ``kill -9`` — a final name either holds a complete row or does not exist: no
row is ever half-written, and because one run has one name no run is ever recorded twice
(re-running it replaces the file with an identical row). Left-over temporary files are
removed when the next session starts. Reading is tolerant anyway: a row file that does not
parse or does not match its name and seed (possible only after a crash of the machine
itself) counts as missing, and ``--resume`` runs it again.

``runs.parquet`` and ``manifest.json`` are rebuilt from the row files at the end of every
session (written to a temporary name and renamed too), in batches, so the driver's memory
does not depend on the number of runs.
"""

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulation.atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    lock_folder,
    remove_temporaries,
)
from simulation.sweep.design import Design

SWEEP_FILE = "sweep.json"
DESIGN_FILE = "design.parquet"
RUNS_FILE = "runs.parquet"
MANIFEST_FILE = "manifest.json"
ROWS_DIR = "rows"
LOCK_FILE = ".lock"
COORD_PREFIX = "coord:"
RECORD_SCHEMA = 1
CHECKSUM_KEY = "record_sha256"
BATCH_ROWS = 4096
FSYNC_MIN_SECONDS = 0.05

BASE_COLUMNS = ("point", "replicate", "seed", "status", "error")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def json_sha256(obj: Any) -> str:
    """SHA-256 of ``obj`` as canonical JSON (sorted keys, no spaces, other types as str):
    the sweep's fingerprint and the record's checksum."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def fsync_dir(path: Path) -> None:
    """Make renames inside ``path`` durable (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass
class ScanCounts:
    """Runs of a sweep by state."""

    ok: int = 0
    failed: int = 0
    missing: int = 0
    repaired: int = 0

    @property
    def done(self) -> int:
        """Runs with a row (ok or failed)."""
        return self.ok + self.failed


class SweepStore:
    """One sweep's output folder (see the module docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.rows = self.root / ROWS_DIR
        self._lock_fh: Any = None

    # ----------------------------------------------------------------------------- reading

    def record(self) -> dict[str, Any] | None:
        """The folder's sweep record, or None when it holds none.

        A record that cannot be read, does not parse (e.g. truncated) or whose checksum
        (see :meth:`write_record`) does not match is returned as ``{"damaged": reason}``.
        """
        path = self.root / SWEEP_FILE
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            reason = "truncated or not JSON" if isinstance(exc, ValueError) else exc.strerror
            return {"damaged": f"{path} cannot be read ({reason})"}
        if not isinstance(record, dict) or "fingerprint" not in record:
            return {"damaged": f"{path} is not a sweep record"}
        stored = record.pop(CHECKSUM_KEY, None)
        if stored is not None and stored != json_sha256(record):
            return {"damaged": f"{path} does not match its checksum (edited or corrupted)"}
        return record

    def is_aborted_start(self) -> bool:
        """A folder a session created but left before writing its sweep record."""
        ours = {LOCK_FILE, DESIGN_FILE, ROWS_DIR}
        for entry in os.scandir(self.root):
            if entry.name.endswith(".tmp"):
                continue
            if entry.name not in ours:
                return False
            if entry.name == ROWS_DIR and any(os.scandir(entry.path)):
                return False
        return True

    def row_path(self, point: int, replicate: int) -> Path:
        """The row file of (point, replicate)."""
        return self.rows / f"{point:06d}-{replicate:03d}.json"

    def read_row(self, point: int, replicate: int, seed: int) -> dict[str, Any] | None:
        """The row of (point, replicate), or None if it is missing or not a valid row of
        this run (wrong point, replicate or seed, or not parseable)."""
        path = self.row_path(point, replicate)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        except OSError:
            return None
        try:
            row = json.loads(text)
        except ValueError:
            return None
        if (
            not isinstance(row, dict)
            or row.get("point") != point
            or row.get("replicate") != replicate
            or row.get("seed") != seed
            or row.get("status") not in ("ok", "failed")
            or not isinstance(row.get("params"), dict)
            or not isinstance(row.get("metrics"), dict)
        ):
            return None
        return row

    def has_row(self, point: int, replicate: int) -> bool:
        """Whether (point, replicate) has a row file (not checked for validity)."""
        return self.row_path(point, replicate).is_file()

    # ----------------------------------------------------------------------------- writing

    def lock(self) -> None:
        """Hold the folder's lock until the process ends (released even by ``kill -9``).

        Raises
        ------
        simulation.cli.UsageError
            Another driver holds it.
        """
        fh = lock_folder(
            self.root / LOCK_FILE,
            f"--out {self.root}",
            f"{self.root}: another snowball sweep is writing to this folder; wait for it or "
            "choose another --out",
            "; a sweep continues only where it can write",
        )
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._lock_fh = fh

    @property
    def locked(self) -> bool:
        """Whether this process holds the folder's lock."""
        return self._lock_fh is not None

    def unlock(self) -> None:
        """Release the folder's lock (if this process holds it)."""
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    def remove_temporaries(self) -> int:
        """Delete temporary files left by a killed session; return how many."""
        return remove_temporaries(self.root, self.rows)

    def write_row(self, row: dict[str, Any]) -> None:
        """Record one completed run (atomically; see the module docstring).

        Rows of runs that took at least :data:`FSYNC_MIN_SECONDS` are fsync-ed before the
        rename; for cheaper runs an fsync (0.5-10 ms) would cost more than running them
        again after a power cut, and the tolerant reader turns such a loss into a rerun.
        """
        data = json.dumps(row, separators=(",", ":")).encode()
        durable = float(row.get("wall_seconds") or 0.0) >= FSYNC_MIN_SECONDS
        atomic_write_bytes(self.row_path(row["point"], row["replicate"]), data, fsync=durable)

    def remove_row(self, point: int, replicate: int) -> None:
        """Delete the row of (point, replicate), if any."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.row_path(point, replicate))

    def write_record(self, record: dict[str, Any]) -> None:
        """Write sweep.json atomically, with the SHA-256 of its own content (everything but
        the checksum, as canonical JSON) so that an edited or corrupted record is noticed."""
        body = {k: v for k, v in record.items() if k != CHECKSUM_KEY}
        atomic_write_json(
            self.root / SWEEP_FILE, {**body, CHECKSUM_KEY: json_sha256(body)}, indent=1
        )

    def design_checksum(self) -> str | None:
        """SHA-256 of design.parquet's bytes (None if it cannot be read)."""
        try:
            return file_sha256(self.root / DESIGN_FILE)
        except OSError:
            return None

    def design_problem(self, record: dict[str, Any]) -> str | None:
        """Why design.parquet cannot be trusted (missing, unreadable, or not the file the
        record's checksum names), or None. Records written before checksums are trusted if
        the file parses."""
        import pyarrow.parquet as pq

        path = self.root / DESIGN_FILE
        if not path.is_file():
            return f"{path} is missing"
        expected = record.get("design_sha256")
        if expected is not None:
            return (
                None
                if self.design_checksum() == expected
                else (f"{path} does not match its checksum in {SWEEP_FILE} (corrupted)")
            )
        try:
            pq.read_schema(path)
        except (OSError, ValueError) as exc:
            return f"{path} cannot be read ({' '.join(str(exc).split())[:200]})"
        return None

    def write_design(self, design: Design) -> None:
        """design.parquet: ``point``, one column per parameter, and ``coord:<key>`` design
        coordinates for sampled designs."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        with atomic_path(self.root / DESIGN_FILE) as tmp:
            writer = None
            try:
                for start in range(0, max(design.n_points, 1), 65536):
                    stop = min(design.n_points, start + 65536)
                    cols: dict[str, list] = {"point": list(range(start, stop))}
                    points = [design.point(i) for i in range(start, stop)]
                    for key in design.names:
                        cols[key] = [_cell(pt[key]) for pt in points]
                    table = pa.table(cols)
                    if design.coordinates is not None:
                        for j, key in enumerate(design.names):
                            table = table.append_column(
                                COORD_PREFIX + key,
                                pa.array(design.coordinates[start:stop, j], type=pa.float64()),
                            )
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                if writer is None:  # no points at all cannot happen, but keep the file valid
                    pq.write_table(pa.table({"point": pa.array([], pa.int64())}), tmp)
            finally:
                if writer is not None:
                    writer.close()

    def read_coordinates(self, names: tuple[str, ...]) -> np.ndarray | None:
        """Stored design coordinates (sampled designs), or None."""
        import pyarrow.parquet as pq

        path = self.root / DESIGN_FILE
        if not path.is_file():
            return None
        cols = [COORD_PREFIX + k for k in names]
        schema = pq.read_schema(path)  # the caller has checked it with design_problem()
        if not all(c in schema.names for c in cols) or not cols:
            return None
        table = pq.read_table(path, columns=cols)
        return np.column_stack([table.column(c).to_numpy() for c in cols])

    def prepare_session(self) -> None:
        """Create the folder layout (idempotent); a place that cannot be written is an
        :class:`~simulation.errors.OutputFolderError`."""
        from simulation.errors import OutputFolderError

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.rows.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputFolderError(
                f"--out {self.root}: cannot write there ({exc.strerror or exc})"
            ) from None

    def discard_outputs(self) -> None:
        """Remove the consolidated files of an earlier session before runs change."""
        for name in (RUNS_FILE, MANIFEST_FILE):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.root / name)

    # ------------------------------------------------------------------------ consolidation

    def iter_rows(self, n_points: int, replicates: int, seed_of: Any) -> Iterator[dict[str, Any]]:
        """Valid rows in (point, replicate) order."""
        for point in range(n_points):
            for rep in range(replicates):
                row = self.read_row(point, rep, seed_of(point, rep))
                if row is not None:
                    yield row

    def consolidate(
        self,
        n_points: int,
        replicates: int,
        seed_of: Any,
        param_names: tuple[str, ...],
        metrics: tuple[str, ...] | None,
    ) -> dict[str, Any]:
        """Write runs.parquet from the row files; return counts and column types.

        Two streaming passes: the first finds the metric columns and their types, the second
        writes batches of :data:`BATCH_ROWS` rows.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        kinds: dict[str, set] = {}
        param_kinds: dict[str, set] = {k: set() for k in param_names}
        counts = ScanCounts()
        compute_seconds = 0.0
        for row in self.iter_rows(n_points, replicates, seed_of):
            counts.ok += row["status"] == "ok"
            counts.failed += row["status"] == "failed"
            compute_seconds += float(row.get("wall_seconds") or 0.0)
            for k, v in row["metrics"].items():
                if k != "wall_seconds":
                    kinds.setdefault(k, set()).add(_kind_of(v))
            for k in param_names:
                param_kinds[k].add(_kind_of(_cell(row["params"].get(k))))
        counts.missing = n_points * replicates - counts.done
        metric_cols = list(metrics) if metrics is not None else list(kinds)
        metric_cols = [m for m in metric_cols if m != "wall_seconds"]
        fields = [
            pa.field("point", pa.int64()),
            pa.field("replicate", pa.int64()),
            pa.field("seed", pa.int64()),
            pa.field("status", pa.string()),
            pa.field("error", pa.string()),
        ]
        fields += [pa.field(k, _arrow_type(param_kinds[k])) for k in param_names]
        fields += [pa.field(m, _arrow_type(kinds.get(m, {"float"}))) for m in metric_cols]
        fields.append(pa.field("wall_seconds", pa.float64()))
        schema = pa.schema(fields)

        with (
            atomic_path(self.root / RUNS_FILE) as tmp,
            pq.ParquetWriter(tmp, schema) as writer,
        ):
            batch: dict[str, list] = {f.name: [] for f in fields}
            size = 0

            def flush() -> None:
                nonlocal size
                if size:
                    writer.write_table(pa.table(batch, schema=schema))
                    for col in batch.values():
                        col.clear()
                    size = 0

            for row in self.iter_rows(n_points, replicates, seed_of):
                for k in BASE_COLUMNS:
                    batch[k].append(row.get(k))
                for k in param_names:
                    batch[k].append(_cell(row["params"].get(k)))
                for m in metric_cols:
                    batch[m].append(row["metrics"].get(m))
                batch["wall_seconds"].append(row.get("wall_seconds"))
                size += 1
                if size >= BATCH_ROWS:
                    flush()
            flush()
        fsync_dir(self.root)
        return {
            "ok": counts.ok,
            "failed": counts.failed,
            "missing": counts.missing,
            "runs": n_points * replicates,
            "compute_seconds": compute_seconds,
            "metrics": metric_cols,
        }


def _cell(v: Any) -> Any:
    """A parameter value as a table cell (lists become JSON text)."""
    if isinstance(v, list | tuple):
        return json.dumps(list(v))
    return v


def _kind_of(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return "str"


def _arrow_type(kinds: set) -> Any:
    import pyarrow as pa

    kinds = set(kinds) - {"null"}
    if not kinds or (kinds <= {"float", "int"} and "float" in kinds):
        return pa.float64()
    if kinds == {"int"}:
        return pa.int64()
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"str"}:
        return pa.string()
    return pa.float64() if kinds <= {"float", "int", "bool"} else pa.string()
