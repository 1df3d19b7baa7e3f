"""Bad inputs of the ``snowball`` command line, one module per part of it.

Each module defines ``CASES``: a list of ``(case_id, setup)``, where ``setup(tmp)`` creates
the files the case needs under the folder ``tmp`` and returns the arguments after
``snowball``. ``tests/test_bad_inputs.py`` runs every case in a real process and checks
the project's rule for bad input: exit status 2, one line on stderr, no traceback, nothing
written. A module added here is collected without further registration.
"""

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

Setup = Callable[[Path], list[str]]
Case = tuple[str, Setup]


def all_cases() -> list[Case]:
    """The ``CASES`` of every module of this package, in module-name order; a case id must
    be unique across them."""
    cases: list[Case] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases += list(getattr(module, "CASES", []))
    ids = [case_id for case_id, _ in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"bad-input case ids used twice: {', '.join(duplicates)}")
    return cases
