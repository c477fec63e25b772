"""The model-call scheduler: cap, budgets, retries, Retry-After, fairness, cancellation, statistics.

Timing tests use small windows and assert bounds a broken feature cannot meet (a missing
budget finishes at once; a missing pause lets the next caller in at once) but that a slow,
noisy machine still meets.
"""

from __future__ import annotations

import pickle
from collections.abc import Awaitable, Callable
from functools import partial

import anyio
import msgspec
import pytest
from anyio.lowlevel import checkpoint

from converse import CallFailed, Limits, RetriesExhausted, Scheduler
from converse.models import Attempt, EndpointStatistics

EP = "http://127.0.0.1:9/v1|test-model"
OTHER = "http://127.0.0.1:9/v1|other-model"


async def ok() -> str:
    await checkpoint()
    return "ok"


def script(*outcomes: object) -> tuple[Callable[[], Awaitable[object]], list[float]]:
    """An attempt function that plays ``outcomes`` in turn (the last repeats) and logs start times.

    An exception is raised, ``...`` hangs (a server that never answers), anything else is returned.
    """
    starts: list[float] = []

    async def attempt() -> object:
        starts.append(anyio.current_time())
        outcome = outcomes[min(len(starts), len(outcomes)) - 1]
        await checkpoint()
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is ...:
            await anyio.sleep_forever()
        return outcome

    return attempt, starts


def recorder() -> tuple[Callable[[Attempt], Awaitable[None]], list[tuple[float, Attempt]]]:
    reports: list[tuple[float, Attempt]] = []

    async def on_attempt(attempt: Attempt) -> None:
        reports.append((anyio.current_time(), attempt))

    return on_attempt, reports


def stats(scheduler: Scheduler, endpoint: str = EP) -> EndpointStatistics:
    return scheduler.statistics().endpoints[endpoint]


def overloaded() -> CallFailed:
    return CallFailed("127.0.0.1:9 is overloaded", retryable=True, status=503, kind="server")


# -- concurrency ------------------------------------------------------------------------------


async def test_concurrency_cap_is_never_exceeded(backend: str) -> None:
    scheduler = Scheduler(Limits(max_concurrency=3))
    gate = anyio.Event()
    in_flight = peak = 0

    async def attempt() -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await gate.wait()
        for _ in range(3):
            await checkpoint()
        in_flight -= 1
        return 1

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for i in range(30):
                tg.start_soon(scheduler.call, EP, f"run-{i % 3}", 1, attempt)
            await anyio.wait_all_tasks_blocked()
            mid = stats(scheduler)
            assert (mid.in_flight, mid.queued, mid.tenants_waiting) == (3, 27, 3)
            gate.set()
    assert peak == 3
    end = stats(scheduler)
    assert (end.in_flight, end.queued, end.succeeded, end.attempts) == (0, 0, 30, 30)


async def test_each_endpoint_has_its_own_cap_and_limits(backend: str) -> None:
    scheduler = Scheduler({EP: Limits(max_concurrency=1)}, default=Limits(max_concurrency=4))
    gate = anyio.Event()

    async def attempt() -> str:
        await gate.wait()
        return "ok"

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(scheduler.call, EP, "run", 7, attempt)
                tg.start_soon(scheduler.call, OTHER, "run", 7, attempt)
            await anyio.wait_all_tasks_blocked()
            assert (stats(scheduler, EP).in_flight, stats(scheduler, EP).queued) == (1, 2)
            assert (stats(scheduler, OTHER).in_flight, stats(scheduler, OTHER).queued) == (3, 0)
            gate.set()
    assert stats(scheduler, EP).tokens == stats(scheduler, OTHER).tokens == 21

    one = Scheduler(Limits(max_concurrency=2))  # a single Limits applies to every endpoint
    gate = anyio.Event()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(one.call, EP, "run", 1, attempt)
                tg.start_soon(one.call, OTHER, "run", 1, attempt)
            await anyio.wait_all_tasks_blocked()
            assert [stats(one, e).in_flight for e in (EP, OTHER)] == [2, 2]
            gate.set()


