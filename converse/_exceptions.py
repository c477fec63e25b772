"""Every error and warning converse raises on purpose.

Hierarchy::

    ConverseError
    ├── ScenarioError          a scenario file or override is wrong (file and key path)
    ├── LogError               an event log is missing, not a log, or corrupt (file and line)
    ├── LogWriteError          a run's log could not be written (a full disk, say): the run fails
    ├── ModelSpecError         a ``--model`` spec names no known model, or has bad options
    ├── CallFailed             one attempt of a model call failed (``retryable`` or not)
    │   └── RetriesExhausted   every attempt the scheduler allowed failed (``last`` is the final one)
    ├── StructuredOutputError  a model never answered with JSON of the asked-for schema, repairs included
    ├── ContextWindowExceeded  an agent's prompt cannot fit the model's window, whatever its memory drops
    ├── ReplayError            a log holds no answer to a request, or not this request
    ├── NothingToResume        the run to resume already ended for good (completed, or out of budget)
    ├── DirectoryInUse         another process is writing the run, sweep or dataset (its pid, host, since)
    ├── JudgeReturnError       a Python judge returned something that is not a verdict (key path)
    ├── NotARolePlay           a chat or dataset record was asked of events that are not a role-play's
    ├── ChatUnfinished         a role-play's run did not complete, so it has no chat to save
    ├── ListFileError          a roles or tasks file is missing, unreadable, not UTF-8, or empty
    ├── SweepError             a sweep's grid, repeats or output directory is wrong
    ├── DatasetError           a role-play dataset's roles, tasks or output directory is wrong
    └── ViewError              ``converse view`` cannot start: a bad directory, port or address

    ConverseWarning
    ├── TornTailWarning        a log's last line was cut off mid-write (a crash) and was skipped
    └── WorkerWarning          a worker process failed before it took a run; the others ran its share

Each error is meant to be shown to a user as one line: ``str(err)`` names the place. The
message is built in ``__init__`` from the fields it takes, which stay attributes (match on
``err.file``, ``err.status`` and friends, not on the prose).

Every one pickles (errors cross process boundaries: the Ray backend ships them between
processes) as a call of its class with the arguments it was made with, and keeps every
attribute: the bases do it through the runtime's ``actors.RebuildsFromArguments``, so no
class writes ``__reduce__``.

This module imports nothing from the rest of converse: it sits below every layer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from actors import RebuildsFromArguments

if TYPE_CHECKING:
    from .log._events import Usage

__all__ = [
    "CallFailed",
    "ChatUnfinished",
    "ContextWindowExceeded",
    "ConverseError",
    "ConverseWarning",
    "DatasetError",
    "DirectoryInUse",
    "JudgeReturnError",
    "ListFileError",
    "LogError",
    "LogWriteError",
    "ModelSpecError",
    "NotARolePlay",
    "NothingToResume",
    "ReplayError",
    "RetriesExhausted",
    "ScenarioError",
    "StructuredOutputError",
    "SweepError",
    "TornTailWarning",
    "ViewError",
    "WorkerWarning",
]

class ConverseError(RebuildsFromArguments, Exception):
    """Base class of converse's own errors."""


class ConverseWarning(RebuildsFromArguments, UserWarning):
    """Base class of converse's own warnings."""


# -- scenario, log, models ----------------------------------------------------------------------


class ScenarioError(ConverseError):
    """A problem in a scenario file, e.g. ``labs.toml: $.agents[2].council.rounds: Expected int``."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        self.file = file
        self.path = path
        self.problem = problem
        where = f"{file}: {path}" if path else file
        super().__init__(f"{where}: {problem}")


class LogError(ConverseError):
    """A problem in an event log, e.g. ``events.jsonl:12: not a JSON object``."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        self.file = file
        self.line = line
        self.problem = problem
        super().__init__(f"{file}:{line}: {problem}" if line else f"{file}: {problem}")


