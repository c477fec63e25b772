"""Rows as files and as tables: JSON (a list of objects, one per row) and CSV (a header row, then
one line per row), and ``load_sweep``, a sweep's summary and statements as pandas DataFrames (or,
without pandas, lists of dicts).

JSON reads back with ``json.load`` or ``pandas.read_json``; CSV with the ``csv`` module,
``pandas.read_csv`` or a spreadsheet. A missing value is ``null`` in JSON and an empty cell in
CSV; booleans are ``true``/``false`` in both, as in ``summary.csv``.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._exceptions import SweepError
from ..sweeps._summary_csv import cell_text
from ._source import SUMMARY, SweepSource, open_source
from ._statements import STATEMENT_COLUMNS, dial_columns, sweep_statement_rows

__all__ = ["SweepTables", "csv_text", "json_text", "load_sweep", "statement_columns", "typed_rows"]

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def statement_columns(dial_names: Sequence[str] | None = None) -> list[str]:
    """The columns of statement rows: a run's, or with ``dial_names`` a sweep's (the dials and
    ``seed`` after ``run``)."""
    if dial_names is None:
        return list(STATEMENT_COLUMNS)
    return ["run", *dial_columns(dial_names), "seed", *STATEMENT_COLUMNS[1:]]


def json_text(rows: Sequence[dict[str, Any]]) -> str:
    """``rows`` as a JSON list of objects, one row a line (UTF-8 text, not escaped to ASCII)."""
    if not rows:
        return "[]\n"
    return "[\n" + ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n]\n"


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` as CSV: a header row of ``columns``, then a line per row (a text's line breaks
    quoted inside its cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return cell_text(value)


def typed_rows(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The header and the rows of a CSV text, each column's cells turned into what they hold:
    a column of whole numbers into ``int``, of numbers into ``float``, of ``true``/``false``
    into ``bool``, else kept as text; an empty cell is None.

    Raises:
        ValueError: the text is not CSV (the message names the line).
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        cells = list(reader)
    except csv.Error as exc:
        raise ValueError(f"line {reader.line_num}: {exc}") from None
    for number, line in enumerate(cells, start=2):
        if len(line) != len(header):
            raise ValueError(f"line {number}: {len(line)} cells where the header has {len(header)}")
    converters = [_converter([line[i] for line in cells]) for i in range(len(header))]
    rows = [
        {name: convert(cell) for name, convert, cell in zip(header, converters, line, strict=True)}
        for line in cells
    ]
    return header, rows


def _converter(column: list[str]) -> Callable[[str], Any]:
    values = [cell for cell in column if cell != ""]
    if values and all(cell in ("true", "false") for cell in values):
        return lambda cell: None if cell == "" else cell == "true"
    if values and all(_INT.fullmatch(cell) for cell in values):
        return lambda cell: None if cell == "" else int(cell)
    if values and all(_FLOAT.fullmatch(cell) for cell in values):
        return lambda cell: None if cell == "" else float(cell)
    return lambda cell: None if cell == "" else cell


@dataclass(frozen=True, slots=True)
class SweepTables:
    """A sweep's results as tables: pandas DataFrames if pandas can be imported, else lists of
    dicts (one per row, the columns in order).

    Attributes:
        directory: the sweep's directory.
        dials: the grid's keys, in order.
        summary: ``summary.csv``: a row per run (``run``, the dials, ``seed``, ``status``, the
            counts, ``cost_usd``, ..., every score), numbers as numbers.
        statements: every statement of every run that has a log (``converse export DIR
            --format csv`` writes the same rows): ``run``, the dials, ``seed``, ``period``,
            ``organisation``, ``conversation``, ``speaker``, ``model``, ``text``,
            ``prompt_tokens``, ``completion_tokens``, ``seq``.
    """

    directory: Path
    dials: list[str]
    summary: Any
    statements: Any


def load_sweep(directory: str | os.PathLike[str]) -> SweepTables:
    """A sweep's summary and all its runs' statements, as tables.

    Args:
        directory: the sweep's directory (``converse sweep --out DIR``, or ``run_sweep``'s ``out``).

    Returns:
        The tables: ``.summary`` (``summary.csv``, a row per run) and ``.statements`` (a row
        per statement of every run), pandas DataFrames if pandas is installed, else lists of
        dicts.

    Raises:
        SweepError: the directory is not a sweep's, or its ``summary.csv`` is missing or unreadable.
        LogError: a run's log is not a log (the message names the file and line).
    """
    path = Path(directory)
    source = open_source(path)
    if not isinstance(source, SweepSource):
        raise SweepError(
            str(path), "is a run, not a sweep (no sweep.json): read it with converse.read_events"
        )
    try:
        summary_columns, summary = typed_rows(source.summary_text())
    except ValueError as exc:
        raise SweepError(str(path / SUMMARY), f"not a summary: {exc}") from None
    statements = sweep_statement_rows(source.runs(), source.dial_names)
    return SweepTables(
        directory=path,
        dials=source.dial_names,
        summary=_table(summary, summary_columns),
        statements=_table(statements, statement_columns(source.dial_names)),
    )


def _table(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """``rows`` as a pandas DataFrame with ``columns`` in order, or as they are without pandas."""
    try:
        pandas = importlib.import_module("pandas")  # optional: not a dependency
    except ImportError:
        return rows
    return pandas.DataFrame.from_records(rows, columns=columns)
