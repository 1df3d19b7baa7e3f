"""Reading a user's input file: the one reader of scenario files and sweep specs.

A path on the command line can name anything: a folder, a named pipe that blocks ``open``
until a writer comes, ``/dev/zero`` that never ends, a symbolic link to nothing or in a loop,
a file without read permission, a binary file, a file the size of the machine's memory. Each
of these is refused here with one line saying what the path is and what is wanted, before a
byte is parsed. The file is opened first (non-blocking, so a FIFO with no writer returns at
once) and its type and size are read from the open descriptor (``fstat``), so the file checked
is the file read, even if the path is replaced meanwhile.

:class:`UnreadableFile` carries ``key``, ``value`` and ``allowed`` as
:class:`simulation.config.ConfigError` does, so the config module turns it into one with the
same fields. This module imports nothing from the package (config imports it).
"""

import errno
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

MAX_INPUT_BYTES = 16 * 2**20
"""A scenario or spec file larger than this is refused before it is read: the largest
shipped one is a few KB, and a file the size of the machine's memory would otherwise be read
whole."""

_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class UnreadableFile(ValueError):
    """A file that cannot be read as the input it should be, or TOML that does not parse.

    ``key`` is ``"(file)"`` (the file itself: ``value`` is the path) or ``"(syntax)"``
    (``value`` is the parser's message, with the line and column); ``allowed`` says what is
    wrong and what is wanted. ``str(error)`` is the one line ``PATH: ALLOWED``.
    """

    def __init__(self, path: Path, key: str, value: str, allowed: str):
        self.path, self.key, self.value, self.allowed = path, key, value, allowed
        super().__init__(f"{path}: {allowed}")


def read_regular_file(
    path: Path, what: str, *, missing: str | None = None, max_bytes: int = MAX_INPUT_BYTES
) -> bytes:
    """The bytes of ``path``, which must be a readable regular file of at most ``max_bytes``
    (a symbolic link to one is followed).

    Parameters
    ----------
    path
        The file.
    what
        What the file should be, for the messages (``"scenario"``, ``"sweep spec"``).
    missing
        What to say when nothing is at ``path`` (default: ``no such WHAT file``), e.g. the
        list of named scenarios.
    max_bytes
        The largest size accepted.

    Raises
    ------
    UnreadableFile
        With key ``"(file)"``: missing, a dangling or looping symbolic link, a folder, a
        special file (FIFO, socket, device), no read permission, too large.
    """
    path = Path(path)

    def refuse(reason: str) -> UnreadableFile:
        return UnreadableFile(path, "(file)", str(path), reason)

    try:  # non-blocking, so that opening a FIFO with no writer returns at once
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        if os.path.islink(path):
            raise refuse(
                f"is a symbolic link to nothing ({os.readlink(path)}); give the {what} file itself"
            ) from None
        raise refuse(missing or f"no such {what} file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise refuse(f"is a symbolic link that loops; give the {what} file itself") from None
        raise refuse(
            f"cannot be read ({exc.strerror or exc}); give a readable {what} file"
        ) from None
    try:
        st = os.fstat(fd)
        for test, kind in _FILE_KINDS:
            if test(st.st_mode):
                raise refuse(f"is {kind}, not a regular file; give a {what} file")
        if not stat.S_ISREG(st.st_mode):
            raise refuse(f"is not a regular file; give a {what} file")
        chunks, size = [], st.st_size
        if size <= max_bytes:  # read one byte more than allowed: a file growing meanwhile
            size = 0
            while size <= max_bytes and (chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size))):
                chunks.append(chunk)
                size += len(chunk)
        if size > max_bytes:
            raise refuse(f"is {size:,} bytes or more; a {what} file is at most {max_bytes:,}")
        return b"".join(chunks)
    except OSError as exc:  # an I/O error, a file removed meanwhile
        raise refuse(f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_toml(
    path: Path, what: str, *, missing: str | None = None, max_bytes: int = MAX_INPUT_BYTES
) -> dict[str, Any]:
    """The table of the TOML file ``path`` (read with :func:`read_regular_file`).

    Raises
    ------
    UnreadableFile
        What :func:`read_regular_file` refuses; a file that is not UTF-8 (key ``"(file)"``);
        a syntax error (key ``"(syntax)"``, the message naming the line and column).
    """
    data = read_regular_file(path, what, missing=missing, max_bytes=max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableFile(
            Path(path), "(file)", str(path), "is not UTF-8 text (a TOML file must be UTF-8)"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message names the line and column
        raise UnreadableFile(
            Path(path), "(syntax)", str(exc), f"is not valid TOML ({exc})"
        ) from None
