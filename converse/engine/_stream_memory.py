"""The ``stream`` memory policy: an agent's memory stream, fed and read through recorded calls.

What the agent hears and says waits until its next turn. Then one embedding call (recorded,
``embed_and_record``) embeds all of it and the turn's query (the turn's own message); it is
rated and added to the stream; the agent reflects if what it recorded since it last did
matters enough; and the stream is searched for the query (``MemoryStream.retrieve``) with
what was just added left out, so a prompt never shows twice what its turn's message already
holds (everything said since the agent's last turn). The best records go into the prompt.

Every record added is logged (``Remembered``), with its importance, and so is every choice of
records for a prompt, with their scores (``Recalled``), so ``converse audit`` can check that a
prompt holds what the scores chose and nothing of another agent's memory; replay and resume
need no embedding call, since the log holds the embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._exceptions import ContextWindowExceeded
from ..log._events import ChatMessage, Recall, Recalled, Remembered
from ..models._model import (
    AnswerKind,
    Hints,
    Prompt,
    estimate_tokens,
    prompt_tokens,
)
from ..scenario._clock import period_label
from ..scenario._memory_prompts import (
    importance_request,
    insights_of,
    insights_request,
    questions_of,
    questions_request,
    ratings_of,
)
from ..scenario._scenario import Memory, Stream
from ._calling import PromptChain, ask_own_model, embed_and_record
from ._context import RunContext
from ._memory import prompt_budget
from ._seats import Seat
from ._stream import MemoryStream, Record, RecordKind, Retrieval, Retrieved

__all__ = ["NOTHING_YET", "StreamMemory", "memories", "record_line", "record_tokens", "retrieval_of"]

# How the records a prompt holds are shown, before the turn's own message.
HEADER = "What you remember that bears on this turn (oldest first):\n"
NOTHING_YET = "(You remember nothing from before your last turn yet.)"
REFLECT_ON = 100  # the most recent records a reflection asks about (as the paper does)
QUESTIONS = 3  # the questions a reflection asks
INSIGHTS = 5  # the most insights it keeps


def record_line(record: Record, period: str) -> str:
    """How a prompt shows a record made in the period labelled ``period``."""
    return f"- [{period}] {record.text}"


def record_tokens(text: str) -> int:
    """The tokens a record's line takes in a prompt (its text and its dated bullet), counted
    generously: what the budget of the records a prompt holds is counted in."""
    return estimate_tokens(len(text) + 20)


def retrieval_of(settings: Stream) -> Retrieval:
    """How a stream with a scenario's ``[memory.stream]`` settings chooses a prompt's records."""
    weights = settings.weights
    return Retrieval(
        recency=weights.recency, importance=weights.importance, relevance=weights.relevance,
        decay=settings.decay, k=settings.k,
    )


def memories(lines: list[str]) -> str:
    """What a turn's message starts with: the records' lines under their header."""
    return HEADER + ("\n".join(lines) or NOTHING_YET) + "\n\n"


@dataclass(slots=True, frozen=True)
class _Waiting:
    """Something heard or said since the agent's last turn, on its way into the stream."""

    kind: RecordKind
    text: str
    period: int


