"""A population run: the lab conversation, with each lab staffed by researchers.

Each period, before the labs' councils meet:

1. the top moderator hands every lab the news (the labs' statements of the period before) and
   the offers other labs make its researchers (a seeded draw: ``population.mobility``);
2. each lab's researchers work, all at once (``ResearcherActor``), and each lab remembers what
   they did in a memory stream of its own, from which its leadership is briefed;
3. the moderator pairs researchers to meet (a seeded pairing inside each lab, and across labs
   at a conference), moves those who took an offer (their state goes with them), and logs the
   population's state (``PopulationState``);
4. the councils meet, briefed with their lab's research, and the labs make their statements,
   as in any lab conversation; meanwhile each researcher takes in whom it met and what it did
   (and reflects, when it is time to), so that its next turn waits only for the news.
"""

from __future__ import annotations

import random
import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import msgspec

from actors import Actor, ActorRef, Escalate

from ..engine._context import RunContext
from ..engine._protocol import Pending, Said
from ..engine._stream_memory import StreamMemory, record_line
from ..log._events import AREAS, LabCensus, Move, PopulationState
from ..scenario._clock import period_count, period_label
from ..scenario._population import (
    BRIEFING,
    briefing_actor,
    briefing_memory,
    personas_of,
    population_labs,
    researcher_name,
    staffing,
)
from ..scenario._scenario import Agent, Area
from ..scenario._templates import fill
from ._agent import AgentActor, Role
from ._moderators import TopModerator
from ._researchers import (
    Assignment,
    Digested,
    Done,
    Meetings,
    Researcher,
    ResearcherActor,
    moved,
    new_researcher,
)
from ._root import CouncilsRoot

__all__ = ["PopulationRoot"]

# The most researchers of one lab at work at once: each one at work holds its prompt and its
# calls in memory, and ten thousand at once would buy nothing that a few hundred do not (a
# model server works on a few hundred requests at a time at most).
AT_ONCE = 256
_GIST = 160  # the most characters of a statement the news gives: about a sentence
_SENTENCE = re.compile(r"(?<=[.!?])\s")


class Research(msgspec.Struct, frozen=True, gc=False):
    """The moderator to a lab: its researchers' work for the period is due."""

    period: str
    period_index: int
    news: str | None
    offers: dict[str, str]  # researcher -> the lab that offers it a position
    reply_to: ActorRef


class Researched(msgspec.Struct, frozen=True, gc=False):
    """A lab to the moderator: what each of its researchers did, in the order of its staff."""

    lab: str
    done: list[Done]


class Settle(msgspec.Struct, frozen=True, gc=False):
    """The moderator to a lab: whom its researchers met, and who leaves it (``result`` gets
    their states, each with whom it met, once their actors have stopped); ``final``: no period
    follows."""

    period_index: int
    notes: dict[str, list[str]]
    leaving: list[str]
    result: Pending[list[tuple[Researcher, tuple[str, ...]]]]
    final: bool


class Admit(msgspec.Struct, frozen=True, gc=False):
    """The moderator to a lab: a researcher joins it, with whom it met before it left."""

    researcher: Researcher
    notes: tuple[str, ...]
    period_index: int
    final: bool


class _Waves:
    """Messages to a lab's researchers handed out ``AT_ONCE`` at a time: one more each time a
    researcher says it is done with the last."""

    __slots__ = ("out", "waiting")

    def __init__(self) -> None:
        self.waiting: deque[tuple[ActorRef, object]] = deque()
        self.out = 0  # handed out and not done yet

    async def send(self, ref: ActorRef, message: object) -> None:
        self.waiting.append((ref, message))
        await self.more(AT_ONCE)

    async def done(self) -> None:
        self.out -= 1
        await self.more(AT_ONCE)

    async def more(self, most: int | None) -> None:
        """Hand messages out until ``most`` are out (None: all of them)."""
        while self.waiting and (most is None or self.out < most):
            ref, message = self.waiting.popleft()
            self.out += 1
            await ref.tell(message)


