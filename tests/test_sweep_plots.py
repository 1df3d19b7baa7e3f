"""The figures of ``snowball analyze`` (issue 19): the phase diagram's legend lists only the
contours drawn, counts are pluralised, cell labels sit above the contours, and importing the
plotting module leaves matplotlib's backend alone."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.sweep.analysis import PhaseSurface, SweepData
from simulation.sweep.plots import LABEL_ZORDER, phase_diagram, phase_figure

X, Y = "streams.focal.persuasion", "streams.focal.campaign.daily_budget"
ROOT = Path(__file__).resolve().parent.parent


def data() -> SweepData:
    return SweepData(
        root=Path("."),
        name="t",
        runs=pd.DataFrame(),
        design=pd.DataFrame(),
        parameters=[{"key": X}, {"key": Y}],
        design_kind="grid",
        design_opts={},
        replicates=1,
        root_seed=0,
        analysis={},
        metrics=["took_off"],
        complete=True,
        n_runs_expected=9,
    )


def surface(mean, low, high, n) -> PhaseSurface:
    mean, low, high, n = (np.asarray(a, dtype=float) for a in (mean, low, high, n))
    return PhaseSurface(
        x_key=X,
        y_key=Y,
        metric="took_off",
        is_bool=True,
        x=np.array([0.02, 0.06, 0.1]),
        y=np.array([0.0, 1000.0, 4000.0]),
        mean=mean,
        low=low,
        high=high,
        n=n,
    )


MEAN = [[0.1, 0.3, 0.6], [0.2, 0.5, 0.8], [0.4, 0.7, 0.9]]


def legend_texts(fig) -> list[str]:
    legend = fig.axes[0].get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def contours(fig) -> list:
    from matplotlib.contour import ContourSet

    return [c for c in fig.axes[0].get_children() if isinstance(c, ContourSet)]


def test_the_legend_lists_only_the_contours_drawn():
    ones = np.ones((3, 3))
    only_mean = surface(MEAN, 0 * ones, ones, ones)  # the bounds never cross 0.5
    fig = phase_figure(only_mean, data(), 0.5)
    assert legend_texts(fig) == ["mean = 0.5"] and len(contours(fig)) == 1
    both = surface(MEAN, np.array(MEAN) - 0.15, np.array(MEAN) + 0.15, 4 * ones)
    fig = phase_figure(both, data(), 0.5)
    assert legend_texts(fig) == ["mean = 0.5", "95% interval bound = 0.5"]
    assert len(contours(fig)) == 3
    fig = phase_figure(only_mean, data(), 0.95)  # nothing crosses
    assert legend_texts(fig) == [] and not contours(fig)
    assert "stay on one side of 0.95" in " ".join(t.get_text() for t in fig.texts)


@pytest.mark.parametrize(
    "n,averaged,expected",
    [(1, False, "mean of 1 run"), (1, True, "mean of 1 run, averaged"), (3, False, "of 3 runs")],
)
def test_run_counts_are_pluralised(n, averaged, expected):
    s = surface(MEAN, MEAN, MEAN, n * np.ones((3, 3)))
    s.averaged_over = ["streams.focal.hook"] if averaged else []
    title = phase_figure(s, data(), 0.5).axes[0].get_title()
    assert expected in title and "1 runs" not in title, title


def test_cell_labels_sit_above_the_contours():
    both = surface(MEAN, np.array(MEAN) - 0.15, np.array(MEAN) + 0.15, 4 * np.ones((3, 3)))
    fig = phase_figure(both, data(), 0.5)
    labels = [t for t in fig.axes[0].texts if t.get_text()[:1].isdigit()]
    assert len(labels) == 9
    top = max(c.get_zorder() for c in contours(fig))
    for text in labels:
        assert text.get_zorder() == LABEL_ZORDER > top
        patch = text.get_bbox_patch()
        assert patch is not None and patch.get_facecolor()[3] == 1.0  # opaque: hides a line


def test_importing_and_plotting_leave_the_backend_alone(tmp_path):
    code = (
        "import matplotlib; matplotlib.use('svg');"
        "import simulation.sweep.plots as p, tests.test_sweep_plots as t, numpy as np;"
        "s = t.surface(t.MEAN, t.MEAN, t.MEAN, np.ones((3, 3)));"
        f"out = __import__('pathlib').Path({str(tmp_path)!r}) / 'p.png';"
        "p.phase_diagram(s, t.data(), out, 0.5);"
        "print(matplotlib.get_backend())"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert res.stdout.strip() == "svg"
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_phase_diagram_writes_a_png(tmp_path):
    phase_diagram(surface(MEAN, MEAN, MEAN, np.ones((3, 3))), data(), tmp_path / "p.png", 0.5)
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
