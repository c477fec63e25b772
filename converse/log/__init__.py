"""The event log: one tagged union of events, and the writer and readers of its JSON Lines file."""

from ._log import LogWriter as LogWriter
from ._log import iter_events as iter_events
from ._log import last_good_offset as last_good_offset
from ._log import read_events as read_events

__all__ = [
    "LogWriter",
    "iter_events",
    "last_good_offset",
    "read_events",
]
