"""Seeds that mean something: how much of a score's spread is seed noise, per cell and over a
sweep, and how many repeats a 95% interval of a given width needs; in the report's every format."""

from __future__ import annotations

import csv
import math
import re
import statistics
import xml.etree.ElementTree as ET
from pathlib import Path

import msgspec
import pytest

from _helpers import run_cli
from converse.sweeps import SweepRow, write_report
from converse.sweeps._stats import (
    aggregate,
    decompose,
    f_survival,
    repeats_for,
    spread_of,
    t_quantile,
)

SVG = "{http://www.w3.org/2000/svg}"
T_975_2 = 4.302652729749464  # Student's t, 97.5% quantile, 2 degrees of freedom (any table)


def texts(svg: Path) -> list[str]:
    return [t.text or "" for t in ET.parse(svg).getroot().iter(f"{SVG}text")]


def section(markdown: str, heading: str) -> str:
    return markdown.split(f"## {heading}\n", 1)[1]


# the statistics, against values worked out by hand


@pytest.mark.parametrize(
    ("df", "expected"),
    [
        (1, 12.706204736174694),
        (2, T_975_2),
        (4, 2.7764451051977934),
        (10, 2.228138851986274),
        (30, 2.0422724563012378),
        (1000, 1.9623390808264083),
        (10**6, 1.959966356814107),
    ],
)
def test_t_quantiles_are_the_textbooks(df: int, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, rel=1e-12)
    assert t_quantile(0.025, df) == pytest.approx(-expected, rel=1e-12)


@pytest.mark.parametrize("probability", [0.6, 0.9, 0.995, 0.9999999, 1 - 1e-12])
def test_t_quantiles_match_their_closed_forms_far_into_the_tail(probability: float) -> None:
    # One degree of freedom is the Cauchy distribution, two have a quantile in closed form too;
    # far into their tails the quantile runs to millions, where a search has the furthest to go.
    # (The Cauchy's tan(pi (p - 1/2)) is written as 1 / tan(pi (1 - p)): 1 - p is exact there.)
    p = probability
    assert t_quantile(p, 1) == pytest.approx(1 / math.tan(math.pi * (1 - p)), rel=1e-11)
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-11)


def test_f_survival_matches_its_closed_forms() -> None:
    # With 2 and d degrees of freedom, P(F > f) = (1 + 2f/d)^(-d/2); with 1 and 1, F is the
    # square of a Cauchy variable: P(F > f) = 1 - (2/pi) atan(sqrt f).
    assert f_survival(12.0, 2, 6) == pytest.approx(5.0**-3, rel=1e-12)
    assert f_survival(3.0, 2, 10) == pytest.approx(1.6**-5, rel=1e-12)
    assert f_survival(4 / 3, 1, 1) == pytest.approx(1 - 2 / math.pi * math.atan(math.sqrt(4 / 3)), rel=1e-12)
    assert f_survival(0.0, 3, 7) == 1.0


def test_variance_splits_into_seeds_within_cells_and_dials_between() -> None:
    # Cells 1 2 3 | 3 4 5 | 5 6 7: means 2, 4, 6, overall 4.
    # Within: each cell 1 + 0 + 1 = 2, so 6; between: 3 * (4 + 0 + 4) = 24; total 30.
    # Pooled SD: sqrt(6 / (9 - 3)) = 1. F = (24 / 2) / (6 / 6) = 12 on 2 and 6 degrees of
    # freedom: p = (1 + 2 * 12 / 6)^-3 = 1/125.
    d = decompose([[1, 2, 3], [3, 4, 5], [5, 6, 7]])
    assert (d.n, d.cells, d.repeated) == (9, 3, 3)
    assert (d.ss_within, d.ss_between, d.sd) == (6.0, 24.0, 1.0)
    assert d.seeds_share == pytest.approx(0.2, abs=1e-15)
    assert d.p_value == pytest.approx(0.008, rel=1e-12)


def test_missing_values_and_one_run_cells_count_what_there_is() -> None:
    # 1 _ 3 | 4 | _ : the empty cell drops out; the one-run cell adds to the dials, not the seeds.
    # Means 2 and 4, overall 8/3. Within: 1 + 1 = 2 on 3 - 2 = 1 degree of freedom, SD sqrt(2);
    # between: 2 * (2/3)^2 + (4/3)^2 = 8/3; seeds' share 2 / (2 + 8/3) = 3/7; F = (8/3) / 2 on 1 and 1.
    d = decompose([[1.0, None, 3.0], [4.0], [None]])
    assert (d.n, d.cells, d.repeated) == (3, 2, 1)
    assert d.ss_within == 2.0
    assert d.ss_between == pytest.approx(8 / 3, rel=1e-15)
    assert d.sd == pytest.approx(math.sqrt(2), rel=1e-15)
    assert d.seeds_share == pytest.approx(3 / 7, rel=1e-15)
    assert d.p_value == pytest.approx(1 - 2 / math.pi * math.atan(math.sqrt(4 / 3)), rel=1e-12)


