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
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

FILE_MODE = 0o600
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


def _cp1252_characters() -> str:
    """Every character Windows-1252 can carry (the five undefined bytes left out)."""
    chars = []
    for byte in range(256):
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            continue
    return "".join(chars)


CP1252_CHARACTERS = _cp1252_characters()
# RE2 and Python both read this: any character outside Windows-1252.
NOT_CP1252 = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in CP1252_CHARACTERS) + "]"
_NOT_CP1252_PY = re.compile("[^" + re.escape(CP1252_CHARACTERS) + "]")


def outside_cp1252(column: pd.Series) -> pd.Series:
    """Which values hold a character Windows-1252 cannot carry (columnar, in Arrow)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(column, type=pa.string())  # zero-copy for Arrow-backed text
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array(column.astype(object).to_numpy(), type=pa.string())
    array = pc.fill_null(array, "")
    # Nearly every value is ASCII, which Windows-1252 carries: test the rest only.
    if pc.all(pc.string_is_ascii(array)).as_py() is not False:
        return pd.Series(False, index=column.index)
    found = pc.match_substring_regex(array, NOT_CP1252).to_numpy(zero_copy_only=False)
    return pd.Series(found, index=column.index)


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
        return base if base and not _NOT_CP1252_PY.search(base) else char

    return _NOT_CP1252_PY.sub(lambda m: one(m.group()), value)


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
        import pandas as pd

        from cldetl.findings import FINDING_COLUMNS

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
# line break, doubling its quotes; `csv_lines` does the same a column at a time in Arrow.
NEEDS_QUOTES = '[",\r\n]'


def csv_lines(text: pd.DataFrame, rows_per_chunk: int = 100_000) -> Iterator[str]:
    """The frame (text columns, no missing values) as CSV text in chunks: a header, then one
    line per row, each ending CRLF; a field is quoted only when it needs it, as
    `csv.QUOTE_MINIMAL` does. Columnar: about ten times faster than pandas' `to_csv`, which
    runs Python's csv writer row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def quoted(values: pa.Array) -> pa.Array:
        needs = pc.match_substring_regex(values, NEEDS_QUOTES)
        escaped = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
        return pc.if_else(needs, escaped, values)

    header = quoted(pa.array([str(c) for c in text.columns], pa.string())).to_pylist()
    yield ",".join(header) + "\r\n"
    table = pa.Table.from_pandas(text, preserve_index=False)
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    for start in range(0, table.num_rows, rows_per_chunk):
        part = table.slice(start, rows_per_chunk).combine_chunks()
        columns = [quoted(pc.fill_null(column, "")) for column in part.columns]
        lines = pc.binary_join_element_wise(*columns, ",") if len(columns) > 1 else columns[0]
        yield "\r\n".join(lines.to_pylist()) + "\r\n"


def portal_file_name(name: str, use_gzip: bool) -> str:
    return name + ".gz" if use_gzip and not name.endswith(".gz") else name


def write_portal_csv(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    encoding: str = "windows-1252",
    transliteration: str = "none",
    use_gzip: bool = False,
) -> PortalFile:
    """Write the CLD return for the DLP: Windows-1252 (or UTF-8), CRLF, minimal quoting,
    blanks as empty fields, no BOM, optionally gzip. The file is created owner-only (0600).

    Values the encoding cannot carry are written with '?' in place of the character and each
    is returned as a finding (an error), so the run fails and says where; never silently.
    """
    import numpy as np

    if encoding not in ENCODINGS:
        raise ValueError(f"encoding {encoding!r}: choose one of {', '.join(ENCODINGS)}")
    if transliteration not in TRANSLITERATIONS:
        raise ValueError(
            f"transliteration {transliteration!r}: choose one of {', '.join(TRANSLITERATIONS)}"
        )
    text = frame.astype("string").fillna("")
    unencodable: list[tuple[int, str]] = []
    transliterated = 0
    if ENCODINGS[encoding] == "cp1252" and len(text):
        # The physical line of each row: 2 for the first, plus line breaks in earlier rows.
        breaks = np.zeros(len(text), dtype=np.int64)
        for name in text.columns:
            breaks += text[name].str.count("\n").fillna(0).to_numpy(dtype=np.int64)
        lines = 2 + np.arange(len(text)) + np.concatenate([[0], np.cumsum(breaks)[:-1]])
        for name in text.columns:
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
            for line in lines[bad.to_numpy()]:
                unencodable.append((int(line), name))
            text[name] = column.astype("string")
    unencodable.sort()
    out = Path(path)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as raw:
        target = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if use_gzip else raw
        try:
            for chunk in csv_lines(text):
                target.write(chunk.encode(ENCODINGS[encoding], errors="replace"))
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