class PopulatedLab(AgentActor):
    """A lab with researchers: it starts their actors, hands them their work, remembers what
    they did and briefs its leadership from that memory."""

    def __init__(self, ctx: RunContext, spec: Agent, role: Role, staff: list[tuple[str, int]]) -> None:
        super().__init__(ctx, spec, role)
        population = ctx.scenario.population
        assert population is not None
        self.hiring = staff  # (name, persona) of the researchers it starts with
        self.staff: dict[str, tuple[ActorRef, Researcher]] = {}  # in the order they joined
        self.asked: Research | None = None
        self.work = _Waves()  # the period's assignments
        self.done: dict[str, Done] = {}
        self.digests = _Waves()  # each researcher's taking in of its period
        self.briefs: dict[str, str] = {}  # the briefing on each period's research
        self.research = StreamMemory(
            ctx, briefing_actor(self.name), (*role.path, self.name), briefing_memory(population), self.seat,
            self.system_message,
        )

    async def on_start(self) -> None:
        await super().on_start()
        population = self.ctx.scenario.population
        assert population is not None
        personas, memory = personas_of(population), population.memory
        for name, persona in self.hiring:
            await self._hire(new_researcher(self.ctx, name, personas[persona], self.name, self.spec.description, memory))
        self.hiring = []

    async def _hire(self, me: Researcher) -> ActorRef:
        ref = await self.spawn(partial(ResearcherActor, self.ctx, me), supervision=Escalate())
        self.ctx.agent_names[ref.name] = me.name
        self.staff[me.name] = (ref, me)
        return ref

    async def receive(self, message: object) -> None:
        if type(message) is Done:
            await self._done(message)
        elif type(message) is Digested:
            await self.digests.done()
        elif type(message) is Research:
            await self._research_due(message)
        elif type(message) is Settle:
            await self._settle(message)
        elif type(message) is Admit:
            me = message.researcher
            moved(self.ctx, me, self.name, self.spec.description)
            ref = await self._hire(me)
            await ref.tell(Meetings(message.notes, message.period_index, not message.final))
        else:
            await super().receive(message)

    async def _research_due(self, task: Research) -> None:
        # Whoever has not taken in the last period yet does so before its turn (its mailbox
        # holds the two in order).
        await self.digests.more(None)
        self.asked, self.done = task, {}
        if not self.staff:
            await self._report()
            return
        for name, (ref, _) in self.staff.items():
            await self.work.send(ref, Assignment(task.period, task.period_index, task.news, task.offers.get(name), self.ref))

    async def _done(self, done: Done) -> None:
        self.done[done.name] = done
        await self.work.done()
        if len(self.done) == len(self.staff):
            await self._report()

    async def _report(self) -> None:
        """Every researcher is done: remember their work (in the order of the staff, whatever
        order they finished in), brief the leadership from it, tell the moderator."""
        task = self.asked
        assert task is not None
        done = [self.done[name] for name in self.staff]
        research = self.research
        for d in done:
            line = f"{d.name} ({self.staff[d.name][1].area}) worked on {d.work.area}: {d.work.project}"
            if d.work.paper:
                research.said(f'{line} Published "{d.work.paper}".', task.period_index)
            else:
                research.heard(line, task.period_index)
        population = self.ctx.scenario.population
        assert population is not None
        if done:
            query = f"What {self.name}'s researchers achieved and found in {task.period}, and what it means for the lab's plans"
            chosen = await research.recall(query, task.period_index)
            clock = self.ctx.scenario.clock
            lines = "\n".join(record_line(r.record, period_label(clock, r.record.period)) for r in chosen)
            self.briefs[task.period] = fill(population.prompts.briefing or BRIEFING, {
                **self.values, "lab": self.name, "period": task.period, "count": len(chosen),
                "total": len(research.stream or ()), "records": lines,
            })
        self.asked, self.done = None, {}
        await task.reply_to.tell(Researched(self.name, done))

    async def _settle(self, settle: Settle) -> None:
        """The period is settled: those who leave are let go (their meetings go with them, to
        be taken in at their new lab), the others told whom they met."""
        leaving = []
        for name in settle.leaving:
            ref, me = self.staff.pop(name)
            await ref.stop()
            leaving.append((me, tuple(settle.notes.get(name, ()))))
        settle.result.resolve(leaving)
        for name, (ref, _) in self.staff.items():
            met = Meetings(tuple(settle.notes.get(name, ())), settle.period_index, not settle.final, self.ref)
            if settle.final:  # no turn follows: nothing to take in, nobody says it is done
                await ref.tell(met)
            else:
                await self.digests.send(ref, met)

    def _research(self, period: str) -> str | None:
        return self.briefs.pop(period, None)


