"""Answers cut off at ``max_tokens`` are never published as complete: the log records each
answer's ``finish_reason``, the transcript marks a cut statement, ``converse audit`` flags it,
the run's summary line and a sweep's ``summary.csv`` count them, and ``[model] on_truncated``
can ask again with more room or fail the run. Over real HTTP (the openai SDK against
``ModelServer``, which cuts an answer longer than ``max_tokens`` and says ``length``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS, cli_env, run_cli
from converse.audit import audit_run
from converse.events import LLMAttempt, LLMCall, Utterance
from converse.sweeps import read_summary_csv
from converse.testing import ModelServer, events_of, run_and_read
from converse.web._items import Line, Statement
from converse.web._reading import decode_lines, view_decoder
from converse.web._runview import RunView

KEY = "test-key-truncated"
SHORT = ["clock.end=2024", "model.max_tokens=20"]
MARK = " _[cut off at max_tokens]_"
STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])


async def run_against(
    out: Path, overrides: list[str], *, stream: bool
) -> tuple[converse.RunResult, list[converse.events.AnyEvent], ModelServer]:
    with ModelServer(api_key=KEY) as server:
        spec = "openai:offline-chat" + ("?stream=1" if stream else "")
        model = converse.open_model(spec, base_url=server.base_url)
        try:
            result, events = await run_and_read("three-labs", model=model, out=out, overrides=overrides)
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    return result, events, server


@SDK_LEAVES_GENERATORS
@STREAMS
async def test_cut_answers_are_recorded_marked_audited_and_counted(
    stream: bool, api_key: str, tmp_path: Path, backend: str
) -> None:
    result, events, _ = await run_against(tmp_path, SHORT, stream=stream)
    assert result.status == "completed", result.reason
    calls = events_of(events, LLMCall)
    cut = [c for c in calls if c.finish_reason == "length"]
    assert cut
    assert {c.finish_reason for c in calls} <= {"stop", "length"}
    assert all(c.usage.completion_tokens <= 20 and len(c.response) <= 80 for c in cut)
    assert result.truncated == len(cut)
    # The transcript marks each cut statement, and only those.
    transcript = result.transcript.read_text(encoding="utf-8")
    statements = [c for c in calls if c.purpose == "statement" and len(c.conversation) == 1]
    marked = [c for c in statements if c.finish_reason == "length"]
    assert marked
    assert transcript.count(MARK) == len(marked)
    for call in marked:
        assert call.response.strip() + MARK in transcript or call.response + MARK in transcript
    # The viewer marks them too, from the calls it reads without their answers.
    view = RunView()
    items = view.feed(decode_lines(result.events.read_bytes(), view_decoder))
    speeches = [i for i in items if isinstance(i, Statement | Line)]
    assert sorted(i.call for i in speeches if i.truncated) == sorted(  # type: ignore[type-var]
        c.call for c in calls if c.truncated and c.purpose in ("statement", "member")
    )
    assert any(i.truncated for i in speeches)
    # The audit flags every cut answer.
    flagged = [(v.seq, v.rule) for v in audit_run(events).violations if v.rule == "truncated"]
    assert flagged == [(c.seq, "truncated") for c in cut]


@SDK_LEAVES_GENERATORS
@STREAMS
async def test_answers_within_max_tokens_end_with_stop_and_are_not_marked(
    stream: bool, api_key: str, tmp_path: Path, backend: str
) -> None:
    result, events, _ = await run_against(tmp_path, ["clock.end=2024"], stream=stream)
    assert result.status == "completed", result.reason
    assert {c.finish_reason for c in events_of(events, LLMCall)} == {"stop"}
    assert result.truncated == 0
    assert MARK not in result.transcript.read_text(encoding="utf-8")
    assert audit_run(events).violations == []


@SDK_LEAVES_GENERATORS
@STREAMS
async def test_on_truncated_fail_fails_the_run_naming_the_agent(
    stream: bool, api_key: str, tmp_path: Path, backend: str
) -> None:
    result, events, _ = await run_against(tmp_path, [*SHORT, "model.on_truncated=fail"], stream=stream)
    assert result.status == "failed"
    agents = {u.actor for u in events_of(events, converse.events.TurnGranted)}
    agent = result.reason.split(":", 1)[0]
    assert agent in agents
    assert result.reason.startswith(f"{agent}: CallFailed: the answer was cut off at max_tokens=20")
    assert not [u for u in events_of(events, Utterance) if u.actor == agent and len(u.conversation) == 1]


@SDK_LEAVES_GENERATORS
async def test_on_truncated_retry_asks_again_with_twice_the_room(api_key: str, tmp_path: Path, backend: str) -> None:
    result, events, server = await run_against(tmp_path, [*SHORT, "model.on_truncated=retry"], stream=False)
    assert result.status == "completed", result.reason
    retried = [a for a in events_of(events, LLMAttempt) if a.error_type == "truncated"]
    assert retried
    assert all("asked again with max_tokens=40" in a.error for a in retried)
    calls = events_of(events, LLMCall)
    again = [c for c in calls if c.params.get("max_tokens") == 40]
    assert len(again) == len(retried)
    assert all(c.attempt == 2 for c in again)
    assert server.stats().requests == len(calls) + len(retried)


@SDK_LEAVES_GENERATORS
async def test_a_cut_answer_asked_again_is_still_paid_for_in_the_ledger_and_the_budget(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    overrides = [*SHORT, "model.on_truncated=retry"]
    result, events, server = await run_against(tmp_path / "free", overrides, stream=False)
    stats = server.stats()
    retried = [a for a in events_of(events, LLMAttempt) if a.error_type == "truncated"]
    assert retried
    assert all(a.usage.completion_tokens == 20 for a in retried)  # type: ignore[union-attr]
    # The ledger holds every token the server served: the kept answers' and the cut ones'.
    assert (result.prompt_tokens, result.completion_tokens) == (stats.prompt_tokens, stats.completion_tokens)
    calls = events_of(events, LLMCall)
    kept = sum(c.usage.total_tokens for c in calls)
    assert result.prompt_tokens + result.completion_tokens > kept
    assert result.llm_calls == len(calls)  # an attempt is no call
    # A budget the kept answers alone fit in, but not with the cut ones: the run stops.
    budget = kept + (result.prompt_tokens + result.completion_tokens - kept) // 2
    limited, _, _ = await run_against(tmp_path / "budget", [*overrides, f"budget.tokens={budget}"], stream=False)
    assert limited.status == "budget_exhausted", limited.reason


def test_the_summary_line_and_a_sweeps_summary_csv_count_cut_answers(tmp_path: Path) -> None:
    env = cli_env(without="OPENAI_", OPENAI_API_KEY=KEY)
    with ModelServer(api_key=KEY) as server:
        model = ["--model", "openai:offline-chat", "--base-url", server.base_url]
        sets = [arg for s in SHORT for arg in ("--set", s)]
        done = run_cli("run", "three-labs", *model, *sets, "-q", cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert "answers were cut off at max_tokens" in done.stderr
        out = tmp_path / "sweep"
        done = run_cli("sweep", "three-labs", *model, *sets, "--repeats", "2", "--out", str(out), "-q",
                       cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
    with (out / "summary.csv").open(encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    header = (out / "summary.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[header.index("judge_error") + 1] == "truncated"
    assert all(int(row["truncated"]) > 0 for row in table)
    assert [r.truncated for r in read_summary_csv(out / "summary.csv", [])] == [int(r["truncated"]) for r in table]


@SDK_LEAVES_GENERATORS
async def test_a_role_plays_transcript_marks_a_cut_message(api_key: str, tmp_path: Path, backend: str) -> None:
    with ModelServer(api_key=KEY) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, events = await run_and_read(
                "camel-trading-bot", model=model, out=tmp_path,
                overrides=["roleplay.specifier.enabled=false", "roleplay.max_messages=4", "model.max_tokens=12"],
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    said = [u for u in events_of(events, Utterance) if tuple(u.conversation) == ("top",)]
    cut = {c.actor for c in events_of(events, LLMCall) if c.finish_reason == "length"}
    assert said
    assert cut  # the server cut at least one message at 12 tokens
    transcript = result.transcript.read_text(encoding="utf-8")
    assert transcript.count(MARK.strip()) == sum(
        c.finish_reason == "length" for c in events_of(events, LLMCall) if tuple(c.conversation) == ("top",)
    )
    assert len(said) == 4
