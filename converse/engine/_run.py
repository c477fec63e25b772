"""A run's machinery: its directory, its actors' root, its recorder and log, its ledger and its
end. The engine is handed the kind of conversation it runs (the actor at the top of it, the
transcript renderer) and what follows it (the judge); it imports none of them."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from actors import Actor, ActorRef, ActorSystem, ChildFailedError, Stop

from .._exceptions import ModelSpecError
from .._files import write_atomic
from .._lock import writer_lock
from ..log._events import SCHEMA_VERSION, Ledger, RunError, RunFinished, RunStarted, RunStatus
from ..log._log import read_events
from ..models._limits import Limits
from ..models._model import Embedder, Model
from ..models._prices import Priced, price_of
from ..models._scheduler import Scheduler
from ..models._windows import context_window
from ..scenario._load import scenario_to_dict
from ..scenario._scenario import ModelSettings, Scenario
from ._collector import collector_for_runs
from ._context import RunContext
from ._ledger import Ledger as RunLedger
from ._options import RunOptions
from ._protocol import Begin
from ._recorder import Journal, Recorder, Renderer, Transcript
from ._replay import ReplayBook
from ._seats import Seat, Seats, run_settings, settings_key

if TYPE_CHECKING:
    from ._resume import Resumption

ENGINE_VERSION = "0.1.0"

_default_scheduler: Scheduler | None = None


def default_scheduler() -> Scheduler:
    """The process's scheduler, made on first use: every run shares it unless given another.

    The offline model's endpoint has no limits; other endpoints get the defaults of
    ``Limits`` except the per-attempt timeout, which the openai SDK enforces itself (make
    your own ``Scheduler`` to set budgets per endpoint, or use ``converse run --rpm``).
    Its budgets are kept on the event loop's clock: a program that runs several event loops
    one after another should give each its own scheduler.
    """
    global _default_scheduler
    if _default_scheduler is None:
        _default_scheduler = Scheduler(
            {"offline": Limits(max_concurrency=1 << 30, timeout=None)}, default=Limits(timeout=None)
        )
    return _default_scheduler


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a finished run left behind.

    Attributes:
        run: the run id (also the run directory's name).
        directory: the run directory.
        events: path of ``events.jsonl``.
        transcript: path of ``transcript.md``.
        status: ``completed``, ``failed``, ``cancelled`` or ``budget_exhausted``.
        reason: why it ended (``end_period``, ``max_turns``, the error, ...).
        periods: periods started.
        turns: public utterances.
        llm_calls: model calls made.
        prompt_tokens: prompt tokens over all calls.
        completion_tokens: completion tokens over all calls.
        cost_usd: what the calls cost at the scenario's price for the model (0 without one).
        estimated_tokens: of the tokens, how many are converse's estimate because the model's
            server sent no usage (0: every count is the server's).
        judge_error: why the judge of a completed run gave no verdict (its ``error`` event's
            message); None if it gave one, or the run was not judged.
        truncated: model calls whose answer was cut off at ``max_tokens`` (``finish_reason``
            "length"), as the log records them.
        replayed: model answers taken from a log instead of a model (a resumed run's own
            log, or ``replay_from``); 0 for a run that had none.
        live_from: the number of the first call a model answered after the log's answers ran
            out (a resumed run's calls go on from the log's); None if no model was asked.
    """

    run: str
    directory: Path
    events: Path
    transcript: Path
    status: RunStatus
    reason: str
    periods: int
    turns: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = 0.0
    estimated_tokens: int = 0
    judge_error: str | None = None
    truncated: int = 0
    replayed: int = 0
    live_from: int | None = None

    @classmethod
    def of(
        cls,
        finished: RunFinished,
        *,
        directory: Path,
        events: Path,
        transcript: Path,
        estimated_tokens: int = 0,
        judge_error: str | None = None,
        truncated: int = 0,
        replayed: int = 0,
        live_from: int | None = None,
    ) -> RunResult:
        """The result of a run, from its run-finished event, its files, its estimated tokens,
        its judge's failure and what its log answered."""
        totals = {f: getattr(finished, f) for f in cls.__struct_fields__ if hasattr(finished, f)}
        return cls(
            directory=directory, events=events, transcript=transcript, estimated_tokens=estimated_tokens,
            judge_error=judge_error, truncated=truncated, replayed=replayed, live_from=live_from, **totals,
        )


