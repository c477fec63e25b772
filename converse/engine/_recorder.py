"""The recorder: one actor per run that appends the run's events to its log, in order."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import anyio
import msgspec

from actors import Actor

from ..log._events import Event
from ..log._log import LogWriter
from ._protocol import Flush


class Renderer(Protocol):
    """What builds a transcript as events come (``converse.transcript.MarkdownRenderer``)."""

    def feed(self, events: Iterable[Any]) -> None: ...

    def text(self) -> str: ...


class Transcript:
    """A fresh run's transcript, built from its events as its recorder writes them: the
    renderer ``make`` returns for the first event (the run-started one) is fed every event in
    log order, a batch at a time, so the transcript needs no second reading of the log.

    Args:
        make: a renderer for the run that starts with this event.
    """

    _BATCH = 64

    def __init__(self, make: Callable[[Any], Renderer]) -> None:
        self.make = make
        self.renderer: Renderer | None = None
        self.pending: list[Event] = []

    def take(self, event: Event) -> None:
        """The next event written to the log."""
        self.pending.append(event)
        if len(self.pending) >= self._BATCH:
            self.feed()

    def feed(self) -> None:
        """Hand the events taken so far to the renderer."""
        pending = self.pending
        if pending:
            if self.renderer is None:
                self.renderer = self.make(pending[0])
            self.renderer.feed(pending)
            pending.clear()

    def text(self) -> str | None:
        """The transcript of every event written (the recorder takes each one it writes, and
        only those); None if none was."""
        self.feed()
        return self.renderer.text() if self.renderer is not None else None


class Recorder(Actor):
    """Stamps each event with ``seq`` and ``t`` and appends it to ``events.jsonl``.

    Events are encoded as they arrive and written in batches: whenever the mailbox runs
    empty (so a quiet run's log is never more than a moment behind), the batch passes
    64 KiB (so a busy one writes big blocks), or someone asks for a ``Flush``.

    A resumed run re-creates the events its log already holds; ``skip`` counts those
    (each as ``identity`` gives it), and the recorder drops them instead of writing them
    twice. A fresh run's ``transcript`` is fed every event written.
    """

    def __init__(
        self, path: Path, clock: Callable[[], float], next_seq: int = 0, skip: Counter[bytes] | None = None,
        transcript: Transcript | None = None,
    ) -> None:
        self.path = path
        self.clock = clock
        self.next_seq = next_seq
        self.skip = skip
        self.writer: LogWriter | None = None
        self.transcript = transcript  # a fresh run's, fed every event written

    async def on_start(self) -> None:
        self.writer = LogWriter(self.path, next_seq=self.next_seq, clock=self.clock)

    async def receive(self, message: object) -> None:
        assert self.writer is not None
        if isinstance(message, Event):
            if self.skip:
                key = identity(message)
                left = self.skip.get(key, 0)
                if left:
                    if left == 1:
                        del self.skip[key]  # an empty Counter turns the check off
                    else:
                        self.skip[key] = left - 1
                    return
            self.writer.write(message)
            if self.transcript is not None:
                self.transcript.take(message)
        elif isinstance(message, Flush):
            self.writer.flush()

    async def on_idle(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    async def on_stop(self) -> None:
        # The run is over: its log goes to disk (fsync, in a worker thread so that other
        # runs go on meanwhile) before anyone is told it finished.
        if self.writer is not None:
            writer = self.writer
            try:
                writer.flush()
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(os.fsync, writer.fileno())
            finally:
                writer.close()


def identity(event: Event) -> bytes:
    """An event's content without its stamp (``seq``, ``t``): equal for a re-created event."""
    if event.seq == -1:
        return msgspec.json.encode(event)
    return msgspec.json.encode(msgspec.structs.replace(event, seq=-1, t=0.0))
