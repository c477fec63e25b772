"""An asyncio event loop whose timers end when they are due, not up to a millisecond later.

On Linux asyncio waits with ``epoll_wait``, which takes whole milliseconds; Python rounds each
wait up to the next one, so as never to wake early. A timer due in 0.3 ms is then served a
millisecond later, and so is every timer due within a fraction of a millisecond of another
one's wake-up: each step of a chain of timed waits (a simulated model's latency, a backoff, a
rate limit's pause) ends 0.5 to 1 ms late. The selector here makes the same wait through
``select()`` on the epoll descriptor itself, which takes microseconds (an epoll descriptor is
readable while any descriptor it watches has an event), and then reads the events without
waiting. Sockets and pipes wake it exactly as before; only a wait that ends by its timeout
ends on time.

``run`` is ``anyio.run`` on that loop; ``new_event_loop`` makes one, for ``asyncio.Runner``.
Elsewhere than Linux (kqueue takes nanoseconds; Windows has no epoll) both give asyncio's own
loop, and under trio ``run`` is ``anyio.run`` as it is.
"""

from __future__ import annotations

import asyncio
import select
import selectors
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

__all__ = ["new_event_loop", "run"]

T = TypeVar("T")


if hasattr(selectors, "EpollSelector"):

    class _PreciseEpollSelector(selectors.EpollSelector):
        """``EpollSelector`` whose waits end on time, to the microsecond."""

        def __init__(self) -> None:
            super().__init__()
            self._precise = True  # False once select() refused the descriptor (beyond FD_SETSIZE)

        def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            if timeout is not None and timeout > 0 and self._precise:
                try:
                    ready = select.select((self.fileno(),), (), (), timeout)[0]
                except ValueError:  # a descriptor numbered past select()'s reach: epoll's own wait
                    self._precise = False
                else:
                    if not ready:
                        return []
                    timeout = 0
            return super().select(timeout)

    def new_event_loop() -> asyncio.AbstractEventLoop:
        """A new asyncio event loop whose timers end when due (``asyncio.Runner(loop_factory=...)``)."""
        return asyncio.SelectorEventLoop(_PreciseEpollSelector())

else:  # pragma: no cover - not Linux

    def new_event_loop() -> asyncio.AbstractEventLoop:
        """A new asyncio event loop (its timers already end when due here)."""
        return asyncio.new_event_loop()


def run(
    func: Callable[..., Awaitable[T]],
    *args: object,
    backend: str = "asyncio",
    backend_options: dict[str, Any] | None = None,
) -> T:
    """``anyio.run(func, *args)``, on an asyncio loop from ``new_event_loop`` unless
    ``backend_options`` names a loop of its own (``loop_factory``, ``use_uvloop``)."""
    options = dict(backend_options or {})
    if backend == "asyncio" and "loop_factory" not in options and not options.get("use_uvloop"):
        options["loop_factory"] = new_event_loop
    return anyio.run(func, *args, backend=backend, backend_options=options)
