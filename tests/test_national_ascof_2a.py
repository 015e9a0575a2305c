"""ASCOF 2A on a small population counted by hand from DHSC's SQL
(ASCOF_measures/Create_ASCOF_2A_2425_Onwards.sql, commit 7396fab). The year is the reference
period 01/10/2024 - 30/09/2025; each person has their own LA person ID; born 1950 (65 and
above) unless said.

  P010 ST-Max 01/02-28/02/2025 ended as planned, nothing after: sequel 4a (the cluster's own
       usable outcome) 'NFA: Support ended as planned'             -> numerator, denominator
  P011 born 1980: ST-Max 01/03-20/03/2025 'NFA: Other', long-term community from 25/03/2025
       (within 7 days): sequel 3 'Long term support: Community'     -> denominator (18 to 64)
  P012 ST-Max 01/04-10/04/2025 'Progress to support planning' and 15/04-30/04/2025 'NFA:
       Information and advice': 5 days apart, one cluster; its outcome is the latest-ending
       row's: sequel 4a 'NFA: Information and advice or signposting' -> numerator, denominator
       (apart, the first would be a cluster of its own with an unusable outcome: sequel 6)
  P013 long-term community 01/01/2024-15/12/2024, ST-Max 01/02-20/02/2025: the long-term
       support ended 48 days before (< 91): not a new client          -> out
  P014 ST-Max 01/05-31/05/2025, died 03/06/2025 (within 7 days): sequel 1 'NFA: Deceased'
                                                                      -> neither
  P015 ST-Max 01/06-15/06/2025 'Admitted to hospital': sequel 2      -> neither
  P016 ST-Max 01/07-20/07/2025 'Progress to support planning' with equipment delivered
       05/07-10/07/2025 inside it: sequel 5 'Short term support: Ongoing low level'
                                                                      -> numerator, denominator
  P017 born 2010: ST-Max 01/02-28/02/2025: under 18 at its end        -> out
  P019 ST-Max 01/08-15/08/2025 'Progress to support planning', a review 10/08-14/08/2025
       'NFA: Support ended for other reason' ending 1 day before (< 14): sequel 4c
                                                                      -> numerator, denominator
  P020 ST-Max 01/09-10/09/2025 'NFA: Other'; other short term (short-term residential)
       11/09-20/09/2025 and long-term residential from 12/09/2025: residential ranks higher in
       the service hierarchy (2 < 7): sequel 3 'Long term support: Residential care'
                                                                      -> denominator
  P021 ST-Max 01/06-10/06/2025 'Progress to support planning', then a request 12/06-13/06/2025
       'NFA: Information and advice or signposting' (a non-service event in the window): sequel
       4b 'NFA: Information and advice or signposting'               -> numerator, denominator
  P022 ST-Max 01/06-10/06/2025 'Progress to support planning', then a review 12/06-13/06/2025
       'NFA: Support ended as planned': on a later non-service event that outcome is not a
       sequel; nothing else applies: sequel 6, the cluster's own outcome -> neither
65 and above: 5 / 6 = 83.3%; 18 to 64: 0 / 1 = 0.0%; total 5 / 7 = 71.4%.
"""

from __future__ import annotations

from datetime import date

from cldetl.national import preview
from cldetl.national.measures import measures, measures_method
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import REQUEST, REVIEW, row, write_rows

PERIOD = (date(2024, 10, 1), date(2025, 9, 30))
ST = {"Service Type": "Short term support: ST-Max", "Service Component": "Reablement"}
LTC = {"Service Type": "Long term support: Community",
       "Service Component": "Home support or domiciliary care"}  # fmt: skip
RES = {"Service Type": "Long term support: Residential care",
       "Service Component": "Long term residential care"}  # fmt: skip


def who(n: int, born: str = "14/03/1950", **more: str) -> dict[str, str]:
    return {"NHS Number": "", "LA Person Unique Identifier": f"P{n:03d}", "Date of Birth": born,
            **more}  # fmt: skip


def dates(start: str, end: str = "", outcome: str = "") -> dict[str, str]:
    out = {"Event Start Date": start, "Event End Date": end}
    return out | ({"Event Outcome": outcome} if outcome else {})


