"""The dashboard in a real headless browser, used as a student would.

``snowball dashboard`` runs as a subprocess on a free port; Playwright drives the system's
Chromium (Debian package ``chromium``; a browser is never downloaded). Every request the page
makes is recorded: any host other than this machine, and any HTTP error, fails the test, so
the page is shown to work offline.

Skipped, with the reason, only where no Chromium is installed (``/usr/bin/chromium`` or
``chromium`` on PATH; ``CHROMIUM_PATH`` overrides) or the ``playwright`` package is missing.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from simulation import api
from simulation.dashboard.session import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_VIEWERS,
    controls_from_preset,
)

pytestmark = pytest.mark.browser

UI_TIMEOUT = 30_000  # ms per wait; a loaded 2-core machine renders a frame in ~0.5-2 s
SERVER_TIMEOUT = 90  # s until /readyz answers
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PRESET = controls_from_preset("default")[0]
"""The controls the page starts with."""
STATUS = re.compile(
    r"tick (?P<tick>\d+) · focal room: free (?P<free>[\d,]+) · paid (?P<paid>[\d,]+) · "
    r"follow (?P<follow>[\d,]+) impressions · GMV (?P<gmv>[\d,]+) yuan · ad spend "
    r"(?P<ad_spend>[\d,]+) yuan · ROI \S+ · fans (?P<fans>[\d,]+)"
)


def chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH")
    if path:
        return path if Path(path).exists() else None
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip(
            "no Chromium installed (/usr/bin/chromium or chromium on PATH): "
            "apt-get install chromium to run the browser test"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is missing: pip install -e '.[dev]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def dashboard(browser, tmp_path_factory):
    """``snowball dashboard --port <free>`` as a user starts it; yields its base URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("dashboard") / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulation", "dashboard", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown stops exactly it
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_TIMEOUT
        try:
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"dashboard exited with {proc.returncode}: {log_path.read_text()}")
                try:
                    with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"dashboard not ready after {SERVER_TIMEOUT} s")
                time.sleep(0.25)
            yield {"base": base, "port": port, "log": log_path}
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class NetLog:
    """Every request and websocket the page opens, HTTP errors and failed requests."""

    def __init__(self, page):
        self.urls: list[str] = []
        self.bad: list[tuple[str, object]] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))
        page.on("requestfailed", lambda r: self.bad.append((r.url, r.failure)))
        page.on("response", lambda r: r.status >= 400 and self.bad.append((r.url, r.status)))

    def external(self) -> list[str]:
        return [
            u
            for u in self.urls
            if urlparse(u).scheme not in ("data", "blob", "about")
            and urlparse(u).hostname not in LOCAL_HOSTS
        ]

    def check(self) -> None:
        assert self.external() == [], f"requests leaving the machine: {self.external()}"
        assert self.bad == [], f"failed requests or HTTP errors: {self.bad}"


def open_page(browser, dashboard):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    net = NetLog(page)
    page.goto(dashboard["base"] + "/")
    page.wait_for_selector(".snowball-status", timeout=UI_TIMEOUT)
    return context, page, net


def press_until(page, slider_name: str, key: str, label: str) -> None:
    """Press ``key`` on a slider once and wait until the server has re-rendered its label
    (so the value reached the server before the next key or click)."""
    from playwright.sync_api import expect

    page.get_by_role("slider", name=re.compile(f"^{slider_name}")).press(key)
    expect(page.get_by_role("slider", name=label)).to_have_count(1, timeout=UI_TIMEOUT)


def reset(page) -> None:
    """Click Reset until the page no longer reports controls waiting to be applied.

    A click can overtake a control's last value on its way to the server (ipywidgets sends
    button clicks at once but batches value changes while the server is busy); a second
    Reset, after the value has arrived, is harmless.
    """
    deadline = time.monotonic() + UI_TIMEOUT / 1000
    while True:
        page.get_by_role("button", name="Reset", exact=True).click()
        page.wait_for_timeout(400)
        if page.locator(".snowball-pending").count() == 0:
            return
        assert time.monotonic() < deadline, "Reset did not apply the changed controls"


def choose(page, select_label: str, option: str) -> None:
    page.locator(".v-select", has=page.locator("label", has_text=select_label)).locator(
        ".v-input__slot"
    ).click()
    page.get_by_role("option", name=option, exact=True).click()


def read_status(page, tick: int | None = None, after: int | None = None) -> dict[str, float]:
    """The focal room's numbers from the status line, once it shows tick ``tick`` (or any
    tick other than ``after``). The line is one element, so its numbers belong together."""
    from playwright.sync_api import expect

    status = page.locator(".snowball-status")
    if tick is not None:
        expect(status).to_contain_text(f"tick {tick} ", timeout=UI_TIMEOUT)
    if after is not None:
        expect(status).not_to_contain_text(f"tick {after} ", timeout=UI_TIMEOUT)
    m = STATUS.search(status.inner_text())
    assert m, status.inner_text()
    return {k: float(v.replace(",", "")) for k, v in m.groupdict().items()}


def chart_src(page, name: str) -> str:
    return page.locator(f".snowball-chart-{name} img").get_attribute("src") or ""


