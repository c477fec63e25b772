"""Text into Markdown, as both transcript layouts write it: data escaped onto one line, a
model's prose kept as written but unable to open HTML or a heading, and a run's error as one
list item; and a judge's score as text, as the transcript and the viewer's page show it."""

from __future__ import annotations

from ..log._events import RunError, Score

__all__ = ["TRUNCATED_MARK", "error_line", "error_where", "md", "prose", "score_text"]

# After a statement whose model call the server cut off at max_tokens (finish_reason "length").
TRUNCATED_MARK = " _[cut off at max_tokens]_"

# Each of Markdown's special characters behind a backslash: one pass in C (a pattern's
# substitution ran Python for every character it escaped).
_MD_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#"})


def md(text: str) -> str:
    """Plain text in Markdown: special characters escaped, on one line (a table cell)."""
    return " ".join(text.split()).translate(_MD_ESCAPES)


def prose(text: str) -> str:
    """A model's text, kept as written except that it can open no HTML and no heading."""
    text = text.strip().replace("<", "&lt;")
    return "\n".join("\\" + line if line.lstrip().startswith("#") else line for line in text.splitlines())


def error_line(error: RunError) -> str:
    """A run's error as one Markdown list item: its type, message, and where it happened."""
    where = error_where(error)
    place = f"{where}, seq {error.seq}" if where else f"seq {error.seq}"
    return f"- {error.error_type}: {error.message} ({place})"


def error_where(error: RunError) -> str:
    """Where an error happened: its actor, else its conversation's path, else ""."""
    return error.actor or (" / ".join(error.conversation) if error.conversation else "")


def score_text(score: Score) -> str:
    """A judge's score as text: ``7/10`` on the 1-10 scale, ``2031`` for a year, ``no
    announcement`` for a year never announced, ``n/a`` for any other missing value."""
    if score.value is None:
        return "no announcement" if score.scale == "year" else "n/a"
    number = _number(score.value)
    return f"{number}/10" if score.scale == "1-10" else number


def _number(value: float) -> str:
    """A number as text: whole without a decimal point (``7``), else its shortest ``repr``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
