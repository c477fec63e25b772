"""Figures for the actor runtime, each measured beside the raw anyio floor in one process.

- ``actors.ask_rt_ratio``: ``ask`` round trips/s over two tasks ping-ponging on unbounded
  memory object streams with ``send_nowait``.
- ``actors.fanout_ratio``: bus deliveries/s to 1,000 subscribers over 1,000 tasks each
  receiving from its own unbounded stream, fed with ``send_nowait``.
- ``actors.idle_bytes``: RSS growth per idle actor with N actors spawned (fresh process).
- ``actors.spawn_per_s``: actors spawned per second (same process).

Rounds alternate floor and runtime (A B A B ...) and the figure is the median of the
per-round ratios, so a noisy neighbour moves both sides of a ratio alike.
"""

from __future__ import annotations

import gc
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import anyio

from actors import Actor, ActorSystem


class _Echo(Actor):
    async def receive(self, message: object) -> object:
        return message


class _Sink(Actor):
    """Counts deliveries; the last one expected sets ``done``."""

    def __init__(self, tally: list[int], expected: int, done: anyio.Event) -> None:
        self.tally, self.expected, self.done = tally, expected, done

    async def receive(self, message: object) -> None:
        self.tally[0] += 1
        if self.tally[0] == self.expected:
            self.done.set()


class _Idle(Actor):
    pass


async def _floor_ping_pong(n: int) -> float:
    to_echo_send, to_echo = anyio.create_memory_object_stream[int](math.inf)
    to_main_send, to_main = anyio.create_memory_object_stream[int](math.inf)

    async def echo() -> None:
        async for item in to_echo:
            to_main_send.send_nowait(item)

    with to_echo_send, to_echo, to_main_send, to_main:
        async with anyio.create_task_group() as tg:
            tg.start_soon(echo)
            start = time.perf_counter()
            for i in range(n):
                to_echo_send.send_nowait(i)
                await to_main.receive()
            elapsed = time.perf_counter() - start
            to_echo_send.close()
    return n / elapsed


async def _actors_ask(n: int) -> float:
    async with ActorSystem() as system:
        ref = await system.spawn(_Echo)
        start = time.perf_counter()
        for i in range(n):
            await ref.ask(i)
        elapsed = time.perf_counter() - start
    return n / elapsed


async def _floor_fanout(subscribers: int, messages: int) -> float:
    pairs = [anyio.create_memory_object_stream[int](math.inf) for _ in range(subscribers)]
    done = anyio.Event()
    remaining = subscribers

    async def consume(stream: anyio.abc.ObjectReceiveStream[int]) -> None:
        nonlocal remaining
        async for _ in stream:
            pass
        remaining -= 1
        if not remaining:
            done.set()

    async with anyio.create_task_group() as tg:
        for _, receive in pairs:
            tg.start_soon(consume, receive)
        await anyio.wait_all_tasks_blocked()
        start = time.perf_counter()
        for i in range(messages):
            for send, _ in pairs:
                send.send_nowait(i)
            await anyio.lowlevel.checkpoint()
        for send, _ in pairs:
            send.close()
        await done.wait()
        elapsed = time.perf_counter() - start
    return subscribers * messages / elapsed


async def _actors_fanout(subscribers: int, messages: int) -> float:
    tally, done = [0], anyio.Event()
    async with ActorSystem(mailbox_size=messages + 1) as system:
        for _ in range(subscribers):
            sink = await system.spawn(partial(_Sink, tally, subscribers * messages, done))
            system.bus.subscribe("t", sink)
        start = time.perf_counter()
        for i in range(messages):
            await system.bus.publish("t", i)
            await anyio.lowlevel.checkpoint()
        await done.wait()
        elapsed = time.perf_counter() - start
    return subscribers * messages / elapsed


def _median_ratio(
    ours: Callable[[], Awaitable[float]], floor: Callable[[], Awaitable[float]], rounds: int
) -> tuple[float, float, float]:
    ratios, ours_rates, floor_rates = [], [], []
    for _ in range(rounds):
        f = anyio.run(floor)
        o = anyio.run(ours)
        floor_rates.append(f)
        ours_rates.append(o)
        ratios.append(o / f)
    return statistics.median(ratios), statistics.median(ours_rates), statistics.median(floor_rates)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


async def _spawn_many(n: int) -> tuple[float, float]:
    gc.collect()
    gc.disable()
    try:
        before = _rss_bytes()
        async with ActorSystem() as system:
            start = time.perf_counter()
            for _ in range(n):
                await system.spawn(_Idle)
            elapsed = time.perf_counter() - start
            gc.collect()
            grown = _rss_bytes() - before
    finally:
        gc.enable()
    return grown / n, n / elapsed


def idle_child(n: int) -> None:
    """Entry point of the fresh process that measures memory and spawn rate."""
    per_actor, per_s = anyio.run(_spawn_many, n)
    print(f"{per_actor} {per_s}")


def run(quick: bool) -> dict[str, float]:
    """Measure every actors figure; returns ``{figure: value}`` plus context figures."""
    rounds = 5 if quick else 9
    n = 20_000 if quick else 100_000
    ask_ratio, ask_ours, ask_floor = _median_ratio(
        lambda: _actors_ask(n), lambda: _floor_ping_pong(n), rounds
    )
    subs, msgs = 1000, (20 if quick else 100)
    fan_ratio, fan_ours, fan_floor = _median_ratio(
        lambda: _actors_fanout(subs, msgs), lambda: _floor_fanout(subs, msgs), rounds
    )
    actors = 100_000 if quick else 1_000_000
    out = subprocess.run(
        [sys.executable, "-c", f"from benchmarks.bench_actors import idle_child; idle_child({actors})"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    per_actor, per_s = (float(x) for x in out.stdout.split())
    return {
        "actors.ask_rt_ratio": ask_ratio,
        "actors.fanout_ratio": fan_ratio,
        "actors.idle_bytes": per_actor,
        "actors.spawn_per_s": per_s,
        "context.actors.ask_rt_per_s": ask_ours,
        "context.actors.floor_rt_per_s": ask_floor,
        "context.actors.fanout_per_s": fan_ours,
        "context.actors.floor_fanout_per_s": fan_floor,
    }
