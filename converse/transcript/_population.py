"""A population run's research in a transcript: a table per period of what each lab's
researchers worked on and published, and who moved."""

from __future__ import annotations

from ..log._events import AREAS, PopulationState
from ._text import md

__all__ = ["research_blocks"]

_MOVES_SHOWN = 12  # moves named one by one; the rest are counted


def research_blocks(state: PopulationState) -> list[str]:
    """The blocks of a period's research: the table, the meetings, the moves."""
    heads = " | ".join(area.capitalize() for area in AREAS)
    table = [
        f"| Lab | Researchers | {heads} | Papers ({' / '.join(a[0] for a in AREAS)}) | Joined | Left |",
        "|---" * (len(AREAS) + 5) + "|",
    ]
    for census in state.labs:
        working = " | ".join(str(census.working.get(area, 0)) for area in AREAS)
        papers = " / ".join(str(census.papers.get(area, 0)) for area in AREAS)
        table.append(
            f"| {md(census.lab)} | {census.researchers} | {working} | {papers} | {census.joined} | {census.left} |"
        )
    blocks = ["**Research**", "\n".join(table)]
    met = f"{state.meetings} meetings inside the labs"
    if state.conference:
        met += f", {state.conference} across them at the conference"
    lines = [f"- {met}."]
    if state.moves:
        shown = [
            f"{md(m.researcher)} ({m.area}, {md(m.origin)} → {md(m.destination)})" for m in state.moves[:_MOVES_SHOWN]
        ]
        more = len(state.moves) - len(shown)
        lines.append(f"- Moved: {'; '.join(shown)}{f'; and {more} more' if more else ''}.")
    else:
        lines.append("- Nobody moved.")
    if state.unclear:
        lines.append(f"- {state.unclear} answers named no area to work on; each is counted in its researcher's own field.")
    blocks.append("\n".join(lines))
    return blocks
