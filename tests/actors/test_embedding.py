"""Embedding the runtime in a plain anyio program, and what idle actors cost."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
from typing import Any

import anyio
import pytest

from actors import Actor, ActorDeadError, ActorSystem, SystemNotRunningError


class Account(Actor):
    def __init__(self, stopped: list[str]) -> None:
        self.stopped = stopped
        self.balance = 0

    async def receive(self, message: Any) -> Any:
        op, amount = message
        if op == "deposit":
            self.balance += amount
        await anyio.lowlevel.checkpoint()
        return self.balance

    async def on_stop(self) -> None:
        self.stopped.append(self.ref.name)


async def test_a_plain_anyio_program_runs_the_system_in_its_own_task_group(backend: str) -> None:
    stopped: list[str] = []
    clients, deposits = 8, 25
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            system = await tg.start(ActorSystem().serve)
            assert system.running
            accounts = [
                await system.spawn(functools.partial(Account, stopped), name=f"account-{i}") for i in range(3)
            ]

            async def client(n: int) -> None:
                for _ in range(deposits):
                    for account in accounts:
                        if n % 2:
                            await account.tell(("deposit", 1))
                        else:
                            await account.ask(("deposit", 1))

            async with anyio.create_task_group() as clients_tg:
                for n in range(clients):
                    clients_tg.start_soon(client, n)
            balances = [await account.ask(("balance", 0)) for account in accounts]
            await system.aclose()
            assert not system.running
    assert balances == [clients * deposits] * 3
    assert sorted(stopped) == ["account-0", "account-1", "account-2"]
    with pytest.raises(SystemNotRunningError):
        await system.spawn(functools.partial(Account, stopped))
    with pytest.raises(ActorDeadError):
        await accounts[0].tell(("deposit", 1))


async def test_aclose_is_only_for_systems_started_with_serve(backend: str) -> None:
    async with ActorSystem() as system:
        with pytest.raises(RuntimeError, match="serve"):
            await system.aclose()
        assert system.running


EMBEDDED_PROGRAM = textwrap.dedent(
    """
    import sys

    import anyio

    import actors


    class Echo(actors.Actor):
        async def receive(self, message):
            return message


    async def main():
        async with anyio.create_task_group() as tg:
            system = await tg.start(actors.ActorSystem().serve)
            ref = await system.spawn(Echo)
            assert await ref.ask("ping") == "ping"
            await system.aclose()


    for backend in ("asyncio", "trio"):
        anyio.run(main, backend=backend)
    leaked = sorted(m for m in sys.modules if m == "converse" or m.startswith("converse."))
    print("converse modules:", leaked)
    """
)


def test_the_runtime_needs_nothing_from_converse() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", EMBEDDED_PROGRAM],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "converse modules: []"


class Blocker(Actor):
    def __init__(self, entered: anyio.Event) -> None:
        self.entered = entered

    async def receive(self, message: Any) -> Any:
        self.entered.set()
        await anyio.sleep_forever()


async def test_an_ask_in_progress_fails_when_a_cancel_shutdown_cancels_it(backend: str) -> None:
    entered = anyio.Event()
    errors: list[ActorDeadError] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            system = await tg.start(ActorSystem(shutdown="cancel").serve)
            ref = await system.spawn(functools.partial(Blocker, entered))

            async def asker() -> None:
                try:
                    await ref.ask("never answered")
                except ActorDeadError as exc:
                    errors.append(exc)

            tg.start_soon(asker)
            await entered.wait()
            await system.aclose()
    assert [e.reason for e in errors] == ["stopped"]


class Idle(Actor):
    def __init__(self, handled: list[int], done: anyio.Event, expected: int) -> None:
        self.handled = handled
        self.done = done
        self.expected = expected

    async def receive(self, message: Any) -> Any:
        self.handled.append(message)
        if len(self.handled) == self.expected:
            self.done.set()


async def test_idle_actors_hold_no_task(backend: str) -> None:
    n = 10_000
    handled: list[int] = []
    done = anyio.Event()
    async with ActorSystem() as system:
        factory = functools.partial(Idle, handled, done, n)
        refs = [await system.spawn(factory) for _ in range(n)]
        await anyio.wait_all_tasks_blocked()
        stats = system.statistics()
        assert stats.actors == n
        assert stats.workers <= 2
        assert len(anyio.get_running_tasks()) < 20  # no task per actor
        for i, ref in enumerate(refs):
            ref.tell_nowait(i)
        with anyio.fail_after(20):
            await done.wait()
        assert sorted(handled) == list(range(n))
        assert system.statistics().ready == 0


async def test_a_blocked_actor_does_not_hold_up_the_others(backend: str) -> None:
    entered = anyio.Event()
    with anyio.fail_after(10):
        async with ActorSystem(shutdown="cancel") as system:
            blocked = await system.spawn(functools.partial(Blocker, entered))
            await blocked.tell("block")
            await entered.wait()
            others = [await system.spawn(functools.partial(Account, [])) for _ in range(5)]
            for i, ref in enumerate(others):
                assert await ref.ask(("deposit", i)) == i
