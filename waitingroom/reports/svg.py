"""Bar and line charts drawn on the server as SVG: this module works out the geometry, and
fragments/waitingroom/reports/_chart.html writes it out with Jinja2's autoescape (every title,
label and series name is text, escaped like any other).

The drawing is a picture for those who see it: `role="img"` with a <title> and a <desc> (the
chart's summary) as its text alternative, and the page puts the table of every value after it.
It scales with its container (a viewBox, width 100%); the viewBox is narrow (420 units) and the
text 15 units high, so at 360 px the labels are still about 11 px tall."""

from __future__ import annotations

import math
from dataclasses import dataclass

from waitingroom.reports.charts import Chart, Number

WIDTH, HEIGHT = 420, 250
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 28, 50
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
FONT = 15
# Dark enough for 3:1 against white (WCAG 1.4.11); a line's second series is also dashed.
COLORS = ["#1f5fa8", "#b4531b", "#2e7d32", "#6a3d9a", "#8a6d00"]
DASHES = ["", "6 4", "2 3", "8 3 2 3", "1 2"]
MAX_X_LABELS = 5
# A label's width, generously: 0.6 of the font size a character (system sans fonts average less).
CHAR_WIDTH = 0.6
LABEL_GAP = 6  # the least space between two x labels
ROW = FONT + 2  # a staggered x label's second row
MAX_POINTS = 62  # above this a line's points are not marked


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    w: float = 0
    h: float = 0
    color: str = ""
    label: str = ""
    dy: float = 0  # an x label's second row (labels too wide for their slot alternate rows)


@dataclass(frozen=True)
class Line:
    path: str
    color: str
    dash: str


@dataclass(frozen=True)
class Drawing:
    key: str
    kind: str
    width: int
    height: int
    font: int
    title: str
    desc: str
    plot: Mark  # the plot area (x, y, w, h)
    y_title: str
    x_title: str
    grid: list[Mark]  # horizontal lines with their value labels
    x_ticks: list[Mark]
    bars: list[Mark]
    lines: list[Line]
    points: list[Mark]
    legend: list[Line]  # name in `path`: a swatch per series


def nice_step(largest: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) that divides 0..largest into about `ticks`."""
    if largest <= 0:
        return 1
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def number(value: float) -> str:
    """An axis value: 1200 -> "1,200", 2.5 -> "2.5"."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def label_width(label: str) -> float:
    return len(label) * FONT * CHAR_WIDTH


def _r(value: float) -> float:
    return round(value, 1)


def draw(chart: Chart) -> Drawing:
    values = [v for s in chart.series for v in s.values if v is not None]
    largest = max([0, *values])
    step = nice_step(largest)
    top = step * max(1, math.ceil(largest / step))
    n = max(1, len(chart.x_labels))
    slot = PLOT_W / n

    def y_of(value: Number) -> float:
        return TOP + PLOT_H - (value / top) * PLOT_H

    grid = [
        Mark(x=LEFT, y=_r(y_of(step * i)), w=PLOT_W, label=number(step * i))
        for i in range(round(top / step) + 1)
    ]
    # Every `every`-th x label, each centred on its slot. Labels wider than the space between them
    # ("In progress", "Completed" side by side) alternate between two rows, the drawing a row
    # taller; if even that leaves them touching, fewer labels are shown.
    every = max(1, math.ceil(n / MAX_X_LABELS))
    widest = max((label_width(label) for label in chart.x_labels), default=0) + LABEL_GAP
    while widest > 2 * every * slot:
        every += 1
    stagger = widest > every * slot
    x_ticks = [
        Mark(
            x=_r(LEFT + (i + 0.5) * slot),
            y=TOP + PLOT_H,
            label=label,
            dy=ROW if stagger and (i // every) % 2 else 0,
        )
        for i, label in enumerate(chart.x_labels)
        if i % every == 0
    ]
    bars: list[Mark] = []
    lines: list[Line] = []
    points: list[Mark] = []
    if chart.kind == "bar":
        group = slot * 0.8
        width = group / max(1, len(chart.series))
        for j, series in enumerate(chart.series):
            color = COLORS[j % len(COLORS)]
            for i, value in enumerate(series.values):
                if not value:
                    continue
                y = y_of(value)
                bars.append(
                    Mark(
                        x=_r(LEFT + i * slot + slot * 0.1 + j * width),
                        y=_r(y),
                        w=_r(max(width, 0.5)),
                        h=_r(TOP + PLOT_H - y),
                        color=color,
                    )
                )
    else:
        for j, series in enumerate(chart.series):
            color, dash = COLORS[j % len(COLORS)], DASHES[j % len(DASHES)]
            parts: list[str] = []
            pen_down = False
            for i, value in enumerate(series.values):
                if value is None:
                    pen_down = False
                    continue
                x, y = _r(LEFT + (i + 0.5) * slot), _r(y_of(value))
                parts.append(f"{'L' if pen_down else 'M'}{x} {y}")
                pen_down = True
                if n <= MAX_POINTS:
                    points.append(Mark(x=x, y=y, color=color))
            if parts:
                lines.append(Line(path=" ".join(parts), color=color, dash=dash))
    legend = (
        [
            Line(
                path=s.name,
                color=COLORS[j % len(COLORS)],
                dash=DASHES[j % len(DASHES)] if chart.kind == "line" else "",
            )
            for j, s in enumerate(chart.series)
        ]
        if len(chart.series) > 1
        else []
    )
    return Drawing(
        key=chart.key,
        kind=chart.kind,
        font=FONT,
        width=WIDTH,
        height=HEIGHT + (ROW if stagger else 0),
        title=chart.title,
        desc=f"{chart.kind.capitalize()} chart of {chart.unit} by {chart.x_title.lower()}. {chart.summary} "
        "The table after the chart gives every value.",
        plot=Mark(x=LEFT, y=TOP, w=PLOT_W, h=PLOT_H),
        y_title=chart.unit[:1].upper() + chart.unit[1:],  # "visits" -> "Visits"; "USD" stays
        x_title=chart.x_title,
        grid=grid,
        x_ticks=x_ticks,
        bars=bars,
        lines=lines,
        points=points,
        legend=legend,
    )
