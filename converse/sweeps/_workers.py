"""A local sweep over worker processes (``converse sweep --workers N``).

One process runs every simulation on one core: its runs' CPU (the engine, the offline
model, the logs) is spent in turn, however many cores the machine has. With ``--workers N``
the runs go on in N processes: the sweep's own and N - 1 fresh Python processes (each
running ``converse.sweeps._worker``), each running runs with ``run_many`` on an event loop of its own
and writing their directories into the sweep directory, as the one process does.

- **Runs are dealt as room frees**, one at a time: the sweep's own process starts at once, a
  worker gets a run for each of its slots once it has started (a Python's imports take a
  few tenths of a second), then another for each it finishes. A slow or late worker takes
  fewer runs; none waits for another's.
- **Runs at once** stay ``--concurrency``: it is split among the processes.
- **Rate limits hold without a round trip**: each process gets its share of every budget (of
  a cap, of an ``rpm`` and of a ``tpm``, the scheduler's and those a scenario's model names),
  so that together they never spend more than the budget. There are never more processes
  than the smallest cap of calls in flight, so that each has at least one.
- **Each run's row** comes back as the run ends (pickled frames on the worker's stdout); the
  tokens a progress bar counts come with it, not call by call.
- **Stopping**: the sweep closes a worker's stdin to stop it (Ctrl-C, or leaving early). The
  worker then cancels its runs, whose logs end ``cancelled``, as in one process; it has
  ``GRACE`` seconds before it is killed. A worker whose sweep died sees its stdin close, and
  stops the same way. Workers run in sessions of their own: a Ctrl-C at the terminal reaches
  the sweep, which stops them.
- **A worker that dies** (killed, out of memory) leaves the runs it had going to do: the
  sweep says which worker, how it ended and how many runs did not finish, the other
  processes finish every run not yet dealt, and the same command finishes the rest. One that
  fails before it takes a run (it cannot import converse, say) costs nothing but its share of
  the work, which the others take: a ``WorkerWarning`` says so.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import signal
import subprocess
import sys
import warnings
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import NamedTuple

import anyio
import msgspec
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._exceptions import SweepError, WorkerWarning
from ..engine._options import RunOptions
from ..engine._run import default_scheduler
from ..models._limits import Limits
from ..models._scheduler import Scheduler
from ..scenario._load import load_scenario
from ..scenario._models import budget_caps
from ._batches import GRACE, Batch, Outcome, absolute, outcomes, row_of_outcome, scenario_path
from ._grid import PlannedRun
from ._many import Job
from ._rows import BackendPlan
from ._summary_csv import SweepRow

__all__ = [
    "HEADER", "ShareScheduler", "WorkersLost", "frame", "share", "spread", "worker_backend", "worker_count",
]

HEADER = 8  # bytes of a frame's length


def frame(item: object) -> bytes:
    """``item`` pickled, after its length: what goes through a worker's pipes."""
    body = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    return len(body).to_bytes(HEADER, "big") + body


