"""The malloc settings applied by the command-line entry points (simulation/allocator.py)."""

import pytest

from simulation import allocator, cli


@pytest.mark.skipif(not allocator.glibc(), reason="glibc's mallopt")
def test_glibc_accepts_the_settings():
    assert allocator.tune() is True
    assert allocator.tune() is True  # once per process; repeated calls are harmless


def test_model_commands_tune_and_the_dashboard_does_not(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(allocator, "tune", lambda: calls.append(1) or True)
    assert cli.main([]) == 2  # no command: help, nothing tuned
    assert calls == []
    assert cli.main(["run", "no-such-scenario"]) == 2  # tuned, then the bad input
    assert calls == [1]
    assert cli.main(["dashboard", "--port", "70000"]) == 2
    assert calls == [1]
    assert "error" in capsys.readouterr().err
