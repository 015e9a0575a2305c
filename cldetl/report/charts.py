"""Charts for the report, as geometry the page's template draws as inline SVG.

Why not a plotting library: the report must be one self-contained page that renders offline,
and a bar chart of a dozen counts is a few rectangles. Computing the rectangles here and letting
the (autoescaped) template write the SVG keeps every label from the data escaped like any other
text on the page, and adds no dependency.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cldetl.report.findings import CONTROL_CHARACTERS

# One colour per series, in order (previous period grey, current period blue): readable in
# greyscale print too, as the fills differ in lightness.
SERIES_COLOURS = ("#9aa5b1", "#1f5fa8", "#d08c1f")
BAR_HEIGHT = 14
BAR_GAP = 2
GROUP_GAP = 10
LABEL_WIDTH = 230
PLOT_WIDTH = 360
VALUE_WIDTH = 70
LEGEND_ROW = 16
LABEL_CHARS = 34
CONTROL = re.compile(CONTROL_CHARACTERS)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    value: int | float
    series: str


@dataclass(frozen=True)
class Group:
    label: str
    y: float  # baseline of the label text
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BarChart:
    """A horizontal grouped bar chart: one group per category, one bar per series."""

    title: str
    width: float
    height: float
    label_width: float
    groups: tuple[Group, ...]
    legend: tuple[tuple[str, str, float], ...]  # (series name, colour, y of its row)


def _short(label: str) -> str:
    """A category label fit for one line: control characters replaced, long ones cut."""
    label = CONTROL.sub("?", label)
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "\u2026"


def bar_chart(
    title: str, categories: Sequence[str], series: dict[str, Sequence[int | float | None]]
) -> BarChart:
    """Geometry for `series` (name -> one value per category; None draws no bar)."""
    names = list(series)
    legend_height = LEGEND_ROW * len(names) + 8
    peak = max((v for values in series.values() for v in values if v), default=0) or 1
    group_height = len(names) * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP
    groups = []
    for i, category in enumerate(categories):
        top = legend_height + i * group_height
        bars = []
        for j, name in enumerate(names):
            value = series[name][i]
            if value is None:
                continue
            bars.append(
                Bar(
                    x=LABEL_WIDTH,
                    y=top + j * (BAR_HEIGHT + BAR_GAP),
                    width=round(PLOT_WIDTH * max(value, 0) / peak, 1),
                    height=BAR_HEIGHT,
                    colour=SERIES_COLOURS[j % len(SERIES_COLOURS)],
                    value=value,
                    series=name,
                )
            )
        label_y = top + (len(names) * (BAR_HEIGHT + BAR_GAP)) / 2 + 4
        groups.append(Group(_short(str(category)), label_y, tuple(bars)))
    legend = tuple(
        (n, SERIES_COLOURS[j % len(SERIES_COLOURS)], 4 + j * LEGEND_ROW)
        for j, n in enumerate(names)
    )
    return BarChart(
        title=title,
        width=LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        height=legend_height + max(len(groups), 1) * group_height,
        label_width=LABEL_WIDTH,
        groups=tuple(groups),
        legend=legend,
    )
