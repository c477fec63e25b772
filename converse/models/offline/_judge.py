"""The offline model as a judge: a deterministic verdict, read from the record in the prompt.

It answers a structured request (a user message ending in "JSON Schema:" and the schema, as
``complete_structured`` writes it) with a JSON object valid for that schema: objects with
properties, ``$defs``/``$ref``, integers with bounds, ``anyOf`` with null, strings. The
values come from the record in the judge's prompt (``converse.judge._judge``'s layout: a "The
world:" line of dial settings, a "The organisations:" line, "## period" headings and
"Name: text" entries), so they follow what happened in the run:

- ``agi_year``-like metrics: the year of a lab's first report announcing AGI, else null;
- capability: its reported progress, how close its forecasts came, when it announced AGI;
- risk: the severity of its reported incidents; regulation: the dial, nudged by the record
  (most by how often a government reports using its powers rather than consulting);
- agreement, rigour, persuasiveness (a debate): the record's vocabulary;
- any other metric: a value derived from the record's text."""

from __future__ import annotations

import functools
import json
import re
import zlib
from collections.abc import Sequence
from functools import cached_property
from typing import Any, NamedTuple

from ...log._events import ChatMessage
from ._phrases import (
    JUDGE_AGI,
    JUDGE_AGREE,
    JUDGE_CONTAINED,
    JUDGE_DISAGREE,
    JUDGE_ENFORCE,
    JUDGE_EVIDENCE,
    JUDGE_HEDGE,
    JUDGE_MODERATE,
    JUDGE_REGULATION,
    JUDGE_RULES,
    JUDGE_SEVERE,
    JUDGE_STRONG,
    JUDGE_TONE,
)

__all__ = ["verdict_json"]

_MARK = "JSON Schema:\n"  # the end of complete_structured's instruction
_YEAR = re.compile(r"\b(1[89]\d\d|2[0-4]\d\d)\b")


class _Entry(NamedTuple):
    period: str
    year: int | None
    name: str
    text: str


def verdict_json(messages: Sequence[ChatMessage], schema: dict[str, Any] | None = None) -> str | None:
    """A verdict for a structured request, as JSON: valid for ``schema`` when one is given (the
    schema a server holds its decoding to), else for the JSON Schema the request's last
    instruction gives; None if there is neither. The record is the user messages' text up to
    that instruction."""
    users = [m.content for m in messages if m.role == "user"]
    for i in range(len(users) - 1, -1, -1):
        pos = users[i].rfind(_MARK)
        if pos != -1:
            break
    else:
        i, pos = len(users), 0  # no instruction: the whole of it is the record
    if schema is None and i < len(users):
        try:
            schema, _ = json.JSONDecoder().raw_decode(users[i][pos + len(_MARK) :].lstrip())
        except ValueError:
            return None
    if not isinstance(schema, dict):
        return None
    record = _Record("\n\n".join([*users[:i], users[i][:pos]] if i < len(users) else users))
    return json.dumps(
        _Filler(schema, record).value(schema, "", None, None, nullable=False), ensure_ascii=False
    )


class _Filler:
    """Walks a JSON Schema and gives each leaf a value read from the record."""

    def __init__(self, schema: dict[str, Any], record: _Record) -> None:
        self.defs: dict[str, Any] = schema.get("$defs") or schema.get("definitions") or {}
        self.record = record

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        for _ in range(32):  # a $ref chain, not a cycle
            ref = node.get("$ref")
            if not isinstance(ref, str):
                break
            target = self.defs.get(ref.rsplit("/", 1)[-1])
            if not isinstance(target, dict):
                break
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def value(
        self, node: dict[str, Any], metric: str, subject: str | None, depth: int | None, *, nullable: bool
    ) -> Any:
        """A value for ``node``; ``depth`` is None for the verdict itself, 0 for a metric, 1 for a subject."""
        node = self.resolve(node)
        options = node.get("anyOf") or node.get("oneOf")
        if isinstance(options, list):
            nullable = any(isinstance(o, dict) and o.get("type") == "null" for o in options)
            option = next((o for o in options if isinstance(o, dict) and o.get("type") != "null"), None)
            return None if option is None else self.value(option, metric, subject, depth, nullable=nullable)
        if "const" in node:
            return node["const"]
        if isinstance(node.get("enum"), list) and node["enum"]:
            return node["enum"][0]
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            out: dict[str, Any] = {}
            for name, child in (node.get("properties") or {}).items():
                if not isinstance(child, dict):
                    continue
                if depth is None:  # the verdict: each property is a metric
                    about = f"{name} {child.get('description', '')}".lower()
                    out[name] = self.value(child, about, None, 0, nullable=False)
                else:  # a metric's subjects
                    out[name] = self.value(child, metric, name, depth + 1, nullable=False)
            return out
        if kind in ("integer", "number"):
            low, high = _bounds(node, integer=kind == "integer")
            got = self.number(metric, subject, low, high)
            if got is None and not nullable:
                got = self.record.last_year(subject) or low
            if got is None:
                return None
            got = min(max(got, low), high)
            return round(got) if kind == "integer" else got
        if kind == "string":
            return self.record.summary if depth is None or "summary" in metric else self.record.note(subject)
        if kind == "boolean":
            return self.record.strength(metric, subject) >= 0.5
        if kind == "array":
            return []
        return None

    def number(self, metric: str, subject: str | None, low: float, high: float) -> float | None:
        record = self.record
        if high > 1000:  # a calendar year
            if "agi" in metric:
                years = [record.announced(s) for s in ([subject] if subject else record.labs)]
                found = [y for y in years if y is not None]
                return min(found) if found else None
            return record.last_year(subject)
        return low + (high - low) * record.strength(metric, subject)


