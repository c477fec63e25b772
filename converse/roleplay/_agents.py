"""The role-play's agents: the AI user, the AI assistant, and the one-shot task specifier
and planner. Each is an actor with its own inception prompt and private memory.

The user and the assistant hear each other on the conversation's topic and speak when the
moderator's turn token names them. Each sees its own messages as ``assistant`` and the
other's as ``user``, as in CAMEL. Before each call an agent counts its prompt's tokens (an
estimate, corrected by the usage the server reports); a prompt that would reach the
context limit is not sent, and the agent tells the moderator instead.
"""

from __future__ import annotations

from typing import Literal

import anyio
import msgspec

from actors import Actor, ActorRef

from .._exceptions import ContextWindowExceeded
from ..engine._calling import Answer, PromptChain, ask_model, call_and_record, from_log, request_for
from ..engine._context import RunContext
from ..engine._memory import AgentMemory
from ..engine._protocol import Said, TurnToken
from ..log._events import ChatMessage
from ..models._model import CompletionRequest, CompletionResponse, Hints, estimate_tokens
from ..scenario._models import own_settings
from ..scenario._roleplay import RolePlay
from ..scenario._scenario import Memory
from . import _prompts
from ._critic import Proposals

Side = Literal["user", "assistant"]

ROLE_TYPE: dict[Side, str] = {"user": "USER", "assistant": "ASSISTANT"}


class OutOfContext(msgspec.Struct, frozen=True, gc=False):
    """Published by the turn holder instead of ``Said``: its prompt would not fit."""

    conversation: tuple[str, ...]
    speaker: str
    token: int
    tokens: int


class Acknowledge(msgspec.Struct, frozen=True, gc=False):
    """Asked of the assistant in the 2023 kick-off: answer your own rules, and remember it."""


class OneShot(msgspec.Struct, frozen=True, gc=False):
    """Asked of a task agent: answer this request once (returns the text)."""

    user: str


class TaskAgent(Actor):
    """The task specifier or the task planner: a system prompt, one request, one answer."""

    def __init__(self, ctx: RunContext, name: str, kind: Literal["specify", "plan"], system: str,
                 temperature: float) -> None:
        self.ctx = ctx
        self.name = name
        self.kind: Literal["specify", "plan"] = kind
        self.system_message = ChatMessage(role="system", content=system)
        self.temperature = temperature
        self.chain = PromptChain()

    async def receive(self, message: object) -> str:
        assert isinstance(message, OneShot)
        settings = self.ctx.scenario.model
        messages = [self.system_message, ChatMessage(role="user", content=message.user)]
        request = request_for(
            settings, messages, Hints(kind=self.kind, speaker=self.name), temperature=self.temperature
        )
        estimate = estimate_tokens(len(self.system_message.content) + len(message.user)) + settings.max_tokens
        response = await call_and_record(
            self.ctx, request, conversation=("top", "task"), actor=self.name, purpose=self.kind,
            estimate=estimate, chain=self.chain,
        )
        return response.text.strip()


