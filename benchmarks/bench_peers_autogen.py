"""The peer side of ``bench_peers``: the same workloads written idiomatically on autogen-core.

Every simulation shares one ``SingleThreadedAgentRuntime``: each role is an agent *type*
registered once (``moderator``, ``org0``, ``council0``, ``member0_1``, ..., ``judge``) and a
simulation's agents are that type's instances under the simulation's id as their *key*, so
autogen instantiates them lazily on their first message. Conversations are topics: a
council's lines go to ``TopicId("council0", sim)``, statements to ``TopicId("public", sim)``;
a ``TypeSubscription`` per listening role maps the topic's source (the simulation id) to the
agent of that role in that simulation, as autogen's own group chats do. Every turn is an RPC
(``send_message``) from whoever moderates to the speaker, who makes one fake model call
(``asyncio.sleep(latency)`` and ``OfflineModel.answer``, the same text converse's offline
model writes), publishes what it said and returns it.

The prompts and memories are ``_peer_workload.Workload`` and ``_peer_workload.Memory``, the
same as the sequential original's. Messages carry the depth of the chain of model calls they
depend on, so a run reports its critical path as measured, not assumed.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from autogen_core import (
    AgentId,
    MessageContext,
    RoutedAgent,
    SingleThreadedAgentRuntime,
    TopicId,
    TypeSubscription,
    message_handler,
)

from benchmarks._peer_workload import Memory, Workload, strip_speaker
from converse import Hints, OfflineModel

# -- messages ---------------------------------------------------------------------------------


@dataclass
class Ping:
    n: int


@dataclass
class RunSimulation:
    """Asks a simulation's moderator to run the whole simulation (it carries nothing)."""


@dataclass
class Deliberate:
    index: int
    depth: int


@dataclass
class Convene:
    period: str
    record: str
    depth: int


@dataclass
class Turn:
    period: str
    record: str | None  # the session's opening, on a member's first turn in it
    spoken: int  # lines said so far in this session: the speaker must have heard the others'
    depth: int


@dataclass
class Report:
    index: int
    published: int
    depth: int


@dataclass
class Spoken:
    text: str
    depth: int


@dataclass
class Debate:
    lines: list[str]
    depth: int


@dataclass
class Said:
    speaker: str
    period: str
    text: str


@dataclass
class Stats:
    """Fake model calls per simulation (key), counted where they are made."""

    calls: Counter[str] = field(default_factory=Counter)


# -- the debate's agents ------------------------------------------------------------------------


class _Speaker(RoutedAgent):
    def __init__(self, description: str, system: str, stats: Stats, latency: float) -> None:
        super().__init__(description)
        self.memory = Memory(system)
        self.model = OfflineModel(seed=int(self.id.key))
        self.stats, self.latency = stats, latency

    async def _call(self, user: str, hints: Hints) -> str:
        request = self.memory.request(user, hints)
        self.stats.calls[self.id.key] += 1
        text = self.model.answer(request)
        await asyncio.sleep(self.latency)  # the fake model call
        return self.memory.answered(text)


class Member(_Speaker):
    def __init__(self, w: Workload, org: int, member: int, stats: Stats, latency: float) -> None:
        self.org, (self.name, system) = w.orgs[org].name, w.orgs[org].members[member]
        super().__init__(self.name, system, stats, latency)
        self.topic = f"council{org}"
        self.w, self.unheard, self.heard = w, list[str](), Counter[str]()

    @message_handler
    async def on_said(self, message: Said, ctx: MessageContext) -> None:
        self.unheard.append(f"{message.speaker}: {message.text}")
        self.heard[message.period] += 1

    @message_handler
    async def on_turn(self, message: Turn, ctx: MessageContext) -> Spoken:
        own = message.spoken // len(self.w.orgs[0].members)  # my earlier turns in this session
        assert self.heard[message.period] + own == message.spoken, "a line was not heard before the next turn"
        user = self.w.member_prompt(self.org, self.name, message.period, self.unheard, message.record)
        hints = Hints(kind="line", speaker=self.name, organisation=self.org, period=message.period)
        text = strip_speaker(await self._call(user, hints), self.name)
        self.unheard = []
        await self.publish_message(Said(self.name, message.period, text), TopicId(self.topic, self.id.key))
        return Spoken(text, message.depth + 1)


