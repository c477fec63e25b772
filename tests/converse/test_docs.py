"""The documentation's examples work as written, so the docs cannot rot: every fenced Python
example of the README and the scenario guide runs as a script; every ``converse`` command of
their shell examples that is cheap and offline runs and succeeds, and every other one (a real
model, a server that keeps running, a 25,000-chat dataset) uses only flags its command has."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from _helpers import ROOT, cli_env, run_cli

DOCS = [ROOT / "README.md", ROOT / "scenarios" / "README.md"]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
# Commands that cost money or time, or keep serving: their flags are checked, not run.
_NOT_RUN = re.compile(r"openai:|^converse view\b|^converse camel generate\b")


def blocks(language: str) -> list[tuple[str, int, str]]:
    """Every fenced block of ``language`` in the docs: (file, line, text)."""
    found = []
    for doc in DOCS:
        if not doc.exists():
            continue
        text = doc.read_text(encoding="utf-8")
        found += [
            (doc.name, text.count("\n", 0, m.start()) + 1, m.group(2))
            for m in _FENCE.finditer(text)
            if m.group(1) == language
        ]
    return found


def commands() -> list[tuple[str, str]]:
    """Every ``converse ...`` command of the shell examples, continuation lines joined and
    comments dropped: (where, command)."""
    found = []
    for name, line, text in blocks("sh"):
        joined = re.sub(r"\\\n\s*", " ", text)
        for number, raw in enumerate(joined.splitlines()):
            for part in raw.split("&&"):
                command = part.split(" #", 1)[0].strip()
                if command.startswith("converse "):
                    found.append((f"{name}:{line + number}", command))
    return found


PYTHON = blocks("python")
COMMANDS = commands()


def test_the_docs_have_examples_to_check() -> None:
    assert len(PYTHON) >= 3
    assert len(COMMANDS) >= 8


@pytest.mark.slow
@pytest.mark.parametrize(("doc", "line", "code"), PYTHON, ids=[f"{d}:{n}" for d, n, _ in PYTHON])
def test_a_python_example_runs_as_a_script(doc: str, line: int, code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=cli_env(without="OPENAI_"),
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, f"{doc}:{line}\n{done.stderr}"
    assert done.stdout.strip(), f"{doc}:{line} printed nothing"
    if "read_events" in code:  # it prints the run, then what it read of it
        assert len(done.stdout.splitlines()) > 1, f"{doc}:{line} printed only its first line"


@pytest.mark.slow
@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_a_shell_example_runs_or_at_least_parses(where: str, command: str, tmp_path: Path) -> None:
    argv = shlex.split(command)[1:]
    if _NOT_RUN.search(command):
        words = [a for a in argv if not a.startswith("-")]
        subcommand = words[:2] if words[:1] == ["camel"] else words[:1]
        known = help_of(tuple(subcommand))
        for flag in (a.split("=", 1)[0] for a in argv if a.startswith("--")):
            assert flag in known, f"{where}: {' '.join(subcommand)} has no {flag}"
        return
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")  # paths as in the repository
    done = run_cli(*argv, cwd=tmp_path, env=cli_env(without="OPENAI_"), timeout=600)
    assert done.returncode == 0, f"{where}: {command}\n{done.stderr}"


@cache
def help_of(subcommand: tuple[str, ...]) -> str:
    done = run_cli(*subcommand, "--help", cwd=ROOT, env=cli_env(without="OPENAI_"), timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout
