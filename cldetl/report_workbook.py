"""The findings workbook (findings.xlsx): a summary sheet and every finding, one per row.

Analysts sort and filter findings in Excel and hand rows to the teams that fix the case system,
so the workbook lists every finding (the page shows a sample per rule). Values come from the
submitted file, so a text that Excel would read as a formula (starting = + - @, or a tab or
carriage return that some versions skip before one) is written as text, with Excel's "quote
prefix", never as a formula. Written in openpyxl's write-only mode: rows stream to the file
instead of being held as cell objects (a million findings would otherwise take gigabytes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from cldetl.report_findings import FINDING_FIELDS

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel's rows per sheet, less the header row; more findings continue on another sheet.
SHEET_ROWS = 1_048_575
CELL_CHARS = 32_000


def _text_cell(sheet: Any, value: str) -> Any:
    """A cell that holds `value` as text even when it looks like a formula."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value[:CELL_CHARS])
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def safe_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for `sheet.append`: formula-like text becomes a text cell, illegal characters go."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("?", value)
            if value.startswith(FORMULA_STARTS):
                row.append(_text_cell(sheet, value))
                continue
            value = value[:CELL_CHARS]
        row.append(value)
    return row


def _bold_row(sheet: Any, values: Sequence[str]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def write_workbook(
    handle: BinaryIO,
    *,
    summary: list[tuple[str, Any]],
    tables: list[tuple[str, list[str], list[list[Any]]]],
    findings: pd.DataFrame,
) -> None:
    """Write the workbook to `handle` (a binary file opened for writing).

    Args:
        summary: (label, value) lines at the top of the Summary sheet (authority, period, ...).
        tables: (title, headers, rows) blocks that follow on the Summary sheet.
        findings: `report_findings.finding_rows` output, one row per finding.
    """
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Summary")
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 40
    for label, value in summary:
        sheet.append([*_bold_row(sheet, [label]), *safe_row(sheet, [value])])
    for title, headers, rows in tables:
        sheet.append([])
        sheet.append(_bold_row(sheet, [title]))
        sheet.append(_bold_row(sheet, headers))
        for values in rows:
            sheet.append(safe_row(sheet, values))

    headers = list(FINDING_FIELDS.values())
    columns = [findings[c].astype(object).where(findings[c].notna(), None) for c in FINDING_FIELDS]
    records = zip(*(c.tolist() for c in columns), strict=True)
    part = 0
    written = SHEET_ROWS
    findings_sheet = None
    for record in records:
        if written == SHEET_ROWS:
            part += 1
            findings_sheet = book.create_sheet("Findings" if part == 1 else f"Findings ({part})")
            _findings_layout(findings_sheet)
            findings_sheet.append(_bold_row(findings_sheet, headers))
            written = 0
        findings_sheet.append(safe_row(findings_sheet, record))
        written += 1
    if findings_sheet is None:
        findings_sheet = book.create_sheet("Findings")
        _findings_layout(findings_sheet)
        findings_sheet.append(_bold_row(findings_sheet, headers))
    book.save(handle)


def _findings_layout(sheet: Any) -> None:
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFG", (8, 18, 18, 28, 30, 10, 90), strict=True):
        sheet.column_dimensions[letter].width = width
