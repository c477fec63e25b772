"""How an ``openai:`` model's requests reach its server: through aiohttp on asyncio, through
httpx's own transport on any other event loop (trio).

The SDK builds each request as an ``httpx2`` request and hands it to its HTTP client's
transport. httpx's default transport (httpcore, with h11 parsing HTTP in Python) costs about
half of the client's CPU a call, and more the more calls are in flight, since its pool walks
every connection it holds when a request comes and when it ends. aiohttp parses HTTP in C and
finds a free connection without a walk: the same plain call costs the client about three
quarters of the CPU at 20 calls at once and half at 128 (``context.sched.openai_plain_cpu_us``
and ``openai_plain_128_cpu_us``; the SDK's own building of the request is most of the rest). This is
the transport the SDK itself offers (``openai[aiohttp]``), written here so that failures keep
their meaning: a connection the server dropped is not a timeout.

What stays httpx's: everything above the transport (the SDK's request, redirects, cookies, the
decoding of a compressed body) and every request through a proxy (``HTTPS_PROXY`` and the
like), which keeps httpx's proxy transports as they were.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import aiohttp
import httpx2
import openai
import sniffio
from yarl import URL

__all__ = ["KEEP_ALIVE_S", "ModelHTTPClient", "ModelTransport", "connection_trouble"]

# Raised as the httpx2 error the SDK turns into the right failure: a timeout only for a
# timeout, a connection error for the rest. The first class an error is an instance of wins.
_ERRORS: tuple[tuple[type[BaseException], type[httpx2.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx2.ConnectTimeout),  # no connection in time
    (aiohttp.ServerTimeoutError, httpx2.ReadTimeout),  # no byte of the answer in time
    (TimeoutError, httpx2.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx2.ConnectError),  # refused, no such host, TLS refused
    (aiohttp.ServerDisconnectedError, httpx2.RemoteProtocolError),  # closed without an answer
    (aiohttp.ClientPayloadError, httpx2.RemoteProtocolError),  # a body cut short or garbled
    (aiohttp.ClientResponseError, httpx2.RemoteProtocolError),  # not HTTP
    (aiohttp.InvalidURL, httpx2.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx2.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx2.ReadError),  # reset, or an OS error on the socket
    (aiohttp.ClientError, httpx2.TransportError),
)


@contextmanager
def _as_httpx(request: httpx2.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for found, raised in _ERRORS:
            if isinstance(exc, found):
                text = str(exc) or type(exc).__name__
                raise raised(text, request=request) from exc
        raise


class _Body(httpx2.AsyncByteStream):
    """An answer's body as aiohttp reads it: chunks as they arrive (a streamed answer's
    events as the server sends them), still compressed if the server compressed it (httpx
    decodes it, by the answer's headers)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx2.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        # A body read to its end gives the connection back to the pool; one left unread closes it.
        self._response.release()


class ModelTransport(httpx2.AsyncBaseTransport):
    """An ``httpx2`` transport that sends each request through aiohttp when it is made on an
    asyncio event loop (one session a loop, made on first use), and through httpx's own
    transport otherwise. Both use one TLS context, made once: making one loads the system's
    certificates, about 40 ms of CPU."""

    def __init__(self, *, verify: ssl.SSLContext | str | bool = True, trust_env: bool = True,
                 limits: httpx2.Limits = openai.DEFAULT_CONNECTION_LIMITS) -> None:
        self._tls = httpx2.create_ssl_context(verify=verify, trust_env=trust_env)
        self._limits = limits
        # A session a loop, with the generator that closes it when its loop shuts down.
        self._sessions: dict[asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, AsyncGenerator[None, None]]] = {}
        self._other: httpx2.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if sniffio.current_async_library() != "asyncio":
            if self._other is None:
                self._other = httpx2.AsyncHTTPTransport(verify=self._tls, limits=self._limits)
            return await self._other.handle_async_request(request)
        session = await self._session()
        timeout = request.extensions.get("timeout", {})
        try:
            body: Any = request.content or None
        except httpx2.RequestNotRead:  # a body streamed from a generator: aiohttp frames it
            body = request.stream
            request.headers.pop("transfer-encoding", None)
        url = request.url
        if url.userinfo:  # httpx sends it as Basic auth, in the headers; aiohttp refuses it twice
            url = url.copy_with(userinfo=b"")
        with _as_httpx(request):
            response = await session.request(
                request.method,
                URL(str(url), encoded=True),  # as httpx encoded it, not quoted again
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
                data=body,
                allow_redirects=False,  # httpx follows them
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=timeout.get("pool"), sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("ascii", "replace")
        return httpx2.Response(
            response.status, headers=response.raw_headers, stream=_Body(response, request),
            request=request, extensions=extensions,
        )

    async def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        kept = self._sessions.get(loop)
        if kept is not None and not kept[0].closed:
            return kept[0]
        for other in [other for other in self._sessions if other.is_closed()]:
            _drop(self._sessions.pop(other)[0])  # a finished loop's (closed there, unless it was never shut down)
        connector = aiohttp.TCPConnector(
            ssl=self._tls, limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 0,
        )
        session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
            auto_decompress=False,  # httpx decodes, by the answer's headers
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )
        keeper = _kept(session)
        await keeper.asend(None)
        self._sessions[loop] = (session, keeper)
        return session

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        running = asyncio.get_running_loop() if sniffio.current_async_library() == "asyncio" else None
        for loop, (session, keeper) in sessions.items():
            if loop is running:
                await keeper.aclose()
            else:  # another loop's: its connections closed from here
                _drop(session)
        if self._other is not None:
            await self._other.aclose()

    def __del__(self) -> None:
        # Sessions of running loops close on their loops as their keepers are collected; one
        # whose loop was closed without closing its async generators goes here, quietly.
        for loop, (session, _) in getattr(self, "_sessions", {}).items():
            if loop.is_closed():
                with suppress(Exception):  # at the interpreter's exit, what it needs may be gone
                    _drop(session)


