"""A run's title as its transcript and the viewer show it, and the span of periods it ran.

A scenario's title may name its span ("Three labs, ten years"). A run that did not run that
span (``--set clock.end=2025``, a ``--grid`` over the clock, an ending before the last period:
cancelled, failed, out of budget, or a termination rule) keeps the scenario's title and says
what it ran: ``Three labs, ten years — as run: 2023 to 2025 (3 years)``. A role-play has no
clock; its title is the one its run recorded.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

import msgspec

from ..log._events import RunStarted
from ..scenario._clock import periods
from ..scenario._scenario import Clock

__all__ = ["clock_step", "covered_periods", "run_title", "span_text"]

_UNITS = {"year": ("year", "years"), "half-year": ("half-year", "half-years"), "round": ("round", "rounds")}


def span_text(step: str, labels: Sequence[str]) -> str:
    """Periods as a span: ``2023 to 2025 (3 years)``, ``H1 2023 (1 half-year)``, ``none``."""
    one, many = _UNITS.get(step, ("period", "periods"))
    if not labels:
        return "none"
    if len(labels) == 1:
        return f"{labels[0]} (1 {one})"
    return f"{labels[0]} to {labels[-1]} ({len(labels)} {many})"


def clock_step(started: RunStarted) -> str:
    """The run's clock step (``year``, ``half-year``, ``round``), as its scenario recorded it."""
    clock = started.scenario.get("clock")
    return str(clock.get("step", "year")) if isinstance(clock, dict) else "year"


def run_title(started: RunStarted, covered: Sequence[str] | None = None) -> str:
    """The run's title: the scenario's (else its name), with the span it ran when that is not
    the span its scenario file sets.

    Args:
        started: the run's run-started event (its scenario as run, and its overrides).
        covered: the periods the run covered, once it has ended; None while it runs, when
            the span its clock is set to is the one it is running.
    """
    scenario: dict[str, Any] = started.scenario
    title = str(scenario.get("title") or started.scenario_name)
    if isinstance(scenario.get("roleplay"), dict):
        return title
    planned = _planned(scenario.get("clock"))
    moved = any(_key(change) == "clock" or _key(change).startswith("clock.") for change in started.overrides)
    if planned is None and not moved:  # a clock with no end: the title can name no span
        return title
    span = planned if covered is None else list(covered)
    if span is None or (not moved and span == planned):
        return title
    return f"{title} — as run: {span_text(clock_step(started), span)}"


def covered_periods(status: str, begun: Sequence[str], spoken: Container[str]) -> list[str]:
    """The periods a finished run covered: every period its clock began, or, for a run that
    stopped early (cancelled, failed, out of budget), those it made public statements in."""
    if status == "completed":
        return list(begun)
    return [period for period in begun if period in spoken]


def _planned(clock: object) -> list[str] | None:
    """The periods the recorded clock runs through (None: no end, or not a clock)."""
    try:
        return periods(msgspec.convert(clock, Clock))
    except msgspec.ValidationError:
        return None


def _key(override: str) -> str:
    return override.split("=", 1)[0].strip()
