"""The moderator base: one actor per conversation hands out turn tokens, keeps the clock, ends it.

The moderator publishes a ``TurnToken`` on the holder's turn topic; only the holder speaks,
by publishing ``Said`` with the token on the conversation's topic, which every member and
the moderator hear. The moderator records the utterance and grants the next token, so
whose turn it is and what period it is are facts held in one place.
"""

from __future__ import annotations

import random
from collections import deque

from actors import Actor

from ..log._events import (
    RunError,
    TurnGranted,
    Utterance,
)
from ._context import RunContext
from ._protocol import Path, Said, TurnToken


class Moderator(Actor):
    """Turn-taking shared by every conversation's moderator: the public one, councils, role-plays."""

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
