"""Reading a CLD CSV as LAs save it: UTF-8 (with or without Excel's BOM) or Windows-1252, CRLF
or LF, every value kept as the exact text submitted.

The national check is on text, so nothing is converted on read: each column is a string column
with blanks as ''. A file that cannot be read as a table is an InputError that says which
problem it has (encoding, empty, delimiter, ragged rows) and on which lines, never a traceback
and never a row's content (CLD rows hold personal data).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cldetl.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

UTF8_BOM = b"\xef\xbb\xbf"
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class CldTable:
    """A CLD file read as text columns, with the physical line each record starts on."""

    path: str
    header: list[str]
    frame: pd.DataFrame
    lines: np.ndarray
    encoding: str

    @property
    def rows(self) -> int:
        return len(self.frame)


def _decode_header(first_line: bytes, path: str) -> tuple[str, str]:
    for encoding in ("utf-8", "cp1252"):
        try:
            return first_line.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError(
        f"{path}: line 1 is neither UTF-8 nor Windows-1252 text. Save the file from Excel as "
        "'CSV UTF-8 (Comma delimited)'."
    )


def _header_fields(text: str, path: str) -> list[str]:
    names = next(csv.reader([text.rstrip("\r\n")]))
    if len(names) <= 1:
        for delimiter, word in OTHER_DELIMITERS.items():
            if delimiter in text:
                raise InputError(
                    f"{path}: line 1 is separated by {word}s, not commas. CLD files are "
                    "comma-separated: save as 'CSV UTF-8 (Comma delimited)'."
                )
    return [n.strip() for n in names]


def _unique_names(header: list[str]) -> list[str]:
    """Column names for reading: a repeated header gets a suffix so no column is lost."""
    seen: dict[str, int] = {}
    names = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def _scan_records(data: bytes, text_encoding: str, skip: int) -> list[tuple[int, int]]:
    """(physical start line, field count) of every data record, by a full CSV parse: the slow,
    exact path, taken only for files with quoted line breaks, blank lines or ragged rows."""
    text = io.TextIOWrapper(io.BytesIO(data[skip:]), encoding=text_encoding, newline="")
    reader = csv.reader(text)
    records = []
    previous = 0
    for record in reader:
        start = previous + 1
        previous = reader.line_num
        if start == 1 or record == []:
            continue
        records.append((start, len(record)))
    return records


def _record_lines(data: bytes, text_encoding: str, skip: int) -> list[int]:
    return [start for start, _ in _scan_records(data, text_encoding, skip)]


def _ragged_lines(data: bytes, text_encoding: str, skip: int, width: int) -> list[int]:
    return [start for start, n in _scan_records(data, text_encoding, skip) if n != width]


def read_cld_csv(path: str | Path) -> CldTable:
    """Read a CLD CSV file. Raises InputError when the file cannot be read as a table."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = str(path)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file. Check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a CSV file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be opened ({exc.strerror}).") from None
    with handle:
        # One read into memory: simpler and safer than a memory map (Arrow keeps views of the
        # buffer alive in its errors), and the file is needed whole anyway.
        data = handle.read()
    if not data:
        raise InputError(f"{path}: the file is empty (0 bytes).")
    return _read(path, data, np, pa, pacsv)


def _read(path, data, np, pa, pacsv) -> CldTable:
    skip = len(UTF8_BOM) if data[:3] == UTF8_BOM else 0
    end = data.find(b"\n", skip)
    first = data[skip:] if end < 0 else data[skip:end]
    if not first.strip():
        raise InputError(f"{path}: line 1 is blank; a CLD file starts with its header row.")
    header_text, encoding = _decode_header(first, path)
    header = _header_fields(header_text, path)
    body_start = len(data) if end < 0 else end + 1
    if re.compile(rb"\S").search(data, body_start) is None:
        raise InputError(f"{path}: the file has a header but no data rows.")

    invalid: list[tuple[int | None, int, int]] = []

    def on_invalid_row(row) -> str:
        invalid.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    names = _unique_names(header)
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        check_utf8=True,
    )

    def attempt(text_encoding: str, newlines_in_values: bool):
        invalid.clear()
        read = pacsv.ReadOptions(
            column_names=names,
            skip_rows=1,
            encoding=text_encoding,
        )
        parse = pacsv.ParseOptions(
            newlines_in_values=newlines_in_values, invalid_row_handler=on_invalid_row
        )
        source = pa.BufferReader(pa.py_buffer(data)[skip:])
        return pacsv.read_csv(
            source, read_options=read, parse_options=parse, convert_options=convert
        )

    text_encoding = "utf8"
    newlines_in_values = False
    table = None
    for _ in range(3):
        try:
            table = attempt(text_encoding, newlines_in_values)
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            message = str(exc)
            if (
                "UTF8" in message or isinstance(exc, UnicodeDecodeError)
            ) and text_encoding == "utf8":
                text_encoding = "cp1252"
                encoding = "cp1252"
                continue
            if "UTF8" in message or isinstance(exc, UnicodeDecodeError):
                raise InputError(
                    f"{path}: the file is neither UTF-8 nor Windows-1252 text. Save it from Excel "
                    "as 'CSV UTF-8 (Comma delimited)'."
                ) from None
            if not newlines_in_values:
                newlines_in_values = True
                continue
            raise InputError(
                f"{path}: cannot be read as CSV ({_without_row_text(message)}). Check that "
                "quotes are balanced and the file is comma-separated."
            ) from None
    assert table is not None

    if invalid:
        bad = _ragged_lines(data, _py_encoding(text_encoding), skip, len(header))
        shown = ", ".join(str(n) for n in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise InputError(
            f"{path}: {len(bad)} row(s) do not have {len(header)} fields like the header "
            f"(lines {shown}). Check for unquoted commas in values, or rows cut short."
        )
    frame = table.to_pandas(types_mapper=_string_mapper())
    frame.columns = names
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    if _physical_lines(np, data, skip) != len(frame) + 1:
        # Quoted line breaks or blank lines: count lines the slow, exact way.
        exact = np.asarray(_record_lines(data, _py_encoding(text_encoding), skip), dtype=np.int64)
        if len(exact) == len(frame):
            lines = exact
    return CldTable(path=path, header=header, frame=frame, lines=lines, encoding=encoding)


def _physical_lines(np, data: bytes, skip: int) -> int:
    """Lines in the file (a last line without a line break counts)."""
    breaks = data.count(b"\n", skip)
    return breaks + (1 if len(data) > skip and data[-1:] != b"\n" else 0)


def _py_encoding(arrow_encoding: str) -> str:
    return "utf-8" if arrow_encoding == "utf8" else arrow_encoding


def _string_mapper():
    import pandas as pd
    import pyarrow as pa

    dtype = pd.StringDtype("pyarrow")
    return {pa.string(): dtype, pa.large_string(): dtype}.get


def _without_row_text(message: str) -> str:
    """Arrow's parse errors quote the offending row; keep only the part without personal data."""
    return message.split(":")[0].strip() if ":" in message else message


def table_from_frame(frame: pd.DataFrame, path: str) -> CldTable:
    """An in-memory CLD table (a transform's output) as the validator reads one from disk."""
    import numpy as np
    import pandas as pd

    text = frame.astype(pd.StringDtype("pyarrow")).fillna("")
    return CldTable(
        path=path,
        header=list(text.columns),
        frame=text.reset_index(drop=True),
        lines=np.arange(2, len(text) + 2, dtype=np.int64),
        encoding="utf-8",
    )
