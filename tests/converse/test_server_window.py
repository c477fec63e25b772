"""Context windows of local servers: read once from the server (vLLM's ``max_model_len``,
llama.cpp's ``/props``), recorded on ``run_started``, kept by a resumed run, and reported as
unknown (with how to set it) by the audit when the server says nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest

import converse
from _helpers import run_cli
from converse.events import LLMCall, RunStarted
from converse.models._openai import OpenAIModel
from converse.testing import ModelServer, events_of, run_and_read

KEY = "sk-test-window"
WINDOW = 2048
# Three labs over forty years, each keeping the most recent turns that fit: the record soon
# outgrows a 2,048-token window (prompt and the answer's 600 tokens).
LONG = ["clock.end=2062", 'memory.policy="window"', "judge.enabled=false"]


async def asked(server: ModelServer, name: str = "offline-chat") -> int | None:
    model = converse.open_model(f"openai:{name}", base_url=server.base_url)
    assert isinstance(model, OpenAIModel)
    try:
        return await model.server_window()
    finally:
        await model.aclose()


@pytest.mark.parametrize("style", ["vllm", "llama.cpp"])
async def test_the_window_a_server_reports_is_read(style: Literal["vllm", "llama.cpp"], api_key: str, backend: str) -> None:
    with ModelServer(api_key=api_key, context_window=WINDOW, reports_window=style) as server:
        assert await asked(server) == WINDOW
        assert await asked(server, "another-model") == (None if style == "vllm" else WINDOW)  # /props has no names
    with ModelServer(api_key=api_key, context_window=WINDOW) as server:  # as llama-cpp-python's server
        assert await asked(server) is None
    with ModelServer(api_key=api_key, context_window=WINDOW, reports_window="vllm") as server:
        url = server.base_url
    model = converse.open_model("openai:offline-chat", base_url=url)  # nobody listens there now
    try:
        assert isinstance(model, OpenAIModel)
        assert await model.server_window() is None
    finally:
        await model.aclose()  # type: ignore[attr-defined]


def test_the_server_refuses_a_prompt_over_its_window_as_vllm_does(api_key: str) -> None:
    import openai

    with ModelServer(api_key=api_key, context_window=100) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)
        with pytest.raises(openai.BadRequestError, match="maximum context length is 100 tokens"):
            client.chat.completions.create(
                model="offline-chat", messages=[{"role": "user", "content": "hello"}], max_tokens=600
            )
        answer = client.chat.completions.create(
            model="offline-chat", messages=[{"role": "user", "content": "hello"}], max_tokens=50
        )
        client.close()
    assert answer.choices[0].message.content
    assert server.stats().rejected == 1


@pytest.mark.parametrize("style", ["vllm", "llama.cpp"])
async def test_a_run_holds_its_prompts_to_the_window_the_server_reports(
    style: Literal["vllm", "llama.cpp"], api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key=api_key, context_window=WINDOW, reports_window=style) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, events = await run_and_read("three-labs", model=model, out=tmp_path, overrides=LONG)
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        stats = server.stats()
    assert result.status == "completed", result.reason
    (started,) = events_of(events, RunStarted)
    assert (started.context_window, started.window_source) == (WINDOW, "server")
    calls = events_of(events, LLMCall)
    assert len(calls) == 40 * 3
    assert stats.rejected == 0
    assert all(c.usage.prompt_tokens + 600 <= WINDOW for c in calls)
    assert max(c.usage.prompt_tokens for c in calls) > WINDOW // 2  # the memory was full
    done = run_cli("audit", str(result.directory), cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"window: {WINDOW:,} tokens (reported by the server; prompt + max_tokens)" in done.stdout.splitlines()


async def test_a_server_that_reports_no_window_leaves_it_unknown_and_the_audit_says_how_to_set_it(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key=api_key) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, events = await run_and_read("three-labs", model=model, out=tmp_path, overrides=["clock.end=2024"])
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert result.status == "completed"
    (started,) = events_of(events, RunStarted)
    assert not isinstance(started.context_window, int)
    first = json.loads(result.events.read_text().splitlines()[0])
    assert "context_window" not in first  # as older logs
    assert "window_source" not in first
    done = run_cli("audit", str(result.directory), cwd=tmp_path, timeout=300)
    lines = done.stdout.splitlines()
    assert "window: unknown, not checked" in lines
    hint = lines[lines.index("window: unknown, not checked") + 1]
    assert "context window was unknown" in hint
    assert "[model] context_window = N" in hint
    assert "--set model.context_window=N" in hint


async def test_a_window_the_scenario_sets_is_not_asked_for(api_key: str, tmp_path: Path, backend: str) -> None:
    with ModelServer(api_key=api_key, context_window=WINDOW, reports_window="vllm") as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, events = await run_and_read(
                "three-labs", model=model, out=tmp_path, overrides=[*LONG, "clock.end=2024", "model.context_window=1900"]
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    (started,) = events_of(events, RunStarted)
    assert (started.context_window, started.window_source) == (1900, "scenario")
    assert result.status == "completed"


async def test_a_resumed_run_keeps_the_recorded_window_without_asking(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key=api_key, context_window=WINDOW, reports_window="llama.cpp") as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, events = await run_and_read("three-labs", model=model, out=tmp_path, overrides=LONG)
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert result.status == "completed"
    lines = result.events.read_text().splitlines(keepends=True)
    # Cut the log in the middle, as an interrupted run leaves it.
    result.events.write_text("".join(lines[: len(lines) // 2]))
    # The resumed run is served by a server with a larger window that it must not ask about.
    with ModelServer(api_key=api_key, context_window=2 * WINDOW, reports_window="vllm") as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            resumed = await converse.resume_run(result.directory, model=model)
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert resumed.status == "completed", resumed.reason
    events = converse.read_events(resumed.events)
    (started,) = events_of(events, RunStarted)
    assert (started.context_window, started.window_source) == (WINDOW, "server")
    calls = events_of(events, LLMCall)
    assert len(calls) == 40 * 3
    assert all(c.usage.prompt_tokens + 600 <= WINDOW for c in calls)  # held to the first run's window


async def test_ollama_reports_the_window_a_model_runs_with_once_it_is_loaded(api_key: str, backend: str) -> None:
    import openai

    with ModelServer(api_key=api_key, context_window=WINDOW, reports_window="ollama") as server:
        assert await asked(server) is None  # not loaded yet: Ollama loads a model on first use
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)
        async with client:
            await client.chat.completions.create(
                model="offline-chat", messages=[{"role": "user", "content": "hello"}], max_tokens=50
            )
        assert await asked(server) == WINDOW
        assert await asked(server, "another-model") is None  # only the models loaded are listed
