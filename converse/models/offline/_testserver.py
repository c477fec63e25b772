"""``ModelServer``: a real OpenAI-compatible chat completions server on 127.0.0.1 that answers
with the ``OfflineModel``, makes the faults it is told to (``Faults``), keeps its own rpm/tpm
budget and counts what became of each request (``ServerStats``).

Its parts: ``_http`` serves the replies, ``_openai_wire`` reads and writes OpenAI's JSON,
``_rate_budget`` keeps the budget. This module decides what each request gets.
"""

from __future__ import annotations

import hmac
import itertools
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Literal, Self, TypeVar, cast

import msgspec

from .._model import (
    CHARS_PER_TOKEN,
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    estimate_tokens,
)
from ._http import Reply, ReplyServer
from ._model import OfflineModel
from ._openai_wire import (
    EMBEDDING_FIELDS,
    OPENAI_FIELDS,
    ChatBody,
    EmbeddingBody,
    chat_answer,
    completion_request,
    decode_json,
    embedding_answer,
    error_reply,
    models_reply,
    props_reply,
    running_reply,
    window_exceeded,
)
from ._rate_budget import RateBudget, retry_headers

__all__ = ["Faults", "ModelServer", "ServerStats"]

_ROUTES = {
    ("GET", "/v1/models"), ("GET", "/props"), ("GET", "/api/ps"), ("POST", "/v1/chat/completions"),
    ("POST", "/v1/embeddings"),
}
_REPORTS = {"/props": "llama.cpp", "/api/ps": "ollama"}  # who answers these
_FAULTS = ("429", "500", "drop", "malformed", "empty", "echo", "bad_json")
_SCHEMA_MARK = "JSON Schema:\n"  # where complete_structured's instruction quotes the schema
_EMPTY = ("", " \n")  # the empty answers, taken in turn


class Faults(msgspec.Struct, frozen=True, kw_only=True):
    """What a ``ModelServer`` does wrong on purpose; each ``rate_*`` is a fraction of requests.

    Attributes:
        latency: seconds to wait before answering an admitted request.
        rate_429: answered 429 with ``Retry-After: retry_after`` (and ``retry-after-ms``).
        rate_500: answered 500.
        rate_drop: the connection is closed without a response.
        rate_malformed: answered 200 with a body (or, streaming, an event) that is not JSON.
        rate_empty: answered 200 with an empty answer: no text, or only whitespace (in turn),
            ``finish_reason`` "stop" and the usage the answer would have had (as a model given
            ``stop=""`` does).
        rate_echo: answered 200 with the text of the request's first system message (its
            first message if it has none), as a small model that restates its instructions does.
        rate_bad_json: a structured request (its prompt quotes a JSON Schema) whose schema the
            server does not hold its decoding to is answered with the schema itself, as a small
            model that restates its instructions does; an enforced schema is always kept.
        retry_after: seconds advertised by the injected 429s.
    """

    latency: float = 0.0
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_drop: float = 0.0
    rate_malformed: float = 0.0
    rate_empty: float = 0.0
    rate_echo: float = 0.0
    rate_bad_json: float = 0.0
    retry_after: float = 1.0

    def __post_init__(self) -> None:
        rates = _rates(self)
        if min(*rates, self.latency, self.retry_after) < 0 or sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"faults must not be negative, and rates must sum to at most 1: {self}")


class ServerStats(msgspec.Struct, frozen=True, kw_only=True):
    """What a ``ModelServer`` did with chat completion and embeddings requests so far.

    ``requests`` counts them all (``embeddings``: the embeddings requests answered); ``successes``, ``rejected`` (400, 401, 404, and a structured
    output it does not take), ``rate_limited_injected`` (by ``Faults``), ``rate_limited_budget``
    (by rpm/tpm) and the rest what became of them (``empty``, ``echoed`` and ``bad_json``:
    answers spoilt by ``Faults``; ``abandoned``: answers whose client had gone when they were
    ready). ``enforced`` counts the answers held to a schema. The tokens are those served,
    spoilt answers' included; ``answered_at`` holds the server clock at each success, for
    throughput. ``connections`` counts the TCP connections it accepted (a client that keeps its
    connections alive opens one per request it has in flight at once, not one per request).
    """

    requests: int = 0
    successes: int = 0
    rejected: int = 0
    rate_limited_injected: int = 0
    rate_limited_budget: int = 0
    server_errors: int = 0
    dropped: int = 0
    malformed: int = 0
    empty: int = 0
    echoed: int = 0
    bad_json: int = 0
    abandoned: int = 0
    enforced: int = 0
    embeddings: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    connections: int = 0
    answered_at: tuple[float, ...] = ()


