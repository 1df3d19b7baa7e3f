"""The dashboard server against crafted clients (issue 19), with no browser.

``snowball dashboard`` runs as a subprocess on a free loopback port. The tests talk to it
over its websocket with the Jupyter widget protocol, as the page's widget manager does: they
open the ``solara.control`` comm, run the app, keep every widget's state from the server's
``comm_open`` and ``update`` messages, and send ``update`` messages (a new ``v_model``) and
``custom`` click events of their own. So every crafted value goes through the same server
code as a browser's, over the real socket:

- a path as the scenario preset is refused, and nothing from the file reaches the page;
- a websocket or HTTP request from another site (``Origin``) or under a foreign ``Host``
  name is refused with 403;
- numbers outside the controls' bounds and names outside their lists are refused, and the
  server's memory stays bounded;
- a page that disconnects stops its model, and SIGTERM / SIGINT end the server within 2 s.

Skipped, with the reason, where the dashboard's packages are not installed.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from simulation.dashboard import missing_modules
from simulation.dashboard.bounds import BOUNDS, CHOICES

if missing_modules():
    pytest.skip(f"dashboard extra not installed ({missing_modules()})", allow_module_level=True)
import websockets  # a dev dependency: these security tests never skip
from websockets.exceptions import InvalidStatus

SERVER_TIMEOUT = 120  # s until /readyz answers on a loaded 2-core machine
UI_TIMEOUT = 60  # s for the server to answer a message
RSS_GROWTH_LIMIT_MB = 300
"""The attack tests may grow the server's memory by at most this much (a 1,000,000-viewer
model alone would take more; 10^8 viewers tried to allocate 8.9 GiB)."""
EXIT_LIMIT_S = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(log_path: Path) -> tuple[subprocess.Popen, int]:
    """``snowball dashboard --port <free>`` (127.0.0.1), once it answers /readyz."""
    port = free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulation", "dashboard", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + SERVER_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"dashboard exited with {proc.returncode}: {log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_server(proc)
            pytest.fail(f"dashboard not ready after {SERVER_TIMEOUT} s")
        time.sleep(0.25)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, port = start_server(tmp_path_factory.mktemp("dashboard") / "server.log")
    try:
        yield {"port": port, "pid": proc.pid, "proc": proc}
    finally:
        stop_server(proc)


# ------------------------------------------------------------------ the widget protocol


def message(msg_type: str, content: dict) -> str:
    return json.dumps(
        {
            "header": {
                "msg_id": uuid.uuid4().hex,
                "msg_type": msg_type,
                "session": "attack",
                "username": "",
                "date": "",
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": "shell",
            "buffers": [],
        }
    )


def ws_url(port: int) -> str:
    kernel, page = uuid.uuid4().hex, uuid.uuid4().hex
    return f"ws://127.0.0.1:{port}/jupyter/api/kernels/{kernel}/channels?session_id={page}"


class Page:
    """One dashboard page driven over its websocket, as the browser's widget manager does.

    ``widgets`` holds every widget's state (comm id -> state) as the server last sent it;
    ``seen`` is the text of every message the server sent (without binary buffers: PNGs).
    """

    def __init__(self, ws):
        self.ws = ws
        self.widgets: dict[str, dict] = {}
        self.seen: list[str] = []

    @classmethod
    async def open(cls, port: int, origin: str | None = None) -> "Page":
        kwargs = {"origin": origin} if origin else {}
        ws = await websockets.connect(ws_url(port), max_size=None, open_timeout=30, **kwargs)
        page = cls(ws)
        control = uuid.uuid4().hex
        await ws.send(
            message("comm_open", {"comm_id": control, "target_name": "solara.control", "data": {}})
        )
        run = {"method": "run", "args": {"path": "", "appName": "__default__"}}
        await ws.send(message("comm_msg", {"comm_id": control, "data": run}))
        await page.until(lambda: page._finished, "the app did not start")
        return page

    _finished = False

    async def receive(self, timeout: float) -> bool:
        """Read one message into ``widgets``; False if none came within ``timeout`` s."""
        from solara.server.kernel import deserialize_binary_message

        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except TimeoutError:
            return False
        msg = json.loads(raw) if isinstance(raw, str) else deserialize_binary_message(raw)
        msg.pop("buffers", None)
        self.seen.append(json.dumps(msg))
        kind, content = msg["header"]["msg_type"], msg["content"]
        data = content.get("data", {}) if isinstance(content, dict) else {}
        if kind == "comm_open":
            self.widgets[content["comm_id"]] = dict(data.get("state", {}))
        elif kind == "comm_msg":
            if data.get("method") in ("update", "echo_update"):
                self.widgets.setdefault(content["comm_id"], {}).update(data.get("state", {}))
            elif data.get("method") == "finished":
                self._finished = True
        elif kind == "comm_close":
            self.widgets.pop(content["comm_id"], None)
        return True

    async def until(self, done, why: str, timeout: float = UI_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, why
            await self.receive(0.5)

    async def settle(self, quiet: float = 1.0) -> None:
        """Read until the server has been quiet for ``quiet`` seconds."""
        deadline = time.monotonic() + UI_TIMEOUT
        while await self.receive(quiet):
            assert time.monotonic() < deadline, "the server never went quiet"

    def find(self, label: str) -> str:
        """The comm id of the one live control whose label starts with ``label``."""
        hits = [
            k
            for k, s in self.widgets.items()
            if str(s.get("label") or "").startswith(label) and "v_model" in s
        ]
        assert len(hits) == 1, (label, [self.widgets[k].get("label") for k in hits])
        return hits[0]

    def value(self, label: str):
        return self.widgets[self.find(label)]["v_model"]

    def text(self, css_class: str) -> str:
        """The text of every element with ``css_class``, joined."""
        out = []
        for s in self.widgets.values():
            if css_class in str(s.get("class_") or "").split():
                out.extend(c for c in s.get("children", []) if not c.startswith("IPY_MODEL_"))
        return " | ".join(out)

    async def send_value(self, label: str, value) -> None:
        """What a crafted client sends: a new ``v_model`` for the control ``label``."""
        state = {"method": "update", "state": {"v_model": value}, "buffer_paths": []}
        await self.ws.send(message("comm_msg", {"comm_id": self.find(label), "data": state}))

    async def clear_refusal(self) -> None:
        """Send a legal value (another seed), which clears the refusal message."""
        seed = 3 if self.value("Seed") == 2 else 2
        await self.send_value("Seed", seed)
        await self.until(lambda: self.text("snowball-refused") == "", "the message stays")

    async def click(self, text: str) -> None:
        buttons = [
            k
            for k, s in self.widgets.items()
            if s.get("_model_name") == "BtnModel" and text in s.get("children", [])
        ]
        assert len(buttons) == 1, text
        event = {"method": "custom", "content": {"event": "click", "data": {}}}
        await self.ws.send(message("comm_msg", {"comm_id": buttons[0], "data": event}))

    async def close(self) -> None:
        await self.ws.close()


def run(coro):
    return asyncio.run(coro)


# ------------------------------------------------------------------ Origin and Host


def http_status(port: int, headers: dict[str, str]) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "http://127.0.0.1:1", "null", "http://localhost.evil.example"],
)
def test_a_websocket_from_another_site_is_refused(server, origin):
    async def attempt():
        with pytest.raises(InvalidStatus) as info:
            await websockets.connect(ws_url(server["port"]), origin=origin, open_timeout=30)
        return info.value.response.status_code

    assert run(attempt()) == 403


def test_the_dashboards_own_origin_is_served(server):
    port = server["port"]

    async def own_page():
        page = await Page.open(port, origin=f"http://127.0.0.1:{port}")
        status = page.text("snowball-status")
        await page.close()
        return status

    assert "tick 0 " in run(own_page())
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert http_status(port, {"Host": host, "Origin": f"http://{host}"})[0] == 200
    assert http_status(port, {})[0] == 200  # a typed address sends no Origin


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://localhost:1"},
        {"Host": "evil.example"},  # DNS rebinding: a foreign name for 127.0.0.1
    ],
)
def test_plain_http_from_another_site_is_refused(server, headers):
    status, body = http_status(server["port"], headers)
    assert status == 403
    assert "403 Forbidden" in body and "<html" not in body.lower()


# ------------------------------------------------------------------ crafted values


@pytest.fixture
def secret_toml(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text('api_token = "s3cr3t-marker-19"\n')
    return path


def test_a_path_as_the_preset_is_refused_and_nothing_of_the_file_reaches_the_page(
    server, secret_toml
):
    async def attack():
        page = await Page.open(server["port"])
        answers = []
        for value in (str(secret_toml), str(secret_toml.with_name("missing.toml"))):
            await page.send_value("Scenario preset", value)
            await page.until(
                lambda: page.text("snowball-refused").startswith("A value sent by the page "),
                f"no refusal for {value}",
            )
            await page.settle(0.5)
            answers.append(page.text("snowball-refused").replace(repr(value)[:37], "PATH"))
            # the controls did not change (else the page asks for Reset to apply them)
            assert page.text("snowball-pending") == ""
            await page.clear_refusal()  # before the next attempt
        await page.click("Reset")
        await page.until(lambda: "Tick: 0 of" in page.text("snowball-ticks"), "no reset")
        await page.settle(0.5)
        status = page.text("snowball-run")
        await page.close()
        return page.seen, answers, status

    seen, answers, status = run(attack())
    text = "\n".join(seen)
    assert "s3cr3t-marker-19" not in text and "api_token" not in text
    # an existing and a missing file get the same answer: no oracle for what exists
    assert answers[0] == answers[1]
    assert "choose one of default" in answers[0]
    assert status.startswith('Preset "default"')


CRAFTED = [
    ("Viewers", -1),
    ("Viewers", 10**8),
    ("Viewers", 1_000_000),  # last: a server that took it would build it on Reset
    ("Days to simulate", 3650),
    ("Days to simulate", 0),
    ("Seed", 10**12),
    ("Render Interval", 100_000),
    ("Play Interval", 0),
    ("Play Interval", -500),
    ("Hook", 5.0),
    ("Hook", "NaN"),
    ("Retention", -1.0),
    ("Retention", float("inf")),
    ("Persuasion", "0.5"),
    ("Traffic drivers", 1.5),
    ("Daily ad budget", 1e12),
    ("Daily ad budget", -50),
    ("Paid-traffic strategy", "__import__('os')"),
    ("Distribution policy", "urn; rm -rf"),
    ("Platform promotion", "yes"),
]


def test_values_outside_the_controls_are_refused_and_memory_stays_bounded(server):
    pid = server["pid"]

    async def attack():
        page = await Page.open(server["port"])
        await page.settle(0.5)
        labels = sorted(str(s.get("label")) for s in page.widgets.values() if "v_model" in s)
        rss_before = rss_mb(pid)
        for label, value in CRAFTED:
            await page.send_value(label, value)
            await page.until(
                lambda: "refused" in page.text("snowball-refused"), f"{label}={value!r} taken"
            )
            refusal = page.text("snowball-refused")
            await page.clear_refusal()  # so each refusal is seen on its own
            assert "refused" in refusal, (label, value)
        await page.send_value("Seed", 1)
        await page.settle(0.5)
        # nothing changed: the labels that show their value are as before, and no control
        # waits for Reset
        assert sorted(str(s.get("label")) for s in page.widgets.values() if "v_model" in s) == (
            labels
        )
        assert page.text("snowball-pending") == ""
        # the run built on Reset is the page's legal one, and Step runs Render Interval ticks
        await page.click("Reset")
        await page.until(lambda: "Tick: 0 of 2016" in page.text("snowball-ticks"), "no reset")
        await page.click("Step")
        await page.until(lambda: "Tick: 9 of 2016" in page.text("snowball-ticks"), "no step")
        await page.settle(0.5)
        run_line, ticks = page.text("snowball-run"), page.text("snowball-ticks")
        await page.close()
        return rss_before, rss_mb(pid), run_line, ticks

    rss_before, rss_after, run_line, ticks = run(attack())
    assert "10,000 viewers" in run_line and "seed 1 " in run_line
    assert ticks.startswith("Tick: 9 of 2016")
    grew = rss_after - rss_before
    print(f"\nserver RSS {rss_before:.0f} MB -> {rss_after:.0f} MB (+{grew:.0f} MB)")
    assert grew < RSS_GROWTH_LIMIT_MB


LABELS = {
    "viewers": "Viewers",
    "days": "Days to simulate",
    "seed": "Seed",
    "render_interval": "Render Interval",
    "play_interval": "Play Interval",
    "hook": "Hook",
    "retention": "Retention",
    "persuasion": "Persuasion",
    "driver_share": "Traffic drivers",
    "welfare_share": "Welfare items",
    "daily_budget": "Daily ad budget",
    "promotion_day": "Promotion on day",
}
"""The page's label for each control in the table of bounds."""


