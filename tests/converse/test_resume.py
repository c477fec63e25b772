"""The log is the checkpoint: ``converse resume`` after a crash at any point, and
``converse run --replay-from`` to re-execute a log without model calls."""

from __future__ import annotations

import random
import signal
import subprocess
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest

import converse
from _helpers import CONVERSE, SCENARIOS, cli_env, run_cli
from converse import LogError, NothingToResume, TornTailWarning, resume_run
from converse.events import LLMCall, RunFinished, RunStarted
from converse.testing import ScriptedModel

SCENARIO_NAMES = sorted(p.stem for p in SCENARIOS)


def cut(log: Path, lines: int, torn: bool) -> None:
    """Keep the first ``lines`` lines of ``log`` (and half of the next, if ``torn``)."""
    data = log.read_bytes().splitlines(keepends=True)
    kept = b"".join(data[:lines])
    if torn and lines < len(data):
        kept += data[lines][: len(data[lines]) // 2]
    log.write_bytes(kept)


def check_log(events: list[converse.events.AnyEvent]) -> None:
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished)
    assert [e.seq for e in events] == list(range(len(events)))
    assert sum(isinstance(e, RunStarted) for e in events) == 1
    assert sum(isinstance(e, RunFinished) for e in events) == 1
    converse.events.prompts_of(events)  # every shared prefix points at a call in the log


@pytest.mark.parametrize("scenario", ["three-labs-councils", "nested-councils"])
async def test_a_run_cut_anywhere_resumes_to_the_same_transcript(scenario: str, tmp_path: Path, backend: str) -> None:
    whole = await converse.run_scenario(scenario, seed=5, out=tmp_path / "whole", overrides=["clock.end=2025"])
    expected = whole.transcript.read_bytes()
    lines = len(whole.events.read_bytes().splitlines())
    rng = random.Random(scenario)
    for at in sorted({1, 2, lines - 1, *rng.sample(range(3, lines - 1), 5)}):
        directory = tmp_path / f"cut{at}"
        directory.mkdir()
        (directory / "events.jsonl").write_bytes(whole.events.read_bytes())
        cut(directory / "events.jsonl", at, torn=at % 2 == 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TornTailWarning)
            result = await resume_run(directory)
        assert result.status == "completed"
        assert result.transcript.read_bytes() == expected, f"cut at line {at}"
        events = converse.read_events(result.events)
        check_log(events)
        assert (result.llm_calls, result.prompt_tokens) == (whole.llm_calls, whole.prompt_tokens)


async def test_resume_asks_the_model_only_what_the_log_does_not_hold(tmp_path: Path, backend: str) -> None:
    whole = await converse.run_scenario("three-labs", seed=2, out=tmp_path / "whole", overrides=["clock.end=2025"])
    calls = [e for e in converse.read_events(whole.events) if isinstance(e, LLMCall)]
    directory = tmp_path / "partial"
    directory.mkdir()
    (directory / "events.jsonl").write_bytes(whole.events.read_bytes())
    lines = whole.events.read_bytes().splitlines()
    fourth = next(i for i, line in enumerate(lines) if b'"llm_call"' in line and b'"call":4,' in line)
    cut(directory / "events.jsonl", fourth + 1, torn=False)  # calls 1-4 are in the log
    asked: list[str] = []

    def script(request: converse.CompletionRequest) -> str | None:
        asked.append(request.hints.speaker)
        return None  # the offline model's answer, as in the first run

    result = await resume_run(directory, model=ScriptedModel(script, seed=2))
    assert len(asked) == len(calls) - 4
    said = [(e.actor, e.text) for e in converse.read_events(result.events) if isinstance(e, converse.events.Utterance)]
    assert said == [(e.actor, e.text) for e in converse.read_events(whole.events) if isinstance(e, converse.events.Utterance)]


async def test_a_cancelled_run_resumes_and_a_finished_one_has_nothing_to_resume(tmp_path: Path, backend: str) -> None:
    whole = await converse.run_scenario("three-labs", seed=1, out=tmp_path / "whole", overrides=["clock.end=2024"])
    with pytest.raises(NothingToResume, match="already ended completed"):
        await resume_run(whole.directory)
    # A Ctrl-C leaves a complete log ending "cancelled": resuming cuts that ending off.
    data = whole.events.read_bytes().splitlines(keepends=True)
    events = converse.read_events(whole.events)
    middle = len(events) // 2
    cancelled = converse.events.RunFinished(
        run=whole.run, seq=middle, t=1.0, status="cancelled", reason="interrupted", periods=1, turns=2,
        llm_calls=2, prompt_tokens=10, completion_tokens=10,
    )
    directory = tmp_path / "cancelled"
    directory.mkdir()
    (directory / "events.jsonl").write_bytes(b"".join(data[:middle]) + msgspec.json.encode(cancelled) + b"\n")
    result = await resume_run(directory)
    assert result.status == "completed"
    assert result.transcript.read_bytes() == whole.transcript.read_bytes()
    check_log(converse.read_events(result.events))


