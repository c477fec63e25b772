"""The offline model's answers about a memory stream's memories: their ratings (a memory that
tells of a severe incident matters most, then a moderate incident, rules and enforcement, or
AGI; routine news least), the questions recent memories raise, and an insight for each
question that cites the memories it draws on. Each is nudged by the turn's draws."""

from __future__ import annotations

import re

from ._draw import Source, pick
from ._phrases import JUDGE_MODERATE, JUDGE_RULES, JUDGE_SEVERE, PROJECTS

__all__ = ["importance_answer", "insights_answer", "questions_answer"]

_NUMBERED = re.compile(r"^(\d+)\. ", re.MULTILINE)
_RECORD = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)
_PROJECT = re.compile("|".join(re.escape(p) for p in sorted(PROJECTS, key=len, reverse=True)))
_NAME = re.compile(r"^([A-Z][\w.&' -]{1,60}?) (?:\(|\d{4}|H[12] \d{4}:)")

_QUESTIONS = (
    "What is {name} racing towards, and how far ahead of us is it?",
    "How worried should we be about {topic}?",
    "Where do we really disagree with {name}?",
    "What have this year's incidents taught us about {topic}?",
    "Who is holding back, and why: {name} or us?",
)
_INSIGHTS = (
    "{name} is moving faster than it admits in public",
    "{topic} is where the real risk now lies, more than anyone says",
    "We and {name} disagree less than we say; the quarrel is over pace, not direction",
    "The incidents keep coming from {topic}, and nobody has slowed down for them",
    "{name} will not slow down unless a regulator makes it",
)


def importance_answer(r: Source, user: str) -> str:
    """One ``n: rating`` line for each numbered memory the request lists."""
    starts = list(_NUMBERED.finditer(user))
    lines = []
    for i, found in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(user)
        low = user[found.end() : end].lower()
        if any(w in low for w in JUDGE_SEVERE):
            base = 7
        elif any(w in low for w in JUDGE_MODERATE):
            base = 5
        elif any(w in low for w in JUDGE_RULES) or "agi" in low:
            base = 4
        else:
            base = 2
        lines.append(f"{found[1]}: {min(base + int(r.random() * 3), 10)}")
    return "\n".join(lines)


def _records(user: str) -> list[tuple[str, str]]:
    """The ``[n] text`` memories a reflection's request shows (their first lines)."""
    return [(found[1], found[2]) for found in _RECORD.finditer(user)]


def _names_and_topics(texts: list[str], speaker: str) -> tuple[list[str], list[str]]:
    names: list[str] = []
    topics: list[str] = []
    for text in texts:
        named = _NAME.match(text)
        if named and named[1] != speaker and named[1] not in names:
            names.append(named[1])
        topics += _PROJECT.findall(text)  # the projects it names, in the order it names them
    return names or ["the leading rival lab"], list(dict.fromkeys(topics)) or ["frontier models"]


def questions_answer(r: Source, user: str, speaker: str, count: int = 3) -> str:
    """Up to ``count`` questions the shown memories raise, about who and what they name."""
    names, topics = _names_and_topics([text for _, text in _records(user)], speaker)
    templates = sorted(_QUESTIONS, key=lambda _: r.random())[:count]
    return "\n".join(t.format(name=pick(r, names), topic=pick(r, topics)) for t in templates)


def insights_answer(r: Source, user: str, speaker: str) -> str:
    """An insight for each question listed, citing one or two of the shown memories (those
    that name what the insight is about, if any do)."""
    records = _records(user)
    questions = [line[2:] for line in user.split("Questions:\n", 1)[-1].splitlines() if line.startswith("- ")]
    if not records:
        return ""
    lines = []
    for question in questions:
        names, topics = _names_and_topics([question], speaker)
        name, topic = pick(r, names), pick(r, topics)
        about = [number for number, text in records if name in text or topic in text]
        cited = about[:2] or [pick(r, [number for number, _ in records])]
        insight = pick(r, _INSIGHTS).format(name=name, topic=topic)
        lines.append(f"{insight[0].upper()}{insight[1:]} (because of {', '.join(cited)})")
    return "\n".join(lines)
