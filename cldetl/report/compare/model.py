"""The comparison itself: two CLD files read, counted over the months both cover, and matched
by person and event (what the package docstring describes). Presentation (console text, JSON,
the chart) is in `cldetl.report.compare.output`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cldetl.errors import InputError
from cldetl.spec import load_spec
from cldetl.spec.period import ReportingPeriod
from cldetl.validate.csvfile import read_cld_csv

DEFAULT_THRESHOLD_PERCENT = 20.0
EVENT_TYPE = "Event Type"
SERVICE_TYPE = "Service Type"
EVENT_REFERENCE = "Event Reference"
PERSON_ID = "LA Person Unique Identifier"
EVENT_START = "Event Start Date"
EVENT_END = "Event End Date"
PERIOD_START = "Reporting Period Start Date"
PERIOD_END = "Reporting Period End Date"
REQUIRED = (
    EVENT_TYPE,
    EVENT_REFERENCE,
    PERSON_ID,
    EVENT_START,
    EVENT_END,
    PERIOD_START,
    PERIOD_END,
)
# Differ between any two returns by design: not a change to an event.
NOT_COMPARED = (PERIOD_START, PERIOD_END)
OTHER_VALUE = "(not a Release 2 value)"
BLANK_VALUE = "(blank)"
DATE_FORMAT = "%d/%m/%Y"


@dataclass
class Comparison:
    """Two returns compared over the months both cover (see the module docstring).

    by_event_type: event_type, previous, current, change_percent, flagged
    by_event_type_month: event_type, month (YYYY-MM), previous, current, change_percent, flagged
    by_service_type: service_type, previous, current, change_percent, flagged
    field_changes: field, changed_events (events in both files whose field changed)
    person_field_changes: field, changed_people (Person Details fields, by person)
    people, events: appeared, disappeared, changed, unchanged (counts)
    """

    previous_file: str
    current_file: str
    previous_period: ReportingPeriod
    current_period: ReportingPeriod
    months: list[str]
    threshold_percent: float
    by_event_type: pd.DataFrame
    by_event_type_month: pd.DataFrame
    by_service_type: pd.DataFrame
    field_changes: pd.DataFrame
    person_field_changes: pd.DataFrame
    people: dict[str, int]
    events: dict[str, int]
    records: dict[str, dict[str, int]] = field(default_factory=dict)
    columns_only_in: dict[str, list[str]] = field(default_factory=dict)

    @property
    def flagged(self) -> int:
        """How many counts (by event type, by month, by service type) swung too far."""
        return int(
            self.by_event_type["flagged"].sum()
            + self.by_event_type_month["flagged"].sum()
            + self.by_service_type["flagged"].sum()
        )


# --- reading ------------------------------------------------------------------------------------


@dataclass
class _Return:
    name: str
    frame: pd.DataFrame
    period: ReportingPeriod
    start: Any  # datetime64 Series
    end: Any
    undated: int


def _load(path: str | Path) -> _Return:

    table = read_cld_csv(path)
    frame = table.frame
    name = Path(path).name
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name}: cannot be compared: it has no {', '.join(missing)} column"
            f"{'s' if len(missing) > 1 else ''}. Is it a CLD Release 2 file with its header row?"
        )
    frame = frame.fillna("")
    period = ReportingPeriod(
        _period_date(frame, PERIOD_START, name), _period_date(frame, PERIOD_END, name)
    )
    start = pd.to_datetime(frame[EVENT_START].str.strip(), format=DATE_FORMAT, errors="coerce")
    end = pd.to_datetime(frame[EVENT_END].str.strip(), format=DATE_FORMAT, errors="coerce")
    return _Return(name, frame, period, start, end, int(start.isna().sum()))


def _period_date(frame: pd.DataFrame, column: str, name: str) -> date:
    """The file's reporting period date: the value most records carry in `column`."""

    values = frame[column].str.strip()
    values = values[values != ""]
    common = values.value_counts().sort_index(kind="stable")
    parsed = None
    if len(common):
        parsed = pd.to_datetime(common.idxmax(), format=DATE_FORMAT, errors="coerce")
    if parsed is None or pd.isna(parsed):
        raise InputError(
            f"{name}: cannot tell its reporting period: the {column} column is blank or not a "
            "dd/mm/yyyy date on most records."
        )
    return parsed.date()


# --- comparing ----------------------------------------------------------------------------------


