"""One model call, made and recorded. The answer comes from the run's log when it holds one
(replay, resume), else from the model through the scheduler, each failed attempt logged as an
``LLMAttempt``; then the exact prompt, answer, usage, latency and the attempt that won go to
the log as an ``LLMCall`` (sharing the prefix it has in common with the actor's previous prompt).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import msgspec

from .._exceptions import CallFailed
from ..log._events import ChatMessage, Embedded, LLMAttempt, LLMCall, SharedPrefix, Usage
from ..models._model import (
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    Hints,
    Model,
    complete_checked,
    embed_checked,
    endpoint_of,
    estimate_prompt_tokens,
    estimate_tokens,
    text_vector,
    vector_text,
)
from ..models._person import PERSON, Person
from ..models._scheduler import Attempt
from ..scenario._scenario import ModelSettings
from ._context import RunContext
from ._seats import Seat

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Answer", "PromptChain", "ask_model", "ask_own_model", "attempt_logger", "call_and_record", "embed_and_record", "from_log",
    "shared_prefix",
]


class Answer(msgspec.Struct, frozen=True, gc=False):
    """An answer had before it is recorded: a model's (with the attempt that won and how long
    it took) or a person's. (A struct: one is made per call, and a frozen dataclass's
    ``__init__`` is Python setting each field through ``object.__setattr__``.)

    Attributes:
        response: the answer.
        attempt: the attempt that gave it (1 when nothing was retried).
        latency: seconds it took; ``None`` has ``call_and_record`` time it itself.
        request: the request that was answered, when it is not the one asked (asked again
            with more room after a truncated answer).
        model: the spec of the model (or ``human``) that answered, which the call is charged
            to; ``None``: the one the answer names.
    """

    response: CompletionResponse
    attempt: int = 1
    latency: float | None = None
    request: CompletionRequest | None = None
    model: str | None = None


@dataclass(slots=True)
class PromptChain:
    """An actor's previous prompt and its call number: its next prompt usually extends it,
    so the log records only what is new."""

    call: int = 0
    messages: list[ChatMessage] = field(default_factory=list)


def from_log(ctx: RunContext, request: CompletionRequest) -> CompletionResponse | None:
    """The answer the run's log recorded for ``request`` (replaying or resuming), or ``None``
    (not replaying, or the log holds none). Several requests of one turn are taken in order."""
    return ctx.replay.take(request) if ctx.replay is not None else None


async def ask_model(
    ctx: RunContext,
    request: CompletionRequest,
    *,
    conversation: tuple[str, ...],
    estimate: int,
    model: Model | None = None,
    seat: Seat | None = None,
) -> Answer:
    """Ask ``model`` (the seat's, else the run's) through the scheduler, never the log.

    An empty answer is a failed attempt (``complete_checked``), retried like any other.
    Each failed attempt is logged as an ``LLMAttempt``; the answer comes with the attempt
    that won and the time it took, retries included.

    An answer cut off at ``max_tokens`` (``finish_reason`` "length") is dealt with as the
    model's ``on_truncated`` says: ``keep`` it (the log and transcript mark it);
    ``retry``: log it as a failed attempt of kind ``truncated`` and ask once more with
    ``max_tokens`` doubled, keeping that answer whatever its ending; ``fail`` the run.

    A person's seat asks the person at the terminal; when they give no statement, the
    seat's model speaks for them (an attempt of kind ``no_answer`` says so).

    Raises:
        CallFailed: the answer was cut off and ``on_truncated`` is ``fail`` (kind ``truncated``).
    """
    settings = seat.settings if seat is not None else ctx.scenario.model
    model = model or (seat.model if seat is not None else ctx.model)
    started = time.perf_counter()
    if isinstance(model, Person):
        text, why = await model.answer(request)
        if text is not None:
            return Answer(CompletionResponse(text=text, usage=Usage(), model=PERSON), model=PERSON)
        model = model.fallback
        await ctx.emit(LLMAttempt(
            run=ctx.run, conversation=conversation, actor=request.hints.speaker, attempt=1, error_type="no_answer",
            error=f"no statement from the person at the terminal ({why}); {model.spec} spoke for them",
            next_delay=0.0, model=PERSON,
        ))
        endpoint = endpoint_of(model)
    elif seat is not None:
        endpoint = seat.endpoint
    else:
        endpoint = ctx.endpoint if model is ctx.model else endpoint_of(model)
    failed = 0  # the last failed attempt of a scheduler call: the next one won
    spec = model.spec

    async def on_failure(attempt: Attempt) -> None:
        nonlocal failed
        failed = attempt.attempt
        await attempt_logger(ctx, conversation, request.hints.speaker, spec)(attempt)

    response = await ctx.scheduler.call(
        endpoint, ctx.run, estimate, partial(complete_checked, model, request),
        tokens_used=CompletionResponse.tokens_used, on_failure=on_failure,
    )
    won = failed + 1
    if not response.truncated:
        return Answer(response, won, time.perf_counter() - started, model=spec)
    policy = settings.on_truncated
    cut = f"the answer was cut off at max_tokens={request.max_tokens} (finish_reason \"length\")"
    if policy == "fail":
        hint = "raise model.max_tokens, or set model.on_truncated to \"retry\" or \"keep\""
        raise CallFailed(f"{cut}; {hint}", retryable=False, kind="truncated")
    if policy == "keep":
        return Answer(response, won, time.perf_counter() - started, model=spec)
    first = won
    room = request.max_tokens * 2
    await attempt_logger(ctx, conversation, request.hints.speaker, spec)(Attempt(
        attempt=first, ok=False, error_type="truncated", error=f"{cut}; asked again with max_tokens={room}",
        next_delay=0.0, usage=response.usage,  # paid for, and not kept
    ))
    request = msgspec.structs.replace(request, max_tokens=room)
    failed = 0
    response = await ctx.scheduler.call(
        endpoint, ctx.run, estimate, partial(complete_checked, model, request),
        tokens_used=CompletionResponse.tokens_used, on_failure=on_failure,
    )
    return Answer(response, first + failed + 1, time.perf_counter() - started, request, spec)


def attempt_logger(
    ctx: RunContext, conversation: tuple[str, ...], actor: str, model: str | None = None
) -> Callable[[Attempt], Awaitable[None]]:
    """A scheduler ``on_attempt`` that logs each failed attempt as an ``LLMAttempt`` (of
    ``model``, a spec, when it is not the run's)."""
    spec: str | msgspec.UnsetType = msgspec.UNSET if model is None or model == ctx.model.spec else model

    async def on_attempt(attempt: Attempt) -> None:
        if not attempt.ok:
            await ctx.emit(
                LLMAttempt(
                    run=ctx.run,
                    conversation=conversation,
                    actor=actor,
                    attempt=attempt.attempt,
                    error_type=attempt.error_type or "error",
                    error=attempt.error or "",
                    status=attempt.status,
                    retry_after=attempt.retry_after,
                    next_delay=attempt.next_delay,
                    queued=round(attempt.queued, 6),
                    latency=round(attempt.latency, 6),
                    usage=msgspec.UNSET if attempt.usage is None else attempt.usage,
                    model=spec,
                )
            )

    return on_attempt


async def call_and_record(
    ctx: RunContext,
    request: CompletionRequest,
    *,
    conversation: tuple[str, ...],
    actor: str,
    purpose: str,
    estimate: int,
    chain: PromptChain,
    answered: Answer | None = None,
    model: Model | None = None,
    seat: Seat | None = None,
) -> CompletionResponse:
    """Answer ``request`` and log it as ``actor``'s call for ``purpose``.

    Args:
        answered: an answer already had (several asked at once, or a person's); without
            one the log is asked first (``from_log``), then the model (``ask_model``).
        model: a model other than the run's (a critic's, say).
        seat: the seat of the agent asking (its model, endpoint and settings).
    """
    started = time.perf_counter()
    if answered is None:
        response = from_log(ctx, request)
        if response is None:
            answered = await ask_model(
                ctx, request, conversation=conversation, estimate=estimate, model=model, seat=seat
            )
        else:
            answered = Answer(response)
    response = answered.response
    request = answered.request or request
    latency = time.perf_counter() - started if answered.latency is None else answered.latency
    logged = response.recorded
    call = logged.call if logged is not None else ctx.next_call()
    messages = request.messages
    shared, fresh = shared_prefix(chain.messages, messages)
    await ctx.emit(
        LLMCall(
            run=ctx.run,
            call=call,
            conversation=conversation,
            actor=actor,
            purpose=purpose,
            model=response.model,
            messages=fresh,
            params=request.sent_params(),
            response=response.text,
            usage=response.usage,
            latency=logged.latency if logged is not None else round(latency, 6),
            shared=SharedPrefix(call=chain.call, count=shared) if shared else None,
            attempt=logged.attempt if logged is not None else answered.attempt,
            finish_reason=msgspec.UNSET if response.finish_reason is None else response.finish_reason,
            structured=_structured(request, logged),
            cached=True if response.cached else msgspec.UNSET,
        ),
        charged_to=answered.model,
    )
    chain.call, chain.messages = call, messages
    return response


def request_for(
    settings: ModelSettings, messages: list[ChatMessage], hints: Hints, *, temperature: float | None = None,
    max_tokens: int | None = None,
) -> CompletionRequest:
    """A request of ``messages`` with a model's settings (its temperature, ``max_tokens`` and
    parameters, unless given others here)."""
    return CompletionRequest(
        messages=messages,
        temperature=settings.temperature if temperature is None else temperature,
        max_tokens=settings.max_tokens if max_tokens is None else max_tokens,
        params=dict(settings.params),
        hints=hints,
    )


async def ask_own_model(
    ctx: RunContext, seat: Seat, messages: list[ChatMessage], hints: Hints, *, conversation: tuple[str, ...],
    actor: str, purpose: str, chain: PromptChain,
) -> CompletionResponse:
    """What an agent asks its seat's model for itself, not to say: its notes, a briefing for
    its council, ratings of its memories, a reflection (a recorded call for ``purpose``, made
    with the seat's settings; a person's seat asks its model, nobody is asked to write it)."""
    seat = seat.machine
    settings = seat.settings
    request = request_for(settings, messages, hints)
    return await call_and_record(
        ctx, request, conversation=conversation, actor=actor, purpose=purpose,
        estimate=estimate_prompt_tokens(messages) + settings.max_tokens, chain=chain, seat=seat,
    )


def _structured(request: CompletionRequest, logged: LLMCall | None) -> str | msgspec.UnsetType:
    """How a structured request's schema was sent (as the log recorded it, for an answer from
    the log); unset for any other request."""
    if logged is not None:
        return logged.structured
    return msgspec.UNSET if request.structured is None else request.structured


def shared_prefix(previous: list[ChatMessage], messages: list[ChatMessage]) -> tuple[int, list[ChatMessage]]:
    """How many leading messages ``messages`` shares with ``previous``, and the rest."""
    n = len(previous)
    if n <= len(messages) and messages[:n] == previous:  # identical objects: a C-speed check
        return n, messages[n:]
    n = 0
    for mine, theirs in zip(previous, messages, strict=False):
        if mine is not theirs:
            break
        n += 1
    return n, messages[n:]


async def embed_and_record(
    ctx: RunContext, texts: list[str], *, conversation: tuple[str, ...], actor: str, purpose: str
) -> list[npt.NDArray[np.float32]]:
    """The embeddings of ``texts``, in their order, as ``actor``'s embedding call for ``purpose``:
    from the log when it holds them (replaying or resuming), else from the run's embedder
    through the scheduler (its own endpoint and budgets; failed attempts logged and retried).
    Logged as an ``Embedded`` event (in the log before they are used) and charged to the
    embedder on its own ledger line.

    The embeddings are float32, and the log holds exactly those numbers, so a replayed run
    scores its memories as the recorded one did, to the bit.
    """
    recorded = ctx.replay.take_embedding(actor, texts) if ctx.replay is not None else None
    if recorded is not None:
        vectors = [text_vector(text) for text in recorded.vectors]
        usage, latency, attempt, model = recorded.usage, recorded.latency, recorded.attempt, recorded.model
    else:
        embedder = ctx.embedder
        if embedder is None:
            raise RuntimeError("an agent has a memory stream and the run has no embedder")  # the runner opens one
        spec = embedder.spec
        failed = 0
        started = time.perf_counter()

        async def on_failure(attempt: Attempt) -> None:
            nonlocal failed
            failed = attempt.attempt
            await attempt_logger(ctx, conversation, actor, spec)(attempt)

        request = EmbeddingRequest(texts=texts)
        response: EmbeddingResponse = await ctx.scheduler.call(
            endpoint_of(embedder), ctx.run, sum(estimate_tokens(len(text)) for text in texts),
            partial(embed_checked, embedder, request), tokens_used=EmbeddingResponse.tokens_used,
            on_failure=on_failure,
        )
        import numpy as np  # here, not at import: only embeddings need numpy (see ``converse.engine``)

        vectors = [np.asarray(v, dtype=np.float32) for v in response.vectors]
        usage, latency, attempt, model = response.usage, round(time.perf_counter() - started, 6), failed + 1, spec
    await ctx.emit(Embedded(
        run=ctx.run, conversation=conversation, actor=actor, purpose=purpose, model=model, texts=texts,
        vectors=[vector_text(v) for v in vectors], usage=usage, latency=latency, attempt=attempt,
    ))
    return vectors
