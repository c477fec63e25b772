"""A population run's columns in a sweep's summary, from its ``population_state`` events.

A run of researchers in AI labs writes one ``population_state`` event per period; its row
(``SweepRow.population``) gets, in this order (``POPULATION_COLUMNS``):

- ``population_researchers``: the researchers in all labs at the last period's end;
- ``population_<area>_share``, for each area (``AREAS``): the share of the researchers who
  worked in the last period that worked on the area, 0 to 1, to 4 places (empty when nobody
  worked);
- ``population_papers_<area>``: the papers published in the area over the whole run;
- ``population_moves``: the researchers who moved to another lab, over the whole run.

A row gets them from the events a sweep watches as its run goes (``_rows.Watcher``) or, for a
run finished before, from its log (``_sweep``): both count with a ``Tally``. The statistics
and the report treat them as they treat the judge's scores.
"""

from __future__ import annotations

from ..log._events import AREAS, PopulationState

__all__ = ["POPULATION_COLUMNS", "POPULATION_SCALES", "Tally"]

_RESEARCHERS = "population_researchers"
_SHARES = tuple(f"population_{area}_share" for area in AREAS)
_PAPERS = tuple(f"population_papers_{area}" for area in AREAS)
_MOVES = "population_moves"
POPULATION_COLUMNS = (_RESEARCHERS, *_SHARES, *_PAPERS, _MOVES)
POPULATION_SCALES = dict.fromkeys(_SHARES, "0-1")  # the report's plot axes, as a judge's scales are


class Tally:
    """One run's ``population_state`` events, added as they come: only the last one and the
    running totals are kept (a population's events are many and large)."""

    __slots__ = ("last", "moves", "papers")

    def __init__(self) -> None:
        self.last: PopulationState | None = None
        self.papers = dict.fromkeys(AREAS, 0)
        self.moves = 0

    def add(self, state: PopulationState) -> None:
        """Count the period ``state`` closes (periods come in order)."""
        self.last = state
        for lab in state.labs:
            for area in AREAS:
                self.papers[area] += lab.papers.get(area, 0)
        self.moves += len(state.moves)

    def columns(self) -> dict[str, float | None]:
        """The run's population columns, in ``POPULATION_COLUMNS`` order; empty if no event was added."""
        if self.last is None:
            return {}
        labs = self.last.labs
        working = [sum(lab.working.get(area, 0) for lab in labs) for area in AREAS]
        worked = sum(working)
        return {
            _RESEARCHERS: float(sum(lab.researchers for lab in labs)),
            **{s: round(w / worked, 4) if worked else None for s, w in zip(_SHARES, working, strict=True)},
            **{p: float(self.papers[a]) for p, a in zip(_PAPERS, AREAS, strict=True)},
            _MOVES: float(self.moves),
        }
