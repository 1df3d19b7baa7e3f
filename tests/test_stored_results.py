"""The committed study results agree with the code that analyses them.

Each ``results/<study>/`` folder holds the raw run outputs and what the analysis made of them
(summary.csv, REPORT.md, the verdict and finding in manifest.json, the README gallery). When
the analysis code changes, the stored folders must be refreshed (``snowball experiment NAME
--reanalyse``, or a rerun when the runs themselves change); these tests fail until they are.
They read the stored raw outputs only: no simulation runs.
"""

import io
import json
from importlib.metadata import version

import pandas as pd
import pytest

from experiments import STUDY_NAMES
from experiments._gallery import GALLERY_END, GALLERY_START, gallery_lines
from experiments._outputs import RESULTS_DIR
from experiments._study import load_study, reanalyse

STORED = [n for n in STUDY_NAMES if (RESULTS_DIR / n / "manifest.json").exists()]


def manifest(name: str) -> dict:
    return json.loads((RESULTS_DIR / name / "manifest.json").read_text())


def test_every_study_has_stored_results():
    assert STORED == list(STUDY_NAMES)


@pytest.mark.parametrize("name", STORED)
def test_stored_results_are_full_size_with_the_plans_runs(name):
    man = manifest(name)
    assert man["size"] == "full"
    plan = load_study(name).plan("full", man["replicates"])
    runs = pd.read_csv(RESULTS_DIR / name / "runs.csv")
    assert man["runs"] == len(runs) == plan.n_runs
    assert sorted(runs["arm"].unique()) == sorted(a.name for a in plan.arms)


@pytest.mark.parametrize("name", STORED)
def test_stored_summary_report_and_finding_match_a_reanalysis(name):
    folder = RESULTS_DIR / name
    analysis = reanalyse(folder)
    fresh = pd.read_csv(io.StringIO(analysis.summary().to_csv(index=False, float_format="%.6g")))
    stored = pd.read_csv(folder / "summary.csv")
    man = manifest(name)
    if man["versions"].get("scipy") != version("scipy"):
        # scipy has changed how wilcoxon picks its method between releases; the t-tests,
        # intervals and verdicts must still agree.
        fresh, stored = (f.filter(regex="^(?!wilcoxon)") for f in (fresh, stored))
    pd.testing.assert_frame_equal(fresh, stored)
    assert (man["verdict"], man["finding"]) == (analysis.verdict, analysis.finding)
    assert " ".join(analysis.report) in (folder / "REPORT.md").read_text()


def test_readme_gallery_shows_the_stored_findings():
    readme = (RESULTS_DIR.parent / "README.md").read_text()
    block = readme.split(GALLERY_START, 1)[1].split(GALLERY_END, 1)[0]
    assert block.strip() == "\n".join(gallery_lines(RESULTS_DIR, "results/")).strip()


def test_committed_output_folders_hold_only_their_own_files():
    """So that rerunning a study, the validation or the demo run replaces its folder rather
    than being refused (results.check_output_folder refuses foreign files)."""
    from simulation.results import PROJECT_ROOT, own_files, read_manifest

    folders = [m.parent for m in (PROJECT_ROOT / "results").rglob("manifest.json")]
    folders = [f for f in folders if (read_manifest(f) or {}).get("kind")]
    assert len(folders) >= len(STUDY_NAMES) + 1
    for folder in folders:
        extra = {e.name for e in folder.iterdir()} - own_files(read_manifest(folder))
        assert not extra, (folder, extra)
