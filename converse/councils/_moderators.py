"""The lab conversation's moderators: the public conversation's, period by period, and each
council's private debate, round by round (turn-taking itself is ``engine.Moderator``'s)."""

from __future__ import annotations

from actors import ActorRef

from ..engine._context import RunContext
from ..engine._moderator import Moderator
from ..engine._protocol import (
    Begin,
    Convene,
    Deliberate,
    Deliberated,
    Path,
    Pending,
    Said,
)
from ..log._events import (
    ConversationEnded,
    ConversationStarted,
    PeriodStarted,
)
from ..scenario._clock import period_count, period_label


class TopModerator(Moderator):
    """The public conversation: periods on the clock, one round of statements per period."""

    def __init__(
        self, ctx: RunContext, members: list[str], deliberators: list[tuple[str, ActorRef]]
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
        if await self._open_period(index):
            await self._deliberate()

    async def _open_period(self, index: int) -> bool:
        """Start the period of that index on the clock; False: the clock has run out (the
        conversation is over)."""
        if self.clock.end is not None and index >= period_count(self.clock):
            await self._end("end_period")
            return False
        ctx = self.ctx
        self.period_index = index
        self.period = period_label(self.clock, index)
        ctx.periods += 1
        await ctx.emit(PeriodStarted(run=ctx.run, conversation=self.path, period=self.period, index=index))
        return True

    async def _deliberate(self) -> None:
        """The councils meet (all at once, when they deliberate concurrently), then the round
        of statements starts."""
        if self.deliberators:
            self.deliberating = len(self.deliberators)
            for name, agent in self.deliberators:
                await agent.tell(Deliberate(self.period, self.period_index, self.ref, self._since(name)))
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


class CouncilModerator(Moderator):
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
        self.result: Pending[list[tuple[str, str]]] | None = None

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
        self._open_session(convene.public_record)
        await ctx.emit(
            ConversationStarted(
                run=ctx.run,
                conversation=self.path,
                members=tuple(self.members),
                period=self.period,
                owner=self.owner,
            )
        )
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
