"""File sources: data held outside the case system (carers' organisations, NHS reablement under
Section 75) as CSV or XLSX, with declared columns and date formats.

    sources:
      reablement:
        file: ../data/s75_reablement.xlsx        # relative to the mapping file's folder
        file_format: {date_format: "%d/%m/%Y", sheet: Episodes}
        key: [episode_id]
        columns: {episode_id: text, nhs_number: text, start_date: date, hours: number}

The first non-blank row is the header. Headers are matched to declared columns ignoring case,
spaces and punctuation ("Start Date" is start_date); other columns are dropped. Cells are
trimmed and a blank cell is missing. Every cell of an integer, number or date column is checked
on read; the error names the file, the row (the line of the CSV, the row number in Excel) and
the column, and never the cell's value, which may be personal data.

The frame returned has exactly the declared columns with the same types as a database extract:
text -> str, integer -> Int64, number -> float64, date -> datetime64.
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zipfile import BadZipFile

import openpyxl
import pyarrow as pa

from cldetl.errors import InputError, UsageError
from cldetl.extract.column_types import arrow_schema, to_frame

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Mapping, Source

MAX_PROBLEMS_SHOWN = 10
CSV_SUFFIXES = (".csv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")


# --- reading -------------------------------------------------------------------------------


def file_path(mapping: Mapping, name: str) -> Path:
    """Where source `name`'s file is: its `file`, relative to the mapping file's folder."""
    source = mapping.sources[name]
    assert source.file is not None
    path = Path(source.file).expanduser()
    if not path.is_absolute():
        base = Path(mapping.path).resolve().parent if mapping.path else Path.cwd()
        path = base / path
    return path


def normalise_header(header: str) -> str:
    """'Start Date ' -> 'start_date': how a file's headers are matched to declared columns."""
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")


def read_file_source(mapping: Mapping, name: str) -> pd.DataFrame:
    """Read and check file source `name`; raises InputError naming file, row and column."""

    source = mapping.source_named(name)
    if source.file is None:
        raise UsageError(f"source {name!r} is a database source ({source.template}), not a file.")
    path = file_path(mapping, name)
    if not path.is_file():
        raise InputError(
            f"{path}: no such file, for source '{name}' (sources.{name}.file is relative to "
            f"the mapping's folder{', ' + str(Path(mapping.path).parent) if mapping.path else ''})."
        )
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        header, rows = _csv_rows(path, source, name)
    elif suffix in XLSX_SUFFIXES:
        header, rows = _xlsx_rows(path, source, name)
    else:
        hint = " (save an .xls workbook as .xlsx)" if suffix == ".xls" else ""
        raise InputError(
            f"{path}: source '{name}' must be a .csv or .xlsx file, not '{suffix or 'no suffix'}'"
            f"{hint}."
        )
    positions = _match_header(path, name, source, header)
    problems: list[str] = []
    count = 0
    arrays = []
    schema = arrow_schema(source.columns)
    columns: dict[str, list[Any]] = {column: [] for column in source.columns}
    for row_number, cells in rows:
        count += 1
        for column, kind in source.columns.items():
            i = positions[column]
            cell = cells[i] if i < len(cells) else None
            try:
                columns[column].append(_CELL[kind](cell, source.file_format.date_format))
            except (ValueError, TypeError, OverflowError) as exc:
                columns[column].append(None)
                problems.append(f"row {row_number}, column {column}: {_problem(kind, exc, source)}")
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise InputError(
            f"{path}: {len(problems)} problem(s) reading source '{name}':\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
            + f"\nCell values are not shown (they may be personal data). Fix the file, or "
            f"sources.{name}.columns / sources.{name}.file_format.date_format in the mapping."
        )
    for column in source.columns:
        arrays.append(pa.array(columns[column], type=schema.field(column).type))
    return to_frame(pa.Table.from_arrays(arrays, schema=schema))


def _match_header(path: Path, name: str, source: Source, header: list[Any]) -> dict[str, int]:
    normalised: dict[str, list[int]] = {}
    for i, cell in enumerate(header):
        if cell is not None and str(cell).strip():
            normalised.setdefault(normalise_header(str(cell)), []).append(i)
    positions, missing = {}, []
    for column in source.columns:
        hits = normalised.get(column.lower(), [])
        if not hits:
            missing.append(column)
        elif len(hits) > 1:
            raise InputError(
                f"{path}: the header has {len(hits)} columns that read as '{column}' (ignoring "
                "case, spaces and punctuation); rename one."
            )
        else:
            positions[column] = hits[0]
    if missing:
        # The cells are not shown: a file without a header row makes its first record the
        # "header", and that record is personal data. Declared names only.
        cells = sum(1 for c in header if c is not None and str(c).strip())
        found = [column for column in source.columns if column in positions]
        raise InputError(
            f"{path}: no column {', '.join(missing)} in the header row, which "
            f"sources.{name}.columns declares; the first row has {cells} non-blank cell(s) "
            f"(not shown: without a header row they would be a record), and matches "
            f"{', '.join(found) or 'none'} of the declared columns. Check the file has a "
            "header row; headers match declared names ignoring case, spaces and punctuation."
        )
    return positions