async def test_fifo_within_a_tenant(backend: str) -> None:
    scheduler = Scheduler(Limits(max_concurrency=1))
    gate = anyio.Event()
    order: list[int] = []

    async def attempt(i: int) -> None:
        await gate.wait()
        order.append(i)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(scheduler.call, EP, "run", 1, partial(attempt, i))
                await anyio.wait_all_tasks_blocked()  # enqueue in a known order, whatever the backend
            gate.set()
    assert order == list(range(20))


# -- budgets ----------------------------------------------------------------------------------


async def test_rpm_budget_is_respected(backend: str) -> None:
    # 10 requests per 0.5 s: a burst of 10, then one every 0.05 s, so 30 calls take >= 1.0 s.
    scheduler = Scheduler(Limits(rpm=10, window=0.5))
    starts: list[float] = []

    async def attempt() -> None:
        starts.append(anyio.current_time())

    t0 = anyio.current_time()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for i in range(30):
                tg.start_soon(scheduler.call, EP, f"run-{i % 2}", 1, attempt)
    elapsed = max(starts) - t0
    assert 0.99 <= elapsed < 3.0
    starts.sort()
    # Token-bucket conformance: any interval holds at most capacity + rate * length starts
    # (+2 for wake-up noise); no limit at all would put all 30 in one instant.
    for i, first in enumerate(starts):
        for j in range(i, len(starts)):
            assert j - i + 1 <= 10 + 20 * (starts[j] - first) + 2, (i, j, starts)
    # Once the initial burst is spent, no window holds more than the budget (+1).
    for first in starts[10:]:
        assert sum(first <= s < first + 0.5 for s in starts) <= 11


async def test_tokens_used_corrects_the_token_budget(backend: str) -> None:
    # 1000 tokens per 0.25 s, i.e. 4000 per second.
    scheduler = Scheduler(Limits(tpm=1000, window=0.25))
    with anyio.fail_after(5):
        # Over-estimates are given back: 10 calls reserving 500 but using 100 never wait
        # (without the correction the last 8 would wait 0.125 s each).
        t0 = anyio.current_time()
        for _ in range(10):
            await scheduler.call(EP, "run", 500, ok, tokens_used=lambda _: 100)
        assert anyio.current_time() - t0 < 0.4
        assert stats(scheduler).tokens == 1000

        # Under-estimates are charged: using 1500 after reserving 10 leaves a debt of 500,
        # so the next call waits (500 + 10) / 4000 s.
        debtor = Scheduler(Limits(tpm=1000, window=0.25))
        await debtor.call(EP, "run", 10, ok, tokens_used=lambda _: 1500)
        t1 = anyio.current_time()
        await debtor.call(EP, "run", 10, ok)
        assert anyio.current_time() - t1 >= 0.1

        # A call estimating more than the bucket holds goes when the bucket is full.
        big = Scheduler(Limits(tpm=1000, window=0.25))
        t2 = anyio.current_time()
        await big.call(EP, "run", 5000, ok, tokens_used=lambda _: 1000)
        assert anyio.current_time() - t2 < 0.1  # the bucket started full
        await big.call(EP, "run", 5000, ok)  # the bucket is empty now: wait until it is full
        assert anyio.current_time() - t2 >= 0.24


async def test_a_waiting_call_is_not_overtaken_by_a_later_one_that_fits(backend: str) -> None:
    # 1000 tokens per 0.1 s. After the first call 10 tokens are left: the second (900) must
    # wait, and the third (10), arriving later, must not slip in ahead of it.
    scheduler = Scheduler(Limits(tpm=1000, window=0.1))
    order: list[str] = []

    async def attempt(name: str) -> None:
        order.append(name)

    await scheduler.call(EP, "run-1", 990, ok)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(scheduler.call, EP, "run-2", 900, partial(attempt, "large"))
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(scheduler.call, EP, "run-3", 10, partial(attempt, "small"))
    assert order == ["large", "small"]


