"""The viewer's routes: the page and its assets, and a read-only JSON and event-stream API.

- ``/``, ``/app.css``, ``/favicon.svg`` and the page's script, ``/app.js`` and the ES modules it
  imports (every ``.js`` file in ``static/``): the page, from the package (no CDN).
- ``/api/index``: the runs, sweeps and datasets under the root.
- ``/api/group?path=P``: one sweep's or dataset's runs, with dials and scores.
- ``/api/run?path=P``: a run's page items at once (what the stream sends, for scripts).
- ``/api/stream?path=P``: server-sent events: the run's items (``event: items``; ``_items``
  defines them), ``event: live`` once they have caught up with the log, then new ones as it
  grows, until the run finishes (``event: end``); ``event: reset`` starts the page over.
- ``/api/call?path=P&call=N``: one model call in full: its whole prompt, parameters, answer
  (``lost_messages``: how many messages of its prompt the log lost, in a line not read).
- ``/api/audit?path=P``: ``converse audit`` of the run: each call checked against the
  fidelity rules, with the violations.
- ``/api/file?path=P&name=transcript.md|events.jsonl``: a run's transcript or log, as a download.

Static files are served from a table made once, of the package's own files; run
directories go through ``_files.inside`` and every file is opened through
``_files.open_regular``, so no request reaches anything but a regular file under the root.
Logs are read in bounded steps (``_reading.Lines``): a line too long to read or not an
event is skipped, costs only itself, and is shown on the page (``Unread``). A request for
what is not there is a 404; when the process is out of file descriptors, a 503.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import msgspec

from ..log._events import AnyEvent, ChatMessage, LLMCall
from ._catalog import Catalog
from ._files import EXHAUSTED, OutsideRoot, file_size, inside, is_dir, open_regular, open_under
from ._http import EventStream, FileBody, Request, Response, error
from ._items import PageItem, Unread, encode
from ._reading import Lines, Skipped, decode, event_decoder, read_batches, view_decoder
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
_BATCH = 2000  # items per server-sent event
_CALL_LOGS = 4  # logs whose calls are kept for /api/call (each holds every prompt of its run)


@dataclass(slots=True)
class _Calls:
    stamp: tuple[int, int]
    calls: dict[int, LLMCall]
    prompts: dict[int, tuple[int, list[ChatMessage]]]  # messages lost, messages read


@dataclass(slots=True)
class _Follow:
    """Where a stream is in the log it follows."""

    view: RunView = field(default_factory=RunView)
    lines: Lines = field(default_factory=Lines)
    file: tuple[int, int] | None = None  # the log's device and inode, to notice another file


class App:
    """The viewer over ``root``: ``handle`` answers one request."""

    def __init__(self, root: Path, *, poll: float = _POLL) -> None:
        self.catalog = Catalog(root)
        self.root = self.catalog.root
        self.poll = poll
        self.assets = _assets()
        self._calls: dict[Path, _Calls] = {}
        self._calls_lock = threading.Lock()

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
        except OSError as exc:
            if exc.errno in EXHAUSTED:
                return error(503, "the viewer is out of file descriptors; try again")
            return error(404, "nothing the viewer can read there")

    # --- routes ------------------------------------------------------------------------

    async def _index(self, request: Request) -> Response:
        return _json(await anyio.to_thread.run_sync(self.catalog.index))

    async def _group(self, request: Request) -> Response:
        path = self._dir(request)
        return _json(await anyio.to_thread.run_sync(self.catalog.group, path))

    async def _run(self, request: Request) -> Response:
        log = self._log(request)
        items = await anyio.to_thread.run_sync(self._all_items, log)
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
        lost, messages = calls.prompts[number]
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
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "lost_messages": lost,
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
            report = await anyio.to_thread.run_sync(self._audit_of, log)
        except ValueError as exc:
            return error(422, f"this log cannot be audited: {exc}")
        return _json(report)

    async def _file(self, request: Request) -> Response:
        name = request.query.get("name", "")
        kind = _DOWNLOADS.get(name)
        if kind is None:
            raise _BadQuery("name must be transcript.md or events.jsonl")
        folder = self._dir(request)
        try:
            fd = await anyio.to_thread.run_sync(open_regular, self.root, folder / name)
        except (OutsideRoot, FileNotFoundError):
            return error(404, f"this run has no {name}")
        stem = self.root.name if folder == self.root else self.catalog.relative(folder).replace("/", "_")
        disposition = f'attachment; filename="{_ascii(stem)}-{name}"'
        body = FileBody(fd, file_size(fd))
        return Response(body=body, content_type=kind, headers={"Content-Disposition": disposition})

    # --- helpers -----------------------------------------------------------------------

    def _dir(self, request: Request) -> Path:
        path = inside(self.root, request.query.get("path", ""))
        if not is_dir(path):
            raise FileNotFoundError(path)
        return path

    def _log(self, request: Request) -> Path:
        log = self._dir(request) / "events.jsonl"
        with open_under(self.root, log):  # a regular file under the root, or a 404 now
            return log

    def _calls_of(self, log: Path) -> _Calls:
        with open_under(self.root, log) as fd:
            stat = os.fstat(fd)
            stamp = (stat.st_size, stat.st_mtime_ns)
            cached = self._calls.get(log)
            if cached is None or cached.stamp != stamp:
                calls = {e.call: e for e in _events(fd) if type(e) is LLMCall}
                cached = _Calls(stamp, calls, _prompts(calls.values()))
        with self._calls_lock:  # (requests are answered in threads)
            self._calls.pop(log, None)
            self._calls[log] = cached  # the last one asked for, last
            while len(self._calls) > _CALL_LOGS:
                del self._calls[next(iter(self._calls))]
        return cached

    def _audit_of(self, log: Path) -> dict[str, Any]:
        """``converse audit`` of the log as it is now, each violation with its call's number."""
        from ..audit._report import audit_run

        with open_under(self.root, log) as fd:
            events = _events(fd)
        report: dict[str, Any] = msgspec.to_builtins(audit_run(events))
        calls = {e.seq: e.call for e in events if type(e) is LLMCall}
        for violation in report["violations"]:
            violation["call"] = calls.get(violation["seq"])
        return report

    def _all_items(self, log: Path) -> list[PageItem]:
        """Every item of the log as it is now."""
        view = RunView()
        items: list[PageItem] = []
        with open_under(self.root, log) as fd:
            for events, skipped in read_batches(fd, view_decoder):
                items += [*view.feed(events), *_unread(skipped), *view.updates()]
        return items

    async def _tail(self, log: Path) -> AsyncIterator[bytes]:
        """The run's items as server-sent events, following the log until the run ends."""
        yield b"retry: 2000\n\n"
        here = {"path": self.catalog.relative(log.parent)}
        yield _sse("reset", here)
        follow = _Follow()
        quiet, live = 0.0, False
        while True:
            # A step reads at most a chunk or one line: off the event loop, so other pages
            # keep being served meanwhile.
            try:
                items, reset, caught_up = await anyio.to_thread.run_sync(self._advance, log, follow)
            except OutsideRoot:
                yield _sse("gone", {})
                return
            except OSError as exc:
                if exc.errno not in EXHAUSTED:
                    yield _sse("gone", {})
                    return
                await anyio.sleep(self.poll)  # out of descriptors: look again in a moment
                continue
            if reset:  # the log was cut before what was read (a resume drops a torn last line), or replaced
                live = False
                yield _sse("reset", here)
            for start in range(0, len(items), _BATCH):
                yield _sse("items", items[start : start + _BATCH])
            if follow.view.finished is not None:
                yield _sse("end", {})
                return
            if not caught_up:
                quiet = 0.0
                await anyio.lowlevel.checkpoint()
                continue
            if not live:  # all the log holds has been sent: what comes next is new
                live = True
                yield _sse("live", {})
            await anyio.sleep(self.poll)
            quiet += self.poll
            if quiet >= _HEARTBEAT:
                quiet = 0.0
                yield b": still here\n\n"

    def _advance(self, log: Path, follow: _Follow) -> tuple[list[PageItem], bool, bool]:
        """One step along the log: the items it adds, whether the stream starts over, and
        whether the log has been read as far as it goes."""
        with open_under(self.root, log) as fd:
            stat = os.fstat(fd)
            reset = False
            if follow.file is None:
                follow.file = (stat.st_dev, stat.st_ino)
            elif follow.file != (stat.st_dev, stat.st_ino) or not follow.lines.cut_to(stat.st_size):
                follow.view, follow.lines, follow.file, reset = RunView(), Lines(), (stat.st_dev, stat.st_ino), True
            size, lines = stat.st_size, follow.lines
            if lines.scanned >= size:
                return [], reset, True
            data, start, skipped = lines.step(fd, size)
        events, bad = decode(data, start, view_decoder) if data else ([], [])
        view = follow.view
        items = [*view.feed(events), *_unread(skipped + bad), *(view.updates() if data else [])]
        return items, reset, lines.scanned >= size


def _events(fd: int) -> list[AnyEvent]:
    """Every event of the log open at ``fd`` (lines that cannot be read left out)."""
    return [e for events, _ in read_batches(fd, event_decoder) for e in events]


def _unread(skipped: Iterable[Skipped]) -> list[PageItem]:
    return [Unread(id=f"unread:{s.at}", at=s.at, length=s.length, too_long=s.too_long) for s in skipped]


def _prompts(calls: Iterable[LLMCall]) -> dict[int, tuple[int, list[ChatMessage]]]:
    """The full prompt of each call as far as the log holds it (shared prefixes put back, as
    ``converse.events.prompts_of`` does): how many of its messages were lost with a line
    that was not read, and the messages that were read."""
    prompts: dict[int, tuple[int, list[ChatMessage]]] = {}
    for call in calls:
        shared = call.shared
        if shared is None:
            prompts[call.call] = (0, call.messages)
            continue
        lost, earlier = prompts.get(shared.call, (shared.count, []))
        kept = earlier[: max(0, shared.count - lost)]
        prompts[call.call] = (shared.count - len(kept), [*kept, *call.messages])
    return prompts


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
