"""A batch of runs handed to another process (a Ray worker, or a local worker process), and
what that process sends back as each run ends."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import msgspec

from ..engine._run import RunResult
from ..models._limits import Limits
from ..models._scheduler import Scheduler
from ._grid import PlannedRun
from ._many import Job, run_many
from ._rows import SweepProgress, Watched, Watcher, finished_row
from ._summary_csv import SweepRow

__all__ = [
    "GRACE", "TICK", "WAITING", "Batch", "Outcome", "Waiting", "absolute", "outcomes", "row_of_outcome", "scenario_path",
]

TICK = 0.1  # seconds ``outcomes`` waits for a run to end at a time
GRACE = 10.0  # seconds a stopped worker gets to close its runs' logs, before it is killed


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    """How one worker runs the jobs it is given (its runs, dealt at once to a Ray task or one at
    a time to a local worker): into ``directory`` (paths absolute: a worker may have another
    working directory); ``model``, ``stagger`` and the rest as ``run_many`` takes them, the
    limits its share."""

    index: int
    directory: str
    concurrency: int
    base_url: str | None
    cache: str | None
    limits: dict[str, Limits]
    default: Limits
    model: str | None = None
    stagger: bool = True


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a worker sends back for each run: what the local backend has."""

    run: str
    result: RunResult | None
    error: str | None
    watched: Watched  # its tokens: of the calls made this time


def row_of_outcome(
    outcome: Outcome, planned: dict[str, PlannedRun], progress: SweepProgress | None
) -> tuple[PlannedRun, SweepRow]:
    """The run ``outcome`` reports (taken out of ``planned``) and its row; its tokens are told
    to ``progress``."""
    run = planned.pop(outcome.run)
    if progress is not None:
        progress.tokens(outcome.watched.tokens)
    return run, finished_row(run, outcome.result, outcome.watched, outcome.error)


class Waiting:
    """No run of the batch ended within a tick (the worker's thread gets a moment to itself)."""


WAITING = Waiting()


def scenario_path(source: str) -> str:
    """The scenario file as a path a worker with another working directory finds (a built-in
    scenario's name as it is)."""
    path = Path(source)
    return str(path.absolute()) if path.exists() else source


def absolute(directory: str | os.PathLike[str], cache: str | os.PathLike[str] | None) -> tuple[str, str | None]:
    """The directory the runs go to and the cache, as paths a worker with another working
    directory (or a script that changed its own) finds."""
    return os.path.abspath(directory), None if cache is None else os.path.abspath(cache)


@asynccontextmanager
async def outcomes(
    batch: Batch, scheduler: Scheduler, jobs: Iterable[Job] | AsyncIterable[Job]
) -> AsyncIterator[Callable[[], Awaitable[Outcome | Waiting | None]]]:
    """Run ``jobs`` (as they come, if they are an async iterable) with ``run_many``
    (``batch.concurrency`` at once, every call through ``scheduler``) and yield how to wait
    for the next run to end: its ``Outcome``, ``WAITING`` if none ended within ``TICK``
    seconds, or None when every run has. Leaving the ``async with`` early cancels the runs
    still going: each one's log ends ``cancelled``."""
    watcher = Watcher()
    async with run_many(
        jobs,
        concurrency=batch.concurrency,
        out=batch.directory,
        model=batch.model,
        stagger=batch.stagger,
        base_url=batch.base_url,
        scheduler=scheduler,
        cache=batch.cache,
        observer=watcher.observe,
    ) as stream:

        async def next_outcome() -> Outcome | Waiting | None:
            item = None
            with anyio.move_on_after(TICK):
                try:
                    item = await stream.receive()
                except anyio.EndOfStream:
                    return None
            if item is None:
                return WAITING
            run = item.job.run_id
            assert run is not None
            return Outcome(run=run, result=item.result, error=item.error, watched=watcher.take(run))

        yield next_outcome
