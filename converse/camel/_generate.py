"""Dataset generation at scale: CAMEL's recipe on the engine's actors, scheduler and logs.

Assistant roles x user roles x tasks role-plays, each one run of the base scenario (its
``[roleplay]`` settings, with the roles and task of the chat), run concurrently through
``run_many`` and so through one scheduler. The role lists and tasks come from files or
from the model (one call per list, one per pair of roles, as CAMEL made them).

Layout of the output directory::

    generate.json              what this dataset is (a second run continues it)
    assistant_roles.txt        "1. Accountant" ...
    user_roles.txt
    tasks/001_002.txt          the tasks of assistant role 1 and user role 2
    metadata/events.jsonl      the model calls that made the lists
    runs/001_002_003/          each chat's run directory (events.jsonl, transcript.md)
    chat/001_002_003.json      each completed chat in CAMEL's chat format
    instructions.json          every instruction pair (CAMEL's instruction format)
    finetune.jsonl             one OpenAI fine-tuning example per chat (the assistant's side)
    stats.json, stats.md       termination reasons, messages per chat, tokens

Running the same command again skips finished chats and resumes interrupted ones from
their logs; lists and tasks already made are read back, not asked for again. A command with
more roles or tasks grows the dataset (``_growth``): the lists are made longer, and only the
chats they add are run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol

import msgspec

from .._exceptions import DatasetError, DirectoryInUse
from .._lock import writer_lock
from ..engine._options import RunOptions
from ..engine._run import RunResult
from ..log._events import Event, LLMCall
from ..models._scheduler import Scheduler
from ..scenario._load import load_scenario
from ..scenario._models import budget_caps
from ..scenario._scenario import Scenario
from ..sweeps._manifest import claim_directory, record_manifest
from ..sweeps._many import Job, clear_run, run_many
from ..sweeps._sweep import read_run
from ._growth import chat_seed, check_bounds, check_scenario, growth
from ._harvest import Harvest
from ._metadata import Lists, make_lists
from ._recipe import Recipe
from ._stats import DatasetStats

__all__ = ["DatasetOutcome", "GenerateProgress", "generate"]

MANIFEST = "generate.json"


class DatasetOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a generation left behind."""

    directory: Path
    chats: int
    completed: int
    failed: int
    skipped: int
    stats: DatasetStats
    grown: str = ""  # what this generation grew the dataset by (``--tasks-per-pair 2 -> 3``)


class GenerateProgress(Protocol):
    """What a progress display is told (``converse.cli._progress.SweepBar`` is one)."""

    def start(self, total: int, done: int, failed: int) -> None: ...
    def ended(self, completed: bool, tokens: int, cost: float) -> None: ...
    def tokens(self, count: int) -> None: ...


def base_scenario(recipe: Recipe) -> Scenario:
    """The recipe's scenario, checked to be a role-play."""
    scenario = load_scenario(recipe.scenario, list(recipe.overrides))
    if scenario.roleplay is None:
        raise DatasetError(recipe.scenario, "is not a role-play scenario (it has no [roleplay] table)")
    return scenario


def claim(out: Path, recipe: Recipe) -> tuple[Recipe | None, str]:
    """Make ``out`` this recipe's directory, or check that it already is or that ``recipe``
    grows the one it holds: that one (None if it is ``recipe``) and how it grows.

    Raises:
        DatasetError: ``out`` holds a dataset that ``recipe`` does not grow, or files that are
            not a dataset's: nothing is written.
    """
    held = claim_directory(out, MANIFEST, recipe, error=DatasetError, what="dataset", describe=Recipe.describe,
                           grows=True)
    return held, growth(held, recipe, out) if held is not None else ""


class Plan(msgspec.Struct, kw_only=True):
    """A dataset ready to run: its directory, what is done, the chats still to run."""

    directory: Path
    harvest: Harvest
    jobs: list[Job]
    total: int
    grown: str = ""


