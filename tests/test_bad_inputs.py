"""Every bad input of every command, run as a user would, against the project's rule: exit
status 2, exactly one non-empty line on stderr, no traceback, nothing written.

The cases come from the modules of ``tests/bad_input_cases/`` (each a list ``CASES`` of
``(case_id, setup)``; ``setup(tmp)`` makes the files a case needs and returns the arguments
after ``snowball``). Each case runs ``python -m simulation ARGS`` with the working folder and
HOME in a fresh temporary folder, whose whole tree (paths, sizes, modification times) must be
the same afterwards. Every case fails before any simulation starts, so each takes about the
time Python needs to start.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bad_input_cases import all_cases

CASES = all_cases()


def tree(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under ``root`` (links not followed): kind, size and mtime in ns."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            out[str(path.relative_to(root))] = (kind, st.st_size, st.st_mtime_ns)
    st = root.stat()
    out["."] = ("dir", st.st_size, st.st_mtime_ns)
    return out


def test_there_are_cases_from_every_command():
    """At least 60 bad inputs over all commands (issue 19), and the cases of the command line
    (run, experiment, validate, dashboard, ...) and of sweeps both present."""
    from bad_input_cases import cli, sweep

    assert len(CASES) >= 60
    assert len(cli.CASES) >= 45 and len(sweep.CASES) >= 20


@pytest.mark.parametrize("setup", [s for _, s in CASES], ids=[i for i, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, setup):
    work = tmp_path / "work"
    home = work / "home"
    home.mkdir(parents=True)
    argv = setup(work)
    before = tree(work)
    env = {**os.environ, "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "simulation", *argv],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert tree(work) == before
