"""Structured output: ask a model for JSON matching a msgspec type, and repair what fails.

``complete_structured`` appends an instruction with the type's JSON Schema to the request and,
where the server can constrain its decoding to a schema, sends the schema in the server's
dialect too (``DIALECTS``): then even a small model's answer is valid by construction. It
decodes the answer with msgspec (a fenced block or prose around the object is tolerated) and,
when the answer does not validate, shows the model msgspec's own error (``Expected `int`, got
`str` - at `$.scores[0].value```) and asks again. Every call is returned, so a caller can
record each one in the log, with the dialect it used.

A server that refuses a dialect (whatever status it refuses with) gets the next one, down to
``prompt`` (the schema in the prompt only); a model's ``structured_ways`` (``StructuredWays``)
remembers what its server refused, so a sweep asks each server once.

Errors it raises (in ``converse._exceptions``, with every other)::

    StructuredOutputError   no answer validated (``schema_name``, ``attempts``, ``last_error``)
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Literal, TypeVar

import msgspec

from .._exceptions import CallFailed, StructuredOutputError
from ..log._events import ChatMessage, Usage
from ..scenario._scenario import StructuredOutput
from ._model import (
    CompletionRequest,
    CompletionResponse,
    Model,
    complete_checked,
    endpoint_of,
    estimate_prompt_tokens,
)
from ._scheduler import Attempt, Scheduler

__all__ = [
    "DIALECTS",
    "Dialect",
    "Structured",
    "StructuredAttempt",
    "StructuredWays",
    "complete_structured",
    "decode_answer",
    "format_params",
    "schema_of_params",
]

T = TypeVar("T")

Dialect = Literal["json_schema", "json_object", "prompt"]
DIALECTS: tuple[Dialect, ...] = ("json_schema", "json_object", "prompt")

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_INSTRUCTION = (
    "Answer with one JSON object only: no prose, no Markdown. It must match this JSON Schema:\n{schema}"
)
_REPAIR = (
    "Your answer is not valid: {error}\n"
    "Reply with the corrected JSON object only, matching the schema given above."
)
# Statuses that say nothing about the dialect: the key, the model, the pace, a timeout.
_NOT_A_REFUSAL = frozenset({401, 403, 404, 408, 409, 429})


class StructuredWays:
    """The dialects a model's server may take, best first, and what it did with each.

    A model that talks to a server keeps one (its ``structured_ways`` attribute), shared by
    every run that uses the model: a dialect the server refused is not tried again, and one
    it answered is known good (a later failure with it is a failure, not a refusal).

    Args:
        preferred: the dialects to try for ``structured = "auto"``, best first; ``prompt``
            is always the last resort and need not be named.
    """

    def __init__(self, preferred: tuple[Dialect, ...]) -> None:
        self.preferred = preferred
        self.refused: dict[Dialect, str] = {}  # dialect -> how the server refused it
        self.answered: set[Dialect] = set()

    def order(self, setting: StructuredOutput) -> list[Dialect]:
        """The dialects to try under ``setting``, best first, those refused left out."""
        named: tuple[Dialect, ...] = self.preferred if setting == "auto" else (setting,)
        order = [d for d in named if d != "prompt" and d not in self.refused]
        return [*order, "prompt"]


class StructuredAttempt(msgspec.Struct, frozen=True, kw_only=True):
    """One model call made by ``complete_structured``.

    Attributes:
        messages: the messages sent.
        text: the model's answer, as it came.
        error: why the answer did not validate (msgspec's message); ``None`` if it did.
        usage: the call's token usage.
        model: the model that answered (the response's ``model``).
        latency: seconds the call took, retries by the scheduler included.
        dialect: how the schema was sent (``DIALECTS``; ``prompt``: in the prompt only).
    """

    messages: list[ChatMessage]
    text: str
    error: str | None
    usage: Usage
    model: str
    latency: float
    dialect: Dialect = "prompt"


class Structured(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """A validated answer and every call it took (the last one gave ``value``).

    Attributes:
        value: the decoded answer.
        attempts: each call in order; all but the last have an ``error``.
    """

    value: T
    attempts: list[StructuredAttempt]

    @property
    def usage(self) -> Usage:
        """The token usage of all the calls together."""
        return Usage(
            prompt_tokens=sum(a.usage.prompt_tokens for a in self.attempts),
            completion_tokens=sum(a.usage.completion_tokens for a in self.attempts),
        )


async def complete_structured(
    model: Model,
    request: CompletionRequest,
    schema: type[T],
    *,
    max_repairs: int = 2,
    scheduler: Scheduler | None = None,
    endpoint: str | None = None,
    tenant: str = "structured",
    on_attempt: Callable[[Attempt], Awaitable[None]] | None = None,
    structured: StructuredOutput = "auto",
) -> Structured[T]:
    """Ask ``model`` for an answer of type ``schema``, as JSON, repairing invalid answers.

    The request's messages are followed by a user message giving ``schema``'s JSON Schema;
    its parameters and hints go unchanged, but for the schema in the server's dialect
    (``format_params``). An answer that does not validate is followed by a repair turn: the
    answer as the assistant's message and a user message quoting the error. Only the latest
    answer is shown, so prompts do not grow with every repair. An empty answer is no answer
    to repair: it is a failed attempt (``CallFailed``, kind ``empty``), which a scheduler
    retries.

    Each request sent carries its dialect in ``structured`` (for the log). A server that
    fails a dialect it has not answered before with any HTTP status but 401, 403, 404, 408,
    409 and 429 (and a 5xx only if its message names the response format) refused it: that
    attempt fails (kind ``format_refused``, reported to ``on_attempt``), the same turn is
    asked again in the next dialect, without using up a repair, and once one is answered the
    model's ``structured_ways`` remembers the refusal.

    Args:
        model: the model to ask; its ``structured_ways`` (a ``StructuredWays``), if it has
            one, says which dialects its server may take. Without one, only ``prompt``.
        request: the question; its ``hints`` reach the model as they are.
        schema: the type of the answer (usually a msgspec Struct).
        max_repairs: repair turns allowed after the first answer.
        scheduler: if given, every call goes through ``scheduler.call``.
        endpoint: the scheduler's key; by default the model's ``endpoint``, else its spec
            without ``?options`` (as for a run's own calls, so they share limits).
        tenant: who asks, for the scheduler's round-robin.
        on_attempt: passed to ``scheduler.call`` (sees the scheduler's retries, and the
            refusals); without a scheduler it hears of refusals only.
        structured: a dialect to use (then ``prompt`` if it is refused), or ``auto``: the
            model's preferred dialects in turn.

    Returns:
        The decoded answer and every call made.

    Raises:
        StructuredOutputError: ``max_repairs + 1`` answers in a row did not validate.
        CallFailed: a model call failed (with a scheduler: after its retries).
    """
    if max_repairs < 0:
        raise ValueError("max_repairs must not be negative")
    prepared = _prepared(schema)
    base = [*request.messages, ChatMessage(role="user", content=prepared.instruction)]
    messages = base
    attempts: list[StructuredAttempt] = []
    key = endpoint or endpoint_of(model)
    ways: StructuredWays = getattr(model, "structured_ways", None) or StructuredWays(())
    while True:
        response, dialect, latency = await _answer(
            model, request, messages, prepared, ways, structured, scheduler, key, tenant, on_attempt
        )
        error: str | None = None
        try:
            value = decode_answer(prepared.decoder, response.text)
        except msgspec.DecodeError as exc:  # a ValidationError too: it is a DecodeError
            error = str(exc)
        attempts.append(
            StructuredAttempt(
                messages=messages,
                text=response.text,
                error=error,
                usage=response.usage,
                model=response.model,
                latency=round(latency, 6),
                dialect=dialect,
            )
        )
        if error is None:
            return Structured(value=value, attempts=attempts)
        if len(attempts) > max_repairs:
            raise StructuredOutputError(getattr(schema, "__name__", repr(schema)), attempts, error)
        messages = [
            *base,
            ChatMessage(role="assistant", content=response.text),
            ChatMessage(role="user", content=_REPAIR.format(error=error)),
        ]


async def _answer(
    model: Model,
    request: CompletionRequest,
    messages: list[ChatMessage],
    prepared: _Prepared,
    ways: StructuredWays,
    structured: StructuredOutput,
    scheduler: Scheduler | None,
    key: str,
    tenant: str,
    on_attempt: Callable[[Attempt], Awaitable[None]] | None,
) -> tuple[CompletionResponse, Dialect, float]:
    """One answer to ``messages``: in the first dialect the server does not refuse.

    The refusals are remembered (in ``ways``) only once a later dialect is answered: a request
    the server fails in every dialect (a prompt over its window, say) says nothing about them.
    """
    started = time.perf_counter()
    refused: dict[Dialect, str] = {}
    while True:
        order = [d for d in ways.order(structured) if d not in refused]
        dialect = order[0]
        params = {**request.params, **format_params(dialect, prepared.name, prepared.schema, strict=prepared.strict)}
        sent = msgspec.structs.replace(request, messages=messages, params=params, structured=dialect)
        attempt = _Attempt(model, sent, dialect, ways, refused, order[1] if len(order) > 1 else None)
        try:
            if scheduler is None:
                response = await attempt()
            else:
                estimate = estimate_prompt_tokens(messages) + sent.max_tokens
                response = await scheduler.call(
                    key, tenant, estimate, attempt, tokens_used=CompletionResponse.tokens_used,
                    on_attempt=on_attempt,
                )
        except CallFailed as exc:
            if exc.kind != "format_refused":
                raise
            if scheduler is None and on_attempt is not None:
                await on_attempt(Attempt(attempt=1, ok=False, error_type=exc.kind, error=exc.message,
                                         status=exc.status))
            continue
        ways.answered.add(dialect)
        ways.refused.update(refused)
        return response, dialect, time.perf_counter() - started


class _Attempt:
    """One attempt at a structured request in one dialect; a refusal of a dialect the server
    has not answered before goes in ``refused`` and fails as ``format_refused`` (not retried:
    the next dialect is asked instead)."""

    __slots__ = ("dialect", "model", "next", "refused", "sent", "ways")

    def __init__(
        self, model: Model, sent: CompletionRequest, dialect: Dialect, ways: StructuredWays,
        refused: dict[Dialect, str], next: Dialect | None,
    ) -> None:
        self.model, self.sent, self.dialect, self.ways, self.next = model, sent, dialect, ways, next
        self.refused = refused

    async def __call__(self) -> CompletionResponse:
        try:
            return await complete_checked(self.model, self.sent)
        except CallFailed as exc:
            dialect = self.dialect
            if dialect == "prompt" or dialect in self.ways.answered or not _refusal(exc):
                raise
            self.refused[dialect] = exc.message
            message = (
                f"the server refused structured output as {dialect} ({exc.message}); "
                f"asking again as {self.next}"
            )
            raise CallFailed(message, retryable=False, status=exc.status, kind="format_refused") from exc


def _refusal(exc: CallFailed) -> bool:
    """Whether a failure may be a server refusing a dialect: any status that is not about the
    key, the model, the pace or time; a server error (5xx) only if it names the response format,
    as llama-cpp-python's 500 does (a transient one is retried as any other)."""
    status = exc.status
    if status is None or status in _NOT_A_REFUSAL:
        return False
    return status < 500 or any(word in exc.message for word in _FORMAT_WORDS)


_FORMAT_WORDS = ("response_format", "json_schema", "json_object")


def format_params(dialect: Dialect, name: str, schema: dict[str, Any], *, strict: bool | None = None) -> dict[str, Any]:
    """The body fields that ask a server in ``dialect`` to constrain its answer to ``schema``
    (``name`` is the schema's name, for ``json_schema``); none for ``prompt``. ``strict``: whether
    the schema fits OpenAI's strict mode, if known (a prepared type's is); else it is found out."""
    if dialect == "json_schema":
        spec = {"name": name, "schema": schema, "strict": _strict(schema) if strict is None else strict}
        return {"response_format": {"type": "json_schema", "json_schema": spec}}
    if dialect == "json_object":
        return {"response_format": {"type": "json_object", "schema": schema}}
    return {}


def schema_of_params(params: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema a request's ``params`` ask the server to hold its answer to, in any
    dialect, or None (a server honouring ``response_format``, as ``ModelServer`` does)."""
    found: Any = None
    answer = params.get("response_format")
    if isinstance(answer, dict):
        if answer.get("type") == "json_schema" and isinstance(answer.get("json_schema"), dict):
            found = answer["json_schema"].get("schema")
        elif answer.get("type") == "json_object":
            found = answer.get("schema")
    return found if isinstance(found, dict) else None


def _strict(schema: dict[str, Any]) -> bool:
    """Whether ``schema`` fits OpenAI's strict mode: every object lists all its properties as
    required and allows no others."""
    nodes: list[Any] = [schema]
    while nodes:
        node = nodes.pop()
        if isinstance(node, list):
            nodes.extend(node)
        elif isinstance(node, dict):
            if node.get("type") == "object" and (
                node.get("additionalProperties") is not False
                or set(node.get("required", ())) != set(node.get("properties", {}))
            ):
                return False
            nodes.extend(node.values())
    return True


class _Prepared(msgspec.Struct, frozen=True, kw_only=True):
    """A type made ready once: its decoder, its JSON Schema (as servers take it: the root
    an object, not a reference), whether that fits OpenAI's strict mode, its name and the
    instruction quoting the schema."""

    decoder: msgspec.json.Decoder[Any]
    schema: dict[str, Any]
    strict: bool
    name: str
    instruction: str


def _prepared(schema: Any) -> _Prepared:
    """``schema``'s ``_Prepared`` (made once per type)."""
    known = _PREPARED.get(schema)
    if known is None:
        document = msgspec.json.schema(schema)
        text = msgspec.json.encode(document).decode()
        name = re.sub(r"[^A-Za-z0-9_-]", "_", getattr(schema, "__name__", "answer"))[:64] or "answer"
        rooted = _rooted(document)
        known = _PREPARED[schema] = _Prepared(
            decoder=msgspec.json.Decoder(schema), schema=rooted, strict=_strict(rooted), name=name,
            instruction=_INSTRUCTION.format(schema=text),
        )
    return known


def _rooted(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with a root that is the referenced definition itself (msgspec's root is a
    ``$ref``, which OpenAI's strict mode and some grammar compilers do not take)."""
    ref = document.get("$ref")
    defs = document.get("$defs")
    if not (isinstance(ref, str) and isinstance(defs, dict) and ref.startswith("#/$defs/")):
        return document
    root = defs.get(ref.removeprefix("#/$defs/"))
    if not isinstance(root, dict):
        return document
    return {**root, "$defs": defs}  # the root stays among them: a type may refer to itself


_PREPARED: dict[Any, _Prepared] = {}


def decode_answer(decoder: msgspec.json.Decoder[T], text: str) -> T:
    """Decode a model's answer: the whole text, else a fenced block, else the outermost ``{...}``.

    Raises:
        msgspec.DecodeError: no candidate decodes; the error is about the most likely one
            (a ``msgspec.ValidationError`` if it was JSON of the wrong shape).
    """
    text = text.strip()
    try:
        return decoder.decode(text)
    except msgspec.DecodeError:
        candidate = _candidate(text)
        if candidate is None or candidate == text:
            raise
    return decoder.decode(candidate)


def _candidate(text: str) -> str | None:
    fenced = _FENCE.search(text)
    if fenced is not None:
        text = fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        return text if fenced is not None else None
    return text[start : end + 1]