def _problem(kind: str, exc: Exception, source: Source) -> str:
    if isinstance(exc, _NumberNotDate):
        return "a number, not a date (format the column as dates in the workbook)"
    if kind == "date":
        return f"not a date in {source.file_format.date_format}"
    if kind == "integer":
        return "not a whole number"
    if kind == "number":
        return "not a number"
    return "not readable as text"


# --- CSV -----------------------------------------------------------------------------------


def _csv_rows(path: Path, source: Source, name: str) -> tuple[list[str], Iterator]:
    """The header and (line, cells) of every non-blank record, read eagerly so that encoding
    and CSV errors surface here with their line."""
    encoding = source.file_format.encoding
    records: list[tuple[int, list[str]]] = []
    line = 0
    try:
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.reader(handle)
            header = None
            for record in reader:
                start, line = line + 1, reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if header is None:
                    header = record
                    header_width = len(record)
                    continue
                if len(record) > header_width and any(c.strip() for c in record[header_width:]):
                    raise InputError(
                        f"{path}: row {start} has {len(record)} values but the header has "
                        f"{header_width}; check for an unquoted comma in that row."
                    )
                records.append((start, record))
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: not readable as {encoding} after line {line}; set "
            f"sources.{name}.file_format.encoding (cp1252 for files saved by Excel on Windows)."
        ) from None
    except LookupError:
        raise InputError(
            f"{path}: sources.{name}.file_format.encoding {encoding!r} is not an encoding "
            "Python knows (utf-8-sig, cp1252, latin-1 ...)."
        ) from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV near line {line + 1} ({exc}).") from None
    if header is None:
        raise InputError(f"{path}: the file is empty; it needs a header row and data rows.")
    return header, iter(records)


# --- XLSX ----------------------------------------------------------------------------------


def _xlsx_rows(path: Path, source: Source, name: str) -> tuple[list[Any], Iterator]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl's notes about styles etc.
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (BadZipFile, OSError, KeyError, ValueError) as exc:
            raise InputError(
                f"{path}: not a readable .xlsx workbook ({type(exc).__name__}); open it in "
                "Excel and save it again as .xlsx."
            ) from None
        try:
            sheet_name = source.file_format.sheet
            if sheet_name is None:
                sheet = book.worksheets[0]
            elif sheet_name in book.sheetnames:
                sheet = book[sheet_name]
            else:
                raise InputError(
                    f"{path}: no sheet {sheet_name!r} (sources.{name}.file_format.sheet); the "
                    f"workbook has: {', '.join(book.sheetnames)}."
                )
            rows = sheet.iter_rows(values_only=True)
            header = None
            records = []
            for number, row in enumerate(rows, start=1):
                if header is None:
                    if any(cell is not None and str(cell).strip() for cell in row):
                        header = list(row)
                    continue
                if all(_blank(cell) for cell in row):
                    continue
                records.append((number, list(row)))
        finally:
            book.close()
    if header is None:
        raise InputError(f"{path}: the sheet is empty; it needs a header row and data rows.")
    return header, iter(records)


# --- cells ---------------------------------------------------------------------------------


class _NumberNotDate(ValueError):
    """A spreadsheet number in a date column: Excel did not store it as a date."""


_WHOLE = re.compile(r"[+-]?\d+(\.0*)?")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TIME_SUFFIXES = ("", " %H:%M", " %H:%M:%S")


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _text_cell(cell: Any, _fmt: str) -> str | None:
    if _blank(cell):
        return None
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and math.isfinite(cell) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime) and cell.time() == datetime.min.time():
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def _integer_cell(cell: Any, _fmt: str) -> int | None:
    if _blank(cell):
        return None
    if isinstance(cell, bool):
        raise ValueError
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        if not cell.is_integer():
            raise ValueError
        return int(cell)
    if isinstance(cell, str) and _WHOLE.fullmatch(cell.strip()):
        return int(cell.strip().split(".")[0])
    raise ValueError


def _number_cell(cell: Any, _fmt: str) -> float | None:
    if _blank(cell):
        return None
    if isinstance(cell, bool):
        raise ValueError
    if isinstance(cell, int | float):
        return float(cell)
    if isinstance(cell, str) and _DECIMAL.fullmatch(cell.strip()):
        return float(cell.strip())
    raise ValueError


def _date_cell(cell: Any, fmt: str) -> date | None:
    if _blank(cell):
        return None
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        raise _NumberNotDate
    if isinstance(cell, str):
        text = cell.strip()
        for suffix in _TIME_SUFFIXES:
            try:
                return datetime.strptime(text, fmt + suffix).date()
            except ValueError:
                continue
    raise ValueError


_CELL = {"text": _text_cell, "integer": _integer_cell, "number": _number_cell, "date": _date_cell}
