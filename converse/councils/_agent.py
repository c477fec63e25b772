"""Agents: one actor per agent and per council member, each with its own private memory.

When the moderator's ``TurnToken`` names an agent, the token hands it what the others said
in its conversation since its last turn, which it remembers; it (first lets its council
debate, if it has one, then) asks the model and says its piece on the conversation's topic.
Its memory is its own: nothing outside this actor reads it, and a council's debate never
leaves the agent it advises except through that agent's public statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from actors import Actor, ActorRef, Escalate

from ..engine._calling import PromptChain, ask_own_model, call_and_record, request_for
from ..engine._context import RunContext
from ..engine._memory import AgentMemory
from ..engine._protocol import Convene, Deliberate, Deliberated, Path, Pending, Said, TurnToken
from ..log._events import ChatMessage
from ..models._model import Hints
from ..scenario._clock import last_period, period_label
from ..scenario._memory_prompts import BRIEFING_RECORD, briefing_request, notes_request
from ..scenario._models import member_settings, own_settings
from ..scenario._scenario import Agent, Council, ModelSettings, Scenario
from ..scenario._templates import fill, template_fields
from ._moderators import CouncilModerator

if TYPE_CHECKING:
    from ..engine._stream_memory import StreamMemory

NO_NEW = "(Nothing new has been said since your last turn.)"
SPEAKS_FIRST = "(Nobody has spoken yet in this session: you open the debate.)"
NO_RECORD = "(Your council has not been shown the public statements.)"
EMPTY_RECORD = "(No public statements have been made yet.)"
MEETING = "My council's meeting before my statement for {period}:\n{debate}"


@dataclass(slots=True, frozen=True)
class Role:
    """Where an agent sits: the conversation it speaks in and whom it works for.

    ``speakers`` is everyone in that conversation (the agent too), as ``(name, kind)``
    pairs: one tuple shared by them all, so that setting up n agents takes time and memory
    in proportion to n, not n squared; each agent leaves itself out where it names the others.
    """

    path: Path
    organisation: str  # its own name at the top level
    organisation_description: str
    organisation_kind: str
    speakers: tuple[tuple[str, str], ...]
    council: Council | None  # the council it belongs to (None at the top level)
    advised: ModelSettings | None = None  # the model settings of the agent its council advises


def _template(scenario: Scenario, council: Council | None, key: str) -> str:
    if council is not None and council.prompts is not None and getattr(council.prompts, key):
        return str(getattr(council.prompts, key))
    return str(getattr(scenario.prompts, key))


class AgentActor(Actor):
    """An agent or council member."""

    def __init__(self, ctx: RunContext, spec: Agent, role: Role) -> None:
        self.ctx = ctx
        self.spec = spec
        self.name = spec.name
        self.role = role
        self.top = len(role.path) == 1
        self.first_period = period_label(ctx.scenario.clock, 0)
        self.path = role.path
        self.topic = ctx.conversation_topic(role.path)
        self.values: dict[str, object] = dict(ctx.scenario.dials)
        self.unheard: list[str] = []  # what was said since my last turn
        self.heard: list[tuple[str, str, str]] = []  # (speaker, period, text) said in my conversation
        self.opening: str | None = None  # a council session's opening, until my first turn in it
        self.prepared: dict[str, list[tuple[str, str]]] = {}  # debates held ahead of my turn
        self.council: ActorRef | None = None
        self.first_turn = True
        self.chain = PromptChain()  # my previous model call, whose prompt my next one extends
        # The others in my conversation, kept when there are few: each agent keeping a list
        # of all the others would make a large conversation cost memory in n squared.
        self.few_others = self._others() if len(role.speakers) <= 64 else None
        self.system_message = ChatMessage(role="system", content=self._system_prompt())
        if role.council is None or role.advised is None:
            settings = own_settings(ctx.run_settings, spec.model)
        else:
            settings = member_settings(role.advised, role.council, spec)
        self.seat = ctx.seat(settings, "/".join((*role.path[1:], self.name)))
        policy = spec.memory or ctx.scenario.memory
        self.memory = AgentMemory(self.name, policy, self.seat.window, settings.max_tokens, self.system_message)
        # A memory stream, for the stream policy: what the agent hears and says is recalled by
        # relevance, recency and importance instead of kept in order.
        self.stream: StreamMemory | None = None
        if policy.policy == "stream":
            from ..engine._stream_memory import StreamMemory  # numpy: loaded by the runs that use it

            self.stream = StreamMemory(ctx, self.name, role.path, policy, self.seat, self.system_message)
        self.notes_chain = PromptChain()  # my calls that write my notes and briefings
        # A member's turn templates (its council's own, or the scenario's), looked up once.
        self.turn_template = _template(ctx.scenario, role.council, "member_turn")
        self.statement_template = _template(ctx.scenario, role.council, "member_statement")
        self.prefix = f"{self.name}:"  # a council line that names its speaker starts so
        self.briefing = ""  # my council's summary of the public record (public_context "summary")
        self.briefed = 0  # how much of what I heard it covers

    # -- set-up ---------------------------------------------------------------------------

    def _system_prompt(self) -> str:
        scenario = self.ctx.scenario
        if self.top:
            template = scenario.prompts.system
            values: dict[str, object] = {
                "name": self.name,
                "description": self.spec.description,
                "first_period": period_label(scenario.clock, 0),
                "last_period": last_period(scenario.clock) or "the end",
                "unit": scenario.clock.step,
            }
            wanted = template_fields(template)
            # Lists of everyone are made only for a template that shows them.
            if "organisations" in wanted:
                values["organisations"] = ", ".join(name for name, _ in self.role.speakers)
            if "others" in wanted:
                values["others"] = ", ".join(name for name, _ in self._others())
            return fill(template, {**self.values, **values})
        template = _template(scenario, self.role.council, "member_system")
        values = {
            "name": self.name,
            "persona": self.spec.persona or self.spec.description,
            "organisation": self.role.organisation,
            "organisation_description": self.role.organisation_description,
        }
        if "colleagues" in template_fields(template):
            values["colleagues"] = ", ".join(name for name, _ in self._others())
        return fill(template, {**self.values, **values})

    def _others(self) -> tuple[tuple[str, str], ...]:
        """The others who speak in my conversation, as ``(name, kind)`` pairs."""
        return tuple(speaker for speaker in self.role.speakers if speaker[0] != self.name)

    async def on_start(self) -> None:
        self.ctx.system.bus.subscribe(self.ctx.turn_topic(self.role.path, self.name), self.ref)
        council = self.spec.council
        if council is None:
            return
        path = (*self.role.path, self.name)
        organisation = self.name if self.top else self.role.organisation
        description = self.spec.description if self.top else self.role.organisation_description
        names = [m.name for m in council.members]
        speakers = tuple((m.name, m.kind) for m in council.members)
        for member in council.members:
            role = Role(
                path=path,
                organisation=organisation,
                organisation_description=description,
                organisation_kind=self.role.organisation_kind,
                speakers=speakers,
                council=council,
                advised=self.seat.settings,
            )
            ref = await self.spawn(partial(AgentActor, self.ctx, member, role), supervision=Escalate())
            self.ctx.agent_names[ref.name] = member.name
        self.council = await self.spawn(
            partial(
                CouncilModerator,
                self.ctx,
                path,
                self.name,
                names,
                council.turn_policy,
                council.order,
                council.rounds,
            ),
            supervision=Escalate(),
        )

    # -- messages -------------------------------------------------------------------------

    async def receive(self, message: object) -> None:
        if type(message) is TurnToken:
            self._hear(message.since, message.period, message.period_index)
            if message.opening is not None:
                self._open_session(message.period, message.opening)
            await self._take_turn(message)
        elif isinstance(message, Deliberate):
            self._hear(message.since, message.period, message.period_index)
            self.prepared[message.period] = await self._convene(message.period, message.period_index)
            await message.reply_to.tell(Deliberated(self.name))

    def _hear(self, said: tuple[Said, ...], period: str, period_index: int) -> None:
        """Remember what the others said since my last turn (in ``period`` or, at the top
        level, the period before)."""
        unheard, heard, stream = self.unheard, self.heard, self.stream
        for s in said:
            speaker, said_in, text = s.speaker, s.period, s.text
            line = self._line(speaker, said_in, text)
            unheard.append(line)
            heard.append((speaker, said_in, text))
            if stream is not None:
                stream.heard(line, period_index if said_in == period else max(period_index - 1, 0))

    def _open_session(self, period: str, public_record: str) -> None:
        """A council session starts: I am shown the public record, and what I heard of the
        last session is no longer part of the debate (what I had not yet answered still is)."""
        self.opening = fill(
            _template(self.ctx.scenario, self.role.council, "council_opening"),
            {**self.values, "organisation": self.role.organisation, "period": period, "public_record": public_record},
        )
        self.heard = [h for h in self.heard if h[1] == period]  # one session per period

    def _line(self, speaker: str, period: str, text: str) -> str:
        return f"{speaker} ({period}): {text}" if self.top else f"{speaker}: {text}"

    async def _convene(self, period: str, period_index: int) -> list[tuple[str, str]]:
        assert self.council is not None
        assert self.spec.council is not None
        if self.spec.council.public_context == "summary":
            record = await self._briefing(period)
        else:
            record = self._public_record(period_index)
        research = self._research(period)
        if research:
            record = f"{record}\n\n{research}"
        result: Pending[list[tuple[str, str]]] = Pending()
        await self.council.tell(Convene(period, period_index, record, result))
        return await result.wait()

    async def _briefing(self, period: str) -> str:
        """A summary of the public record for my council, brought up to date with what was
        said since the last one (a recorded call; none when nothing new was said)."""
        new = self.heard[self.briefed :]
        if new:
            record = self._render_record(new)
            words = self.memory.policy.summary_words
            request = briefing_request(self.briefing, record, self.role.organisation, words)
            self.briefing = await self._summarise(request, period, "briefing")
            self.briefed = len(self.heard)
        return BRIEFING_RECORD.format(summary=self.briefing) if self.briefing else EMPTY_RECORD

    def _research(self, period: str) -> str | None:
        """What the agent's researchers did in ``period``, for its council or its statement
        (a lab of a population run); None: it has none."""
        return None

    def _render_record(self, heard: list[tuple[str, str, str]]) -> str:
        if self.top:
            return "\n\n".join(f"{s} ({p}): {t}" for s, p, t in heard)
        return "\n".join(f"{s}: {t}" for s, _, t in heard)

    def _public_record(self, period_index: int) -> str:
        """What this agent's council is told of the world outside it."""
        assert self.spec.council is not None
        context = self.spec.council.public_context
        if context == "none":
            return NO_RECORD
        heard = self.heard
        if context == "last-period" and self.top:
            clock = self.ctx.scenario.clock
            keep = {period_label(clock, i) for i in (period_index - 1, period_index) if i >= 0}
            heard = [h for h in heard if h[1] in keep]
        return self._render_record(heard) if heard else EMPTY_RECORD

    # -- speaking -------------------------------------------------------------------------

    async def _take_turn(self, token: TurnToken) -> None:
        scenario = self.ctx.scenario
        period = token.period
        debate: list[tuple[str, str]] | None = None
        if self.council is not None:
            debate = self.prepared.pop(period, None)
            if debate is None:
                debate = await self._convene(period, token.period_index)
        if self.top:
            statements = "\n\n".join(self.unheard) or NO_NEW
            if self.first_turn and scenario.conversation.opening:
                statements = f"{scenario.conversation.opening}\n\n{statements}" if self.unheard else scenario.conversation.opening
            if debate is None and (research := self._research(period)):
                statements = f"{research}\n\n{statements}"
            values = {**self.values, "name": self.name, "period": period, "statements": statements}
            if debate is None:
                user = fill(scenario.prompts.turn, values)
            else:
                user = fill(scenario.prompts.statement, {**values, "debate": _debate(debate)})
            kind = "statement"
        else:
            values = {
                **self.values,
                "name": self.name,
                "organisation": self.role.organisation,
                "period": period,
                "debate": "\n".join(self.unheard) or SPEAKS_FIRST,
            }
            if debate is None:
                user = fill(self.turn_template, values)
            else:
                user = fill(self.statement_template, {**values, "advice": _debate(debate)})
            if self.opening is not None:
                user = f"{self.opening}\n\n{user}"
                self.opening = None
            kind = "line"
        if debate and self.stream is not None:  # the council's meeting, remembered from now on
            self.stream.met(MEETING.format(period=period, debate=_debate(debate)), token.period_index)
        text = await self._ask_model(user, kind, period, token.period_index)
        self.first_turn = False
        self.unheard = []
        self.heard.append((self.name, period, text))
        await self.ctx.system.bus.publish(
            self.topic, Said(self.role.path, self.name, token.token, period, text), sender=self.ref
        )

    async def _ask_model(self, user: str, kind: str, period: str, period_index: int) -> str:
        ctx = self.ctx
        settings = self.seat.settings
        user_message = ChatMessage(role="user", content=user)
        memory = self.memory
        stream = self.stream
        messages: list[ChatMessage]
        if stream is not None:
            messages = await stream.prompt(user_message, period_index)
        else:
            if memory.policy.policy == "summary":
                forgotten = memory.to_forget(user_message)
                if forgotten:
                    notes = await self._summarise(
                        notes_request(memory.notes, forgotten, memory.policy.summary_words), period, "summary"
                    )
                    memory.remember_notes(notes, len(forgotten))
            messages = memory.prompt(user_message)
        request = request_for(
            settings,
            messages,
            Hints(
                kind="statement" if kind == "statement" else "line",
                speaker=self.name,
                organisation=self.role.organisation,
                period=period,
                end_token=ctx.scenario.termination.end_token,
                organisation_kind=self.role.organisation_kind,
                others=self.few_others if self.few_others is not None else self._others(),
                first_period=self.first_period,
            ),
        )
        estimate = (stream.needed if stream is not None else memory.needed) + settings.max_tokens
        response = await call_and_record(
            ctx, request, conversation=self.path, actor=self.name, purpose=kind, estimate=estimate, chain=self.chain,
            seat=self.seat,
        )
        text = response.text.strip()
        if kind == "line" and text.startswith(self.prefix):  # lines show "Name: text": the name once
            text = text[len(self.prefix) :].lstrip()
        if stream is not None:
            stream.said(self._line(self.name, period, text), period_index)
        else:
            memory.remember(user_message, ChatMessage(role="assistant", content=response.text), response.usage)
        return text

    async def _summarise(self, messages: list[ChatMessage], period: str, purpose: str) -> str:
        """Ask the model for my notes, or a briefing for my council (a recorded call)."""
        hints = Hints(kind="summary", speaker=self.name, organisation=self.role.organisation, period=period)
        response = await ask_own_model(
            self.ctx, self.seat, messages, hints, conversation=self.path, actor=self.name, purpose=purpose,
            chain=self.notes_chain,
        )
        return response.text.strip()


def _debate(lines: list[tuple[str, str]]) -> str:
    return "\n".join(f"{speaker}: {text}" for speaker, text in lines)
