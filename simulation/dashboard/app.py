"""The SolaraViz page of ``snowball dashboard``.

Served by ``solara run simulation.dashboard.app`` (see :mod:`simulation.dashboard.server`).
Mesa's SolaraViz supplies the app bar, the Play / Step / Reset controller, the run-size
parameters (viewers, days, seed: Mesa's "Model Parameters" card) and the grid of charts. The
page adds a "Scenario and focal room" card whose controls follow the chosen preset, a status
line with the focal room's numbers, and a caption under every chart.

Every session (browser tab) gets its own controls and its own model (built with
``solara.use_memo`` inside :func:`Page`, never at module level, so tabs do not share a model).
Changes apply when Reset is pressed, which rebuilds the model from the controls.
"""

import io
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import reacton.ipywidgets as rw
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from simulation.config import ConfigError
from simulation.dashboard.charts import CAPTIONS, FIGURES, readout, signature
from simulation.dashboard.session import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_VIEWERS,
    POLICY_LABELS,
    Controls,
    DashboardModel,
    controls_from_preset,
    preset_names,
    problems,
    status_line,
)
from simulation.distribution import POLICIES
from simulation.strategies import STRATEGIES

TITLE = "snowball: does free traffic follow paid traffic?"
RENDER_INTERVAL = 9
"""Ticks per frame when playing (and per click of Step) at start: 9 ticks of 10 minutes."""
PLAY_INTERVAL_MS = 100

RUN_PARAMETERS: dict[str, Any] = {
    "viewers": {
        "type": "SliderInt",
        "value": DEFAULT_VIEWERS,
        "label": "Viewers",
        "min": 2_000,
        "max": 50_000,
        "step": 1_000,
    },
    "days": {
        "type": "SliderInt",
        "value": DEFAULT_DAYS,
        "label": "Days to simulate",
        "min": 1,
        "max": 30,
        "step": 1,
    },
    "seed": {
        "type": "SliderInt",
        "value": DEFAULT_SEED,
        "label": "Seed",
        "min": 0,
        "max": 100,
        "step": 1,
    },
}
"""Mesa's "Model Parameters" card: the size of the run, independent of the preset."""

CSS = """
.snowball-caption { font-size: 13px; line-height: 1.35; color: #333; padding: 0 8px; }
.snowball-readout { font-size: 12px; font-family: monospace; color: #222; padding: 0 8px; }
.snowball-status { font-family: monospace; font-size: 13px; }
.snowball-chart img { max-width: 100%; height: auto; }
.snowball-hint { font-size: 12px; color: #555; }
/* Mesa's sliders (play/render interval, viewers, days, seed) show their value at all times;
   the page's own sliders carry their value in the label instead */
.v-slider__thumb-container--show-label .v-slider__thumb-label-container {
  display: block !important;
}
.v-slider__thumb-container--show-label .v-slider__thumb-label {
  bottom: auto !important; top: 0; transform: translate(-50%, -50%) !important;
  width: auto !important; min-width: 24px; height: 18px !important; padding: 0 5px;
  border-radius: 9px !important; font-size: 11px;
}
.v-slider__thumb-container--show-label .v-slider__thumb-label > * { transform: none !important; }
/* room for solara's fixed footer link below the last chart */
.v-main__wrap { padding-bottom: 48px; }
/* sidebar order: Mesa's Controls (play, step, reset) first, then the scenario card, then
   Mesa's run parameters and step counter */
.v-navigation-drawer__content > div { display: flex; flex-direction: column; }
.v-navigation-drawer__content > div > .v-sheet.d-flex { display: contents !important; }
.v-navigation-drawer__content > div > .v-sheet.d-flex > .v-card:nth-child(1) { order: 1; }
.snowball-scenario-card { order: 2; }
.v-navigation-drawer__content > div > .v-sheet.d-flex > .v-card:nth-child(2) { order: 3; }
.v-navigation-drawer__content > div > .v-sheet.d-flex > .v-card:nth-child(3) { order: 4; }
"""


