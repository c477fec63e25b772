"""The moderator base: one actor per conversation hands out turn tokens, keeps the clock, ends it.

The moderator publishes a ``TurnToken`` on the holder's turn topic; only the holder speaks,
by publishing ``Said`` with the token on the conversation's topic, which the moderator
hears. The moderator records the utterance and grants the next token, which carries what
the others said since the holder's last turn: whose turn it is, what period it is and who
has heard what are facts held in one place, and a turn costs its holder one message, not
one per utterance.
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
        self.record: list[Said] = []  # what was said lately, from the ``forgotten``-th utterance on
        self.forgotten = 0  # utterances every member has been handed, dropped from the record
        self.told: dict[str, int] = {}  # how many utterances each member has been handed
        self.opening: str | None = None  # handed to each member with its first token of a session
        self.opened: set[str] = set()  # the members handed this session's opening

    def _open_session(self, opening: str) -> None:
        """A session starts (a council's debate): each member's next token carries ``opening``."""
        self.opening = opening
        self.opened = set()

    def _since(self, member: str) -> tuple[Said, ...]:
        """What the others said since ``member``'s last turn (which it has now been handed)."""
        record, told = self.record, self.told
        start = told.get(member, 0) - self.forgotten
        told[member] = self.forgotten + len(record)
        since = tuple(record[start:])
        if self.policy == "simultaneous":  # its own line can be among the others'
            since = tuple(said for said in since if said.speaker != member)
        if len(record) > 256 and len(told) == len(self.members):  # drop what everyone has had
            done = min(told.values()) - self.forgotten
            del record[:done]
            self.forgotten += done
        return since

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
        granted = TurnGranted(
            run=ctx.run, conversation=self.path, actor=holder, period=self.period, turn=self.turns, token=self.token
        )
        if not ctx.emit_nowait(granted):
            await ctx.emit(granted)
        opening = None
        if self.opening is not None and holder not in self.opened:
            opening = self.opening
            self.opened.add(holder)
        await ctx.system.bus.publish(
            self.turn_topics.get(holder) or self.turn_topics.setdefault(holder, ctx.turn_topic(self.path, holder)),
            TurnToken(
                self.path, holder, self.token, self.turns, self.period, self.period_index, self._since(holder), opening
            ),
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
        record = self.record
        record.append(said)
        told = self.told
        if told.get(said.speaker) == self.forgotten + len(record) - 1:
            told[said.speaker] += 1  # nobody spoke since its turn: it need not hear itself
        utterance = Utterance(
            run=ctx.run, conversation=self.path, actor=said.speaker, period=said.period, turn=self.turns, text=said.text
        )
        if not ctx.emit_nowait(utterance):
            await ctx.emit(utterance)
        return True

    def _round_over(self) -> bool:
        return not self.waiting and not self.outstanding
