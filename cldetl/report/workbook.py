"""The workbook (findings.xlsx): the whole report, one sheet per section.

Analysts sort and filter in Excel and hand rows to the teams that fix the case system, so the
workbook holds everything the page shows and more: every finding (the page shows the first
of each group), the unmapped codes, the reconciliation, the comparison. Each section is a
`Section` (title, columns, rows, number formats) and every section is written the same way:
a bold header row, frozen, with an AutoFilter over the table, numbers stored as numbers, and
print set-up for a person who prints it (landscape, fit to one page wide, header row repeated
on every page). Another part of the report adds a sheet by adding a `Section`.

Values come from the submitted file, so a text that Excel would read as a formula (starting
= + - @, or a tab or carriage return that some versions skip before one) is written as text,
with Excel's "quote prefix", never as a formula.

Written with openpyxl's write-only API, so a million findings stream to disk rather than sit
in memory; the archive records the run's time (not the time of saving), so the same inputs
give the same bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.writer.excel import ExcelWriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The two noncharacters XML 1.0 does not allow either (openpyxl's own check covers controls).
XML_ILLEGAL = re.compile("[\ufffe\uffff]")
FIXED_STAMP = datetime(1980, 1, 1)  # the earliest time a zip archive records
# Excel's rows per sheet, less the header row; a longer section continues on another sheet.
SHEET_ROWS = 1_048_575
CELL_CHARS = 32_000
SHEET_NAME_CHARS = 31  # Excel's limit
CHUNK_ROWS = 50_000
INTEGER = "#,##0"
DECIMAL = "0.0"
TEXT_WIDTH = 60  # widest a column is made to fit its text (Excel wraps nothing by default)


@dataclass(frozen=True)
class Section:
    """One table of the report, written as a sheet of its own.

    title: the sheet's name (at most 31 characters; a long section continues on
        "Title (2)" and on).
    columns: the header row.
    rows: the rows, a DataFrame (columns in order) or any iterable of sequences; numbers stay
        numbers, None and NaN are blank cells.
    formats: Excel number formats by column name (e.g. {"Rows": INTEGER}).
    widths: column widths by column name (the rest are sized from the header and first rows).
    """

    title: str
    columns: Sequence[str]
    rows: pd.DataFrame | Iterable[Sequence[Any]]
    formats: dict[str, str] = field(default_factory=dict)
    widths: dict[str, float] = field(default_factory=dict)


def section_from_frame(
    title: str, frame: pd.DataFrame, headers: dict[str, str] | None = None, **kwargs: Any
) -> Section:
    """A Section from a DataFrame: integer columns formatted with separators, floats with one
    decimal place, headers renamed by `headers` (default: the name with spaces, capitalised)."""
    headers = headers or {}
    names = [headers.get(c, str(c).replace("_", " ").capitalize()) for c in frame.columns]
    formats = dict(kwargs.pop("formats", {}))
    for column, name in zip(frame.columns, names, strict=True):
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_integer_dtype(dtype):
            formats.setdefault(name, INTEGER)
        elif pd.api.types.is_float_dtype(dtype):
            formats.setdefault(name, DECIMAL)
    return Section(title, names, frame, formats=formats, **kwargs)


def _plain(value: Any) -> Any:
    """A value as openpyxl takes it: numpy scalars as Python numbers, missing as None, flags
    as 'yes' or blank (an analyst filters on a word, not TRUE)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "yes" if value else None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _cell(sheet: Any, value: Any, number_format: str | None) -> Any:
    """A cell for `sheet.append`: formula-like text stored as text, illegal characters gone,
    text cut to what Excel holds; a number format where the section gives one."""
    value = _plain(value)
    if isinstance(value, str):
        value = XML_ILLEGAL.sub("?", ILLEGAL_CHARACTERS_RE.sub("?", value))[:CELL_CHARS]
        if value.startswith(FORMULA_STARTS):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            return cell
        return value
    if number_format and isinstance(value, int | float):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format
        return cell
    return value


def safe_row(sheet: Any, values: Iterable[Any], formats: Sequence[str | None] = ()) -> list[Any]:
    """A row for `sheet.append` (see `_cell`)."""
    formats = list(formats)
    return [_cell(sheet, v, formats[i] if i < len(formats) else None) for i, v in enumerate(values)]


