"""ASCOF measures on small populations counted by hand from DHSC's SQL (ASCOF_measures/,
commit 69fe2e4). The year is the reference period 01/10/2024 - 30/09/2025; every person has
their own NHS number.

2B/2C (Create_ASCOF_2B2C_2425_Onwards.sql, sections 1-4):
  P1 born 1950, residential from 01/01/2025, open: new, 65+  -> 2C
  P2 born 1980, nursing from 01/02/2025, open: new, 18-64     -> 2B
  P3 born 1950, residential 01/01/2024-15/10/2024 and again from 01/03/2025: the earlier one
     ended 137 days before (< 365): not new
  P4 born 1950, residential 01/04/2025-30/06/2025 ended self-funded: out
  P5 born 2010, residential from 01/02/2025: under 18, out
  P6 born 1950, residential from 01/08/2024: started before the year, out
  2B = 1, 2C = 1; with populations 200,000 and 50,000: 0.5 and 2.0 per 100,000.

3D clients (Create_ASCOF_3D_2425_Onwards.sql, client section), open at 30/09/2025:
  Q1 born 1950 community, direct payment                     -> 1a yes, 2a yes (65+)
  Q2 born 1980 community, managed personal budget             -> 1a yes, 2a no (18-64)
  Q3 born 1950 community commissioned + residential: the residential setting ranks higher (2 < 5)
     -> not in the community denominator
  Q4 born 1950 community direct payment ended 31/05/2025      -> not open at the year end
  Q5 born 1950 community, component Direct payment, mechanism commissioned: the component
     makes it a direct payment                                 -> 1a yes, 2a yes (65+)
  Total: denominator 3, 1a 3, 2a 2; 65+: 2, 2, 2; 18-64: 1, 1, 0.
3D carers (carer section), in the year:
  C1 carer support direct, direct payment                      -> Direct Payment only
  C2 carer support direct, commissioned, and an assessment     -> commissioned (rank 3 < 6)
  C3 an assessment only                                        -> no direct support: out
  Total: denominator 2, 1b 1, 2b 1.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cldetl.national import preview
from cldetl.national.measures import measures, measures_method
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import ASSESSMENT, NOT_A_SERVICE, OTHER_NHS, UNPAID_CARER, row, write_rows

PERIOD = (date(2024, 10, 1), date(2025, 9, 30))
RES = {"Service Type": "Long term support: Residential care",
       "Service Component": "Long term residential care", "Delivery Mechanism": "",
       "Accommodation Status": "Registered care home"}  # fmt: skip
NURS = {**RES, "Service Type": "Long term support: Nursing care",
        "Service Component": "Long term nursing care"}  # fmt: skip


def person(n: int, born: str = "14/03/1950") -> dict[str, str]:
    nhs = (OTHER_NHS + ("9434765919",) * 20)[n] if n < 4 else ""
    return {"NHS Number": nhs, "LA Person Unique Identifier": f"P{n:03d}", "Date of Birth": born}


def _figures(tmp_path, rows, population=None):
    for i, r in enumerate(rows):
        r["Event Reference"] = f"E{i:03d}"
    path = write_rows(tmp_path / "cld.csv", rows)
    table = read_cld_csv(path)
    p = preview(table, validate(table), reference=PERIOD)
    return {(f.measure, f.group): f for f in measures(p, population)}


ADMISSIONS = [
    row(RES, person(1), **{"Event Start Date": "01/01/2025"}),
    row(NURS, person(2, "14/03/1980"), **{"Event Start Date": "01/02/2025"}),
    row(RES, person(3), **{"Event Start Date": "01/01/2024", "Event End Date": "15/10/2024",
                           "Event Outcome": "NFA: Other"}),
    row(RES, person(3), **{"Event Start Date": "01/03/2025"}),
    row(RES, person(4), **{"Event Start Date": "01/04/2025", "Event End Date": "30/06/2025",
                           "Event Outcome": "NFA: Self-funded client or under 12wk disregard"}),
    row(RES, person(5, "14/03/2010"), **{"Event Start Date": "01/02/2025"}),
    row(RES, person(6), **{"Event Start Date": "01/08/2024"}),
]  # fmt: skip


def test_ascof_2b_2c_new_admissions_counted_by_hand(tmp_path):
    population = {"18 to 64": 200_000, "65 and above": 50_000}
    figures = _figures(tmp_path, [dict(r) for r in ADMISSIONS], population)
    b, c = figures[("ASCOF 2B", "18 to 64")], figures[("ASCOF 2C", "65 and above")]
    assert (b.numerator, b.denominator, b.value) == (1, 200_000, 0.5)
    assert (c.numerator, c.denominator, c.value) == (1, 50_000, 2.0)
    counted = c.records[c.records["counted"]]
    assert list(counted["la_person"]) == ["P001"]
    reasons = dict(zip(c.records["la_person"], c.records["reason"], strict=False))
    assert reasons["P004"] == "ended as self-funded"
    assert reasons["P005"] == "under 18"
    assert reasons["P006"] == "started outside the year"
    assert (
        c.records.loc[c.records["event_reference"] == "E003", "reason"].item().startswith("not new")
    )


def test_without_a_population_2b_is_a_count_with_no_rate(tmp_path):
    figures = _figures(tmp_path, [dict(r) for r in ADMISSIONS])
    b = figures[("ASCOF 2B", "18 to 64")]
    assert (b.numerator, b.denominator, b.value) == (1, None, None)


def test_the_365_day_rule_is_spec_data():
    assert measures_method()["ascof_2bc"]["not_new_within_days"] == 365


COMMUNITY = {"Service Type": "Long term support: Community",
             "Service Component": "Home support or domiciliary care"}  # fmt: skip
CARER_SERVICE = {**UNPAID_CARER, "Service Type": "Unpaid carer support: Direct to unpaid carer",
                 "Service Component": "Unpaid carer respite"}  # fmt: skip
CLIENTS_AND_CARERS = [
    row(COMMUNITY, person(1), **{"Delivery Mechanism": "Direct payment"}),
    row(COMMUNITY, person(2, "14/03/1980"),
        **{"Delivery Mechanism": "CASSR managed personal budget"}),
    row(COMMUNITY, person(3), **{"Delivery Mechanism": "CASSR commissioned support"}),
    row(RES, person(3)),
    row(COMMUNITY, person(4), **{"Delivery Mechanism": "Direct payment",
                                 "Event End Date": "31/05/2025", "Event Outcome": "NFA: Other"}),
    row(COMMUNITY, person(5), **{"Service Component": "Direct payment",
                                 "Delivery Mechanism": "CASSR commissioned support"}),
    row(CARER_SERVICE, person(11, "01/01/1970"), **{"Delivery Mechanism": "Direct payment"}),
    row(CARER_SERVICE, person(12, "01/01/1970"),
        **{"Delivery Mechanism": "CASSR commissioned support"}),
    row(NOT_A_SERVICE, ASSESSMENT, UNPAID_CARER, person(12, "01/01/1970")),
    row(NOT_A_SERVICE, ASSESSMENT, UNPAID_CARER, person(13, "01/01/1970")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("measure", "group", "numerator", "denominator"),
    [
        ("ASCOF 3D1a", "Total", 3, 3),
        ("ASCOF 3D2a", "Total", 2, 3),
        ("ASCOF 3D1a", "65 and above", 2, 2),
        ("ASCOF 3D2a", "65 and above", 2, 2),
        ("ASCOF 3D1a", "18 to 64", 1, 1),
        ("ASCOF 3D2a", "18 to 64", 0, 1),
        ("ASCOF 3D1b", "Total", 1, 2),
        ("ASCOF 3D2b", "Total", 1, 2),
    ],
)
def test_ascof_3d_counted_by_hand(tmp_path, measure, group, numerator, denominator):
    figures = _figures(tmp_path, [dict(r) for r in CLIENTS_AND_CARERS])
    f = figures[(measure, group)]
    assert (f.numerator, f.denominator) == (numerator, denominator)


# 2E (Create_ASCOF_2E_2425_Onwards.sql; accommodation from Create_personal_details_table.sql):
#   A1 born 1950, community, owner occupier                       -> settled, 65+
#   A2 born 1950, residential, registered care home               -> not settled, 65+
#   A3 born 1980, community home support, accommodation Unknown:
#      deduced "Unknown: Presumed at home"                         -> settled, 18-64
#   A4 born 1980, learning disability, private tenant             -> settled, 18-64 and LD
#   A5 born 1980, two services on the same dates with conflicting statuses: Unknown; deduced
#      from day support in the community: "presumed in community"  -> not settled, 18-64
#   18-64: 2 / 3 = 66.7%; 65+: 1 / 2 = 50.0%; LD 18-64: 1 / 1 = 100.0%.
DAY = {"Service Component": "Day support"}
SETTLED = [
    row(person(1)),
    row(RES, person(2)),
    row(person(3, "14/03/1980"), **{"Accommodation Status": "Unknown"}),
    row(person(4, "14/03/1980"), **{"Primary Support Reason": "Learning disability support",
                                    "Accommodation Status": "Tenant: Private landlord"}),
    row(DAY, person(5, "14/03/1980"), **{"Accommodation Status": "Tenant: Private landlord"}),
    row(DAY, person(5, "14/03/1980"), **{"Accommodation Status": "Registered care home",
                                         "Delivery Mechanism": "Direct payment"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("measure", "group", "numerator", "denominator", "value"),
    [
        ("ASCOF 2E", "18 to 64", 2, 3, 66.7),
        ("ASCOF 2E", "65 and above", 1, 2, 50.0),
        ("ASCOF 2E LD", "18 to 64", 1, 1, 100.0),
    ],
)
def test_ascof_2e_counted_by_hand(tmp_path, measure, group, numerator, denominator, value):
    f = _figures(tmp_path, [dict(r) for r in SETTLED])[(measure, group)]
    assert (f.numerator, f.denominator, f.value) == (numerator, denominator, value)
    if measure == "ASCOF 2E" and group == "18 to 64":
        reasons = dict(zip(f.records["la_person"], f.records["reason"], strict=False))
        assert reasons["P003"] == "settled: Unknown: Presumed at home"
        assert reasons["P005"] == "not settled: Unknown: Presumed in community"


def test_measures_command_text_json_records_and_previous(tmp_path):
    """`cldetl measures FILE --previous FILE`: the figures, the records CSV, the measures not
    computed said so, and a figure that moved more than the threshold flagged with the records
    that moved it."""
    from click.testing import CliRunner

    from cldetl.cli import cli

    now = write_rows(
        tmp_path / "now.csv",
        [dict(r, **{"Event Reference": f"N{i}"}) for i, r in enumerate(CLIENTS_AND_CARERS)],
    )
    then = write_rows(
        tmp_path / "then.csv",
        [dict(r, **{"Event Reference": f"N{i}"}) for i, r in enumerate(CLIENTS_AND_CARERS[:2])],
    )
    out = tmp_path / "records.csv"
    runner = CliRunner()
    text = runner.invoke(cli, ["measures", str(now), "--previous", str(then),
                               "--records-csv", str(out)])  # fmt: skip
    assert text.exit_code == 0, text.output
    assert "ASCOF 3D1a (Total): 3 / 3 = 100.0%" in text.output
    assert "ASCOF 2D: Not computed" in text.output
    assert "MOVED MORE THAN THE THRESHOLD" in text.output
    assert out.read_text().startswith("measure,group,line,event_reference,la_person,counted,")
    as_json = runner.invoke(cli, ["measures", "--format", "json", str(now), "--previous",
                                  str(then)])  # fmt: skip
    import json

    data = json.loads(as_json.stdout)
    moved = {(m["measure"], m["group"]): m for m in data["against_previous"]}
    # 3D2a: 1 / 2 = 50.0% last quarter (Q1 of Q1, Q2), 2 / 3 = 66.7% now: +33.4% > 20%.
    assert not moved[("ASCOF 3D1a", "Total")]["flagged"]  # 100% both times
    total = moved[("ASCOF 3D2a", "Total")]
    assert total["flagged"] and total["previous_value"] == 50.0 and total["change_percent"] == 33.4
    assert total["counted_now_not_before"] == [{"event_reference": "N5", "la_person": "P005"}]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Long term support: Community", "Other", None]),
            st.sampled_from(["Direct payment", "Managed", ""]),
        ),  # fmt: skip
        max_size=40,
    ),
    st.booleans(),
)
def test_3d_pairs_each_row_with_its_type_and_mechanism(rows, as_category):
    """ascof_3d._pairs codes each row's (service type, delivery mechanism) into the distinct
    pairs as factorizing the pairs themselves would: the hierarchy is looked up once a pair."""
    from cldetl.national.measures.ascof_3d import _pairs

    types = pd.Series([t for t, _ in rows], dtype="category" if as_category else object)
    mechanisms = pd.Series([d for _, d in rows], dtype=object)
    found, distinct = _pairs(types, mechanisms)
    assert [distinct[i] for i in found] == [(t, d) for t, d in rows]
    assert len(set(distinct)) == len(distinct)
