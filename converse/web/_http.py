"""A small HTTP/1.1 server on anyio, enough for a local read-only web app.

It answers GET and HEAD, keeps connections alive, streams server-sent events, and nothing
more: no request bodies, no uploads, no chunked requests. Handlers get a parsed
``Request`` and return a ``Response`` (or an ``EventStream`` that the server drains onto
the socket until the handler's generator ends or the client goes away).
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

import anyio
import structlog
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

__all__ = ["EventStream", "Request", "Response", "serve_http"]

_MAX_HEAD = 16_384
_IDLE = 30.0  # seconds a kept-alive connection may wait for its next request

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


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
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
    listener: anyio.abc.Listener[SocketStream], handler: Handler, *, allowed_hosts: frozenset[str] | None
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
                structlog.get_logger().exception("view.connection_failed")

    await listener.serve(connection)


async def _connection(stream: SocketStream, handler: Handler, allowed_hosts: frozenset[str] | None) -> None:
    reader = BufferedByteReceiveStream(stream)
    while True:
        with anyio.move_on_after(_IDLE) as idle:
            try:
                head = await reader.receive_until(b"\r\n\r\n", _MAX_HEAD)
            except anyio.DelimiterNotFound:
                await _send(stream, "GET", error(431, "request head too large"), keep=False)
                return
            except anyio.IncompleteRead:
                return
        if idle.cancelled_caught:
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
            response = await handler(request)
        if isinstance(response, EventStream):
            await _stream(stream, response)
            return
        await _send(stream, request.method, response, keep=keep)
        if not keep:
            return


def _parse(head: bytes) -> Request | None:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1.") or not target.startswith("/"):
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


async def _send(stream: SocketStream, method: str, response: Response, *, keep: bool) -> None:
    headers = {
        "Date": email.utils.formatdate(usegmt=True),
        "Content-Type": response.content_type,
        "Content-Length": str(len(response.body)),
        "Connection": "keep-alive" if keep else "close",
        **SECURITY_HEADERS,
        **response.headers,
    }
    await stream.send(_head(response.status, headers) + (b"" if method == "HEAD" else response.body))


async def _stream(stream: SocketStream, events: EventStream) -> None:
    headers = {
        "Date": email.utils.formatdate(usegmt=True),
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        "Connection": "close",
        "X-Accel-Buffering": "no",
        **SECURITY_HEADERS,
    }
    await stream.send(_head(200, headers))
    chunks = events.chunks
    try:
        async for chunk in chunks:
            await stream.send(chunk)
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()
