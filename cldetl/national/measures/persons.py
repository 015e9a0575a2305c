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

from collections.abc import Callable, Collection
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

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
    known = values.notna()
    if ranked_unknown:
        known &= ~values.isin(list(ranked_unknown))
    any_known = known.groupby(order["person"], sort=False).transform("any")
    candidate = (known | ~any_known).to_numpy()
    rows = order.loc[candidate, ["person", "end", "start"]]
    rows[column] = values[candidate]
    # Rank 1 is each person's first row (sorted), and the rows equal to it: a missing start
    # included (SQL Server ranks NULL last in DESC, and two NULLs tie), where pandas' "first"
    # would skip it and take an earlier-ending row's start.
    person = rows["person"].to_numpy()
    head = np.r_[True, person[1:] != person[:-1]] if len(person) else np.zeros(0, dtype=bool)
    at = np.flatnonzero(head)[np.cumsum(head) - 1]
    end, start = rows["end"].to_numpy(), rows["start"].to_numpy()
    tied = rows[_same(end, end[at]) & _same(start, start[at])]
    grouped = tied.groupby("person", sort=False)[column]
    return grouped.first().where(grouped.nunique(dropna=False) == 1)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Equal dates, two missing ones equal (as ORDER BY ranks them)."""
    return (a == b) | (np.isnat(a) & np.isnat(b))


def earliest_month(order: pd.DataFrame, column: str, **_: Any) -> pd.Series:
    """Create_personal_details_table.sql (7396fab), #Birth_Row1 (lines 762-805): a known birth
    year and month first, then the earliest Der_Birth_Year, then the earliest Der_Birth_Month.
    DHSC holds the year and month only, so two dates in one month are one value and rank-1
    rows never disagree (SELECT DISTINCT); the birth date is the first of that month
    (#OutputTable's Der_Birth_Date). The event dates play no part."""
    born = order[column]
    month = born - pd.to_timedelta(born.dt.day - 1, unit="D")
    return month.groupby(order["person"], sort=False).min()


def latest_date(order: pd.DataFrame, column: str, **_: Any) -> pd.Series:
    """Create_personal_details_table.sql (7396fab), #Death_Row1 (lines 811-839): a known date of
    death first, then the latest Date_of_Death; rank-1 rows are one date (SELECT DISTINCT).
    The event dates play no part."""
    return order[column].groupby(order["person"], sort=False).max()


RULES: dict[str, Callable[..., pd.Series]] = {
    "latest_known": latest_known_value,
    "earliest_month": earliest_month,
    "latest_date": latest_date,
}


def person_details(events: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per person (the index), each of `columns` by its rule (person_rules(); NA when
    unknown). The events are sorted once (person, latest end, latest start: a missing start
    last), by one stable permutation of the few columns read (categories stay categories)."""
    person = events["person"].to_numpy()
    end = events["der_end"].fillna(FAR).to_numpy()
    start = events["Event Start Date"].to_numpy()
    order = np.lexsort((_descending(start), _descending(end), person))
    frame = pd.DataFrame({"person": person[order], "end": end[order], "start": start[order]})
    for c in columns:
        frame[c] = events[c].take(order).to_numpy() if not isinstance(
            events[c].dtype, pd.CategoricalDtype) else events[c].array.take(order)  # fmt: skip
    people = pd.Index(pd.unique(frame["person"].to_numpy()))
    rules = person_rules()
    out = pd.DataFrame(index=people)
    for c in columns:
        rule = rules.get(c, {"rule": "latest_known", "unknown": set(), "ranked_unknown": set()})
        kw = {k: v for k, v in rule.items() if k != "rule"}
        out[c] = RULES[rule["rule"]](frame, c, **kw).reindex(people)
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


def latest_known(events: pd.DataFrame, column: str) -> pd.Series:
    """person_details for one column."""
    return person_details(events, [column])[column]
