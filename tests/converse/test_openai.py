"""The ``openai:`` model through the real openai SDK, against the loopback test server."""

from __future__ import annotations

import datetime
from pathlib import Path

import anyio
import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS, cli_env, run_cli
from actors import ActorSystem
from converse import Limits, Scheduler
from converse.events import ChatMessage, LLMAttempt, LLMCall, RunError, RunFinished
from converse.models import CompletionRequest, Hints
from converse.models._open import with_timeout
from converse.models._openai import retry_after
from converse.testing import Faults, ModelServer, events_of, run_and_read

KEY = "sk-test-5f1d2c9a-never-log-me"


def quick_retries() -> Scheduler:
    """A scheduler of its own, with retries fast enough for a test."""
    return Scheduler(default=Limits(max_attempts=8, backoff=0.01, max_backoff=0.05, timeout=None))


def no_key_anywhere(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_run_through_the_sdk_records_exact_requests_and_usage(
    stream: bool, api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key=api_key) as server:
        spec = "openai:offline-chat" + ("?stream=1" if stream else "")
        model = converse.open_model(spec, base_url=server.base_url)
        try:
            result, events = await run_and_read("three-labs", model=model, out=tmp_path, overrides=["clock.end=2024"])
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        sent = server.requests
    assert result.status == "completed"
    calls = events_of(events, LLMCall)
    assert len(calls) == 7  # six reports, then the judge
    assert calls[-1].purpose == "judge"
    prompts = converse.events.prompts_of(events)
    # What the log says was sent is what the server received.
    assert [m["content"] for m in sent[-1]["messages"]] == [m.content for m in prompts[calls[-1].call]]
    assert all(c.usage.prompt_tokens > 0 and c.usage.completion_tokens > 0 for c in calls)
    assert all(c.model == spec for c in calls)
    no_key_anywhere(tmp_path)


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_sixty_calls_at_once_are_each_answered_and_the_next_sixty_reuse_their_connections(
    stream: bool, api_key: str, backend: str
) -> None:
    """Every call is answered, over no more connections than calls at once, and a second round,
    through a copy with its own timeout, opens none: the connections are kept alive and shared."""
    asked = [
        CompletionRequest(
            messages=[ChatMessage(role="user", content=f"Question {i}: what should the lab fund next?")],
            max_tokens=60, hints=Hints(kind="line", speaker=f"Member {i}"),
        )
        for i in range(60)
    ]
    answers: dict[int, str] = {}
    with ModelServer(api_key=api_key) as server:
        model = converse.open_model("openai:offline-chat" + ("?stream=1" if stream else ""), base_url=server.base_url)
        try:
            for round_, answering in enumerate((model, with_timeout(model, 30.0))):
                async def ask(i: int, answering: converse.Model = answering) -> None:
                    answers[i] = (await answering.complete(asked[i])).text

                async with anyio.create_task_group() as tg:
                    for i in range(60):
                        tg.start_soon(ask, i)
                if round_ == 0:
                    opened = server.stats().connections
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        stats = server.stats()
    assert sorted(answers) == list(range(60))
    assert all(answers.values())
    assert stats.successes == 120
    assert 1 <= opened <= 60
    assert stats.connections == opened  # the second round reused them all


@SDK_LEAVES_GENERATORS
async def test_every_simulation_completes_through_a_fifth_of_failures(api_key: str, tmp_path: Path, backend: str) -> None:
    faults = Faults(rate_429=0.05, rate_500=0.05, rate_drop=0.05, rate_malformed=0.05, retry_after=0.01)
    scheduler = quick_retries()
    results: list[converse.RunResult] = []
    with ModelServer(api_key=api_key, faults=faults, seed=3) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)

        async def one(seed: int) -> None:
            results.append(
                await converse.run_scenario(
                    "three-labs", model=model, seed=seed, out=tmp_path, overrides=["clock.end=2023"],
                    system=system, scheduler=scheduler,
                )
            )

        try:
            async with ActorSystem() as system, anyio.create_task_group() as tg:
                for seed in range(50):
                    tg.start_soon(one, seed)
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        stats = server.stats()
    assert [r.status for r in results] == ["completed"] * 50
    events = [e for r in results for e in converse.read_events(r.events)]
    failed = events_of(events, LLMAttempt)
    assert {a.error_type for a in failed} == {"rate_limit", "server", "connection", "malformed"}
    assert stats.requests == len(events_of(events, LLMCall)) + len(failed)
    assert all(a.next_delay is not None for a in failed)
    assert 0.1 < len(failed) / stats.requests < 0.3
    no_key_anywhere(tmp_path)


