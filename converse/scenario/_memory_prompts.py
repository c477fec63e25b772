"""The prompts of memory: an agent's running notes on the turns it is about to forget, and a
council's briefing on the public record (``public_context = "summary"``)."""

from __future__ import annotations

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
