"""Messaging: tell, tell_nowait and ask; mailbox order, backpressure and typed dispatch."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint

from actors import (
    FAILURES,
    Actor,
    ActorDeadError,
    ActorFailed,
    ActorRef,
    ActorSystem,
    AskTimeoutError,
    MailboxFullError,
    Resume,
    Stop,
    UnhandledMessageError,
    handler,
)

# -- messages and actors --------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """Keeps the receiving actor busy until ``gate`` is set; ``started`` says it got there."""

    gate: anyio.Event
    started: anyio.Event = field(default_factory=anyio.Event)
    then_crash: bool = False


@dataclass(frozen=True)
class History:
    """Ask for every other message the actor has seen, in order."""


class Recorder(Actor):
    """Records every message except ``Hold`` and ``History``."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    @handler
    async def hold(self, msg: Hold) -> None:
        msg.started.set()
        await msg.gate.wait()
        if msg.then_crash:
            raise RuntimeError("crashed on purpose")

    @handler
    async def history(self, msg: History) -> list[object]:
        return list(self.seen)

    @handler
    async def anything(self, msg: object) -> None:
        self.seen.append(msg)


async def hold(ref: ActorRef, *, then_crash: bool = False) -> anyio.Event:
    """Make ``ref`` busy in a handler; returns the event that lets it go (and maybe crash)."""
    msg = Hold(anyio.Event(), then_crash=then_crash)
    await ref.tell(msg)
    await msg.started.wait()
    return msg.gate


# -- ordering ---------------------------------------------------------------------------------