def test_what_cannot_be_told_is_none_not_invented() -> None:
    every_cell_one_run = decompose([[1.0], [2.0], [3.0]])
    assert (every_cell_one_run.repeated, every_cell_one_run.sd) == (0, None)
    assert (every_cell_one_run.seeds_share, every_cell_one_run.p_value) == (None, None)
    one_cell = decompose([[1.0, 2.0, 3.0]])  # no dials: the SD, but nothing to split
    assert (one_cell.sd, one_cell.seeds_share, one_cell.p_value) == (1.0, None, None)
    no_spread = decompose([[2.0, 2.0], [2.0, 2.0]])
    assert (no_spread.sd, no_spread.seeds_share, no_spread.p_value) == (0.0, None, None)
    only_dials = decompose([[1.0, 1.0], [3.0, 3.0]])  # no seed noise at all: no chance did this
    assert (only_dials.sd, only_dials.seeds_share, only_dials.p_value) == (0.0, 0.0, 0.0)
    nothing = decompose([[None], []])
    assert (nothing.n, nothing.cells, nothing.sd, nothing.seeds_share) == (0, 0, None, None)


def test_a_cells_spread_is_its_sd_and_the_t_interval_of_its_mean() -> None:
    # 1 2 3: SD 1; the mean's 95% interval is 2 +- t(0.975, 2) * 1 / sqrt(3).
    three = spread_of([1.0, 2.0, None, 3.0])
    assert (three.n, three.sd) == (3, 1.0)
    assert three.half_width == pytest.approx(T_975_2 / math.sqrt(3), rel=1e-12)
    assert spread_of([5.0, None]) == spread_of([5.0])
    assert (spread_of([5.0]).n, spread_of([5.0]).sd, spread_of([5.0]).half_width) == (1, None, None)
    assert spread_of([None]).n == 0


def test_repeats_are_the_least_n_whose_t_interval_is_narrow_enough() -> None:
    # s = 1, w = 1: n = 6 gives t(5)/sqrt(6) = 2.571/2.449 = 1.05 > 1; n = 7 gives
    # t(6)/sqrt(7) = 2.447/2.646 = 0.92. w = 0.5: n = 17 gives 2.120/4.123 = 0.514; n = 18 gives
    # 2.110/4.243 = 0.497. The normal approximation (1.96 s / w)^2 says 3.8 and 15.4.
    assert repeats_for(1.0, 1.0) == 7
    assert repeats_for(1.0, 0.5) == 18
    assert repeats_for(2.0, 1.0) == 18  # only s / w counts
    assert repeats_for(1.5, 0.5) == 38
    assert repeats_for(0.0, 0.5) == 2  # no spread measured: two runs, the fewest with an interval
    for n, s, w in [(7, 1.0, 1.0), (18, 1.0, 0.5), (38, 1.5, 0.5)]:
        assert (
            t_quantile(0.975, n - 1) * s / math.sqrt(n) <= w < t_quantile(0.975, n - 2) * s / math.sqrt(n - 1)
        )
    assert repeats_for(1.0, 0.01) == 38_418  # (1.96 / 0.01)^2 = 38,414.6, plus the t's few
    with pytest.raises(ValueError, match="half_width"):
        repeats_for(1.0, 0.0)
    with pytest.raises(ValueError, match="probability"):
        t_quantile(1.0, 3)


# the report


def rows_of(cells: dict[int, list[float | None]]) -> list[SweepRow]:
    return [
        SweepRow(
            run=f"labs={labs}/seed-{seed}",
            dials={"labs": labs},
            seed=seed,
            status="completed",
            judged=True,
            scores={
                "x": None if value is None else float(value),
                "agi_year": None if value is None else 2030 + 2.0 * value,
            },
        )
        for labs, values in cells.items()
        for seed, value in enumerate(values)
    ]


def write(tmp_path: Path, rows: list[SweepRow], dials: list[str] | None = None) -> str:
    write_report(
        tmp_path,
        rows,
        ["labs"] if dials is None else dials,
        title="Sweep of labs",
        scales={"x": "1-10", "agi_year": "year"},
        scenario_name="labs",
    )
    return (tmp_path / "report.md").read_text(encoding="utf-8")


