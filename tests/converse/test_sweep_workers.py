"""``converse sweep --workers N``: the runs in N processes (the sweep's and N - 1 workers), with
the same results as in one, the rate limits split so that together they keep them, and a
worker that dies named, the runs it had going left for the same command to finish. (Ctrl-C
with workers: ``test_sweep``.)"""

from __future__ import annotations

import csv
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from _helpers import CONVERSE, cli_env, one_error_line, run_cli
from converse import Limits, WorkerWarning, plan_sweep, read_events, run_sweep
from converse.events import RunFinished
from converse.sweeps._batches import Batch
from converse.sweeps._workers import ShareScheduler, share, worker_count
from converse.testing import Faults, ModelServer

GRID = ("--set", "clock.end=2024", "--grid", "regulation=none,strict", "--repeats", "3")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_two_workers_give_the_same_runs_summary_and_transcripts_as_one_process(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for out, workers in ((one, "1"), (two, "2")):
        done = run_cli("sweep", "three-labs", *GRID, "--concurrency", "4", "--workers", workers, "--out", str(out), "-q",
                       cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip() == (
            f"6 runs: 6 completed, 0 failed; summary in {out / 'summary.csv'}, report in {out / 'report.md'}"
        )
    assert (two / "summary.csv").read_bytes() == (one / "summary.csv").read_bytes()
    runs = sorted(p.name for p in one.iterdir() if (p / "events.jsonl").is_file())
    assert len(runs) == 6
    assert sorted(p.name for p in two.iterdir() if (p / "events.jsonl").is_file()) == runs
    for run in runs:
        assert (two / run / "transcript.md").read_bytes() == (one / run / "transcript.md").read_bytes()
        # The same calls, with the same answers, in the same order (the times differ).
        assert [(e.seq, type(e).__name__) for e in read_events(two / run / "events.jsonl")] == [
            (e.seq, type(e).__name__) for e in read_events(one / run / "events.jsonl")
        ]


def _workers_of(pid: int) -> list[int]:
    """The worker processes of the sweep ``pid`` (its children running the worker module)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"converse.sweeps._worker" in command:
            found.append(int(entry.name))
    return found


def _killed_midway(
    tmp_path: Path, args: list[str], kill: Callable[[subprocess.Popen[str], int], None]
) -> tuple[int, str]:
    """Start the sweep ``args`` with two processes, ``kill`` (given the sweep and its worker's
    pid) once two runs have finished; its exit code and stderr once it and its worker ended."""
    process = subprocess.Popen([*CONVERSE, *args], cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(tmp_path.glob("sweep/*/transcript.md"))) < 2:
            time.sleep(0.05)
        workers = _workers_of(process.pid)
        assert len(workers) == 1  # and the sweep's own process
        kill(process, workers[0])
        _, stderr = process.communicate(timeout=60)  # its stderr ends once the worker's does too
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=60)
    # The worker closed its stderr (the sweep's) as it exited; it is gone, or going, at once.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(workers[0]):
        time.sleep(0.05)
    assert not _running(workers[0])
    return process.returncode, stderr


def _running(pid: int) -> bool:
    """Whether the process ``pid`` is there and not yet a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _args(tmp_path: Path, concurrency: int) -> list[str]:
    return ["sweep", "three-labs", "--set", "clock.end=2025", "--model", "offline?latency=0.04",
            "--grid", "regulation=none,light,moderate,strict", "--repeats", "2", "--concurrency", str(concurrency),
            "--workers", "2", "--out", str(tmp_path / "sweep"), "-q"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc")
def test_a_worker_killed_is_named_and_the_same_command_finishes_its_runs(tmp_path: Path) -> None:
    out, args = tmp_path / "sweep", _args(tmp_path, 2)
    code, stderr = _killed_midway(tmp_path, args, lambda sweep, worker: os.kill(worker, signal.SIGKILL))
    assert code == 2, stderr
    assert "Traceback" not in stderr
    # Of --concurrency 2, the worker had one run at a time: that one is lost, and the sweep's
    # own process took on every run not yet dealt.
    assert stderr.strip().splitlines()[-1] == (
        "converse: error: --workers: worker 2 of 2 was killed by SIGKILL; "
        "1 run(s) did not finish: run the same command to finish them"
    ), stderr
    summary = rows(out / "summary.csv")
    assert len(summary) == 8
    assert sum(r["status"] != "completed" for r in summary) == 1

    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "7 finished earlier" in again.stderr
    final = rows(out / "summary.csv")
    assert [r["status"] for r in final] == ["completed"] * 8
    for row in final:
        events = read_events(out / row["run"] / "events.jsonl")
        assert isinstance(events[-1], RunFinished)
        assert events[-1].status == "completed"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc")
def test_a_sweep_killed_outright_stops_its_workers_and_the_same_command_finishes(tmp_path: Path) -> None:
    """SIGKILL gives the sweep no chance to stop its workers: each sees its stdin end and stops
    its runs as Ctrl-C would, quietly (its stderr is the sweep's), rather than running on
    with nobody to tell."""
    out, args = tmp_path / "sweep", _args(tmp_path, 4)
    assert _killed_midway(tmp_path, args, lambda sweep, worker: sweep.kill()) == (-signal.SIGKILL, "")
    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [r["status"] for r in rows(out / "summary.csv")] == ["completed"] * 8


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--workers", "0"), "converse: error: --workers: must be at least 1, not 0"),
        (("--workers", "2", "--backend", "ray"),
         "converse: error: --workers: is for the local backend: Ray places the runs on its own workers"),
        (("--workers", "2", "--concurrency", "1", "--human", "OpenAI"),
         "converse: error: --workers: a person can play in a sweep in one process: --workers 1"),
    ],
    ids=["zero", "ray", "human"],
)
def test_workers_that_cannot_be_are_one_line_and_nothing_is_written(
    extra: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    done = run_cli("sweep", "three-labs", "--out", str(out), *extra, cwd=tmp_path)
    assert done.returncode == 2
    assert one_error_line(done) == message
    assert not out.exists() or not any(p.name.startswith("seed") for p in out.iterdir())


def test_the_shares_of_a_budget_add_up_to_it_and_each_worker_has_a_slot() -> None:
    limits = Limits(max_concurrency=10, rpm=90.0, tpm=1000.0)
    shares = [share(limits, 4, i) for i in range(4)]
    assert [s.max_concurrency for s in shares] == [3, 3, 2, 2]
    assert sum(s.rpm or 0 for s in shares) == pytest.approx(90.0)
    assert sum(s.tpm or 0 for s in shares) == pytest.approx(1000.0)
    assert all(s.timeout == limits.timeout and s.max_attempts == limits.max_attempts for s in shares)
    assert share(Limits(), 3, 0).rpm is None
    # Never more workers than runs at once, runs, or the smallest cap of calls in flight.
    assert worker_count(8, 32, 100, [Limits()], []) == 8
    assert worker_count(8, 3, 100, [Limits()], []) == 3
    assert worker_count(8, 32, 2, [Limits()], []) == 2
    assert worker_count(8, 32, 100, [Limits(), Limits(max_concurrency=4)], []) == 4
    assert worker_count(8, 32, 100, [Limits()], [2]) == 2


def test_a_worker_takes_its_share_of_the_budget_a_scenario_offers() -> None:
    batch = Batch(index=1, directory="/tmp", concurrency=1, base_url=None, cache=None, limits={}, default=Limits())
    scheduler = ShareScheduler(batch, 2)
    assert scheduler.offer("https://example.test/v1|m", Limits(max_concurrency=5, rpm=60.0))
    taken = scheduler.limits[0]["https://example.test/v1|m"]
    assert (taken.max_concurrency, taken.rpm) == (2, 30.0)  # worker 2 of 2: 5 // 2, and half of 60


async def test_a_budget_the_scenario_names_holds_across_the_processes(backend: str, tmp_path: Path) -> None:
    """``calls = 2`` in the scenario's ``[model]``: asked for three processes, the sweep runs in
    two (as many as the cap), each with one of the two calls and two of the four runs at once
    (a run's calls come one after another), so that together they keep two in flight at most:
    no three answers within a latency. Each keeping the whole cap, they would have had four."""
    sweep, _, runs = plan_sweep(
        "three-labs", ["regulation=none,strict"], repeats=2, model="openai:offline-chat",
        overrides=["clock.end=2028", "model.calls=2"],
    )
    with ModelServer(api_key="k", faults=Faults(latency=LATENCY)) as server:
        with anyio.fail_after(60), pytest.MonkeyPatch.context() as env:
            env.setenv("OPENAI_API_KEY", "k")
            outcome = await run_sweep(
                sweep, runs, tmp_path / "out", base_url=server.base_url, workers=3, concurrency=4
            )
        stats = server.stats()
    assert (outcome.completed, outcome.unfinished) == (4, 0)
    answered = sorted(stats.answered_at)
    assert len(answered) == stats.successes > 60
    assert min(c - a for a, c in zip(answered, answered[2:], strict=False)) >= LATENCY * 0.9
    # Two at a time they were: the cap was used, not kept to one.
    assert min(b - a for a, b in itertools.pairwise(answered)) < LATENCY * 0.5


LATENCY = 0.1  # seconds the server takes to answer, in the test above


async def test_a_worker_that_fails_to_start_is_a_warning_and_the_others_run_its_share(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "converse.sweeps._workers._LAUNCH", "import sys; print('converse: no such module', file=sys.stderr); sys.exit(3)"
    )
    sweep, _, runs = plan_sweep("three-labs", [], repeats=3, overrides=["clock.end=2023"])
    with pytest.warns(WorkerWarning) as caught, anyio.fail_after(60):
        outcome = await run_sweep(sweep, runs, tmp_path / "out", workers=2, concurrency=2)
    assert (outcome.completed, outcome.unfinished) == (3, 0)
    assert [str(w.message) for w in caught] == [
        "--workers: worker 2 of 2 exited with code 3 before it took a run; the other processes ran its share"
    ]
