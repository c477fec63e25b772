"""anyio's ``checkpoint`` and ``sleep``, without anyio's lookup of the running async library on
every call.

On asyncio, anyio's ``checkpoint()`` is ``asyncio.sleep(0)`` and its ``sleep(d)`` is
``asyncio.sleep(d)``, reached through sniffio and a backend lookup each time: about a
microsecond a call, which the runtime pays several times per message on its hot path.
Here an asyncio event loop running in this thread is found with one C call, and asyncio is
called directly; under any other library (trio) anyio is called as usual.
"""

from __future__ import annotations

from asyncio import _get_running_loop
from asyncio import sleep as _asyncio_sleep
from collections.abc import Awaitable

import anyio
import anyio.lowlevel

__all__ = ["checkpoint", "sleep"]


def checkpoint() -> Awaitable[None]:
    """Yield to the event loop once (and raise there if the task's scope was cancelled)."""
    if _get_running_loop() is not None:
        return _asyncio_sleep(0)
    return anyio.lowlevel.checkpoint()


def sleep(delay: float) -> Awaitable[None]:
    """Sleep ``delay`` seconds."""
    if _get_running_loop() is not None:
        return _asyncio_sleep(delay)
    return anyio.sleep(delay)