class RunRoot(Actor):
    """Parent of every actor of one run; a failure anywhere below it ends the run.

    A kind of run subclasses it: ``on_start`` spawns the run's agents and its top moderator
    (``self.moderator``), which ``Begin`` is passed on to.
    """

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.moderator: ActorRef | None = None

    async def receive(self, message: object) -> None:
        if isinstance(message, Begin):
            assert self.moderator is not None
            await self.moderator.tell(message)

    async def on_failure(self, error: Exception, message: object) -> None:
        ctx = self.ctx
        actor = "run"
        while isinstance(error, ChildFailedError) and isinstance(error.cause, Exception):
            actor, error = error.child, error.cause
        actor = ctx.agent_names.get(actor, actor)
        reason = f"{actor}: {type(error).__name__}: {error}"
        await ctx.emit(
            RunError(run=ctx.run, error_type=type(error).__name__, message=str(error), actor=actor, fatal=True)
        )
        ctx.finish("failed", reason)


@dataclass(frozen=True, slots=True)
class RunKind:
    """What the engine is handed about the conversation a run holds.

    Attributes:
        root: makes the actor at the top of the run's tree (a ``RunRoot``) from its context.
        render: the transcript (Markdown) of a run from its events.
        keep_events: keep every event in memory as it is emitted, so the transcript is
            rendered from them rather than read back from the log.
        renderer: makes, from a run's first event, a renderer that builds the transcript as
            the recorder writes each event (what ``render`` gives, without reading the log
            back or keeping the events); used for a fresh run.
    """

    root: Callable[[RunContext], RunRoot]
    render: Callable[[Sequence[Any]], str]
    keep_events: bool = False
    renderer: Callable[[Any], Renderer] | None = None


def new_run_directory(out: Path, scenario: Scenario, seed: int) -> tuple[str, Path]:
    """Create ``out/<scenario>-seed<seed>[-N]`` and return its id and path (never reuses one)."""
    out.mkdir(parents=True, exist_ok=True)
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", scenario.name).strip("-") or "run"
    base = f"{base}-seed{seed}"
    for n in range(1, 100_000):
        run = base if n == 1 else f"{base}-{n}"
        try:
            (out / run).mkdir()
        except FileExistsError:
            continue
        return run, out / run
    raise FileExistsError(f"{out}: too many runs named {base}")


