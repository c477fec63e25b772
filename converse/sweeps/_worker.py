"""A worker process of a local sweep or dataset: ``main([COUNT])``, which the sweep starts
(``_workers._LAUNCH``; ``python -m converse.sweeps._worker COUNT`` does the same).

It reads its batch from stdin (one frame), says it is ready (a frame on stdout), then runs
each run the sweep deals it (a frame each; None: no more), writes each run's outcome to
stdout (a frame each) as the run ends, and exits 0 once its runs have.
Closing its stdin stops it: its runs are cancelled and their logs end ``cancelled``; so does
a sweep that is gone (its stdin ends, or nobody reads its stdout). Anything else it would
print goes to stderr. It runs in a session of its own, so that a Ctrl-C at the terminal
reaches only the sweep, which stops it.
"""

from __future__ import annotations

import os
import pickle
import sys

import anyio
from anyio.streams.memory import MemoryObjectSendStream

import actors

from ._batches import Batch, Outcome, outcomes
from ._many import Job
from ._workers import HEADER, ShareScheduler, frame


def main(argv: list[str]) -> int:
    out = os.dup(1)  # the frames; fd 1 becomes stderr's
    os.dup2(2, 1)
    head = _read(0, HEADER)
    size = int.from_bytes(head, "big")
    body = _read(0, size)
    if len(head) < HEADER or len(body) < size:
        return 0  # stopped before it was handed its batch
    batch = pickle.loads(body)
    assert isinstance(batch, Batch)
    try:
        return actors.run(_work, batch, int(argv[0]), out)
    except Exception as exc:  # one line for the sweep's stderr, not a traceback
        print(f"converse: worker {batch.index + 1}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _read(fd: int, size: int) -> bytes:
    """``size`` bytes from ``fd``, fewer if it ends first."""
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def _tell(out: int, item: object) -> bool:
    """Write ``item`` to the sweep, as a frame; False if the sweep is gone."""
    data = memoryview(frame(item))
    try:
        while data:
            data = data[os.write(out, data) :]
    except BrokenPipeError:
        return False
    return True


async def _work(batch: Batch, count: int, out: int) -> int:
    send, receive = anyio.create_memory_object_stream[Job](1 << 20)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_read_runs, send, tg.cancel_scope)
        gone = not _tell(out, "ready")  # imported and running: the runs may come
        with receive:  # the runs dealt, until the sweep says there are no more
            async with outcomes(batch, ShareScheduler(batch, count), receive) as next_outcome:
                while not gone and (item := await next_outcome()) is not None:
                    if isinstance(item, Outcome):
                        gone = not _tell(out, item)
            # Leaving cancels the runs still going if the sweep is gone: their logs end.
        tg.cancel_scope.cancel()
    return 0


async def _read_runs(send: MemoryObjectSendStream[Job], scope: anyio.CancelScope) -> None:
    """Pass on the runs the sweep deals, until it says there are no more (None); cancel
    ``scope`` when stdin ends: the sweep asks us to stop, or is gone."""
    pending = bytearray()
    with send:
        while True:
            await anyio.wait_readable(0)
            data = os.read(0, 1 << 16)
            if not data:
                scope.cancel()
                return
            pending += data
            while len(pending) >= HEADER and len(pending) >= HEADER + (size := int.from_bytes(pending[:HEADER], "big")):
                item = pickle.loads(pending[HEADER : HEADER + size])
                del pending[: HEADER + size]
                if item is None:
                    send.close()  # no more runs: ours end as they finish
                else:
                    send.send_nowait(item)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
