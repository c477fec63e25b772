"""Every error converse raises on purpose.

Hierarchy::

    ConverseError
    ├── ScenarioError      a scenario file or override is wrong (file and key path)
    ├── LogError           an event log is not a log, or is corrupt (file and line)
    ├── ModelSpecError     a ``--model`` spec names no known model
    ├── CallFailed         one model call failed (``converse.models._scheduler``; retryable or not)
    │   └── RetriesExhausted   every attempt the scheduler allowed failed
    ├── StructuredOutputError  a model never answered with JSON of the asked-for schema
    ├── ReplayError        a log holds no answer to a request, or not this request (``converse.engine._replay``)
    ├── NothingToResume    the run to resume already ended for good (``converse.engine._resume``)
    ├── SweepError         a sweep's grid, repeats or output directory is wrong
    └── DatasetError       a role-play dataset's roles, tasks or output directory is wrong

Each is meant to be shown to a user as one line: ``str(err)`` names the place.
"""

from __future__ import annotations


class ConverseError(Exception):
    """Base class of converse's own errors."""


class ScenarioError(ConverseError):
    """A problem in a scenario file, e.g. ``labs.toml: $.agents[2].council.rounds: Expected int``."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        self.file = file
        self.path = path
        self.problem = problem
        where = f"{file}: {path}" if path else file
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[str, str, str]]:
        return (type(self), (self.file, self.path, self.problem))


class LogError(ConverseError):
    """A problem in an event log, e.g. ``events.jsonl:12: not a JSON object``."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        self.file = file
        self.line = line
        self.problem = problem
        super().__init__(f"{file}:{line}: {problem}" if line else f"{file}: {problem}")

    def __reduce__(self) -> tuple[type[LogError], tuple[str, int, str]]:
        return (type(self), (self.file, self.line, self.problem))


class ModelSpecError(ConverseError):
    """A model spec that names no known model or has bad options."""

    def __init__(self, spec: str, problem: str) -> None:
        self.spec = spec
        self.problem = problem
        super().__init__(f"model {spec!r}: {problem}")

    def __reduce__(self) -> tuple[type[ModelSpecError], tuple[str, str]]:
        return (type(self), (self.spec, self.problem))


class SweepError(ConverseError):
    """A sweep that cannot run as asked, e.g. ``--grid regulaton: three-labs has no dial named ...``."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[type[SweepError], tuple[str, str]]:
        return (type(self), (self.where, self.problem))


class DatasetError(ConverseError):
    """A role-play dataset that cannot be made as asked, e.g. ``--user-roles users.txt: no such file``."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[type[DatasetError], tuple[str, str]]:
        return (type(self), (self.where, self.problem))
