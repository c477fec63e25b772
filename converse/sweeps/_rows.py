"""What a sweep's two backends share: the plan each is handed, the summary row of a run (from
its result as it finishes, or from its log), the watcher that gathers what the rows need from
the runs' events (verdicts, tokens, a population's columns), and what a sweep reports while it
runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

import msgspec

from ..engine._options import RunOptions
from ..engine._run import RunResult
from ..log._events import Event, Judged, LLMCall, PopulationState, RunFinished
from ._grid import PlannedRun
from ._many import Job
from ._population import Tally
from ._summary_csv import SweepRow, scores_of

__all__ = ["Backend", "BackendPlan", "SweepProgress", "Watched", "Watcher", "finished_row", "row_of"]


class SweepProgress(Protocol):
    """What a sweep reports while it runs (the command line draws a progress bar)."""

    def start(self, total: int, done: int, failed: int) -> None: ...
    def finished(self, row: SweepRow) -> None: ...
    def tokens(self, count: int) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendPlan:
    """What a sweep backend is handed.

    Attributes:
        todo: the runs to do.
        source: the scenario file every run loads (with its run's overrides).
        options: what every run is given: ``out`` (the sweep directory), ``base_url``,
            ``cache`` and ``scheduler``; each run's seed, overrides and id are its own.
        concurrency: runs at once (per worker, on Ray).
        progress: told of the tokens spent as they are spent.
        ray_address: the Ray cluster to join (the Ray backend's).
        workers: processes of the local backend (1: this one; see ``_workers``).
    """

    todo: list[PlannedRun]
    source: str
    options: RunOptions
    concurrency: int
    progress: SweepProgress | None = None
    ray_address: str | None = None
    workers: int = 1


# A backend runs a plan and yields ``(run, row)`` as runs finish; leaving it cancels the rest.
Backend = Callable[[BackendPlan], AbstractAsyncContextManager[AsyncIterator[tuple[PlannedRun, SweepRow]]]]


class Watched(msgspec.Struct, frozen=True, kw_only=True):
    """What a run's row needs of its events: its verdict, the tokens it spent (this time) and,
    for a population run, its population columns (``_population``)."""

    verdict: Judged | None = None
    tokens: int = 0
    population: dict[str, float | None] = {}


class Watcher:
    """Watches the events of a batch of runs for what their rows need (``Watched``); the tokens
    are also passed on as they are spent, for a progress display."""

    def __init__(self, on_tokens: Callable[[int], None] | None = None) -> None:
        self.on_tokens = on_tokens
        self.verdicts: dict[str | None, Judged] = {}
        self.spent: dict[str | None, int] = {}
        self.populations: dict[str | None, Tally] = {}

    def observe(self, job: Job, event: Event) -> None:
        """A ``run_many`` observer."""
        kind = type(event)
        if kind is LLMCall:
            usage = event.usage  # type: ignore[attr-defined]
            tokens = usage.prompt_tokens + usage.completion_tokens
            self.spent[job.run_id] = self.spent.get(job.run_id, 0) + tokens
            if self.on_tokens is not None:
                self.on_tokens(tokens)
        elif kind is Judged:
            self.verdicts[job.run_id] = event  # type: ignore[assignment]
        elif kind is PopulationState:
            tally = self.populations.get(job.run_id)
            if tally is None:
                tally = self.populations[job.run_id] = Tally()
            tally.add(event)  # type: ignore[arg-type]

    def take(self, run_id: str | None) -> Watched:
        """What a finished run's row needs (forgotten here)."""
        tally = self.populations.pop(run_id, None)
        return Watched(
            verdict=self.verdicts.pop(run_id, None),
            tokens=self.spent.pop(run_id, 0),
            population=tally.columns() if tally is not None else {},
        )


def finished_row(run: PlannedRun, result: RunResult | None, watched: Watched, error: str | None) -> SweepRow:
    """The row of a run ``run_many`` reported finished: ``failed``, with the error, if it
    could not run at all."""
    row = row_of(run, result, watched.verdict, status="failed", population=watched.population)
    return row if error is None else msgspec.structs.replace(row, reason=error)


def row_of(
    run: PlannedRun,
    finished: RunFinished | RunResult | None,
    judged: Judged | None,
    judge_error: str | None = None,
    *,
    status: str = "",
    truncated: int = 0,
    estimated: int = 0,
    population: dict[str, float | None] | None = None,
) -> SweepRow:
    """The summary row of a run (``status``, by default ``pending``, when it has no result).

    ``judge_error`` is why the judge gave no verdict (a ``RunResult`` says it itself): the
    row is then ``judged`` False. A completed run with neither was not judged (its scenario
    has no judge): ``judged`` None. ``truncated`` counts answers cut off at ``max_tokens``,
    ``estimated`` the tokens the server did not report (a ``RunResult`` says both itself);
    ``population`` its population columns, if it is a population run (``_population``).
    """
    if finished is None:
        return SweepRow(run=run.run_id, dials=run.dials, seed=run.seed, status=status or "pending")
    totals = {name: getattr(finished, name) for name in _TOTALS}  # as RunFinished and RunResult name them
    if isinstance(finished, RunResult):
        truncated, estimated = finished.truncated, finished.estimated_tokens
        if judge_error is None:
            judge_error = finished.judge_error
    scores = scores_of(judged.scores) if judged is not None else {}
    verdict: bool | None = None
    if judged is not None:
        verdict = True
    elif judge_error is not None and finished.status == "completed":
        verdict = False
    error = _first_line(judge_error) if verdict is False else ""
    return SweepRow(
        run=run.run_id, dials=run.dials, seed=run.seed, scores=scores, judged=verdict, judge_error=error,
        truncated=truncated, estimated_tokens=estimated, population=population or {}, **totals
    )


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else "the judge failed"


_TOTALS = ("status", "reason", "periods", "turns", "llm_calls", "prompt_tokens", "completion_tokens", "cost_usd")