def test_change_a_control_reset_step_and_read_the_models_numbers(browser, dashboard):
    from playwright.sync_api import expect

    started = time.monotonic()
    context, page, net = open_page(browser, dashboard)
    read_status(page, 0)
    total = DEFAULT_DAYS * 144
    expect(page.get_by_text(f"Tick: 0 of {total}", exact=True)).to_be_visible()
    before = chart_src(page, "traffic")

    # a student makes the focal room more persuasive: three steps of the slider (0.005 each)
    start = PRESET.persuasion
    persuasion = round(start + 3 * 0.005, 6)
    for k in (1, 2, 3):
        label = f"Persuasion (conversion): {round(start + k * 0.005, 6):.3g}"
        press_until(page, "Persuasion", "ArrowRight", label)
    expect(page.locator(".snowball-pending")).to_be_visible()
    reset(page)

    # more ticks per click of Step (Render Interval), then step until the run is past the
    # room's first evening on air (19:00-23:00 = ticks 114-138); the page's own tick count
    # says how far each click went
    page.get_by_role("slider", name="Render Interval (steps)").press("End")
    page.wait_for_timeout(500)
    shown = {"tick": 0.0}
    while shown["tick"] < 140:
        page.get_by_role("button", name="Step", exact=True).click()
        shown = read_status(page, after=int(shown["tick"]))
    ticks = int(shown["tick"])
    expect(page.get_by_text(f"Tick: {ticks} of {total}", exact=True)).to_be_visible()

    # the same model built here: same preset, the changed control, the page's run size
    model = api.build_model(
        "default",
        seed=DEFAULT_SEED,
        overrides={
            "population.viewers": DEFAULT_VIEWERS,
            "days": DEFAULT_DAYS,
            "streams.focal.persuasion": persuasion,
        },
    )
    (focal,) = api.focal_streams(model, "focal")
    want = dict.fromkeys(("free", "paid", "follow", "gmv", "ad_spend"), 0.0)
    for _ in range(ticks):
        model.step()
        for key, column in (
            ("free", "free_impressions"),
            ("paid", "paid_impressions"),
            ("follow", "follow_impressions"),
            ("gmv", "gmv"),
            ("ad_spend", "ad_spend"),
        ):
            want[key] += model.last_tick[column][focal]
    assert want["free"] > 0 and want["paid"] > 0 and want["gmv"] > 0
    for key in ("free", "paid", "follow"):
        assert shown[key] == want[key], key
    assert shown["fans"] == model.population.followers[focal]
    assert shown["gmv"] == pytest.approx(want["gmv"], abs=0.5)
    assert shown["ad_spend"] == pytest.approx(want["ad_spend"], abs=0.5)

    # the traffic chart moved on, and its numbers are the model's too
    readout = page.locator(".snowball-readout-traffic")
    expect(readout).to_contain_text(
        f"free {int(want['free']):,} · paid {int(want['paid']):,} · follow {int(want['follow']):,}",
        timeout=UI_TIMEOUT,
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.snowball-chart img')]"
        ".every(i => i.complete && i.naturalWidth > 300)",
        timeout=UI_TIMEOUT,
    )
    assert chart_src(page, "traffic") != before
    assert page.locator(".snowball-caption").count() == 7
    net.check()
    context.close()
    print(f"\nbrowser flow {time.monotonic() - started:.1f} s, {len(net.urls)} requests, local")


def test_a_budget_with_strategy_none_is_a_message_not_a_crash(browser, dashboard):
    from playwright.sync_api import expect

    context, page, net = open_page(browser, dashboard)
    choose(page, "Paid-traffic strategy", "none")
    problem = page.locator(".snowball-problem")
    expect(problem).to_contain_text('Strategy "none" never buys traffic', timeout=UI_TIMEOUT)
    expect(problem).to_contain_text(f"{PRESET.daily_budget:,.0f} yuan")
    page.get_by_role("button", name="Reset", exact=True).click()
    message = page.locator(".snowball-message")
    expect(message).to_contain_text("The model was not built", timeout=UI_TIMEOUT)
    page.get_by_role(
        "button", name="Step", exact=True
    ).click()  # stepping a model that is not there
    expect(message).to_be_visible()

    # following the message's advice fixes it
    budget = page.get_by_role("slider", name=re.compile("^Daily ad budget"))
    budget.press("Home")
    expect(page.get_by_role("slider", name="Daily ad budget: 0 yuan")).to_have_count(
        1, timeout=UI_TIMEOUT
    )
    expect(problem).to_have_count(0)
    reset(page)
    expect(message).to_have_count(0, timeout=UI_TIMEOUT)
    read_status(page, 0)
    page.get_by_role("button", name="Step", exact=True).click()
    assert read_status(page, after=0)["paid"] == 0
    net.check()
    context.close()


def test_a_second_dashboard_on_the_same_port_is_refused(dashboard):
    r = subprocess.run(
        [sys.executable, "-m", "simulation", "dashboard", "--port", str(dashboard["port"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert f"127.0.0.1:{dashboard['port']} is already in use" in r.stderr
