"""A run's machinery: its context, the actors' protocol, one model call, the recorder, replay and
resume, memory (memory streams among it), the ledger and the moderator base. It is handed the
kind of conversation it runs and never imports one."""

from ._context import RunContext as RunContext
from ._options import RunOptions as RunOptions
from ._run import ENGINE_VERSION as ENGINE_VERSION
from ._run import RunKind as RunKind
from ._run import RunResult as RunResult
from ._run import RunRoot as RunRoot
from ._run import default_scheduler as default_scheduler
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