# The fields of ServerStats counted as requests come; the other two are read when asked.
_REQUEST_COUNTERS = tuple(f for f in ServerStats.__struct_fields__ if f not in ("connections", "answered_at"))

# A reply and the ServerStats field it counts in (None: not a chat completion request, not counted).
_Counted = tuple[str | None, Reply]
_Body = TypeVar("_Body", ChatBody, EmbeddingBody)
_Answer = TypeVar("_Answer", CompletionResponse, EmbeddingResponse)


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
        usage: send token usage. False: never, as some servers do: no ``usage`` in an answer,
            and a stream ignores ``stream_options.include_usage``. "unstreamed": in an answer,
            never in a stream (as llama-cpp-python's server).
        strict: refuse a body field OpenAI's API does not define (``top_k``, ``min_p``, ...)
            with a 400, as OpenAI does; by default they are taken, as vLLM, llama.cpp's server
            and Ollama take them.
        clock: the budget's and ``answered_at``'s clock (a fake one makes budget tests instant).
        context_window: the models' context window in tokens (None: no limit). A request whose
            prompt tokens (as its usage counts them) plus ``max_tokens`` exceed it is refused
            with vLLM's 400.
        reports_window: how the window is reported: "vllm" (``max_model_len`` in
            ``GET /v1/models``), "llama.cpp" (``GET /props`` at the root,
            ``default_generation_settings.n_ctx``), "ollama" (``GET /api/ps`` at the root: the
            models loaded and the ``context_length`` each runs with; a model is loaded by its
            first chat request) or None (not at all, as llama-cpp-python's server; ``/props``
            and ``/api/ps`` are then 404s).
        structured: the ways of asking for structured output whose schema the server holds its
            answer to: "json_schema" (``response_format`` of that type, as OpenAI, vLLM and
            llama.cpp's server take it), "json_object" (type ``json_object`` with a ``schema``, as
            llama-cpp-python's server takes it).
        refuses_with: the status a request gets for any other ``response_format`` type
            (400; llama-cpp-python's server answers a ``json_schema`` with 500).
        ignores_formats: take a ``response_format`` type it does not hold answers to and ignore
            it, instead of refusing it (as vLLM and Ollama ignore ``json_object``'s ``schema``).
        slots: how many requests it works on at once (llama.cpp's ``--parallel``;
            llama-cpp-python's server works on one); the others wait for a slot, in turn.
            None: no limit.
        refuses_max_tokens: refuse a request that sends ``max_tokens`` with OpenAI's 400 for its
            reasoning models (they take ``max_completion_tokens`` only).
        cancels: a request whose client has gone (a timed-out attempt) stops and frees its
            slot, as vLLM's, llama.cpp's and Ollama's do; otherwise it is worked on to the end
            for nobody, as llama-cpp-python's server does, and the client's retry waits behind it.
        embedding_models: the models that embed texts (``POST /v1/embeddings``, with the offline
            model's hashing embedding); they are served besides ``models``.
        refuses_embeddings_with: the status an embeddings request for a chat model gets: 501,
            "does not support embeddings" (llama.cpp's server and Ollama), or 400 (vLLM).
        idle_close: seconds a kept-alive connection may stay idle before the server closes it,
            as vLLM's (uvicorn's), llama.cpp's and Node's servers do after 5 (None: never).
    """

    def __init__(
        self,
        *,
        models: Iterable[str] = ("offline-chat",),
        api_key: str = "test-key",
        seed: int = 0,
        faults: Faults | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        window: float = 60.0,
        keep: int = 100,
        usage: bool | Literal["unstreamed"] = True,
        strict: bool = False,
        clock: Callable[[], float] = time.monotonic,
        context_window: int | None = None,
        reports_window: Literal["vllm", "llama.cpp", "ollama"] | None = None,
        structured: Iterable[str] = ("json_schema", "json_object"),
        refuses_with: int = 400,
        ignores_formats: bool = False,
        slots: int | None = None,
        cancels: bool = False,
        refuses_max_tokens: bool = False,
        embedding_models: Iterable[str] = ("offline-embed",),
        refuses_embeddings_with: int = 501,
        idle_close: float | None = None,
    ) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        if slots is not None and slots < 1:
            raise ValueError("slots must be at least 1")
        self.structured = frozenset(structured)
        unknown = self.structured - {"json_schema", "json_object"}
        if unknown:
            raise ValueError(f"unknown structured output way(s): {', '.join(sorted(unknown))}")
        self.refuses_with = refuses_with
        self.ignores_formats = ignores_formats
        self.cancels = cancels
        self.refuses_max_tokens = refuses_max_tokens
        self._slots = threading.Semaphore(slots) if slots is not None else None
        if reports_window is not None and context_window is None:
            raise ValueError("reports_window needs a context_window")
        self.context_window = context_window
        self.reports_window = reports_window
        self.models = tuple(models)
        self.embedding_models = tuple(embedding_models)
        self.refuses_embeddings_with = refuses_embeddings_with
        self.rpm = rpm
        self.tpm = tpm
        self.window = window
        self.faults = faults or Faults()
        self.usage = usage
        self.strict = strict
        self._auth = f"Bearer {api_key}".encode()
        self._clock = clock
        self._model = OfflineModel(seed=seed)
        self._rng = random.Random(seed)
        self._closing = threading.Event()
        # The lock guards the fault RNG, the budget, the counters and the bodies kept.
        self._lock = threading.Lock()
        self._budget = RateBudget(self)  # reads rpm, tpm and window at each request
        self._stats = dict.fromkeys(_REQUEST_COUNTERS, 0)
        self._answered: list[float] = []
        self._bodies: deque[Any] = deque(maxlen=keep)
        self._ids = itertools.count(1)  # the answers' ids
        self._http: ReplyServer | None = None
        self.idle_close = idle_close

    @classmethod
    def like(cls, server: Literal["openai", "vllm", "llama.cpp", "llama-cpp-python", "ollama"], **options: Any) -> Self:
        """A server that behaves as ``server`` does in what converse depends on (``options``
        are the other arguments, and override these):

        - ``openai``: refuses body fields OpenAI does not define (400); ``json_schema``.
        - ``vllm``: reports its window in ``/v1/models``; ``json_schema``, and ``json_object``'s
          ``schema`` ignored; an abandoned request stops.
        - ``llama.cpp``: reports its window in ``/props``; both ways of structured output;
          four slots; an abandoned request stops.
        - ``llama-cpp-python``: no usage in a stream; refuses ``json_schema`` with a 500 and
          holds ``json_object``'s ``schema``; reports no window; one slot, and an abandoned
          request is finished for nobody.
        - ``ollama``: reports the window of a loaded model in ``/api/ps``; ``json_schema``, and
          ``json_object``'s ``schema`` ignored; an abandoned request stops.

        The window it reports (and refuses prompts over) is ``context_window`` (4096 unless given;
        OpenAI's: none).
        """
        presets: dict[str, dict[str, Any]] = {
            "openai": {"strict": True, "structured": ("json_schema",), "cancels": True,
                       "refuses_embeddings_with": 400},
            "vllm": {"reports_window": "vllm", "structured": ("json_schema",), "ignores_formats": True,
                     "cancels": True, "refuses_embeddings_with": 400},
            "llama.cpp": {"reports_window": "llama.cpp", "slots": 4, "cancels": True},
            "llama-cpp-python": {"usage": "unstreamed", "structured": ("json_object",), "refuses_with": 500,
                                 "slots": 1, "cancels": False},
            "ollama": {"reports_window": "ollama", "structured": ("json_schema",), "ignores_formats": True,
                       "cancels": True},
        }
        if server not in presets:
            raise ValueError(f"unknown server {server!r}; known: {', '.join(presets)}")
        window = {} if server == "openai" else {"context_window": 4096}
        return cls(**{**window, **presets[server], **options})

    def start(self) -> None:
        """Bind an ephemeral port on 127.0.0.1 and serve from a daemon thread."""
        if self._http is not None:
            raise RuntimeError("the server was already started")
        self._http = ReplyServer(self._serve, idle_close=self.idle_close)
        self._http.start()

    def close(self) -> None:
        """Stop serving, end every connection and join the threads (idempotent)."""
        if self._http is None or self._closing.is_set():
            return
        self._closing.set()  # also ends the latency waits
        self._http.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, for ``AsyncOpenAI(base_url=...)``."""
        if self._http is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._http.server_port}/v1"

    @property
    def requests(self) -> list[Any]:
        """The last ``keep`` request bodies as decoded JSON, oldest first (no headers)."""
        with self._lock:
            return list(self._bodies)

    def stats(self) -> ServerStats:
        """A snapshot of the counters."""
        with self._lock:
            connections = self._http.accepted if self._http is not None else 0
            return ServerStats(**self._stats, answered_at=tuple(self._answered), connections=connections)

    def _serve(self, method: str, path: str, authorization: str | None, raw: bytes, gone: Callable[[], bool]) -> Reply:
        """The reply to a request, counted."""
        route = path.split("?", 1)[0].rstrip("/")
        counter, reply = self._respond(method, route, authorization, raw, gone)
        if counter is not None:
            with self._lock:
                self._stats["requests"] += 1
                self._stats[counter] += 1
        return reply

    def _respond(
        self, method: str, path: str, authorization: str | None, raw: bytes, gone: Callable[[], bool]
    ) -> _Counted:
        if (method, path) not in _ROUTES or _REPORTS.get(path, self.reports_window) != self.reports_window:
            return None, error_reply(404, f"Unknown request: {method} {path}", "unknown_url")
        counter = "rejected" if method == "POST" else None  # only chat completion requests count
        if authorization is None or not hmac.compare_digest(authorization.encode(), self._auth):
            return counter, error_reply(401, "Incorrect API key provided.", "invalid_api_key")
        if path == "/props":
            return None, props_reply(self.context_window)
        if path == "/api/ps":
            with self._lock:
                loaded = self.models if self._stats["requests"] else ()  # Ollama loads on first use
            return None, running_reply(loaded, self.context_window)
        if method == "GET":
            reported = self.context_window if self.reports_window == "vllm" else None
            return None, models_reply((*self.models, *self.embedding_models), reported)
        if path == "/v1/embeddings":
            return self._embeddings(raw, gone)
        read = self._read(raw, ChatBody, OPENAI_FIELDS, self.models)
        if isinstance(read, Reply):
            return "rejected", read
        decoded, body = read
        if self.refuses_max_tokens and "max_tokens" in decoded:
            message = (
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead."
            )
            return "rejected", error_reply(400, message, "unsupported_parameter", param="max_tokens")
        way = _way(decoded)
        if way is not None and way not in self.structured:
            if not self.ignores_formats:
                field = f"response_format of type {way}"
                kind = "server_error" if self.refuses_with >= 500 else "invalid_request_error"
                return "rejected", error_reply(self.refuses_with, f"{field} is not supported", None, kind=kind)
            decoded = {k: v for k, v in decoded.items() if k not in ("response_format", "format")}
            way = None
        request = completion_request(body, decoded)
        if self._slots is None:
            return self._chat(body, request, way is not None, gone)
        with self._slots:  # a request waits here for a slot, as on a server with --parallel N
            return self._chat(body, request, way is not None, gone)

    def _read(self, raw: bytes, kind: type[_Body], fields: frozenset[str], served: Iterable[str]) -> tuple[dict[str, Any], _Body] | Reply:
        """A request's body, kept, and read as ``kind``; or the 400 or 404 it gets: a body that
        is not one, fields the API does not define (a strict server), a model not ``served``."""
        try:
            decoded = decode_json(raw)
            with self._lock:
                self._bodies.append(decoded)
            body = msgspec.convert(decoded, kind)
        except msgspec.DecodeError as exc:
            return error_reply(400, f"Invalid request body: {exc}", None)
        unknown = sorted(set(decoded) - fields) if self.strict else []
        if unknown:
            return error_reply(400, f"Unrecognized request argument supplied: {', '.join(unknown)}", None)
        if body.model not in served:
            return error_reply(404, f"The model `{body.model}` does not exist or you do not have access to it.", "model_not_found")
        return decoded, body

    def _chat(self, body: ChatBody, request: CompletionRequest, enforced: bool, gone: Callable[[], bool]) -> _Counted:
        """The answer to an authorised chat completion: the model's, unless the budget or a fault
        says otherwise. ``enforced``: the answer is held to the schema the request sent."""
        answer = _complete(self._model, request)
        window, prompt = self.context_window, answer.usage.prompt_tokens
        if window is not None and prompt + request.max_tokens > window:
            return "rejected", window_exceeded(window, prompt, request.max_tokens)
        with self._lock:
            now = self._clock()
            wait = self._budget.admit(now, answer.usage.prompt_tokens)
            headers = self._budget.headers(now)
        if wait:
            never = wait == math.inf  # the prompt alone is over the tpm budget
            headers |= retry_headers(self.window if never else wait)
            if never:
                headers["x-should-retry"] = "false"
            reply = error_reply(429, "Rate limit reached.", "rate_limit_exceeded", headers)
            return "rate_limited_budget", reply
        with self._lock:
            faults = self.faults
            fault = _fault(faults, self._rng.random())
        if fault == "bad_json" and (enforced or _quoted_schema(request) is None):
            fault = None  # only a schema the server does not enforce can be answered wrongly
        failed = self._failed(faults, fault, headers, gone)
        if failed is not None:
            return failed
        with self._lock:
            number = next(self._ids)
            now = self._clock()
            if fault == "empty":
                answer = msgspec.structs.replace(answer, text=_EMPTY[number % len(_EMPTY)])
            elif fault == "echo":
                answer = _echo(answer, request)
            elif fault == "bad_json":
                answer = _restated_schema(answer, request)
            answer = _cut(answer, request.max_tokens)
            if fault != "malformed":  # malformed answers are not served
                usage = answer.usage
                self._budget.charge(now, 0, usage.completion_tokens)
                self._stats["prompt_tokens"] += usage.prompt_tokens
                self._stats["completion_tokens"] += usage.completion_tokens
                if fault is None:
                    self._answered.append(now)
                headers |= self._budget.headers(now)
            if enforced:
                self._stats["enforced"] += 1
        headers["x-request-id"] = f"req_{number}"
        malformed = fault == "malformed"
        counter = _COUNTERS.get(fault, "successes")
        if gone():  # the work was done for nobody: the client timed out and left
            return "abandoned", Reply(0, {}, None)
        with_usage = self.usage is True or (self.usage == "unstreamed" and not body.stream)
        content = chat_answer(number, body, answer, malformed=malformed, with_usage=with_usage)
        return counter, Reply(200, headers, content)

    def _failed(
        self, faults: Faults, fault: str | None, headers: dict[str, str], gone: Callable[[], bool]
    ) -> _Counted | None:
        """The latency, then what an injected 429, 500 or dropped connection answers (None for
        any other fault, or none: the request is answered)."""
        if faults.latency and self._work(faults.latency, gone):
            # shutting down, or (a server that cancels) the client has gone: the work stops
            return ("abandoned" if gone() else "dropped"), Reply(0, {}, None)
        if fault == "429":
            headers |= retry_headers(faults.retry_after)
            return "rate_limited_injected", error_reply(429, "Rate limit reached (injected).", "rate_limit_exceeded", headers)
        if fault == "500":
            return "server_errors", error_reply(500, "Server error (injected).", None, headers, "server_error")
        if fault == "drop":
            return "dropped", Reply(0, {}, None)
        return None

    def _embeddings(self, raw: bytes, gone: Callable[[], bool]) -> _Counted:
        """The answer to an authorised embeddings request, faults and budget included (only
        the faults that make sense for it: 429, 500, a dropped connection, malformed JSON, and
        "empty": no embeddings at all)."""
        read = self._read(raw, EmbeddingBody, EMBEDDING_FIELDS, (*self.models, *self.embedding_models))
        if isinstance(read, Reply):
            return "rejected", read
        _, body = read
        if body.model not in self.embedding_models:
            if self.refuses_embeddings_with == 501:  # llama.cpp's server (and Ollama, which runs it)
                message = "This server does not support embeddings. Start it with `--embeddings`"
                return "rejected", error_reply(501, message, None, kind="not_supported_error")
            return "rejected", error_reply(self.refuses_embeddings_with, "The model does not support Embeddings API", None)
        answer = _embed(self._model, EmbeddingRequest(texts=body.texts))
        with self._lock:
            now = self._clock()
            wait = self._budget.admit(now, answer.usage.prompt_tokens)
            headers = self._budget.headers(now)
            faults = self.faults
            fault = _fault(faults, self._rng.random())
        if wait:
            headers |= retry_headers(self.window if wait == math.inf else wait)
            return "rate_limited_budget", error_reply(429, "Rate limit reached.", "rate_limit_exceeded", headers)
        failed = self._failed(faults, fault, headers, gone)
        if failed is not None:
            return failed
        vectors = [] if fault == "empty" else answer.vectors
        with self._lock:
            number = next(self._ids)
            if fault != "malformed":  # malformed answers are not served
                self._stats["prompt_tokens"] += answer.usage.prompt_tokens
                if fault != "empty":
                    self._answered.append(self._clock())
        headers["x-request-id"] = f"req_{number}"
        if gone():
            return "abandoned", Reply(0, {}, None)
        content = embedding_answer(
            body, vectors, answer.usage.prompt_tokens, malformed=fault == "malformed", with_usage=self.usage is not False
        )
        counter = {"malformed": "malformed", "empty": "empty"}.get(fault or "", "embeddings")
        return counter, Reply(200, headers, content)

    def _work(self, seconds: float, gone: Callable[[], bool]) -> bool:
        """Spend ``seconds`` on a request; True if it was cut short: the server is closing, or
        (a server that ``cancels``) its client has gone."""
        if not self.cancels:
            return self._closing.wait(seconds)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._closing.wait(min(left, 0.01)) or gone():
                return True
        return False


def _way(decoded: dict[str, Any]) -> str | None:
    """How a request asks for structured output: "json_schema" or "json_object" (its
    ``response_format`` type), or None (it does not)."""
    answer = decoded.get("response_format")
    if isinstance(answer, dict) and answer.get("type") in ("json_schema", "json_object"):
        return str(answer["type"])
    return None


def _quoted_schema(request: CompletionRequest) -> str | None:
    """The JSON Schema a structured request's prompt quotes (its latest), or None."""
    for message in reversed(request.messages):
        at = message.content.rfind(_SCHEMA_MARK)
        if at != -1:
            return message.content[at + len(_SCHEMA_MARK) :].strip()
    return None


def _restated_schema(answer: CompletionResponse, request: CompletionRequest) -> CompletionResponse:
    """``answer`` replaced by the JSON Schema its prompt quotes: valid JSON, but not the answer."""
    text = _quoted_schema(request) or ""
    usage = msgspec.structs.replace(answer.usage, completion_tokens=estimate_tokens(len(text)))
    return msgspec.structs.replace(answer, text=text, usage=usage)


_COUNTERS: dict[str | None, str] = {
    "malformed": "malformed", "empty": "empty", "echo": "echoed", "bad_json": "bad_json",
}


def _rates(faults: Faults) -> tuple[float, ...]:
    """The rates of ``_FAULTS``, in order."""
    return (
        faults.rate_429, faults.rate_500, faults.rate_drop, faults.rate_malformed, faults.rate_empty, faults.rate_echo,
        faults.rate_bad_json,
    )


def _fault(faults: Faults, draw: float) -> str | None:
    """The fault to make, for a ``draw`` uniform in [0, 1): each with its rate's chance, or None."""
    edges = itertools.accumulate(_rates(faults))
    return next((name for name, edge in zip(_FAULTS, edges, strict=True) if draw < edge), None)


def _echo(answer: CompletionResponse, request: CompletionRequest) -> CompletionResponse:
    """``answer`` replaced by the text of the request's first system message (else its first)."""
    messages = request.messages
    first = next((m for m in messages if m.role == "system"), messages[0] if messages else None)
    text = first.content if first is not None else ""
    usage = msgspec.structs.replace(answer.usage, completion_tokens=estimate_tokens(len(text)))
    return msgspec.structs.replace(answer, text=text, usage=usage)


def _cut(answer: CompletionResponse, max_tokens: int) -> CompletionResponse:
    """``answer`` as a server gives it under ``max_tokens``: longer (counted as its usage counts
    tokens), it is cut at ``max_tokens`` tokens, mid-word if need be, with ``finish_reason``
    "length"; else as it is, "stop"."""
    if answer.usage.completion_tokens <= max_tokens:
        return msgspec.structs.replace(answer, finish_reason="stop")
    text = answer.text[: max(max_tokens, 0) * CHARS_PER_TOKEN]
    usage = msgspec.structs.replace(answer.usage, completion_tokens=estimate_tokens(len(text)))
    return msgspec.structs.replace(answer, text=text, usage=usage, finish_reason="length")


def _embed(model: OfflineModel, request: EmbeddingRequest) -> EmbeddingResponse:
    """The offline model's embeddings, computed on this thread with no event loop."""
    return _at_once(model.embed(request))


def _complete(model: OfflineModel, request: CompletionRequest) -> CompletionResponse:
    """The offline model's answer, computed on this thread with no event loop."""
    return _at_once(model.complete(request))


def _at_once(coro: Coroutine[Any, Any, _Answer]) -> _Answer:
    """What a coroutine of the offline model returns, run in one step: without latency the
    offline model never suspends, so one step runs it, usage and all."""
    try:
        coro.send(None)
    except StopIteration as done:
        return cast(_Answer, done.value)
    coro.close()
    raise RuntimeError("the offline model suspended")
