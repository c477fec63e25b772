"""Durability: many runs through a misbehaving model server, and an actor that crashes mid-run.

Every run ends, with a log that says what went wrong; none hangs.
"""

from __future__ import annotations

from pathlib import Path

import anyio

import converse
from _helpers import SDK_LEAVES_GENERATORS
from actors import FAILURES, ActorFailed, ActorSystem
from converse import CompletionRequest, Finished, Job, Limits, Scheduler, run_many
from converse.councils._agent import AgentActor
from converse.councils._root import CouncilsRoot
from converse.events import LLMAttempt, LLMCall, RunError, RunFinished, Utterance
from converse.testing import Faults, ModelServer, ScriptedModel, events_of

KEY = "test-key-faults"


def _jobs() -> list[Job]:
    """Fifty short runs: forty without councils, ten with."""
    plain = [Job(scenario="three-labs", seed=s, overrides=("clock.end=2025",)) for s in range(40)]
    councils = [Job(scenario="three-labs-councils", seed=s, overrides=("clock.end=2024",)) for s in range(10)]
    return plain + councils


async def _run_all(jobs: list[Job], server: ModelServer, scheduler: Scheduler, out: Path) -> list[Finished]:
    async with run_many(
        jobs,
        concurrency=len(jobs),
        out=out,
        model="openai:offline-chat",
        base_url=server.base_url,
        scheduler=scheduler,
    ) as results:
        return [item async for item in results]


