"""The ``snowball`` command line.

Each subcommand lives in a module with ``register(subparsers)``, which adds its parser and
sets ``func``; :data:`COMMAND_MODULES` lists them. Bad input of any kind (a scenario value, a
file, a flag) ends in one line on stderr and exit status 2, never a traceback.
"""

import argparse
import contextlib
import importlib
import os
import sys

from simulation.config import ConfigError
from simulation.errors import UsageError

__all__ = ["UsageError", "build_parser", "main"]

COMMAND_MODULES = [
    "simulation.commands.run",
    "simulation.commands.sweep",
    "simulation.commands.experiment",
    "simulation.commands.dashboard",
    "simulation.commands.validate",
]


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors on one line (the flag, the value, where to look) instead of
    the usage block and the error: the same form as every other bad input."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from simulation import __version__

    parser = OneLineParser(
        prog="snowball",
        description="Agent-based simulator of the recommendation feedback loop in interest "
        "e-commerce.",
    )
    parser.add_argument("--version", action="version", version=f"snowball {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    parser.set_defaults(commands=sub.choices)  # name -> the command's own parser
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a piped stdout is written here, not at exit: inside the try
        return code
    except BrokenPipeError:
        # The reader went away (``snowball scenarios | head -1``): stop quietly, like other
        # command-line tools, and keep Python from reporting the pipe again at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a tool the signal ended


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the command's own parser, so its --help is the one named
        command = getattr(args, "command", None)
        where = args.commands.get(command, parser) if command else parser
        where.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.command != "dashboard":  # a long-lived server keeps glibc's defaults
        from simulation import allocator

        allocator.tune()
    try:
        return int(args.func(args) or 0)
    except (ConfigError, UsageError) as exc:
        print(f"snowball: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        # The estimate (simulation.footprint) let the run start, but the machine ran short
        # (other processes took memory meanwhile): one line, and nothing was written.
        print(
            "snowball: error: ran out of memory; nothing was written (free memory, or make "
            "the run smaller: fewer viewers, streams or --jobs)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("snowball: interrupted; nothing was written for the unfinished work", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
