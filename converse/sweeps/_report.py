"""Sweep reports: ``report.md``, one self-contained ``report.html`` and ``plots/*.svg``.

A pure function of the sweep's rows (``_summary_csv``) and their statistics (``_stats``):
the same rows always give the same files, byte for byte. The layout: a title and a header
paragraph (what ran, how it went, what it cost), one section per dial with two or more
settings (a table of its settings, the other dials pooled, and a strip plot per score), then
a table of every grid cell, then the seed noise: how much of each score's variance is seed to
seed rather than the dials', the repeats a precision needs, and each cell's spread (each plot
says the first too). Headline scores share one table; a per-subject score (``agi_year[OpenAI]``)
gets a table of its own with the subjects as columns, so twenty scores stay readable. A
population run's columns (``population_safety_share``, ...) are shown as scores are.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import NamedTuple

from .._files import write_atomic
from ..scenario._scenario import DialValue
from ._population import POPULATION_COLUMNS
from ._stats import Aggregates, Decomposition, Group, aggregate, repeats_for
from ._strips import strips
from ._summary_csv import SweepRow, cell_text
from ._svg import scale_range, strip_plot

__all__ = ["write_report"]


def write_report(
    directory: str | os.PathLike[str],
    rows: Sequence[SweepRow],
    dial_names: Sequence[str],
    *,
    title: str,
    scales: Mapping[str, str],
    scenario_name: str,
    command: str | None = None,
) -> list[Path]:
    """Write ``report.md``, ``report.html`` (one self-contained page) and ``plots/*.svg``.

    Args:
        directory: the sweep's directory.
        rows: the sweep's runs, any status.
        dial_names: the grid's dials, in the order to show them.
        title: the report's title.
        scales: each score column's scale (``"1-10"``, ``"year"``, ...) to pick its plots' axis;
            a column not in it gets the data's range.
        scenario_name: named in the header.
        command: the command line that ran the sweep, shown in the header.

    Returns:
        The files written: the Markdown, the HTML, then the plots.
    """
    out = Path(directory)
    stats = aggregate(rows, dial_names)
    blocks = _document(stats, rows, title, scenario_name, command)
    plots: dict[str, str] = {}
    varying = [d for d in stats.dial_names if len(stats.settings[d]) > 1]
    failures = bool(stats.overall.judge_errors)  # then every table says what was scored, and why not
    notes = {c: _plot_note(stats.variance[c], len(stats.cells)) for c in stats.columns}
    for dial in varying:
        blocks += [_Heading(2, dial), *_tables([dial], stats.by_dial[dial], stats.columns, failures)]
        blocks += _plots(
            rows, dial, stats.settings[dial], stats.by_dial[dial], stats.columns, scales, plots, notes
        )
    blocks += [_Heading(2, "Every cell" if stats.dial_names else "All runs")]
    blocks += _tables(stats.dial_names, stats.cells, stats.columns, failures)
    if not varying:
        blocks += _plots(rows, None, None, [stats.overall], stats.columns, scales, plots, notes)
    blocks += _seed_noise(stats, scales, failures)
    written = []
    for name, svg in plots.items():
        write_atomic(out / "plots" / name, svg)
        written.append(out / "plots" / name)
    write_atomic(out / "report.md", _markdown(blocks))
    write_atomic(out / "report.html", _html(title, blocks))
    return [out / "report.md", out / "report.html", *written]


_NO_DATA = "\u2013"  # an en dash
_MD_SPECIAL = re.compile(r"([\\`*<>|])")


class _Heading(NamedTuple):
    level: int
    text: str


class _Text(NamedTuple):
    text: str
    code: str = ""  # shown after the text as code


class _Table(NamedTuple):
    header: list[str]
    rows: list[list[str]]


class _Plot(NamedTuple):
    file: str
    alt: str
    svg: str


_Block = _Heading | _Text | _Table | _Plot


def _document(
    stats: Aggregates, rows: Sequence[SweepRow], title: str, scenario_name: str, command: str | None
) -> list[_Block]:
    """The title and the header: what ran, how it went, what it cost, how to read the tables."""
    total = stats.overall
    sizes = sorted({cell.runs for cell in stats.cells}) or [0]
    seeds = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
    cells = f"{len(stats.cells)} grid cell" + ("s" if len(stats.cells) != 1 else "")
    pending = total.runs - total.completed - total.failed
    outcome = f"{total.completed} completed, {total.failed} failed" + (
        f", {pending} unfinished" if pending else ""
    )
    tokens = sum(r.prompt_tokens + r.completion_tokens for r in rows)
    cost = sum(r.cost_usd for r in rows)
    fixed = [f"{d} = {cell_text(s[0])}" for d, s in stats.settings.items() if len(s) == 1]
    header = (
        f"Scenario {scenario_name}: {total.runs} runs ({cells} of {seeds} seeds), {outcome}; "
        f"{tokens:,} tokens and {_usd(cost)} in all." + (f" Fixed: {', '.join(fixed)}." if fixed else "")
    )
    blocks: list[_Block] = [_Heading(1, title), _Text(header)]
    if command:
        blocks.append(_Text("Command:", command))
    blocks.append(
        _Text(
            "A score is its mean over the completed runs, with its 95% bootstrap interval: "
            "mean [low, high]. “(k of n)”: only k of the n completed runs gave it (a lab that "
            "never announced AGI gives no AGI year), and the mean is over those k. Tokens and "
            "cost are means per run."
        )
    )
    if any(c in POPULATION_COLUMNS for c in stats.columns):
        blocks.append(
            _Text(
                "The population columns are scores every completed population run gives: "
                "population_researchers, the researchers in all labs at the end; population_<area>_share, "
                "the share of the last period's researchers who worked on the area; population_papers_<area> "
                "and population_moves, the papers and the moves between labs over the whole run."
            )
        )
    if total.judge_errors:
        blocks.append(_Text(_judge_note(total)))
    return blocks


def _judge_note(total: Group) -> str:
    """What the header says of a judge that failed: on how many runs, and why."""
    failed = total.completed - total.judged
    why = _errors(total.judge_errors)
    if total.judged == 0:
        return (
            f"No run was scored: the judge failed on all {total.completed} completed runs ({why}). "
            "The tables give each cell's runs, tokens and cost."
        )
    return (
        f"The judge failed on {failed} of the {total.completed} completed runs ({why}); they have no "
        "scores. “scored k of n”: the judge scored k of a cell's n completed runs, and its scores are "
        "over those k; “judge errors” says why it failed on the others."
    )


def _errors(errors: Mapping[str, int]) -> str:
    """Judge errors as ``message (2 runs); other (1 run)``."""
    return "; ".join(f"{message} ({count} run{'s' * (count != 1)})" for message, count in errors.items())


def _scored(group: Group) -> str:
    return f"scored {group.judged} of {group.completed}"


def _could_give(group: Group, column: str) -> int:
    """The runs of ``group`` that could give ``column`` (the n of a cell's "k of n"): for a
    population column every completed one, for a judge's score the ones it scored."""
    return group.completed if column in POPULATION_COLUMNS else group.judged


def _by_subject(columns: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The headline score columns, and the per-subject ones by score name."""
    by_name: dict[str, list[str]] = {}
    for column in columns:
        if "[" in column:
            by_name.setdefault(column.split("[", 1)[0], []).append(column)
    return [c for c in columns if "[" not in c], by_name


def _tables(
    labels: list[str], groups: list[Group], columns: list[str], failures: bool = False
) -> list[_Block]:
    """The headline scores in one table, then one table per per-subject score (subjects as
    columns); with ``failures`` (the judge failed on some run), each says per row how many
    runs were scored, and the first why the judge failed on the others."""
    headline, by_name = _by_subject(columns)
    keys = [[cell_text(g.dials[d]) for d in labels] for g in groups]
    scored = ["scored"] * failures
    first = _Table(
        [*labels, "runs", *scored, *headline, "tokens", "cost", *(["judge errors"] * failures)],
        [
            [
                *key,
                _runs(g),
                *[_scored(g)] * failures,
                *(_estimate(g, c) for c in headline),
                _amount(g.tokens.mean),
                _usd(g.cost_usd.mean),
                *[_errors(g.judge_errors) or _NO_DATA] * failures,
            ]
            for key, g in zip(keys, groups, strict=True)
        ],
    )
    blocks: list[_Block] = [first]
    for name, subject_columns in by_name.items():
        subjects = [c[len(name) + 1 : -1] for c in subject_columns]
        rows = [
            [*key, *[_scored(g)] * failures, *(_estimate(g, c) for c in subject_columns)]
            for key, g in zip(keys, groups, strict=True)
        ]
        blocks += [_Text(f"{name}, by subject:"), _Table([*labels, *scored, *subjects], rows)]
    return blocks


def _plots(
    rows: Sequence[SweepRow],
    dial: str | None,
    settings: list[DialValue] | None,
    groups: list[Group],
    columns: list[str],
    scales: Mapping[str, str],
    files: dict[str, str],
    notes: Mapping[str, str | None],
) -> list[_Block]:
    """A strip plot of each score column, added to ``files``; their blocks.

    One strip per setting of ``dial`` (``settings``, in order; ``groups`` their aggregates),
    or, ``dial`` None, one of every run, "all runs" (``groups`` its one aggregate). ``notes``:
    each column's line under its plots' title.
    """
    name = dial or "all runs"
    blocks: list[_Block] = []
    if any(c not in POPULATION_COLUMNS for c in columns) and any(g.judge_errors for g in groups):
        labels = [f"{dial} = {cell_text(v)}: " for v in settings or []] if dial is not None else [""]
        per = [label + _scored(g) for label, g in zip(labels, groups, strict=True)]
        blocks.append(_Text("The plots of the judge's scores show the runs it scored: " + ", ".join(per) + "."))
    for column in columns:
        intervals = [group.scores[column] for group in groups]
        shown = strips(rows, dial, column, settings=settings, intervals=intervals, label=name)
        title = f"{column} by {name}" if groups[0].dials else f"{column}: {name}"
        scale = scales.get(column)
        y_label = f"{column} ({scale})" if scale else column
        svg = strip_plot(
            shown, title=title, x_label=name, y_label=y_label, scale=scale, note=notes.get(column)
        )
        file = _unique(f"{_slug(name)}--{_slug(column)}.svg", files)
        files[file] = svg
        blocks.append(_Plot(file, title, svg))
    return blocks


def _seed_noise(stats: Aggregates, scales: Mapping[str, str], failures: bool) -> list[_Block]:
    """The section on seed noise: how much of each score's variance is seed to seed and how
    much the dials', the repeats a 95% interval of a given width needs, and each cell's spread
    (with ``failures``, and how many of its runs were scored, as in every table)."""
    if not stats.columns:
        return []
    dials = len(stats.cells) > 1
    blocks: list[_Block] = [_Heading(2, "Seeds or dials" if dials else "Seed to seed")]
    if max((_could_give(cell, c) for cell in stats.cells for c in stats.columns), default=0) < 2:
        return [
            *blocks,
            _Text(
                "No cell has two scored runs, so there is no seed-to-seed spread to measure. Run a pilot "
                "with 5 repeats to see how much of each score's spread is seed noise and how many repeats "
                "a given precision needs."
            ),
        ]
    if dials:
        blocks.append(
            _Text(
                "A score's variance splits into the part within grid cells (seed to seed: the same dials, "
                "another seed) and the part between them (the dials), as in a one-way analysis of variance "
                "of the completed runs. p: the F test's chance of cell means at least this far apart if the "
                "dials changed nothing (by chance alone the dials get about (cells - 1) / (values - 1) of "
                "the variance). Seed SD: the seed-to-seed standard deviation, pooled over the cells. "
                "Repeats: how many seeds a cell needs for the 95% interval of its mean to be ± that wide, "
                "at that SD."
            )
        )
        headline = [c for c in stats.columns if "[" not in c]
        said = [_seed_sentence(c, stats.variance[c]) for c in headline]
        if any(said):
            blocks.append(_Text(" ".join(s for s in said if s)))
    else:
        blocks.append(
            _Text(
                "Seed SD: the standard deviation of a score from one seed to the next. Repeats: how many "
                "seeds the 95% interval of the mean needs to be ± that wide, at that SD."
            )
        )
    split = ["seeds", "dials", "p"] * dials
    blocks.append(
        _Table(
            ["score", "values", *split, "seed SD", "repeats for a 95% interval of"],
            [
                [
                    c,
                    _values(d, _could_give(stats.overall, c)),
                    *(_shares(d) if dials else []),
                    _amount(d.sd),
                    _repeats(d.sd, scales.get(c)),
                ]
                for c, d in stats.variance.items()
            ],
        )
    )
    blocks.append(
        _Text(
            "Seed to seed, per cell: SD is the standard deviation of a score over the cell's seeds; ± is half "
            "the width of the 95% interval of the cell's mean (Student's t, n - 1 degrees of freedom). "
            "A cell with one run has no spread to measure."
        )
    )
    labels = stats.dial_names
    keys = [[cell_text(g.dials[d]) for d in labels] for g in stats.cells]
    headline, by_name = _by_subject(stats.columns)
    blocks.append(
        _Table(
            [*labels, "runs", *["scored"] * failures, *headline],
            [
                [*key, _runs(g), *[_scored(g)] * failures, *(_spread(g, c) for c in headline)]
                for key, g in zip(keys, stats.cells, strict=True)
            ],
        )
    )
    for name, subject_columns in by_name.items():
        subjects = [c[len(name) + 1 : -1] for c in subject_columns]
        rows = [
            [*key, *[_scored(g)] * failures, *(_spread(g, c) for c in subject_columns)]
            for key, g in zip(keys, stats.cells, strict=True)
        ]
        blocks += [
            _Text(f"{name}, by subject, seed to seed:"),
            _Table([*labels, *["scored"] * failures, *subjects], rows),
        ]
    return blocks


def _seed_sentence(column: str, d: Decomposition) -> str:
    """One score's split between seeds and dials, in words; empty for a score no run gave."""
    if d.n == 0:
        return ""
    if d.seeds_share is None:
        if d.repeated == 0:
            return f"No cell has two runs that gave {column}: its seed noise cannot be told from the dials."
        if d.cells < 2:
            return f"Only one cell gave {column}: all its spread is seed to seed."
        return f"Every run gave {column} the same value: there is no spread to split."
    seeds, dials = _percentages(d.seeds_share)
    return f"Seeds explain {seeds} of the variance of {column}; the dials {dials} ({_p(d.p_value)})."


def _plot_note(d: Decomposition, cells: int) -> str | None:
    """The line under a score's plots' title: its split between seeds and dials, or with one
    cell its seed-to-seed SD."""
    if cells > 1 and d.seeds_share is not None:
        seeds, dials = _percentages(d.seeds_share)
        return f"over the grid's {cells} cells, seeds explain {seeds} of the variance, the dials {dials}"
    if cells == 1 and d.sd is not None:
        return f"seed-to-seed SD {_amount(d.sd)} ({d.n} runs)"
    return None


def _percentages(seeds_share: float) -> tuple[str, str]:
    """The seeds' and the dials' shares as whole percentages that add up to 100."""
    seeds = round(seeds_share * 100)
    return f"{seeds}%", f"{100 - seeds}%"


def _shares(d: Decomposition) -> list[str]:
    if d.seeds_share is None:
        return [_NO_DATA] * 3
    return [*_percentages(d.seeds_share), "<0.001" if (d.p_value or 0) < 0.001 else f"{d.p_value:.2g}"]


def _p(p_value: float | None) -> str:
    return "p < 0.001" if (p_value or 0) < 0.001 else f"p = {p_value:.2g}"


def _values(d: Decomposition, scored: int) -> str:
    """How many completed runs gave the score (of how many were scored) and in how many cells."""
    given = str(d.n) if d.n == scored else f"{d.n} of {scored}"
    return f"{given} in {d.cells} cell{'s' * (d.cells != 1)}"


def _repeats(sd: float | None, scale: str | None) -> str:
    """The repeats a 95% interval needs at two natural half-widths of the score's scale."""
    widths = _widths(scale)
    if sd is None or not widths:
        return _NO_DATA
    unit = (lambda w: " year" + "s" * (w != 1)) if scale == "year" else (lambda w: "")
    return ", ".join(f"±{w:g}{unit(w)}: {repeats_for(sd, w):,}" for w in widths)


def _widths(scale: str | None) -> tuple[float, ...]:
    """Half a point and a point on a 1-10 scale (on another low-high scale a twentieth and a
    tenth of its range, rounded to 1, 2 or 5 times a power of ten); one and two years; none for
    a scale of no known size."""
    if scale == "year":
        return (1.0, 2.0)
    bounds = scale_range(scale)
    if bounds is None or bounds[1] <= bounds[0]:
        return ()
    return tuple(_round_number((bounds[1] - bounds[0]) / parts) for parts in (20, 10))


def _round_number(value: float) -> float:
    power = math.floor(math.log10(value))
    candidates = [m * 10.0**p for p in (power, power + 1) for m in (1, 2, 5)]
    return min(candidates, key=lambda c: abs(math.log(c / value)))


def _spread(group: Group, column: str) -> str:
    """A cell's seed-to-seed spread of a score: ``SD 1.20, ±1.49``."""
    spread = group.spread.get(column)
    if spread is None or spread.n == 0:
        return _NO_DATA
    if spread.sd is None or spread.half_width is None:
        text = "one run: no spread"
    else:
        places = _places(spread.sd, 0.0)
        text = f"SD {spread.sd:.{places}f}, ±{spread.half_width:.{places}f}"
    given = _could_give(group, column)
    return text if spread.n == given else f"{text} ({spread.n} of {given})"


def _markdown(blocks: list[_Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            out.append(f"{'#' * block.level} {_md(block.text)}")
        elif isinstance(block, _Text):
            out.append(f"{_md(block.text)} {_code(block.code)}" if block.code else _md(block.text))
        elif isinstance(block, _Table):
            lines = [block.header, ["---"] * len(block.header), *block.rows]
            out.append("\n".join("| " + " | ".join(_md(c) for c in line) + " |" for line in lines))
        else:
            image = f"![{_md(block.alt)}](plots/{block.file})"
            if out and out[-1].startswith("!["):
                out[-1] += "\n" + image  # one paragraph: the plots side by side
            else:
                out.append(image)
    return "\n\n".join(out) + "\n"


def _code(text: str) -> str:
    # A code span's fence is longer than any run of backticks inside it.
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"`{text}`"


_CSS = """body{font-family:system-ui,sans-serif;color:#222;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;margin:0.5rem 0 1.2rem;font-size:0.9rem}
th,td{border:1px solid #ddd;padding:0.25rem 0.6rem;text-align:right;white-space:nowrap}
th{background:#f3f3f3}td.label,th.label{text-align:left}
code{background:#f3f3f3;padding:0.1rem 0.3rem}
.plots{display:flex;flex-wrap:wrap;gap:1rem}.plots svg{max-width:100%;height:auto}"""


def _html(title: str, blocks: list[_Block]) -> str:
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
        f"<title>{escape(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>",
    ]
    in_plots = False
    for block in blocks:
        if in_plots and not isinstance(block, _Plot):
            out.append("</div>")
            in_plots = False
        if isinstance(block, _Heading):
            out.append(f"<h{block.level}>{escape(block.text)}</h{block.level}>")
        elif isinstance(block, _Text):
            code = f" <code>{escape(block.code)}</code>" if block.code else ""
            out.append(f"<p>{escape(block.text)}{code}</p>")
        elif isinstance(block, _Table):
            out.append(_html_table(block))
        else:
            if not in_plots:
                out.append('<div class="plots">')
                in_plots = True
            out.append(f"<figure>{block.svg}</figure>")
    out.append("</div>\n</body>\n</html>\n" if in_plots else "</body>\n</html>\n")
    return "\n".join(out)


def _html_table(table: _Table) -> str:
    # The dials' columns, left of "runs" (or the first column), are labels: left-aligned.
    labels = table.header.index("runs") if "runs" in table.header else 1

    def row(cells: list[str], tag: str) -> str:
        return "<tr>" + "".join(_html_cell(tag, c, i < labels) for i, c in enumerate(cells)) + "</tr>"

    body = "\n".join(row(cells, "td") for cells in table.rows)
    return f"<table>\n<thead>{row(table.header, 'th')}</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _html_cell(tag: str, text: str, label: bool) -> str:
    return f'<{tag} class="label">{escape(text)}</{tag}>' if label else f"<{tag}>{escape(text)}</{tag}>"


def _estimate(group: Group, column: str) -> str:
    i = group.scores[column]
    if i.mean is None or i.low is None or i.high is None:
        return _NO_DATA
    places = _places(i.mean, i.high - i.low)
    text = f"{i.mean:.{places}f} [{i.low:.{places}f}, {i.high:.{places}f}]"
    given = _could_give(group, column)
    return text if i.n == given else f"{text} ({i.n} of {given})"


def _runs(group: Group) -> str:
    pending = group.runs - group.completed - group.failed
    notes = [f"{group.failed} failed"] * bool(group.failed) + [f"{pending} unfinished"] * bool(pending)
    return f"{group.runs} ({', '.join(notes)})" if notes else str(group.runs)


def _amount(value: float | None) -> str:
    return _NO_DATA if value is None else f"{value:.{_places(value, 0.0)}f}"


def _places(value: float, width: float) -> int:
    """Decimals to show: two; none from 100 (years, tokens) unless the interval is narrower
    than one; two significant digits below 1."""
    size = abs(value)
    if size >= 100:
        return 1 if 0 < width < 1 else 0
    return 2 if size >= 1 or size == 0 else 1 - math.floor(math.log10(size))


def _usd(value: float | None) -> str:
    return _NO_DATA if value is None else f"${_amount(value)}"


def _md(text: str) -> str:
    # Data as Markdown text on one line: no table cell ends early, no HTML opens.
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-.") or "column"


def _unique(name: str, taken: Mapping[str, str]) -> str:
    stem, number = name.removesuffix(".svg"), 2
    while name in taken:
        name, number = f"{stem}-{number}.svg", number + 1
    return name
