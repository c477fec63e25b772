"""A population run's census as its page shows it: one ``Census`` item per ``PopulationState``.

The page draws what is here and works nothing out: each lab's counts by area come as lists
in one order (``AREAS``, then any other area the log names, as it first names them), with
the share of the lab's working researchers who worked on safety, and all the labs' papers
by area, ready for the charts.
"""

from __future__ import annotations

from ..log._events import AREAS, LabCensus, PopulationState
from ._items import Census, LabShown

__all__ = ["census"]


def census(event: PopulationState) -> Census:
    """The page's item for the population after one period."""
    named = (area for lab in event.labs for counts in (lab.working, lab.papers) for area in counts)
    areas = list(dict.fromkeys((*AREAS, *named)))
    labs = [_lab(lab, areas) for lab in event.labs]
    return Census(
        id=f"census:{event.index}",
        period=event.period,
        index=event.index,
        areas=areas,
        labs=labs,
        papers=[sum(lab.papers[i] for lab in labs) for i in range(len(areas))],
        moves=len(event.moves),
        meetings=event.meetings,
        conference=event.conference,
    )


def _lab(lab: LabCensus, areas: list[str]) -> LabShown:
    working = [lab.working.get(area, 0) for area in areas]
    worked = sum(working)
    return LabShown(
        lab=lab.lab,
        researchers=lab.researchers,
        working=working,
        papers=[lab.papers.get(area, 0) for area in areas],
        joined=lab.joined,
        left=lab.left,
        safety=lab.working.get("safety", 0) / worked if worked else None,
    )
