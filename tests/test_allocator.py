"""The malloc settings applied by the command-line entry points (simulation/allocator.py)."""

import sys

import pytest

from simulation import allocator, cli


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_accepts_the_settings():
    assert allocator.tune() is True
    assert allocator.tune() is True  # once per process; repeated calls are harmless


def test_the_command_tunes_before_parsing(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(allocator, "tune", lambda: calls.append(1) or True)
    assert cli.main([]) == 2  # no command: help, exit status 2
    assert calls == [1]
    assert "usage" in capsys.readouterr().out
