"""converse: simulate conversations between LLM agents, each agent an actor with private memory.

Run a scenario from code (inside your own anyio program if you like)::

    result = await converse.run_scenario("three-labs-councils", seed=7, out="runs")
    print(result.transcript.read_text())
"""

from ._admission import EndpointStatistics as EndpointStatistics
from ._cache import CachedModel as CachedModel
from ._cache import CacheStatistics as CacheStatistics
from ._events import SCHEMA_VERSION as SCHEMA_VERSION
from ._events import AnyEvent as AnyEvent
from ._events import ChatMessage as ChatMessage
from ._events import ConversationEnded as ConversationEnded
from ._events import ConversationStarted as ConversationStarted
from ._events import CriticChoice as CriticChoice
from ._events import Event as Event
from ._events import Judged as Judged
from ._events import LLMAttempt as LLMAttempt
from ._events import LLMCall as LLMCall
from ._events import PeriodStarted as PeriodStarted
from ._events import RunError as RunError
from ._events import RunFinished as RunFinished
from ._events import RunStarted as RunStarted
from ._events import Score as Score
from ._events import SharedPrefix as SharedPrefix
from ._events import TaskSpecified as TaskSpecified
from ._events import TurnGranted as TurnGranted
from ._events import Usage as Usage
from ._events import Utterance as Utterance
from ._events import prompts_of as prompts_of
from ._exceptions import ConverseError as ConverseError
from ._exceptions import DatasetError as DatasetError
from ._exceptions import LogError as LogError
from ._exceptions import ModelSpecError as ModelSpecError
from ._exceptions import ScenarioError as ScenarioError
from ._exceptions import SweepError as SweepError
from ._grid import PlannedRun as PlannedRun
from ._grid import Sweep as Sweep
from ._grid import plan_sweep as plan_sweep
from ._judge import DEFAULT_METRICS as DEFAULT_METRICS
from ._judge import verdict_type as verdict_type
from ._log import LogWriter as LogWriter
from ._log import TornTailWarning as TornTailWarning
from ._log import read_events as read_events
from ._many import Finished as Finished
from ._many import Job as Job
from ._many import run_many as run_many
from ._models import CompletionRequest as CompletionRequest
from ._models import CompletionResponse as CompletionResponse
from ._models import Hints as Hints
from ._models import Model as Model
from ._models import open_model as open_model
from ._offline import OfflineModel as OfflineModel
from ._render import render_markdown as render_markdown
from ._replay import ReplayError as ReplayError
from ._report import Interval as Interval
from ._report import SweepRow as SweepRow
from ._report import bootstrap_ci as bootstrap_ci
from ._report import read_summary_csv as read_summary_csv
from ._report import write_report as write_report
from ._report import write_summary_csv as write_summary_csv
from ._resume import NothingToResume as NothingToResume
from ._resume import resume_run as resume_run
from ._roleplay import RolePlay as RolePlay
from ._run import ENGINE_VERSION as ENGINE_VERSION
from ._run import RunResult as RunResult
from ._run import default_scheduler as default_scheduler
from ._run import run_scenario as run_scenario
from ._scenario import Scenario as Scenario
from ._scenario import builtin_scenarios as builtin_scenarios
from ._scenario import load_scenario as load_scenario
from ._scheduler import Attempt as Attempt
from ._scheduler import CallFailed as CallFailed
from ._scheduler import Limits as Limits
from ._scheduler import RetriesExhausted as RetriesExhausted
from ._scheduler import Scheduler as Scheduler
from ._scheduler import SchedulerStatistics as SchedulerStatistics
from ._structured import Structured as Structured
from ._structured import StructuredAttempt as StructuredAttempt
from ._structured import StructuredOutputError as StructuredOutputError
from ._structured import complete_structured as complete_structured
from ._sweep import SweepOutcome as SweepOutcome
from ._sweep import SweepProgress as SweepProgress
from ._sweep import run_sweep as run_sweep

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
