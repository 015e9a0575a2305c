"""Personal data where it should not be: identifiers built from a date of birth, a postcode or
a name, and NHS numbers, postcodes or dates typed into Event Description. Warnings: the
guidance forbids it, but only a person can confirm it."""

from __future__ import annotations

from cldetl.checks.context import CheckContext

IDENTIFIERS = ("LA Person Unique Identifier", "Event Reference")
NAME_MIN_LENGTH = 3
DESCRIPTION_PATTERNS = {
    "an NHS number": r"(?<![0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?![0-9])",
    "a postcode": r"(?i)\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b",
    "a date": r"(?<![0-9])[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})(?![0-9])",
}


def _contains(haystack, needle, rows):
    """Row-wise "needle in haystack" over the selected rows, in numpy's string kernels."""
    import numpy as np
    import pandas as pd

    result = pd.Series(False, index=haystack.index)
    if not rows.any():
        return result
    dtype = np.dtypes.StringDType()
    hay = np.asarray(haystack[rows].astype(object).to_numpy(), dtype=dtype)
    pin = np.asarray(needle[rows].astype(object).to_numpy(), dtype=dtype)
    result.loc[rows] = np.strings.find(hay, pin) >= 0
    return result


def _date_forms(dob_text):
    """The ways a dd/mm/yyyy date of birth turns up inside identifiers."""
    dd, mm, yyyy = dob_text.str.slice(0, 2), dob_text.str.slice(3, 5), dob_text.str.slice(6, 10)
    return {
        "dd/mm/yyyy": dob_text,
        "ddmmyyyy": dd + mm + yyyy,
        "yyyymmdd": yyyy + mm + dd,
        "yyyy-mm-dd": yyyy + "-" + mm + "-" + dd,
        "ddmmyy": dd + mm + yyyy.str.slice(2, 4),
    }


def check(ctx: CheckContext) -> None:
    for name in IDENTIFIERS:
        if name in ctx.present:
            _identifier(ctx, name)
    if "Event Description" in ctx.present:
        _description(ctx)


def _identifier(ctx: CheckContext, name: str) -> None:
    ident = ctx.column(name).str.upper()
    filled = ~ctx.blank(name)
    hits = []
    if "Date of Birth" in ctx.present:
        has_dob = filled & ctx.dates("Date of Birth").notna()
        dob_hit = None
        for form in _date_forms(ctx.column("Date of Birth")).values():
            found = _contains(ident, form, has_dob)
            dob_hit = found if dob_hit is None else dob_hit | found
        hits.append((dob_hit, "date of birth"))
    if "Postcode" in ctx.present:
        squeezed = ctx.column("Postcode").str.upper().str.replace(" ", "", regex=False)
        full = filled & squeezed.str.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}").fillna(
            False
        )
        full &= ~squeezed.isin(["ZZ993VZ", "ZZ993CZ"])
        hits.append(
            (_contains(ident.str.replace(" ", "", regex=False), squeezed, full), "postcode")
        )
    for part in ("First Name", "Last Name"):
        if part in ctx.present:
            person = ctx.column(part).str.upper().str.strip()
            long_enough = filled & person.str.len().ge(NAME_MIN_LENGTH).fillna(False)
            hits.append((_contains(ident, person, long_enough), part.lower()))
    for mask, what in hits:
        ctx.sink.rows(
            "privacy.identifier",
            name,
            mask,
            ctx.column(name),
            f"{name} contains the person's {what}; identifiers must not include personal data "
            "in full or in part.",
        )


def _description(ctx: CheckContext) -> None:
    text = ctx.column("Event Description")
    filled = ~ctx.blank("Event Description")
    for what, pattern in DESCRIPTION_PATTERNS.items():
        mask = filled & text.str.contains(pattern, regex=True).fillna(False)
        ctx.sink.rows(
            "privacy.description",
            "Event Description",
            mask,
            None,
            f"Event Description contains what looks like {what}; personal data belongs only in "
            "the name, date of birth, NHS number and postcode fields.",
        )