class CouncilModerator(RoutedAgent):
    def __init__(self, w: Workload, org: int) -> None:
        super().__init__(f"{w.orgs[org].name} council")
        self.w, self.org = w, org

    @message_handler
    async def on_convene(self, message: Convene, ctx: MessageContext) -> Debate:
        members = self.w.orgs[self.org].members
        lines: list[str] = []
        depth = message.depth
        for round_ in range(self.w.rounds):
            for j, (name, _) in enumerate(members):
                turn = Turn(message.period, message.record if round_ == 0 else None, len(lines), depth)
                spoken = await self.send_message(turn, AgentId(f"member{self.org}_{j}", self.id.key))
                lines.append(f"{name}: {spoken.text}")
                depth = spoken.depth
        return Debate(lines, depth)


class Organisation(_Speaker):
    def __init__(self, w: Workload, org: int, stats: Stats, latency: float) -> None:
        super().__init__(w.orgs[org].name, w.orgs[org].system, stats, latency)
        self.w, self.index, self.name = w, org, w.orgs[org].name
        self.heard: list[tuple[str, str, str]] = []
        self.unheard: list[str] = []
        self.debate: list[str] = []
        self.first = True

    @message_handler
    async def on_said(self, message: Said, ctx: MessageContext) -> None:
        self.heard.append((message.speaker, message.period, message.text))
        self.unheard.append(f"{message.speaker} ({message.period}): {message.text}")

    @message_handler
    async def on_deliberate(self, message: Deliberate, ctx: MessageContext) -> Spoken:
        period = self.w.periods[message.index]
        convene = Convene(period, self.w.public_record(self.heard, message.index), message.depth)
        debate = await self.send_message(convene, AgentId(f"council{self.index}", self.id.key))
        self.debate = debate.lines
        return Spoken("", debate.depth)

    @message_handler
    async def on_report(self, message: Report, ctx: MessageContext) -> Spoken:
        assert len(self.heard) == message.published, "a statement was not heard before the next turn"
        period = self.w.periods[message.index]
        user = self.w.statement_prompt(self.name, period, self.unheard, self.debate, self.first)
        text = await self._call(user, Hints(kind="statement", speaker=self.name, organisation=self.name, period=period))
        self.first, self.unheard = False, []
        self.heard.append((self.name, period, text))
        await self.publish_message(Said(self.name, period, text), TopicId("public", self.id.key))
        return Spoken(text, message.depth + 1)


class Judge(_Speaker):
    def __init__(self, stats: Stats, latency: float) -> None:
        super().__init__("judge", "You judge a simulated public record.", stats, latency)
        self.record: list[str] = []

    @message_handler
    async def on_said(self, message: Said, ctx: MessageContext) -> None:
        self.record.append(f"{message.speaker} ({message.period}): {message.text}")

    @message_handler
    async def on_judge(self, message: Deliberate, ctx: MessageContext) -> Spoken:
        user = "The whole public record:\n\n" + "\n\n".join(self.record)
        return Spoken(await self._call(user, Hints(kind="other", speaker="judge")), message.depth + 1)


class SimulationModerator(RoutedAgent):
    """Runs one simulation: periods, councils side by side, statements in turn, the judge."""

    def __init__(self, w: Workload) -> None:
        super().__init__("moderator")
        self.w = w

    @message_handler
    async def on_run(self, message: RunSimulation, ctx: MessageContext) -> Spoken:
        key, depth, published = self.id.key, 0, 0
        orgs = range(len(self.w.orgs))
        for index in range(len(self.w.periods)):
            done = await asyncio.gather(*(self.send_message(Deliberate(index, depth), AgentId(f"org{i}", key))
                                          for i in orgs))
            depth = max(d.depth for d in done)
            for i in orgs:
                spoken = await self.send_message(Report(index, published, depth), AgentId(f"org{i}", key))
                depth, published = spoken.depth, published + 1
        verdict = await self.send_message(Deliberate(0, depth), AgentId("judge", key))
        return Spoken(verdict.text, verdict.depth)


async def register_debate(runtime: SingleThreadedAgentRuntime, w: Workload, stats: Stats, latency: float) -> None:
    """Register every role once; simulations are keys."""
    await SimulationModerator.register(runtime, "moderator", partial(SimulationModerator, w))
    await Judge.register(runtime, "judge", partial(Judge, stats, latency))
    await runtime.add_subscription(TypeSubscription("public", "judge"))
    for i, org in enumerate(w.orgs):
        await Organisation.register(runtime, f"org{i}", partial(Organisation, w, i, stats, latency))
        await runtime.add_subscription(TypeSubscription("public", f"org{i}"))
        await CouncilModerator.register(runtime, f"council{i}", partial(CouncilModerator, w, i))
        for j in range(len(org.members)):
            member = f"member{i}_{j}"
            await Member.register(runtime, member, partial(Member, w, i, j, stats, latency))
            await runtime.add_subscription(TypeSubscription(f"council{i}", member))