def test_the_pages_controls_are_drawn_from_the_same_table_as_the_check(server):
    async def read_controls():
        page = await Page.open(server["port"])
        await page.send_value("Platform promotion", True)  # shows the promotion-day slider
        await page.until(lambda: "Promotion on day" in str(page.widgets), "no promotion day")
        await page.settle(0.5)
        sliders = {name: page.widgets[page.find(label)] for name, label in LABELS.items()}
        selects = {
            name: page.widgets[page.find(label)]["items"]
            for name, label in (
                ("scenario", "Scenario preset"),
                ("strategy", "Paid-traffic strategy"),
                ("policy", "Distribution policy"),
            )
        }
        await page.close()
        return sliders, selects

    sliders, selects = run(read_controls())
    for name, state in sliders.items():
        b = BOUNDS[name]
        assert (state["min"], state["max"], state["step"]) == (b.lo, b.hi, b.step), name
    assert selects["scenario"] == list(CHOICES["scenario"])
    assert selects["strategy"] == list(CHOICES["strategy"])
    assert len(selects["policy"]) == len(CHOICES["policy"])


def test_every_crafted_control_is_one_of_the_bounded_ones():
    """The crafted list and the label table cover every numeric control of the table of
    bounds (so a new bound gets a label and a crafted value here too)."""
    assert set(LABELS) == set(BOUNDS)
    crafted = {label for label, _ in CRAFTED}
    # welfare items share the driver slider's code path; the promotion day slider only
    # exists while the promotion is on (both are refused in test_dashboard_session.py)
    missing = {LABELS[k] for k in BOUNDS} - crafted
    assert missing == {"Welfare items", "Promotion on day"}


