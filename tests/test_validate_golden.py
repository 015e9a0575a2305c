"""Golden test: tests/data/defects.csv holds a few valid rows and one row per kind of defect;
tests/data/defects.expected.json is the report for it, written by hand from the guidance (never
regenerated from the validator). Row by row, the CSV is:

    1  header with an extra 'Notes' column      19 NHS Number blank
    2  valid open long term community service   20 'known by association' row with an outcome
    3  valid request (same person)              21 service user with unpaid carer hours
    4  valid residential care                   22 open service with an 'ended' outcome
    5  valid unpaid carer request               23 request ending before it starts
    6  valid 'known by association' row         24 service ending after the date of death
    7  adults cared for 'two'                   25 review completed before the period
    8  unit cost with a pound sign              26 service starting after the period
    9  person ID with a space                   27 another LA Code
    10 start date in yyyy-mm-dd                 28 outcome not typical for a request
    11 NHS number failing its check digit       29 person ID holding the date of birth
    12 postcode without its space               30 description holding a postcode
    13 Gender 'F'                               31 exact copy of line 2
    14 Client Type 'Carer' (Release 1)          32 same service as line 4, new reference
    15 Gender 'female'                          33 reference repeating line 2's
    16 learning disability, 30, no employment   34 description with a line break (to 35)
    17 request without an end date              36 Ethnicity with Release 1 punctuation
    18 residential care without a unit cost
"""

from __future__ import annotations

import json
from pathlib import Path

from cldetl.report import report_json
from cldetl.spec import load_spec
from cldetl.validate import validate
from tests.conftest import DATA


def expected_report() -> dict:
    return json.loads((DATA / "defects.expected.json").read_text(encoding="utf-8"))


def actual_report() -> dict:
    report = json.loads(report_json(validate(DATA / "defects.csv")))
    report["file"] = Path(report["file"]).name
    return report


def test_defects_file_gives_the_hand_written_report():
    actual, expected = actual_report(), expected_report()
    # Findings first, one by one, so a failure shows which finding differs.
    assert actual["findings"] == expected["findings"]
    assert actual == expected


def test_the_golden_file_covers_every_kind_of_rule():
    expected = expected_report()
    kinds = {f["rule"].split(".")[0] for f in expected["findings"]}
    families = {rule.split(".")[0] for rule in load_spec().rules}
    assert kinds == families
    assert expected["errors"] == sum(f["severity"] == "error" for f in expected["findings"])
    assert expected["warnings"] == sum(f["severity"] == "warning" for f in expected["findings"])