@dataclass(slots=True)
class _Member:
    """A researcher as the moderator knows it: where it works and its field."""

    lab: str
    area: Area


class PopulationModerator(TopModerator):
    """The public conversation of a population run: before each period's councils meet, the
    researchers work, meet and move."""

    def __init__(
        self, ctx: RunContext, members: list[str], deliberators: list[tuple[str, ActorRef]],
        labs: dict[str, ActorRef], roster: dict[str, tuple[str, Area]],
    ) -> None:
        super().__init__(ctx, members, deliberators)
        population = ctx.scenario.population
        assert population is not None
        self.population = population
        self.labs = labs
        self.roster = {name: _Member(lab, area) for name, (lab, area) in roster.items()}
        self.draws = random.Random(f"{ctx.seed}:population")  # offers and pairings
        self.statements: dict[str, str] = {}  # each agent's latest public statement
        self.reports: dict[str, list[Done]] = {}
        self.expected = 0

    async def receive(self, message: object) -> None:
        if type(message) is Researched:
            self.reports[message.lab] = message.done
            if len(self.reports) == self.expected:
                await self._settle()
        else:
            await super().receive(message)

    async def _heard(self, said: Said) -> bool:
        if not await super()._heard(said):
            return False
        self.statements[said.speaker] = said.text
        return True

    async def _start_period(self, index: int) -> None:
        if not await self._open_period(index):
            return
        news = self._news()
        offers = self._offers()
        self.reports, self.expected = {}, len(self.labs)
        for lab, ref in self.labs.items():
            await ref.tell(Research(self.period, index, news, offers.get(lab, {}), self.ref))

    def _news(self) -> str | None:
        """What the researchers hear of the world: the gist of each agent's latest statement."""
        said = [(name, self.statements[name]) for name in self.members if name in self.statements]
        return "\n".join(f"- {name}: {_gist(text)}" for name, text in said) or None

    def _offers(self) -> dict[str, dict[str, str]]:
        """The offers of the period, by the lab of the researcher offered: each researcher is
        made one with the chance ``mobility``, by another lab drawn at random."""
        labs = list(self.labs)
        offers: dict[str, dict[str, str]] = {}
        if len(labs) < 2 or self.population.mobility <= 0:
            return offers
        draw, mobility = self.draws.random, self.population.mobility
        for name, member in self.roster.items():
            if draw() < mobility:
                others = [lab for lab in labs if lab != member.lab]
                offers.setdefault(member.lab, {})[name] = others[int(draw() * len(others))]
        return offers

    async def _settle(self) -> None:
        """Everyone has worked: pair them to meet, move those who took an offer, log the state
        of the population, and let the councils meet."""
        ctx = self.ctx
        work = {d.name: d for lab in self.labs for d in self.reports[lab]}
        notes, meetings, conference = self._meetings(work)
        moves = [
            Move(researcher=d.name, area=self.roster[d.name].area, origin=self.roster[d.name].lab, destination=d.offer)
            for d in work.values() if d.work.accepts and d.offer
        ]
        census = self._census(work, moves)
        handovers: list[Pending[list[tuple[Researcher, tuple[str, ...]]]]] = []
        final = self.clock.end is not None and self.period_index + 1 >= period_count(self.clock)
        for lab, ref in self.labs.items():
            handover: Pending[list[tuple[Researcher, tuple[str, ...]]]] = Pending()
            handovers.append(handover)
            leaving = [m.researcher for m in moves if m.origin == lab]
            await ref.tell(Settle(self.period_index, notes.get(lab, {}), leaving, handover, final))
        destinations = {m.researcher: m.destination for m in moves}
        for handover in handovers:
            for me, met in await handover.wait():
                destination = destinations[me.name]
                self.roster[me.name].lab = destination
                await self.labs[destination].tell(Admit(me, met, self.period_index, final))
        await ctx.emit(PopulationState(
            run=ctx.run, period=self.period, index=self.period_index, labs=census, moves=moves,
            meetings=meetings, conference=conference, unclear=sum(not d.work.understood for d in work.values()),
        ))
        await self._deliberate()

    def _meetings(self, work: dict[str, Done]) -> tuple[dict[str, dict[str, list[str]]], int, int]:
        """Who meets whom this period: ``meet`` rounds of a seeded pairing inside each lab,
        and at a conference one round across labs. The notes each researcher takes (by lab and
        researcher), the meetings inside labs and those across them."""
        notes: dict[str, dict[str, list[str]]] = {}
        staff: dict[str, list[str]] = {}
        for name in work:
            staff.setdefault(self.roster[name].lab, []).append(name)

        def meet(a: str, b: str, where: str) -> None:
            for one, other in ((a, b), (b, a)):
                notes.setdefault(self.roster[one].lab, {}).setdefault(one, []).append(
                    f"{where}{self._about(other, work[other])}"
                )

        inside = across = 0
        shuffle = self.draws.shuffle
        for names in staff.values():
            for _ in range(self.population.meet):
                order = names[:]
                shuffle(order)
                for a, b in zip(order[::2], order[1::2], strict=False):
                    meet(a, b, "")
                    inside += 1
        every = self.population.conference_every
        if every and self.period_index % every == 0 and len(staff) > 1:
            order = list(work)
            shuffle(order)
            where = f"At the {self.period} conference: "
            for a, b in zip(order[::2], order[1::2], strict=False):
                if self.roster[a].lab != self.roster[b].lab:
                    meet(a, b, where)
                    across += 1
        return notes, inside, across

    def _about(self, name: str, done: Done) -> str:
        member = self.roster[name]
        text = f"{name} ({member.area}, {member.lab}) is working on {done.work.area}: {done.work.project}"
        return f'{text} Published "{done.work.paper}".' if done.work.paper else text

    def _census(self, work: dict[str, Done], moves: list[Move]) -> list[LabCensus]:
        """Each lab's census: what its staff of the period did, its staff after the moves."""
        census = []
        joined = Counter(m.destination for m in moves)
        left = Counter(m.origin for m in moves)
        for lab in self.labs:
            done = [d for d in work.values() if self.roster[d.name].lab == lab]
            working: Counter[str] = Counter(d.work.area for d in done)
            papers: Counter[str] = Counter(d.work.area for d in done if d.work.paper)
            census.append(LabCensus(
                lab=lab,
                researchers=len(done) + joined[lab] - left[lab],
                working={area: working[area] for area in AREAS},
                papers={area: papers[area] for area in AREAS},
                joined=joined[lab],
                left=left[lab],
            ))
        return census