PLANNED, OTHER = "NFA: Support ended as planned", "NFA: Other"
PLANNING = "Progress to support planning or services"
ROWS = [
    row(ST, who(10), **dates("01/02/2025", "28/02/2025", PLANNED)),
    row(ST, who(11, "14/03/1980"), **dates("01/03/2025", "20/03/2025", OTHER)),
    row(LTC, who(11, "14/03/1980"), **dates("25/03/2025")),
    row(ST, who(12), **dates("01/04/2025", "10/04/2025", PLANNING)),
    row(ST, who(12), **dates("15/04/2025", "30/04/2025",
                             "NFA: Information and advice or signposting")),
    row(LTC, who(13), **dates("01/01/2024", "15/12/2024", OTHER)),
    row(ST, who(13), **dates("01/02/2025", "20/02/2025", PLANNED)),
    row(ST, who(14, **{"Date of Death": "03/06/2025"}), **dates("01/05/2025", "31/05/2025",
                                                                 PLANNED)),
    row(ST, who(15), **dates("01/06/2025", "15/06/2025", "Admitted to hospital")),
    row(ST, who(16), **dates("01/07/2025", "20/07/2025", PLANNING)),
    row({"Service Type": "Short term support: Ongoing low level", "Service Component": "Equipment"},
        who(16), **dates("05/07/2025", "10/07/2025", PLANNED)),
    row(ST, who(17, "14/03/2010"), **dates("01/02/2025", "28/02/2025", PLANNED)),
    row(ST, who(19), **dates("01/08/2025", "15/08/2025", PLANNING)),
    row(REVIEW, who(19),
        **dates("10/08/2025", "14/08/2025", "NFA: Support ended for other reason")),
    row(ST, who(20), **dates("01/09/2025", "10/09/2025", OTHER)),
    row({"Service Type": "Short term support: Other short term",
         "Service Component": "Short term residential care"}, who(20),
        **dates("11/09/2025", "20/09/2025", PLANNED)),
    row(RES, who(20), **dates("12/09/2025")),
    row(ST, who(21), **dates("01/06/2025", "10/06/2025", PLANNING)),
    row(REQUEST, who(21), **dates("12/06/2025", "13/06/2025",
                                  "NFA: Information and advice or signposting")),
    row(ST, who(22), **dates("01/06/2025", "10/06/2025", PLANNING)),
    row(REVIEW, who(22), **dates("12/06/2025", "13/06/2025", PLANNED)),
]  # fmt: skip


def _figures(tmp_path):
    rows = [dict(r) for r in ROWS]
    for i, r in enumerate(rows):
        r["Event Reference"] = f"E{i:03d}"
    path = write_rows(tmp_path / "cld.csv", rows)
    table = read_cld_csv(path)
    p = preview(table, validate(table), reference=PERIOD)
    return {(f.measure, f.group): f for f in measures(p) if f.measure == "ASCOF 2A"}


def test_ascof_2a_counted_by_hand(tmp_path):
    figures = _figures(tmp_path)
    got = {g: (f.numerator, f.denominator, f.value) for (_, g), f in figures.items()}
    assert got == {
        "18 to 64": (0, 1, 0.0),
        "65 and above": (5, 6, 83.3),
        "Total": (5, 7, 71.4),
    }


def test_ascof_2a_records_say_which_sequel_decided_each_cluster(tmp_path):
    total = _figures(tmp_path)[("ASCOF 2A", "Total")].records
    by_ref = dict(zip(total["event_reference"], total["reason"].astype(str), strict=True))
    assert by_ref == {
        "E000": "sequel 4a: NFA: Support ended as planned (numerator)",
        "E001": "sequel 3: Long term support: Community (denominator only)",
        "E003": "sequel 4a: NFA: Information and advice or signposting (numerator)",
        "E004": "sequel 4a: NFA: Information and advice or signposting (numerator)",
        "E006": "not a new client: long-term support within 91 days before",
        "E007": "sequel 1: NFA: Deceased (neither)",
        "E008": "sequel 2: Admitted to hospital (neither)",
        "E009": "sequel 5: Short term support: Ongoing low level (numerator)",
        "E011": "under 18 at the end of the reablement",
        "E012": "sequel 4c: NFA: Support ended for other reason (numerator)",
        "E014": "sequel 3: Long term support: Residential care (denominator only)",
        "E017": "sequel 4b: NFA: Information and advice or signposting (numerator)",
        "E019": "sequel 6: Progress to support planning or services (neither)",
    }
    counted = set(total.loc[total["counted"], "la_person"])
    assert counted == {"P010", "P012", "P016", "P019", "P021"}


def test_ascof_2a_is_computed_not_listed_as_not_yet():
    assert "ASCOF 2A" not in measures_method()["not_yet"]
