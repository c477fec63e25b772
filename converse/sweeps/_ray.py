"""The Ray backend of a sweep (``converse sweep --backend ray``, extra ``[ray]``).

The runs are dealt round-robin into batches, a few per CPU of the cluster. Each batch is one
Ray task: a worker process that runs it with ``run_many`` (its own actor system, ``concurrency``
runs at once) on an event loop of its own, writes the run directories straight into the
sweep directory (which must be on storage every node shares, at the same path) and yields
each run's result and verdict as the run ends. The task is a streaming generator, so the
driver hears of every run when it finishes, not when its batch does.

Rate limits hold across the workers: when the scheduler's limits for an endpoint the sweep
uses have a budget or a cap, or a scenario names some for a model (the first worker to ask with
them sets them), a ``RateLimiter`` actor holds them (the scheduler's own
``Endpoint`` admission: sliding windows, slots, round-robin by run) and every attempt at that
endpoint waits for its grant (one round trip) before it goes. Each worker keeps its own
scheduler for the retries. Endpoints without limits (the offline model's, by default) never
ask the actor, and a sweep that only uses them starts none.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing, asynccontextmanager
from typing import Any, TypeVar

import anyio
from anyio.from_thread import start_blocking_portal

from actors import new_event_loop

from .._exceptions import SweepError
from ..engine._run import default_scheduler
from ..models._limits import Limits
from ..models._open import parse_spec
from ..models._scheduler import Scheduler
from ..scenario._load import load_scenario
from ..scenario._models import names_budgets
from ._batches import GRACE, Batch, Outcome, absolute, outcomes, row_of_outcome, scenario_path
from ._grid import PlannedRun
from ._many import Job
from ._ray_limits import RateLimiter, SharedLimits, budgeted
from ._rows import BackendPlan, SweepProgress
from ._summary_csv import SweepRow

__all__ = ["RateLimiter", "ray_backend"]

T = TypeVar("T")

_BATCHES_PER_CPU = 3  # enough that a worker finishing early finds more work
_WAITERS = 1 << 16  # grants the limiter may have outstanding (callers waiting at once)
_POLL = 0.5  # seconds the driver waits on Ray at a time: how soon it notices a cancellation


@asynccontextmanager
async def ray_backend(plan: BackendPlan) -> AsyncIterator[AsyncIterator[tuple[PlannedRun, SweepRow]]]:
    """Run ``plan.todo`` on Ray and yield ``(run, row)`` as runs finish; see the module's docstring.

    Joins the Ray instance already initialised in this process, else ``plan.ray_address`` (or
    ``RAY_ADDRESS``), else starts a local one (and shuts it down afterwards). Leaving the
    ``async with`` early cancels the Ray tasks still running.

    Raises:
        SweepError: Ray is not installed, or a worker died (its unfinished runs stay to do).
    """
    try:
        import ray
    except ImportError:
        raise SweepError("--backend ray", "needs Ray: pip install 'converse-sim[ray]'") from None
    todo, options, concurrency = plan.todo, plan.options, plan.concurrency
    if not todo:
        yield _nothing()
        return
    limits, default = (options.scheduler or default_scheduler()).limits
    budgeted = await anyio.to_thread.run_sync(_uses_limits, todo, plan.source, limits, default)
    scenario = await anyio.to_thread.run_sync(scenario_path, plan.source)
    out, answers = absolute(options.out, options.cache)
    # Joining a cluster that is not there can take minutes: Ctrl-C need not wait for it.
    started = await anyio.to_thread.run_sync(_connect, ray, plan.ray_address, abandon_on_cancel=True)
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]
        dealt = _deal(todo, concurrency, cpus)
        batches = [
            Batch(
                index=index,
                directory=out,
                concurrency=concurrency,
                base_url=options.base_url,
                cache=answers,
                limits=limits,
                default=default,
            )
            for index in range(len(dealt))
        ]
        limiter = None
        if budgeted:
            actor = ray.remote(RateLimiter).options(num_cpus=0, max_concurrency=_WAITERS, max_restarts=0)
            limiter = actor.remote(limits, default)
        task = ray.remote(_run_batch).options(num_cpus=1, max_retries=0)
        pending = {
            task.remote(batch, [run.job(scenario) for run in runs], limiter): runs
            for batch, runs in zip(batches, dealt, strict=True)
        }
        try:
            async with aclosing(_rows(ray, pending, todo, plan.progress)) as rows:
                yield rows
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_stop, ray, list(pending), limiter)
    finally:
        if started:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(ray.shutdown)


async def _nothing() -> AsyncIterator[tuple[PlannedRun, SweepRow]]:
    return
    yield  # an async generator that yields nothing


def _uses_limits(todo: list[PlannedRun], source: str, limits: dict[str, Limits], default: Limits) -> bool:
    """Whether a run of ``todo`` calls an endpoint with limits (offline is unlimited by default),
    or its scenario names budgets for a model."""
    offline = budgeted(limits.get("offline", default))
    for overrides, model in {(run.overrides, run.model) for run in todo}:
        scenario = load_scenario(source, overrides)
        spec = model or scenario.model.spec
        if offline or parse_spec(spec)[0] != "offline" or names_budgets(scenario):
            return True
    return False


def _connect(ray: Any, address: str | None) -> bool:
    """Join or start Ray unless this process already has; whether we started it here.

    Raises:
        SweepError: Ray cannot start, or the cluster cannot be joined.
    """
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address is not None:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        else:
            ray.init(
                num_cpus=os.cpu_count() or 1,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        problem = _one_line(exc)
        if address is None:
            raise SweepError("--backend ray", f"cannot start a local Ray: {problem}") from None
        raise SweepError(f"--ray-address {address}", f"cannot join the Ray cluster: {problem}") from None
    return True


def _deal(todo: list[PlannedRun], concurrency: int, cpus: int) -> list[list[PlannedRun]]:
    """Batches of at least ``concurrency`` runs where that still keeps every CPU busy, and a
    few per CPU at most; dealt round-robin, so that every batch gets a share of each cell."""
    count = min(len(todo), max(cpus, min(math.ceil(len(todo) / concurrency), _BATCHES_PER_CPU * cpus)))
    return [todo[i::count] for i in range(count)]


async def _rows(
    ray: Any, pending: dict[Any, list[PlannedRun]], todo: list[PlannedRun], progress: SweepProgress | None
) -> AsyncGenerator[tuple[PlannedRun, SweepRow]]:
    """Each run's row as its batch's task reports it (``pending``: each task's runs)."""
    planned = {run.run_id: run for run in todo}
    lost: list[str] = []
    problem = ""
    while pending:
        ready = await anyio.to_thread.run_sync(_next_ready, ray, list(pending))
        for generator, item in ready:
            if isinstance(item, Outcome):
                yield row_of_outcome(item, planned, progress)
                continue
            runs = pending.pop(generator)
            if item is not None:
                lost += [run.run_id for run in runs if run.run_id in planned]
                cause = getattr(item, "cause", None) or item  # a task's own exception, if it raised
                while isinstance(cause, BaseExceptionGroup) and len(cause.exceptions) == 1:
                    cause = cause.exceptions[0]
                problem = f"{type(cause).__name__}: {_one_line(cause)}"
    if lost:
        raise SweepError(
            "--backend ray",
            f"a worker failed ({problem}); {len(lost)} run(s) did not finish: run the same command to finish them",
        )


def _one_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _next_ready(ray: Any, generators: list[Any]) -> list[tuple[Any, Outcome | BaseException | None]]:
    """The next item of every batch that has one ready (after waiting for one, briefly):
    an outcome, the batch's error, or None when the batch is done."""
    ready, _ = ray.wait(generators, num_returns=1, timeout=_POLL)
    if ready:
        ready, _ = ray.wait(generators, num_returns=len(generators), timeout=0)
    found: list[tuple[Any, Outcome | BaseException | None]] = []
    for generator in ready:
        try:
            found.append((generator, ray.get(next(generator))))
        except StopIteration:
            found.append((generator, None))
        except ray.exceptions.RayError as exc:
            found.append((generator, exc))
    return found


def _stop(ray: Any, generators: list[Any], limiter: Any) -> None:
    """Cancel the batches still running, give them a moment to close their runs' logs (so an
    interrupted run ends ``cancelled``, as with the local backend), and end the limiter."""
    for generator in generators:
        ray.cancel(generator)
    if generators:
        ray.wait([g.completed() for g in generators], num_returns=len(generators), timeout=GRACE)
    if limiter is not None:
        ray.kill(limiter)


# -- in a worker ---------------------------------------------------------------------------


def _run_batch(batch: Batch, jobs: list[Job], limiter: Any) -> Iterator[Outcome]:
    """A Ray task: run one batch's ``jobs`` on an event loop in this worker, yielding each run's
    outcome as it ends. (Ray takes no ``async def`` tasks; a blocking portal lets it yield
    meanwhile.)
    When Ray cancels the task, leaving the ``with`` cancels the runs, and their logs end.

    Ray cancels a task by raising in its thread, which only happens while the thread runs
    Python: so the thread waits for the next outcome a moment at a time, not until a run ends.
    """
    with (
        start_blocking_portal("asyncio", {"loop_factory": new_event_loop}) as portal,
        portal.wrap_async_context_manager(outcomes(batch, _scheduler(batch, limiter), jobs)) as next_outcome,
    ):
        while (item := portal.call(next_outcome)) is not None:
            if isinstance(item, Outcome):
                yield item


def _scheduler(batch: Batch, limiter: Any) -> Scheduler:
    """A worker's scheduler: the batch's limits, or, with a limiter, its share of them."""
    if limiter is None:
        return Scheduler(batch.limits, default=batch.default)
    return SharedLimits(batch.limits, batch.default, limiter, batch.index)
