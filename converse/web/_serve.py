"""Starting the viewer: on its own (``serve``), or inside another async program (``view_server``)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import anyio
from anyio.abc import SocketAttribute

from ._app import App
from ._http import serve_http

__all__ = ["DEFAULT_PORT", "serve", "view_server"]

DEFAULT_PORT = 8321


@asynccontextmanager
async def view_server(
    root: str | Path, *, host: str = "127.0.0.1", port: int = 0, poll: float = 0.2
) -> AsyncIterator[str]:
    """Serve the viewer over ``root`` while the block runs; yields its address.

    ``port`` 0 takes a free port. The server answers only requests addressed to this host
    by name or loopback address when bound to a loopback address.

    Raises:
        NotADirectoryError: ``root`` is not a directory.
        OSError: the address cannot be listened on.
    """
    path = Path(root)
    if not await anyio.Path(path).is_dir():
        raise NotADirectoryError(f"{root}: not a directory")
    app = App(path, poll=poll)
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    bound = listener.listeners[0].extra(SocketAttribute.local_port)
    allowed = _allowed_hosts(host, bound)
    name = f"[{host}]" if ":" in host else host
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(partial(serve_http, listener, app.handle, allowed_hosts=allowed))
        try:
            yield f"http://{name}:{bound}/"
        finally:
            tg.cancel_scope.cancel()


async def serve(
    root: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the viewer over ``root`` until cancelled; ``on_ready`` gets its address."""
    async with view_server(root, host=host, port=port) as url:
        if on_ready is not None:
            on_ready(url)
        await anyio.sleep_forever()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed_hosts(host: str, port: int) -> frozenset[str] | None:
    if not is_loopback(host):
        return None  # reachable from elsewhere by any name the user gives it
    names = {"127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host}
    return frozenset(f"{n}:{port}" for n in names)
