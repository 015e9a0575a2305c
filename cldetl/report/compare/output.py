"""The comparison as people and programs read it: console text, JSON (comparison.json) and
the chart (comparison.svg, drawn by the report's one chart builder). Counts, field names and
Release 2 defined-list values only: never a value of a personal field."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cldetl.display import shown
from cldetl.publish.write import write_text
from cldetl.report.charts import BarChart, bar_chart
from cldetl.report.compare.model import Comparison
from cldetl.report.html import render_template
from cldetl.spec.period import ReportingPeriod

COMPARISON_JSON = "comparison.json"
COMPARISON_SVG = "comparison.svg"
CHART_TEMPLATE = "comparison.svg.j2"
LABEL_WIDTH = 72  # the longest Release 2 Service Type fits


def _records(frame: pd.DataFrame) -> list[dict]:

    out = []
    for record in frame.to_dict("records"):
        row = {}
        for k, v in record.items():
            if isinstance(v, float) and pd.isna(v):
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            row[str(k)] = v
        out.append(row)
    return out


def comparison_dict(comparison: Comparison) -> dict:
    """The comparison as JSON-ready data (counts and field names only)."""
    c = comparison
    return {
        "previous_file": c.previous_file,
        "current_file": c.current_file,
        "previous_period": _period(c.previous_period),
        "current_period": _period(c.current_period),
        "months": c.months,
        "threshold_percent": c.threshold_percent,
        "flagged": c.flagged,
        "records": c.records,
        "people": c.people,
        "events": c.events,
        "columns_only_in": c.columns_only_in,
        "by_event_type": _records(c.by_event_type),
        "by_event_type_month": _records(c.by_event_type_month),
        "by_service_type": _records(c.by_service_type),
        "field_changes": _records(c.field_changes),
        "person_field_changes": _records(c.person_field_changes),
    }


def comparison_json(comparison: Comparison) -> str:
    return json.dumps(comparison_dict(comparison), indent=2, ensure_ascii=False) + "\n"


def _period(period: ReportingPeriod) -> dict:
    return {"start": f"{period.start:%Y-%m-%d}", "end": f"{period.end:%Y-%m-%d}"}


def comparison_text(comparison: Comparison) -> str:
    """A plain summary for the console (counts, field names, defined-list values only)."""

    c = comparison
    lines = [
        f"{shown(c.current_file)} ({_span(c.current_period)}) against "
        f"{shown(c.previous_file)} ({_span(c.previous_period)})",
    ]
    if not c.months:
        lines.append("The two files share no months: nothing to compare.")
        return "\n".join(lines) + "\n"
    lines.append(
        f"Months both cover: {c.months[0]} to {c.months[-1]} ({len(c.months)}); "
        f"swings beyond {c.threshold_percent:g}% are flagged (!)."
    )
    for title, frame, column in (
        ("Records by event type", c.by_event_type, "event_type"),
        ("Records by service type", c.by_service_type, "service_type"),
    ):
        lines += ["", title, f"  {'':<{LABEL_WIDTH}} {'previous':>9} {'current':>9} {'change':>8}"]
        for row in frame.itertuples(index=False):
            lines.append(_count_line(getattr(row, column), row))
    flagged_months = c.by_event_type_month[c.by_event_type_month["flagged"]]
    if len(flagged_months):
        lines += ["", "Months flagged, by event type"]
        for row in flagged_months.itertuples(index=False):
            lines.append(_count_line(f"{row.month} {row.event_type}", row))
    for title, counts in (
        ("People (LA Person Unique Identifier)", c.people),
        ("Events (Event Reference)", c.events),
    ):
        lines += ["", f"{title}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items())]
    changed = c.field_changes[c.field_changes["changed_events"] > 0]
    if len(changed):
        lines += ["", "Events whose field changed, by field"]
        for row in changed.itertuples(index=False):
            lines.append(
                f"  {shown(row.field, LABEL_WIDTH):<{LABEL_WIDTH}} {row.changed_events:>9,}"
            )
    for side in ("previous", "current"):
        if c.records.get(side, {}).get("undated"):
            lines.append(
                f"{side} file: {c.records[side]['undated']:,} record(s) without a dd/mm/yyyy "
                "Event Start Date are not in these counts."
            )
    lines += ["", f"{c.flagged} count(s) flagged."]
    return "\n".join(lines) + "\n"


def _count_line(label: str, row) -> str:

    change = (
        "new"
        if row.previous == 0 and row.current
        else ("" if row.change_percent != row.change_percent else f"{row.change_percent:+.1f}%")
    )
    flag = " !" if row.flagged else ""
    label = shown(label, LABEL_WIDTH)
    return f"  {label:<{LABEL_WIDTH}} {row.previous:>9,} {row.current:>9,} {change:>8}{flag}"


def _span(period: ReportingPeriod) -> str:
    return f"{period.start:%d/%m/%Y} to {period.end:%d/%m/%Y}"


def comparison_chart(comparison: Comparison) -> BarChart:
    """Records by event type, previous against current, flagged swings marked: the chart of
    comparison.svg (the page draws the same builder's charts)."""

    c = comparison
    rows = c.by_event_type
    span = f"{c.months[0]} to {c.months[-1]}" if c.months else "no months in common"
    return bar_chart(
        f"Records by event type, {span}",
        rows["event_type"].astype(str).tolist(),
        {
            f"previous ({c.previous_period.end:%d/%m/%Y})": rows["previous"].tolist(),
            f"current ({c.current_period.end:%d/%m/%Y})": rows["current"].tolist(),
        },
        notes=[swing_note(r.previous, r.change_percent, r.flagged) for r in rows.itertuples()],
        heading=True,
        empty_text="No months in common: nothing to compare.",
    )


def swing_note(previous: int, change_percent: float, flagged: bool) -> str:
    """How a flagged count is marked: 'new' when it was 0, else its change (+25.0%)."""
    if not flagged:
        return ""
    return "new" if previous == 0 else f"{change_percent:+.1f}%"


def comparison_svg(comparison: Comparison) -> str:
    """The chart as a standalone SVG file with no script, font or link from outside: it
    renders offline."""
    return render_template(CHART_TEMPLATE, c=comparison_chart(comparison))


def write_comparison_files(comparison: Comparison, folder: str | Path) -> list[Path]:
    """comparison.json and comparison.svg in `folder` (owner-only, like every run file)."""

    folder = Path(folder)
    written = []
    for name, text in (
        (COMPARISON_JSON, comparison_json(comparison)),
        (COMPARISON_SVG, comparison_svg(comparison)),
    ):
        write_text(text, folder / name)
        written.append(folder / name)
    return written
