"""``snowball dashboard``: the interactive teaching dashboard in the browser.

Checks, in order and before anything is started: the dashboard's extra packages, the offline
front-end files, and the address (by binding it). Each failure is one line and exit status 2.
Then this process runs the web server until Ctrl+C or SIGTERM, which stop it within about a
second (see :mod:`simulation.dashboard.server`).
"""

import argparse

from simulation.dashboard.server import DEFAULT_HOST, DEFAULT_PORT, LOCAL_HOSTS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboard",
        help="open the interactive teaching dashboard in the browser",
        description="Serve the interactive dashboard (Solara, Mesa) at http://HOST:PORT/. "
        "It needs no internet access. By default only this machine can open it; see "
        "docs/DASHBOARD.md for other hosts and docs/TEACHING.md for the lessons.",
    )
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT})",
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0 "
        "makes it reachable from other machines, without any login)",
    )
    p.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only the address to open (no notes; errors still go to stderr)",
    )
    p.set_defaults(func=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from simulation.dashboard import INSTALL_HINT, missing_modules
    from simulation.dashboard.server import (
        AddressError,
        assets_dir,
        assets_installed,
        check_address,
        serve,
    )
    from simulation.errors import UsageError

    missing = missing_modules()
    if missing:
        raise UsageError(
            f"the dashboard needs packages that are not installed ({', '.join(missing)}); "
            f"install them with: {INSTALL_HINT}"
        )
    if not assets_installed():
        raise UsageError(
            f"the dashboard's offline front-end files are missing from {assets_dir()}; "
            f"install them with: {INSTALL_HINT}"
        )
    try:
        check_address(args.host, args.port)
    except AddressError as exc:
        raise UsageError(str(exc)) from None
    url_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"snowball dashboard: open http://{url_host}:{args.port}/ in a browser (Ctrl+C stops)")
    if args.host not in LOCAL_HOSTS and not args.quiet:
        print(
            f"snowball dashboard: listening on {args.host}: other machines on the network can "
            "open it, and there is no login"
        )
    try:
        serve(args.host, args.port)
    except KeyboardInterrupt:  # Ctrl+C: uvicorn has shut down and re-raised it
        pass
    if not args.quiet:
        print("snowball dashboard: stopped")
    return 0
