"""Person-level values as DHSC's ASCOF code takes them: the latest known value per person.

ASCOF_measures/Create_personal_details_table.sql (commit 280a89f, "Get latest accommodation
status"): per person, known values before unknown ones, then the latest end date (an open event
counts as 9999-01-01), then the latest start; when the rows that tie at the top disagree, the
value is unknown. The same rule gives each person one birth date, date of death and primary
support reason here. The person is DHSC's combined person ID: one NHS number under several LA
person IDs is one person.

The events are sorted once (person, latest end, latest start); each field then takes, per
person, its known values on the first (end, start) that has one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FAR = pd.Timestamp("9999-01-01")


def person_details(events: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per person (the index), the latest known value of each of `columns` (NA when unknown,
    or when the rows on its latest date disagree)."""
    order = pd.DataFrame(
        {
            "person": events["person"].to_numpy(),
            "end": events["der_end"].fillna(FAR).to_numpy(),
            "start": events["Event Start Date"].to_numpy(),
        }
    )
    for c in columns:
        order[c] = events[c].to_numpy()
    order = order.sort_values(["person", "end", "start"], ascending=[True, False, False])
    people = pd.Index(order["person"].unique())
    out = pd.DataFrame(index=people)
    for c in columns:
        known = order[order[c].notna()]
        if known.empty:
            out[c] = pd.Series(np.nan, index=people, dtype=object)
            continue
        top = known.groupby("person", sort=False)[["end", "start"]].transform("first")
        tied = known[(known["end"].to_numpy() == top["end"].to_numpy())
                     & (known["start"].to_numpy() == top["start"].to_numpy())]  # fmt: skip
        grouped = tied.groupby("person", sort=False)[c]
        value = grouped.first().where(grouped.nunique() == 1)
        out[c] = value.reindex(people)
    return out


def latest_known(events: pd.DataFrame, column: str) -> pd.Series:
    """person_details for one column."""
    return person_details(events, [column])[column]


def whole_years(born: pd.Series, at: pd.Timestamp | pd.Series) -> pd.Series:
    """FLOOR(DATEDIFF(DAY, birth, at) / 365.25), as the ASCOF SQL ages people."""
    days = (at - born).dt.days
    return np.floor(days / 365.25).astype("Int64")