# -- retries ----------------------------------------------------------------------------------


async def test_retryable_failures_are_retried_and_every_attempt_reported(backend: str) -> None:
    scheduler = Scheduler(Limits(backoff=0.01, max_backoff=0.015), seed=3)
    attempt_fn, starts = script(overloaded(), overloaded(), "done")
    on_attempt, reports = recorder()
    assert await scheduler.call(EP, "run", 5, attempt_fn, on_attempt=on_attempt) == "done"
    attempts = [a for _, a in reports]
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert [a.ok for a in attempts] == [False, False, True]
    first = attempts[0]
    assert (first.error_type, first.status, first.error) == ("server", 503, "127.0.0.1:9 is overloaded")
    assert first.next_delay is not None
    assert 0 <= first.next_delay <= 0.01
    assert attempts[1].next_delay is not None
    assert 0 <= attempts[1].next_delay <= 0.015
    assert attempts[2].next_delay is None
    assert attempts[2].error_type is None
    # Reported before the delay, and the delay was waited before the next attempt.
    for (reported, attempt), next_start in zip(reports, starts[1:], strict=False):
        assert attempt.next_delay is not None
        assert next_start - reported >= attempt.next_delay - 1e-3
    end = stats(scheduler)
    assert (end.attempts, end.retries, end.succeeded, end.failed) == (3, 2, 1, 0)


async def test_on_failure_hears_only_the_failures_and_after_on_attempt(backend: str) -> None:
    scheduler = Scheduler(Limits(backoff=0.0), seed=3)
    attempt_fn, _ = script(overloaded(), overloaded(), "done")
    heard: list[tuple[str, int, bool]] = []

    async def on_attempt(attempt: Attempt) -> None:
        heard.append(("every", attempt.attempt, attempt.ok))

    async def on_failure(attempt: Attempt) -> None:
        heard.append(("failure", attempt.attempt, attempt.ok))

    assert await scheduler.call(EP, "run", 5, attempt_fn, on_attempt=on_attempt, on_failure=on_failure) == "done"
    assert heard == [
        ("every", 1, False), ("failure", 1, False), ("every", 2, False), ("failure", 2, False), ("every", 3, True),
    ]
    alone: list[Attempt] = []

    async def collect(attempt: Attempt) -> None:
        alone.append(attempt)

    attempt_fn, _ = script(CallFailed("bad request", retryable=False, status=400, kind="client"))
    with pytest.raises(CallFailed, match="bad request"):
        await scheduler.call(EP, "run", 5, attempt_fn, on_failure=collect)
    assert [(a.attempt, a.error_type, a.status, a.next_delay) for a in alone] == [(1, "client", 400, None)]
    assert alone[0].latency >= 0


async def test_backoff_is_jittered_doubled_and_capped(backend: str) -> None:
    scheduler = Scheduler(Limits(backoff=0.002, max_backoff=0.003), seed=7)
    delays: dict[int, list[float]] = {1: [], 2: [], 3: []}

    async def on_attempt(attempt: Attempt) -> None:
        if attempt.next_delay is not None:
            delays[attempt.attempt].append(attempt.next_delay)

    for _ in range(20):
        attempt_fn, _ = script(overloaded(), overloaded(), overloaded(), "ok")
        await scheduler.call(EP, "run", 1, attempt_fn, on_attempt=on_attempt)
    assert all(len(d) == 20 for d in delays.values())
    assert all(0 <= d <= 0.002 for d in delays[1])
    assert len(set(delays[1])) > 10
    assert max(delays[2]) > 0.002  # the bound doubled...
    assert all(d <= 0.003 for d in delays[2] + delays[3])  # ...up to max_backoff


