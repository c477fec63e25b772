"""A run's page as one self-contained HTML file, and a sweep's as an index of its runs.

The page is the viewer's run page without its script: the same items (``converse.web``'s
``RunView`` decides what goes where, and which debate folds under which line, as it does for the
live page) placed here into HTML once, in the same elements and classes, with the viewer's own
style sheet (``converse/web/static/app.css``) inlined. So it looks like the viewer's page, and a
change to either shows in both.

Safe to open whatever the log holds: every text from the log (model output, agent and period
names, the scenario's words) is escaped into text, nothing else is written from it; there is no
script, no link to anything outside the file (no font, image or style sheet from elsewhere), and
a Content-Security-Policy meta tag allows inline style and nothing else. Council debates are
``<details>`` elements, folded: the browser opens them on a click, with no script.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..engine._run import ENGINE_VERSION
from ..log._events import AnyEvent, RunStarted
from ..log._log import gc_paused
from ..scenario._scenario import DialValue
from ..sweeps._summary_csv import cell_text, score_column
from ._source import SweepSource

if TYPE_CHECKING:
    from ..web._items import (
        Critic,
        Debate,
        ErrorItem,
        Head,
        Line,
        PageItem,
        Period,
        Statement,
        Status,
        Task,
        Usage,
        Verdict,
    )

__all__ = ["CSP", "render_html", "render_sweep_html"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
"""The page's Content-Security-Policy: inline style, and nothing else (no script, no request)."""

# What the viewer does with buttons and a script, done here with links and <details>.
_EXTRA_CSS = """
.period-nav a.chip { display: inline-block; border: 1px solid var(--line); background: var(--card); color: var(--fg); text-decoration: none; }
.period-nav a.chip:hover { border-color: var(--accent); color: var(--accent); }
details.run-fold { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: .6rem 0; padding: 0 1rem; }
details.run-fold > summary { cursor: pointer; padding: .5rem 0; }
details.run-fold > summary .status { margin-left: .6rem; }
footer.exported { max-width: 1120px; margin: 0 auto; padding: 0 1.25rem 1.25rem; font-size: .8rem; color: var(--muted); }
"""


def render_html(events: Sequence[AnyEvent]) -> str:
    """A run's page, one self-contained HTML document, from its events in log order.

    Raises:
        ValueError: ``events`` does not start with ``run_started``.
    """
    if not events or type(events[0]) is not RunStarted:
        raise ValueError("render_html needs a run's events, starting with run_started")
    page = _run_page(events, anchor="")
    return _document(page.title(), events[0].run, [page.body()])


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
        page = _run_page(run.log.events, anchor=f"r{number}-")
        listed.append(_Listed(run.run_id, run.dials, run.seed, page.badge(), page.scores()))
        dials = ", ".join(f"{k}={cell_text(v)}" for k, v in run.dials.items())
        summary = _El(
            "summary",
            None,
            _El("b", None, run.run_id),
            page.badge(),
            " ",
            _El("span", {"class": "muted"}, dials),
        )
        _write(_El("details", {"class": "run-fold", "id": f"r{number}"}, summary, page.body()), folds)
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
        _El("header", {"class": "run-head"}, _El("h1", None, f"Sweep: {sweep.scenario_name}"), _meta(meta)),
        _El(
            "section",
            {"class": "runs"},
            _El("h2", None, "Runs"),
            _El("div", {"class": "scroll"}, _runs_table(listed, source.dial_names)),
        ),
        _El("section", {"class": "transcripts"}, _El("h2", None, "Transcripts"), _Raw("".join(folds))),
    ]
    return _document(f"Sweep: {sweep.scenario_name}", source.directory.name or str(source.directory), body)


@dataclass(frozen=True, slots=True)
class _Listed:
    """A run's line in a sweep's table (``badge`` None: not started)."""

    run_id: str
    dials: dict[str, DialValue]
    seed: int
    badge: _El | None
    scores: dict[str, str]


