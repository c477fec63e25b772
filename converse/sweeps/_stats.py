"""Statistics over a sweep's rows: means with percentile-bootstrap intervals, by each setting of
each dial, by grid cell and overall; and how much of each score's spread is seed noise.

A score here is any measured column (``_summary_csv.measured_columns_of``): the judge's scores
and a population run's columns alike. Scores count from completed runs only; tokens and cost
from every run that finished. Each grid cell is resampled on its own and a dial's setting pools
its cells' resamples, deterministically: the same rows and seed always give the same intervals.
``_report`` makes a report of them; ``_strips`` shares the grouping of rows by dial settings.

Seed noise is the textbook's, with no dependency: each cell's seed-to-seed standard deviation and
the t interval of its mean (``spread_of``), a one-way analysis of variance of each score over the
cells, seeds (within) against dials (between), with its F test (``decompose``), and the repeats a
cell needs for an interval of a given half-width (``repeats_for``). Student's t and the F
distribution come from the regularized incomplete beta function.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from operator import itemgetter, truediv
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import msgspec

from ..scenario._scenario import DialValue
from ._summary_csv import SweepRow, cell_text, measured, measured_columns_of

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Aggregates",
    "Decomposition",
    "Group",
    "Interval",
    "Spread",
    "aggregate",
    "bootstrap_ci",
    "decompose",
    "dial_settings",
    "f_survival",
    "partition",
    "repeats_for",
    "spread_of",
    "t_quantile",
]

_FAILED = frozenset({"failed", "cancelled", "budget_exhausted"})


class Interval(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A mean of ``n`` values and its bootstrap interval; all None when ``n`` is 0."""

    mean: float | None
    low: float | None
    high: float | None
    n: int


class Spread(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One score's seed-to-seed spread in one grid cell.

    ``n`` values; ``sd`` their standard deviation (``n - 1`` in the denominator); ``half_width``
    that of the 95% t interval of their mean (``n - 1`` degrees of freedom): the mean is known
    to within plus or minus it. Both None below two values: one run has no spread to measure.
    """

    n: int
    sd: float | None
    half_width: float | None


class Group(msgspec.Struct, frozen=True, kw_only=True):
    """The runs that share ``dials``: one setting of one dial, one grid cell, or (``{}``) all.

    ``scores[column].n`` is how many completed runs gave that score: "announced in
    ``n`` of ``completed``". ``judged`` is how many completed runs the judge scored (or did
    not fail on: a run with no judge counts); ``judge_errors`` counts why it failed on the
    others, by the first line of its message, most frequent first. ``spread``: a grid cell's
    seed-to-seed spread of each score; empty for the other groups, whose runs differ in
    dials too.
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
    spread: dict[str, Spread] = {}


