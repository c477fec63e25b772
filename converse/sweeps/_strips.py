"""A strip plot's statistics: one score by one dial, a column of numbers per setting.

This is the one place they are computed. The report's SVG plots (``_svg.strip_plot``) draw
them, and so does the viewer's sweep page (``/api/group`` sends them and its script only
draws): each setting's completed runs that gave the score, how many completed runs could
have, the mean with its bootstrap interval, and the quartiles and extremes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

from ..scenario._scenario import DialValue
from ._stats import Interval, dial_settings, partition
from ._summary_csv import SweepRow, cell_text, measured

__all__ = ["Strip", "strip", "strips"]


class Strip(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One setting's column of a plot.

    ``points`` holds ``(run id, value)`` for every run that gave a value, in the runs' order;
    ``runs`` counts the runs that could have (the completed ones), so ``k/n`` shows when fewer
    did. ``mean``, ``low`` and ``high``: the mean and its bootstrap interval (``low`` and
    ``high`` None when no interval was computed); ``lowest``, ``q1``, ``median``, ``q3`` and
    ``highest``: the values' extremes and quartiles. All None without points.
    """

    label: str
    points: list[tuple[str, float]] = []
    runs: int = 0
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    lowest: float | None = None
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    highest: float | None = None


def strips(
    rows: Sequence[SweepRow],
    dial: str | None,
    column: str,
    *,
    settings: Sequence[DialValue] | None = None,
    intervals: Sequence[Interval] | None = None,
    label: str = "all runs",
) -> list[Strip]:
    """The columns of a strip plot of the score ``column`` by ``dial``, left to right.

    Args:
        rows: the sweep's runs, any status (only the completed ones count).
        dial: one column per setting of this dial; None: one column of every run, ``label``.
        column: the score.
        settings: the dial's settings in the order to show them; by default the report's
            order (as they first appear in ``rows``, or ascending when all are numbers).
        intervals: each column's mean and bootstrap interval, when already computed (the
            report's, from ``aggregate``); without them a column has a mean but no interval.
        label: the one column's label when ``dial`` is None.
    """
    if dial is None:
        groups = [(label, list(rows))]
    else:
        order = {dial: list(settings) if settings is not None else dial_settings(rows, dial)}
        # A setting shown as "" (no value) is labelled with the dial's name.
        groups = [(cell_text(dials[dial]) or dial, runs) for dials, runs in partition(rows, [dial], order)]
    out = []
    for i, (name, runs) in enumerate(groups):
        done = [r for r in runs if r.status == "completed"]
        given = [(r.run, v) for r in done if (v := measured(r, column)) is not None]
        out.append(strip(name, given, runs=len(done), interval=intervals[i] if intervals is not None else None))
    return out


def strip(
    label: str, points: Sequence[tuple[str, float]], *, runs: int, interval: Interval | None = None
) -> Strip:
    """One column: ``points`` (run id, value) and their statistics; ``interval`` gives the
    mean and its bootstrap interval when already computed."""
    values = sorted(v for _, v in points)
    mean = low = high = None
    if interval is not None:
        mean, low, high = interval.mean, interval.low, interval.high
    elif values:
        mean = math.fsum(values) / len(values)
    if not values:
        return Strip(label=label, points=list(points), runs=runs, mean=mean, low=low, high=high)
    return Strip(
        label=label,
        points=list(points),
        runs=runs,
        mean=mean,
        low=low,
        high=high,
        lowest=values[0],
        q1=_quantile(values, 0.25),
        median=_quantile(values, 0.5),
        q3=_quantile(values, 0.75),
        highest=values[-1],
    )


def _quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated between the two nearest ranks."""
    i = (len(ordered) - 1) * q
    lo = math.floor(i)
    return ordered[lo] + (ordered[min(lo + 1, len(ordered) - 1)] - ordered[lo]) * (i - lo)
