"""Statistics over a sweep's rows: means with percentile-bootstrap intervals, by each setting of
each dial, by grid cell and overall.

Scores count from completed runs only; tokens and cost from every run that finished. Each grid
cell is resampled on its own and a dial's setting pools its cells' resamples, deterministically:
the same rows and seed always give the same intervals. ``_report`` makes a report of them;
``_strips`` shares the grouping of rows by dial settings.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter, truediv
from typing import Any

import msgspec

from ..scenario._scenario import DialValue
from ._summary_csv import SweepRow, cell_text, score_columns_of

__all__ = ["Aggregates", "Group", "Interval", "aggregate", "bootstrap_ci", "dial_settings", "partition"]

_FAILED = frozenset({"failed", "cancelled", "budget_exhausted"})


class Interval(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A mean of ``n`` values and its bootstrap interval; all None when ``n`` is 0."""

    mean: float | None
    low: float | None
    high: float | None
    n: int


class Group(msgspec.Struct, frozen=True, kw_only=True):
    """The runs that share ``dials``: one setting of one dial, one grid cell, or (``{}``) all.

    ``scores[column].n`` is how many completed runs gave that score: "announced in
    ``n`` of ``completed``". ``judged`` is how many completed runs the judge scored (or did
    not fail on: a run with no judge counts); ``judge_errors`` counts why it failed on the
    others, by the first line of its message, most frequent first.
    """

    dials: dict[str, DialValue]
    runs: int
    completed: int
    failed: int
    scores: dict[str, Interval]
    tokens: Interval
    cost_usd: Interval
    judged: int = 0
    judge_errors: dict[str, int] = {}


class Aggregates(msgspec.Struct, frozen=True, kw_only=True):
    """A sweep's statistics: by each setting of each dial (the other dials pooled), by grid cell, overall.

    ``settings`` lists each dial's settings in report order (as they first appear in the
    rows, or ascending when all are numbers); ``by_dial`` and ``cells`` follow that order.
    """

    dial_names: list[str]
    columns: list[str]
    settings: dict[str, list[DialValue]]
    by_dial: dict[str, list[Group]]
    cells: list[Group]
    overall: Group


