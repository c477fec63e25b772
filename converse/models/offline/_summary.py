"""The offline model's summaries (``hints.kind == "summary"``): deterministic and extractive.

Two requests ask for one (``_memory_prompts``): an agent's running notes, which fold the
turns it is about to forget into its notes so far, and a council's briefing on the public
record. Both are answered the same way: every statement found in the text becomes one
item, ``(period, speaker, first clause)``, and the answer is one line per item,

    - H1 2025, OpenAI: Released Atlas 3.2 to every API customer (AGI: 2031)

in period order, the newest kept where the request's word limit (``in at most N words``,
counted as whitespace-separated words, the bullet included) forces a cut. What counts as a
statement is what the engine shows its agents:

- ``Name (period): text`` lines (a top-level agent's view of the others, a council's public
  record), whose text may be a report: a ``Name period:`` header and ``- Label: text``
  bullets, summarised by its first bullet's first clause and the AGI year it gives;
- a report on its own (an agent's own earlier answer);
- ``Name: text`` lines (a council debate, a debate remark), dated by the turn's period (the
  last period label in what the agent was told);
- the items of earlier notes in this format.

One item is kept per speaker and period (the latest thing said). The work is one pass over
the request's lines, so it is linear in the request's size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...scenario._memory_prompts import BRIEFING, NO_NOTES, NOTES, TURN, TURN_SEPARATOR

__all__ = ["summary_answer"]

CLAUSE_WORDS = 14  # the most words an item's text keeps
_MIN_CLAUSE = 6  # a comma ends the clause only after this many words (not an opener's)
_DEFAULT_WORDS = 250
NOTHING = "(Nothing on record yet.)"

# The fixed text around the placeholders of the memory prompts, so the parsing here follows
# any change to their wording.
_NOTES_HEAD, _rest = NOTES.split("{notes}")
_NOTES_MID, _rest = _rest.split("{turns}")
_NOTES_TAIL = _rest.split("{words}")[0]
_TOLD_HEAD, _rest = TURN.split("{told}")
_SAID_MID = _rest.split("{said}")[0]
_BRIEFING_HEAD, _rest = BRIEFING.split("{summary}")
_BRIEFING_MID, _rest = _rest.split("{record}")
_BRIEFING_TAIL = _rest.split("{organisation}")[0]
_LIMIT = re.compile(r"in at most (\d+) words")

_PERIOD = r"(?:H[12] \d{4}|\d{4}|Round \d+)"
_PERIOD_RE = re.compile(rf"\b{_PERIOD}\b")
_STATEMENT = re.compile(rf"([^\s(:\-*#>][^():\n]{{0,79}}?) \(({_PERIOD})\): ?(.*)")
_HEADER = re.compile(rf"([^\s(:\-*#>][^():\n]{{0,79}}?) ({_PERIOD}):")
_BULLET = re.compile(r"[-*] ([A-Za-z][A-Za-z ]{0,30}): ?(.*)")
_NOTE = re.compile(rf"- ({_PERIOD}), ([^:\n]{{1,80}}): (.*)")
_YEAR = re.compile(r"\b(?:19|20|21)\d\d\b")

Item = tuple[str, str, str]  # (period, speaker, text): "" where unknown


def summary_answer(user: str, speaker: str = "") -> str:
    """The offline answer to a summary request whose newest user message is ``user``.

    Args:
        user: a notes request (``Your notes so far: ...``), a briefing request (``The
            public record so far, in brief: ...``, then the statements since), or any other
            text (summarised as a record).
        speaker: who asks (``hints.speaker``): the author of a turn's answer that does not
            name its speaker.
    """
    words = _word_limit(user)
    if user.startswith(_NOTES_HEAD):
        items = _notes_items(user, speaker)
    elif user.startswith(_BRIEFING_HEAD):
        mid = user.find(_BRIEFING_MID)
        end = user.rfind(_BRIEFING_TAIL)
        summary = user[len(_BRIEFING_HEAD) : mid] if mid != -1 else ""
        record = user[mid + len(_BRIEFING_MID) if mid != -1 else len(_BRIEFING_HEAD) : end if end != -1 else len(user)]
        items = [] if summary.strip() in ("", NO_NOTES) else list(_note_items(summary))
        items.extend(_items(record, ""))
    else:
        items = list(_items(user, ""))
    return _render(_merge(items), words)


def _word_limit(user: str) -> int:
    """The ``in at most N words`` of the request's instructions (they come last)."""
    pos = user.rfind("in at most ")
    match = _LIMIT.match(user, pos) if pos != -1 else None
    return int(match[1]) if match else _DEFAULT_WORDS


def _notes_items(user: str, speaker: str) -> list[Item]:
    """The items of the notes so far, then those of each turn being forgotten."""
    mid = user.find(_NOTES_MID)
    if mid == -1:
        return list(_items(user, _last_period(user)))
    notes = user[len(_NOTES_HEAD) : mid]
    end = user.rfind(_NOTES_TAIL)
    turns = user[mid + len(_NOTES_MID) : end if end > mid else len(user)]
    items = [] if notes.strip() == NO_NOTES else list(_note_items(notes))
    for turn in turns.split(TURN_SEPARATOR) if turns.strip() else ():
        turn = turn.removeprefix(_TOLD_HEAD)
        cut = turn.rfind(_SAID_MID)
        told, said = (turn[:cut], turn[cut + len(_SAID_MID) :]) if cut != -1 else ("", turn)
        period = _last_period(told)
        items.extend(_items(told, period))
        own = list(_items(said, period))
        if not own and said.strip():  # an answer in no format we know: its first clause
            own = [(period, speaker, _clause(said.strip().split("\n", 1)[0]))]
        items.extend(own)
    return items


