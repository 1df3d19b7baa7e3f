"""Errors that end a command with one line on stderr and exit status 2 (see cli.main)."""


class UsageError(Exception):
    """Bad input that is not a scenario value: a path, a flag combination, an address."""


class OutputFolderError(UsageError):
    """An output folder that cannot, or must not, be written."""


def first_line(exc: BaseException) -> str:
    """An exception's message cut to one line (its type's name if it has none), for the
    one-line errors of the command line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
