"""What a dataset is: the ``Recipe`` recorded in its ``generate.json`` (the base scenario, the
model and seed, and the role lists and tasks, given or to be asked of the model), and how one
is made from the command line's files and counts."""

from __future__ import annotations

import os
from typing import Any

import msgspec

from .._exceptions import ConverseError, DatasetError
from ._lists import read_list_file

__all__ = ["Recipe", "recipe_from_files"]


class Recipe(msgspec.Struct, frozen=True, kw_only=True):
    """What a dataset is: recorded in ``generate.json``; a directory holds one recipe.

    Attributes:
        scenario: the base role-play scenario (file or built-in name).
        overrides: ``--set`` changes to it.
        model: the model spec (None: the scenario's).
        seed: the first chat's seed; each chat's depends on its id alone (``_growth.chat_seed``).
        assistant_roles: the roles given, or None to have the model list ``num_assistant_roles``.
        user_roles: likewise.
        tasks: tasks given for every pair, or None to have the model list ``tasks_per_pair``.
    """

    scenario: str
    overrides: tuple[str, ...] = ()
    model: str | None = None
    seed: int = 0
    assistant_roles: tuple[str, ...] | None = None
    user_roles: tuple[str, ...] | None = None
    tasks: tuple[str, ...] | None = None
    num_assistant_roles: int = 50
    num_user_roles: int = 50
    tasks_per_pair: int = 10

    def describe(self) -> str:
        """A few words on what the dataset is, for errors."""
        def count(given: tuple[str, ...] | None, asked: int, what: str) -> str:
            return f"{len(given)} {what} given" if given is not None else f"{asked} {what} asked for"

        return ", ".join((
            count(self.assistant_roles, self.num_assistant_roles, "assistant roles"),
            count(self.user_roles, self.num_user_roles, "user roles"),
            count(self.tasks, self.tasks_per_pair, "tasks per pair"),
            f"seed {self.seed}",
        ))


def recipe_from_files(
    scenario: str,
    *,
    assistant_roles: str | os.PathLike[str] | int = 50,
    user_roles: str | os.PathLike[str] | int = 50,
    tasks: str | os.PathLike[str] | int = 10,
    **settings: Any,
) -> Recipe:
    """A recipe whose lists are read from files (a path) or made by the model (a count).

    Raises:
        DatasetError: a file is missing, unreadable or empty; a count is below 1.
    """
    given: dict[str, Any] = {}
    for key, value, count_key in (
        ("assistant_roles", assistant_roles, "num_assistant_roles"),
        ("user_roles", user_roles, "num_user_roles"),
        ("tasks", tasks, "tasks_per_pair"),
    ):
        if isinstance(value, int):
            if value < 1:
                raise DatasetError(f"--{count_key.replace('_', '-')}", f"must be at least 1, not {value}")
            given[count_key] = value
        else:
            try:
                given[key] = tuple(read_list_file(value))
            except ConverseError as exc:
                raise DatasetError(f"--{key.replace('_', '-')}", str(exc)) from None
    return Recipe(scenario=scenario, **given, **settings)
