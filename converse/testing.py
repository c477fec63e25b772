"""Helpers for testing your own scenarios: scripted answers and quick access to a run's events.

```python
from converse.testing import ScriptedModel, run_and_read

model = ScriptedModel({"OpenAI": ["OpenAI 2023:\\n- Progress: ...", ...]})
result, events = await run_and_read("my-scenario.toml", model=model, out=tmp_path)
```
"""

from __future__ import annotations

import os
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from .engine._run import RunResult
from .log._events import AnyEvent, Event, Usage
from .log._log import read_events
from .models._model import (
    CompletionRequest,
    CompletionResponse,
    Model,
    estimate_prompt_tokens,
    estimate_tokens,
)
from .models._scheduler import Scheduler
from .models.offline._model import OfflineModel
from .models.offline._testserver import Faults as Faults
from .models.offline._testserver import ModelServer as ModelServer
from .runner._run import run_scenario
from .scenario._scenario import Scenario

E = TypeVar("E", bound=Event)

__all__ = ["Faults", "ModelServer", "ScriptedModel", "events_of", "run_and_read"]


class ScriptedModel:
    """A model that gives scripted answers where you have them and the offline model's elsewhere.

    Args:
        script: either a mapping from speaker name to the answers that speaker gives, in
            order, or a function of the request returning an answer (or None to fall back).
        seed: the seed of the offline model used as fallback.
        latency: simulated latency of the fallback, in seconds.
    """

    def __init__(
        self,
        script: Mapping[str, Iterable[str]] | Callable[[CompletionRequest], str | None],
        *,
        seed: int = 0,
        latency: float = 0.0,
    ) -> None:
        self._fallback: Model = OfflineModel(seed=seed, latency=latency)
        self._by_speaker: dict[str, deque[str]] = defaultdict(deque)
        self._function: Callable[[CompletionRequest], str | None] | None = None
        if callable(script):
            self._function = script
        else:
            for speaker, answers in script.items():
                self._by_speaker[speaker].extend(answers)
        self.requests: list[CompletionRequest] = []

    @property
    def spec(self) -> str:
        return "scripted"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.requests.append(request)
        answer: str | None = None
        if self._function is not None:
            answer = self._function(request)
        else:
            queue = self._by_speaker.get(request.hints.speaker)
            if queue:
                answer = queue.popleft()
        if answer is None:
            return await self._fallback.complete(request)
        usage = Usage(
            prompt_tokens=estimate_prompt_tokens(request.messages), completion_tokens=estimate_tokens(len(answer))
        )
        return CompletionResponse(text=answer, usage=usage, model=self.spec)


async def run_and_read(
    scenario: Scenario | str | os.PathLike[str],
    *,
    model: str | Model | None = None,
    seed: int = 0,
    out: str | os.PathLike[str] = "runs",
    overrides: list[str] | tuple[str, ...] = (),
    scheduler: Scheduler | None = None,
) -> tuple[RunResult, list[AnyEvent]]:
    """Run a scenario and return its result with the events read back from its log."""
    result = await run_scenario(scenario, model=model, seed=seed, out=out, overrides=overrides, scheduler=scheduler)
    return result, read_events(result.events)


def events_of(events: Iterable[Event], kind: type[E]) -> list[E]:
    """The events of one kind, in log order."""
    return [event for event in events if isinstance(event, kind)]
