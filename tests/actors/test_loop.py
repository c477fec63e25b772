"""``actors.run``: anyio.run on an asyncio loop whose timers end when due, not a millisecond late."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import pytest
import sniffio

import actors

T = TypeVar("T")
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


# -- the loop's lean paths do what asyncio's do ----------------------------------------------


def _on_new_loop(main: Callable[[asyncio.AbstractEventLoop], Awaitable[T]]) -> T:
    loop = actors.new_event_loop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        loop.close()


def test_timers_due_at_the_same_moment_run_in_the_order_they_were_set() -> None:
    async def main(loop: asyncio.AbstractEventLoop) -> list[int]:
        ran: list[int] = []
        when = loop.time() + 0.01
        for i in range(50):
            loop.call_at(when, ran.append, i)
        await asyncio.sleep(0.05)
        return ran

    assert _on_new_loop(main) == list(range(50))


def test_timers_run_in_time_order_and_a_cancelled_one_never_runs() -> None:
    async def main(loop: asyncio.AbstractEventLoop) -> tuple[list[int], int]:
        ran: list[int] = []
        # 300 timers set in shuffled order; two thirds of them cancelled, which makes the loop
        # rebuild its heap without them (more than 100 wait, more than half cancelled).
        order = [(i * 7919) % 300 for i in range(300)]
        now = loop.time()
        timers = {i: loop.call_at(now + 0.002 + i * 0.0001, ran.append, i) for i in order}
        for i, timer in timers.items():
            if i % 3:
                timer.cancel()
        timers[1].cancel()  # twice: nothing more happens
        await asyncio.sleep(0)  # one turn of the loop: its heap is rebuilt without the cancelled
        assert not any(entry[2].cancelled() for entry in loop._scheduled)  # type: ignore[attr-defined]
        await asyncio.sleep(0.1)
        return ran, sum(timer.cancelled() for timer in timers.values())

    ran, cancelled = _on_new_loop(main)
    assert ran == list(range(0, 300, 3))
    assert cancelled == 200


def test_a_callback_that_raises_reaches_the_loops_exception_handler_and_the_loop_goes_on() -> None:
    async def main(loop: asyncio.AbstractEventLoop) -> tuple[list[dict[str, Any]], list[str]]:
        reported: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _, context: reported.append(context))
        after: list[str] = []

        def broken() -> None:
            raise ValueError("no luck")

        loop.call_soon(broken)
        loop.call_soon(after.append, "soon")
        loop.call_later(0.001, broken)
        loop.call_later(0.002, after.append, "later")
        await asyncio.sleep(0.02)
        return reported, after

    reported, after = _on_new_loop(main)
    assert after == ["soon", "later"]
    assert [type(context["exception"]) for context in reported] == [ValueError, ValueError]
    assert all(context["message"].startswith("Exception in callback ") for context in reported)
    assert "broken" in reported[0]["message"]


def test_in_debug_mode_the_loop_checks_and_reports_as_asyncios_does(caplog: pytest.LogCaptureFixture) -> None:
    async def coroutine() -> None:
        await asyncio.sleep(0)  # a coroutine function, which no call_* takes

    async def main(loop: asyncio.AbstractEventLoop) -> None:
        loop.set_debug(True)
        loop.slow_callback_duration = 0.01
        with pytest.raises(TypeError, match="coroutines cannot be used with call_soon"):
            loop.call_soon(coroutine)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="coroutines cannot be used with call_at"):
            loop.call_later(1, coroutine)  # type: ignore[arg-type]
        handle = loop.call_soon(time.sleep, 0.02)
        assert handle._source_traceback[-1].name == "main"  # type: ignore[attr-defined]  # where it was called
        timer = loop.call_later(0.001, time.sleep, 0.02)
        assert timer._source_traceback[-1].name == "main"  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)

    with caplog.at_level(logging.WARNING, logger="asyncio"):
        _on_new_loop(main)
    slow = [r.getMessage() for r in caplog.records if "took" in r.getMessage()]
    assert len(slow) == 2
    assert all(message.startswith("Executing <") and "sleep" in message for message in slow)


def test_a_closed_loop_takes_no_callback() -> None:
    loop = actors.new_event_loop()
    loop.close()
    for schedule in (lambda: loop.call_soon(print), lambda: loop.call_later(1, print), lambda: loop.call_at(1, print)):
        with pytest.raises(RuntimeError, match="Event loop is closed"):
            schedule()


_CPYTHON_LOOP_TESTS = """
import sys, unittest
import actors
from test.test_asyncio import test_events

class OnOurLoop(test_events.EPollEventLoopTests):
    def create_event_loop(self):
        return actors.new_event_loop()

result = unittest.TextTestRunner(stream=sys.stdout, verbosity=1).run(
    unittest.defaultTestLoader.loadTestsFromTestCase(OnOurLoop)
)
print(f"ran {result.testsRun}, skipped {len(result.skipped)}")
sys.exit(0 if result.wasSuccessful() else 1)
"""


@linux
@pytest.mark.slow
def test_cpythons_own_event_loop_tests_pass_on_our_loop() -> None:
    # Sockets, pipes, subprocesses, signals, timers, readers and writers: asyncio's tests of a
    # selector loop, each on a loop from ``actors.new_event_loop``. A Python built without its
    # test package (Debian's, say) has none to run.
    if importlib.util.find_spec("test.test_asyncio") is None:
        pytest.skip("this Python has no test package (test.test_asyncio)")
    done = subprocess.run(
        [sys.executable, "-c", _CPYTHON_LOOP_TESTS], capture_output=True, text=True, timeout=110, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ran = int(done.stdout.rsplit("ran ", 1)[1].split(",")[0])
    assert ran >= 50
