"""Each person's birth date, date of death and primary support reason as DHSC's person details
table takes them: ASCOF_measures/Create_personal_details_table.sql (DataS-DHSC/ASC-CLD-LA-
Dashboard, commit 7396fab; line numbers of that file), worked out by hand. Every rule also
ranks by Ref_Period_End_Date DESC; one file has one reference period, so it never decides here.

- Birth, #Birth_Row1 (lines 762-805): DENSE_RANK over (year and month known DESC,
  Ref_Period_End_Date DESC, Der_Birth_Year ASC, Der_Birth_Month ASC): the earliest year and
  month, whatever the events' dates; SELECT DISTINCT of the rank-1 year and month, so two dates
  in one month are one value; the birth date is its first day (#OutputTable's Der_Birth_Date).
- Death, #Death_Row1 (lines 811-839): over (known DESC, Ref_Period_End_Date DESC,
  Date_of_Death DESC): the latest date, whatever the events' dates; rank-1 rows are one date.
- Primary support reason, #PSR_Cleaned (lines 1010-1029): 'Invalid and not mapped' or blank
  reads as 'Unknown' (1017-1021); 'Unknown', 'Invalid and not mapped' and 'Social Support:
  Support to Carer' (Release 2: 'Social support: Support to unpaid carer') or blank rank as
  unknown (Der_Primary_Support_Reason_Known = 0, 1022-1027). #PSR_Row1 (1035-1055): known
  first, then the latest end (open: 9999-01-01, #CLD line 36), then the latest start.
  #PSR_Duplicates / #PSR_Deduped (1057-1086): rank-1 rows that disagree make 'Unknown' (NA).

Every case marked "old" gave another answer under the previous rule (the latest known value
of the accommodation status for all three fields: known first, latest end, latest start, a
disagreeing tie unknown); the expected value is DHSC's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cldetl.national.measures.persons import person_details

CARER = "Social support: Support to unpaid carer"
PHYSICAL = "Physical support: Personal care support"
MENTAL = "Mental health support"

# Each person's rows: (start, end or '' for open, value or None for blank) -> the person's value.
BIRTH = [
    # Old: the latest event's 1950-05-20. DHSC: the earliest year and month (lines 787-788).
    ("earliest month, not latest event",
     [("2025-01-01", "", "1950-05-20"), ("2024-01-01", "2024-06-30", "1948-03-10")],
     "1948-03-01"),
    # Old: a tie that disagrees is unknown. DHSC: one year and month (SELECT DISTINCT, 791-805).
    ("same month on tied rows is one value",
     [("2025-01-01", "", "1950-05-20"), ("2025-01-01", "", "1950-05-03")], "1950-05-01"),
    # Old: 1950-05-20. DHSC: the year and month known first (lines 782-785), born on the first.
    ("known first, first of the month",
     [("2025-01-01", "", None), ("2024-01-01", "2024-06-30", "1950-05-20")], "1950-05-01"),
    # Old: the latest event's 1951-01-31. DHSC: the earlier year wins before the month.
    ("earlier year before earlier month",
     [("2025-01-01", "", "1951-01-31"), ("2024-01-01", "2024-06-30", "1950-12-01")],
     "1950-12-01"),
    ("never known", [("2025-01-01", "", None), ("2024-01-01", "2024-06-30", None)], None),
]  # fmt: skip

DEATH = [
    # Old: the latest event's 2025-02-10. DHSC: the latest date of death (line 830).
    ("latest date, not latest event",
     [("2025-01-01", "", "2025-02-10"), ("2024-01-01", "2024-06-30", "2025-03-05")],
     "2025-03-05"),
    # Old: a tie that disagrees is unknown. DHSC: the later of the two.
    ("tied rows disagree: the later date",
     [("2025-01-01", "", "2025-01-10"), ("2025-01-01", "", "2025-01-20")], "2025-01-20"),
    # Both rules: a known date before a blank (lines 825-828).
    ("known first",
     [("2025-01-01", "", None), ("2024-01-01", "2024-06-30", "2025-01-10")], "2025-01-10"),
    ("never known", [("2025-01-01", "", None)], None),
    # Dates before 1970 are negative numbers of microseconds: still the latest of them.
    ("deaths before 1970",
     [("2025-01-01", "", "1960-01-01"), ("2024-01-01", "2024-06-30", "1965-06-30")],
     "1965-06-30"),
    # A blank after the known date (the latest event's death known): still the known date.
    ("known, then blank",
     [("2025-01-01", "", "2025-01-10"), ("2024-01-01", "2024-06-30", None)], "2025-01-10"),
]  # fmt: skip

REASON = [
    # Old: the carer support reason (latest). DHSC: it ranks as unknown (line 1023).
    ("carer support ranks after a known reason",
     [("2025-01-01", "", CARER), ("2024-01-01", "2024-06-30", PHYSICAL)], PHYSICAL),
    # Old: 'Unknown' (a value). DHSC: 'Unknown' ranks as unknown (line 1023).
    ("Unknown ranks after a known reason",
     [("2025-01-01", "", "Unknown"), ("2024-01-01", "2024-06-30", MENTAL)], MENTAL),
    # Old: 'Invalid and not mapped'. DHSC: unknown-ranked (line 1023).
    ("invalid ranks after a known reason",
     [("2025-01-01", "", "Invalid and not mapped"), ("2024-01-01", "2024-06-30", MENTAL)],
     MENTAL),
    # Old: the carer support reason (the blank is unknown, the carer one known). DHSC: both rank
    # unknown, tie at rank 1, and disagree ('Unknown' and the carer reason, 1057-1086).
    ("carer support tied with a blank", [("2025-01-01", "", CARER), ("2025-01-01", "", None)],
     None),
    # Both rules: with no known reason, the latest unknown-ranked value is kept as it is
    # (lines 1017-1021 keep the carer reason's text).
    ("only carer support", [("2025-01-01", "", CARER), ("2024-01-01", "2024-06-30", None)],
     CARER),
    # Both rules: the latest known reason; a disagreeing tie is unknown.
    ("latest known reason",
     [("2025-01-01", "2025-03-31", PHYSICAL), ("2024-01-01", "", MENTAL)], MENTAL),
    ("tied known reasons disagree",
     [("2025-01-01", "", PHYSICAL), ("2025-01-01", "", MENTAL)], None),
    # Old: none (pandas' first start of the person was the earlier event's, so no row tied).
    # DHSC: the latest end decides first; a missing start only ranks after a known one on the
    # same end (Event_Start_Date DESC: SQL Server puts NULL last, lines 1035-1055).
    ("the latest end decides though it has no start",
     [(None, "", PHYSICAL), ("2024-01-01", "2024-06-30", MENTAL)], PHYSICAL),
    ("a start ranks before no start on the same end",
     [(None, "", PHYSICAL), ("2024-01-01", "", MENTAL)], MENTAL),
    # Old: none. DHSC: two missing starts on the latest end tie (ORDER BY ranks NULLs equal).
    ("no start on either tied row, the same reason",
     [(None, "", PHYSICAL), (None, "", PHYSICAL)], PHYSICAL),
    ("no start on either tied row, reasons disagree",
     [(None, "", PHYSICAL), (None, "", MENTAL)], None),
]  # fmt: skip

CASES = [
    *[("birth", *c) for c in BIRTH],
    *[("died", *c) for c in DEATH],
    *[("Primary Support Reason", *c) for c in REASON],
]


@pytest.mark.parametrize(
    ("column", "rows", "expected"),
    [pytest.param(c[0], *c[2:], id=f"{c[0]}: {c[1]}") for c in CASES],
)
def test_each_person_detail_follows_dhsc(column, rows, expected):
    dates = column in ("birth", "died")
    values = [r[2] for r in rows]
    events = pd.DataFrame(
        {
            "person": [7] * len(rows),
            "Event Start Date": pd.to_datetime([r[0] or None for r in rows]),
            "der_end": pd.to_datetime([r[1] or None for r in rows]),
            column: pd.to_datetime(values) if dates else pd.Series(values, dtype=object),
        }
    )
    got = person_details(events, [column]).loc[7, column]
    if dates and expected is not None:
        expected = pd.Timestamp(expected)
    assert (None if pd.isna(got) else got) == expected


def test_people_are_kept_apart_and_every_person_has_a_row():
    """Three people in one frame, rows interleaved: each takes only their own rows."""
    events = pd.DataFrame(
        {
            "person": [1, 2, 1, 3, 2],
            "Event Start Date": pd.to_datetime(["2025-01-01"] * 5),
            "der_end": pd.to_datetime([None] * 5),
            "birth": pd.to_datetime(["1950-05-20", "1960-01-02", "1949-07-07", None, None]),
            "died": pd.to_datetime([None, "2025-02-01", "2025-03-01", None, "2025-01-01"]),
            "Primary Support Reason": pd.Series(
                [CARER, MENTAL, PHYSICAL, None, None], dtype=object
            ),
        }
    )
    got = person_details(events, ["birth", "died", "Primary Support Reason"])
    assert got.loc[1].tolist() == [pd.Timestamp("1949-07-01"), pd.Timestamp("2025-03-01"), PHYSICAL]
    assert got.loc[2].tolist() == [pd.Timestamp("1960-01-01"), pd.Timestamp("2025-02-01"), MENTAL]
    assert got.loc[3].isna().all()


def test_no_events_are_no_people():
    """A file whose every row is dropped before the unique events: no person, every column."""
    events = pd.DataFrame(
        {
            "person": pd.Series([], dtype=np.int64),
            "Event Start Date": pd.to_datetime(pd.Series([], dtype=object)),
            "der_end": pd.to_datetime(pd.Series([], dtype=object)),
            "birth": pd.to_datetime(pd.Series([], dtype=object)),
            "died": pd.to_datetime(pd.Series([], dtype=object)),
            "Primary Support Reason": pd.Series([], dtype=object),
        }
    )
    got = person_details(events, ["birth", "died", "Primary Support Reason"])
    assert got.empty and list(got.columns) == ["birth", "died", "Primary Support Reason"]