def _row_lists(rows: pd.DataFrame | Iterable[Sequence[Any]]) -> Iterator[list[Any]]:
    """The rows as lists, a DataFrame a chunk at a time (never all of it as Python objects)."""
    if isinstance(rows, pd.DataFrame):
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = rows.iloc[start : start + CHUNK_ROWS].astype(object)
            chunk = chunk.where(chunk.notna(), None)
            yield from (list(r) for r in chunk.itertuples(index=False, name=None))
    else:
        yield from (list(r) for r in rows)


def _sheet_names(title: str, taken: set[str]) -> Iterator[str]:
    """The sheet names of one section: the title, then "Title (2)", ... (unique, Excel-safe)."""
    base = "".join("_" if c in "[]:*?/\\" else c for c in title)[:SHEET_NAME_CHARS] or "Sheet"
    part = 1
    while True:
        suffix = "" if part == 1 else f" ({part})"
        name = base[: SHEET_NAME_CHARS - len(suffix)] + suffix
        part += 1
        if name.lower() not in taken:
            taken.add(name.lower())
            yield name


def _start_sheet(book: Workbook, name: str, section: Section, sample: list[list[Any]]) -> Any:
    sheet = book.create_sheet(name)
    sheet.freeze_panes = "A2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = "1:1"
    for i, column in enumerate(section.columns):
        width = section.widths.get(column)
        if width is None:
            longest = max([len(str(r[i])) for r in sample if i < len(r)] + [len(column)])
            width = min(max(longest + 2, 8), TEXT_WIDTH)
        sheet.column_dimensions[get_column_letter(i + 1)].width = width
    header = []
    for column in section.columns:
        cell = WriteOnlyCell(sheet, value=column)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    return sheet


def _finish_sheet(sheet: Any, columns: int, rows: int) -> None:
    last = get_column_letter(max(columns, 1))
    sheet.auto_filter.ref = f"A1:{last}{rows + 1}"
    sheet.print_area = f"A1:{last}{rows + 1}"


def _write_section(book: Workbook, section: Section, taken: set[str]) -> None:
    formats = [section.formats.get(c) for c in section.columns]
    names = _sheet_names(section.title, taken)
    rows = _row_lists(section.rows)
    pending = [row for _, row in zip(range(20), rows, strict=False)]
    sheet = _start_sheet(book, next(names), section, pending)
    written = 0

    def all_rows() -> Iterator[list[Any]]:
        yield from pending
        yield from rows

    for values in all_rows():
        if written == SHEET_ROWS:
            _finish_sheet(sheet, len(section.columns), written)
            sheet = _start_sheet(book, next(names), section, pending)
            written = 0
        sheet.append(safe_row(sheet, values, formats))
        written += 1
    _finish_sheet(sheet, len(section.columns), written)


class _StampedZip(zipfile.ZipFile):
    """A zip archive whose every member records `stamp` (zipfile records the time of writing,
    so the same workbook would never give the same bytes)."""

    def __init__(self, handle: BinaryIO, stamp: datetime):
        super().__init__(handle, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._when = max(stamp, FIXED_STAMP).timetuple()[:6]

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._when)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        with (
            open(filename, "rb") as source,
            self.open(self._info(arcname or str(filename)), "w", force_zip64=True) as target,
        ):
            shutil.copyfileobj(source, target, 1 << 20)


def write_workbook(
    handle: BinaryIO, sections: Sequence[Section], *, stamp: datetime | None = None
) -> None:
    """Write `sections`, one sheet each in order, to `handle` (a binary file opened for writing).

    stamp: the time recorded in the workbook's properties and archive (default: a fixed date),
        so that the same inputs give the same bytes.
    """
    stamp = stamp or FIXED_STAMP
    book = Workbook(write_only=True)
    book.properties.created = book.properties.modified = stamp
    taken: set[str] = set()
    try:
        for section in sections:
            _write_section(book, section, taken)
        if not book.worksheets:
            _write_section(book, Section("Summary", ["Item", "Value"], []), taken)
        ExcelWriter(book, _StampedZip(handle, stamp)).save()
    finally:
        # openpyxl streams each sheet through a temporary file, removed once the sheet is in the
        # archive; on a failure part-way it would stay until exit, and the findings list Event
        # References and LA Person IDs, so any left go now.
        for sheet in book.worksheets:
            writer = getattr(sheet, "_writer", None)
            if writer is not None and os.path.exists(writer.out):
                writer.cleanup()