async def test_retry_after_pauses_the_whole_endpoint(backend: str) -> None:
    scheduler = Scheduler(Limits(backoff=0.0))
    server_busy_until = 0.0
    seen: dict[str, list[float]] = {"a": [], "b": []}

    async def request(who: str) -> str:
        # A server that answers 429 with Retry-After: 0.2 s to the first request and to
        # anything arriving before those 0.2 s have passed.
        nonlocal server_busy_until
        now = anyio.current_time()
        seen[who].append(now)
        await checkpoint()
        if not server_busy_until or now < server_busy_until:
            server_busy_until = max(server_busy_until, now + 0.2)
            raise CallFailed("slow down", retryable=True, retry_after=0.2, status=429, kind="rate_limit")
        return who

    failed = anyio.Event()
    on_attempt, reports = recorder()

    async def report_a(attempt: Attempt) -> None:
        await on_attempt(attempt)
        failed.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(scheduler.call, EP, "a", 1, partial(request, "a"), on_attempt=report_a))
            await failed.wait()
            t_fail = reports[0][0]
            assert reports[0][1].retry_after == 0.2
            assert reports[0][1].next_delay == 0.2
            assert await scheduler.call(EP, "b", 1, partial(request, "b")) == "b"
    # The other caller waited out the pause instead of hitting the server and getting a 429.
    assert len(seen["b"]) == 1
    assert seen["b"][0] - t_fail >= 0.19
    assert len(seen["a"]) == 2
    assert seen["a"][1] - t_fail >= 0.19
    assert stats(scheduler).pauses == 1


async def test_exhausted_retries_name_the_endpoint_and_the_attempts(backend: str) -> None:
    scheduler = Scheduler(Limits(max_attempts=3, backoff=0.001))
    attempt_fn, starts = script(overloaded())
    on_attempt, reports = recorder()
    with pytest.raises(RetriesExhausted) as info:
        await scheduler.call(EP, "run", 1, attempt_fn, on_attempt=on_attempt)
    err = info.value
    assert (err.endpoint, err.attempts, err.retryable, err.status, err.kind) == (EP, 3, False, 503, "server")
    assert err.last.message == "127.0.0.1:9 is overloaded"
    assert err.__cause__ is err.last
    assert str(err) == f"{EP}: gave up after 3 attempts; last: 127.0.0.1:9 is overloaded"
    assert len(starts) == 3
    assert [a.next_delay is None for _, a in reports] == [False, False, True]
    end = stats(scheduler)
    assert (end.attempts, end.retries, end.failed, end.succeeded, end.in_flight) == (3, 2, 1, 0, 0)


async def test_non_retryable_failure_is_raised_at_once(backend: str) -> None:
    scheduler = Scheduler()
    error = CallFailed("127.0.0.1:9 rejected the API key", retryable=False, status=401, kind="auth")
    attempt_fn, starts = script(error, "never")
    on_attempt, reports = recorder()
    with pytest.raises(CallFailed) as info:
        await scheduler.call(EP, "run", 1, attempt_fn, on_attempt=on_attempt)
    assert info.value is error
    assert len(starts) == 1
    assert [(a.attempt, a.ok, a.error_type, a.status, a.next_delay) for _, a in reports] == [
        (1, False, "auth", 401, None)
    ]
    assert (stats(scheduler).failed, stats(scheduler).retries) == (1, 0)


async def test_a_timed_out_attempt_is_retried(backend: str) -> None:
    scheduler = Scheduler(Limits(timeout=0.05, backoff=0.0))
    attempt_fn, starts = script(..., "late but fine")
    on_attempt, reports = recorder()
    with anyio.fail_after(5):
        assert await scheduler.call(EP, "run", 1, attempt_fn, on_attempt=on_attempt) == "late but fine"
    first = reports[0][1]
    assert (first.ok, first.error_type, first.attempt) == (False, "timeout", 1)
    assert first.latency >= 0.045
    assert len(starts) == 2

    hung = Scheduler(Limits(timeout=0.02, max_attempts=2, backoff=0.0))
    attempt_fn, starts = script(...)
    with anyio.fail_after(5), pytest.raises(RetriesExhausted) as info:
        await hung.call(EP, "run", 1, attempt_fn)
    assert (info.value.kind, info.value.attempts, len(starts)) == ("timeout", 2, 2)
    assert EP in str(info.value)


