"""The test server's rate limits: requests and tokens per sliding window, as OpenAI counts them,
and the headers that tell a client about them (``x-ratelimit-*`` on every answer, ``retry-after``
and ``retry-after-ms`` on a 429)."""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

__all__ = ["BudgetLimits", "RateBudget", "retry_headers"]


class BudgetLimits(Protocol):
    """Where a ``RateBudget`` reads its limits at each call (a ``ModelServer``)."""

    rpm: int | None  # requests per window; None: unlimited
    tpm: int | None  # prompt plus completion tokens per window; None: unlimited
    window: float  # seconds


class RateBudget:
    """The requests and tokens charged in the last ``window`` seconds, against ``rpm`` and ``tpm``.

    Not thread-safe: its caller holds a lock around each call. ``now`` is the caller's clock.
    """

    def __init__(self, limits: BudgetLimits) -> None:
        self._limits = limits
        self._log: deque[tuple[float, int, int]] = deque()  # (time, requests, tokens) charged
        self._used = [0, 0]  # the requests and the tokens charged within the window

    def admit(self, now: float, prompt: int) -> float:
        """Charge a request and its ``prompt`` tokens if the budget has room.

        Returns:
            0 when it was admitted, else the seconds until there is room (inf: it never fits).
        """
        # 1e-6: a client that waits exactly the advertised milliseconds must find room, rounding
        # notwithstanding.
        while self._log and self._log[0][0] <= now - self._limits.window + 1e-6:
            gone = self._log.popleft()[1:]
            self._used = [used - freed for used, freed in zip(self._used, gone, strict=True)]
        wait = 0.0
        for column, limit, extra in ((1, self._limits.rpm, 1), (2, self._limits.tpm, prompt)):
            if limit is not None and self._used[column - 1] + extra > limit:
                if extra > limit:
                    wait = math.inf
                else:
                    excess = self._used[column - 1] + extra - limit
                    wait = max(wait, self._frees(now, column, excess))
        if not wait:
            self.charge(now, 1, prompt)
        return wait

    def charge(self, now: float, requests: int, tokens: int) -> None:
        """Count ``requests`` and ``tokens`` against the budget from ``now``."""
        self._log.append((now, requests, tokens))
        self._used = [self._used[0] + requests, self._used[1] + tokens]

    def headers(self, now: float) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers of each limit: the limit, what is left, when it resets."""
        headers: dict[str, str] = {}
        limits = (self._limits.rpm, self._limits.tpm)
        kinds = zip(("requests", "tokens"), limits, self._used, strict=True)
        for column, (kind, limit, used) in enumerate(kinds, 1):
            if limit is not None:
                reset = self._frees(now, column, used) if used else 0.0
                headers[f"x-ratelimit-limit-{kind}"] = str(limit)
                headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, limit - used))
                headers[f"x-ratelimit-reset-{kind}"] = _duration(reset)
        return headers

    def _frees(self, now: float, column: int, amount: int) -> float:
        """Seconds until ``amount`` requests (column 1) or tokens (2) have left the window."""
        freed: float = 0
        for entry in self._log:
            freed += entry[column]
            if freed >= amount:
                return entry[0] + self._limits.window - now
        return math.inf


def retry_headers(seconds: float) -> dict[str, str]:
    """The headers of a 429 that asks to wait ``seconds``."""
    # The SDK prefers retry-after-ms; retry-after stays a whole number of seconds, as HTTP says.
    return {"retry-after": str(math.ceil(_ms(seconds) / 1000)), "retry-after-ms": str(_ms(seconds))}


def _ms(seconds: float) -> int:
    # Rounded: float noise must not add a millisecond.
    return max(0, math.ceil(round(seconds * 1000, 6)))


def _duration(seconds: float) -> str:
    """Seconds as OpenAI's Go-style reset durations: ``12ms``, ``1.5s``, ``6m0s``."""
    minutes, ms = divmod(_ms(seconds), 60_000)
    if minutes:
        return f"{minutes}m{ms / 1000:g}s"
    return f"{ms / 1000:g}s" if ms >= 1000 else f"{ms}ms"
