"""Person-level rules as DHSC's SQL applies them, each table worked out by hand from the lines
cited (DataS-DHSC/ASC-CLD-LA-Dashboard).

- The person: Main_tables/stored_procedures/create_GetDerivedFields_procedure.sql (e6f5749),
  lines 336-342: the (traced) NHS number if present, else CONCAT(LA_Code, '_', LA person ID);
  lines 264-269: a row with neither is dropped. One NHS number under several LA person IDs is
  one person; the same LA person ID under two authorities is two.
- The literal text NULL: the same file, lines 42-113: NULLIF(field, 'NULL') in the fields
  listed (SQL Server's default collation ignores case), so 'NULL' reads as blank.
- The latest known value per person: ASCOF_measures/Create_personal_details_table.sql (7396fab),
  "Get latest accommodation status": #Accom_Cleaned marks unknown values, #Accom_Row1 keeps the
  rows of DENSE_RANK 1 over (known DESC, Ref_Period_End_Date DESC (one file: one period),
  Der_Event_End_Date DESC with an open event as 9999-01-01 (#CLD's COALESCE), Event_Start_Date
  DESC), and #Accomm_Duplicates / #Accom_Deduped make a person whose rank-1 rows disagree
  (COUNT(DISTINCT) > 1) 'Unknown'.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cldetl.national.dedup import null_text_blank, person_id
from cldetl.national.measures.persons import person_details


@pytest.mark.parametrize(
    ("nhs", "la_person", "la_code", "person"),
    [
        ("9434765919", "P1", "503", "N:9434765919"),  # the NHS number (lines 339-340)
        ("9434765919", "P2", "503", "N:9434765919"),  # another LA ID, same NHS number: one person
        ("", "P1", "503", "L:503_P1"),  # no NHS number: LA code and LA ID (line 341)
        ("", "P1", "504", "L:504_P1"),  # the same LA ID of another authority: another person
        (" ", " P1 ", "503", "L:503_P1"),  # blanks around the ID are not part of it
        ("", "", "503", None),  # neither: no person (the row is dropped, lines 264-269)
    ],
)
def test_the_person_is_the_nhs_number_else_the_la_person_id(nhs, la_person, la_code, person):
    got = person_id(pd.Series([nhs]), pd.Series([la_person]), pd.Series([la_code])).iloc[0]
    assert (None if pd.isna(got) else got) == person


@pytest.mark.parametrize(
    ("text", "blank"),
    [("NULL", True), ("null", True), (" NULL ", True), ("", True), ("NULLS", False),
     ("Self-funder", False)],
)  # fmt: skip
def test_the_text_null_reads_as_blank(text, blank):
    assert bool(pd.isna(null_text_blank(pd.Series([text]), "NULL").iloc[0])) == blank


# Each person's rows: (start, end or '' for open, value or None for unknown) -> latest known.
CASES = [
    # Known values first (Der_Accommodation_Known DESC): a later unknown does not win.
    ("known before unknown",
     [("2025-01-01", "", None), ("2024-01-01", "2024-12-31", "A")], "A"),
    # An open event counts as ending 9999-01-01: it is the latest.
    ("open is latest",
     [("2024-01-01", "", "A"), ("2025-01-01", "2025-06-30", "B")], "A"),
    ("latest end", [("2024-01-01", "2025-03-31", "A"), ("2024-06-01", "2025-02-28", "B")], "A"),
    ("same end, latest start",
     [("2024-01-01", "2025-03-31", "A"), ("2024-06-01", "2025-03-31", "B")], "B"),
    # Rank-1 rows that disagree: 'Unknown' (the preview's unknown, NA).
    ("tie disagrees",
     [("2024-06-01", "2025-03-31", "A"), ("2024-06-01", "2025-03-31", "B")], None),
    ("tie agrees", [("2024-06-01", "2025-03-31", "A"), ("2024-06-01", "2025-03-31", "A")], "A"),
    # Only the rank-1 rows count: an older disagreement does not.
    ("older conflict",
     [("2024-06-01", "2025-03-31", "A"), ("2024-01-01", "2024-03-31", "B"),
      ("2024-01-01", "2024-03-31", "C")], "A"),
    ("all unknown", [("2024-06-01", "2025-03-31", None), ("2024-01-01", "", None)], None),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_the_latest_known_value_per_person(rows, expected):
    events = pd.DataFrame(
        {
            "person": [7] * len(rows),
            "Event Start Date": pd.to_datetime([r[0] for r in rows]),
            "der_end": pd.to_datetime([r[1] or None for r in rows]),
            "Accommodation Status": pd.Series([r[2] for r in rows], dtype=object),
        }
    )
    got = person_details(events, ["Accommodation Status"]).loc[7, "Accommodation Status"]
    assert (None if pd.isna(got) else got) == expected
