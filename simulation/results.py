"""Writing results: tidy parquet tables, a manifest, and folders that appear whole or not at
all.

Everything a command writes goes first into a hidden temporary folder beside the target and
is renamed into place only when complete, so an error or an interruption never leaves a
half-written output folder. A writer killed outright (SIGKILL, a power cut) cannot remove its
temporary folder; its name records the writer (host, pid and the process's start time), and
the next command that writes beside it removes it once that process is gone
(:func:`remove_leftovers`).
"""

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.config import SCHEMA_VERSION
from simulation.errors import OutputFolderError
from simulation.paths import SOURCE_ROOT

PROJECT_ROOT = SOURCE_ROOT  # the clone, for the commit; None for an installed wheel
DEPENDENCIES = tuple(
    "mesa numpy scipy pandas pyarrow matplotlib SALib dask distributed tqdm".split()
)
"""The packages whose versions every manifest records (beside Python and snowball-sim)."""


def versions() -> dict[str, str | None]:
    """Python, the platform, this package and :data:`DEPENDENCIES` (None: not installed)."""
    out: dict[str, str | None] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for name in ("snowball-sim", *DEPENDENCIES):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


CODE_PATHS = ("--", ".", ":!results", ":!README.md", ":!docs")
"""git pathspec of what can change a result: everything but the outputs (``results/``, the
README's gallery, which the experiment command rewrites) and the prose (``docs/``)."""


CODE_PACKAGES = ("simulation", "experiments")
"""The packages whose files make up the code state (:func:`code_digest`)."""


