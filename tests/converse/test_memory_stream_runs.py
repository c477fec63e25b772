"""Runs whose agents remember with a memory stream (``memory.policy = "stream"``): what each
prompt holds, that it stays private, that the log replays and resumes it without embedding
anything again, the embedder a scenario names, and the settings ``converse validate`` refuses."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS, cut_copies, error_lines, resumed, run_cli
from converse.audit import audit_run
from converse.engine._stream_memory import NOTHING_YET
from converse.events import AnyEvent, Embedded, LLMCall, Recalled, Remembered, RunError, Utterance
from converse.scenario._memory_prompts import insights_of, questions_of, ratings_of
from converse.testing import ModelServer, ScriptedModel

KEY = "sk-test-streams-never-log-me"
STREAM = ['memory.policy="stream"', "clock.end=2025"]


def _stable(events: list[AnyEvent]) -> dict[tuple[object, object], list[bytes]]:
    """The events of each conversation and actor, in order, without what the interleaving of
    concurrent councils and timing change: their place in the log, their clock, calls' latency
    and numbers (a call is its whole prompt and its answer)."""
    prompts = converse.events.prompts_of(events)
    out: dict[tuple[object, object], list[bytes]] = {}
    for e in events:
        e = msgspec.structs.replace(e, seq=0, t=0.0)
        if isinstance(e, Embedded):
            e = msgspec.structs.replace(e, latency=0.0)
        if isinstance(e, LLMCall):
            e = msgspec.structs.replace(e, call=0, latency=0.0, shared=None, messages=prompts[e.call])
        key = (getattr(e, "conversation", None), getattr(e, "actor", None))
        out.setdefault(key, []).append(msgspec.json.encode(e))
    return out


def _conversation(events: list[AnyEvent]) -> dict[tuple[object, object], list[bytes]]:
    """The stable events of the conversation itself: not the run's start, the judge or the ledger."""
    kept = [
        e for e in events
        if not isinstance(e, converse.events.RunStarted | converse.events.Ledger)
        and getattr(e, "conversation", None) != ("judge",)
    ]
    return _stable(kept)


async def test_each_prompt_holds_the_records_its_recall_chose_and_only_the_agents_own(
    tmp_path: Path, backend: str
) -> None:
    result = await converse.run_scenario("three-labs-councils", seed=2, out=tmp_path, overrides=STREAM)
    assert result.status == "completed"
    events = converse.read_events(result.events)
    prompts = converse.events.prompts_of(events)
    remembered: dict[str, dict[int, Remembered]] = {}
    heard_in: dict[tuple[str, ...], list[str]] = {}  # what was said in each conversation
    pending: dict[str, Recalled] = {}
    checked = 0
    for e in events:
        if isinstance(e, Utterance):
            heard_in.setdefault(tuple(e.conversation), []).append(e.text)
        elif isinstance(e, Remembered):
            mine = remembered.setdefault(e.actor, {})
            assert e.id == len(mine)  # each agent's stream counts from 0, with no gaps
            mine[e.id] = e
            # What an agent remembers was said in its own conversation (or, for a meeting, in its
            # own council's), never in another's.
            own = (*e.conversation, e.actor) if e.kind == "meeting" else tuple(e.conversation)
            assert any(said in e.text for said in heard_in.get(own, [])), e
        elif isinstance(e, Recalled):
            assert e.actor not in pending  # one recall per call
            assert e.of == len(remembered.get(e.actor, {}))
            assert len(e.records) <= 10
            pending[e.actor] = e
        elif isinstance(e, LLMCall) and e.purpose in ("statement", "line"):
            recall = pending.pop(e.actor)
            shown = prompts[e.call][-1].content
            own = remembered.get(e.actor, {})
            lines = [f"] {own[r.id].text}" for r in recall.records]
            if not lines:
                assert NOTHING_YET in shown
            # The records show in the order they were made, each once.
            assert [r.id for r in recall.records] == sorted({r.id for r in recall.records})
            at = 0
            for line in lines:
                found = shown.find(line, at)
                assert found != -1, (e.actor, line)
                at = found + len(line)
            # Nothing another agent remembers shows in this prompt unless this agent remembers it too.
            for other, theirs in remembered.items():
                if other != e.actor:
                    for record in theirs.values():
                        if record.text not in {r.text for r in own.values()}:
                            assert f"] {record.text}" not in shown
            checked += 1
    assert not pending
    assert checked == len([e for e in events if isinstance(e, LLMCall) and e.purpose in ("statement", "line")])
    assert any(len(r.records) == 10 for r in events if isinstance(r, Recalled))  # the cap binds by the end


