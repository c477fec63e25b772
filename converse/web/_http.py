"""A small HTTP/1.1 server on anyio, enough for a local read-only web app.

It answers GET and HEAD, keeps connections alive, streams server-sent events, and nothing
more: no request bodies, no uploads, no chunked requests. Handlers get a parsed
``Request`` and return a ``Response`` (whose body may be a ``FileBody``, sent from an open
file a chunk at a time), or an ``EventStream`` that the server drains onto the socket until
the handler's generator ends or the client goes away.

Every request gets an answer: one it cannot parse a 400, one whose head is too long a 431,
one whose handler failed a 500, each with a short JSON error. When the process is out of
file descriptors, a new connection is accepted on a descriptor held in reserve for this and
closed at once, and the server goes on.
"""

from __future__ import annotations

import email.utils
import errno
import json
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import anyio
from anyio.abc import SocketAttribute, SocketListener, SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.stapled import MultiListener

from actors.log import get_logger

__all__ = ["EventStream", "FileBody", "Request", "Response", "serve_http"]

_MAX_HEAD = 16_384
_IDLE = 30.0  # seconds a kept-alive connection may wait for its next request
_SEND = 1 << 18  # bytes of a file sent at a time
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # what a method may be (RFC 9110)
_FULL = 0.1  # seconds to wait before accepting again when a refused connection could not be closed

# Every response carries these: the page may load only its own scripts, styles and data,
# so even a string that slipped through as markup could run nothing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True)
class Request:
    """One request: ``path`` is decoded; ``query`` maps each name to its first value."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names


@dataclass(frozen=True, slots=True)
class FileBody:
    """A body read from the open file ``fd``: its first ``length`` bytes. The server closes
    ``fd`` once the response is sent (or cannot be)."""

    fd: int
    length: int


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes | FileBody = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class EventStream:
    """A ``text/event-stream`` response: each chunk the generator yields is sent as it comes."""

    chunks: AsyncIterator[bytes]


Handler = Callable[[Request], Awaitable[Response | EventStream]]


def error(status: int, message: str) -> Response:
    """A JSON error response: ``{"error": message}``."""
    return Response(status, json.dumps({"error": message}).encode())


async def serve_http(
    listener: MultiListener[SocketStream], handler: Handler, *, allowed_hosts: frozenset[str] | None
) -> None:
    """Serve ``handler`` on ``listener`` until cancelled.

    Args:
        allowed_hosts: the ``Host`` header values accepted (lower case); any other is refused
            with 421, which keeps a page on another site from reaching the app through a DNS
            name that points at 127.0.0.1. None accepts any.
    """

    async def connection(stream: SocketStream) -> None:
        async with stream:
            try:
                await _connection(stream, handler, allowed_hosts)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
                return  # the client went away: nothing to answer
            except Exception:  # one bad connection must not end the server
                get_logger().exception("view.connection_failed")

    reserve = _Reserve()
    try:
        async with anyio.create_task_group() as tg:
            for one in listener.listeners:
                assert isinstance(one, SocketListener)
                tg.start_soon(_accept, one, tg, connection, reserve)
    finally:
        reserve.release()


class _Reserve:
    """A file descriptor held back, to be given up for a moment when the process runs out:
    enough to accept one connection and close it, instead of leaving it in the queue."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.take()

    def take(self) -> None:
        if self.fd is None:
            try:
                self.fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self.fd = None  # taken back on a later refusal

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


async def _accept(
    listener: SocketListener,
    tg: anyio.abc.TaskGroup,
    connection: Callable[[SocketStream], Coroutine[Any, Any, None]],
    reserve: _Reserve,
) -> None:
    """Accept connections on ``listener`` and serve each in ``tg``; a connection that cannot
    be taken (no file descriptor left) is closed, and the next one is waited for."""
    full = False
    while True:
        try:
            stream = await listener.accept()
        except anyio.ClosedResourceError:
            return
        except (OSError, anyio.BrokenResourceError) as exc:
            cause = exc if isinstance(exc, OSError) else exc.__cause__
            code = cause.errno if isinstance(cause, OSError) else None
            if not full:
                get_logger().warning(
                    "view.connection_refused", reason=errno.errorcode.get(code or 0, str(cause))
                )
            full = True
            if not _refuse(listener.extra(SocketAttribute.raw_socket), reserve):
                await anyio.sleep(_FULL)
            continue
        full = False
        tg.start_soon(connection, stream)


