"""Logging through structlog, imported when the first line is logged.

Importing structlog takes about a tenth of a second: it brings in its console renderer, and
with it rich's tracebacks, pygments and attrs. Most commands and most runs log nothing, so the
runtime (and converse, which logs the same way) holds a ``get_logger`` proxy that imports
structlog on its first call, and an application's configuration waits for that moment too
(``configure``). A line that comes when structlog cannot be imported (no file descriptor
left, say) is dropped rather than raised into the code that logged it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["Logger", "configure", "get_logger"]

_pending: Callable[[], None] | None = None  # an application's setup, waiting for the import


class Logger:
    """A structlog logger (``structlog.get_logger(*args)``) made on its first call."""

    __slots__ = ("_args", "_logger")

    def __init__(self, *args: Any) -> None:
        self._args = args
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        logger = self._logger
        if logger is None:
            try:
                structlog = _structlog()
            except Exception:
                # The first line often comes in trouble (no file descriptor left, say), when an
                # import can fail: that line is lost, not the work of whoever logged it. The
                # next line tries again.
                return _drop
            logger = self._logger = structlog.get_logger(*self._args)
        return getattr(logger, method)


def _drop(*args: Any, **kwargs: Any) -> None:
    return None


def get_logger(*args: Any) -> Logger:
    """What ``structlog.get_logger(*args)`` gives, without importing structlog yet."""
    return Logger(*args)


def configure(setup: Callable[[], None]) -> None:
    """Run ``setup`` (an application's ``structlog.configure``) before anything is logged:
    now if structlog is imported already, else when a ``Logger`` first imports it (a second
    ``configure`` replaces a setup still waiting, as a second ``structlog.configure`` would)."""
    global _pending
    if "structlog" in sys.modules:
        _pending = None
        setup()
    else:
        _pending = setup


def _structlog() -> Any:
    global _pending
    import structlog

    if _pending is not None:
        _pending()
        _pending = None  # once it has run: a setup that failed is run again next time
    return structlog
