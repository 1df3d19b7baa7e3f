"""Shared fixtures: small scenarios that run in a fraction of a second."""

import pytest

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


def small(name: str = "default", **overrides):
    """The named scenario shrunk to a few thousand viewers and ~40 streams."""
    return load_scenario(name, {**SMALL, **overrides})


@pytest.fixture
def small_default():
    return small("default")


@pytest.fixture
def small_funnel():
    return small("funnel")
