"""EventBus: publish/subscribe with per-topic order, backpressure and dead subscribers."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint

from actors import (
    FAILURES,
    Actor,
    ActorRef,
    ActorSystem,
    BusStatistics,
    MailboxFullError,
    Resume,
    handler,
)


@dataclass(frozen=True)
class Hold:
    """Sent straight to one subscriber: keeps it busy until ``gate`` is set."""

    gate: anyio.Event
    started: anyio.Event = field(default_factory=anyio.Event)


@dataclass(frozen=True)
class History:
    """A message type of its own."""


@dataclass(frozen=True)
class Crash:
    """A message type of its own."""


class Collector(Actor):
    """Records everything published to it; optionally yields inside every handler."""

    def __init__(self, yields: bool = False) -> None:
        self.yields = yields
        self.seen: list[object] = []

    @handler
    async def hold(self, msg: Hold) -> None:
        msg.started.set()
        await msg.gate.wait()

    @handler
    async def history(self, msg: History) -> list[object]:
        return list(self.seen)

    @handler
    async def crash(self, msg: Crash) -> None:
        raise RuntimeError("crashed on purpose")

    @handler
    async def anything(self, msg: object) -> None:
        if self.yields:
            await checkpoint()
        self.seen.append(msg)


async def hold(ref: ActorRef) -> anyio.Event:
    msg = Hold(anyio.Event())
    await ref.tell(msg)
    await msg.started.wait()
    return msg.gate


async def test_publishers_order_is_kept_for_every_subscriber(backend: str) -> None:
    publishers, per_publisher = 5, 100
    total = publishers * per_publisher
    async with ActorSystem() as system:
        bus = system.bus
        subscribers = [
            await system.spawn(functools.partial(Collector, yields), mailbox_size=2)
            for yields in (False, True, False)
        ]
        for ref in subscribers:
            bus.subscribe("t", ref)
        streamed: list[object] = []

        async def publisher(p: int) -> None:
            for i in range(per_publisher):
                await bus.publish("t", (p, i))

        async with bus.subscription("t", max_buffer_size=2) as stream:

            async def consume() -> None:
                while len(streamed) < total:
                    streamed.append(await stream.receive())

            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                for p in range(publishers):
                    tg.start_soon(publisher, p)
        histories = [await ref.ask(History()) for ref in subscribers]
        stats = bus.statistics()

    for seen in [*histories, streamed]:
        assert len(seen) == total  # nothing lost, nothing duplicated
        for p in range(publishers):
            assert [i for q, i in seen if q == p] == list(range(per_publisher))
    assert stats.published == total
    assert stats.delivered == total * 4


class Gatekeeper(Actor):
    """Blocks on ``"hold"`` until the gate opens; on ``"x1"`` pokes ``relay``."""

    def __init__(self, gate: anyio.Event, started: anyio.Event, relay: ActorRef) -> None:
        self.gate = gate
        self.started = started
        self.relay = relay
        self.seen: list[object] = []

    async def receive(self, message: Any) -> Any:
        if isinstance(message, History):
            return list(self.seen)
        self.seen.append(message)
        if message == "hold":
            self.started.set()
            await self.gate.wait()
        elif message == "x1":
            self.relay.tell_nowait("go")
        return None


class Relay(Actor):
    """Publishes ``"q"`` on topic ``t`` when told to."""

    async def receive(self, message: Any) -> Any:
        if message == "go":
            await self.system.bus.publish("t", "q")
        return None


async def test_every_subscriber_sees_the_same_order_of_a_topic(backend: str) -> None:
    gate, started = anyio.Event(), anyio.Event()
    async with ActorSystem() as system:
        bus = system.bus
        relay = await system.spawn(Relay)
        first = await system.spawn(functools.partial(Gatekeeper, gate, started, relay), mailbox_size=2)
        second = await system.spawn(Collector)
        bus.subscribe("t", first)
        bus.subscribe("t", second)
        bus.publish_nowait("t", "hold")
        await started.wait()
        bus.publish_nowait("t", "x1")
        bus.publish_nowait("t", "x2")  # ``first`` is now full
        async with anyio.create_task_group() as tg:
            tg.start_soon(bus.publish, "t", "p")  # waits for room at ``first``
            await anyio.wait_all_tasks_blocked()
            assert bus.statistics().waiting_publishers == 1
            # ``first`` handles its backlog; while doing so it makes ``relay`` publish "q".
            gate.set()
        await relay.ask("sync")  # "q" has been published
        first_seen = await first.ask(History())
        second_seen = await second.ask(History())
    assert set(first_seen) == {"hold", "x1", "x2", "p", "q"}
    assert first_seen == second_seen


async def test_a_slow_subscriber_makes_publish_wait_and_loses_nothing(backend: str) -> None:
    async with ActorSystem() as system:
        bus = system.bus
        fast = await system.spawn(Collector)
        slow = await system.spawn(Collector, mailbox_size=1)
        bus.subscribe("t", fast)
        bus.subscribe("t", slow)
        gate = await hold(slow)
        published: list[int] = []

        async def publisher() -> None:
            for i in range(4):
                await bus.publish("t", i)
                published.append(i)

        async with anyio.create_task_group() as tg:
            tg.start_soon(publisher)
            await anyio.wait_all_tasks_blocked()
            # 0 fills the slow mailbox; publishing 1 waits for room.
            assert published == [0]
            assert bus.statistics().waiting_publishers == 1
            assert slow.statistics().depth == 1
            gate.set()
        assert published == [0, 1, 2, 3]
        assert await fast.ask(History()) == [0, 1, 2, 3]
        assert await slow.ask(History()) == [0, 1, 2, 3]
        assert bus.statistics().waiting_publishers == 0


async def test_publish_nowait_delivers_to_everyone_or_no_one(backend: str) -> None:
    async with ActorSystem() as system:
        bus = system.bus
        free = await system.spawn(Collector, name="free")
        full = await system.spawn(Collector, name="full", mailbox_size=1)
        bus.subscribe("t", free)
        bus.subscribe("t", full)
        gate = await hold(full)
        assert bus.publish_nowait("t", "fits") == 2
        delivered = bus.statistics().delivered
        with pytest.raises(MailboxFullError) as caught:
            bus.publish_nowait("t", "too much")
        assert caught.value.actor == "full"
        assert bus.statistics().delivered == delivered
        gate.set()
        assert await free.ask(History()) == ["fits"]
        assert await full.ask(History()) == ["fits"]


async def test_publish_nowait_mailbox_full_error_gives_the_capacity(backend: str) -> None:
    async with ActorSystem() as system:
        full = await system.spawn(Collector, mailbox_size=1)
        system.bus.subscribe("t", full)
        gate = await hold(full)
        system.bus.publish_nowait("t", "fits")
        with pytest.raises(MailboxFullError) as caught:
            system.bus.publish_nowait("t", "too much")
        gate.set()
    assert caught.value.capacity == 1


async def test_dead_subscribers_are_dropped_silently(backend: str) -> None:
    async with ActorSystem() as system:
        bus = system.bus
        alive = await system.spawn(Collector)
        dead = await system.spawn(Collector)
        gone = await system.spawn(Collector)
        for ref in (alive, dead, gone):
            bus.subscribe("t", ref)
        await dead.stop()
        assert bus.subscribers("t") == 2
        assert await bus.publish("t", 1) == 2
        assert bus.statistics().subscriptions == 2  # the dead one was pruned
        await gone.stop()
        assert bus.publish_nowait("t", 2) == 1
        assert bus.statistics().subscriptions == 1
        assert await alive.ask(History()) == [1, 2]


async def test_publish_nowait_drops_a_closed_subscription_silently(backend: str) -> None:
    async with ActorSystem() as system:
        bus = system.bus
        ref = await system.spawn(Collector)
        bus.subscribe("t", ref)
        async with bus.subscription("t") as stream:
            stream.close()  # e.g. handed to a consumer task that closed it when done
            assert bus.publish_nowait("t", 1) == 1
        assert await ref.ask(History()) == [1]


async def test_a_closed_failures_subscription_does_not_break_the_system(backend: str) -> None:
    async with ActorSystem(supervision=Resume()) as system, system.bus.subscription(FAILURES) as failures:
        failures.close()
        ref = await system.spawn(Collector)
        await ref.tell(Crash())
        with anyio.fail_after(5):
            assert await ref.ask(History()) == []
    assert system.statistics().failures == 1


async def test_subscription_streams_a_topic_to_a_plain_task(backend: str) -> None:
    async with ActorSystem() as system:
        bus = system.bus
        received: list[object] = []
        async with bus.subscription("news") as stream:
            assert bus.subscribers("news") == 1
            async with anyio.create_task_group() as tg:

                async def reader() -> None:
                    async for message in stream:
                        received.append(message)
                        if message == "last":
                            return

                tg.start_soon(reader)
                await bus.publish("news", "first")
                await bus.publish("other topic", "not for us")
                await bus.publish("news", "last")
        assert received == ["first", "last"]
        assert bus.subscribers("news") == 0
        assert bus.statistics().subscriptions == 0
        assert await bus.publish("news", "after") == 0


async def test_unsubscribe_stops_delivery(backend: str) -> None:
    async with ActorSystem() as system:
        bus = system.bus
        ref = await system.spawn(Collector)
        bus.subscribe("t", ref)
        bus.subscribe("t", ref)  # once per ref
        assert await bus.publish("t", 1) == 1
        assert bus.unsubscribe("t", ref) is True
        assert bus.unsubscribe("t", ref) is False
        assert await bus.publish("t", 2) == 0
        assert await ref.ask(History()) == [1]


async def test_statistics_count_messages_and_deliveries(backend: str) -> None:
    async with ActorSystem() as system:
        bus = system.bus
        refs = [await system.spawn(Collector) for _ in range(3)]
        for ref in refs:
            bus.subscribe("a", ref)
        bus.subscribe("b", refs[0])
        assert await bus.publish("a", 1) == 3
        assert bus.publish_nowait("b", 2) == 1
        assert await bus.publish("nobody", 3) == 0
        assert bus.statistics() == BusStatistics(
            topics=2, subscriptions=4, published=3, delivered=4, waiting_publishers=0
        )
        assert await refs[0].ask(History()) == [1, 2]


async def test_a_sender_does_not_hear_its_own_publish(backend: str) -> None:
    heard: dict[str, list[object]] = {"a": [], "b": []}

    class Member(Actor):
        def __init__(self, key: str) -> None:
            self.key = key

        async def receive(self, message: object) -> object:
            if message == "speak":
                return await self.system.bus.publish("room", f"from {self.key}", sender=self.ref)
            heard[self.key].append(message)
            return None

    async with ActorSystem() as system:
        a = await system.spawn(functools.partial(Member, "a"))
        b = await system.spawn(functools.partial(Member, "b"))
        system.bus.subscribe("room", a)
        system.bus.subscribe("room", b)
        assert await a.ask("speak") == 1
        assert await b.ask("speak") == 1
        await a.ask("sync")
        await b.ask("sync")
    assert heard == {"a": ["from b", "sync"], "b": ["from a", "sync"]}