def _runs_table(listed: list[_Listed], dials: list[str]) -> _El:
    scores = list(dict.fromkeys(column for run in listed for column in run.scores))
    head = _El(
        "tr",
        None,
        *(_El("th", {"scope": "col"}, name) for name in ["run", *dials, "seed", "status", *scores]),
    )
    body = _El("tbody")
    for number, run in enumerate(listed, start=1):
        name: _El | str = run.run_id if run.badge is None else _El("a", {"href": f"#r{number}"}, run.run_id)
        cells = [_El("td", None, name)]
        cells += [_El("td", None, cell_text(run.dials.get(dial))) for dial in dials]
        cells.append(_El("td", {"class": "num"}, str(run.seed)))
        cells.append(_El("td", None, run.badge or "not started"))
        cells += [_El("td", {"class": "num"}, run.scores.get(column, "")) for column in scores]
        body.add(_El("tr", None, *cells))
    return _El("table", {"class": "grid runs-table"}, _El("thead", None, head), body)


def _run_page(events: Sequence[AnyEvent], *, anchor: str) -> RunPage:
    # The viewer's items: converse.web is an opt-in part, imported when a page is made.
    from ..web._runview import RunView

    view = RunView()
    page = RunPage(anchor)
    with gc_paused():
        for item in view.feed(events):
            page.place(item)
        for item in view.updates():
            page.place(item)
    return page


# --- the elements ------------------------------------------------------------------------------


class _Raw(str):
    """Markup of our own (a tag), written as it is."""

    __slots__ = ()


class _El:
    """An element: its tag, attributes and children (elements, or text, escaped when written)."""

    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: dict[str, Any] | None = None, *children: _El | str | None) -> None:
        self.tag = tag
        self.attrs = attrs or {}
        self.children: list[_El | str] = [c for c in children if c is not None]

    def add(self, *children: _El | str | None) -> _El:
        self.children += [c for c in children if c is not None]
        return self

    def open_tag(self) -> str:
        attrs = "".join(
            f' {name}="{html.escape(str(value))}"' for name, value in self.attrs.items() if value is not None
        )
        return f"<{self.tag}{attrs}>"


def _write(root: _El, out: list[str]) -> None:
    """Write ``root`` as HTML into ``out``; a loop, not recursion: a log can nest debates deep."""
    stack: list[_El | str] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, _Raw):
            out.append(node)
        elif isinstance(node, str):
            out.append(html.escape(node))
        else:
            out.append(node.open_tag())
            stack.append(_Raw(f"</{node.tag}>\n" if node.tag in _BLOCKS else f"</{node.tag}>"))
            stack.extend(reversed(node.children))


_BLOCKS = frozenset(
    {"article", "details", "div", "header", "section", "table", "tbody", "thead", "tr", "ul", "ol", "dl"}
)


@cache
def _style() -> str:
    """The viewer's style sheet, and what this page adds to it."""
    sheet = resources.files("converse.web").joinpath("static", "app.css").read_text(encoding="utf-8")
    return sheet + _EXTRA_CSS


def _document(title: str, crumb: str, body: Iterable[_El]) -> str:
    out = [
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="referrer" content="no-referrer">\n',
        f"<title>{html.escape(title)}</title>\n<style>\n{_style()}</style>\n</head>\n<body>\n",
    ]
    bar = _El(
        "header",
        {"class": "bar"},
        _El("span", {"class": "brand"}, "converse"),
        _El("nav", {"id": "crumbs"}, _El("span", None, crumb)),
    )
    _write(bar, out)
    _write(_El("main", {"id": "main"}, *body), out)
    note = (
        f"Exported by converse {ENGINE_VERSION} from the event log: no script, nothing loaded from elsewhere."
    )
    _write(_El("footer", {"class": "exported"}, note), out)
    out.append("</body>\n</html>\n")
    return "".join(out)


def _meta(pairs: Sequence[tuple[str, Any]]) -> _El:
    shown = [(k, v) for k, v in pairs if v not in ("", None)]
    return _El(
        "dl",
        {"class": "meta"},
        *(el for k, v in shown for el in (_El("dt", None, k), _El("dd", None, str(v)))),
    )


def _num(n: int) -> str:
    return f"{n:,}"


def _usd(n: float) -> str:
    return f"${n:.4f}" if 0 < n < 0.01 else f"${n:.2f}" if n else "—"


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


# --- a run's page ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Debate:
    fold: _El
    count: _El
    state: _El
    home: _El  # the element it is in now: its period or parent debate, then the line that claims it
    lines: int = 0