def _bounds(node: dict[str, Any], *, integer: bool) -> tuple[float, float]:
    """The inclusive bounds of a number (a missing one makes a 1-10 scale of it)."""
    step = 1 if integer else 1e-6
    low = node.get("minimum", node.get("exclusiveMinimum", 1 - step) + step)
    high = node.get("maximum", node.get("exclusiveMaximum", low + 9 + step) - step)
    return (float(low), float(max(low, high)))


def _clamp(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


@functools.lru_cache(maxsize=8192)
def _hits(text: str, words: tuple[str, ...]) -> int:
    """How many of ``words`` occur in ``text`` (each measure asks of the same bullets)."""
    # A plain loop: the cheapest way to count here (a generator costs more, and so does
    # sum(map(low.__contains__, words)), whose method-wrapper calls cost more than the loop).
    low, n = text.lower(), 0
    for w in words:
        if w in low:
            n += 1
    return n


def _bullet(text: str, label: str) -> str:
    """The text of the ``- label:`` line of a report, else the whole text."""
    return _bullets(text).get(label, text)


@functools.lru_cache(maxsize=4096)
def _bullets(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _BULLET.finditer(text):
        found.setdefault(match[1], match[2])  # the first line of a label, as a reader sees it
    return found


_BULLET = re.compile(r"^- ([^:\n]+): (.*)$", re.MULTILINE)


def _excerpt(text: str, limit: int = 150) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    text = text[: end + 1] if 0 < end < limit else text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class _Record:
    """The judge prompt's record, read once; every measure is between 0 and 1."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.crc = zlib.crc32(text.encode("utf-8", "surrogatepass"))
        world = re.search(r"^The world: (.*)$", text, re.MULTILINE)
        self.dials = dict(re.findall(r"(\w+) = ([^,]+?)(?:,|\.?$)", world[1])) if world else {}
        listed = re.search(r"^The organisations: (.*)$", text, re.MULTILINE)
        self.kinds = dict(re.findall(r"\s*(.+?) \((\w+)\)[,.]", listed[1])) if listed else {}
        entries: list[_Entry] = []
        self.entries = entries
        kinds = self.kinds
        # The longest name first (one may start another); "Name:" opens an entry. When no name
        # holds a colon (as a rule), a name can only end at a part's first colon: one look-up.
        heads = [(n, n + ":") for n in sorted(kinds, key=len, reverse=True)]
        plain = not any(":" in n for n in kinds)
        period, year = "", None
        start = text.find("\n## ")
        for part in text[start + 1 :].split("\n\n") if start != -1 else ():
            if part.startswith("## "):
                period = part[3:].strip()
                found = _YEAR.search(period)
                year = int(found[1]) if found else None
                continue
            if plain:
                colon = part.find(":")
                name = part[:colon] if colon > 0 and part[:colon] in kinds else None
            else:
                name = next((n for n, head in heads if part.startswith(head)), None)
            if name is None and not heads and ":" in part[:60]:
                name = part[: part.index(":")]
            if name is not None:
                entries.append(_Entry(period, year, name, part[len(name) + 1 :].strip()))
            elif entries:
                last = entries[-1]
                entries[-1] = last._replace(text=f"{last.text}\n\n{part}")
        self.names = list(dict.fromkeys([*self.kinds, *(e.name for e in self.entries)]))
        # Each name's entries, in order: every measure asks for them, again and again.
        self._of: dict[str, list[_Entry]] = {}
        for e in self.entries:
            self._of.setdefault(e.name, []).append(e)
        labs = [n for n in self.names if self.kinds.get(n) == "lab"]
        self.labs = labs or [n for n in self.names if self.kinds.get(n) != "government"]
        self.years = [e.year for e in self.entries if e.year is not None]
        self._announced: dict[str, int | None] = {}
        self._memo: dict[tuple[str, str], float] = {}

    def of(self, name: str | None) -> list[_Entry]:
        """``name``'s entries (every entry for None), in order; not to be changed."""
        return self.entries if name is None else self._of.get(name, [])

    def last_year(self, name: str | None) -> int | None:
        years = [e.year for e in self.of(name) if e.year is not None]
        return years[-1] if years else None

    def announced(self, name: str) -> int | None:
        """The year of ``name``'s first entry that announces AGI (not a forecast, not a denial)."""
        if name in self._announced:
            return self._announced[name]
        year = None
        for entry in self.of(name):
            text = _bullet(entry.text, "AGI timeline")
            for match in JUDGE_AGI.finditer(text):
                before = text[max(0, match.start() - 40) : match.start()].rsplit(". ", 1)[-1]
                if not JUDGE_HEDGE.search(before):
                    year = entry.year
                    break
            if year is not None:
                break
        self._announced[name] = year
        return year

    @cached_property
    def regulation(self) -> float:
        base = JUDGE_REGULATION.get(self.dials.get("regulation", "").lower(), 0.3)
        actions = sum(_hits(e.text, JUDGE_RULES) for e in self.entries) / max(1, len(self.entries))
        level = base + min(0.15, 0.04 * actions) - 0.05
        # Governments that use their powers (licences, fines, pauses) regulate more than
        # governments that consult and fund.
        governed = [e for e in self.entries if self.kinds.get(e.name) == "government"]
        if governed:
            firm = sum(1 for e in governed if _hits(_bullet(e.text, "Progress"), JUDGE_ENFORCE)) / len(governed)
            level += 0.3 * (firm - 0.5)
        return _clamp(level)

    def capability(self, name: str) -> float:
        """How far ``name`` got (every per-lab and total score reads it: computed once)."""
        key = ("capability", name)
        if key not in self._memo:
            self._memo[key] = self._capability(name)
        return self._memo[key]

    def risk(self, name: str) -> float:
        """How dangerous ``name``'s record is (computed once)."""
        key = ("risk", name)
        if key not in self._memo:
            self._memo[key] = self._risk(name)
        return self._memo[key]

    def _capability(self, name: str) -> float:
        entries = self.of(name)
        if not entries:
            return 0.3
        strong, gaps = 0, []
        for e in entries:  # one pass, each report's bullets read once
            bullets = _bullets(e.text)
            strong += min(3, _hits(bullets.get("Progress", e.text), JUDGE_STRONG))
            if e.year:  # a forecast's distance needs the year it was made in
                timeline = bullets.get("AGI timeline", e.text)
                ahead = [y for y in map(int, _YEAR.findall(timeline)) if y >= e.year]
                if ahead:
                    gaps.append(min(ahead) - e.year)
        vigour = strong / (3 * len(entries))
        closeness = 1 - min(10, sum(gaps) / len(gaps)) / 10 if gaps else 0.4
        agi = self.announced(name)
        boost = 0.0
        if agi is not None and self.years:
            span = max(self.years) - min(self.years) + 1
            boost = 0.7 + 0.3 * (max(self.years) - agi + 1) / span
        return _clamp(0.1 + 0.25 * vigour + 0.3 * closeness + 0.35 * boost)

    def _risk(self, name: str) -> float:
        entries = self.of(name)
        if not entries:
            return 0.3
        total = 0.0
        for e in entries:
            incident = _bullet(e.text, "Safety incident")
            if "nothing serious" in incident.lower():
                continue
            severity = 3.0 if _hits(incident, JUDGE_SEVERE) else 2.0 if _hits(incident, JUDGE_MODERATE) else 1.0
            total += severity - (0.5 if _hits(incident, JUDGE_CONTAINED) else 0.0)
        unchecked = 0.15 * (1 - self.regulation) if self.announced(name) is not None else 0.0
        return _clamp(0.05 + 0.75 * total / (3 * len(entries)) + unchecked)

    def strength(self, metric: str, subject: str | None) -> float:
        """How much of ``metric`` the record shows for ``subject`` (or the whole run)."""
        whom = [subject] if subject else self.labs
        if not self.entries:
            return 0.0
        if "capab" in metric or "progress" in metric:
            return sum(map(self.capability, whom)) / max(1, len(whom))
        if "risk" in metric or "danger" in metric or "incident" in metric:
            return sum(map(self.risk, whom)) / max(1, len(whom))
        if "regulat" in metric or "oversight" in metric or "governance" in metric:
            return self.regulation
        said = " ".join(e.text for e in self.of(subject))
        per = max(1, len(self.of(subject)))
        if "agree" in metric or "consensus" in metric or "converge" in metric:
            tone = JUDGE_TONE.get(self.dials.get("tone", "").lower(), 0.0)
            yes, no = _hits(said, JUDGE_AGREE), _hits(said, JUDGE_DISAGREE)
            return _clamp(0.35 + 0.4 * (yes - no) / (yes + no + 1) + tone)
        if "rigo" in metric or "evidence" in metric:
            return _clamp(0.2 + 0.25 * (_hits(said, JUDGE_EVIDENCE) + said.count("?")) / per)
        if "persua" in metric or "convinc" in metric:
            named = sum(1 for e in self.entries if subject and e.name != subject and subject in e.text)
            answered = _hits(said, JUDGE_EVIDENCE) / per
            return _clamp(0.45 + 0.15 * answered - 0.04 * named + (self._noise(metric, subject) - 0.5) * 0.3)
        return 0.15 + 0.7 * self._noise(metric, subject)

    def _noise(self, metric: str, subject: str | None) -> float:
        return (zlib.crc32(f"{metric}|{subject}".encode(), self.crc) % 1000) / 999

    def note(self, subject: str | None) -> str:
        entries = self.of(subject)
        return _excerpt(entries[-1].text) if entries else "Nothing in the record."

    @cached_property
    def summary(self) -> str:
        entries = self.entries
        if not entries:
            return (
                "The record is empty: no organisation made a public statement, so there is nothing to judge."
            )
        first, last = entries[0].period, entries[-1].period
        names = ", ".join(self.names[:-1]) + (" and " if len(self.names) > 1 else "") + self.names[-1]
        reports = [e for e in entries if "- Progress:" in e.text]
        if not reports:
            return self._debate_summary(first, last, names)
        sentences = [f"From {first} to {last}, {names} published {len(entries)} public statements."]
        announced = sorted((y, n) for n in self.labs if (y := self.announced(n)) is not None)
        if announced:
            year, lab = announced[0]
            entry = next(e for e in self.of(lab) if e.year == year)
            sentences.append(
                f'{lab} was the first to announce AGI, in {entry.period} ("{_excerpt(_bullet(entry.text, "AGI timeline"))}")'
                + (
                    ", followed by " + ", ".join(f"{n} ({y})" for y, n in announced[1:]) + "."
                    if announced[1:]
                    else "."
                )
            )
        else:
            sentences.append("No lab announced AGI within the record; the forecasts kept moving out.")
        lab_reports = [e for e in reports if e.name in self.labs] or reports
        best = max(lab_reports, key=lambda e: (_hits(_bullet(e.text, "Progress"), JUDGE_STRONG), e.year or 0))
        sentences.append(
            f'The biggest advance was {best.name}\'s in {best.period}: "{_excerpt(_bullet(best.text, "Progress"))}"'
        )
        # The first report with the most severe words and, of those, the most moderate ones (the
        # max by (severe, moderate)), counting moderate words only where the severe ones tie.
        severe = [_hits(_bullet(e.text, "Safety incident"), JUDGE_SEVERE) for e in reports]
        top = max(severe)
        worst = max(
            (e for e, n in zip(reports, severe, strict=True) if n == top),
            key=lambda e: _hits(_bullet(e.text, "Safety incident"), JUDGE_MODERATE),
        )
        incident = _excerpt(_bullet(worst.text, "Safety incident"))
        sentences.append(f'The most serious incident was {worst.name}\'s in {worst.period}: "{incident}"')
        governments = [e for e in reports if self.kinds.get(e.name) == "government"]
        dial = self.dials.get("regulation")
        if governments:
            act = max(governments, key=lambda e: _hits(_bullet(e.text, "Progress"), JUDGE_RULES))
            sentences.append(
                f'On regulation, {act.name} reported in {act.period}: "{_excerpt(_bullet(act.text, "Progress"))}"'
            )
        elif dial:
            sentences.append(f"Government oversight of the labs stayed {dial} throughout.")
        return " ".join(sentences)

    def _debate_summary(self, first: str, last: str, names: str) -> str:
        entries = self.entries
        sentences = [f"From {first} to {last}, {names} made {len(entries)} statements."]
        sentences.append(f'{entries[0].name} opened: "{_excerpt(entries[0].text)}"')
        mentioned = {n: sum(1 for e in entries if e.name != n and n in e.text) for n in self.names}
        target = max(self.names, key=lambda n: (mentioned[n], n))
        if mentioned[target]:
            sentences.append(f"{target} drew the most fire, named {mentioned[target]} times by the others.")
        sentences.append(f'{entries[-1].name} had the last word: "{_excerpt(entries[-1].text)}"')
        return " ".join(sentences)