async def test_unknown_exceptions_propagate_unchanged(backend: str) -> None:
    scheduler = Scheduler(Limits(max_concurrency=1))
    bug = KeyError("a bug in the backend")
    attempt_fn, starts = script(bug, "never")
    with pytest.raises(KeyError) as info:
        await scheduler.call(EP, "run", 1, attempt_fn)
    assert info.value is bug
    assert len(starts) == 1
    assert (stats(scheduler).in_flight, stats(scheduler).failed, stats(scheduler).retries) == (0, 1, 0)
    with anyio.fail_after(5):
        assert await scheduler.call(EP, "run", 1, ok) == "ok"  # the slot came back


# -- cancellation -----------------------------------------------------------------------------


async def test_cancelling_a_running_call_releases_its_slot(backend: str) -> None:
    scheduler = Scheduler(Limits(max_concurrency=1))
    running = anyio.Event()
    done: list[str] = []

    async def hang() -> None:
        running.set()
        await anyio.sleep_forever()

    async def later() -> None:
        done.append(await scheduler.call(EP, "b", 1, ok))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()

            async def first() -> None:
                with scope:
                    await scheduler.call(EP, "a", 1, hang)

            tg.start_soon(first)
            await running.wait()
            tg.start_soon(later)
            await anyio.wait_all_tasks_blocked()
            assert (stats(scheduler).in_flight, stats(scheduler).queued) == (1, 1)
            scope.cancel()
    assert done == ["ok"]
    assert (stats(scheduler).in_flight, stats(scheduler).queued, stats(scheduler).failed) == (0, 0, 0)


async def test_cancelling_a_queued_call_takes_nothing(backend: str) -> None:
    # Two requests per 100 s, one slot: a leaked slot or request would leave the last call stuck.
    scheduler = Scheduler(Limits(max_concurrency=1, rpm=2, window=100))
    gate = anyio.Event()
    ran: list[str] = []

    async def attempt(name: str) -> None:
        ran.append(name)
        await gate.wait()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            scopes = {name: anyio.CancelScope() for name in ("a", "b", "c")}

            async def call(name: str) -> None:
                with scopes[name]:
                    await scheduler.call(EP, name, 1, partial(attempt, name))

            for name in ("a", "b", "c"):
                tg.start_soon(call, name)
                await anyio.wait_all_tasks_blocked()
            assert (stats(scheduler).in_flight, stats(scheduler).queued) == (1, 2)
            scopes["b"].cancel()
            await anyio.wait_all_tasks_blocked()
            assert (stats(scheduler).queued, stats(scheduler).tenants_waiting) == (1, 1)
            gate.set()
    assert ran == ["a", "c"]
    assert (stats(scheduler).in_flight, stats(scheduler).queued) == (0, 0)


async def test_cancelling_the_waiter_that_keeps_time_hands_the_clock_on(backend: str) -> None:
    # One request per 0.2 s: the first goes, the second waits on the clock (it keeps time for
    # the endpoint), the third waits behind it. Cancel the second: the third must still go.
    scheduler = Scheduler(Limits(rpm=1, window=0.2))
    await scheduler.call(EP, "x", 1, ok)
    done: list[str] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()

            async def second() -> None:
                with scope:
                    await scheduler.call(EP, "y", 1, ok)
                    done.append("second")

            async def third() -> None:
                await scheduler.call(EP, "z", 1, ok)
                done.append("third")

            tg.start_soon(second)
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(third)
            await anyio.wait_all_tasks_blocked()
            assert stats(scheduler).queued == 2
            scope.cancel()
    assert done == ["third"]
    assert (stats(scheduler).in_flight, stats(scheduler).queued, stats(scheduler).attempts) == (0, 0, 2)


