"""Bounded memory: a stalled subscriber (or a run's stalled recorder) holds its publishers back.

Nothing piles up while it is stalled, and nothing is lost or reordered once it goes on.
"""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

import converse
from actors import Actor, ActorSystem
from converse import Job, run_many
from converse.engine._recorder import Journal, Recorder
from converse.events import Event, RunFinished, RunStarted

TOPIC = "firehose"
PAYLOAD = 1024


class Stalled(Actor):
    """Records the number of each message, but only once ``gate`` is set."""

    def __init__(self, gate: anyio.Event, received: list[int]) -> None:
        self.gate = gate
        self.received = received

    async def receive(self, message: object) -> None:
        if not self.gate.is_set():
            await self.gate.wait()
        assert isinstance(message, tuple)
        number, payload = message
        assert len(payload) == PAYLOAD
        self.received.append(number)


@pytest.mark.parametrize("publishers", [1, 4])
async def test_a_stalled_subscriber_blocks_its_publishers_in_bounded_memory(
    publishers: int, backend: str
) -> None:
    n, mailbox = 200_000, 100
    gate = anyio.Event()
    received: list[int] = []
    numbers = itertools.count()  # taken just before each publish: the order publish is called in
    published = [0] * publishers

    async def publish(me: int) -> None:
        for number in numbers:
            if number >= n:
                return
            # A fresh kilobyte each time: if messages piled up somewhere, so would these.
            await system.bus.publish(TOPIC, (number, number.to_bytes(8, "big") * (PAYLOAD // 8)))
            published[me] += 1

    tracemalloc.start()
    try:
        async with ActorSystem(name="backpressure") as system:
            subscriber = await system.spawn(partial(Stalled, gate, received), mailbox_size=mailbox)
            system.bus.subscribe(TOPIC, subscriber)
            before = tracemalloc.get_traced_memory()[0]
            async with anyio.create_task_group() as tg:
                for me in range(publishers):
                    tg.start_soon(publish, me)
                try:
                    await anyio.wait_all_tasks_blocked()
                    grown = tracemalloc.get_traced_memory()[0] - before
                    tracemalloc.stop()  # it would make the rest ten times slower
                    # Bounded by the mailbox (about 100 KiB of payload here), not by n (200 MB).
                    assert grown < mailbox * 4 * PAYLOAD + (256 << 10), grown
                    # One message in the stalled handler, a full mailbox, and every publisher blocked.
                    assert sum(published) == mailbox + 1
                    assert subscriber.statistics().depth == mailbox
                    assert subscriber.statistics().waiting_senders == 1
                    assert system.bus.statistics().waiting_publishers == publishers
                finally:
                    gate.set()  # also when an assertion failed: the system can then stop
            assert sum(published) == n
            stats = system.bus.statistics()
            assert stats.published == stats.delivered == n
        # Leaving the system let the subscriber handle what was still in its mailbox.
        assert received == list(range(n))  # each exactly once, in the order published
        assert subscriber.statistics().processed == n
        assert system.statistics().dead_letters == 0
    finally:
        tracemalloc.stop()


def _per_conversation(events: list[converse.events.AnyEvent]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Each conversation's events in order, without what depends on how concurrent councils
    interleave: timings, ``seq`` and the run-wide call numbers."""
    conversations: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for event in events:
        data: dict[str, Any] = msgspec.to_builtins(event)
        for key in ("t", "seq", "latency", "started_at", "queued", "call"):
            data.pop(key, None)
        if data.get("shared"):
            data["shared"].pop("call")
        conversations.setdefault(tuple(data.get("conversation", ())), []).append(data)
    return conversations


async def test_a_stalled_recorder_holds_nothing_up_keeps_its_journal_bounded_and_loses_nothing(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The recorder actor stops at its first wake-up (its handler waits on a gate) and the run
    # goes on without it: a model call's emitter writes the journal's events itself before its
    # answer is used, and an emitter that finds the journal full writes what it holds. The
    # journal never holds more than the recorder's mailbox, and the log is whole and in order.
    scenario, seed, overrides = "three-labs-councils", 5, ["clock.end=2025"]
    reference = await converse.run_scenario(
        scenario, seed=seed, out=tmp_path / "reference", overrides=overrides
    )
    expected = converse.read_events(reference.events)

    mailbox = 8
    gate = anyio.Event()
    stalled_at: list[int] = []  # how many events the journal held when the recorder stalled
    receive = Recorder.receive

    async def stalled(self: Recorder, message: object) -> None:
        if not stalled_at:
            stalled_at.append(len(self.journal.events))
            await gate.wait()
        await receive(self, message)

    monkeypatch.setattr(Recorder, "receive", stalled)
    held = [0]  # the most events a journal held
    put = Journal.put

    def counted(self: Journal, event: Event) -> None:
        put(self, event)
        held[0] = max(held[0], len(self.events))

    monkeypatch.setattr(Journal, "put", counted)
    results: list[converse.RunResult] = []
    finished = anyio.Event()

    def observer(event: Event) -> None:
        if isinstance(event, RunFinished):
            finished.set()

    async def run() -> None:
        results.append(
            await converse.run_scenario(
                scenario, seed=seed, out=tmp_path / "stalled", overrides=overrides, system=system,
                observer=observer,
            )
        )

    with anyio.fail_after(30):
        async with (
            ActorSystem(name="stalled", mailbox_size=mailbox) as system,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(run)
            try:
                # The run says all it has to say while its recorder is stalled (it then waits
                # for the recorder to stop, which closes the log)...
                await finished.wait()
                assert stalled_at
                assert not results
            finally:
                gate.set()  # ...and the recorder is let go (also when an assertion failed)
    assert 0 < held[0] <= mailbox
    (result,) = results
    assert result.status == "completed"
    events = converse.read_events(result.events)
    assert [e.seq for e in events] == list(range(len(events)))
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished)
    assert len(events) == len(expected)
    assert _per_conversation(events) == _per_conversation(expected)
    assert result.transcript.read_bytes() == reference.transcript.read_bytes()


async def test_run_many_does_not_run_ahead_of_a_caller_that_stopped_reading(
    tmp_path: Path, backend: str
) -> None:
    concurrency, jobs = 2, 40
    pulled = [0]

    def feed() -> Iterator[Job]:
        for seed in range(jobs):
            pulled[0] += 1
            yield Job(scenario="three-labs", seed=seed, overrides=("clock.end=2023",))

    with anyio.fail_after(60):
        async with run_many(feed(), concurrency=concurrency, out=tmp_path) as finished:
            # The caller is busy elsewhere until the feed has run out of jobs or is held back
            # by full hands. (A run ends with its log's fsync in a worker thread, during which
            # wait_all_tasks_blocked returns early: hence the loop.)
            while pulled[0] < jobs and finished.statistics().tasks_waiting_send < concurrency:
                await anyio.wait_all_tasks_blocked()
            waiting = finished.statistics().current_buffer_used
            started = pulled[0]
            async for _ in finished:
                pass
    # A bounded stream: a few results wait for the caller, and no more runs than that are started.
    assert waiting <= concurrency
    assert started <= 2 * concurrency + 1
