"""Person-level values as DHSC's ASCOF code takes them: one value per person and field, by the
rule DHSC's person details table applies to that field.

ASCOF_measures/Create_personal_details_table.sql (DataS-DHSC/ASC-CLD-LA-Dashboard, commit
7396fab) does not take every field the same way. Which rule a column follows, and the lists
the rules read, are data: cldetl/spec/national_measures.yaml `person_details`. A column not
listed there (accommodation status, read by 2E) takes the latest known value. The person is
DHSC's combined person ID: one NHS number under several LA person IDs is one person. Every
rule also ranks by Ref_Period_End_Date DESC (later submissions first); one file has one
reference period, so that key never separates two rows here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cldetl.national.compact import PackedFrame
from cldetl.national.dedup import cleaned
from cldetl.spec import load_spec

FAR = pd.Timestamp("9999-01-01")


@cache
def person_rules() -> dict[str, dict[str, Any]]:
    """national_measures.yaml `person_details.columns`: the rule (and its lists) per column,
    the Release 1 names DHSC's SQL uses mapped to the preview's Release 2 values by the spec."""
    path = resources.files("cldetl").joinpath("spec/national_measures.yaml")
    columns = yaml.safe_load(path.read_text(encoding="utf-8"))["person_details"]["columns"]
    spec = load_spec()
    rules: dict[str, dict[str, Any]] = {}
    for name, rule in columns.items():

        def release2(values: list[str], field: str = name) -> set[str]:
            if not values:
                return set()
            return set(cleaned(pd.Series(values, dtype=object), field, spec))

        read_as = rule.get("read_as")
        rules[name] = {
            "rule": rule["rule"],
            # Values DHSC reads as its unknown, which the preview holds as NA.
            "unknown": release2([read_as["value"], *read_as["from"]]) if read_as else set(),
            "ranked_unknown": release2(rule.get("ranked_unknown", [])),
        }
    return rules


def latest_known_value(
    order: pd.DataFrame, column: str, unknown: Collection[str] = (),
    ranked_unknown: Collection[str] = (),
) -> pd.Series:  # fmt: skip
    """Create_personal_details_table.sql (7396fab), #PSR_Cleaned / #PSR_Row1 / #PSR_Deduped
    (lines 1010-1086), as #Accom_Cleaned / #Accom_Row1 / #Accom_Deduped (lines 87-163) for
    accommodation: known values before unknown ones (a blank, or one of `ranked_unknown`),
    then the latest end date (open: 9999-01-01), then the latest start (DENSE_RANK = 1); when
    those rank-1 rows disagree (COUNT(DISTINCT) > 1, a blank and each value of `unknown` being
    the one value 'Unknown') the person's value is unknown (NA). A person with no known value
    keeps the latest unknown-ranked one: PSR's carer support reason stays a value.

    `order` is sorted by person, then end and start descending."""
    values = order[column]
    if unknown:
        values = values.mask(values.isin(list(unknown)))
    known = values.notna().to_numpy()
    if ranked_unknown:
        known = known & ~values.isin(list(ranked_unknown)).to_numpy()
    # Each person's rows are one run of `order`: per-person answers by run, without grouping
    # (a hash table of every person) or copying the rows.
    person = order["person"].to_numpy()
    starts, sizes = _runs(person)
    any_known = np.logical_or.reduceat(known, starts)  # no rows: no runs, nothing
    candidate = np.flatnonzero(known | ~np.repeat(any_known, sizes))
    del known, any_known
    # Rank 1 is each person's first candidate row (sorted), and the rows equal to it: a missing
    # start included (SQL Server ranks NULL last in DESC, and two NULLs tie), where pandas'
    # "first" would skip it and take an earlier-ending row's start.
    firsts, counts = _runs(person[candidate])
    at = np.repeat(candidate[firsts], counts)
    tied = candidate[
        _same(order["end"].to_numpy(), candidate, at)
        & _same(order["start"].to_numpy(), candidate, at)
    ]
    del candidate, at
    grouped = values.take(tied).groupby(person[tied], sort=False)
    return grouped.first().where(grouped.nunique(dropna=False) == 1)


def _runs(person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of one person begins in `person` (sorted by person), and its length."""
    if not len(person):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]])
    return starts, np.diff(np.r_[starts, len(person)])