class LogWriteError(ConverseError):
    """A run's log could not be written, e.g. ``runs/x/events.jsonl: [Errno 28] No space left
    on device``. Raised where a model call waits for its event to be written: the run cannot
    keep the write-ahead rule, so it fails rather than go on unrecorded."""

    def __init__(self, file: str, problem: str) -> None:
        self.file, self.problem = file, problem
        super().__init__(f"{file}: {problem}")


class WorkerWarning(ConverseWarning):
    """A worker process of a sweep or a dataset failed before it took a run; the others ran its
    share, e.g. ``--workers: worker 2 of 2 exited with code 1 before it took a run``."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class TornTailWarning(ConverseWarning):
    """The log's last line was cut off mid-write (the run was interrupted) and was skipped."""

    def __init__(self, file: str, line: int) -> None:
        self.file = file
        self.line = line
        super().__init__(f"{file}:{line}: skipped a torn last line (the run was interrupted mid-write)")


class ModelSpecError(ConverseError):
    """A model spec that names no known model or has bad options."""

    def __init__(self, spec: str, problem: str) -> None:
        self.spec = spec
        self.problem = problem
        super().__init__(f"model {spec!r}: {problem}")


class CallFailed(ConverseError):
    """One attempt of a model call failed (what a model backend raises).

    Args:
        message: what happened, naming the server; ``str(err)`` is this message.
        retryable: whether another attempt may succeed (overload, 429, timeout, 5xx).
        retry_after: seconds the server asked us to wait, if it said.
        status: the HTTP status, if any.
        kind: a short category, e.g. ``rate_limit``, ``timeout``, ``auth``, ``error``, ``empty``
            (an answer with no text, or only whitespace).
        usage: the tokens the attempt was charged for, when an answer came but could not be
            kept (an empty one): a ``converse.events.Usage``.
    """

    def __init__(
        self, message: str, *, retryable: bool, retry_after: float | None = None, status: int | None = None,
        kind: str = "error", usage: Usage | None = None,
    ) -> None:
        self.message, self.retryable, self.retry_after = message, retryable, retry_after
        self.status, self.kind, self.usage = status, kind, usage
        super().__init__(message)


class RetriesExhausted(CallFailed):
    """Every allowed attempt at ``endpoint`` failed; ``last`` is the final attempt's error."""

    def __init__(self, endpoint: str, attempts: int, last: CallFailed) -> None:
        self.endpoint, self.attempts, self.last = endpoint, attempts, last
        message = f"{endpoint}: gave up after {attempts} attempts; last: {last.message}"
        super().__init__(message, retryable=False, status=last.status, kind=last.kind)


class StructuredOutputError(ConverseError):
    """No answer validated against the schema, repairs included.

    Args:
        schema_name: the name of the type asked for.
        attempts: every call made (``converse.StructuredAttempt``), each with its error.
        last_error: msgspec's message about the last answer.
    """

    def __init__(self, schema_name: str, attempts: list[Any], last_error: str) -> None:
        self.schema_name, self.last_error = schema_name, last_error
        self.attempts: list[Any] = attempts  # StructuredAttempt, which lives above this module
        n = len(attempts)
        plural = "s" if n != 1 else ""
        super().__init__(f"{schema_name}: no valid answer in {n} attempt{plural}; last error: {last_error}")


# -- engine -------------------------------------------------------------------------------------


class ContextWindowExceeded(ConverseError):
    """A turn's prompt cannot fit the model's context window, whatever the memory drops."""

    def __init__(self, agent: str, needed: int, limit: int, answer: int, policy: str) -> None:
        self.agent, self.needed, self.limit, self.answer, self.policy = agent, needed, limit, answer, policy
        hint = (
            "set memory.policy = \"window\" or \"summary\", or a larger model.context_window"
            if policy == "everything"
            else "the turn's own message is too long for it: shorten the prompts or raise model.context_window"
        )
        super().__init__(
            f"{agent}'s prompt needs about {needed:,} tokens and {answer:,} more for the answer, "
            f"over the model's window of {limit + answer:,} ({hint})"
        )


