"""Model answers served from a log: for resuming a run, and for re-executing one offline.

Every agent asks the model one request at a time, so "the k-th call of OpenAI" names the
same request in any execution of the same scenario and seed, however the concurrent
councils interleave. A ``ReplayBook`` holds each speaker's recorded calls in order and hands
the k-th back for the k-th request, after checking that the request is the one recorded
(same messages): a scenario or engine that asks something else is an error, not a silent
mix of two runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import msgspec

from .._exceptions import ReplayError
from ..log._events import ChatMessage, Embedded, Event, LLMAttempt, LLMCall, RunStarted, Usage, prompts_of
from ..models._model import CompletionRequest, CompletionResponse

__all__ = ["ReplayBook", "ReplayOnlyModel"]


class ReplayBook:
    """The recorded calls of a log, per speaker, served in order.

    Args:
        events: the log's events.
        source: the log's name, for errors.
        strict: a request with no recorded answer is an error (re-execution); otherwise
            ``take`` returns None and the caller asks the live model (resuming).
    """

    def __init__(self, events: Iterable[Event], *, source: str, strict: bool) -> None:
        events = list(events)
        prompts = prompts_of(events)
        self.source = source
        self.strict = strict
        self.calls: dict[str, deque[LLMCall]] = {}
        self.embedded: dict[str, deque[Embedded]] = {}  # each agent's embedding calls, in order
        self.embeddings_asked: dict[str, int] = {}
        self.prompts = prompts
        self.asked: dict[str, int] = {}
        self.last_call = 0
        self.model: str | None = None  # the spec of the model that answered
        self.humans: tuple[str, ...] = ()  # the agents a person played
        # The window the log's run held its prompts to, and its source (None: not recorded).
        self.window: int | None = None
        self.window_source: str | None = None
        # Answers paid for and not kept (failed attempts with usage): the run's ledger counts
        # them, though they are not asked again.
        self.spent: list[tuple[str, Usage, str]] = []  # (actor, usage, model spec or "": the run's)
        for event in events:
            if type(event) is RunStarted and self.model is None:
                self.model = event.model
                self.humans = tuple(event.humans) if isinstance(event.humans, list) else ()
                if isinstance(event.context_window, int):
                    self.window = event.context_window
                    self.window_source = event.window_source if isinstance(event.window_source, str) else None
            elif type(event) is LLMCall:
                self.calls.setdefault(event.actor, deque()).append(event)
                self.last_call = max(self.last_call, event.call)
            elif type(event) is Embedded:
                self.embedded.setdefault(event.actor, deque()).append(event)
            elif type(event) is LLMAttempt and event.usage is not msgspec.UNSET:
                self.spent.append((event.actor, event.usage, event.model if isinstance(event.model, str) else ""))

    @property
    def remaining(self) -> int:
        """Recorded calls (embedding calls too) not served yet."""
        return sum(len(q) for q in self.calls.values()) + sum(len(q) for q in self.embedded.values())

    def take(self, request: CompletionRequest) -> CompletionResponse | None:
        """The recorded answer to ``request`` (its ``recorded`` is the logged call), or None.

        Raises:
            ReplayError: the request is not the one recorded for this speaker's turn, or
                (strict) nothing is recorded for it.
        """
        hints = request.hints
        speaker = hints.speaker
        index = self.asked.get(speaker, 0) + 1
        self.asked[speaker] = index
        queue = self.calls.get(speaker)
        if not queue:
            if self.strict:
                what = f"{hints.kind} for {hints.period}" if hints.period else hints.kind
                raise ReplayError(self.source, speaker, index, f"the log holds no answer to it (a {what})")
            return None
        call = queue.popleft()
        recorded = self.prompts[call.call]
        if recorded != request.messages:
            raise ReplayError(self.source, speaker, index, _difference(recorded, request.messages))
        ending = call.finish_reason if isinstance(call.finish_reason, str) else None
        return CompletionResponse(
            text=call.response, usage=call.usage, model=call.model, recorded=call, finish_reason=ending
        )


    def take_embedding(self, actor: str, texts: list[str]) -> Embedded | None:
        """The recorded embedding call of ``actor`` that embedded ``texts`` (its next one), or None.

        Raises:
            ReplayError: the texts are not the ones recorded for this call of the agent's,
                or (strict) nothing is recorded for it.
        """
        index = self.embeddings_asked.get(actor, 0) + 1
        self.embeddings_asked[actor] = index
        queue = self.embedded.get(actor)
        if not queue:
            if self.strict:
                raise ReplayError(self.source, actor, index, "the log holds no embeddings for it (an embedding call)")
            return None
        recorded = queue.popleft()
        if recorded.texts != texts:
            at = next((i for i, (a, b) in enumerate(zip(recorded.texts, texts, strict=False)) if a != b), None)
            where = f"text {at + 1}" if at is not None else f"{len(texts)} texts, the recorded {len(recorded.texts)}"
            problem = f"the texts of this embedding call differ from the recorded ones ({where})"
            raise ReplayError(self.source, actor, index, problem)
        return recorded


def _difference(recorded: list[ChatMessage], asked: list[ChatMessage]) -> str:
    """Where a request departs from the recorded one, in a few words."""
    for i, (a, b) in enumerate(zip(recorded, asked, strict=False)):
        if a != b:
            return f"the request differs from the recorded one at message {i + 1} ({b.role})"
    return f"the request has {len(asked)} messages, the recorded one {len(recorded)}"


class ReplayOnlyModel:
    """The model of a run re-executed from a log: every answer comes from the log, so this
    one is never asked (the book raises first); its spec names the log."""

    def __init__(self, source: str) -> None:
        self.source = source

    @property
    def spec(self) -> str:
        return f"replay:{self.source}"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        raise ReplayError(self.source, request.hints.speaker, 0, "the log holds no answer to it")
