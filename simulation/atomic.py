"""Files never seen half-written: the one way the package writes a single file atomically.

The content goes to a hidden temporary name beside the file, ``.NAME.<pid>.tmp``, and is
renamed onto ``NAME`` when complete; a rename is atomic, so a reader (or the next session
after a ``kill -9``) finds the whole new file or the old one. With ``fsync`` the bytes reach
the disk before the rename (surviving a power cut too). The ``.tmp`` suffix lets a folder's
owner remove what a killed writer left (``SweepStore.remove_temporaries``). Whole folders:
:func:`simulation.results.atomic_dir`. This module imports nothing from the package, so
every module may use it.
"""

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_path(path: Path, *, fsync: bool = True) -> Iterator[Path]:
    """Yield the temporary name to write ``path`` to (for writers that want a file name:
    pyarrow, pandas, matplotlib; name the format, the suffix is ``.tmp``). After the block it
    is (synced and) renamed onto ``path``; on an error it is removed and ``path`` kept."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str, *, fsync: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    atomic_write_bytes(path, text.encode(), fsync=fsync)


def atomic_write_json(path: Path, obj: Any, *, indent: int = 2, fsync: bool = True) -> None:
    """Write ``obj`` as indented JSON with a final newline, atomically. numpy scalars and
    arrays and paths are written as the plain values they hold (:func:`json_default`)."""
    text = json.dumps(obj, indent=indent, sort_keys=False, default=json_default) + "\n"
    atomic_write_bytes(path, text.encode(), fsync=fsync)


def json_default(x: Any) -> Any:
    """The JSON value of a numpy scalar or array or a path (``json.dumps(default=...)``)."""
    import numpy as np

    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x)}")


def lock_folder(lock_file: Path, where: str, busy: str, unwritable_hint: str = "") -> IO[str]:
    """Hold an exclusive ``flock`` on ``lock_file`` (created if need be) and return its open
    file: the lock lasts until the file is closed or the process ends (``kill -9`` too), so a
    folder has one writer at a time and a dead writer never strands it.

    Raises
    ------
    simulation.errors.OutputFolderError
        ``where`` cannot be written (``where: cannot write there (why)`` + ``unwritable_hint``).
    simulation.errors.UsageError
        Another process holds the lock (the message ``busy``).
    """
    import fcntl

    from simulation.errors import OutputFolderError, UsageError

    try:
        fh = open(lock_file, "a+")
    except OSError as exc:  # a read-only folder or file system
        raise OutputFolderError(
            f"{where}: cannot write there ({exc.strerror or exc}){unwritable_hint}"
        ) from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise UsageError(busy) from None
    return fh


def remove_temporaries(*folders: Path) -> int:
    """Delete the ``*.tmp`` files a killed writer left in ``folders`` (those that exist);
    return how many. Call it only while holding the folders' lock (:func:`lock_folder`)."""
    n = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            if entry.name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    n += 1
    return n
