"""Timeouts for the servers people use (issue 17, finding 7): ``[model] timeout`` in a scenario,
``?timeout=`` in a spec (which wins), a timed-out attempt recorded with how long it ran, and
``ModelServer`` behaving as a server that cannot cancel an abandoned request (the retry waits
behind it) or as one that can. Over real HTTP: the openai SDK against ``ModelServer``."""

from __future__ import annotations

import time
from pathlib import Path

import openai
import pytest

import converse
from converse.events import LLMAttempt
from converse.models._limits import Limits
from converse.models._scheduler import Scheduler
from converse.scenario import load_scenario
from converse.testing import Faults, ModelServer, events_of, run_and_read

KEY = "test-key-timeouts"


async def slow_run(tmp_path: Path, spec: str, seconds: float) -> tuple[converse.RunResult, list[LLMAttempt]]:
    """A run against a server that takes 0.8 s an answer, two attempts a call, no backoff."""
    scheduler = Scheduler(Limits(max_attempts=2, backoff=0.0, max_backoff=0.0, timeout=None))
    with ModelServer(api_key=KEY, faults=Faults(latency=0.8)) as server:
        model = converse.open_model(spec, base_url=server.base_url)
        try:
            result, events = await run_and_read(
                "three-labs", model=model, out=tmp_path, scheduler=scheduler,
                overrides=["clock.end=2023", f"model.timeout={seconds}"],
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    return result, events_of(events, LLMAttempt)


async def test_a_scenario_timeout_abandons_a_slow_attempt_and_records_how_long_it_ran(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    result, attempts = await slow_run(tmp_path, "openai:offline-chat", 0.2)
    assert result.status == "failed"
    assert "did not answer within 0.2 s" in result.reason
    assert attempts
    assert all(a.error_type == "timeout" for a in attempts)
    assert all("within 0.2 s" in a.error and "abandoned" in a.error for a in attempts)
    assert all(0.15 <= a.latency < 0.75 for a in attempts)  # the attempt's own time, recorded


async def test_a_spec_timeout_wins_over_the_scenario_key(api_key: str, tmp_path: Path, backend: str) -> None:
    result, attempts = await slow_run(tmp_path, "openai:offline-chat?timeout=0.2", 30)
    assert result.status == "failed"
    assert attempts
    assert all("within 0.2 s" in a.error for a in attempts)


async def test_a_scenario_timeout_long_enough_lets_a_slow_server_answer(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    scheduler = Scheduler(Limits(max_attempts=1, timeout=None))
    with ModelServer(api_key=KEY, faults=Faults(latency=0.3)) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, events = await run_and_read(
                "three-labs", model=model, out=tmp_path, scheduler=scheduler,
                overrides=["clock.end=2023", "model.timeout=5", "judge.enabled=false"],
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert result.status == "completed"
    assert not events_of(events, LLMAttempt)


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_timeout_that_is_not_positive_names_the_key(value: str) -> None:
    with pytest.raises(converse.ScenarioError, match=r"\$\.model\.timeout: must be a positive number"):
        load_scenario("three-labs", [f"model.timeout={value}"])


def test_a_spec_timeout_of_zero_is_refused() -> None:
    with pytest.raises(converse.ModelSpecError, match="timeout must be more than 0"):
        converse.open_model("openai:x?timeout=0", base_url="http://127.0.0.1:9/v1")


def waited_behind(cancels: bool) -> tuple[float, int]:
    """Seconds a second request takes on a one-slot server (0.6 s an answer) that is still busy
    with a first request its client abandoned after 0.15 s; and how many it abandoned."""
    with ModelServer(api_key=KEY, faults=Faults(latency=0.6), slots=1, cancels=cancels) as server:
        impatient = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=0.15)
        patient = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=10)
        ask = {"model": "offline-chat", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 20}
        with impatient, patient:
            with pytest.raises(openai.APITimeoutError):
                impatient.chat.completions.create(**ask)  # type: ignore[call-overload]
            started = time.perf_counter()
            patient.chat.completions.create(**ask)  # type: ignore[call-overload]
            took = time.perf_counter() - started
        return took, server.stats().abandoned


def test_a_server_that_cannot_cancel_makes_the_retry_wait_behind_the_abandoned_request() -> None:
    behind, abandoned = waited_behind(cancels=False)  # llama-cpp-python's server
    at_once, cancelled = waited_behind(cancels=True)  # vLLM, llama.cpp's server, Ollama
    assert abandoned == cancelled == 1
    assert behind > at_once + 0.25  # about 0.45 s spent for nobody first
    assert at_once < behind
