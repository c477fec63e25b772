"""A judge that fails is never silent (issue 17, finding 3): ``converse run`` warns, a sweep's
``summary.csv`` says which runs were scored and why not, its report says "scored k of n" per
cell with the reasons, the viewer shows it; and the judge's ``max_tokens`` is a scenario key."""

from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

import converse
from _helpers import ROOT, cli_env, run_cli
from converse import ScenarioError
from converse.events import RunError
from converse.sweeps._report import write_report
from converse.sweeps._summary_csv import SweepRow, read_summary_csv, write_summary_csv
from converse.sweeps._sweep import read_run
from converse.testing import ModelServer, events_of, run_and_read
from converse.web._catalog import Catalog
from converse.web._runview import RunView

SHORT = ["clock.end=2025"]

# Fails on the runs of seed 1, and on every run where regulation is strict.
JUDGES = """
from converse.events import RunStarted


def flaky(events, scenario):
    (started,) = [e for e in events if isinstance(e, RunStarted)]
    if scenario.dials.get("regulation") == "strict":
        raise RuntimeError("the judge fell over\\nand a second line")
    if started.seed == 1:
        return {"summary": "no scores"}
    return {
        "summary": "fine",
        "scores": {
            "capability_progress": 5, "capability": {"OpenAI": 6, "Google DeepMind": 4, "Anthropic": 3},
            "safety_risk": 2, "risk": {"OpenAI": 1, "Google DeepMind": 2, "Anthropic": 3},
            "regulation_level": 1, "agi_year": {"OpenAI": 2031, "Google DeepMind": None, "Anthropic": 2029},
        },
    }


def boom(events, scenario):
    raise RuntimeError("the judge fell over")
"""


