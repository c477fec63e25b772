"""A dataset that grows: ``converse camel generate`` on a dataset's directory with more roles or
tasks adds the chats it lacks and keeps every finished one, as a sweep grows
(``converse.sweeps._growth``), judged against the record (``generate.json``) and the chats'
logs before anything is written.

A list grows at its end: a larger count for a list the model makes (``--num-user-roles 5``
after ``3``: the model is asked for the rest), or a file that holds the dataset's entries and
more after them. A chat keeps its id (``001_002_003``) and its seed, which depends on its id
alone (``chat_seed``). Anything else is refused in one line naming what differs: a count
fewer, an entry changed or lost, a list from a file where the model made it (or the other way
round), another ``--seed``, ``--model`` or ``--set``, or a scenario whose contents changed
since the chats were made.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from .._exceptions import DatasetError
from ..scenario._scenario import Scenario
from ..sweeps._growth import run_names, scenario_change, settings_change
from ..sweeps._sweep import run_started
from ._recipe import Recipe

__all__ = ["MAX_LIST", "chat_seed", "check_bounds", "check_scenario", "growth"]

MAX_LIST = 1_000
"""Entries a list (assistant roles, user roles, tasks per pair) may have: a million times what
CAMEL's AI Society had of chats, and what keeps every chat's seed its own (``chat_seed``)."""

ONLY_GROWS = "a dataset only grows"


def chat_seed(seed: int, a: int, u: int, t: int) -> int:
    """The seed of the chat of assistant role ``a``, user role ``u`` and task ``t`` (0-based):
    ``seed`` + its id's three numbers less one, in base 1,000 (chat ``002_001_003`` gets
    ``seed + 1_000_002``), so that a chat's seed does not change when its dataset grows."""
    return seed + (a * MAX_LIST + u) * MAX_LIST + t


def check_bounds(recipe: Recipe) -> None:
    """Refuse a recipe with a list longer than ``MAX_LIST``.

    Raises:
        DatasetError: naming the flag.
    """
    for flag, given, asked in _lists(recipe):
        size = len(given) if given is not None else asked
        if size > MAX_LIST:
            where = f"--{flag}" if given is not None else f"--{_count_flag(flag)}"
            raise DatasetError(where, f"at most {MAX_LIST:,} entries, not {size:,}")


def growth(held: Recipe, recipe: Recipe, out: Path) -> str:
    """How ``recipe`` grows ``held``, the recipe ``out`` holds, in a few words
    (``--tasks-per-pair 2 -> 3``).

    Raises:
        DatasetError: ``recipe`` is not ``held`` grown; the message names the first difference.
    """
    change = settings_change(
        "dataset", (held.model, held.overrides, held.seed), (recipe.model, recipe.overrides, recipe.seed)
    )
    grown: list[str] = []
    for (flag, held_given, held_count), (_, given, count) in zip(_lists(held), _lists(recipe), strict=True):
        if change is not None:
            break
        change = _list_change(flag, held_given, held_count, given, count, grown)
    if change is not None:
        raise DatasetError(f"dataset {out}", f"{change}; {ONLY_GROWS}")
    return "; ".join(grown)


def _list_change(
    flag: str,
    held_given: tuple[str, ...] | None,
    held_count: int,
    given: tuple[str, ...] | None,
    count: int,
    grown: list[str],
) -> str | None:
    """What keeps one list from growing (None: it grows, or is the same; ``grown`` is told how)."""
    what = flag.replace("-", " ")
    count_flag = _count_flag(flag)
    if held_given is None and given is not None:
        return f"--{flag}: the dataset's {what} were listed by the model (--{count_flag} {held_count})"
    if held_given is not None and given is None:
        return f"--{count_flag} {count}: the dataset's {what} were given in a file (--{flag})"
    if held_given is None or given is None:  # both counts
        if count < held_count:
            return f"--{count_flag} {count} is fewer than the dataset's {held_count}"
        if count > held_count:
            grown.append(f"--{count_flag} {held_count} -> {count}")
        return None
    for i, entry in enumerate(held_given):
        if i >= len(given):
            return f"--{flag}: the file lost {entry!r}, entry {i + 1} of the dataset's {len(held_given)}"
        if given[i] != entry:
            return f"--{flag}: entry {i + 1} is {given[i]!r}, the dataset's is {entry!r} (a list grows at its end)"
    if len(given) > len(held_given):
        grown.append(f"--{flag} +{len(given) - len(held_given)}")
    return None


def check_scenario(out: Path, scenario: Scenario) -> None:
    """Refuse to go on with chats made from another base scenario: the first chat on disk must
    have recorded ``scenario`` (but for its own roles, task and title).

    Raises:
        DatasetError: naming the chat, the first key path that differs and both values.
    """
    play = scenario.roleplay
    assert play is not None

    def as_base(then: Scenario) -> Scenario:
        if then.roleplay is None:
            return then
        roleplay = msgspec.structs.replace(
            then.roleplay, assistant_role=play.assistant_role, user_role=play.user_role, task=play.task
        )
        return msgspec.structs.replace(then, title=scenario.title, roleplay=roleplay)

    runs = out / "runs"
    for chat in sorted(run_names(runs)):
        started = run_started(runs / chat)
        if started is None:
            continue
        change = scenario_change(started, scenario, as_then=as_base)
        if change is not None:
            raise DatasetError(
                f"dataset {out}",
                f"the scenario changed since the chat {chat} was made: {change}; a dataset's chats share one "
                "scenario: undo the change, or start another --out",
            )
        return


def _lists(recipe: Recipe) -> list[tuple[str, tuple[str, ...] | None, int]]:
    """Each list's flag, its entries if given, and the count the model is asked for otherwise."""
    return [
        ("assistant-roles", recipe.assistant_roles, recipe.num_assistant_roles),
        ("user-roles", recipe.user_roles, recipe.num_user_roles),
        ("tasks", recipe.tasks, recipe.tasks_per_pair),
    ]


def _count_flag(flag: str) -> str:
    return "tasks-per-pair" if flag == "tasks" else f"num-{flag}"
