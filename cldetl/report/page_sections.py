"""The page's sections built from the report's data: counts by event type (against last
quarter when there is a comparison with months in common), the swings behind the status
banner's count, and the findings grouped by rule and field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from cldetl.report.charts import BarChart, bar_chart
from cldetl.report.compare.output import swing_note
from cldetl.report.tables import (
    ShownTable,
    cells,
    format_month,
    long_columns,
    period_label,
    shown_table,
)

if TYPE_CHECKING:
    from cldetl.report.file_summary import FileSummary
    from cldetl.spec import Spec
    from cldetl.validate.findings import ValidationReport

# The first findings listed per rule and field (every one is in the workbook).
FIRST_LINES = 5
# Rules listed open on the page (the rest are one click away).
OPEN_RULES = 5
SWING_PARTS = (
    ("by_event_type", "By event type", "event_type"),
    ("by_event_type_month", "By month and event type", "event_type"),
    ("by_service_type", "By service type", "service_type"),
)


def compared(comparison: Any) -> bool:
    """A comparison with months in common (one whose earlier run covers other months, or
    none, has nothing to show)."""
    if comparison is None or getattr(comparison, "by_event_type", None) is None:
        return False
    return bool(getattr(comparison, "months", True))


def swings(comparison: Any) -> pd.DataFrame:
    """Every flagged count, one row each: what was counted, the event or service type, the
    month (by month only), previous, current and the change."""
    parts = []
    for attribute, what, column in SWING_PARTS:
        frame = getattr(comparison, attribute, None) if comparison is not None else None
        if frame is None or "flagged" not in frame.columns or not len(frame):
            continue
        flagged = frame[frame["flagged"].fillna(False).astype(bool)]
        parts.append(
            pd.DataFrame(
                {
                    "count": what,
                    "type": flagged[column].astype(str).to_numpy(),
                    "month": (
                        [format_month(m) for m in flagged["month"]]
                        if "month" in flagged.columns
                        else ""
                    ),
                    "previous": flagged["previous"].astype("int64").to_numpy(),
                    "current": flagged["current"].astype("int64").to_numpy(),
                    "change_percent": flagged["change_percent"].astype("float64").to_numpy(),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            columns=["count", "type", "month", "previous", "current", "change_percent"]
        )
    return pd.concat(parts, ignore_index=True)


def shown_swings(comparison: Any) -> pd.DataFrame:
    """The swings as the page lists them: the change as a word ('new' from 0, '+25.0%')."""
    frame = swings(comparison)
    change = [
        swing_note(p, c, True)
        for p, c in zip(frame["previous"], frame["change_percent"], strict=True)
    ]
    return frame.drop(columns=["change_percent"]).assign(change=change)


def changed_fields(comparison: Any) -> pd.DataFrame | None:
    """The fields that changed on some event (the page leaves out the unchanged ones; the
    workbook lists every field)."""
    frame = getattr(comparison, "field_changes", None)
    if frame is None or "changed_events" not in frame.columns:
        return frame
    return frame[frame["changed_events"] > 0]


@dataclass
class EventCounts:
    table: ShownTable
    charts: list[BarChart]
    compared: bool
    previous_label: str = ""
    current_label: str = ""
    nothing_to_compare: str = ""  # why an earlier run gave nothing to compare


def _numbers(values: pd.Series) -> list[float | None]:
    return [None if v != v else float(v) for v in values.astype("float64").tolist()]


def event_counts(summary: FileSummary, comparison: Any, current_label: str) -> EventCounts:
    """Counts by event type: against last quarter when a comparison has months in common,
    else this file's."""

    if not compared(comparison):
        counts = summary.event_types
        frame = pd.DataFrame(
            {"event_type": counts.index.astype(str), "current": counts.to_numpy(dtype="int64")}
        )
        chart = bar_chart(
            "Events by event type",
            frame["event_type"].tolist(),
            {current_label: frame["current"].tolist()},
        )
        shown = shown_table(frame.rename(columns={"current": "records"}), limit=10_000)
        why = ""
        if comparison is not None:
            found = period_label(getattr(comparison, "previous_period", "")) or "an earlier period"
            why = (
                "Nothing to compare: the earlier run covers other months "
                f"(it found {found}, which shares no month with {current_label})."
            )
        return EventCounts(shown, [chart], False, "", current_label, why)

    previous_label = period_label(getattr(comparison, "previous_period", "")) or "Previous"
    current_label = period_label(getattr(comparison, "current_period", "")) or current_label
    by_type = comparison.by_event_type
    notes = [
        swing_note(r.previous, r.change_percent, bool(r.flagged)) for r in by_type.itertuples()
    ]
    charts = [
        bar_chart(
            "Events by event type",
            by_type["event_type"].astype(str).tolist(),
            {
                previous_label: _numbers(by_type["previous"]),
                current_label: _numbers(by_type["current"]),
            },
            notes=notes,
        )
    ]
    by_month = getattr(comparison, "by_event_type_month", None)
    if by_month is not None and len(by_month):
        months = by_month.groupby("month", sort=True)[["previous", "current"]].sum()
        charts.append(
            bar_chart(
                "Events by month (the months both files cover)",
                [format_month(m) for m in months.index],
                {
                    previous_label: _numbers(months["previous"]),
                    current_label: _numbers(months["current"]),
                },
            )
        )
    columns = ["event_type", "previous", "current", "change_percent", "flagged"]
    frame = by_type[[c for c in columns if c in by_type.columns]]
    shown = shown_table(frame, limit=10_000)
    return EventCounts(shown, charts, True, previous_label, current_label)


