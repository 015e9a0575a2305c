"""CSV records of a CLD file the exact, slow way (Python's csv module), for what Arrow's fast
reader does not say: the physical line each record starts on (quoted line breaks, blank lines),
rows with the wrong number of fields, and values too long to be a CLD value. Messages never
quote a row (CLD rows hold personal data)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldetl.display import shown
from cldetl.errors import InputError

# The longest value read (a CLD value is a code, a date, a name or a short description).
MAX_FIELD_CHARS = 131_072


def scan_records(
    path: str, data: bytes, text_encoding: str, skip: int, header: bool = True, offset: int = 0
) -> list[tuple[int, int]]:
    """(physical start line, field count) of every data record, by a full CSV parse: the slow,
    exact path, taken only for batches with quoted line breaks or blank lines.

    Bytes that do not decode are replaced: only the structure (quotes, commas, line breaks,
    the same bytes in UTF-8 and Windows-1252) matters here."""
    text = io.TextIOWrapper(
        io.BytesIO(data[skip:]), encoding=text_encoding, errors="replace", newline=""
    )
    return list(csv_records(path, csv.reader(text), header=header, offset=offset))


def csv_records(path: str, reader, header: bool, offset: int = 0):
    """(start line, field count) of each record `reader` reads, the header (line 1) left
    out when `header`, blank lines skipped. `offset`: lines before the text read."""
    previous = 0
    try:
        for record in reader:
            start = previous + 1
            previous = reader.line_num
            if (header and start == 1) or record == []:
                continue
            yield start + offset, len(record)
    except csv.Error as exc:
        if "field larger" in str(exc):
            raise InputError(
                f"{path}: line {offset + previous + 1}: a value is longer than {MAX_FIELD_CHARS:,} "
                "characters, the most cldetl reads in one field (an unclosed quote?)."
            ) from None
        raise InputError(
            f"{path}: line {offset + previous + 1} cannot be read as CSV "
            f"({without_row_text(str(exc))})."
        ) from None


def refuse_long_values(path: str, table, lines) -> None:
    """No value over MAX_FIELD_CHARS: the limit on one field, the same on every read path."""

    for name, column in zip(table.column_names, table.columns, strict=True):
        # Bytes first (cheap): a value of at most MAX_FIELD_CHARS bytes is short enough.
        if len(column) == 0 or (pc.max(pc.binary_length(column)).as_py() or 0) <= MAX_FIELD_CHARS:
            continue
        longest = pc.max(pc.utf8_length(column)).as_py()
        if longest is not None and longest > MAX_FIELD_CHARS:
            at = int(np.argmax(pc.utf8_length(column).to_numpy(zero_copy_only=False)))
            raise InputError(
                f"{path}: line {int(lines[at])}, column {shown(name)}: a value of "
                f"{longest:,} characters; cldetl reads at most {MAX_FIELD_CHARS:,} in one field "
                "(an unclosed quote?)."
            )


def py_encoding(arrow_encoding: str) -> str:
    return "utf-8" if arrow_encoding == "utf8" else arrow_encoding


def string_mapper():

    dtype = pd.StringDtype("pyarrow")
    return {pa.string(): dtype, pa.large_string(): dtype}.get


def without_row_text(message: str) -> str:
    """Arrow's parse errors quote the offending row; keep only the part without personal data."""
    return message.split(":")[0].strip() if ":" in message else message
