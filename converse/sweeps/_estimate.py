"""What a sweep will cost before it runs: one dry run per grid cell (``estimate_run``), times the
cell's runs."""

from __future__ import annotations

from collections.abc import Iterable

from ..runner._estimate import Estimate, estimate_run
from ._grid import PlannedRun, Sweep

__all__ = ["estimate_sweep"]


async def estimate_sweep(sweep: Sweep, runs: Iterable[PlannedRun], *, base_url: str | None = None) -> Estimate:
    """The calls, tokens and dollars of ``runs`` (from ``plan_sweep``): each grid cell (the same
    changes and model) is run dry once, on the offline model, and counted once per run in it.

    Raises:
        ValueError: there are no runs.
    """
    cells: dict[tuple[tuple[str, ...], str | None], list[PlannedRun]] = {}
    for run in runs:
        cells.setdefault((run.overrides, run.model), []).append(run)
    total: Estimate | None = None
    for (overrides, model), members in cells.items():
        one = await estimate_run(
            sweep.scenario, model=model or sweep.model, seed=members[0].seed, overrides=overrides, base_url=base_url
        )
        total = one.times(len(members)) if total is None else total + one.times(len(members))
    if total is None:
        raise ValueError("a sweep of no runs")
    return total
