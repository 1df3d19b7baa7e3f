"""Where snowball's package data lives and where its outputs go.

Two rules, the same in the project's clone and in an installed wheel:

* **Package data** (the named scenarios, the validation scenarios, the example sweep specs)
  is read from the installed ``experiments`` package with :mod:`importlib.resources`: the
  files ``experiments/scenarios/*.toml``, ``experiments/validation/*.toml`` and
  ``experiments/sweeps/*.toml`` ship in the wheel as package data. Nothing is ever written
  there.
* **Outputs** go under ``results/`` in the *current* folder (:data:`RESULTS`, a relative
  path, resolved when a command writes) unless ``--out`` says otherwise. Run from the clone's
  root, that is the project's own ``results/`` folder.

:data:`SOURCE_ROOT` is the project's clone when the code runs from one (an editable install
or ``python -m simulation`` in the clone); it is None for an installed wheel. Only the commit
lookup of the manifests uses it, so that an installed copy never reports the commit of some
unrelated repository it happens to sit in.
"""

from importlib import resources
from pathlib import Path

DATA_PACKAGE = "experiments"
"""The importable package whose subfolders hold the package data."""

RESULTS = Path("results")
"""Default parent of every output folder: ``./results`` of the folder a command runs in."""


def package_data(folder: str) -> Path:
    """The folder ``experiments/<folder>`` of the installed package (``"scenarios"``,
    ``"validation"`` or ``"sweeps"``), as a path on disk.

    Raises
    ------
    RuntimeError
        When the package is not installed as plain files (imported from a zip archive): the
        scenario files must be readable with ``open`` and listable with ``glob``.
    """
    where = resources.files(DATA_PACKAGE).joinpath(folder)
    if not isinstance(where, Path):
        raise RuntimeError(
            f"snowball's package data {DATA_PACKAGE}/{folder} is not on disk ({where}); "
            "install snowball-sim as files (pip install), not as a zip archive"
        )
    return where


def _source_root() -> Path | None:
    """The clone this code runs from: the folder above ``simulation/`` when it holds the
    project's pyproject.toml and a ``.git`` (a folder, or a file in a git worktree)."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / ".git").exists():
        return root
    return None


SOURCE_ROOT: Path | None = _source_root()
"""The project's clone when running from one, else None (an installed wheel)."""
