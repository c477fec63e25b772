"""converse: simulate conversations between LLM agents, each agent an actor with private memory.

Run a scenario from code (inside your own anyio program if you like)::

    result = await converse.run_scenario("three-labs-councils", seed=7, out="runs")
    print(result.transcript.read_text())
"""

from ._exceptions import ConverseError as ConverseError
from ._exceptions import DatasetError as DatasetError
from ._exceptions import LogError as LogError
from ._exceptions import ModelSpecError as ModelSpecError
from ._exceptions import ScenarioError as ScenarioError
from ._exceptions import SweepError as SweepError
from .engine._replay import ReplayError as ReplayError
from .engine._resume import NothingToResume as NothingToResume
from .engine._run import ENGINE_VERSION as ENGINE_VERSION
from .engine._run import RunResult as RunResult
from .engine._run import default_scheduler as default_scheduler
from .judge._judge import DEFAULT_METRICS as DEFAULT_METRICS
from .judge._judge import verdict_type as verdict_type
from .log._events import SCHEMA_VERSION as SCHEMA_VERSION
from .log._events import AnyEvent as AnyEvent
from .log._events import ChatMessage as ChatMessage
from .log._events import ConversationEnded as ConversationEnded
from .log._events import ConversationStarted as ConversationStarted
from .log._events import CriticChoice as CriticChoice
from .log._events import Event as Event
from .log._events import Judged as Judged
from .log._events import LLMAttempt as LLMAttempt
from .log._events import LLMCall as LLMCall
from .log._events import PeriodStarted as PeriodStarted
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
from .log._log import LogWriter as LogWriter
from .log._log import TornTailWarning as TornTailWarning
from .log._log import read_events as read_events
from .models._admission import EndpointStatistics as EndpointStatistics
from .models._cache import CachedModel as CachedModel
from .models._cache import CacheStatistics as CacheStatistics
from .models._limits import Limits as Limits
from .models._model import CompletionRequest as CompletionRequest
from .models._model import CompletionResponse as CompletionResponse
from .models._model import Hints as Hints
from .models._model import Model as Model
from .models._open import open_model as open_model
from .models._scheduler import Attempt as Attempt
from .models._scheduler import CallFailed as CallFailed
from .models._scheduler import RetriesExhausted as RetriesExhausted
from .models._scheduler import Scheduler as Scheduler
from .models._scheduler import SchedulerStatistics as SchedulerStatistics
from .models._structured import Structured as Structured
from .models._structured import StructuredAttempt as StructuredAttempt
from .models._structured import StructuredOutputError as StructuredOutputError
from .models._structured import complete_structured as complete_structured
from .models.offline._model import OfflineModel as OfflineModel
from .runner._run import resume_run as resume_run
from .runner._run import run_scenario as run_scenario
from .scenario._load import builtin_scenarios as builtin_scenarios
from .scenario._load import load_scenario as load_scenario
from .scenario._roleplay import RolePlay as RolePlay
from .scenario._scenario import Scenario as Scenario
from .sweeps._grid import PlannedRun as PlannedRun
from .sweeps._grid import Sweep as Sweep
from .sweeps._grid import plan_sweep as plan_sweep
from .sweeps._many import Finished as Finished
from .sweeps._many import Job as Job
from .sweeps._many import run_many as run_many
from .sweeps._report import Interval as Interval
from .sweeps._report import SweepRow as SweepRow
from .sweeps._report import bootstrap_ci as bootstrap_ci
from .sweeps._report import read_summary_csv as read_summary_csv
from .sweeps._report import write_report as write_report
from .sweeps._report import write_summary_csv as write_summary_csv
from .sweeps._rows import SweepProgress as SweepProgress
from .sweeps._sweep import SweepOutcome as SweepOutcome
from .sweeps._sweep import run_sweep as run_sweep
from .transcript._markdown import render_markdown as render_markdown

__all__ = [
    "DEFAULT_METRICS",
    "ENGINE_VERSION",
    "SCHEMA_VERSION",
    "AnyEvent",
    "Attempt",
    "CacheStatistics",
    "CachedModel",
    "CallFailed",
    "ChatMessage",
    "CompletionRequest",
    "CompletionResponse",
    "ConversationEnded",
    "ConversationStarted",
    "ConverseError",
    "CriticChoice",
    "DatasetError",
    "EndpointStatistics",
    "Event",
    "Finished",
    "Hints",
    "Interval",
    "Job",
    "Judged",
    "LLMAttempt",
    "LLMCall",
    "Limits",
    "LogError",
    "LogWriter",
    "Model",
    "ModelSpecError",
    "NothingToResume",
    "OfflineModel",
    "PeriodStarted",
    "PlannedRun",
    "ReplayError",
    "RetriesExhausted",
    "RolePlay",
    "RunError",
    "RunFinished",
    "RunResult",
    "RunStarted",
    "Scenario",
    "ScenarioError",
    "Scheduler",
    "SchedulerStatistics",
    "Score",
    "SharedPrefix",
    "Structured",
    "StructuredAttempt",
    "StructuredOutputError",
    "Sweep",
    "SweepError",
    "SweepOutcome",
    "SweepProgress",
    "SweepRow",
    "TaskSpecified",
    "TornTailWarning",
    "TurnGranted",
    "Usage",
    "Utterance",
    "bootstrap_ci",
    "builtin_scenarios",
    "complete_structured",
    "default_scheduler",
    "load_scenario",
    "open_model",
    "plan_sweep",
    "prompts_of",
    "read_events",
    "read_summary_csv",
    "render_markdown",
    "resume_run",
    "run_many",
    "run_scenario",
    "run_sweep",
    "verdict_type",
    "write_report",
    "write_summary_csv",
]
