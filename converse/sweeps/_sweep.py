"""Running a sweep: skip what is finished, run the rest concurrently, summarise and report.

A run counts as finished when its log ends with a run-finished event (``completed``,
``failed`` or ``budget_exhausted``); ``cancelled`` runs and torn logs are run again. A larger
sweep in the same directory grows it (``_growth``): the runs it adds are run, the finished ones
kept as they are.
``summary.csv`` and the report are written at the end, and also when the sweep is
interrupted, from every run finished so far. One sweep at a time writes a directory: it holds
the directory's lock (``converse._lock``) from its claim to its summary, and each run its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Literal, NamedTuple

import anyio
import msgspec

from .._exceptions import DirectoryInUse, SweepError
from .._lock import writer_lock
from ..engine._options import RunOptions
from ..judge._judge import is_judge_failure
from ..log._events import AnyEvent, Judged, Ledger, PopulationState, RunError, RunFinished, RunStarted
from ..models._scheduler import Scheduler
from ..runner._run import ensure_transcript
from ..scenario._load import load_scenario
from ..scenario._models import people_named
from ._grid import PlannedRun, Sweep, claim_directory, record_growth
from ._growth import growth, run_names, scenario_change
from ._many import Finished, clear_run, run_many
from ._population import POPULATION_SCALES, Tally
from ._report import write_report
from ._rows import Backend, BackendPlan, SweepProgress, Watcher, finished_row, row_of
from ._summary_csv import SweepRow, score_column, write_summary_csv

__all__ = ["RunEnd", "SweepOutcome", "read_run", "run_started", "run_sweep"]

BackendName = Literal["local", "ray"]
_FINISHED = ("completed", "failed", "budget_exhausted")
_TAIL = 1 << 16
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


class SweepOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """How a sweep went.

    Attributes:
        directory: the sweep directory.
        total: runs in the plan.
        skipped: runs already finished before this invocation.
        completed: runs that completed (this time or before).
        failed: runs that ended failed or budget_exhausted.
        unfinished: runs not finished (the sweep was interrupted).
        summary: ``summary.csv``.
        reports: the report's files (none until a run has completed).
        grown: what this invocation grew the sweep by (``--repeats 2 -> 4``); empty if it
            ran the sweep the directory held.
    """

    directory: Path
    total: int
    skipped: int
    completed: int
    failed: int
    unfinished: int
    summary: Path
    reports: list[Path]
    grown: str = ""


class RunEnd(NamedTuple):
    """How a run ended, from its log: its run-finished event, its verdict, and why its judge
    gave none (the judge's ``error`` event's message; None if it gave one or did not judge)."""

    finished: RunFinished
    judged: Judged | None
    judge_error: str | None = None


def read_run(directory: Path) -> RunEnd | None:
    """A run's run-finished event and verdict (or its judge's failure), read from the end of
    its log; None if it did not finish (no log, a torn tail, or no run-finished event at the end)."""
    path = directory / "events.jsonl"
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - _TAIL)
            while True:
                f.seek(start)
                tail = f.read()
                lines = tail.split(b"\n")
                if start > 0:
                    lines = lines[1:]  # the first may be cut
                found = _finish_of(lines)
                if isinstance(found, RunEnd):
                    return found
                if found == "unfinished" or start == 0:
                    return None
                start = max(0, start - 8 * _TAIL)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _finish_of(lines: list[bytes]) -> RunEnd | Literal["unfinished", "look back"]:
    """The run's end in the last ``lines`` of its log, if they show it."""
    if not lines or lines[-1] != b"":
        return "unfinished"  # a torn last line: the run was killed while writing
    lines = lines[:-1]
    try:
        last = _decoder.decode(lines[-1]) if lines else None
    except msgspec.DecodeError:
        return "unfinished"
    if type(last) is not RunFinished:
        return "unfinished"
    judge_error: str | None = None
    for line in reversed(lines[:-1]):
        head = line[:40]
        if b'"judged"' in head:
            try:
                event = _decoder.decode(line)
            except msgspec.DecodeError:
                return RunEnd(last, None)
            return RunEnd(last, event) if type(event) is Judged else RunEnd(last, None)
        if b'"error"' in head and judge_error is None and b'"judge"' in line:
            try:
                error = _decoder.decode(line)
            except msgspec.DecodeError:
                continue
            if type(error) is RunError and is_judge_failure(error):
                judge_error = error.message  # the last one: the judge's own, after its calls'
        if b'"run_started"' in head or b'"period_started"' in head:
            return RunEnd(last, None, judge_error if last.status == "completed" else None)
    return "look back"