def share(limits: Limits, count: int, index: int) -> Limits:
    """Worker ``index``'s share of ``limits`` among ``count`` workers: the shares of a cap add
    up to it (each at least 1 while there are no more workers than the cap), and those of an
    ``rpm`` or a ``tpm`` to it."""
    cap = limits.max_concurrency
    return msgspec.structs.replace(
        limits,
        max_concurrency=max(1, cap // count + (index < cap % count)),
        rpm=None if limits.rpm is None else limits.rpm / count,
        tpm=None if limits.tpm is None else limits.tpm / count,
    )


class ShareScheduler(Scheduler):
    """A worker's scheduler: its share of the sweep's limits, and of the budgets its runs'
    scenarios offer for their models (``Scheduler.offer``)."""

    def __init__(self, batch: Batch, count: int) -> None:
        super().__init__(batch.limits, default=batch.default)
        self._count, self._index = count, batch.index

    def offer(self, endpoint: str, limits: Limits) -> bool:
        return super().offer(endpoint, share(limits, self._count, self._index))


def worker_count(
    workers: int, concurrency: int, runs: int, limits: Iterable[Limits], caps: Iterable[int]
) -> int:
    """How many workers a sweep starts: as asked, but no more than its runs at once, its
    runs, or the smallest cap of calls in flight (the scheduler's, ``limits``, or a
    scenario's, ``caps``), so that every worker has a run slot and a call slot of each."""
    return max(1, min(workers, concurrency, runs, *(lim.max_concurrency for lim in limits), *caps))


def _sweep_caps(todo: list[PlannedRun], source: str) -> set[int]:
    """The caps of calls in flight the scenarios of a sweep's runs give their models."""
    return set().union(*(budget_caps(load_scenario(source, list(o))) for o in {run.overrides for run in todo}))


class WorkersLost(Exception):
    """Worker processes ended before the runs dealt to them; the message says which, how, and
    how many runs did not finish."""


class _Ended(NamedTuple):
    """A worker process ended: which (its batch's index), how (its exit code), how many of the
    runs dealt to it it had not finished, and whether it had started (said it was ready)."""

    worker: int
    code: int
    left: int
    started: bool


@asynccontextmanager
async def worker_backend(plan: BackendPlan) -> AsyncIterator[AsyncIterator[tuple[PlannedRun, SweepRow]]]:
    """Run ``plan.todo`` in ``plan.workers`` processes (this one and the rest worker
    processes) and yield ``(run, row)`` as runs finish; see the module's docstring. Leaving
    the ``async with`` early stops the workers.

    Raises:
        SweepError: a worker died; the runs it had going stay to do.
    """
    todo, options = plan.todo, plan.options
    caps = await anyio.to_thread.run_sync(_sweep_caps, todo, plan.source)
    source = scenario_path(plan.source)
    planned = {run.run_id: run for run in todo}

    async def rows(outcomes: AsyncIterator[Outcome]) -> AsyncGenerator[tuple[PlannedRun, SweepRow]]:
        async for outcome in outcomes:
            yield row_of_outcome(outcome, planned, plan.progress)

    try:
        async with (
            spread(
                [run.job(source) for run in todo], workers=plan.workers, concurrency=plan.concurrency,
                options=options, caps=caps,
            ) as outcomes,
            aclosing(rows(outcomes)) as found,
        ):
            yield found
    except WorkersLost as lost:
        raise SweepError("--workers", str(lost)) from None


@asynccontextmanager
async def spread(
    jobs: list[Job],
    *,
    workers: int,
    concurrency: int,
    options: RunOptions,
    caps: Iterable[int] = (),
    stagger: bool = True,
) -> AsyncIterator[AsyncIterator[Outcome]]:
    """Run ``jobs`` in ``workers`` processes, this one and the rest worker processes, each
    taking a job whenever it has room, ``concurrency`` at once in all; yield each run's outcome
    as it ends. Of ``options``, ``out``, ``model``, ``base_url``, ``cache`` and ``scheduler``
    (whose limits are split, with those of ``caps``, the caps of calls scenarios name) are
    used; ``stagger`` as ``run_many`` takes it. Leaving the ``async with`` early stops the
    workers.

    Raises:
        WorkersLost: a worker died (after the outcomes of every run that finished).
    """
    limits, default = (options.scheduler or default_scheduler()).limits
    count = worker_count(workers, concurrency, len(jobs), [default, *limits.values()], caps)
    out, answers = absolute(options.out, options.cache)
    model = options.model
    assert model is None or isinstance(model, str)
    batches = [
        Batch(
            index=index,
            directory=out,
            concurrency=concurrency // count + (index < concurrency % count),
            base_url=options.base_url,
            cache=answers,
            limits={endpoint: share(lim, count, index) for endpoint, lim in limits.items()},
            default=share(default, count, index),
            model=model,
            stagger=stagger,
        )
        for index in range(count)
    ]
    queue = deque(jobs)
    send, receive = anyio.create_memory_object_stream[Outcome | _Ended](math.inf)
    lost: list[tuple[str, int]] = []  # each worker that ended before its runs: how, and the runs it left
    processes: list[Process] = []
    async with anyio.create_task_group() as tg:
        try:
            with send:
                tg.start_soon(_here, batches[0], count, queue, send.clone())
                for batch in batches[1:]:
                    process = await anyio.open_process(
                        [sys.executable, "-c", _LAUNCH, str(count)],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=_environment(),
                        start_new_session=True,
                    )
                    processes.append(process)
                    tg.start_soon(_listen, process, batch, queue, send.clone())
            async with aclosing(_outcomes(receive, count, lost)) as found:
                yield found
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(processes)
            tg.cancel_scope.cancel()
    if lost:  # raised here, not in the task group, which would wrap it in a group
        raise WorkersLost(
            f"{'; '.join(how for how, _ in lost)}; {sum(left for _, left in lost)} run(s) did not finish: "
            "run the same command to finish them"
        )


# A worker's start: one line, not a traceback, if it cannot import converse (a broken install).
_LAUNCH = """import sys
try:
    from converse.sweeps._worker import main
except ImportError as exc:
    print(f"converse: a worker cannot import converse: {exc}", file=sys.stderr)
    sys.exit(1)
sys.exit(main(sys.argv[1:]))
"""


def _environment() -> dict[str, str]:
    """The sweep's environment, with this ``converse`` first on the workers' import path
    (the sweep may have found it on a path of its own making)."""
    here = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here if not path else os.pathsep.join((here, path))}


