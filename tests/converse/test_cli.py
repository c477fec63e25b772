"""The ``converse`` command as a user runs it: real processes, real files, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from _helpers import ROOT, SCENARIOS, one_error_line, run_cli


def test_run_writes_log_and_transcript_and_replay_reproduces_it(tmp_path: Path) -> None:
    result = run_cli("run", str(ROOT / "scenarios" / "three-labs-councils.toml"), "--out", "out", "--seed", "4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / result.stdout.strip().splitlines()[-1]
    assert (run_dir / "events.jsonl").is_file()
    transcript = (run_dir / "transcript.md").read_bytes()
    assert b"<details>" in transcript
    assert b"### 2030" in transcript
    assert "── 2023 ──" in result.stderr  # progress on stderr, not stdout
    assert "completed" in result.stderr.splitlines()[-1]

    replay = run_cli("replay", str(run_dir / "events.jsonl"), cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.encode() == transcript
    to_file = run_cli("replay", str(run_dir), "-o", "again.md", cwd=tmp_path)
    assert to_file.returncode == 0
    assert (tmp_path / "again.md").read_bytes() == transcript


def test_run_by_builtin_name_with_overrides(tmp_path: Path) -> None:
    result = run_cli("run", "three-labs", "--set", "clock.end=2024", "-q", "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    transcript = (Path(result.stdout.strip()) / "transcript.md").read_text(encoding="utf-8")
    assert "### 2024" in transcript
    assert "### 2025" not in transcript


def test_validate_accepts_every_shipped_scenario(tmp_path: Path) -> None:
    files = [str(p) for p in SCENARIOS]
    result = run_cli("validate", *files, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(files)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('name = "x"\nagents = [', "not valid TOML"),
        ('title = "no name"\n[[agents]]\nname = "A"\n', "missing required field name"),
        ('name = "x"\n[clock]\nend = "soon"\n[[agents]]\nname = "A"\n', "$.clock.end: Expected int"),
        ('name = "x"\ncolour = "red"\n[[agents]]\nname = "A"\n', "unknown field colour"),
        (
            'name = "x"\n[clock]\nend = 2024\n[prompts]\nsystem = "s"\nturn = "{period} {statements} {mood}"\n[[agents]]\nname = "A"\n',
            "$.prompts.turn: unknown placeholder {mood}",
        ),
        (
            'name = "x"\n[clock]\nend = 2024\n[prompts]\nsystem = "s"\nturn = "{statements}"\n[[agents]]\nname = "A"\n',
            "$.prompts.turn: must contain {period}",
        ),
    ],
)
def test_validate_names_the_file_and_key_path(text: str, where: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    for command in ("validate", "run"):
        result = run_cli(command, str(bad), "--out", str(tmp_path / "out"), cwd=tmp_path) if command == "run" else run_cli(command, str(bad), cwd=tmp_path)
        assert result.returncode == 2
        line = one_error_line(result)
        assert str(bad) in line
        assert where in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_missing_scenario_and_a_bad_model_spec_are_one_line_errors(tmp_path: Path) -> None:
    missing = run_cli("run", "no-such-scenario", cwd=tmp_path)
    assert missing.returncode == 2
    assert "no-such-scenario: no such scenario file" in one_error_line(missing)
    bad_model = run_cli("run", "three-labs", "--model", "offline?latency=fast", "--out", str(tmp_path), cwd=tmp_path)
    assert bad_model.returncode == 2
    assert "latency must be a number" in one_error_line(bad_model)
    unknown = run_cli("run", "three-labs", "--model", "gpt-9", "--out", str(tmp_path), cwd=tmp_path)
    assert unknown.returncode == 2
    assert "unknown model kind 'gpt-9'" in one_error_line(unknown)
    bad_set = run_cli("run", "three-labs", "--set", "agents[7].name=X", "--out", str(tmp_path), cwd=tmp_path)
    assert bad_set.returncode == 2
    assert "$.agents[7]: no such list item" in one_error_line(bad_set)


def test_replay_of_broken_logs(tmp_path: Path) -> None:
    run = run_cli("run", "three-labs", "--set", "clock.end=2023", "-q", "--out", str(tmp_path), cwd=tmp_path)
    events = Path(run.stdout.strip()) / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)

    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(b"".join(lines[:-1]) + lines[-1][:-20])  # the last line cut short
    result = run_cli("replay", str(torn), cwd=tmp_path)
    assert result.returncode == 0
    warning = one_error_line(result)
    assert "warning" in warning
    assert f"torn.jsonl:{len(lines)}" in warning

    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_bytes(b"".join([*lines[:3], b'{"type": "utterance", "oops"\n', *lines[4:]]))
    result = run_cli("replay", str(corrupt), cwd=tmp_path)
    assert result.returncode == 2
    assert "corrupt.jsonl:4:" in one_error_line(result)

    not_a_log = tmp_path / "notes.txt"
    not_a_log.write_text("just some notes\n", encoding="utf-8")
    result = run_cli("replay", str(not_a_log), cwd=tmp_path)
    assert result.returncode == 2
    assert "notes.txt:1:" in one_error_line(result)

    result = run_cli("replay", str(tmp_path / "nowhere.jsonl"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nowhere.jsonl" in one_error_line(result)


def test_scenarios_lists_the_builtin_ones(tmp_path: Path) -> None:
    result = run_cli("scenarios", cwd=tmp_path)
    assert result.returncode == 0
    names = {line.split()[0] for line in result.stdout.splitlines()}
    assert {p.stem for p in SCENARIOS} <= names
