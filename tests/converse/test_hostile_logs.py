"""Logs from elsewhere: ``converse replay``, ``audit`` and ``resume`` given a log they cannot take
(a newer version's, a call sharing a prompt the log does not hold, a FIFO, a device, a line too
long) refuse it with one line naming the file and line, exit 2, and change nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import msgspec
import pytest

from _helpers import one_error_line, run_cli

MAX_LINE = 64 * 1024 * 1024  # the longest line a log may have, as the README says


@pytest.fixture(scope="module")
def council_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished council run's log: its calls share prompts with earlier ones."""
    out = tmp_path_factory.mktemp("council")
    done = run_cli("run", "three-labs-councils", "--set", "clock.end=2023", "-q", "--out", "runs", cwd=out)
    assert done.returncode == 0, done.stderr
    return out / done.stdout.strip() / "events.jsonl"


def copy_of(log: Path, tmp_path: Path, lines: list[bytes] | None = None) -> Path:
    """A run directory of its own holding ``log`` (or ``lines``)."""
    directory = tmp_path / "run"
    directory.mkdir()
    copy = directory / "events.jsonl"
    if lines is None:
        shutil.copyfile(log, copy)
    else:
        copy.write_bytes(b"".join(lines))
    return copy


def refused(*args: str, cwd: Path) -> str:
    """The one error line of a command that must refuse its input with exit code 2."""
    done = run_cli(*args, cwd=cwd, timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    return one_error_line(done)


def test_resume_keeps_the_lines_of_a_newer_version_and_refuses_them_as_replay_does(
    council_log: Path, tmp_path: Path
) -> None:
    # An interrupted run, then 50 events of a kind this version does not know (a newer one's).
    lines = council_log.read_bytes().splitlines(keepends=True)[:40]
    run = msgspec.json.decode(lines[0])["run"]
    newer = [
        msgspec.json.encode({"type": "vote", "run": run, "seq": 40 + i, "t": 9.0, "ballot": i}) + b"\n"
        for i in range(50)
    ]
    log = copy_of(council_log, tmp_path, lines + newer)
    before = log.read_bytes()
    expected = f"converse: error: {log}:41: unknown event type 'vote' (a log written by a newer converse?)"
    assert refused("resume", str(log.parent), cwd=tmp_path) == expected
    assert log.read_bytes() == before
    assert refused("replay", str(log), cwd=tmp_path) == expected
    assert refused("audit", str(log), cwd=tmp_path) == expected


def test_a_call_sharing_a_prompt_the_log_does_not_hold_is_named_by_every_reader(
    council_log: Path, tmp_path: Path
) -> None:
    lines = council_log.read_bytes().splitlines(keepends=True)
    number, event = next(
        (n, e) for n, e in enumerate(map(msgspec.json.decode, lines), 1) if e["type"] == "llm_call" and e["shared"]
    )
    event["shared"]["call"] = 9999
    lines[number - 1] = msgspec.json.encode(event) + b"\n"
    log = copy_of(council_log, tmp_path, lines)
    before = log.read_bytes()
    problem = f"call {event['call']} shares the prompt of call 9999, which no earlier line holds"
    expected = f"converse: error: {log}:{number}: {problem}"
    assert refused("replay", str(log), cwd=tmp_path) == expected
    assert refused("audit", str(log), cwd=tmp_path) == expected
    assert refused("resume", str(log.parent), cwd=tmp_path) == expected
    assert log.read_bytes() == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", ["replay", "audit"])
def test_a_fifo_is_refused_at_once(command: str, tmp_path: Path) -> None:
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)  # nobody ever writes to it: opening it to read would wait for ever
    assert refused(command, str(fifo), cwd=tmp_path) == f"converse: error: {fifo}: is a FIFO, not a log file"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("command", ["replay", "audit"])
def test_an_endless_device_is_refused_before_it_is_read(command: str, tmp_path: Path) -> None:
    expected = "converse: error: /dev/zero: is a character device, not a log file"
    assert refused(command, "/dev/zero", cwd=tmp_path) == expected


@pytest.mark.parametrize("command", ["replay", "audit"])
def test_a_line_over_the_limit_is_refused_naming_it(command: str, council_log: Path, tmp_path: Path) -> None:
    lines = council_log.read_bytes().splitlines(keepends=True)
    event = msgspec.json.decode(lines[4])
    # Line 5 made just longer than the limit: a valid event, but no log line is that long.
    filler = {"type": "error", "run": event["run"], "seq": event["seq"], "t": event["t"], "error_type": "X"}
    head = msgspec.json.encode({**filler, "message": ""})
    filler["message"] = "x" * (MAX_LINE + 1 - len(head))
    lines[4] = msgspec.json.encode(filler) + b"\n"
    log = copy_of(council_log, tmp_path, lines)
    expected = f"converse: error: {log}:5: a line longer than 64 MiB: not an event"
    assert refused(command, str(log), cwd=tmp_path) == expected
