"""The README's table of servers, run: a streamed, judged run against ``ModelServer.like(...)``
each of OpenAI, vLLM, llama.cpp's server, llama-cpp-python's server and Ollama completes and
is scored, and records what that server gave and what converse did about it (token usage
estimated, the way structured output took, the context window read). Over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS
from converse.events import Judged, LLMAttempt, LLMCall, RunStarted
from converse.testing import ModelServer, events_of, run_and_read

KEY = "test-key-likes"
SHORT = ["clock.end=2024"]
# What each server leads to: (window read at the first run, at a later one), the structured
# way the judge took, whether a stream's usage is estimated, the refusals before it.
EXPECTED: dict[str, tuple[tuple[int | None, int | None], str, bool, list[int | None]]] = {
    "openai": ((None, None), "json_schema", False, []),
    "vllm": ((4096, 4096), "json_schema", False, []),
    "llama.cpp": ((4096, 4096), "json_schema", False, []),
    "llama-cpp-python": ((None, None), "json_object", True, [500]),
    "ollama": ((None, 4096), "json_schema", False, []),  # it reports a model once it is loaded
}


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("like", list(EXPECTED))
async def test_a_judged_streamed_run_against_each_server_completes_and_says_what_it_got(
    like: Any, api_key: str, tmp_path: Path, backend: str
) -> None:
    windows, way, estimated, refusals = EXPECTED[like]
    with ModelServer.like(like, api_key=KEY) as server:
        model = converse.open_model("openai:offline-chat?stream=1", base_url=server.base_url)
        try:
            runs = [
                await run_and_read("three-labs", model=model, out=tmp_path / str(n), overrides=SHORT)
                for n in range(2)
            ]
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    for n, (result, events) in enumerate(runs):
        assert result.status == "completed", result.reason
        assert result.judge_error is None
        assert events_of(events, Judged)
        (started,) = events_of(events, RunStarted)
        window = started.context_window if isinstance(started.context_window, int) else None
        assert window == windows[n]
        calls = events_of(events, LLMCall)
        assert {c.usage.estimated for c in calls} == {estimated}
        assert [c.structured for c in calls if c.purpose == "judge"] == [way]
        judge_failures = [a.status for a in events_of(events, LLMAttempt) if a.actor == "judge"]
        assert judge_failures == (refusals if n == 0 else [])  # the model remembers a refusal


def test_an_unknown_server_is_named() -> None:
    with pytest.raises(ValueError, match="unknown server 'lmstudio'"):
        ModelServer.like("lmstudio")  # type: ignore[arg-type]
