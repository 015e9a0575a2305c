"""What NHS England's Data Landing Portal (DLP) rejects, whatever the CLD specification says:
a UTF-8 byte order mark, a value starting with a spreadsheet formula character, a file over
the size limit, and (in a UTF-8 file) characters Windows-1252 cannot carry, which the portal
reads as Windows-1252; and it asks for CRLF line endings (LF only is a warning). Source: the
DLP data sender user guide, General information. The limits are spec data (`dlp:` in release2.yaml).
"""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldetl.validate import csvfile
from cldetl.validate.checks.context import CheckContext
from cldetl.validate.cp1252 import NOT_CP1252

FIX_BOM = (
    "The file starts with a UTF-8 byte order mark (BOM); the DLP reads it as part of the first "
    f"column name and fails the submission. {csvfile.SAVE_AS}"
)
FIX_LF = (
    "Lines end with LF only (as Linux and macOS tools write), not CRLF, which the DLP data "
    f"sender user guide asks for. {csvfile.SAVE_AS}"
)
# How far into the file the header's line ending is looked for (a header is ~900 bytes).
HEADER_BYTES = 1 << 16


def _arrow(column):
    """A pandas string column as an Arrow array, without a copy where pandas allows it."""

    array = column.array
    if hasattr(array, "__arrow_array__"):
        return array.__arrow_array__()
    return pa.array(column.astype(object).fillna("").to_numpy(), type=pa.string())


def _mask(found, index):

    return pd.Series(found.to_numpy(zero_copy_only=False), index=index).fillna(False).astype(bool)


def check_file(ctx: CheckContext) -> None:
    """What the DLP sees of the file as a whole: its byte order mark and its size."""
    if ctx.table.bom:
        ctx.sink.file("dlp.bom", FIX_BOM, line=1)
    if _ends_lines_with_lf(ctx.table):
        ctx.sink.file("dlp.line_endings", FIX_LF, line=1)
    _size(ctx)


def _ends_lines_with_lf(table) -> bool:
    """Whether the file's first line (the header) ends in a bare LF. Only the header is
    looked at: Excel writes a line break inside a quoted value as LF in a CRLF file, so later
    bare LFs prove nothing. An in-memory table (`cldetl run`'s, size 0: the writer writes CRLF)
    is not looked at."""
    if not table.size or table.too_large:
        return False
    opener = gzip.open if table.gzip_size is not None else open
    with opener(table.path, "rb") as handle:
        start = handle.read(HEADER_BYTES)
    end = start.find(b"\n")
    return end >= 0 and start[end - 1 : end] != b"\r"


def check(ctx: CheckContext) -> None:
    """The values of one batch of rows (`check_file` has looked at the file)."""
    table = ctx.table
    if table.too_large:
        return
    _leading_characters(ctx, ctx.spec.dlp)
    if table.encoding == "utf-8" and table.size and not table.ascii:
        # Read from a UTF-8 file (the in-memory table of `cldetl run` is checked by the
        # writer, in the encoding it writes).
        _not_cp1252(ctx)


def _size(ctx: CheckContext) -> None:

    table = ctx.table
    max_bytes, max_gzip = csvfile.dlp_limits()  # looked up when called: tests patch it
    if table.gzip_size is not None and table.gzip_size > max_gzip:
        ctx.sink.file(
            "dlp.file_size",
            f"The gzip file is {table.gzip_size:,} bytes; the DLP accepts at most {max_gzip:,} "
            "bytes gzipped. Split the submission with the DLP team's agreement.",
        )
    if table.too_large:
        ctx.sink.file(
            "dlp.file_size",
            f"The file is over {max_bytes:,} bytes uncompressed, the most the DLP accepts, so "
            "cldetl did not read it further. Check that it is the CLD return; split the "
            "submission with the DLP team's agreement.",
        )


def _leading_characters(ctx: CheckContext, limits) -> None:

    negative = "^" + limits["negative_number"] + "$"
    characters = limits["leading_characters"]
    first_bytes = _lookup(characters)
    for name in ctx.frame.columns:
        column = ctx.frame[name]
        array = _arrow(column)
        # starts_with is a byte comparison: much cheaper than a regex over 48 columns.
        starts = None
        if first_bytes is not None and not _may_start(array, first_bytes):
            continue
        for char in characters:
            hit = pc.starts_with(array, char)
            starts = hit if starts is None else pc.or_kleene(starts, hit)
        if not pc.any(starts).as_py():
            continue
        rejected = pc.and_kleene(starts, pc.invert(pc.match_substring_regex(array, negative)))
        mask = _mask(rejected, column.index)
        sink_column = name if ctx.spec.has_field(name) else None
        ctx.sink.rows(
            "dlp.leading_character",
            sink_column,
            mask,
            column,
            f"{name} starts with =, +, - or @; the DLP rejects such values (a spreadsheet "
            "formula) unless a minus sign begins a number. Remove the character at source.",
        )


def _lookup(characters):
    """A 256-entry table of the characters' bytes, when each is one ASCII character."""

    if not all(len(c) == 1 and c.isascii() for c in characters):
        return None
    table = np.zeros(256, dtype=bool)
    table[[ord(c) for c in characters]] = True
    return table


def _may_start(array, first_bytes) -> bool:
    """Whether a value of a UTF-8 Arrow string array may start with one of the characters:
    the first byte of every non-empty value looked up at once (numpy over Arrow's offsets and
    bytes), so that the exact check runs only on columns that have such a value."""

    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    for chunk in chunks:
        if chunk.type not in (pa.string(), pa.large_string()) or chunk.null_count:
            return True
        offsets_type = np.int64 if chunk.type == pa.large_string() else np.int32
        _, offsets, data = chunk.buffers()
        if data is None or len(chunk) == 0:
            continue
        at = np.frombuffer(offsets, offsets_type)[chunk.offset : chunk.offset + len(chunk) + 1]
        starts = at[:-1][at[1:] > at[:-1]]
        if first_bytes[np.frombuffer(data, np.uint8)[starts]].any():
            return True
    return False


def _not_cp1252(ctx: CheckContext) -> None:

    for name in ctx.frame.columns:
        column = ctx.frame[name]
        array = _arrow(column)
        # ASCII columns (most of them) need no regex.
        if pc.all(pc.string_is_ascii(array)).as_py() is not False:
            continue
        found = pc.match_substring_regex(array, NOT_CP1252)
        if not pc.any(found).as_py():
            continue
        ctx.sink.rows(
            "dlp.not_cp1252",
            name if ctx.spec.has_field(name) else None,
            _mask(found, column.index),
            column,
            f"{name} holds a character Windows-1252 cannot carry; the DLP reads files as "
            "Windows-1252, so it would arrive garbled. Correct it at source, or write the file "
            "with `cldetl run` and a transliteration.",
        )
