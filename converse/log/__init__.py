"""The event log: one tagged union of events, and the writer and readers of its JSON Lines file."""

from ._log import MAX_LINE as MAX_LINE
from ._log import LogWriter as LogWriter
from ._log import iter_events as iter_events
from ._log import read_events as read_events
from ._log import read_for_append as read_for_append

__all__ = [
    "MAX_LINE",
    "LogWriter",
    "iter_events",
    "read_events",
    "read_for_append",
]
