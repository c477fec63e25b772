"""``converse export``'s four formats, for a run or a sweep: each a pure function of the logs
(and, for a sweep, of its manifest).

- ``html``: a run's page (``render_html``); a sweep's index of its runs, each run's page folded.
- ``json``, ``csv``: a row per statement (``converse.export.statement_rows``); a sweep's rows
  hold every run's, with the run's dials and seed.
- ``markdown``: a run's transcript, as ``converse replay`` writes it (equal to its
  ``transcript.md``); a sweep's is one file: what it ran, a table of its runs, then each run's
  transcript, its header naming the run and its grid cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from ..log._events import RunFinished
from ..scenario._scenario import DialValue
from ..sweeps._summary_csv import cell_text
from ..transcript._markdown import render_markdown
from ..transcript._text import md
from ._source import RunSource, SweepSource, open_source
from ._statements import statement_rows, sweep_statement_rows
from ._tables import csv_text, json_text, statement_columns

__all__ = ["FORMATS", "Format", "export_text"]

Format = Literal["html", "json", "csv", "markdown"]
FORMATS: tuple[Format, ...] = get_args(Format)


def export_text(source: str | Path | RunSource | SweepSource, form: Format) -> str:
    """The export of a run or a sweep in ``form``, as text.

    Args:
        source: a run directory (or its ``events.jsonl``), a sweep directory, or what
            ``open_source`` made of one.
        form: ``html``, ``json``, ``csv`` or ``markdown``.

    Raises:
        LogError: a log is missing or is not a log (the file and line named), or the path is
            neither a run nor a sweep.
        SweepError: a sweep's manifest cannot be read.
        ValueError: ``form`` is none of the four.
    """
    if form not in FORMATS:
        raise ValueError(f"unknown format {form!r}: choose one of {', '.join(FORMATS)}")
    if not isinstance(source, RunSource | SweepSource):
        source = open_source(Path(source))
    if form == "html":  # the page's renderer is imported by the export that writes one
        from ._html import render_html
        from ._sweep_page import render_sweep_html

        return render_html(source.read().events) if isinstance(source, RunSource) else render_sweep_html(source)
    if isinstance(source, RunSource):
        events = source.read().events
        if form == "markdown":
            return render_markdown(events)
        rows = statement_rows(events)
        return json_text(rows) if form == "json" else csv_text(rows, statement_columns())
    if form == "markdown":
        return _sweep_markdown(source)
    rows = sweep_statement_rows(source.runs(), source.dial_names)
    return json_text(rows) if form == "json" else csv_text(rows, statement_columns(source.dial_names))


def _sweep_markdown(source: SweepSource) -> str:
    sweep = source.sweep
    dials = source.dial_names
    table = [
        "| " + " | ".join(["run", *map(md, dials), "seed", "status"]) + " |",
        "|---" * (len(dials) + 3) + "|",
    ]
    transcripts: list[str] = []
    for run in source.runs():
        status = "not started"
        if run.log is not None:
            text = render_markdown(run.log.events)
            last = run.log.events[-1]
            status = last.status if type(last) is RunFinished else "unfinished"
            transcripts.append(_named(text, run.run_id, run.dials))
        cells = [md(run.run_id), *(md(cell_text(run.dials.get(d))) for d in dials), str(run.seed), status]
        table.append("| " + " | ".join(cells) + " |")
    grid = (
        "; ".join(f"{key}={','.join(cell_text(v) for v in values)}" for key, values in sweep.grid) or "none"
    )
    header = [
        f"# Sweep: {md(sweep.scenario_name)}",
        "\n".join(
            [
                f"- **Grid:** {md(grid)}",
                f"- **Seeds:** {sweep.repeats} per cell, from {sweep.seed}",
                f"- **Runs:** {len(transcripts)} of {len(table) - 2} started",
            ]
        ),
        "\n".join(table),
    ]
    return "\n\n".join(header) + "\n\n" + "".join(f"---\n\n{text}" for text in transcripts)


def _named(transcript: str, run_id: str, dials: dict[str, DialValue]) -> str:
    """A run's transcript with its run and grid cell as the first line of its header list (the
    list that follows its title, in both layouts)."""
    title, _, rest = transcript.partition("\n\n")
    cell = ", ".join(f"{md(k)}={md(cell_text(v))}" for k, v in dials.items())
    line = f"- **Run:** {md(run_id)}" + (f" ({cell})" if cell else "")
    return f"{title}\n\n{line}\n{rest}"
