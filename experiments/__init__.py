"""The studies: the source's claims (DESIGN.md section 6) as reproducible experiments.

Each study is one module here, registered by name in :data:`STUDIES` (which gives its
:class:`~experiments._study.Study`: ``plan``, ``measure``, ``analyse``, ``run``); run one with
``snowball experiment NAME`` or all with ``snowball experiment --all``. Every module's
docstring states its question, scenario(s), variable under study, metric, statistical test
and the pattern the source material predicts. What they share is split by job:

_plan      arms, sizes, common-random-number seeds and each arm's scenario
_measure   what one finished run contributes (the per-day and per-run tables)
_execute   running every (arm, replicate) through the sweep engine's loop and executors
_work      the work folder: each completed run kept as it comes back, for --resume
_stats     intervals, the tests of the claims, Holm's adjustment, the verdict
_report    the Analysis a study returns and the words of its REPORT.md
_figures   panels, means with 95% intervals (clipped to the metric's range), titles
_outputs   the output folder: written atomically, read back
_study     the study contract (plan, measure, analyse), run_study, reanalyse, refresh
_gallery   the gallery of stored findings in results/GALLERY.md and the README
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from experiments._study import Study

STUDY_NAMES: tuple[str, ...] = (
    "snowball_vs_funnel",
    "paid_leverage",
    "paid_strategies",
    "fan_accumulation",
    "review_quality",
    "product_mix",
    "content_cadence",
    "inequality",
    "fact_portfolio",
    "exploration",
)


class _Registry(Mapping[str, "Study"]):
    """Study name -> :class:`experiments._study.Study`, its module imported on first use."""

    def __getitem__(self, name: str) -> Study:
        if name not in STUDY_NAMES:
            raise KeyError(name)
        from experiments._study import load_study

        return load_study(name)

    def __iter__(self) -> Iterator[str]:
        return iter(STUDY_NAMES)

    def __len__(self) -> int:
        return len(STUDY_NAMES)


STUDIES: Mapping[str, Study] = _Registry()

__all__ = ["STUDIES", "STUDY_NAMES"]
