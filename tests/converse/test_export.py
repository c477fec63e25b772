"""``converse export`` and ``converse.load_sweep``: results out of real runs (the offline model,
through the command line as a user runs it): statements as JSON and CSV with exactly the log's
utterances, a sweep's with its dials and seeds, Markdown, a self-contained HTML page that a
hostile log cannot script, one error line for bad input, and tables with or without pandas."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import converse
from _helpers import (
    HOSTILE_NAME,
    HOSTILE_PERIOD,
    HOSTILE_TEXT,
    hostile_copy,
    one_error_line,
    run_cli,
    run_cli_ok,
)
from converse.events import CriticChoice, LLMCall, RunStarted, Utterance
from converse.export import STATEMENT_COLUMNS

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def council_run(base: Path) -> Path:
    """Three labs, each with a council of three, over two years."""
    out = run_cli_ok("run", "three-labs-councils", "--set", "clock.end=2024", "-q", "--out", "runs", cwd=base)
    return base / out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def sweep(base: Path) -> Path:
    """Councils on and off, two seeds each; ``model`` as a grid key too (a column of statements' own)."""
    run_cli_ok(
        "sweep",
        "three-labs-councils",
        "--grid",
        "councils=true,false",
        "--grid",
        "model=offline",
        "--repeats",
        "2",
        "--set",
        "clock.end=2023",
        "-q",
        "--out",
        "sweep",
        cwd=base,
    )
    return base / "sweep"


@pytest.fixture(scope="module")
def chat(base: Path) -> Path:
    """A CAMEL role-play with a critic choosing among candidates."""
    out = run_cli_ok(
        "run",
        "camel-trading-bot",
        "--set",
        "roleplay.max_messages=6",
        "--set",
        "roleplay.critic.kind=model",
        "-q",
        "--out",
        "chats",
        cwd=base,
    )
    return base / out.strip().splitlines()[-1]


def expected_rows(log: Path) -> list[dict[str, Any]]:
    """The rows the log's utterances make, found here without the exporter: the model and
    tokens of the speaker's last call in its conversation before it."""
    events = converse.read_events(log)
    last: dict[tuple[str, tuple[str, ...]], LLMCall] = {}
    rows = []
    for event in events:
        if isinstance(event, LLMCall):
            last[(event.actor, tuple(event.conversation))] = event
        elif isinstance(event, Utterance):
            path = tuple(event.conversation)
            call = last.pop((event.actor, path))
            rows.append(
                {
                    "run": event.run,
                    "period": event.period,
                    "organisation": path[1] if len(path) > 1 else event.actor,
                    "conversation": " / ".join(path),
                    "speaker": event.actor,
                    "model": call.model,
                    "text": event.text,
                    "prompt_tokens": call.usage.prompt_tokens,
                    "completion_tokens": call.usage.completion_tokens,
                    "seq": event.seq,
                }
            )
    return rows


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def as_csv_cells(row: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in row.items()}


# --- statements -------------------------------------------------------------------------------


def test_json_and_csv_hold_every_utterance_of_a_run_with_councils(council_run: Path, base: Path) -> None:
    expected = expected_rows(council_run / "events.jsonl")
    assert len(expected) > 30
    assert {row["conversation"] for row in expected} == {
        "top",
        "top / OpenAI",
        "top / Google DeepMind",
        "top / Anthropic",
    }
    assert json.loads(run_cli_ok("export", str(council_run), "--format", "json", cwd=base)) == expected

    run_cli_ok("export", str(council_run), "--format", "csv", "-o", "statements.csv", cwd=base)
    text = (base / "statements.csv").read_text(encoding="utf-8")
    assert (
        text.splitlines()[0]
        == "run,period,organisation,conversation,speaker,model,text,prompt_tokens,completion_tokens,seq"
    )
    assert read_csv(text) == [as_csv_cells(row) for row in expected]
    members = [r for r in expected if r["conversation"] == "top / OpenAI"]
    assert {r["organisation"] for r in members} == {"OpenAI"}
    assert {r["speaker"] for r in members} == {
        "OpenAI CEO",
        "OpenAI Head of Alignment",
        "OpenAI Head of Policy",
    }


def test_a_sweeps_rows_hold_every_run_with_its_dials_and_seed(sweep: Path, base: Path) -> None:
    runs = sorted(p.parent for p in sweep.glob("*/events.jsonl"))
    assert len(runs) == 4
    started = {run.name: converse.read_events(run / "events.jsonl")[0] for run in runs}
    rows = json.loads(run_cli_ok("export", str(sweep), "--format", "json", cwd=base))
    assert list(rows[0]) == [
        "run",
        "councils",
        "dial:model",
        "seed",
        "period",
        "organisation",
        "conversation",
        "speaker",
        "model",
        "text",
        "prompt_tokens",
        "completion_tokens",
        "seq",
    ]
    for run in runs:
        first = started[run.name]
        assert isinstance(first, RunStarted)
        mine = [r for r in rows if r["run"] == run.name]
        councils = "councils=true" in run.name
        assert {(r["councils"], r["dial:model"], r["seed"]) for r in mine} == {
            (councils, "offline", first.seed)
        }
        assert [{k: r[k] for k in STATEMENT_COLUMNS} for r in mine] == expected_rows(run / "events.jsonl")
        assert any("/" in r["conversation"] for r in mine) is councils  # debates only where councils meet
    assert len(rows) == sum(len(expected_rows(run / "events.jsonl")) for run in runs)

    table = read_csv(run_cli_ok("export", str(sweep), "--format", "csv", cwd=base))
    assert table == [as_csv_cells(r | {"councils": "true" if r["councils"] else "false"}) for r in rows]


def test_a_roleplays_rows_are_its_messages_spoken_by_their_roles(chat: Path, base: Path) -> None:
    events = converse.read_events(chat / "events.jsonl")
    said = [e for e in events if isinstance(e, Utterance)]
    rows = read_csv(run_cli_ok("export", str(chat), "--format", "csv", cwd=base))
    assert [r["text"] for r in rows] == [e.text for e in said]
    roles = {"user": "Stock Trader", "assistant": "Python Programmer"}
    assert [r["speaker"] for r in rows] == [roles[e.actor] for e in said]
    assert [r["organisation"] for r in rows] == [r["speaker"] for r in rows]
    # The tokens are those of the candidate the critic chose, not of the last one sampled.
    chosen = []
    candidates: list[LLMCall] = []
    for event in events:
        if isinstance(event, LLMCall) and event.purpose == "candidate":
            candidates.append(event)
        elif isinstance(event, CriticChoice):
            chosen.append(candidates[event.choice - 1])
            candidates = []
    assert len(chosen) == len(rows)
    assert [int(r["completion_tokens"]) for r in rows] == [c.usage.completion_tokens for c in chosen]


# --- Markdown and HTML ------------------------------------------------------------------------


def test_markdown_is_the_transcript_and_a_sweeps_holds_every_run(
    council_run: Path, sweep: Path, base: Path
) -> None:
    run_md = run_cli_ok("export", str(council_run), "--format", "markdown", cwd=base)
    assert run_md == (council_run / "transcript.md").read_text(encoding="utf-8")
    sweep_md = run_cli_ok("export", str(sweep), "--format", "markdown", cwd=base)
    assert sweep_md.startswith("# Sweep: three-labs-councils\n")
    for run in sweep.glob("*/transcript.md"):
        title, _, rest = run.read_text(encoding="utf-8").partition("\n\n")
        assert f"{title}\n\n- **Run:** {run.parent.name} (" in sweep_md
        assert rest in sweep_md


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def hostile(council_run: Path, base: Path) -> Path:
    """The council run, its organisation's name, a period and a statement made hostile."""
    return hostile_copy(council_run / "events.jsonl", base / "hostile" / "events.jsonl").parent


def test_the_html_page_is_self_contained_and_escapes_every_text(hostile: Path, base: Path) -> None:
    page = run_cli_ok("export", str(hostile), "--format", "html", cwd=base)
    parser = Tags()
    parser.feed(page)
    tags = [tag for tag, _ in parser.tags]
    assert not {"script", "img", "iframe", "link", "object", "embed", "base", "form"} & set(tags)
    assert tags.count("style") == 1
    assert ("meta", {"http-equiv": "Content-Security-Policy", "content": CSP}) in parser.tags
    assert not any(attrs.get("src") or attrs.get("onerror") for _, attrs in parser.tags)
    for text in (HOSTILE_NAME, HOSTILE_PERIOD, HOSTILE_TEXT):
        assert html.escape(text) in page
    debates = [attrs for tag, attrs in parser.tags if tag == "details" and attrs.get("class") == "debate"]
    assert len(debates) == 6  # three councils a year, folded
    assert not any("open" in attrs for attrs in debates)
    assert page.index("Summary and scores") < page.index('<section class="period"')  # the scores at the top


def test_a_sweeps_html_lists_its_runs_with_each_page_folded(sweep: Path, base: Path) -> None:
    page = run_cli_ok("export", str(sweep), "--format", "html", cwd=base)
    parser = Tags()
    parser.feed(page)
    folds = [attrs for tag, attrs in parser.tags if tag == "details" and attrs.get("class") == "run-fold"]
    assert len(folds) == 4
    assert not any("open" in attrs for attrs in folds)
    assert "script" not in {tag for tag, _ in parser.tags}
    for run in sweep.glob("*/events.jsonl"):
        assert f">{html.escape(run.parent.name)}</a>" in page


# --- bad input --------------------------------------------------------------------------------


def test_bad_input_is_one_line_and_exit_2(council_run: Path, sweep: Path, base: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk.txt").write_text("not a log\n", encoding="utf-8")
    os.link(council_run / "events.jsonl", tmp_path / "linked.jsonl")
    damaged = tmp_path / "damaged"
    shutil.copytree(sweep, damaged)
    victim = sorted(damaged.glob("*/events.jsonl"))[-1]
    with victim.open("a", encoding="utf-8") as log:
        log.write('{"type": "utterance", "hostile": true}\n')
    lines = victim.read_text(encoding="utf-8").count("\n")
    badsweep = tmp_path / "badsweep"
    badsweep.mkdir()
    (badsweep / "sweep.json").write_text('{"grid": "everything"}', encoding="utf-8")
    cases = {
        ("nope", "--format", "csv"): "nope: no such file or directory",
        ("empty", "--format", "json"): "empty: not a run (no events.jsonl) or a sweep (no sweep.json)",
        ("junk.txt", "--format", "html"): "junk.txt:1: not JSON",
        ("/dev/zero", "--format", "csv"): "/dev/zero: is a character device, not a log file",
        (str(council_run), "--format", "xml"): "argument --format: invalid choice: 'xml'",
        (
            str(council_run),
            "--format",
            "csv",
            "-o",
            str(council_run / "events.jsonl"),
        ): "is one of this run's own files",
        (
            str(council_run),
            "--format",
            "html",
            "-o",
            "linked.jsonl",
        ): "-o linked.jsonl is one of this run's own files",
        (str(sweep), "--format", "csv", "-o", str(sweep / "summary.csv")): "is one of this sweep's own files",
        ("damaged", "--format", "csv"): f"{victim.relative_to(tmp_path)}:{lines}: ",
        ("badsweep", "--format", "json"): "badsweep/sweep.json: not a sweep manifest",
    }
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")  # nobody writes to it: a reader that opened it would wait for ever
        cases[("fifo", "--format", "csv")] = "fifo: is a FIFO, not a log file"
    before = (council_run / "events.jsonl").read_bytes()
    for args, said in cases.items():
        done = run_cli("export", *args, cwd=tmp_path, timeout=20)
        assert done.returncode == 2, (args, done.stderr)
        line = one_error_line(done)
        assert line.startswith("converse: error: "), (args, line)
        assert said in line, (args, line)
        assert done.stdout == ""
    assert (council_run / "events.jsonl").read_bytes() == before
    assert (tmp_path / "linked.jsonl").read_bytes() == before


# --- load_sweep -------------------------------------------------------------------------------


def test_load_sweep_without_pandas_gives_lists_of_dicts_with_numbers(
    sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed
    tables = converse.load_sweep(sweep)
    assert tables.dials == ["councils", "model"]
    assert isinstance(tables.summary, list)
    assert len(tables.summary) == 4
    first = tables.summary[0]
    assert list(first)[:4] == ["run", "councils", "model", "seed"]
    assert isinstance(first["councils"], bool)
    assert isinstance(first["seed"], int)
    assert isinstance(first["prompt_tokens"], int)
    assert isinstance(first["capability_progress"], int | float)
    assert first["judged"] is True
    statements = tables.statements
    assert isinstance(statements, list)
    logs = sorted(sweep.glob("*/events.jsonl"))
    assert len(statements) == sum(len(expected_rows(log)) for log in logs)
    assert all(isinstance(row["completion_tokens"], int) for row in statements)


def test_load_sweep_with_pandas_gives_data_frames(sweep: Path) -> None:
    pandas = pytest.importorskip("pandas")
    tables = converse.load_sweep(sweep)
    assert isinstance(tables.summary, pandas.DataFrame)
    assert isinstance(tables.statements, pandas.DataFrame)
    assert len(tables.summary) == 4
    assert len(tables.statements) == sum(len(expected_rows(log)) for log in sweep.glob("*/events.jsonl"))
    assert tables.summary["prompt_tokens"].dtype.kind == "i"
    assert tables.statements.groupby("councils").size().to_dict().keys() == {True, False}


def test_load_sweep_of_what_is_not_a_sweep_says_so(council_run: Path) -> None:
    with pytest.raises(converse.SweepError, match="is a run, not a sweep"):
        converse.load_sweep(council_run)
