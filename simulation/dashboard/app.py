"""The page of ``snowball dashboard``.

Served by :mod:`simulation.dashboard.server`. It is built from Mesa's visualisation parts:
Mesa's model controller supplies Reset / Play / Step, and the page adds its own cards around
it (the controller's intervals, the scenario and focal room, the run size, the tick counter),
a status line with the focal room's numbers, and the grid of charts with a caption under
each.

Every control is drawn from :mod:`simulation.dashboard.bounds`, and every value the browser
sends back goes through :func:`accept`, which refuses what those tables do not allow (the
page then says so) before anything else sees it. Mesa's own parameter and interval sliders
are not used, because they pass the browser's value on unchecked.

Every session (browser tab) gets its own controls and its own model (built with
``solara.use_memo`` inside :func:`Page`, never at module level, so tabs do not share a model).
Changes apply when Reset is pressed, which rebuilds the model from the controls. The model is
stopped when its page disconnects (:func:`page_connected`).
"""

import io
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import reacton.ipywidgets as rw
import solara
from mesa.visualization.solara_viz import ModelController, make_initial_grid_layout
from mesa.visualization.utils import update_counter
from solara.server import kernel_context

from simulation.config import ConfigError
from simulation.dashboard.bounds import BOUNDS, CHOICES, ControlError, checked
from simulation.dashboard.charts import FIGURES, caption, readout, signature
from simulation.dashboard.session import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_VIEWERS,
    POLICY_LABELS,
    Controls,
    DashboardModel,
    controls_from_preset,
    loop_gains_lines,
    problems,
    status_line,
)
from simulation.strategies import STRATEGIES

TITLE = "snowball: does free traffic follow paid traffic?"
CHARTS_TAB = "Focal room and platform"
RENDER_INTERVAL = 9
"""Ticks per frame when playing (and per click of Step) at start: 9 ticks of 10 minutes."""
PLAY_INTERVAL_MS = 100

CSS = """
.snowball-caption { font-size: 13px; line-height: 1.35; color: #333; padding: 0 8px; }
.snowball-readout { font-size: 12px; font-family: monospace; color: #222; padding: 0 8px; }
.snowball-status { font-family: monospace; font-size: 13px; }
.snowball-chart img { max-width: 100%; height: auto; }
.snowball-hint { font-size: 12px; color: #555; }
.snowball-loop-gains { display: block; font-size: 13px; line-height: 1.35; margin-bottom: 4px; }
/* the page's sliders show their value at all times */
.v-slider__thumb-container--show-label .v-slider__thumb-label-container {
  display: block !important;
}
.v-slider__thumb-container--show-label .v-slider__thumb-label {
  bottom: auto !important; top: 0; transform: translate(-50%, -50%) !important;
  width: auto !important; min-width: 24px; height: 18px !important; padding: 0 5px;
  border-radius: 9px !important; font-size: 11px;
}
.v-slider__thumb-container--show-label .v-slider__thumb-label > * { transform: none !important; }
.v-main__wrap { padding-bottom: 24px; }
"""


def accept(name: str, on_value: Callable[[Any], None], refused: solara.Reactive[str]):
    """A widget's on-change handler for control ``name``: the value goes through
    :func:`~simulation.dashboard.bounds.checked` and only an allowed value reaches
    ``on_value``; a refused one leaves the control as it was and its sentence goes to
    ``refused`` (shown on the page)."""

    def handler(value: Any) -> None:
        try:
            value = checked(name, value)
        except ControlError as exc:
            refused.set(str(exc))
            return
        refused.set("")
        on_value(value)

    return handler


def page_connected() -> Callable[[], bool]:
    """A callable that says whether the current page is still connected to the server
    (False once its websocket has closed or its session has ended); the session's model
    stops at its next tick when it says no."""
    context = weakref.ref(kernel_context.get_current_context())

    def connected() -> bool:
        ctx = context()
        if ctx is None or ctx.closed_event.is_set():
            return False
        return any(s == kernel_context.PageStatus.CONNECTED for s in list(ctx.page_status.values()))

    return connected


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
        solara.Text(caption(name, model), classes=["snowball-caption"])


LOOP_GAINS_HINT = (
    "How strongly each ring of the snowball fed the next so far: conversion lifting free "
    "traffic, fans converting better than strangers, and demand the platform's content "
    "created (docs/MODEL.md, 7.15.5)."
)


