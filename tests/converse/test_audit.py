"""``converse audit``: every shipped scenario's log keeps the fidelity rules, a log broken
on purpose is reported at the right call under the right rule, and bad input gets one line."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import msgspec
import pytest

import converse
from _helpers import ROOT, SCENARIOS, run_cli
from converse.audit import audit_run
from converse.events import AnyEvent, ChatMessage, LLMCall, TurnGranted, Utterance
from converse.scenario import Agent

CLI_SCENARIOS = {
    "three-labs-councils",
    "nested-councils",
    "camel-trading-bot",
}  # the rest: through the library
SEQ_LINE = re.compile(r"^seq (\d+)  (.+?)  ([a-z-]+): ")


def run(scenario: str | Path, out: Path, overrides: tuple[str, ...] = ()) -> Path:
    """Run a scenario offline (seed 0); returns its run directory."""

    async def go() -> converse.RunResult:
        return await converse.run_scenario(scenario, out=out, seed=0, model="offline", overrides=overrides)

    result = anyio.run(go)
    assert result.status == "completed", result.reason
    return result.directory


def agent_names(path: Path) -> set[str]:
    """Everyone in a scenario who speaks: its agents and their council members, or a role-play's two sides."""
    scenario = converse.load_scenario(path)
    if scenario.roleplay is not None:
        return {"user", "assistant"}
    names: set[str] = set()
    todo: list[Agent] = list(scenario.agents)
    while todo:
        agent = todo.pop()
        names.add(agent.name)
        if agent.council is not None:
            todo.extend(agent.council.members)
    return names


