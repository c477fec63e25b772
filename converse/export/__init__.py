"""Results out: a run or a sweep as a self-contained HTML page, its statements as rows (JSON,
CSV, or tables for pandas), or its transcript; what ``converse export`` writes.

Load a sweep's results into pandas (or, without pandas, lists of dicts)::

    tables = converse.load_sweep("sweeps/race")
    tables.statements.groupby(["regulation", "organisation"]).completion_tokens.mean()
"""

from typing import TYPE_CHECKING, Any

from ._formats import FORMATS as FORMATS
from ._formats import export_text as export_text
from ._statements import STATEMENT_COLUMNS as STATEMENT_COLUMNS
from ._statements import statement_rows as statement_rows
from ._tables import SweepTables as SweepTables
from ._tables import load_sweep as load_sweep

if TYPE_CHECKING:
    from ._html import render_html as render_html


def __getattr__(name: str) -> Any:
    """``render_html``, imported when first asked for (the page's renderer is the package's
    largest module; a sweep or a run does not need it)."""
    if name == "render_html":
        from ._html import render_html

        return render_html
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMATS",
    "STATEMENT_COLUMNS",
    "SweepTables",
    "export_text",
    "load_sweep",
    "render_html",
    "statement_rows",
]
