"""Supervision: what happens after an actor crashes on a told message."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream

from actors import (
    FAILURES,
    Actor,
    ActorDeadError,
    ActorFailed,
    ActorRef,
    ActorSystem,
    ChildFailedError,
    Escalate,
    EscalatedFailureError,
    Restart,
    Resume,
    Stop,
)


class Boom(Exception):
    """A failure of its own."""


@dataclass
class Journal:
    """What every instance of a ``Counter`` did, shared across restarts."""

    events: list[str] = field(default_factory=list)
    failures: list[tuple[Exception, object]] = field(default_factory=list)
    instances: int = 0
    failing_starts_from: int | None = None  # instances from this number on fail on_start


class Counter(Actor):
    """Counts ``"inc"``; raises ``Boom`` on ``"crash"``; answers ``"get"``."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.serial = journal.instances
        journal.instances += 1
        self.count = 0

    async def on_start(self) -> None:
        self.journal.events.append(f"start:{self.serial}")
        limit = self.journal.failing_starts_from
        if limit is not None and self.serial >= limit:
            raise OSError("cannot start again")

    async def on_stop(self) -> None:
        self.journal.events.append(f"stop:{self.serial}")

    async def on_failure(self, error: Exception, message: object) -> None:
        self.journal.events.append(f"failure:{self.serial}")
        self.journal.failures.append((error, message))

    async def receive(self, message: Any) -> Any:
        if message == "crash":
            raise Boom(f"crash #{self.serial}")
        if message == "get":
            return self.count
        if message == "inc":
            self.count += 1
            return None
        raise AssertionError(f"unexpected {message!r}")


def counter(journal: Journal) -> functools.partial[Counter]:
    return functools.partial(Counter, journal)


async def next_failure(failures: MemoryObjectReceiveStream[object]) -> ActorFailed:
    with anyio.fail_after(5):
        record = await failures.receive()
    assert isinstance(record, ActorFailed)
    return record


async def test_resume_keeps_the_instance_and_its_state(backend: str) -> None:
    journal = Journal()
    async with ActorSystem() as system, system.bus.subscription(FAILURES) as failures:
        ref = await system.spawn(counter(journal), name="counter", supervision=Resume())
        for message in ("inc", "inc", "crash", "inc"):
            await ref.tell(message)
        assert await ref.ask("get") == 3
        record = await next_failure(failures)
        assert system.statistics().failures == 1
    assert record == ActorFailed(
        actor="counter", error_type="Boom", error="crash #0", message_type="str", decision="resumed"
    )
    assert journal.instances == 1
    [(error, failed_message)] = journal.failures
    assert isinstance(error, Boom)
    assert failed_message == "crash"
    assert journal.events == ["start:0", "failure:0", "stop:0"]


async def test_restart_replaces_the_instance_and_keeps_handling_messages(backend: str) -> None:
    journal = Journal()
    policy = Restart(backoff=0.0)
    async with ActorSystem() as system, system.bus.subscription(FAILURES) as failures:
        ref = await system.spawn(counter(journal), name="counter", supervision=policy)
        for message in ("inc", "inc", "crash", "inc"):
            await ref.tell(message)
        assert await ref.ask("get") == 1  # fresh state: only the increment after the crash
        record = await next_failure(failures)
        assert ref.statistics().restarts == 1
        assert ref.is_alive
        assert system.lookup("counter") is ref  # same ref, new instance
    assert record.decision == "restarted"
    assert record.actor == "counter"
    assert journal.instances == 2
    assert journal.events == ["start:0", "failure:0", "stop:0", "start:1", "stop:1"]


async def test_the_default_policy_is_restart(backend: str) -> None:
    journal = Journal()
    async with ActorSystem() as system, system.bus.subscription(FAILURES) as failures:
        ref = await system.spawn(counter(journal))
        await ref.tell("inc")
        await ref.tell("crash")
        assert await ref.ask("get") == 0
        assert (await next_failure(failures)).decision == "restarted"
    assert journal.instances == 2


async def test_restart_beyond_max_restarts_stops_the_actor(backend: str) -> None:
    journal = Journal()
    policy = Restart(max_restarts=2, backoff=0.0)
    async with ActorSystem() as system, system.bus.subscription(FAILURES) as failures:
        ref = await system.spawn(counter(journal), name="fragile", supervision=policy)
        for _ in range(3):
            await ref.tell("crash")
        with anyio.fail_after(5):
            await ref.wait_stopped()
        decisions = [(await next_failure(failures)).decision for _ in range(3)]
        assert decisions == ["restarted", "restarted", "stopped"]
        with pytest.raises(ActorDeadError) as caught:
            await ref.tell("inc")
        assert (caught.value.actor, caught.value.reason) == ("fragile", "failed")
        with pytest.raises(ActorDeadError):
            await ref.ask("get")
        assert system.lookup("fragile") is None
        assert system.statistics().failures == 3
    # Three instances, each started and stopped exactly once.
    assert journal.instances == 3
    for serial in range(3):
        assert journal.events.count(f"start:{serial}") == 1
        assert journal.events.count(f"stop:{serial}") == 1


