"""Shared fixtures: small scenarios that run in a fraction of a second."""

import numpy as np
import pytest

from simulation.behaviour import FREE, Impressions
from simulation.config import load_scenario

SMALL = {
    "population.viewers": 3000,
    "days": 2,
    "streams.field.count": 24,
    "streams.field_ads.count": 6,
    "streams.alliance.count": 6,
    "streams.top_kol.count": 2,
    "streams.top_kol.days_per_week": 7,
}


def scripted(viewers, stream, session=None) -> Impressions:
    """Free impressions of one stream, one per viewer, each in its own session unless
    ``session`` is given."""
    n = len(viewers)
    return Impressions(
        np.asarray(viewers, np.int64),
        np.full(n, stream, np.int64),
        np.full(n, FREE, np.int8),
        np.arange(n) if session is None else np.asarray(session),
        np.zeros(n, np.float32),
        np.full(n, -1, np.int64),
        np.zeros(n),
    )


def small(name: str = "v1", **overrides):
    """The named scenario shrunk to a few thousand viewers and ~40 streams."""
    return load_scenario(name, {**SMALL, **overrides})


@pytest.fixture
def small_default():
    return small("v1")


@pytest.fixture
def small_funnel():
    return small("funnel_v1")