async def debate(w: Workload, sims: int, latency: float) -> tuple[float, list[int], list[int]]:
    """``sims`` simulations at once on one runtime: wall seconds, fake calls and the measured
    critical path (dependent calls on the longest chain) of each simulation."""
    runtime, stats = SingleThreadedAgentRuntime(), Stats()
    await register_debate(runtime, w, stats, latency)
    runtime.start()
    start = time.perf_counter()
    done = await asyncio.gather(*(runtime.send_message(RunSimulation(), AgentId("moderator", str(s)))
                                  for s in range(sims)))
    wall = time.perf_counter() - start
    await runtime.stop_when_idle()
    return wall, [stats.calls[str(s)] for s in range(sims)], [d.depth for d in done]


# -- the runtime figures --------------------------------------------------------------------------


class Echo(RoutedAgent):
    def __init__(self) -> None:
        super().__init__("echo")

    @message_handler
    async def on_ping(self, message: Ping, ctx: MessageContext) -> Ping:
        return message


async def ask(n: int) -> float:
    """Round trips/s: ``send_message`` to an echo agent, each reply awaited before the next."""
    runtime = SingleThreadedAgentRuntime()
    await Echo.register(runtime, "echo", Echo)
    runtime.start()
    echo = AgentId("echo", "bench")
    await runtime.send_message(Ping(-1), echo)  # instantiate the agent outside the timing
    start = time.perf_counter()
    for i in range(n):
        await runtime.send_message(Ping(i), echo)
    elapsed = time.perf_counter() - start
    await runtime.stop_when_idle()
    return n / elapsed


class Sink(RoutedAgent):
    def __init__(self, tally: list[int], done: list[asyncio.Event]) -> None:
        super().__init__("sink")
        self.tally, self.done = tally, done

    @message_handler
    async def on_ping(self, message: Ping, ctx: MessageContext) -> None:
        self.tally[0] -= 1
        if not self.tally[0]:
            self.done[0].set()


async def fanout(subscribers: int, messages: int) -> float:
    """Deliveries/s of ``publish_message`` to one topic that ``subscribers`` agents hear.

    A ``TypeSubscription`` maps a topic to one agent of its agent type (the key is the
    topic's source), so reaching N agents with one publish takes N agent types each
    subscribed to the topic type: autogen's way (its group chats subscribe each participant
    type to the group's topic). The first message, which instantiates the agents, is not
    timed."""
    runtime = SingleThreadedAgentRuntime()
    tally, done = [subscribers], [asyncio.Event()]
    for i in range(subscribers):
        # Without the per-type direct-message subscription: it plays no part in the fan-out
        # and adding N of them costs O(N^2) at registration.
        await Sink.register(runtime, f"sink{i}", partial(Sink, tally, done), skip_direct_message_subscription=True)
        await runtime.add_subscription(TypeSubscription("fan", f"sink{i}"))
    runtime.start()
    topic = TopicId("fan", "bench")
    await runtime.publish_message(Ping(-1), topic)
    await done[0].wait()
    tally[0], done[0] = subscribers * messages, asyncio.Event()
    start = time.perf_counter()
    for i in range(messages):
        await runtime.publish_message(Ping(i), topic)
        await asyncio.sleep(0)
    await done[0].wait()
    elapsed = time.perf_counter() - start
    await runtime.stop_when_idle()
    return subscribers * messages / elapsed


class Idle(RoutedAgent):
    def __init__(self) -> None:
        super().__init__("idle")

    @message_handler
    async def on_ping(self, message: Ping, ctx: MessageContext) -> None:
        return None


async def _idle_many(n: int, batch: int = 1000) -> float:
    from benchmarks.bench_actors import _rss_bytes

    runtime = SingleThreadedAgentRuntime()
    await Idle.register(runtime, "idle", Idle)
    runtime.start()
    await runtime.send_message(Ping(-1), AgentId("idle", "warm-up"))
    gc.collect()
    gc.disable()
    try:
        before = _rss_bytes()
        for first in range(0, n, batch):
            await asyncio.gather(*(runtime.send_message(Ping(k), AgentId("idle", str(k)))
                                   for k in range(first, min(first + batch, n))))
        await runtime.stop_when_idle()
        gc.collect()
        grown = _rss_bytes() - before
    finally:
        gc.enable()
    return grown / n


def idle_child(n: int) -> None:
    """Entry point of the fresh process that measures RSS per instantiated idle agent."""
    print(asyncio.run(_idle_many(n)))
