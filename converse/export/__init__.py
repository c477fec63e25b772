"""Results out: a run or a sweep as a self-contained HTML page, its statements as rows (JSON,
CSV, or tables for pandas), or its transcript; what ``converse export`` writes.

Load a sweep's results into pandas (or, without pandas, lists of dicts)::

    tables = converse.load_sweep("sweeps/race")
    tables.statements.groupby(["regulation", "organisation"]).completion_tokens.mean()
"""

from ._formats import FORMATS as FORMATS
from ._formats import export_text as export_text
from ._html import render_html as render_html
from ._statements import STATEMENT_COLUMNS as STATEMENT_COLUMNS
from ._statements import statement_rows as statement_rows
from ._tables import SweepTables as SweepTables
from ._tables import load_sweep as load_sweep

__all__ = [
    "FORMATS",
    "STATEMENT_COLUMNS",
    "SweepTables",
    "export_text",
    "load_sweep",
    "render_html",
    "statement_rows",
]
