"""The viewer's routes: the page and its assets, and a read-only JSON and event-stream API.

- ``/``, ``/app.css``, ``/favicon.svg`` and the page's script, ``/app.js`` and the ES modules it
  imports (every ``.js`` file in ``static/``): the page, from the package (no CDN).
- ``/api/index``: the runs, sweeps and datasets under the root.
- ``/api/group?path=P``: one sweep's or dataset's runs, with dials and scores.
- ``/api/run?path=P``: a run's page items at once (what the stream sends, for scripts).
- ``/api/stream?path=P``: server-sent events: the run's items (``event: items``; ``_items``
  defines them), ``event: live`` once they have caught up with the log, then new ones as it
  grows, until the run finishes (``event: end``); ``event: reset`` starts the page over.
- ``/api/call?path=P&call=N``: one model call in full: its whole prompt, parameters, answer.
- ``/api/audit?path=P``: ``converse audit`` of the run: each call checked against the
  fidelity rules, with the violations.
- ``/api/file?path=P&name=transcript.md|events.jsonl``: a run's transcript or log, as a download.

Static files are served from a table made once, of the package's own files, and run
directories go through ``_catalog.inside``, so no request reaches a file outside the root.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import msgspec

from ..log._events import ChatMessage, LLMCall, prompts_of
from ._catalog import Catalog, OutsideRoot, inside
from ._http import EventStream, Request, Response, error
from ._items import PageItem, encode
from ._reading import decode_lines, view_decoder
from ._runview import RunView

__all__ = ["App"]

_ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
_SCRIPT = "text/javascript; charset=utf-8"  # every .js file in static/: app.js and the modules it imports
_DOWNLOADS = {"transcript.md": "text/markdown; charset=utf-8", "events.jsonl": "application/x-ndjson"}
_POLL = 0.2  # seconds between looks at a log that has not grown
_HEARTBEAT = 15.0  # seconds between comments on an idle stream, to notice a closed page
_READ = 4 << 20  # bytes of log read at a time
_BATCH = 2000  # items per server-sent event


@dataclass(slots=True)
class _Calls:
    stamp: tuple[int, int]
    calls: dict[int, LLMCall]
    prompts: dict[int, list[ChatMessage]]


class App:
    """The viewer over ``root``: ``handle`` answers one request."""

    def __init__(self, root: Path, *, poll: float = _POLL) -> None:
        self.catalog = Catalog(root)
        self.root = self.catalog.root
        self.poll = poll
        self.assets = _assets()
        self._calls: dict[Path, _Calls] = {}

    async def handle(self, request: Request) -> Response | EventStream:
        asset = self.assets.get(request.path)
        if asset is not None:
            return Response(body=asset[0], content_type=asset[1], headers={"Cache-Control": "no-cache"})
        routes: dict[str, Callable[[Request], Awaitable[Response | EventStream]]] = {
            "/api/index": self._index,
            "/api/group": self._group,
            "/api/run": self._run,
            "/api/stream": self._stream,
            "/api/call": self._call,
            "/api/file": self._file,
            "/api/audit": self._audit,
        }
        route = routes.get(request.path)
        if route is None:
            return error(404, "not found")
        try:
            return await route(request)
        except (OutsideRoot, FileNotFoundError, NotADirectoryError):
            return error(404, "no such run or sweep under this directory")
        except _BadQuery as exc:
            return error(400, str(exc))

    # --- routes ------------------------------------------------------------------------

    async def _index(self, request: Request) -> Response:
        return _json(await anyio.to_thread.run_sync(self.catalog.index))

    async def _group(self, request: Request) -> Response:
        path = self._dir(request)
        return _json(await anyio.to_thread.run_sync(self.catalog.group, path))

    async def _run(self, request: Request) -> Response:
        log = self._log(request)
        items = await anyio.to_thread.run_sync(_all_items, log)
        return Response(body=encode({"path": self.catalog.relative(log.parent), "items": items}))

    async def _stream(self, request: Request) -> EventStream:
        log = self._log(request)
        return EventStream(self._tail(log))

    async def _call(self, request: Request) -> Response:
        log = self._log(request)
        try:
            number = int(request.query.get("call", ""))
        except ValueError:
            raise _BadQuery("call must be a call number") from None
        calls = await anyio.to_thread.run_sync(self._calls_of, log)
        call = calls.calls.get(number)
        if call is None:
            return error(404, f"no call {number} in this run")
        return _json(
            {
                "call": call.call,
                "seq": call.seq,
                "t": call.t,
                "actor": call.actor,
                "purpose": call.purpose,
                "conversation": list(call.conversation),
                "model": call.model,
                "params": call.params,
                "messages": [{"role": m.role, "content": m.content} for m in calls.prompts[number]],
                "response": call.response,
                "usage": {
                    "prompt_tokens": call.usage.prompt_tokens,
                    "completion_tokens": call.usage.completion_tokens,
                    "estimated": call.usage.estimated,
                },
                "latency": call.latency,
                "attempt": call.attempt,
                "finish_reason": None if call.finish_reason is msgspec.UNSET else call.finish_reason,
                "structured": None if call.structured is msgspec.UNSET else call.structured,
            }
        )

    async def _audit(self, request: Request) -> Response:
        log = self._log(request)
        try:
            report = await anyio.to_thread.run_sync(_audit, log)
        except ValueError as exc:
            return error(422, f"this log cannot be audited: {exc}")
        return _json(report)

    async def _file(self, request: Request) -> Response:
        name = request.query.get("name", "")
        kind = _DOWNLOADS.get(name)
        if kind is None:
            raise _BadQuery("name must be transcript.md or events.jsonl")
        path = self._dir(request) / name
        if not path.is_file():
            return error(404, f"this run has no {name}")
        folder = path.parent
        stem = self.root.name if folder == self.root else self.catalog.relative(folder).replace("/", "_")
        disposition = f'attachment; filename="{_ascii(stem)}-{name}"'
        body = await anyio.to_thread.run_sync(path.read_bytes)
        return Response(body=body, content_type=kind, headers={"Content-Disposition": disposition})

    # --- helpers -----------------------------------------------------------------------

    def _dir(self, request: Request) -> Path:
        path = inside(self.root, request.query.get("path", ""))
        if not path.is_dir():
            raise FileNotFoundError(path)
        return path

    def _log(self, request: Request) -> Path:
        log = self._dir(request) / "events.jsonl"
        if not log.is_file():
            raise FileNotFoundError(log)
        return log

    def _calls_of(self, log: Path) -> _Calls:
        stat = log.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        cached = self._calls.get(log)
        if cached is None or cached.stamp != stamp:
            events = decode_lines(log.read_bytes())
            calls = {e.call: e for e in events if type(e) is LLMCall}
            cached = self._calls[log] = _Calls(stamp, calls, prompts_of(events))
        return cached

    async def _tail(self, log: Path) -> AsyncIterator[bytes]:
        """The run's items as server-sent events, following the log until the run ends."""
        yield b"retry: 2000\n\n"
        view, offset, rest = RunView(), 0, b""
        yield _sse("reset", {"path": self.catalog.relative(log.parent)})
        quiet, live = 0.0, False
        while True:
            try:
                size = os.stat(log).st_size
            except OSError:
                yield _sse("gone", {})
                return
            if size < offset:  # the log was cut (a resume drops a torn last line): start over
                view, offset, rest, live = RunView(), 0, b"", False
                yield _sse("reset", {"path": self.catalog.relative(log.parent)})
            if size == offset:
                if not live:  # all the log holds has been sent: what comes next is new
                    live = True
                    yield _sse("live", {})
                await anyio.sleep(self.poll)
                quiet += self.poll
                if quiet >= _HEARTBEAT:
                    quiet = 0.0
                    yield b": still here\n\n"
                continue
            quiet = 0.0
            # Reading and decoding a large log takes a while: off the event loop, so other
            # pages keep being served meanwhile.
            items, offset, rest = await anyio.to_thread.run_sync(_advance, log, view, offset, size, rest)
            for start in range(0, len(items), _BATCH):
                yield _sse("items", items[start : start + _BATCH])
            if view.finished is not None:
                yield _sse("end", {})
                return
            await anyio.lowlevel.checkpoint()


