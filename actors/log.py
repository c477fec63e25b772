"""Logging through structlog, imported when the first line is logged.

Importing structlog takes about a tenth of a second: it brings in its console renderer, and
with it rich's tracebacks, pygments and attrs. Most commands and most runs log nothing, so the
runtime (and converse, which logs the same way) holds a ``get_logger`` proxy that imports
structlog on its first call, and an application's configuration waits for that moment too
(``configure``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["Logger", "configure", "get_logger"]

_pending: list[Callable[[], None]] = []


class Logger:
    """A structlog logger (``structlog.get_logger(*args)``) made on its first call."""

    __slots__ = ("_args", "_logger")

    def __init__(self, *args: Any) -> None:
        self._args = args
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        logger = self._logger
        if logger is None:
            logger = self._logger = _structlog().get_logger(*self._args)
        return getattr(logger, method)


def get_logger(*args: Any) -> Logger:
    """What ``structlog.get_logger(*args)`` gives, without importing structlog yet."""
    return Logger(*args)


def configure(setup: Callable[[], None]) -> None:
    """Run ``setup`` (an application's ``structlog.configure``) before anything is logged:
    now if structlog is imported already, else when a ``Logger`` first imports it."""
    if "structlog" in sys.modules:
        _pending.clear()  # an earlier setup still waiting is replaced, as a second configure would
        setup()
    else:
        _pending[:] = [setup]


def _structlog() -> Any:
    import structlog

    while _pending:
        _pending.pop()()
    return structlog
