"""The workbook's sections: the whole report as `Section`s (summary, findings by rule, every
finding, unmapped codes, reconciliation, comparison), in the order the sheets appear. Another
part of the report (the national preview) adds its own `Section` to the list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from cldetl.report.findings import FINDING_FIELDS
from cldetl.report.page_sections import compared, swings
from cldetl.report.workbook import INTEGER, Section, section_from_frame

if TYPE_CHECKING:
    from cldetl.report.file_summary import FileSummary
    from cldetl.spec import Spec
    from cldetl.validate.findings import ValidationReport

FINDINGS_WIDTHS = dict(zip(FINDING_FIELDS.values(), (8, 18, 18, 28, 30, 10, 90), strict=True))
SWING_HEADERS = {"count": "Count", "type": "Event or service type", "change_percent": "Change %"}


def summary_section(lines: list[tuple[str, Any]]) -> Section:
    return Section("Summary", ["Item", "Value"], lines, widths={"Item": 28, "Value": 80})


def findings_by_rule_section(report: ValidationReport, spec: Spec) -> Section:
    rows = [
        [r, s, int(n), spec.rules[r].title if r in spec.rules else "", _section(spec, r)]
        for r, s, n in report.by_rule().itertuples(index=False, name=None)
    ]
    return Section(
        "Findings by rule",
        ["Rule", "Severity", "Findings", "What it checks", "Guidance section"],
        rows,
        formats={"Findings": INTEGER},
    )


def _section(spec: Spec, rule: str) -> str:
    return spec.rules[rule].section if rule in spec.rules else ""


def findings_section(rows: pd.DataFrame) -> Section:
    """Every finding, one per row (a sheet holds a million; more continue on 'Findings (2)')."""
    return Section(
        "Findings",
        list(FINDING_FIELDS.values()),
        rows[list(FINDING_FIELDS)],
        widths=FINDINGS_WIDTHS,
    )


def report_sections(
    *,
    summary: list[tuple[str, Any]],
    report: ValidationReport,
    spec: Spec,
    rows: pd.DataFrame,
    file: FileSummary,
    unmapped: pd.DataFrame | None,
    reconciliation: pd.DataFrame | None,
    comparison: Any,
    extra: list[Section] | tuple[Section, ...] = (),
) -> list[Section]:
    """Every section of the workbook, in sheet order; `extra` (e.g. the national preview)
    after the comparison."""
    sections = [summary_section(summary), findings_by_rule_section(report, spec)]
    sections.append(findings_section(rows))
    if unmapped is not None:
        sections.append(section_from_frame("Unmapped codes", unmapped))
    if reconciliation is not None:
        sections.append(section_from_frame("Reconciliation", reconciliation))
    if compared(comparison):
        sections.append(section_from_frame("Swings", swings(comparison), headers=SWING_HEADERS))
        for attribute, title in (
            ("by_event_type", "Comparison by event type"),
            ("by_event_type_month", "Comparison by month"),
            ("by_service_type", "Comparison by service type"),
            ("field_changes", "Comparison field changes"),
        ):
            frame = getattr(comparison, attribute, None)
            if frame is not None:
                sections.append(section_from_frame(title, frame))
    else:
        counts = file.event_types
        sections.append(
            section_from_frame(
                "Events by event type",
                pd.DataFrame(
                    {
                        "event_type": counts.index.astype(str),
                        "records": counts.to_numpy(dtype="int64"),
                    }
                ),
            )
        )
    sections.extend(extra)
    return sections
