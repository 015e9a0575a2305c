"""The column types a source declares (text, integer, number, date), shared by database and
file sources: the Arrow schema of staging files, database values converted to it, and the
DataFrame the transform receives."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def arrow_schema(columns: dict[str, str]) -> pa.Schema:
    """The Arrow schema of a source's declared columns (the staging and frame types)."""

    types = {
        "text": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "date": pa.date32(),
        "list": pa.list_(pa.string()),
    }
    return pa.schema([pa.field(name, types[kind]) for name, kind in columns.items()])


def to_frame(table: pa.Table, release: bool = False) -> pd.DataFrame:
    """An Arrow table as the DataFrame a source gives: Int64 integers, datetime64 dates.

    `release` frees the table's memory column by column as it converts (the table must not be
    used afterwards): the peak stays near one copy of the data."""

    mapper = {pa.int64(): pd.Int64Dtype()}.get
    options = {"self_destruct": True, "split_blocks": True} if release else {}
    return table.to_pandas(date_as_object=False, types_mapper=mapper, **options)


# --- database values to the declared types ------------------------------------------------


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


_WHOLE = re.compile(r"[+-]?\d+(\.0*)?")


def _to_integer(value: Any) -> int | None:
    if isinstance(value, str):
        if not value.strip():
            return None
        if not _WHOLE.fullmatch(value.strip()):
            raise ValueError
        return int(value.strip().split(".")[0])
    if isinstance(value, float | Decimal):
        if value != int(value):
            raise ValueError
        return int(value)
    if isinstance(value, int):
        return int(value)
    raise TypeError


def _to_number(value: Any) -> float | None:
    if isinstance(value, str):
        return float(value.strip()) if value.strip() else None
    if isinstance(value, int | float | Decimal):
        return float(value)
    raise TypeError


def _to_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) >= 10 and (len(text) == 10 or text[10] in " T"):
            return date.fromisoformat(text[:10])
        raise ValueError
    raise TypeError


def split_lists(values, separator: str):
    """A list column as the database gives it (one text per row, its values joined by
    `separator`; NULL when there are none) as Arrow lists of text: an empty list for NULL."""

    text = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    lists = pc.split_pattern(text.fill_null(""), pattern=separator)
    # "" splits to [""]: no values at all.
    return pc.if_else(pc.equal(text.fill_null(""), ""), pa.scalar([], pa.list_(pa.string())), lists)


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": _to_text,
    "integer": _to_integer,
    "number": _to_number,
    "date": _to_date,
}
