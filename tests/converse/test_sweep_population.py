"""A population run in a sweep: its researchers' columns in ``summary.csv`` (head count, the
share working on each area, papers, moves), from the events a sweep watches or from a finished
run's log, and in the report as scores are, so that a sweep over a mobility dial shows the
safety share against it."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import msgspec

from converse import RunResult
from converse.events import AREAS, LabCensus, Move, PopulationState, RunFinished
from converse.sweeps import (
    Job,
    PlannedRun,
    SweepRow,
    plan_sweep,
    read_summary_csv,
    run_sweep,
    write_report,
    write_summary_csv,
)
from converse.sweeps._rows import Watcher, finished_row

RUN = "mobility=high,seed=0"


def census(
    lab: str, researchers: int, working: tuple[int, ...], papers: tuple[int, ...], **moves: int
) -> LabCensus:
    """A lab's census; ``working`` and ``papers`` by area: capabilities, safety, policy."""
    assert AREAS == ("capabilities", "safety", "policy")
    return LabCensus(
        lab=lab, researchers=researchers, working=dict(zip(AREAS, working, strict=True)),
        papers=dict(zip(AREAS, papers, strict=True)), **moves,
    )


def periods(run: str = RUN) -> list[PopulationState]:
    """Three periods of two labs, fifteen researchers; one moves from A to B in each of the last
    two."""
    return [
        PopulationState(
            run=run, period="2025", index=0,
            labs=[census("A", 10, (6, 3, 1), (4, 1, 0)), census("B", 5, (3, 1, 1), (2, 0, 1))],
        ),
        PopulationState(
            run=run, period="2026", index=1,
            labs=[
                census("A", 9, (5, 4, 1), (3, 2, 0), left=1),
                census("B", 6, (2, 2, 1), (1, 1, 0), joined=1),
            ],
            moves=[Move(researcher="r1", area="safety", origin="A", destination="B")],
        ),
        PopulationState(
            run=run, period="2027", index=2,
            labs=[
                census("A", 8, (4, 4, 1), (2, 3, 1), left=1),
                census("B", 7, (2, 3, 1), (0, 2, 0), joined=1),
            ],
            moves=[Move(researcher="r2", area="capabilities", origin="A", destination="B")],
            conference=3,
        ),
    ]


# By hand: 8 + 7 researchers at the end; of the 15 who worked in 2027, 4 + 2 on capabilities,
# 4 + 3 on safety, 1 + 1 on policy; papers summed over the three periods; two moves.
EXPECTED = {
    "population_researchers": 15.0,
    "population_capabilities_share": 0.4,
    "population_safety_share": 0.4667,
    "population_policy_share": 0.1333,
    "population_papers_capabilities": 12.0,
    "population_papers_safety": 9.0,
    "population_papers_policy": 2.0,
    "population_moves": 2.0,
}


def planned(run: str = RUN) -> PlannedRun:
    return PlannedRun(run_id=run, dials={"mobility": "high"}, seed=0, overrides=(), model=None)


def result(run: str = RUN) -> RunResult:
    here = Path(run)
    return RunResult(
        run=run, directory=here, events=here / "events.jsonl", transcript=here / "transcript.md",
        status="completed", reason="end_period", periods=3, turns=0, llm_calls=0, prompt_tokens=0,
        completion_tokens=0,
    )


def test_a_row_gets_the_population_columns_from_the_events_it_watched() -> None:
    watcher = Watcher()
    other = "mobility=low,seed=0"
    for mine, theirs in zip(periods(), periods(other), strict=True):
        watcher.observe(Job(scenario="population", run_id=RUN), mine)
        watcher.observe(Job(scenario="population", run_id=other), theirs)  # runs go side by side
    row = finished_row(planned(), result(), watcher.take(RUN), None)
    assert row.population == EXPECTED
    assert list(row.population) == list(EXPECTED)
    # A run that wrote no population_state event has no population columns.
    assert finished_row(planned("x"), result("x"), watcher.take("x"), None).population == {}


def rows_of(seeds: int) -> list[SweepRow]:
    """A sweep over mobility in which freer movement raises the safety share."""
    rng = random.Random(3)
    rows = []
    for mobility, safety in (("low", 0.2), ("high", 0.45)):
        for seed in range(seeds):
            share = round(safety + rng.uniform(-0.05, 0.05), 4)
            moves = float(rng.randint(0, 9))
            rows.append(
                SweepRow(
                    run=f"mobility={mobility},seed={seed}", dials={"mobility": mobility}, seed=seed,
                    status="completed", scores={"safety_culture": float(rng.randint(3, 8))},
                    population={**EXPECTED, "population_safety_share": share, "population_moves": moves},
                )
            )
    return rows


