"""Admission to one endpoint: its concurrency slots, its sliding-window budgets, its pause
after a 429, and the per-run queues it serves round-robin. The ``Scheduler`` decides when to
try and retry; an ``Endpoint`` decides who may go now."""

from __future__ import annotations

import math
from collections import deque

import anyio
import msgspec

from ._limits import Limits

# Requests reach the server a moment after we count them, and not all after the same
# moment: counting over a slightly longer window keeps our window inside the server's.
_MARGIN = 0.03
_SLACK = 1e-9  # of a budget's capacity: a waiter woken on time is not sent back for rounding


class EndpointStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of one endpoint.

    Attributes:
        in_flight: attempts running now.
        queued: callers waiting for a slot or budget.
        tenants_waiting: tenants with at least one waiting caller.
        attempts: attempts started so far.
        retries: attempts that were retries.
        succeeded: calls that returned.
        failed: calls that raised after their last attempt (cancellations excluded).
        pauses: times a ``Retry-After`` paused the endpoint.
        tokens: tokens used by successful attempts (as ``tokens_used`` said, else estimated).
    """

    in_flight: int
    queued: int
    tenants_waiting: int
    attempts: int
    retries: int
    succeeded: int
    failed: int
    pauses: int
    tokens: int


class _Window:
    """A budget counted the way servers count it: at most ``capacity`` within any ``window``.

    A token bucket would let a full window's budget go at once and then refill, so the first
    window after a quiet spell could see twice the budget, and a server counting over a
    sliding window answers 429. The log of what was spent, and when, never allows that.
    """

    __slots__ = ("capacity", "log", "used", "window")

    def __init__(self, capacity: float, window: float) -> None:
        self.capacity, self.window = capacity, window
        self.log: deque[list[float]] = deque()  # [when, amount], oldest first
        self.used = 0.0

    def wait(self, need: float, now: float) -> float:  # seconds until ``need`` fits
        log, edge = self.log, now - self.window
        while log and log[0][0] <= edge:
            self.used -= log.popleft()[1]
        excess = self.used + (need if need < self.capacity else self.capacity) - self.capacity
        if excess <= _SLACK * self.capacity:
            return 0.0
        freed = 0.0
        for when, amount in log:
            freed += amount
            if freed >= excess:
                return when + self.window - now
        return self.window

    def take(self, amount: float, now: float) -> None:
        """Spend ``amount`` now; a negative amount gives back what the newest spending took."""
        if amount >= 0:
            self.log.append([now, amount])
            self.used += amount
            return
        back = -amount
        for entry in reversed(self.log):
            part = entry[1] if entry[1] < back else back
            entry[1] -= part
            self.used -= part
            back -= part
            if back <= 0:
                break


class _Waiter:
    __slots__ = ("event", "granted", "tenant", "tokens")

    def __init__(self, tenant: str, tokens: int) -> None:
        self.tenant, self.tokens, self.granted, self.event = tenant, tokens, False, anyio.Event()


class Endpoint:
    """One endpoint: slots, budgets, pause, and per-tenant queues served round-robin."""

    def __init__(self, limits: Limits) -> None:
        self.limits, self.cap = limits, limits.max_concurrency
        self.in_flight = self.queued = self.attempts = self.retries = self.succeeded = self.failed = 0
        self.pauses = self.used = 0
        window = limits.window * (1 + _MARGIN)
        self.requests = None if limits.rpm is None else _Window(limits.rpm, window)
        self.tokens = None if limits.tpm is None else _Window(limits.tpm, window)
        self.timed = self.requests is not None or self.tokens is not None
        self.paused_until = 0.0  # nonzero once paused: from then on admission reads the clock
        self.queues: dict[str, deque[_Waiter]] = {}
        self.rotation: deque[str] = deque()  # tenants with waiters; the head is served next
        self.timekeeper: _Waiter | None = None  # the one waiter sleeping until budgets allow

    def delay(self, tokens: int, now: float) -> float:  # until budgets and pause allow it; <= 0: now
        wait = self.paused_until - now
        if self.requests is not None and (more := self.requests.wait(1, now)) > wait:
            wait = more
        if self.tokens is not None and (more := self.tokens.wait(tokens, now)) > wait:
            wait = more
        return wait

    def spend(self, requests: int, tokens: int, now: float) -> None:  # negative: give back
        for budget, amount in ((self.requests, requests), (self.tokens, tokens)):
            if budget is not None and amount:
                budget.take(amount, now)

    def admit(self, tokens: int) -> bool:  # take a slot and budget if all allow it now
        if self.in_flight >= self.cap:
            return False
        if self.timed or self.paused_until:
            now = anyio.current_time()
            if self.delay(tokens, now) > 0:
                return False
            if self.requests is not None:
                self.requests.take(1, now)
            if self.tokens is not None:
                self.tokens.take(tokens, now)
        self.in_flight += 1
        return True

    def dispatch(self, caller: _Waiter | None) -> None:
        """Grant waiters round-robin while slots and budgets allow; see that time is kept."""
        rotation = self.rotation
        while rotation:
            queue = self.queues[rotation[0]]
            waiter = queue[0]
            if not self.admit(waiter.tokens):
                break
            queue.popleft()
            if queue:
                rotation.rotate(-1)
            else:
                del self.queues[rotation.popleft()]
            self.queued -= 1
            waiter.granted = True
            if self.timekeeper is waiter:
                self.timekeeper = None
            waiter.event.set()
        # Blocked on time alone and nobody keeps it: wake the head (a waiting caller keeps it).
        keeps_it = caller is not None and not caller.granted
        if rotation and self.in_flight < self.cap and self.timekeeper is None and not keeps_it:
            self.timekeeper = self.queues[rotation[0]][0]
            self.timekeeper.event.set()

    async def acquire(self, tenant: str, tokens: int) -> None:
        """Queue until granted a slot and budget."""
        waiter = _Waiter(tenant, tokens)
        if tenant not in self.queues:
            self.queues[tenant] = deque()
            self.rotation.append(tenant)
        self.queues[tenant].append(waiter)
        self.queued += 1
        try:
            self.dispatch(waiter)
            while not waiter.granted:
                delay = math.inf  # wait for a slot, or for the timekeeper to grant us
                if self.timekeeper in (None, waiter) and self.in_flight < self.cap:
                    head = self.queues[self.rotation[0]][0]
                    delay = max(0.0, self.delay(head.tokens, anyio.current_time()))
                    self.timekeeper = waiter
                with anyio.move_on_after(delay):
                    await waiter.event.wait()
                if self.timekeeper is waiter:
                    self.timekeeper = None
                if not waiter.granted:
                    waiter.event = anyio.Event()  # nobody else holds the old one
                    self.dispatch(waiter)
        except BaseException:
            if waiter.granted:  # cancelled between grant and wake-up: hand it all back
                self.in_flight -= 1
                self.spend(-1, -tokens, anyio.current_time())
            else:
                (queue := self.queues[tenant]).remove(waiter)
                self.queued -= 1
                if not queue:
                    del self.queues[tenant]
                    self.rotation.remove(tenant)
            if self.timekeeper is waiter:
                self.timekeeper = None
            self.dispatch(None)
            raise

    def statistics(self) -> EndpointStatistics:
        return EndpointStatistics(
            in_flight=self.in_flight, queued=self.queued, tenants_waiting=len(self.rotation),
            attempts=self.attempts, retries=self.retries, succeeded=self.succeeded,
            failed=self.failed, pauses=self.pauses, tokens=self.used,
        )