def run_started(directory: Path) -> RunStarted | None:
    """A run's run-started event, the first line of its log; None if its log has none (no log,
    or not even a whole first line)."""
    try:
        with (directory / "events.jsonl").open("rb") as f:
            first = f.readline()
        event = _decoder.decode(first) if first.endswith(b"\n") else None
    except (OSError, msgspec.DecodeError):
        return None
    return event if type(event) is RunStarted else None


def _resumable(directory: Path) -> bool:
    """Whether a run directory's log starts with a run-started event (a run can go on from it)."""
    return run_started(directory) is not None


async def run_sweep(
    sweep: Sweep,
    runs: Sequence[PlannedRun],
    out: str | os.PathLike[str],
    *,
    concurrency: int = 32,
    backend: BackendName = "local",
    retry_failed: bool = False,
    progress: SweepProgress | None = None,
    scheduler: Scheduler | None = None,
    base_url: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    ray_address: str | None = None,
    humans: Sequence[str] = (),
    workers: int = 1,
) -> SweepOutcome:
    """Run a planned sweep into ``out``, skipping the runs a previous invocation finished.

    Args:
        sweep, runs: from ``plan_sweep``.
        out: the sweep directory (created; or one holding this sweep, or a smaller one that
            this sweep grows: more seeds, more values of its grid keys).
        concurrency: runs at once (per Ray worker with the ray backend).
        backend: ``local`` (one process) or ``ray`` (``pip install 'converse-sim[ray]'``).
        retry_failed: run again the runs that ended ``failed`` or ``budget_exhausted``.
        progress: told of every finished run and the tokens spent.
        scheduler: the scheduler of every model call (local backend); by default the
            process's.
        base_url: the OpenAI-compatible server for ``openai:`` models.
        cache: a directory of cached answers (see ``run_scenario``).
        ray_address: the Ray cluster to join (default: a local Ray, or ``RAY_ADDRESS``).
        humans: agents a person at the terminal plays in every run (``--human``): one run at
            a time (``concurrency`` 1), on the local backend.
        workers: processes the local backend runs the runs in (``--workers``): 1, this one;
            more, this one and worker processes, the runs dealt as each has room and
            ``concurrency`` and the limits (of ``scheduler``, if given) split among them
            (``converse.sweeps._workers``).

    Raises:
        SweepError: ``out`` holds a sweep that this one does not grow, or whose runs were made
            from another scenario, or something that is not a sweep: it is left alone; or
            ``humans`` with more than one run at a time, or ``workers`` below 1 or with the
            Ray backend; or a worker process died (its unfinished runs stay to do).
        ScenarioError: a name of ``humans`` is no agent's.
        DirectoryInUse: another process is running a sweep in ``out``: it is left alone.
    """
    if concurrency < 1:
        raise SweepError("--concurrency", f"must be at least 1, not {concurrency}")
    if workers < 1:
        raise SweepError("--workers", f"must be at least 1, not {workers}")
    if workers > 1 and backend != "local":
        raise SweepError("--workers", "is for the local backend: Ray places the runs on its own workers")
    if humans:
        if workers != 1:
            raise SweepError("--workers", "a person can play in a sweep in one process: --workers 1")
        if concurrency != 1 or backend != "local":
            where = "--concurrency" if concurrency != 1 else "--backend"
            raise SweepError(where, "a person can play in a sweep one run at a time: --concurrency 1, --backend local")
        people_named(load_scenario(sweep.scenario, list(runs[0].overrides) if runs else []), tuple(humans), sweep.scenario)
    directory = Path(out)
    held = claim_directory(directory, sweep, grows=True)
    grown = growth(held, sweep, directory) if held is not None else ""
    _check_scenario(directory, sweep, runs)
    with writer_lock(directory, "sweep"):  # one sweep at a time in a directory
        if held is not None:
            record_growth(directory, sweep, held)
        rows: dict[str, SweepRow] = {}
        todo: list[PlannedRun] = []
        for run in runs:
            found = read_run(directory / run.run_id)
            if found is not None and (
                found[0].status == "completed" or (found[0].status in _FINISHED and not retry_failed)
            ):
                rows[run.run_id] = _logged_row(run, found, directory)
            else:
                todo.append(run)
        skipped = len(rows)
        if progress is not None:
            progress.start(len(runs), skipped, sum(r.status != "completed" for r in rows.values()))
        try:
            resumable = set()
            for run in todo:  # interrupted or failed: continue it from its log if it has one
                if _resumable(directory / run.run_id):
                    resumable.add(run.run_id)
                else:
                    try:
                        clear_run(directory / run.run_id)
                    except DirectoryInUse:  # another process writes it: trying to resume it names that one
                        resumable.add(run.run_id)
            todo = [msgspec.structs.replace(r, resume=r.run_id in resumable) for r in todo]
            execute: Backend = _ray_backend() if backend == "ray" else _local if workers == 1 else _worker_backend()
            plan = BackendPlan(
                todo=todo,
                source=sweep.scenario,
                options=RunOptions(
                    out=directory, base_url=base_url, cache=None if cache is None else Path(cache), scheduler=scheduler,
                    humans=tuple(humans),
                ),
                concurrency=concurrency,
                progress=progress,
                ray_address=ray_address,
                workers=workers,
            )
            async with execute(plan) as done:
                async for run, row in done:
                    rows[run.run_id] = row
                    if progress is not None:
                        progress.finished(row)
        finally:
            with anyio.CancelScope(shield=True):
                outcome = await anyio.to_thread.run_sync(_write_outputs, sweep, runs, rows, directory, skipped)
        return msgspec.structs.replace(outcome, grown=grown)