def _same(dates: np.ndarray, rows: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Whether each of `rows` has the date of its `firsts` row, two missing ones equal (as
    ORDER BY ranks them)."""
    a, b = dates[rows], dates[firsts]
    return (a == b) | (np.isnat(a) & np.isnat(b))


def earliest_month(order: pd.DataFrame, column: str, **_: Any) -> pd.Series:
    """Create_personal_details_table.sql (7396fab), #Birth_Row1 (lines 762-805): a known birth
    year and month first, then the earliest Der_Birth_Year, then the earliest Der_Birth_Month.
    DHSC holds the year and month only, so two dates in one month are one value and rank-1
    rows never disagree (SELECT DISTINCT); the birth date is the first of that month
    (#OutputTable's Der_Birth_Date). The event dates play no part."""
    born = order[column].to_numpy()
    month = born.astype("datetime64[M]").view(np.int64)
    # The earliest known month of each person's run; NaT (the smallest int64) only when none.
    month = np.where(np.isnat(born), np.iinfo(np.int64).max, month)
    return _per_run(order, np.minimum, month, "datetime64[M]").astype(born.dtype)


def latest_date(order: pd.DataFrame, column: str, **_: Any) -> pd.Series:
    """Create_personal_details_table.sql (7396fab), #Death_Row1 (lines 811-839): a known date of
    death first, then the latest Date_of_Death; rank-1 rows are one date (SELECT DISTINCT).
    The event dates play no part."""
    died = order[column].to_numpy()
    # NaT is the smallest int64: the latest known date of each run, NaT only when none.
    return _per_run(order, np.maximum, died.view(np.int64), died.dtype)


def _per_run(order: pd.DataFrame, ufunc: np.ufunc, values: np.ndarray, dtype) -> pd.Series:
    """`ufunc` reduced over each person's run of int64 `values` (dates as integers; the int64
    maximum read back as NaT), by person."""
    person = order["person"].to_numpy()
    starts, _ = _runs(person)
    reduced = ufunc.reduceat(values, starts)  # no rows: no runs, nothing
    reduced = np.where(reduced == np.iinfo(np.int64).max, np.iinfo(np.int64).min, reduced)
    return pd.Series(reduced.view(dtype), index=pd.Index(person[starts]))


RULES: dict[str, Callable[..., pd.Series]] = {
    "latest_known": latest_known_value,
    "earliest_month": earliest_month,
    "latest_date": latest_date,
}


def person_details(
    events: pd.DataFrame | PackedFrame,
    columns: list[str],
    unknown: Mapping[str, Collection[str]] | None = None,
    person: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per person (the index), each of `columns` by its rule (person_rules(); NA when
    unknown). The events are sorted once (person, latest end, latest start: a missing start
    last), by one stable permutation of the few columns read (categories stay categories).
    `unknown`: for a column the rules do not list, the values read as unknown (a measure's
    own list: 2E's accommodation statuses). `person`: the events' person as numbers, in
    place of their `person` column. `events` packed: each column is opened while read."""
    person = events["person"].to_numpy() if person is None else person
    end = events["der_end"].fillna(FAR).to_numpy()
    start = events["Event Start Date"].to_numpy()
    order = np.lexsort((_descending(start), _descending(end), person))
    frame = pd.DataFrame({"person": person[order], "end": end[order], "start": start[order]})
    del end
    # Sorted by person: each person's first row begins a run (no hash table of every person).
    people = pd.Index(frame["person"].to_numpy()[_runs(frame["person"].to_numpy())[0]])
    rules = person_rules()
    out = pd.DataFrame(index=people)
    for c in columns:  # one column sorted at a time, let go once its rule has read it
        column = events[c]
        frame[c] = column.take(order).to_numpy() if not isinstance(
            column.dtype, pd.CategoricalDtype) else column.array.take(order)  # fmt: skip
        del column
        rule = rules.get(c) or {
            "rule": "latest_known",
            "unknown": set((unknown or {}).get(c, ())),
            "ranked_unknown": set(),
        }
        kw = {k: v for k, v in rule.items() if k != "rule"}
        out[c] = RULES[rule["rule"]](frame, c, **kw).reindex(people)
        del frame[c]
    return out


def _descending(dates: np.ndarray) -> np.ndarray:
    """A sort key putting the latest date first and a missing one (NaT) last, as
    sort_values(ascending=False) does."""
    values = dates.view(np.int64)
    return np.where(np.isnat(dates), np.iinfo(np.int64).max, -values)


def whole_years(born: pd.Series, at: pd.Timestamp | pd.Series) -> pd.Series:
    """FLOOR(DATEDIFF(DAY, birth, at) / 365.25), as the ASCOF SQL ages people."""
    days = (at - born).dt.days
    return np.floor(days / 365.25).astype("Int64")