class StreamMemory:
    """One agent's memory stream and what waits to join it.

    Args:
        ctx: the run.
        agent: the agent's name (its actor name in the log).
        conversation: the conversation it speaks in.
        policy: its ``Memory`` settings (``policy = "stream"``).
        seat: the model it speaks with (its window, its ``max_tokens``), which rates its
            memories when the scenario says the model does.
        system: its system message.
    """

    def __init__(
        self, ctx: RunContext, agent: str, conversation: tuple[str, ...], policy: Memory, seat: Seat,
        system: ChatMessage,
    ) -> None:
        self.ctx = ctx
        self.seat = seat
        self.chain = PromptChain()  # the agent's rating calls
        self.agent = agent
        self.conversation = conversation
        self.policy = policy
        self.answer = seat.settings.max_tokens
        self.limit = prompt_budget(policy, seat.window, self.answer)
        self.system = system
        self.how = retrieval_of(policy.stream)
        self.stream: MemoryStream | None = None  # made with the first embeddings (their length)
        self.waiting: list[_Waiting] = []
        self.needed = 0  # the tokens of the last prompt made

    def heard(self, text: str, period: int) -> None:
        """Another agent said ``text`` (as the turn's message shows it) in the period ``period``."""
        self.waiting.append(_Waiting("observation", text, period))

    def said(self, text: str, period: int) -> None:
        """The agent said ``text`` in the period ``period``."""
        self.waiting.append(_Waiting("statement", text, period))

    def met(self, text: str, period: int) -> None:
        """The agent took part in a meeting (``text`` says what was said) in the period ``period``."""
        self.waiting.append(_Waiting("meeting", text, period))

    async def prompt(self, user: ChatMessage, period: int, query: str | None = None) -> Prompt:
        """The messages of the turn's call in the period ``period``: the system message, and
        ``user`` after the records retrieved for it: for ``query``, by default the turn's
        message itself.

        What waited is embedded with the turn's query (one embedding call), rated (by rule,
        or by the agent's model in one recorded call) and added; if what the agent recorded
        since its last reflection matters enough, it reflects; then the stream is searched,
        leaving out what was just added (the turn's message holds it already).

        Raises:
            ContextWindowExceeded: the turn's own message does not fit the model's window.
        """
        fixed = prompt_tokens(len(self.system.content) + len(memories([])) + len(user.content), 2)
        if self.limit is not None and fixed > self.limit:
            raise ContextWindowExceeded(self.agent, fixed, self.limit, self.answer, "stream")
        vector, fresh = await self._take_in(user.content if query is None else query, period)
        assert vector is not None
        budget = None if self.limit is None else self.limit - fixed
        chosen = await self._choose(vector, period, budget, fresh)
        clock = self.ctx.scenario.clock
        content = memories([record_line(r.record, period_label(clock, r.record.period)) for r in chosen]) + user.content
        messages = [self.system, ChatMessage(role="user", content=content)]
        chars = len(self.system.content) + len(content)
        self.needed = prompt_tokens(chars, 2)
        return Prompt(messages, chars)

    async def recall(self, query: str, period: int) -> list[Retrieved]:
        """The records that score highest for ``query`` in the period ``period``, what waited
        added first and searched with the rest (a briefing's records, which no turn's message
        holds already), at most ``k`` of them."""
        vector, _ = await self._take_in(query, period)
        assert vector is not None
        return await self._choose(vector, period, None, [])

    async def digest(self, period: int) -> None:
        """Take in what waited now, between turns (one embedding call, purpose ``digest``), and
        reflect if it is time to: the agent's next turn then has only what comes after to embed.
        A population's researchers digest their period while their labs' leaders deliberate."""
        if self.waiting:
            await self._take_in(None, period)

    async def _take_in(self, query: str | None, period: int) -> tuple[npt.NDArray[np.float32] | None, list[int]]:
        """Embed what waited with ``query`` (one embedding call; without a query, a digest's),
        rate it, add it, and reflect if it is time to: the query's embedding and the ids of the
        records added."""
        waiting, self.waiting = self.waiting, []
        texts = [w.text for w in waiting]
        if query is None:
            vectors, asked = await self._embed(texts, "digest"), None
        else:
            vectors = await self._embed([*texts, query], "memory")
            asked = vectors[-1]
        stream = self.stream
        if stream is None:
            stream = self.stream = MemoryStream(len(vectors[-1]))
        settings = self.policy.stream
        rated = await self._rate(texts, period) if texts and settings.importance == "model" else []
        fresh: list[int] = []
        for i, (w, vector) in enumerate(zip(waiting, vectors, strict=False)):
            given = rated[i] if i < len(rated) else None
            importance = given or getattr(settings.ratings, w.kind)
            fresh.append(await self._remember(w.kind, w.text, w.period, importance, vector, (), "rule" if given is None else "model"))
        if settings.reflect_at and stream.should_reflect(settings.reflect_at):
            await self._reflect(stream, period)
        return asked, fresh

    async def _choose(
        self, query: npt.NDArray[np.float32], period: int, budget: int | None, fresh: list[int]
    ) -> list[Retrieved]:
        """Search the stream for ``query`` leaving ``fresh`` out, and log the choice."""
        ctx, stream = self.ctx, self.stream
        assert stream is not None
        chosen = stream.retrieve(query, period=period, how=self.how, budget=budget, exclude=fresh)
        recalled = Recalled(
            run=ctx.run, conversation=self.conversation, actor=self.agent, period=period, of=len(stream),
            budget=budget, fresh=fresh,
            records=[
                Recall(id=r.record.id, recency=round(r.recency, 6), importance=round(r.importance, 6),
                       relevance=round(r.relevance, 6), score=round(r.score, 6))
                for r in chosen
            ],
        )
        if not ctx.emit_nowait(recalled):
            await ctx.emit(recalled)
        return chosen

    async def _embed(self, texts: list[str], purpose: str) -> list[npt.NDArray[np.float32]]:
        return await embed_and_record(self.ctx, texts, conversation=self.conversation, actor=self.agent, purpose=purpose)

    async def _remember(
        self, kind: RecordKind, text: str, period: int, importance: int, vector: npt.NDArray[np.float32],
        cites: tuple[int, ...], rated: str,
    ) -> int:
        """Add a record to the stream, and to the log; its id."""
        assert self.stream is not None
        record = self.stream.add(
            kind, text, period=period, importance=importance, embedding=vector, cites=cites, tokens=record_tokens(text)
        )
        ctx = self.ctx
        remembered = Remembered(
            run=ctx.run, conversation=self.conversation, actor=self.agent, id=record.id, kind=record.kind,
            text=record.text, period=record.period, importance=record.importance, cites=list(cites), rated=rated,
        )
        if not ctx.emit_nowait(remembered):
            await ctx.emit(remembered)
        return record.id

    async def _reflect(self, stream: MemoryStream, period: int) -> None:
        """Reflect: ask which questions the recent records raise, look up what bears on each
        (a look that refreshes nothing), and keep an insight per question as a record that
        cites the records it drew on, as important as the most important of them."""
        stream.reflected()
        recent = [(r.id, r.text) for r in stream.recent(REFLECT_ON)]
        answer = await self._ask(questions_request(self.system, recent, QUESTIONS), "questions", "reflection", period)
        questions = questions_of(answer, QUESTIONS)
        if not questions:
            return
        looked = await self._embed(questions, "questions")
        ids = sorted({r.record.id for v in looked for r in stream.retrieve(v, period=period, how=self.how, touch=False)})
        shown = [(i, stream.records[i].text) for i in ids]
        answer = await self._ask(insights_request(self.system, shown, questions), "insights", "reflection", period)
        insights = insights_of(answer, set(ids), INSIGHTS)
        if not insights:
            return
        vectors = await self._embed([text for text, _ in insights], "reflection")
        fallback = self.policy.stream.ratings.statement
        for (text, cites), vector in zip(insights, vectors, strict=False):
            importance = max((stream.records[c].importance for c in cites), default=fallback)
            await self._remember("reflection", text, period, importance, vector, cites, "cited" if cites else "rule")

    async def _ask(self, messages: list[ChatMessage], kind: AnswerKind, purpose: str, period: int) -> str:
        """The agent's model's answer to ``messages`` (a recorded call of its own, for its memory)."""
        hints = Hints(kind=kind, speaker=self.agent, period=period_label(self.ctx.scenario.clock, period))
        response = await ask_own_model(
            self.ctx, self.seat, messages, hints, conversation=self.conversation, actor=self.agent, purpose=purpose,
            chain=self.chain,
        )
        # The next such prompt shares no more than the system message with this one.
        self.chain.messages = self.chain.messages[:1]
        return response.text

    async def _rate(self, texts: list[str], period: int) -> list[int | None]:
        """The agent's model's ratings of ``texts`` (one recorded call), None where it gave none."""
        answer = await self._ask(importance_request(self.system, texts), "importance", "importance", period)
        return ratings_of(answer, len(texts))
