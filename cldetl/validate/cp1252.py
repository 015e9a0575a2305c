"""Windows-1252, the encoding the DLP asks for: which characters it carries, found column by
column (the validator's dlp.not_cp1252 check and the portal file writer share this)."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


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
NOT_CP1252_PATTERN = re.compile("[^" + re.escape(CP1252_CHARACTERS) + "]")


def outside_cp1252(column: pd.Series) -> pd.Series:
    """Which values hold a character Windows-1252 cannot carry (columnar, in Arrow)."""
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