# -- fairness ---------------------------------------------------------------------------------


async def test_a_small_tenant_is_not_starved_by_a_large_one_at_the_cap(backend: str) -> None:
    scheduler = Scheduler(Limits(max_concurrency=1))
    gate = anyio.Event()
    order: list[str] = []

    async def attempt(tenant: str) -> None:
        await gate.wait()
        order.append(tenant)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(500):
                tg.start_soon(scheduler.call, EP, "big", 1, partial(attempt, "big"))
            await anyio.wait_all_tasks_blocked()
            assert stats(scheduler).queued == 499
            for _ in range(5):
                tg.start_soon(scheduler.call, EP, "small", 1, partial(attempt, "small"))
            await anyio.wait_all_tasks_blocked()
            gate.set()
    assert order.count("small") == 5
    # Round-robin: the small run's calls alternate with the big run's, so all five are done
    # within the first dozen completions, with ~490 of the big run's still queued.
    assert max(i for i, tenant in enumerate(order) if tenant == "small") < 12


async def test_a_small_tenant_is_not_starved_by_a_large_one_on_the_budget(backend: str) -> None:
    # 20 requests per 0.1 s: the big run's first 20 go at once, 80 wait on the budget.
    scheduler = Scheduler(Limits(rpm=20, window=0.1))
    order: list[str] = []
    windows: list[int] = []  # which window of the budget each call started in

    async def attempt(tenant: str, start: float) -> None:
        order.append(tenant)
        windows.append(int((anyio.current_time() - start) / 0.1))

    start = anyio.current_time()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(100):
                tg.start_soon(scheduler.call, EP, "big", 1, partial(attempt, "big", start))
            await anyio.wait_all_tasks_blocked()
            served = len(order)  # 20, or a few more on a slow machine: the budget frees up
            assert stats(scheduler).queued == 100 - served >= 30
            for _ in range(5):
                tg.start_soon(scheduler.call, EP, "small", 1, partial(attempt, "small", start))
    assert order.count("small") == 5
    # Round-robin: the small run's five calls go out with the very next window's twenty
    # (in whatever order the event loop resumes that batch), while the rest of the big run's
    # backlog waits: all of it but the at most 20 - 5 that share the small calls' window.
    # (On a loaded machine more than 20 can be served before the small run arrives, which
    # shortens that backlog: the bound is counted from what was queued when it arrived.)
    small = [w for tenant, w in zip(order, windows, strict=True) if tenant == "small"]
    later_big = [w for tenant, w in zip(order, windows, strict=True) if tenant == "big" and w > max(small)]
    assert max(small) <= min(small) + 1
    assert len(later_big) >= (100 - served) - 15 - 5  # one window's slack for a slow wake-up


# -- values and errors ------------------------------------------------------------------------


def test_limits_reject_nonsense() -> None:
    for bad in ({"max_concurrency": 0}, {"rpm": 0}, {"tpm": -1.0}, {"window": 0}, {"max_attempts": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Limits(**bad)
    with pytest.raises(msgspec.ValidationError, match="rpm"):
        msgspec.convert({"rpm": -5}, Limits)
    with pytest.raises(msgspec.ValidationError, match="rpmm"):
        msgspec.convert({"rpmm": 5}, Limits)
    assert Limits(timeout=None, rpm=None).timeout is None


def test_errors_survive_pickling() -> None:
    error = CallFailed("slow down", retryable=True, retry_after=2.0, status=429, kind="rate_limit")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.retryable, copy.retry_after, copy.status, copy.kind) == (
        "slow down", True, 2.0, 429, "rate_limit"
    )
    exhausted = pickle.loads(pickle.dumps(RetriesExhausted(EP, 6, error)))
    assert (exhausted.endpoint, exhausted.attempts, exhausted.last.message, str(exhausted)) == (
        EP, 6, "slow down", f"{EP}: gave up after 6 attempts; last: slow down"
    )
