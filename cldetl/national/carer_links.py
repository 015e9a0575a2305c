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
link is reported only when it matches no LA person ID however it is spelt. A batch keeps each
link as that comparable text (`comparable_ids`; blank on almost every row, so it costs little);
the LA person IDs are made comparable a slice of rows at a time, once per distinct ID of the
slice, and only when a carer row of the year has a link.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldetl.national.compact import PackedFrame

LINKED_FIELDS = ("Adult 1 Linked Person_ID", "Adult 2 Linked Person_ID", "Adult 3 Linked Person_ID")
FAR = pd.Timestamp("9999-01-01")


def comparable_ids(ids: pd.Series) -> pd.Series:
    """An ID as DHSC's join compares it (stripped, case ignored); NA when blank."""
    text = ids.astype("string").str.strip().str.casefold()
    return text.mask(text.eq(""))


def _matched(ids: pd.Series, wanted: pa.Array, slice_rows: int = 1 << 17) -> pa.Array:
    """The values of `wanted` (comparable links) that some ID of `ids` matches, comparably."""
    column = pa.array(ids.astype("string"), type=pa.large_string())
    found = []
    for start in range(0, len(column), slice_rows):
        distinct = pc.unique(column.slice(start, slice_rows))
        comparable = comparable_ids(pd.Series(pd.arrays.ArrowStringArray(distinct))).dropna()
        at = pa.chunked_array(pa.array(comparable, type=pa.large_string()))  # empty: 0 chunks
        found.append(pc.filter(at, pc.is_in(at, value_set=wanted)))
    return pc.unique(pa.chunked_array(found, type=pa.large_string()))


def links_to_no_one(
    events: pd.DataFrame | PackedFrame, year: tuple[date, date], carer_types: list[str]
) -> pd.DataFrame:
    """The carer rows of the year with a linked ID that is no row's LA person ID: line, Event
    Reference and which field (1-3), one row per link. `events` packed (the preview's): each
    column is opened when read and let go after it, so only one is open at a time beside the
    LA person IDs."""
    start, end = (pd.Timestamp(d) for d in year)
    carers = events["Client Type"].isin(carer_types).to_numpy()
    carers = carers & (events["der_end"].fillna(FAR) >= start).to_numpy()
    carers = carers & (events["Event Start Date"] <= end).fillna(False).to_numpy()
    fields = [name for name in LINKED_FIELDS if name in events.columns]
    rows = np.flatnonzero(carers)
    # Only the carer rows' links are taken out of the columns (as text they are a few; the
    # whole column as Python strings would be tens of MiB at 1,000,000 rows).
    linked = {name: events[name].take(rows) for name in fields}
    if not any(v.notna().any() for v in linked.values()):
        return pd.DataFrame(columns=["line", "event_reference", "field"])
    # Which of the links some LA person ID matches, the IDs taken a slice at a time: each
    # slice's distinct IDs made comparable and looked up among the links (a few), so no
    # hash table of every distinct ID is built (about 70 MiB at 1,000,000 rows).
    wanted = pa.array(
        pd.unique(np.concatenate([v.dropna().to_numpy(dtype=object) for v in linked.values()])),
        type=pa.large_string(),
    )
    people = _matched(events["la_person"], wanted)
    parts = []
    for slot, name in enumerate(fields, start=1):
        values = linked[name].to_numpy(dtype=object, na_value=None)
        known = pd.notna(values)
        found = pc.is_in(pa.array(values, type=pa.large_string()), value_set=people)
        loose = rows[known & ~found.to_numpy(zero_copy_only=False)]
        parts.append(
            pd.DataFrame(
                {
                    "line": events["line"].to_numpy()[loose],
                    "event_reference": events["event_reference"].take(loose).to_numpy(),
                    "field": slot,
                }
            )
        )
    return pd.concat(parts, ignore_index=True).sort_values(["line", "field"], ignore_index=True)
