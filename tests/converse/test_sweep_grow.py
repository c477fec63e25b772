"""A sweep that grows: ``converse sweep`` on a sweep's directory with a larger ``--repeats`` or
more values of a grid key runs only the runs it lacks, names and seeds them as a fresh sweep of
the larger grid would, and leaves every finished run's files as they were; anything else is
refused with one line naming what differs, and nothing in the directory is touched."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from _helpers import ROOT, one_error_line, run_cli, tree_of
from converse.sweeps import SweepRow, plan_sweep, read_summary_csv, run_sweep

SHORT = ("--set", "clock.end=2025")
GRID = ("--grid", "regulation=none,strict")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def runs_in(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.is_dir() and p.name != "plots"}


def test_more_repeats_run_only_the_missing_runs_as_a_fresh_sweep_would(tmp_path: Path) -> None:
    out, fresh = tmp_path / "sweep", tmp_path / "fresh"
    first = run_cli(
        "sweep", "three-labs", *SHORT, *GRID, "--repeats", "2", "--out", str(out), "-q", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    finished = runs_in(out)
    assert len(finished) == 4
    files = {run: tree_of(out / run) for run in finished}
    before = rows(out / "summary.csv")

    grown = run_cli(
        "sweep", "three-labs", *SHORT, *GRID, "--repeats", "4", "--out", str(out), "-q", cwd=tmp_path
    )
    assert grown.returncode == 0, grown.stderr
    assert "8 runs (4 finished earlier; grown by --repeats 2 -> 4): 8 completed, 0 failed" in grown.stderr
    # Exactly the missing runs were run: four new run directories, and every finished run's
    # files (and folders) have the bytes and modification times they had.
    assert runs_in(out) - finished == {f"regulation={r},seed={s}" for r in ("none", "strict") for s in (2, 3)}
    assert {run: tree_of(out / run) for run in finished} == files
    after = rows(out / "summary.csv")
    assert [(r["regulation"], r["seed"], r["status"]) for r in after] == [
        (r, str(s), "completed") for r in ("none", "strict") for s in range(4)
    ]
    assert [r for r in after if r["run"] in finished] == before
    assert json.loads((out / "sweep.json").read_bytes())["repeats"] == 4

    # The grown sweep is the sweep a fresh command with four repeats makes: the same runs,
    # seeds and results, so the same summary, record and report.
    made = run_cli(
        "sweep", "three-labs", *SHORT, *GRID, "--repeats", "4", "--out", str(fresh), "-q", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    for name in ("summary.csv", "sweep.json", "report.md"):
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


class Counted:
    """A sweep's progress, counted: what it was told at the start and every run it finished."""

    def __init__(self) -> None:
        self.total = self.done = -1
        self.ran: list[str] = []

    def start(self, total: int, done: int, failed: int) -> None:
        self.total, self.done = total, done

    def finished(self, row: SweepRow) -> None:
        self.ran.append(row.run)

    def tokens(self, count: int) -> None:
        """Tokens are not what these tests count."""