async def test_a_stream_run_re_executes_from_its_log_and_resumes_cut_anywhere_without_embedding_again(
    tmp_path: Path, backend: str
) -> None:
    whole = await converse.run_scenario("three-labs-councils", seed=3, out=tmp_path / "whole", overrides=STREAM)
    original = converse.read_events(whole.events)
    embedded = sum(isinstance(e, Embedded) for e in original)
    assert embedded > 0
    # Re-executed from the log: no model, no embedder (one would raise), the same events.
    again = await converse.run_scenario(
        "three-labs-councils", seed=3, out=tmp_path / "again", overrides=STREAM, replay_from=whole.events
    )
    # The same run, said for said; only the transcript's header names another model (the log).
    replayed = again.transcript.read_text(encoding="utf-8")
    assert replayed.split("\n## ", 1)[1] == whole.transcript.read_text(encoding="utf-8").split("\n## ", 1)[1]
    # The same events, but for what names the log as the model (its start, the judge's call
    # and the ledger, as for any re-executed log).
    assert _conversation(converse.read_events(again.events)) == _conversation(original)
    for at, directory in cut_copies(whole.events, tmp_path, 4, seed=7):
        again_from = await resumed(directory)
        assert again_from.transcript.read_bytes() == whole.transcript.read_bytes(), at
        events = converse.read_events(again_from.events)
        assert sum(isinstance(e, Embedded) for e in events) == embedded  # none twice
        assert _stable(events) == _stable(original)


@SDK_LEAVES_GENERATORS
async def test_the_embedder_a_scenario_names_embeds_through_its_server_on_a_ledger_line_of_its_own(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key=api_key) as server:
        result = await converse.run_scenario(
            "three-labs", seed=1, out=tmp_path, base_url=server.base_url,
            overrides=[*STREAM, 'memory.stream.embedder="openai:offline-embed"'],
        )
        stats = server.stats()
    assert result.status == "completed"
    events = converse.read_events(result.events)
    embedded = [e for e in events if isinstance(e, Embedded)]
    assert {e.model for e in embedded} == {"openai:offline-embed"}
    assert stats.embeddings == len(embedded) > 0
    ledger = next(e for e in events if isinstance(e, converse.events.Ledger))
    rows = {row.model: row for row in ledger.models or []}
    assert rows["openai:offline-embed"].calls == len(embedded)
    assert rows["openai:offline-embed"].completion_tokens == 0
    assert rows["openai:offline-embed"].prompt_tokens == sum(e.usage.prompt_tokens for e in embedded)
    assert rows["offline"].calls == sum(isinstance(e, LLMCall) for e in events)


@SDK_LEAVES_GENERATORS
async def test_a_run_whose_model_does_not_embed_fails_at_its_first_turn_saying_what_to_do(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    with ModelServer.like("llama.cpp", api_key=api_key) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result = await converse.run_scenario("three-labs", model=model, out=tmp_path, overrides=STREAM)
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        stats = server.stats()
    assert result.status == "failed"
    errors = [e for e in converse.read_events(result.events) if isinstance(e, RunError)]
    assert "does not embed texts" in errors[-1].message
    assert "memory.stream.embedder" in errors[-1].message or "embedding model" in errors[-1].message
    assert stats.successes == 0  # no chat call was made before the memory failed


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("memory.stream.decay=0", "$.memory.stream.decay"),
        ("memory.stream.decay=1.5", "$.memory.stream.decay"),
        ("memory.stream.k=0", "$.memory.stream.k"),
        ("memory.stream.weights.relevance=-1", "$.memory.stream.weights.relevance"),
        ("memory.stream.ratings.statement=11", "$.memory.stream.ratings.statement"),
    ],
)
def test_bad_stream_settings_are_refused_naming_their_key(setting: str, key: str, tmp_path: Path) -> None:
    checked = run_cli("validate", "three-labs", "--set", 'memory.policy="stream"', "--set", setting, cwd=tmp_path)
    assert checked.returncode == 2
    lines = error_lines(checked)
    assert len(lines) == 1
    assert key in lines[0]