def _ray_backend() -> Backend:
    """The Ray backend, imported by the sweep that runs on it (it and its shared limits are
    most of this package's code, and no part of a local sweep)."""
    from ._ray import ray_backend

    return ray_backend


def _worker_backend() -> Backend:
    """The local backend over worker processes, imported by the sweep that uses it."""
    from ._workers import worker_backend

    return worker_backend


def _check_scenario(directory: Path, sweep: Sweep, runs: Sequence[PlannedRun]) -> None:
    """Refuse to go on with runs made from another scenario: of every grid cell with a run on
    disk, the scenario its first run recorded must be the one the cell loads now (a scenario
    file edited, or an ``extends`` parent).

    Raises:
        SweepError: naming the run, the first key path that differs and both values.
    """
    present = run_names(directory)
    if not present:
        return
    checked: set[tuple[str, ...]] = set()
    for run in runs:
        if run.overrides in checked or run.run_id not in present:
            continue
        started = run_started(directory / run.run_id)
        if started is None:
            continue
        checked.add(run.overrides)
        change = scenario_change(started, load_scenario(sweep.scenario, list(run.overrides)))
        if change is not None:
            raise SweepError(
                f"sweep {directory}",
                f"the scenario changed since the run {run.run_id} was made: {change}; a sweep's runs share "
                "one scenario: undo the change, or start another --out",
            )


def _on_disk(run: PlannedRun, directory: Path) -> SweepRow:
    """The row of a run the sweep was not told of: it may have finished just as the sweep
    was interrupted (its log says so), or not have finished."""
    found = read_run(directory / run.run_id)
    return row_of(run, None, None) if found is None else _logged_row(run, found, directory)