async def test_resume_refuses_what_is_not_a_run_log(tmp_path: Path, backend: str) -> None:
    with pytest.raises(LogError, match="no such log"):
        await resume_run(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "events.jsonl").write_bytes(b"")
    with pytest.raises(LogError, match="the log is empty: the run stopped before its first event"):
        await resume_run(tmp_path / "empty")
    stray = converse.events.RunError(run="x", seq=0, error_type="E", message="not a start")
    (tmp_path / "empty" / "events.jsonl").write_bytes(msgspec.json.encode(stray) + b"\n")
    with pytest.raises(LogError, match="does not start with run_started"):
        await resume_run(tmp_path / "empty")


def test_replay_from_re_executes_a_log_without_model_calls(tmp_path: Path) -> None:
    first = run_cli("run", "three-labs-councils", "--set", "clock.end=2024", "--seed", "9", "-q", "--out", "a", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    original = Path(tmp_path / first.stdout.strip())
    again = run_cli(
        "run", "three-labs-councils", "--set", "clock.end=2024", "--replay-from", str(original), "-q", "--out", "b",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    replayed = Path(tmp_path / again.stdout.strip())
    # The same run, said for said and score for score; only the header's model differs.
    first_text = (original / "transcript.md").read_text(encoding="utf-8")
    replayed_text = (replayed / "transcript.md").read_text(encoding="utf-8")
    assert replayed_text.split("\n## ", 1)[1] == first_text.split("\n## ", 1)[1]
    started = converse.read_events(replayed / "events.jsonl")[0]
    assert isinstance(started, RunStarted)
    assert started.model == f"replay:{original / 'events.jsonl'}"
    assert started.seed == 9  # the seed of the log's run, unless --seed says otherwise

    # A longer run needs answers the log does not hold: the run fails, naming who and which call.
    longer = run_cli(
        "run", "three-labs", "--replay-from", str(original), "-q", "--out", "c", cwd=tmp_path,
    )
    assert longer.returncode == 1
    assert "ReplayError" in longer.stderr
    assert "OpenAI's call 1: the request differs from the recorded one at message 1 (system)" in longer.stderr
    assert "Traceback" not in longer.stderr


def test_resume_cli(tmp_path: Path) -> None:
    run = run_cli("run", "three-labs", "--set", "clock.end=2025", "-q", "--out", "runs", cwd=tmp_path)
    directory = tmp_path / run.stdout.strip()
    expected = (directory / "transcript.md").read_bytes()
    done = run_cli("resume", str(directory), "-q", cwd=tmp_path)
    assert done.returncode == 0
    assert "already ended completed" in done.stderr
    cut(directory / "events.jsonl", 12, torn=True)
    resumed = run_cli("resume", str(directory), "-q", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "skipped a torn last line" in resumed.stderr
    assert resumed.stdout.strip() == str(directory)
    assert (directory / "transcript.md").read_bytes() == expected
    missing = run_cli("resume", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "no such log" in missing.stderr


@pytest.mark.slow
@pytest.mark.timeout(600)  # 88 kills over eleven scenarios, a fresh process each: about a minute here
def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    """Kill ``converse run`` with SIGKILL at random moments in every shipped scenario, resume
    each, and compare with the run that was never interrupted. Two scenarios at a time, each
    in a thread of its own (the runs are processes: the machine's two cores both work)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        kills = sum(pool.map(lambda scenario: _kill_and_resume(scenario, tmp_path), SCENARIO_NAMES))
    assert kills >= 50


def _kill_and_resume(scenario: str, tmp_path: Path) -> int:
    """Eight runs of ``scenario`` killed at random moments and resumed, each checked against
    one never interrupted: how many were killed."""
    rng = random.Random(f"20261122:{scenario}")
    kills = 0
    reference, duration = started_run(scenario, tmp_path / f"ref-{scenario}", kill_after=None)
    expected = (reference / "transcript.md").read_bytes()
    for attempt in range(8):
        run, _ = started_run(scenario, tmp_path / f"{scenario}-{attempt}", kill_after=rng.uniform(0, duration))
        if run is None:
            continue  # finished before the kill: not a kill point
        kills += 1
        resumed = run_cli("resume", str(run), "-q", cwd=tmp_path)
        if resumed.returncode == 2 and "the run stopped before its first event" in resumed.stderr:
            continue  # killed before its first line was written: nothing to resume
        assert resumed.returncode == 0, (scenario, attempt, resumed.stderr)
        events = converse.read_events(run / "events.jsonl")  # no torn record accepted: it reads clean
        check_log(events)
        assert (run / "transcript.md").read_bytes() == expected, (scenario, attempt)
    return kills


def started_run(scenario: str, out: Path, *, kill_after: float | None) -> tuple[Path | None, float]:
    """Run ``converse run`` in a process; SIGKILL it ``kill_after`` seconds after its log
    appears. Returns its run directory (None if it ended before the kill) and how long it
    ran after its log appeared."""
    process = subprocess.Popen(
        [*CONVERSE, "run", scenario, "--seed", "4", "--model", "offline?latency=0.003",
         "-q", "--out", str(out)],
        env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    logs: list[Path] = []
    while time.monotonic() < deadline and not logs and process.poll() is None:
        logs = list(out.glob("*/events.jsonl"))
        time.sleep(0.002)
    appeared = time.monotonic()
    if kill_after is None:
        assert process.wait(timeout=120) == 0
        return next(out.glob("*/events.jsonl")).parent, time.monotonic() - appeared
    time.sleep(kill_after)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    if process.returncode != -signal.SIGKILL or not logs:
        return None, 0.0
    return logs[0].parent, time.monotonic() - appeared