def _gist(text: str) -> str:
    """The start of a statement, in whole sentences where it can be (the news is short)."""
    text = " ".join(text.split())
    if len(text) <= _GIST:
        return text
    cut = 0
    for found in _SENTENCE.finditer(text):
        if found.start() > _GIST:
            break
        cut = found.start()
    return text[:cut] if cut else text[:_GIST].rstrip() + "..."


class PopulationRoot(CouncilsRoot):
    """A population run: the organisations (the labs with their researchers) and the moderator."""

    async def on_start(self) -> None:
        scenario = self.ctx.scenario
        population = scenario.population
        assert population is not None
        self.population = population
        self.staffed = population_labs(scenario)
        self.personas = staffing(population)
        self.roster: dict[str, tuple[str, Area]] = {}
        await super().on_start()

    def _agent(self, spec: Agent, role: Role) -> Callable[[], Actor]:
        if spec.name not in self.staffed:
            return super()._agent(spec, role)
        kinds = personas_of(self.population)
        first = self.staffed.index(spec.name) * self.population.researchers
        staff = [(researcher_name(first + i), persona) for i, persona in enumerate(self.personas)]
        self.roster.update((name, (spec.name, kinds[persona].area)) for name, persona in staff)
        return partial(PopulatedLab, self.ctx, spec, role, staff)

    def _moderator(self, names: list[str], deliberators: list[tuple[str, ActorRef]]) -> Callable[[], Actor]:
        labs = {name: self.agents[name] for name in self.staffed}
        return partial(PopulationModerator, self.ctx, names, deliberators, labs, self.roster)
