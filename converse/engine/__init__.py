"""A run's machinery: its context, the actors' protocol, one model call, the recorder, replay and
resume, memory (memory streams among it), the ledger and the moderator base. It is handed the
kind of conversation it runs and never imports one.

Memory streams (and embeddings) compute with numpy, which takes about a third of a process's
start: they are imported when first used, so a command or a run without them never loads it."""

import typing

from ._context import RunContext as RunContext
from ._options import RunOptions as RunOptions
from ._run import ENGINE_VERSION as ENGINE_VERSION
from ._run import RunKind as RunKind
from ._run import RunResult as RunResult
from ._run import RunRoot as RunRoot
from ._run import default_scheduler as default_scheduler

if typing.TYPE_CHECKING:  # served by __getattr__, below
    from ._stream import MemoryStream as MemoryStream
    from ._stream import Record as Record
    from ._stream import Retrieval as Retrieval
    from ._stream import Retrieved as Retrieved
    from ._stream_memory import StreamMemory as StreamMemory

__all__ = [
    "ENGINE_VERSION",
    "MemoryStream",
    "Record",
    "Retrieval",
    "Retrieved",
    "RunContext",
    "RunKind",
    "RunOptions",
    "RunResult",
    "RunRoot",
    "StreamMemory",
    "default_scheduler",
]

_STREAMS = {"MemoryStream": "_stream", "Record": "_stream", "Retrieval": "_stream", "Retrieved": "_stream",
            "StreamMemory": "_stream_memory"}


def __getattr__(name: str) -> typing.Any:
    """The memory streams' names, imported when first asked for (they need numpy)."""
    module = _STREAMS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # asked once
    return value