async def _kept(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Keeps ``session`` open until its event loop shuts down: ``asyncio.run`` (and every
    ``asyncio.Runner``) closes each async generator left suspended before the loop closes, and
    this one then closes the session, on its loop. Collected while its loop runs, it is closed
    there too (asyncio's finalizer), so a model nobody closed leaves no socket open."""
    try:
        yield
    finally:
        await session.close()


def _drop(session: aiohttp.ClientSession) -> None:
    """Close a session without its event loop: its connections are closed at once (nothing
    is awaited, so this works from another loop, or after its loop has ended)."""
    connector = session.connector
    session.detach()
    if connector is not None and not connector.closed:
        connector._close()  # the synchronous part of close(): closes every connection


# vLLM (uvicorn), llama.cpp's server and Node's close a connection idle for 5 s. A client that
# keeps it for 5 s too may send its next request just as the server closes it, and that request
# fails; kept for 4, a connection is given up before the server gives it up.
KEEP_ALIVE_S = 4.0


class ModelHTTPClient(openai.DefaultAsyncHttpxClient):
    """The SDK's HTTP client, with its defaults (limits, redirects) but for how long an idle
    connection is kept (``KEEP_ALIVE_S``), its requests sent by a ``ModelTransport`` unless they
    go through a proxy."""

    def __init__(self, **options: Any) -> None:
        limits = openai.DEFAULT_CONNECTION_LIMITS
        options.setdefault("limits", httpx2.Limits(
            max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=KEEP_ALIVE_S,
        ))
        super().__init__(**options)

    def _init_transport(self, verify: ssl.SSLContext | str | bool = True, cert: Any = None,
                        trust_env: bool = True, http1: bool = True, http2: bool = False,
                        limits: httpx2.Limits = openai.DEFAULT_CONNECTION_LIMITS,
                        transport: httpx2.AsyncBaseTransport | None = None) -> httpx2.AsyncBaseTransport:
        if transport is not None or cert is not None or http2 or not http1:
            return super()._init_transport(
                verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2, limits=limits,
                transport=transport,
            )
        return ModelTransport(verify=verify, trust_env=trust_env, limits=limits)


def connection_trouble(exc: BaseException) -> tuple[bool, str]:
    """Whether a request failed before its connection was made, and what went wrong, in words:
    from the errors that caused ``exc`` (the SDK's ``APIConnectionError`` says only
    "Connection error."), on either transport."""
    chain = _causes(exc)
    connecting = any(isinstance(e, httpx2.ConnectError | httpx2.ConnectTimeout) for e in chain)
    for e in reversed(chain):  # the first cause first
        if isinstance(e, ssl.SSLCertVerificationError):
            why = getattr(e, "verify_message", None) or e.reason or e
            return True, (
                f"its TLS certificate is not trusted ({why}); if a CA of your own signed it, "
                "set SSL_CERT_FILE to that CA's certificate"
            )
        if isinstance(e, ssl.SSLError):
            return True, f"TLS failed ({e.reason or e})"
        if isinstance(e, ConnectionRefusedError):
            return True, "the connection was refused (is the server running, on that port?)"
        if isinstance(e, socket.gaierror):
            return True, f"its host name does not resolve ({e.strerror or e})"
        # aiohttp's errors, then httpcore's (on trio), which say the same in words of their own.
        text = str(e) if isinstance(e, httpx2.RemoteProtocolError) else ""
        if isinstance(e, aiohttp.ServerDisconnectedError) or text.startswith("Server disconnected"):
            return False, "the server closed the connection without answering"
        if isinstance(e, aiohttp.ClientPayloadError) or "complete message body" in text:
            return False, "the server closed the connection before its answer was complete"
        if isinstance(e, aiohttp.ClientResponseError) or "status line" in text:
            return False, "the server's answer is not HTTP"
    # Else what the first error under the SDK's says (the transport's), or the SDK's own.
    said = [line for e in (*chain[1:], chain[0]) if (line := str(e).strip().partition("\n")[0])]
    return connecting, said[0] if said else type(exc).__name__


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it, outermost first (an exception group's members after it)."""
    found: list[BaseException] = []
    todo = [exc]
    while todo and len(found) < 32:
        e = todo.pop(0)
        if e in found:
            continue
        found.append(e)
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        if (cause := e.__cause__ or e.__context__) is not None:
            todo.append(cause)
    return found
