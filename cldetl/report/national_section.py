"""The report's "What DHSC will see" section and the workbook's measure sheets.

Built from the national preview of the file (cldetl/national): DHSC's derived reporting period
and flags, what happens to each row (counts that add up to the file's rows), and the measures
DHSC will publish with their numerators and denominators. The page shows counts only; the
workbook has a sheet per measure with the records behind it (line, Event Reference, LA person
ID, in or out and why), none of them personal fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cldetl.national.method import national_method
from cldetl.national.run_files import NationalRun, national_run
from cldetl.report.workbook import Section
from cldetl.validate.csvfile import CldTable
from cldetl.validate.findings import ValidationReport

# Excel: at most 31 characters, none of []:*?/\ in a sheet name.
SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


@dataclass
class NationalSection:
    """What the template and the workbook show."""

    page: dict[str, Any]
    summary_tables: list[tuple[str, list[str], list[list[Any]]]]
    sheets: list[tuple[str, list[str], list[list[Any]]]]

    def sections(self) -> tuple[Section, ...]:
        """The workbook's sheets: each row's fate, the measures, then one per measure."""
        titles = {
            "What DHSC will see: each row's fate": "DHSC fates",
            "What DHSC will see: measures": "DHSC measures",
        }
        return tuple(
            Section(titles.get(title, title), columns, rows)
            for title, columns, rows in [*self.summary_tables, *self.sheets]
        )


def _date(d) -> str:
    return d.strftime("%d/%m/%Y") if d else "none"


def _value(f) -> str:
    if f.value is None:
        return "no rate: no population given" if f.unit.startswith("per") else "-"
    return f"{f.value} {f.unit}" if f.unit.startswith("per") else f"{f.value}%"


def national_section(table: CldTable | str | Path, report: ValidationReport) -> NationalSection:
    """The section for a validated file, read already or given by its path (then read batch by
    batch)."""
    run: NationalRun = national_run(table, report)
    p, labels = run.preview, national_method()["fates"]
    period = p.period
    fates = [[labels[k], int(n)] for k, n in p.fate_counts.items() if n]
    fates.append(["All rows", int(p.fate_counts.sum())])
    figures = [
        [f.measure, f.group, f.numerator, "-" if f.denominator is None else f.denominator,
         _value(f)]
        for f in run.figures
    ]  # fmt: skip
    page = {
        "stated": f"{_date(period.stated_start)} to {_date(period.stated_end)}",
        "derived": f"{_date(period.start)} to {_date(period.end)}",
        "matches": period.matches,
        "gap_flag": period.gap_flag,
        "missing_type_flag": period.missing_type_flag,
        "by_type": [
            [t.event_type, t.total, f"{_date(t.start)} to {_date(t.end)}", "yes" if t.gap else ""]
            for t in period.by_type
        ],
        "fates": fates,
        "figures": figures,
        "over_stated": run.stated,
        "not_computable": list(run.not_computable.items()),
        "warnings": [m for _, m in p.warnings],
    }
    sheets = []
    for f in run.figures:
        name = SHEET_NAME.sub(" ", f"{f.measure} {f.group}")[:31]
        rows = f.records.astype(object).where(f.records.notna(), "").values.tolist()
        sheets.append((name, list(f.records.columns), rows))
    summary_tables = [
        ("What DHSC will see: each row's fate", ["Fate", "Rows"], fates),
        (
            "What DHSC will see: measures",
            ["Measure", "Group", "Numerator", "Denominator", "Value"],
            figures,
        ),
    ]
    return NationalSection(page=page, summary_tables=summary_tables, sheets=sheets)