def test_the_report_says_how_much_is_seeds_per_score_and_per_cell(tmp_path: Path) -> None:
    rows = rows_of({2: [1, 2, 3], 3: [3, 4, 5], 4: [5, 6, 7], 5: [4]})
    rows.append(SweepRow(run="labs=5/seed-1", dials={"labs": 5}, seed=1, status="failed", scores={"x": 1.0}))
    stats = aggregate(rows, ["labs"])
    assert [c.spread["x"].n for c in stats.cells] == [3, 3, 3, 1]
    assert stats.variance["x"] == decompose([[1, 2, 3], [3, 4, 5], [5, 6, 7], [4]])
    markdown = write(tmp_path, rows)
    seeds = section(markdown, "Seeds or dials")
    # x: 6 within as above; the cell of one 4 adds nothing to either (its mean is the overall 4):
    # seeds' share 6 / 30 = 20%, F = (24 / 3) / (6 / 6) = 8 on 3 and 6 degrees of freedom,
    # p = 0.0161. agi_year is 2030 + 2x: the same shares, SD 2 (years).
    assert "Seeds explain 20% of the variance of x; the dials 80% (p = 0.016)." in seeds
    assert "Seeds explain 20% of the variance of agi_year; the dials 80% (p = 0.016)." in seeds
    table = {line.split(" | ")[0].strip("| "): line for line in seeds.splitlines() if line.startswith("| ")}
    # s = 1: +-0.5 needs 18 runs and +-1 needs 7; s = 2 years: +-1 year 18, +-2 years 7.
    assert table["x"] == "| x | 10 in 4 cells | 20% | 80% | 0.016 | 1.00 | ±0.5: 18, ±1: 7 |"
    assert (
        table["agi_year"]
        == "| agi_year | 10 in 4 cells | 20% | 80% | 0.016 | 2.00 | ±1 year: 18, ±2 years: 7 |"
    )
    # Per cell: SD 1 and the t interval's half-width, 4.30 / sqrt(3) = 2.48; the cell with one
    # completed run (its failed run does not count) has no spread to measure.
    assert table["2"] == "| 2 | 3 | SD 1.00, ±2.48 | SD 2.00, ±4.97 |"
    assert table["5"] == "| 5 | 2 (1 failed) | one run: no spread | one run: no spread |"

    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Seeds or dials</h2>" in page
    assert "Seeds explain 20% of the variance of x; the dials 80% (p = 0.016)." in page
    assert "<td>SD 1.00, ±2.48</td>" in page
    assert "<td>±0.5: 18, ±1: 7</td>" in page
    note = "over the grid's 4 cells, seeds explain 20% of the variance, the dials 80%"
    assert note in texts(tmp_path / "plots" / "labs--x.svg")


def test_missing_values_are_counted_k_of_n(tmp_path: Path) -> None:
    rows = rows_of({2: [1, None, 3], 3: [4, 6, 5]})
    seeds = section(write(tmp_path, rows), "Seeds or dials")
    # x: 1 3 | 4 6 5: within 2 + 2 = 4 on 5 - 2 = 3 degrees of freedom.
    assert "| x | 5 of 6 in 2 cells |" in seeds
    assert "| 2 | 3 | SD 1.41, ±12.71 (2 of 3) |" in seeds
    assert "| 3 | 3 | SD 1.00, ±2.48 |" in seeds
    # Means 2 and 5, overall 3.8: between 2 * 1.8^2 + 3 * 1.2^2 = 10.8; F = 10.8 / (4 / 3) = 8.1.
    assert "Seeds explain 27% of the variance of x; the dials 73% (p = 0.065)." in seeds
    # Cells far apart for their noise: "p < 0.001", escaped in Markdown, plain on the page.
    seeds = section(write(tmp_path, rows_of({2: [1, 1.1, 0.9], 3: [5, 5.1, 4.9]})), "Seeds or dials")
    assert "Seeds explain 0% of the variance of x; the dials 100% (p \\< 0.001)." in seeds
    assert "(p &lt; 0.001)" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_cells_of_one_run_say_there_is_no_spread_to_measure(tmp_path: Path) -> None:
    markdown = write(tmp_path, rows_of({2: [1], 3: [4], 4: [5]}))
    seeds = section(markdown, "Seeds or dials")
    assert seeds.startswith("\nNo cell has two scored runs, so there is no seed-to-seed spread to measure.")
    assert "Seeds explain" not in seeds
    assert "| " not in seeds  # no table of numbers that are not there
    assert not [t for t in texts(tmp_path / "plots" / "labs--x.svg") if "seeds" in t]
    # Some cells repeated: the others say they have no spread, the split is over what there is.
    seeds = section(write(tmp_path, rows_of({2: [1, 3], 3: [4], 4: [5]})), "Seeds or dials")
    assert "| 3 | 1 | one run: no spread | one run: no spread |" in seeds
    assert "| x | 4 in 3 cells |" in seeds


