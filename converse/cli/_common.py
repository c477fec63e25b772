"""What every command of the command line shares: its parser and error lines, the scheduler's
flags and the scheduler they ask for, how a finished run is reported, and how an interrupted one is.

One meaning per flag, in every command: ``--concurrency`` is runs (or chats) at once, ``--calls``
model calls in flight; ``-v`` and ``-q`` go before or after the command's name.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn

import actors

from .._exceptions import SweepError
from ..engine._run import RunResult
from ..log._events import Event, RunFinished, RunStarted
from ..models._limits import Limits
from ..models._scheduler import Scheduler

__all__ = [
    "ERROR",
    "Interruption",
    "Parser",
    "RunWatch",
    "interruptible",
    "limit_flags",
    "one_line",
    "report_interrupted",
    "report_run",
    "run_interruptibly",
    "scheduler_from_flags",
]

ERROR = "converse: error:"
"""How every error line starts, whichever part of the command line finds the error."""


class Parser(argparse.ArgumentParser):
    """An ``argparse`` parser whose errors are one line starting as every other error does,
    and which takes ``-v`` and ``-q`` wherever they are written: every command's parser is
    one of these (``add_subparsers`` makes its parsers of its parent's class)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        # A command that declares -q itself (with its own help) replaces the shared one.
        kwargs.setdefault("conflict_handler", "resolve")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # SUPPRESS: the command's parser leaves unset what was not written after the command,
        # so a -v written before it still counts (a default would overwrite it).
        self.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log debugging detail to stderr"
        )
        self.add_argument(
            "-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
            help="no progress: only results, warnings and errors",
        )
        # The innermost command's parser sets it last: whose --help an error points to.
        self.set_defaults(help_for=self.prog)

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one error line (the usage is what ``--help`` is for); exit 2."""
        self.fail(message, self.prog)

    def fail(self, message: str, prog: str) -> NoReturn:
        """Exit 2 with ``message`` as one error line that points to ``prog --help``."""
        self.exit(2, f"{ERROR} {one_line(message)} (see {prog} --help)\n")


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


def limit_flags(parser: argparse.ArgumentParser, every: str = "", *, old_concurrency: bool = False) -> None:
    """Add the scheduler's flags: request and token budgets, and ``--calls``, the model calls in flight.

    Args:
        parser: the command's parser.
        every: what the limits are shared by, as a phrase for the help text.
        old_concurrency: also take ``--concurrency N`` for ``--calls N``, with a warning: the
            spelling of the commands that make one run until ``--concurrency`` came to mean
            runs at once everywhere (kept for one release; not in ``--help``).
    """
    parser.add_argument("--rpm", type=float, help=f"requests per minute allowed to the model's server{every}")
    parser.add_argument("--tpm", type=float, help=f"tokens per minute allowed to the model's server{every}")
    parser.add_argument(
        "--calls", type=int, metavar="N",
        help=f"model calls in flight at once{every} (default 64; offline: no limit)",
    )
    if old_concurrency:
        parser.add_argument("--concurrency", dest="old_calls", type=int, help=argparse.SUPPRESS)


def scheduler_from_flags(args: argparse.Namespace) -> Scheduler | None:
    """A scheduler with the limits given on the command line (``limit_flags``), or None for
    the default one. The old ``--concurrency`` of a one-run command is taken for ``--calls``,
    with a warning saying what to write instead.

    Raises:
        SweepError: a limit is out of range, or both spellings of calls in flight were given.
    """
    calls: int | None = args.calls
    flag = "--calls"
    old: int | None = getattr(args, "old_calls", None)
    if old is not None:
        if calls is not None:
            raise SweepError("--concurrency", "here is the old spelling of --calls; give --calls only")
        print(
            f"converse: warning: --concurrency for model calls in flight is deprecated: write --calls {old} "
            "(--concurrency means runs at once, as in converse sweep)",
            file=sys.stderr,
        )
        calls, flag = old, "--concurrency"
    if args.rpm is None and args.tpm is None and calls is None:
        return None
    try:
        limits = Limits(
            rpm=args.rpm, tpm=args.tpm, max_concurrency=Limits().max_concurrency if calls is None else calls,
            timeout=None,
        )
    except ValueError as exc:
        raise SweepError(f"--rpm/--tpm/{flag}", str(exc)) from None
    return Scheduler(limits)


class RunWatch:
    """An observer that passes every event of a run on to ``then`` (a progress printer, or
    None) and keeps where the run is and how it ended: a command whose run was interrupted
    still knows which run it was.

    Args:
        then: called with every event.
        out: the directory a new run's directory is made in (named for the run, once started).
        directory: the directory of a run that already has one (a resumed run).
    """

    def __init__(
        self, then: Callable[[Event], None] | None, *, out: Path | None = None, directory: Path | None = None
    ) -> None:
        self.then = then
        self.out = out
        self.directory = directory
        self.finished: RunFinished | None = None

    def __call__(self, event: Event) -> None:
        if type(event) is RunStarted and self.out is not None:
            self.directory = self.out / event.run
        elif type(event) is RunFinished:
            self.finished = event
        if self.then is not None:
            self.then(event)


def run_interruptibly(running: Callable[[], Awaitable[RunResult]], watch: RunWatch) -> RunResult | int:
    """``running()``'s result, or, if Ctrl-C or SIGTERM stopped it, the exit code of a
    command whose run was interrupted, once ``report_interrupted`` has said so (``watch`` is
    the run's observer)."""
    with interruptible() as seen:
        try:
            return actors.run(running)
        except KeyboardInterrupt:
            return report_interrupted(watch.directory, watch.finished, seen)


class Interruption:
    """What stopped a command: Ctrl-C (SIGINT), or SIGTERM taken as if it were one."""

    def __init__(self) -> None:
        self.signal = signal.SIGINT

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process ended by it: 130, or 143."""
        return 128 + int(self.signal)

    @property
    def by(self) -> str:
        """What an interrupted command's line adds for SIGTERM (`` (SIGTERM)``); nothing for Ctrl-C."""
        return " (SIGTERM)" if self.signal == signal.SIGTERM else ""


@contextmanager
def interruptible() -> Iterator[Interruption]:
    """Within it, SIGTERM stops the command as Ctrl-C does: a run in progress ends
    ``cancelled`` with its log and transcript whole, and the command goes on to say so
    (a KeyboardInterrupt comes out of ``actors.run`` for either). The ``Interruption`` says
    which of the two it was."""
    seen = Interruption()
    if threading.current_thread() is not threading.main_thread():  # only the main thread has handlers
        yield seen
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        seen.signal = signal.SIGTERM
        on_ctrl_c = signal.getsignal(signal.SIGINT)
        if callable(on_ctrl_c):
            on_ctrl_c(signal.SIGINT, frame)  # asyncio's own cancels the run's task, as Ctrl-C does
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    # A process started with Ctrl-C ignored (a script's background job) gets no Ctrl-C handler
    # from asyncio, and a KeyboardInterrupt raised in the middle of its event loop hangs it:
    # for the command's length, Ctrl-C is Python's own again, so that SIGTERM has one to stand for.
    ctrl_c = signal.getsignal(signal.SIGINT)
    if not callable(ctrl_c):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGTERM, previous)
        if not callable(ctrl_c):
            signal.signal(signal.SIGINT, ctrl_c)


def report_interrupted(directory: Path | None, finished: RunFinished | None, seen: Interruption) -> int:
    """Say that a run was interrupted and how to go on with it; print its directory last on
    stdout, as a finished run's command does (None: it was stopped before it had one).

    Returns:
        The command's exit code: 130 for Ctrl-C, 143 for SIGTERM.
    """
    by = seen.by
    if directory is None:
        print(f"converse: interrupted{by} before the run started", file=sys.stderr)
        return seen.exit_code
    status, reason = ("cancelled", "interrupted") if finished is None else (finished.status, finished.reason)
    print(f"converse: run {directory.name} ended {status}: {one_line(reason)}{by}", file=sys.stderr)
    if status in ("cancelled", "failed"):
        print(f"resume with: converse resume {shlex.quote(str(directory))}", file=sys.stderr)
    print(directory)
    return seen.exit_code
