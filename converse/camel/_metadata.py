"""The lists a dataset is made from: assistant roles, user roles, and tasks per pair of
roles, read from files or asked of the model (one call per list, one per pair, as CAMEL
made them), written as numbered text files, and never asked for twice.

The calls are recorded in ``metadata/events.jsonl`` (a log like a run's), so what the
lists cost, and the exact prompts that made them, are on file.

A dataset that grows (``_growth``) grows its lists at their end: a list the model made is asked
for again with the larger count, and the entries it did not have yet are added after its own,
so every entry keeps its number (and every chat its id).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import anyio

from actors.log import get_logger

from .._exceptions import DatasetError
from ..engine._options import RunOptions
from ..engine._run import ENGINE_VERSION, default_scheduler
from ..log._events import SCHEMA_VERSION, ChatMessage, LLMCall, RunFinished, RunStarted
from ..log._log import LogWriter
from ..models._cache import CachedModel
from ..models._model import (
    CompletionRequest,
    CompletionResponse,
    Hints,
    Model,
    complete_checked,
    estimate_prompt_tokens,
)
from ..models._open import open_model
from ..models._scheduler import Scheduler
from ..roleplay import _prompts
from ..scenario._load import scenario_to_dict
from ..scenario._scenario import Scenario
from ._lists import parse_list, read_list_file, write_list_file
from ._recipe import Recipe

log = get_logger("converse.camel")

_ONLY_THE_LIST = "Reply with the numbered list only, one item per line."


@dataclass(slots=True)
class Lists:
    """The roles, and ``tasks[a][u]`` for assistant role ``a`` and user role ``u``."""

    assistant_roles: list[str]
    user_roles: list[str]
    tasks: list[list[list[str]]] = field(default_factory=list)
    missing: int = 0  # pairs the model gave no tasks for (asked again next time)


class _Asker:
    """Asks the model for lists through the scheduler and records every call."""

    def __init__(self, model: Model, scheduler: Scheduler, out: Path, scenario: Scenario, recipe: Recipe) -> None:
        self.model, self.scheduler, self.out = model, scheduler, out
        self.scenario, self.recipe = scenario, recipe
        self.writer: LogWriter | None = None
        self.run = "metadata"
        self.started = time.perf_counter()
        self.calls = self.prompt_tokens = self.completion_tokens = 0

    def _log(self) -> LogWriter:
        if self.writer is None:
            n, path = 1, self.out / "metadata" / "events.jsonl"
            while path.exists():  # one log per session that asked for anything
                n += 1
                path = self.out / "metadata" / f"events-{n}.jsonl"
            self.run = f"metadata-{n}"
            self.writer = LogWriter(path, clock=lambda: time.perf_counter() - self.started)
            self.writer.write(
                RunStarted(
                    run=self.run, scenario_name=self.scenario.name, source=self.recipe.scenario,
                    scenario=scenario_to_dict(self.scenario), seed=self.recipe.seed, model=self.model.spec,
                    engine_version=ENGINE_VERSION, schema_version=SCHEMA_VERSION,
                    started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                )
            )
        return self.writer

    async def ask_list(self, what: str, system: str, user: str, count: int, kind: str) -> list[str]:
        """A list of at most ``count`` items; asked again once if the answer holds none."""
        messages = [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]
        for _ in range(2):
            text = await self._call(messages, what, kind)
            items = parse_list(text, count)
            if items:
                return items
            messages = [*messages, ChatMessage(role="assistant", content=text),
                        ChatMessage(role="user", content=_ONLY_THE_LIST)]
        return []

    async def _call(self, messages: list[ChatMessage], what: str, kind: str) -> str:
        settings = self.scenario.model
        request = CompletionRequest(
            messages=messages, temperature=settings.temperature, max_tokens=max(settings.max_tokens, 1500),
            params=dict(settings.params), hints=Hints(kind=kind, speaker="metadata"),  # type: ignore[arg-type]
        )
        started = time.perf_counter()
        response: CompletionResponse = await self.scheduler.call(
            str(getattr(self.model, "endpoint", self.model.spec.partition("?")[0])), "metadata",
            estimate_prompt_tokens(messages) + request.max_tokens, partial(complete_checked, self.model, request),
            tokens_used=CompletionResponse.tokens_used,
        )
        self.calls += 1
        self.prompt_tokens += response.usage.prompt_tokens
        self.completion_tokens += response.usage.completion_tokens
        writer = self._log()
        writer.write(
            LLMCall(
                run=self.run, call=self.calls, conversation=("metadata",), actor="metadata",
                purpose=what, model=response.model, messages=messages, params=request.sent_params(),
                response=response.text, usage=response.usage, latency=round(time.perf_counter() - started, 6),
            )
        )
        return response.text

    def close(self) -> None:
        if self.writer is not None:
            self.writer.write(
                RunFinished(
                    run=self.run, status="completed", reason="lists made", periods=0, turns=0,
                    llm_calls=self.calls, prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
                )
            )
            self.writer.close()


async def make_lists(
    recipe: Recipe, scenario: Scenario, options: RunOptions, *, concurrency: int, grown_from: Recipe | None = None
) -> Lists:
    """The dataset's roles and tasks: from the recipe, from files made earlier in
    ``options.out``, or asked now (of ``recipe.model``, with the options' base URL, cache and
    scheduler).

    ``grown_from`` is the recipe the dataset was made with when ``recipe`` grows it: a list
    made earlier that is shorter than ``recipe`` now asks, and longer than ``grown_from``
    asked, is made longer. (Without growth, a list the model made shorter than asked is kept.)

    Raises:
        DatasetError: the model gave no usable list of roles.
    """
    was = grown_from or recipe
    out = options.out
    model: Model = open_model(recipe.model or scenario.model.spec, seed=recipe.seed,
                              base_url=options.base_url or scenario.model.base_url)
    if options.cache is not None:
        model = CachedModel(model, options.cache)
    asker = _Asker(model, options.scheduler or default_scheduler(), out, scenario, recipe)
    try:
        assistants = await _roles(asker, out / "assistant_roles.txt", recipe.assistant_roles,
                                  recipe.num_assistant_roles, "assistant roles",
                                  _prompts.ASSISTANT_ROLES_SYSTEM, _prompts.ASSISTANT_ROLES,
                                  grew=_grew(was.assistant_roles, recipe.assistant_roles,
                                             was.num_assistant_roles, recipe.num_assistant_roles))
        users = await _roles(asker, out / "user_roles.txt", recipe.user_roles, recipe.num_user_roles,
                             "user roles", _prompts.USER_ROLES_SYSTEM, _prompts.USER_ROLES,
                             grew=_grew(was.user_roles, recipe.user_roles, was.num_user_roles, recipe.num_user_roles))
        lists = Lists(assistants, users)
        await _tasks(asker, lists, recipe, out, concurrency, grew=recipe.tasks_per_pair > was.tasks_per_pair)
    finally:
        asker.close()
        close = getattr(model, "aclose", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await close()
    if lists.missing:
        log.warning("pairs of roles without tasks", pairs=lists.missing, hint="run the same command again to retry them")
    return lists


def _grew(was: tuple[str, ...] | None, given: tuple[str, ...] | None, was_count: int, count: int) -> bool:
    """Whether a list grows: a given list has more entries, or the model is asked for more."""
    return given != was if given is not None else count > was_count


async def _roles(asker: _Asker, path: Path, given: tuple[str, ...] | None, count: int, what: str,
                 system: str, prompt: str, *, grew: bool) -> list[str]:
    if given is not None:
        return _given(path, given, grew=grew)
    earlier = _earlier(path)
    if _enough(earlier, count, grew=grew):
        return earlier[:count]
    roles = _longer(earlier, await asker.ask_list(what, system, prompt.format(count=count), count, "roles"), count)
    if not roles:
        raise DatasetError(f"the model's {what}", "its answer held no list, twice; give the roles in a file")
    if len(roles) > len(earlier):
        write_list_file(path, roles)
    return roles


def _given(path: Path, given: tuple[str, ...], *, grew: bool) -> list[str]:
    """A list given, written down as the model's lists are (again when it grew)."""
    if grew or not path.exists():
        write_list_file(path, given)
    return list(given)


