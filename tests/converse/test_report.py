"""Sweep results: summary.csv, bootstrap intervals, and the report with its plots."""

from __future__ import annotations

import functools
import math
import operator
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import msgspec
import pytest

from converse.events import Score
from converse.sweeps import (
    Interval,
    SweepRow,
    _stats,
    bootstrap_ci,
    read_summary_csv,
    write_report,
    write_summary_csv,
)
from converse.sweeps._stats import aggregate
from converse.sweeps._strips import strip, strips
from converse.sweeps._summary_csv import score_column, scores_of

SVG = "{http://www.w3.org/2000/svg}"
DIALS = ["regulation", "china"]
SCALES = {"capability_progress": "1-10", "first_agi_year": "year", "agi_year[OpenAI]": "year"}


def row(run: str, seed: int = 0, status: str = "completed", **fields: Any) -> SweepRow:
    fields.setdefault("dials", {"regulation": "none", "china": True})
    return SweepRow(run=run, seed=seed, status=status, **fields)


def sweep(seeds: int = 8, *, announce: float = 1.0) -> list[SweepRow]:
    """Regulation moves the AGI year (none ~2029, light ~2032, strict ~2036); China does not."""
    rng = random.Random(7)
    rows = []
    for regulation, year in (("none", 2029), ("light", 2032), ("strict", 2036)):
        for china in (True, False):
            for seed in range(seeds):
                announced = rng.random() < announce
                scores = {
                    "capability_progress": float(rng.randint(4, 9)),
                    "first_agi_year": float(year + rng.randint(-1, 1)),
                    "agi_year[OpenAI]": float(year + rng.randint(-2, 2)) if announced else None,
                }
                rows.append(
                    SweepRow(
                        run=f"regulation={regulation},china={china}/seed-{seed}",
                        dials={"regulation": regulation, "china": china},
                        seed=seed,
                        status="completed",
                        prompt_tokens=1000,
                        completion_tokens=200,
                        cost_usd=0.01,
                        scores=scores,
                    )
                )
    return rows


def report(tmp_path: Path, rows: list[SweepRow], dials: list[str] = DIALS, **options: object) -> list[Path]:
    return write_report(
        tmp_path,
        rows,
        dials,
        title=str(options.get("title", "Sweep of labs")),
        scales=SCALES,
        scenario_name="labs",
        command="converse sweep labs --grid regulation=none,light,strict",
    )


def width(interval: Interval) -> float:
    assert interval.low is not None
    assert interval.high is not None
    return interval.high - interval.low


def numbers(cell: str) -> list[float]:
    """The mean, low and high of a table cell like ``2031 [2030, 2033]``."""
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", cell)[:3]]


def circles(svg: Path) -> list[ET.Element]:
    return list(ET.parse(svg).getroot().iter(f"{SVG}circle"))


def texts(svg: Path) -> list[str]:
    return [t.text or "" for t in ET.parse(svg).getroot().iter(f"{SVG}text")]


# summary.csv


