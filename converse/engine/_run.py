"""Running one simulation: spawn its actors, record it, render its transcript."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from actors import Actor, ActorRef, ActorSystem, ChildFailedError, Escalate, Stop

from ..councils._agent import AgentActor, Role
from ..judge._judge import RunJudge
from ..log._events import SCHEMA_VERSION, Event, Ledger, RunError, RunFinished, RunStarted, RunStatus
from ..log._log import read_events
from ..models._cache import CachedModel
from ..models._model import Model, open_model
from ..models._scheduler import Limits, Scheduler
from ..models._windows import context_window
from ..scenario._scenario import Scenario, load_scenario, scenario_to_dict
from ..transcript._markdown import render_markdown
from ._context import RunContext
from ._ledger import Ledger as RunLedger
from ._ledger import price_for
from ._moderator import TopModerator
from ._protocol import Begin
from ._recorder import Recorder
from ._replay import ReplayBook, ReplayOnlyModel

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

    @classmethod
    def of(cls, finished: RunFinished, *, directory: Path, events: Path, transcript: Path) -> RunResult:
        """The result of a run, from its run-finished event and its files."""
        totals = {f: getattr(finished, f) for f in cls.__struct_fields__ if hasattr(finished, f)}
        return cls(directory=directory, events=events, transcript=transcript, **totals)


class RunRoot(Actor):
    """Parent of every actor of one run; a failure anywhere below it ends the run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.moderator: ActorRef | None = None

    async def on_start(self) -> None:
        ctx = self.ctx
        scenario = ctx.scenario
        names = [a.name for a in scenario.agents]
        deliberators = []
        for spec in scenario.agents:
            role = Role(
                path=("top",),
                organisation=spec.name,
                organisation_description=spec.description,
                colleagues=", ".join(n for n in names if n != spec.name),
                council=None,
            )
            ref = await self.spawn(partial(AgentActor, ctx, spec, role), supervision=Escalate())
            ctx.agent_names[ref.name] = spec.name
            if spec.council is not None:
                deliberators.append(ref)
        self.moderator = await self.spawn(
            partial(TopModerator, ctx, names, deliberators), supervision=Escalate()
        )

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


