"""A person at the table (``--human``): the command asks the person at the terminal for an
agent's turns, records the answers like a model's, and never asks for them again: not when the
run is resumed after an interrupt, not when its log is re-executed."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import converse
from _helpers import CONVERSE, cli_env, one_error_line, run_cli
from converse.events import LLMAttempt, LLMCall, RunStarted, Utterance
from converse.testing import events_of

THREE_YEARS = ["--set", "clock.end=2025"]


class Typing:
    """A ``converse`` process a person types into: its stderr is read as it comes."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [*CONVERSE, *args], cwd=cwd, env=cli_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        self.seen: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self.seen.append(line)

    def wait_for(self, text: str, timeout: float = 60, *, times: int = 1) -> None:
        """Wait until ``text`` has been shown on ``times`` lines."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if sum(text in line for line in self.seen) >= times:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"never shown {text!r}; shown:\n{''.join(self.seen)}")

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def close(self) -> None:
        """Stop the process if it still runs, and close its pipes."""
        self.process.kill()
        self.process.wait(timeout=30)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()

    @property
    def shown(self) -> str:
        with self._lock:
            return "".join(self.seen)


def _said_by(run: Path, agent: str) -> list[LLMCall]:
    calls = events_of(converse.read_events(run / "events.jsonl"), LLMCall)
    return [c for c in calls if c.actor == agent and c.purpose == "statement"]


def test_a_person_plays_a_lab_and_a_resumed_run_does_not_ask_again(tmp_path: Path) -> None:
    typing = Typing("run", "three-labs", *THREE_YEARS, "--human", "OpenAI", "-q", "--out", "runs", cwd=tmp_path)
    try:
        typing.wait_for("OpenAI · 2023: your turn")
        typing.wait_for("end it with a line holding only")
        assert "Your brief" in typing.shown  # who they are, once
        assert "It is now 2023" in typing.shown  # what the model would be shown
        typing.type("OpenAI 2023:\n- Progress: we shipped Atlas 1.\n- AGI timeline: 2031.\n.\n")
        typing.wait_for("OpenAI · 2024: your turn")
        typing.wait_for("end it with a line holding only", times=2)  # the turn is shown to its end
        # What was said since the person's last turn is shown: the other labs' 2023 reports.
        assert "Google DeepMind (2023)" in typing.shown.split("OpenAI · 2024: your turn", 1)[1]
        typing.process.send_signal(signal.SIGINT)  # the person stops mid-way
        typing.process.wait(timeout=30)
    finally:
        typing.close()
    assert typing.process.returncode != 0
    run = tmp_path / "runs" / "three-labs-seed0"
    assert [c.response for c in _said_by(run, "OpenAI")] == [
        "OpenAI 2023:\n- Progress: we shipped Atlas 1.\n- AGI timeline: 2031."
    ]

    resumed = run_cli("resume", str(run), "-q", cwd=tmp_path, stdin="2024: we paused.\n.\n2025: we resumed.\n.\n")
    assert resumed.returncode == 0, resumed.stderr
    assert "OpenAI · 2023: your turn" not in resumed.stderr  # answered before: never asked again
    assert "OpenAI · 2024: your turn" in resumed.stderr
    assert "OpenAI · 2025: your turn" in resumed.stderr
    said = _said_by(run, "OpenAI")
    assert [c.response for c in said][1:] == ["2024: we paused.", "2025: we resumed."]
    assert {c.model for c in said} == {"human"}
    events = converse.read_events(run / "events.jsonl")
    started = events[0]
    assert isinstance(started, RunStarted)
    assert started.humans == ["OpenAI"]
    public = [u.text for u in events_of(events, Utterance) if u.actor == "OpenAI"]
    assert public[1:] == ["2024: we paused.", "2025: we resumed."]
    transcript = (run / "transcript.md").read_text(encoding="utf-8")
    assert "a person at the terminal: OpenAI" in transcript
    assert "2025: we resumed." in transcript

    # Re-executing the log asks nobody: stdin is closed, and the run is the same.
    again = run_cli("run", "three-labs", *THREE_YEARS, "--replay-from", str(run), "-q", "--out", "b", cwd=tmp_path, stdin="")
    assert again.returncode == 0, again.stderr
    assert "your turn" not in again.stderr
    replayed = tmp_path / again.stdout.strip()
    body = lambda p: (p / "transcript.md").read_text(encoding="utf-8").split("\n## ", 1)[1]  # noqa: E731
    assert body(replayed) == body(run)


def test_an_empty_statement_is_asked_again_and_the_end_of_input_hands_the_turn_to_the_model(tmp_path: Path) -> None:
    done = run_cli(
        "run", "three-labs", *THREE_YEARS, "--human", "OpenAI", "-q", "--out", "runs", cwd=tmp_path,
        stdin="\n.\nWe carry on.\n.\n",  # an empty statement, a statement, then the end of input
    )
    assert done.returncode == 0, done.stderr
    assert "(An empty statement." in done.stderr
    assert "end of input: offline speaks for everyone played here" in done.stderr
    assert done.stderr.count("your turn") == 2  # after the end of input nobody is asked again
    run = tmp_path / done.stdout.strip()
    said = _said_by(run, "OpenAI")
    assert [c.model for c in said] == ["human", "offline", "offline"]
    assert said[0].response == "We carry on."
    attempts = [a for a in events_of(converse.read_events(run / "events.jsonl"), LLMAttempt) if a.actor == "OpenAI"]
    assert [a.error_type for a in attempts] == ["no_answer", "no_answer"]
    assert "offline spoke for them" in attempts[0].error


def test_a_person_can_sit_on_a_council(tmp_path: Path) -> None:
    done = run_cli(
        "run", "three-labs-councils", "--set", "clock.end=2023", "--human", "OpenAI CEO", "-q", "--out", "runs",
        cwd=tmp_path, stdin="Ship it.\n.\nShip it anyway.\n.\n",
    )
    assert done.returncode == 0, done.stderr
    assert "OpenAI CEO · 2023: your turn" in done.stderr
    calls = events_of(converse.read_events(tmp_path / done.stdout.strip() / "events.jsonl"), LLMCall)
    lines = [c for c in calls if c.actor == "OpenAI CEO" and c.purpose == "line"]
    assert [c.response for c in lines] == ["Ship it.", "Ship it anyway."]
    assert {c.model for c in calls if c.actor == "OpenAI Head of Policy"} == {"offline"}


def test_a_name_nobody_has_is_one_line(tmp_path: Path) -> None:
    done = run_cli("run", "three-labs", "--human", "UK Government", cwd=tmp_path, stdin="")
    assert done.returncode == 2
    line = one_error_line(done)
    assert "--human" in line
    assert "'UK Government'" in line
    assert "OpenAI" in line
    assert not (tmp_path / "runs").exists()


def test_a_person_plays_in_a_sweep_one_run_at_a_time(tmp_path: Path) -> None:
    sweep = ["sweep", "three-labs", "--set", "clock.end=2023", "--repeats", "2", "--human", "OpenAI", "--out", "sw"]
    refused = run_cli(*sweep, cwd=tmp_path, stdin="")
    assert refused.returncode == 2
    assert "--concurrency 1" in one_error_line(refused)
    assert not (tmp_path / "sw").exists()
    done = run_cli(*sweep, "--concurrency", "1", cwd=tmp_path, stdin="First.\n.\nSecond.\n.\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("your turn") == 2
    said = sorted(c.response for run in (tmp_path / "sw").glob("seed=*") for c in _said_by(run, "OpenAI"))
    assert said == ["First.", "Second."]
