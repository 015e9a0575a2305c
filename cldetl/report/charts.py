"""Charts for the report and the comparison: one builder (geometry and palette) and one
renderer (the `chart` macro in templates/chart.svg.j2), used by the page's inline SVG and by
the standalone `comparison.svg` alike, so both draw the same counts the same way.

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
# greyscale print too, as the fills differ in lightness. A flagged swing is marked in red.
SERIES_COLOURS = ("#9aa5b1", "#1f5fa8", "#d08c1f")
FLAG_COLOUR = "#b10e1e"
TEXT_COLOUR = "#1b1b1b"
BAR_HEIGHT = 14
BAR_GAP = 2
GROUP_GAP = 10
LABEL_WIDTH = 230
PLOT_WIDTH = 360
VALUE_WIDTH = 70
NOTE_WIDTH = 60
LEGEND_ROW = 16
HEADING_ROW = 24
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
    note: str = ""  # a flagged swing ("+25.0%", "new"): the label and the note drawn in red


@dataclass(frozen=True)
class BarChart:
    """A horizontal grouped bar chart: one group per category, one bar per series."""

    title: str
    width: float
    height: float
    label_width: float
    groups: tuple[Group, ...]
    legend: tuple[tuple[str, str, float], ...]  # (series name, colour, y of its row)
    heading: bool = False  # the title drawn as text at the top (a standalone file)
    note_x: float = 0.0
    empty_text: str = ""  # said in place of the bars when there are none
    flag_colour: str = FLAG_COLOUR
    text_colour: str = TEXT_COLOUR


def _short(label: str) -> str:
    """A category label fit for one line: control characters replaced, long ones cut."""
    label = CONTROL.sub("?", label)
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "\u2026"


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: dict[str, Sequence[int | float | None]],
    *,
    notes: Sequence[str] | None = None,
    heading: bool = False,
    empty_text: str = "",
) -> BarChart:
    """Geometry for `series` (name -> one value per category; None draws no bar).

    notes: one per category, blank or the flagged swing to mark it with.
    heading: draw `title` as text above the legend (for a chart that is a file of its own).
    """
    names = list(series)
    top = HEADING_ROW if heading else 0
    legend_height = top + LEGEND_ROW * len(names) + 8
    peak = max((v for values in series.values() for v in values if v), default=0) or 1
    group_height = len(names) * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP
    groups = []
    for i, category in enumerate(categories):
        first = legend_height + i * group_height
        bars = []
        for j, name in enumerate(names):
            value = series[name][i]
            if value is None:
                continue
            bars.append(
                Bar(
                    x=LABEL_WIDTH,
                    y=first + j * (BAR_HEIGHT + BAR_GAP),
                    width=round(PLOT_WIDTH * max(value, 0) / peak, 1),
                    height=BAR_HEIGHT,
                    colour=SERIES_COLOURS[j % len(SERIES_COLOURS)],
                    value=value,
                    series=name,
                )
            )
        label_y = first + (len(names) * (BAR_HEIGHT + BAR_GAP)) / 2 + 4
        note = _short(str(notes[i])) if notes is not None and notes[i] else ""
        groups.append(Group(_short(str(category)), label_y, tuple(bars), note))
    legend = tuple(
        (n, SERIES_COLOURS[j % len(SERIES_COLOURS)], top + 4 + j * LEGEND_ROW)
        for j, n in enumerate(names)
    )
    return BarChart(
        title=title,
        width=LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH + NOTE_WIDTH,
        height=legend_height + max(len(groups), 1) * group_height,
        label_width=LABEL_WIDTH,
        groups=tuple(groups),
        legend=legend,
        heading=heading,
        note_x=LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        empty_text=empty_text,
    )
