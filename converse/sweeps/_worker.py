"""A worker process of a local sweep: ``python -m converse.sweeps._worker COUNT`` (see
``_workers``). It reads its batch from stdin (one frame), runs it, writes each run's outcome
to stdout (a frame each) as the run ends, and exits 0. Closing its stdin stops it: its runs
are cancelled and their logs end ``cancelled``. Anything else it would print goes to stderr.
It runs in a session of its own, so that a Ctrl-C at the terminal reaches only the sweep,
which stops it.
"""

from __future__ import annotations

import os
import pickle
import sys
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from anyio import CancelScope

_HEADER = 8


def main(argv: list[str]) -> int:
    out = os.fdopen(os.dup(1), "wb")  # the frames; fd 1 becomes stderr's
    os.dup2(2, 1)
    head = _read(0, _HEADER)
    if len(head) < _HEADER:
        return 0  # stopped before it was handed its batch
    body = _read(0, int.from_bytes(head, "big"))
    from ._batches import Batch

    batch = pickle.loads(body)
    assert isinstance(batch, Batch)
    import actors

    try:
        return actors.run(_work, batch, int(argv[0]), out)
    except BrokenPipeError:
        return 0  # the sweep is gone: nobody to tell
    except Exception as exc:  # one line for the sweep's stderr, not a traceback
        print(f"converse: sweep worker {batch.index + 1}: {type(exc).__name__}: {exc}", file=sys.stderr)
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


async def _work(batch: object, count: int, out: BinaryIO) -> int:
    import anyio

    from ._batches import Batch, Outcome, outcomes
    from ._workers import ShareScheduler, frame

    assert isinstance(batch, Batch)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_stop_when_closed, tg.cancel_scope)
        async with outcomes(batch, ShareScheduler(batch, count)) as next_outcome:
            while (item := await next_outcome()) is not None:
                if isinstance(item, Outcome):
                    out.write(frame(item))
                    out.flush()
        tg.cancel_scope.cancel()
    return 0


async def _stop_when_closed(scope: CancelScope) -> None:
    """Cancel ``scope`` when stdin ends: the sweep asks us to stop, or is gone."""
    import anyio

    while True:
        await anyio.wait_readable(0)
        if not os.read(0, 1 << 12):
            scope.cancel()
            return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
