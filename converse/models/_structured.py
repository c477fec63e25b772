"""Structured output: ask a model for JSON matching a msgspec type, and repair what fails.

``complete_structured`` appends an instruction with the type's JSON Schema to the request,
decodes the answer with msgspec (a fenced block or prose around the object is tolerated)
and, when the answer does not validate, shows the model msgspec's own error (``Expected
`int`, got `str` - at `$.scores[0].value```) and asks again. Every call is returned, so a
caller can record each one in the log.

Errors it raises (in ``converse._exceptions``, with every other)::

    StructuredOutputError   no answer validated (``schema_name``, ``attempts``, ``last_error``)
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Generic, TypeVar

import msgspec

from .._exceptions import StructuredOutputError
from ..log._events import ChatMessage, Usage
from ._model import (
    CompletionRequest,
    CompletionResponse,
    Model,
    complete_checked,
    endpoint_of,
    estimate_prompt_tokens,
)
from ._scheduler import Attempt, Scheduler

__all__ = ["Structured", "StructuredAttempt", "complete_structured", "decode_answer"]

T = TypeVar("T")

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_INSTRUCTION = (
    "Answer with one JSON object only: no prose, no Markdown. It must match this JSON Schema:\n{schema}"
)
_REPAIR = (
    "Your answer is not valid: {error}\n"
    "Reply with the corrected JSON object only, matching the schema given above."
)


class StructuredAttempt(msgspec.Struct, frozen=True, kw_only=True):
    """One model call made by ``complete_structured``.

    Attributes:
        messages: the messages sent.
        text: the model's answer, as it came.
        error: why the answer did not validate (msgspec's message); ``None`` if it did.
        usage: the call's token usage.
        model: the model that answered (the response's ``model``).
        latency: seconds the call took, retries by the scheduler included.
    """

    messages: list[ChatMessage]
    text: str
    error: str | None
    usage: Usage
    model: str
    latency: float


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
) -> Structured[T]:
    """Ask ``model`` for an answer of type ``schema``, as JSON, repairing invalid answers.

    The request's messages are followed by a user message giving ``schema``'s JSON Schema;
    its parameters and hints go unchanged. An answer that does not validate is followed by
    a repair turn: the answer as the assistant's message and a user message quoting the
    error. Only the latest answer is shown, so prompts do not grow with every repair. An
    empty answer is no answer to repair: it is a failed attempt (``CallFailed``, kind
    ``empty``), which a scheduler retries.

    Args:
        model: the model to ask.
        request: the question; its ``hints`` reach the model as they are.
        schema: the type of the answer (usually a msgspec Struct).
        max_repairs: repair turns allowed after the first answer.
        scheduler: if given, every call goes through ``scheduler.call``.
        endpoint: the scheduler's key; by default the model's ``endpoint``, else its spec
            without ``?options`` (as for a run's own calls, so they share limits).
        tenant: who asks, for the scheduler's round-robin.
        on_attempt: passed to ``scheduler.call`` (sees the scheduler's retries).

    Returns:
        The decoded answer and every call made.

    Raises:
        StructuredOutputError: ``max_repairs + 1`` answers in a row did not validate.
        CallFailed: a model call failed (with a scheduler: after its retries).
    """
    if max_repairs < 0:
        raise ValueError("max_repairs must not be negative")
    decoder, instruction = _prepared(schema)
    base = [*request.messages, ChatMessage(role="user", content=instruction)]
    messages = base
    attempts: list[StructuredAttempt] = []
    key = endpoint or endpoint_of(model)
    while True:
        sent = msgspec.structs.replace(request, messages=messages)
        started = time.perf_counter()
        if scheduler is None:
            response = await complete_checked(model, sent)
        else:
            estimate = estimate_prompt_tokens(messages) + sent.max_tokens
            response = await scheduler.call(
                key,
                tenant,
                estimate,
                partial(complete_checked, model, sent),
                tokens_used=CompletionResponse.tokens_used,
                on_attempt=on_attempt,
            )
        latency = time.perf_counter() - started
        error: str | None = None
        try:
            value = decode_answer(decoder, response.text)
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


def _prepared(schema: Any) -> tuple[msgspec.json.Decoder[Any], str]:
    """A type's decoder and the instruction quoting its JSON Schema (made once per type)."""
    known = _PREPARED.get(schema)
    if known is None:
        text = msgspec.json.encode(msgspec.json.schema(schema)).decode()
        known = _PREPARED[schema] = (msgspec.json.Decoder(schema), _INSTRUCTION.format(schema=text))
    return known


_PREPARED: dict[Any, tuple[msgspec.json.Decoder[Any], str]] = {}


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
