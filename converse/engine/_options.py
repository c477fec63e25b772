"""What a run is given besides its scenario, as one frozen value handed down whole."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors import ActorSystem

from ..log._events import Event
from ..models._model import Model
from ..models._person import Terminal
from ..models._scheduler import Scheduler

__all__ = ["RunOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """What a run is given besides its scenario (``run_scenario``'s keyword arguments).

    Attributes:
        model: a model spec or a ``Model``; ``None``: the scenario's ``model.spec``.
        seed: the seed; the same scenario, seed and model give the same run.
        out: the directory that receives the run directory.
        overrides: ``key.path=value`` changes to the scenario file (``--set``).
        base_url: the OpenAI-compatible server for ``openai:`` models.
        cache: a directory of cached answers, or ``None``.
        system: the ``ActorSystem`` to run in; ``None``: the run opens its own.
        scheduler: the scheduler of every model call; ``None``: the process's.
        observer: called with every event as it is emitted.
        run_id: the run directory's name under ``out``; ``None``: ``<scenario>-seed<seed>``.
        replay_from: an earlier run's log that answers every model call, or ``None``.
        humans: agents (or council members) a person at the terminal plays (``--human``).
        terminal: where those people are asked; ``None``: stdin and stderr.
    """

    model: str | Model | None = None
    seed: int = 0
    out: Path = Path("runs")
    overrides: tuple[str, ...] = ()
    base_url: str | None = None
    cache: Path | None = None
    system: ActorSystem | None = None
    scheduler: Scheduler | None = None
    observer: Callable[[Event], None] | None = None
    run_id: str | None = None
    replay_from: Path | None = None
    humans: tuple[str, ...] = ()
    terminal: Terminal | None = None

    def but(self, **changes: Any) -> RunOptions:
        """These options with ``changes`` (``options.but(seed=3)``)."""
        return dataclasses.replace(self, **changes)