def test_two_embedders_in_one_run_are_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "two.toml"
    text = (Path(converse.__file__).parent.parent / "scenarios" / "three-labs.toml").read_text()
    scenario.write_text(text)
    checked = run_cli(
        "validate", str(scenario), "--set", 'memory.policy="stream"', "--set", 'memory.stream.embedder="offline"',
        "--set", 'agents[0].memory={policy="stream", stream={embedder="openai:text-embedding-3-small"}}',
        cwd=tmp_path,
    )
    assert checked.returncode == 2
    lines = error_lines(checked)
    assert any("$.agents[0].memory.stream.embedder" in line and "one model" in line for line in lines), lines


def _forged(events: list[AnyEvent], index: int, **changes: object) -> list[AnyEvent]:
    return [msgspec.structs.replace(e, **changes) if i == index else e for i, e in enumerate(events)]


async def test_the_audit_rebuilds_every_stream_and_catches_a_forged_recall(tmp_path: Path, backend: str) -> None:
    result = await converse.run_scenario("three-labs-councils", seed=4, out=tmp_path, overrides=STREAM)
    events = converse.read_events(result.events)
    clean = audit_run(events)
    assert "recalled" in clean.rules
    assert clean.violations == []
    # A recall that names other records than the scores choose.
    at, recall = next((i, e) for i, e in enumerate(events) if isinstance(e, Recalled) and len(e.records) >= 3)
    swapped = [*recall.records[1:], recall.records[0]]
    found = audit_run(_forged(events, at, records=swapped)).violations
    # Reported at the recall, and at the turn whose prompt does not show the records so listed.
    assert (found[0].seq, found[0].rule) == (recall.seq, "recalled")
    assert "the scores choose" in found[0].detail
    assert {(v.actor, v.rule) for v in found} == {(recall.actor, "recalled")}
    # A record whose importance was changed after the fact: the next recall that scores it
    # disagrees with the stream the log rebuilds.
    at, record = next((i, e) for i, e in enumerate(events) if isinstance(e, Remembered) and e.importance != 10)
    found = audit_run(_forged(events, at, importance=10)).violations
    assert found
    assert {v.rule for v in found} == {"recalled"}
    assert all(v.actor == record.actor and v.seq > record.seq for v in found)
    # Another agent's memory in a prompt.
    prompts = converse.events.prompts_of(events)
    recalls = {e.actor: e for e in events if isinstance(e, Recalled) and e.records}
    at, call = next(
        (i, e) for i, e in enumerate(events)
        if isinstance(e, LLMCall) and e.purpose == "statement" and e.actor in recalls
        and "(You remember nothing" not in prompts[e.call][-1].content
    )
    # A public statement another organisation remembers saying: no private debate leaks, only
    # a record that is not this agent's.
    stranger = next(
        e for e in events
        if isinstance(e, Remembered) and e.actor != call.actor and e.kind == "statement" and e.conversation == ("top",)
    )
    last = prompts[call.call][-1]
    injected = last.content.replace("oldest first):\n", f"oldest first):\n- [2023] {stranger.text}\n", 1)
    messages = [*call.messages[:-1], msgspec.structs.replace(last, content=injected)]
    found = audit_run(_forged(events, at, messages=messages)).violations
    assert [(v.seq, v.rule) for v in found] == [(call.seq, "recalled")]
    assert "besides the records it recalled" in found[0].detail


