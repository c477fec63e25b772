"""The recorder: one actor per run that appends the run's events to its log, in order."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import anyio
import msgspec

from actors import Actor

from ..log._events import Event
from ..log._log import LogWriter
from ._protocol import Flush


class Recorder(Actor):
    """Stamps each event with ``seq`` and ``t`` and appends it to ``events.jsonl``.

    Events are encoded as they arrive and written in batches: whenever the mailbox runs
    empty (so a quiet run's log is never more than a moment behind), the batch passes
    64 KiB (so a busy one writes big blocks), or someone asks for a ``Flush``.

    A resumed run re-creates the events its log already holds; ``skip`` counts those
    (each as ``identity`` gives it), and the recorder drops them instead of writing them
    twice.
    """

    def __init__(
        self, path: Path, clock: Callable[[], float], next_seq: int = 0, skip: Counter[bytes] | None = None
    ) -> None:
        self.path = path
        self.clock = clock
        self.next_seq = next_seq
        self.skip = skip
        self.writer: LogWriter | None = None

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