class ReplayError(ConverseError):
    """A request the log cannot answer: none recorded, or not the one recorded.

    Args:
        source: the log the answers come from.
        speaker: who asked.
        index: which of the speaker's calls (1, 2, ...).
        problem: what is wrong.
    """

    def __init__(self, source: str, speaker: str, index: int, problem: str) -> None:
        self.source, self.speaker, self.index, self.problem = source, speaker, index, problem
        super().__init__(f"{source}: {speaker}'s call {index}: {problem}")


class _Ending(Protocol):
    """What ``NothingToResume`` reads of the run's ``RunFinished`` event."""

    @property
    def status(self) -> str: ...

    @property
    def reason(self) -> str: ...


class NothingToResume(ConverseError):
    """The run finished (completed, or out of budget): there is nothing to continue.

    Args:
        directory: the run directory.
        finished: the log's ``RunFinished`` event.
    """

    def __init__(self, directory: Path, finished: _Ending) -> None:
        self.directory, self.finished = directory, finished
        super().__init__(f"{directory}: the run already ended {finished.status} ({finished.reason}); nothing to resume")


class DirectoryInUse(ConverseError):
    """Another writer holds the directory's lock: one process writes a run (a sweep, a dataset)
    at a time, e.g. ``runs/r1: the run is being written by pid 4242 on box since
    2026-05-01T09:00:00+00:00 (...)``.

    Args:
        directory: the directory asked for.
        what: what it holds: ``run``, ``sweep`` or ``dataset``.
        pid, host, since: the holder's process id, host name and when it took the lock (UTC,
            ISO 8601); None when its lock file did not say.
    """

    def __init__(
        self, directory: Path, what: str, pid: int | None = None, host: str | None = None, since: str | None = None
    ) -> None:
        self.directory, self.what, self.pid, self.host, self.since = directory, what, pid, host, since
        holder = "another process" if pid is None else f"pid {pid} on {host} since {since}"
        super().__init__(
            f"{directory}: the {what} is being written by {holder} "
            "(one writer at a time: wait for it to end, or stop it)"
        )


# -- judge --------------------------------------------------------------------------------------


class JudgeReturnError(ConverseError):
    """A Python judge returned something that is not a verdict, e.g.
    ``Expected `int`, got `str` - at `$.scores.agi_year.OpenAI```.

    Args:
        problem: what is wrong, in msgspec's words.
        path: where, as the judge wrote it (``$``, ``$.scores``, ``$.scores.agi_year.OpenAI``).
    """

    def __init__(self, problem: str, path: str) -> None:
        self.problem, self.path = problem, path
        super().__init__(f"{problem} - at `{path}`")


# -- role-play datasets -------------------------------------------------------------------------


class NotARolePlay(ConverseError):
    """The events are not a role-play's, e.g. ``run.jsonl: not a role-play (...)``."""

    def __init__(self, source: str, problem: str = "not a role-play (no [roleplay] table)") -> None:
        self.source, self.problem = source, problem
        super().__init__(f"{source}: {problem}")


class ChatUnfinished(ConverseError):
    """The role-play's run did not complete, so it has no chat to save, e.g.
    ``run.jsonl: the run did not complete: failed (RateLimitError)``."""

    def __init__(self, source: str, status: str, reason: str) -> None:
        self.source, self.status, self.reason = source, status, reason
        detail = f"{status} ({reason})" if reason else status
        super().__init__(f"{source}: the run did not complete: {detail}")


class ListFileError(ConverseError):
    """A roles or tasks file that cannot be used, e.g. ``roles.txt: holds no entries``."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path, self.problem = os.fspath(path), problem
        super().__init__(f"{self.path}: {problem}")


# -- sweeps, datasets, the command line ---------------------------------------------------------


class SweepError(ConverseError):
    """A sweep that cannot run as asked, e.g. ``--grid regulaton: three-labs has no dial named ...``."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class DatasetError(ConverseError):
    """A role-play dataset that cannot be made as asked, e.g. ``--user-roles users.txt: no such file``."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class ViewError(ConverseError):
    """The viewer cannot start: a bad directory or an address it cannot listen on.

    Its messages share no shape (``runs: no such directory``, ``127.0.0.1:8765 is in use;
    pick another --port ...``), so it takes the whole message.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
