"""A run put together: the kind of conversation its scenario holds, its model and its judge
opened (and closed), handed to the engine; the same for a run resumed from its log."""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
import msgspec

from actors import ActorSystem

from .._exceptions import ModelSpecError, NothingToResume, ScenarioError
from .._lock import writer_lock
from ..councils._root import CouncilsRoot
from ..engine._context import RunContext
from ..engine._options import RunOptions
from ..engine._replay import ReplayBook, ReplayOnlyModel
from ..engine._resume import read_resumption
from ..engine._run import RunKind, RunResult, execute, write_transcript
from ..engine._seats import run_settings
from ..judge._judge import RunJudge
from ..log._events import AnyEvent, Event, RunFinished, RunStarted
from ..log._log import read_events
from ..models._cache import CachedModel
from ..models._model import Embedder, Model
from ..models._open import open_model, with_timeout
from ..models._person import Terminal
from ..models._scheduler import Scheduler
from ..roleplay._session import RolePlayRoot
from ..scenario._load import load_scenario, scenario_from_dict
from ..scenario._models import embedder_spec, people_named, settings_in_use
from ..scenario._scenario import ModelSettings, Scenario
from ..transcript._markdown import MarkdownRenderer, render_markdown

__all__ = ["ensure_transcript", "kind_of", "resume_run", "resume_with", "run_scenario", "run_with"]

# The end of a log, where its run-finished event is: a few hundred bytes.
_TAIL = 4096
# The most of a log's first line (its run-started event) read to see its judge.
_FIRST = 64 << 20
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)

# Both kinds' transcripts come from one renderer, which tells them apart by the log.
_COUNCILS = RunKind(root=CouncilsRoot, render=render_markdown, renderer=MarkdownRenderer)
# A role-play's few events are rendered from memory.
_ROLEPLAY = RunKind(root=RolePlayRoot, render=render_markdown, keep_events=True)


def kind_of(scenario: Scenario) -> RunKind:
    """The kind of conversation ``scenario`` holds: a role-play, or organisations and councils
    (with a population of researchers, or without)."""
    if scenario.roleplay is not None:
        return _ROLEPLAY
    return _population() if scenario.population is not None else _COUNCILS