def compare_returns(
    previous: str | Path,
    current: str | Path,
    *,
    threshold_percent: float = DEFAULT_THRESHOLD_PERCENT,
) -> Comparison:
    """Compare two CLD files (paths) over the months both cover. Raises InputError when a
    file cannot be read as a CLD file or its reporting period cannot be told."""
    if not threshold_percent > 0:
        raise InputError(f"the swing threshold must be above 0 percent, not {threshold_percent}.")
    old, new = _load(previous), _load(current)
    months = _overlap_months(old.period, new.period)
    labels = _labels()
    if months:
        window = (months[0][1], months[-1][2])
        old_open, new_open = _open_between(old, *window), _open_between(new, *window)
    else:
        old_open = new_open = None
    by_type = _counts(old, new, old_open, new_open, EVENT_TYPE, labels, threshold_percent)
    by_service = _counts(old, new, old_open, new_open, SERVICE_TYPE, labels, threshold_percent)
    by_month = _monthly(old, new, months, labels, threshold_percent)
    compared = [
        c for c in old.frame.columns if c in set(new.frame.columns) and c not in NOT_COMPARED
    ]
    events, field_changes = _matched(
        old, new, old_open, new_open, EVENT_REFERENCE, compared, "changed_events"
    )
    person_fields = [c for c in compared if c in _person_fields()]
    people, person_changes = _matched(
        old, new, old_open, new_open, PERSON_ID, person_fields, "changed_people"
    )
    return Comparison(
        previous_file=old.name,
        current_file=new.name,
        previous_period=old.period,
        current_period=new.period,
        months=[m for m, _, _ in months],
        threshold_percent=float(threshold_percent),
        by_event_type=by_type.rename(columns={"value": "event_type"}),
        by_event_type_month=by_month,
        by_service_type=by_service.rename(columns={"value": "service_type"}),
        field_changes=field_changes,
        person_field_changes=person_changes,
        people=people,
        events=events,
        records={
            "previous": {"all": len(old.frame), "undated": old.undated},
            "current": {"all": len(new.frame), "undated": new.undated},
        },
        columns_only_in={
            "previous": [c for c in old.frame.columns if c not in set(new.frame.columns)],
            "current": [c for c in new.frame.columns if c not in set(old.frame.columns)],
        },
    )


def _overlap_months(a: ReportingPeriod, b: ReportingPeriod) -> list[tuple[str, Any, Any]]:
    """(YYYY-MM, first day, last day) of each month both periods cover."""

    start, end = max(a.start, b.start), min(a.end, b.end)
    if start > end:
        return []
    months = pd.period_range(start, end, freq="M")
    return [
        (
            str(m),
            max(m.start_time.normalize(), pd.Timestamp(start)),
            min(m.end_time.normalize(), pd.Timestamp(end)),
        )
        for m in months
    ]


def _open_between(ret: _Return, first, last):
    """True for each record whose event is open at some time between `first` and `last`."""
    return ((ret.start <= last) & (ret.end.isna() | (ret.end >= first))).to_numpy()


def _labels() -> dict[str, frozenset[str]]:

    spec = load_spec()
    return {name: frozenset(spec.field(name).values) for name in (EVENT_TYPE, SERVICE_TYPE)}


def _person_fields() -> frozenset[str]:

    return frozenset(f.name for f in load_spec().fields if f.section.startswith("Person Details"))


def _shown_values(column: pd.Series, allowed: frozenset[str]) -> pd.Series:
    """Defined-list values as they are; blanks and anything else grouped (never shown)."""
    values = column.str.strip()
    out = values.where(values.isin(allowed), OTHER_VALUE)
    return out.mask(values == "", BLANK_VALUE)


def _counts(old, new, old_open, new_open, column, labels, threshold) -> pd.DataFrame:

    parts = []
    for ret, mask in ((old, old_open), (new, new_open)):
        if mask is None or column not in ret.frame.columns:
            parts.append(pd.Series(dtype="int64"))
            continue
        values = _shown_values(ret.frame[column][mask], labels[column])
        if column == SERVICE_TYPE:
            values = values[values != BLANK_VALUE]  # only services carry a Service Type
        parts.append(values.value_counts())
    return _changes(parts[0], parts[1], threshold)


