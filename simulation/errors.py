"""Errors that end a command with one line on stderr and exit status 2 (see cli.main)."""


class UsageError(Exception):
    """Bad input that is not a scenario value: a path, a flag combination, an address."""


class OutputFolderError(UsageError):
    """An output folder that cannot, or must not, be written."""


def one_line(exc: BaseException, typed: bool = False) -> str:
    """An exception's whole message on one line (white space folded), after its type's name
    with ``typed``; its type's name alone when it has no message. For causes recorded in
    tables and notes (a failed run's error, a metric that cannot be imported)."""
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    if not text:
        return name
    return f"{name}: {text}" if typed else text


def first_line(exc: BaseException) -> str:
    """An exception's message cut to one line (its type's name if it has none), for the
    one-line errors of the command line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