def test_a_sweep_without_dials_gives_the_seed_sd_and_repeats_only(tmp_path: Path) -> None:
    rows = [msgspec.structs.replace(r, dials={}) for r in rows_of({1: [1, 2, 3]})]
    markdown = write(tmp_path, rows, dials=[])
    seeds = section(markdown, "Seed to seed")
    assert "## Seeds or dials" not in markdown
    assert "| score | values | seed SD | repeats for a 95% interval of |" in seeds
    assert "| x | 3 in 1 cell | 1.00 | ±0.5: 18, ±1: 7 |" in seeds
    assert "seed-to-seed SD 1.00 (3 runs)" in texts(tmp_path / "plots" / "all-runs--x.svg")


def test_repeats_are_for_half_widths_natural_to_the_scale(tmp_path: Path) -> None:
    # x: 10 20 30 | 30 40 50, SD 10: on a 0-100 scale +-5 needs 18 runs and +-10 needs 7 (as
    # +-0.5 and +-1 at SD 1). agi_year has no scale here: no width to give, only its SD.
    rows = rows_of({2: [10, 20, 30], 3: [30, 40, 50]})
    write_report(tmp_path, rows, ["labs"], title="t", scales={"x": "0-100"}, scenario_name="s")
    seeds = section((tmp_path / "report.md").read_text(encoding="utf-8"), "Seeds or dials")
    table = {line.split(" | ")[0].strip("| "): line for line in seeds.splitlines() if line.startswith("| ")}
    assert table["x"].startswith("| x | 6 in 2 cells | 40% | 60% |")
    assert table["x"].endswith("| 10.00 | ±5: 18, ±10: 7 |")
    assert table["agi_year"].endswith("| 20.00 | \u2013 |")  # an en dash: nothing to say


# end to end


def test_a_small_offline_sweep_reports_the_seed_share_and_each_cells_spread(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = (
        "sweep",
        "three-labs",
        "--set",
        "clock.end=2025",
        "--grid",
        "regulation=none,strict",
        "--repeats",
        "3",
    )
    result = run_cli(*args, "--out", str(out), "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with (out / "summary.csv").open(encoding="utf-8", newline="") as f:
        summary = list(csv.DictReader(f))
    markdown = (out / "report.md").read_text(encoding="utf-8")
    seeds = section(markdown, "Seeds or dials")
    page = (out / "report.html").read_text(encoding="utf-8")
    for column in ("capability_progress", "safety_risk", "regulation_level"):
        # The split, computed here from summary.csv on its own.
        cells = [[float(r[column]) for r in summary if r["regulation"] == s] for s in ("none", "strict")]
        values = [v for cell in cells for v in cell]
        within = sum((v - statistics.fmean(cell)) ** 2 for cell in cells for v in cell)
        total = sum((v - statistics.fmean(values)) ** 2 for v in values)
        share = round(100 * within / total)
        sentence = f"Seeds explain {share}% of the variance of {column}; the dials {100 - share}% ("
        assert sentence in seeds
        assert sentence in page
        assert f"| {column} | 6 in 2 cells | {share}% | {100 - share}% |" in seeds
        note = f"over the grid's 2 cells, seeds explain {share}% of the variance, the dials {100 - share}%"
        assert note in texts(out / "plots" / f"regulation--{column}.svg")
    # Each cell's spread of each score, as statistics.stdev and the t interval give it.
    per_cell = seeds.split("Seed to seed, per cell", 1)[1].split("\n\n")[1]
    lines = {line.split(" | ")[0].strip("| "): line for line in per_cell.splitlines()}
    for setting in ("none", "strict"):
        values = [float(r["capability_progress"]) for r in summary if r["regulation"] == setting]
        sd = statistics.stdev(values)
        spread = f"SD {sd:.2f}, ±{T_975_2 * sd / math.sqrt(3):.2f}"
        assert re.match(rf"\| {setting} \| 3 \| {re.escape(spread)} \|", lines[setting]), lines[setting]
