"""``converse sweep`` as a user runs it: grid x seeds, resumable, a summary and a report,
one-line errors that leave the output directory alone, and Ctrl-C (or SIGTERM) that keeps every
finished run."""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest

from _helpers import CONVERSE, cli_env, one_error_line, run_cli
from converse import read_events
from converse.events import ConversationEnded, RunFinished
from converse.testing import events_of

SHORT = ("--set", "clock.end=2025")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_a_sweep_runs_every_cell_and_seed_and_writes_summary_and_report(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = ("sweep", "three-labs", *SHORT, "--grid", "regulation=none,strict", "--repeats", "2", "--out", str(out))
    result = run_cli(*args, "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(out)
    summary = rows(out / "summary.csv")
    assert [(r["regulation"], r["seed"], r["status"]) for r in summary] == [
        ("none", "0", "completed"), ("none", "1", "completed"), ("strict", "0", "completed"), ("strict", "1", "completed"),
    ]
    for row in summary:
        run = out / row["run"]
        assert (run / "events.jsonl").is_file()
        assert (run / "transcript.md").is_file()
        assert int(row["llm_calls"]) > 0
        assert int(row["prompt_tokens"]) > 0
    assert "regulation=strict" in (out / "report.md").read_text(encoding="utf-8") or "strict" in (
        out / "report.md"
    ).read_text(encoding="utf-8")
    assert (out / "report.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert list((out / "plots").glob("*.svg"))

    # The same command again: nothing to do, nothing rewritten but the summary and report.
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/events.jsonl")}
    again = run_cli(*args, "-q", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "4 finished earlier" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/events.jsonl")} == before
    assert rows(out / "summary.csv") == summary


def test_an_unfinished_run_is_run_again_and_ends_as_if_never_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = ("sweep", "three-labs", *SHORT, "--grid", "race_pressure=relaxed,cut-throat", "--out", str(out), "-q")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    first = rows(out / "summary.csv")
    victim = out / first[1]["run"]
    transcript = (victim / "transcript.md").read_bytes()
    log = victim / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[: len(lines) // 2]) + lines[len(lines) // 2][:10])  # killed mid-write
    (victim / "transcript.md").unlink()
    others = {p: p.stat().st_mtime_ns for p in out.glob("*/events.jsonl") if p != log}

    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "1 finished earlier" in again.stderr
    assert (victim / "transcript.md").read_bytes() == transcript
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/events.jsonl") if p != log} == others
    assert rows(out / "summary.csv") == first


def test_model_and_key_paths_are_grid_keys_too(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = run_cli(
        "sweep", "three-labs", "--grid", "clock.end=2023,2024", "--grid", "model=offline,offline?latency=0.001",
        "--out", str(out), "-q", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = rows(out / "summary.csv")
    assert [(r["clock.end"], r["model"], r["periods"]) for r in summary] == [
        ("2023", "offline", "1"), ("2023", "offline?latency=0.001", "1"),
        ("2024", "offline", "2"), ("2024", "offline?latency=0.001", "2"),
    ]


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        (["--grid", "regulaton=none,strict"], "no dial named 'regulaton' (dials: race_pressure, regulation"),
        (["--grid", "regulation="], "empty value"),
        (["--grid", "regulation=none,,strict"], "empty value"),
        (["--grid", "regulation"], "expected KEY=V1,V2"),
        (["--grid", "regulation=none", "--grid", "regulation=strict"], "already in the grid"),
        (["--grid", "regulation=3,4"], "is not a str like the dial's default"),
        (["--grid", "model=gpt-4o"], "unknown kind 'gpt-4o'"),
        (["--grid", "clock.step=fortnight"], "clock.step"),
        (["--repeats", "0"], "--repeats: must be at least 1"),
        (["--concurrency", "0"], "--concurrency: must be at least 1, not 0"),
    ],
)
def test_bad_sweeps_are_one_line_errors_that_write_nothing(grid: list[str], expected: str, tmp_path: Path) -> None:
    result = run_cli("sweep", "three-labs", *grid, "--out", "sweep", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert expected in one_error_line(result)
    assert not (tmp_path / "sweep").exists()


def test_an_out_holding_another_sweep_or_other_files_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    assert run_cli("sweep", "three-labs", "--set", "clock.end=2023", "--out", str(out), "-q", cwd=tmp_path).returncode == 0
    summary = (out / "summary.csv").read_bytes()
    other = run_cli("sweep", "three-labs", "--set", "clock.end=2024", "--out", str(out), "-q", cwd=tmp_path)
    assert other.returncode == 2
    assert "--set clock.end=2024: the sweep was made with --set clock.end=2023; a sweep only grows" in one_error_line(other)
    assert (out / "summary.csv").read_bytes() == summary

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    taken = run_cli("sweep", "three-labs", "--out", str(busy), cwd=tmp_path)
    assert taken.returncode == 2
    assert "is not empty and holds no sweep.json" in one_error_line(taken)
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sent", "code", "ctrl_c_ignored", "workers"),
    [
        (signal.SIGINT, 130, False, 1),
        (signal.SIGTERM, 143, False, 1),
        (signal.SIGTERM, 143, True, 1),
        (signal.SIGINT, 130, False, 2),
    ],
    ids=["ctrl-c", "sigterm", "sigterm-started-with-ctrl-c-ignored", "ctrl-c-two-workers"],
)
def test_ctrl_c_or_sigterm_keeps_every_finished_run_and_the_same_command_finishes_the_rest(
    sent: signal.Signals, code: int, ctrl_c_ignored: bool, workers: int, tmp_path: Path
) -> None:
    """SIGTERM (docker stop, systemd, timeout) ends a sweep as Ctrl-C does, also one started
    with Ctrl-C ignored, as a script's background job (``converse sweep ... &``) is; and a
    sweep whose runs go on in worker processes, which stop theirs."""
    out = tmp_path / "sweep"
    args = [
        "sweep", "three-labs", "--set", "clock.end=2024", "--model", "offline?latency=0.05",
        "--grid", "regulation=none,light,moderate,strict", "--repeats", "3", "--concurrency", "2", "--out", str(out),
        "--workers", str(workers),
    ]
    process = subprocess.Popen(
        [*CONVERSE, *args], cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        preexec_fn=partial(signal.signal, signal.SIGINT, signal.SIG_IGN) if ctrl_c_ignored else None,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(out.glob("*/transcript.md"))) < 3:
            time.sleep(0.05)
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    by = " (SIGTERM)" if sent == signal.SIGTERM else ""
    assert f"converse: interrupted{by}; every finished run is kept in {out} and in its summary.csv; run the same command to continue" in stderr
    partial_rows = rows(out / "summary.csv")
    assert len(partial_rows) == 12
    done = [r for r in partial_rows if r["status"] == "completed"]
    assert 3 <= len(done) < 12
    for row in done:  # every run the summary calls completed is complete on disk
        assert (out / row["run"] / "transcript.md").is_file()
    cancelled = [r for r in partial_rows if r["status"] == "cancelled"]
    assert cancelled  # two runs were going: they end cancelled, their logs whole
    for row in cancelled:
        events = read_events(out / row["run"] / "events.jsonl")
        last = events[-1]
        assert isinstance(last, RunFinished)
        # Stopped in its conversation, a run says so; stopped once its conversation had ended,
        # while its judge was answering (a run of the pair that finished just before the
        # signal, a moment behind it), it says that.
        judging = ("top",) in [tuple(e.conversation) for e in events_of(events, ConversationEnded)]
        assert (last.status, last.reason) == ("cancelled", "interrupted while judging" if judging else "interrupted")

    again = run_cli(*args, "-q", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{len(done)} finished earlier" in again.stderr
    final = rows(out / "summary.csv")
    assert [r["status"] for r in final] == ["completed"] * 12
    for row in done:
        assert next(r for r in final if r["run"] == row["run"]) == row