def table_rows(stdout: str) -> list[str]:
    """The actor names of the report's table, in order."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("agent  "))
    rows = []
    for line in lines[start + 1 :]:
        if not line:
            break
        rows.append(re.split(r"\s{2,}", line)[0])
    return rows


def violations(stdout: str) -> list[tuple[int, str, str]]:
    """(seq, actor, rule) of each violation line."""
    return [(int(m[1]), m[2], m[3]) for m in map(SEQ_LINE.match, stdout.splitlines()) if m]


def calls_in(events: list[AnyEvent]) -> int:
    return sum(isinstance(e, LLMCall) for e in events)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every shipped scenario, run once (in this process), by name."""
    out = tmp_path_factory.mktemp("shipped")
    return {path.stem: run(path, out) for path in SCENARIOS}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_shipped_scenario_audits_clean(path: Path, shipped: dict[str, Path], tmp_path: Path) -> None:
    directory = shipped[path.stem]
    events = converse.read_events(directory / "events.jsonl")
    speakers = agent_names(path)
    if path.stem not in CLI_SCENARIOS:
        report = audit_run(events)
        assert report.violations == []
        assert speakers <= {a.actor for a in report.agents}
        assert report.calls == calls_in(events)
        return
    done = run_cli("audit", str(directory), cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    rows = table_rows(done.stdout)
    assert speakers <= set(rows)
    assert len(rows) == len(set(rows))  # one row per actor
    assert violations(done.stdout) == []
    assert done.stdout.splitlines()[-1] == f"{calls_in(events):,} calls, no violations"


def test_the_report_says_what_was_checked(shipped: dict[str, Path], tmp_path: Path) -> None:
    done = run_cli("audit", str(shipped["three-labs-councils"] / "events.jsonl"), cwd=tmp_path, timeout=300)
    lines = done.stdout.splitlines()
    assert "rules: period, heard, private, debate-once, duplicate, empty, truncated, window" in lines
    assert "window: unknown, not checked" in lines  # the offline model has no window
    header = next(line for line in lines if line.startswith("agent  "))
    assert re.split(r"\s{2,}", header) == ["agent", "calls", "prompt tokens min / median / max", "violations"]
    # Members first called the model (their council met before the first statement), then the
    # organisations, then the judge.
    rows = table_rows(done.stdout)
    assert rows[-1] == "judge"
    assert rows.index("OpenAI CEO") < rows.index("OpenAI")


def test_a_roleplay_log_audits_clean(shipped: dict[str, Path], tmp_path: Path) -> None:
    done = run_cli("audit", str(shipped["camel-trading-bot"]), cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "rules: heard, duplicate, empty, truncated, window" in lines
    assert "window: 4,096 tokens (roleplay.token_limit; prompt only)" in lines
    assert table_rows(done.stdout) == ["task specifier", "user", "assistant"]


@pytest.mark.parametrize(
    "overrides",
    [
        ("roleplay.kickoff=echo",),  # the rules, shown again as the first message
        ("roleplay.critic.kind=model", "roleplay.planner.enabled=true"),
        ("roleplay.token_limit=2000",),  # ends when a prompt would reach the limit
    ],
    ids=["echo", "critic", "token-limit"],
)
def test_roleplay_variants_audit_clean(overrides: tuple[str, ...], tmp_path: Path) -> None:
    events = converse.read_events(run("camel-trading-bot", tmp_path, overrides) / "events.jsonl")
    report = audit_run(events)
    assert report.violations == []
    assert report.window.tokens == (2000 if "roleplay.token_limit=2000" in overrides else 4096)


def test_a_roleplay_turn_that_misses_the_last_message_is_reported(shipped: dict[str, Path]) -> None:
    events = converse.read_events(shipped["camel-trading-bot"] / "events.jsonl")
    call = [e for e in events if isinstance(e, LLMCall) and e.purpose == "solution"][3]
    last = call.messages[-1]
    changed = [*call.messages[:-1], ChatMessage(role="user", content=last.content + " (and something else)")]
    broken = [msgspec.structs.replace(e, messages=changed) if e is call else e for e in events]
    found = audit_run(broken).violations
    assert [(v.seq, v.actor, v.rule) for v in found] == [(call.seq, "assistant", "heard")]


# -- logs broken on purpose ---------------------------------------------------------------


@pytest.fixture(scope="module")
def council(tmp_path_factory: pytest.TempPathFactory) -> list[AnyEvent]:
    """A short council run's events: two years of three labs and their councils."""
    out = tmp_path_factory.mktemp("council")
    return converse.read_events(run("three-labs-councils", out, ("clock.end=2024",)) / "events.jsonl")


def rewrite(events: list[AnyEvent], call: LLMCall, messages: list[ChatMessage], directory: Path) -> Path:
    """The log with ``call``'s (recorded) messages replaced, written to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        msgspec.json.encode(msgspec.structs.replace(e, messages=messages) if e is call else e) for e in events
    ]
    (directory / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return directory


def statement(events: list[AnyEvent], actor: str, period: str) -> tuple[TurnGranted, LLMCall]:
    grant = next(
        e
        for e in events
        if isinstance(e, TurnGranted)
        and e.conversation == ("top",)
        and e.actor == actor
        and e.period == period
    )
    call = next(e for e in events if isinstance(e, LLMCall) and e.seq > grant.seq and e.actor == actor)
    return grant, call


def with_last(call: LLMCall, change: Callable[[str], str]) -> list[ChatMessage]:
    """The call's messages with its last one (the turn's own message) changed."""
    *rest, last = call.messages
    return [*rest, ChatMessage(role=last.role, content=change(last.content))]


def said_in(events: list[AnyEvent], *path: str) -> list[Utterance]:
    """The utterances of the conversation ``path``, in log order."""
    return [e for e in events if isinstance(e, Utterance) and e.conversation == path]


def audited_with_line(events: list[AnyEvent], call: LLMCall, said: Utterance, directory: Path) -> list[tuple[int, str, str]]:
    """What the audit finds in the run once ``call``'s last message also shows ``said`` as a
    debate line (``Name: text``)."""
    changed = with_last(call, lambda content: f"{content}\n\n{said.actor}: {said.text}")
    found, _ = audited(rewrite(events, call, changed, directory))
    return found


def audited(directory: Path, *flags: str) -> tuple[list[tuple[int, str, str]], str]:
    done = run_cli("audit", str(directory), *flags, cwd=directory, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr == ""
    return violations(done.stdout), done.stdout.splitlines()[-1]


def test_a_turn_that_does_not_state_its_period_is_reported(council: list[AnyEvent], tmp_path: Path) -> None:
    # A statement whose prompt quotes nothing (last year's reports, its council's debate) that
    # names its period: without the template's mentions, its prompt never states the period.
    def quoted(call: LLMCall) -> list[str]:
        return [e.text for e in council if isinstance(e, Utterance) and e.seq < call.seq and e.text]

    grants = [e for e in council if isinstance(e, TurnGranted) and e.conversation == ("top",)]
    grant, call = next(
        (grant, call)
        for grant, call in (statement(council, g.actor, g.period) for g in grants)
        if not any(grant.period in text for text in quoted(call) if text in call.messages[-1].content)
    )
    heard = quoted(call)

    def drop_period(content: str) -> str:  # everywhere but in what the agent heard, quoted
        for i, text in enumerate(heard):
            content = content.replace(text, f"\0{i}\0")
        content = content.replace(grant.period, "this year")
        for i, text in enumerate(heard):
            content = content.replace(f"\0{i}\0", text)
        return content

    found, verdict = audited(rewrite(council, call, with_last(call, drop_period), tmp_path / "run"))
    assert found == [(call.seq, call.actor, "period")]
    assert verdict == f"{calls_in(council):,} calls, 1 violation"


def test_a_statement_the_agent_did_not_hear_is_reported(council: list[AnyEvent], tmp_path: Path) -> None:
    _, call = statement(council, "Google DeepMind", "2024")
    missed = next(
        e
        for e in council
        if isinstance(e, Utterance)
        and e.conversation == ("top",)
        and e.actor == "OpenAI"
        and e.period == "2024"
    )
    changed = with_last(call, lambda content: content.replace(missed.text, "(nothing)"))
    found, _ = audited(rewrite(council, call, changed, tmp_path / "run"))
    assert found == [(call.seq, "Google DeepMind", "heard")]


def test_another_organisations_debate_line_is_reported_where_it_leaked(
    council: list[AnyEvent], tmp_path: Path
) -> None:
    # Leaked into Google DeepMind's first statement, which its second prompt still holds:
    # reported once, at the call that introduced it.
    _, call = statement(council, "Google DeepMind", "2023")
    secret = next(e for e in said_in(council, "top", "Anthropic") if e.seq < call.seq)
    assert audited_with_line(council, call, secret, tmp_path / "run") == [(call.seq, "Google DeepMind", "private")]


def test_a_repeated_message_is_reported_where_it_was_repeated(
    council: list[AnyEvent], tmp_path: Path
) -> None:
    # A council member's second line: its prompt adds its first answer and the new turn.
    call = next(e for e in council if isinstance(e, LLMCall) and e.purpose == "line" and len(e.messages) == 2)
    answer, turn = call.messages
    found, _ = audited(rewrite(council, call, [answer, answer, turn], tmp_path / "run"))
    assert found == [(call.seq, call.actor, "duplicate")]


def test_a_debate_line_shown_twice_is_reported(council: list[AnyEvent], tmp_path: Path) -> None:
    _, call = statement(council, "OpenAI", "2024")
    line = next(e for e in said_in(council, "top", "OpenAI") if e.period == "2024")
    assert line.text in call.messages[-1].content
    assert audited_with_line(council, call, line, tmp_path / "run") == [(call.seq, "OpenAI", "debate-once")]


def test_words_a_member_said_in_an_earlier_session_too_are_no_violation(
    council: list[AnyEvent], tmp_path: Path
) -> None:
    # A model may say the very same sentence in two periods: the organisation's statement
    # then shows it in this year's debate and, in its history, in last year's. Not a debate
    # shown twice.
    member = "OpenAI CEO"
    said = [e for e in said_in(council, "top", "OpenAI") if e.actor == member]
    before = next(u for u in said if u.period == "2023")
    again = next(u for u in said if u.period == "2024")
    old, new = (msgspec.json.encode(u.text)[1:-1] for u in (before, again))
    directory = tmp_path / "run"
    directory.mkdir()
    lines = [msgspec.json.encode(e).replace(old, new) for e in council]
    (directory / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    events = converse.read_events(directory / "events.jsonl")
    _, call = statement(events, "OpenAI", "2024")
    whole = "\n".join(m.content for m in converse.events.prompts_of(events)[call.call])
    assert whole.count(again.text) == 2  # last year's debate in its history, this year's in its turn
    assert audit_run(events).violations == []
    # Shown a third time, it is a debate shown twice.
    assert audited_with_line(events, call, again, tmp_path / "twice") == [(call.seq, "OpenAI", "debate-once")]


def test_calls_over_the_window_are_reported(shipped: dict[str, Path], tmp_path: Path) -> None:
    directory = shipped["three-labs-councils"]
    events = converse.read_events(directory / "events.jsonl")
    done = run_cli("audit", str(directory), "--window", "50", cwd=tmp_path, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "window: 50 tokens (--window; prompt + max_tokens)" in done.stdout.splitlines()
    found = violations(done.stdout)
    calls = [e for e in events if isinstance(e, LLMCall)]
    assert found == [(c.seq, c.actor, "window") for c in calls]  # every call, the judge's too
    assert done.stdout.splitlines()[-1] == f"{len(calls):,} calls, {len(calls):,} violations"


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "not-a-log", "bad-window"])
def test_bad_input_gets_one_line_and_exit_2(kind: str, shipped: dict[str, Path], tmp_path: Path) -> None:
    args = {
        "missing": ["nowhere/events.jsonl"],
        "not-a-log": [str(ROOT / "scenarios" / "three-labs.toml")],
        "bad-window": [str(shipped["three-labs"]), "--window", "0"],
    }[kind]
    done = run_cli("audit", *args, cwd=tmp_path, timeout=300)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("converse: error: ")
    assert "Traceback" not in done.stderr
    if kind != "bad-window":
        assert args[0] in done.stderr  # names the file


# -- speed --------------------------------------------------------------------------------


def test_a_long_log_audits_in_seconds(tmp_path: Path) -> None:
    # 70 years of three councils, each prompt held to 8,000 tokens by summaries: ~1,750 calls.
    overrides = ("clock.end=2092", "memory.policy=summary", "memory.tokens=8000")
    events = converse.read_events(run("three-labs-councils", tmp_path, overrides) / "events.jsonl")
    started = time.perf_counter()
    report = audit_run(events)
    elapsed = time.perf_counter() - started
    assert report.violations == []
    assert report.calls >= 1_500
    assert max(a.prompt_max for a in report.agents if a.actor != "judge") >= 7_000
    assert elapsed < 5, f"{report.calls} calls audited in {elapsed:.1f}s"
