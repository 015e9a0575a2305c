"""Column parsers for the CLD data types that a pattern alone cannot check.

Each parser takes a whole string column and returns, for every row, either nothing (the value
is fine or blank) or the reason it is not, as a message. They never loop over rows in Python:
the messages are chosen with vectorised masks, so a million dates cost a few array passes.

Messages for personal fields (NHS number, postcode, dates of birth) never repeat the value: the
value travels separately in the finding, and console reports mask it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pandas as pd

DATE_SHAPE = r"[0-9]{2}/[0-9]{2}/[0-9]{4}"
NHS_SHAPE = r"[0-9]{10}"
POSTCODE_OUTWARD = r"[A-Z]{1,2}[0-9][A-Z0-9]?"
POSTCODE_FULL = POSTCODE_OUTWARD + r" [0-9][A-Z]{2}"
POSTCODE_SPECIAL = ("ZZ99 3VZ", "ZZ99 3CZ", "Unknown")
NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
# Free text may hold anything printable, but not line breaks or control characters.
TEXT_FORBIDDEN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\n]"


def blank(column: pd.Series) -> pd.Series:
    """True where a value is empty or only spaces (a missing value counts as blank)."""

    array = column.array
    if hasattr(array, "__arrow_array__"):
        # In Arrow, without building the stripped strings: empty, or every character a space.

        values = array.__arrow_array__()
        found = _blank_from_buffers(values)
        if found is None:
            empty = pc.or_kleene(pc.equal(pc.binary_length(values), 0), pc.utf8_is_space(values))
            found = pc.fill_null(empty, True).to_numpy(zero_copy_only=False)
        return pd.Series(found, index=column.index, dtype=bool)
    return column.fillna("").str.strip().eq("").astype(bool)


def _blank_from_buffers(values):
    """`blank` from Arrow's offsets and bytes in numpy: empty values from the offsets, and
    Arrow's whitespace test only on the few values whose first byte could begin a space
    (ASCII up to the space character, or any non-ASCII byte). None for an array with nulls
    or of another type (the caller tests every value)."""

    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = []
    for chunk in chunks:
        if chunk.type not in (pa.string(), pa.large_string()) or chunk.null_count:
            return None
        if len(chunk) == 0:
            continue
        _, offsets, data = chunk.buffers()
        offsets_type = np.int64 if chunk.type == pa.large_string() else np.int32
        at = np.frombuffer(offsets, offsets_type)[chunk.offset : chunk.offset + len(chunk) + 1]
        empty = at[1:] == at[:-1]
        filled = np.flatnonzero(~empty)
        if len(filled) and data is not None:
            first = np.frombuffer(data, np.uint8)[at[:-1][filled]]
            maybe = filled[(first <= 0x20) | (first >= 0x80)]
            if len(maybe):
                spaces = pc.utf8_is_space(chunk.take(pa.array(maybe)))
                empty[maybe[spaces.to_numpy(zero_copy_only=False).astype(bool)]] = True
        parts.append(empty)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _select(column: pd.Series, cases: list[tuple[pd.Series, str]]) -> pd.Series:
    """The first message whose mask holds, per row; NA where none does."""

    masks = [m.to_numpy(dtype=bool, na_value=False) for m, _ in cases]
    chosen = np.select(masks, [msg for _, msg in cases], default="")
    out = pd.Series(chosen, index=column.index, dtype=object)
    return out.where(out != "", None)


def parse_dates(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse dd/mm/yyyy. Returns (dates with NaT for blank or bad, problem message or None).

    A date column has few distinct values (days in a few years), so each distinct value is
    parsed once and the results are spread back by position.
    """

    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    dates, problems = _parse_distinct_dates(pd.Series(uniques, dtype=column.dtype))
    if problems.isna().all():
        # Every value a date or blank (the usual case): no message to spread back.
        spread = np.full(len(column), None, dtype=object)
    else:
        spread = problems.to_numpy(dtype=object)[codes]
    return (
        pd.Series(dates.to_numpy()[codes], index=column.index),
        pd.Series(spread, index=column.index, dtype=object),
    )


DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _shaped_dates(column: pd.Series, shaped):
    """The dates of the values shaped dd/mm/yyyy (ASCII digits), from their digits in numpy:
    NaT where not shaped or not a real calendar date (day 0, month 13, 29/02 outside a leap
    year, year 0), as `pandas.to_datetime(format="%d/%m/%Y", errors="coerce")` decides, at
    its microsecond resolution, without parsing each string."""

    out = np.full(len(column), np.datetime64("NaT"), dtype="datetime64[us]")
    if not shaped.any():
        return out
    text = column[shaped].to_numpy(dtype="U10")
    digits = text.view(np.uint32).reshape(-1, 10).astype(np.int64) - ord("0")
    day = digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 3] * 10 + digits[:, 4]
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    real = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    month_days = np.asarray(DAYS_IN_MONTH)[np.where(real, month, 1)] + ((month == 2) & leap)
    real &= day <= month_days
    months = np.where(real, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    found = months.astype("datetime64[D]") + np.where(real, day - 1, 0).astype("timedelta64[D]")
    found = found.astype("datetime64[us]")
    found[~real] = np.datetime64("NaT")
    out[shaped] = found
    return out


def _parse_distinct_dates(column: pd.Series) -> tuple[pd.Series, pd.Series]:

    empty = blank(column)
    shaped = column.str.fullmatch(DATE_SHAPE).fillna(False).astype(bool)
    dates = pd.Series(_shaped_dates(column, shaped.to_numpy()), index=column.index)
    bad = ~empty & dates.isna()
    if not bad.any():
        return dates, pd.Series(None, index=column.index, dtype=object)
    problems = _select(
        column,
        [
            (~bad, ""),
            (shaped, "is not a real calendar date"),
            (
                column.str.match(r"^\s*[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}[ T][0-9]"),
                "has a time stamp: give the date only, as dd/mm/yyyy",
            ),
            (
                column.str.match(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}"),
                "is in yyyy-mm-dd order: CLD dates are dd/mm/yyyy",
            ),
            (
                column.str.fullmatch(r"\s*[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}\s*"),
                "needs two-digit day and month and no spaces, as dd/mm/yyyy",
            ),
            (
                column.str.fullmatch(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}"),
                "needs a four-digit year, as dd/mm/yyyy",
            ),
            (
                column.str.fullmatch(r"[0-9]{1,2}[.-][0-9]{1,2}[.-][0-9]{2,4}"),
                "uses '.' or '-' between day, month and year: use '/', as dd/mm/yyyy",
            ),
            (bad, "is not a date in dd/mm/yyyy"),
        ],
    )
    return dates, problems


def _only_where(column: pd.Series, bad: pd.Series, describe) -> pd.Series:
    """Messages for the `bad` rows only: the cases are worked out on that subset (usually
    tiny), so a clean million-row column costs one validity pass."""

    out = pd.Series(None, index=column.index, dtype=object)
    if bad.any():
        out[bad] = describe(column[bad]).to_numpy(dtype=object)
    return out


def nhs_number_problems(column: pd.Series) -> pd.Series:
    """Why each NHS number is invalid (not 10 digits, or the modulus 11 check fails)."""

    empty = blank(column)
    shaped = column.str.fullmatch(NHS_SHAPE).fillna(False).astype(bool)
    check_ok = pd.Series(False, index=column.index)
    if shaped.any():
        text = "".join(column[shaped].tolist()).encode("ascii")
        digits = np.frombuffer(text, dtype=np.uint8).reshape(-1, 10).astype(np.int64) - ord("0")
        total = digits[:, :9] @ np.asarray(NHS_WEIGHTS, dtype=np.int64)
        check = 11 - total % 11
        check = np.where(check == 11, 0, check)
        check_ok[shaped] = (check != 10) & (check == digits[:, 9])

    def describe(bad: pd.Series) -> pd.Series:
        return _select(
            bad,
            [
                (bad.str.fullmatch(NHS_SHAPE), "fails the NHS number check digit (modulus 11)"),
                (
                    bad.str.replace(r"[\s-]", "", regex=True).str.fullmatch(NHS_SHAPE),
                    "has spaces or dashes: give the 10 digits only",
                ),
                (bad.str.fullmatch(r"[0-9]+"), "is not 10 digits long"),
                (pd.Series(True, index=bad.index), "is not a 10-digit number"),
            ],
        )

    return _only_where(column, ~empty & ~check_ok, describe)


POSTCODE_VALID = rf"(?:{POSTCODE_OUTWARD}(?: [0-9][A-Z]{{2}})?|" + "|".join(POSTCODE_SPECIAL) + ")"


def postcode_problems(column: pd.Series) -> pd.Series:
    """Why each postcode is not a full postcode, an outward code or a special value."""

    ok = column.str.fullmatch(POSTCODE_VALID).fillna(False).astype(bool)

    def describe(bad: pd.Series) -> pd.Series:
        upper = bad.str.upper().str.strip()
        squeezed = upper.str.replace(r"\s+", "", regex=True)
        return _select(
            bad,
            [
                (upper.eq("UNKNOWN"), "must be written 'Unknown' (capital U, no spaces)"),
                (
                    upper.str.fullmatch(POSTCODE_FULL) | upper.str.fullmatch(POSTCODE_OUTWARD),
                    "must be in capital letters with no leading or trailing spaces",
                ),
                (
                    squeezed.str.fullmatch(POSTCODE_OUTWARD + r"[0-9][A-Z]{2}"),
                    "needs one space between the outward and inward code (e.g. 'LN1 1YL')",
                ),
                (
                    pd.Series(True, index=bad.index),
                    "is not a full postcode, an outward code, 'ZZ99 3VZ', 'ZZ99 3CZ' or 'Unknown'",
                ),
            ],
        )

    return _only_where(column, ~blank(column) & ~ok, describe)


def pattern_problems(column: pd.Series, pattern: str, kind: str) -> pd.Series:
    """Why each value does not have the shape of its data type (integer, numeric, identifier)."""

    ok = column.str.fullmatch(pattern.removeprefix("^").removesuffix("$")).fillna(False)

    def describe(bad: pd.Series) -> pd.Series:
        everything = pd.Series(True, index=bad.index)
        if kind == "numeric":
            cases = [
                (bad.str.fullmatch(r"[0-9]+\.[0-9]{3,}"), "has more than two decimal places"),
                (bad.str.contains(r"[£$,]"), "has a currency sign or thousands separator"),
                (bad.str.startswith("-"), "is negative"),
                (everything, "is not a number in the form 0.00"),
            ]
        elif kind == "integer":
            cases = [
                (bad.str.fullmatch(r"[0-9]+\.0+"), "has a decimal part: give a whole number"),
                (
                    bad.str.fullmatch(r"\s*[0-9]+\s*"),
                    "has spaces or line breaks around the number",
                ),
                (everything, "is not a whole number"),
            ]
        else:
            cases = [
                (bad.str.contains(r"\s"), "contains spaces"),
                (everything, "contains characters other than letters, digits and - _ . /"),
            ]
        return _select(bad, [(m.fillna(False), msg) for m, msg in cases])

    return _only_where(column, ~blank(column) & ~ok.astype(bool), describe)


def text_problems(column: pd.Series) -> pd.Series:
    """Free text may hold anything printable, but not line breaks or control characters."""

    bad = column.str.contains(TEXT_FORBIDDEN).fillna(False).astype(bool) & ~blank(column)
    if not bad.any():
        return pd.Series(None, index=column.index, dtype=object)
    return _select(column, [(~bad, ""), (bad, "contains a line break or control character")])


def whole_years(born: pd.Series, at: pd.Series) -> pd.Series:
    """Age in whole years at a date; NA where either date is missing."""

    years = at.dt.year - born.dt.year
    before_birthday = (at.dt.month < born.dt.month) | (
        (at.dt.month == born.dt.month) & (at.dt.day < born.dt.day)
    )
    age = years - before_birthday.astype("Int64")
    return age.astype("Int64").where(born.notna() & at.notna(), pd.NA)