async def prepare(
    recipe: Recipe, options: RunOptions, *, concurrency: int, retry_failed: bool, held: ExitStack
) -> Plan:
    """Claim ``out`` and lock it until ``held`` closes, make (or read) the lists, and plan the
    chats still to run.

    A recipe that grows the one ``out`` holds is recorded in ``generate.json`` once its lists
    are made (an interrupted growth is taken up again by the same command).

    Raises:
        DatasetError: the recipe or the directory is wrong (another dataset, one this recipe
            does not grow, or chats made from another scenario), or the model gave no usable list.
        ScenarioError: the base scenario is invalid.
        DirectoryInUse: another process is making a dataset in ``out``: it is left alone.
    """
    if concurrency < 1:
        raise DatasetError("--concurrency", f"must be at least 1, not {concurrency}")
    check_bounds(recipe)
    scenario = base_scenario(recipe)
    if scenario.roleplay is not None and scenario.roleplay.critic.kind == "human":
        raise DatasetError("roleplay.critic.kind", "a person cannot critique many chats at once: use camel roleplay")
    directory = options.out
    smaller, grown = claim(directory, recipe)
    check_scenario(directory, scenario)
    held.enter_context(writer_lock(directory, "dataset"))  # one generation at a time in a directory
    lists = await make_lists(recipe, scenario, options, concurrency=concurrency, grown_from=smaller)
    if smaller is not None:  # once the lists are made: a growth interrupted before is taken up again
        record_manifest(directory, MANIFEST, recipe, smaller, error=DatasetError, what="dataset")
    harvest = Harvest(directory)
    jobs = list(_plan(recipe, scenario, lists, directory, harvest, retry_failed))
    return Plan(directory=directory, harvest=harvest, jobs=jobs,
                total=harvest.skipped + harvest.failed_before + len(jobs), grown=grown)


Ended = Callable[[str, bool, "RunResult | None"], None]


async def run_chats(
    plan: Plan,
    options: RunOptions,
    *,
    concurrency: int,
    ended: Ended,
    on_tokens: Callable[[int], None] | None = None,
    workers: int = 1,
) -> None:
    """Run ``plan``'s chats, keeping each one's record as it ends, and tell ``ended``.

    Of ``options``, the model (for chats that name none), base URL, scheduler and cache are
    used; the runs go to ``plan.directory / "runs"``. With ``workers`` above 1, the chats go
    on in that many processes (``converse.sweeps._workers``): each chat's record is made from
    its log once it ends, and its tokens are told then.

    Raises:
        DatasetError: a worker process died (the chats it had going stay to do).
    """
    if workers > 1:
        await _run_spread(plan, options, concurrency=concurrency, ended=ended, on_tokens=on_tokens, workers=workers)
        return
    emitted: dict[str, list[Event]] = {}  # each chat's events as they happen, for its record

    def observe(job: Job, event: Event) -> None:
        if job.run_id is not None:
            emitted.setdefault(job.run_id, []).append(event)
        if on_tokens is not None and type(event) is LLMCall:
            on_tokens(event.usage.total_tokens)

    model = options.model
    assert model is None or isinstance(model, str)  # chats of one dataset share one spec
    async with run_many(
        plan.jobs, concurrency=concurrency, out=plan.directory / "runs", model=model,
        base_url=options.base_url, scheduler=options.scheduler, cache=options.cache, observer=observe,
        stagger=False,  # every chat that fits starts at once: they are many, and short
    ) as finished:
        async for item in finished:
            chat = str(item.job.run_id)
            events = emitted.pop(chat, None)
            completed = plan.harvest.take(chat, None if item.job.resume else events, item.error)
            ended(chat, completed, item.result)


async def _run_spread(
    plan: Plan,
    options: RunOptions,
    *,
    concurrency: int,
    ended: Ended,
    on_tokens: Callable[[int], None] | None,
    workers: int,
) -> None:
    from ..sweeps._workers import WorkersLost, spread  # the processes: loaded by who uses them

    jobs = plan.jobs
    base = jobs[0].scenario if jobs else None
    caps = budget_caps(base) if isinstance(base, Scenario) else set()  # the chats share one scenario's models
    try:
        async with spread(
            jobs, workers=workers, concurrency=concurrency, options=options.but(out=plan.directory / "runs"),
            caps=caps, stagger=False,
        ) as finished:
            async for outcome in finished:
                if on_tokens is not None:
                    on_tokens(outcome.watched.tokens)
                ended(outcome.run, plan.harvest.take(outcome.run, None, outcome.error), outcome.result)
    except WorkersLost as lost:
        raise DatasetError("--workers", str(lost)) from None