async def test_the_model_rates_what_an_agent_records_in_one_recorded_call_per_turn(tmp_path: Path, backend: str) -> None:
    overrides = [*STREAM, 'memory.stream.importance="model"']
    result = await converse.run_scenario("three-labs-councils", seed=6, out=tmp_path / "a", overrides=overrides)
    events = converse.read_events(result.events)
    assert audit_run(events).violations == []
    prompts = converse.events.prompts_of(events)
    last_rating: dict[str, list[int | None]] = {}
    given = 0
    for e in events:
        if isinstance(e, LLMCall) and e.purpose == "importance":
            count = prompts[e.call][-1].content.count("\n\n") - 1  # numbered memories, blank-line apart
            last_rating[e.actor] = ratings_of(e.response, count)
        elif isinstance(e, Remembered):
            assert e.rated == "model"
            assert e.importance == last_rating[e.actor].pop(0)
            given += 1
    assert given > 0
    assert len({e.importance for e in events if isinstance(e, Remembered)}) >= 4  # it tells them apart
    # Re-executed from its log: the same ratings, no model asked.
    again = await converse.run_scenario(
        "three-labs-councils", seed=6, out=tmp_path / "b", overrides=overrides, replay_from=result.events
    )
    assert _conversation(converse.read_events(again.events)) == _conversation(events)


async def test_a_rating_the_model_leaves_out_falls_back_to_the_rule_and_says_so(tmp_path: Path, backend: str) -> None:
    def script(request: converse.CompletionRequest) -> str | None:
        return "Sure! 1: 9 is my rating" if request.hints.kind == "importance" else None

    model = ScriptedModel(script, seed=1)
    overrides = [*STREAM, 'memory.stream.importance="model"', 'memory.stream.embedder="offline"',
                 "memory.stream.ratings.observation=2"]
    result = await converse.run_scenario("three-labs", model=model, out=tmp_path, overrides=overrides)
    assert result.status == "completed"
    records = [e for e in converse.read_events(result.events) if isinstance(e, Remembered)]
    assert records
    assert {(e.rated, e.importance) for e in records} <= {("rule", 2), ("rule", 5)}  # "Sure! 1: 9" is no rating line
    assert any(r.hints.kind == "importance" for r in model.requests)


def test_ratings_are_read_from_answers_as_models_write_them() -> None:
    assert ratings_of("1: 4\n2: 10\n3: 7", 3) == [4, 10, 7]
    assert ratings_of("- 2: 8\n1. : 3\n**3**: 5", 3) == [3, 8, 5]
    assert ratings_of("Memory 1: 4\n2 - 5", 2) == [None, None]  # not a rating line
    assert ratings_of("1: 15\n2: 0\n3: 6/10", 3) == [10, 1, 6]
    assert ratings_of("1: 4\n1: 9\n7: 2", 2) == [4, None]  # the first of a number counts; no such memory 7
    assert ratings_of("", 2) == [None, None]


async def test_an_agent_reflects_when_what_it_recorded_matters_enough_citing_what_it_drew_on(
    tmp_path: Path, backend: str
) -> None:
    overrides = [*STREAM, "memory.stream.reflect_at=40", "clock.end=2026"]
    result = await converse.run_scenario("three-labs-councils", seed=8, out=tmp_path / "a", overrides=overrides)
    events = converse.read_events(result.events)
    assert audit_run(events).violations == []
    streams: dict[str, list[Remembered]] = {}
    reflections = 0
    for e in events:
        if isinstance(e, Remembered):
            mine = streams.setdefault(e.actor, [])
            if e.kind == "reflection":
                reflections += 1
                assert e.cites
                assert all(c < e.id for c in e.cites)  # only what was made before it
                assert e.importance == max(mine[c].importance for c in e.cites)
                assert e.rated == "cited"
            mine.append(e)
    assert reflections > 0
    # An agent reflects once what it recorded since it last did reaches the threshold: the
    # questions come right after the record that tipped the tally over 40.
    questions = [e for e in events if isinstance(e, Embedded) and e.purpose == "questions"]
    assert questions
    for asked in questions:
        before = [r for r in streams[asked.actor] if r.seq < asked.seq]
        last_reflection = max((r.id for r in before if r.kind == "reflection"), default=-1)
        tipped = sum(r.importance for r in before if r.id > last_reflection and r.kind != "reflection")
        assert tipped >= 40
    # Later turns recall reflections like any record.
    reflected = {(r.actor, r.id) for rs in streams.values() for r in rs if r.kind == "reflection"}
    assert any((e.actor, rec.id) in reflected for e in events if isinstance(e, Recalled) for rec in e.records)
    # Re-executed from its log: the same reflections, no model asked.
    again = await converse.run_scenario(
        "three-labs-councils", seed=8, out=tmp_path / "b", overrides=overrides, replay_from=result.events
    )
    assert _conversation(converse.read_events(again.events)) == _conversation(events)