async def test_a_new_value_runs_its_cell_only_and_an_interrupted_run_is_still_finished(
    backend: str, tmp_path: Path
) -> None:
    sweep, _, runs = plan_sweep(
        "three-labs", ["regulation=none,strict"], repeats=2, overrides=["clock.end=2025"]
    )
    assert (await run_sweep(sweep, runs, tmp_path)).completed == 4
    victim = tmp_path / "regulation=strict,seed=1" / "events.jsonl"
    lines = victim.read_bytes().splitlines(keepends=True)
    victim.write_bytes(b"".join(lines[: len(lines) // 2]))  # killed mid-run
    kept = {
        run: tree_of(tmp_path / run)
        for run in ("regulation=none,seed=0", "regulation=none,seed=1", "regulation=strict,seed=0")
    }

    sweep, _, runs = plan_sweep(
        "three-labs", ["regulation=none,strict,light"], repeats=2, overrides=["clock.end=2025"]
    )
    counted = Counted()
    outcome = await run_sweep(sweep, runs, tmp_path, progress=counted)
    assert (counted.total, counted.done) == (6, 3)
    assert sorted(counted.ran) == [
        "regulation=light,seed=0",
        "regulation=light,seed=1",
        "regulation=strict,seed=1",
    ]
    assert (outcome.total, outcome.skipped, outcome.completed, outcome.grown) == (
        6,
        3,
        6,
        "--grid regulation +light",
    )
    assert {run: tree_of(tmp_path / run) for run in kept} == kept
    summary = read_summary_csv(outcome.summary, ["regulation"])
    assert [(r.dials["regulation"], r.seed, r.status) for r in summary] == [
        (v, s, "completed") for v in ("none", "strict", "light") for s in (0, 1)
    ]


def test_the_same_values_in_another_order_run_nothing(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    assert (
        run_cli("sweep", "three-labs", *SHORT, *GRID, "--out", str(out), "-q", cwd=tmp_path).returncode == 0
    )
    files = {run: tree_of(out / run) for run in runs_in(out)}
    again = run_cli(
        "sweep",
        "three-labs",
        *SHORT,
        "--grid",
        "regulation=strict,none",
        "--out",
        str(out),
        "-q",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert "2 runs (2 finished earlier): 2 completed" in again.stderr
    assert {run: tree_of(out / run) for run in runs_in(out)} == files
    assert [r["regulation"] for r in rows(out / "summary.csv")] == ["strict", "none"]


BASE = ("--grid", "regulation=none,strict", "--grid", "race_pressure=relaxed", "--repeats", "2", *SHORT)


@pytest.fixture(scope="module")
def base_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``labs.toml`` (three-labs) and ``sweep/``, its 2 x 1 x 2-run sweep."""
    folder = tmp_path_factory.mktemp("base")
    shutil.copy(ROOT / "scenarios" / "three-labs.toml", folder / "labs.toml")
    made = run_cli("sweep", "labs.toml", *BASE, "--out", "sweep", "-q", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder


@pytest.mark.parametrize(
    ("args", "edit", "expected"),
    [
        (
            ("--grid", "regulation=none", "--grid", "race_pressure=relaxed", "--repeats", "2", *SHORT),
            None,
            "--grid regulation lost the value strict (the sweep has 2 runs for it); a sweep only grows",
        ),
        (
            ("--grid", "regulation=none,strict", "--repeats", "2", *SHORT),
            None,
            "--grid race_pressure is missing (the sweep's runs have race_pressure=relaxed); a sweep only grows",
        ),
        (
            (*BASE, "--grid", "model=offline"),
            None,
            "--grid model is a new key: the sweep's runs have no value for it (a sweep grows by --repeats and by "
            "more values of its keys); start another --out",
        ),
        (
            ("--grid", "race_pressure=relaxed", "--grid", "regulation=none,strict", "--repeats", "2", *SHORT),
            None,
            "--grid: the keys are in another order than the sweep's (regulation, race_pressure); give them in that order",
        ),
        (
            (*BASE[:-4], "--repeats", "1", *SHORT),
            None,
            "--repeats 1 is fewer than the sweep's 2 (it has 2 runs of seed 1); a sweep only grows",
        ),
        ((*BASE, "--seed", "1"), None, "--seed 1: the sweep's seeds start at 0; a sweep only grows"),
        (
            (*BASE, "--model", "offline?latency=0.001"),
            None,
            "--model offline?latency=0.001: the sweep was made with the scenario model; a sweep only grows",
        ),
        (
            (*BASE[:-2], "--set", "clock.end=2024"),
            None,
            "--set clock.end=2024: the sweep was made with --set clock.end=2025; a sweep only grows",
        ),
        (
            (*BASE, "--set", "model.temperature=0.5"),
            None,
            "--set model.temperature=0.5 is new: the sweep was made without it; a sweep only grows",
        ),
        (
            BASE,
            ("max_tokens = 600", "max_tokens = 500"),
            "the scenario changed since the run regulation=none,race_pressure=relaxed,seed=0 was made: "
            "model.max_tokens is 500 now, 600 in its log; a sweep's runs share one scenario",
        ),
    ],
    ids=[
        "value-lost",
        "key-lost",
        "key-new",
        "keys-reordered",
        "fewer-repeats",
        "seed",
        "model",
        "set-changed",
        "set-new",
        "scenario-file-edited",
    ],
)
def test_what_is_not_growth_is_refused_in_one_line_and_nothing_is_touched(
    base_sweep: Path, tmp_path: Path, args: tuple[str, ...], edit: tuple[str, str] | None, expected: str
) -> None:
    shutil.copytree(base_sweep, tmp_path, dirs_exist_ok=True)
    if edit is not None:
        scenario = tmp_path / "labs.toml"
        text = scenario.read_text(encoding="utf-8")
        assert edit[0] in text
        scenario.write_text(text.replace(edit[0], edit[1]), encoding="utf-8")
    before = tree_of(tmp_path)
    refused = run_cli("sweep", "labs.toml", *args, "--out", "sweep", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert one_error_line(refused).startswith(f"converse: error: sweep sweep: {expected}")
    assert tree_of(tmp_path) == before
