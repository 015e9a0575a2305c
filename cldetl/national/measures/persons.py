"""Person-level values as DHSC's ASCOF code takes them: the latest known value per person.

ASCOF_measures/Create_personal_details_table.sql (commit 280a89f, "Get latest accommodation
status"): per person, known values before unknown ones, then the latest end date (an open event
counts as 9999-01-01), then the latest start; when the rows that tie at the top disagree, the
value is unknown. The same rule gives each person one birth date and one date of death here.
The person is DHSC's combined person ID: one NHS number under several LA person IDs is one
person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FAR = pd.Timestamp("9999-01-01")


def latest_known(events: pd.DataFrame, column: str) -> pd.Series:
    """Per person (the index), the latest known value of `column`, NA when unknown or in
    conflict on the latest date."""
    if events.empty:
        return pd.Series(dtype=object)
    frame = pd.DataFrame(
        {
            "person": events["person"].to_numpy(),
            "value": events[column].to_numpy(),
            "known": events[column].notna().to_numpy(),
            "end": events["der_end"].fillna(FAR).to_numpy(),
            "start": events["Event Start Date"].to_numpy(),
        }
    )
    frame = frame.sort_values(["person", "known", "end", "start"], ascending=False)
    top = frame.groupby("person", sort=False)[["known", "end", "start"]].transform("first")
    tied = frame[(frame[["known", "end", "start"]] == top).all(axis=1)]
    distinct = tied.groupby("person")["value"].nunique(dropna=True)
    first = tied.groupby("person")["value"].first()
    return first.where(distinct == 1)


def whole_years(born: pd.Series, at: pd.Timestamp | pd.Series) -> pd.Series:
    """FLOOR(DATEDIFF(DAY, birth, at) / 365.25), as the ASCOF SQL ages people."""
    days = (at - born).dt.days
    return np.floor(days / 365.25).astype("Int64")
