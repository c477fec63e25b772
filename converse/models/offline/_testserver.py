"""A real OpenAI-compatible HTTP server on 127.0.0.1 answering with the ``OfflineModel``, with injected
faults and its own rpm/tpm budget. Hints never travel over HTTP: a client may send them in the non-standard
body field ``converse_hints`` (``{"kind": "line", "speaker": ..., "organisation": ..., "period": ...}``)."""

from __future__ import annotations

import contextlib
import hmac
import itertools
import math
import random
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self, cast

import msgspec

from ...log._events import ChatMessage
from .._model import CompletionRequest, CompletionResponse, Hints
from ._model import OfflineModel

__all__ = ["Faults", "ModelServer", "ServerStats"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_PIECES = re.compile(r"\s*\S+|\s+")
_FAULTS = ("429", "500", "drop", "malformed")
_SSE = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Transfer-Encoding": "chunked"}


class Faults(msgspec.Struct, frozen=True, kw_only=True):
    """What a ``ModelServer`` does wrong on purpose; each ``rate_*`` is a fraction of requests.

    Attributes:
        latency: seconds to wait before answering an admitted request.
        rate_429: answered 429 with ``Retry-After: retry_after`` (and ``retry-after-ms``).
        rate_500: answered 500.
        rate_drop: the connection is closed without a response.
        rate_malformed: answered 200 with a body (or, streaming, an event) that is not JSON.
        retry_after: seconds advertised by the injected 429s.
    """

    latency: float = 0.0
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_drop: float = 0.0
    rate_malformed: float = 0.0
    retry_after: float = 1.0

    def __post_init__(self) -> None:
        rates = (self.rate_429, self.rate_500, self.rate_drop, self.rate_malformed)
        if min(*rates, self.latency, self.retry_after) < 0 or sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"faults must not be negative, and rates must sum to at most 1: {self}")


class ServerStats(msgspec.Struct, frozen=True, kw_only=True):
    """What a ``ModelServer`` did with chat completion requests so far.

    ``requests`` counts them all; ``successes``, ``rejected`` (400, 401, 404), ``rate_limited_injected``
    (by ``Faults``), ``rate_limited_budget`` (by rpm/tpm) and the rest what became of them. The tokens are
    those served; ``answered_at`` holds the server clock at each success, for throughput.
    """

    requests: int = 0
    successes: int = 0
    rejected: int = 0
    rate_limited_injected: int = 0
    rate_limited_budget: int = 0
    server_errors: int = 0
    dropped: int = 0
    malformed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    answered_at: tuple[float, ...] = ()


class _Body(msgspec.Struct, kw_only=True):
    model: str
    messages: list[ChatMessage]
    temperature: float = 1.0
    max_tokens: int = 600
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    converse_hints: Hints = Hints()


class _Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes | list[bytes] | None  # JSON, the data of SSE events, or None: drop the connection
    counter: str | None = None  # the ServerStats field it counts in, for chat completion requests


def _error(counter: str | None, status: int, message: str, code: str | None, headers: dict[str, str] | None = None,
           kind: str = "invalid_request_error") -> _Reply:
    error = {"message": message, "type": kind, "param": None, "code": code}
    return _Reply(status, headers or {}, _encode({"error": error}), counter)


def _ms(seconds: float) -> int:
    return max(0, math.ceil(round(seconds * 1000, 6)))  # rounded: float noise must not add a millisecond


def _retry_headers(seconds: float) -> dict[str, str]:
    # The SDK prefers retry-after-ms; retry-after stays a whole number of seconds, as HTTP says.
    return {"retry-after": str(math.ceil(_ms(seconds) / 1000)), "retry-after-ms": str(_ms(seconds))}


def _duration(seconds: float) -> str:
    """Seconds as OpenAI's Go-style reset durations: ``12ms``, ``1.5s``, ``6m0s``."""
    minutes, ms = divmod(_ms(seconds), 60_000)
    return f"{minutes}m{ms / 1000:g}s" if minutes else f"{ms / 1000:g}s" if ms >= 1000 else f"{ms}ms"


