# The lean loop works on asyncio's private attributes, as asyncio's own loops do; typeshed
# declares none of them.
# mypy: disable-error-code="attr-defined,has-type"
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

The loop is also lean where asyncio's own is written for every case at once. Scheduling a
callback (a task's next step, a future's wake-up) went through five Python frames: the public
method, its closed check, the private method, the handle's constructor and its question whether
the loop debugs. Here it is one frame and the handle's. Timers wait in a heap of ``(when, order,
handle)`` tuples, which the heap compares in C (asyncio's handles compare through a Python
``__lt__``, a few times a timer), in the order they were set when due at once. A loop in debug
mode (``set_debug``, ``PYTHONASYNCIODEBUG``) takes asyncio's own paths and checks, and reports
slow callbacks as asyncio's does.

``run`` is ``anyio.run`` on that loop; ``new_event_loop`` makes one, for ``asyncio.Runner``.
Elsewhere than Linux the loop waits with asyncio's own selector (kqueue takes nanoseconds); on
Windows (no epoll, and asyncio's default loop is its proactor) both give asyncio's own loop.
Under trio ``run`` is ``anyio.run`` as it is.
"""

from __future__ import annotations

import asyncio
import select
import selectors
import sys
from asyncio import base_events, events, format_helpers
from asyncio.base_events import MAXIMUM_SELECT_TIMEOUT
from collections.abc import Awaitable, Callable
from contextvars import Context, copy_context
from heapq import heapify, heappop, heappush
from itertools import count
from time import monotonic
from typing import Any, TypeVar, TypeVarTuple, Unpack

import anyio

__all__ = ["new_event_loop", "run"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


# asyncio's cleanup of cancelled timers, as its own loop does it: when more than this many wait
# and more than this share of them are cancelled, the heap is rebuilt without them.
_MIN_SCHEDULED = 100
_CANCELLED_SHARE = 0.5


def _made(handle: Any, callback: Callable[..., object], args: tuple[Any, ...], loop: Any, context: Context | None) -> None:
    """Fill a new handle in as asyncio's constructor does, without asking whether the loop
    debugs (it does not, or asyncio's own method made the handle)."""
    handle._context = copy_context() if context is None else context
    handle._loop = loop
    handle._callback = callback
    handle._args = args
    handle._cancelled = False
    handle._repr = None
    handle._source_traceback = None


def _cancelled(handle: Any) -> None:
    """Cancel a handle as asyncio does (it was not cancelled yet)."""
    if handle._loop._debug:
        handle._repr = repr(handle)  # as asyncio's: a debug report still names the callback
    handle._cancelled = True
    handle._callback = None
    handle._args = None


class _Handle(events.Handle):
    """A callback the lean loop runs soon (``_made``)."""

    __slots__ = ()

    __init__ = _made

    def cancel(self) -> None:
        if not self._cancelled:
            _cancelled(self)


class _TimerHandle(events.TimerHandle):
    """A timed callback of the lean loop (``_made``). Its heap entry holds its time; the
    handle does not take part in comparisons."""

    __slots__ = ()

    def __init__(
        self, when: float, callback: Callable[..., object], args: tuple[Any, ...], loop: Any, context: Context | None
    ) -> None:
        _made(self, callback, args, loop, context)
        self._when = when
        self._scheduled = True

    def cancel(self) -> None:
        if not self._cancelled:
            self._loop._timer_handle_cancelled(self)  # counted while it waits in the heap
            _cancelled(self)


class _LeanLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop with its hot paths written for the common case (see the module's
    doc): ``call_soon``, ``call_later`` and ``call_at`` in one frame each, timers in a heap of
    tuples, and callbacks run without a frame of their handle's. What it does is asyncio's."""

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        super().__init__(selector)
        self._order = count()  # ties between timers due at once: the first set runs first

    time = staticmethod(monotonic)  # asyncio's clock, called without a frame of its own

    def call_soon(
        self, callback: Callable[[Unpack[Ts]], object], *args: *Ts, context: Context | None = None
    ) -> events.Handle:
        if self._debug or self._closed:
            return _from_caller(super().call_soon(callback, *args, context=context))  # its checks, its errors
        handle: events.Handle = _Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(
        self, delay: float, callback: Callable[[Unpack[Ts]], object], *args: *Ts, context: Context | None = None
    ) -> events.TimerHandle:
        if self._debug or self._closed or delay is None:
            return _from_caller(super().call_later(delay, callback, *args, context=context))
        when = monotonic() + delay
        timer = _TimerHandle(when, callback, args, self, context)
        heappush(self._scheduled, (when, next(self._order), timer))
        return timer

    def call_at(
        self, when: float, callback: Callable[[Unpack[Ts]], object], *args: *Ts, context: Context | None = None
    ) -> events.TimerHandle:
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
            timer: events.TimerHandle = events.TimerHandle(when, callback, args, self, context)
            if timer._source_traceback:
                del timer._source_traceback[-1]
            timer._scheduled = True
        else:
            timer = _TimerHandle(when, callback, args, self, context)
        heappush(self._scheduled, (when, next(self._order), timer))
        return timer

    def _run_once(self) -> None:
        """asyncio's iteration: drop cancelled timers, wait for I/O until the first timer is
        due (no longer, if callbacks are ready), move the timers due to the ready queue, and
        run the callbacks that were ready when it began."""
        scheduled: list[tuple[float, int, events.TimerHandle]] = self._scheduled
        waiting = len(scheduled)
        if waiting > _MIN_SCHEDULED and self._timer_cancelled_count / waiting > _CANCELLED_SHARE:
            kept = []
            for entry in scheduled:
                if entry[2]._cancelled:
                    entry[2]._scheduled = False
                else:
                    kept.append(entry)
            heapify(kept)
            self._scheduled = scheduled = kept
            self._timer_cancelled_count = 0
        else:
            while scheduled and scheduled[0][2]._cancelled:
                self._timer_cancelled_count -= 1
                heappop(scheduled)[2]._scheduled = False

        ready = self._ready
        if ready or self._stopping:
            timeout: float | None = 0
        elif scheduled:
            timeout = min(max(0.0, scheduled[0][0] - monotonic()), MAXIMUM_SELECT_TIMEOUT)
        else:
            timeout = None
        event_list = self._selector.select(timeout)
        if event_list:
            self._process_events(event_list)
        event_list = None  # no cycle through a traceback

        end_time = monotonic() + self._clock_resolution
        while scheduled and scheduled[0][0] < end_time:
            timer = heappop(scheduled)[2]
            timer._scheduled = False
            ready.append(timer)

        if self._debug:
            self._run_ready_debug(len(ready))
            return
        handle = None
        for _ in range(len(ready)):  # not the callbacks these callbacks schedule: next round
            handle = ready.popleft()
            if handle._cancelled:
                continue
            try:
                handle._context.run(handle._callback, *handle._args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                _report(handle, exc)
        handle = None  # no cycle through a traceback

    def _run_ready_debug(self, todo: int) -> None:
        """Run ``todo`` ready callbacks as asyncio's debug mode does, timing each."""
        ready = self._ready
        for _ in range(todo):
            handle = ready.popleft()
            if handle._cancelled:
                continue
            try:
                self._current_handle = handle
                started = self.time()
                handle._run()
                took = self.time() - started
                if took >= self.slow_callback_duration:
                    # asyncio's report, through its logger
                    base_events.logger.warning("Executing %s took %.3f seconds", base_events._format_handle(handle), took)
            finally:
                self._current_handle = None


H = TypeVar("H", bound=events.Handle)


def _from_caller(handle: H) -> H:
    """A handle asyncio's own method made (in debug mode) for one of the lean loop's, its
    traceback ending where the loop was called, as asyncio's would."""
    if handle._source_traceback:
        del handle._source_traceback[-1]
    return handle


def _report(handle: events.Handle, exc: BaseException) -> None:
    """Hand a callback's exception to its loop's handler, as ``Handle._run`` does."""
    callback = format_helpers._format_callback_source(handle._callback, handle._args)
    context: dict[str, Any] = {"message": f"Exception in callback {callback}", "exception": exc, "handle": handle}
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)


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
        return _LeanLoop(_PreciseEpollSelector())

elif sys.platform != "win32":  # pragma: no cover - not Linux

    def new_event_loop() -> asyncio.AbstractEventLoop:
        """A new asyncio event loop (its timers already end when due here, with kqueue)."""
        return _LeanLoop(selectors.DefaultSelector())

else:  # pragma: no cover - Windows: asyncio's proactor loop, as it is

    def new_event_loop() -> asyncio.AbstractEventLoop:
        """A new asyncio event loop (asyncio's own)."""
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
