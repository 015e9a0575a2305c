"""Writing the CLD return as NHS England's Data Landing Portal (DLP) accepts it.

The DLP data sender user guide ("General information") asks for Windows-1252 text, no byte
order mark, CSV or gzip. So the return is written in Windows-1252 by default, with CRLF line
endings (what Excel writes and the DLP expects), quotes only around values that need them (a
comma, a quote or a line break) and blanks as empty fields.

A character Windows-1252 has no byte for (a Polish 'ł', a Chinese name) is never silently
replaced by '?': it is a finding naming the line and column, never the value. A mapping may
choose a named transliteration instead (`nfkd-latin`: Unicode NFKD decomposition, combining
marks dropped, plus the small explicit table below), reported as a warning with its count;
what transliteration cannot reach (Chinese characters) stays a finding.

`utf-8` is there for an authority whose DSCRO agreed to it.
"""

from __future__ import annotations

import gzip
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd
    import pyarrow as pa

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldetl.publish.write import create_file
from cldetl.validate.cp1252 import NOT_CP1252_PATTERN, outside_cp1252
from cldetl.validate.findings import FINDING_COLUMNS

# Rules only writing gives (dlp.not_cp1252 is also a validator check of UTF-8 files).
WRITER_ONLY_RULES = ("dlp.transliterated",)
ENCODINGS = {"windows-1252": "cp1252", "utf-8": "utf-8"}
TRANSLITERATIONS = ("none", "nfkd-latin")

# Letters NFKD does not decompose into a base letter plus marks, spelled as Latin text.
LATIN_TABLE = {
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ħ": "h",
    "Ħ": "H",
    "ı": "i",
    "ŀ": "l",
    "Ŀ": "L",
    "ŉ": "'n",
    "ŋ": "ng",
    "Ŋ": "NG",
    "ſ": "s",
    "ŧ": "t",
    "Ŧ": "T",
    "ə": "e",
    "Ə": "E",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "−": "-",
}


def transliterate(value: str, scheme: str) -> str:
    """`value` with characters outside Windows-1252 spelled in Latin letters where the scheme
    knows how; characters it cannot reach are left as they are (and stay a finding)."""
    if scheme != "nfkd-latin":
        return value

    def one(char: str) -> str:
        if char in LATIN_TABLE:
            return LATIN_TABLE[char]
        parts = unicodedata.normalize("NFKD", char)
        base = "".join(p for p in parts if not unicodedata.combining(p))
        return base if base and not NOT_CP1252_PATTERN.search(base) else char

    return NOT_CP1252_PATTERN.sub(lambda m: one(m.group()), value)


@dataclass
class PortalFile:
    """What writing the return did: where, how, and every character it could not carry."""

    path: Path
    rows: int
    encoding: str
    gzip: bool
    transliteration: str
    # (line, column) of each value holding a character the encoding cannot carry.
    unencodable: list[tuple[int, str]]
    transliterated: int

    def findings(self):
        """The writer's findings in the validator's finding table shape."""

        rows = [
            {
                "line": line,
                "column": column,
                "rule": "dlp.not_cp1252",
                "severity": "error",
                "value": None,
                "message": f"{column} holds a character Windows-1252 cannot carry, so the file "
                "cannot be written as the DLP reads it. Correct the name in the case system, or "
                "choose `output: {transliteration: nfkd-latin}` in the mapping.",
            }
            for line, column in self.unencodable
        ]
        if self.transliterated:
            rows.append(
                {
                    "line": None,
                    "column": None,
                    "rule": "dlp.transliterated",
                    "severity": "warning",
                    "value": None,
                    "message": f"{self.transliterated} value(s) spelled in Latin letters "
                    f"({self.transliteration}) so that Windows-1252 can carry them.",
                }
            )
        frame = pd.DataFrame(rows, columns=FINDING_COLUMNS)
        return frame.astype({"line": "Int64"})


# Python's csv module with QUOTE_MINIMAL quotes a field holding the delimiter, the quote or a
# line break, doubling its quotes; `csv_bytes` does the same a column at a time in Arrow.
NEEDS_QUOTES = '[",\r\n]'
_QUOTE_BYTES = (b",", b'"', b"\r", b"\n")


def _text_bytes(values: pa.Array) -> bytes:
    """The UTF-8 bytes of every value of a string array, end to end (one copy, no Python
    object per value): what a whole-column test for a character needs."""

    _, offsets, data = values.buffers()
    if data is None or not len(values):
        return b""
    width = np.int64 if values.type == pa.large_string() else np.int32
    bounds = np.frombuffer(offsets, dtype=width)[values.offset : values.offset + len(values) + 1]
    return memoryview(data)[int(bounds[0]) : int(bounds[-1])].tobytes()


def _scan(values: pa.Array) -> tuple[bool, bool]:
    """Whether a column is all ASCII, and whether any value needs quotes: one pass over its
    bytes."""
    text = _text_bytes(values)
    return text.isascii(), any(q in text for q in _QUOTE_BYTES)


def _text_table(text: pd.DataFrame) -> list[pa.Array]:
    """The frame's columns (text, no missing values) as one Arrow large_string array each."""

    table = pa.Table.from_pandas(text, preserve_index=False)
    table = table.cast(pa.schema([pa.field(n, pa.large_string()) for n in table.column_names]))
    return [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in table.columns]


def _quoted(values: pa.Array) -> pa.Array:
    """Values holding a comma, a quote or a line break in quotes, their quotes doubled. A
    column of few distinct values (a defined list) is quoted once per distinct value."""

    if len(values) > 1000:
        encoded = pc.dictionary_encode(values)
        if 2 * len(encoded.dictionary) < len(values):
            return _quoted(encoded.dictionary).take(encoded.indices)
    needs = pc.match_substring_regex(values, NEEDS_QUOTES)
    quote, empty = pa.scalar('"', values.type), pa.scalar("", values.type)
    doubled = pc.replace_substring(values, '"', '""')
    return pc.if_else(needs, pc.binary_join_element_wise(quote, doubled, quote, empty), values)


