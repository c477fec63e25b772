"""Per-run shared state: identity, model, scenario, the event topic and the run's tallies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import msgspec

from actors import ActorSystem
from actors.log import get_logger

from ..log._events import Embedded, Event, LLMAttempt, LLMCall, RunStatus, Utterance
from ..models._model import Embedder, Model, endpoint_of
from ..models._scheduler import Scheduler
from ..scenario._scenario import ModelSettings, Scenario
from ._ledger import Ledger
from ._recorder import Journal
from ._replay import ReplayBook
from ._seats import Seat, Seats

# The events whose emitters wait until they are in the log (``emit``, not ``emit_nowait``).
_AWAITED = frozenset((LLMCall, LLMAttempt, Embedded))

_log = get_logger()


@dataclass(slots=True)
class Outcome:
    """How the run ended, set once by whoever ends it."""

    status: RunStatus = "completed"
    reason: str = ""


@dataclass(slots=True)
class RunContext:
    """What every actor of one run shares. Plain data: only its own run's actors touch it."""

    run: str
    scenario: Scenario
    model: Model
    seed: int
    system: ActorSystem
    scheduler: Scheduler
    started: float = field(default_factory=time.perf_counter)
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: Outcome = field(default_factory=Outcome)
    ledger: Ledger = field(default_factory=lambda: Ledger(None))
    periods: int = 0
    turns: int = 0
    calls_numbered: int = 0
    observer: Callable[[Event], None] | None = None
    agent_names: dict[str, str] = field(default_factory=dict)  # actor name -> agent name
    # What the judge reads: every event for a Python judge (keep_all), else the public
    # statements. Keeping every event of a thousand concurrent runs alive would cost the
    # garbage collector more than all the rest of the runs' work.
    events: list[Event] = field(default_factory=list)
    keep_all: bool = False
    replay: ReplayBook | None = None  # recorded answers (resuming, or re-executing a log)
    journal: Journal | None = None  # the run's events on their way to its recorder
    window: int | None = None  # the model's context window in tokens (None: unknown)
    judge_error: str | None = None  # why the judge gave no verdict on a completed run
    truncated: int = 0  # calls whose answer was cut off at max_tokens (finish_reason "length")
    seats: Seats | None = None  # the models the agents speak with (None: the run's model only)
    embedder: Embedder | None = None  # what embeds the agents' memory streams (None: no agent has one)

    @property
    def run_settings(self) -> ModelSettings:
        """The run's model settings (``[model]``, with the spec of the model the run was given):
        what an agent without a model of its own speaks with."""
        return self.seats.run.settings if self.seats is not None else self.scenario.model

    def seat(self, settings: ModelSettings, agent: str = "") -> Seat:
        """The model an agent whose settings are ``settings`` speaks with (a person's seat, if a
        person plays ``agent``)."""
        if self.seats is None:
            return Seat(self.model, self.scenario.model, self.endpoint, self.window)
        return self.seats.of(settings, agent)

    def conversation_topic(self, path: tuple[str, ...]) -> str:
        """The bus topic of one conversation: its members and moderator listen to it."""
        return f"{self.run} said in {path!r}"  # repr: no agent name can forge another topic

    @property
    def endpoint(self) -> str:
        """The scheduler's key for this run's model (its server and name)."""
        return endpoint_of(self.model)

    def next_call(self) -> int:
        """A new call number (1, 2, ...), unique within the run."""
        self.calls_numbered += 1
        return self.calls_numbered

    def turn_topic(self, path: tuple[str, ...], holder: str) -> str:
        """The bus topic on which ``holder`` receives its turn tokens in one conversation."""
        return f"{self.run} turn in {path!r} for {holder!r}"

    def clock(self) -> float:
        """Seconds since the run started (the ``t`` of events)."""
        return time.perf_counter() - self.started

    def emit_nowait(self, event: Event) -> bool:
        """Emit a bookkeeping event (any but a model call, an embedding call or a failed
        attempt) as ``emit`` would; False, and nothing done, if ``event`` is a call or an
        attempt: then ``await emit(event)``. The hot path of turn-taking is spared a coroutine
        per event."""
        kind = type(event)
        if kind in _AWAITED:
            return False
        journal = self.journal
        if journal is not None:
            journal.put(event)
        self._emitted(event)
        return True

    async def emit(self, event: Event, *, charged_to: str | None = None) -> None:
        """Send an event to the log (through the run's journal) and to the observer.

        A model call (or an embedding call) is in the log (handed to the OS) when this
        returns, before its answer is acted on: a crash can lose what follows from an answer,
        which a resumed run recomputes, but never an answer that was paid for. Other events
        are written in batches. A model call is charged to the model ``charged_to`` names (the
        spec of the model asked), else to the one it names itself.
        """
        journal = self.journal
        if journal is not None:
            journal.put(event)
        self._emitted(event)
        if type(event) is LLMCall or type(event) is Embedded:
            if journal is not None:
                journal.committed()
            cached = False
            if type(event) is LLMCall:
                if event.usage.estimated and not self.ledger.estimated_tokens:  # once per run
                    _log.warning(
                        "the model's server sent no token usage: counting our estimate",
                        run=self.run, endpoint=self.endpoint,
                    )
                if event.truncated:
                    self.truncated += 1
                cached = event.cached is True
            self.ledger.charge(event.actor, event.usage, model=charged_to or event.model, cached=cached)
            self._check_budget()
        elif type(event) is LLMAttempt and event.usage is not msgspec.UNSET:
            model = event.model if isinstance(event.model, str) else self.model.spec
            self.ledger.charge(event.actor, event.usage, model=model, call=False)  # paid for, not kept
            self._check_budget()

    def _emitted(self, event: Event) -> None:
        """An event is on its way to the log: kept for the judge if it reads it, and observed."""
        if self.keep_all or (type(event) is Utterance and len(event.conversation) == 1):
            self.events.append(event)
        if self.observer is not None:
            self.observer(event)

    def _check_budget(self) -> None:
        budget = self.scenario.budget
        if budget.tokens is None and budget.usd is None:
            return
        over = self.ledger.over(budget)
        if over is not None:
            self.finish("budget_exhausted", over)

    def finish(self, status: RunStatus, reason: str) -> None:
        """End the run (the first call wins)."""
        if not self.done.is_set():
            self.outcome = Outcome(status, reason)
            self.done.set()

    def interrupt(self, reason: str) -> None:
        """End the run as cancelled, even if it had ended and was being judged."""
        self.outcome = Outcome("cancelled", reason)
        self.done.set()
