"""``converse audit``: a run's log read, audited (``converse.audit._audit``) and shown as a table.

The report says which rules were checked and against what window, then one row per actor
(in the order each first called the model): its calls, the smallest, median and largest
prompt in tokens, and how many rules its calls broke; then one line per violation, and a
verdict.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import msgspec

from .._exceptions import ConverseError, LogError
from ..log._events import AnyEvent
from ..log._log import read_events
from ._audit import Violation, Window, check_events

__all__ = ["AgentStats", "AuditReport", "audit_file", "audit_run", "format_report"]


class AgentStats(msgspec.Struct, frozen=True, kw_only=True):
    """One actor's calls: how many, the size of their prompts in tokens, the rules they broke."""

    actor: str
    calls: int
    prompt_min: int
    prompt_median: float
    prompt_max: int
    violations: int


class AuditReport(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an audit found: per-actor statistics (in the order each actor first
    called the model) and the violations (by seq)."""

    run: str
    scenario: str
    model: str
    roleplay: bool
    rules: tuple[str, ...]
    window: Window
    calls: int
    agents: list[AgentStats]
    violations: list[Violation]


def audit_run(events: Sequence[AnyEvent], window: int | None = None) -> AuditReport:
    """Audit every model call of a run (the rules: ``converse.audit._audit``).

    Args:
        events: the run's log, as ``read_events`` returns it.
        window: the context window to hold calls to; by default the model's, if known.

    Raises:
        ValueError: a call shares a prefix with a call that is not in ``events``.
    """
    checked = check_events(events, window)
    tokens: dict[str, list[int]] = {}
    for actor, prompt in checked.calls:
        tokens.setdefault(actor, []).append(prompt)
    broken = Counter(v.actor for v in checked.violations)
    agents = [
        AgentStats(
            actor=actor,
            calls=len(sizes),
            prompt_min=min(sizes),
            prompt_median=statistics.median(sizes),
            prompt_max=max(sizes),
            violations=broken[actor],
        )
        for actor, sizes in tokens.items()
    ]
    started = checked.started
    return AuditReport(
        run=started.run if started is not None else "",
        scenario=started.scenario_name if started is not None else "",
        model=started.model if started is not None else "",
        roleplay=checked.roleplay,
        rules=checked.rules,
        window=checked.window,
        calls=len(checked.calls),
        agents=agents,
        violations=checked.violations,
    )


def audit_file(path: str | os.PathLike[str], window: int | None = None) -> tuple[Path, AuditReport]:
    """Read and audit the log at ``path`` (an ``events.jsonl`` or its run directory).

    Returns:
        The log file read, and what the audit found.

    Raises:
        LogError: the file is not a readable log (naming it).
        ConverseError: ``window`` is not a positive number of tokens.
    """
    if window is not None and window < 1:
        raise ConverseError(f"--window: must be at least 1 token, not {window}")
    file = Path(path)
    if file.is_dir():
        file = file / "events.jsonl"
    events = read_events(file)
    try:
        return file, audit_run(events, window=window)
    except ValueError as exc:  # a call shares the prompt of a call the log does not hold
        raise LogError(str(file), 0, str(exc)) from None


def format_report(report: AuditReport, source: str | os.PathLike[str] = "") -> str:
    """The audit as the command prints it (ends with a newline)."""
    lines = []
    where = f"{os.fspath(source)}: " if source else ""
    kind = "role-play" if report.roleplay else "agents"
    lines.append(f"{where}run {report.run} ({report.scenario}, model {report.model}, {kind})")
    lines.append(f"rules: {', '.join(report.rules)}")
    lines.extend(_window_lines(report))
    lines.append("")
    lines.extend(_table(report))
    lines.append("")
    lines.extend(f"seq {v.seq}  {v.actor}  {v.rule}: {v.detail}" for v in report.violations)
    lines.append(_verdict(report))
    return "".join(_printable(line) + "\n" for line in lines)


# How to give a run's model a window when neither its name nor its server says it.
WINDOW_HINT = (
    "  the model's context window was unknown (its name is not a known one and its server did not "
    "report one): set it in the scenario with [model] context_window = N, or run with "
    "--set model.context_window=N; audit an old run with --window N"
)


def _window_lines(report: AuditReport) -> list[str]:
    window = report.window
    if window.tokens is None:
        return ["window: unknown, not checked", WINDOW_HINT]
    counted = "prompt + max_tokens" if window.answer else "prompt only"
    return [f"window: {window.tokens:,} tokens ({window.source}; {counted})"]


def _table(report: AuditReport) -> list[str]:
    header = ("agent", "calls", "prompt tokens min / median / max", "violations")
    rows = [
        (
            a.actor,
            f"{a.calls:,}",
            f"{a.prompt_min:,} / {a.prompt_median:,.0f} / {a.prompt_max:,}",
            f"{a.violations:,}",
        )
        for a in report.agents
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}".rstrip()
        for row in (header, *rows)
    ]


def _verdict(report: AuditReport) -> str:
    calls = f"{report.calls:,} call{'' if report.calls == 1 else 's'}"
    found = len(report.violations)
    if not found:
        return f"{calls}, no violations"
    return f"{calls}, {found:,} violation{'' if found == 1 else 's'}"


def _printable(text: str) -> str:
    """``text`` with control characters escaped: names and periods come from the log."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
