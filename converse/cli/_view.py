"""``converse view DIR``: serve the viewer until interrupted."""

from __future__ import annotations

import argparse
import errno
import sys
from functools import partial
from pathlib import Path

import actors

from .._exceptions import ViewError

__all__ = ["add_parser"]

# The viewer's default port (``converse.web._serve.DEFAULT_PORT``), named here so that building
# the command line does not import the viewer: only ``converse view`` does.
DEFAULT_PORT = 8321


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``converse view``."""
    view = commands.add_parser(
        "view", help="browse runs and sweeps in a web page (read-only)",
        description="Serve a local, read-only web page over a directory of runs, sweeps and datasets: "
        "each run's periods, statements and folded council debates, scores, tokens and every prompt; "
        "a run still going updates as it goes; sweeps get sortable tables and charts.",
    )
    view.add_argument("directory", type=Path, help="a directory of runs (such as runs/), a sweep or a dataset")
    view.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    view.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 takes a free one)")
    view.set_defaults(handler=_cmd_view)


def _cmd_view(args: argparse.Namespace) -> int:
    from ..web._serve import is_loopback, serve

    root: Path = args.directory
    if not root.is_dir():
        raise ViewError(f"{root}: no such directory")
    if not 0 <= args.port <= 65535:
        raise ViewError(f"--port: {args.port} is not a port (0 to 65535)")
    if not is_loopback(args.host):
        print(
            f"converse view: listening on {args.host}: anyone who can reach this machine can read these runs",
            file=sys.stderr,
        )

    def ready(url: str) -> None:
        print(f"converse view: serving {root} at {url} (read-only; Ctrl-C stops)", flush=True)

    try:
        actors.run(partial(serve, root, host=args.host, port=args.port, on_ready=ready))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ViewError(f"{args.host}:{args.port} is in use; pick another --port (0 takes a free one)") from None
        raise ViewError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0
