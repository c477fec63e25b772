"""A person at the table: the answers of one agent typed at the terminal (``--human``).

The person is shown what the agent's model would be shown (who they are, once; then each
turn's message: the period, what was said since their last turn, their council's debate)
and types a statement of any number of lines, ended by a line holding only ``.`` or by
end of input. People answer one at a time, however many councils deliberate at once.

An empty statement is asked for again; after ``ASKS`` empty ones, or at the end of input
(Ctrl-D on an empty statement, stdin closed), the agent's model speaks for them that turn,
as the CAMEL critic's person falls back to a choice of its own; after the end of input
nobody is asked again. An answer is recorded like a model's, so a resumed or replayed run
never asks for it twice.
"""

from __future__ import annotations

import contextlib
import sys
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import anyio.from_thread
import anyio.lowlevel

from .._exceptions import CallFailed
from ..log._events import Usage
from ._model import CompletionRequest, CompletionResponse, Model

__all__ = ["ASKS", "PERSON", "Person", "Terminal"]

PERSON = "human"  # the model spec a person's answers are recorded with
ASKS = 3  # empty statements before the model speaks for the person
_RULE = "─" * 72


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(slots=True)
class Terminal:
    """Where people are asked: one reader, one writer, one person at a time.

    Args:
        read_line: reads one line with its newline; ``""`` at the end of input
            (``sys.stdin.readline`` by default).
        write: shows text (stderr by default, so that stdout keeps what commands print).
    """

    read_line: Callable[[], str] = field(default_factory=lambda: sys.stdin.readline)
    write: Callable[[str], None] = _stderr
    closed: bool = False  # the end of input was reached: nobody is asked again
    introduced: set[str] = field(default_factory=set)  # agents whose brief was shown
    _lock: anyio.Lock | None = None

    @property
    def lock(self) -> anyio.Lock:
        if self._lock is None:
            self._lock = anyio.Lock()
        return self._lock

    def read_statement(self) -> tuple[str, bool]:
        """Lines up to one holding only ``.``; the text, and whether the input ended."""
        lines: list[str] = []
        while True:
            line = self.read_line()
            if not line:
                return "\n".join(lines).strip(), True
            line = line.rstrip("\r\n")
            if line.strip() == ".":
                return "\n".join(lines).strip(), False
            lines.append(line)


async def _off_the_loop(read: Callable[[], tuple[str, bool]]) -> tuple[str, bool]:
    """``read()`` in a daemon thread of its own: a run stopped (Ctrl-C) while a person is
    typing ends at once, and the process exits without waiting for the line being typed
    (an event loop's worker thread would hold the exit until it came)."""
    token = anyio.lowlevel.current_token()
    done = anyio.Event()
    got: list[tuple[str, bool] | BaseException] = []

    def work() -> None:
        try:
            got.append(read())
        except BaseException as exc:  # handed to the awaiting task
            got.append(exc)
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            anyio.from_thread.run_sync(done.set, token=token)

    threading.Thread(target=work, name="converse person", daemon=True).start()
    await done.wait()
    if isinstance(got[0], BaseException):
        raise got[0]
    return got[0]


class Person:
    """One agent played by a person at ``terminal``; ``fallback`` speaks for them when they
    give no answer.

    Args:
        agent: the agent's name.
        terminal: where they are asked (shared by every person of the process).
        fallback: the agent's model, which answers a turn the person leaves empty.
    """

    spec = PERSON

    def __init__(self, agent: str, terminal: Terminal, fallback: Model) -> None:
        self.agent = agent
        self.terminal = terminal
        self.fallback = fallback

    async def answer(self, request: CompletionRequest) -> tuple[str | None, str]:
        """The person's statement for ``request``, or None and why there is none."""
        terminal = self.terminal
        async with terminal.lock:
            if terminal.closed:
                return None, "the input had ended"
            for ask in range(1, ASKS + 1):
                if ask == 1:
                    self._show(request)
                else:
                    terminal.write(f"(An empty statement. Type {self.agent}'s statement, then a line with only \".\".)")
                text, ended = await _off_the_loop(terminal.read_statement)
                if text:
                    terminal.write(f"── recorded as {self.agent}'s statement ──")
                    return text, ""
                if ended:
                    terminal.closed = True
                    terminal.write(f"── end of input: {self.fallback.spec} speaks for everyone played here ──")
                    return None, "the input ended"
            terminal.write(f"── no statement: {self.fallback.spec} speaks for {self.agent} this turn ──")
            return None, f"{ASKS} empty statements"

    def _show(self, request: CompletionRequest) -> None:
        write, hints = self.terminal.write, request.hints
        where = f" · {hints.period}" if hints.period else ""
        write(f"\n{_RULE}\n{self.agent}{where}: your turn\n{_RULE}")
        if self.agent not in self.terminal.introduced and request.messages[0].role == "system":
            self.terminal.introduced.add(self.agent)
            write("Your brief (what the agent's model is told once):")
            write(textwrap.indent(request.messages[0].content, "  "))
            write(_RULE)
        write(request.messages[-1].content)
        write(f"{_RULE}\nType {self.agent}'s statement; end it with a line holding only \".\" (or Ctrl-D).")

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """A ``Model``'s answer: the person's statement (the engine asks ``answer`` itself, to
        fall back on the agent's model; this serves any other caller)."""
        text, why = await self.answer(request)
        if text is None:
            raise CallFailed(f"{self.agent}: no statement from the person at the terminal ({why})", retryable=False)
        return CompletionResponse(text=text, usage=Usage(), model=PERSON)