def test_summary_csv_has_the_columns_and_cells_a_spreadsheet_expects(tmp_path: Path) -> None:
    rows = [
        row(
            "regulation=strict,china=true/seed-1",
            seed=1,
            dials={"regulation": "strict", "china": True},
            periods=10,
            turns=30,
            llm_calls=42,
            prompt_tokens=12000,
            completion_tokens=3400,
            cost_usd=0.000123,
            judged=True,
            truncated=3,
            estimated_tokens=1500,
            scores={"capability[OpenAI]": 7.0, "agi_year[OpenAI]": None, "safety_risk": 7.5},
        ),
        row(
            "regulation=none,china=false/seed-2",
            seed=2,
            status="failed",
            reason="model unreachable",
            dials={"regulation": "none", "china": False},
            scores={"first_agi_year": 2031.0},
        ),
    ]
    path = tmp_path / "summary.csv"
    write_summary_csv(path, rows, DIALS)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "run,regulation,china,seed,status,reason,periods,turns,llm_calls,prompt_tokens,"
        "completion_tokens,cost_usd,judged,judge_error,truncated,estimated_tokens,capability[OpenAI],agi_year[OpenAI],"
        "safety_risk,first_agi_year",
        '"regulation=strict,china=true/seed-1",strict,true,1,completed,,10,30,42,12000,3400,0.000123,true,,3,1500,7,,7.5,',
        '"regulation=none,china=false/seed-2",none,false,2,failed,model unreachable,0,0,0,0,0,0,,,0,0,,,,2031',
    ]
    written = read_summary_csv(path, DIALS)
    assert [(r.truncated, r.estimated_tokens) for r in written] == [(3, 1500), (0, 0)]
    # A file written before the estimated_tokens column reads with none estimated.
    lines = path.read_text(encoding="utf-8").splitlines()
    older = [line.replace("truncated,estimated_tokens,", "truncated,").replace("true,,3,1500,", "true,,3,") for line in lines]
    older[2] = older[2].replace(",,,0,0,,,,2031", ",,,0,,,,2031")
    path.write_text("\n".join(older) + "\n", encoding="utf-8")
    assert [(r.truncated, r.estimated_tokens) for r in read_summary_csv(path, DIALS)] == [(3, 0), (0, 0)]
    # A file written before the truncated column reads with none truncated.
    old = [line.replace("judge_error,truncated,", "judge_error,").replace("true,,3,", "true,,") for line in older]
    old[2] = old[2].replace(",,,0,,,,2031", ",,,,,,2031")
    path.write_text("\n".join(old) + "\n", encoding="utf-8")
    back = read_summary_csv(path, DIALS)
    assert [r.truncated for r in back] == [0, 0]
    assert back[0].scores == {"capability[OpenAI]": 7.0, "agi_year[OpenAI]": None, "safety_risk": 7.5, "first_agi_year": None}
    assert not [p for p in tmp_path.iterdir() if p.name != "summary.csv"]  # no temporary file left


def test_summary_csv_reads_back_what_was_written(tmp_path: Path) -> None:
    dials = ["regulation", "china", "labs", "pause"]
    columns = {"capability_progress": 6.5, "agi_year[OpenAI]": None, "first_agi_year": 2031.0}
    rows = [
        row(
            f"run-{i}",
            seed=i,
            dials={"regulation": name, "china": i % 2 == 0, "labs": 3 + i, "pause": 0.5},
            prompt_tokens=100 * i,
            cost_usd=0.25 * i,
            scores=columns,
        )
        for i, name in enumerate(["none", 'a, "quoted" value', "strict"])
    ]
    path = tmp_path / "summary.csv"
    write_summary_csv(path, rows, dials)
    back = read_summary_csv(path, dials)
    assert back == rows
    assert isinstance(back[0].dials["china"], bool)
    assert isinstance(back[0].dials["labs"], int)
    write_summary_csv(tmp_path / "again.csv", back, dials)
    assert (tmp_path / "again.csv").read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("run,regulation,seed\n", "summary.csv:1:"),
        (
            "run,regulation,china,seed,status,reason,periods,turns,llm_calls,prompt_tokens,"
            "completion_tokens,cost_usd,x\nr1,none,true,1,completed,,0,0,0,0,0,0,1\n"
            "r2,none,true,two,completed,,0,0,0,0,0,0,1\n",
            "summary.csv:3:",
        ),
        (
            "run,regulation,china,seed,status,reason,periods,turns,llm_calls,prompt_tokens,"
            "completion_tokens,cost_usd\nr1,none,true,1,exploded,,0,0,0,0,0,0\n",
            "summary.csv:2:",
        ),
        (
            "run,regulation,china,seed,status,reason,periods,turns,llm_calls,prompt_tokens,"
            "completion_tokens,cost_usd\nr1,none,true,1,completed\n",
            "summary.csv:2:",
        ),
    ],
)
def test_a_bad_summary_is_one_line_naming_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "summary.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(where)) as caught:
        read_summary_csv(path, DIALS)
    assert "\n" not in str(caught.value)


def test_score_columns_name_the_subject() -> None:
    assert score_column("capability", None) == "capability"
    assert score_column("agi_year", "Anthropic") == "agi_year[Anthropic]"
    scores = [
        Score(name="regulation", value=4.0),
        Score(name="agi_year", value=None, subject="OpenAI", scale="year"),
        Score(name="agi_year", value=2030.0, subject="Anthropic", scale="year"),
    ]
    assert scores_of(scores) == {"regulation": 4.0, "agi_year[OpenAI]": None, "agi_year[Anthropic]": 2030.0}
    assert list(scores_of(scores)) == ["regulation", "agi_year[OpenAI]", "agi_year[Anthropic]"]


