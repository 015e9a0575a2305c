"""ASCOF 2B and 2C: new long-term admissions to residential and nursing care, 18-64 and 65+.

Follows ASCOF_measures/Create_ASCOF_2B2C_2425_Onwards.sql (commit 69fe2e4; lists in
cldetl/spec/national_measures.yaml, `ascof_2bc`), section by section:

1. Select data: services of service users, long term residential or nursing, with a known
   birth date (the person's earliest, DHSC's #Birth_Row1: persons.py), alive at the year start,
   whose component names residential or nursing and not short term (a blank component is
   left out: the SQL's NOT LIKE is unknown for it). Age at the event start: FLOOR(days / 365.25).
2. Admissions: such services starting in the year, not ended as self-funded.
3. New admissions: no earlier such service of the person that ended under 365 days before
   this one started, or is still open.
4. One band per person, 18 and over; a person with new admissions in both bands counts in the
   lower (MIN over the band names); the rate is per 100,000 of the band's population.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from cldetl.national.choose import first_that_holds
from cldetl.national.measures.persons import whole_years
from cldetl.national.measures.result import Figure, ratio, records

# The columns of the unique events (with the person details) this measure reads:
# measures() opens only these for it.
READS = (
    "line",
    "person",
    "event_type",
    "Event Start Date",
    "der_end",
    "Client Type",
    "Service Type",
    "Service Component",
    "Event Outcome",
    "person_birth",
    "person_died",
)


def ascof_2bc(
    events: pd.DataFrame,
    year: tuple[date, date],
    population: dict[str, int] | None,
    method: dict,
) -> list[Figure]:
    m = method["ascof_2bc"]
    start, end = (pd.Timestamp(d) for d in year)
    birth, died = events["person_birth"], events["person_died"]
    # The component's words are matched once per distinct component, not per row.
    component = events["Service Component"].astype("category")
    names = component.cat.categories.astype("string")
    has_word = np.zeros(len(names), dtype=bool)
    for word in m["component_words"]:
        has_word |= names.str.contains(word, case=False, regex=False).to_numpy(bool)
    short = names.str.contains(m["component_excluded_word"], case=False, regex=False)
    wanted = np.flatnonzero(has_word & ~short.to_numpy(bool))  # a blank component: neither
    build = (
        events["event_type"].eq("Service").fillna(False)
        & events["Client Type"].eq(m["client_type"]).fillna(False)
        & events["Service Type"].isin(m["service_types"]).fillna(False)
        & birth.notna()
        & (died.isna() | (died >= start).fillna(False))
        & np.isin(component.cat.codes.to_numpy(), wanted)
    )
    rows = events[build]
    age = whole_years(birth[build], rows["Event Start Date"])
    in_year = (rows["Event Start Date"] >= start) & (rows["Event Start Date"] <= end)
    self_funded = rows["Event Outcome"].eq(m["excluded_outcome"]).fillna(False)
    admission = in_year & ~self_funded
    # Section 3: an earlier build service of the same person ending < 365 days before (or open).
    existing = (
        _earlier_recent(
            rows["person"].to_numpy(),
            rows["Event Start Date"].to_numpy(),
            rows["der_end"].to_numpy(),
            np.timedelta64(m["not_new_within_days"], "D"),
        )
        & admission.to_numpy()
    )
    new = admission.to_numpy() & ~existing
    adult = (age >= 18).fillna(False).to_numpy()
    bands = m["bands"]
    label = np.where(
        (age <= bands["2B"]["max"]).fillna(False).to_numpy(),
        bands["2B"]["label"],
        bands["2C"]["label"],
    )
    counted = new & adult
    # One band per person: MIN over band names ('18 to 64' < '65 and above').
    person_band = pd.Series(label[counted], index=rows["person"][counted]).groupby(level=0).min()
    reason = first_that_holds(
        [~in_year.to_numpy(), self_funded.to_numpy(), existing, ~adult],
        [
            "started outside the year",
            "ended as self-funded",
            "not new: an earlier residential or nursing service ended under 365 days before",
            "under 18",
        ],
        default="new admission",
    )
    figures = []
    for code in ("2B", "2C"):
        band = bands[code]["label"]
        people = person_band[person_band == band].index
        numerator = len(people)
        denominator = (population or {}).get(band)
        in_band = counted & rows["person"].isin(people).to_numpy()
        why = np.where(in_band, f"new admission, {band}", reason)
        why = np.where(counted & ~in_band, "counted in the other age band", why)
        figures.append(
            Figure(
                measure=f"ASCOF {code}",
                group=band,
                title=m["title"],
                numerator=numerator,
                denominator=denominator,
                value=ratio(numerator, denominator, m["per"], m["places"]),
                unit="per 100,000",
                cite=m["cite"],
                behind=records(rows, in_band, why),
            )
        )
    return figures


def _earlier_recent(person, starts, ends, window) -> np.ndarray:
    """Per row: does the same person have a row starting strictly earlier that is still open
    or ended less than `window` before this one starts (end > start - window)? Over the rows
    sorted by person and start, the latest end (open as the far future) of the rows before
    this start's first row, per person: whole-array steps, not a loop over people."""
    n = len(starts)
    if n == 0:
        return np.zeros(0, dtype=bool)
    unit = np.datetime_data(starts.dtype)[0]
    start = starts.view(np.int64)
    end = ends.astype(starts.dtype).view(np.int64)
    nat = np.iinfo(np.int64).min
    reach = np.where(end == nat, np.iinfo(np.int64).max, end)
    reach = np.where(start == nat, nat, reach)  # a row with no start is earlier than none
    order = np.lexsort((start, person))
    p, s, r = person[order], start[order], reach[order]
    latest = pd.Series(r).groupby(p).cummax().to_numpy()
    first = np.ones(n, dtype=bool)
    first[1:] = (p[1:] != p[:-1]) | (s[1:] != s[:-1])
    run_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    before = run_start - 1
    valid = (before >= 0) & (s != nat)
    valid[valid] = p[before[valid]] == p[valid]
    prior = np.where(valid, latest[np.maximum(before, 0)], nat)
    limit = s - window.astype(f"timedelta64[{unit}]").view(np.int64)
    out = np.zeros(n, dtype=bool)
    out[order] = valid & (prior > limit)
    return out
