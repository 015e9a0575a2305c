"""`compare`: this quarter's return against last quarter's, the check every LA team makes
before submitting.

Two CLD files cover twelve months each; consecutive quarters share nine. Over the months both
files cover, this counts records by Event Type (in all and per month) and by Service Type, and
flags a count that moves by more than a threshold (the mapping's
`comparison.swing_threshold_percent`, default 20). It then matches people by LA Person Unique
Identifier and events by Event Reference: those that appear, disappear, or whose fields
changed, counted per field. It works on any two CLD files, including ones cldetl did not make.

A record counts in a month when its event is open in that month: Event Start Date on or before
the month's last day, and Event End Date blank or on or after its first day. Records whose
Event Start Date is not a dd/mm/yyyy date are counted apart (`undated_records`), not lost.

Nothing here shows a value of a personal field: the comparison holds counts, field names and
Release 2 defined-list values (Event Type, Service Type) only; any other value in those two
columns is counted as "(not a Release 2 value)".

The package keeps the comparison (`model`) apart from how it is shown (`output`: console text,
JSON and the chart, which is drawn by the report's one chart builder, `cldetl.report.charts`).
"""

from cldetl.report.compare.model import DEFAULT_THRESHOLD_PERCENT, Comparison, compare_returns
from cldetl.report.compare.output import (
    COMPARISON_JSON,
    COMPARISON_SVG,
    comparison_chart,
    comparison_dict,
    comparison_json,
    comparison_svg,
    comparison_text,
    write_comparison_files,
)

__all__ = [
    "COMPARISON_JSON",
    "COMPARISON_SVG",
    "DEFAULT_THRESHOLD_PERCENT",
    "Comparison",
    "compare_returns",
    "comparison_chart",
    "comparison_dict",
    "comparison_json",
    "comparison_svg",
    "comparison_text",
    "write_comparison_files",
]