def bootstrap_ci(
    values: Iterable[float], *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Interval:
    """The mean of ``values`` and its percentile-bootstrap interval.

    Deterministic: the resamples depend only on ``seed`` and the number of values. One value,
    or values all equal, give an interval of zero width; no values an interval of None.

    Raises:
        ValueError: ``confidence`` is not between 0 and 1, or ``resamples`` is below 1.
    """
    sample = [float(v) for v in values]
    _check(confidence, resamples)
    return _interval(
        sample, [_lanes(sample, _draws(len(sample), resamples, str(seed)), resamples)], confidence
    )


def _check(confidence: float, resamples: int) -> None:
    if not 0 < confidence < 1 or resamples < 1:
        raise ValueError(f"need 0 < confidence < 1 and resamples >= 1, not {confidence} and {resamples}")


# One sample's resamples, lane by lane: the sum of the values drawn, and how many values
# were drawn (fewer than the sample's size when some of its runs gave none).
_Lanes = tuple[list[float], list[int]]


def _draws(n: int, count: int, key: str) -> list[itemgetter[Any]]:
    """``count`` draws of ``n`` positions out of ``range(n)`` with replacement, as itemgetters."""
    rng = random.Random(key)
    if n < 2:  # one way to resample one value: _lanes needs no draws
        return []
    if n > 256:
        return [itemgetter(*rng.choices(range(n), k=n)) for _ in range(count)]
    # A random byte below the largest multiple of n, modulo n, is a uniform position;
    # bytes.translate maps and drops a whole buffer of them at C speed (random.choices takes
    # ten times as long, and drawing would be most of the work).
    keep = 256 - 256 % n
    modulo = bytes(b % n for b in range(256))
    dropped = bytes(range(keep, 256))
    positions = bytearray()
    while len(positions) < n * count:
        positions += rng.randbytes(n * count * 256 // keep + 16).translate(modulo, dropped)
    return [itemgetter(*positions[i : i + n]) for i in range(0, n * count, n)]


def _lanes(values: Sequence[float | None], draws: list[itemgetter[Any]], count: int) -> _Lanes:
    """Resample ``values`` (None for a run that gave none) along ``draws``."""
    if len(values) < 2:
        value = values[0] if values else None
        return [value or 0.0] * count, [int(value is not None)] * count
    filled = [0.0 if v is None else v for v in values]
    sums = [sum(get(filled)) for get in draws]
    if None not in values:
        return sums, [len(values)] * count
    given = [v is not None for v in values]
    return sums, [sum(get(given)) for get in draws]


def _interval(values: list[float], parts: list[_Lanes], confidence: float) -> Interval:
    """The interval of ``values``, resampled as ``parts`` (one per stratum), pooled lane by lane."""
    n = len(values)
    if n == 0:
        return Interval(mean=None, low=None, high=None, n=0)
    if min(values) == max(values):
        return Interval(mean=values[0], low=values[0], high=values[0], n=n)
    sums, counts = parts[0]
    if len(parts) > 1:
        sums = list(map(sum, zip(*(p[0] for p in parts), strict=True)))
        counts = list(map(sum, zip(*(p[1] for p in parts), strict=True)))
    if min(counts):
        means = sorted(map(truediv, sums, counts))
    else:  # a lane that drew no value has no mean (a resample where no lab announced AGI)
        means = sorted([s / c for s, c in zip(sums, counts, strict=True) if c])
    mean = math.fsum(values) / n
    if not means:  # only with a handful of resamples, none of which drew a value
        return Interval(mean=mean, low=mean, high=mean, n=n)
    tail = int((1 - confidence) / 2 * len(means) + 1e-9)
    return Interval(mean=mean, low=means[tail], high=means[-1 - tail], n=n)


def aggregate(
    rows: Sequence[SweepRow],
    dial_names: Sequence[str],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Aggregates:
    """Means and bootstrap intervals of every score, and of tokens and cost per run.

    Each grid cell is resampled on its own (the cells are the sweep's strata, with their
    numbers of seeds fixed), and a dial's setting pools the resamples of its cells. A score
    counts the completed runs that gave it; tokens and cost every run that finished.

    Args:
        rows: the sweep's runs; any status.
        dial_names: the grid's dials, in the order the report shows them.
        confidence: of the intervals.
        resamples: how many resamples each interval is made of.
        seed: the resamples' seed, mixed with each cell's dial values.

    Returns:
        Groups by each setting of each dial, by full grid cell, and of all runs.
    """
    _check(confidence, resamples)
    names = list(dial_names)
    columns = score_columns_of(rows)
    settings = {d: dial_settings(rows, d) for d in names}
    cells = partition(rows, names, settings)
    done = [[r for r in rs if r.status == "completed"] for _, rs in cells]
    ran = [[r for r in rs if r.status != "pending"] for _, rs in cells]
    # The cells each group pools: every setting of every dial, every cell, then all of them.
    pools = [({d: v}, _cells_with(cells, d, v)) for d in names for v in settings[d]]
    pools += [(dials, [i]) for i, (dials, _) in enumerate(cells)]
    pools.append(({}, list(range(len(cells)))))
    # A cell's runs are drawn alike for every score (and its finished runs for tokens and cost).
    keys = [f"{seed}:" + ",".join(map(cell_text, dials.values())) for dials, _ in cells]
    done_draws = [_draws(len(rs), resamples, f"{key}:completed") for key, rs in zip(keys, done, strict=True)]
    ran_draws = [_draws(len(rs), resamples, f"{key}:finished") for key, rs in zip(keys, ran, strict=True)]

    def intervals(samples: list[list[float | None]], draws: list[list[itemgetter[Any]]]) -> list[Interval]:
        """One sample per cell in, one interval per pool out."""
        lanes = [_lanes(sample, d, resamples) for sample, d in zip(samples, draws, strict=True)]
        return [
            _interval(
                [v for i in cs for v in samples[i] if v is not None], [lanes[i] for i in cs], confidence
            )
            for _, cs in pools
        ]

    scores = {c: intervals([[r.scores.get(c) for r in rs] for rs in done], done_draws) for c in columns}
    tokens = intervals([[float(r.prompt_tokens + r.completion_tokens) for r in rs] for rs in ran], ran_draws)
    cost = intervals([[r.cost_usd for r in rs] for rs in ran], ran_draws)
    groups = [
        Group(
            dials=dials,
            runs=sum(len(cells[i][1]) for i in cs),
            completed=sum(len(done[i]) for i in cs),
            failed=sum(r.status in _FAILED for i in cs for r in ran[i]),
            scores={c: scores[c][g] for c in columns},
            tokens=tokens[g],
            cost_usd=cost[g],
            judged=sum(r.judged is not False for i in cs for r in done[i]),
            judge_errors=_judge_errors(r for i in cs for r in done[i]),
        )
        for g, (dials, cs) in enumerate(pools)
    ]
    settings_count = sum(map(len, settings.values()))
    return Aggregates(
        dial_names=names,
        columns=columns,
        settings=settings,
        by_dial={d: [g for g in groups[:settings_count] if d in g.dials] for d in names},
        cells=groups[settings_count:-1],
        overall=groups[-1],
    )


def _judge_errors(rows: Iterable[SweepRow]) -> dict[str, int]:
    """Why the judge failed on ``rows``: each first line of its messages and how often, most
    frequent first (then as first seen)."""
    counts = Counter(r.judge_error or "the judge failed" for r in rows if r.judged is False)
    return dict(counts.most_common())


def _cells_with(
    cells: list[tuple[dict[str, DialValue], list[SweepRow]]], dial: str, value: DialValue
) -> list[int]:
    text = cell_text(value)
    return [i for i, (dials, _) in enumerate(cells) if cell_text(dials[dial]) == text]


def partition(
    rows: Iterable[SweepRow], dials: Sequence[str], settings: dict[str, list[DialValue]]
) -> list[tuple[dict[str, DialValue], list[SweepRow]]]:
    """The rows grouped by their values of ``dials``, in the order of ``settings``."""
    places = {d: {cell_text(v): i for i, v in enumerate(settings[d])} for d in dials}
    groups: dict[tuple[int, ...], list[SweepRow]] = {}
    for row in rows:
        key = tuple(places[d][cell_text(row.dials.get(d, ""))] for d in dials)
        groups.setdefault(key, []).append(row)
    return [
        ({d: settings[d][i] for d, i in zip(dials, key, strict=True)}, groups[key]) for key in sorted(groups)
    ]


def dial_settings(rows: Iterable[SweepRow], dial: str) -> list[DialValue]:
    """The settings of ``dial`` in report order: as they first appear in ``rows``, or ascending
    when all are numbers."""
    # Keyed by the CSV text: True and 1 are equal in a dict, but not as settings.
    seen: dict[str, DialValue] = {}
    for row in rows:
        value = row.dials.get(dial, "")
        seen.setdefault(cell_text(value), value)
    values = list(seen.values())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        values.sort()
    return values
