"""``converse camel generate``: CAMEL's dataset recipe, run concurrently, resumable, in
CAMEL's formats, with its statistics; and what bad input gets."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import msgspec
import pytest

import converse
from _helpers import run_cli
from converse.camel import generate, recipe_from_files

SMALL = ("--num-assistant-roles", "3", "--num-user-roles", "2", "--tasks-per-pair", "2")


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_generate_writes_camel_formats_and_statistics(tmp_path: Path) -> None:
    done = run_cli("camel", "generate", "--out", "data", *SMALL, "-q", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    data = tmp_path / "data"
    assert done.stdout.splitlines()[-1] == "data"
    assert "Termination reasons" in done.stdout  # the statistics, printed
    roles = (data / "assistant_roles.txt").read_text().splitlines()
    assert len(roles) == 3
    assert roles[0].startswith("1. ")
    chats = sorted((data / "chat").glob("*.json"))
    assert [c.stem for c in chats] == [f"{a:03}_{u:03}_{t:03}" for a in (1, 2, 3) for u in (1, 2) for t in (1, 2)]
    record = json.loads(chats[0].read_text())
    keys = list(record)
    assert keys[:5] == ["id", "role_1", "role_2", "original_task", "specified_task"]
    assert keys[-2:] == ["termination_reason", "num_messages"]
    assert record["role_1"] == roles[0][3:] + "_RoleType.ASSISTANT"
    first = record["message_1"]
    assert first["role_type"] == "USER"
    assert first["content"].startswith("Instruction:")
    assert record["message_2"]["role_type"] == "ASSISTANT"
    assert record["num_messages"] == sum(k.startswith("message_") for k in record)
    task = (data / "tasks" / "001_001.txt").read_text().splitlines()[0][3:]
    assert record["original_task"] == task
    pairs = json.loads((data / "instructions.json").read_text())
    assert pairs
    assert set(pairs[0]) == {"id", "role_1", "role_2", "original_task", "specified_task", "role_1_response",
                                       "role_1_message_id", "instruction", "input", "output", "termination_reason"}
    examples = [json.loads(line) for line in (data / "finetune.jsonl").read_text().splitlines()]
    assert len(examples) == len(chats)
    for example in examples:
        roles_seen = [m["role"] for m in example["messages"]]
        assert roles_seen[0] == "system"
        assert roles_seen[-1] == "assistant"
        assert roles_seen[1:] == ["user", "assistant"] * (len(roles_seen) // 2)
    stats = json.loads((data / "stats.json").read_text())
    assert stats["conversations"] == 12
    assert sum(stats["reasons"].values()) == 12
    assert stats["instruction_pairs"] == len(pairs)
    assert (data / "stats.md").read_text().startswith("# ")
    metadata = converse.read_events(data / "metadata" / "events.jsonl")
    assert sum(isinstance(e, converse.events.LLMCall) for e in metadata) == 2 + 6  # two role lists, a call per pair


def test_running_again_continues_and_a_finished_dataset_costs_nothing(tmp_path: Path) -> None:
    assert run_cli("camel", "generate", "--out", "data", *SMALL, "-q", cwd=tmp_path, timeout=300).returncode == 0
    data = tmp_path / "data"
    whole = snapshot(data)
    again = run_cli("camel", "generate", "--out", "data", *SMALL, "-q", cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "12 chats (12 finished earlier)" in again.stderr
    assert snapshot(data) == whole  # nothing asked, nothing rewritten but identical aggregates

    # A crash: one chat's log cut short, its record not written yet; another never started.
    log = data / "runs" / "002_001_002" / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[: len(lines) // 2]))
    (data / "chat" / "002_001_002.json").unlink()
    (data / "chat" / "003_002_001.json").unlink()
    import shutil

    shutil.rmtree(data / "runs" / "003_002_001")
    resumed = run_cli("camel", "generate", "--out", "data", *SMALL, "-q", cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "2 completed now" in resumed.stderr
    after = snapshot(data)
    for name in ("chat/002_001_002.json", "chat/003_002_001.json", "instructions.json", "finetune.jsonl",
                 "stats.json"):
        assert after[name] == whole[name], name


def test_chats_in_two_processes_make_the_same_dataset_as_in_one(tmp_path: Path) -> None:
    made = {}
    for workers in ("1", "2"):
        done = run_cli("camel", "generate", "--out", workers, *SMALL, "--concurrency", "4", "--workers", workers, "-q",
                       cwd=tmp_path, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "12 chats: 12 completed now, 0 failed" in done.stderr
        made[workers] = snapshot(tmp_path / workers)
    # Every file the same, byte for byte (the chats, instructions, fine-tuning lines, statistics,
    # transcripts), but the logs, whose times differ; they hold the same events.
    logs = {name for name in made["1"] if name.endswith("events.jsonl")}
    assert len(logs) == 13  # the lists' and each chat's
    assert {n: b for n, b in made["2"].items() if n not in logs} == {n: b for n, b in made["1"].items() if n not in logs}
    for name in logs:
        kinds = [[json.loads(line)["type"] for line in made[w][name].splitlines()] for w in ("1", "2")]
        assert kinds[0] == kinds[1]


def test_lists_from_files(tmp_path: Path) -> None:
    (tmp_path / "assistants.txt").write_text("1. Chef\n2. Nurse\n", encoding="utf-8")
    (tmp_path / "users.txt").write_text("# who asks\nStudent\n", encoding="utf-8")
    (tmp_path / "tasks.txt").write_text("Plan a week of meals\n", encoding="utf-8")
    done = run_cli("camel", "generate", "--out", "data", "--assistant-roles", "assistants.txt", "--user-roles",
                   "users.txt", "--tasks", "tasks.txt", "-q", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "data" / "chat").glob("*.json"))]
    assert [(r["id"], r["role_1"], r["role_2"], r["original_task"]) for r in records] == [
        ("001_001_001", "Chef_RoleType.ASSISTANT", "Student_RoleType.USER", "Plan a week of meals"),
        ("002_001_001", "Nurse_RoleType.ASSISTANT", "Student_RoleType.USER", "Plan a week of meals"),
    ]
    assert not (tmp_path / "data" / "metadata").exists()  # nothing was asked of the model


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ({}, ("--assistant-roles", "nope.txt"), "--assistant-roles: nope.txt: no such file"),
        ({"empty.txt": "\n# nothing\n"}, ("--user-roles", "empty.txt"), "--user-roles: empty.txt: holds no entries"),
        ({}, ("--num-user-roles", "0"), "--num-user-roles: must be at least 1, not 0"),
        ({}, ("--concurrency", "0"), "--concurrency: must be at least 1, not 0"),
        ({}, ("--workers", "0"), "--workers: must be at least 1, not 0"),
        ({}, ("--scenario", "three-labs"), "three-labs: is not a role-play scenario"),
        ({}, ("--set", "roleplay.critic.kind=\"human\""), "a person cannot critique many chats at once"),
        ({}, ("--set", "roleplay.task=\"\""), "$.roleplay.task: must not be empty"),
        ({"data/notes.txt": "mine"}, (), "is not empty and holds no generate.json"),
    ],
)
def test_bad_input_gets_one_line_exit_2_and_loses_nothing(
    tmp_path: Path, setup: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    for name, text in setup.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    before = snapshot(tmp_path)
    done = run_cli("camel", "generate", "--out", "data", "--tasks-per-pair", "1", *args, "-q", cwd=tmp_path, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert snapshot(tmp_path) == before


def test_another_dataset_in_the_directory_is_refused(tmp_path: Path) -> None:
    assert run_cli("camel", "generate", "--out", "data", *SMALL, "-q", cwd=tmp_path, timeout=300).returncode == 0
    before = snapshot(tmp_path)
    done = run_cli("camel", "generate", "--out", "data", *SMALL[:4], "--tasks-per-pair", "1", "-q", cwd=tmp_path, timeout=300)
    assert done.returncode == 2
    assert "--tasks-per-pair 1 is fewer than the dataset's 2; a dataset only grows" in done.stderr  # more: test_camel_grow
    assert snapshot(tmp_path) == before


async def test_the_offline_model_exercises_every_termination_rule(backend: str, tmp_path: Path) -> None:
    recipe = recipe_from_files("camel-trading-bot", assistant_roles=8, user_roles=8, tasks=3, seed=1)
    outcome = await generate(recipe, tmp_path / "data", concurrency=64)
    assert outcome.completed == outcome.chats == 192
    reasons = Counter(json.loads(p.read_text())["termination_reason"]
                      for p in (tmp_path / "data" / "chat").glob("*.json"))
    assert {"<CAMEL_TASK_DONE>", "user_no_instruct_threshold", "assistant_instruct_threshold",
            "repeat_word_threshold", "max_num_messages"} <= set(reasons)
    assert any(reason.endswith("max_tokens_exceeded") for reason in reasons)
    assert reasons.most_common(1)[0][0] == "<CAMEL_TASK_DONE>"
    stats = msgspec.json.decode((tmp_path / "data" / "stats.json").read_bytes())
    assert stats["reasons"] == dict(reasons.most_common())


def test_replay_formats_a_roleplay_log_like_the_dataset(tmp_path: Path) -> None:
    assert run_cli("camel", "generate", "--out", "data", *SMALL, "-q", cwd=tmp_path, timeout=300).returncode == 0
    run = tmp_path / "data" / "runs" / "001_002_001"
    chat = run_cli("replay", str(run), "--format", "camel", cwd=tmp_path, timeout=300)
    assert chat.returncode == 0, chat.stderr
    ours = json.loads(chat.stdout)
    theirs = json.loads((tmp_path / "data" / "chat" / "001_002_001.json").read_text())
    assert ours == {**theirs, "id": ours["id"]}
    tune = run_cli("replay", str(run), "--format", "finetune", cwd=tmp_path, timeout=300)
    assert json.loads(tune.stdout)["messages"][0]["role"] == "system"
    lab = run_cli("run", "three-labs", "--set", "clock.end=2023", "-q", "--out", "runs", cwd=tmp_path, timeout=300)
    refused = run_cli("replay", lab.stdout.splitlines()[-1], "--format", "camel", cwd=tmp_path, timeout=300)
    assert refused.returncode == 2
    assert "not a role-play" in refused.stderr
