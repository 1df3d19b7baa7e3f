"""Errors that end a command with one line on stderr and exit status 2 (see cli.main)."""


class UsageError(Exception):
    """Bad input that is not a scenario value: a path, a flag combination, an address."""


class OutputFolderError(UsageError):
    """An output folder that cannot, or must not, be written."""
