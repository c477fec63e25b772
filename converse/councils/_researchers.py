"""A population's researchers: each an actor with a memory stream of its own, owned by the lab
it works at, idle (owning no task) between its turns.

Each period its lab hands it an ``Assignment``: the news of the labs' statements, and an offer
from another lab if it has one. It remembers the news, asks its model what it works on this
period, whether it publishes and whether it takes the offer (one recorded call, the prompt
holding what its stream recalls for the turn), and tells its lab what it did. Once the period
is settled, it takes in whom it met and what it did (``StreamMemory.digest``) while the labs'
leaders deliberate. When it moves to another lab its memory goes with it: the lab it leaves
stops its actor, and the lab it joins starts one with the same state.
"""
from __future__ import annotations

from dataclasses import dataclass

import msgspec

from actors import Actor, ActorRef

from ..engine._calling import PromptChain, call_and_record, request_for
from ..engine._context import RunContext
from ..engine._seats import Seat
from ..engine._stream_memory import StreamMemory
from ..log._events import ChatMessage
from ..models._model import Hints
from ..scenario._population import (
    NO_NEWS,
    NO_OFFER,
    OFFER,
    QUERY,
    RESEARCHER_SYSTEM,
    RESEARCHER_TURN,
    RESEARCHERS,
    Work,
    work_of,
)
from ..scenario._scenario import Area, Memory, Persona
from ..scenario._templates import fill

__all__ = ["Assignment", "Digested", "Done", "Meetings", "Researcher", "ResearcherActor", "research_path"]


def research_path(lab: str) -> tuple[str, ...]:
    """Where a lab's researchers' calls and memories are logged."""
    return ("top", lab, "research")


class Assignment(msgspec.Struct, frozen=True, gc=False):
    """A lab to one of its researchers: the period's work is due; ``news`` is what the labs
    said in public lately (None: nothing yet), ``offer`` the lab that made it an offer."""

    period: str
    period_index: int
    news: str | None
    offer: str | None
    reply_to: ActorRef


class Done(msgspec.Struct, frozen=True, gc=False):
    """A researcher to its lab: what it did this period, and the offer it had."""

    name: str
    work: Work
    offer: str | None


class Meetings(msgspec.Struct, frozen=True, gc=False):
    """A lab to one of its researchers, once the period's work is settled: whom it met (one
    line each, perhaps none), and whether to take in its period now (``digest``: while the
    leaders deliberate, so its next turn has only the news to embed; not after the last
    period, which no turn follows)."""

    notes: tuple[str, ...]
    period_index: int
    digest: bool
    reply_to: ActorRef | None = None  # told ``Digested`` once the period is taken in


class Digested(msgspec.Struct, frozen=True, gc=False):
    """A researcher to its lab: it has taken in its period."""


@dataclass(slots=True)
class Researcher:
    """A researcher's state: who it is, where it works, its memory and its model. Its actor
    owns it; when the researcher moves, it is handed to its next actor."""

    name: str
    persona: Persona
    lab: str
    stream: StreamMemory
    seat: Seat
    chain: PromptChain

    @property
    def area(self) -> Area:
        return self.persona.area


def researcher_system(ctx: RunContext, name: str, persona: Persona, lab: str, description: str) -> ChatMessage:
    """A researcher's system message at ``lab``."""
    scenario = ctx.scenario
    assert scenario.population is not None
    values: dict[str, object] = {
        **scenario.dials, "name": name, "lab": lab, "area": persona.area, "seniority": persona.seniority,
    }
    template = scenario.population.prompts.researcher_system or RESEARCHER_SYSTEM
    return ChatMessage(role="system", content=fill(template, {
        **values,
        "persona": fill(persona.text, values),
        "lab_description": description,
        "unit": scenario.clock.step,
    }))


def new_researcher(ctx: RunContext, name: str, persona: Persona, lab: str, description: str, memory: Memory) -> Researcher:
    """A researcher hired by ``lab`` at the start of the run, with its memory settings (one
    ``Memory`` for them all)."""
    seat = ctx.seat(ctx.run_settings, name)
    ctx.ledger.booked_as[name] = RESEARCHERS
    system = researcher_system(ctx, name, persona, lab, description)
    stream = StreamMemory(ctx, name, research_path(lab), memory, seat, system)
    return Researcher(name, persona, lab, stream, seat, PromptChain())


def moved(ctx: RunContext, me: Researcher, lab: str, description: str) -> None:
    """``me`` now works at ``lab``: its system message says so, its memory stays its own."""
    me.lab = lab
    me.stream.system = researcher_system(ctx, me.name, me.persona, lab, description)
    me.stream.conversation = research_path(lab)


class ResearcherActor(Actor):
    """One researcher at work."""

    def __init__(self, ctx: RunContext, me: Researcher) -> None:
        self.ctx = ctx
        self.me = me

    async def receive(self, message: object) -> None:
        if type(message) is Assignment:
            await self._work(message)
        elif type(message) is Meetings:
            stream = self.me.stream
            for note in message.notes:
                stream.met(note, message.period_index)
            if message.digest:
                await stream.digest(message.period_index)
                if message.reply_to is not None:
                    await message.reply_to.tell(Digested())

    async def _work(self, task: Assignment) -> None:
        ctx, me = self.ctx, self.me
        scenario = ctx.scenario
        assert scenario.population is not None
        stream = me.stream
        if task.news is not None:
            stream.heard(task.news, task.period_index)
        template = scenario.population.prompts.researcher_turn or RESEARCHER_TURN
        user = ChatMessage(role="user", content=fill(template, {
            **scenario.dials,
            "name": me.name,
            "lab": me.lab,
            "period": task.period,
            "news": task.news or NO_NEWS,
            "offer": OFFER.format(lab=task.offer) if task.offer else NO_OFFER,
        }))
        # What it recalls is what bears on its choice, not the news it was just handed.
        query = QUERY.format(area=me.area, lab=me.lab, period=task.period)
        messages = await stream.prompt(user, task.period_index, query)
        settings = me.seat.settings
        request = request_for(
            settings, messages, Hints(kind="research", speaker=me.name, organisation=me.lab, period=task.period)
        )
        response = await call_and_record(
            ctx, request, conversation=stream.conversation, actor=me.name, purpose="research",
            estimate=stream.needed + settings.max_tokens, chain=me.chain, seat=me.seat,
        )
        # Its next prompt shares only the system message with this one: the chain keeps no more.
        me.chain.messages = me.chain.messages[:1]
        work = work_of(response.text, me.area, offered=task.offer is not None)
        stream.said(_did(task.period, work, task.offer), task.period_index)
        await task.reply_to.tell(Done(me.name, work, task.offer))


def _did(period: str, work: Work, offer: str | None) -> str:
    """What a researcher remembers of its own period's work."""
    text = f"In {period} I worked on {work.area}: {work.project}"
    if work.paper:
        text += f' I published "{work.paper}".'
    if offer:
        text += f" I {'accepted' if work.accepts else 'turned down'} an offer from {offer}."
    return text
