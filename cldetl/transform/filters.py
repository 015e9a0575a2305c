"""Mapping filters evaluated over a whole source frame (no row loops, no eval)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Filter


def as_text(column: pd.Series) -> pd.Series:
    """A source column as stripped text, '' for blank: filters compare codes as text."""

    if isinstance(column.dtype, pd.DatetimeTZDtype) or str(column.dtype).startswith("datetime"):
        return column.dt.strftime("%Y-%m-%d").fillna("")
    return stripped_text(column)


def stripped_text(column: pd.Series) -> pd.Series:
    """The column as text with surrounding white space removed, '' where missing; in Arrow
    (pandas' fillna on Arrow text replaces through a mask, several times slower)."""

    text = pa.array(column.astype("string").array)
    text = pc.utf8_trim_whitespace(pc.fill_null(text, ""))
    return pd.Series(pd.arrays.ArrowStringArray(text), index=column.index)


def member_of(values: pd.Series, allowed) -> pd.Series:
    """Which values are among `allowed`, compared as text, in Arrow: pandas' `isin` on text
    turns every allowed value into a Python object first, which dominates large runs."""

    def text(items) -> pa.Array:
        if isinstance(items, pd.Series | pd.Index):
            series = pd.Series(items).astype("string[pyarrow]")
            return pa.array(series).cast(pa.large_string())
        return pa.array([str(v) for v in items], type=pa.large_string())

    found = pc.is_in(text(values), value_set=text(allowed)).fill_null(False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def matches(flt: Filter | None, frame: pd.DataFrame) -> pd.Series:
    """Which rows of `frame` the filter holds for (all rows when there is no filter)."""

    if flt is None:
        return pd.Series(True, index=frame.index)
    if flt.column is not None:
        values = as_text(frame[flt.column])
        if flt.in_ is not None:
            return values.isin(flt.in_).astype(bool)
        if flt.not_in is not None:
            return (~values.isin(flt.not_in)).astype(bool)
        blank = values.eq("")
        return blank if flt.blank else ~blank
    if flt.all is not None:
        result = pd.Series(True, index=frame.index)
        for part in flt.all:
            result &= matches(part, frame)
        return result
    if flt.any is not None:
        result = pd.Series(False, index=frame.index)
        for part in flt.any:
            result |= matches(part, frame)
        return result
    return ~matches(flt.not_, frame)
