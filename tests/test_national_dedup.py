"""Rows DHSC treats as one event, the row it keeps, and each row's one fate, worked by hand
from the SQL (commit e6f5749):

- create_GetDerivedFields_procedure.sql lines 304-318: one event = same LA, start, end (not
  for services), client type, person, event type and the type's fields, on cleaned (Release 2)
  values; lines 264-269, 336-342: person ID = NHS number, else LA code + LA person ID, a row
  with neither dropped;
- create_GetUniqueEvents_procedure.sql lines 49-53: Unit Cost and Planned units as
  NUMERIC(18,2); lines 66-71: services also split by delivery mechanism and the cost fields;
  lines 72-76: keep the open / latest-ending row, then the best outcome
  (3-data-cleaning.md lines 50-66), then the largest record ID (the later line).

Every file here is a single person's rows in the period 01/10/2024 - 30/09/2025, passed as
the reference period; line 2 is the first row.
"""

from __future__ import annotations

from datetime import date

import pytest

from cldetl.national import preview
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import REQUEST, row, write_rows

PERIOD = (date(2024, 10, 1), date(2025, 9, 30))


def _preview(tmp_path, rows):
    path = write_rows(tmp_path / "cld.csv", rows)
    table = read_cld_csv(path)
    return preview(table, validate(table), reference=PERIOD)


def _fates(p):
    return list(zip(p.fates["fate"], p.fates["merged_into_line"], strict=True))


CASES = [
    # Unit Cost 24.5 and 24.50 are one NUMERIC(18,2) value: one event, the later line kept.
    ("costs differing only in format",
     [row(), row(**{"Unit Cost": "24.5", "Planned units per week": "10.00"})],
     [("merged", 3), ("kept", 0)]),
    ("costs that differ", [row(), row(**{"Unit Cost": "24.51"})], [("kept", 0), ("kept", 0)]),
    # Delivery mechanism splits services (line 68).
    ("another delivery mechanism",
     [row(), row(**{"Delivery Mechanism": "Direct payment only"})],
     [("kept", 0), ("kept", 0)]),
    # The open service wins over the closed one, though it comes first (line 73).
    ("open beats closed",
     [row(), row(**{"Event End Date": "31/05/2025",
                    "Event Outcome": "NFA: Support ended as planned"})],
     [("kept", 0), ("merged", 2)]),
    # Same end: the outcome higher in the hierarchy wins (2 beats 12), though it comes first.
    ("outcome hierarchy",
     [row(REQUEST), row(REQUEST, **{"Event Outcome": "NFA: Support declined"})],
     [("kept", 0), ("merged", 2)]),
    # Same end, same outcome: the later line (largest record ID, line 76).
    ("record order", [row(REQUEST), row(REQUEST, **{"Event Reference": "REQ0002"})],
     [("merged", 3), ("kept", 0)]),
    # Requests with another route of access are another event (line 314).
    ("another route of access",
     [row(REQUEST), row(REQUEST, **{"Request: Route of Access": "Self-funder"})],
     [("kept", 0), ("kept", 0)]),
    # A Release 1 client type is cleaned to Release 2 before comparing: one event.
    ("release 1 client type",
     [row(REQUEST), row(REQUEST, **{"Client Type": "Service User"})],
     [("merged", 3), ("kept", 0)]),
    # The NHS number is the person: another LA person ID with the same NHS number is one person.
    ("one NHS number, two LA IDs",
     [row(REQUEST), row(REQUEST, **{"LA Person Unique Identifier": "P999"})],
     [("merged", 3), ("kept", 0)]),
    # No NHS number: the LA person ID decides.
    ("no NHS number, two LA IDs",
     [row(REQUEST, **{"NHS Number": ""}),
      row(REQUEST, **{"NHS Number": "", "LA Person Unique Identifier": "P999"})],
     [("kept", 0), ("kept", 0)]),
    ("no person ID", [row(**{"NHS Number": "", "LA Person Unique Identifier": ""})],
     [("no_person", 0)]),
    # A death inside the event ends it there; the row is kept with its end date set.
    ("a death inside a service", [row(**{"Date of Death": "01/05/2025"})],
     [("death_end", 0)]),
    # Two open services, one of a person who died: the corrected end (01/05/2025) loses to the
    # open one (9999-01-01, line 73), so the row without the death is kept.
    ("dedup on corrected end dates",
     [row(**{"Date of Death": "01/05/2025"}), row()],
     [("merged", 3), ("kept", 0)]),
    # The literal text NULL is blank in the fields DHSC lists (GetDerivedFields lines 42-113):
    # a route of access of NULL and a blank one are one event.
    ("NULL text is blank",
     [row(REQUEST, **{"Request: Route of Access": "NULL"}),
      row(REQUEST, **{"Request: Route of Access": ""})],
     [("merged", 3), ("kept", 0)]),
    ("outside the period", [row(REQUEST, **{"Event Start Date": "01/09/2024",
                                            "Event End Date": "30/09/2024"})],
     [("outside", 0)]),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_fates(tmp_path, rows, expected):
    p = _preview(tmp_path, rows)
    assert _fates(p) == expected
    assert int(p.fate_counts.sum()) == p.rows == len(rows)


def test_warnings_name_merged_dropped_and_unidentified_rows(tmp_path):
    rows = [
        row(REQUEST),
        row(REQUEST, **{"Event Reference": "REQ0002"}),
        row(**{"NHS Number": "", "LA Person Unique Identifier": ""}),
        row(REQUEST, **{"Event Start Date": "01/09/2024", "Event End Date": "30/09/2024"}),
    ]
    p = _preview(tmp_path, rows)
    rules = {rule: message for rule, message in p.warnings}
    assert rules["national.same_event"].startswith("1 row(s) are merged")
    assert rules["national.no_person_id"].startswith("1 row(s) have neither")
    assert rules["national.dropped"].startswith("1 row(s) are dropped by DHSC's period filter")
    assert p.same_events == [(3, [2])]
    assert p.no_person_id == [4]
    assert p.fates_csv().splitlines()[0].startswith("line,event_reference,fate,merged_into_line,")


def test_the_stated_period_is_the_earliest_start_and_the_latest_end(tmp_path):
    """LA_Submissions (REF_Submission_Reporting_Periods_V2, lines 113-134): MIN of the start
    dates, MAX of the end dates; not the most common value."""
    july = {"Reporting Period Start Date": "01/07/2024", "Reporting Period End Date": "30/06/2025"}
    p = _preview(tmp_path, [row(), row(REQUEST), row(july)])
    assert (p.period.stated_start, p.period.stated_end) == (date(2024, 7, 1), date(2025, 9, 30))