class Tracker(Actor):
    """Records ``(sender, seq)`` pairs and how many handlers ever ran at once."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []
        self.active = 0
        self.max_active = 0

    async def receive(self, message: Any) -> Any:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await checkpoint()  # give any concurrently running handler a chance to interleave
            if message == "report":
                return list(self.seen), self.max_active
            self.seen.append(message)
            return None
        finally:
            self.active -= 1


async def test_fifo_per_sender_and_one_message_at_a_time(backend: str) -> None:
    senders, per_sender = 20, 200
    async with ActorSystem() as system:
        ref = await system.spawn(Tracker, mailbox_size=4)

        async def send(sender: int) -> None:
            for seq in range(per_sender):
                await ref.tell((sender, seq))

        async with anyio.create_task_group() as tg:
            for sender in range(senders):
                tg.start_soon(send, sender)
        seen, max_active = await ref.ask("report")

    assert len(seen) == senders * per_sender  # nothing lost, nothing duplicated
    for sender in range(senders):
        assert [seq for s, seq in seen if s == sender] == list(range(per_sender))
    assert max_active == 1
    # The senders really competed for the small mailbox: their messages are interleaved.
    switches = sum(1 for a, b in itertools.pairwise(seen) if a[0] != b[0])
    assert switches > senders


async def test_tell_and_ask_from_one_sender_stay_in_order(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Recorder)
        for i in range(10):
            await ref.tell(i)
        # The ask is queued behind every tell of the same sender.
        assert await ref.ask(History()) == list(range(10))


# -- backpressure -----------------------------------------------------------------------------


async def test_tell_waits_while_the_mailbox_is_full(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Recorder, mailbox_size=2)
        gate = await hold(ref)
        sent: list[int] = []

        async def sender() -> None:
            for i in range(5):
                await ref.tell(i)
                sent.append(i)

        async with anyio.create_task_group() as tg:
            tg.start_soon(sender)
            await anyio.wait_all_tasks_blocked()
            # Two messages fill the mailbox; the third tell waits for room.
            assert sent == [0, 1]
            stats = ref.statistics()
            assert (stats.depth, stats.capacity, stats.waiting_senders) == (2, 2, 1)
            gate.set()
        assert sent == [0, 1, 2, 3, 4]
        assert await ref.ask(History()) == [0, 1, 2, 3, 4]
        assert ref.statistics().waiting_senders == 0


async def test_waiting_senders_are_served_first_come_first_served(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Recorder, mailbox_size=1)
        gate = await hold(ref)
        await ref.tell("queued")
        async with anyio.create_task_group() as tg:
            for name in ("first", "second", "third"):
                tg.start_soon(ref.tell, name)
                await anyio.wait_all_tasks_blocked()  # each sender is parked before the next
            assert ref.statistics().waiting_senders == 3
            gate.set()
        assert await ref.ask(History()) == ["queued", "first", "second", "third"]


async def test_tell_nowait_raises_mailbox_full_and_drops_nothing_else(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Recorder, name="narrow", mailbox_size=1)
        gate = await hold(ref)
        ref.tell_nowait("fits")
        with pytest.raises(MailboxFullError) as caught:
            ref.tell_nowait("overflow")
        assert caught.value.actor == "narrow"
        assert caught.value.capacity == 1
        assert isinstance(caught.value, anyio.WouldBlock)
        assert ref.statistics().depth == 1
        gate.set()
        assert await ref.ask(History()) == ["fits"]  # "overflow" was never delivered


# -- ask --------------------------------------------------------------------------------------


class Calculator(Actor):
    def __init__(self) -> None:
        self.total = 0

    async def receive(self, message: Any) -> Any:
        op, value = message
        if op == "add":
            self.total += value
            return self.total
        if op == "divide":
            return self.total / value
        raise AssertionError(f"unexpected {message!r}")


async def test_ask_returns_the_handler_value(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Calculator)
        assert await ref.ask(("add", 5)) == 5
        assert await ref.ask(("add", 2)) == 7


async def test_ask_raises_the_handler_error_and_the_actor_keeps_working(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Calculator, name="calc")
        await ref.ask(("add", 6))
        with pytest.raises(ZeroDivisionError) as caught:
            await ref.ask(("divide", 0))
        assert any("calc" in note for note in caught.value.__notes__)
        # Not a crash: same instance, same state, no failure reported.
        assert ref.is_alive
        assert await ref.ask(("divide", 2)) == 3
        assert system.statistics().failures == 0


async def test_ask_timeout_raises_and_the_message_is_still_handled(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Recorder, name="slow")
        gate = await hold(ref)
        with pytest.raises(AskTimeoutError) as caught:
            await ref.ask("late", timeout=0.05)
        assert caught.value.actor == "slow"
        assert caught.value.timeout == 0.05
        assert isinstance(caught.value, TimeoutError)
        gate.set()
        assert await ref.ask(History()) == ["late"]


async def test_ask_uses_the_system_default_timeout(backend: str) -> None:
    async with ActorSystem(ask_timeout=0.05) as system:
        ref = await system.spawn(Recorder)
        gate = await hold(ref)
        with pytest.raises(AskTimeoutError) as caught:
            await ref.ask(History())
        assert caught.value.timeout == 0.05
        gate.set()
        # An explicit None waits as long as it takes.
        assert await ref.ask(History(), timeout=None) == []


async def test_ask_tell_and_tell_nowait_to_a_stopped_actor_raise_actor_dead(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Recorder, name="gone")
        await ref.stop()
        assert not ref.is_alive
        with pytest.raises(ActorDeadError) as caught:
            await ref.ask(History())
        assert (caught.value.actor, caught.value.reason) == ("gone", "stopped")
        with pytest.raises(ActorDeadError):
            await ref.tell("x")
        with pytest.raises(ActorDeadError):
            ref.tell_nowait("x")


async def test_stop_without_drain_fails_pending_asks_and_never_hangs(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Recorder, name="busy")
        gate = anyio.Event()  # never set: only the stop can end the handler
        in_progress = Hold(gate)
        errors: dict[str, ActorDeadError] = {}

        async def ask(label: str, message: object) -> None:
            try:
                await ref.ask(message)
            except ActorDeadError as exc:
                errors[label] = exc

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask, "in progress", in_progress)
            await in_progress.started.wait()
            tg.start_soon(ask, "queued", History())
            await anyio.wait_all_tasks_blocked()
            ref.tell_nowait("dropped")
            assert ref.statistics().depth == 2
            with anyio.fail_after(5):
                await ref.stop(drain=False)
        assert {label: e.reason for label, e in errors.items()} == {
            "in progress": "stopped",
            "queued": "stopped",
        }
        assert {e.actor for e in errors.values()} == {"busy"}
        assert not gate.is_set()
        assert ref.statistics().state == "stopped"
        assert system.statistics().dead_letters == 1  # the queued tell was dropped


class Brittle(Actor):
    async def receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("crashed on purpose")
        return message


async def test_ask_pending_when_the_actor_fails_for_good_raises_actor_dead(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Brittle, name="brittle", supervision=Stop())
        ref.tell_nowait("crash")
        with anyio.fail_after(5), pytest.raises(ActorDeadError) as caught:
            await ref.ask("after the crash")
        assert (caught.value.actor, caught.value.reason) == ("brittle", "failed")


async def test_sender_waiting_for_room_fails_when_the_actor_fails(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Recorder, name="full", mailbox_size=1, supervision=Stop())
        gate = await hold(ref, then_crash=True)
        await ref.tell("queued")
        errors: list[ActorDeadError] = []

        async def sender() -> None:
            try:
                await ref.tell("waits")
            except ActorDeadError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(sender)
            await anyio.wait_all_tasks_blocked()
            assert ref.statistics().waiting_senders == 1
            gate.set()
        assert [(e.actor, e.reason) for e in errors] == [("full", "failed")]
        assert system.statistics().dead_letters == 1  # "queued" was in the mailbox


# -- typed dispatch and unhandled messages ------------------------------------------------------


class Base:
    """A message type of its own."""


class Derived(Base):
    """A message type of its own."""


class Apple:
    """A message type of its own."""


class Pear:
    """A message type of its own."""


@dataclass(frozen=True)
class Note:
    text: str


class Unknown:
    """A message type of its own."""


class Typed(Actor):
    def __init__(self) -> None:
        self.notes: list[str] = []

    @handler
    async def on_base(self, msg: Base) -> str:
        return "base"

    @handler
    async def on_fruit(self, msg: Apple | Pear) -> str:
        return type(msg).__name__

    @handler
    async def on_note(self, msg: Note) -> None:
        self.notes.append(msg.text)

    @handler
    async def on_history(self, msg: History) -> list[str]:
        return list(self.notes)


class TypedOverride(Typed):
    @handler
    async def on_derived(self, msg: Derived) -> str:
        return "derived"


async def test_handler_dispatch_by_type_base_class_and_union(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Typed)
        assert await ref.ask(Base()) == "base"
        assert await ref.ask(Derived()) == "base"  # nearest base class
        assert await ref.ask(Apple()) == "Apple"
        assert await ref.ask(Pear()) == "Pear"
        sub = await system.spawn(TypedOverride)
        assert await sub.ask(Derived()) == "derived"
        assert await sub.ask(Base()) == "base"


async def test_ask_of_an_unknown_type_raises_unhandled_message(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Typed, name="typed")
        with pytest.raises(UnhandledMessageError) as caught:
            await ref.ask(Unknown())
        assert caught.value.actor == "typed"
        assert caught.value.message_type == "Unknown"
        assert isinstance(caught.value, TypeError)
        assert "typed" in str(caught.value)
        assert "Unknown" in str(caught.value)
        assert ref.is_alive
        assert await ref.ask(Base()) == "base"
        assert system.statistics().failures == 0


async def test_told_unknown_type_is_a_failure_and_other_messages_are_kept(backend: str) -> None:
    async with ActorSystem(supervision=Resume()) as system:
        async with system.bus.subscription(FAILURES) as failures:
            ref = await system.spawn(Typed, name="typed")
            await ref.tell(Note("before"))
            await ref.tell(Unknown())
            await ref.tell(Note("after"))
            with anyio.fail_after(5):
                record = await failures.receive()
        assert record == ActorFailed(
            actor="typed",
            error_type="UnhandledMessageError",
            error=str(UnhandledMessageError("typed", "Unknown")),
            message_type="Unknown",
            decision="resumed",
        )
        assert await ref.ask(History()) == ["before", "after"]
        assert system.statistics().failures == 1


# -- actors talking to actors, refs -----------------------------------------------------------


class Doubler(Actor):
    async def receive(self, message: Any) -> Any:
        await checkpoint()
        return message * 2


class Front(Actor):
    def __init__(self, back: ActorRef) -> None:
        self.back = back

    async def receive(self, message: Any) -> Any:
        return await self.back.ask(message) + 1


async def test_an_actor_can_ask_another_actor(backend: str) -> None:
    async with ActorSystem() as system:
        back = await system.spawn(Doubler)
        front = await system.spawn(functools.partial(Front, back))
        assert await front.ask(5) == 11
        results: dict[int, int] = {}

        async def client(i: int) -> None:
            results[i] = await front.ask(i)

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(client, i)
        assert results == {i: 2 * i + 1 for i in range(20)}


async def test_ref_repr_name_and_lookup(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Recorder, name="greeter")
        assert ref.name == "greeter"
        assert "greeter" in repr(ref)
        assert "running" in repr(ref)
        assert system.lookup("greeter") is ref
        anonymous = await system.spawn(Recorder)
        assert "Recorder" in anonymous.name
        assert anonymous.name in repr(anonymous)
        await ref.stop()
        assert "stopped" in repr(ref)
        assert system.lookup("greeter") is None


class SelfNamed(Actor):
    """Uses ``name`` for its own data; the runtime's name is ``actor_name``."""

    def __init__(self) -> None:
        self.name = "my own field"

    async def receive(self, message: Any) -> Any:
        return self.name, self.actor_name, self.ref.name


async def test_an_actor_knows_its_name_and_may_use_name_for_itself(backend: str) -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(SelfNamed, name="registered")
        assert await ref.ask("who") == ("my own field", "registered", "registered")


async def test_mailbox_statistics_count_processed_messages(backend: str) -> None:
    async with ActorSystem(mailbox_size=7) as system:
        ref = await system.spawn(Recorder, name="stats")
        for i in range(3):
            await ref.tell(i)
        await ref.ask(History())
        stats = ref.statistics()
        assert (stats.actor, stats.capacity, stats.depth, stats.processed) == ("stats", 7, 0, 4)
        assert (stats.state, stats.restarts, stats.waiting_senders) == ("running", 0, 0)