# bootstrap_ci


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    rng = random.Random(1)
    values = [rng.gauss(5, 2) for _ in range(40)]
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)


def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_data() -> None:
    rng = random.Random(2)
    few = bootstrap_ci([rng.gauss(5, 2) for _ in range(10)])
    many = bootstrap_ci([rng.gauss(5, 2) for _ in range(400)])
    for interval in (few, many):
        assert interval.low is not None
        assert interval.mean is not None
        assert interval.high is not None
        assert interval.low < interval.mean < interval.high
    assert (few.n, many.n) == (10, 400)
    assert width(many) < width(few) / 3


def test_bootstrap_of_a_fair_coin_matches_the_textbook_interval() -> None:
    interval = bootstrap_ci([0.0, 1.0] * 50)  # mean 0.5, standard error 0.05
    assert interval.mean == 0.5
    assert interval.low == pytest.approx(0.5 - 1.96 * 0.05, abs=0.015)
    assert interval.high == pytest.approx(0.5 + 1.96 * 0.05, abs=0.015)


@pytest.mark.parametrize("size", [257, 1200])
def test_a_large_samples_interval_is_the_textbook_bootstrap_drawn_by_random_choices(size: int) -> None:
    """Past a few hundred values the resamples are drawn and summed by numpy; the interval must
    still be the one plain Python gives: resamples drawn by ``random.choices`` from the seed,
    each summed left to right, their means' percentiles."""
    rng = random.Random(size)
    values = [rng.lognormvariate(0, 2) * rng.choice((1, -1)) for _ in range(size)]
    draws = random.Random("11")
    means = sorted(
        functools.reduce(operator.add, draws.choices(values, k=size)) / size for _ in range(2000)
    )
    interval = bootstrap_ci(values, seed=11)
    assert (interval.low, interval.high) == (means[50], means[-51])  # 2.5% of 2,000 at each end
    assert interval.mean == math.fsum(values) / size


def test_bootstrap_of_no_one_or_equal_values() -> None:
    none = bootstrap_ci([])
    assert (none.mean, none.low, none.high, none.n) == (None, None, None, 0)
    one = bootstrap_ci([7.0])
    assert (one.mean, one.low, one.high, one.n) == (7.0, 7.0, 7.0, 1)
    equal = bootstrap_ci([0.1] * 30)
    assert (equal.mean, equal.low, equal.high) == (0.1, 0.1, 0.1)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=1.5)


# aggregate and the report


def test_a_dial_that_moves_a_score_shows_apart_in_the_statistics_and_the_table(tmp_path: Path) -> None:
    rows = sweep()
    stats = aggregate(rows, DIALS)
    by_setting = {g.dials["regulation"]: g.scores["first_agi_year"] for g in stats.by_dial["regulation"]}
    assert list(by_setting) == ["none", "light", "strict"]
    none, strict = by_setting["none"], by_setting["strict"]
    assert none.mean == pytest.approx(2029, abs=0.7)
    assert strict.mean == pytest.approx(2036, abs=0.7)
    assert none.high is not None
    assert strict.low is not None
    assert none.high < strict.low
    china = [g.scores["first_agi_year"] for g in stats.by_dial["china"]]
    assert [g.n for g in china] == [24, 24]
    assert [c.runs for c in stats.cells] == [8] * 6

    report(tmp_path, rows)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    section = markdown.split("## regulation", 1)[1].split("## china", 1)[0]
    first_table = section.split("\n\n")[1]
    table = [line.strip("| ").split(" | ") for line in first_table.splitlines()]
    column = table[0].index("first_agi_year")
    cells = {cells[0]: cells[column] for cells in table}
    none_mean, none_low, none_high = numbers(cells["none"])
    strict_mean, strict_low, strict_high = numbers(cells["strict"])
    assert none_low <= none_mean <= none_high < strict_low <= strict_mean <= strict_high
    assert round(none_mean) == 2029
    assert round(strict_mean) == 2036
    assert "![first_agi_year by regulation](plots/regulation--first_agi_year.svg)" in markdown


