"""The measures for people and programs: text, JSON, the records CSV, and last quarter.

A figure that moves more than the comparison threshold since the previous file is flagged
with the records that moved it: those counted now and not then, and those counted then and not
now (by Event Reference and LA person ID; no personal field is shown).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cldetl.display import shown
from cldetl.national.measures.result import OPTIONAL_RECORD_COLUMNS, RECORD_COLUMNS, Figure

# The start of the reason a waiting time is left out when DHSC's flag would decide it.
CONVERSATION_WORDS = "depends on DHSC's conversation flag"
# The group of a measure's records that fall in none of its figures (Figure.unplaced).
IN_NO_FIGURE = "in no figure"


@dataclass
class Movement:
    """One figure against the previous file's."""

    figure: Figure
    previous: Figure | None
    change_percent: float | None
    flagged: bool
    joined: pd.DataFrame  # records counted in one file and not the other
    left: pd.DataFrame


def _key(f: Figure) -> tuple[str, str]:
    return f.measure, f.group


def _counted(f: Figure) -> set[tuple[str, str]]:
    rows = f.records[f.records["counted"]]
    return set(zip(rows["event_reference"].astype(str), rows["la_person"].astype(str), strict=True))


def compare(current: list[Figure], previous: list[Figure], threshold: float) -> list[Movement]:
    """Each current figure against the same measure and group last quarter."""
    before = {_key(f): f for f in previous}
    out = []
    for f in current:
        p = before.get(_key(f))
        now = f.value if f.value is not None else f.numerator
        then = None if p is None else (p.value if p.value is not None else p.numerator)
        change = None
        if then not in (None, 0) and now is not None:
            change = round((now - then) / then * 100, 1)
        flagged = change is not None and abs(change) > threshold
        joined = left = pd.DataFrame(columns=["event_reference", "la_person"])
        if p is not None:
            a, b = _counted(f), _counted(p)
            joined = pd.DataFrame(sorted(a - b), columns=["event_reference", "la_person"])
            left = pd.DataFrame(sorted(b - a), columns=["event_reference", "la_person"])
        out.append(Movement(f, p, change, flagged, joined, left))
    return out


def measures_json(
    figures: list[Figure],
    not_computable: dict[str, str],
    movements: list[Movement] | None,
    records: bool = False,
) -> dict:
    """Every figure with its records counted by reason; each record itself only when
    `records` (a large file's records belong in the records CSV)."""
    out = {
        "figures": [f.as_dict(records) for f in figures],
        "not_computable": not_computable,
    }
    if movements is not None:
        out["against_previous"] = [
            {
                "measure": m.figure.measure,
                "group": m.figure.group,
                "previous_numerator": None if m.previous is None else m.previous.numerator,
                "previous_value": None if m.previous is None else m.previous.value,
                "change_percent": m.change_percent,
                "flagged": m.flagged,
                "counted_now_not_before": m.joined.to_dict(orient="records"),
                "counted_before_not_now": m.left.to_dict(orient="records"),
            }
            for m in movements
        ]
    return out


def measures_text(
    figures: list[Figure],
    not_computable: dict[str, str],
    movements: list[Movement] | None = None,
    limit: int = 5,
) -> str:
    """One line per figure (numerator / denominator = value), the records counted, and the
    movement since the previous file when given."""
    lines = ["Measures DHSC will publish from this file:"]
    if not figures:
        lines.append("  none: DHSC derives no reporting period, so it would not select the file")
    moved = {(m.figure.measure, m.figure.group): m for m in movements or []}
    # A measure with records in no figure says its flagged ones once, over all its records.
    whole = {f.measure for f in figures if f.unplaced is not None}
    for f in figures:
        if f.unit.startswith("per") or f.unit == "%":
            denominator = "no population" if f.denominator is None else f"{f.denominator:,}"
            lines.append(
                f"  {f.measure} ({f.group}): {f.numerator:,} / {denominator} = {f.value_text}"
            )
        else:  # a median of the numerator's records
            lines.append(f"  {f.measure} ({f.group}): {f.numerator:,} counted, {f.value_text}")
        counted = f.records[f.records["counted"]]
        refs = ", ".join(shown(str(x), 40) for x in counted["event_reference"].head(limit))
        more = f" ... and {len(counted) - limit} more" if len(counted) > limit else ""
        if refs:
            lines.append(f"      counted: {refs}{more}")
        if f.unplaced is not None:
            lines.append(f"      {IN_NO_FIGURE} of the measure: {len(f.unplaced):,} record(s)")
            mine = [g.behind for g in figures if g.measure == f.measure] + [f.unplaced]
            flagged = sum(_flagged(b) for b in mine)
        else:
            flagged = 0 if f.measure in whole else _flagged(f.behind)
        if flagged:
            lines.append(f"      left out, depending on DHSC's conversation flag: {flagged}")
        m = moved.get((f.measure, f.group))
        if m is not None and m.previous is not None:
            note = "" if m.change_percent is None else f" ({m.change_percent:+}%)"
            flag = "  MOVED MORE THAN THE THRESHOLD" if m.flagged else ""
            lines.append(f"      last quarter: {m.previous.numerator:,}{note}{flag}")
            if m.flagged:
                lines.append(
                    f"      {len(m.joined)} record(s) counted now and not before, "
                    f"{len(m.left)} counted before and not now"
                )
    for code, why in not_computable.items():
        lines.append(f"  {code}: {why}")
    return "\n".join(lines) + "\n"


def _flagged(behind: pd.DataFrame) -> int:
    """Records left out because DHSC's conversation flag would decide them."""
    reasons = behind["reason"].astype("category")
    words = reasons.cat.categories.astype(str).str.startswith(CONVERSATION_WORDS)
    return int(np.isin(reasons.cat.codes, np.flatnonzero(words)).sum())


def records_csv(figures: list[Figure]) -> str:
    """Every figure's records, with the measure and group, for a spreadsheet; a measure's
    records in none of its figures follow its first figure, once, as the group 'in no
    figure'."""
    parts = []
    for f in figures:
        parts.append(f.records.assign(measure=f.measure, group=f.group))
        if f.unplaced is not None:
            parts.append(f.unplaced_records.assign(measure=f.measure, group=IN_NO_FIGURE))
    optional = [c for c in OPTIONAL_RECORD_COLUMNS if any(c in p.columns for p in parts)]
    columns = ["measure", "group", *RECORD_COLUMNS, *optional]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    out = io.StringIO()
    table[columns].to_csv(out, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return out.getvalue()
