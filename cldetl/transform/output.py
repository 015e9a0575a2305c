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
from cldetl.transform.columns import CANDIDATE, RULE, SOURCE
from cldetl.transform.filters import stripped_text
from cldetl.transform.person_details import PERSON
from cldetl.transform.sources import KEY
from cldetl.transform.values import UnmappedCodes

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


# The stated rule for a cost written as text (a file source, or a text column of the case
# system): surrounding spaces, one sign, one pound sign before or after the sign, and commas
# between groups of three digits are read, and an exponent (a float column's text, 1e+20);
# "£1,200.00" is 1200.00 and "-£10.50" is -10.50.
# Anything else ("24.50p", "1.200,00", "n/a", "1,20") is not guessed at: the cell is left
# blank and the value is listed in unmapped_codes.csv (lookup NOT_A_NUMBER, with its rows).
MONEY_TEXT = (
    r"(?:[-+]?£?|£[-+]?)"
    r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
    r"(?:[eE][-+]?\d+)?"
)
NOT_A_NUMBER = "(not a number)"
# Digits kept after the point before rounding to pence: more cannot move a value across a
# half penny (0.005 has three), and 38-digit decimals then hold 28 before the point.
_MONEY_SCALE = 9


def money_text(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers (or number text, read by MONEY_TEXT) as 0.00 text, rounded to the penny half
    away from zero, from the exact decimal written (10.005 is 10.01, -0.005 is -0.01), and
    the mask of values that are not numbers by that rule (left blank, for the caller to
    report). Computed in Arrow decimals on whole columns: no float floor or modulo, so the
    sign never leaks into the pence (-10.50 stays -10.50)."""

    # Each distinct value is read once (a million costs hold a few thousand amounts). A float
    # column's shortest text is the number as the case system holds it (10.005).
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype("string").str.strip()
    valid = text.str.fullmatch(MONEY_TEXT).fillna(False).astype(bool).to_numpy()
    cleaned = (
        text[valid]
        .str.replace("£", "", regex=False)
        .str.replace(",", "", regex=False)
        .str.replace(rf"(\.\d{{{_MONEY_SCALE}}})\d+", r"\1", regex=True)
        .to_numpy(dtype=object)
    )
    decimal = pa.decimal128(38, _MONEY_SCALE)
    try:
        exact = pc.cast(pa.array(cleaned, type=pa.string()), decimal)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Too large for a cost (over 28 digits before the point): found value by value.
        exact = pa.array([_decimal_or_none(v, decimal) for v in cleaned], type=decimal)
    pence = pc.round(exact, ndigits=2, round_mode="half_towards_infinity")
    formatted = np.full(len(text), None, dtype=object)
    formatted[valid] = pc.cast(pc.cast(pence, pa.decimal128(38, 2)), pa.string()).to_numpy(
        zero_copy_only=False
    )
    blank = text.isna().to_numpy() | text.eq("").fillna(True).to_numpy()
    bad_unique = ~blank & pd.isna(formatted)
    picked = np.where(codes < 0, len(text), codes)
    out = np.append(np.where(pd.isna(formatted), "", formatted), "").astype(object)[picked]
    bad = np.append(bad_unique, False)[picked]
    return (
        pd.Series(out, index=values.index, dtype="string"),
        pd.Series(bad, index=values.index, dtype=bool),
    )


def _decimal_or_none(text: str, decimal):
    try:
        return pc.cast(pa.array([text]), decimal)[0].as_py()  # one str: a string array
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def format_cld(
    rows: pd.DataFrame,
    mapping: Mapping,
    spec: Spec,
    period: ReportingPeriod,
    keep: Collection[str] | None = None,
    unmapped: UnmappedCodes | None = None,
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
            text, bad = money_text(values)
            if unmapped is not None and bad.any():
                sources = rows[SOURCE].take(positions)[bad.to_numpy()]
                unmapped.add_not_numbers(NOT_A_NUMBER, name, sources, values[bad])
        else:
            text = stripped_text(values)
        out[name] = pd.Series(text.astype("string").array, index=index)
        del values, text
    if keep is not None:
        for column in [c for c in rows.columns if c not in keep]:
            del rows[column]
    return pd.DataFrame(out, index=index), order