@functools.cache
def _population() -> RunKind:
    """A population's kind, imported by the first run that has one: its researchers' memory
    streams need numpy, which a process without them never loads."""
    from ..councils._population import PopulationRoot

    return RunKind(root=PopulationRoot, render=render_markdown, renderer=MarkdownRenderer)


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
    humans: list[str] | tuple[str, ...] = (),
    terminal: Terminal | None = None,
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
        humans: agents or council members a person at the terminal plays (``--human``):
            an agent's name, a member's (``OpenAI CEO``, or ``OpenAI/OpenAI CEO`` when
            several have it) or a role-play role. Their turns are asked at ``terminal``
            and recorded like a model's; a resumed run asks for the rest of them.
        terminal: where those people are asked (``converse.models.Terminal``, to read and
            write elsewhere than stdin and stderr).

    Returns:
        The run's ``RunResult``; a run that failed returns with status ``failed``.

    Raises:
        ScenarioError: the scenario is invalid, its ``judge.function`` cannot be imported,
            or a name in ``humans`` is no agent's (or several members').
        ModelSpecError: the model spec (or the judge's) is invalid.
    """
    return await run_with(
        scenario,
        RunOptions(
            model=model,
            seed=seed,
            out=Path(out),
            overrides=tuple(overrides),
            base_url=base_url,
            cache=None if cache is None else Path(cache),
            system=system,
            scheduler=scheduler,
            observer=observer,
            run_id=run_id,
            replay_from=None if replay_from is None else Path(replay_from),
            humans=tuple(humans),
            terminal=terminal,
        ),
    )


async def run_with(scenario: Scenario | str | os.PathLike[str], options: RunOptions) -> RunResult:
    """``run_scenario`` with what the run is given as one ``RunOptions``."""
    async with AsyncExitStack() as stack:
        system = options.system
        if system is None:
            system = await stack.enter_async_context(ActorSystem(name="converse"))
        if isinstance(scenario, Scenario):
            source = "<api>"
        else:
            source = str(scenario)
            scenario = load_scenario(scenario, options.overrides)
        judge = RunJudge.prepare(scenario, source)  # a bad judge.function fails here, before any call
        if options.humans:  # a name no agent has fails here, before any call
            options = options.but(humans=people_named(scenario, options.humans, source))
        replay, model = None, options.model
        if options.replay_from is not None:
            replay = ReplayBook(read_events(options.replay_from), source=str(options.replay_from), strict=True)
            model = ReplayOnlyModel(str(options.replay_from))
        model = await _open(stack, model, scenario.model.spec, scenario, options, judge)
        others = await _open_others(stack, scenario, model, options)
        embedder = await _open_embedder(stack, scenario, model, options)
        return await execute(
            kind_of(scenario), scenario, source, model, system, options,
            judge=_judging(judge), keep_events=_reads_all(judge), replay=replay, others=others, embedder=embedder,
        )
    raise AssertionError("unreachable")  # mypy: the stack does not swallow exceptions


async def resume_run(
    run_dir: str | os.PathLike[str],
    *,
    model: str | Model | None = None,
    system: ActorSystem | None = None,
    scheduler: Scheduler | None = None,
    base_url: str | None = None,
    observer: Callable[[Event], None] | None = None,
    judge_function: str | None = None,
    humans: list[str] | tuple[str, ...] = (),
    terminal: Terminal | None = None,
) -> RunResult:
    """Continue an interrupted run from its log, re-using every model answer it recorded.

    One process at a time writes a run: the run is locked before its log is read, and a run
    another process (or task) is writing is refused. A log is not trusted to name code to
    run: a ``judge.function`` it names is imported only when ``judge_function`` confirms it.

    Args:
        run_dir: the run directory (or its ``events.jsonl``).
        model: the model that answers what the log does not hold; by default the one the
            run started with.
        system: an ``ActorSystem`` to run in; by default one is opened for the run.
        scheduler: the scheduler of the live calls; by default the process's.
        base_url: the OpenAI-compatible server for ``openai:`` models.
        observer: called with every event as it is emitted (re-created ones included).
        judge_function: the ``package.module:function`` the log's scenario names as its
            ``judge.function``, confirmed by you (``converse resume --judge-function``);
            unused when the log names none.
        humans: who a person plays for the rest of the run; by default whom the run
            started with (its log says).
        terminal: where those people are asked; by default stdin and stderr.

    Returns:
        The run's ``RunResult``, as if it had never been interrupted.

    Raises:
        LogError: no log, or not a log a run can resume from.
        NothingToResume: the run already completed (or ran out of budget).
        ScenarioError: the scenario recorded in the log no longer loads, or it names a
            ``judge.function`` that ``judge_function`` does not confirm (nothing was called).
        DirectoryInUse: another process is writing the run (nothing was touched).
    """
    options = RunOptions(
        model=model, system=system, scheduler=scheduler, base_url=base_url, observer=observer,
        humans=tuple(humans), terminal=terminal,
    )
    return await resume_with(run_dir, options, judge_function=judge_function)


async def resume_with(
    run_dir: str | os.PathLike[str], options: RunOptions, *, judge_function: str | None = None
) -> RunResult:
    """``resume_run`` with what the run is given as one ``RunOptions``: its model, base URL,
    system, scheduler and observer (the seed, overrides and directory are the log's)."""
    async with AsyncExitStack() as stack:
        log = _log_of(Path(run_dir))
        if log.is_file():  # else there is nothing to lock, and read_resumption says what is wrong
            stack.enter_context(writer_lock(log.parent, "run"))  # before the log is read
            _confirm_judge(log, judge_function)
        system = options.system
        if system is None:
            system = await stack.enter_async_context(ActorSystem(name="converse"))
        try:
            resumption = read_resumption(run_dir)
        except NothingToResume as exc:
            ensure_transcript(exc.directory)
            raise
        started, directory = resumption.started, resumption.directory
        scenario = scenario_from_dict(started.scenario, f"{directory}/events.jsonl (run_started)")
        judge = RunJudge.prepare(scenario, started.source)
        if options.humans:  # people for the rest of the run, instead of the log's
            options = options.but(humans=people_named(scenario, options.humans, str(directory)))
        options = options.but(
            seed=started.seed, out=directory.parent, overrides=tuple(started.overrides), run_id=directory.name,
            cache=None, replay_from=None,
        )
        model = await _open(stack, options.model, started.model, scenario, options, judge)
        others = await _open_others(stack, scenario, model, options)
        embedder = await _open_embedder(stack, scenario, model, options)
        return await execute(
            kind_of(scenario), scenario, started.source, model, system, options,
            judge=_judging(judge), keep_events=_reads_all(judge), resume=resumption, others=others,
            embedder=embedder,
        )
    raise AssertionError("unreachable")  # mypy: the stack does not swallow exceptions


def _log_of(run_dir: Path) -> Path:
    """The log of ``run_dir``, a run directory or its ``events.jsonl`` (as ``read_resumption`` finds it)."""
    return run_dir / "events.jsonl" if run_dir.is_dir() or not run_dir.exists() else run_dir


def _confirm_judge(log: Path, confirmed: str | None) -> None:
    """Refuse to go on with a run whose log names a ``judge.function`` not ``confirmed``.

    A log is data: whoever can write one (a shared directory, a download) must not be able
    to choose code for ``resume`` to import and call. The check reads the log's first line
    and its end only, so a refused run's log is left as it was; a run that ended for good
    needs no confirmation (there is nothing to run).

    Raises:
        ScenarioError: at ``$.judge.function``, naming the function to confirm.
    """
    where = f"{log} (run_started)"
    started = _first_event(log)
    if started is None:
        return  # not a log to resume: read_resumption says so
    judge = scenario_from_dict(started.scenario, where).judge
    named = judge.function if judge.enabled else None
    if not named or named == confirmed or _ended_for_good(log):
        return
    if confirmed is None:
        problem = f"the log names {named}; a log cannot choose code to run: confirm it with --judge-function {named}"
    else:
        problem = f"the log names {named}, not {confirmed}; a run is judged by the function it started with"
    raise ScenarioError(where, "$.judge.function", problem)


def _first_event(log: Path) -> RunStarted | None:
    try:
        with log.open("rb") as f:
            event = _decoder.decode(f.readline(_FIRST))  # a line cut off there is no event
    except (OSError, msgspec.DecodeError):
        return None
    return event if type(event) is RunStarted else None


def _ended_for_good(log: Path) -> bool:
    """Whether the log's last line is a run-finished event that a resume would not undo
    (``completed``, ``budget_exhausted``)."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - _TAIL))
            lines = f.read().split(b"\n")
        last = _decoder.decode(lines[-2]) if len(lines) > 1 and lines[-1] == b"" else None
    except (OSError, msgspec.DecodeError):
        return False
    return type(last) is RunFinished and last.status not in ("cancelled", "failed")


def ensure_transcript(directory: Path) -> Path:
    """The run's ``transcript.md``, rendered from its log if it is missing (a crash can come
    after the log's last line and before the transcript)."""
    transcript = directory / "transcript.md"
    if not transcript.exists():
        write_transcript(directory, read_events(directory / "events.jsonl"), render_markdown)
    return transcript


async def _open(
    stack: AsyncExitStack,
    model: str | Model | None,
    default: str,
    scenario: Scenario,
    options: RunOptions,
    judge: RunJudge | None,
) -> Model:
    """The run's model (``model``, else the spec ``default``) and the judge's, opened; those
    the run opened (not a ``Model`` it was given) are closed with ``stack``, even when
    cancelled. ``options.cache`` puts the cache in front of the run's model."""
    base_url = options.base_url or scenario.model.base_url
    # A spec is told from a model before a Protocol's isinstance (a walk of its attributes).
    opened = False
    if model is None or isinstance(model, str) or not isinstance(model, Model):
        opened = True
        model = open_model(model or default, seed=options.seed, base_url=base_url)
    model = with_timeout(model, scenario.model.timeout)
    if options.cache is not None:
        model = CachedModel(model, options.cache)
    await stack.enter_async_context(_closing(model if opened else None, judge))
    if judge is not None:
        judge.open(seed=options.seed, base_url=base_url)
    return model


async def _open_others(
    stack: AsyncExitStack, scenario: Scenario, model: Model, options: RunOptions
) -> list[tuple[ModelSettings, Model]]:
    """The models the scenario names for its agents besides the run's ``model``, opened
    (closed with ``stack``) as the run's is: each with its timeout, behind the cache if
    the run has one; every one a log's answers when the run re-executes a log."""
    opened: list[tuple[ModelSettings, Model]] = []
    for settings in settings_in_use(scenario, run_settings(scenario, model, options.base_url)):
        other: Model
        if isinstance(model, ReplayOnlyModel):
            other = model
        else:
            other = open_model(settings.spec, seed=options.seed, base_url=settings.base_url)
            await stack.enter_async_context(_closing(other, None))
            other = with_timeout(other, settings.timeout)
            if options.cache is not None:
                other = CachedModel(other, options.cache)
        opened.append((settings, other))
    return opened


async def _open_embedder(
    stack: AsyncExitStack, scenario: Scenario, model: Model, options: RunOptions
) -> Embedder | None:
    """The model that embeds the agents' memory streams, if any agent has one: the one
    ``memory.stream.embedder`` names, opened (and closed with ``stack``), else the run's model
    (behind the cache, the model the cache holds answers of). None when no agent has a stream,
    and when a log re-executed answers every embedding.

    Raises:
        ModelSpecError: the run's model embeds nothing (a person, a model of the caller's
            without ``embed``), and no embedder is named.
    """
    spec = embedder_spec(scenario)
    if spec is None or isinstance(model, ReplayOnlyModel):
        return None
    if spec:
        opened = open_model(spec, seed=options.seed, base_url=options.base_url or scenario.model.base_url)
        await stack.enter_async_context(_closing(opened, None))
        found: object = with_timeout(opened, scenario.model.timeout)
    else:
        found = model.inner if isinstance(model, CachedModel) else model
    if not isinstance(found, Embedder):
        what = spec or model.spec
        raise ModelSpecError(
            what, "it cannot embed texts, and an agent's memory stream needs embeddings: name a model that "
            "does in memory.stream.embedder",
        )
    return found


@asynccontextmanager
async def _closing(model: Model | None, judge: RunJudge | None) -> AsyncIterator[None]:
    """Close the model the run opened and the judge's, even when cancelled."""
    try:
        yield
    finally:
        close = getattr(model, "aclose", None)
        with anyio.CancelScope(shield=True):
            if close is not None:
                await close()
            if judge is not None:
                await judge.aclose()


def _judging(judge: RunJudge | None) -> Callable[[RunContext], Awaitable[None]] | None:
    return None if judge is None else judge.judge


def _reads_all(judge: RunJudge | None) -> bool:
    """A Python judge reads every event, so the run keeps them in memory for it."""
    return judge is not None and judge.function is not None
