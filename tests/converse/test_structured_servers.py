"""Structured output the server enforces (issue 17, finding 4): the judge sends its JSON Schema
as ``response_format`` in the server's dialect, falls back to the next dialect when a server
refuses one (whatever status it refuses with), keeps the repair turns as the last resort and
records which way each call took. Over real HTTP: the openai SDK against ``ModelServer``,
which holds an answer to a schema the way vLLM, llama.cpp and llama-cpp-python's servers do,
and whose ``rate_bad_json`` fault answers an unenforced schema as a small model did (with the
schema itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

import converse
from converse.events import Judged, LLMAttempt, LLMCall
from converse.models import CompletionRequest, Hints, complete_structured
from converse.models._limits import Limits
from converse.models._scheduler import Scheduler
from converse.models._structured import StructuredWays, _prepared, format_params, schema_of_params
from converse.models.offline._model import OfflineModel
from converse.scenario import load_scenario
from converse.scenario._verdict import verdict_type
from converse.testing import Faults, ModelServer, events_of, run_and_read

KEY = "test-key-structured"
SHORT = ["clock.end=2024"]
SMALL_MODEL = Faults(rate_bad_json=1.0)  # writes the schema back unless the server holds it to it


async def judged_run(
    server: ModelServer, out: Path, overrides: list[str] = SHORT, model: Any = None
) -> tuple[converse.RunResult, list[converse.events.AnyEvent]]:
    opened = model is None
    model = model or converse.open_model("openai:offline-chat", base_url=server.base_url)
    try:
        return await run_and_read("three-labs", model=model, out=out, overrides=overrides)
    finally:
        if opened:
            await model.aclose()


def judge_calls(events: list[converse.events.AnyEvent]) -> list[LLMCall]:
    return [c for c in events_of(events, LLMCall) if c.purpose == "judge"]


def judge_attempts(events: list[converse.events.AnyEvent]) -> list[LLMAttempt]:
    return [a for a in events_of(events, LLMAttempt) if a.actor == "judge"]


def structured_bodies(server: ModelServer) -> list[dict[str, Any]]:
    """The request bodies the server got for the judge (they quote the JSON Schema)."""
    return [b for b in server.requests if "JSON Schema:" in b["messages"][-1]["content"]]


async def failing_verdict(server: ModelServer, error: str) -> tuple[Any, list[str | None]]:
    """Ask ``server`` for a verdict that fails with ``error`` (two attempts a call, no backoff):
    the model asked, and the kind of each failed attempt."""
    schema = verdict_type(load_scenario("three-labs"))
    request = CompletionRequest(
        messages=[converse.events.ChatMessage(role="user", content="The record: nothing happened.")],
        max_tokens=800, hints=Hints(kind="judge"),
    )
    failures: list[str | None] = []

    async def on_attempt(attempt: Any) -> None:
        failures.append(attempt.error_type)

    scheduler = Scheduler(Limits(max_attempts=2, backoff=0.0, max_backoff=0.0))
    model = converse.open_model("openai:offline-chat", base_url=server.base_url)
    try:
        with pytest.raises(converse.CallFailed, match=error):
            await complete_structured(model, request, schema, scheduler=scheduler, on_attempt=on_attempt)
    finally:
        await model.aclose()  # type: ignore[attr-defined]
    return model, failures


# -- today's failure, and the fix ---------------------------------------------------------------


async def test_a_small_model_fails_the_judge_when_the_schema_is_only_in_the_prompt(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key=KEY, faults=SMALL_MODEL) as server:
        result, events = await judged_run(server, tmp_path, [*SHORT, "model.structured=prompt"])
    assert result.status == "completed"
    assert not events_of(events, Judged)
    assert result.judge_error == "Verdict: no valid answer in 3 attempts; last error: Object contains unknown field `$ref`"
    calls = judge_calls(events)
    assert [c.structured for c in calls] == ["prompt"] * 3
    assert all("response_format" not in b for b in structured_bodies(server))


async def test_the_server_holds_the_judge_to_the_schema_so_a_small_model_answers_at_once(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key=KEY, faults=SMALL_MODEL) as server:
        result, events = await judged_run(server, tmp_path)
        stats = server.stats()
    assert result.status == "completed"
    assert result.judge_error is None
    (judged,) = events_of(events, Judged)
    assert {s.name for s in judged.scores} >= {"capability_progress", "agi_year"}
    (call,) = judge_calls(events)
    assert call.structured == "json_schema"
    assert stats.enforced == 1
    assert stats.bad_json == 0
    (body,) = structured_bodies(server)
    answer = body["response_format"]
    assert answer["type"] == "json_schema"
    sent = answer["json_schema"]
    assert sent["name"] == "Verdict"
    assert sent["strict"] is True
    assert sent["schema"]["type"] == "object"  # the root is the object, not a $ref
    assert "summary" in sent["schema"]["required"]
    # The recorded params are what was sent.
    assert call.params["response_format"] == answer


# -- dialects: refused, ignored, named ----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 400, 422])
async def test_a_refused_dialect_is_recorded_and_the_next_one_is_used(
    status: int, api_key: str, tmp_path: Path, backend: str
) -> None:
    # llama-cpp-python's server: json_schema is a 500, json_object with a schema is held to.
    with ModelServer(api_key=KEY, faults=SMALL_MODEL, structured=["json_object"], refuses_with=status) as server:
        result, events = await judged_run(server, tmp_path)
        bodies = structured_bodies(server)
    assert result.judge_error is None
    assert events_of(events, Judged)
    (refused,) = judge_attempts(events)
    assert refused.error_type == "format_refused"
    assert refused.status == status
    assert "json_schema" in refused.error
    assert "json_object" in refused.error
    (call,) = judge_calls(events)
    assert call.structured == "json_object"
    assert [b["response_format"]["type"] for b in bodies] == ["json_schema", "json_object"]
    assert bodies[1]["response_format"]["schema"]["type"] == "object"


async def test_what_a_server_refused_is_not_asked_again_by_the_same_model(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key=KEY, structured=["json_object"], refuses_with=500) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            await judged_run(server, tmp_path / "one", model=model)
            _, second = await judged_run(server, tmp_path / "two", model=model)
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        bodies = structured_bodies(server)
    assert [b["response_format"]["type"] for b in bodies] == ["json_schema", "json_object", "json_object"]
    assert not judge_attempts(second)
    assert [c.structured for c in judge_calls(second)] == ["json_object"]


async def test_a_server_that_refuses_every_dialect_gets_the_schema_in_the_prompt(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key=KEY, structured=[]) as server:
        result, events = await judged_run(server, tmp_path)
    assert result.judge_error is None
    assert [a.error_type for a in judge_attempts(events)] == ["format_refused", "format_refused"]
    assert [c.structured for c in judge_calls(events)] == ["prompt"]


async def test_a_server_that_ignores_the_schema_leaves_the_repair_turns_to_say_so(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    # It takes response_format and holds nothing to it: the answers are a small model's.
    with ModelServer(api_key=KEY, faults=SMALL_MODEL, structured=[], ignores_formats=True) as server:
        result, events = await judged_run(server, tmp_path)
    assert result.status == "completed"
    assert result.judge_error is not None
    assert result.judge_error.startswith("Verdict: no valid answer in 3 attempts")
    calls = judge_calls(events)
    assert [c.structured for c in calls] == ["json_schema"] * 3
    assert all(c.response.startswith('{"$ref"') for c in calls)


@pytest.mark.parametrize("setting", ["json_object", "prompt"])
async def test_a_named_dialect_is_the_one_sent(setting: str, api_key: str, tmp_path: Path, backend: str) -> None:
    with ModelServer(api_key=KEY) as server:
        result, events = await judged_run(server, tmp_path, [*SHORT, f"model.structured={setting}"])
        (body,) = structured_bodies(server)
    assert result.judge_error is None
    assert [c.structured for c in judge_calls(events)] == [setting]
    assert body.get("response_format", {}).get("type") == (None if setting == "prompt" else setting)


def test_a_bad_structured_setting_names_the_key() -> None:
    with pytest.raises(converse.ScenarioError, match=r"\$\.model\.structured"):
        load_scenario("three-labs", ["model.structured=grammar"])


async def test_a_failure_after_the_server_answered_a_dialect_is_not_a_refusal(api_key: str, backend: str) -> None:
    scenario = load_scenario("three-labs")
    schema = verdict_type(scenario)
    request = CompletionRequest(
        messages=[converse.events.ChatMessage(role="user", content="The record: nothing happened.")],
        max_tokens=800, hints=Hints(kind="judge"),
    )
    scheduler = Scheduler(Limits(max_attempts=2, backoff=0.0, max_backoff=0.0))
    with ModelServer(api_key=KEY) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            first = await complete_structured(model, request, schema, scheduler=scheduler)
            server.faults = Faults(rate_500=1.0)
            with pytest.raises(converse.RetriesExhausted):
                await complete_structured(model, request, schema, scheduler=scheduler)
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert [a.dialect for a in first.attempts] == ["json_schema"]
    ways: StructuredWays = model.structured_ways  # type: ignore[attr-defined]
    assert ways.answered == {"json_schema"}
    assert not ways.refused


# -- the offline model, the cache and the log ---------------------------------------------------


async def test_the_offline_model_holds_its_answer_to_a_schema_sent_as_response_format(backend: str) -> None:
    scenario = load_scenario("three-labs")
    prepared = _prepared(verdict_type(scenario))
    for dialect in ("json_schema", "json_object"):
        request = CompletionRequest(
            messages=[converse.events.ChatMessage(role="user", content="Tell me about 2024.")],
            params=format_params(dialect, prepared.name, prepared.schema),  # type: ignore[arg-type]
            hints=Hints(kind="statement", speaker="OpenAI"),  # not a judge: the schema decides
        )
        answer = await OfflineModel().complete(request)
        verdict = prepared.decoder.decode(answer.text)
        assert msgspec.to_builtins(verdict)["summary"]


def test_schema_of_params_reads_each_dialect_and_nothing_else() -> None:
    schema = {"type": "object", "properties": {}}
    assert schema_of_params(format_params("json_schema", "x", schema)) == schema
    assert schema_of_params(format_params("json_object", "x", schema)) == schema
    assert schema_of_params(format_params("prompt", "x", schema)) is None
    assert schema_of_params({"response_format": {"type": "json_object"}}) is None
    assert schema_of_params({"response_format": "json"}) is None


def test_strict_is_claimed_only_for_a_schema_that_fits_it() -> None:
    loose = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": []}
    tight = {**loose, "required": ["a"], "additionalProperties": False}
    assert format_params("json_schema", "x", tight)["response_format"]["json_schema"]["strict"] is True
    assert format_params("json_schema", "x", loose)["response_format"]["json_schema"]["strict"] is False


class _Tight(msgspec.Struct, forbid_unknown_fields=True):
    a: int


class _Loose(msgspec.Struct):
    a: int = 0


@pytest.mark.parametrize(("kind", "fits"), [(_Tight, True), (_Loose, False)])
def test_a_prepared_type_knows_once_whether_it_fits_strict_mode(kind: type, fits: bool) -> None:
    prepared = _prepared(kind)
    assert prepared.strict is fits
    # What is sent with the flag known is what working it out from the schema sends.
    known = format_params("json_schema", prepared.name, prepared.schema, strict=prepared.strict)
    assert known == format_params("json_schema", prepared.name, prepared.schema)


async def test_an_offline_run_records_the_dialect_of_its_judge(tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read("three-labs", out=tmp_path, overrides=SHORT)
    assert result.judge_error is None
    (call,) = judge_calls(events)
    assert call.structured == "json_schema"
    statements = [c for c in events_of(events, LLMCall) if c.purpose != "judge"]
    assert statements
    assert all(c.structured is msgspec.UNSET for c in statements)
    assert '"structured"' not in result.events.read_text(encoding="utf-8").splitlines()[3]


async def test_a_request_every_dialect_fails_teaches_nothing_about_the_dialects(api_key: str, backend: str) -> None:
    # Over the server's window, every dialect gets the same 400: none of them was refused.
    with ModelServer(api_key=KEY, context_window=300) as server:
        model, failures = await failing_verdict(server, "maximum context length is 300 tokens")
    assert failures == ["format_refused", "format_refused", "request"]
    ways: StructuredWays = model.structured_ways  # type: ignore[attr-defined]
    assert not ways.refused
    assert not ways.answered


async def test_a_transient_server_error_on_the_first_structured_call_is_retried_not_a_refusal(
    api_key: str, backend: str
) -> None:
    with ModelServer(api_key=KEY, faults=Faults(rate_500=1.0)) as server:
        model, failures = await failing_verdict(server, "Server error")
        (body, again) = server.requests
    assert failures == ["server", "server"]
    assert body["response_format"]["type"] == again["response_format"]["type"] == "json_schema"
    assert not model.structured_ways.refused  # type: ignore[attr-defined]
