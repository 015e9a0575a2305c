"""The header row of a CLD file: how names are compared, whether line 1 is the header at all,
and the names columns are read under (a repeated name kept, never lost)."""

from __future__ import annotations

import csv
import re

from cldetl.errors import InputError
from cldetl.spec import load_spec


def header_key(name: str) -> str:
    """A header compared loosely: case, spacing and punctuation ignored."""
    return re.sub(r"[^a-z0-9]", "", name.casefold())


def looks_like_header(names: list[str]) -> tuple[int, bool]:
    """(how many cells are Release 2 or dropped field names, whether that is at least half)."""

    spec = load_spec()
    known = {header_key(n) for n in (*spec.headers, *spec.dropped_fields)}
    hits = sum(header_key(n) in known for n in names)
    return hits, hits > 0 and hits * 2 >= len(names)


def refuse_non_header(path: str, header: list[str], data: bytes, body_start: int) -> None:
    """A file without its header row, or with a title line first, is a header problem: say so
    once, never echoing a cell (line 1 may be a person's record), instead of a finding for every
    row and a "not a Release 2 field" for each of their values."""
    hits, ok = looks_like_header(header)
    if ok:
        return
    end = data.find(b"\n", body_start)
    second = data[body_start:] if end < 0 else data[body_start:end]
    try:
        next_names = next(csv.reader([second.decode("utf-8", "replace").rstrip("\r\n")]))
    except (csv.Error, StopIteration):
        next_names = []
    if next_names and looks_like_header(next_names)[1]:
        hint = "Line 2 looks like the header: remove line 1 (a title line?)."
    elif hits:
        hint = "Most of its columns are not CLD fields: check that this is a CLD return."
    else:
        hint = (
            "The file may have been saved without its header row: add the Release 2 header "
            "(`cldetl spec` lists the 48 names) as line 1."
        )
    raise InputError(
        f"{path}: line 1 is not the CLD header: {hits:,} of its {len(header):,} cells are "
        f"Release 2 field names. {hint} The rows were not checked."
    )


def unique_names(header: list[str]) -> list[str]:
    """Column names for reading: a repeated header gets a suffix so no column is lost, and
    the suffix never makes a name the header already has (`LA Code`, `LA Code (2)`, `LA Code`
    reads as `LA Code`, `LA Code (2)`, `LA Code (3)`): every column has a name of its own."""
    taken = set(header)
    used: set[str] = set()
    names = []
    for name in header:
        unique, n = name, 1
        while unique in used:
            n += 1
            unique = f"{name} ({n})"
            if unique in taken:  # a name of the header's own: left for its column
                unique = name
        used.add(unique)
        names.append(unique)
    return names
