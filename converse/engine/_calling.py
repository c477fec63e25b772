"""One model call of an agent, made and recorded: the request goes to the replay book or
the scheduler, and the exact prompt, answer, usage and latency go to the log as an
``LLMCall`` (sharing the prefix it has in common with the agent's previous prompt)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..log._events import ChatMessage, LLMCall, SharedPrefix
from ..models._model import CompletionRequest, CompletionResponse, Model
from ._context import RunContext

__all__ = ["PromptChain", "call_and_record", "shared_prefix"]


@dataclass(slots=True)
class PromptChain:
    """An actor's previous prompt and its call number: its next prompt usually extends it,
    so the log records only what is new."""

    call: int = 0
    messages: list[ChatMessage] = field(default_factory=list)


async def call_and_record(
    ctx: RunContext,
    request: CompletionRequest,
    *,
    conversation: tuple[str, ...],
    actor: str,
    purpose: str,
    estimate: int,
    chain: PromptChain,
    answered: CompletionResponse | None = None,
    model: Model | None = None,
    latency: float | None = None,
    attempt: int | None = None,
) -> CompletionResponse:
    """Answer ``request`` and log it as ``actor``'s call for ``purpose``.

    Args:
        answered: an answer already had: taken from the replay book (``ctx.take_recorded``)
            or given by a person; without one the replay book is asked first, then the model.
        model: a model other than the run's (a critic's, say): asked directly, never
            served from the replay book unless ``answered`` is given.
        latency: how long a live ``answered`` took (recorded as the call's latency).
        attempt: which attempt gave a live ``answered``.
    """
    started = time.perf_counter()
    attempts = [1]
    response = answered
    if response is None:
        if model is None:
            response = await ctx.complete(request, conversation=conversation, estimate=estimate, attempts=attempts)
        else:
            response = ctx.take_recorded(request) or await ctx.call_model(
                request, conversation=conversation, estimate=estimate, attempts=attempts, model=model
            )
    if latency is None:
        latency = time.perf_counter() - started
    if attempt is not None:
        attempts[0] = attempt
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
            attempt=logged.attempt if logged is not None else attempts[0],
        )
    )
    chain.call, chain.messages = call, messages
    return response


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