async def generate(
    recipe: Recipe,
    out: str | os.PathLike[str],
    *,
    concurrency: int = 64,
    scheduler: Scheduler | None = None,
    base_url: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    retry_failed: bool = False,
    progress: GenerateProgress | None = None,
    workers: int = 1,
) -> DatasetOutcome:
    """Make (or continue) the dataset ``recipe`` describes in ``out``, in this process (and,
    with ``workers`` above 1, in that many processes in all: this one and worker processes,
    ``concurrency`` and the rate limits split among them).

    Raises:
        DatasetError: the recipe or the directory is wrong, or the model gave no usable list;
            ``workers`` is below 1; a worker process died (its chats stay to do).
        ScenarioError: the base scenario is invalid.
        DirectoryInUse: another process is making a dataset in ``out``: it is left alone.
    """
    if workers < 1:
        raise DatasetError("--workers", f"must be at least 1, not {workers}")
    options = RunOptions(
        model=recipe.model, out=Path(out), base_url=base_url, cache=None if cache is None else Path(cache),
        scheduler=scheduler,
    )

    def ended(chat: str, completed: bool, result: RunResult | None) -> None:
        if progress is not None:
            tokens = result.prompt_tokens + result.completion_tokens if result else 0
            progress.ended(completed, tokens, result.cost_usd if result else 0.0)

    with ExitStack() as held:
        plan = await prepare(recipe, options, concurrency=concurrency, retry_failed=retry_failed, held=held)
        harvest = plan.harvest
        if progress is not None:
            progress.start(plan.total, harvest.skipped + harvest.failed_before, harvest.failed_before)
        try:
            await run_chats(plan, options, concurrency=concurrency, ended=ended,
                            on_tokens=progress.tokens if progress is not None else None, workers=workers)
        finally:
            stats = harvest.write()
        return outcome_of(plan, stats)


def outcome_of(plan: Plan, stats: DatasetStats) -> DatasetOutcome:
    """What a generation left behind, from its plan's harvest."""
    harvest = plan.harvest
    return DatasetOutcome(
        directory=plan.directory, chats=plan.total, completed=harvest.completed, failed=harvest.failed,
        skipped=harvest.skipped, stats=stats, grown=plan.grown,
    )


def chat_ids(lists: Lists) -> Iterator[tuple[str, int, int, int]]:
    """Every chat's id (``001_002_003``: 1-based assistant role, user role, task) and indices."""
    for a in range(len(lists.assistant_roles)):
        for u in range(len(lists.user_roles)):
            for t in range(len(lists.tasks[a][u])):
                yield f"{a + 1:03}_{u + 1:03}_{t + 1:03}", a, u, t


def _plan(recipe: Recipe, scenario: Scenario, lists: Lists, out: Path, harvest: Harvest,
          retry_failed: bool) -> Iterator[Job]:
    play = scenario.roleplay
    assert play is not None
    for chat, a, u, t in chat_ids(lists):
        run_dir = out / "runs" / chat
        resume = False
        if (out / "chat" / f"{chat}.json").exists():
            harvest.skipped += 1
            harvest.ids.append(chat)
            continue
        if run_dir.exists():
            ended = read_run(run_dir)
            if ended is not None and (ended[0].status == "completed" or not retry_failed):
                harvest.take(chat, None, None, earlier=True)
                continue
            resume = ended is None and (run_dir / "events.jsonl").exists()
            if not resume:
                try:
                    clear_run(run_dir)  # as the run's one writer
                except DirectoryInUse:  # another process writes it: trying to resume it names that one
                    resume = True
        roleplay = msgspec.structs.replace(
            play, assistant_role=lists.assistant_roles[a], user_role=lists.user_roles[u], task=lists.tasks[a][u][t]
        )
        title = f"Role-play {chat}: {roleplay.assistant_role} helps {roleplay.user_role}"
        yield Job(
            scenario=msgspec.structs.replace(scenario, title=title, roleplay=roleplay),
            seed=chat_seed(recipe.seed, a, u, t), run_id=chat, resume=resume,
        )
