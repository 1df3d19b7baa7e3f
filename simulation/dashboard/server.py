"""Start the dashboard's web server, fully offline, on a host and port that are free.

``solara run`` serves the page's front-end bundles (Vue, Vuetify, require.js, the widget
managers) from ``/_solara/cdn/...`` on the same server. It reads them from
``<sys.prefix>/share/solara/cdn``, where the ``solara-assets`` package installs them, and
only if a file is missing there would it fetch it from a public CDN. :data:`OFFLINE_ENV`
points that fallback at a dead local port and turns off solara's telemetry, so neither the
server nor the browser ever leaves the machine. docs/DASHBOARD.md explains the details.

Everything here runs before solara is imported: the address is checked by binding it (a
port in use or not permitted ends in one clear line and exit status 2 instead of a server
that dies after start-up), then the process becomes ``python -m solara run``.
"""

import errno
import os
import socket
import sys
from pathlib import Path

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
    # a harmless warning printed when the page is opened via 127.0.0.1 instead of localhost
    "PYTHONWARNINGS": "ignore:Cookies with samesite",
}
"""Environment for ``solara run``; a variable the user already set is left alone."""


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


def solara_command(host: str, port: int) -> list[str]:
    """The ``solara run`` command line that serves the dashboard in production mode."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


def serve(host: str, port: int) -> None:
    """Replace this process with the solara server (does not return).

    The caller checks the address and the assets first.
    """
    os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
    cmd = solara_command(host, port)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(cmd[0], cmd)
