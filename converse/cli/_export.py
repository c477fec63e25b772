"""``converse export RUN_OR_SWEEP --format html|json|csv|markdown [-o FILE]``: results out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._exceptions import LogError
from .._files import write_atomic
from ..export._formats import FORMATS, export_text
from ..export._source import SweepSource, open_source

__all__ = ["add_parser"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``converse export``."""
    export = commands.add_parser(
        "export",
        help="write a run's or a sweep's results: an HTML page, statements as JSON or CSV, or Markdown",
        description="Write a run's or a sweep's results: html (one self-contained page, no script; a sweep's "
        "index of its runs, each run's page folded), json or csv (a row per statement: run, period, "
        "organisation, conversation, speaker, model, text, tokens; a sweep's with each run's dials and seed), "
        "or markdown (the transcript; a sweep's in one file).",
    )
    export.add_argument(
        "source",
        type=Path,
        metavar="RUN_OR_SWEEP",
        help="a run directory (or its events.jsonl), or a sweep directory (holding sweep.json)",
    )
    export.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    export.add_argument(
        "-o", "--output", type=Path, help="write here (whole, or not at all) instead of stdout"
    )
    export.set_defaults(handler=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    source = open_source(args.source)
    output: Path | None = args.output
    if output is not None and source.owns(output):
        what = (
            "one of this sweep's own files"
            if isinstance(source, SweepSource)
            else "one of this run's own files"
        )
        raise LogError(str(args.source), 0, f"-o {output} is {what}: choose another file for the export")
    text = export_text(source, args.format)
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
    return 0
