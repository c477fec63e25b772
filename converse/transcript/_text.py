"""Text into Markdown, as both transcript layouts write it: data escaped onto one line, a
model's prose kept as written but unable to open HTML or a heading, and a run's error as one
list item."""

from __future__ import annotations

import re

from ..log._events import RunError

__all__ = ["error_line", "md", "prose"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(text: str) -> str:
    """Plain text in Markdown: special characters escaped, on one line (a table cell)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def prose(text: str) -> str:
    """A model's text, kept as written except that it can open no HTML and no heading."""
    text = text.strip().replace("<", "&lt;")
    return "\n".join("\\" + line if line.lstrip().startswith("#") else line for line in text.splitlines())


def error_line(error: RunError) -> str:
    """A run's error as one Markdown list item: its type, message, and where it happened."""
    where = error.actor or (" / ".join(error.conversation) if error.conversation else "")
    place = f"{where}, seq {error.seq}" if where else f"seq {error.seq}"
    return f"- {error.error_type}: {error.message} ({place})"
