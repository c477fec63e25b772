"""The ``openai:NAME`` model: the official ``openai`` SDK against any OpenAI-compatible server.

The SDK builds each request and reads each status; its requests travel through
``_transport`` (aiohttp on asyncio), a streamed answer's events are read by ``_sse`` and an
embeddings answer is decoded by msgspec, each at a fraction of what the SDK's own way costs.

The SDK's own retries are off (``max_retries=0``): the scheduler alone retries, so it sees
(and the log records) every attempt. Each failure is turned into a ``CallFailed`` that says
whether trying again can help and how long the server asked us to wait.

The API key goes to the server and nowhere else (``converse.log._secrets``): the base URL is
known to the rest of converse (errors, the scheduler's endpoint, the log) only scrubbed of its
credentials (``http://***@host/v1?api-key=***``), while requests go to the URL as given; errors
are scrubbed of URLs' credentials, and errors and answers of the key (in any case), of the
URL's secrets and of their Basic-auth forms.
"""

from __future__ import annotations

import copy
import email.utils
import json
import os
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio
import msgspec

from actors.log import get_logger

from .._exceptions import CallFailed, ModelSpecError
from ..log._events import Usage
from ..log._secrets import REDACTED, Secrets, remember, url_secrets
from ._model import (
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    estimate_prompt_tokens,
    estimate_tokens,
    text_vector,
)
from ._sse import sse_events
from ._structured import Dialect, StructuredWays

_log = get_logger()

if TYPE_CHECKING:
    from openai import AsyncOpenAI, RequestOptions

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT = 120.0  # seconds for one attempt: the SDK's own default is 600
PLACEHOLDER_KEY = "EMPTY"  # local servers ignore the key, but the SDK insists on one
_ASK_TIMEOUT = 5.0  # seconds for each question about the server (its context window)