def _monthly(old, new, months, labels, threshold) -> pd.DataFrame:

    frames = []
    for month, first, last in months:
        counts = [
            _shown_values(
                r.frame[EVENT_TYPE][_open_between(r, first, last)], labels[EVENT_TYPE]
            ).value_counts()
            for r in (old, new)
        ]
        part = _changes(counts[0], counts[1], threshold).rename(columns={"value": "event_type"})
        part.insert(1, "month", month)
        frames.append(part)
    if not frames:
        return (
            _changes(pd.Series(dtype="int64"), pd.Series(dtype="int64"), threshold)
            .rename(columns={"value": "event_type"})
            .assign(month="")[
                ["event_type", "month", "previous", "current", "change_percent", "flagged"]
            ]
        )
    return pd.concat(frames, ignore_index=True)


def _changes(previous: pd.Series, current: pd.Series, threshold: float) -> pd.DataFrame:
    """previous, current, change_percent (NaN from 0) and flagged, by value, sorted."""

    both = pd.concat({"previous": previous, "current": current}, axis=1).fillna(0)
    both = both.astype("int64").sort_index()
    both.index.name = "value"
    frame = both.reset_index()
    prev = frame["previous"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(prev > 0, (frame["current"] - prev) / prev * 100.0, np.nan)
    frame["change_percent"] = np.round(change, 1)
    new_values = (frame["previous"] == 0) & (frame["current"] > 0)
    frame["flagged"] = (np.abs(np.nan_to_num(change)) > threshold) | new_values
    return frame[["value", "previous", "current", "change_percent", "flagged"]]


def _matched(old, new, old_open, new_open, key, fields, counted) -> tuple[dict, pd.DataFrame]:
    """Keys (Event Reference, LA Person Unique Identifier) that appear, disappear or changed
    `fields`, among those with an event open in the shared months in either file.

    Keys and values are factorised to integers once, so a million records cost array
    passes, not Python loops."""

    if old_open is None:
        empty = pd.DataFrame({"field": pd.Series(dtype=str), counted: pd.Series(dtype="int64")})
        return {"appeared": 0, "disappeared": 0, "changed": 0, "unchanged": 0}, empty
    keys = pd.concat([old.frame[key], new.frame[key]], ignore_index=True).str.strip()
    codes, uniques = pd.factorize(keys)
    codes = np.where(np.asarray(uniques == "")[np.maximum(codes, 0)], -1, codes)
    split = len(old.frame)
    old_codes, new_codes = codes[:split], codes[split:]
    n = len(uniques)
    old_all, new_all = _present(old_codes, n), _present(new_codes, n)
    old_open_keys = _present(old_codes[old_open], n)
    new_open_keys = _present(new_codes[new_open], n)
    both = (old_open_keys | new_open_keys) & old_all & new_all
    changed_any = np.zeros(n, dtype=bool)
    rows = []
    for name in fields:
        changed = np.zeros(n, dtype=bool)
        if name != key:
            values = pd.concat([old.frame[name], new.frame[name]], ignore_index=True)
            value_codes = pd.factorize(values)[0]
            changed = _value_sums(old_codes, value_codes[:split], both, n) != _value_sums(
                new_codes, value_codes[split:], both, n
            )
        rows.append((name, int(changed.sum())))
        changed_any |= changed
    counts = {
        "appeared": int((new_open_keys & ~old_all).sum()),
        "disappeared": int((old_open_keys & ~new_all).sum()),
        "changed": int(changed_any.sum()),
        "unchanged": int(both.sum() - changed_any.sum()),
    }
    frame = pd.DataFrame(rows, columns=["field", counted])
    frame[counted] = frame[counted].astype("int64")
    return counts, frame


def _present(codes, n: int):

    seen = np.zeros(n, dtype=bool)
    seen[codes[codes >= 0]] = True
    return seen


def _value_sums(key_codes, value_codes, scope, n: int):
    """Per key, a sum of hashes of the distinct values it carries (keys in `scope` only): equal
    sums mean the same set of values (a key may have several records)."""

    keep = key_codes >= 0
    keep[keep] = scope[key_codes[keep]]
    pairs = pd.DataFrame({"k": key_codes[keep], "v": value_codes[keep]}).drop_duplicates()
    sums = np.zeros(n, dtype=np.uint64)
    np.add.at(sums, pairs["k"].to_numpy(), _mix(pairs["v"].to_numpy()))
    return sums


def _mix(values):
    """splitmix64 of each integer: well-spread 64-bit hashes, so sums rarely collide."""

    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
