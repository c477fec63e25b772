"""Rate limits shared by the workers of a Ray sweep: a ``RateLimiter`` actor holds the
budgets, and each worker's ``SharedLimits`` scheduler waits for its grant before every attempt
at an endpoint with limits (see ``converse.sweeps._ray``)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import msgspec

from .._exceptions import CallFailed
from ..models._admission import Endpoint
from ..models._limits import Limits
from ..models._scheduler import Attempt, Scheduler

__all__ = ["RateLimiter", "SharedLimits", "budgeted"]

T = TypeVar("T")

NO_CAP = 1 << 30  # what the default scheduler gives the offline endpoint: no limit at all


def budgeted(limits: Limits) -> bool:
    """Whether an endpoint with these limits must be shared across workers."""
    return limits.rpm is not None or limits.tpm is not None or limits.max_concurrency < NO_CAP


class SharedLimits(Scheduler):
    """A worker's scheduler: its own slots and retries, but every attempt at an endpoint with
    limits first waits for a grant from the sweep's ``RateLimiter``, which holds the budgets.

    Its own copy of those limits has no budgets and no timeout: the grant is the budget, and
    the per-attempt timeout starts once the attempt is granted, as queueing does not count.
    """

    def __init__(self, limits: dict[str, Limits], default: Limits, limiter: Any, batch: int) -> None:
        super().__init__({e: _unbudgeted(lim) for e, lim in limits.items()}, default=_unbudgeted(default))
        self._shared, self._shared_default, self._limiter = dict(limits), default, limiter
        self._offered: dict[str, Limits] = {}
        self._tickets = zip(itertools.repeat(batch), itertools.count(), strict=False)

    def offer(self, endpoint: str, limits: Limits) -> bool:
        """A scenario's budgets for an endpoint the sweep named none for: held by the limiter,
        as the sweep's own are (the first a worker asks with sets them there), so that the
        workers share them rather than each keeping them whole."""
        if not super().offer(endpoint, _unbudgeted(limits)):
            return False
        self._shared[endpoint] = self._offered[endpoint] = limits
        return True

    async def call(
        self,
        endpoint: str,
        tenant: str,
        estimated_tokens: int,
        attempt_fn: Callable[[], Awaitable[T]],
        *,
        tokens_used: Callable[[T], int] | None = None,
        on_attempt: Callable[[Attempt], Awaitable[None]] | None = None,
        on_failure: Callable[[Attempt], Awaitable[None]] | None = None,
    ) -> T:
        limits = self._shared.get(endpoint, self._shared_default)
        if budgeted(limits):
            attempt_fn = partial(
                self._granted, endpoint, tenant, estimated_tokens, attempt_fn, limits.timeout, tokens_used
            )
        return await super().call(
            endpoint, tenant, estimated_tokens, attempt_fn, tokens_used=tokens_used, on_attempt=on_attempt,
            on_failure=on_failure,
        )

    async def _granted(
        self,
        endpoint: str,
        tenant: str,
        tokens: int,
        attempt_fn: Callable[[], Awaitable[T]],
        seconds: float | None,
        tokens_used: Callable[[T], int] | None,
    ) -> T:
        ticket = next(self._tickets)
        limiter = self._limiter
        try:
            await limiter.acquire.remote(ticket, endpoint, tenant, tokens, self._offered.get(endpoint))
        except BaseException:
            limiter.abandon.remote(ticket)  # cancelled while waiting: withdraw, or give it back
            raise
        correction, pause = 0, None
        try:
            if seconds is None:
                result = await attempt_fn()
            else:
                with anyio.move_on_after(seconds) as scope:
                    result = await attempt_fn()
                if scope.cancelled_caught:
                    raise CallFailed(
                        f"{endpoint}: no reply within {seconds:g} s", retryable=True, kind="timeout"
                    )
            if tokens_used is not None:
                correction = tokens_used(result) - tokens
            return result
        except CallFailed as exc:
            pause = exc.retry_after
            raise
        finally:
            limiter.release.remote(ticket, correction, pause)


def _unbudgeted(limits: Limits) -> Limits:
    if not budgeted(limits):
        return limits
    return msgspec.structs.replace(limits, rpm=None, tpm=None, timeout=None)


# -- the limiter actor ---------------------------------------------------------------------


class RateLimiter:
    """A Ray actor holding a sweep's budgets for every worker: per endpoint, the scheduler's
    ``Endpoint`` (slots, sliding windows, the pause after a 429, round-robin by run).

    Each granted attempt is one ``acquire`` and one ``release`` (not awaited), keyed by a
    ticket unique in the sweep. Every method is ``async``, so all run on the actor's one
    event loop and need no lock.
    """

    def __init__(self, limits: dict[str, Limits], default: Limits) -> None:
        self._limits, self._default = limits, default
        self._endpoints: dict[str, Endpoint] = {}
        self._granted: dict[tuple[int, int], Endpoint] = {}
        self._waiting: dict[tuple[int, int], anyio.CancelScope] = {}
        self._abandoned: set[tuple[int, int]] = set()

    async def acquire(
        self, ticket: tuple[int, int], endpoint: str, tenant: str, tokens: int, offered: Limits | None = None
    ) -> None:
        """Return once the attempt may go: a slot taken, ``tokens`` and a request spent.
        ``offered``: the limits a scenario gives the endpoint, which the sweep's own (if it
        named the endpoint) come before, as in a scheduler."""
        if ticket in self._abandoned:  # the caller gave up before this arrived
            self._abandoned.discard(ticket)
            return
        ep = self._endpoints.get(endpoint)
        if ep is None:
            limits = self._limits.get(endpoint) or offered or self._default
            ep = self._endpoints[endpoint] = Endpoint(limits)
        if ep.rotation or not ep.admit(tokens):
            with anyio.CancelScope() as scope:
                self._waiting[ticket] = scope
                try:
                    await ep.acquire(tenant, tokens)
                finally:
                    del self._waiting[ticket]
            if scope.cancelled_caught:
                return  # abandoned while waiting; ``acquire`` handed everything back
        self._granted[ticket] = ep

    async def release(self, ticket: tuple[int, int], tokens: int, pause: float | None) -> None:
        """The attempt ended: free its slot, correct the tokens it spent, pause if asked to."""
        ep = self._granted.pop(ticket, None)
        if ep is None:
            return
        now = anyio.current_time()
        ep.in_flight -= 1
        if tokens:
            ep.spend(0, tokens, now)
        if pause is not None and now + pause > ep.paused_until:
            ep.paused_until, ep.pauses = now + pause, ep.pauses + 1
        if ep.rotation:
            ep.dispatch(None)

    async def abandon(self, ticket: tuple[int, int]) -> None:
        """The caller was cancelled while asking: withdraw its request, or release its grant."""
        if ticket in self._granted:
            await self.release(ticket, 0, None)
        elif ticket in self._waiting:
            self._waiting[ticket].cancel()
        else:
            self._abandoned.add(ticket)