def _advance(log: Path, view: RunView, offset: int, size: int, rest: bytes) -> tuple[list[PageItem], int, bytes]:
    """The items of the log's next whole lines after ``offset`` (with ``rest``, the
    unfinished line before it); returns them, the new offset and the new unfinished line."""
    with log.open("rb") as f:
        f.seek(offset)
        data = f.read(min(size - offset, _READ))
    offset += len(data)
    data = rest + data
    cut = data.rfind(b"\n") + 1
    data, rest = data[:cut], data[cut:]
    items = [*view.feed(decode_lines(data, view_decoder)), *view.updates()] if data else []
    return items, offset, rest


def _audit(log: Path) -> dict[str, Any]:
    """``converse audit`` of the log as it is now, each violation with its call's number."""
    from ..audit._report import audit_run

    events = decode_lines(log.read_bytes())
    report: dict[str, Any] = msgspec.to_builtins(audit_run(events))
    calls = {e.seq: e.call for e in events if type(e) is LLMCall}
    for violation in report["violations"]:
        violation["call"] = calls.get(violation["seq"])
    return report


def _all_items(log: Path) -> list[PageItem]:
    """Every item of the log as it is now."""
    view, offset, rest, size = RunView(), 0, b"", log.stat().st_size
    items: list[PageItem] = []
    while offset < size:
        more, offset, rest = _advance(log, view, offset, size, rest)
        items += more
    return items


class _BadQuery(ValueError):
    """A request's query is not one this route takes (answered 400 with the message)."""


def _assets() -> dict[str, tuple[bytes, str]]:
    """The page's files and their content types, by route: those of ``_ASSETS``, and every
    script (``/NAME.js``), read once from the package."""
    static = resources.files(__package__).joinpath("static")
    assets = {route: (static.joinpath(name).read_bytes(), kind) for route, (name, kind) in _ASSETS.items()}
    assets |= {"/" + f.name: (f.read_bytes(), _SCRIPT) for f in static.iterdir() if f.name.endswith(".js")}
    return assets


def _sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + encode(data) + b"\n\n"


def _json(value: Any) -> Response:
    return Response(body=json.dumps(value, ensure_ascii=False, allow_nan=False, default=str).encode())


def _ascii(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.=,") else "_" for c in text)