@SDK_LEAVES_GENERATORS
async def test_fifty_runs_complete_through_a_fifth_of_failed_answers(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    faults = Faults(rate_429=0.05, rate_500=0.05, rate_drop=0.05, rate_malformed=0.05, retry_after=0.02)
    scheduler = Scheduler(
        default=Limits(max_attempts=10, backoff=0.005, max_backoff=0.05, timeout=None), seed=1
    )
    with ModelServer(api_key=api_key, faults=faults, seed=7) as server:
        with anyio.fail_after(60):
            finished = await _run_all(_jobs(), server, scheduler, tmp_path)
        stats = server.stats()
    assert [f.error for f in finished] == [None] * 50
    results = [f.result for f in finished if f.result is not None]
    assert [r.status for r in results] == ["completed"] * 50
    # Each kind of fault really happened...
    assert stats.rate_limited_injected > 0
    assert stats.server_errors > 0
    assert stats.dropped > 0
    assert stats.malformed > 0
    assert stats.rejected == stats.rate_limited_budget == 0
    # ...and every failed request is in some run's log, as an attempt that was retried.
    events = [e for r in results for e in converse.read_events(r.events)]
    calls, failed = events_of(events, LLMCall), events_of(events, LLMAttempt)
    assert stats.requests == len(calls) + len(failed)
    assert stats.successes == len(calls)
    assert 0.1 < len(failed) / stats.requests < 0.3
    assert len(failed) == stats.rate_limited_injected + stats.server_errors + stats.dropped + stats.malformed
    kinds = {
        "rate_limit": stats.rate_limited_injected,
        "server": stats.server_errors,
        "connection": stats.dropped,
        "malformed": stats.malformed,
    }
    assert {kind: sum(a.error_type == kind for a in failed) for kind in kinds} == kinds
    assert all(a.next_delay is not None for a in failed)
    assert {a.retry_after for a in failed if a.error_type == "rate_limit"} == {0.02}
    assert all(a.status == 500 for a in failed if a.error_type == "server")
    # A call's attempt number counts the failures before it.
    assert sum(c.attempt - 1 for c in calls) == len(failed)
    assert not [e for e in events_of(events, RunError) if e.fatal]


@SDK_LEAVES_GENERATORS
async def test_when_retries_run_out_every_run_still_ends_with_one_line_naming_the_server(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    faults = Faults(rate_429=0.1, rate_500=0.3, rate_drop=0.2, rate_malformed=0.2, retry_after=0.01)
    scheduler = Scheduler(
        default=Limits(max_attempts=3, backoff=0.005, max_backoff=0.02, timeout=None), seed=2
    )
    with ModelServer(api_key=api_key, faults=faults, seed=11) as server:
        with anyio.fail_after(60):
            finished = await _run_all(_jobs(), server, scheduler, tmp_path)
        endpoint = f"{server.base_url}|offline-chat"
    assert [f.error for f in finished] == [None] * 50
    results = [f.result for f in finished if f.result is not None]
    statuses = {r.status for r in results}
    assert statuses <= {"completed", "failed"}
    assert "failed" in statuses
    for result in results:
        events = converse.read_events(result.events)
        assert isinstance(events[-1], RunFinished)
        assert events[-1].status == result.status
        assert [e.seq for e in events] == list(range(len(events)))
        fatal = [e for e in events_of(events, RunError) if e.fatal]
        if result.status == "completed":
            assert not fatal
            continue
        assert "\n" not in result.reason
        assert f"RetriesExhausted: {endpoint}: gave up after 3 attempts; last: " in result.reason
        (error,) = fatal
        assert error.error_type == "RetriesExhausted"
        assert result.reason == f"{error.actor}: RetriesExhausted: {error.message}"
        # The call that ended the run gave up on its third attempt (in a run with councils,
        # another debating at the same time may have given up too).
        given_up = [a for a in events_of(events, LLMAttempt) if a.next_delay is None]
        assert (error.actor, 3) in [(a.actor, a.attempt) for a in given_up]
        assert {a.attempt for a in given_up} == {3}


async def test_a_council_member_that_crashes_fails_its_run_and_only_its_run(
    tmp_path: Path, backend: str
) -> None:
    crasher, period = "Anthropic Head of Alignment", "2024"

    def script(request: CompletionRequest) -> str | None:
        if request.hints.speaker == crasher and request.hints.period == period:
            raise RuntimeError("the scripted model broke")
        return None

    results: dict[int, converse.RunResult] = {}
    failures: list[ActorFailed] = []

    async def run(seed: int) -> None:
        model = ScriptedModel(script) if seed == 0 else None
        results[seed] = await converse.run_scenario(
            "three-labs-councils",
            model=model,
            seed=seed,
            out=tmp_path,
            overrides=["clock.end=2025"],
            system=system,
        )

    with anyio.fail_after(20):
        async with ActorSystem(name="crash") as system:
            async with system.bus.subscription(FAILURES) as reports:
                async with anyio.create_task_group() as tg:
                    for seed in range(3):
                        tg.start_soon(run, seed)
                while True:
                    try:
                        failures.append(reports.receive_nowait())  # type: ignore[arg-type]
                    except anyio.WouldBlock:
                        break
            assert system.statistics().actors == 0  # the failed run's actors are gone too
    # The other runs sharing the actor system are untouched.
    assert [results[s].status for s in (1, 2)] == ["completed", "completed"]

    failed = results[0]
    assert failed.status == "failed"
    assert failed.reason == f"{crasher}: RuntimeError: the scripted model broke"
    events = converse.read_events(failed.events)
    assert [e.seq for e in events] == list(range(len(events)))
    (error,) = events_of(events, RunError)
    assert (error.fatal, error.actor, error.error_type) == (True, crasher, "RuntimeError")
    assert error.message == "the scripted model broke"
    assert isinstance(events[-1], RunFinished)
    assert events[-1].status == "failed"
    # What was said before the crash is kept; nothing was said after it.
    said = {(u.period, len(u.conversation)) for u in events_of(events, Utterance)}
    assert ("2023", 1) in said
    assert not any(p == "2025" for p, _ in said)
    transcript = failed.transcript.read_text(encoding="utf-8")
    assert "### 2023" in transcript
    assert f"- RuntimeError: the scripted model broke ({crasher}, seq {error.seq})" in transcript

    # Agents and council members are supervised with Escalate, and the run root with Stop:
    # the member stops and hands its failure to its agent as a ChildFailedError, the agent
    # stops and hands it to the run root, which records it and stops the run.
    member, agent, root = failures
    assert (member.error_type, member.error, member.decision) == (
        "RuntimeError",
        "the scripted model broke",
        "escalated",
    )
    assert member.message_type == "TurnToken"
    assert (agent.error_type, agent.decision) == ("ChildFailedError", "escalated")
    assert member.actor in agent.error
    assert (root.error_type, root.decision) == ("ChildFailedError", "stopped")
    assert agent.actor in root.error
    assert member.actor.startswith(AgentActor.__name__)
    assert agent.actor.startswith(AgentActor.__name__)
    assert root.actor.startswith(CouncilsRoot.__name__)
