"""Source frames as the transform wants them: declared columns present, typed (text, integer,
number, date, list), each record with a position and a key for lineage and reconciliation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cldetl.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Mapping, Source

POSITION, KEY = "_pos", "_key"
# Case systems write 31/12/9999 (or similar) for "no end date". Any date from this year on is
# read as no date at all, which is what it means.
NO_DATE_FROM_YEAR = 2200


def _integer_text(column: pd.Series) -> pd.Series:
    """Integers as text without a trailing '.0' (a float column from SQL with NULLs)."""

    if pd.api.types.is_float_dtype(column.dtype):
        return column.astype("Int64").astype("string")
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.astype("string")  # no '.0' to remove
    return column.astype("string").str.replace(r"\.0$", "", regex=True)


def _far_future(values: pd.Series) -> pd.Series:

    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return (values.dt.year >= NO_DATE_FROM_YEAR).fillna(False).astype(bool)
    year = values.astype("string").str.extract(r"^\s*(\d{4})-", expand=False)
    return (pd.to_numeric(year, errors="coerce") >= NO_DATE_FROM_YEAR).fillna(False).astype(bool)


def _dates(values: pd.Series) -> pd.Series:
    """Dates at day resolution (datetime64[ns]); far-future placeholders become NaT."""

    far = _far_future(values)
    kept = values.where(~far, None) if far.any() else values
    if pd.api.types.is_datetime64_any_dtype(kept.dtype):
        parsed = kept
    else:
        parsed = pd.to_datetime(kept, errors="coerce", format="ISO8601")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.normalize().astype("datetime64[ns]")


def _lists(values: pd.Series) -> pd.Series:
    """Lists of text, one per record; a missing list (a test's given row) is empty."""

    filled = values.where(values.notna(), None)
    return pd.Series(
        [tuple(str(v) for v in items) if items is not None else () for items in filled],
        index=values.index,
        dtype=object,
    )


def prepare_source(name: str, source: Source, frame: pd.DataFrame) -> pd.DataFrame:

    missing = [c for c in source.columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"source '{name}' has no column(s) {', '.join(missing)}; the mapping declares them. "
            f"Check the extract template or file, or the mapping's sources.{name}.columns."
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for column, kind in source.columns.items():
        values = frame[column].reset_index(drop=True)
        if kind == "date":
            parsed = _dates(values)
            out[column] = parsed
            if pd.api.types.is_datetime64_any_dtype(values.dtype):
                given = values.notna()  # a date is never blank text
            else:
                given = values.notna() & values.astype("string").str.strip().ne("")
            bad = given & parsed.isna()
            bad &= ~_far_future(values)
            if bad.any():
                raise InputError(
                    f"source '{name}' column '{column}': {int(bad.sum())} value(s) are not "
                    "dates. Check the column's type in the extract, or declare it as text."
                )
        elif kind == "number":
            out[column] = pd.to_numeric(values, errors="coerce").astype("Float64")
        elif kind == "integer":
            out[column] = _integer_text(values)
        elif kind == "list":
            # Every value of a one-to-many detail, in order (an empty list when none): kept as
            # a list for the rules that read them all (outcomes, linked people).
            out[column] = _lists(values)
        else:
            out[column] = values.astype("string")
    out[POSITION] = range(len(out))
    key = out[source.key[0]].astype("string").fillna("")
    for column in source.key[1:]:
        key = key + "|" + out[column].astype("string").fillna("")
    out[KEY] = key
    return out


def prepare_sources(mapping: Mapping, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    prepared = {}
    for name, source in mapping.sources.items():
        if name not in frames:
            raise InputError(f"source '{name}' was not extracted; nothing to transform.")
        prepared[name] = prepare_source(name, source, frames[name])
    return prepared
