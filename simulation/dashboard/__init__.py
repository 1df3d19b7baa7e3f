"""The teaching dashboard: ``snowball dashboard``, a Solara page around Mesa's controller.

Layout, as in Mesa's examples (model / agents / app):

- :mod:`simulation.dashboard.session` -- the controls, their validation and the Mesa model the
  page steps (a thin wrapper around :class:`~simulation.model.SnowballModel` that records the
  focal room's history). Needs only the core package.
- :mod:`simulation.dashboard.charts` -- the matplotlib figures and their captions. Needs only
  matplotlib.
- :mod:`simulation.dashboard.bounds` -- every control's bounds and choices, and the check
  every value from the page passes. Needs only the core package.
- :mod:`simulation.dashboard.app` -- the page. Needs the ``dashboard`` extra.
- :mod:`simulation.dashboard.server` -- checks the address and the offline front-end files,
  then runs solara's app under uvicorn behind an Origin check.

The model never imports this package; importing it does not import solara.
"""

INSTALL_HINT = 'pip install -e ".[dashboard]"'
"""How to install the dashboard's extra dependencies (exact pins in pyproject.toml)."""

REQUIRED_MODULES = ("solara", "ipyvuetify", "ipywidgets", "reacton", "networkx", "mesa")
"""Modules the web app imports at run time."""


def missing_modules() -> list[str]:
    """Names in :data:`REQUIRED_MODULES` that cannot be imported here (none when the
    ``dashboard`` extra is installed)."""
    import importlib.util

    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