async def _here(batch: Batch, count: int, queue: deque[Job], send: MemoryObjectSendStream[Outcome | _Ended]) -> None:
    """The sweep's own share: runs taken from ``queue`` whenever one of its slots is free."""
    with send:
        async with outcomes(batch, ShareScheduler(batch, count), _Taken(queue)) as next_outcome:
            while (item := await next_outcome()) is not None:
                if isinstance(item, Outcome):
                    await send.send(item)


class _Taken:
    """The jobs of a queue, taken one at a time until it is empty (an iterator, not a
    generator: nothing is left suspended for the garbage collector if the runs stop early)."""

    def __init__(self, queue: deque[Job]) -> None:
        self._queue = queue

    def __aiter__(self) -> _Taken:
        return self

    async def __anext__(self) -> Job:
        if not self._queue:
            raise StopAsyncIteration
        return self._queue.popleft()


async def _listen(
    worker: Process, batch: Batch, queue: deque[Job], send: MemoryObjectSendStream[Outcome | _Ended]
) -> None:
    """Hand ``worker`` its batch; once it is ready, a run for each of its slots, and another
    for each run it finishes (None when there are no more); pass on each outcome it sends,
    then how it ended."""
    assert worker.stdin is not None
    assert worker.stdout is not None
    stdin = worker.stdin
    given: set[str] = set()  # the runs dealt to it and not finished
    dealt_all = started = False

    async def deal(runs: int) -> None:
        nonlocal dealt_all
        for _ in range(runs):
            if queue:
                job = queue.popleft()
                given.add(str(job.run_id))
                await stdin.send(frame(job))
            elif not dealt_all:
                dealt_all = True
                await stdin.send(frame(None))  # no more runs: it ends once its own do
                return

    with send:
        reader = BufferedByteReceiveStream(worker.stdout)
        try:
            await stdin.send(frame(batch))  # its stdin stays open: closing it stops the worker
            while True:
                size = int.from_bytes(await reader.receive_exactly(HEADER), "big")
                item = pickle.loads(await reader.receive_exactly(size))
                if isinstance(item, Outcome):
                    given.discard(item.run)
                    # Read on when nobody listens (the sweep is stopping): a worker whose pipe
                    # is full would wait to write instead of closing its runs' logs.
                    with contextlib.suppress(anyio.BrokenResourceError):
                        await send.send(item)
                    await deal(1)
                else:  # it is ready: a run for each slot
                    started = True
                    await deal(batch.concurrency)
        except (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # it ended (or is gone): how it ended says why
        code = await worker.wait()
        with contextlib.suppress(anyio.BrokenResourceError):
            await send.send(_Ended(batch.index, code, len(given), started))


async def _outcomes(
    receive: MemoryObjectReceiveStream[Outcome | _Ended], count: int, lost: list[tuple[str, int]]
) -> AsyncGenerator[Outcome]:
    """The outcomes of the runs as the processes report them; of each worker that ends before
    the runs dealt to it, how it ended and how many runs it left, appended to ``lost``."""
    with receive:
        async for item in receive:
            if isinstance(item, Outcome):
                yield item
            elif item.left:
                lost.append((f"worker {item.worker + 1} of {count} {_ended(item.code)}", item.left))
            elif item.code and not item.started:  # its share went to the others: say so
                warnings.warn(
                    WorkerWarning(
                        "--workers",
                        f"worker {item.worker + 1} of {count} {_ended(item.code)} before it took a run; "
                        "the other processes ran its share",
                    ),
                    stacklevel=1,
                )


def _ended(code: int) -> str:
    """How a worker process that exited with ``code`` ended, in words."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}" if code else "ended before its runs did"


async def _stop(workers: list[Process]) -> None:
    """Close every worker's stdin (which stops it), give them ``GRACE`` seconds to close their
    runs' logs, and kill those still going."""
    for worker in workers:
        if worker.stdin is not None:
            await worker.stdin.aclose()
    with anyio.move_on_after(GRACE):
        for worker in workers:
            await worker.wait()
    for worker in workers:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
