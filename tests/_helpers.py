"""What the test files share: the repository's paths and the ``converse`` command run as a user
runs it. pytest puts this directory on ``sys.path`` (``pythonpath`` in pyproject.toml), so a
test file says ``from _helpers import ROOT, run_cli``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
"""The repository root."""

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
"""The shipped scenario files, sorted by path."""

CONVERSE = (sys.executable, "-m", "converse")
"""The command line that starts ``converse``, before its arguments (for ``subprocess.Popen``)."""


def cli_env(*, without: str | None = None, **extra: str) -> dict[str, str]:
    """The environment for a ``converse`` process: this one's, less the variables whose names
    start with ``without`` (e.g. ``"OPENAI_"``), with ``PYTHONPATH`` the repository root and
    ``extra`` set."""
    env = {k: v for k, v in os.environ.items() if without is None or not k.startswith(without)}
    return env | {"PYTHONPATH": str(ROOT)} | extra


def run_cli(
    *args: str,
    cwd: Path,
    stdin: str | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``converse ARGS`` in a process of its own, in ``cwd``, and wait for it; its output
    is captured as text and its exit code left to the caller. ``stdin``, if given, is its
    whole input; ``env`` (default: ``cli_env()``) its whole environment."""
    return subprocess.run(
        [*CONVERSE, *args],
        cwd=cwd,
        env=cli_env() if env is None else dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_cli_ok(*args: str, cwd: Path) -> str:
    """``run_cli`` that must succeed: its stdout (the test fails with its stderr otherwise)."""
    done = run_cli(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed on stderr (no traceback, nothing else)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def tree_of(directory: Path) -> dict[str, tuple[bytes | None, int]]:
    """Everything under ``directory`` by its path relative to it: each file's bytes and each
    file's and folder's modification time (ns), so that two trees compare equal only if nothing
    in them was written, made, removed or touched."""
    return {
        str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
    }


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines a failed command printed on stderr (``converse validate`` prints one per
    problem): each starts ``converse: error:``; no traceback, nothing else."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, result.stderr
    assert all(line.startswith("converse: error: ") for line in lines), result.stderr
    assert "Traceback" not in result.stderr
    return lines


# openai's streams leave inner async generators for the collector; trio warns about it.
SDK_LEAVES_GENERATORS = pytest.mark.filterwarnings(
    r"ignore:Async generator '(openai|httpx2|httpcore2)\.[^']*' was garbage collected:ResourceWarning"
)


CHROMIUM = os.environ.get("CONVERSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's Chromium, for the browser tests (``CONVERSE_CHROMIUM`` names another)."""


def cut_copies(log: Path, out: Path, count: int, seed: int) -> list[tuple[int, Path]]:
    """A finished run's log cut after ``count`` line counts chosen at random (``seed``), each
    copy in a run directory of its own under ``out``: (the line count, the directory)."""
    import random

    lines = log.read_bytes().splitlines(keepends=True)
    copies = []
    for at in sorted(random.Random(seed).sample(range(3, len(lines) - 1), count)):
        directory = out / f"cut{at}"
        directory.mkdir()
        (directory / "events.jsonl").write_bytes(b"".join(lines[:at]))
        copies.append((at, directory))
    return copies


async def resumed(directory: Path) -> Any:
    """``converse.resume_run`` of a run directory whose log may end in a torn line."""
    import warnings

    from converse import TornTailWarning, resume_run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TornTailWarning)
        return await resume_run(directory)


def need_browser() -> Any:
    """Playwright's ``sync_playwright``, once Chromium and Playwright are found; else the test
    skips, or fails if ``CONVERSE_REQUIRE_BROWSER`` is set (CI sets it)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if CHROMIUM is None or sync_playwright is None:
        missing = "Chromium" if CHROMIUM is None else "playwright"
        if os.environ.get("CONVERSE_REQUIRE_BROWSER"):
            pytest.fail(f"{missing} is not installed, and CONVERSE_REQUIRE_BROWSER is set")
        pytest.skip(f"{missing} is not installed")
    return sync_playwright


def rewrite_log(source: Path, target: Path, replacements: Mapping[str, str]) -> Path:
    """A copy of the log ``source`` at ``target`` in which every text of every event (model
    output, agent names, periods, the scenario's words) has each key of ``replacements``
    replaced by its value: a run that said, and was named, whatever the test needs."""

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):
            for old, new in replacements.items():
                value = value.replace(old, new)
            return value
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        if isinstance(value, dict):
            return {k: v if k in ("type", "run") else rewrite(v) for k, v in value.items()}
        return value

    lines = source.read_text(encoding="utf-8").splitlines()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "".join(json.dumps(rewrite(json.loads(line)), ensure_ascii=False) + "\n" for line in lines),
        encoding="utf-8",
    )
    return target


HOSTILE_NAME = "<script>window.__pwned = 1</script>"
HOSTILE_PERIOD = '<img src=x onerror="window.__pwned = 2">'
HOSTILE_TEXT = (
    '</details></div><iframe src="https://example.com/"></iframe><style>body { display: none }</style>'
)


def hostile_copy(log: Path, target: Path) -> Path:
    """A copy of a three-lab run's log (``OpenAI`` among its organisations, ``2024`` among its
    periods) at ``target``, in which OpenAI's name ends in ``HOSTILE_NAME`` (its members' names
    too), the period 2024 starts with ``HOSTILE_PERIOD`` and the first public statement with
    ``HOSTILE_TEXT``: markup meant to run a script, load an image or a frame, hide the page or
    close the elements around it."""
    first = next(
        json.loads(line)["text"]
        for line in log.read_text(encoding="utf-8").splitlines()
        if '"type":"utterance"' in line and '"conversation":["top"]' in line
    )
    # In this order: the statement is found before its organisation's name is changed in it.
    changes = {
        first: HOSTILE_TEXT + first,
        "OpenAI": f"OpenAI{HOSTILE_NAME}",
        "2024": f"{HOSTILE_PERIOD}2024",
    }
    return rewrite_log(log, target, changes)