def test_runs_that_gave_no_value_are_counted_as_k_of_n(tmp_path: Path) -> None:
    rows = sweep(announce=0.6)
    stats = aggregate(rows, DIALS)
    for group in stats.by_dial["regulation"]:
        announced = [
            r
            for r in rows
            if r.dials["regulation"] == group.dials["regulation"] and r.scores["agi_year[OpenAI]"] is not None
        ]
        assert group.scores["agi_year[OpenAI]"].n == len(announced) < group.completed == 16

    report(tmp_path, rows)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    none = stats.by_dial["regulation"][0].scores["agi_year[OpenAI]"].n
    assert f"({none} of 16)" in markdown
    plot = tmp_path / "plots" / "regulation--agi_year-OpenAI.svg"
    assert f"{none}/16" in texts(plot)
    assert len(circles(plot)) == sum(r.scores["agi_year[OpenAI]"] is not None for r in rows)


def test_a_large_sweep_resampled_by_numpy_has_the_intervals_python_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """A large sweep's cells are resampled by numpy: the same draws, summed left to right,
    must give every interval Python's resampling gives (runs with no value included)."""
    rng = random.Random(5)
    rows = [  # sums of whole numbers come out the same in any order: these have fractions
        msgspec.structs.replace(
            r, scores={k: None if v is None else v + rng.random() / 7 for k, v in r.scores.items()},
            cost_usd=rng.random() / 3,
        )
        for r in sweep(seeds=40, announce=0.6)
    ]
    by_python = aggregate(rows, DIALS)
    monkeypatch.setattr(_stats, "_NUMPY_WORK", 0)
    by_numpy = aggregate(rows, DIALS)
    assert by_numpy == by_python
    assert by_numpy.overall.scores["agi_year[OpenAI]"].n < by_numpy.overall.completed  # some gave none


def test_failed_runs_count_but_do_not_score(tmp_path: Path) -> None:
    rows = sweep(seeds=3)
    broken = [
        row(
            f"broken-{i}",
            status=status,
            dials={"regulation": "none", "china": True},
            scores={"first_agi_year": 1900.0},
        )
        for i, status in enumerate(["failed", "budget_exhausted", "cancelled"])
    ]
    stats = aggregate(rows + broken, DIALS)
    none = stats.by_dial["regulation"][0]
    assert (none.runs, none.completed, none.failed) == (9, 6, 3)
    assert none.scores["first_agi_year"].n == 6
    assert (none.scores["first_agi_year"].low or 0) > 2000
    assert none.tokens.n == 9  # spending counts every run that finished

    report(tmp_path, rows + broken)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| none | 9 (3 failed) |" in markdown
    assert "21 runs (6 grid cells of 3 to 6 seeds), 18 completed, 3 failed" in markdown
    assert len(circles(tmp_path / "plots" / "regulation--first_agi_year.svg")) == 18


def test_every_plot_is_valid_svg_with_a_dot_per_scored_run(tmp_path: Path) -> None:
    rows = sweep(seeds=4)
    written = report(tmp_path, rows)
    plots = sorted(p for p in written if p.suffix == ".svg")
    assert [p.name for p in plots] == sorted(
        f"{dial}--{column}.svg"
        for dial in DIALS
        for column in ["capability_progress", "first_agi_year", "agi_year-OpenAI"]
    )
    assert all(p.exists() for p in written)
    for plot in plots:
        root = ET.parse(plot).getroot()
        assert root.tag == f"{SVG}svg"
        assert root.get("viewBox") == "0 0 560 360"
        assert len(circles(plot)) == len(rows)
    capability = texts(tmp_path / "plots" / "regulation--capability_progress.svg")
    assert {"0", "10", "none", "light", "strict", "capability_progress by regulation"} <= set(capability)
    years = texts(tmp_path / "plots" / "china--first_agi_year.svg")
    assert {"true", "false"} <= set(years)
    assert all(re.fullmatch(r"20\d\d", t) for t in years if t[:1].isdigit())


def test_the_html_page_stands_alone_and_escapes_the_data(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    rows = [
        msgspec.structs.replace(
            r,
            dials={
                "regulation": evil if r.dials["regulation"] == "none" else r.dials["regulation"],
                "china": True,
            },
            scores={**r.scores, f"{evil}[Lab & Co]": 3.0},
        )
        for r in sweep(seeds=2)
        if r.dials["china"]
    ]
    report(tmp_path, rows, title=f"Sweep {evil}")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Lab &amp; Co" in page
    for outside in ("<link", "src=", "@import", "url("):
        assert outside not in page
    assert page.count("<svg") == 4  # every score by regulation, inlined; china has one setting
    for svg in re.findall(r"<svg.*?</svg>", page, re.DOTALL):
        ET.fromstring(svg)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "\\<script\\>" in markdown
    assert not re.search(r"(?<!\\)<script", markdown)


def test_a_dial_with_one_setting_gets_no_plots_but_the_cells_table_remains(tmp_path: Path) -> None:
    rows = [r for r in sweep(seeds=3) if r.dials["china"]]
    written = report(tmp_path, rows)
    names = [p.name for p in written if p.suffix == ".svg"]
    assert len(names) == 3
    assert all(n.startswith("regulation--") for n in names)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## china" not in markdown
    assert "Fixed: china = true." in markdown
    cells = markdown.split("## Every cell", 1)[1]
    assert "| regulation | china | runs |" in cells
    assert "| strict | true | 3 |" in cells


def test_a_sweep_without_dials_plots_all_runs(tmp_path: Path) -> None:
    rows = [msgspec.structs.replace(r, dials={}) for r in sweep(seeds=2)]
    written = report(tmp_path, rows, dials=[])
    plots = [p for p in written if p.suffix == ".svg"]
    assert sorted(p.name for p in plots) == [
        "all-runs--agi_year-OpenAI.svg",
        "all-runs--capability_progress.svg",
        "all-runs--first_agi_year.svg",
    ]
    assert "first_agi_year: all runs" in texts(tmp_path / "plots" / "all-runs--first_agi_year.svg")
    assert len(circles(plots[0])) == 12
    assert "## All runs" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_numeric_settings_are_sorted_and_others_keep_their_order() -> None:
    rows = [
        row(f"r{i}", dials={"labs": labs, "mood": mood}, scores={"x": float(i)})
        for i, (labs, mood) in enumerate([(10, "tense"), (2, "calm"), (3, "tense"), (2, "angry")])
    ]
    stats = aggregate(rows, ["labs", "mood"])
    assert stats.settings == {"labs": [2, 3, 10], "mood": ["tense", "calm", "angry"]}
    assert [g.dials for g in stats.by_dial["labs"]] == [{"labs": 2}, {"labs": 3}, {"labs": 10}]
    assert [g.dials for g in stats.cells][:2] == [{"labs": 2, "mood": "calm"}, {"labs": 2, "mood": "angry"}]


def test_a_strip_plots_statistics_are_computed_once_for_the_report_and_the_page() -> None:
    """``strips``: a column per setting in the report's order, the completed runs that gave
    the score as points, and the mean, interval, quartiles and extremes the plots mark."""
    rows = [
        row("a", dials={"labs": 3}, scores={"x": 4.0}),
        row("b", dials={"labs": 2}, scores={"x": 1.0}),
        row("c", dials={"labs": 3}, scores={"x": 8.0}),
        row("d", dials={"labs": 3}, scores={"x": None}),
        row("e", dials={"labs": 3}, status="failed", scores={"x": 9.0}),
        row("f", dials={"labs": 3}, scores={"x": 5.0}),
        row("g", dials={"labs": 2}, status="pending"),
    ]
    low, three = strips(rows, "labs", "x")
    assert (low.label, low.points, low.runs) == ("2", [("b", 1.0)], 1)
    assert (low.lowest, low.q1, low.median, low.q3, low.highest, low.mean) == (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    assert (three.label, three.points, three.runs) == ("3", [("a", 4.0), ("c", 8.0), ("f", 5.0)], 4)
    assert (three.lowest, three.q1, three.median, three.q3, three.highest) == (4.0, 4.5, 5.0, 6.5, 8.0)
    assert three.mean == pytest.approx(17 / 3)
    assert (three.low, three.high) == (None, None)  # no interval unless one is given
    (every,) = strips(rows, None, "x", label="all runs")
    assert (every.label, len(every.points), every.runs) == ("all runs", 4, 5)
    # The report's plots take its aggregates' intervals along.
    stats = aggregate(rows, ["labs"])
    given = [g.scores["x"] for g in stats.by_dial["labs"]]
    reported = strips(rows, "labs", "x", settings=stats.settings["labs"], intervals=given)
    assert [(s.mean, s.low, s.high) for s in reported] == [(i.mean, i.low, i.high) for i in given]
    assert [s.points for s in reported] == [low.points, three.points]
    empty = strip("none", [], runs=2)
    assert (empty.points, empty.runs, empty.mean, empty.median) == ([], 2, None, None)
