"""Every problem of a scenario at once: the checks record each one here and go on, so that
``converse validate`` lists them all in one run, and loading raises the first."""

from __future__ import annotations

from typing import Any

import msgspec

from .._exceptions import ScenarioError

__all__ = ["Problems", "related"]


class Problems:
    """The problems found in one scenario file, in the order found.

    Attributes:
        file: the file they are in, as every error names it.
        found: one ``ScenarioError`` per problem.
        dropped: key paths whose values were left out because their types were wrong; a
            later check that looks at (or under) one of them is not reported, since it
            would only see the default put in its place.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[ScenarioError] = []
        self.dropped: list[str] = []

    def add(self, path: str, problem: str, *, reads: tuple[str, ...] = ()) -> None:
        """Record one problem at ``path`` (``$.agents[2].council.rounds``), found by looking at
        ``path`` and the key paths in ``reads``."""
        if not any(related(seen, gone) for seen in (path, *reads) for gone in self.dropped):
            self.found.append(ScenarioError(self.file, path, problem))

    def drop(self, path: str, shown: str, problem: str) -> None:
        """Record a value of the wrong type at ``path``, left out of what is checked next;
        the error names ``shown`` (the path of the table, for an unknown key)."""
        self.found.append(ScenarioError(self.file, shown, problem))
        self.dropped.append(path)

    def converts(self, value: Any, kind: Any, path: str) -> bool:
        """Whether ``value`` (at ``path``) is of type ``kind``; if not, it is dropped, with
        msgspec's reason and the exact key path inside it."""
        try:
            msgspec.convert(value, kind)
        except msgspec.ValidationError as exc:
            problem, _, at = str(exc).partition(" - at `$")
            self.drop(path, path + at.rstrip("`"), problem.replace("`", ""))
            return False
        return True

    def record(self, error: ScenarioError) -> None:
        """Record an error raised by a check that stops at its first problem."""
        self.add(error.path, error.problem)

    def first(self) -> ScenarioError | None:
        """The first problem, or None."""
        return self.found[0] if self.found else None


def related(path: str, other: str) -> bool:
    """Whether one key path is the other or lies inside it (``$.agents`` and ``$.agents[1].kind``)."""
    short, long = sorted((path, other), key=len)
    return long == short or long.startswith((f"{short}.", f"{short}["))