class OpenAIModel:
    """A chat model reached through ``openai.AsyncOpenAI``.

    Args:
        name: the model name the server knows (``gpt-4o``, ``llama3.1:8b``, ...).
        spec: the spec this model was opened from (recorded in the log).
        base_url: the server (``--base-url`` / ``OPENAI_BASE_URL``); OpenAI's by default. Its
            query (``?api-key=...``) is sent with every request; ``base_url`` is the URL scrubbed
            of credentials.
        api_key: the key (``OPENAI_API_KEY``); a placeholder is used for a local server.
        stream: stream the answer (token usage comes with the last chunk).
        timeout: seconds before one attempt is abandoned; None: ``DEFAULT_TIMEOUT``, which a
            scenario's ``[model] timeout`` may change (``with_timeout``).
    """

    def __init__(
        self,
        name: str,
        *,
        spec: str,
        base_url: str | None = None,
        api_key: str | None = None,
        stream: bool = False,
        timeout: float | None = None,
    ) -> None:
        from openai import AsyncOpenAI

        from ._transport import ModelHTTPClient

        self.name = name
        self._spec = spec
        given = server_url(base_url)
        # The SDK glues its paths after the whole URL, query included: the query goes on its own.
        url, _, query = given.partition("?")
        self._url = url.rstrip("/")  # the real one: only the client has it
        given = self._url + (f"?{query}" if query else "")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self._url == OPENAI_URL:
                raise ModelSpecError(spec, "no API key: set OPENAI_API_KEY (or --base-url for a local server)")
            key = PLACEHOLDER_KEY
        self._secrets = Secrets.of(key, given)  # the placeholder is too short to be one
        remember(self._secrets)
        self.base_url = self._secrets.scrub_all(given)
        if REDACTED in url_secrets(given):
            raise ModelSpecError(
                spec, f"the base URL {self.base_url} has {REDACTED} for its credentials (a log records it so): "
                "give the URL again with --base-url",
            )
        self.stream = stream
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self._timeout_given = timeout is not None
        self._client: AsyncOpenAI = AsyncOpenAI(
            base_url=self._url, api_key=key, max_retries=0, timeout=self.timeout,
            default_query=dict(parse_qsl(query, keep_blank_values=True)) or None,
            http_client=ModelHTTPClient(),
        )
        self.structured_ways = StructuredWays(_dialects(self.base_url))
        self._wire = _Wire()  # shared with the copies ``with_timeout`` makes

    def with_timeout(self, seconds: float | None) -> OpenAIModel:
        """This model with attempts abandoned after ``seconds`` (a scenario's ``[model] timeout``),
        sharing its connections and what its server refused; itself if ``seconds`` is None or
        its spec gave a timeout (``?timeout=S`` wins)."""
        if seconds is None or self._timeout_given or seconds == self.timeout:
            return self
        timed = copy.copy(self)
        timed.timeout = seconds
        timed._client = self._client.with_options(timeout=seconds)
        return timed

    @property
    def spec(self) -> str:
        """The spec this model was opened from."""
        return self._spec

    @property
    def endpoint(self) -> str:
        """What the scheduler keys limits by: the server and the model."""
        return f"{self.base_url}|{self.name}"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """One attempt at one request.

        Raises:
            CallFailed: the attempt failed; ``retryable`` says whether another can help.
        """
        import openai

        wire = self._wire
        try:
            limit = wire.limit
            try:
                return await self._create(_body(self.name, request, limit), request)
            except openai.BadRequestError as exc:
                if limit != "max_tokens" or not _wants_completion_tokens(exc):
                    raise
                # OpenAI's reasoning models take the answer's limit by its newer name only.
                wire.limit = "max_completion_tokens"
                _log.info("the server takes max_completion_tokens, not max_tokens", model=self.name)
                return await self._create(_body(self.name, request, wire.limit), request)
        except (openai.APIError, json.JSONDecodeError, msgspec.DecodeError) as exc:
            # The SDK lets a body that is not JSON through as a bare JSONDecodeError; a streamed
            # event's is msgspec's.
            raise self._failure(exc) from None

    async def _create(self, body: dict[str, Any], request: CompletionRequest) -> CompletionResponse:
        if self.stream:
            return await self._streamed(body, request)
        response = await self._client.post("/chat/completions", cast_to=object, body=body, options=_AUTH)
        choice = _first_choice(response)
        message = choice.get("message")
        text = self._secrets.scrub(_text(message.get("content") if isinstance(message, dict) else None))
        return CompletionResponse(
            text=text, usage=_usage(_field(response, "usage"), request, text), model=self._spec,
            finish_reason=_text(choice.get("finish_reason")) or None,
        )

    async def _streamed(self, body: dict[str, Any], request: CompletionRequest) -> CompletionResponse:
        """A streamed answer, its events read from the body as they come (``_sse``), at a
        fraction of what the SDK's own stream costs: the transport's failures become the SDK's,
        as there; an error event fails the attempt as the server's error, naming it."""
        import httpx2
        import openai

        pieces: list[str] = []
        reported: object = None
        finish_reason: str | None = None
        response: httpx2.Response = await self._client.post(
            "/chat/completions", cast_to=httpx2.Response, options=_AUTH, stream=True,
            body={**body, "stream": True, "stream_options": {"include_usage": True}},
        )
        chunks = response.aiter_bytes()
        events = sse_events(chunks)
        try:
            async for _, data in events:
                if data.startswith(b"[DONE]"):
                    # What follows the end (nothing, from a server that keeps to the format), read
                    # for a tenth of a second at most, as the SDK's own stream does: so that the
                    # connection serves the next request.
                    with anyio.move_on_after(0.1):
                        async for _ in events:
                            pass
                    break
                chunk = _decode(data)
                if isinstance(chunk, dict) and chunk.get("error"):  # vLLM's and llama.cpp's, as OpenAI's
                    error = chunk["error"]
                    said = (error.get("message") or error) if isinstance(error, dict) else error
                    raise CallFailed(
                        f"{self.base_url} ({self.name}) failed in the middle of its answer: "
                        f"{self._secrets.scrub_all(str(said))}", retryable=True, kind="server",
                    )
                choice = _first_choice(chunk)
                delta = choice.get("delta")
                piece = _text(delta.get("content") if isinstance(delta, dict) else None)
                if piece:
                    pieces.append(piece)
                if ended := _text(choice.get("finish_reason")):
                    finish_reason = ended  # the last chunk with a choice says it
                if (usage := _field(chunk, "usage")) is not None:
                    reported = usage
        except httpx2.TimeoutException as exc:
            raise openai.APITimeoutError(request=response.request) from exc
        except httpx2.TransportError as exc:
            raise openai.APIConnectionError(request=response.request) from exc
        finally:
            with anyio.CancelScope(shield=True):
                await events.aclose()
                await chunks.aclose()
                await response.aclose()
        text = self._secrets.scrub("".join(pieces))  # a secret split over chunks is whole here
        return CompletionResponse(
            text=text, usage=_usage(reported, request, text), model=self._spec, finish_reason=finish_reason
        )

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """One attempt at embedding a request's texts (``POST /embeddings``, as floats: every
        server that embeds takes that encoding).

        Raises:
            CallFailed: the attempt failed; a server or model that does not embed (llama.cpp's
                server and Ollama answer 501 for a chat model; vLLM and OpenAI 400 or 404) fails
                with ``kind="not_supported"``, not to be retried.
        """
        import httpx2
        import openai

        if not request.texts:
            return EmbeddingResponse(vectors=[], usage=Usage(), model=self._spec)
        try:
            # The body is read here, not by the SDK: it would build an object for every number
            # of every vector, each after a look at its type (about 10 µs a number: 12 ms of CPU
            # for 20 texts of 64 numbers, and OpenAI's have 1,536), and even its plain JSON
            # (json.loads, then a float a number) costs 18 ms for 20 of OpenAI's vectors, where
            # msgspec, told their shape, takes 2.4.
            answer: httpx2.Response = await self._client.post(
                "/embeddings", cast_to=httpx2.Response, options=_AUTH,
                body={"model": self.name, "input": request.texts, "encoding_format": "float"},
            )
            vectors, usage = _embedded(answer.content)
        except (openai.APIError, msgspec.DecodeError) as exc:
            raise self._embedding_failure(exc) from None
        reported = _count(_field(usage, "prompt_tokens"))
        if reported is not None:
            usage = Usage(prompt_tokens=reported)
        else:  # Ollama's and some proxies' answers carry no usage
            usage = Usage(prompt_tokens=sum(estimate_tokens(len(text)) for text in request.texts), estimated=True)
        return EmbeddingResponse(vectors=vectors, usage=usage, model=self._spec)

    def _embedding_failure(self, exc: Exception) -> CallFailed:
        import openai

        if isinstance(exc, openai.APIStatusError) and (
            exc.status_code == 501 or (exc.status_code in (400, 404) and "embed" in str(exc).lower())
        ):
            return CallFailed(
                f"{self.base_url} ({self.name}) does not embed texts: {self._scrub(exc)}; name an embedding "
                "model (llama.cpp's server must be started with --embeddings)",
                retryable=False, status=exc.status_code, kind="not_supported",
            )
        return self._failure(exc)

    def _failure(self, exc: Exception) -> CallFailed:
        import openai

        where = f"{self.base_url} ({self.name})"
        if isinstance(exc, openai.APITimeoutError):
            return CallFailed(
                f"{where} did not answer within {self.timeout:g} s; the request was abandoned (a local "
                "server may go on working on it)", retryable=True, kind="timeout",
            )
        if isinstance(exc, openai.APIConnectionError):
            from ._transport import connection_trouble

            connecting, trouble = connection_trouble(exc)
            trouble = self._secrets.scrub_all(trouble)
            said = f"cannot reach {where}: {trouble}" if connecting else f"{where}: {trouble}"
            return CallFailed(said, retryable=True, kind="connection")
        if isinstance(exc, openai.AuthenticationError):
            return CallFailed(
                f"{where} rejected the API key: check OPENAI_API_KEY", retryable=False, status=401, kind="auth"
            )
        if isinstance(exc, openai.NotFoundError):
            return CallFailed(
                f"{where}: no such model {self.name!r}; check the model name", retryable=False, status=404,
                kind="not_found",
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retryable = status in (408, 409, 429) or status >= 500
            kind = "rate_limit" if status == 429 else "server" if status >= 500 else "request"
            return CallFailed(
                f"{where} answered {status}: {self._scrub(exc)}",
                retryable=retryable,
                retry_after=retry_after(exc.response.headers) if retryable else None,
                status=status,
                kind=kind,
            )
        # A 200 whose body is not a chat completion (malformed JSON, a proxy's error page).
        return CallFailed(f"{where} sent a malformed answer: {self._scrub(exc)}", retryable=True, kind="malformed")

    def _scrub(self, exc: Exception) -> str:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return self._secrets.scrub_all(text)

    async def server_window(self) -> int | None:
        """The context window the server reports for this model, or None (it reports none,
        or cannot be asked): vLLM's ``GET /v1/models`` (``max_model_len``), else llama.cpp's
        ``GET /props`` at the server's root (``default_generation_settings.n_ctx``, or a top
        level ``n_ctx``), else Ollama's ``GET /api/ps`` (``context_length`` of the model, if it
        is loaded: the window it runs with, which may be far below what the model was trained
        for). Each question has a few seconds. Never raises; OpenAI's own API is not asked."""
        if self._url == OPENAI_URL:
            return None
        listed = await self._ask("models")
        rows = listed.get("data") if isinstance(listed, dict) else None
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("id") == self.name and _tokens(row.get("max_model_len")):
                return int(row["max_model_len"])
        root = self._url.removesuffix("/v1")
        props = await self._ask(f"{root}/props")
        if isinstance(props, dict):
            settings = props.get("default_generation_settings")
            for found in (settings.get("n_ctx") if isinstance(settings, dict) else None, props.get("n_ctx")):
                if isinstance(found, int) and _tokens(found):
                    return found
        running = await self._ask(f"{root}/api/ps")
        rows = running.get("models") if isinstance(running, dict) else None
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and self.name in (row.get("name"), row.get("model")):
                found = row.get("context_length")
                if isinstance(found, int) and _tokens(found):
                    return found
        return None

    async def _ask(self, path: str) -> object:
        """The JSON the server answers a GET of ``path`` with (relative to the base URL, or
        absolute), or None on any failure."""
        try:
            return await self._client.get(path, cast_to=object, options={"timeout": _ASK_TIMEOUT})
        except Exception:  # any failure means "not reported"
            return None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()


def server_url(base_url: str | None) -> str:
    """The server an ``openai:`` model talks to, as given (its query too): ``base_url``, else
    ``OPENAI_BASE_URL``, else OpenAI's own."""
    return (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL).strip()


def _dialects(base_url: str) -> tuple[Dialect, ...]:
    """The structured-output dialects to try first at ``base_url``, best first (``prompt``, the
    schema in the prompt only, is always the last resort)."""
    if base_url == OPENAI_URL:
        return ("json_schema",)
    # vLLM, llama.cpp's server, Ollama and LM Studio take json_schema (and vLLM and Ollama would
    # ignore json_object's schema); llama-cpp-python's server refuses json_schema with a 500 and
    # takes json_object with a schema.
    return ("json_schema", "json_object")


def _tokens(value: object) -> bool:
    """Whether ``value`` is a window: a positive int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# What ``chat.completions.create`` and ``embeddings.create`` send their requests with: the API
# key as a bearer token (never an admin key the environment may hold).
_AUTH: RequestOptions = {"security": {"bearer_auth": True}}


class _Wire:
    """What a server was found to need: the name it takes the answer's limit by (``max_tokens``,
    or ``max_completion_tokens`` for OpenAI's reasoning models, which refuse the older name;
    local servers ignore the newer one, so the older is sent until refused)."""

    __slots__ = ("limit",)

    def __init__(self) -> None:
        self.limit = "max_tokens"


def _wants_completion_tokens(exc: Exception) -> bool:
    """Whether a 400 says ``max_tokens`` is not taken and ``max_completion_tokens`` is."""
    text = str(exc)
    return "max_completion_tokens" in text and "max_tokens" in text.replace("max_completion_tokens", "")


def _body(name: str, request: CompletionRequest, limit: str = "max_tokens") -> dict[str, Any]:
    """The body of ``POST /chat/completions`` for ``request``: its messages, temperature and
    answer's limit (under the name ``limit``), and every parameter as a body field, as it was
    written (``top_k``, ``min_p``, ``grammar``, ... as well as those OpenAI defines).

    It is what ``chat.completions.create`` sends for the same request, posted through the same
    client (``OpenAI.post``, as the SDK documents for requests it has no method for), and its
    answer is read as plain JSON. ``create`` would first walk its arguments against their
    declared types, every message against every kind of message the SDK knows (about 30
    steps of type introspection a message: 10 ms of CPU for a prompt of 30 messages, against a
    fraction of a millisecond for the rest of a call), and build objects of the answer (of
    each chunk of a streamed one: 9 ms an answer of 27 chunks), none of which changes what is
    sent or read.
    """
    body: dict[str, Any] = {
        "model": name,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "temperature": request.temperature,
        limit: request.max_tokens,
    }
    body.update(request.params)
    return body


_decode = msgspec.json.Decoder().decode


def _count(value: object) -> int | None:
    """A token count of a usage object; None when it is missing, not a whole number, or negative
    (a count that would take tokens off a budget)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _field(data: object, key: str) -> Any:
    """``data[key]`` of a JSON object; None for anything else."""
    return data.get(key) if isinstance(data, dict) else None