def _note_items(notes: str) -> Iterator[Item]:
    """The lines of earlier notes: ``- period, Name: text`` as items, other lines as text."""
    for line in notes.split("\n"):
        line = line.strip().lstrip("-* ")
        if not line or line[0] in "([":
            continue
        match = _NOTE.fullmatch(f"- {line}")
        if match:
            yield match[1], match[2], match[3]
        else:
            yield "", "", _clause(line)


def _last_period(text: str) -> str:
    """The last period label in ``text`` (the turn's own, in the engine's prompts), or ""."""
    last = ""
    for match in _PERIOD_RE.finditer(text):
        last = match[0]
    return last


def _items(text: str, period: str) -> Iterator[Item]:
    """The statements in ``text``, in order. ``Name: text`` lines are dated ``period`` or,
    without one, by the statement before them."""
    report: _Report | None = None  # the report whose bullets are being read
    latest = period
    for raw in text.split("\n"):
        line = raw.strip()
        if report is not None:
            bullet = _BULLET.fullmatch(line)
            if bullet:
                report.bullets.append((bullet[1].lower(), bullet[2]))
                continue
            if (done := report.item()) is not None:
                yield done
            report = None
        if not line or line[0] in "([":
            continue
        if (match := _STATEMENT.fullmatch(line)) is not None:
            name, when, rest = match[1], match[2], match[3].strip()
            latest = period or when
            if not rest or _HEADER.fullmatch(rest):
                report = _Report(name, when)
            else:
                yield when, name, _clause(_unprefixed(rest, name))
        elif (header := _HEADER.fullmatch(line)) is not None:
            report = _Report(header[1], header[2])
        elif (said := _speaker_line(line)) is not None:
            yield latest, said[0], _clause(said[1])
    if report is not None and (done := report.item()) is not None:
        yield done


class _Report:
    """A report being read: ``Name period:`` and its ``- Label: text`` bullets."""

    __slots__ = ("bullets", "name", "period")

    def __init__(self, name: str, period: str) -> None:
        self.name, self.period = name, period
        self.bullets: list[tuple[str, str]] = []  # (label in lower case, text)

    def item(self) -> Item | None:
        """Its first bullet's first clause and the year of its AGI timeline; None for a
        prompt's template of the format (bullets like ``<the main advance ...>``)."""
        bullets = self.bullets
        if not bullets or any(text.startswith("<") for _, text in bullets):
            return None
        main = next((text for label, text in bullets if label == "progress"), bullets[0][1])
        timeline = next((text for label, text in bullets if "timeline" in label), "")
        year = _YEAR.search(timeline)
        clause = _clause(main)
        return self.period, self.name, f"{clause} (AGI: {year[0]})" if year else clause


def _speaker_line(line: str) -> tuple[str, str] | None:
    """``(name, text)`` of a ``Name: text`` line (a short name, a capital first letter)."""
    colon = line.find(": ")
    if not 0 < colon <= 60 or not line[0].isupper():
        return None
    name = line[:colon]
    if name.count(" ") > 6 or any(c in name for c in '()",.;'):
        return None
    text = line[colon + 2 :].strip()
    return (name, text) if text else None


def _unprefixed(text: str, name: str) -> str:
    """``text`` without a leading ``Name:`` (a remark that repeats its speaker)."""
    prefix = f"{name}:"
    return text[len(prefix) :].strip() if text.startswith(prefix) else text


def _clause(text: str) -> str:
    """The first clause of ``text``, at most ``CLAUSE_WORDS`` words, without end punctuation."""
    kept: list[str] = []
    for word in text.split(None, CLAUSE_WORDS)[:CLAUSE_WORDS]:
        kept.append(word)
        end = word[-1]
        if (end in ".;!?:" and len(kept) >= 2) or (end == "," and len(kept) >= _MIN_CLAUSE) or word == "—":
            break
    if kept and kept[-1] == "—":
        kept.pop()
    clause = " ".join(kept).rstrip(".,;:!?—")
    return clause or text.strip()[:80]


def _merge(items: list[Item]) -> list[Item]:
    """One item per (period, speaker), the latest text at the first place, in period order
    (an undated item stays after the item before it)."""
    merged: dict[tuple[str, str] | int, Item] = {}
    for i, item in enumerate(items):
        if not item[2]:
            continue
        key: tuple[str, str] | int = (item[0], item[1]) if item[0] and item[1] else i
        merged[key] = item
    ordered: list[tuple[int, int, Item]] = []
    rank = 0
    for place, item in enumerate(merged.values()):
        if item[0]:
            rank = _ordinal(item[0])
        ordered.append((rank, place, item))
    ordered.sort(key=lambda x: (x[0], x[1]))
    return [item for _, _, item in ordered]


def _ordinal(period: str) -> int:
    """A sort key for a period label: ``2025`` < ``H1 2026`` < ``H2 2026``; ``Round n``."""
    if period.startswith("H"):
        return int(period[3:]) * 2 + (period[1] == "2")
    if period.startswith("Round "):
        return int(period[6:])
    return int(period) * 2


def _line(item: Item) -> str:
    period, name, text = item
    head = ", ".join(p for p in (period, name) if p)
    return f"- {head}: {text}" if head else f"- {text}"


def _render(items: list[Item], words: int) -> str:
    """The newest lines that fit in ``words`` words, oldest first; if not even the newest
    line fits, its first ``words`` words."""
    if not items:
        return " ".join(NOTHING.split()[: max(words, 0)])
    lines: list[str] = []
    used = 0
    for item in reversed(items):
        line = _line(item)
        size = len(line.split())
        if used + size > words:
            if not lines:
                lines.append(" ".join(line.split()[: max(words, 0)]))
            break
        lines.append(line)
        used += size
    return "\n".join(reversed(lines)).strip()
