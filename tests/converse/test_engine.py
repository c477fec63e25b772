"""The simulation engine end to end on the offline model: turns, councils, logs, transcripts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

import converse
from _helpers import SCENARIOS
from actors import ActorSystem
from converse import CompletionRequest
from converse.audit._audit import audit_events
from converse.events import (
    ConversationEnded,
    ConversationStarted,
    LLMCall,
    PeriodStarted,
    RunError,
    RunFinished,
    RunStarted,
    TurnGranted,
    Utterance,
)
from converse.testing import ScriptedModel, events_of, run_and_read


def _top(events: list[converse.events.AnyEvent]) -> list[Utterance]:
    return [e for e in events if isinstance(e, Utterance) and e.conversation == ("top",)]


def _comparable(event: converse.events.AnyEvent) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(event)
    for timing in ("t", "latency", "started_at"):
        data.pop(timing, None)
    return data


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_every_shipped_scenario_keeps_every_fidelity_rule(path: Path, tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read(path, out=tmp_path, seed=3)
    assert result.status == "completed"
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished)
    assert [e.seq for e in events] == list(range(len(events)))
    calls = events_of(events, LLMCall)
    assert calls, "the run made no model calls"
    assert audit_events(events) == []
    # The transcript is a pure function of the log.
    assert result.transcript.read_text(encoding="utf-8") == converse.render_markdown(events)


def _by_conversation(events: list[converse.events.AnyEvent]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Each conversation's events in order, without what depends on how concurrent councils
    interleave (``seq``, call numbers): trio shuffles runnable tasks, asyncio follows latencies."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for event in events:
        data = _comparable(event)
        data.pop("seq")
        data.pop("call", None)
        if data.get("shared"):
            data["shared"].pop("call")
        groups.setdefault(tuple(data.get("conversation") or ()), []).append(data)
    return groups


async def test_same_scenario_seed_and_model_give_the_same_run(tmp_path: Path, backend: str) -> None:
    first, events_a = await run_and_read("three-labs-councils", out=tmp_path / "a", seed=11)
    second, events_b = await run_and_read("three-labs-councils", out=tmp_path / "b", seed=11)
    assert _by_conversation(events_a) == _by_conversation(events_b)
    assert first.transcript.read_bytes() == second.transcript.read_bytes()
    third, _ = await run_and_read("three-labs-councils", out=tmp_path / "c", seed=12)
    assert third.transcript.read_bytes() != first.transcript.read_bytes()


async def test_a_turn_sees_what_was_said_since_the_last_one_not_a_round_late(tmp_path: Path, backend: str) -> None:
    _, events = await run_and_read("three-labs", out=tmp_path, overrides=["clock.end=2024"])
    prompts = converse.events.prompts_of(events)
    calls = [prompts[e.call] for e in events_of(events, LLMCall) if e.actor == "OpenAI"]
    said = _top(events)
    second_turn_prompt = calls[1][-1].content
    # Everything the other two labs said in 2023 reaches OpenAI's 2024 turn.
    for utterance in said:
        if utterance.period == "2023" and utterance.actor != "OpenAI":
            assert utterance.text in second_turn_prompt
    # ...and its own earlier statement is in its memory, as an assistant message.
    assert calls[1][-2].role == "assistant"
    assert calls[1][-2].content.startswith("OpenAI 2023")


async def test_councils_of_different_organisations_debate_at_the_same_time(tmp_path: Path, backend: str) -> None:
    _, events = await run_and_read("three-labs-councils", out=tmp_path, overrides=["clock.end=2023"])
    councils = [e for e in events if isinstance(e, ConversationStarted | ConversationEnded) and len(e.conversation) == 2]
    kinds = [type(e).__name__ for e in councils]
    # All three councils open before the first one closes: they run concurrently.
    assert kinds[:3] == ["ConversationStarted"] * 3
    first_statement = _top(events)[0].seq
    assert all(e.seq < first_statement for e in councils)


async def test_sequential_deliberation_lets_later_councils_see_earlier_statements(tmp_path: Path, backend: str) -> None:
    _, events = await run_and_read(
        "three-labs-councils",
        out=tmp_path,
        overrides=["conversation.deliberation=sequential", "clock.end=2023"],
    )
    statements = _top(events)
    openai_statement = next(u for u in statements if u.actor == "OpenAI")
    anthropic_member_calls = [
        e for e in events_of(events, LLMCall) if e.conversation == ("top", "Anthropic")
    ]
    # Anthropic's council deliberates after OpenAI spoke, and is shown that statement.
    assert anthropic_member_calls[0].seq > openai_statement.seq
    assert openai_statement.text in anthropic_member_calls[0].messages[-1].content
    assert anthropic_member_calls[0].shared is None  # a member's first call shares nothing


@pytest.mark.parametrize(
    ("context", "shown"),
    [("none", False), ("last-period", True), ("all", True)],
)
async def test_public_context_decides_what_a_council_is_told(
    context: str, shown: bool, tmp_path: Path, backend: str
) -> None:
    overrides = [f"agents[{i}].council.public_context={context}" for i in range(3)]
    _, events = await run_and_read("three-labs-councils", out=tmp_path, overrides=[*overrides, "clock.end=2025"])
    first_year = [u.text for u in _top(events) if u.period == "2023"]
    last_year = [u.text for u in _top(events) if u.period == "2024"]
    session: dict[tuple[str, ...], str | None] = {}
    prompts_2025 = []
    for event in events:
        if isinstance(event, ConversationStarted) and len(event.conversation) == 2:
            session[tuple(event.conversation)] = event.period
        elif isinstance(event, LLMCall) and session.get(tuple(event.conversation)) == "2025":
            prompts_2025.append(event.messages[-1].content)
    assert prompts_2025
    prompt = "\n".join(prompts_2025)
    assert all((text in prompt) == shown for text in last_year)
    if context == "last-period":
        assert not any(text in prompt for text in first_year)
    if context == "all":
        assert all(text in prompt for text in first_year)


async def test_two_levels_of_nesting_stay_inside_their_organisation(tmp_path: Path, backend: str) -> None:
    _, events = await run_and_read("nested-councils", out=tmp_path)
    depths = {len(e.conversation) for e in events_of(events, Utterance)}
    assert depths == {1, 2, 3}
    assert audit_events(events) == []


@pytest.mark.parametrize("policy", ["round-robin", "random", "scripted", "simultaneous"])
async def test_turn_policies(policy: str, tmp_path: Path, backend: str) -> None:
    overrides = [f"conversation.turn_policy={policy}", "clock.end=2027"]
    if policy == "scripted":
        overrides.append('conversation.order=["Anthropic", "OpenAI", "Anthropic", "Google DeepMind"]')
    _, events = await run_and_read("three-labs", out=tmp_path, overrides=overrides, seed=5)
    by_period: dict[str, list[str]] = {}
    for grant in events_of(events, TurnGranted):
        by_period.setdefault(grant.period, []).append(grant.actor)
    orders = list(by_period.values())
    assert len(orders) == 5
    if policy == "round-robin":
        assert all(o == ["OpenAI", "Google DeepMind", "Anthropic"] for o in orders)
    elif policy == "random":
        assert all(sorted(o) == ["Anthropic", "Google DeepMind", "OpenAI"] for o in orders)
        assert len({tuple(o) for o in orders}) > 1
    elif policy == "scripted":
        assert all(o == ["Anthropic", "OpenAI", "Anthropic", "Google DeepMind"] for o in orders)
    else:
        # Everyone holds a token at once; nobody sees a statement of the same period.
        said = _top(events)
        period_of: dict[str, str] = {}
        for event in events:
            if isinstance(event, TurnGranted):
                period_of[event.actor] = event.period
                assert not [u for u in said if u.period == event.period and u.seq < event.seq]
            elif isinstance(event, LLMCall) and event.purpose != "judge":  # the judge reads everything
                period = period_of[event.actor]
                same = [u.text for u in said if u.period == period and u.actor != event.actor]
                assert not any(text in event.messages[-1].content for text in same)
    assert audit_events(events) == []


async def test_max_turns_ends_the_conversation(tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read("three-labs", out=tmp_path, overrides=["termination.max_turns=4"])
    assert result.reason == "max_turns"
    assert len(_top(events)) == 4
    ended = events_of(events, ConversationEnded)[-1]
    assert ended.reason == "max_turns"


async def test_an_end_token_in_an_utterance_ends_the_conversation(tmp_path: Path, backend: str) -> None:
    model = ScriptedModel({"Google DeepMind": ["Google DeepMind 2023: we are done here. <END>"]})
    result, events = await run_and_read(
        "three-labs", model=model, out=tmp_path, overrides=['termination.end_token="<END>"']
    )
    assert result.reason == "end_token"
    assert [u.actor for u in _top(events)] == ["OpenAI", "Google DeepMind"]
    assert isinstance(events[-1], RunFinished)
    assert events[-1].status == "completed"


async def test_only_the_token_holder_speaks_and_every_prompt_states_the_period(tmp_path: Path, backend: str) -> None:
    _, events = await run_and_read("three-labs-half-yearly", out=tmp_path)
    grants = {(tuple(g.conversation), g.token): g for g in events_of(events, TurnGranted)}
    holder_by_turn = {(tuple(g.conversation), g.turn): g.actor for g in grants.values()}
    for utterance in events_of(events, Utterance):
        assert holder_by_turn[(tuple(utterance.conversation), utterance.turn)] == utterance.actor
    periods = [p.period for p in events_of(events, PeriodStarted)]
    assert periods[:3] == ["H1 2023", "H2 2023", "H1 2024"]
    turns = [c for c in events_of(events, LLMCall) if c.purpose != "judge"]
    for call in turns:
        assert any(p in call.messages[-1].content for p in periods)
    # Each call records only what follows the prefix it shares with the agent's previous one.
    prompts = converse.events.prompts_of(events)
    for call in events_of(events, LLMCall):
        if call.shared is not None:
            assert prompts[call.call][: call.shared.count] == prompts[call.shared.call][: call.shared.count]
            assert len(call.messages) == 2  # my previous answer and the new turn


async def test_a_model_failure_ends_the_run_cleanly_with_a_complete_log(tmp_path: Path, backend: str) -> None:
    def script(request: CompletionRequest) -> str | None:
        if request.hints.speaker == "Anthropic Head of Alignment":
            raise ConnectionError("the model server went away")
        return None

    result, events = await run_and_read("three-labs-councils", model=ScriptedModel(script), out=tmp_path)
    assert result.status == "failed"
    assert "ConnectionError" in result.reason
    errors = events_of(events, RunError)
    assert errors
    assert errors[-1].fatal
    assert errors[-1].actor == "Anthropic Head of Alignment"
    assert isinstance(events[-1], RunFinished)
    assert events[-1].status == "failed"
    assert "## Errors" in result.transcript.read_text(encoding="utf-8")


async def test_many_runs_share_one_actor_system(tmp_path: Path, backend: str) -> None:
    results: list[converse.RunResult] = []

    async def one(seed: int) -> None:
        results.append(await converse.run_scenario("three-labs-councils", seed=seed, out=tmp_path, system=system))

    async with ActorSystem() as system:
        async with anyio.create_task_group() as tg:
            for seed in range(5):
                tg.start_soon(one, seed)
        assert system.statistics().actors == 0  # every run's actors stopped with it
    assert sorted(r.status for r in results) == ["completed"] * 5
    assert len({r.directory for r in results}) == 5


async def test_runs_never_overwrite_each_other(tmp_path: Path, backend: str) -> None:
    first = await converse.run_scenario("three-labs", out=tmp_path, overrides=["clock.end=2023"])
    second = await converse.run_scenario("three-labs", out=tmp_path, overrides=["clock.end=2023"])
    assert first.directory != second.directory
    assert first.events.exists()
    assert second.events.exists()


async def test_an_observer_sees_every_event(tmp_path: Path, backend: str) -> None:
    seen: list[str] = []
    observer: Callable[[converse.events.Event], None] = lambda event: seen.append(type(event).__name__)  # noqa: E731
    result = await converse.run_scenario("three-labs", out=tmp_path, observer=observer)
    assert len(seen) == len(converse.read_events(result.events))
    assert seen[0] == "RunStarted"
    assert seen[-1] == "RunFinished"


async def test_a_cancelled_run_leaves_a_complete_log_and_transcript(tmp_path: Path, backend: str) -> None:
    runs: list[str] = []
    with anyio.CancelScope() as scope:

        def observer(event: converse.events.Event) -> None:
            runs.append(event.run)
            if isinstance(event, Utterance) and event.conversation == ("top",) and event.period == "2024":
                scope.cancel()

        await converse.run_scenario("three-labs-councils", out=tmp_path, observer=observer)
    assert scope.cancelled_caught
    run_dir = tmp_path / runs[0]
    events = converse.read_events(run_dir / "events.jsonl")
    assert isinstance(events[-1], RunFinished)
    assert events[-1].status == "cancelled"
    assert [e.seq for e in events] == list(range(len(events)))
    transcript = (run_dir / "transcript.md").read_text(encoding="utf-8")
    assert "cancelled" in transcript
    assert "### 2024" in transcript


async def test_a_run_waiting_on_a_slow_model_has_its_log_up_to_date(tmp_path: Path, backend: str) -> None:
    # Events other than model calls are written in batches; one that waits for a model taking
    # seconds to answer is still in the log within a moment, where a live viewer reads it.
    out = tmp_path / "runs"
    kinds: list[str] = []

    async def run() -> None:
        await converse.run_scenario("three-labs", model="offline?latency=30", seed=1, out=out)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            while "turn_granted" not in kinds:  # the first turn, granted before the first call
                await anyio.sleep(0.05)
                logs = list(out.glob("*/events.jsonl"))
                if logs:
                    kinds = [msgspec.json.decode(line)["type"] for line in logs[0].read_bytes().splitlines()]
            tg.cancel_scope.cancel()
    assert kinds[:2] == ["run_started", "conversation_started"]
    assert "llm_call" not in kinds  # the model has not answered: nothing made the batch go out but time


async def test_quiet_runs_sharing_an_event_loop_have_their_logs_up_to_date_and_leave_no_timer(
    tmp_path: Path, backend: str
) -> None:
    # Three runs at once, each waiting on a model that takes seconds: every log has its first
    # turn within a moment, written by the event loop's one timer (on asyncio; by a task per
    # run on trio), and once the runs are over nothing of theirs is left for the timer to visit.
    out = tmp_path / "runs"

    async def run(seed: int) -> None:
        await converse.run_scenario("three-labs", model="offline?latency=30", seed=seed, out=out)

    def granted() -> int:
        logs = list(out.glob("*/events.jsonl"))
        return sum(
            any(msgspec.json.decode(line)["type"] == "turn_granted" for line in log.read_bytes().splitlines())
            for log in logs
        )

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for seed in (1, 2, 3):
                tg.start_soon(run, seed)
            logged = 0
            while logged < 3:  # the logs are files: look at them now and then
                await anyio.sleep(0.05)
                logged = granted()
            tg.cancel_scope.cancel()
    if backend == "asyncio":
        import asyncio

        from converse.engine._recorder import _NUDGES

        nudges = _NUDGES.get(asyncio.get_running_loop())
        assert nudges is not None
        assert len(nudges.journals) == 0
        await anyio.sleep(0.2)  # its last look found nothing, and it stopped
        assert nudges.timer is None


@pytest.mark.asyncio
async def test_the_event_loops_timer_writes_only_what_waited_through_a_whole_look() -> None:
    # A busy run's events are written by its next model call's emitter; the timer writes a
    # run's events only when they have waited from one of its looks to the next with nothing
    # written in between, so a quiet log is at most two looks behind and a busy one costs the
    # timer no write of its own.
    import asyncio

    from converse.engine._recorder import Journal, _LoopNudges

    written: list[list[str]] = []
    journal = Journal()
    journal.write = lambda events: written.append([e.text for e in events])  # type: ignore[attr-defined]
    timer = _LoopNudges(asyncio.get_running_loop())
    timer.add(journal)

    def said(text: str) -> Utterance:
        return Utterance(run="r", conversation=("top",), actor="A", period="2025", turn=1, text=text)

    def look() -> None:
        timer._tick()

    try:
        look()  # nothing waits
        journal.put(said("first"))
        look()
        assert written == []  # it arrived since the last look
        look()
        assert written == [["first"]]  # it waited a whole look
        journal.put(said("second"))
        look()
        journal.committed()  # a model call's emitter writes everything that waits
        assert written == [["first"], ["second"]]
        journal.put(said("third"))
        look()
        assert written == [["first"], ["second"]]  # a batch was written since the last look
        look()
        assert written == [["first"], ["second"], ["third"]]
        look()
        look()
        assert len(written) == 3  # nothing waits: nothing to write
    finally:
        timer.remove(journal)
        if timer.timer is not None:
            timer.timer.cancel()


async def test_a_log_that_cannot_be_written_fails_the_run_saying_why(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full disk: the answers cannot be kept, so the run does not go on as if they were.
    from converse.log._log import LogWriter

    flush = LogWriter.flush
    flushes = [0]

    def full(self: LogWriter, *, fsync: bool = False) -> None:
        flushes[0] += 1
        if flushes[0] > 3:
            raise OSError(28, "No space left on device")
        flush(self, fsync=fsync)

    monkeypatch.setattr(LogWriter, "flush", full)
    result = await converse.run_scenario("three-labs", seed=1, out=tmp_path)
    assert result.status == "failed"
    assert "events.jsonl: OSError: [Errno 28] No space left on device" in result.reason
