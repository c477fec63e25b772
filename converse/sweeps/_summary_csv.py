"""A sweep's runs as rows, and ``summary.csv``, the file that holds them: one line per run.

Each run of a sweep is one :class:`SweepRow`: its grid cell, seed, outcome, spending and the
judge's scores, each score in a column of its own (``score_column``), and for a population run
its population columns (``_population``). ``_stats`` computes statistics over the rows'
measured columns, the scores and the population's alike (``measured_columns_of``,
``measured``); ``_report`` writes the report of them.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from .._files import write_atomic
from ..log._events import Score
from ..scenario._scenario import DialValue
from ._population import POPULATION_COLUMNS

__all__ = [
    "SweepRow",
    "cell_text",
    "measured",
    "measured_columns_of",
    "population_columns_of",
    "read_summary_csv",
    "score_column",
    "score_columns_of",
    "scores_of",
    "write_summary_csv",
]

_STATUSES = ("completed", "failed", "cancelled", "budget_exhausted", "pending")
_COUNTS = ("periods", "turns", "llm_calls", "prompt_tokens", "completion_tokens")
_FIXED = ("seed", "status", "reason", *_COUNTS, "cost_usd")
_JUDGE = ("judged", "judge_error")  # after the fixed columns; a file written before them has none
_TRUNCATED = "truncated"  # after them; a file written before it reads as 0
_ESTIMATED = "estimated_tokens"  # after it; likewise
_POPULATION = frozenset(POPULATION_COLUMNS)  # last, after the scores; a file written before them has none
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class SweepRow(msgspec.Struct, frozen=True, kw_only=True):
    """One run of a sweep: its grid cell, seed, outcome, spending, the judge's scores and a
    population run's columns.

    ``scores`` maps a score column (``agi_year[OpenAI]``, see ``score_column``) to its value;
    None means the judge gave none (a lab that never announced AGI has no AGI year).
    ``population`` maps a population column (``population_safety_share``, see ``_population``)
    to its value; empty for a run with no ``population_state`` event.

    ``judged``: True if the judge scored the run, False if it failed on it (``judge_error``
    says why, in its first line), None if the run was not judged: it did not complete, or
    its scenario has no judge.
    """

    run: str
    dials: dict[str, DialValue]
    seed: int
    status: str
    reason: str = ""
    periods: int = 0
    turns: int = 0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    judged: bool | None = None
    judge_error: str = ""
    truncated: int = 0
    estimated_tokens: int = 0
    scores: dict[str, float | None] = {}
    population: dict[str, float | None] = {}


def score_column(name: str, subject: str | None) -> str:
    """The column of a score: ``name``, or ``name[subject]`` for a per-organisation score."""
    return name if subject is None else f"{name}[{subject}]"


def scores_of(judged_scores: Iterable[Score]) -> dict[str, float | None]:
    """A judge's scores by column, in the judge's order."""
    return {score_column(s.name, s.subject): s.value for s in judged_scores}


def score_columns_of(rows: Iterable[SweepRow]) -> list[str]:
    """Every score column of ``rows``, in the order they first appear."""
    return list({c: None for row in rows for c in row.scores})


def population_columns_of(rows: Iterable[SweepRow]) -> list[str]:
    """The population columns some row of ``rows`` has, in their order (none without a population run)."""
    present = {c for row in rows for c in row.population}
    return [c for c in POPULATION_COLUMNS if c in present]


def measured_columns_of(rows: Sequence[SweepRow]) -> list[str]:
    """The columns the statistics measure: every score column, then every population column."""
    return [*score_columns_of(rows), *population_columns_of(rows)]


def measured(row: SweepRow, column: str) -> float | None:
    """A run's value in a measured column; None if it gave none."""
    value = row.scores.get(column)
    return row.population.get(column) if value is None else value


