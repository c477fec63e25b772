"""What every command of the command line shares: its error lines, the scheduler's flags and
the scheduler they ask for, and how a finished run is reported."""

from __future__ import annotations

import argparse
import sys

from .._exceptions import SweepError
from ..engine._run import RunResult
from ..models._limits import Limits
from ..models._scheduler import Scheduler

__all__ = ["limit_flags", "one_line", "report_run", "scheduler_from_flags"]


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped: an error message
    quotes names from the user's files, and they may hold anything."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def report_run(result: RunResult) -> int:
    """Say how a run ended; print its directory last on stdout.

    Returns:
        The command's exit code: 0 if the run completed, else 1.
    """
    if result.estimated_tokens:  # once per run, even with --quiet: the counts are not the server's
        tokens = result.prompt_tokens + result.completion_tokens
        print(
            f"converse: warning: the model's server sent no token usage: {result.estimated_tokens:,} of "
            f"{tokens:,} tokens are our estimate (budgets and --tpm count them)",
            file=sys.stderr,
        )
    if result.truncated:
        calls = "answer was" if result.truncated == 1 else "answers were"
        print(
            f"converse: warning: {result.truncated} of {result.llm_calls} {calls} cut off at max_tokens "
            "(marked in the transcript; see converse audit)",
            file=sys.stderr,
        )
    if result.status == "completed" and result.judge_error is not None:
        print(
            f"converse: warning: the judge failed: {one_line(result.judge_error)}; the run has no scores",
            file=sys.stderr,
        )
    if result.status != "completed":
        print(f"converse: run {result.run} ended {result.status}: {one_line(result.reason)}", file=sys.stderr)
    print(result.directory)
    return 0 if result.status == "completed" else 1


def limit_flags(parser: argparse.ArgumentParser, calls: str, every: str = "") -> None:
    """Add the scheduler's flags: request and token budgets, and calls in flight.

    Args:
        parser: the command's parser.
        calls: the name of the flag for calls in flight (``--concurrency``, ``--calls``).
        every: what the limits are shared by, as a phrase for the help text.
    """
    parser.add_argument("--rpm", type=float, help=f"requests per minute allowed to the model's server{every}")
    parser.add_argument("--tpm", type=float, help=f"tokens per minute allowed to the model's server{every}")
    parser.add_argument(
        calls, dest="calls", type=int, help=f"model calls in flight at once{every} (default 64; offline: no limit)"
    )


def scheduler_from_flags(rpm: float | None, tpm: float | None, calls: int | None, flag: str) -> Scheduler | None:
    """A scheduler with the limits given on the command line, or None for the default one.

    Raises:
        SweepError: a limit is out of range (``flag`` names the calls-in-flight flag).
    """
    if rpm is None and tpm is None and calls is None:
        return None
    try:
        limits = Limits(rpm=rpm, tpm=tpm, max_concurrency=calls or Limits().max_concurrency, timeout=None)
    except ValueError as exc:
        raise SweepError(f"--rpm/--tpm/{flag}", str(exc)) from None
    return Scheduler(limits)
