"""The markup of an exported page: elements written as escaped HTML, and the document around
them (the viewer's style sheet inlined, a Content-Security-Policy that allows inline style and
nothing else). Every text given as a child is escaped; only ``Raw`` markup of our own is not."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from ..engine._run import ENGINE_VERSION

__all__ = ["CSP", "El", "Raw", "document", "dollars", "line_count", "meta_list", "number", "write"]

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


class Raw(str):
    """Markup of our own (a tag), written as it is."""

    __slots__ = ()


class El:
    """An element: its tag, attributes and children (elements, or text, escaped when written)."""

    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: dict[str, Any] | None = None, *children: El | str | None) -> None:
        self.tag = tag
        self.attrs = attrs or {}
        self.children: list[El | str] = [c for c in children if c is not None]

    def add(self, *children: El | str | None) -> El:
        self.children += [c for c in children if c is not None]
        return self

    def open_tag(self) -> str:
        attrs = "".join(
            f' {name}="{html.escape(str(value))}"' for name, value in self.attrs.items() if value is not None
        )
        return f"<{self.tag}{attrs}>"


def write(root: El, out: list[str]) -> None:
    """Write ``root`` as HTML into ``out``; a loop, not recursion: a log can nest debates deep."""
    stack: list[El | str] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Raw):
            out.append(node)
        elif isinstance(node, str):
            out.append(html.escape(node))
        else:
            out.append(node.open_tag())
            stack.append(Raw(f"</{node.tag}>\n" if node.tag in _BLOCKS else f"</{node.tag}>"))
            stack.extend(reversed(node.children))


_BLOCKS = frozenset(
    {"article", "details", "div", "header", "section", "table", "tbody", "thead", "tr", "ul", "ol", "dl"}
)


@cache
def _style() -> str:
    """The viewer's style sheet, and what this page adds to it."""
    sheet = resources.files("converse.web").joinpath("static", "app.css").read_text(encoding="utf-8")
    return sheet + _EXTRA_CSS


def document(title: str, crumb: str, body: Iterable[El]) -> str:
    out = [
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="referrer" content="no-referrer">\n',
        f"<title>{html.escape(title)}</title>\n<style>\n{_style()}</style>\n</head>\n<body>\n",
    ]
    bar = El(
        "header",
        {"class": "bar"},
        El("span", {"class": "brand"}, "converse"),
        El("nav", {"id": "crumbs"}, El("span", None, crumb)),
    )
    write(bar, out)
    write(El("main", {"id": "main"}, *body), out)
    note = (
        f"Exported by converse {ENGINE_VERSION} from the event log: no script, nothing loaded from elsewhere."
    )
    write(El("footer", {"class": "exported"}, note), out)
    out.append("</body>\n</html>\n")
    return "".join(out)


def meta_list(pairs: Sequence[tuple[str, Any]]) -> El:
    shown = [(k, v) for k, v in pairs if v not in ("", None)]
    return El(
        "dl",
        {"class": "meta"},
        *(el for k, v in shown for el in (El("dt", None, k), El("dd", None, str(v)))),
    )


def number(n: int) -> str:
    return f"{n:,}"


def dollars(n: float) -> str:
    return f"${n:.4f}" if 0 < n < 0.01 else f"${n:.2f}" if n else "—"


def line_count(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"