class RunPage:
    """A run's page, built from the viewer's items as ``run.js`` places them (without what needs
    a script or the server: the find box, the prompt buttons, the audit)."""

    def __init__(self, anchor: str) -> None:
        self.anchor = anchor  # what this page's ids start with (a sweep's page holds many runs)
        self.head: Head | None = None
        self.status: Status | None = None
        self.task: Task | None = None
        self.verdicts: list[_El] = []
        self.shown_scores: dict[str, str] = {}
        self.periods = _El("div", {"class": "periods"})
        self.chips: list[_El] = []
        self.nodes: dict[str, _El] = {}
        self.debates: dict[str, _Debate] = {}
        self.usage: Usage | None = None
        self.call_rows: list[_El] = []
        self.errors: list[_El] = []

    def title(self) -> str:
        return str(self.head.title) if self.head is not None else "converse run"

    def scores(self) -> dict[str, str]:
        """The judge's scores as the page shows them, by ``summary.csv``'s column names."""
        return self.shown_scores

    def badge(self) -> _El:
        status = self.status.status if self.status is not None else "unfinished"
        reason = self.status.reason if self.status is not None else None
        return _El("span", {"class": f"status status-{status}", "title": reason or None}, status)

    def place(self, item: PageItem) -> None:
        """Put an item where the viewer's page would put it."""
        from ..web import _items as kinds

        match item:
            case kinds.Head():
                self.head = item
            case kinds.Status():
                self.status = item
            case kinds.Period():
                self._period(item)
            case kinds.Statement():
                self._speech(item, "statement")
            case kinds.Line():
                debate = self.debates.get(item.parent)
                if debate is not None:
                    debate.lines += 1
                    debate.count.children = [_lines(debate.lines)]
                self._speech(item, "line")
            case kinds.Debate():
                self._debate(item)
            case kinds.DebateEnd():
                ended = self.debates.get(item.id)
                if ended is not None:
                    ended.state.children = ["ended: " + item.reason.replace("_", " ")]
            case kinds.Task():
                self.task = item
            case kinds.Verdict():
                self._verdict(item)
            case kinds.Usage():
                self.usage = item
            case kinds.Call():
                shown = [
                    str(item.call),
                    str(item.seq),
                    f"{item.t:.2f}",
                    item.actor,
                    item.purpose,
                    item.conversation,
                ]
                shown += [_num(item.prompt_tokens), _num(item.completion_tokens), f"{item.latency:.3f}"]
                self.call_rows.append(
                    _El("tr", {"data-call": item.call}, *(_El("td", None, c) for c in shown))
                )
            case kinds.Attempt():
                status = f" {item.status}" if item.status else ""
                text = f"attempt {item.attempt} failed: {item.error_type}{status}: {item.error}"
                cells = [_El("td", None, v) for v in ("—", str(item.seq), f"{item.t:.2f}", item.actor)]
                self.call_rows.append(_El("tr", {"class": "failed"}, *cells, _El("td", {"colspan": 5}, text)))
            case kinds.ErrorItem():
                self._error(item)
            case _:
                pass  # whose turn it is: a live page's; a line not read: read_events reads every line

    def _container(self, item_id: str) -> _El:
        return self.nodes.get(item_id) or self.periods

    def _period(self, item: Period) -> None:
        anchor = f"{self.anchor}p{item.index}"
        body = _El("div", {"class": "period-body"})
        self.nodes[item.id] = body
        self.periods.add(
            _El(
                "section",
                {"class": "period", "data-period": item.label, "id": anchor},
                _El("h3", None, item.label),
                body,
            )
        )
        self.chips.append(_El("a", {"class": "chip", "href": f"#{anchor}"}, item.label))

    def _speech(self, item: Statement | Line, kind: str) -> None:
        folds = _El("div", {"class": "folds"})
        critic = getattr(item, "critic", None)
        node = _El(
            "article",
            {"class": kind, "data-seq": item.seq, "data-actor": item.actor},
            _El("header", None, _El("b", {"class": "actor"}, item.name or item.actor)),
            _El("div", {"class": "text"}, item.text),
            _El("p", {"class": "muted truncated"}, "[cut off at max_tokens]") if item.truncated else None,
            _critic(critic) if critic is not None else None,
            folds,
        )
        self.nodes[item.id] = folds
        for claimed in item.claims:
            debate = self.debates.get(claimed)
            if debate is not None:  # folded under the line that claims it, as on the viewer's page
                debate.home.children.remove(debate.fold)
                folds.add(debate.fold)
                debate.home = folds
        self._container(item.parent).add(node)

    def _debate(self, item: Debate) -> None:
        lines = _El("div", {"class": "lines"})
        count = _El("span", {"class": "count"}, _lines(0))
        state = _El("span", {"class": "state"}, "unfinished")
        members = _El("p", {"class": "members muted"}, ", ".join(item.members)) if item.members else None
        summary = _El("summary", None, _El("span", {"class": "label"}, item.label), count, state)
        fold = _El(
            "details",
            {"class": "debate", "data-owner": item.owner, "data-depth": item.depth},
            summary,
            members,
            lines,
        )
        home = self._container(item.parent)
        home.add(fold)
        self.nodes[item.id] = lines
        self.debates[item.id] = _Debate(fold, count, state, home)

    def _verdict(self, item: Verdict) -> None:
        whole = [s for s in item.scores if s.subject is None]
        apiece = [s for s in item.scores if s.subject is not None]
        self.shown_scores.update({score_column(s.name, s.subject): s.text for s in item.scores})
        box = _El(
            "div", {"class": "verdict"}, _El("p", {"class": "text summary"}, item.summary or "(no summary)")
        )
        if whole:
            box.add(
                _El(
                    "ul",
                    {"class": "score-list"},
                    *(_El("li", None, _El("span", None, s.name), _El("b", None, s.text)) for s in whole),
                )
            )
        if apiece:
            subjects = list(dict.fromkeys(s.subject for s in apiece))
            names = list(dict.fromkeys(s.name for s in apiece))
            cells = {(s.name, s.subject): s.text for s in apiece}
            head = _El(
                "tr", None, _El("th", None, "score"), *(_El("th", {"scope": "col"}, t) for t in subjects)
            )
            rows = [
                _El(
                    "tr",
                    None,
                    _El("th", {"scope": "row"}, n),
                    *(_El("td", {"class": "num"}, cells.get((n, t), "—")) for t in subjects),
                )
                for n in names
            ]
            box.add(
                _El(
                    "table",
                    {"class": "grid scores-table"},
                    _El("thead", None, head),
                    _El("tbody", None, *rows),
                )
            )
        box.add(_El("p", {"class": "muted"}, f"Judged by {item.judge}."))
        self.verdicts.append(box)

    def _error(self, item: ErrorItem) -> None:
        if item.judge:  # where the verdict would be: the judge gave none
            self.verdicts.append(
                _El(
                    "div",
                    {"class": "verdict judge-failed"},
                    _El(
                        "p",
                        {"class": "error"},
                        _El("b", None, "The judge failed"),
                        f": {item.error_type}: {item.message}",
                    ),
                    _El("p", {"class": "muted"}, "The run has no scores."),
                )
            )
        where = f" ({item.where}, seq {item.seq})" if item.where else f" (seq {item.seq})"
        self.errors.append(
            _El(
                "p",
                {"class": "error fatal" if item.fatal else "error"},
                _El("b", None, item.error_type),
                f": {item.message}{where}",
            )
        )

    # --- the page, once every item is placed ---

    def body(self) -> _El:
        parts: list[_El | None] = [self._head(), self._status(), self._task()]
        if self.verdicts:
            parts.append(
                _El("section", {"class": "verdicts"}, _El("h2", None, "Summary and scores"), *self.verdicts)
            )
        nav = (
            _El("nav", {"class": "period-nav", "aria-label": "Periods"}, *self.chips) if self.chips else None
        )
        head = _El("div", {"class": "section-head"}, _El("h2", None, "Conversation"))
        parts.append(_El("section", {"class": "conversation"}, head, nav, self.periods))
        parts += [self._usage(), self._calls()]
        if self.errors:
            parts.append(_El("section", {"class": "errors"}, _El("h2", None, "Errors"), *self.errors))
        return _El("div", {"class": "run"}, *parts)

    def _head(self) -> _El | None:
        item = self.head
        if item is None:
            return None
        meta = [
            ("run", item.run),
            ("scenario", item.scenario),
            ("model", item.model),
            ("seed", item.seed),
            ("started", item.started_at.replace("T", " ")[:19]),
            ("overrides", ", ".join(item.overrides)),
        ]
        description = _El("p", {"class": "description"}, item.description) if item.description else None
        return _El("header", {"class": "run-head"}, _El("h1", None, item.title), description, _meta(meta))

    def _status(self) -> _El | None:
        item = self.status
        if item is None:
            return None
        facts = [
            ("periods", _num(item.periods)),
            ("turns", _num(item.turns)),
            ("model calls", _num(item.llm_calls)),
            ("tokens", _num(item.prompt_tokens + item.completion_tokens)),
            ("cost", _usd(item.cost_usd)),
        ]
        reason = _El("span", {"class": "muted"}, " " + item.reason.replace("_", " ")) if item.reason else None
        listed = _El(
            "ul", {"class": "facts"}, *(_El("li", None, _El("b", None, v), " " + k) for k, v in facts)
        )
        return _El("div", {"class": "run-status"}, self.badge(), reason, listed)

    def _task(self) -> _El | None:
        item = self.task
        if item is None:
            return None
        return _El(
            "section",
            {"class": "task"},
            _El("h2", None, "Task"),
            _El("p", None, _El("b", None, item.assistant_role), " helps ", _El("b", None, item.user_role)),
            _El("p", {"class": "text"}, item.specified),
            _El("p", {"class": "muted text"}, "Given as: " + item.original)
            if item.original != item.specified
            else None,
            _El("details", None, _El("summary", None, "Plan"), _El("p", {"class": "text"}, item.planned))
            if item.planned
            else None,
        )

    def _usage(self) -> _El | None:
        item = self.usage
        if item is None or not item.rows:
            return None
        total = sum(r.prompt_tokens + r.completion_tokens for r in item.rows) or 1
        shares = {r.agent: 100 * (r.prompt_tokens + r.completion_tokens) / total for r in item.rows}
        most = max([1e-9, *shares.values()])
        estimated = any(r.estimated_tokens for r in item.rows)
        names = ["Agent", "Calls", "Prompt", "Answer", "Cost", *(["Estimated"] if estimated else []), "Share"]
        head = _El("tr", None, *(_El("th", {"scope": "col"}, n) for n in names))
        body = _El("tbody")
        for row in sorted(item.rows, key=lambda r: -shares[r.agent]):
            share = shares[row.agent]
            cells = [_El("td", None, row.agent)]
            cells += [
                _El("td", {"class": "num"}, _num(n))
                for n in (row.calls, row.prompt_tokens, row.completion_tokens)
            ]
            cells.append(_El("td", {"class": "num"}, _usd(row.cost_usd) if item.priced else "—"))
            if estimated:
                cells.append(_El("td", {"class": "num"}, _num(row.estimated_tokens)))
            meter = _El("meter", {"min": 0, "max": f"{most:.1f}", "value": f"{share:.1f}"})
            cells.append(
                _El("td", {"class": "num"}, _El("span", {"class": "share"}, meter, f" {share:.1f}%"))
            )
            body.add(_El("tr", None, *cells))
        table = _El("table", {"class": "grid"}, _El("thead", None, head), body)
        return _El(
            "section",
            {"class": "usage"},
            _El("h2", None, "Tokens by agent"),
            _El("div", {"class": "scroll"}, table),
        )

    def _calls(self) -> _El | None:
        if not self.call_rows:
            return None
        names = ["#", "seq", "t (s)", "agent", "purpose", "conversation", "prompt", "answer", "latency (s)"]
        head = _El("tr", None, *(_El("th", {"scope": "col"}, n) for n in names))
        calls = sum(1 for row in self.call_rows if "failed" not in row.attrs.get("class", ""))
        summary = _El(
            "summary",
            None,
            _El("h2", None, "Every model call "),
            _El("span", {"class": "muted"}, _num(calls)),
        )
        note = _El(
            "p",
            {"class": "muted"},
            "Each call's whole prompt and answer are in the run's log (converse view shows them).",
        )
        table = _El(
            "table",
            {"class": "grid calls-table"},
            _El("thead", None, head),
            _El("tbody", None, *self.call_rows),
        )
        return _El(
            "section",
            {"class": "calls"},
            _El("details", {"class": "calls-fold"}, summary, note, _El("div", {"class": "scroll"}, table)),
        )


def _critic(critic: Critic) -> _El:
    """A statement's note of the critic's choice: every candidate, the chosen one marked."""
    options = [
        _El("li", {"class": "chosen text" if number == critic.choice else "text"}, option)
        for number, option in enumerate(critic.options, start=1)
    ]
    return _El(
        "details",
        {"class": "critic"},
        _El("summary", None, f"chosen by the {critic.by} (option {critic.choice} of {len(critic.options)})"),
        _El("ol", None, *options),
        _El("p", {"class": "muted text"}, critic.explanation) if critic.explanation else None,
    )
