"""The lists a dataset is made from, as text: a model's numbered or bulleted answer read into
items (``parse_list``), and the numbered roles and tasks files read and written."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from .._exceptions import ListFileError
from .._files import write_atomic

__all__ = ["parse_list", "read_list_file", "write_list_file"]

_NUMBERED = re.compile(r"^\s*[*_#>]*\s*\(?\d{1,4}\s*[.):\]][*_]*(?:\s+|(?=[^\d\s]))(?P<item>.*)$")
_BULLET = re.compile(r"^\s*[-*•+]\s+(?P<item>.*)$")
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "«": "»", "`": "`"}


def _clean_item(text: str) -> str:
    """A list item without Markdown emphasis and surrounding quotes."""
    text = text.strip()
    for _ in range(3):  # peel nested wrappers: **"X"**
        for mark in ("**", "__", "*", "_"):
            if len(text) > 2 * len(mark) and text.startswith(mark) and text.endswith(mark):
                text = text[len(mark) : -len(mark)].strip()
        if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
            text = text[1:-1].strip()
    # Bold that covers only a leading name ("**Accountant** - ..."): drop the markers.
    text = re.sub(r"^(\*\*|__)(.+?)\1", r"\2", text)
    if text.count("**") == 1:  # half of a bold pair the number's markup split off
        text = text.replace("**", "")
    return text.strip()


def parse_list(text: str, limit: int | None = None) -> list[str]:
    """The items of a model's list: numbered (``1. X``, ``1) X``, ``1: X``) or bulleted
    (``- X``, ``* X``) lines, or every non-empty line when none is; Markdown emphasis and
    surrounding quotes removed, any explanation after the item kept, duplicates (ignoring
    case) dropped, order kept, at most ``limit``.
    """
    lines = text.splitlines()
    listed = [m["item"] for line in lines if (m := _NUMBERED.match(line) or _BULLET.match(line))]
    if not listed:
        listed = [line for line in lines if line.strip()]
    unique: dict[str, str] = {}
    for item in filter(None, map(_clean_item, listed)):
        unique.setdefault(item.casefold(), item)
    items = list(unique.values())
    return items if limit is None else items[: max(limit, 0)]


def read_list_file(path: str | os.PathLike[str]) -> list[str]:
    """The entries of a roles or tasks file: one per non-empty line, a ``1.`` style number
    stripped, lines starting with ``#`` ignored.

    Raises:
        ListFileError: the file is missing or unreadable, not UTF-8, or holds no entries.
    """
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ListFileError(path, "not UTF-8 text") from None
    except OSError as exc:
        missing = isinstance(exc, FileNotFoundError)
        raise ListFileError(
            path, "no such file" if missing else f"cannot read: {exc.strerror or exc}"
        ) from None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    entries = [item for line in lines if (item := _clean_item(_NUMBERED.sub(r"\g<item>", line)))]
    if not entries:
        raise ListFileError(path, "holds no entries")
    return entries


def write_list_file(path: str | os.PathLike[str], items: Iterable[str]) -> None:
    """Write ``items`` as ``1. X`` lines (each item on one line), atomically: the file is
    whole or untouched."""
    lines = [f"{n}. {' '.join(str(item).split())}\n" for n, item in enumerate(items, 1)]
    write_atomic(Path(path), "".join(lines))
