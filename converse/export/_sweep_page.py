"""A sweep's page: what it ran, a table of its runs, and each run's page folded under its name."""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario._scenario import DialValue
from ..sweeps._summary_csv import cell_text
from ._html import run_page
from ._markup import El, Raw, document, meta_list, write
from ._source import SweepSource

__all__ = ["render_sweep_html"]


def render_sweep_html(source: SweepSource) -> str:
    """A sweep's page: what it ran, a table of its runs (dials, seed, status, scores), and each
    run's page folded under its name. Runs not started yet are listed, with no page.

    Raises:
        LogError: a run's log is not a log.
    """
    sweep = source.sweep
    listed: list[_Listed] = []
    folds: list[str] = []  # each run's page, written as it is read: one log is held at a time
    for number, run in enumerate(source.runs(), start=1):
        if run.log is None:
            listed.append(_Listed(run.run_id, run.dials, run.seed, None, {}))
            continue
        page = run_page(run.log.events, anchor=f"r{number}-")
        listed.append(_Listed(run.run_id, run.dials, run.seed, page.badge(), page.scores()))
        dials = ", ".join(f"{k}={cell_text(v)}" for k, v in run.dials.items())
        summary = El(
            "summary",
            None,
            El("b", None, run.run_id),
            page.badge(),
            " ",
            El("span", {"class": "muted"}, dials),
        )
        write(El("details", {"class": "run-fold", "id": f"r{number}"}, summary, page.body()), folds)
    grid = (
        "; ".join(f"{key}={','.join(cell_text(v) for v in values)}" for key, values in sweep.grid) or "none"
    )
    meta = [
        ("scenario", sweep.scenario_name),
        ("grid", grid),
        ("seeds", f"{sweep.repeats} per cell, from {sweep.seed}"),
        ("model", sweep.model or ""),
        ("overrides", ", ".join(sweep.overrides)),
        ("runs", f"{sum(run.badge is not None for run in listed)} of {len(listed)} started"),
    ]
    body = [
        El("header", {"class": "run-head"}, El("h1", None, f"Sweep: {sweep.scenario_name}"), meta_list(meta)),
        El(
            "section",
            {"class": "runs"},
            El("h2", None, "Runs"),
            El("div", {"class": "scroll"}, _runs_table(listed, source.dial_names)),
        ),
        El("section", {"class": "transcripts"}, El("h2", None, "Transcripts"), Raw("".join(folds))),
    ]
    return document(f"Sweep: {sweep.scenario_name}", source.directory.name or str(source.directory), body)


@dataclass(frozen=True, slots=True)
class _Listed:
    """A run's line in a sweep's table (``badge`` None: not started)."""

    run_id: str
    dials: dict[str, DialValue]
    seed: int
    badge: El | None
    scores: dict[str, str]


def _runs_table(listed: list[_Listed], dials: list[str]) -> El:
    scores = list(dict.fromkeys(column for run in listed for column in run.scores))
    head = El(
        "tr",
        None,
        *(El("th", {"scope": "col"}, name) for name in ["run", *dials, "seed", "status", *scores]),
    )
    body = El("tbody")
    for number, run in enumerate(listed, start=1):
        name: El | str = run.run_id if run.badge is None else El("a", {"href": f"#r{number}"}, run.run_id)
        cells = [El("td", None, name)]
        cells += [El("td", None, cell_text(run.dials.get(dial))) for dial in dials]
        cells.append(El("td", {"class": "num"}, str(run.seed)))
        cells.append(El("td", None, run.badge or "not started"))
        cells += [El("td", {"class": "num"}, run.scores.get(column, "")) for column in scores]
        body.add(El("tr", None, *cells))
    return El("table", {"class": "grid runs-table"}, El("thead", None, head), body)