async def test_restart_whose_fresh_instance_cannot_start_stops_the_actor(backend: str) -> None:
    journal = Journal(failing_starts_from=1)
    async with ActorSystem() as system, system.bus.subscription(FAILURES) as failures:
        ref = await system.spawn(counter(journal), supervision=Restart(backoff=0.0))
        await ref.tell("crash")
        with anyio.fail_after(5):
            await ref.wait_stopped()
        crash, restart = await next_failure(failures), await next_failure(failures)
        assert crash.decision == "restarted"
        assert (restart.message_type, restart.error_type, restart.decision) == (
            "restart",
            "OSError",
            "stopped",
        )
        with pytest.raises(ActorDeadError) as caught:
            await ref.tell("inc")
        assert caught.value.reason == "failed"


async def test_stop_policy_stops_the_actor(backend: str) -> None:
    journal = Journal()
    async with ActorSystem() as system, system.bus.subscription(FAILURES) as failures:
        ref = await system.spawn(counter(journal), name="once", supervision=Stop())
        ref.tell_nowait("crash")
        ref.tell_nowait("inc")  # queued behind the crash: never handled
        with anyio.fail_after(5):
            await ref.wait_stopped()
        assert (await next_failure(failures)).decision == "stopped"
        with pytest.raises(ActorDeadError) as caught:
            await ref.tell("inc")
        assert (caught.value.actor, caught.value.reason) == ("once", "failed")
        assert system.statistics().dead_letters == 1
        assert system.statistics().actors == 0
    assert journal.events == ["start:0", "failure:0", "stop:0"]


async def test_a_failed_ask_is_not_a_crash(backend: str) -> None:
    journal = Journal()
    async with ActorSystem() as system:
        ref = await system.spawn(counter(journal), supervision=Stop())
        await ref.tell("inc")
        with pytest.raises(Boom):
            await ref.ask("crash")
        assert ref.is_alive
        assert await ref.ask("get") == 1
        assert system.statistics().failures == 0
    assert journal.failures == []
    assert journal.instances == 1


# -- escalation ---------------------------------------------------------------------------------


class Parent(Actor):
    """Spawns an escalating ``Counter`` child named ``child`` and records child failures."""

    def __init__(self, journal: Journal, child_journal: Journal) -> None:
        self.journal = journal
        self.child_journal = child_journal
        self.child: ActorRef | None = None

    async def on_start(self) -> None:
        self.child = await self.spawn(counter(self.child_journal), name="child", supervision=Escalate())

    async def on_stop(self) -> None:
        self.journal.events.append("stop:parent")

    async def on_failure(self, error: Exception, message: object) -> None:
        self.journal.failures.append((error, message))

    async def receive(self, message: Any) -> Any:
        if message == "child":
            return self.child
        return "parent alive"


async def test_escalate_hands_the_failure_to_the_parent_policy(backend: str) -> None:
    journal, child_journal = Journal(), Journal()
    async with ActorSystem() as system, system.bus.subscription(FAILURES) as failures:
        parent = await system.spawn(
            functools.partial(Parent, journal, child_journal), name="parent", supervision=Resume()
        )
        child = await parent.ask("child")
        await child.tell("crash")
        child_record = await next_failure(failures)
        parent_record = await next_failure(failures)
        assert (child_record.actor, child_record.error_type, child_record.decision) == (
            "child",
            "Boom",
            "escalated",
        )
        assert (parent_record.actor, parent_record.error_type, parent_record.decision) == (
            "parent",
            "ChildFailedError",
            "resumed",
        )
        # The child is gone for good; the parent resumed and still answers.
        with pytest.raises(ActorDeadError) as caught:
            await child.tell("inc")
        assert caught.value.reason == "failed"
        assert await parent.ask("anything") == "parent alive"
        assert system.statistics().failures == 2
    [(error, _message)] = journal.failures
    assert isinstance(error, ChildFailedError)
    assert error.child == "child"
    assert isinstance(error.cause, Boom)
    assert error.__cause__ is error.cause
    assert child_journal.events == ["start:0", "failure:0", "stop:0"]
    assert journal.events == ["stop:parent"]


async def test_escalate_to_a_parent_with_stop_policy_stops_the_parent(backend: str) -> None:
    journal, child_journal = Journal(), Journal()
    async with ActorSystem() as system:
        parent = await system.spawn(
            functools.partial(Parent, journal, child_journal), name="parent", supervision=Stop()
        )
        child = await parent.ask("child")
        await child.tell("crash")
        with anyio.fail_after(5):
            await parent.wait_stopped()
        with pytest.raises(ActorDeadError) as caught:
            await parent.ask("anything")
        assert caught.value.reason == "failed"
        assert system.statistics().actors == 0
    assert journal.events == ["stop:parent"]


