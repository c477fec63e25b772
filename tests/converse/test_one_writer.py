"""Hardening (issue 19): one writer per run, sweep and dataset; a ``kill -9`` leaves no stale
lock; a log never chooses code for ``resume`` to run; ``replay -o`` never writes over the log
it reads. (SIGTERM for a sweep is in ``test_sweep.py``, beside Ctrl-C.)

A second writer is refused in one line that names the holder (pid, host, since), and touches
nothing. Concurrent commands run as processes of their own; one is held still with SIGSTOP
while the other tries, so that "at the same time" is certain, not a race the test may lose.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import anyio
import pytest

from _helpers import CONVERSE, cli_env, one_error_line, run_cli
from converse import DirectoryInUse, Job, read_events, render_markdown, resume_run, run_many, run_scenario
from converse._lock import writer_lock
from converse.events import AnyEvent, RunFinished
from converse.models import CompletionRequest, CompletionResponse
from converse.testing import ScriptedModel

SLOW = "offline?latency=0.2"  # slow enough to be caught mid-run, every answer the offline model's
RUN = ("three-labs", "--set", "clock.end=2025", "--seed", "3", "--model", SLOW)
KEPT = 10  # the lines an interrupted run's log keeps: a few answers, then the rest is live
HOST = socket.gethostname()


# -- helpers ------------------------------------------------------------------------------------


@contextmanager
def started(args: list[str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """``converse ARGS`` in a process of its own, killed on the way out if it still runs."""
    process = subprocess.Popen(
        [*CONVERSE, *args], cwd=cwd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
        process.communicate(timeout=60)


@contextmanager
def held_still(process: subprocess.Popen[str]) -> Iterator[None]:
    """``process`` stopped (SIGSTOP) within the ``with``: it holds what it holds, and writes nothing."""
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def wait_until(ready: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    """Poll ``ready`` until it holds; fail if ``process`` ends first or a minute passes."""
    deadline = time.monotonic() + 60
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within a minute (the process: {process.returncode})")
        time.sleep(0.01)


def lines_of(log: Path) -> int:
    try:
        return log.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def finished_once(events: list[AnyEvent]) -> RunFinished:
    """The log reads clean (``seq`` 0, 1, 2, ...) and ends with its one run-finished event."""
    assert [e.seq for e in events] == list(range(len(events)))
    assert sum(isinstance(e, RunFinished) for e in events) == 1
    assert isinstance(events[-1], RunFinished)
    return events[-1]


def interrupted(whole: Path, directory: Path) -> Path:
    """``directory`` holding the first ``KEPT`` lines of the log of the run in ``whole``."""
    directory.mkdir(parents=True)
    lines = (whole / "events.jsonl").read_bytes().splitlines(keepends=True)
    (directory / "events.jsonl").write_bytes(b"".join(lines[:KEPT]))
    return directory


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of a run of ``RUN``, never interrupted."""
    out = tmp_path_factory.mktemp("whole")
    done = run_cli("run", *RUN, "-q", "--out", str(out), cwd=out)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


# -- one writer per run ---------------------------------------------------------------------------


def test_of_two_resumes_of_one_run_one_runs_and_the_other_is_refused_naming_it(whole: Path, tmp_path: Path) -> None:
    run = interrupted(whole, tmp_path / "run")
    log = run / "events.jsonl"
    with started(["resume", str(run), "-q"], tmp_path) as first:
        wait_until(lambda: lines_of(log) > KEPT, first, "the first resume's live events")
        with held_still(first):
            before = log.read_bytes()
            second = run_cli("resume", str(run), "-q", cwd=tmp_path)
            assert second.returncode == 2, second.stderr
            line = one_error_line(second)
            assert line.startswith(f"converse: error: {run}: the run is being written by pid {first.pid} on {HOST} since ")
            assert log.read_bytes() == before
        _, stderr = first.communicate(timeout=60)
        assert first.returncode == 0, stderr
    events = read_events(log)
    assert finished_once(events).status == "completed"
    assert render_markdown(events) == (whole / "transcript.md").read_text(encoding="utf-8")
    assert (run / "transcript.md").read_bytes() == (whole / "transcript.md").read_bytes()