async def execute(
    kind: RunKind,
    scenario: Scenario,
    source: str,
    model: Model,
    system: ActorSystem,
    options: RunOptions,
    *,
    judge: Callable[[RunContext], Awaitable[None]] | None = None,
    keep_events: bool = False,
    resume: Resumption | None = None,
    replay: ReplayBook | None = None,
    others: Sequence[tuple[ModelSettings, Model]] = (),
    embedder: Embedder | None = None,
) -> RunResult:
    """Run one conversation of ``kind`` to its end: its actors, its log, its judge, its transcript.

    ``model`` answers the calls (``options.model`` opened), in ``system``; of ``options`` the
    seed, out, overrides, scheduler, observer and run id are used here. ``judge`` is awaited
    after a completed conversation (its calls go into the ledger); ``keep_events`` keeps every
    event in memory for it (on top of ``kind.keep_events``). ``others`` are the other models
    the scenario's agents speak with (``settings_in_use``), opened, with their settings;
    ``embedder`` embeds their memory streams, if any agent has one.
    The agents ``options.humans`` names (or, resuming, those the log's run named) are
    played by a person at ``options.terminal``.

    A fresh run's directory is made here and locked until the run's files are written (one
    writer per run, ``converse._lock``); a resumed run's caller holds the lock already.
    """
    seed = options.seed
    with contextlib.ExitStack() as held:
        held.enter_context(collector_for_runs())
        if resume is not None:  # its caller holds the lock: it took it before it read the log
            run, directory = resume.started.run, resume.directory
        else:
            if options.run_id is None:
                run, directory = new_run_directory(options.out, scenario, seed)
            else:
                run, directory = options.run_id, options.out / options.run_id
                directory.mkdir(parents=True)
            held.enter_context(writer_lock(directory, "run"))
        ctx = RunContext(
            run=run,
            scenario=scenario,
            model=model,
            seed=seed,
            system=system,
            scheduler=options.scheduler or default_scheduler(),
            observer=options.observer,
            ledger=RunLedger(
                _price(scenario, model.spec, getattr(model, "base_url", None)),
                _prices(scenario, model, others),
            ),
            replay=resume.book if resume is not None else replay,
            keep_all=keep_events or kind.keep_events,
            embedder=embedder,
        )
        # The window is the first run's, even when its answers are replayed or another model
        # finishes it: every prompt is then the one recorded.
        answered_by = ctx.replay.model if ctx.replay is not None and ctx.replay.model else model.spec
        window_source = await _window(ctx, answered_by)
        # A resumed run's people are its log's; a log re-executed records its people too (the
        # log answers for them: nobody is asked).
        people = frozenset(options.humans or (ctx.replay.humans if ctx.replay is not None else ()))
        ctx.seats = Seats.open(
            Seat(model, run_settings(scenario, model, options.base_url), ctx.endpoint, ctx.window), {
                settings_key(settings): (settings, opened) for settings, opened in others
            }, ctx.scheduler, people=people, terminal=options.terminal,
        )
        events_path = directory / "events.jsonl"
        recorded = ctx.replay.remaining if ctx.replay is not None else 0
        next_seq, skip = 0, None
        if resume is not None:
            next_seq, skip = resume.next_seq, resume.skip
            ctx.calls_numbered = resume.book.last_call
            ctx.started -= resume.elapsed  # the clock goes on from the last event kept
            ctx.events.append(resume.started)
        building = Transcript(kind.renderer) if kind.renderer is not None and resume is None else None
        journal = ctx.journal = Journal()
        recorder = await system.spawn(
            partial(Recorder, events_path, ctx.clock, journal, next_seq, skip, building), supervision=Stop()
        )
        if resume is None:
            await _started(ctx, source, options.overrides, window_source)
        root: ActorRef | None = None
        try:
            root = await system.spawn(partial(kind.root, ctx), supervision=Stop())
            for actor, usage, spec in ctx.replay.spent if ctx.replay is not None else ():
                # answers the log's run paid for and did not keep (booked as the actors, now
                # started, book their calls)
                ctx.ledger.charge(actor, usage, model=spec or model.spec, call=False)
            await root.tell(Begin())
            if journal.nudges is not None:  # the event loop's timer writes what waits
                await ctx.done.wait()
            else:
                async with anyio.create_task_group() as nudging:
                    nudging.start_soon(_nudge, journal)
                    await ctx.done.wait()
                    nudging.cancel_scope.cancel()
            if judge is not None:
                await judge(ctx)  # only a completed run is judged; the call is in the ledger
        except BaseException:
            ctx.finish("cancelled", "interrupted")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                if root is not None:  # also waits for a root stopping on its own (a failure) to be done
                    await root.stop(drain=False)
                ledger = ctx.ledger
                price = ledger.price
                await ctx.emit(
                    Ledger(
                        run=run,
                        model=model.spec,
                        price_input=price.input if price else None,
                        price_output=price.output if price else None,
                        entries=ledger.rows(),
                        price_source=ledger.priced.source if ledger.priced is not None else msgspec.UNSET,
                        models=ledger.model_rows(),
                    )
                )
                finished = RunFinished(
                    run=run,
                    status=ctx.outcome.status,
                    reason=ctx.outcome.reason,
                    periods=ctx.periods,
                    turns=ctx.turns,
                    llm_calls=ledger.calls,
                    prompt_tokens=ledger.prompt_tokens,
                    completion_tokens=ledger.completion_tokens,
                    cost_usd=round(ledger.cost_usd, 6),
                )
                await ctx.emit(finished)
                await recorder.stop()
                # Even an interrupted run leaves a complete log and its transcript behind.
                transcript = directory / "transcript.md"
                # A fresh run's transcript was built as its log was written; a resumed run's
                # log also holds what only the first attempt emitted.
                built = building.text() if building is not None else None
                if built is not None:
                    write_atomic(transcript, built)
                else:
                    # A fresh run's events are the log, stamped in place as they were written.
                    fresh = ctx.keep_all and resume is None and recorder_wrote_all(ctx)
                    logged: Sequence[Any] = ctx.events if fresh else read_events(events_path)
                    write_transcript(directory, logged, kind.render)
        # Live calls are numbered on from the log's last (a replayed answer keeps its number).
        logged_calls = resume.book.last_call if resume is not None else 0
        return RunResult.of(
            finished, directory=directory, events=events_path, transcript=transcript,
            estimated_tokens=ctx.ledger.estimated_tokens,
            judge_error=ctx.judge_error if ctx.outcome.status == "completed" else None,
            truncated=ctx.truncated,
            replayed=recorded - (ctx.replay.remaining if ctx.replay is not None else 0),
            live_from=logged_calls + 1 if ctx.calls_numbered > logged_calls else None,
        )
    raise AssertionError("unreachable")  # mypy: the stack does not swallow exceptions


