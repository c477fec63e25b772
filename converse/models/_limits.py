"""The limits of one endpoint: what its admission allows (slots, request and token budgets over
a sliding window) and how the scheduler times and retries each attempt there."""

from __future__ import annotations

import msgspec


class Limits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Limits of one endpoint.

    Attributes:
        max_concurrency: calls in flight at once.
        rpm: requests per ``window`` (``None``: unlimited), counted over a sliding window as
            servers count them: never more than ``rpm`` starts within any ``window`` seconds.
        tpm: tokens per ``window`` (``None``: unlimited).
        window: the budget window in seconds (60: "per minute").
        timeout: seconds allowed per attempt (``None``: no limit); queueing does not count.
        max_attempts: attempts per call, the first included.
        backoff: the first retry's delay bound; it doubles per retry (full jitter).
        max_backoff: the cap on that bound.
    """

    max_concurrency: int = 64
    rpm: float | None = None
    tpm: float | None = None
    window: float = 60.0
    timeout: float | None = 120.0
    max_attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        values = msgspec.structs.asdict(self)
        bad = [n for n in ("max_concurrency", "max_attempts") if values[n] < 1]
        bad += [n for n in ("rpm", "tpm", "window", "timeout") if values[n] is not None and values[n] <= 0]
        bad += [n for n in ("backoff", "max_backoff") if values[n] < 0]
        if bad:
            raise ValueError(f"Limits: {', '.join(bad)} out of range (counts >= 1, budgets and times > 0)")