# ------------------------------------------------------------------ stopping


def test_a_page_that_disconnects_stops_its_model(server):
    pid = server["pid"]

    async def play_and_leave():
        page = await Page.open(server["port"])
        await page.send_value("Viewers", BOUNDS["viewers"].hi)
        await page.send_value("Days to simulate", BOUNDS["days"].hi)
        await page.send_value("Render Interval", BOUNDS["render_interval"].hi)
        await page.settle(0.5)
        await page.click("Reset")
        await page.until(lambda: "50,000 viewers" in page.text("snowball-run"), "no reset")
        await page.click("▶")
        await page.until(
            lambda: "Tick: 0 of" not in page.text("snowball-ticks"), "play did not start"
        )
        await page.close()

    run(play_and_leave())
    time.sleep(1.5)  # the tick in progress ends
    start = cpu_seconds(pid)
    time.sleep(3)
    busy = (cpu_seconds(pid) - start) / 3
    print(f"\nserver CPU after the page left: {busy:.0%} of a core")
    assert busy < 0.25


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_busy_server_within_two_seconds(tmp_path, sig):
    proc, port = start_server(tmp_path / "server.log")
    try:

        async def busy_page():
            # the largest run the controls allow, the most ticks per frame
            page = await Page.open(port)
            await page.send_value("Viewers", BOUNDS["viewers"].hi)
            await page.send_value("Days to simulate", BOUNDS["days"].hi)
            await page.send_value("Render Interval", BOUNDS["render_interval"].hi)
            await page.settle(0.5)
            await page.click("Reset")
            await page.until(lambda: "50,000 viewers" in page.text("snowball-run"), "no reset")
            await page.click("▶")
            await page.until(
                lambda: "Tick: 0 of" not in page.text("snowball-ticks"), "play did not start"
            )
            return page

        async def signal_while_playing():
            page = await busy_page()
            start = time.monotonic()
            os.kill(proc.pid, sig)
            while proc.poll() is None and time.monotonic() - start < 30:
                await asyncio.sleep(0.02)
            took = time.monotonic() - start
            try:
                await page.close()
            except Exception:
                pass
            return took

        took = run(signal_while_playing())
        print(f"\n{signal.Signals(sig).name} to exit: {took:.2f} s")
        assert proc.poll() is not None and took < EXIT_LIMIT_S
    finally:
        stop_server(proc)