async def run_scenario(
    scenario: Scenario | str | os.PathLike[str],
    *,
    model: str | Model | None = None,
    seed: int = 0,
    out: str | os.PathLike[str] = "runs",
    overrides: list[str] | tuple[str, ...] = (),
    system: ActorSystem | None = None,
    scheduler: Scheduler | None = None,
    base_url: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    observer: Callable[[Event], None] | None = None,
    run_id: str | None = None,
    replay_from: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Run one simulation to the end and write its log and transcript.

    Args:
        scenario: a ``Scenario``, a scenario file, or the name of a built-in scenario.
        model: a model spec (``offline``, ``offline?latency=0.05``) or a ``Model``; by
            default the scenario's ``model.spec``.
        seed: the seed; the same scenario, seed and model give the same run.
        out: the directory that receives the run directory.
        overrides: ``key.path=value`` changes to the scenario file (``--set``).
        system: an ``ActorSystem`` to run in (many runs can share one); by default the
            run opens its own.
        scheduler: the scheduler every model call goes through; by default the process's
            own (``default_scheduler()``), shared by every run in the process.
        base_url: the OpenAI-compatible server for ``openai:`` models.
        cache: a directory of cached answers: a request made before (same model, messages
            and parameters) is answered from it instead of the model.
        observer: called with every event as it is emitted (for progress displays).
        run_id: the run directory's name under ``out`` (it must not exist yet); by default
            ``<scenario>-seed<seed>``, numbered when taken.
        replay_from: an earlier run's ``events.jsonl``: every model answer comes from it,
            no model is asked (re-execution without model calls); a request it does not
            hold ends the run ``failed``, naming the speaker and the call.

    Returns:
        The run's ``RunResult``; a run that failed returns with status ``failed``.

    Raises:
        ScenarioError: the scenario is invalid, or its ``judge.function`` cannot be imported.
        ModelSpecError: the model spec (or the judge's) is invalid.
    """
    if system is None:
        async with ActorSystem(name="converse") as own:
            return await run_scenario(
                scenario,
                model=model,
                seed=seed,
                out=out,
                overrides=overrides,
                system=own,
                scheduler=scheduler,
                base_url=base_url,
                cache=cache,
                observer=observer,
                run_id=run_id,
                replay_from=replay_from,
            )
    if isinstance(scenario, Scenario):
        source = "<api>"
    else:
        source = str(scenario)
        scenario = load_scenario(scenario, list(overrides))
    judge = RunJudge.prepare(scenario, source)  # a bad judge.function fails here, before any call
    replay = None
    if replay_from is not None:
        replay = ReplayBook(read_events(replay_from), source=str(replay_from), strict=True)
        model = ReplayOnlyModel(str(replay_from))
    opened = isinstance(model, str) or model is None
    if isinstance(model, str) or model is None:
        model = open_model(model or scenario.model.spec, seed=seed, base_url=base_url or scenario.model.base_url)
    if cache is not None:
        model = CachedModel(model, Path(cache))
    try:
        if judge is not None:
            judge.open(seed=seed, base_url=base_url or scenario.model.base_url)
        return await _run(
            scenario, source, model, seed, Path(out), overrides, system, scheduler, observer, run_id,
            judge=judge, replay=replay,
        )
    finally:
        close = getattr(model, "aclose", None)
        with anyio.CancelScope(shield=True):
            if opened and close is not None:
                await close()
            if judge is not None:
                await judge.aclose()


async def _run(
    scenario: Scenario,
    source: str,
    model: Model,
    seed: int,
    out: Path,
    overrides: list[str] | tuple[str, ...],
    system: ActorSystem,
    scheduler: Scheduler | None,
    observer: Callable[[Event], None] | None,
    run_id: str | None,
    *,
    judge: RunJudge | None = None,
    resume: Resumption | None = None,
    replay: ReplayBook | None = None,
) -> RunResult:
    if resume is not None:
        run, directory = resume.started.run, resume.directory
    elif run_id is None:
        run, directory = new_run_directory(out, scenario, seed)
    else:
        run, directory = run_id, out / run_id
        directory.mkdir(parents=True)
    ctx = RunContext(
        run=run,
        scenario=scenario,
        model=model,
        seed=seed,
        system=system,
        scheduler=scheduler or default_scheduler(),
        observer=observer,
        ledger=RunLedger(price_for(scenario.prices, model.spec)),
        replay=resume.book if resume is not None else replay,
        # A Python judge reads every event; a role-play's few are rendered from memory.
        keep_all=(judge is not None and judge.function is not None) or scenario.roleplay is not None,
    )
    # The window is the first run's, even when its answers are replayed or another model
    # finishes it: every prompt is then the one recorded.
    answered_by = ctx.replay.model if ctx.replay is not None and ctx.replay.model else model.spec
    ctx.window = context_window(scenario.model, answered_by)
    events_path = directory / "events.jsonl"
    next_seq, skip = 0, None
    if resume is not None:
        next_seq, skip = resume.next_seq, resume.skip
        ctx.calls_numbered = resume.book.last_call
        ctx.started -= resume.elapsed  # the clock goes on from the last event kept
        ctx.events.append(resume.started)
    recorder = await system.spawn(partial(Recorder, events_path, ctx.clock, next_seq, skip), supervision=Stop())
    ctx.recorder = recorder
    system.bus.subscribe(ctx.topic, recorder)
    if resume is None:
        await _started(ctx, source, overrides)
    root: ActorRef | None = None
    try:
        root_type: type[RunRoot] = RunRoot
        if scenario.roleplay is not None:
            from ..roleplay._session import RolePlayRoot  # it builds on this module

            root_type = RolePlayRoot
        root = await system.spawn(partial(root_type, ctx), supervision=Stop())
        await root.tell(Begin())
        await ctx.done.wait()
        if judge is not None:
            await judge.judge(ctx)  # only a completed run is judged; the call is in the ledger
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
            system.bus.unsubscribe(ctx.topic, recorder)
            await recorder.stop()
            # Even an interrupted run leaves a complete log and its transcript behind.
            transcript = directory / "transcript.md"
            # A fresh run's events are the log, stamped in place as they were written; a
            # resumed run's log also holds what only the first attempt emitted.
            fresh = ctx.keep_all and resume is None and recorder_wrote_all(ctx)
            logged: Sequence[Any] = ctx.events if fresh else read_events(events_path)
            write_transcript(directory, logged)
    return RunResult.of(finished, directory=directory, events=events_path, transcript=transcript)


async def _started(ctx: RunContext, source: str, overrides: list[str] | tuple[str, ...]) -> None:
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
        )
    )


def recorder_wrote_all(ctx: RunContext) -> bool:
    """Whether every event emitted was written, in order, with ``seq`` 0, 1, 2, ..."""
    events = ctx.events
    return all(e.seq == i for i, e in enumerate(events))


def ensure_transcript(directory: Path) -> Path:
    """The run's ``transcript.md``, rendered from its log if it is missing (a crash can come
    after the log's last line and before the transcript)."""
    transcript = directory / "transcript.md"
    if not transcript.exists():
        write_transcript(directory, read_events(directory / "events.jsonl"))
    return transcript


def write_transcript(directory: Path, events: Sequence[Any]) -> None:
    """Render ``events`` to ``directory/transcript.md``, whole or not at all."""
    temporary = directory / ".transcript.md.tmp"
    temporary.write_text(render_markdown(events), encoding="utf-8")
    temporary.replace(directory / "transcript.md")