def _earlier(path: Path) -> list[str]:
    """The list the model made earlier (none: it is still to be made)."""
    return read_list_file(path) if path.exists() else []


def _enough(earlier: list[str], count: int, *, grew: bool) -> bool:
    """Whether a list made earlier is the list, its first ``count`` entries: it is not to be made
    longer (shorter than ``count``, which ``grew``).

    A list is longer than ``count`` only when a growth was interrupted before it was recorded
    and the smaller dataset is asked for again: it has the entries it had.
    """
    return bool(earlier) and (len(earlier) >= count or not grew)


def _longer(known: list[str], asked: list[str], count: int) -> list[str]:
    """``known``, then the entries of ``asked`` it lacks (ignoring case), up to ``count``."""
    seen = {entry.casefold() for entry in known}
    added = [entry for entry in asked if entry.casefold() not in seen]
    return [*known, *added[: max(count - len(known), 0)]]


async def _tasks(asker: _Asker, lists: Lists, recipe: Recipe, out: Path, concurrency: int, *, grew: bool) -> None:
    a_count, u_count = len(lists.assistant_roles), len(lists.user_roles)
    lists.tasks = [[[] for _ in range(u_count)] for _ in range(a_count)]
    if recipe.tasks is not None:
        for row in lists.tasks:
            for u in range(u_count):
                row[u] = list(recipe.tasks)
        return
    limiter = anyio.Semaphore(concurrency)

    async def one(a: int, u: int) -> None:
        path = out / "tasks" / f"{a + 1:03}_{u + 1:03}.txt"
        count = recipe.tasks_per_pair
        earlier = _earlier(path)
        if _enough(earlier, count, grew=grew):
            lists.tasks[a][u] = earlier[:count]
            return
        async with limiter:
            prompt = _prompts.TASKS.format(
                count=count, assistant_role=lists.assistant_roles[a], user_role=lists.user_roles[u]
            )
            tasks = _longer(earlier, await asker.ask_list("tasks", _prompts.TASKS_SYSTEM, prompt, count, "tasks"), count)
        if len(tasks) > len(earlier):
            write_list_file(path, tasks)
        elif not tasks:
            lists.missing += 1
        lists.tasks[a][u] = tasks

    async with anyio.create_task_group() as tg:
        for a in range(a_count):
            for u in range(u_count):
                tg.start_soon(one, a, u)
