"""Many simulations at once: one actor system, one scheduler, results as they finish.

```python
jobs = [Job(scenario="three-labs", seed=s) for s in range(100)]
async with run_many(jobs, concurrency=20, out="runs") as finished:
    async for item in finished:
        print(item.job.seed, item.result.status if item.result else item.error)
```
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from actors import ActorSystem
from actors.log import get_logger

from .._exceptions import ConverseError, LogError
from .._lock import writer_lock
from ..engine._options import RunOptions
from ..engine._run import RunResult
from ..log._events import Event
from ..models._model import Model
from ..models._open import open_model, parse_spec
from ..models._scheduler import Scheduler
from ..runner._run import resume_with, run_with
from ..scenario._load import load_scenario
from ..scenario._scenario import Scenario

__all__ = ["Finished", "Job", "clear_run", "run_many"]

log = get_logger("converse.many")


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """One simulation to run.

    Attributes:
        scenario: a ``Scenario``, a scenario file or a built-in scenario's name.
        seed: the run's seed.
        overrides: ``key.path=value`` changes to the scenario (``--set``).
        model: a model spec for this run; by default ``run_many``'s, then the scenario's.
        run_id: the run directory's name (by default ``<scenario>-seed<seed>``, numbered).
        tag: anything of the caller's, handed back with the result (a sweep's grid cell).
        resume: ``out/run_id`` holds an interrupted run of this job: continue it from its
            log (``resume_run``) instead of starting again. A ``judge.function`` the log names
            is run only if the job's scenario names the same one.
    """

    scenario: Scenario | str
    seed: int = 0
    overrides: tuple[str, ...] = ()
    model: str | None = None
    run_id: str | None = None
    tag: Any = None
    resume: bool = False


class Finished(msgspec.Struct, frozen=True, kw_only=True):
    """A job that ended: its result, or why it could not run (a bad scenario, say)."""

    job: Job
    result: RunResult | None = None
    error: str | None = None


@asynccontextmanager
async def run_many(
    jobs: Iterable[Job] | AsyncIterable[Job],
    *,
    concurrency: int = 32,
    out: str | os.PathLike[str] = "runs",
    model: str | None = None,
    base_url: str | None = None,
    system: ActorSystem | None = None,
    scheduler: Scheduler | None = None,
    cache: str | os.PathLike[str] | None = None,
    observer: Callable[[Job, Event], None] | None = None,
    humans: tuple[str, ...] = (),
    stagger: bool = True,
) -> AsyncIterator[MemoryObjectReceiveStream[Finished]]:
    """Run ``jobs``, ``concurrency`` at a time, and yield a stream of them as they finish.

    Every run shares one ``ActorSystem`` (yours, or one opened here) and one ``Scheduler``
    (yours, or the process's), so rate limits hold across all of them. An ``openai:`` model
    is opened once and shared (one connection pool); the offline model is opened per run,
    since its answers depend on the run's seed. Leaving the ``async with`` early cancels the
    runs still going: each one's log ends with a ``cancelled`` run-finished event.

    Args:
        jobs: what to run; consumed lazily, so it may be a generator, or an async one (whose
            next job may be waited for: the runs go on meanwhile).
        concurrency: runs in progress at once (model calls are limited by the scheduler).
        out: the directory receiving the run directories.
        model: the model spec of jobs that name none (default: each scenario's).
        base_url: the OpenAI-compatible server for ``openai:`` models.
        system: the actor system to run in; by default one is opened for the batch.
        scheduler: the scheduler of every model call; by default the process's.
        cache: a directory of cached answers (see ``run_scenario``).
        observer: called with ``(job, event)`` for every event of every run (keep it cheap).
        humans: agents a person at the terminal plays in every run (see ``run_scenario``).
        stagger: start the runs that fit one per turn of the event loop, each behind the work
            of those already going, so that runs started together do not make their calls in
            step (with a model whose answers take the same time, their answers would all come
            back at once). False starts every run that fits at once: with hundreds of short
            runs (a dataset's chats), the last would otherwise start long after the first.

    Yields:
        A receive stream of ``Finished``, in the order the runs end.

    Raises:
        ValueError: ``concurrency`` is below 1.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    send, receive = anyio.create_memory_object_stream[Finished](max_buffer_size=concurrency)
    async with AsyncExitStack() as stack:
        if system is None:
            system = await stack.enter_async_context(ActorSystem(name="converse-many"))
        shared = _SharedModels(base_url)
        stack.push_async_callback(shared.aclose)
        options = RunOptions(
            model=model,
            out=Path(out),
            base_url=base_url,
            cache=None if cache is None else Path(cache),
            system=system,
            scheduler=scheduler,
            humans=humans,
        )
        runner = partial(_run_one, options=options, observer=observer, shared=shared)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_feed, jobs, concurrency, runner, send, stagger)
            try:
                yield receive
            finally:
                tg.cancel_scope.cancel()
                receive.close()


async def _feed(
    jobs: Iterable[Job] | AsyncIterable[Job],
    concurrency: int,
    runner: Callable[[Job], Any],
    send: MemoryObjectSendStream[Finished],
    stagger: bool = True,
) -> None:
    """Start a run of each job as a slot frees, asking ``jobs`` for the next job only once
    there is a slot for it: a source that deals jobs to several consumers (a sweep's worker
    processes) then deals none to one that cannot start it yet."""
    limiter = anyio.Semaphore(concurrency)
    take = _taker(jobs)
    async with send, anyio.create_task_group() as tg:
        while True:
            if stagger:
                await limiter.acquire()  # a turn of the event loop, even with a slot free
            else:
                try:
                    limiter.acquire_nowait()
                except anyio.WouldBlock:
                    await limiter.acquire()
            try:
                job = await take()
            except StopAsyncIteration:
                limiter.release()
                return
            tg.start_soon(_guarded, job, runner, limiter, send)


def _taker(jobs: Iterable[Job] | AsyncIterable[Job]) -> Callable[[], Awaitable[Job]]:
    """How to take the next job of ``jobs`` (``StopAsyncIteration`` when there is none)."""
    if isinstance(jobs, AsyncIterable):
        return aiter(jobs).__anext__
    each = iter(jobs)

    async def take() -> Job:
        try:
            return next(each)
        except StopIteration:
            raise StopAsyncIteration from None

    return take


async def _guarded(
    job: Job,
    runner: Callable[[Job], Any],
    limiter: anyio.Semaphore,
    send: MemoryObjectSendStream[Finished],
) -> None:
    try:
        finished: Finished = await runner(job)
        # The slot is held until the caller takes the result: a caller that stops reading
        # stops new runs from starting, instead of collecting results without bound. If
        # it stopped listening altogether, the run's files are complete all the same.
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            await send.send(finished)
    finally:
        limiter.release()


async def _run_one(
    job: Job, *, options: RunOptions, observer: Callable[[Job, Event], None] | None, shared: _SharedModels
) -> Finished:
    spec = job.model or options.model
    assert spec is None or isinstance(spec, str)
    try:
        mine = options.but(
            model=shared.get(spec) if spec is not None else None,
            seed=job.seed,
            overrides=job.overrides,
            run_id=job.run_id,
            observer=partial(observer, job) if observer is not None else None,
        )
        if job.resume and job.run_id is not None:
            directory = options.out / job.run_id
            try:
                # The judge function the job's scenario names confirms the one the log names.
                resumed = await resume_with(directory, mine, judge_function=_judge_function(job))
                return Finished(job=job, result=resumed)
            except LogError:  # nothing usable to resume from: start again
                clear_run(directory)
        result = await run_with(job.scenario, mine)
    except (ConverseError, OSError) as exc:
        return Finished(job=job, error=str(exc))
    except Exception as exc:  # a bug; the other runs go on, and the caller hears of it
        log.exception("run crashed", seed=job.seed, run_id=job.run_id)
        return Finished(job=job, error=f"{type(exc).__name__}: {exc}")
    return Finished(job=job, result=result)


def clear_run(directory: Path) -> None:
    """Remove a run directory that cannot be resumed, as its one writer (a run another
    process is writing is left alone).

    Raises:
        DirectoryInUse: another process is writing the run.
    """
    if directory.is_dir():
        with writer_lock(directory, "run"):
            shutil.rmtree(directory, ignore_errors=True)


def _judge_function(job: Job) -> str | None:
    """The ``judge.function`` of the scenario the job runs (None: it names none)."""
    scenario = job.scenario if isinstance(job.scenario, Scenario) else load_scenario(job.scenario, job.overrides)
    return scenario.judge.function or None


class _SharedModels:
    """One client per ``openai:`` spec for the whole batch; offline specs pass through."""

    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url
        self.models: dict[str, Model] = {}

    def get(self, spec: str) -> str | Model:
        if parse_spec(spec)[0] == "offline":
            return spec
        if spec not in self.models:
            self.models[spec] = open_model(spec, base_url=self.base_url)
        return self.models[spec]

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            for model in self.models.values():
                close = getattr(model, "aclose", None)
                if close is not None:
                    await close()
