"""The prompts of memory: an agent's running notes on the turns it is about to forget, a
council's briefing on the public record (``public_context = "summary"``), and a memory
stream's ratings of what it records (``memory.stream.importance = "model"``)."""

from __future__ import annotations

import re

from ..log._events import ChatMessage

NOTES_SYSTEM = (
    "You keep an agent's notes: a short, factual record of what happened in the earlier periods "
    "of a simulation, which the agent consults when its memory of them is gone."
)

NOTES = """Your notes so far:
{notes}

What happened since, in the turns you are about to forget:
{turns}

Rewrite your notes to cover both, in at most {words} words. Keep names, periods, numbers, \
commitments and disagreements; leave out pleasantries. Reply with the notes only."""

NO_NOTES = "(none yet)"

TURN = "You were told:\n{told}\n\nYou said:\n{said}"
TURN_SEPARATOR = "\n\n---\n\n"

BRIEFING = """The public record so far, in brief:
{summary}

Public statements since then:
{record}

Summarise the whole public record for {organisation}'s council in at most {words} words: what \
each organisation said, period by period, and where each stands now. Reply with the summary only."""

NOTES_MESSAGE = "Your notes on the periods before the turns below:\n{notes}"
BRIEFING_RECORD = "A summary of the public record so far:\n{summary}"


def notes_request(notes: str, turns: list[tuple[str, str]], words: int) -> list[ChatMessage]:
    """The request that folds ``turns`` (what the agent was told, what it said) into its notes."""
    rendered = TURN_SEPARATOR.join(TURN.format(told=told, said=said) for told, said in turns)
    return [
        ChatMessage(role="system", content=NOTES_SYSTEM),
        ChatMessage(role="user", content=NOTES.format(notes=notes or NO_NOTES, turns=rendered, words=words)),
    ]


def briefing_request(summary: str, record: str, organisation: str, words: int) -> list[ChatMessage]:
    """The request that brings ``summary`` (of the record so far) up to date with ``record``
    (the statements since), for ``organisation``'s council: its size does not grow with the run."""
    content = BRIEFING.format(summary=summary or NO_NOTES, record=record, organisation=organisation, words=words)
    return [ChatMessage(role="system", content=NOTES_SYSTEM), ChatMessage(role="user", content=content)]


IMPORTANCE = """Rate how much each of these memories matters to you, from 1 (routine: it changes \
nothing you will do) to 10 (momentous: it changes what you will do from now on).

{memories}

Answer with one line per memory, in order: its number, a colon and the rating, such as "1: 4". \
Reply with the ratings only."""


def importance_request(system: ChatMessage, texts: list[str]) -> list[ChatMessage]:
    """The messages that ask an agent (its own system message first) to rate new memories."""
    numbered = "\n\n".join(f"{i}. {text}" for i, text in enumerate(texts, 1))
    return [system, ChatMessage(role="user", content=IMPORTANCE.format(memories=numbered))]


_RATING = re.compile(r"\s*\**\s*(\d+)")  # the number a rating line's part after the colon starts with


def ratings_of(answer: str, count: int) -> list[int | None]:
    """The ratings an answer to ``importance_request`` gives its ``count`` memories, in order
    (None where it gives none; a rating outside 1-10 is brought within it)."""
    found: list[int | None] = [None] * count
    for line in answer.splitlines():
        number, sep, rest = line.strip().lstrip("-# ").partition(":")
        number = number.strip().strip("*").rstrip(".)")  # "1", "1.", "**1**"
        rating = _RATING.match(rest)
        if sep and number.isdigit() and rating:
            i = int(number) - 1
            if 0 <= i < count and found[i] is None:
                found[i] = min(max(int(rating[1]), 1), 10)
    return found


QUESTIONS = """Your most recent memories:

{memories}

Given only these, what are the {count} most salient high-level questions you can answer about \
what is happening and what it means for you? Reply with the questions only, one per line."""

INSIGHTS = """Your memories:

{memories}

Questions:
{questions}

Answer each question with one insight you can draw from your memories: one line each, in the \
order of the questions, ending with the numbers of the memories it draws on, as in \
"The labs are racing on agents (because of 3, 7)". Reply with the insights only."""

_CITED = re.compile(r"\s*\((?:because of|from|see)?\s*(\d+(?:\s*,\s*\d+)*)\)\s*\.?\s*$", re.IGNORECASE)
_LEAD = re.compile(r"^\s*(?:[-*•]\s*|\d+[.)]\s*|insight\s*\d*\s*:\s*)", re.IGNORECASE)


def numbered(records: list[tuple[int, str]]) -> str:
    """Memories as a reflection's prompts show them: each with its number in the stream."""
    return "\n\n".join(f"[{number}] {text}" for number, text in records)


def questions_request(system: ChatMessage, records: list[tuple[int, str]], count: int) -> list[ChatMessage]:
    """The messages that ask an agent which questions its recent memories raise."""
    content = QUESTIONS.format(memories=numbered(records), count=count)
    return [system, ChatMessage(role="user", content=content)]


def insights_request(system: ChatMessage, records: list[tuple[int, str]], questions: list[str]) -> list[ChatMessage]:
    """The messages that ask an agent for an insight per question, citing its memories."""
    content = INSIGHTS.format(memories=numbered(records), questions="\n".join(f"- {q}" for q in questions))
    return [system, ChatMessage(role="user", content=content)]


def questions_of(answer: str, count: int) -> list[str]:
    """The questions an answer to ``questions_request`` asks (``count`` at most)."""
    found = []
    for line in answer.splitlines():
        question = _LEAD.sub("", line).strip()
        if len(question) > 3:
            found.append(question)
    return found[:count]


def insights_of(answer: str, shown: set[int], count: int) -> list[tuple[str, tuple[int, ...]]]:
    """The insights an answer to ``insights_request`` draws (``count`` at most), each with the
    memories it cites among ``shown`` (those it cites that were not shown are dropped)."""
    found = []
    for line in answer.splitlines():
        text = _LEAD.sub("", line).strip()
        cited = _CITED.search(text)
        cites: tuple[int, ...] = ()
        if cited is not None:
            text = text[: cited.start()].rstrip()
            numbers = (int(n) for n in cited[1].split(","))
            cites = tuple(sorted({n for n in numbers if n in shown}))
        if len(text) > 3:
            found.append((text, cites))
    return found[:count]