def initial_controls() -> tuple[Controls, str]:
    """The controls of the default preset (plain defaults if it cannot be read)."""
    try:
        return controls_from_preset("default")
    except ConfigError:
        return Controls(), ""


def _png(name: str, model: DashboardModel) -> bytes:
    buf = io.BytesIO()
    try:
        FIGURES[name](model).savefig(buf, format="png")
    except Exception as exc:  # a chart must never take the page down
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.6, 1.0))
        fig.text(0.02, 0.5, f"This chart failed: {exc}", color="#B00020", va="center")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


@solara.component
def Chart(model: DashboardModel, name: str):
    """One chart, the numbers behind it and its caption. The image is redrawn only when
    what it shows has changed (see :func:`~simulation.dashboard.charts.signature`)."""
    update_counter.get()
    png = solara.use_memo(lambda: _png(name, model), dependencies=[signature(name, model)])
    with solara.Column(gap="2px", classes=["snowball-chart", f"snowball-chart-{name}"]):
        rw.Image(value=png, format="png")
        solara.Text(readout(name, model), classes=["snowball-readout", f"snowball-readout-{name}"])
        solara.Text(CAPTIONS[name], classes=["snowball-caption"])


def chart_component(name: str) -> Callable[[DashboardModel], Any]:
    """A plain function for Mesa's component list (Mesa re-renders it on every step)."""

    def component(model: DashboardModel):
        return Chart(model, name)

    component.__name__ = f"{name.title()}Chart"
    return component


COMPONENTS = [(chart_component(name), 0) for name in FIGURES]


@solara.component
def Status(model: solara.Reactive[DashboardModel], controls: solara.Reactive[Controls]):
    """Top of the page: what is running, the focal room's numbers, and any message."""
    update_counter.get()
    m = model.value
    with solara.Column(gap="6px", style={"padding": "8px 16px 0 16px"}):
        if m.sim is not None:
            sc = m.scenario
            solara.Text(
                f'Preset "{sc.name}" · {POLICY_LABELS.get(sc.policy, sc.policy)} · '
                f"{sc.population.viewers:,} viewers · {m.sim.table.n} rooms · seed "
                f"{m.run_seed} · one tick = {sc.tick_minutes} minutes",
                classes=["snowball-run"],
            )
            solara.Text(status_line(m), classes=["snowball-status"])
            if m.finished:
                solara.Success(
                    f"The run has reached its last day ({m.days}). Press Reset to run again, "
                    "or raise Days to simulate and press Reset.",
                    dense=True,
                )
        else:
            why = m.problems or [m.error or "unknown reason"]
            for text in why:
                solara.Error(
                    f"The model was not built: {text} Then press Reset.",
                    classes=["snowball-message"],
                    dense=True,
                )
        if controls.value != m.controls:
            solara.Info(
                "You changed the scenario or room controls: press Reset to apply them.",
                classes=["snowball-pending"],
                dense=True,
            )


def _slider_float(
    label: str,
    value: float,
    lo: float,
    hi: float,
    step: float,
    on_value: Callable[[float], None],
    fmt: str = "{:.3g}",
) -> None:
    solara.SliderFloat(
        f"{label}: {fmt.format(value)}",
        value=value,
        min=lo,
        max=hi,
        step=step,
        on_value=lambda v: on_value(round(float(v), 6)),
        thumb_label=False,
    )


