"""A run's page as one self-contained HTML file (a sweep's is ``_sweep_page``'s, made of these).

The page is the viewer's run page without its script: the same items (``converse.web``'s
``RunView`` decides what goes where, and which debate folds under which line, as it does for the
live page) placed here into HTML once, in the same elements and classes, with the viewer's own
style sheet (``converse/web/static/app.css``) inlined. So it looks like the viewer's page, and a
change to either shows in both.

Safe to open whatever the log holds: every text from the log (model output, agent and period
names, the scenario's words) is escaped into text, nothing else is written from it; there is no
script, no link to anything outside the file (no font, image or style sheet from elsewhere), and
a Content-Security-Policy meta tag allows inline style and nothing else (``_markup``). Council
debates are ``<details>`` elements, folded: the browser opens them on a click, with no script.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..log._events import AnyEvent, RunStarted
from ..log._log import gc_paused
from ..sweeps._summary_csv import score_column
from ._markup import El, document, dollars, line_count, meta_list, number

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

__all__ = ["render_html", "run_page"]


def render_html(events: Sequence[AnyEvent]) -> str:
    """A run's page, one self-contained HTML document, from its events in log order.

    Raises:
        ValueError: ``events`` does not start with ``run_started``.
    """
    if not events or type(events[0]) is not RunStarted:
        raise ValueError("render_html needs a run's events, starting with run_started")
    page = run_page(events, anchor="")
    return document(page.title(), events[0].run, [page.body()])


def run_page(events: Sequence[AnyEvent], *, anchor: str) -> RunPage:
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


# --- a run's page ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Debate:
    fold: El
    count: El
    state: El
    home: El  # the element it is in now: its period or parent debate, then the line that claims it
    lines: int = 0


class RunPage:
    """A run's page, built from the viewer's items as ``run.js`` places them (without what needs
    a script or the server: the find box, the prompt buttons, the audit)."""

    def __init__(self, anchor: str) -> None:
        self.anchor = anchor  # what this page's ids start with (a sweep's page holds many runs)
        self.head: Head | None = None
        self.status: Status | None = None
        self.task: Task | None = None
        self.verdicts: list[El] = []
        self.shown_scores: dict[str, str] = {}
        self.periods = El("div", {"class": "periods"})
        self.chips: list[El] = []
        self.nodes: dict[str, El] = {}
        self.debates: dict[str, _Debate] = {}
        self.usage: Usage | None = None
        self.call_rows: list[El] = []
        self.errors: list[El] = []

    def title(self) -> str:
        return str(self.head.title) if self.head is not None else "converse run"

    def scores(self) -> dict[str, str]:
        """The judge's scores as the page shows them, by ``summary.csv``'s column names."""
        return self.shown_scores

    def badge(self) -> El:
        status = self.status.status if self.status is not None else "unfinished"
        reason = self.status.reason if self.status is not None else None
        return El("span", {"class": f"status status-{status}", "title": reason or None}, status)

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
                    debate.count.children = [line_count(debate.lines)]
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
                shown += [number(item.prompt_tokens), number(item.completion_tokens), f"{item.latency:.3f}"]
                self.call_rows.append(
                    El("tr", {"data-call": item.call}, *(El("td", None, c) for c in shown))
                )
            case kinds.Attempt():
                status = f" {item.status}" if item.status else ""
                text = f"attempt {item.attempt} failed: {item.error_type}{status}: {item.error}"
                cells = [El("td", None, v) for v in ("—", str(item.seq), f"{item.t:.2f}", item.actor)]
                self.call_rows.append(El("tr", {"class": "failed"}, *cells, El("td", {"colspan": 5}, text)))
            case kinds.ErrorItem():
                self._error(item)
            case _:
                pass  # whose turn it is: a live page's; a line not read: read_events reads every line

    def _container(self, item_id: str) -> El:
        return self.nodes.get(item_id) or self.periods

    def _period(self, item: Period) -> None:
        anchor = f"{self.anchor}p{item.index}"
        body = El("div", {"class": "period-body"})
        self.nodes[item.id] = body
        self.periods.add(
            El(
                "section",
                {"class": "period", "data-period": item.label, "id": anchor},
                El("h3", None, item.label),
                body,
            )
        )
        self.chips.append(El("a", {"class": "chip", "href": f"#{anchor}"}, item.label))

    def _speech(self, item: Statement | Line, kind: str) -> None:
        folds = El("div", {"class": "folds"})
        critic = getattr(item, "critic", None)
        node = El(
            "article",
            {"class": kind, "data-seq": item.seq, "data-actor": item.actor},
            El("header", None, El("b", {"class": "actor"}, item.name or item.actor)),
            El("div", {"class": "text"}, item.text),
            El("p", {"class": "muted truncated"}, "[cut off at max_tokens]") if item.truncated else None,
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
        lines = El("div", {"class": "lines"})
        count = El("span", {"class": "count"}, line_count(0))
        state = El("span", {"class": "state"}, "unfinished")
        members = El("p", {"class": "members muted"}, ", ".join(item.members)) if item.members else None
        summary = El("summary", None, El("span", {"class": "label"}, item.label), count, state)
        fold = El(
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
        box = El(
            "div", {"class": "verdict"}, El("p", {"class": "text summary"}, item.summary or "(no summary)")
        )
        if whole:
            box.add(
                El(
                    "ul",
                    {"class": "score-list"},
                    *(El("li", None, El("span", None, s.name), El("b", None, s.text)) for s in whole),
                )
            )
        if apiece:
            subjects = list(dict.fromkeys(s.subject for s in apiece))
            names = list(dict.fromkeys(s.name for s in apiece))
            cells = {(s.name, s.subject): s.text for s in apiece}
            head = El(
                "tr", None, El("th", None, "score"), *(El("th", {"scope": "col"}, t) for t in subjects)
            )
            rows = [
                El(
                    "tr",
                    None,
                    El("th", {"scope": "row"}, n),
                    *(El("td", {"class": "num"}, cells.get((n, t), "—")) for t in subjects),
                )
                for n in names
            ]
            box.add(
                El(
                    "table",
                    {"class": "grid scores-table"},
                    El("thead", None, head),
                    El("tbody", None, *rows),
                )
            )
        box.add(El("p", {"class": "muted"}, f"Judged by {item.judge}."))
        self.verdicts.append(box)

    def _error(self, item: ErrorItem) -> None:
        if item.judge:  # where the verdict would be: the judge gave none
            self.verdicts.append(
                El(
                    "div",
                    {"class": "verdict judge-failed"},
                    El(
                        "p",
                        {"class": "error"},
                        El("b", None, "The judge failed"),
                        f": {item.error_type}: {item.message}",
                    ),
                    El("p", {"class": "muted"}, "The run has no scores."),
                )
            )
        where = f" ({item.where}, seq {item.seq})" if item.where else f" (seq {item.seq})"
        self.errors.append(
            El(
                "p",
                {"class": "error fatal" if item.fatal else "error"},
                El("b", None, item.error_type),
                f": {item.message}{where}",
            )
        )

    # --- the page, once every item is placed ---

    def body(self) -> El:
        parts: list[El | None] = [self._head(), self._status(), self._task()]
        if self.verdicts:
            parts.append(
                El("section", {"class": "verdicts"}, El("h2", None, "Summary and scores"), *self.verdicts)
            )
        nav = (
            El("nav", {"class": "period-nav", "aria-label": "Periods"}, *self.chips) if self.chips else None
        )
        head = El("div", {"class": "section-head"}, El("h2", None, "Conversation"))
        parts.append(El("section", {"class": "conversation"}, head, nav, self.periods))
        parts += [self._usage(), self._calls()]
        if self.errors:
            parts.append(El("section", {"class": "errors"}, El("h2", None, "Errors"), *self.errors))
        return El("div", {"class": "run"}, *parts)

    def _head(self) -> El | None:
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
        description = El("p", {"class": "description"}, item.description) if item.description else None
        return El("header", {"class": "run-head"}, El("h1", None, item.title), description, meta_list(meta))

    def _status(self) -> El | None:
        item = self.status
        if item is None:
            return None
        facts = [
            ("periods", number(item.periods)),
            ("turns", number(item.turns)),
            ("model calls", number(item.llm_calls)),
            ("tokens", number(item.prompt_tokens + item.completion_tokens)),
            ("cost", dollars(item.cost_usd)),
        ]
        reason = El("span", {"class": "muted"}, " " + item.reason.replace("_", " ")) if item.reason else None
        listed = El(
            "ul", {"class": "facts"}, *(El("li", None, El("b", None, v), " " + k) for k, v in facts)
        )
        return El("div", {"class": "run-status"}, self.badge(), reason, listed)

    def _task(self) -> El | None:
        item = self.task
        if item is None:
            return None
        return El(
            "section",
            {"class": "task"},
            El("h2", None, "Task"),
            El("p", None, El("b", None, item.assistant_role), " helps ", El("b", None, item.user_role)),
            El("p", {"class": "text"}, item.specified),
            El("p", {"class": "muted text"}, "Given as: " + item.original)
            if item.original != item.specified
            else None,
            El("details", None, El("summary", None, "Plan"), El("p", {"class": "text"}, item.planned))
            if item.planned
            else None,
        )

    def _usage(self) -> El | None:
        item = self.usage
        if item is None or not item.rows:
            return None
        total = sum(r.prompt_tokens + r.completion_tokens for r in item.rows) or 1
        shares = {r.agent: 100 * (r.prompt_tokens + r.completion_tokens) / total for r in item.rows}
        most = max([1e-9, *shares.values()])
        estimated = any(r.estimated_tokens for r in item.rows)
        names = ["Agent", "Calls", "Prompt", "Answer", "Cost", *(["Estimated"] if estimated else []), "Share"]
        head = El("tr", None, *(El("th", {"scope": "col"}, n) for n in names))
        body = El("tbody")
        for row in sorted(item.rows, key=lambda r: -shares[r.agent]):
            share = shares[row.agent]
            cells = [El("td", None, row.agent)]
            cells += [
                El("td", {"class": "num"}, number(n))
                for n in (row.calls, row.prompt_tokens, row.completion_tokens)
            ]
            cells.append(El("td", {"class": "num"}, dollars(row.cost_usd) if item.priced else "—"))
            if estimated:
                cells.append(El("td", {"class": "num"}, number(row.estimated_tokens)))
            meter = El("meter", {"min": 0, "max": f"{most:.1f}", "value": f"{share:.1f}"})
            cells.append(
                El("td", {"class": "num"}, El("span", {"class": "share"}, meter, f" {share:.1f}%"))
            )
            body.add(El("tr", None, *cells))
        table = El("table", {"class": "grid"}, El("thead", None, head), body)
        return El(
            "section",
            {"class": "usage"},
            El("h2", None, "Tokens by agent"),
            El("div", {"class": "scroll"}, table),
        )

    def _calls(self) -> El | None:
        if not self.call_rows:
            return None
        names = ["#", "seq", "t (s)", "agent", "purpose", "conversation", "prompt", "answer", "latency (s)"]
        head = El("tr", None, *(El("th", {"scope": "col"}, n) for n in names))
        calls = sum(1 for row in self.call_rows if "failed" not in row.attrs.get("class", ""))
        summary = El(
            "summary",
            None,
            El("h2", None, "Every model call "),
            El("span", {"class": "muted"}, number(calls)),
        )
        note = El(
            "p",
            {"class": "muted"},
            "Each call's whole prompt and answer are in the run's log (converse view shows them).",
        )
        table = El(
            "table",
            {"class": "grid calls-table"},
            El("thead", None, head),
            El("tbody", None, *self.call_rows),
        )
        return El(
            "section",
            {"class": "calls"},
            El("details", {"class": "calls-fold"}, summary, note, El("div", {"class": "scroll"}, table)),
        )


def _critic(critic: Critic) -> El:
    """A statement's note of the critic's choice: every candidate, the chosen one marked."""
    options = [
        El("li", {"class": "chosen text" if number == critic.choice else "text"}, option)
        for number, option in enumerate(critic.options, start=1)
    ]
    return El(
        "details",
        {"class": "critic"},
        El("summary", None, f"chosen by the {critic.by} (option {critic.choice} of {len(critic.options)})"),
        El("ol", None, *options),
        El("p", {"class": "muted text"}, critic.explanation) if critic.explanation else None,
    )