def _first_choice(data: object) -> dict[str, Any]:
    """The first choice of a chat completion (or of a chunk of a streamed one); {} if it has none."""
    choices = _field(data, "choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return first if isinstance(first, dict) else {}


def _text(value: object) -> str:
    """A string field of an answer; "" when it is missing or not a string."""
    return value if isinstance(value, str) else ""


class _Row(msgspec.Struct):
    embedding: list[float] | str = []
    index: int = 0


class _Embeddings(msgspec.Struct):
    """An embeddings answer, as servers send it."""

    data: list[_Row] = []
    usage: Any = None


_decode_embeddings = msgspec.json.Decoder(_Embeddings).decode


def _embedded(body: bytes) -> tuple[list[list[float]], Any]:
    """An embeddings answer's vectors, in the order of their ``index``, and its ``usage``; an
    answer of another shape is read as leniently as it can be (rows that are not objects
    skipped, an index that is not a number taken as 0, an embedding that is neither numbers nor
    base64 empty).

    Raises:
        msgspec.DecodeError: the body is not JSON.
    """
    try:
        answer = _decode_embeddings(body)
    except msgspec.ValidationError:
        loose = _decode(body)
        data = _field(loose, "data")
        rows = [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
        rows.sort(key=lambda row: row["index"] if isinstance(row.get("index"), int) else 0)
        return [_floats(row.get("embedding")) for row in rows], _field(loose, "usage")
    ordered = sorted(answer.data, key=lambda row: row.index)
    return [row.embedding if isinstance(row.embedding, list) else _floats(row.embedding) for row in ordered], answer.usage


def _floats(embedding: Any) -> list[float]:
    """One embedding as numbers: a list of them, or the base64 of little-endian float32s that a
    server may send whatever encoding was asked for."""
    if isinstance(embedding, str):
        return [float(x) for x in text_vector(embedding)]
    return [float(x) for x in embedding] if isinstance(embedding, list) else []


def _usage(reported: object, request: CompletionRequest, text: str) -> Usage:
    """The call's usage as the server ``reported`` it (its ``usage`` object), or, when it sent
    none (some servers never do, others ignore ``stream_options.include_usage``), our own
    estimate, marked ``estimated``: the prompt's from its messages and the answer's from its
    length, counted as the memory counts them. Budgets and ``--tpm`` hold on it."""
    if isinstance(reported, dict):
        prompt, completion = _count(reported.get("prompt_tokens")), _count(reported.get("completion_tokens"))
        return Usage(prompt_tokens=prompt or 0, completion_tokens=completion or 0)
    return Usage(
        prompt_tokens=estimate_prompt_tokens(request.messages),
        completion_tokens=estimate_tokens(len(text)),
        estimated=True,
    )


def retry_after(headers: Any, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, or ``retry-after`` as seconds
    or as an HTTP date), if any; ``now`` is the Unix time a date is counted from."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name) if headers is not None else None
        if value is None:
            continue
        seconds: float | None
        try:
            seconds = float(value) * scale
        except ValueError:
            seconds = None if name == "retry-after-ms" else _until(value, time.time() if now is None else now)
        if seconds is not None and seconds >= 0:
            return seconds
    return None


def _until(date: str, now: float) -> float | None:
    """Seconds from ``now`` to an HTTP date (``Wed, 21 Oct 2026 07:28:00 GMT``); 0 if past."""
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)