def test_a_run_killed_with_sigkill_resumes_at_once(whole: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with started(["run", *RUN, "-q", "--out", "runs"], tmp_path) as victim:
        wait_until(lambda: any(lines_of(p) >= KEPT for p in out.glob("*/events.jsonl")), victim, "its log")
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    (run,) = out.iterdir()
    assert (run / ".lock").read_text().startswith(f"pid={victim.pid} host={HOST} since=")  # the dead holder
    resumed = run_cli("resume", str(run), "-q", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert (run / "transcript.md").read_bytes() == (whole / "transcript.md").read_bytes()
    assert (run / ".lock").read_text() == ""  # let go of: it names no one


def test_a_lock_file_that_is_a_link_is_not_written_through(whole: Path, tmp_path: Path) -> None:
    run = interrupted(whole, tmp_path / "run")  # a run directory from elsewhere, say
    precious = tmp_path / "notes.txt"
    precious.write_text("mine\n", encoding="utf-8")
    (run / ".lock").symlink_to(precious)
    before = (run / "events.jsonl").read_bytes()
    refused = run_cli("resume", "run", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert ".lock" in one_error_line(refused)
    assert precious.read_text(encoding="utf-8") == "mine\n"
    assert (run / "events.jsonl").read_bytes() == before


class Gate:
    """A model whose answers wait until the test opens the gate: its run holds its lock meanwhile."""

    def __init__(self, seed: int) -> None:
        self.model = ScriptedModel({}, seed=seed)
        self.asked = anyio.Event()
        self.open = anyio.Event()

    @property
    def spec(self) -> str:
        return "gate"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.asked.set()
        await self.open.wait()
        return await self.model.complete(request)


async def test_the_python_api_refuses_a_second_writer_with_the_same_error(backend: str, tmp_path: Path) -> None:
    short = ("clock.end=2024",)
    done = await run_scenario("three-labs", seed=1, out=tmp_path / "done", overrides=short)
    run = interrupted(done.directory, tmp_path / "runs" / done.run)
    log = run / "events.jsonl"
    resuming, fresh = Gate(seed=1), Gate(seed=2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(partial(resume_run, run, model=resuming))
        tg.start_soon(partial(run_scenario, "three-labs", model=fresh, seed=2, out=tmp_path / "fresh", overrides=short))
        await resuming.asked.wait()
        await fresh.asked.wait()
        before = log.read_bytes()
        with pytest.raises(DirectoryInUse) as refused:
            await resume_run(run)
        error = refused.value
        assert (error.directory, error.what, error.pid, error.host) == (run, "run", os.getpid(), HOST)
        job = Job(scenario="three-labs", seed=1, overrides=short, run_id=run.name, resume=True)
        async with run_many([job], out=tmp_path / "runs") as finished:
            items = [item async for item in finished]
        assert [item.error for item in items] == [str(error)]
        (other,) = (tmp_path / "fresh").iterdir()  # a new run's directory is locked from the start
        with pytest.raises(DirectoryInUse, match="the run is being written by pid"):
            await resume_run(other)
        assert log.read_bytes() == before
        resuming.open.set()
        fresh.open.set()
    assert finished_once(read_events(log)).status == "completed"


# -- one writer per sweep and dataset ----------------------------------------------------------


@pytest.mark.slow
def test_of_two_sweeps_on_one_directory_the_second_is_refused_and_the_first_completes(tmp_path: Path) -> None:
    args = ["sweep", "three-labs", "--set", "clock.end=2025", "--model", SLOW, "--grid", "regulation=none,strict",
            "--repeats", "2", "--concurrency", "2", "--out", "s", "-q"]
    out = tmp_path / "s"
    with started(args, tmp_path) as first:
        wait_until(lambda: any(lines_of(p) >= 5 for p in out.glob("*/events.jsonl")), first, "a run's log")
        with held_still(first):
            before = snapshot(out)
            second = run_cli(*args, cwd=tmp_path)
            assert second.returncode == 2, second.stderr
            line = one_error_line(second)
            assert line.startswith(f"converse: error: s: the sweep is being written by pid {first.pid} on {HOST} since ")
            going = next(p.parent for p in out.glob("*/events.jsonl") if b'"run_finished"' not in p.read_bytes())
            resumed = run_cli("resume", str(going), cwd=tmp_path)  # one of its runs, by hand
            assert resumed.returncode == 2, resumed.stderr
            assert f"the run is being written by pid {first.pid} on {HOST}" in one_error_line(resumed)
            assert snapshot(out) == before
        _, stderr = first.communicate(timeout=120)
        assert first.returncode == 0, stderr
    summary = rows(out / "summary.csv")
    assert [r["status"] for r in summary] == ["completed"] * 4
    for row in summary:
        assert finished_once(read_events(out / row["run"] / "events.jsonl")).status == "completed"


@pytest.mark.slow
def test_a_dataset_another_process_is_making_is_left_alone(tmp_path: Path) -> None:
    args = ("camel", "generate", "--out", "data", "--num-assistant-roles", "1", "--num-user-roles", "1",
            "--tasks-per-pair", "1", "-q")
    assert run_cli(*args, cwd=tmp_path, timeout=300).returncode == 0
    before = snapshot(tmp_path)
    with writer_lock(tmp_path / "data", "dataset"):  # this process stands for the other one
        done = run_cli(*args, cwd=tmp_path, timeout=300)
    assert done.returncode == 2, done.stderr
    assert f"data: the dataset is being written by pid {os.getpid()} on {HOST}" in one_error_line(done)
    assert snapshot(tmp_path) == before


# -- a log is not code ----------------------------------------------------------------------------

TRAP = """\
from pathlib import Path

Path(__file__).with_name("imported").touch()


def judge(events, scenario):
    Path(__file__).with_name("called").touch()
    return {"summary": "judged by the trap", "scores": {}}
"""


def naming(log: Path, function: str) -> None:
    """Make ``log``'s run-started event name ``function`` as its scenario's ``judge.function``
    (as a log someone else wrote may)."""
    first, rest = log.read_bytes().split(b"\n", 1)
    started = json.loads(first)
    started["scenario"].setdefault("judge", {})["function"] = function
    log.write_bytes(json.dumps(started).encode() + b"\n" + rest)


def test_resume_runs_no_judge_function_that_only_the_log_names(whole: Path, tmp_path: Path) -> None:
    (tmp_path / "trap.py").write_text(TRAP, encoding="utf-8")  # importable: converse runs in tmp_path
    run = interrupted(whole, tmp_path / "run")
    log = run / "events.jsonl"
    naming(log, "trap:judge")
    before = log.read_bytes()
    for extra, says in [
        ((), "the log names trap:judge; a log cannot choose code to run: confirm it with --judge-function trap:judge"),
        (("--judge-function", "trap:other"),
         "the log names trap:judge, not trap:other; a run is judged by the function it started with"),
    ]:
        refused = run_cli("resume", "run", *extra, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert one_error_line(refused) == f"converse: error: {Path('run/events.jsonl')} (run_started): $.judge.function: {says}"
        assert log.read_bytes() == before
        assert not (tmp_path / "imported").exists()
    confirmed = run_cli("resume", "run", "--judge-function", "trap:judge", "-q", cwd=tmp_path)
    assert confirmed.returncode == 0, confirmed.stderr
    assert (tmp_path / "called").exists()
    done = run_cli("resume", "run", cwd=tmp_path)  # nothing left to run: nothing to confirm
    assert done.returncode == 0, done.stderr
    assert "nothing to resume" in done.stderr


async def test_a_sweep_resumes_with_the_judge_function_its_scenario_names(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = "one_writer_trap"
    (tmp_path / f"{module}.py").write_text(TRAP, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    done = await run_scenario("three-labs", seed=1, out=tmp_path / "done", overrides=["clock.end=2024"])
    run = interrupted(done.directory, tmp_path / "runs" / done.run)
    naming(run / "events.jsonl", f"{module}:judge")
    before = (run / "events.jsonl").read_bytes()
    plain = Job(scenario="three-labs", seed=1, overrides=("clock.end=2024",), run_id=run.name, resume=True)
    async with run_many([plain], out=tmp_path / "runs") as finished:
        (item,) = [item async for item in finished]
    assert item.error is not None
    assert f"$.judge.function: the log names {module}:judge; a log cannot choose code to run" in item.error
    assert (run / "events.jsonl").read_bytes() == before
    assert not (tmp_path / "imported").exists()
    judged = Job(scenario="three-labs", seed=1, overrides=("clock.end=2024", f'judge.function="{module}:judge"'),
                 run_id=run.name, resume=True)
    async with run_many([judged], out=tmp_path / "runs") as finished:
        (item,) = [item async for item in finished]
    assert item.error is None
    assert item.result is not None
    assert item.result.status == "completed"
    assert (tmp_path / "called").exists()


# -- replay writes no log over ----------------------------------------------------------------------


def test_replay_never_writes_over_the_log_it_reads(tmp_path: Path) -> None:
    made = run_cli("run", "three-labs", "--set", "clock.end=2023", "-q", "--out", "runs", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    run = tmp_path / made.stdout.strip()
    log = run / "events.jsonl"
    before = log.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(log)
    os.link(log, tmp_path / "hard.jsonl")
    for source in (str(run), str(log), "link.jsonl"):
        for target in (str(log), f"{run}/../{run.name}/events.jsonl", "link.jsonl", "hard.jsonl"):
            refused = run_cli("replay", source, "-o", target, cwd=tmp_path)
            assert refused.returncode == 2, (source, target, refused.stderr)
            assert f"-o {target} is this log itself" in one_error_line(refused)
            assert log.read_bytes() == before
    rendered = run_cli("replay", str(run), "-o", "transcript.md", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert (tmp_path / "transcript.md").read_bytes() == (run / "transcript.md").read_bytes()
