"""The ``converse`` command as a user runs it: real processes, real files, one-line errors."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from _helpers import CONVERSE, ROOT, SCENARIOS, cli_env, error_lines, one_error_line, run_cli
from converse import read_events
from converse.events import LLMCall, RunFinished
from converse.web import RunView
from converse.web._items import Head


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
    assert transcript.startswith("# Three labs, ten years — as run: 2023 to 2024 (2 years)\n")  # not "ten years"


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
        lines = error_lines(result) if command == "validate" else [one_error_line(result)]
        assert all(str(bad) in line for line in lines)
        assert any(where in line for line in lines)
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


# -- a command line that explains itself --------------------------------------------------------


def test_calls_is_model_calls_in_flight_and_the_old_concurrency_still_works_with_a_warning(tmp_path: Path) -> None:
    quick = ("three-labs", "--set", "clock.end=2023", "-q", "--out", str(tmp_path))
    calls = run_cli("run", *quick, "--calls", "4", cwd=tmp_path)
    assert calls.returncode == 0, calls.stderr
    assert calls.stderr == ""
    old = run_cli("run", *quick, "--concurrency", "4", cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert "deprecated: write --calls 4" in one_error_line(old)
    assert Path(old.stdout.splitlines()[-1]).is_dir()
    zero = run_cli("run", *quick, "--calls", "0", cwd=tmp_path)
    assert zero.returncode == 2
    assert "--calls" in one_error_line(zero)
    for command in (["run"], ["resume"], ["sweep"], ["camel", "roleplay"], ["camel", "generate"]):
        shown = run_cli(*command, "--help", cwd=tmp_path).stdout
        assert "model calls in flight" in " ".join(shown.split())
        concurrency = "--concurrency" in shown
        assert concurrency == (command in (["sweep"], ["camel", "generate"])), command


def test_verbose_and_quiet_go_before_or_after_the_command(tmp_path: Path) -> None:
    quick = ("--set", "clock.end=2023", "--out", str(tmp_path))
    before = run_cli("-q", "run", "three-labs", *quick, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert before.stderr == ""
    after = run_cli("run", "three-labs", *quick, "-v", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert "── 2023 ──" in after.stderr
    replayed = run_cli("replay", before.stdout.strip(), "-q", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith("# Three labs, ten years — as run: 2023 (1 year)\n")


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["run"], "(see converse run --help)"),
        (["run", "three-labs", "--bogus"], "unrecognized arguments: --bogus (see converse run --help)"),
        (["frob"], "invalid choice: 'frob'"),
        (["sweep", "three-labs", "--out", "s", "--seed", "x"], "--seed: invalid int value: 'x'"),
        (["camel", "roleplay", "--critic", "loud"], "(see converse camel roleplay --help)"),
        (["run", "no-such-scenario"], "no-such-scenario"),
    ],
)
def test_every_error_line_starts_the_same_way(args: list[str], names: str, tmp_path: Path) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith("converse: error: ")
    assert names in line
    assert "usage:" not in result.stderr


def wait_for_log(process: subprocess.Popen[str], out: Path, lines: int) -> None:
    """Wait until a run directory under ``out`` holds a log of at least ``lines`` lines."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        logs = list(out.glob("*/events.jsonl"))
        if logs and logs[0].read_bytes().count(b"\n") >= lines:
            return
        time.sleep(0.02)
    raise AssertionError(f"no log of {lines} lines under {out} within a minute")


@pytest.mark.parametrize(
    ("command", "sent", "code"),
    [
        (["run", "three-labs"], signal.SIGINT, 130),
        (["run", "three-labs"], signal.SIGTERM, 143),
        (["camel", "roleplay", "--no-specify"], signal.SIGINT, 130),
    ],
)
def test_an_interrupted_run_says_where_it_is_and_how_to_resume_it(
    command: list[str], sent: signal.Signals, code: int, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    process = subprocess.Popen(
        [*CONVERSE, *command, "--model", "offline?latency=0.1", "--out", "runs"],
        cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_for_log(process, out, 12)
    process.send_signal(sent)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    directory = stdout.splitlines()[-1]
    assert (tmp_path / directory / "transcript.md").is_file()
    assert f"resume with: converse resume {directory}" in stderr.splitlines()
    events = read_events(tmp_path / directory / "events.jsonl")
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.status == "cancelled"

    resumed = run_cli("resume", directory, "--model", "offline", "-q", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    answered = [e.call for e in events if isinstance(e, LLMCall)]
    said = f"resumed: {len(answered)} answer{'s' if len(answered) != 1 else ''} from the log; live from call"
    assert f"{said} {max(answered, default=0) + 1}" in resumed.stderr
    assert resumed.stdout.strip() == directory


def test_a_roleplay_with_roles_from_the_command_line_is_titled_for_them(tmp_path: Path) -> None:
    done = run_cli(
        "camel", "roleplay", "--assistant-role", "Nutritionist", "--user-role", "Athlete",
        "--task", "Plan a week of meals", "--max-messages", "2", "-q", "--out", "runs", cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    directory = tmp_path / done.stdout.strip()
    title = "Role-play: Nutritionist helps Athlete: Plan a week of meals"
    assert (directory / "transcript.md").read_text(encoding="utf-8").startswith(f"# {title}\n")
    heads = [i for i in RunView().feed(read_events(directory / "events.jsonl")) if isinstance(i, Head)]
    assert [h.title for h in heads] == [title]


# The command as the ``converse`` script runs it, in this process's place, then which of
# numpy, structlog and rich it loaded.
_LOADED = """
import sys
from converse.cli import command
code = command()
print(code, *("numpy" in sys.modules, "structlog" in sys.modules, "rich" in sys.modules))
"""


_RUN = "out/three-labs-councils-seed0"  # what the first case writes (its replay and resume read it)


@pytest.mark.parametrize(
    ("args", "code", "numpy"),
    [
        (("run", "three-labs-councils", "--set", "clock.end=2023", "-q", "--out", "out"), 0, False),
        (("sweep", "three-labs", "--repeats", "2", "--set", "clock.end=2024", "-q", "--out", "sweep"), 0, False),
        (("run", "camel-trading-bot", "-q", "--out", "camel"), 0, False),
        # A population's researchers have memory streams, which compute with numpy.
        (("run", "research-population", "--set", "clock.end=2025", "-q", "--out", "population"), 0, True),
        (("replay", "missing/events.jsonl"), 2, False),
        (("replay", f"{_RUN}/events.jsonl", "-o", "transcript.md"), 0, False),
        (("resume", _RUN, "-q"), 0, False),
    ],
    ids=["run", "sweep", "camel", "population", "failed-replay", "replay", "resume"],
)
def test_a_command_loads_numpy_and_the_logging_libraries_only_when_it_needs_them(
    tmp_path: Path, args: tuple[str, ...], code: int, numpy: bool
) -> None:
    # numpy is about a third of a command's start, structlog (with rich's tracebacks, which it
    # brings) about a quarter: numpy is for memory streams, embeddings and logs of hundreds of
    # megabytes, structlog for a line logged (-v, a crash), rich for a progress bar. None of these
    # commands logs or draws one.
    if any(arg.startswith(_RUN) for arg in args):  # the case reads the first case's run: make it
        made = run_cli("run", "three-labs-councils", "--set", "clock.end=2023", "-q", "--out", "out", cwd=tmp_path)
        assert made.stdout.strip() == _RUN, made.stderr
    done = subprocess.run(
        [CONVERSE[0], "-c", _LOADED, *args], cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert done.stdout.split()[-4:] == [str(code), str(numpy), "False", "False"], done.stderr
