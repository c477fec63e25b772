"""converse: simulate conversations between LLM agents, each agent an actor with private memory.

Run a scenario from code (inside your own anyio program if you like)::

    result = await converse.run_scenario("three-labs-councils", seed=7, out="runs")
    print(result.transcript.read_text())

Here are the names you run with: running, scenarios, many runs and sweeps, models, the judge,
reading logs, and every error. The rest is in the public parts, each with its own ``__all__``:
``converse.events`` (every kind of event), ``converse.log``, ``converse.models``,
``converse.scenario``, ``converse.sweeps``, ``converse.engine``, ``converse.runner``,
``converse.judge``, ``converse.audit``, ``converse.transcript``, ``converse.export`` (results out:
``load_sweep``, HTML pages, statement rows); and, imported when used,
``converse.camel`` (role-play datasets) and ``converse.web`` (the viewer).
"""

from . import audit as audit
from . import engine as engine
from . import events as events
from . import export as export
from . import judge as judge
from . import log as log
from . import models as models
from . import runner as runner
from . import scenario as scenario
from . import sweeps as sweeps
from . import transcript as transcript
from ._exceptions import CallFailed as CallFailed
from ._exceptions import ContextWindowExceeded as ContextWindowExceeded
from ._exceptions import ConverseError as ConverseError
from ._exceptions import ConverseWarning as ConverseWarning
from ._exceptions import DatasetError as DatasetError
from ._exceptions import DirectoryInUse as DirectoryInUse
from ._exceptions import LogError as LogError
from ._exceptions import LogWriteError as LogWriteError
from ._exceptions import ModelSpecError as ModelSpecError
from ._exceptions import NothingToResume as NothingToResume
from ._exceptions import ReplayError as ReplayError
from ._exceptions import RetriesExhausted as RetriesExhausted
from ._exceptions import ScenarioError as ScenarioError
from ._exceptions import StructuredOutputError as StructuredOutputError
from ._exceptions import SweepError as SweepError
from ._exceptions import TornTailWarning as TornTailWarning
from ._exceptions import WorkerWarning as WorkerWarning
from .engine import ENGINE_VERSION as ENGINE_VERSION
from .engine import RunOptions as RunOptions
from .engine import RunResult as RunResult
from .engine import default_scheduler as default_scheduler
from .events import Judged as Judged
from .events import Score as Score
from .export import load_sweep as load_sweep
from .judge import DEFAULT_METRICS as DEFAULT_METRICS
from .log import read_events as read_events
from .models import CompletionRequest as CompletionRequest
from .models import CompletionResponse as CompletionResponse
from .models import Embedder as Embedder
from .models import EmbeddingRequest as EmbeddingRequest
from .models import EmbeddingResponse as EmbeddingResponse
from .models import Hints as Hints
from .models import Limits as Limits
from .models import Model as Model
from .models import OfflineModel as OfflineModel
from .models import Scheduler as Scheduler
from .models import open_model as open_model
from .runner import resume_run as resume_run
from .runner import run_scenario as run_scenario
from .scenario import Scenario as Scenario
from .scenario import builtin_scenarios as builtin_scenarios
from .scenario import load_scenario as load_scenario
from .scenario import verdict_type as verdict_type
from .sweeps import Finished as Finished
from .sweeps import Job as Job
from .sweeps import PlannedRun as PlannedRun
from .sweeps import Sweep as Sweep
from .sweeps import SweepOutcome as SweepOutcome
from .sweeps import plan_sweep as plan_sweep
from .sweeps import run_many as run_many
from .sweeps import run_sweep as run_sweep
from .transcript import render_markdown as render_markdown

__all__ = [
    "DEFAULT_METRICS",
    "ENGINE_VERSION",
    "CallFailed",
    "CompletionRequest",
    "CompletionResponse",
    "ContextWindowExceeded",
    "ConverseError",
    "ConverseWarning",
    "DatasetError",
    "DirectoryInUse",
    "Embedder",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "Finished",
    "Hints",
    "Job",
    "Judged",
    "Limits",
    "LogError",
    "LogWriteError",
    "Model",
    "ModelSpecError",
    "NothingToResume",
    "OfflineModel",
    "PlannedRun",
    "ReplayError",
    "RetriesExhausted",
    "RunOptions",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Scheduler",
    "Score",
    "StructuredOutputError",
    "Sweep",
    "SweepError",
    "SweepOutcome",
    "TornTailWarning",
    "WorkerWarning",
    "audit",
    "builtin_scenarios",
    "default_scheduler",
    "engine",
    "events",
    "export",
    "judge",
    "load_scenario",
    "load_sweep",
    "log",
    "models",
    "open_model",
    "plan_sweep",
    "read_events",
    "render_markdown",
    "resume_run",
    "run_many",
    "run_scenario",
    "run_sweep",
    "runner",
    "scenario",
    "sweeps",
    "transcript",
    "verdict_type",
]