def test_summary_csv_keeps_the_population_columns_after_the_scores(tmp_path: Path) -> None:
    rows = [
        *rows_of(2),
        SweepRow(
            run="mobility=low,seed=9", dials={"mobility": "low"}, seed=9, status="failed", reason="boom",
            scores={"safety_culture": None},
        ),
    ]
    path = tmp_path / "summary.csv"
    write_summary_csv(path, rows, ["mobility"])
    with path.open(encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    header = list(table[0])
    assert header[header.index("estimated_tokens") + 1 :] == ["safety_culture", *EXPECTED]
    assert table[0]["population_papers_capabilities"] == "12"
    assert table[0]["population_safety_share"] == str(rows[0].population["population_safety_share"])
    assert all(table[-1][column] == "" for column in EXPECTED)  # the failed run has none
    assert read_summary_csv(path, ["mobility"]) == rows


def test_a_sweep_without_a_population_has_no_population_columns(tmp_path: Path) -> None:
    rows = [msgspec.structs.replace(r, population={}) for r in rows_of(2)]
    path = tmp_path / "summary.csv"
    write_summary_csv(path, rows, ["mobility"])
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert not [column for column in header if column.startswith("population")]
    assert read_summary_csv(path, ["mobility"]) == rows


def cells_of(markdown: str, section: str, column: str) -> dict[str, str]:
    """A column of the first table of a report's section, by the table's first cell."""
    table = markdown.split(f"## {section}", 1)[1].split("\n\n")[1]
    lines = [line.strip("| ").split(" | ") for line in table.splitlines()]
    where = lines[0].index(column)
    return {cells[0]: cells[where] for cells in lines[2:]}


def report(tmp_path: Path, rows: list[SweepRow]) -> tuple[list[Path], str]:
    """The report's files, and its Markdown."""
    written = write_report(tmp_path, rows, ["mobility"], title="Population", scales={}, scenario_name="population")
    return written, (tmp_path / "report.md").read_text(encoding="utf-8")


def test_the_report_shows_the_safety_share_against_mobility(tmp_path: Path) -> None:
    rows = rows_of(6)
    written, markdown = report(tmp_path, rows)
    shares = cells_of(markdown, "mobility", "population_safety_share")
    (low_mean, low_low, low_high), (high_mean, high_low, high_high) = (
        [float(n) for n in re.findall(r"\d+\.\d+", shares[setting])] for setting in ("low", "high")
    )
    assert low_low <= low_mean <= low_high < high_low <= high_mean <= high_high
    for setting, mean in (("low", low_mean), ("high", high_mean)):
        given = [r.population["population_safety_share"] for r in rows if r.dials["mobility"] == setting]
        assert mean == round(sum(given) / len(given), 2)
    assert "(" not in shares["high"]  # every completed run gave it: no "k of n"
    plot = tmp_path / "plots" / "mobility--population_safety_share.svg"
    assert plot in written
    assert "![population_safety_share by mobility](plots/mobility--population_safety_share.svg)" in markdown
    # The seed-noise section measures it too; a share every run gave alike has no spread.
    seeds = markdown.split("## Seeds or dials", 1)[1]
    assert "| population_safety_share | 12 in 2 cells |" in seeds
    assert "Every run gave population_capabilities_share the same value" in seeds
    no_split = " | ".join(["\u2013"] * 3)  # seeds, dials, p: an en dash each
    assert f"| population_capabilities_share | 12 in 2 cells | {no_split} | 0.00 |" in seeds


async def test_a_finished_run_s_row_is_rebuilt_from_its_log_with_its_population(
    backend: str, tmp_path: Path
) -> None:
    sweep, _, runs = plan_sweep(
        "three-labs", ["regulation=none,strict"], repeats=1, overrides=["clock.end=2025"]
    )
    first = await run_sweep(sweep, runs, tmp_path)
    assert first.completed == 2
    assert "population" not in first.summary.read_text(encoding="utf-8")

    # The run's log gets population_state events before its end, as a population run's has.
    log = tmp_path / runs[0].run_id / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    finished = msgspec.json.decode(lines[-1], type=RunFinished)
    states = [msgspec.structs.replace(s, run=finished.run, seq=finished.seq + i) for i, s in enumerate(periods())]
    finished = msgspec.structs.replace(finished, seq=finished.seq + len(states))
    added = [msgspec.json.encode(event) + b"\n" for event in [*states, finished]]
    log.write_bytes(b"".join([*lines[:-1], *added]))

    again = await run_sweep(sweep, runs, tmp_path)
    assert (again.skipped, again.completed) == (2, 2)
    shown, other = read_summary_csv(again.summary, ["regulation"])
    assert shown.population == EXPECTED
    assert other.population == {}
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "population_safety_share" in markdown
    plot = (tmp_path / "plots" / "regulation--population_safety_share.svg").read_text(encoding="utf-8")
    assert "population_safety_share (0-1)" in plot  # a share's axis runs from 0 to 1


def test_a_run_the_judge_failed_on_still_counts_for_the_population(tmp_path: Path) -> None:
    rows = rows_of(3)
    rows[-1] = msgspec.structs.replace(rows[-1], judged=False, judge_error="boom", scores={"safety_culture": None})
    _, markdown = report(tmp_path, rows)
    assert cells_of(markdown, "mobility", "scored")["high"] == "scored 2 of 3"
    mean = sum(r.population["population_safety_share"] for r in rows[3:]) / 3
    assert cells_of(markdown, "mobility", "population_safety_share")["high"].startswith(f"{mean:.2f} [")
    assert "of 2)" not in markdown  # the population's n is every completed run, not the scored ones
