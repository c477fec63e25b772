"""A run's machinery: its context, the actors' protocol, one model call, the recorder, replay and
resume, memory, the ledger and the moderator base. It is handed the kind of conversation it runs
and never imports one."""

from ._context import RunContext as RunContext
from ._options import RunOptions as RunOptions
from ._run import ENGINE_VERSION as ENGINE_VERSION
from ._run import RunKind as RunKind
from ._run import RunResult as RunResult
from ._run import RunRoot as RunRoot
from ._run import default_scheduler as default_scheduler

__all__ = [
    "ENGINE_VERSION",
    "RunContext",
    "RunKind",
    "RunOptions",
    "RunResult",
    "RunRoot",
    "default_scheduler",
]