class Decomposition(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One score's variance over a sweep, split into seeds and dials: a one-way analysis of
    variance with the grid cells as groups and their completed runs that gave the score as values.

    ``n`` values in ``cells`` cells, ``repeated`` of which have two or more. ``ss_within`` sums
    the squared distances of the values from their cell's mean (seed to seed: the same dials);
    ``ss_between`` those of the cells' means from the overall mean, once per value (the dials).
    ``sd`` is the seed-to-seed standard deviation pooled over the cells,
    ``sqrt(ss_within / (n - cells))``; None when no cell has two values. ``seeds_share`` is
    ``ss_within / (ss_within + ss_between)``, the dials' share the rest; ``p_value`` the F test's
    chance of cell means at least this far apart if the dials changed nothing. Both are None
    when they cannot be told: fewer than two cells, no cell with two values, or no spread at all.
    """

    n: int
    cells: int
    repeated: int
    ss_within: float
    ss_between: float
    sd: float | None
    seeds_share: float | None
    p_value: float | None


class Aggregates(msgspec.Struct, frozen=True, kw_only=True):
    """A sweep's statistics: by each setting of each dial (the other dials pooled), by grid cell, overall.

    ``settings`` lists each dial's settings in report order (as they first appear in the
    rows, or ascending when all are numbers); ``by_dial`` and ``cells`` follow that order.
    ``variance`` splits each score's variance between seeds and dials.
    """

    dial_names: list[str]
    columns: list[str]
    settings: dict[str, list[DialValue]]
    by_dial: dict[str, list[Group]]
    cells: list[Group]
    overall: Group
    variance: dict[str, Decomposition] = {}


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
        sample, [_lanes(sample, _Draws(len(sample), resamples, str(seed)))], confidence
    )


def _check(confidence: float, resamples: int) -> None:
    if not 0 < confidence < 1 or resamples < 1:
        raise ValueError(f"need 0 < confidence < 1 and resamples >= 1, not {confidence} and {resamples}")


# One sample's resamples, lane by lane: the sum of the values drawn, and how many values
# were drawn (fewer than the sample's size when some of its runs gave none).
_Lanes = tuple[list[float], list[int]]
_LARGE = 256  # a sample larger than this is drawn with numpy (and resampled with it)
# Values resampled in all (runs x resamples x columns) above which numpy resamples every
# sample: its import (about 0.12 s) costs what Python's resampling of 6 million does.
_NUMPY_WORK = 6_000_000
_CHUNK = 1 << 20  # values resampled by numpy at a time (8 MB of floats)


class _Draws:
    """``count`` draws of ``n`` positions out of ``range(n)`` with replacement: the resamples
    of one sample, the same for each of its columns. Python resamples along an itemgetter
    per draw, numpy along a row of positions per draw; each is made when first needed."""

    __slots__ = ("_getters", "count", "n", "positions")

    def __init__(self, n: int, count: int, key: str) -> None:
        self.n, self.count = n, count
        self._getters: list[itemgetter[Any]] | None = None
        rng = random.Random(key)
        self.positions: bytes | npt.NDArray[np.int32]
        if n < 2:  # one way to resample one value: _lanes needs no draws
            self.positions = b""
        elif n > _LARGE:
            self.positions = _choices(rng, n, count)
        else:
            # A random byte below the largest multiple of n, modulo n, is a uniform position;
            # bytes.translate maps and drops a whole buffer of them at C speed (random.choices
            # takes ten times as long, and drawing would be most of the work).
            keep = 256 - 256 % n
            modulo = bytes(b % n for b in range(256))
            dropped = bytes(range(keep, 256))
            positions = bytearray()
            while len(positions) < n * count:
                positions += rng.randbytes(n * count * 256 // keep + 16).translate(modulo, dropped)
            self.positions = bytes(positions[: n * count])

    def getters(self) -> list[itemgetter[Any]]:
        """An itemgetter of each draw's positions (a sample of at most ``_LARGE`` values)."""
        if self._getters is None:
            n, positions = self.n, self.positions
            assert isinstance(positions, bytes)
            self._getters = [itemgetter(*positions[i : i + n]) for i in range(0, len(positions), n)]
        return self._getters

    def rows(self) -> npt.NDArray[np.int32] | npt.NDArray[np.uint8]:
        """Each draw's positions as a row of an array."""
        import numpy as np

        positions = self.positions
        if isinstance(positions, bytes):
            return np.frombuffer(positions, np.uint8).reshape(self.count, self.n)
        return positions


