"""Personal data where it should not be: identifiers built from a date of birth, a postcode or
a name, and NHS numbers, postcodes or dates typed into Event Description. Warnings: the
guidance forbids it, but only a person can confirm it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldetl.spec.parsers import POSTCODE_SPECIAL
from cldetl.validate.checks.context import CheckContext

IDENTIFIERS = ("LA Person Unique Identifier", "Event Reference")
NAME_MIN_LENGTH = 3
# The guidance's pseudo-postcodes (ZZ99 3VZ no fixed abode, ZZ99 3CZ no postcode recorded) are
# no one's address: an identifier that holds one holds no personal data. Compared squeezed.
PSEUDO_POSTCODES = sorted({p.replace(" ", "").upper() for p in POSTCODE_SPECIAL})
# RE2-compatible (no look-behind), so Arrow runs them natively rather than row by row.
DESCRIPTION_PATTERNS = {
    "an NHS number": r"(?:^|[^0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?:[^0-9]|$)",
    "a postcode": r"(?i)\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b",
    "a date": r"(?:^|[^0-9])[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})(?:[^0-9]|$)",
}


# numpy's row-wise kernels need fixed-width strings, as wide as the longest value: one 1 MB
# identifier would make every row 4 MB. Identifiers up to this width go through numpy; longer
# ones (rare, and already wrong) are compared one by one.
WIDTH = 64


def _strings(column, width: int | None = None):
    """A text column as a fixed-width numpy string array, for numpy's row-wise kernels."""

    text = column.astype("string[pyarrow]").fillna("")
    longest = text.str.len().max() if len(text) else 0
    if width is not None and not pd.isna(longest) and longest > width:
        text = text.str.slice(0, width)  # in Arrow: no Python call per row
        longest = width
    fast = _ascii_strings(text, 0 if pd.isna(longest) else int(longest))
    return fast if fast is not None else text.to_numpy(dtype="U")


def _ascii_strings(text, longest: int):
    """ASCII text (identifiers, names) as numpy strings without a Python string per row:
    Arrow pads every value to the same length with NULs (numpy's own padding), so the bytes
    are already a fixed-width array. None when some value is not ASCII."""

    array = getattr(text.array, "__arrow_array__", None)
    if array is None or longest <= 0 or len(text) == 0:
        return None
    array = array()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count or not pc.all(pc.string_is_ascii(array)).as_py():
        return None
    padded = pc.utf8_rpad(array, width=longest, padding="\x00")
    offsets_type = np.int64 if padded.type == pa.large_string() else np.int32
    _, offsets, data = padded.buffers()
    start = int(np.frombuffer(offsets, offsets_type)[padded.offset])
    raw = np.frombuffer(data, np.uint8)[start : start + longest * len(padded)]
    # Kept as bytes (numpy's `S`): a quarter of the memory of `U`, and no conversion.
    return raw.view(f"S{longest}")


def _contains(hay, pin, rows):
    """Row-wise "pin in hay" on numpy string arrays, where `rows` allows it."""

    if hay.dtype.kind != pin.dtype.kind:
        # ASCII text is kept as bytes; compare as str when either side is not ASCII.
        hay, pin = hay.astype(np.str_), pin.astype(np.str_)
    found = np.strings.find(hay, pin) >= 0
    return pd.Series(found, index=rows.index) & rows


# Positions in 'dd/mm/yyyy' of each way a date of birth turns up inside an identifier.
DATE_FORMS = {
    "ddmmyyyy": (0, 1, 3, 4, 6, 7, 8, 9),
    "yyyymmdd": (6, 7, 8, 9, 3, 4, 0, 1),
    "ddmmyy": (0, 1, 3, 4, 8, 9),
    "dd/mm/yyyy": tuple(range(10)),
    "yyyy-mm-dd": (6, 7, 8, 9, 2, 3, 4, 5, 0, 1),
}


