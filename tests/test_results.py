"""Run metadata: the commit recorded in manifests."""

import shutil
import subprocess

import pytest

from simulation import results

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    git("config", "commit.gpgsign", "false")
    (tmp_path / "model.py").write_text("x = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "REPORT.md").write_text("old\n")
    (tmp_path / "README.md").write_text("gallery\n")
    git("add", ".")
    git("commit", "-q", "-m", "init")
    monkeypatch.setattr(results, "PROJECT_ROOT", tmp_path)
    return tmp_path


def test_commit_is_clean_while_outputs_under_results_change(repo):
    (repo / "results" / "REPORT.md").write_text("new\n")
    (repo / "README.md").write_text("new gallery\n")
    commit = results.commit_label(results.git_info())
    assert commit is not None and len(commit) == 40


def test_commit_is_dirty_when_code_changes(repo):
    (repo / "model.py").write_text("x = 2\n")
    assert results.commit_label(results.git_info()).endswith("-dirty")