class RolePlayAgent(Actor):
    """The AI user (``side="user"``) or the AI assistant (``side="assistant"``).

    Args:
        ctx: the run.
        side: which of the two this is (also its actor name in the log).
        task: the task as both agents are told it (specified, with any plan).
        critic: the critic that chooses among this agent's candidates, if it proposes any.
    """

    def __init__(self, ctx: RunContext, side: Side, task: str, critic: ActorRef | None) -> None:
        play = ctx.scenario.roleplay
        assert play is not None
        self.ctx = ctx
        self.play: RolePlay = play
        self.side: Side = side
        self.role_name = play.user_role if side == "user" else play.assistant_role
        self.path = ("top",)
        self.topic = ctx.conversation_topic(self.path)
        self.system_message = ChatMessage(role="system", content=_prompts.system_prompt(play, side, task))
        # The whole chat, as in CAMEL; a prompt of token_limit tokens or more is not sent.
        self.memory = AgentMemory(side, Memory(tokens=play.token_limit - 1), None, 0, self.system_message)
        self.incoming: ChatMessage | None = None  # the other's newest message
        if side == "user":  # the kick-off, attributed to the assistant
            self.incoming = ChatMessage(role="user", content=_prompts.kickoff(play, task))
        self.critic = critic
        applies = play.critic.proposers in ("both", side)
        self.candidates = play.critic.candidates if critic is not None and applies else 1
        self.chain = PromptChain()
        choice = play.user_model if side == "user" else play.assistant_model
        self.seat = ctx.seat(own_settings(ctx.run_settings, choice), side)

    async def on_start(self) -> None:
        self.ctx.system.bus.subscribe(self.ctx.turn_topic(self.path, self.side), self.ref)

    async def receive(self, message: object) -> None:
        if isinstance(message, TurnToken):
            if message.since:  # the other's newest message comes with my turn
                self.incoming = ChatMessage(role="user", content=message.since[-1].text)
            await self._take_turn(message)
        elif isinstance(message, Acknowledge):
            await self._acknowledge()

    async def _take_turn(self, token: TurnToken) -> None:
        incoming = self.incoming or ChatMessage(role="user", content="")
        try:
            messages = self.memory.prompt(incoming)
        except ContextWindowExceeded as full:
            await self.ctx.system.bus.publish(
                self.topic, OutOfContext(self.path, self.side, token.token, full.needed), sender=self.ref
            )
            return
        kind: Literal["instruction", "solution"] = "instruction" if self.side == "user" else "solution"
        if self.candidates > 1:
            text, response = await self._choose(messages, kind, token.period)
        else:
            response = await self._call(messages, kind, token.period, purpose=kind)
            text = response.text
        self.memory.remember(incoming, ChatMessage(role="assistant", content=text), response.usage)
        self.incoming = None
        await self.ctx.system.bus.publish(
            self.topic, Said(self.path, self.side, token.token, token.period, text.strip()), sender=self.ref
        )

    async def _acknowledge(self) -> None:
        """CAMEL's 2023 start: the assistant is shown its own rules and answers them."""
        rules = ChatMessage(role="user", content=self.system_message.content)
        messages = self.memory.prompt(rules)
        response = await self._call(messages, "acknowledge", "", purpose="acknowledge")
        self.memory.remember(rules, ChatMessage(role="assistant", content=response.text), response.usage)

    def _request(self, messages: list[ChatMessage], kind: str, period: str, *, candidate: int = 0,
                 temperature: float | None = None) -> CompletionRequest:
        settings = self.seat.settings
        return request_for(
            settings, messages,
            Hints(kind=kind, speaker=self.side, period=period, end_token=self.play.end_token,  # type: ignore[arg-type]
                  candidate=candidate),
            temperature=temperature,
        )

    async def _call(self, messages: list[ChatMessage], kind: str, period: str, *, purpose: str) -> CompletionResponse:
        request = self._request(messages, kind, period)
        estimate = self.memory.needed + self.seat.settings.max_tokens
        return await call_and_record(
            self.ctx, request, conversation=self.path, actor=self.side, purpose=purpose, estimate=estimate,
            chain=self.chain, seat=self.seat,
        )

    async def _choose(self, messages: list[ChatMessage], kind: str, period: str) -> tuple[str, CompletionResponse]:
        """Sample the candidates at once, record them in candidate order, let the critic choose."""
        ctx, n = self.ctx, self.candidates
        temperature = self.play.critic.temperature
        requests = [self._request(messages, kind, period, candidate=i, temperature=temperature)
                    for i in range(1, n + 1)]
        # A replayed run takes its recorded answers in candidate order, whatever order the
        # concurrent calls below happen to start or end in; the log records them in that order.
        answers: list[Answer | None] = [None if (r := from_log(ctx, q)) is None else Answer(r) for q in requests]
        estimate = self.memory.needed + self.seat.settings.max_tokens

        async def one(i: int) -> None:
            answers[i] = await ask_model(ctx, requests[i], conversation=self.path, estimate=estimate, seat=self.seat)

        async with anyio.create_task_group() as tg:
            for i in range(n):
                if answers[i] is None:
                    tg.start_soon(one, i)
        responses = []
        for i, answer in enumerate(answers):
            assert answer is not None
            responses.append(await call_and_record(
                ctx, requests[i], conversation=self.path, actor=self.side, purpose="candidate", estimate=estimate,
                chain=self.chain, answered=answer,
            ))
        assert self.critic is not None
        options = [r.text.strip() for r in responses]
        choice: int = await self.critic.ask(
            Proposals(self.side, self.role_name, ROLE_TYPE[self.side], options), timeout=None
        )
        return options[choice - 1], responses[choice - 1]