async def _window(ctx: RunContext, answered_by: str) -> str | None:
    """Set ``ctx.window`` and return where it came from: the recorded window of the log
    replayed or resumed, else the scenario's ``model.context_window`` ("scenario"), else the
    model's known window ("known"), else the one the server reports ("server", asked once, and
    only by a fresh run: a replayed run's prompts are the recorded ones); None: unknown."""
    book = ctx.replay
    if book is not None and book.window is not None:
        ctx.window = book.window
        return book.window_source
    settings = ctx.scenario.model
    ctx.window = context_window(settings, answered_by)
    if ctx.window is not None:
        return "scenario" if settings.context_window is not None else "known"
    ask = getattr(ctx.model, "server_window", None)
    if book is not None or ask is None:
        return None
    reported = await ask()
    ctx.window = reported if isinstance(reported, int) and reported > 0 else None
    return "server" if ctx.window is not None else None


async def _started(
    ctx: RunContext, source: str, overrides: list[str] | tuple[str, ...], window_source: str | None = None
) -> None:
    """Record the run-started event: everything needed to run the same simulation again."""
    scenario = ctx.scenario
    await ctx.emit(
        RunStarted(
            run=ctx.run,
            scenario_name=scenario.name,
            source=source,
            scenario=scenario_to_dict(scenario),
            seed=ctx.seed,
            model=ctx.model.spec,
            engine_version=ENGINE_VERSION,
            schema_version=SCHEMA_VERSION,
            overrides=list(overrides),
            started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            context_window=ctx.window if ctx.window is not None else msgspec.UNSET,
            window_source=window_source if ctx.window is not None and window_source else msgspec.UNSET,
            humans=sorted(ctx.seats.people) if ctx.seats is not None and ctx.seats.people else msgspec.UNSET,
        )
    )


def _price(scenario: Scenario, spec: str, base_url: str | None) -> Priced | None:
    """The price of the model ``spec`` names (a spec that names no model, such as a replayed
    log's, has none)."""
    try:
        return price_of(scenario.prices, spec, base_url)
    except ModelSpecError:
        return None


def _prices(
    scenario: Scenario, model: Model, others: Sequence[tuple[ModelSettings, Model]]
) -> Callable[[str], Priced | None]:
    """The price of any model a call names, by its spec: at its own server's address, which
    for a model the run did not open (the judge's, a log's) is the run's model's."""
    base = getattr(model, "base_url", None)
    addresses = {opened.spec: getattr(opened, "base_url", None) for _, opened in others}
    return lambda spec: _price(scenario, spec, addresses.get(spec, base))


async def _nudge(journal: Journal) -> None:
    """Every ``NUDGE_EVERY`` seconds, what has waited in the journal since the last look goes
    to the log (not on asyncio, where one timer does it for every run: ``Journal.bind``)."""
    while True:
        await anyio.sleep(Journal.NUDGE_EVERY)
        if journal.waited():
            journal.nudge()


def recorder_wrote_all(ctx: RunContext) -> bool:
    """Whether every event emitted was written, in order, with ``seq`` 0, 1, 2, ..."""
    events = ctx.events
    return all(e.seq == i for i, e in enumerate(events))


def write_transcript(directory: Path, events: Sequence[Any], render: Callable[[Sequence[Any]], str]) -> None:
    """Render ``events`` to ``directory/transcript.md``, whole or not at all."""
    write_atomic(directory / "transcript.md", render(events))