def _logged_row(run: PlannedRun, found: RunEnd, directory: Path) -> SweepRow:
    """The row of a finished run, from its log (``found``: how it ended)."""
    ensure_transcript(directory / run.run_id)  # a crash can fall between the log's end and it
    counted = counts_in(directory / run.run_id)
    return row_of(
        run, *found, truncated=counted.truncated, estimated=counted.estimated, population=counted.population
    )


class LogCounts(NamedTuple):
    """What a run's row counts from its whole log (its run-finished event says none of it).

    ``truncated``: the model calls cut off at ``max_tokens``; ``estimated``: the tokens the
    server did not report (its ledger's total); ``population``: its population columns, if it
    is a population run (``_population``).
    """

    truncated: int
    estimated: int
    population: dict[str, float | None]


def counts_in(directory: Path) -> LogCounts:
    """What a run finished before this sweep counts from its log (an unreadable log: nothing)."""
    truncated = estimated = 0
    tally = Tally()
    with contextlib.suppress(OSError), (directory / "events.jsonl").open("rb") as f:
        for line in f:
            truncated += line.count(b'"finish_reason":"length"')
            if line.startswith((b'{"type":"ledger"', b'{"type":"population_state"')):
                with contextlib.suppress(msgspec.DecodeError):
                    event = _decoder.decode(line)
                    if type(event) is Ledger and event.entries:
                        estimated = event.entries[-1].estimated_tokens
                    elif type(event) is PopulationState:
                        tally.add(event)
    return LogCounts(truncated, estimated, tally.columns())


def _write_outputs(
    sweep: Sweep, runs: Sequence[PlannedRun], rows: dict[str, SweepRow], directory: Path, skipped: int
) -> SweepOutcome:
    ordered = [rows.get(r.run_id) or _on_disk(r, directory) for r in runs]
    summary = directory / "summary.csv"
    write_summary_csv(summary, ordered, sweep.dial_names)
    reports: list[Path] = []
    finished = [r for r in ordered if r.status in _FINISHED]
    if any(r.status == "completed" for r in finished):
        reports = write_report(
            directory,
            finished,
            sweep.dial_names,
            title=f"Sweep of {sweep.scenario_name}",
            scales={**POPULATION_SCALES, **_scales(directory, runs, rows)},
            scenario_name=sweep.scenario_name,
        )
    return SweepOutcome(
        directory=directory,
        total=len(runs),
        skipped=skipped,
        completed=sum(r.status == "completed" for r in ordered),
        failed=sum(r.status in ("failed", "budget_exhausted") for r in ordered),
        unfinished=sum(r.status not in _FINISHED for r in ordered),
        summary=summary,
        reports=reports,
    )


def _scales(directory: Path, runs: Sequence[PlannedRun], rows: dict[str, SweepRow]) -> dict[str, str]:
    """Each score column's scale, from the verdict of one completed run."""
    for run in runs:
        row = rows.get(run.run_id)
        if row is not None and row.status == "completed" and row.scores:
            found = read_run(directory / run.run_id)
            if found is not None and found[1] is not None:
                return {score_column(s.name, s.subject): s.scale for s in found[1].scores}
    return {}


@asynccontextmanager
async def _local(plan: BackendPlan) -> AsyncIterator[AsyncIterator[tuple[PlannedRun, SweepRow]]]:
    """Every run in this process: one actor system and one scheduler for all of them."""
    watcher = Watcher(plan.progress.tokens if plan.progress is not None else None)

    async def rows(stream: AsyncIterator[Finished]) -> AsyncGenerator[tuple[PlannedRun, SweepRow]]:
        async for item in stream:
            run: PlannedRun = item.job.tag
            yield run, finished_row(run, item.result, watcher.take(run.run_id), item.error)

    async with (
        run_many(
            (r.job(plan.source) for r in plan.todo),
            concurrency=plan.concurrency,
            out=plan.options.out,
            base_url=plan.options.base_url,
            scheduler=plan.options.scheduler,
            cache=plan.options.cache,
            observer=watcher.observe,
            humans=plan.options.humans,
        ) as finished,
        aclosing(rows(finished)) as found,
    ):
        yield found