def _date_forms(dob_text) -> dict:
    """Each form as a numpy string array, rearranged from the characters without a row loop
    (as bytes when the dates are ASCII, as the identifiers they are looked for in)."""

    text = dob_text.astype("string[pyarrow]").fillna("")
    longest = text.str.len().max() if len(text) else 0
    raw = _ascii_strings(text, int(longest)) if longest and longest == longest else None
    if raw is not None:
        chars = raw.view(np.uint8).reshape(-1, int(longest))[:, :10]
        if chars.shape[1] < 10:
            chars = np.pad(chars, ((0, 0), (0, 10 - chars.shape[1])))
        dash, kind = ord("-"), "S"
    else:
        chars = text.to_numpy(dtype="U10").view(np.uint32).reshape(-1, 10)
        dash, kind = ord("-"), "U"
    forms = {}
    for name, positions in DATE_FORMS.items():
        picked = np.ascontiguousarray(chars[:, positions])
        if name == "yyyy-mm-dd":
            picked[:, 4] = picked[:, 7] = dash
        forms[name] = picked.view(f"{kind}{picked.shape[1]}").ravel()
    return forms


def check(ctx: CheckContext) -> None:
    identifiers = [name for name in IDENTIFIERS if name in ctx.present]
    if identifiers:
        needles = _needles(ctx)
        for name in identifiers:
            _identifier(ctx, name, needles)
    if "Event Description" in ctx.present:
        _description(ctx)


def _needles(ctx: CheckContext) -> list[tuple[str, object, object, bool]]:
    """What must not appear inside an identifier, each converted once for all identifiers:
    (what, numpy strings, rows where it applies, compare with spaces removed)."""
    needles = []
    if "Date of Birth" in ctx.present:
        has_dob = ctx.dates("Date of Birth").notna()
        for form in _date_forms(ctx.column("Date of Birth")).values():
            needles.append(("date of birth", form, has_dob, False))
    if "Postcode" in ctx.present:
        squeezed = ctx.column("Postcode").str.upper().str.replace(" ", "", regex=False)
        full = squeezed.str.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}").fillna(False)
        full &= ~squeezed.isin(PSEUDO_POSTCODES)
        needles.append(("postcode", squeezed, full.astype(bool), True))
    for part in ("First Name", "Last Name"):
        if part in ctx.present:
            person = ctx.column(part).str.upper().str.strip()
            long_enough = person.str.len().ge(NAME_MIN_LENGTH).fillna(False).astype(bool)
            needles.append((part.lower(), person, long_enough, False))
    return needles


def _pins(pin):
    """A needle as numpy strings (date forms already are), cut one past WIDTH: a longer needle
    cannot be inside an identifier of at most WIDTH characters."""

    return pin if isinstance(pin, np.ndarray) else _strings(pin, WIDTH + 1)


def _contains_long(ident, pin, rows):
    """Row by row, for the few identifiers longer than WIDTH."""

    found = pd.Series(False, index=rows.index)
    for i in rows[rows].index:
        needle = pin[rows.index.get_loc(i)] if not hasattr(pin, "iloc") else pin.loc[i]
        if isinstance(needle, bytes):  # a date form, kept as bytes
            needle = needle.decode("ascii")
        needle = "" if needle is None or needle is pd.NA else str(needle)
        found.loc[i] = bool(needle) and needle in str(ident.loc[i])
    return found


def _identifier(ctx: CheckContext, name: str, needles) -> None:
    ident = ctx.column(name).str.upper()
    filled = ~ctx.blank(name)
    # Identifiers hold no spaces (a space is a type.alphanumeric error), so the postcode,
    # compared without its space, is looked for in the identifier as it is.
    short = ident.str.len().le(WIDTH).fillna(True).astype(bool)
    hay = _strings(ident.where(short, ""))
    long_rows = filled & ~short
    found: dict[str, object] = {}
    pinned = ctx.cache.setdefault(("privacy", "needles"), {})
    for what, pin, applies, _squeeze in needles:
        # Each needle as numpy strings once, for both identifiers.
        if id(pin) not in pinned:
            pinned[id(pin)] = (pin, _pins(pin))
        hit = _contains(hay, pinned[id(pin)][1], filled & applies & short)
        if long_rows.any():
            hit = hit | _contains_long(ident, pin, long_rows & applies)
        found[what] = hit if what not in found else found[what] | hit
    for what, mask in found.items():
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
    distinct = pd.Series(text[filled].unique(), dtype=text.dtype)
    for what, pattern in DESCRIPTION_PATTERNS.items():
        hits = distinct[distinct.str.contains(pattern, regex=True).fillna(False).astype(bool)]
        mask = filled & text.isin(hits)
        ctx.sink.rows(
            "privacy.description",
            "Event Description",
            mask,
            None,
            f"Event Description contains what looks like {what}; personal data belongs only in "
            "the name, date of birth, NHS number and postcode fields.",
        )
