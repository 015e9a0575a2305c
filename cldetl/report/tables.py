"""Tables and dates as the page shows them: text cells (numbers grouped, missing blank,
flags as 'check'), cut to a readable length, with facts common to every row (LA code,
reporting period) pulled out and stated once above the table instead of on each row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from pandas import NA

from cldetl.report.findings import clean_text

TABLE_ROWS = 200
LONG_WORD = 24  # characters: a word this long is broken where it must be
CELL_CHARS = 120
# Columns the transform stamps on every accounting row (so files of many runs can be stacked):
# on a page about one run they are the same on every row, so they are said once.
STAMPED = {"la_code": "LA code", "period_start": "period start", "period_end": "period end"}


@dataclass
class ShownTable:
    """A table as the page shows it: text cells, which columns are numbers, rows left out.

    stated: what every row shares, said once above the table ("LA code 999, ...").
    more_text: what to say of the rows left out (default: a count of them).
    long: columns holding a word too long for a line (a filter, a code): the page may break
        those anywhere, and only those, so that the table fits the page.
    """

    headers: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)
    more: int = 0
    stated: str = ""
    more_text: str = ""
    long: set[int] = field(default_factory=set)


def format_date(value: Any) -> str:
    """A date as people write it (1 October 2024); a time of day too for a datetime."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        stamp = f"{value.day} {value:%B %Y, %H:%M}"
        return stamp + (f" {value.tzname()}" if value.tzinfo else "")
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    return str(value)


def period_text(start: Any, end: Any) -> str:
    first, last = format_date(start), format_date(end)
    if first and last:
        return f"{first} to {last}"
    return last or first or "period not known"


def period_label(period: Any) -> str:
    if hasattr(period, "start") and hasattr(period, "end"):
        return period_text(period.start, period.end)
    return format_date(period)


def format_month(value: Any) -> str:
    if isinstance(value, date):
        return f"{value:%B %Y}"
    text = str(value)
    try:
        return f"{datetime.strptime(text[:7], '%Y-%m'):%B %Y}"
    except ValueError:
        return text


def cells(values: list[Any]) -> list[str]:
    """Values as the page shows them: missing as blank, numbers with thousands separators,
    flags as 'check' or blank."""

    out = []
    for v in values:
        if v is None or v is NA or (isinstance(v, float) and v != v):
            out.append("")
        elif isinstance(v, bool):
            out.append("check" if v else "")
        elif isinstance(v, float):
            out.append(f"{v:,.1f}")
        elif isinstance(v, int) and not isinstance(v, bool):
            out.append(f"{v:,}")
        else:
            out.append(str(v))
    return out


def _stated_once(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The stamped columns that hold one value on every row, dropped and said once."""
    said, drop = [], []
    for column, name in STAMPED.items():
        if column in frame.columns and frame[column].nunique(dropna=False) <= 1:
            drop.append(column)
            if len(frame):
                said.append(f"{name} {format_date(frame[column].iloc[0])}")
    return frame.drop(columns=drop), ("Every row: " + ", ".join(said) + ".") if said else ""


def shown_table(frame: pd.DataFrame | None, limit: int = TABLE_ROWS) -> ShownTable | None:
    """Any small table (unmapped codes, reconciliation, comparison parts) for the page."""

    if frame is None:
        return None
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    frame, stated = _stated_once(frame)
    head = frame.head(limit)
    numeric = {
        i
        for i, c in enumerate(head.columns)
        if pd.api.types.is_numeric_dtype(head[c].dtype)
        and not pd.api.types.is_bool_dtype(head[c].dtype)
    }
    texts = {
        c: clean_text(pd.Series(cells(head[c].tolist()), dtype=object), CELL_CHARS)
        for c in head.columns
    }
    rows = [list(r) for r in zip(*(texts[c].tolist() for c in head.columns), strict=True)]
    headers = [str(c).replace("_", " ").capitalize() for c in head.columns]
    return ShownTable(
        headers, rows, numeric, max(len(frame) - limit, 0), stated, long=long_columns(rows)
    )


def long_columns(rows: list[list[str]]) -> set[int]:
    """The columns where some cell holds a word of LONG_WORD characters or more."""
    return {
        i
        for row in rows
        for i, cell in enumerate(row)
        if any(len(word) >= LONG_WORD for word in cell.split())
    }
