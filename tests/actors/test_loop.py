"""``actors.run``: anyio.run on an asyncio loop whose timers end when due, not a millisecond late."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import sys
import time

import anyio
import pytest
import sniffio

import actors

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="epoll's rounding is Linux's")


async def _waits(delay: float, times: int) -> list[float]:
    """How long each of ``times`` sleeps of ``delay`` seconds took, one after another."""
    took = []
    for _ in range(times):
        started = time.perf_counter()
        await anyio.sleep(delay)
        took.append(time.perf_counter() - started)
    return took


@linux
def test_a_wait_shorter_than_a_millisecond_ends_before_the_millisecond_does() -> None:
    # epoll_wait takes whole milliseconds and asyncio rounds a wait up, so on its own loop a
    # 0.2 ms sleep never ends in under a millisecond. The fastest of 30 is the loop's own
    # doing: a busy machine only ever adds to a wait.
    took = actors.run(_waits, 0.0002, 30)
    assert min(took) >= 0.0002 - 1e-6  # never early (asyncio serves a timer within a nanosecond of its time)
    assert min(took) < 0.0009


@linux
def test_the_same_wait_on_asyncios_own_loop_takes_a_whole_millisecond() -> None:
    # What the loop above mends; if a future asyncio stops rounding, this says so. The median:
    # a sleep whose task was held up past its time before the loop's wait ends sooner.
    took = sorted(anyio.run(_waits, 0.0002, 11))
    assert took[5] >= 0.001


def test_a_socket_wakes_a_long_wait_at_once() -> None:
    async def main() -> float:
        left, right = socket.socketpair()
        with left, right, anyio.fail_after(5):
            async with anyio.create_task_group() as tg:

                async def send_soon() -> None:
                    await anyio.sleep(0.01)
                    right.send(b"x")

                tg.start_soon(send_soon)
                started = time.perf_counter()
                await anyio.wait_readable(left)  # the loop's wait: up to its next timer, none
                assert left.recv(1) == b"x"
                return time.perf_counter() - started

    assert actors.run(main) < 2


def test_it_runs_on_trio_and_on_a_loop_of_your_own() -> None:
    async def library() -> str:
        return sniffio.current_async_library()

    assert actors.run(library, backend="trio") == "trio"
    made: list[asyncio.AbstractEventLoop] = []

    def factory() -> asyncio.AbstractEventLoop:
        made.append(asyncio.new_event_loop())
        return made[-1]

    async def loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert actors.run(loop, backend_options={"loop_factory": factory}) is made[0]
    assert len(made) == 1


@linux
def test_a_loop_whose_epoll_is_numbered_past_selects_reach_still_ends_its_waits() -> None:
    # select() takes descriptors below FD_SETSIZE (1,024): past it the loop waits as asyncio does.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this process may open {hard} files, and the test needs 1,200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200) if soft != resource.RLIM_INFINITY else soft, hard))
    reader, writer = os.pipe()
    held = [reader, writer]
    try:
        while held[-1] < 1100:
            held.append(os.dup(reader))
        took = actors.run(_waits, 0.002, 5)  # its epoll descriptor is the next free one, past 1,100
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert min(took) >= 0.002 - 1e-6
    assert len(took) == 5