@dataclass
class RuleFindings:
    rule: str
    severity: str
    count: int
    title: str
    section: str
    table: ShownTable
    open: bool


def _first_lines(group: pd.DataFrame) -> str:
    """The first findings of a group as 'line (Event Reference, LA Person ID)'."""
    out = []
    for line, event, person in group[["line", "event_reference", "person_id"]].itertuples(
        index=False, name=None
    ):
        where = ", ".join(x for x in (event, person) if x)
        label = "file" if line is pd.NA or line is None else f"line {int(line):,}"
        out.append(f"{label} ({where})" if where else label)
    return "; ".join(out)


def rule_findings(
    rows: pd.DataFrame, report: ValidationReport, spec: Spec, workbook: str
) -> list[RuleFindings]:
    """Findings by rule (errors first, then by count), one row per rule and field: how many,
    the first message and the first lines; the workbook named for the rest."""
    out = []
    by_rule = report.by_rule()
    if by_rule.empty:
        return out
    keyed = rows.assign(column=rows["column"].fillna("").astype(str).replace("", "(file)"))
    groups = keyed.groupby(["rule", "column"], sort=False)
    sizes = groups.size()
    heads = groups.head(FIRST_LINES)
    firsts = dict(tuple(heads.groupby(["rule", "column"], sort=False)))
    for i, (rule, severity, count) in enumerate(by_rule.itertuples(index=False, name=None)):
        meta = spec.rules.get(rule)
        table_rows, listed = [], 0
        for (group_rule, column), size in sizes.items():
            if group_rule != rule:
                continue
            first = firsts[(group_rule, column)]
            listed += len(first)
            table_rows.append(
                cells([column, int(size), str(first["message"].iloc[0]), _first_lines(first)])
            )
        rest = max(int(count) - listed, 0)
        out.append(
            RuleFindings(
                rule=str(rule),
                severity=str(severity),
                count=int(count),
                title=meta.title if meta else "",
                section=meta.section if meta else "",
                table=ShownTable(
                    ["Field", "Findings", "Message (first)", "First lines"],
                    table_rows,
                    {1},
                    rest,
                    long=long_columns(table_rows),
                    more_text=(
                        f"The other {rest:,} finding(s) of this rule, one per row, are in "
                        f"{workbook} (sheet Findings)."
                        if rest
                        else ""
                    ),
                ),
                open=i < OPEN_RULES,
            )
        )
    return out
