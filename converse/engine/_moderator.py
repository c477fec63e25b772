"""Moderators: one actor per conversation hands out turn tokens, keeps the clock, ends it.

The moderator publishes a ``TurnToken`` on the holder's turn topic; only the holder speaks,
by publishing ``Said`` with the token on the conversation's topic, which every member and
the moderator hear. The moderator records the utterance and grants the next token, so
whose turn it is and what period it is are facts held in one place.
"""

from __future__ import annotations

import random
from collections import deque

from actors import Actor, ActorRef

from ..log._events import (
    ConversationEnded,
    ConversationStarted,
    PeriodStarted,
    RunError,
    TurnGranted,
    Utterance,
)
from ..scenario._clock import period_count, period_label
from ._context import RunContext
from ._protocol import Begin, Convene, Deliberate, Deliberated, Opening, Path, Pending, Said, TurnToken


class _Moderator(Actor):
    """Turn-taking shared by the public conversation and councils."""

    def __init__(self, ctx: RunContext, path: Path, members: list[str], policy: str, order: list[str]) -> None:
        self.ctx = ctx
        self.path = path
        self.topic = ctx.conversation_topic(path)
        self.turn_topics: dict[str, str] = {}
        self.members = members
        self.policy = policy
        self.order = order or members
        self.rng = random.Random(f"{ctx.seed}:{'/'.join(path)}")
        self.token = 0
        self.turns = 0
        self.waiting: deque[str] = deque()
        self.outstanding: set[int] = set()
        self.period = ""
        self.period_index = 0
        self.ended = False

    async def on_start(self) -> None:
        self.ctx.system.bus.subscribe(self.topic, self.ref)

    def _round_order(self) -> list[str]:
        if self.policy == "random":
            return self.rng.sample(self.members, len(self.members))
        if self.policy == "scripted":
            return list(self.order)
        return list(self.members)

    async def _start_round(self) -> None:
        speakers = self._round_order()
        if self.policy == "simultaneous":
            for speaker in speakers:
                await self._grant(speaker)
        else:
            self.waiting.extend(speakers)
            await self._grant(self.waiting.popleft())

    async def _grant(self, holder: str) -> None:
        self.token += 1
        self.turns += 1
        self.outstanding.add(self.token)
        ctx = self.ctx
        await ctx.emit(
            TurnGranted(
                run=ctx.run,
                conversation=self.path,
                actor=holder,
                period=self.period,
                turn=self.turns,
                token=self.token,
            )
        )
        await ctx.system.bus.publish(
            self.turn_topics.get(holder) or self.turn_topics.setdefault(holder, ctx.turn_topic(self.path, holder)),
            TurnToken(self.path, holder, self.token, self.turns, self.period, self.period_index),
        )

    async def _heard(self, said: Said) -> bool:
        """Record a valid utterance; False if it was said without the token."""
        ctx = self.ctx
        if said.token not in self.outstanding:
            await ctx.emit(
                RunError(
                    run=ctx.run,
                    error_type="TurnViolation",
                    message=f"{said.speaker} spoke without holding the turn token",
                    conversation=self.path,
                    actor=said.speaker,
                )
            )
            return False
        self.outstanding.discard(said.token)
        await ctx.emit(
            Utterance(
                run=ctx.run,
                conversation=self.path,
                actor=said.speaker,
                period=said.period,
                turn=self.turns,
                text=said.text,
            )
        )
        return True

    def _round_over(self) -> bool:
        return not self.waiting and not self.outstanding


