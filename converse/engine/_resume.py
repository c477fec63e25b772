"""Resuming a run from its log: the log is the checkpoint.

A resumed run starts again from its first period with the same scenario and seed, and
every model call its log holds is answered from the log (``ReplayBook``): so each agent's
memory, the clock, the moderators' places and random draws and the ledger come back exactly
as they were. The events the log already holds are recognised and not written again
(``Recorder.skip``); from the first answer the log does not hold, the run goes on live and
appends to the same log, ``seq`` following on without a gap.

What the log must hold for this to work is its model answers, and those are written before
anything acts on them (``RunContext.emit``). A run that ended ``cancelled`` or ``failed``
resumes too: its ending (the fatal error, the ledger, the run-finished event) is cut off
first. A torn last line, left by a crash in the middle of a write, is cut off as well; no other
line is ever removed. A log with any other problem (a line that is not an event, an event type
of a newer converse, a call sharing the prompt of a call the log does not hold) is refused
with one line naming the file and line, and left as it was.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .._exceptions import LogError, NothingToResume
from ..log._events import AnyEvent, Event, Ledger, RunError, RunFinished, RunStarted
from ..log._log import read_for_append
from ._recorder import identity
from ._replay import ReplayBook

__all__ = ["Resumption", "read_resumption"]

_RESUMABLE = ("cancelled", "failed")


@dataclass(slots=True)
class Resumption:
    """What a resumed run needs from its log."""

    directory: Path
    started: RunStarted
    next_seq: int
    elapsed: float  # the ``t`` of the last event kept
    skip: Counter[bytes]
    book: ReplayBook


def read_resumption(directory: str | os.PathLike[str]) -> Resumption:
    """Read a run directory's log and cut off what a resumed run replaces.

    Raises:
        LogError: there is no log, it is empty, or a line (named) is not a valid event.
        NothingToResume: the run completed or ran out of budget.
    Warns:
        TornTailWarning: the log's last line was torn by a crash; it is cut off.
    """
    directory = Path(directory)
    path = directory / "events.jsonl" if directory.is_dir() or not directory.exists() else directory
    directory = path.parent
    if not path.is_file():
        raise LogError(str(path), 0, "no such log (is this a run directory?)")
    events = read_for_append(path)
    if not events:
        raise LogError(str(path), 0, "the log is empty: the run stopped before its first event; run the scenario again")
    keep = _without_ending(directory, events)
    if len(keep) < len(events):
        _truncate(path, _offset_of_line(path, len(keep)))
    started = keep[0]
    assert type(started) is RunStarted
    return Resumption(
        directory=directory,
        started=started,
        next_seq=keep[-1].seq + 1,
        elapsed=keep[-1].t,
        skip=Counter(identity(e) for e in keep[1:]),
        book=ReplayBook(keep, source=str(path), strict=False),
    )


def _without_ending(directory: Path, events: list[AnyEvent]) -> list[AnyEvent]:
    """``events`` without a cancelled or failed run's ending (fatal error, ledger, finish)."""
    last = events[-1]
    if type(last) is not RunFinished:
        return events
    if last.status not in _RESUMABLE:
        raise NothingToResume(directory, last)
    end = len(events) - 1
    while end > 1 and (type(events[end - 1]) is Ledger or _fatal(events[end - 1])):
        end -= 1
    return events[:end]


def _fatal(event: Event) -> bool:
    return type(event) is RunError and event.fatal


def _offset_of_line(path: Path, count: int) -> int:
    """The byte offset where line ``count`` (0-based) of ``path`` starts."""
    offset = 0
    with path.open("rb") as f:
        for _ in range(count):
            offset += len(f.readline())
    return offset


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as f:
        f.truncate(size)
        os.fsync(f.fileno())
