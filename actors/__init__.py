"""A small, fast actor runtime on anyio: actors, refs, a system, a bus, supervision, and an
asyncio event loop whose timers end on time (``run``)."""

from ._actor import Actor as Actor
from ._actor import handler as handler
from ._bus import EventBus as EventBus
from ._exceptions import ActorDeadError as ActorDeadError
from ._exceptions import ActorError as ActorError
from ._exceptions import AskTimeoutError as AskTimeoutError
from ._exceptions import ChildFailedError as ChildFailedError
from ._exceptions import EscalatedFailureError as EscalatedFailureError
from ._exceptions import MailboxFullError as MailboxFullError
from ._exceptions import RebuildsFromArguments as RebuildsFromArguments
from ._exceptions import SystemNotRunningError as SystemNotRunningError
from ._exceptions import UnhandledMessageError as UnhandledMessageError
from ._loop import new_event_loop as new_event_loop
from ._loop import run as run
from ._ref import ActorRef as ActorRef
from ._statistics import BusStatistics as BusStatistics
from ._statistics import MailboxStatistics as MailboxStatistics
from ._statistics import SystemStatistics as SystemStatistics
from ._supervision import FAILURES as FAILURES
from ._supervision import ActorFailed as ActorFailed
from ._supervision import Escalate as Escalate
from ._supervision import Restart as Restart
from ._supervision import Resume as Resume
from ._supervision import Stop as Stop
from ._supervision import SupervisionPolicy as SupervisionPolicy
from ._system import ActorSystem as ActorSystem
from ._system import ShutdownMode as ShutdownMode

__all__ = [
    "FAILURES",
    "Actor",
    "ActorDeadError",
    "ActorError",
    "ActorFailed",
    "ActorRef",
    "ActorSystem",
    "AskTimeoutError",
    "BusStatistics",
    "ChildFailedError",
    "Escalate",
    "EscalatedFailureError",
    "EventBus",
    "MailboxFullError",
    "MailboxStatistics",
    "RebuildsFromArguments",
    "Restart",
    "Resume",
    "ShutdownMode",
    "Stop",
    "SupervisionPolicy",
    "SystemNotRunningError",
    "SystemStatistics",
    "UnhandledMessageError",
    "handler",
    "new_event_loop",
    "run",
]