def csv_bytes(
    names: list,
    columns: list[pa.Array],
    rows_per_chunk: int = 100_000,
    needs_quotes: list[bool] | None = None,
) -> Iterator[bytes | memoryview]:
    """The columns (Arrow text, no missing values) as CSV in UTF-8, in chunks: a header, then
    one line per row, each ending CRLF; a field is quoted only when it needs it, as
    `csv.QUOTE_MINIMAL` does. Columnar: a column is searched for characters that need quotes
    once, as bytes, and each chunk's lines are joined in Arrow and handed over as one buffer,
    never as a Python object per value."""

    header = _quoted(pa.array([str(c) for c in names], pa.large_string())).to_pylist()
    yield (",".join(header) + "\r\n").encode("utf-8")
    if not columns or not len(columns[0]):
        return
    if needs_quotes is None:
        needs_quotes = [_scan(c)[1] for c in columns]
    columns = [_quoted(c) if quote else c for c, quote in zip(columns, needs_quotes, strict=True)]
    comma, crlf = pa.scalar(",", pa.large_string()), pa.scalar("\r\n", pa.large_string())
    empty = pa.scalar("", pa.large_string())
    for start in range(0, len(columns[0]), rows_per_chunk):
        part = [c.slice(start, rows_per_chunk) for c in columns]
        part[-1] = pc.binary_join_element_wise(part[-1], crlf, empty)
        lines = pc.binary_join_element_wise(*part, comma) if len(part) > 1 else part[0]
        _, offsets, data = lines.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int64)[
            lines.offset : lines.offset + len(lines) + 1
        ]
        yield memoryview(data)[int(bounds[0]) : int(bounds[-1])]


def portal_file_name(name: str, use_gzip: bool) -> str:
    return name + ".gz" if use_gzip and not name.endswith(".gz") else name


def write_portal_csv(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    encoding: str = "windows-1252",
    transliteration: str = "none",
    use_gzip: bool = False,
    rows_per_chunk: int = 100_000,
) -> PortalFile:
    """Write the CLD return for the DLP: Windows-1252 (or UTF-8), CRLF, minimal quoting,
    blanks as empty fields, no BOM, optionally gzip. The file is created owner-only (0600).

    Values the encoding cannot carry are written with '?' in place of the character and each
    is returned as a finding (an error), so the run fails and says where; never silently.
    Nearly every column is ASCII, which Windows-1252 carries byte for byte: only the others
    are searched for characters it cannot carry, and only their chunks are re-encoded.
    """

    if encoding not in ENCODINGS:
        raise ValueError(f"encoding {encoding!r}: choose one of {', '.join(ENCODINGS)}")
    if transliteration not in TRANSLITERATIONS:
        raise ValueError(
            f"transliteration {transliteration!r}: choose one of {', '.join(TRANSLITERATIONS)}"
        )
    text = frame.astype("string").fillna("")
    columns = _text_table(text)
    scanned = [_scan(c) for c in columns]
    ascii_only = [ascii for ascii, _ in scanned]
    unencodable: list[tuple[int, str]] = []
    transliterated = 0
    if ENCODINGS[encoding] == "cp1252" and len(text) and not all(ascii_only):
        lines = None
        for i, name in enumerate(text.columns):
            if ascii_only[i]:
                continue
            bad = outside_cp1252(text[name])
            if not bad.any():
                continue
            column = text[name].astype(object)
            if transliteration != "none":
                fixed = {v: transliterate(v, transliteration) for v in column[bad].unique()}
                changed = column[bad].map(fixed).ne(column[bad])
                transliterated += int(changed.sum())
                column = column.where(~bad, column.map(fixed))
                bad = outside_cp1252(column.astype("string"))
            if bad.any() and lines is None:
                # The physical line of each row: 2 for the first, plus line breaks in
                # earlier rows (counted only when there is something to report).
                breaks = np.zeros(len(text), dtype=np.int64)
                for other in text.columns:
                    breaks += text[other].str.count("\n").fillna(0).to_numpy(dtype=np.int64)
                lines = 2 + np.arange(len(text)) + np.concatenate([[0], np.cumsum(breaks)[:-1]])
            if bad.any():
                for line in lines[bad.to_numpy()]:
                    unencodable.append((int(line), name))
            text[name] = column.astype("string")
            (columns[i],) = _text_table(text[[name]])
            scanned[i] = _scan(columns[i])
    unencodable.sort()
    # ASCII is the same bytes in Windows-1252 and UTF-8: only other text is re-encoded (the
    # header always: it is one line).
    codec = ENCODINGS[encoding]
    recode = codec != "utf-8" and not all(ascii_only)
    out = Path(path)
    fd = create_file(out, new=False)
    with os.fdopen(fd, "wb") as raw:
        target = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if use_gzip else raw
        try:
            quotes = [quote for _, quote in scanned]
            chunks = csv_bytes(list(text.columns), columns, rows_per_chunk, quotes)
            header = next(chunks)
            target.write(header.decode("utf-8").encode(codec, errors="replace"))
            for chunk in chunks:
                if recode:
                    chunk = bytes(chunk).decode("utf-8").encode(codec, errors="replace")
                target.write(chunk)
        finally:
            if use_gzip:
                target.close()
    return PortalFile(
        path=out,
        rows=len(text),
        encoding=encoding,
        gzip=use_gzip,
        transliteration=transliteration,
        unencodable=unencodable,
        transliterated=transliterated,
    )
