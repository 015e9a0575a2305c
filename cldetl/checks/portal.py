"""What NHS England's Data Landing Portal (DLP) rejects, whatever the CLD specification says:
a UTF-8 byte order mark, a value starting with a spreadsheet formula character, a file over
the size limit, and (in a UTF-8 file) characters Windows-1252 cannot carry, which the portal
reads as Windows-1252. Source: the DLP data sender user guide, General information. The limits
are spec data (`dlp:` in release2.yaml).
"""

from __future__ import annotations

from cldetl.checks.context import CheckContext

FIX_BOM = (
    "The file starts with a UTF-8 byte order mark (BOM); the DLP reads it as part of the first "
    "column name and fails the submission. Save from Excel as 'CSV (Comma delimited)', not "
    "'CSV UTF-8', or write the file with `cldetl run`, which writes no BOM."
)


def _arrow(column):
    """A pandas string column as an Arrow array, without a copy where pandas allows it."""
    import pyarrow as pa

    array = column.array
    if hasattr(array, "__arrow_array__"):
        return array.__arrow_array__()
    return pa.array(column.astype(object).fillna("").to_numpy(), type=pa.string())


def _mask(found, index):
    import pandas as pd

    return pd.Series(found.to_numpy(zero_copy_only=False), index=index).fillna(False).astype(bool)


def check_file(ctx: CheckContext) -> None:
    """What the DLP sees of the file as a whole: its byte order mark and its size."""
    if ctx.table.bom:
        ctx.sink.file("dlp.bom", FIX_BOM, line=1)
    _size(ctx)


def check(ctx: CheckContext) -> None:
    """The values of one batch of rows (`check_file` has looked at the file)."""
    table = ctx.table
    if table.too_large:
        return
    _leading_characters(ctx, ctx.spec.dlp)
    if table.encoding == "utf-8" and table.size:
        # Read from a UTF-8 file (the in-memory table of `cldetl run` is checked by the
        # writer, in the encoding it writes).
        _not_cp1252(ctx)


def _size(ctx: CheckContext) -> None:
    from cldetl.csvfile import dlp_limits

    table = ctx.table
    max_bytes, max_gzip = dlp_limits()
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
    import pyarrow.compute as pc

    negative = "^" + limits["negative_number"] + "$"
    raw = ctx.table.raw
    if raw is not None and not may_start_with(raw, limits["leading_characters"]):
        return
    for name in ctx.frame.columns:
        column = ctx.frame[name]
        array = _arrow(column)
        # starts_with is a byte comparison: much cheaper than a regex over 48 columns.
        starts = None
        for char in limits["leading_characters"]:
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


def may_start_with(raw, characters) -> bool:
    """False when no field of these CSV bytes can start with one of `characters` (single
    ASCII characters): none of them follows a comma, a line break or a field's opening quote
    (or starts the bytes). One numpy pass over the batch instead of a pass per column; True
    sends the batch to the exact check."""
    import numpy as np

    data = np.frombuffer(raw, np.uint8)
    found = np.zeros(len(data), dtype=bool)
    for char in characters:
        found |= data == ord(char)
    at = np.flatnonzero(found)
    if len(at) == 0:
        return False
    if at[0] <= 1:
        return True
    before = data[at - 1]
    delimiter = (before == ord(",")) | (before == ord("\n")) | (before == ord("\r"))
    if delimiter.any():
        return True
    quoted = at[before == ord('"')]
    two_before = data[quoted - 2]
    return bool(
        ((two_before == ord(",")) | (two_before == ord("\n")) | (two_before == ord("\r"))).any()
    )


def _not_cp1252(ctx: CheckContext) -> None:
    import pyarrow.compute as pc

    from cldetl.portal_file import NOT_CP1252

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
