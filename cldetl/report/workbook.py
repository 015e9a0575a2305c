"""The findings workbook (findings.xlsx): a summary sheet and every finding, one per row.

Analysts sort and filter findings in Excel and hand rows to the teams that fix the case system,
so the workbook lists every finding (the page shows a sample per rule). Values come from the
submitted file, so a text that Excel would read as a formula (starting = + - @, or a tab or
carriage return that some versions skip before one) is written as text, with Excel's "quote
prefix", never as a formula.

openpyxl writes the workbook (styles, frozen header, the Summary sheet); the findings rows, which
can number a million, are built a column at a time and streamed into openpyxl's findings sheets
in the same inline-string form openpyxl uses (see `_fill_findings`).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from cldetl.report.findings import FINDING_FIELDS

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = r"^[=+\-@\t\r]"
QUOTE_MARKER = "=cldetl-quote-prefix-marker"
# Characters XML 1.0 does not allow in a document (openpyxl's own check covers the controls).
# Written with the two noncharacters as themselves: Arrow's regex engine (RE2) and Python's spell
# their escapes differently. (A UTF-8 file cannot hold a lone surrogate.)
XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f" + "\ufffe\uffff]"
COLUMN_LETTERS = "ABCDEFG"
FIXED_STAMP = datetime(1980, 1, 1)  # the earliest time a zip archive records
TIMES = re.compile(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
CHUNK_ROWS = 100_000
# Excel's rows per sheet, less the header row; more findings continue on another sheet.
SHEET_ROWS = 1_048_575
CELL_CHARS = 32_000


def _text_cell(sheet: Any, value: str) -> Any:
    """A cell that holds `value` as text even when it looks like a formula."""

    cell = WriteOnlyCell(sheet, value=value[:CELL_CHARS])
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def safe_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for `sheet.append`: formula-like text becomes a text cell, illegal characters go."""

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
    stamp: datetime | None = None,
    sheets: Sequence[tuple[str, list[str], list[list[Any]]]] = (),
) -> None:
    """Write the workbook to `handle` (a binary file opened for writing).

    Args:
        summary: (label, value) lines at the top of the Summary sheet (authority, period, ...).
        tables: (title, headers, rows) blocks that follow on the Summary sheet.
        findings: `report_findings.finding_rows` output, one row per finding.
        stamp: the time recorded in the workbook's properties and archive (default: a fixed
            date), so that the same inputs give the same bytes.
        sheets: (name, headers, rows) sheets after the findings (the national measures).
    """

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
    parts = max(1, -(-len(findings) // SHEET_ROWS))
    for part in range(1, parts + 1):
        findings_sheet = book.create_sheet("Findings" if part == 1 else f"Findings ({part})")
        _findings_layout(findings_sheet)
        findings_sheet.append(_bold_row(findings_sheet, headers))
        # A marker row: the style openpyxl gives a quote-prefixed cell (read back, then dropped).
        findings_sheet.append([_text_cell(findings_sheet, QUOTE_MARKER)])
    first_sheet = len(book.worksheets) - parts + 1
    # Issue 17: a sheet per national measure, after the findings sheets.
    for name, sheet_headers, sheet_rows in sheets:
        extra = book.create_sheet(name)
        extra.append(_bold_row(extra, sheet_headers))
        for values in sheet_rows:
            extra.append(safe_row(extra, values))
    placeholder = io.BytesIO()
    book.save(placeholder)
    sheets = {
        f"xl/worksheets/sheet{first_sheet + i}.xml": findings.iloc[
            i * SHEET_ROWS : (i + 1) * SHEET_ROWS
        ]
        for i in range(parts)
    }
    _fill_findings(placeholder, handle, sheets, stamp or FIXED_STAMP)


def _fill_findings(
    placeholder: io.BytesIO, handle: BinaryIO, sheets: dict[str, Any], stamp: datetime
) -> None:
    """Copy the openpyxl workbook to `handle`, writing the findings rows into each findings
    sheet in place of its marker row, with `stamp` as every time it records (openpyxl records
    the time of saving: the same inputs would never give the same file).

    Why not openpyxl's own rows: it serialises cell by cell in Python (about 0.17 ms a finding:
    three minutes for a million). The rows are built here a column at a time with Arrow string
    kernels, in the form openpyxl writes them (inline strings), and streamed into the archive.
    """

    with (
        zipfile.ZipFile(placeholder) as source,
        zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        when = max(stamp, FIXED_STAMP).timetuple()[:6]
        for original in source.infolist():
            data = source.read(original.filename)
            info = zipfile.ZipInfo(original.filename, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            if info.filename == "docProps/core.xml":
                text = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
                data = TIMES.sub(rf"\g<1>{text}\g<2>", data.decode("utf-8")).encode("utf-8")
            if info.filename not in sheets:
                target.writestr(info, data)
                continue
            text = data.decode("utf-8")
            marker = re.search(r'<row r="2">.*?</row>', text)
            if marker is None or QUOTE_MARKER not in marker.group(0):
                raise RuntimeError(f"{info.filename}: the findings sheet's marker row is missing")
            quote_style = re.search(r' s="(\d+)"', marker.group(0))
            style = quote_style.group(1) if quote_style else None
            head, tail = text[: marker.start()], text[marker.end() :]
            frame = sheets[info.filename]
            with target.open(info.filename, "w", force_zip64=True) as out:
                out.write(head.encode("utf-8"))
                for start in range(0, len(frame), CHUNK_ROWS):
                    chunk = frame.iloc[start : start + CHUNK_ROWS]
                    out.write(_rows_xml(chunk, first_row=2 + start, quote_style=style))
                out.write(tail.encode("utf-8"))


def _rows_xml(frame: pd.DataFrame, *, first_row: int, quote_style: str | None) -> bytes:
    """`<row>` elements for the findings in `frame`, built column by column."""

    if frame.empty:
        return b""
    numbers = pd.Series(
        np.arange(first_row, first_row + len(frame)).astype(str), index=frame.index, dtype="string"
    )
    row_xml = '<row r="' + numbers + '">'
    for letter, name in zip(COLUMN_LETTERS, FINDING_FIELDS, strict=False):
        values = frame[name]
        ref = '<c r="' + letter + numbers + '"'
        if name == "line":
            filled = values.notna()
            number = values.astype("string").fillna("")
            cell = (ref + "><v>" + number + "</v></c>").where(filled, "")
        else:
            text = values.astype("string").fillna("")
            text = text.str.replace(XML_ILLEGAL, "?", regex=True).str.slice(0, CELL_CHARS)
            quoted = text.str.match(FORMULA_PATTERN).fillna(False).astype(bool)
            style = pd.Series("", index=frame.index, dtype="string")
            if quote_style is not None:
                style = style.where(~quoted, f' s="{quote_style}"')
            escaped = (
                text.str.replace("&", "&amp;", regex=False)
                .str.replace("<", "&lt;", regex=False)
                .str.replace(">", "&gt;", regex=False)
                .str.replace("\r", "&#13;", regex=False)
            )
            body = ' t="inlineStr"><is><t xml:space="preserve">' + escaped + "</t></is></c>"
            cell = (ref + style + body).where(text != "", "")
        row_xml = row_xml + cell
    row_xml = row_xml + "</row>"
    return "".join(row_xml.tolist()).encode("utf-8")


def _findings_layout(sheet: Any) -> None:
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFG", (8, 18, 18, 28, 30, 10, 90), strict=True):
        sheet.column_dimensions[letter].width = width
