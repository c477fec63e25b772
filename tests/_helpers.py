"""What the test files share: the repository's paths and the ``converse`` command run as a user
runs it. pytest puts this directory on ``sys.path`` (``pythonpath`` in pyproject.toml), so a
test file says ``from _helpers import ROOT, run_cli``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

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


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed on stderr (no traceback, nothing else)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


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