async def test_reflect_at_0_never_reflects(tmp_path: Path, backend: str) -> None:
    result = await converse.run_scenario(
        "three-labs-councils", seed=8, out=tmp_path, overrides=[*STREAM, "memory.stream.reflect_at=0"]
    )
    events = converse.read_events(result.events)
    assert not any(isinstance(e, Remembered) and e.kind == "reflection" for e in events)
    assert not any(isinstance(e, LLMCall) and e.purpose == "reflection" for e in events)


def test_questions_and_insights_are_read_from_answers_as_models_write_them() -> None:
    answer = "1. What is OpenAI racing towards?\n- Who holds back?\n\n* Where do we disagree?\n4) And a fourth?"
    assert questions_of(answer, 3) == ["What is OpenAI racing towards?", "Who holds back?", "Where do we disagree?"]
    insights = insights_of(
        "1. OpenAI is ahead (because of 3, 7)\nInsight 2: Nobody slows down (9, 3).\n- A hunch with no source\n"
        "- Cites what it was not shown (because of 99)",
        {3, 7, 9}, 5,
    )
    assert insights == [
        ("OpenAI is ahead", (3, 7)), ("Nobody slows down", (3, 9)), ("A hunch with no source", ()),
        ("Cites what it was not shown", ()),
    ]


def test_a_role_play_refuses_a_memory_stream_it_would_not_use(tmp_path: Path) -> None:
    checked = run_cli("validate", "camel-trading-bot", "--set", 'memory.policy="stream"', cwd=tmp_path)
    assert checked.returncode == 2
    lines = error_lines(checked)
    assert len(lines) == 1
    assert "$.memory.policy" in lines[0]
    assert "role-play" in lines[0]


async def test_an_organisation_remembers_its_councils_meetings_and_only_its_own(tmp_path: Path, backend: str) -> None:
    result = await converse.run_scenario("three-labs-councils", seed=9, out=tmp_path, overrides=STREAM)
    events = converse.read_events(result.events)
    assert audit_run(events).violations == []  # no private line of another council shows anywhere
    meetings = [e for e in events if isinstance(e, Remembered) and e.kind == "meeting"]
    tops = {"OpenAI", "Google DeepMind", "Anthropic"}
    assert {e.actor for e in meetings} == tops  # the organisations, once a period each; members hold none
    assert len(meetings) == 3 * 3  # three organisations, three periods (2023 to 2025)
    for meeting in meetings:
        assert meeting.importance == 6
        debate = [e.text for e in events if isinstance(e, Utterance) and e.conversation == ("top", meeting.actor)]
        said = [line for line in debate if line in meeting.text]
        assert said  # its own council's lines...
        others = [e.text for e in events if isinstance(e, Utterance) and len(e.conversation) == 2
                  and e.conversation[1] != meeting.actor]
        assert not any(line in meeting.text for line in others)  # ...and no other council's
    # A later statement may recall a meeting of an earlier period.
    ids = {(e.actor, e.id) for e in meetings}
    assert any((r.actor, rec.id) in ids for r in events if isinstance(r, Recalled) for rec in r.records)