def judges(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A module of judge functions, and the environment a ``converse`` process imports it in."""
    name = f"judges_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(JUDGES, encoding="utf-8")
    return name, cli_env(PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}")


def catalog_row(root: Path, run: Path) -> dict[str, Any]:
    """The viewer's line of a run in its list."""
    return Catalog(root.resolve()).run_row(run.resolve())


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# -- [judge] max_tokens -----------------------------------------------------------------------


async def test_the_judges_max_tokens_reaches_the_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, backend: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with ModelServer(api_key="test-key") as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, _ = await run_and_read(
                "three-labs", model=model, out=tmp_path, overrides=[*SHORT, "judge.max_tokens=777"]
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        sent = server.requests
    assert result.status == "completed"
    assert result.judge_error is None
    judge = sent[-1]
    assert "impartial analyst" in judge["messages"][0]["content"]
    assert judge["max_tokens"] == 777
    assert all(r["max_tokens"] == 600 for r in sent[:-1])  # the agents' own, model.max_tokens


@pytest.mark.parametrize("value", [0, -5])
def test_the_judges_max_tokens_must_be_positive(value: int) -> None:
    with pytest.raises(ScenarioError) as caught:
        converse.load_scenario("three-labs", [f"judge.max_tokens={value}"])
    assert caught.value.path == "$.judge.max_tokens"
    assert "must be positive" in caught.value.problem
    assert converse.load_scenario("three-labs").judge.max_tokens == 1200


# -- converse run -----------------------------------------------------------------------------


def test_converse_run_warns_once_when_the_judge_failed(tmp_path: Path) -> None:
    module, env = judges(tmp_path)
    done = run_cli(
        "run", "three-labs", "--set", "clock.end=2025", "--set", f"judge.function={module}:boom",
        "--out", str(tmp_path / "out"), "-q", cwd=tmp_path, env=env,
    )
    assert done.returncode == 0, done.stderr  # the run itself completed
    warnings = [line for line in done.stderr.splitlines() if "judge failed" in line]
    assert warnings == [
        f"converse: warning: the judge failed: {module}:boom raised RuntimeError: the judge fell over; "
        "the run has no scores"
    ]
    assert done.stderr.splitlines()[-1] == warnings[0]  # at the end
    # A judge that worked says nothing.
    fine = run_cli("run", "three-labs", "--set", "clock.end=2025", "--out", str(tmp_path / "ok"), "-q", cwd=tmp_path)
    assert fine.returncode == 0
    assert "judge" not in fine.stderr


async def test_the_result_says_the_judge_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    module, _ = judges(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result, events = await run_and_read(
        "three-labs", out=tmp_path / "out", overrides=[*SHORT, f"judge.function={module}:boom"]
    )
    assert result.status == "completed"
    assert result.judge_error == f"{module}:boom raised RuntimeError: the judge fell over"
    end = read_run(result.directory)
    assert end is not None
    assert end.judged is None
    assert end.judge_error == result.judge_error
    (error,) = events_of(events, RunError)
    # The run page shows it where the verdict would be; the runs list marks the run.
    (item,) = [i for i in RunView().feed(events) if type(i).__name__ == "ErrorItem"]
    assert item.judge  # type: ignore[attr-defined]
    assert item.message == error.message  # type: ignore[attr-defined]
    row = catalog_row(tmp_path, result.directory)
    assert row["judge_error"] == result.judge_error
    assert row["scores"] == {}


# -- a sweep ----------------------------------------------------------------------------------


def test_a_sweep_whose_judge_fails_on_some_runs_says_so_cell_by_cell(tmp_path: Path) -> None:
    module, env = judges(tmp_path)
    out = tmp_path / "sweep"
    done = run_cli(
        "sweep", "three-labs", "--set", "clock.end=2025", "--set", f"judge.function={module}:flaky",
        "--grid", "regulation=none,strict", "--repeats", "2", "--out", str(out), "-q", cwd=tmp_path, env=env,
    )
    assert done.returncode == 0, done.stderr
    rows = csv_rows(out / "summary.csv")
    header = list(rows[0])
    assert header[header.index("cost_usd") + 1 : header.index("cost_usd") + 3] == ["judged", "judge_error"]
    invalid = f"{module}:flaky returned no valid verdict"
    fell = f"{module}:flaky raised RuntimeError: the judge fell over"
    got = [(r["regulation"], r["seed"], r["status"], r["judged"], r["judge_error"]) for r in rows]
    got[1] = (*got[1][:4], got[1][4][: len(invalid)])
    assert got == [
        ("none", "0", "completed", "true", ""),
        ("none", "1", "completed", "false", invalid),
        ("strict", "0", "completed", "false", fell),
        ("strict", "1", "completed", "false", fell),
    ]
    assert rows[0]["capability_progress"] == "5"
    assert rows[1]["capability_progress"] == ""
    back = read_summary_csv(out / "summary.csv", ["regulation"])
    assert [r.judged for r in back] == [True, False, False, False]
    assert back[2].judge_error == fell  # its first line only

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "The judge failed on 3 of the 4 completed runs" in report
    cells = [line for line in report.splitlines() if line.startswith(("| none |", "| strict |"))]
    none = [line for line in cells if line.startswith("| none |")]
    strict = [line for line in cells if line.startswith("| strict |")]
    assert none
    assert all("scored 1 of 2" in line for line in none)
    assert strict
    assert all("scored 0 of 2" in line for line in strict)
    assert any("the judge fell over (2 runs)" in line for line in strict)
    assert any("returned no valid verdict" in line and "(1 run)" in line for line in none)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "scored 1 of 2" in html
    assert "scored 0 of 2" in html
    assert "the judge fell over (2 runs)" in html

    # The viewer's sweep rows carry each run's judge failure.
    catalog = Catalog(out.resolve())
    marks = [catalog.run_row((out / r["run"]).resolve())["judge_error"] for r in rows]
    assert marks[0] == ""
    assert marks[1].startswith(invalid)
    assert marks[2].startswith(fell)
    assert marks[3].startswith(fell)


def test_a_sweep_with_no_run_scored_says_why(tmp_path: Path) -> None:
    rows = [
        SweepRow(run=f"r{i}", dials={"a": i % 2}, seed=i, status="completed", judged=False,
                 judge_error="CallFailed: the judge's server is down")
        for i in range(4)
    ]
    write_report(tmp_path, rows, ["a"], title="t", scales={}, scenario_name="s")
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "No run was scored: the judge failed on all 4 completed runs" in report
    assert "the judge's server is down (4 runs)" in report
    assert report.count("scored 0 of 2") >= 2  # a=0 and a=1, in the dial's table and every cell's


def test_summary_csv_reads_files_written_before_the_judge_columns(tmp_path: Path) -> None:
    rows = [
        SweepRow(run="a", dials={"x": 1}, seed=0, status="completed", judged=True, scores={"s": 3.0}),
        SweepRow(run="b", dials={"x": 1}, seed=1, status="completed", judged=False, judge_error="boom", scores={"s": None}),
        SweepRow(run="c", dials={"x": 2}, seed=0, status="completed", scores={"s": None}),  # no judge
        SweepRow(run="d", dials={"x": 2}, seed=1, status="failed", reason="x", scores={"s": None}),
    ]
    path = tmp_path / "summary.csv"
    write_summary_csv(path, rows, ["x"])
    assert [r["judged"] for r in csv_rows(path)] == ["true", "false", "", ""]
    assert read_summary_csv(path, ["x"]) == rows
    old = "run,x,seed,status,reason,periods,turns,llm_calls,prompt_tokens,completion_tokens,cost_usd,s\n"
    old += "a,1,0,completed,,1,2,3,4,5,0,3\n"
    path.write_text(old, encoding="utf-8")
    (row,) = read_summary_csv(path, ["x"])
    assert (row.judged, row.judge_error, row.scores) == (None, "", {"s": 3.0})
