"""A dataset that grows: ``converse camel generate`` on a dataset's directory with more roles or
tasks makes only the chats it lacks, keeps every finished chat's files as they were, and gives
each new chat the id and seed a fresh command would; anything else is refused with one line
naming what differs. Also: a chat directory another process writes is never deleted, and a
generation stopped by SIGTERM says so."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from _helpers import CONVERSE, ROOT, cli_env, one_error_line, run_cli, tree_of
from converse import read_events
from converse._lock import writer_lock
from converse.events import LLMCall, RunStarted

ROLES = ("--num-assistant-roles", "2", "--num-user-roles", "2")


def generate(*args: str, cwd: Path, out: str = "data") -> subprocess.CompletedProcess[str]:
    return run_cli("camel", "generate", "--out", out, *args, "-q", cwd=cwd, timeout=300)


def chats(data: Path) -> set[str]:
    return {p.stem for p in (data / "chat").glob("*.json")}


def files_of(data: Path, ids: set[str]) -> dict[str, object]:
    """Each chat's run directory and record: every file's bytes and modification time."""
    return {
        chat: (
            tree_of(data / "runs" / chat),
            (data / "chat" / f"{chat}.json").read_bytes(),
            (data / "chat" / f"{chat}.json").stat().st_mtime_ns,
        )
        for chat in ids
    }


def model_calls(log: Path) -> int:
    return sum(isinstance(e, LLMCall) for e in read_events(log))


def test_more_tasks_then_more_roles_make_only_the_missing_chats(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert generate(*ROLES, "--tasks-per-pair", "1", cwd=tmp_path).returncode == 0
    first = chats(data)
    assert len(first) == 4
    files = files_of(data, first)
    tasks = {p.name: p.read_text().splitlines() for p in (data / "tasks").glob("*.txt")}

    more = generate(*ROLES, "--tasks-per-pair", "2", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert (
        "8 chats (4 finished earlier; grown by --tasks-per-pair 1 -> 2): 4 completed now, 0 failed"
        in more.stderr
    )
    assert chats(data) - first == {f"{a:03}_{u:03}_002" for a in (1, 2) for u in (1, 2)}
    assert {p.name for p in (data / "runs").iterdir()} == chats(data)  # no chat was started but these
    assert files_of(data, first) == files
    for name, lines in tasks.items():  # each pair's list grew at its end
        grown = (data / "tasks" / name).read_text().splitlines()
        assert (grown[:1], len(grown)) == (lines, 2)
    assert model_calls(data / "metadata" / "events-2.jsonl") == 4  # a call per pair; the roles are read back

    second = chats(data)
    files = files_of(data, second)
    roles = (data / "assistant_roles.txt").read_text().splitlines()
    wider = generate(
        "--num-assistant-roles", "3", "--num-user-roles", "2", "--tasks-per-pair", "2", cwd=tmp_path
    )
    assert wider.returncode == 0, wider.stderr
    assert (
        "12 chats (8 finished earlier; grown by --num-assistant-roles 2 -> 3): 4 completed now"
        in wider.stderr
    )
    assert chats(data) - second == {f"003_{u:03}_{t:03}" for u in (1, 2) for t in (1, 2)}
    assert files_of(data, second) == files
    assert (data / "assistant_roles.txt").read_text().splitlines()[:2] == roles
    assert model_calls(data / "metadata" / "events-3.jsonl") == 1 + 2  # the roles, then the new pairs' tasks
    assert json.loads((data / "stats.json").read_text())["conversations"] == 12
    assert json.loads((data / "generate.json").read_text())["num_assistant_roles"] == 3


def test_a_grown_dataset_is_the_dataset_a_fresh_command_makes(tmp_path: Path) -> None:
    (tmp_path / "assistants.txt").write_text("Chef\nNurse\n", encoding="utf-8")
    (tmp_path / "users.txt").write_text("Student\n", encoding="utf-8")
    (tmp_path / "tasks.txt").write_text("Plan a week of meals\n", encoding="utf-8")
    lists = ("--assistant-roles", "assistants.txt", "--user-roles", "users.txt", "--tasks", "tasks.txt")
    assert generate(*lists, cwd=tmp_path).returncode == 0
    data = tmp_path / "data"
    files = files_of(data, chats(data))

    (tmp_path / "assistants.txt").write_text("Chef\nNurse\nPilot\n", encoding="utf-8")
    (tmp_path / "tasks.txt").write_text("Plan a week of meals\nPack for a week away\n", encoding="utf-8")
    grown = generate(*lists, cwd=tmp_path)
    assert grown.returncode == 0, grown.stderr
    assert (
        "6 chats (2 finished earlier; grown by --assistant-roles +1; --tasks +1): 4 completed now"
        in grown.stderr
    )
    assert files_of(data, set(files)) == files
    assert generate(*lists, cwd=tmp_path, out="fresh").returncode == 0
    fresh = tmp_path / "fresh"
    assert chats(data) == chats(fresh) == {f"{a:03}_001_{t:03}" for a in (1, 2, 3) for t in (1, 2)}
    for name in [
        *(f"chat/{c}.json" for c in chats(fresh)),
        "instructions.json",
        "finetune.jsonl",
        "stats.json",
    ]:
        assert (data / name).read_bytes() == (fresh / name).read_bytes(), name
    # A chat's seed depends on its id alone: 002_001_002 is seed + 1,000,000 + 1.
    started = read_events(data / "runs" / "002_001_002" / "events.jsonl")[0]
    assert isinstance(started, RunStarted)
    assert started.seed == 1_000_001


BASE = (
    "--scenario",
    "bot.toml",
    "--assistant-roles",
    "assistants.txt",
    "--num-user-roles",
    "1",
    "--tasks-per-pair",
    "2",
)


@pytest.fixture(scope="module")
def base_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``bot.toml`` (the trading bot), ``assistants.txt`` and ``data/``, its
    2 x 1 x 2-chat dataset."""
    folder = tmp_path_factory.mktemp("base")
    shutil.copy(ROOT / "scenarios" / "camel-trading-bot.toml", folder / "bot.toml")
    (folder / "assistants.txt").write_text("Chef\nNurse\n", encoding="utf-8")
    made = generate(*BASE, cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder


@pytest.mark.parametrize(
    ("args", "edit", "expected"),
    [
        ((*BASE[:-1], "1"), None, "--tasks-per-pair 1 is fewer than the dataset's 2; a dataset only grows"),
        (
            BASE,
            ("assistants.txt", None, "Chef\nDoctor\nPilot\n"),
            "--assistant-roles: entry 2 is 'Doctor', the dataset's is 'Nurse' (a list grows at its end)",
        ),
        (
            BASE,
            ("assistants.txt", None, "Chef\n"),
            "--assistant-roles: the file lost 'Nurse', entry 2 of the dataset's 2",
        ),
        (
            ("--scenario", "bot.toml", "--num-assistant-roles", "3", *BASE[4:]),
            None,
            "--num-assistant-roles 3: the dataset's assistant roles were given in a file (--assistant-roles)",
        ),
        (
            (*BASE, "--seed", "1"),
            None,
            "--seed 1: the dataset's seeds start at 0; a dataset only grows",
        ),
        (
            (*BASE, "--model", "offline?latency=0.001"),
            None,
            "--model offline?latency=0.001: the dataset was made with the scenario model; a dataset only grows",
        ),
        (
            (*BASE, "--set", "roleplay.max_messages=10"),
            None,
            "--set roleplay.max_messages=10 is new: the dataset was made without it; a dataset only grows",
        ),
        (
            BASE,
            ("bot.toml", "max_messages = 40", "max_messages = 30"),
            "the scenario changed since the chat 001_001_001 was made: roleplay.max_messages is 30 now, 40 in its "
            "log; a dataset's chats share one scenario",
        ),
    ],
    ids=[
        "fewer-tasks",
        "entry-changed",
        "entry-lost",
        "file-to-count",
        "seed",
        "model",
        "set",
        "scenario-edited",
    ],
)
def test_what_is_not_growth_is_refused_in_one_line_and_nothing_is_touched(
    base_dataset: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    edit: tuple[str, str | None, str] | None,
    expected: str,
) -> None:
    shutil.copytree(base_dataset, tmp_path, dirs_exist_ok=True)
    if edit is not None:  # a file's whole text, or a part of it, replaced
        name, old, new = edit
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert old is None or old in text
        (tmp_path / name).write_text(new if old is None else text.replace(old, new), encoding="utf-8")
    before = tree_of(tmp_path)
    refused = generate(*args, cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert one_error_line(refused).startswith(f"converse: error: dataset data: {expected}")
    assert tree_of(tmp_path) == before


def test_a_chat_another_process_writes_is_not_deleted(tmp_path: Path) -> None:
    (tmp_path / "assistants.txt").write_text("Chef\nNurse\n", encoding="utf-8")
    lists = ("--assistant-roles", "assistants.txt", "--num-user-roles", "1", "--tasks-per-pair", "1")
    assert generate(*lists, cwd=tmp_path).returncode == 0
    data = tmp_path / "data"
    chat = data / "runs" / "002_001_001"
    shutil.rmtree(chat)  # as if another process had just made the chat's directory
    chat.mkdir()
    (data / "chat" / "002_001_001.json").unlink()
    with writer_lock(chat, "run"):  # this process stands for the other one
        held = generate(*lists, cwd=tmp_path)
        assert held.returncode == 1, held.stderr
        assert "2 chats (1 finished earlier): 0 completed now, 1 failed" in held.stderr
        assert [p.name for p in chat.iterdir()] == [".lock"]  # its writer's lock file is still there
    done = generate(*lists, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 completed now" in done.stderr
    assert chats(data) == {"001_001_001", "002_001_001"}


@pytest.mark.slow
def test_sigterm_stops_a_generation_and_says_so(tmp_path: Path) -> None:
    args = [
        *CONVERSE,
        "camel",
        "generate",
        "--out",
        "data",
        *ROLES,
        "--tasks-per-pair",
        "2",
        "--model",
        "offline?latency=0.02",
        "--concurrency",
        "2",
        "-q",
    ]
    process = subprocess.Popen(
        args, cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((tmp_path / "data" / "chat").glob("*.json")):
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert (
        "converse: interrupted (SIGTERM); finished chats are kept in data; run the same command to continue"
        in stderr
    )
    done = list((tmp_path / "data" / "chat").glob("*.json"))
    assert 1 <= len(done) < 8
    again = run_cli(*args[len(CONVERSE) :], cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    # A chat whose run finished as the signal came has a complete log and no chat file yet:
    # the second command counts it as finished earlier.
    earlier = re.search(r"8 chats \((\d+) finished earlier\)", again.stderr)
    assert earlier is not None, again.stderr
    assert len(done) <= int(earlier.group(1)) < 8
