"""The CLD rows as written: 48 text columns in spec order, dates dd/mm/yyyy, costs 0.00, a
stable row order and an event reference that holds no personal data."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldetl.spec import load_spec
from cldetl.transform.columns import CANDIDATE, RULE
from cldetl.transform.filters import stripped_text
from cldetl.transform.person_details import PERSON
from cldetl.transform.sources import KEY

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Mapping
    from cldetl.spec import Spec
    from cldetl.spec.period import ReportingPeriod

EVENT_MODULES = ("events", "requests", "assessments", "services", "reviews", "costs")
EVENT_FIELDS = [f.name for f in load_spec().fields if f.module in EVENT_MODULES]
EVENT_TYPE_ORDER = {"Request": 0, "Assessment": 1, "Service": 2, "Review": 3, "": 4}
HEX = "0123456789abcdef"


def _hex(values) -> pd.Series:
    """uint64 -> 16 hex digits, without a Python loop per value."""

    arr = np.asarray(values, dtype=np.uint64)
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nibbles = ((arr[:, None] >> shifts) & np.uint64(15)).astype(np.uint32)
    codes = np.frombuffer(HEX.encode(), dtype=np.uint8).astype(np.uint32)[nibbles]
    return codes.view("<U16").ravel() if len(arr) else np.array([], dtype="<U16")


def references(rows: pd.DataFrame, mapping: Mapping) -> pd.Series:
    """Event Reference: the rule's own (a system reference), else one derived from the rule,
    the record's key and the row, stable across quarters and free of personal data."""

    if rows.empty:
        return pd.Series([], dtype="string")
    basis = rows[[RULE, KEY, "_row_index"]].astype("string")
    derived = "E" + pd.Series(
        _hex(pd.util.hash_pandas_object(basis, index=False).to_numpy()), index=rows.index
    ).str.slice(0, 15)
    own = rows["_reference_base"].astype("string").fillna("")
    reference = own.where(own.ne(""), derived)
    carer_only = rows["Event Type"].fillna("").eq("")
    return reference.where(~carer_only, "").astype("string")


def _dates(values: pd.Series) -> pd.Series:
    """Dates as dd/mm/yyyy text, blank where missing. Each distinct date is formatted once
    (a million rows hold a few thousand dates; strftime per row was a third of format_cld)."""

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.DatetimeIndex(uniques).strftime("%d/%m/%Y").astype(object).tolist()
    # Missing dates (code -1) take the blank at the end.
    formatted = pa.array([*text, ""], type=pa.large_string())
    picked = formatted.take(np.where(codes < 0, len(text), codes))
    return pd.Series(pd.arrays.ArrowStringArray(picked), index=values.index)


def _money(values: pd.Series) -> pd.Series:
    """Numbers as 0.00 text, computed on whole columns."""

    numbers = pd.to_numeric(values, errors="coerce")
    cents = (numbers * 100).round().astype("Int64")
    whole = (cents // 100).astype("string")
    part = (cents % 100).astype("string").str.zfill(2)
    return (whole + "." + part).fillna("").astype("string")


def format_cld(
    rows: pd.DataFrame,
    mapping: Mapping,
    spec: Spec,
    period: ReportingPeriod,
    keep: Collection[str] | None = None,
) -> tuple[pd.DataFrame, pd.Index]:
    """The 48 columns as text, in a stable order; also the row order used (for lineage).

    With `keep`, every other column of `rows` is deleted from it (in place) as soon as it has
    been formatted, so the rows and the return are never both whole in memory (at a million
    rows each is about 0.8 GB); `rows` is left holding only the `keep` columns.
    """

    # Sorted in Arrow (stable, missing first, text by code point as pandas sorts it): pandas
    # factorizes each text key first, three times slower at a million rows.
    keys = pa.table(
        {
            "person": pa.array(rows[PERSON].astype("string").array),
            "start": pa.array(rows["Event Start Date"]),
            "type": pa.array(rows["Event Type"].fillna("").map(EVENT_TYPE_ORDER).fillna(4)),
            "reference": pa.array(rows["Event Reference"].astype("string").array),
            "candidate": pa.array(rows[CANDIDATE].astype(np.int64)),
        }
    )
    sort_keys = [(name, "ascending", "at_start") for name in keys.column_names]
    positions = pc.sort_indices(keys, sort_keys=sort_keys).to_numpy().astype(np.intp)
    del keys
    order = rows.index[positions]
    index = pd.RangeIndex(len(positions))
    # Memory at a million rows: each column is put in order on its own (a reordered copy of
    # all the rows at once would be about 1 GB more at the peak), and stays Arrow-backed text
    # (through NumPy it would become one Python object per value, about 2.5 GB).
    out: dict[str, pd.Series] = {}
    fixed = {
        "LA Code": mapping.metadata.la_code,
        "Reporting Period Start Date": period.start.strftime("%d/%m/%Y"),
        "Reporting Period End Date": period.end.strftime("%d/%m/%Y"),
    }
    for field in spec.fields:
        name = field.name
        if name in fixed:
            out[name] = pd.Series(fixed[name], index=index).astype("string")
            continue
        if name == "LA Person Unique Identifier":
            values = rows[PERSON].take(positions)
        elif name in rows:
            values = rows[name].take(positions)
            if keep is not None and name not in keep:
                del rows[name]
        else:
            out[name] = pd.Series("", index=index, dtype="string")
            continue
        if field.type == "date":
            text = _dates(pd.to_datetime(values, errors="coerce"))
        elif field.type == "numeric":
            text = _money(values)
        else:
            text = stripped_text(values)
        out[name] = pd.Series(text.astype("string").array, index=index)
        del values, text
    if keep is not None:
        for column in [c for c in rows.columns if c not in keep]:
            del rows[column]
    return pd.DataFrame(out, index=index), order
