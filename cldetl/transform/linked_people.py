"""Linked people (guidance: Adult 1/2/3 Linked Person_ID): only adults known to the authority,
at most three per row, and a report of every one left out with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cldetl.transform.filters import as_text, member_of
from cldetl.transform.person_details import PERSON
from cldetl.transform.sources import KEY

if TYPE_CHECKING:
    import pandas as pd

from cldetl.transform.columns import BEYOND_THREE, LINKED, LINKED_FIELDS, NOT_KNOWN, RULE, SOURCE


def _linked_ids(records: pd.DataFrame, columns: list[str], lists: list[str] = ()) -> pd.Series:
    """Every person ID the `linked_people` columns name, in order, ';'-separated: a column may
    hold one ID, several separated by ';', or be a `list` column (every person a carer cares
    for, as a template aggregates them)."""

    if not columns:
        return pd.Series("", index=records.index, dtype="string")

    def text(column: str) -> pd.Series:
        if column not in lists:
            return as_text(records[column]).fillna("")
        items = as_text(records[column].explode()).fillna("")
        joined = items.groupby(level=0, sort=False).agg(";".join)
        return joined.reindex(records.index).fillna("").astype("string")

    parts = [text(c) for c in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + ";" + part
    return joined.astype("string")


def _linked_people(rows: pd.DataFrame, known_people: pd.Series) -> pd.DataFrame:
    """Fill Adult 1/2/3 Linked Person_ID by the guidance's rule: "up to three adults cared for
    by the unpaid carer, but only where they are known to the local authority, i.e. they are a
    service user in CLD". Known to the LA: in the person source (their own service-user rows
    may fall in other periods). Linked IDs not known, and known ones beyond the third (in
    mapping order), are returned (row index, linked ID, reason) to be reported."""

    empty = pd.DataFrame({"_index": pd.Series(dtype="int64"), "linked": [], "reason": []})
    if LINKED not in rows:
        return empty
    linked = rows[LINKED].fillna("")
    named = linked.str.strip(";").ne("")
    if not named.any():
        return empty
    # Only rows that name someone are split (the others hold nothing but separators).
    ids = linked[named].str.split(";").explode().str.strip()
    ids = ids[ids.notna() & ids.ne("")]
    frame = pd.DataFrame({"_index": ids.index, "linked": ids.to_numpy()})
    own = rows[PERSON].astype("string").reindex(frame["_index"]).to_numpy()
    frame = frame[frame["linked"].to_numpy() != own]
    frame = frame.drop_duplicates(["_index", "linked"])
    known = member_of(frame["linked"].astype("string"), known_people.astype("string"))
    frame = frame.assign(reason=pd.Series(NOT_KNOWN, index=frame.index).where(~known, ""))
    kept = frame[known.to_numpy()].copy()
    kept["slot"] = kept.groupby("_index").cumcount()
    frame.loc[kept.index[kept["slot"] >= 3], "reason"] = BEYOND_THREE
    for slot, field in enumerate(LINKED_FIELDS):
        chosen = kept[kept["slot"] == slot].set_index("_index")["linked"]
        rows.loc[named, field] = chosen.reindex(rows.index[named]).astype("string").to_numpy()
    return frame[frame["reason"].ne("")].reset_index(drop=True)


def _linked_left_out_report(rows: pd.DataFrame, left_out: pd.DataFrame) -> pd.DataFrame:
    """linked_people_left_out: the row (reference, person, event), the linked ID and why."""

    columns = ["event_reference", "person_id", "client_type", "event_type", "source", "source_key"]
    columns += ["rule", "linked_person_id", "reason"]
    if left_out.empty:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
    at = rows.loc[left_out["_index"].to_numpy()]
    return pd.DataFrame(
        {
            "event_reference": at["Event Reference"].astype("string").fillna("").to_numpy(),
            "person_id": at[PERSON].astype("string").to_numpy(),
            "client_type": at["Client Type"].astype("string").fillna("").to_numpy(),
            "event_type": at["Event Type"].astype("string").fillna("").to_numpy(),
            "source": at[SOURCE].to_numpy(),
            "source_key": at[KEY].astype("string").to_numpy(),
            "rule": at[RULE].to_numpy(),
            "linked_person_id": left_out["linked"].to_numpy(),
            "reason": left_out["reason"].to_numpy(),
        }
    ).astype("string")
