"""A run's title and span say what it ran: in the transcript's header and on the viewer's page,
a run cut short or run over another span than its scenario's names the periods it covered."""

from __future__ import annotations

from typing import Any

import pytest

from converse import render_markdown
from converse.events import Event, PeriodStarted, RunFinished, RunStarted, Utterance
from converse.log._events import RunStatus
from converse.web import RunView
from converse.web._items import Head

RUN = "run-1"
TOP = ("top",)
LABS = ("OpenAI", "Anthropic")


def started(*, end: int = 2032, overrides: tuple[str, ...] = ()) -> RunStarted:
    scenario: dict[str, Any] = {
        "name": "three-labs",
        "title": "Three labs, ten years",
        "clock": {"start": 2023, "step": "year", "end": end},
        "agents": [{"name": lab, "council": None} for lab in LABS],
    }
    return RunStarted(
        run=RUN, scenario_name="three-labs", source="three-labs.toml", scenario=scenario, seed=0,
        model="offline", engine_version="0.1.0", overrides=list(overrides),
    )


def run(first: RunStarted, years: list[int], *, begun: int | None = None, status: RunStatus = "completed") -> list[Event]:
    """A run that spoke in ``years``, began the period ``begun`` without a statement, and ended ``status``."""
    events: list[Event] = [first]
    turn = 0
    for index, year in enumerate(years):
        events.append(PeriodStarted(run=RUN, conversation=TOP, period=str(year), index=index))
        for lab in LABS:
            events.append(Utterance(run=RUN, conversation=TOP, actor=lab, period=str(year), turn=turn, text=f"{lab} {year}"))
            turn += 1
    if begun is not None:
        events.append(PeriodStarted(run=RUN, conversation=TOP, period=str(begun), index=len(years)))
    events.append(
        RunFinished(
            run=RUN, status=status, reason="interrupted" if status == "cancelled" else "end_period",
            periods=len(years) + (begun is not None), turns=turn, llm_calls=turn, prompt_tokens=0, completion_tokens=0,
        )
    )
    return events


def page_title(events: list[Event]) -> str:
    """The title the viewer's page shows once it has read ``events`` (the last head it was sent)."""
    heads = [item for item in RunView().feed(events) if isinstance(item, Head)]
    return heads[-1].title


@pytest.mark.parametrize("status", ["cancelled", "failed", "budget_exhausted"])
def test_a_run_stopped_in_a_period_it_had_only_begun_neither_counts_nor_shows_it(status: RunStatus) -> None:
    events = run(started(), [2023], begun=2024, status=status)
    md = render_markdown(events)  # type: ignore[arg-type]
    assert md.startswith("# Three labs, ten years — as run: 2023 (1 year)\n")
    assert "- **Periods:** 2023 (1 year)\n" in md
    assert "### 2023\n" in md
    assert "### 2024" not in md
    assert page_title(events) == "Three labs, ten years — as run: 2023 (1 year)"


def test_a_run_over_another_span_says_the_span_it_ran() -> None:
    events = run(started(end=2025, overrides=("clock.end=2025",)), [2023, 2024, 2025])
    md = render_markdown(events)  # type: ignore[arg-type]
    assert md.startswith("# Three labs, ten years — as run: 2023 to 2025 (3 years)\n")
    assert page_title(events[:1]) == "Three labs, ten years — as run: 2023 to 2025 (3 years)"  # from the start
    assert page_title(events) == "Three labs, ten years — as run: 2023 to 2025 (3 years)"

    # The span the scenario sets, run whole: its title as written.
    events = run(started(), list(range(2023, 2033)))
    md = render_markdown(events)  # type: ignore[arg-type]
    assert md.startswith("# Three labs, ten years\n")
    assert "- **Periods:** 2023 to 2032 (10 years)\n" in md
    assert page_title(events) == "Three labs, ten years"
    assert page_title(events[:5]) == "Three labs, ten years"  # still running: the span it is set to run