async def test_escalate_from_a_top_level_actor_aborts_the_system(backend: str) -> None:
    journal, bystander = Journal(), Journal()
    body: list[str] = []
    system = ActorSystem()

    async def program() -> None:
        async with system:
            await system.spawn(counter(bystander), name="bystander")
            ref = await system.spawn(counter(journal), name="top", supervision=Escalate())
            await ref.tell("crash")
            try:
                await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                body.append("cancelled")
                raise

    with anyio.fail_after(10), pytest.raises(EscalatedFailureError) as caught:
        await program()
    assert caught.value.actor == "top"
    assert isinstance(caught.value.cause, Boom)
    assert caught.value.__cause__ is caught.value.cause
    assert body == ["cancelled"]
    assert journal.events == ["start:0", "failure:0", "stop:0"]
    assert bystander.events == ["start:0", "stop:0"]  # everyone else was stopped too
    assert not system.running
    assert system.statistics().actors == 0


async def test_every_crash_calls_on_failure_and_is_reported(backend: str) -> None:
    journal = Journal()
    async with ActorSystem(supervision=Resume()) as system:
        async with system.bus.subscription(FAILURES) as failures:
            refs = [await system.spawn(counter(journal), name=f"c{i}") for i in range(3)]
            for ref in refs:
                await ref.tell("crash")
                await ref.tell("crash")
            records = [await next_failure(failures) for _ in range(6)]
        assert system.statistics().failures == 6
    assert sorted(r.actor for r in records) == ["c0", "c0", "c1", "c1", "c2", "c2"]
    assert {(r.error_type, r.message_type, r.decision) for r in records} == {("Boom", "str", "resumed")}
    assert len(journal.failures) == 6
    assert all(isinstance(e, Boom) and m == "crash" for e, m in journal.failures)


class Waiter(Parent):
    """A ``Parent`` whose ``"wait"`` handler never returns on its own."""

    async def receive(self, message: Any) -> Any:
        if message == "wait":
            await anyio.sleep_forever()
        return await super().receive(message)


async def test_a_child_failure_interrupts_what_the_parent_is_doing(backend: str) -> None:
    journal, child_journal = Journal(), Journal()
    async with ActorSystem() as system:
        parent = await system.spawn(
            functools.partial(Waiter, journal, child_journal), name="parent", supervision=Resume()
        )
        child = await parent.ask("child")
        errors: list[Exception] = []

        async def ask_parent_to_wait() -> None:
            try:
                await parent.ask("wait")
            except ChildFailedError as exc:
                errors.append(exc)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(ask_parent_to_wait)
                await anyio.wait_all_tasks_blocked()
                await child.tell("crash")
        # The abandoned ask got the child's failure; the parent's policy handled it too.
        [error] = errors
        assert isinstance(error, ChildFailedError)
        assert error.child == "child"
        assert isinstance(error.cause, Boom)
        assert [type(e) for e, _ in journal.failures] == [ChildFailedError]
        assert await parent.ask("anything") == "parent alive"


async def test_stop_without_drain_during_a_restart_runs_on_stop_once(backend: str) -> None:
    journal = Journal()
    slow_restart = Restart(backoff=60.0, max_backoff=60.0)
    async with ActorSystem() as system:
        ref = await system.spawn(counter(journal), supervision=slow_restart)
        await ref.tell("crash")
        await anyio.wait_all_tasks_blocked()  # the old instance stopped; backoff in progress
        assert journal.events == ["start:0", "failure:0", "stop:0"]
        with anyio.fail_after(5):
            await ref.stop(drain=False)
        assert ref.statistics().state == "stopped"
    assert journal.events.count("stop:0") == 1


async def test_a_child_failing_while_its_parent_stops_does_not_abort_the_system(backend: str) -> None:
    journal, child_journal = Journal(), Journal()
    async with ActorSystem() as system:
        bystander = await system.spawn(counter(Journal()))
        parent = await system.spawn(functools.partial(Parent, journal, child_journal), supervision=Resume())
        child = await parent.ask("child")
        child.tell_nowait("crash")  # handled while the parent drains its children
        await parent.stop()
        await bystander.tell("inc")
        assert await bystander.ask("get") == 1
        assert system.statistics().failures == 1
    assert child_journal.events == ["start:0", "failure:0", "stop:0"]
    assert journal.events == ["stop:parent"]


async def test_cancel_shutdown_during_a_restart_runs_on_stop_once(backend: str) -> None:
    journal = Journal()
    slow_restart = Restart(backoff=60.0, max_backoff=60.0)
    with anyio.fail_after(5):
        async with ActorSystem(shutdown="cancel") as system:
            ref = await system.spawn(counter(journal), supervision=slow_restart)
            await ref.tell("crash")
            await anyio.wait_all_tasks_blocked()  # the old instance stopped; backoff in progress
            assert journal.events == ["start:0", "failure:0", "stop:0"]
    assert journal.events.count("stop:0") == 1
