"""Strip plots of one score by one dial, as self-contained SVG text (no plotting library).

Each setting of the dial is a column of the plot: every run a small semi-transparent dot,
pushed sideways by a hash of its run id (so the same runs always draw the same picture), the
mean a bold tick and the 95% bootstrap interval a bar through it. When some runs gave no
value (a lab that never announced AGI), ``k/n`` under the setting says how many did. The
numbers come from ``_strips`` (as the viewer's sweep page does); this only draws them.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Sequence
from html import escape

from ._strips import Strip

__all__ = ["Strip", "scale_range", "strip_plot"]

WIDTH = 560
HEIGHT = 360
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 40, 76
_DOT = "#4c78a8"  # blue dots and an orange summary stay apart for colour-blind readers too
_SUMMARY = "#d95f02"
_INK = "#333333"
_GRID = "#e5e5e5"
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*$")


def strip_plot(
    strips: Sequence[Strip],
    *,
    title: str,
    x_label: str,
    y_label: str,
    scale: str | None = None,
    note: str | None = None,
) -> str:
    """An SVG strip plot, one column per strip, as text.

    Args:
        strips: the columns, left to right.
        title: shown above the plot.
        x_label: names the columns (the dial).
        y_label: names the values (the score).
        scale: the score's scale: ``"1-10"`` (or any ``"low-high"``) gives that axis from 0,
            ``"year"`` whole years around the data; anything else, or None, the data's range.
        note: a line under the title, in small grey type (how much of the spread is seeds).

    Returns:
        One ``<svg>`` element with a ``viewBox``, fit to stand alone or be inlined in HTML.
    """
    values = [v for strip in strips for _, v in strip.points]
    values += [v for strip in strips for v in (strip.low, strip.high) if v is not None]
    bottom, top, ticks = _axis(values, scale)
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    band = plot_w / max(len(strips), 1)

    def y(value: float) -> float:
        return _TOP + plot_h * (top - value) / (top - bottom)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" font-family="sans-serif" font-size="12" role="img">',
        f"<title>{_esc(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2:g}" y="22" text-anchor="middle" font-size="15" font-weight="bold" '
        f'fill="{_INK}">{_esc(title)}</text>',
    ]
    if note:
        out.append(
            f'<text class="note" x="{WIDTH / 2:g}" y="35" text-anchor="middle" font-size="11" '
            f'fill="#777777">{_esc(note)}</text>'
        )
    for tick in ticks:
        ty = _f(y(tick))
        out.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{ty}" y2="{ty}" stroke="{_GRID}"/>')
        out.append(
            f'<text x="{_LEFT - 6}" y="{ty}" dy="0.32em" text-anchor="end" fill="{_INK}">{_tick(tick)}</text>'
        )
    axis_y = _TOP + plot_h
    out.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="{_INK}"/>')
    out.append(f'<line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{axis_y}" stroke="{_INK}"/>')
    partial = any(len(strip.points) < strip.runs for strip in strips)
    for i, strip in enumerate(strips):
        out += _column(strip, _LEFT + band * (i + 0.5), band, y, axis_y, partial)
    out.append(
        f'<text x="{_LEFT + plot_w / 2:g}" y="{HEIGHT - 10}" text-anchor="middle" font-size="13" '
        f'fill="{_INK}">{_esc(x_label)}</text>'
    )
    mid = _TOP + plot_h / 2
    out.append(
        f'<text transform="translate(16 {mid:g}) rotate(-90)" text-anchor="middle" font-size="13" '
        f'fill="{_INK}">{_esc(y_label)}</text>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _column(
    strip: Strip, cx: float, band: float, y: Callable[[float], float], axis_y: float, partial: bool
) -> list[str]:
    out = []
    spread = min(band * 0.5, 60.0)
    for run, value in strip.points:
        # crc32, not hash(): str hashes change from one process to the next.
        dx = (zlib.crc32(run.encode()) / 2**32 - 0.5) * spread
        out.append(
            f'<circle class="run" cx="{_f(cx + dx)}" cy="{_f(y(value))}" r="3.5" fill="{_DOT}" '
            f'fill-opacity="0.45"><title>{_esc(run)}: {_tick(value)}</title></circle>'
        )
    if strip.low is not None and strip.high is not None:
        out.append(
            f'<line class="interval" x1="{_f(cx)}" x2="{_f(cx)}" y1="{_f(y(strip.low))}" '
            f'y2="{_f(y(strip.high))}" stroke="{_SUMMARY}" stroke-width="3"/>'
        )
    if strip.mean is not None:
        half = min(band * 0.3, 36.0)
        my = _f(y(strip.mean))
        out.append(
            f'<line class="mean" x1="{_f(cx - half)}" x2="{_f(cx + half)}" y1="{my}" y2="{my}" '
            f'stroke="{_SUMMARY}" stroke-width="4" stroke-linecap="round"/>'
        )
    out.append(
        f'<text x="{_f(cx)}" y="{axis_y + 18:g}" text-anchor="middle" fill="{_INK}">{_esc(strip.label)}</text>'
    )
    if partial:
        out.append(
            f'<text x="{_f(cx)}" y="{axis_y + 34:g}" text-anchor="middle" font-size="11" fill="#777777">'
            f"{len(strip.points)}/{strip.runs}</text>"
        )
    return out


def _axis(values: list[float], scale: str | None) -> tuple[float, float, list[float]]:
    """The y axis: bottom, top and ticks, from the score's scale and the data."""
    whole = scale == "year"
    bounds = scale_range(scale)
    if bounds:
        low, high = bounds
        low = min(low, 0.0)  # "1-10" reads best from 0
        low, high = min([low, *values]), max([high, *values])
    elif values:
        low, high = min(values), max(values)
        pad = 1.0 if whole else (high - low) * 0.05 or max(abs(low) * 0.05, 0.5)
        low, high = low - pad, high + pad
    else:
        low, high = 0.0, 1.0
    step = _step(high - low, whole)
    start = math.floor(low / step) * step
    end = math.ceil(high / step) * step
    ticks = [start + i * step for i in range(round((end - start) / step) + 1)]
    return start, end, ticks


def scale_range(scale: str | None) -> tuple[float, float] | None:
    """The lowest and highest value of a ``"low-high"`` scale (``"1-10"``); None for another."""
    bounds = _RANGE.match(scale or "")
    return (float(bounds[1]), float(bounds[2])) if bounds else None


def _step(span: float, whole: bool) -> float:
    raw = span / 5 if span > 0 else 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return max(step, 1.0) if whole else step


def _tick(value: float) -> str:
    value = round(value, 9)  # 0.1 * 3 is shown as 0.3
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _f(value: float) -> str:
    return f"{value:.1f}"


def _esc(text: str) -> str:
    return escape(text, quote=True)