async def test_a_wrong_key_fails_the_run_with_one_clear_reason(api_key: str, tmp_path: Path, backend: str) -> None:
    with ModelServer(api_key="the-right-key") as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, events = await run_and_read("three-labs", model=model, out=tmp_path, scheduler=quick_retries())
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert result.status == "failed"
    assert "rejected the API key: check OPENAI_API_KEY" in result.reason
    (error,) = [e for e in events_of(events, RunError) if e.fatal]
    assert error.actor == "OpenAI"
    assert isinstance(events[-1], RunFinished)
    assert events_of(events, LLMAttempt)[0].status == 401
    assert len(events_of(events, LLMAttempt)) == 1  # not retried
    no_key_anywhere(tmp_path)


async def test_an_unknown_model_and_an_unreachable_server(api_key: str, tmp_path: Path, backend: str) -> None:
    with ModelServer(api_key=api_key) as server:
        model = converse.open_model("openai:gpt-nonexistent", base_url=server.base_url)
        try:
            result, _ = await run_and_read("three-labs", model=model, out=tmp_path / "a", scheduler=quick_retries())
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        closed_url = server.base_url
    assert result.status == "failed"
    assert "no such model 'gpt-nonexistent'" in result.reason
    model = converse.open_model("openai:offline-chat", base_url=closed_url)  # nobody listens there now
    try:
        result, events = await run_and_read("three-labs", model=model, out=tmp_path / "b", scheduler=quick_retries())
    finally:
        await model.aclose()  # type: ignore[attr-defined]
    assert result.status == "failed"
    assert "cannot reach" in result.reason
    assert "8 attempts" in result.reason
    assert len(events_of(events, LLMAttempt)) == 8


def test_the_command_line_against_a_local_server(tmp_path: Path) -> None:
    with ModelServer(api_key="EMPTY") as server:
        env = cli_env(without="OPENAI_")
        done = run_cli(
            "run", "three-labs", "--model", "openai:offline-chat", "--base-url", server.base_url,
            "--set", "clock.end=2023", "--out", str(tmp_path), "-q", cwd=tmp_path, env=env,
        )
        assert done.returncode == 0, done.stderr
        assert (Path(done.stdout.strip()) / "transcript.md").is_file()
        wrong = run_cli(
            "run", "three-labs", "--model", "openai:offline-chat", "--base-url", server.base_url,
            "--out", str(tmp_path / "wrong"), "-q", cwd=tmp_path, env={**env, "OPENAI_API_KEY": KEY},
        )
        assert wrong.returncode == 1
        (line,) = wrong.stderr.strip().splitlines()
        assert line.startswith("converse: run three-labs-seed0 ended failed: OpenAI: ")
        assert line.endswith("rejected the API key: check OPENAI_API_KEY")
        assert KEY not in wrong.stderr + wrong.stdout
        no_key_anywhere(tmp_path / "wrong")
        no_key = run_cli(
            "run", "three-labs", "--model", "openai:gpt-4o", "--out", str(tmp_path), cwd=tmp_path, env=env
        )
    assert no_key.returncode == 2
    assert no_key.stderr.strip() == (
        "converse: error: model 'openai:gpt-4o': no API key: set OPENAI_API_KEY (or --base-url for a local server)"
    )


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Sun, 22 Nov 2026 00:00:30 GMT"}, 30.0),  # an HTTP date, 30 s ahead
        ({"retry-after": "Sat, 21 Nov 2026 23:00:00 GMT"}, 0.0),  # a date already past
        ({"retry-after": "soon"}, None),
        ({"retry-after": "Sun, 22 Nov 2026 00:00:30"}, None),  # no time zone: not a valid HTTP date
        ({}, None),
    ],
)
def test_retry_after_reads_seconds_milliseconds_and_http_dates(headers: dict[str, str], seconds: float | None) -> None:
    now = datetime.datetime(2026, 11, 22, tzinfo=datetime.UTC).timestamp()
    assert retry_after(headers, now=now) == seconds
