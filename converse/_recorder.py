"""The recorder: one actor per run that appends the run's events to its log, in order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from actors import Actor

from ._events import Event
from ._log import LogWriter


class Recorder(Actor):
    """Stamps each event with ``seq`` and ``t`` and appends it to ``events.jsonl``.

    Events are encoded as they arrive and written in batches: whenever the mailbox runs
    empty (so a quiet run's log is never more than a moment behind) or the batch passes
    64 KiB (so a busy one writes big blocks).
    """

    def __init__(self, path: Path, clock: Callable[[], float], next_seq: int = 0) -> None:
        self.path = path
        self.clock = clock
        self.next_seq = next_seq
        self.writer: LogWriter | None = None

    async def on_start(self) -> None:
        self.writer = LogWriter(self.path, next_seq=self.next_seq, clock=self.clock)

    async def receive(self, message: object) -> None:
        if isinstance(message, Event):
            assert self.writer is not None
            self.writer.write(message)

    async def on_idle(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    async def on_stop(self) -> None:
        if self.writer is not None:
            self.writer.close()
