"""The dispatcher's ready queue: first come, first served, except for a congested actor."""

from __future__ import annotations

from functools import partial

import anyio

from actors import Actor, ActorSystem


class Logger(Actor):
    """Appends its label to a shared list for every message; sets ``done`` at ``total``."""

    def __init__(self, label: str, order: list[str], total: int, done: anyio.Event) -> None:
        self.label, self.order, self.total, self.done = label, order, total, done

    async def receive(self, message: object) -> None:
        self.order.append(self.label)
        if len(self.order) == self.total:
            self.done.set()


async def test_an_actor_with_a_sender_blocked_on_it_runs_before_the_queue(backend: str) -> None:
    order: list[str] = []
    done = anyio.Event()
    async with ActorSystem() as system:
        others = [await system.spawn(partial(Logger, "other", order, 52, done)) for _ in range(50)]
        busy = await system.spawn(partial(Logger, "busy", order, 52, done), mailbox_size=1)
        for ref in others:
            await ref.tell("work")  # room in every mailbox: nothing has run yet
        await busy.tell("first")  # fills its mailbox; queued behind the other fifty
        await busy.tell("second")  # waits for room: a worker held by this would wait for fifty
        await done.wait()
    assert order == ["busy", "busy"] + ["other"] * 50
