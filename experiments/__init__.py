"""The studies: the source's claims (DESIGN.md section 6) as reproducible experiments.

Each study is one module here, registered by name in :data:`STUDIES` (which gives its
:class:`~experiments._common.Study`: ``plan``, ``measure``, ``analyse``, ``run``); run one with
``snowball experiment NAME`` or all with ``snowball experiment --all``. Every module's
docstring states its question, scenario(s), variable under study, metric, statistical test
and the pattern the source material predicts; :mod:`experiments._common` holds what they
share (arms, common random numbers, parallel runs, statistics, figures, outputs).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from experiments._common import Study

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
    """Study name -> :class:`experiments._common.Study`, its module imported on first use."""

    def __getitem__(self, name: str) -> Study:
        if name not in STUDY_NAMES:
            raise KeyError(name)
        from experiments._common import load_study

        return load_study(name)

    def __iter__(self) -> Iterator[str]:
        return iter(STUDY_NAMES)

    def __len__(self) -> int:
        return len(STUDY_NAMES)


STUDIES: Mapping[str, Study] = _Registry()

__all__ = ["STUDIES", "STUDY_NAMES"]