def _choices(rng: random.Random, n: int, count: int) -> npt.NDArray[np.int32]:
    """The positions ``[rng.choices(range(n), k=n) for _ in range(count)]`` gives, drawn by
    numpy: its Mersenne Twister, started from ``rng``'s state, makes the same doubles as
    ``rng.random()``, and ``floor(random() * n)`` is how ``choices`` picks. Drawn in Python,
    a cell of a thousand runs took a second for its four million positions. Drawn a block of
    draws at a time (one stream, so the same positions), with 8 MB of doubles at most."""
    import numpy as np

    _, state, _ = rng.getstate()
    twister = np.random.RandomState()
    twister.set_state(("MT19937", np.array(state[:-1], dtype=np.uint32), state[-1], 0, 0.0))
    positions = np.empty((count, n), np.int32)
    block = max(1, _CHUNK // n)
    for start in range(0, count, block):
        rows = min(block, count - start)
        positions[start : start + rows] = np.floor(twister.random_sample((rows, n)) * n)
    return positions


def _lanes(values: Sequence[float | None], draws: _Draws, *, vectorised: bool = False) -> _Lanes:
    """Resample ``values`` (None for a run that gave none) along ``draws``: with numpy if
    ``vectorised`` or the sample is large, else in Python. Either way each lane's values are
    added left to right, a running sum (numpy's own sum is pairwise), so both give the same
    sums wherever Python's ``sum`` adds left to right (up to 3.11; 3.12's compensates)."""
    count = draws.count
    if len(values) < 2:
        value = values[0] if values else None
        return [value or 0.0] * count, [int(value is not None)] * count
    filled = [0.0 if v is None else v for v in values]
    if vectorised or draws.n > _LARGE:
        return _numpy_lanes(values, filled, draws.rows())
    getters = draws.getters()
    sums = [sum(get(filled)) for get in getters]
    if None not in values:
        return sums, [len(values)] * count
    given = [v is not None for v in values]
    return sums, [sum(get(given)) for get in getters]


def _numpy_lanes(
    values: Sequence[float | None], filled: list[float], rows: npt.NDArray[np.int32] | npt.NDArray[np.uint8]
) -> _Lanes:
    """``_lanes`` by numpy, a block of lanes at a time."""
    import numpy as np

    count, n = rows.shape
    block = max(1, _CHUNK // n)
    resampled = np.array(filled)
    sums: list[float] = []
    for start in range(0, count, block):
        sums += np.cumsum(resampled[rows[start : start + block]], axis=1)[:, -1].tolist()
    if None not in values:
        return sums, [n] * count
    given = np.array([v is not None for v in values], dtype=np.int64)
    counts: list[int] = []
    for start in range(0, count, block):
        counts += given[rows[start : start + block]].sum(axis=1).tolist()
    return sums, counts


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
    columns = measured_columns_of(rows)
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
    # Drawn when first needed: a pool whose values are all equal (or absent) needs no resample.
    done_draws = cache(lambda i: _Draws(len(done[i]), resamples, f"{keys[i]}:completed"))
    ran_draws = cache(lambda i: _Draws(len(ran[i]), resamples, f"{keys[i]}:finished"))
    # Large enough, and numpy resamples every cell (drawn as above, summed as Python would).
    vectorised = sum(map(len, ran)) * resamples * (len(columns) + 2) > _NUMPY_WORK

    def intervals(samples: list[list[float | None]], draws: Callable[[int], _Draws]) -> list[Interval]:
        """One sample per cell in, one interval per pool out."""
        lane = cache(lambda i: _lanes(samples[i], draws(i), vectorised=vectorised))
        found: list[Interval] = []
        for _, cs in pools:
            values = [v for i in cs for v in samples[i] if v is not None]
            constant = not values or min(values) == max(values)  # _interval needs no resamples
            found.append(_interval(values, [] if constant else [lane(i) for i in cs], confidence))
        return found

    samples = {c: [[measured(r, c) for r in rs] for rs in done] for c in columns}
    scores = {c: intervals(samples[c], done_draws) for c in columns}
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
        cells=[
            msgspec.structs.replace(g, spread={c: spread_of(samples[c][i]) for c in columns})
            for i, g in enumerate(groups[settings_count:-1])
        ],
        overall=groups[-1],
        variance={c: decompose(samples[c]) for c in columns},
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


def spread_of(values: Iterable[float | None], *, confidence: float = 0.95) -> Spread:
    """The seed-to-seed spread of one cell's ``values`` (None: a run that gave none).

    Raises:
        ValueError: ``confidence`` is not between 0 and 1.
    """
    sample = [v for v in values if v is not None]
    n = len(sample)
    if n < 2:
        return Spread(n=n, sd=None, half_width=None)
    sd = math.sqrt(_squares(sample) / (n - 1))
    return Spread(n=n, sd=sd, half_width=t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))


def decompose(cells: Iterable[Iterable[float | None]]) -> Decomposition:
    """Split the variance of one score's values, one sample per grid cell (None: a run that gave
    none), into seeds (within the cells) and dials (between them); see :class:`Decomposition`."""
    samples = [s for s in ([v for v in cell if v is not None] for cell in cells) if s]
    if samples:  # measured from one value, equal values are exactly equal to their mean (see _squares)
        origin = samples[0][0]
        samples = [[v - origin for v in s] for s in samples]
    n, k = sum(map(len, samples)), len(samples)
    grand = math.fsum(v for s in samples for v in s) / n if n else 0.0
    within = math.fsum(map(_squares, samples))
    between = math.fsum(len(s) * (math.fsum(s) / len(s) - grand) ** 2 for s in samples)
    seeds_df, dials_df = n - k, k - 1
    told = seeds_df > 0 and dials_df > 0 and within + between > 0
    p_value = None
    if told:  # means apart with no seed noise at all: no chance could have done it
        p_value = f_survival(between / dials_df / (within / seeds_df), dials_df, seeds_df) if within else 0.0
    return Decomposition(
        n=n,
        cells=k,
        repeated=sum(len(s) > 1 for s in samples),
        ss_within=within,
        ss_between=between,
        sd=math.sqrt(within / seeds_df) if seeds_df else None,
        seeds_share=within / (within + between) if told else None,
        p_value=p_value,
    )


def _squares(sample: Sequence[float]) -> float:
    """The sum of squared distances of ``sample`` (not empty) from its mean."""
    # Measured from the first value, twelve runs that all gave 0.4 spread by nothing; their
    # mean is a rounding off it (4.800000000000001 / 12 is 0.4000000000000001).
    origin = sample[0]
    shifted = [v - origin for v in sample]
    mean = math.fsum(shifted) / len(shifted)
    return math.fsum((v - mean) ** 2 for v in shifted)


def repeats_for(sd: float, half_width: float, *, confidence: float = 0.95) -> int:
    """How many repeats a cell needs for the ``confidence`` t interval of its mean to be
    plus or minus ``half_width`` at most, if its runs spread with standard deviation ``sd``: the
    least ``n`` (two at least) with ``t(n - 1) * sd / sqrt(n) <= half_width``.

    Raises:
        ValueError: ``sd`` is negative, ``half_width`` not above 0, or ``confidence`` not
            between 0 and 1.
    """
    if sd < 0 or half_width <= 0 or not 0 < confidence < 1:
        raise ValueError(
            f"need sd >= 0, half_width > 0 and 0 < confidence < 1, not {sd}, {half_width}, {confidence}"
        )
    quantile = 0.5 + confidence / 2
    # t(n - 1) > z, so no n below the normal approximation's will do: count up from there.
    n = max(2, math.ceil((NormalDist().inv_cdf(quantile) * sd / half_width) ** 2))
    while t_quantile(quantile, n - 1) * sd / math.sqrt(n) > half_width:
        n += 1
    return n


@cache
def t_quantile(probability: float, df: int) -> float:
    """The ``probability`` quantile of Student's t distribution with ``df`` degrees of freedom
    (``t_quantile(0.975, 4)`` is 2.776...), to about thirteen significant digits.

    Raises:
        ValueError: ``probability`` is not between 0 and 1, or ``df`` is below 1.
    """
    if not 0 < probability < 1 or df < 1:
        raise ValueError(f"need 0 < probability < 1 and df >= 1, not {probability} and {df}")
    if probability < 0.5:
        return -t_quantile(1 - probability, df)
    if df >= 1000:  # the incomplete beta's log-gammas lose digits; the expansion has them all
        return _t_expansion(NormalDist().inv_cdf(probability), df)

    # Newton's method on P(|T| > t) = I_x(df/2, 1/2), x = df / (df + t^2), whose slope is twice
    # the density. The tail is convex for t > 0, so from below the root (the normal quantile:
    # t's tails are heavier) every step stays below it and the steps shrink to nothing: five
    # to ten evaluations of the incomplete beta, where halving an interval took fifty-five.
    wanted, half = 2 * (1 - probability), (df + 1) / 2
    peak = math.exp(math.lgamma(half) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)  # the density at 0
    t = NormalDist().inv_cdf(probability)
    for _ in range(1000):  # a bound never reached: the quantile doubles at worst, one step to the next
        squared = t * t
        tail = _beta(df / 2, 0.5, df / (df + squared), squared / (df + squared))
        step = (tail - wanted) / (2 * peak * (1 + squared / df) ** -half)
        t += step
        if step <= 2e-16 * t:  # no longer moves (or a rounding's step back)
            break
    return t


def _t_expansion(z: float, df: int) -> float:
    """Student's t quantile from the normal one, ``z``, by its expansion in ``1 / df``
    (Abramowitz and Stegun, 26.7.5): within 1e-14 from a thousand degrees of freedom."""
    terms = (
        (z**3 + z) / 4,
        (5 * z**5 + 16 * z**3 + 3 * z) / 96,
        (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
        (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160,
    )
    return z + math.fsum(term / df**power for power, term in enumerate(terms, 1))


def f_survival(f: float, df1: float, df2: float) -> float:
    """The chance that an F statistic with ``df1`` and ``df2`` degrees of freedom is ``f`` or more."""
    return _beta(df2 / 2, df1 / 2, df2 / (df2 + df1 * f), df1 * f / (df2 + df1 * f)) if f > 0 else 1.0


_TINY = 1e-300


def _beta(a: float, b: float, x: float, y: float) -> float:
    """The regularized incomplete beta function I_x(a, b), given ``x`` and ``y = 1 - x`` (each
    as exact as the caller can make it), by its continued fraction (modified Lentz) on the side
    of ``x`` where that converges fast (Numerical Recipes, 6.4)."""
    if x <= 0 or y <= 0:
        return 0.0 if x <= 0 else 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y))
    if x < (a + 1) / (a + b + 2):
        return front * _fraction(a, b, x) / a
    return 1.0 - front * _fraction(b, a, y) / b


def _fraction(a: float, b: float, x: float) -> float:
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, 100_000):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        for term in (even, odd):
            d = 1.0 + term * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + term / c
            c = c if abs(c) > _TINY else _TINY
            result *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return result


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
