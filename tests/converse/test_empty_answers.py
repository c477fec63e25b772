"""Empty answers are failed attempts: retried and recorded, then the run fails naming the
agent; the audit's ``empty`` rule flags any a log holds. Over real HTTP (the openai SDK
against ``ModelServer`` with ``Faults(rate_empty=...)``)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS, run_cli
from converse import CompletionRequest, Limits, Scheduler
from converse._exceptions import CallFailed
from converse.audit import audit_run
from converse.events import ChatMessage, LLMAttempt, LLMCall, RunError, Utterance
from converse.models import CachedModel, complete_structured
from converse.models._scheduler import Attempt
from converse.testing import Faults, ModelServer, ScriptedModel, events_of, run_and_read

KEY = "test-key-empty"


def quick_retries(attempts: int = 8) -> Scheduler:
    return Scheduler(default=Limits(max_attempts=attempts, backoff=0.01, max_backoff=0.05, timeout=None))


async def run_against(
    faults: Faults, out: Path, *, stream: bool = False, attempts: int = 8, seed: int = 1
) -> tuple[converse.RunResult, list[converse.events.AnyEvent], ModelServer]:
    with ModelServer(api_key=KEY, faults=faults, seed=seed) as server:
        spec = "openai:offline-chat" + ("?stream=1" if stream else "")
        model = converse.open_model(spec, base_url=server.base_url)
        try:
            result, events = await run_and_read(
                "three-labs", model=model, out=out, overrides=["clock.end=2024"], scheduler=quick_retries(attempts)
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    return result, events, server


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_empty_answers_are_retried_and_recorded(stream: bool, api_key: str, tmp_path: Path, backend: str) -> None:
    result, events, server = await run_against(Faults(rate_empty=0.3), tmp_path, stream=stream)
    assert result.status == "completed", result.reason
    stats = server.stats()
    assert stats.empty > 0
    failed = events_of(events, LLMAttempt)
    assert len(failed) == stats.empty  # every empty answer is a recorded failed attempt
    assert {a.error_type for a in failed} == {"empty"}
    assert all("empty answer" in a.error and a.next_delay is not None for a in failed)
    calls = events_of(events, LLMCall)
    assert stats.requests == len(calls) + len(failed)
    assert all(c.response.strip() for c in calls)
    assert all(u.text.strip() for u in events_of(events, Utterance))
    assert any(c.attempt > 1 for c in calls)  # the call that won after an empty answer says so
    assert "judge" in {a.actor for a in failed}  # the judge's structured call too, in its attempts
    assert events_of(events, converse.events.Judged)
    assert audit_run(events).violations == []
    # An empty answer's prompt was paid for: the ledger holds every token the server served.
    assert all(a.usage.prompt_tokens > 0 for a in failed)  # type: ignore[union-attr]
    assert (result.prompt_tokens, result.completion_tokens) == (stats.prompt_tokens, stats.completion_tokens)


@SDK_LEAVES_GENERATORS
async def test_a_model_that_only_answers_empty_fails_the_run_naming_the_agent(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    result, events, server = await run_against(Faults(rate_empty=1.0), tmp_path, attempts=4)
    assert result.status == "failed"
    assert result.reason.startswith("OpenAI: RetriesExhausted: ")
    assert "gave up after 4 attempts; last: the model sent an empty answer" in result.reason
    (error,) = [e for e in events_of(events, RunError) if e.fatal]
    assert error.actor == "OpenAI"
    failed = events_of(events, LLMAttempt)
    assert [(a.actor, a.attempt, a.error_type) for a in failed] == [("OpenAI", n, "empty") for n in range(1, 5)]
    assert failed[-1].next_delay is None
    assert events_of(events, LLMCall) == []
    assert events_of(events, Utterance) == []
    assert server.stats().empty == 4


async def test_an_empty_structured_answer_is_a_failed_attempt_not_a_repair_turn(backend: str) -> None:
    answers = iter(["", '{"value": 3}'])
    model = ScriptedModel(lambda request: next(answers))

    class Answer(msgspec.Struct):
        value: int

    request = CompletionRequest(messages=[ChatMessage(role="user", content="A number?")])
    seen: list[Attempt] = []

    async def on_attempt(attempt: Attempt) -> None:
        seen.append(attempt)

    result = await complete_structured(model, request, Answer, scheduler=quick_retries(), on_attempt=on_attempt)
    assert result.value == Answer(value=3)
    assert len(result.attempts) == 1  # no repair turn was spent on it
    assert [(a.ok, a.error_type) for a in seen] == [(False, "empty"), (True, None)]
    assert len(model.requests) == 2
    assert model.requests[0] == model.requests[1]
    with pytest.raises(CallFailed) as caught:  # without a scheduler: the failure itself
        await complete_structured(ScriptedModel(lambda request: "  \n"), request, Answer)
    assert (caught.value.kind, caught.value.retryable) == ("empty", True)


async def test_the_cache_keeps_no_empty_answer(tmp_path: Path, backend: str) -> None:
    answers = iter(["", "at last"])
    model = CachedModel(ScriptedModel(lambda request: next(answers)), tmp_path)
    request = CompletionRequest(messages=[ChatMessage(role="user", content="Anything?")])
    assert (await model.complete(request)).text == ""
    assert (await model.complete(request)).text == "at last"  # asked again, not served from the cache
    assert (await model.complete(request)).text == "at last"
    assert model.statistics().writes == 1


async def test_the_audit_flags_an_empty_recorded_answer(tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read("three-labs", model="offline", out=tmp_path, overrides=["clock.end=2024"])
    assert result.status == "completed"
    assert audit_run(events).violations == []
    call = next(e for e in events if isinstance(e, LLMCall) and e.actor == "Google DeepMind")
    said = next(e for e in events if isinstance(e, Utterance) and e.actor == "Google DeepMind")
    judge = next(e for e in events if isinstance(e, LLMCall) and e.purpose == "judge")
    # An old log: the answer (and so the statement) empty; the judge's only whitespace.
    spoilt = {call.seq: {"response": ""}, said.seq: {"text": ""}, judge.seq: {"response": " \n"}}
    broken = [msgspec.structs.replace(e, **spoilt[e.seq]) if e.seq in spoilt else e for e in events]
    found = [(v.seq, v.actor, v.rule) for v in audit_run(broken).violations]
    assert found == [(call.seq, "Google DeepMind", "empty"), (judge.seq, "judge", "empty")]
    # The same through the command line.
    directory = tmp_path / "broken"
    directory.mkdir()
    (directory / "events.jsonl").write_bytes(b"\n".join(msgspec.json.encode(e) for e in broken) + b"\n")
    done = run_cli("audit", str(directory), cwd=tmp_path, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"seq {call.seq}  Google DeepMind  empty: the answer (statement) is empty: nothing" in done.stdout
    assert f"seq {judge.seq}  judge  empty: the answer (judge) is empty: only whitespace" in done.stdout


def test_a_persons_empty_answer_is_no_violation() -> None:
    """The human critic's empty line is an invalid choice it handles itself, not a model's failure."""
    from converse.audit._audit import PERSON
    from converse.roleplay._critic import HumanCritic

    assert HumanCritic.spec == PERSON