def cell_text(value: DialValue | None) -> str:
    """A value as a CSV cell or a label: ``true``, ``3``, ``0.5``, text; None is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)  # repr for floats: the shortest text that reads back the same


def write_summary_csv(
    path: str | os.PathLike[str], rows: Sequence[SweepRow], dial_names: Sequence[str]
) -> None:
    """Write one line per run, in the order of ``rows``, atomically (a reader never sees half a file).

    The columns: ``run``, the dials, ``seed``, ``status``, ``reason``, the counts, ``cost_usd``,
    ``judged`` (``true``, ``false`` when the judge failed, empty when the run was not judged),
    ``judge_error`` (why it failed), ``truncated`` (answers cut off at ``max_tokens``),
    ``estimated_tokens`` (of the tokens, those the server did not report: converse's estimate),
    then every score column in the order the judge gave them, then the population columns
    (``population_researchers``, ...) when some run has them.
    Booleans are ``true``/``false``, a missing score or population value an empty cell.
    """
    columns = score_columns_of(rows)
    population = population_columns_of(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run", *dial_names, *_FIXED, *_JUDGE, _TRUNCATED, _ESTIMATED, *columns, *population])
    for row in rows:
        dials = [cell_text(row.dials.get(d, "")) for d in dial_names]
        counts = [getattr(row, c) for c in _COUNTS]
        fixed = [row.seed, row.status, row.reason, *counts, cell_text(row.cost_usd)]
        fixed += [cell_text(row.judged), row.judge_error, row.truncated, row.estimated_tokens]
        measures = [*(row.scores.get(c) for c in columns), *(row.population.get(c) for c in population)]
        writer.writerow([row.run, *dials, *fixed, *map(cell_text, measures)])
    write_atomic(Path(path), buffer.getvalue())


def read_summary_csv(path: str | os.PathLike[str], dial_names: Sequence[str]) -> list[SweepRow]:
    """The rows of a ``summary.csv``; dial values come back as TOML scalars (``true``, ``3``, ``0.5``, text).

    Every row has every score column of the file, None where the cell is empty; a row with a
    population value has every population column of the file, a row with none no population.
    A file written before the ``judged`` and ``judge_error`` columns reads with ``judged`` None.

    Raises:
        ValueError: the file is not such a summary; the message names the file and line.
    """
    name = os.fspath(path)
    with open(name, encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        try:
            return _parse(name, reader, list(dial_names))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"{name}:{reader.line_num + 1}: {exc}") from None


def _parse(name: str, reader: Iterator[list[str]], dial_names: list[str]) -> list[SweepRow]:
    fixed = ["run", *dial_names, *_FIXED]
    header = next(reader, None)
    if header is None or header[: len(fixed)] != fixed:
        raise ValueError(f"{name}:1: expected the columns {','.join(fixed)} and then scores")
    judge_columns = header[len(fixed) : len(fixed) + len(_JUDGE)] == list(_JUDGE)
    first_score = len(fixed) + len(_JUDGE) * judge_columns
    truncated_column = judge_columns and header[first_score : first_score + 1] == [_TRUNCATED]
    first_score += truncated_column
    estimated_column = truncated_column and header[first_score : first_score + 1] == [_ESTIMATED]
    first_score += estimated_column
    first_population = len(header)
    while first_population > first_score and header[first_population - 1] in _POPULATION:
        first_population -= 1
    scores, population = header[first_score:first_population], header[first_population:]
    rows = []
    for line, cells in enumerate(reader, start=2):
        if len(cells) != len(header):
            raise ValueError(f"{name}:{line}: {len(cells)} cells where the header has {len(header)}")
        record: dict[str, Any] = dict(zip(_FIXED, cells[len(dial_names) + 1 : len(fixed)], strict=True))
        if judge_columns:
            judged, record["judge_error"] = cells[len(fixed) : len(fixed) + len(_JUDGE)]
            if judged not in ("true", "false", ""):
                raise ValueError(f"{name}:{line}: judged is {judged!r}, not true, false or empty")
            record["judged"] = None if not judged else judged == "true"
        if truncated_column:
            record["truncated"] = cells[first_score - 1 - estimated_column]
        if estimated_column:
            record["estimated_tokens"] = cells[first_score - 1]
        if record["status"] not in _STATUSES:
            raise ValueError(f"{name}:{line}: unknown status {record['status']!r}")
        record["run"] = cells[0]
        record["dials"] = {d: _scalar(v) for d, v in zip(dial_names, cells[1:], strict=False)}
        record["scores"] = _values(scores, cells[first_score:first_population])
        given = cells[first_population:]
        record["population"] = _values(population, given) if any(given) else {}
        try:
            rows.append(msgspec.convert(record, SweepRow, strict=False))
        except msgspec.ValidationError as exc:
            raise ValueError(f"{name}:{line}: {exc}") from None
    return rows


def _values(columns: list[str], cells: list[str]) -> dict[str, str | None]:
    """Measured columns' cells by column, None where empty (converted to numbers with the row)."""
    return {c: v or None for c, v in zip(columns, cells, strict=True)}


def _scalar(text: str) -> DialValue:
    if text in ("true", "false"):
        return text == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text
