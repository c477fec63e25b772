"""The event log's vocabulary: one msgspec Struct per kind of event, as one tagged union
(``AnyEvent``). Every log line is one of these; ``converse.read_events`` reads them back::

    for event in converse.read_events("runs/three-labs-seed0/events.jsonl"):
        if isinstance(event, converse.events.Utterance) and event.conversation == ["top"]:
            print(event.period, event.actor, event.text)
"""

from .log._events import AREAS as AREAS
from .log._events import SCHEMA_VERSION as SCHEMA_VERSION
from .log._events import AnyEvent as AnyEvent
from .log._events import ChatMessage as ChatMessage
from .log._events import ConversationEnded as ConversationEnded
from .log._events import ConversationStarted as ConversationStarted
from .log._events import CriticChoice as CriticChoice
from .log._events import Embedded as Embedded
from .log._events import Event as Event
from .log._events import Judged as Judged
from .log._events import LabCensus as LabCensus
from .log._events import Ledger as Ledger
from .log._events import LedgerEntry as LedgerEntry
from .log._events import LLMAttempt as LLMAttempt
from .log._events import LLMCall as LLMCall
from .log._events import ModelSpend as ModelSpend
from .log._events import Move as Move
from .log._events import PeriodStarted as PeriodStarted
from .log._events import PopulationState as PopulationState
from .log._events import Recall as Recall
from .log._events import Recalled as Recalled
from .log._events import Remembered as Remembered
from .log._events import RunError as RunError
from .log._events import RunFinished as RunFinished
from .log._events import RunStarted as RunStarted
from .log._events import Score as Score
from .log._events import SharedPrefix as SharedPrefix
from .log._events import TaskSpecified as TaskSpecified
from .log._events import TurnGranted as TurnGranted
from .log._events import Usage as Usage
from .log._events import Utterance as Utterance
from .log._events import prompts_of as prompts_of

__all__ = [
    "AREAS",
    "SCHEMA_VERSION",
    "AnyEvent",
    "ChatMessage",
    "ConversationEnded",
    "ConversationStarted",
    "CriticChoice",
    "Embedded",
    "Event",
    "Judged",
    "LLMAttempt",
    "LLMCall",
    "LabCensus",
    "Ledger",
    "LedgerEntry",
    "ModelSpend",
    "Move",
    "PeriodStarted",
    "PopulationState",
    "Recall",
    "Recalled",
    "Remembered",
    "RunError",
    "RunFinished",
    "RunStarted",
    "Score",
    "SharedPrefix",
    "TaskSpecified",
    "TurnGranted",
    "Usage",
    "Utterance",
    "prompts_of",
]