@solara.component
def ScenarioCard(controls: solara.Reactive[Controls], description: solara.Reactive[str]):
    """The preset, the policy, the focal room's traits, mix and ads, and promotions."""
    c = controls.value
    load_error = solara.use_reactive("")

    def set_(**values: Any) -> None:
        controls.set(replace(controls.value, **values))

    def choose_preset(name: str) -> None:
        try:
            new, desc = controls_from_preset(name, keep=controls.value)
        except ConfigError as exc:
            load_error.set(str(exc))
            set_(scenario=name)
            return
        load_error.set("")
        description.set(desc)
        controls.set(new)

    labels = {POLICY_LABELS.get(key, key): key for key in POLICIES}
    with solara.Card("Scenario and focal room", classes=["snowball-scenario-card"]):
        solara.Select(
            "Scenario preset", values=preset_names(), value=c.scenario, on_value=choose_preset
        )
        if description.value:
            solara.Text(description.value, classes=["snowball-hint"])
        if load_error.value:
            solara.Error(load_error.value, dense=True)
        solara.Select(
            "Distribution policy",
            values=list(labels),
            value=POLICY_LABELS.get(c.policy, c.policy),
            on_value=lambda label: set_(policy=labels[label]),
        )
        solara.Text("The focal room's hidden traits", classes=["snowball-hint"])
        _slider_float("Hook (entry rate)", c.hook, 0.02, 0.25, 0.01, lambda v: set_(hook=v))
        _slider_float("Retention (dwell)", c.retention, 0.3, 2.5, 0.1, lambda v: set_(retention=v))
        _slider_float(
            "Persuasion (conversion)",
            c.persuasion,
            0.01,
            0.15,
            0.005,
            lambda v: set_(persuasion=v),
        )
        solara.Text("Product mix (share of air time)", classes=["snowball-hint"])
        _slider_float(
            "Traffic drivers",
            c.driver_share,
            0.0,
            1.0,
            0.05,
            lambda v: set_(driver_share=v),
            "{:.0%}",
        )
        _slider_float(
            "Welfare items",
            c.welfare_share,
            0.0,
            1.0,
            0.05,
            lambda v: set_(welfare_share=v),
            "{:.0%}",
        )
        solara.Text(
            f"Profit items get the rest: {max(c.profit_share, 0):.0%}",
            classes=["snowball-hint"],
        )
        solara.Select(
            "Paid-traffic strategy",
            values=list(STRATEGIES),
            value=c.strategy,
            on_value=lambda v: set_(strategy=v),
        )
        if c.strategy in STRATEGIES:
            solara.Text(STRATEGIES[c.strategy].description, classes=["snowball-hint"])
        solara.SliderInt(
            f"Daily ad budget: {c.daily_budget:,.0f} yuan",
            value=round(c.daily_budget),
            min=0,
            max=5000,
            step=50,
            on_value=lambda v: set_(daily_budget=float(v)),
            thumb_label=False,
        )
        solara.Checkbox(
            label="Platform promotion (a campaign day)",
            value=c.promotion,
            on_value=lambda v: set_(promotion=bool(v)),
        )
        if c.promotion:
            solara.SliderInt(
                f"Promotion on day {c.promotion_day}",
                value=c.promotion_day,
                min=1,
                max=30,
                on_value=lambda v: set_(promotion_day=int(v)),
                thumb_label=False,
            )
        for text in problems(c):
            solara.Warning(text, dense=True, classes=["snowball-problem"])
        solara.Text(
            "Changes apply when you press Reset. Step and each frame of Play advance "
            '"Render Interval" ticks (a tick is 10 minutes in the shipped presets).',
            classes=["snowball-hint"],
        )


@solara.component
def Page():
    """One session: its own controls, its own model, Mesa's SolaraViz around them."""
    first, first_description = solara.use_memo(initial_controls, dependencies=[])
    controls = solara.use_reactive(first)
    description = solara.use_reactive(first_description)
    initial = solara.use_memo(
        lambda: DashboardModel(
            controls=first, viewers=DEFAULT_VIEWERS, days=DEFAULT_DAYS, seed=DEFAULT_SEED
        ),
        dependencies=[],
    )
    model = solara.use_reactive(initial)
    solara.Style(CSS)
    with solara.Sidebar():
        ScenarioCard(controls, description)
    Status(model, controls)
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params={"source": lambda: controls.value, **RUN_PARAMETERS},
        name=TITLE,
        play_interval=PLAY_INTERVAL_MS,
        render_interval=RENDER_INTERVAL,
    )