# ------------------------------------------------------------------ issue 19, section 4


def test_the_tick_counter_agrees_with_the_status_line_at_the_end_of_a_run(server):
    """Mesa counts every call of step, also those of a frame that goes past the last tick
    (issue 19: "Step 2100" against "tick 2016"); the page shows the model's ticks."""

    async def run_to_the_end():
        page = await Page.open(server["port"])
        await page.send_value("Days to simulate", 1)
        await page.send_value("Render Interval", 100)
        await page.settle(0.5)
        await page.click("Reset")
        await page.until(lambda: "Tick: 0 of 144" in page.text("snowball-ticks"), "no reset")
        await page.click("Step")
        await page.until(lambda: "Tick: 100 of 144" in page.text("snowball-ticks"), "step 1")
        await page.click("Step")  # runs 44 ticks, then 56 calls that run nothing
        await page.until(lambda: "Tick: 144 of 144" in page.text("snowball-ticks"), "step 2")
        await page.settle(0.5)
        texts = page.text("snowball-ticks"), page.text("snowball-status")
        await page.close()
        return texts

    ticks, status = run(run_to_the_end())
    assert ticks.startswith("Tick: 144 of 144") and "tick 144 " in status
    assert "Day 1 of 1, 24:00" in status


def test_the_page_names_its_tab_and_shows_no_badge_over_the_charts(server):
    async def read_page():
        page = await Page.open(server["port"])
        await page.settle(0.5)
        await page.close()
        return page

    page = run(read_page())
    tabs = [s for s in page.widgets.values() if s.get("_model_name") == "TabModel"]
    assert [t["children"] for t in tabs] == [["Focal room and platform"]]
    assert "Page 0" not in "\n".join(page.seen)
    assert (
        len([s for s in page.widgets.values() if "snowball-caption" in str(s.get("class_"))]) == 7
    )
    status, html = http_status(server["port"], {})
    assert status == 200 and '"show_banner": false' in html
