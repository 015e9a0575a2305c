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
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from cldetl.errors import InputError
from cldetl.spec import load_spec
from cldetl.validate.file_bytes import (
    GZIP_MAGIC,
    UTF8_BOM,
    open_data,
    open_regular,
    read_head,
    record_chunks,
    skip_bytes,
    uncompressed_size,
)
from cldetl.validate.header_row import refuse_non_header, unique_names
from cldetl.validate.records import (
    csv_records,
    py_encoding,
    refuse_long_values,
    scan_records,
    string_mapper,
    without_row_text,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
# Byte order marks of encodings the DLP does not read (longest first: UTF-32 LE starts like
# UTF-16 LE).
WIDE_BOMS = {
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\xfe\xff": "UTF-16",
    b"\xff\xfe": "UTF-16",
}
# How a file is saved, for messages.
SAVE_AS = (
    "Save it from Excel as 'CSV (Comma delimited)', which writes what the DLP asks for "
    "(Windows-1252, CRLF line endings, no byte order mark), not 'CSV UTF-8', whose byte order "
    "mark the DLP rejects; or write the file with `cldetl run`."
)


@dataclass
class CldTable:
    """A CLD file read as text columns, with the physical line each record starts on."""

    path: str
    header: list[str]
    frame: pd.DataFrame
    lines: np.ndarray
    encoding: str
    # What the DLP's file rules look at: a UTF-8 byte order mark, the size read (uncompressed)
    # and, for a .csv.gz, the size on disk. `too_large`: over the DLP's limit, so not read.
    bom: bool = False
    size: int = 0
    gzip_size: int | None = None
    too_large: bool = False
    # Every byte of these rows is ASCII (known when read in batches): no column can hold a
    # character Windows-1252 lacks, so that check is skipped.
    ascii: bool = False

    @property
    def rows(self) -> int:
        return len(self.frame)


def _decode_header(first_line: bytes, path: str) -> tuple[str, str]:
    for encoding in ("utf-8", "cp1252"):
        try:
            return first_line.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: line 1 is neither UTF-8 nor Windows-1252 text. {SAVE_AS}")


def _header_fields(text: str, path: str) -> list[str]:
    if text.count('"') % 2:
        raise InputError(
            f"{path}: line 1, the header, has an unclosed quote (a quoted line break in a "
            "column name?). Each header name is on line 1: remove the line break."
        )
    try:
        names = next(csv.reader([text.rstrip("\r\n")]))
    except (csv.Error, StopIteration):
        raise InputError(
            f"{path}: line 1, the header, cannot be read as CSV (a stray carriage return or "
            f"quote). {SAVE_AS}"
        ) from None
    if len(names) <= 1:
        for delimiter, word in OTHER_DELIMITERS.items():
            if delimiter in text:
                raise InputError(
                    f"{path}: line 1 is separated by {word}s, not commas. CLD files are "
                    f"comma-separated. {SAVE_AS}"
                )
    return [n.strip() for n in names]


def dlp_limits() -> tuple[int, int]:
    """(largest uncompressed file, largest gzip file) the DLP accepts, from the spec data."""

    limits = load_spec().dlp
    return limits["max_bytes"], limits["max_gzip_bytes"]


# How much of the file one batch holds: big enough that Arrow's threads and the checks'
# column operations run on long arrays, small enough that a 4 GB file never sits in memory.
BATCH_BYTES = 32 * 1024 * 1024


class NotUtf8(Exception):  # noqa: N818 (a signal between the reader and its callers)
    """A batch is not UTF-8 although the earlier ones were: read the file again as
    Windows-1252 (a whole-file read makes the same choice for the whole file)."""


@dataclass
class CldStream:
    """A CLD file opened for reading in batches of whole records.

    The header, encoding and the DLP's file facts are known on opening; `batches()` reads the
    rows, a batch at a time, each a `CldTable` with its physical line numbers. Validation holds
    one batch at a time, so memory does not grow with the file. `batches()` can be called
    again (a second pass), and raises `NotUtf8` when the file turns out to be Windows-1252
    past its first batch: call `as_cp1252()` and start again.
    """

    path: str
    header: list[str]
    encoding: str
    bom: bool = False
    size: int = 0
    gzip_size: int | None = None
    too_large: bool = False
    batch_bytes: int = BATCH_BYTES
    body_start: int = 0
    text_encoding: str = "utf8"
    table: CldTable | None = None

    def as_cp1252(self) -> CldStream:

        return replace(self, encoding="cp1252", text_encoding="cp1252")

    def batches(self):
        """The rows, batch by batch (an in-memory table is one batch)."""
        if self.table is not None:
            yield self.table
            return
        if self.too_large:
            return

        for chunk, line, breaks in self.chunks():
            table = self.parse(chunk, line, breaks)
            if table.rows:
                yield table

    def chunks(self):
        """The rows as raw batches (bytes of whole records), each with the physical line it
        starts on and the line breaks it holds: `parse` makes a table of one, and can run in
        another thread (the line numbers are counted here, in file order)."""
        for chunk, _offset, line, breaks in self.spans():
            yield chunk, line, breaks

    def spans(self):
        """As `chunks`, each raw batch also with its offset in the (decompressed) file, so
        that another process can read the same bytes itself (`read_span`)."""

        line = 2  # the header is line 1, on one line
        offset = self.body_start
        with open_data(self.path, self.gzip_size is not None) as handle:
            skip_bytes(handle, self.body_start)
            for chunk in record_chunks(handle, self.batch_bytes):
                breaks = int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == 10))
                # Nothing but line breaks (blank lines): no rows. A chunk longer than twice
                # its line breaks holds something else, without copying it to strip it.
                if len(chunk) > 2 * breaks or bytes(chunk).strip(b"\r\n"):
                    yield chunk, offset, line, breaks
                line += breaks
                offset += len(chunk)

    def read_span(self, offset: int, length: int) -> bytes:
        """The raw bytes `spans` gave at `offset` (a plain file only: gzip cannot seek)."""
        with open_regular(self.path) as handle:
            handle.seek(offset)
            return handle.read(length)

    def parse(self, chunk: bytes, line: int, breaks: int) -> CldTable:
        """One raw batch from `chunks` as a table, its rows numbered from `line`."""

        return self._parse(chunk, unique_names(self.header), line, breaks, np, pa, pacsv)

    def _parse(self, chunk: bytes, names, line: int, breaks: int, np, pa, pacsv) -> CldTable:
        codes = np.frombuffer(chunk, np.uint8)
        ascii = bool(len(chunk)) and int(codes.max()) < 128
        if not ascii and self.text_encoding == "utf8" and not _valid_utf8(chunk):
            # Found before Arrow parses: its invalid-row callback decodes the row as UTF-8 and
            # prints a traceback ("Exception ignored") when it cannot.
            raise NotUtf8
        if np.count_nonzero(codes == 34) % 2:
            # Batches are cut where quotes pair up, so only the last can hold an odd number:
            # a quote opened and never closed (Arrow would read to the end as one value, and
            # has aborted the process on it).
            self._refuse_unclosed_quote(chunk, line)
        invalid: list[int | None] = []

        def on_invalid_row(row) -> str:
            invalid.append(row.number)
            return "skip"

        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=True,
        )
        read = pacsv.ReadOptions(column_names=names, encoding=self.text_encoding)

        def attempt(newlines_in_values: bool):
            invalid.clear()
            parse = pacsv.ParseOptions(
                newlines_in_values=newlines_in_values, invalid_row_handler=on_invalid_row
            )
            return pacsv.read_csv(
                pa.BufferReader(pa.py_buffer(chunk)),
                read_options=read,
                parse_options=parse,
                convert_options=convert,
            )

        table = None
        for newlines_in_values in (False, True):
            try:
                table = attempt(newlines_in_values)
                break
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                message = str(exc)
                if "UTF8" in message or isinstance(exc, UnicodeDecodeError):
                    if self.text_encoding == "utf8":
                        raise NotUtf8 from None
                    raise InputError(
                        f"{self.path}: the file is neither UTF-8 nor Windows-1252 text. {SAVE_AS}"
                    ) from None
                if newlines_in_values:
                    raise InputError(
                        f"{self.path}: cannot be read as CSV ({without_row_text(message)}). "
                        "Check that quotes are balanced and the file is comma-separated."
                    ) from None
        assert table is not None
        if invalid:
            self._refuse_ragged()
        lines = np.arange(line, line + table.num_rows, dtype=np.int64)
        physical = breaks + (0 if chunk[-1:] == b"\n" else 1)
        if physical != table.num_rows:
            # Quoted line breaks or blank lines: count lines the slow, exact way.
            records = scan_records(
                self.path,
                chunk,
                py_encoding(self.text_encoding),
                0,
                header=False,
                offset=line - 1,
            )
            exact = np.asarray([start for start, _ in records], dtype=np.int64)
            if len(exact) == table.num_rows:
                lines = exact
        refuse_long_values(self.path, table, lines)
        frame = table.to_pandas(types_mapper=string_mapper())
        frame.columns = names
        return self.rows_table(frame, lines, ascii=ascii)

    def _refuse_unclosed_quote(self, chunk: bytes, line: int) -> None:
        """InputError naming the line of a quoted value the file ends inside (Python's csv
        module, strict, on this batch only). A quote inside an unquoted value (5'6") is text,
        as Arrow reads it: no error."""
        text = io.TextIOWrapper(
            io.BytesIO(chunk),
            encoding=py_encoding(self.text_encoding),
            errors="replace",
            newline="",
        )
        reader = csv.reader(text, strict=True)
        previous = 0
        try:
            for _record in reader:
                previous = reader.line_num
        except csv.Error as exc:
            if "end of data" in str(exc):
                raise InputError(
                    f"{self.path}: line {line + previous}: a quoted value is never closed (the "
                    "file ends inside it). Close the quote, or remove it, and save the file "
                    "again."
                ) from None

    def rows_table(self, frame, lines, *, ascii: bool = False) -> CldTable:
        """Rows of this file as a `CldTable` carrying the file's facts (encoding, BOM, sizes).

        One place builds it, so a batch and the joined batches cannot disagree on those facts.
        """
        return CldTable(
            path=self.path,
            header=self.header,
            frame=frame,
            lines=lines,
            encoding=self.encoding,
            bom=self.bom,
            size=self.size,
            gzip_size=self.gzip_size,
            too_large=self.too_large,
            ascii=ascii,
        )

    def _refuse_ragged(self) -> None:
        """Rows with the wrong number of fields: name them all, from one scan of the file."""
        with open_data(self.path, self.gzip_size is not None) as handle:
            skip_bytes(handle, 3 if self.bom else 0)
            text = io.TextIOWrapper(
                handle, encoding=py_encoding(self.text_encoding), errors="replace", newline=""
            )
            width = len(self.header)
            bad = [
                start
                for start, n in csv_records(self.path, csv.reader(text), header=True)
                if n != width
            ]
        listed = ", ".join(str(n) for n in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise InputError(
            f"{self.path}: {len(bad)} row(s) do not have {len(self.header)} fields like the "
            f"header (lines {listed}). Check for unquoted commas in values, or rows cut short."
        )


def open_cld_csv(path: str | Path, batch_bytes: int = BATCH_BYTES) -> CldStream:
    """Open a CLD CSV file (or a gzipped one, .csv.gz) for reading in batches. Raises
    InputError when the header or the start of the file shows it cannot be read as a CLD
    table; a problem further on is raised when its batch is read. A file over the DLP's size
    limit is not read: `too_large` is set, and validation reports the size."""
    path = str(path)
    max_bytes, _ = dlp_limits()
    with open_regular(path) as handle:
        on_disk = os.fstat(handle.fileno()).st_size
        magic = handle.read(2)
        handle.seek(0)
        gzip_size = None
        if magic == GZIP_MAGIC:
            gzip_size = on_disk
            size = uncompressed_size(path, handle, max_bytes)
            handle.seek(0)
        else:
            size = on_disk
        if size > max_bytes:
            with open_data(path, gzip_size is not None) as data:
                start = data.read(4096)
            return CldStream(
                path=path,
                header=[],
                encoding="utf-8",
                bom=start[:3] == UTF8_BOM,
                size=size,
                gzip_size=gzip_size,
                too_large=True,
            )
        if not size:
            raise InputError(f"{path}: the file is empty (0 bytes).")
        with open_data(path, gzip_size is not None) as data:
            head = read_head(data)
            _refuse_unreadable_text(path, head)
            skip = len(UTF8_BOM) if head[:3] == UTF8_BOM else 0
            end = head.find(b"\n", skip)
            first = head[skip:] if end < 0 else head[skip:end]
            if not first.strip():
                raise InputError(f"{path}: line 1 is blank; a CLD file starts with its header row.")
            header_text, encoding = _decode_header(first, path)
            header = _header_fields(header_text, path)
            body_start = len(head) if end < 0 else end + 1
            refuse_non_header(path, header, head, body_start)
            _refuse_no_rows(path, data, head, body_start)
    return CldStream(
        path=path,
        header=header,
        encoding=encoding,
        bom=skip > 0,
        size=size,
        gzip_size=gzip_size,
        batch_bytes=batch_bytes,
        body_start=body_start,
    )


def _refuse_no_rows(path: str, data, head: bytes, body_start: int) -> None:
    """A header and nothing but blank lines after it (usually answered by the head alone)."""
    pattern = re.compile(rb"\S")
    if pattern.search(head, body_start) is not None:
        return
    while block := data.read(1 << 24):
        if pattern.search(block) is not None:
            return
    raise InputError(f"{path}: the file has a header but no data rows.")


def read_cld_csv(path: str | Path, batch_bytes: int = BATCH_BYTES) -> CldTable:
    """Read a whole CLD CSV file (or a gzipped one, .csv.gz) into one table. Raises InputError
    when the file cannot be read as a table. A file over the DLP's size limit is not read: the
    table comes back empty with `too_large` set, and validation reports the size.

    For checking a large file, `cldetl.validate.validate(path)` reads it in batches instead."""
    stream = open_cld_csv(path, batch_bytes)
    try:
        return stream_table(stream)
    except NotUtf8:
        return stream_table(stream.as_cp1252())


def stream_table(stream: CldStream) -> CldTable:
    """Every batch of `stream` in one table."""

    if stream.too_large:
        return _too_large(stream.path, stream.bom, stream.size, stream.gzip_size, np)
    parts = list(stream.batches())
    names = unique_names(stream.header)
    if not parts:
        frame = pd.DataFrame({n: pd.Series(dtype="string[pyarrow]") for n in names})
        frame.columns = names
    elif len(parts) == 1:
        frame = parts[0].frame
    else:
        frame = pd.concat([p.frame for p in parts], ignore_index=True)
        frame.columns = names
    lines = np.concatenate([p.lines for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    return stream.rows_table(frame, lines)


def _too_large(path: str, bom: bool, size: int, gzip_size: int | None, np) -> CldTable:

    return CldTable(
        path=path,
        header=[],
        frame=pd.DataFrame(),
        lines=np.zeros(0, dtype=np.int64),
        encoding="utf-8",
        bom=bom,
        size=size,
        gzip_size=gzip_size,
        too_large=True,
    )


def _refuse_unreadable_text(path: str, data: bytes) -> None:
    """Files the reader refuses before parsing, each with what to do about it."""
    for bom, name in WIDE_BOMS.items():
        if data.startswith(bom):
            raise InputError(
                f"{path}: the file is {name} text, which the DLP does not read. {SAVE_AS}"
            )
    if b"\x00" in data[:65536]:
        raise InputError(
            f"{path}: the file holds NUL bytes near its start, so it is not CSV text (perhaps "
            f"UTF-16 or UTF-32 without a byte order mark, or a spreadsheet). {SAVE_AS}"
        )
    if b"\n" not in data and b"\r" in data:
        raise InputError(
            f"{path}: lines end with a carriage return only (an old Mac format); the DLP asks "
            f"for CRLF. {SAVE_AS}"
        )


def _valid_utf8(chunk) -> bool:
    """Whether `chunk` is UTF-8 text, checked by Arrow without a copy or a Python string."""
    offsets = pa.py_buffer(np.array([0, len(chunk)], dtype=np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(chunk)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def table_from_frame(frame: pd.DataFrame, path: str) -> CldTable:
    """An in-memory CLD table (a transform's output) as the validator reads one from disk."""

    text = frame.astype(pd.StringDtype("pyarrow")).fillna("")
    return CldTable(
        path=path,
        header=list(text.columns),
        frame=text.reset_index(drop=True),
        lines=np.arange(2, len(text) + 2, dtype=np.int64),
        encoding="utf-8",
    )