@solara.component
def LoopGainsCard(model: DashboardModel):
    """The focal room's loop gains so far, computed on the server
    (:func:`~simulation.dashboard.session.loop_gains_lines`), refreshed once per horse-race
    window."""
    update_counter.get()
    window = model.sim.rerank_ticks if model.sim is not None else 1
    lines = solara.use_memo(
        lambda: loop_gains_lines(model), dependencies=[id(model), model.ticks // window]
    )
    if not lines:
        return
    with solara.Card("Loop gains of the focal room", classes=["snowball-loop-gains-card"]):
        for line in lines:
            solara.Text(line, classes=["snowball-loop-gains"])
        solara.Text(LOOP_GAINS_HINT, classes=["snowball-hint"])


@solara.component
def Charts(model: DashboardModel):
    """The charts in a grid of two columns that students may drag and resize, under one tab
    named for what they show."""
    layout, set_layout = solara.use_state(make_initial_grid_layout(len(FIGURES)))
    with solara.v.Tabs(v_model=0):
        solara.v.Tab(children=[CHARTS_TAB])
    solara.GridDraggable(
        items=[Chart(model, name) for name in FIGURES],
        grid_layout=layout,
        resizable=True,
        draggable=True,
        on_grid_layout=set_layout,
    )


@solara.component
def Status(
    model: solara.Reactive[DashboardModel],
    controls: solara.Reactive[Controls],
    refused: solara.Reactive[str],
):
    """Top of the page: what is running, the focal room's numbers, and any message."""
    update_counter.get()
    m = model.value
    with solara.Column(gap="6px", style={"padding": "8px 16px 0 16px"}):
        if refused.value:
            solara.Error(
                f"A value sent by the page was refused: {refused.value}",
                classes=["snowball-refused"],
                dense=True,
            )
        if m.sim is not None:
            sc = m.config
            solara.Text(
                f'Preset "{sc.name}" · {POLICY_LABELS.get(sc.policy, sc.policy)} · '
                f"{sc.population.viewers:,} viewers · {m.sim.table.n} rooms · seed "
                f"{m.run_seed} · one tick = {sc.tick_minutes} minutes",
                classes=["snowball-run"],
            )
            solara.Text(status_line(m), classes=["snowball-status"])
            if m.stopped is not None:
                solara.Warning(
                    f"This run was stopped ({m.stopped}). Press Reset to start again.",
                    dense=True,
                )
            elif m.finished:
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


def _slider_int(
    name: str,
    label: str,
    value: int,
    on_value: Callable[[Any], None],
    refused: solara.Reactive[str],
    thumb_label: bool = True,
) -> None:
    """A whole-number slider with the bounds of control ``name``."""
    b = BOUNDS[name]
    solara.SliderInt(
        label,
        value=value,
        min=int(b.lo),
        max=int(b.hi),
        step=int(b.step),
        on_value=accept(name, on_value, refused),
        thumb_label=thumb_label,
    )


def _slider_float(
    name: str,
    label: str,
    value: float,
    on_value: Callable[[Any], None],
    refused: solara.Reactive[str],
    fmt: str = "{:.3g}",
) -> None:
    """A slider with the bounds of control ``name``; its value is shown in the label."""
    b = BOUNDS[name]
    solara.SliderFloat(
        f"{label}: {fmt.format(value)}",
        value=value,
        min=b.lo,
        max=b.hi,
        step=b.step,
        on_value=accept(name, lambda v: on_value(round(v, 6)), refused),
        thumb_label=False,
    )


@solara.component
def IntervalsCard(
    play_interval: solara.Reactive[int],
    render_interval: solara.Reactive[int],
    refused: solara.Reactive[str],
):
    """Mesa's controller (Reset, Play / Pause, Step) and how fast Play runs."""
    _slider_int(
        "play_interval", "Play Interval (ms)", play_interval.value, play_interval.set, refused
    )
    _slider_int(
        "render_interval",
        "Render Interval (steps)",
        render_interval.value,
        render_interval.set,
        refused,
    )


@solara.component
def RunCard(parameters: solara.Reactive[dict[str, Any]], refused: solara.Reactive[str]):
    """The size of the run (Mesa's "Model Parameters"), independent of the preset."""

    def set_(name: str) -> Callable[[Any], None]:
        return lambda v: parameters.set({**parameters.value, name: v})

    p = parameters.value
    with solara.Card("Model Parameters"):
        _slider_int("viewers", "Viewers", p["viewers"], set_("viewers"), refused)
        _slider_int("days", "Days to simulate", p["days"], set_("days"), refused)
        _slider_int("seed", "Seed", p["seed"], set_("seed"), refused)


@solara.component
def TickCard(model: DashboardModel):
    """The model's own tick count, the same number as the status line's."""
    update_counter.get()
    total = model.config.n_ticks if model.config is not None else 0
    with solara.Card("Information"):
        solara.Text(f"Tick: {model.ticks} of {total}", classes=["snowball-ticks"])
        solara.Text(
            "Ticks the model has run (a tick is 10 minutes in the shipped presets). A Step "
            "or frame past the last tick runs nothing.",
            classes=["snowball-hint"],
        )


@solara.component
def ScenarioCard(
    controls: solara.Reactive[Controls],
    description: solara.Reactive[str],
    refused: solara.Reactive[str],
):
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

    def on(name: str, apply: Callable[[Any], None] | None = None) -> Callable[[Any], None]:
        return accept(name, apply or (lambda v: set_(**{name: v})), refused)

    labels = {POLICY_LABELS.get(key, key): key for key in CHOICES["policy"]}
    with solara.Card("Scenario and focal room", classes=["snowball-scenario-card"]):
        solara.Select(
            "Scenario preset",
            values=list(CHOICES["scenario"]),
            value=c.scenario,
            on_value=on("scenario", choose_preset),
        )
        if description.value:
            solara.Text(description.value, classes=["snowball-hint"])
        if load_error.value:
            solara.Error(load_error.value, dense=True)
        policy = on("policy")
        solara.Select(
            "Distribution policy",
            values=list(labels),
            value=POLICY_LABELS.get(c.policy, c.policy),
            on_value=lambda label: policy(
                labels.get(label, label) if isinstance(label, str) else label
            ),
        )
        solara.Text("The focal room's hidden traits", classes=["snowball-hint"])
        _slider_float("hook", "Hook (entry rate)", c.hook, lambda v: set_(hook=v), refused)
        _slider_float(
            "retention", "Retention (dwell)", c.retention, lambda v: set_(retention=v), refused
        )
        _slider_float(
            "persuasion",
            "Persuasion (conversion)",
            c.persuasion,
            lambda v: set_(persuasion=v),
            refused,
        )
        solara.Text("Product mix (share of air time)", classes=["snowball-hint"])
        _slider_float(
            "driver_share",
            "Traffic drivers",
            c.driver_share,
            lambda v: set_(driver_share=v),
            refused,
            "{:.0%}",
        )
        _slider_float(
            "welfare_share",
            "Welfare items",
            c.welfare_share,
            lambda v: set_(welfare_share=v),
            refused,
            "{:.0%}",
        )
        solara.Text(
            f"Profit items get the rest: {max(c.profit_share, 0):.0%}",
            classes=["snowball-hint"],
        )
        solara.Select(
            "Paid-traffic strategy",
            values=list(CHOICES["strategy"]),
            value=c.strategy,
            on_value=on("strategy"),
        )
        if c.strategy in STRATEGIES:
            solara.Text(STRATEGIES[c.strategy].description, classes=["snowball-hint"])
        _slider_int(
            "daily_budget",
            f"Daily ad budget: {c.daily_budget:,.0f} yuan",
            round(c.daily_budget),
            lambda v: set_(daily_budget=float(v)),
            refused,
            thumb_label=False,
        )
        solara.Checkbox(
            label="Platform promotion (a campaign day)",
            value=c.promotion,
            on_value=on("promotion"),
        )
        if c.promotion:
            _slider_int(
                "promotion_day",
                f"Promotion on day {c.promotion_day}",
                c.promotion_day,
                lambda v: set_(promotion_day=v),
                refused,
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
    """One session: its own controls, its own model, Mesa's controller around them."""
    first, first_description = solara.use_memo(initial_controls, dependencies=[])
    controls = solara.use_reactive(first)
    description = solara.use_reactive(first_description)
    refused = solara.use_reactive("")
    connected = solara.use_memo(page_connected, dependencies=[])
    parameters = solara.use_reactive(
        {
            "source": lambda: controls.value,
            "connected": connected,
            "viewers": DEFAULT_VIEWERS,
            "days": DEFAULT_DAYS,
            "seed": DEFAULT_SEED,
        }
    )
    initial = solara.use_memo(
        lambda: DashboardModel(
            controls=first,
            viewers=DEFAULT_VIEWERS,
            days=DEFAULT_DAYS,
            seed=DEFAULT_SEED,
            connected=connected,
        ),
        dependencies=[],
    )
    model = solara.use_reactive(initial)
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(RENDER_INTERVAL)
    use_threads = solara.use_reactive(False)
    solara.Title(TITLE)
    solara.Style(CSS)
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Controls"):
            ModelController(
                model,
                model_parameters=parameters,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            )
            IntervalsCard(play_interval, render_interval, refused)
        ScenarioCard(controls, description, refused)
        RunCard(parameters, refused)
        TickCard(model.value)
    Status(model, controls, refused)
    LoopGainsCard(model.value)
    Charts(model.value)
