"""The models a run's agents speak with: one ``Seat`` per model setting in use.

A scenario names one model for the run (``[model]``) and may name others for an agent, a
council, a member or a role-play side (``agents[i].model``). Each is opened once per run
(agents with the same settings share it), is its own scheduler endpoint with its own
budgets, and has its own context window; a person at the terminal (``--human``) sits in
an agent's seat with that seat's model to speak for them when they say nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from ..models._limits import Limits
from ..models._model import Model, endpoint_of
from ..models._person import PERSON, Person, Terminal
from ..models._scheduler import Scheduler
from ..models._windows import context_window
from ..scenario._scenario import ModelSettings, Scenario

__all__ = ["Seat", "Seats", "run_settings", "settings_key"]

_encode = msgspec.json.encode


def settings_key(settings: ModelSettings) -> bytes:
    """What tells two model settings apart (a dict of parameters cannot be hashed)."""
    return _encode(settings)


def run_settings(scenario: Scenario, model: Model, base_url: str | None = None) -> ModelSettings:
    """The run's ``[model]`` settings, with the spec of the model the run was given (``--model``
    can name another than the file's) and the server it was given (``--base-url``), which
    the models an agent names without a server of their own take too."""
    settings = scenario.model
    if model.spec != settings.spec:
        settings = msgspec.structs.replace(settings, spec=model.spec)
    if base_url is not None and base_url != settings.base_url:
        settings = msgspec.structs.replace(settings, base_url=base_url)
    return settings


@dataclass(frozen=True, slots=True)
class Seat:
    """A model as the agents in one seat use it.

    Attributes:
        model: the opened model (a ``Person`` for an agent a person plays).
        settings: the settings its requests are made with (temperature, max_tokens, ...).
        endpoint: its scheduler endpoint.
        window: its context window in tokens (None: unknown).
    """

    model: Model
    settings: ModelSettings
    endpoint: str
    window: int | None

    @property
    def person(self) -> Person | None:
        """The person who sits here, if a person does."""
        return self.model if isinstance(self.model, Person) else None

    @property
    def machine(self) -> Seat:
        """This seat with its model in it: for what no person is asked to write (an agent's
        notes on what it forgets, a briefing for its council)."""
        person = self.person
        if person is None:
            return self
        return Seat(person.fallback, self.settings, endpoint_of(person.fallback), self.window)


class Seats:
    """Every seat of one run, by settings: the run's own and the others its scenario names.

    Args:
        run: the run's seat (``[model]``, with the spec of the model the run was given).
        others: the other models, opened, by their settings.
        people: the agents a person plays, asked at ``terminal``.
    """

    def __init__(
        self, run: Seat, others: dict[bytes, Seat], people: frozenset[str] = frozenset(),
        terminal: Terminal | None = None,
    ) -> None:
        self.run = run
        self._seats = {settings_key(run.settings): run, **others}
        self.people = people
        self.terminal = terminal or Terminal()

    @classmethod
    def open(
        cls, run: Seat, models: dict[bytes, tuple[ModelSettings, Model]], scheduler: Scheduler, *,
        people: frozenset[str] = frozenset(), terminal: Terminal | None = None,
    ) -> Seats:
        """The seats of opened ``models``; budgets a model's settings give (``rpm``, ``tpm``,
        ``calls``) are offered to ``scheduler`` for its endpoint."""
        others = {}
        for key, (settings, model) in models.items():
            # The window of the model the settings name, even when a log answers for it.
            others[key] = Seat(model, settings, endpoint_of(model), context_window(settings))
        for seat in (run, *others.values()):
            settings = seat.settings
            if settings.rpm is not None or settings.tpm is not None or settings.calls is not None:
                calls = Limits().max_concurrency if settings.calls is None else settings.calls
                scheduler.offer(seat.endpoint, Limits(rpm=settings.rpm, tpm=settings.tpm, max_concurrency=calls, timeout=None))
        return cls(run, others, people, terminal)

    def of(self, settings: ModelSettings, agent: str = "") -> Seat:
        """The seat of an agent whose model settings are ``settings``: a person's, if a person
        plays ``agent``."""
        seat = self._seats.get(settings_key(settings))
        if seat is None:  # a model the run did not open: a bug in whoever opened them
            raise LookupError(f"no model was opened for {settings.spec} ({agent or 'an agent'})")
        if agent in self.people:
            return Seat(Person(agent, self.terminal, seat.model), seat.settings, PERSON, seat.window)
        return seat
