"""Start the dashboard's web server, fully offline, on a host and port that are free.

Solara's Starlette app serves the page's front-end bundles (Vue, Vuetify, require.js, the
widget managers) from ``/_solara/cdn/...`` on the same server. It reads them from
``<sys.prefix>/share/solara/cdn``, where the ``solara-assets`` package installs them, and
only if a file is missing there would it fetch it from a public CDN. :data:`OFFLINE_ENV`
points that fallback at a dead local port and turns off solara's telemetry, so neither the
server nor the browser ever leaves the machine. docs/DASHBOARD.md explains the details.

The address is checked by binding it before solara is imported (a port in use or not
permitted ends in one clear line and exit status 2 instead of a server that dies after
start-up). Then :func:`serve` runs solara's app under uvicorn in this process, as ``solara
run --production`` would, with two differences:

- :class:`OriginGuard` wraps the app: a websocket or HTTP request whose ``Origin`` is not
  the dashboard's own address (a page of another site open in the same browser), or, on a
  loopback address, whose ``Host`` is not this machine's name for it (DNS rebinding), is
  refused with 403 before solara sees it.
- SIGTERM and SIGINT first stop every session's model (so no run loop holds the server),
  then uvicorn closes the connections within :data:`SHUTDOWN_SECONDS`.
"""

import errno
import ipaddress
import os
import socket
import sys
import warnings
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

APP_MODULE = "simulation.dashboard.app"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

OFFLINE_ENV = {
    # no mixpanel telemetry from the server (and no api.ipify.org lookup with it)
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    # serve /_solara/cdn/* from the local copy installed by solara-assets (solara's default)
    "SOLARA_ASSETS_PROXY": "True",
    # if a file were ever missing from that copy, fail at once against a dead local port
    # instead of trying cdn.jsdelivr.net
    "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/npm/",
    # Mesa's ComponentsView trips solara's rules-of-hooks check on every start (harmless)
    "SOLARA_CHECK_HOOKS": "off",
    # no "This website runs on Solara" badge fixed over the bottom right of the charts
    "SOLARA_THEME_SHOW_BANNER": "False",
    # a page disconnected this long is closed and its memory freed (solara's default: 24 h)
    "SOLARA_KERNEL_CULL_TIMEOUT": "60s",
}
"""Environment for the solara server; a variable the user already set is left alone."""

SHUTDOWN_SECONDS = 1
"""How long uvicorn waits for open connections to close after SIGTERM or SIGINT."""

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class AddressError(Exception):
    """The host or port cannot be served; ``str()`` is the one line the user sees."""


def assets_dir() -> Path:
    """Where solara-assets puts the front-end bundles and solara-server looks for them."""
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def assets_installed() -> bool:
    """Whether the offline front-end bundles are in :func:`assets_dir`."""
    return (assets_dir() / "requirejs@2.3.6" / "require.js").is_file()


def check_address(host: str, port: int) -> None:
    """Bind ``host:port`` once (with SO_REUSEADDR, as uvicorn does) to see that the server
    will be able to.

    Raises
    ------
    AddressError
        With a sentence saying what is wrong and what to do.
    """
    if not 1 <= port <= 65535:
        raise AddressError(f"--port {port}: must be a port number from 1 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise AddressError(
            f"--host {host}: cannot resolve this host name ({exc.strerror})"
        ) from None
    family, socktype, proto, _, address = infos[0]
    with socket.socket(family, socktype, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            where = f"{host}:{port}"
            if exc.errno == errno.EADDRINUSE:
                why = (
                    f"{where} is already in use (another dashboard or program is listening "
                    "there); choose another port with --port"
                )
            elif exc.errno == errno.EACCES:
                why = (
                    f"{where} is not permitted (ports below 1024 need administrator "
                    "rights); choose a port above 1024 with --port"
                )
            elif exc.errno == errno.EADDRNOTAVAIL:
                why = (
                    f"{where}: this machine has no such address; use --host 127.0.0.1 "
                    "(this machine only) or an address of one of its network interfaces"
                )
            else:
                why = f"{where} cannot be used ({exc.strerror})"
            raise AddressError(why) from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address (or name) of this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> frozenset[str] | None:
    """The ``Host`` headers the server answers when it listens on ``host:port``: for a
    loopback address, this machine's names for it (``127.0.0.1``, ``localhost``, ``[::1]``)
    with the port; None (any name) for other addresses, which other machines reach under
    names the server cannot know."""
    if not is_loopback(host):
        return None
    names = ("127.0.0.1", "localhost", "[::1]")
    out = {f"{name}:{port}" for name in names}
    if port == 80:  # a browser leaves out the default port
        out.update(names)
    return frozenset(out)


class OriginGuard:
    """ASGI middleware: refuse requests from other sites before the app sees them.

    A browser sends ``Origin`` with every websocket handshake and with cross-site requests;
    it is ``http://HOST:PORT`` of the page that makes the request. A request is refused with
    403 (a websocket handshake too, as uvicorn answers a close before accept) when

    - its ``Host`` is not one of :func:`allowed_hosts` (on a loopback address), or
    - it carries an ``Origin`` other than ``http://`` or ``https://`` followed by its own
      ``Host``: the page that sent it is not the dashboard's own page.

    Requests without ``Origin`` (a typed address, a link, curl) are served.
    """

    def __init__(self, app: ASGIApp, host: str, port: int):
        self.app = app
        self.hosts = allowed_hosts(host, port)

    def refusal(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        """Why a request with these headers is refused, or None."""
        values: dict[bytes, str] = {}
        for key, value in headers:
            values.setdefault(key.lower(), value.decode("latin-1"))
        host = values.get(b"host", "").lower()
        if self.hosts is not None and host not in self.hosts:
            return f"Host {host!r} is not this dashboard's address"
        origin = values.get(b"origin")
        if origin is not None and origin.lower() not in (f"http://{host}", f"https://{host}"):
            return f"Origin {origin!r} is not this dashboard's own page"
        return None

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] in ("http", "websocket"):
            why = self.refusal(scope.get("headers", []))
            if why is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008, "reason": why})
                else:
                    body = f"403 Forbidden: {why}\n".encode()
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 403,
                            "headers": [
                                (b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def serve(host: str, port: int) -> None:
    """Run the dashboard's server in this process until SIGTERM or SIGINT.

    The caller checks the address and the assets first. The environment is set before
    solara is imported (its settings are read at import); this is the process's entry point,
    so it also silences a harmless warning solara prints when the page is opened via
    127.0.0.1 instead of localhost.
    """
    env = {**OFFLINE_ENV, "SOLARA_APP": APP_MODULE, "SOLARA_MODE": "production"}
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = host, str(port)
    warnings.filterwarnings("ignore", message="Cookies with samesite")

    import uvicorn
    from solara.__main__ import LOGGING_CONFIG
    from solara.server import settings
    from solara.server.starlette import app

    from simulation.dashboard.session import stop_all

    settings.main.mode = "production"

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            stop_all("the server is shutting down")
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        OriginGuard(app, host, port),
        host=host,
        port=port,
        log_config=LOGGING_CONFIG,
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )
    sys.stdout.flush()
    Server(config).run()
