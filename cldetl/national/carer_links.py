"""An unpaid carer's linked person IDs that point to no one in the file, as DHSC reads them.

DHSC's public SQL reads the Adult 1-3 Linked Person_ID fields in one place only:
ASCOF_measures/Create_personal_details_table.sql (commit 7396fab), "Now look for people with
unpaid carer in the carer's fields": #Carers_shell takes the linked IDs of carer rows
(Client_Type 'Carer' or 'Carer known by association', Release 2 'Unpaid carer' and 'Unpaid
carer known by association') whose event overlaps the reporting year (end, open as 9999-01-01,
on or after its start; start on or before its end); #People_With_Unpaid_Carer joins them (an
INNER JOIN) to the LA_Person_Unique_Identifier of the authority's rows; #Has_Unpaid_Carer_Full
sets Has_Unpaid_Carer to 'Yes' for the people found. A link that matches no LA person ID is
dropped by the join: DHSC does nothing else with it, and no published measure reads
Has_Unpaid_Carer. So the preview changes no figure for such links; it reports them (a warning
with the lines), since the person the carer cares for is then unknown to DHSC.

The IDs are compared stripped and ignoring case (SQL Server ignores trailing spaces in `=`; whether
DHSC's database also ignores case, as SQL Server's default collation does, is not public): so a
link is reported only when it matches no LA person ID however it is spelt. Each ID is kept as a
64-bit hash, as the person ID is (national/preview.py `hashed_person`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

LINKED_FIELDS = ("Adult 1 Linked Person_ID", "Adult 2 Linked Person_ID", "Adult 3 Linked Person_ID")
FAR = pd.Timestamp("9999-01-01")


def id_hash(ids: pd.Series) -> pd.Series:
    """An ID as DHSC's join compares it (stripped, case ignored), hashed; NA when blank."""
    text = ids.astype("string").str.strip().str.casefold().replace("", pd.NA)
    known = text.notna().to_numpy()
    hashes = pd.util.hash_array(text.fillna("").to_numpy(dtype=object)).view(np.int64)
    return pd.Series(pd.arrays.IntegerArray(hashes, ~known), index=ids.index)


def links_to_no_one(
    events: pd.DataFrame, year: tuple[date, date], carer_types: list[str]
) -> pd.DataFrame:
    """The carer rows of the year with a linked ID that is no row's LA person ID: line, Event
    Reference and which field (1-3), one row per link."""
    start, end = (pd.Timestamp(d) for d in year)
    people = set(id_hash(events["la_person"]).dropna().tolist())
    carers = (
        events["Client Type"].isin(carer_types).to_numpy()
        & (events["der_end"].fillna(FAR) >= start).to_numpy()
        & (events["Event Start Date"] <= end).fillna(False).to_numpy()
    )
    parts = []
    for slot, name in enumerate(LINKED_FIELDS, start=1):
        if name not in events.columns:
            continue
        linked = events[name]
        loose = carers & linked.notna().to_numpy() & ~linked.isin(people).to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "line": events["line"].to_numpy()[loose],
                    "event_reference": events["event_reference"].to_numpy()[loose],
                    "field": slot,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["line", "event_reference", "field"])
    return pd.concat(parts, ignore_index=True).sort_values(["line", "field"], ignore_index=True)