class TopModerator(_Moderator):
    """The public conversation: periods on the clock, one round of statements per period."""

    def __init__(
        self, ctx: RunContext, members: list[str], deliberators: list[ActorRef]
    ) -> None:
        conv = ctx.scenario.conversation
        super().__init__(ctx, ("top",), members, conv.turn_policy, conv.order)
        self.clock = ctx.scenario.clock
        self.termination = ctx.scenario.termination
        self.deliberators = deliberators if conv.deliberation == "concurrent" else []
        self.deliberating = 0

    async def receive(self, message: object) -> None:
        if isinstance(message, Said):
            await self._on_said(message)
        elif isinstance(message, Deliberated):
            self.deliberating -= 1
            if not self.deliberating and not self.ended:
                await self._start_round()
        elif isinstance(message, Begin):
            await self.ctx.emit(
                ConversationStarted(run=self.ctx.run, conversation=self.path, members=tuple(self.members))
            )
            await self._start_period(0)

    async def _start_period(self, index: int) -> None:
        if self.clock.end is not None and index >= period_count(self.clock):
            await self._end("end_period")
            return
        ctx = self.ctx
        self.period_index = index
        self.period = period_label(self.clock, index)
        ctx.periods += 1
        await ctx.emit(PeriodStarted(run=ctx.run, conversation=self.path, period=self.period, index=index))
        if self.deliberators:
            self.deliberating = len(self.deliberators)
            for agent in self.deliberators:
                await agent.tell(Deliberate(self.period, index, self.ref))
        else:
            await self._start_round()

    async def _on_said(self, said: Said) -> None:
        if self.ended or not await self._heard(said):
            return
        self.ctx.turns += 1
        end_token = self.termination.end_token
        if end_token and end_token in said.text:
            await self._end("end_token")
        elif self.termination.max_turns is not None and self.ctx.turns >= self.termination.max_turns:
            await self._end("max_turns")
        elif self.waiting:
            await self._grant(self.waiting.popleft())
        elif self._round_over():
            await self._start_period(self.period_index + 1)

    async def _end(self, reason: str) -> None:
        self.ended = True
        ctx = self.ctx
        await ctx.emit(
            ConversationEnded(
                run=ctx.run, conversation=self.path, reason=reason, turns=self.turns, period=self.period or None
            )
        )
        ctx.finish("completed", reason)


class CouncilModerator(_Moderator):
    """A council's private debate: on ``Convene``, ``rounds`` rounds among its members."""

    def __init__(
        self, ctx: RunContext, path: Path, owner: str, members: list[str], policy: str, order: list[str], rounds: int
    ) -> None:
        super().__init__(ctx, path, members, policy, order)
        self.owner = owner
        self.rounds = rounds
        self.round = 0
        self.session_turns = 0
        self.lines: list[tuple[str, str]] = []
        self.result: Pending | None = None

    async def receive(self, message: object) -> None:
        if isinstance(message, Said):
            await self._on_said(message)
        elif isinstance(message, Convene):
            await self._open(message)

    async def _open(self, convene: Convene) -> None:
        if self.result is not None:
            convene.result.fail(RuntimeError(f"council {'/'.join(self.path)} is already in session"))
            return
        ctx = self.ctx
        self.result = convene.result
        self.period = convene.period
        self.period_index = convene.period_index
        self.round = 0
        self.session_turns = 0
        self.lines = []
        await ctx.emit(
            ConversationStarted(
                run=ctx.run,
                conversation=self.path,
                members=tuple(self.members),
                period=self.period,
                owner=self.owner,
            )
        )
        await ctx.system.bus.publish(self.topic, Opening(self.path, self.period, convene.public_record))
        await self._start_round()

    async def _on_said(self, said: Said) -> None:
        if self.result is None or not await self._heard(said):
            return
        self.session_turns += 1
        self.lines.append((said.speaker, said.text))
        if self.waiting:
            await self._grant(self.waiting.popleft())
        elif self._round_over():
            self.round += 1
            if self.round < self.rounds:
                await self._start_round()
            else:
                await self._close()

    async def _close(self) -> None:
        ctx = self.ctx
        await ctx.emit(
            ConversationEnded(
                run=ctx.run,
                conversation=self.path,
                reason="rounds",
                turns=self.session_turns,
                period=self.period,
            )
        )
        result, self.result = self.result, None
        assert result is not None
        result.resolve(self.lines)
