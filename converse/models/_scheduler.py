"""The one process-wide scheduler in front of every model call.

Per ``endpoint``: a concurrency cap, request and token budgets (sliding windows)
and a pause on ``Retry-After``, so one 429 does not become a storm. Waiting callers are served
round-robin across tenants (one simulation run each), FIFO within one. It alone retries. No
background task: one waiter per endpoint (the timekeeper) sleeps until budgets allow.

Errors it raises (in ``converse._exceptions``, with every other)::

    CallFailed              one attempt failed; ``retryable`` says whether another may help
    └── RetriesExhausted    every allowed attempt failed (``endpoint``, ``attempts``, ``last``)
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import anyio
import msgspec

from actors.log import get_logger

from .._exceptions import CallFailed, RetriesExhausted
from ..log._events import Usage
from ._admission import Endpoint, EndpointStatistics
from ._limits import Limits

T = TypeVar("T")
_log = get_logger()


class Attempt(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One attempt of a call, as reported to ``on_attempt``.

    Attributes:
        attempt: 1 for the first attempt, 2 for the first retry, ...
        ok: whether it succeeded.
        error_type: the failure's ``kind`` (``timeout`` for a per-attempt timeout).
        error: the failure's message.
        status: the failure's HTTP status.
        retry_after: what the server asked us to wait.
        queued: seconds this attempt waited for a slot or budget.
        latency: seconds the attempt itself took.
        next_delay: seconds until the next attempt; ``None`` if there is none.
        usage: the tokens a failed attempt was charged for (an answer came but was not kept).
    """

    attempt: int
    ok: bool
    error_type: str | None = None
    error: str | None = None
    status: int | None = None
    retry_after: float | None = None
    queued: float = 0.0
    latency: float = 0.0
    next_delay: float | None = None
    usage: Usage | None = None


class SchedulerStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of the scheduler: one entry per endpoint called so far."""

    endpoints: dict[str, EndpointStatistics]


class Scheduler:
    """Admits, paces and retries model calls; one per process, shared by every run.

    Args:
        limits: one ``Limits`` for every endpoint, or a mapping from endpoint to ``Limits``.
        default: the limits of endpoints the mapping does not name.
        seed: seeds the retry jitter (``None``: unpredictable).
    """

    def __init__(
        self, limits: Limits | Mapping[str, Limits] | None = None, *,
        default: Limits = Limits(), seed: int | None = None,  # noqa: B008 - frozen, safe to share
    ) -> None:
        self._limits = {} if limits is None or isinstance(limits, Limits) else dict(limits)
        self._default = limits if isinstance(limits, Limits) else default
        self._endpoints: dict[str, Endpoint] = {}
        self._random = random.Random(seed)

    @property
    def limits(self) -> tuple[dict[str, Limits], Limits]:
        """The limits of each named endpoint, and those of any other (to rebuild the scheduler
        elsewhere, e.g. in a Ray worker)."""
        return dict(self._limits), self._default

    def offer(self, endpoint: str, limits: Limits) -> bool:
        """Take ``limits`` for ``endpoint`` (a scenario's budgets for its model) unless the
        endpoint has limits already: named when the scheduler was made, offered before, or
        in use with the default ones. Returns whether they were taken."""
        if endpoint in self._limits or endpoint in self._endpoints:
            return False
        self._limits[endpoint] = limits
        return True

    async def call(
        self, endpoint: str, tenant: str, estimated_tokens: int, attempt_fn: Callable[[], Awaitable[T]], *,
        tokens_used: Callable[[T], int] | None = None,
        on_attempt: Callable[[Attempt], Awaitable[None]] | None = None,
        on_failure: Callable[[Attempt], Awaitable[None]] | None = None,
    ) -> T:
        """Run ``attempt_fn`` within ``endpoint``'s limits; return its first success.

        Args:
            endpoint: keys the limits, e.g. ``https://api.openai.com/v1|gpt-4o``.
            tenant: who asks (one simulation run); waiters are served round-robin by tenant.
            estimated_tokens: tokens taken from the token budget before each attempt.
            attempt_fn: makes one attempt; raises ``CallFailed`` when it fails (anything else
                is a bug and propagates at once, unchanged).
            tokens_used: the tokens a result really used, to correct the token budget.
            on_attempt: awaited after every attempt, before any retry delay or return.
            on_failure: awaited after every failed attempt, before any retry delay (after
                ``on_attempt``). A caller that needs only the failures (to log them; the
                attempt that won is then the last failure's plus one) spares each success
                a report.

        Raises:
            CallFailed: a non-retryable failure, as the backend raised it.
            RetriesExhausted: ``max_attempts`` attempts failed.
        """
        ep = self._endpoints.get(endpoint)
        if ep is None:
            ep = self._endpoints[endpoint] = Endpoint(self._limits.get(endpoint, self._default))
        limits, timeout, attempt = ep.limits, ep.limits.timeout, 0
        while True:
            attempt += 1
            queued = 0.0
            if ep.rotation or not ep.admit(estimated_tokens):
                queued = anyio.current_time()
                await ep.acquire(tenant, estimated_tokens)
                queued = anyio.current_time() - queued
            ep.attempts += 1
            timed = on_attempt is not None or on_failure is not None
            started = time.perf_counter() if timed else 0.0  # cheaper than the loop's clock
            failure: CallFailed | None = None
            try:
                if timeout is None:
                    result = await attempt_fn()
                else:
                    with anyio.move_on_after(timeout) as scope:
                        result = await attempt_fn()
                    if scope.cancelled_caught:
                        message = f"{endpoint}: no reply within {timeout:g} s"
                        raise CallFailed(message, retryable=True, kind="timeout")
                used = estimated_tokens if tokens_used is None else tokens_used(result)
                if used != estimated_tokens and ep.tokens is not None:
                    ep.spend(0, used - estimated_tokens, anyio.current_time())
            except CallFailed as exc:
                failure = exc
            except Exception:
                ep.failed += 1
                raise
            finally:
                ep.in_flight -= 1
                if ep.rotation:
                    ep.dispatch(None)
            took = time.perf_counter() - started if timed else 0.0
            if failure is None:
                ep.succeeded, ep.used = ep.succeeded + 1, ep.used + used
                if on_attempt is not None:
                    await on_attempt(Attempt(attempt=attempt, ok=True, queued=queued, latency=took))
                return result
            pause = failure.retry_after
            if pause is not None and (until := anyio.current_time() + pause) > ep.paused_until:
                ep.paused_until, ep.pauses = until, ep.pauses + 1
                _log.info("model endpoint paused", endpoint=endpoint, seconds=round(pause, 3))
            delay = None
            if failure.retryable and attempt < limits.max_attempts:
                bound = min(limits.max_backoff, limits.backoff * 2.0 ** min(attempt - 1, 64))
                delay = max(pause or 0.0, self._random.uniform(0.0, bound))
            if timed:
                failed = Attempt(
                    attempt=attempt, ok=False, next_delay=delay, error_type=failure.kind, queued=queued,
                    error=failure.message, status=failure.status, retry_after=pause, latency=took,
                    usage=failure.usage,
                )
                if on_attempt is not None:
                    await on_attempt(failed)
                if on_failure is not None:
                    await on_failure(failed)
            if delay is None:
                ep.failed += 1
                if not failure.retryable:
                    raise failure
                raise RetriesExhausted(endpoint, attempt, failure) from failure
            ep.retries += 1
            await anyio.sleep(delay)

    def statistics(self) -> SchedulerStatistics:
        """A snapshot per endpoint: in flight, queued, attempts, retries, failures, tokens."""
        return SchedulerStatistics(endpoints={name: ep.statistics() for name, ep in self._endpoints.items()})
