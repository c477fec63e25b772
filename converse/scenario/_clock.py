"""The simulated calendar: period labels for years, half-years and debate rounds."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._scenario import Clock


def periods(clock: Clock) -> list[str] | None:
    """The period labels from start to end, or None when the clock has no end."""
    if clock.end is None:
        return None
    return [period_label(clock, i) for i in range(period_count(clock))]


def last_period(clock: Clock) -> str | None:
    """The label of the last period, or None when the clock has no end."""
    return None if clock.end is None else period_label(clock, period_count(clock) - 1)


def period_count(clock: Clock) -> int:
    assert clock.end is not None
    span = clock.end - clock.start + 1
    return span * 2 if clock.step == "half-year" else span


def period_label(clock: Clock, index: int) -> str:
    """The label of period ``index`` (0-based): ``2025``, ``H2 2025`` or ``Round 3``."""
    if clock.step == "year":
        return str(clock.start + index)
    if clock.step == "half-year":
        return f"H{index % 2 + 1} {clock.start + index // 2}"
    return f"Round {clock.start + index}"