def code_digest() -> str:
    """SHA-256 of every source and data file of the ``simulation`` and ``experiments``
    packages (their paths and bytes): what can change a run, in a clone or an installed
    wheel alike, and unchanged by commits that touch only docs, tests or results."""
    import importlib.util

    h = hashlib.sha256()
    for name in CODE_PACKAGES:  # located, not imported: reading them runs nothing
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in sorted(root.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            h.update(f"{name}/{path.relative_to(root).as_posix()}\0".encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def git_info() -> dict[str, Any]:
    """``{"commit", "dirty"}`` of the clone, plus ``diff_sha256`` (of ``git diff HEAD``)
    when dirty: dirty means a tracked file in :data:`CODE_PATHS` has changes. Both are None
    without a clone (an installed wheel) or without git."""

    def git(*args: str) -> str | None:
        if PROJECT_ROOT is None:  # an installed wheel: no clone, no commit
            return None
        try:
            cmd = ["git", "-C", str(PROJECT_ROOT), *args]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD") or None
    status = git("status", "--porcelain", "--untracked-files=no", *CODE_PATHS)
    out: dict[str, Any] = {"commit": commit, "dirty": None if status is None else bool(status)}
    if status:
        diff = git("diff", "HEAD", *CODE_PATHS)
        if diff is not None:
            out["diff_sha256"] = hashlib.sha256(diff.encode()).hexdigest()
    return out


def commit_label(git: dict[str, Any]) -> str | None:
    """``<commit>`` or ``<commit>-dirty`` from :func:`git_info`'s mapping (None: no commit)."""
    commit = git.get("commit")
    return commit + ("-dirty" if git.get("dirty") else "") if commit else None


def now() -> str:
    """The current UTC time, ISO 8601 to the second (the manifests' ``created``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


MANIFEST_COMMON = ("schema_version", "kind", "created", "wall_seconds", "versions", "git", "commit")
"""The keys every manifest has, whatever its kind (:func:`manifest`; docs/MODEL.md)."""


def manifest(
    kind: str, *, wall_seconds: float | None, created: str | None = None, **fields: Any
) -> dict[str, Any]:
    """The manifest of an output folder of any ``kind`` (``run``, ``experiment``,
    ``validation``, ``snowball-sweep``): the common part (:data:`MANIFEST_COMMON`) around the
    kind's own ``fields``. ``wall_seconds``: spent making the outputs (a sweep: summed over
    its sessions), rounded by the caller; ``created``: when the output was begun (a sweep: its
    first session), default now. The keys are documented once, in docs/MODEL.md."""
    git = git_info()
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        **fields,
        "created": created or now(),
        "wall_seconds": wall_seconds,
        "versions": versions(),
        "git": git,
        "commit": commit_label(git),
    }


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Parquet written deterministically (same frame -> same bytes)."""
    df.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


RUN_TABLES = ("ticks", "streams", "days", "loop_gains", "items")
"""The per-run tables ``snowball run`` writes, each as ``<name>.parquet`` with the run's keys
in front (``days`` holds the day metrics: only ``day`` when the run has none, so that every
run folder has the same files; ``loop_gains`` one row per stream,
:func:`simulation.loop_gains.room_table`; ``items`` only with ``behaviour.run_of_show``: one
row per room, item and day, :meth:`simulation.run_of_show.RunOfShow.table`)."""


def with_run_keys(df: pd.DataFrame, keys: dict[str, Any]) -> pd.DataFrame:
    """A copy of ``df`` with the run's keys (scenario name, seed, run id: see
    :data:`simulation.metrics.RUN_KEYS`) as its first columns, one value on every row, so
    the tables of many runs can be stacked with ``pd.concat`` and still say which run each
    row came from. Strings are stored as strings and the seed as int64."""
    out = df.copy()
    for i, (name, value) in enumerate(keys.items()):
        if name in out.columns:
            raise ValueError(f"table already has a column {name!r}; it cannot carry run keys")
        dtype = "int64" if isinstance(value, int) else object
        out.insert(i, name, pd.Series([value] * len(out), index=out.index, dtype=dtype))
    return out


def write_run_tables(folder: Path, keys: dict[str, Any], tables: dict[str, pd.DataFrame]) -> None:
    """Write each of a run's ``tables`` (:data:`RUN_TABLES`) to ``folder/<name>.parquet``
    with the run's keys in front (:func:`with_run_keys`)."""
    for name, df in tables.items():
        if name not in RUN_TABLES:
            raise ValueError(f"not a run table: {name!r}; run tables: {', '.join(RUN_TABLES)}")
        write_parquet(with_run_keys(df, keys), Path(folder) / f"{name}.parquet")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """A folder's snowball manifest (a mapping with ``schema_version``), or None."""
    try:
        man = json.loads((Path(folder) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return man if isinstance(man, dict) and "schema_version" in man else None


def check_parent_folder(target: Path, flag: str = "--out") -> Path:
    """A folder that outputs go *into* (``--all --out DIR``): resolved; refused when it is a
    file or the current folder or one containing it."""
    path = Path(target).expanduser()
    try:
        full = path.resolve()
    except (RuntimeError, OSError) as exc:  # RuntimeError: a symbolic link loop (Python 3.11)
        why = "a symbolic link loop" if isinstance(exc, RuntimeError) else exc.strerror or exc
        raise OutputFolderError(f"{flag} {path}: cannot resolve the path ({why})") from None
    cwd = Path.cwd().resolve()
    try:
        if full.is_symlink():  # a link left dangling or looping by resolve(): it cannot be used
            raise OutputFolderError(f"{flag} {path}: is a symbolic link that leads nowhere")
        if full.exists() and not full.is_dir():
            raise OutputFolderError(f"{flag} {path}: is a file; give a folder")
    except OSError as exc:
        raise OutputFolderError(f"{flag} {path}: cannot read it ({exc.strerror or exc})") from None
    if full == cwd or full in cwd.parents:
        raise OutputFolderError(
            f"{flag} {path}: is the current folder or contains it; give a new folder"
        )
    return full


OUTPUT_FILES = {
    "run": {
        "ticks.parquet",
        "streams.parquet",
        "days.parquet",
        "loop_gains.parquet",
        "overview.png",
        "manifest.json",
    },
    "experiment": {
        "runs.csv",
        "daily.csv.gz",
        "streams.csv.gz",
        "summary.csv",
        "figure.png",
        "REPORT.md",
        "manifest.json",
    },
    "validation": {"validation.csv", "validation.md", "manifest.json"},
}
"""The files each kind of output folder holds (a validation folder also holds the figures its
manifest lists): anything else in a folder that a command would replace was put there by
someone else, and the folder is refused rather than deleted."""


OS_METADATA = {".DS_Store", "Thumbs.db", "desktop.ini"}
"""Files a file browser leaves in any folder it shows: replaced along with the folder."""


OPTIONAL_FILES = {"run": {"items.parquet"}}
"""Files an output writes only when a switch asks for them (``items.parquet``: with
``behaviour.run_of_show``)."""


def own_files(man: dict[str, Any]) -> set[str]:
    """The names an output folder with this manifest may hold."""
    names = set(OUTPUT_FILES.get(man.get("kind"), ())) | OPTIONAL_FILES.get(man.get("kind"), set())
    figures = man.get("figures") if man.get("kind") == "validation" else None
    if isinstance(figures, list):
        names |= {f for f in figures if isinstance(f, str)}
    return names


def _listing(names: list[str], most: int = 3) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def check_output_folder(
    target: Path, kind: str, flag: str = "--out", same: dict[str, Any] | None = None
) -> Path:
    """Check an output folder before any work is done and return it, resolved (``~``
    expanded, symbolic links followed: write to the returned path).

    The folder may be new, empty, or an earlier output of the same ``kind`` (its
    manifest.json says so) holding only that output's own files (:data:`OUTPUT_FILES`), and
    for which the manifest's fields in ``same`` match (an experiment folder belongs to one
    study); a successful run then replaces it. Refused, with an :class:`OutputFolderError`:
    a file; a non-empty folder holding anything else, or another study's outputs, or files
    someone added (they would be deleted); the current folder or one containing it; a place
    that cannot be read or written (checked by creating and removing a probe folder in the
    nearest existing ancestor). The check is made once, before the work: files put into
    the folder while a long run goes on are replaced with it.
    """
    path = Path(target).expanduser()
    where = f"{flag} {path}"
    full = check_parent_folder(path, flag)
    try:
        if full.is_dir() and any(full.iterdir()):
            man = read_manifest(full) or {}
            if man.get("kind") != kind:
                raise OutputFolderError(
                    f"{where}: the folder is not empty and holds no snowball {kind} output "
                    "(a run replaces its folder); choose an empty or new folder"
                )
            for key, value in (same or {}).items():
                if man.get(key) != value:
                    raise OutputFolderError(
                        f"{where}: holds the outputs of {key} {man.get(key)!r}, which "
                        f"{key} {value!r} would replace; choose another folder"
                    )
            mine = own_files(man) | OS_METADATA
            foreign = sorted(e.name for e in full.iterdir() if e.name not in mine)
            if foreign:
                raise OutputFolderError(
                    f"{where}: also holds {_listing(foreign)}, which a snowball {kind} did "
                    "not write and replacing the folder would delete; move them out or "
                    "choose another folder"
                )
        base = full.parent
        while not base.exists():
            base = base.parent
        if not base.is_dir():
            raise OutputFolderError(f"{where}: {base} is a file, not a folder")
        if base == full.parent:
            remove_leftovers(full)
        os.rmdir(
            tempfile.mkdtemp(prefix=f".{full.name}.{writer_tag()}.", suffix=".probe", dir=base)
        )
    except OSError as exc:
        reason = exc.strerror or exc
        raise OutputFolderError(f"{where}: cannot use this folder ({reason})") from None
    return full


def _start_time(pid: int) -> str | None:
    """A process's start time (clock ticks after boot, /proc/PID/stat field 22), which
    tells a live writer from a later process that was given the same pid; None if there is
    no such process or no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40] or "host"


def writer_tag(pid: int | None = None) -> str:
    """``w-<host>-<pid>-<start time>``: who writes a temporary folder (see
    :func:`remove_leftovers`)."""
    pid = os.getpid() if pid is None else pid
    return f"w-{_host()}-{pid}-{_start_time(pid) or 0}"


_LEFTOVER = re.compile(
    r"\.w-(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)-(?P<start>\d+)\.(?:[^.]+\.(?:tmp|probe)|old)$"
)


def _writer_alive(host: str, pid: int, start: str) -> bool:
    if host != _host():
        return True  # another machine's writer (a shared folder): it cannot be checked
    if Path("/proc").is_dir():
        return _start_time(pid) == start or (start == "0" and Path(f"/proc/{pid}").exists())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_leftovers(target: Path) -> list[Path]:
    """Remove what dead writers of ``target`` left beside it, and return what was removed.

    A writer killed outright leaves its hidden temporary folder (``.NAME.w-...tmp``), a probe
    (``.probe``) or, killed between the two renames that replace an earlier output, that
    output set aside (``.NAME.w-....old``). Each name carries the writer's host, pid and
    start time (:func:`writer_tag`); only those of this host whose process is gone (no such
    pid, or a pid now used by a process that started at another time) are touched: a temporary
    folder is deleted, and an output set aside is put back if ``target`` is missing (else
    deleted). A live writer's folders and those of other hosts are left alone, and so are
    names of any other form.
    """
    target = Path(target)
    prefix = f".{target.name}."
    removed = []
    try:
        entries = [e for e in target.parent.iterdir() if e.name.startswith(prefix)]
    except OSError:
        return removed
    for entry in entries:
        m = _LEFTOVER.fullmatch(entry.name[len(prefix) - 1 :])
        if m is None or _writer_alive(m["host"], int(m["pid"]), m["start"]):
            continue
        try:
            if entry.name.endswith(".old") and not os.path.lexists(target):
                os.replace(entry, target)
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # another process removed it first, or it cannot be removed: leave it
        removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target`` in one rename, on any
    error or interruption it is removed and ``target`` is left as it was. A failure to write
    (no permission, no space, a busy folder) becomes an :class:`OutputFolderError`."""
    target = Path(target)
    tag = writer_tag()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(target)
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.{tag}.", suffix=".tmp", dir=target.parent)
        )
    except OSError as exc:
        raise OutputFolderError(f"{target}: cannot write there ({exc.strerror or exc})") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        yield tmp
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputFolderError(f"{target}: writing failed ({exc.strerror or exc})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    try:
        if target.exists():
            old = target.parent / f".{target.name}.{tag}.old"
            os.replace(target, old)
        os.replace(tmp, target)
    except OSError as exc:
        if old is not None and not target.exists():
            os.replace(old, target)  # put the earlier output back
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputFolderError(f"{target}: could not replace it ({exc.strerror or exc})") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
