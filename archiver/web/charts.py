"""Charts as inline SVG, drawn on the server: no JavaScript, no charting library.

Each function returns markup ready for a template. Every text in it (labels, tooltips) is
escaped here; colours come from CSS classes (`s0`…`s9`, `ok`, `bad`) in the style sheet,
because the page's Content-Security-Policy allows no inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from markupsafe import Markup, escape

#: Series colours in the style sheet (`.s0` … `.s9`); more series reuse them.
PALETTE_SIZE = 10


def month_range(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` (`YYYY-MM`), both included.

    >>> month_range("2019-11", "2020-02")
    ['2019-11', '2019-12', '2020-01', '2020-02']
    """
    year, month = int(first[:4]), int(first[5:7])
    end = (int(last[:4]), int(last[5:7]))
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value`.

    >>> _nice_max(7), _nice_max(13), _nice_max(0.8), _nice_max(0)
    (8, 15, 1, 1)
    """
    if value <= 1:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * magnitude:
            top = step * magnitude
            return int(top) if float(top).is_integer() else top
    return value  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _frame(width: int, height: int, label: str, body: list[str]) -> Markup:
    return Markup(  # parts: escaped text and numbers only
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img"'
        f' aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def stacked_bars(
    months: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    label: str,
    width: int = 960,
    height: int = 260,
) -> Markup:
    """One bar per month, stacked by series (`(name, count per month)`, in `months` order).

    A month with nothing has no bar but a mark on the axis, so a hole in the archive shows.
    Each segment's tooltip names its month, series and count.
    """
    left, right, top, bottom = 40, 10, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for _, values in series) for i in range(len(months))]
    y_max = _nice_max(max(totals, default=0))
    body = _y_axis(left, top, plot_w, plot_h, y_max)
    if not months:
        return _frame(width, height, label, body)
    slot = plot_w / len(months)
    bar = max(1.0, slot * 0.8)
    for i, month in enumerate(months):
        x = left + i * slot + (slot - bar) / 2
        base = top + plot_h
        if totals[i] == 0:
            body.append(
                f'<rect class="gap" x="{x:.1f}" y="{base - 2:.1f}" width="{bar:.1f}" height="2">'
                f"<title>{escape(month)}: no releases</title></rect>"
            )
        for number, (name, values) in enumerate(series):
            count = values[i]
            if not count:
                continue
            h = count / y_max * plot_h
            base -= h
            body.append(
                f'<rect class="s{number % PALETTE_SIZE}" x="{x:.1f}" y="{base:.1f}"'
                f' width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{escape(month)} · {escape(name)}: {count}</title></rect>"
            )
    body.extend(_month_labels(months, left, slot, top + plot_h))
    return _frame(width, height, label, body)


def _y_axis(left: int, top: int, plot_w: float, plot_h: float, y_max: float) -> list[str]:
    parts = []
    for fraction in (0, 0.5, 1):
        y = top + plot_h - fraction * plot_h
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_number(y_max * fraction))}</text>"
        )
    return parts


def _month_labels(months: Sequence[str], left: int, slot: float, baseline: float) -> list[str]:
    """Every month's label when there are a year's worth or fewer, else each year's under its
    first month."""
    every = len(months) <= 12
    parts = []
    for i, month in enumerate(months):
        if not (every or month.endswith("-01") or i == 0):
            continue
        x = left + i * slot + slot / 2
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{baseline + 14:.1f}" text-anchor="middle">'
            f"{escape(month if every else month[:4])}</text>"
        )
    return parts


@dataclass(frozen=True, slots=True)
class Point:
    """One run on a chart over time: when, its value (None: nothing to plot), its tooltip and
    its CSS class (a status)."""

    when: datetime
    value: float | None
    tooltip: str
    css: str = ""


def time_chart(
    points: Sequence[Point],
    *,
    label: str,
    bars: bool = False,
    width: int = 960,
    height: int = 220,
) -> Markup:
    """Values over time, `points` oldest first, placed by their time: dots joined by a line
    (`bars=False`) or one thin bar each. A point without a value gets a mark on the axis."""
    left, right, top, bottom = 40, 10, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.value for p in points if p.value is not None]
    y_max = _nice_max(max(values, default=0))
    body = _y_axis(left, top, plot_w, plot_h, y_max)
    if not points:
        return _frame(width, height, label, body)
    start, end = points[0].when.timestamp(), points[-1].when.timestamp()
    span = end - start or 1.0

    def x_of(point: Point) -> float:
        if len(points) == 1:
            return left + plot_w / 2
        return left + (point.when.timestamp() - start) / span * plot_w

    baseline = top + plot_h
    line: list[str] = []
    marks: list[str] = []
    for point in points:
        x = x_of(point)
        tooltip = escape(point.tooltip)
        css = escape(point.css)
        if point.value is None:
            marks.append(
                f'<rect class="gap {css}" x="{x - 1:.1f}" y="{baseline - 3:.1f}" width="2"'
                f' height="3"><title>{tooltip}</title></rect>'
            )
            continue
        y = baseline - point.value / y_max * plot_h
        if bars:
            marks.append(
                f'<rect class="bar {css}" x="{x - 2:.1f}" y="{y:.1f}" width="4"'
                f' height="{baseline - y:.1f}"><title>{tooltip}</title></rect>'
            )
        else:
            line.append(f"{x:.1f},{y:.1f}")
            marks.append(
                f'<circle class="dot {css}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{tooltip}</title></circle>"
            )
    if len(line) > 1:
        body.append(f'<polyline class="line" points="{" ".join(line)}"/>')
    body.extend(marks)
    for point in (points[0], points[-1]) if len(points) > 1 else (points[0],):
        x = x_of(point)
        anchor = "start" if point is points[0] and len(points) > 1 else "end"
        if len(points) == 1:
            anchor = "middle"
        body.append(
            f'<text class="tick" x="{x:.1f}" y="{baseline + 16:.1f}" text-anchor="{anchor}">'
            f"{escape(_day(point.when))}</text>"
        )
    return _frame(width, height, label, body)


def _day(moment: datetime | date) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if isinstance(moment, datetime) else str(moment)