def _refuse(sock: socket.socket, reserve: _Reserve) -> bool:
    """Accept one waiting connection on the reserve descriptor and close it at once; False
    if there was none, or no descriptor even so."""
    reserve.release()
    try:
        client, _ = sock.accept()
    except OSError:
        return False
    else:
        client.close()
        return True
    finally:
        reserve.take()


async def _connection(stream: SocketStream, handler: Handler, allowed_hosts: frozenset[str] | None) -> None:
    reader = BufferedByteReceiveStream(stream)
    while True:
        with anyio.move_on_after(_IDLE) as idle:
            try:
                head = await reader.receive_until(b"\r\n\r\n", _MAX_HEAD)
            except anyio.DelimiterNotFound:
                head = b"\0" * (_MAX_HEAD + 1)
            except anyio.IncompleteRead:
                return
        if idle.cancelled_caught:
            return
        if len(head) > _MAX_HEAD:  # (one read can bring more than the limit, delimiter and all)
            await _send(stream, "GET", error(431, "request head too large"), keep=False)
            return
        request = _parse(head)
        if request is None:
            await _send(stream, "GET", error(400, "malformed request"), keep=False)
            return
        keep = request.headers.get("connection", "").lower() != "close"
        if "content-length" in request.headers or "transfer-encoding" in request.headers:
            await _send(stream, request.method, error(400, "this server takes no request bodies"), keep=False)
            return
        response: Response | EventStream
        if request.method not in ("GET", "HEAD"):
            refused = error(405, "read-only: GET and HEAD only")
            refused.headers["Allow"] = "GET, HEAD"
            response = refused
        elif allowed_hosts is not None and request.headers.get("host", "").lower() not in allowed_hosts:
            response = error(421, "unexpected Host header")
        else:
            try:
                response = await handler(request)
            except Exception:  # a bug: answered, logged, and the server goes on
                get_logger().exception("view.request_failed", target=request.target)
                response, keep = error(500, "the viewer failed on this request"), False
        if isinstance(response, EventStream):
            await _stream(stream, request.method, response)
            return
        if not await _send(stream, request.method, response, keep=keep) or not keep:
            return


def _parse(head: bytes) -> Request | None:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1.") or not target.startswith("/") or not _TOKEN.fullmatch(method):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            return None
        headers[name.lower()] = value.strip()
    parts = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return Request(method, target, unquote(parts.path), query, headers)


def _head(status: int, headers: dict[str, str]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send(stream: SocketStream, method: str, response: Response, *, keep: bool) -> bool:
    """Send ``response``; False if the connection must close after it (a file that
    shrank while it was sent: fewer bytes went than its ``Content-Length`` said)."""
    body = response.body
    try:
        headers = {
            "Date": email.utils.formatdate(usegmt=True),
            "Content-Type": response.content_type,
            "Content-Length": str(body.length if isinstance(body, FileBody) else len(body)),
            "Connection": "keep-alive" if keep else "close",
            **SECURITY_HEADERS,
            **response.headers,
        }
        head = _head(response.status, headers)
        if method == "HEAD":
            await stream.send(head)
        elif isinstance(body, bytes):
            await stream.send(head + body)
        else:
            await stream.send(head)
            return await _send_file(stream, body)
        return True
    finally:
        if isinstance(body, FileBody):
            os.close(body.fd)


async def _send_file(stream: SocketStream, body: FileBody) -> bool:
    sent = 0
    while sent < body.length:
        chunk = await anyio.to_thread.run_sync(os.pread, body.fd, min(_SEND, body.length - sent), sent)
        if not chunk:
            return False
        await stream.send(chunk)
        sent += len(chunk)
    return True


async def _stream(stream: SocketStream, method: str, events: EventStream) -> None:
    headers = {
        "Date": email.utils.formatdate(usegmt=True),
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        "Connection": "close",
        "X-Accel-Buffering": "no",
        **SECURITY_HEADERS,
    }
    chunks = events.chunks
    try:
        await stream.send(_head(200, headers))
        if method == "HEAD":
            return
        async for chunk in chunks:
            await stream.send(chunk)
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()