def _complete(model: OfflineModel, request: CompletionRequest) -> CompletionResponse:
    # The offline model without latency never suspends: one step runs it, usage and all, with no event loop.
    coro = model.complete(request)
    try:
        coro.send(None)
    except StopIteration as done:
        return cast(CompletionResponse, done.value)
    coro.close()
    raise RuntimeError("the offline model suspended")


def _events(head: dict[str, Any], text: str, usage: dict[str, int] | None) -> list[bytes]:
    """The SSE data of a streamed answer: a role chunk, word pieces, "stop", usage, [DONE]."""
    deltas = [{"role": "assistant", "content": ""}, *({"content": p} for p in _PIECES.findall(text))]
    choices: list[list[Any]] = [[{"index": 0, "delta": d, "finish_reason": None}] for d in deltas]
    choices.append([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    events = [_encode({**head, "object": "chat.completion.chunk", "choices": c}) for c in choices]
    if usage is not None:
        events.append(_encode({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}))
    return [*events, b"[DONE]"]


class ModelServer:
    """An OpenAI-compatible chat completions server on ``127.0.0.1`` (an ephemeral port).

    Use it as a context manager (or call ``start()`` and ``close()``)::

        with ModelServer(faults=Faults(rate_429=0.1)) as server:
            client = AsyncOpenAI(base_url=server.base_url, api_key="test-key")

    Args:
        models: the model names served; others get 404 ``model_not_found``.
        api_key: the bearer token required in ``Authorization``; others get 401.
        seed: seeds the offline model and the fault RNG.
        faults: the faults in force. Assign a new ``Faults`` to ``faults`` at any time: it is
            immutable, and each request reads the attribute once.
        rpm: requests admitted per ``window`` (None: unlimited).
        tpm: prompt plus completion tokens per ``window`` (None: unlimited); the prompt is
            charged when a request arrives, the completion when it is answered.
        window: the budget's sliding window, in seconds.
        keep: how many request bodies ``requests`` keeps.
        clock: the budget's and ``answered_at``'s clock (a fake one makes budget tests instant).
    """

    def __init__(self, *, models: Iterable[str] = ("offline-chat",), api_key: str = "test-key", seed: int = 0,
                 faults: Faults | None = None, rpm: int | None = None, tpm: int | None = None,
                 window: float = 60.0, keep: int = 100, clock: Callable[[], float] = time.monotonic) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self.models, self.rpm, self.tpm, self.window = tuple(models), rpm, tpm, window
        self._auth, self._clock = f"Bearer {api_key}".encode(), clock
        self._model, self._rng = OfflineModel(seed=seed), random.Random(seed)
        self._lock, self._closing = threading.Lock(), threading.Event()
        self.faults = faults or Faults()
        self._stats = dict.fromkeys(ServerStats.__struct_fields__[:-1], 0)
        self._answered: list[float] = []
        self._bodies: deque[Any] = deque(maxlen=keep)
        self._log: deque[tuple[float, int, int]] = deque()  # (time, requests, tokens) charged to the budget
        self._used, self._ids = [0, 0], itertools.count(1)  # requests and tokens in the window; answer ids
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._serving: tuple[_HTTPServer, threading.Thread] | None = None

    def start(self) -> None:
        """Bind an ephemeral port on 127.0.0.1 and serve from a daemon thread."""
        if self._serving is not None:
            raise RuntimeError("the server was already started")
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                  name="converse-model-server", daemon=True)
        self._serving = httpd, thread
        thread.start()

    def close(self) -> None:
        """Stop serving, end every connection and join the threads (idempotent)."""
        if self._serving is None or self._closing.is_set():
            return
        httpd, thread = self._serving
        self._closing.set()  # also ends the latency waits
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections.items())
        for _, conn in connections:
            with contextlib.suppress(OSError):  # wakes handlers idling on kept-alive connections
                conn.shutdown(socket.SHUT_RDWR)
        for handler in [*(handler for handler, _ in connections), thread]:
            handler.join(5.0)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, for ``AsyncOpenAI(base_url=...)``."""
        if self._serving is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._serving[0].server_port}/v1"

    @property
    def requests(self) -> list[Any]:
        """The last ``keep`` request bodies as decoded JSON, oldest first (no headers)."""
        with self._lock:
            return list(self._bodies)

    def stats(self) -> ServerStats:
        """A snapshot of the counters."""
        with self._lock:
            return ServerStats(**self._stats, answered_at=tuple(self._answered))

    def _serve(self, method: str, path: str, authorization: str | None, raw: bytes) -> _Reply:
        reply = self._respond(method, path.split("?", 1)[0].rstrip("/"), authorization, raw)
        if reply.counter is not None:
            with self._lock:
                self._stats["requests"] += 1
                self._stats[reply.counter] += 1
        return reply

    def _respond(self, method: str, path: str, authorization: str | None, raw: bytes) -> _Reply:
        if (method, path) not in {("GET", "/v1/models"), ("POST", "/v1/chat/completions")}:
            return _error(None, 404, f"Unknown request: {method} {path}", "unknown_url")
        chat = "rejected" if method == "POST" else None
        if authorization is None or not hmac.compare_digest(authorization.encode(), self._auth):
            return _error(chat, 401, "Incorrect API key provided.", "invalid_api_key")
        if not chat:
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "converse"} for name in self.models]
            return _Reply(200, {}, _encode({"object": "list", "data": data}))
        try:
            decoded = _decode(raw)
            with self._lock:
                self._bodies.append(decoded)
            body = msgspec.convert(decoded, _Body)
        except msgspec.DecodeError as exc:
            return _error("rejected", 400, f"Invalid request body: {exc}", None)
        if body.model not in self.models:
            message = f"The model `{body.model}` does not exist or you do not have access to it."
            return _error("rejected", 404, message, "model_not_found")
        return self._chat(body, {k: v for k, v in decoded.items() if k not in _Body.__struct_fields__})

    def _chat(self, body: _Body, params: dict[str, Any]) -> _Reply:
        answer = _complete(self._model, CompletionRequest(messages=body.messages, temperature=body.temperature,
                                                          max_tokens=body.max_tokens, params=params,
                                                          hints=body.converse_hints))
        usage = answer.usage
        wait, headers = self._admit(usage.prompt_tokens)
        if wait:
            never = wait == math.inf  # the prompt alone is over the tpm budget
            headers |= _retry_headers(self.window if never else wait) | ({"x-should-retry": "false"} if never else {})
            return _error("rate_limited_budget", 429, "Rate limit reached.", "rate_limit_exceeded", headers)
        with self._lock:
            faults, x = self.faults, self._rng.random()
        edges = itertools.accumulate((faults.rate_429, faults.rate_500, faults.rate_drop, faults.rate_malformed))
        fault = next((name for name, edge in zip(_FAULTS, edges, strict=True) if x < edge), None)
        if faults.latency and self._closing.wait(faults.latency):
            fault = "drop"  # shutting down
        if fault == "429":
            headers |= _retry_headers(faults.retry_after)
            return _error("rate_limited_injected", 429, "Rate limit reached (injected).", "rate_limit_exceeded", headers)
        if fault == "500":
            return _error("server_errors", 500, "Server error (injected).", None, headers, "server_error")
        if fault == "drop":
            return _Reply(0, {}, None, "dropped")
        with self._lock:
            n, now = next(self._ids), self._clock()
            if fault is None:  # malformed answers are not served
                self._charge(now, 0, usage.completion_tokens)
                self._stats["prompt_tokens"] += usage.prompt_tokens
                self._stats["completion_tokens"] += usage.completion_tokens
                self._answered.append(now)
                headers |= self._limit_headers(now)
        headers["x-request-id"] = f"req_{n}"
        head = {"id": f"chatcmpl-{n}", "created": int(time.time()), "model": body.model}
        counts = {**msgspec.structs.asdict(usage), "total_tokens": usage.total_tokens}
        counter = "malformed" if fault else "successes"
        if body.stream:
            events = _events(head, answer.text, counts if (body.stream_options or {}).get("include_usage") else None)
            if fault:
                events[1] = events[1][: len(events[1]) // 2]
            return _Reply(200, headers, events, counter)
        choice = {"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}
        payload = _encode({**head, "object": "chat.completion", "choices": [choice], "usage": counts})
        return _Reply(200, headers, payload[: len(payload) // 2] if fault else payload, counter)

    def _admit(self, prompt: int) -> tuple[float, dict[str, str]]:
        """Charge a request and its prompt if the budget has room; the seconds to wait (0: it was
        admitted, inf: it never fits) and the rate-limit headers."""
        with self._lock:
            now = self._clock()
            # 1e-6: a client that waits exactly the advertised milliseconds must find room despite rounding.
            while self._log and self._log[0][0] <= now - self.window + 1e-6:
                self._used = [used - gone for used, gone in zip(self._used, self._log.popleft()[1:], strict=True)]
            wait = 0.0
            for column, limit, extra in ((1, self.rpm, 1), (2, self.tpm, prompt)):
                if limit is not None and self._used[column - 1] + extra > limit:
                    excess = self._used[column - 1] + extra - limit
                    wait = max(wait, self._frees(now, column, excess) if extra <= limit else math.inf)
            if not wait:
                self._charge(now, 1, prompt)
            return wait, self._limit_headers(now)

    def _charge(self, now: float, requests: int, tokens: int) -> None:
        self._log.append((now, requests, tokens))
        self._used = [self._used[0] + requests, self._used[1] + tokens]

    def _frees(self, now: float, column: int, amount: int) -> float:
        """Seconds until ``amount`` requests (column 1) or tokens (2) have left the window."""
        freed: float = 0
        for entry in self._log:
            freed += entry[column]
            if freed >= amount:
                return entry[0] + self.window - now
        return math.inf

    def _limit_headers(self, now: float) -> dict[str, str]:
        headers: dict[str, str] = {}
        kinds = zip(("requests", "tokens"), (self.rpm, self.tpm), self._used, strict=True)
        for column, (kind, limit, used) in enumerate(kinds, 1):
            if limit is not None:
                headers[f"x-ratelimit-limit-{kind}"] = str(limit)
                headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, limit - used))
                headers[f"x-ratelimit-reset-{kind}"] = _duration(self._frees(now, column, used) if used else 0.0)
        return headers


class _HTTPServer(ThreadingHTTPServer):
    owner: ModelServer
    request_queue_size = 1024  # the listen backlog; the default 5 resets connections opened by the hundred

    def process_request(self, request: Any, client_address: Any) -> None:
        # As ThreadingMixIn does, but remembering each connection so that close() can end it.
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        with self.owner._lock:
            self.owner._connections[thread] = request
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.owner._lock:
                self.owner._connections.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # else the client went away, or close() ended it
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stalls
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests and benchmarks want a quiet stderr

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, body, _ = self.server.owner._serve(self.command, self.path,
                                                            self.headers.get("Authorization"), raw)
        if body is None:
            self.close_connection = True
            return
        self.send_response(status)
        headers |= _SSE if isinstance(body, list) else {"Content-Type": "application/json",
                                                        "Content-Length": str(len(body))}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if isinstance(body, bytes):
            self.wfile.write(body)
            return
        for data in [*(b"data: " + event + b"\n\n" for event in body), b""]:  # b"": the last chunk
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    do_GET = do_POST
