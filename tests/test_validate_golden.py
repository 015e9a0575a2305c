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
    18 residential care without a unit cost    37 description starting with '=' (DLP)

The expected findings are the table below, typed from the guidance and the DLP guide (not
copied from the validator's output); defects.expected.json, which `cldetl validate --format
json` is compared with, must agree with it.
"""

from __future__ import annotations

import json
from pathlib import Path

from cldetl.report.console import report_json
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


SUM = "=SUM(A1:A9)"
# (line, column, rule, severity, value, message), one per defect row, in file order.
HAND_WRITTEN = [
    (1, "Notes", "header.unknown", "warning", None,
     "'Notes' is not a Release 2 field. Remove it or rename it."),
    (7, "No. of adults being cared for", "type.integer", "error", "two",
     "No. of adults being cared for 'two' is not a whole number"),
    (8, "Unit Cost", "type.numeric", "error", "£24.50",
     "Unit Cost '£24.50' has a currency sign or thousands separator"),
    (9, "LA Person Unique Identifier", "type.alphanumeric", "error", "P 000405",
     "LA Person Unique Identifier contains spaces"),
    (10, "Event Start Date", "type.date", "error", "2025-05-12",
     "Event Start Date '2025-05-12' is in yyyy-mm-dd order: CLD dates are dd/mm/yyyy"),
    (11, "NHS Number", "type.nhs_number", "error", "6000001705",
     "NHS Number fails the NHS number check digit (modulus 11)"),
    (12, "Postcode", "type.postcode", "error", "LN11YL",
     "Postcode needs one space between the outward and inward code (e.g. 'LN1 1YL')"),
    (13, "Gender", "list.value", "error", "F",
     "Gender 'F' is not on the Release 2 list. Allowed: 'Female', 'Male', 'Other', 'Unknown'."),
    (14, "Client Type", "list.release1", "error", "Carer",
     "Client Type 'Carer' is a Release 1 value; Release 2 uses 'Unpaid carer'."),
    (15, "Gender", "list.near_miss", "error", "female",
     "Gender 'female' differs from 'Female' in case or spacing; the check is case-sensitive. "
     "Did you mean 'Female'?"),
    (16, "Employment Status", "mandatory.employment_status", "error", None,
     "Employment Status is blank; it is mandatory for service users aged 18-64 with learning "
     "disabilities. May be left blank for people aged 65 and over."),
    (17, "Event End Date", "mandatory.event_end_date", "error", None,
     "Event End Date is blank; it is mandatory for all events except for open and ongoing "
     "services. Only services open at the reporting period end may have a blank end date; "
     "requests, assessments and reviews are submitted once completed."),
    (18, "Unit Cost", "mandatory.costs", "error", None,
     "Unit Cost is blank; it is mandatory for nursing or residential care; community services "
     "included in CASSR managed personal budgets."),
    (19, "NHS Number", "mandatory.nhs_number", "warning", None,
     "NHS Number is blank; it is mandatory for all records. NHS Number should be provided where "
     "available; a blank one is traced centrally from name, date of birth and postcode."),
    (20, "Event Outcome", "not_applicable.carer_by_association", "error",
     "Continuation of support or services",
     "Event Outcome is filled on a row it does not apply to (Events (All)). An 'Unpaid carer "
     "known by association' row carries person details and unpaid carer information but no "
     "event details."),
    (21, "Total Hrs Caring per week", "not_applicable.unpaid_carer_fields", "warning",
     "1 to 9 hours a week",
     "Total Hrs Caring per week is filled on a row it does not apply to (Events (Unpaid carers "
     "only)). These fields are completed for rows with client type 'Unpaid carer' or 'Unpaid "
     "carer known by association'."),
    (22, "Event Outcome", "expected.open_service_outcome", "warning",
     "NFA: Support ended as planned",
     "Event Outcome is 'NFA: Support ended as planned'; the guidance expects 'Continuation of "
     "support or services' here. Open and ongoing services should have the outcome "
     "'Continuation of support or services'."),
    (23, "Event End Date", "cross.end_before_start", "error", "11/05/2025",
     "Event End Date is before Event Start Date."),
    (24, "Event End Date", "cross.event_after_death", "warning", "30/06/2025",
     "Event End Date is after the Date of Death; when a person has died, the event end date "
     "should be the date of death."),
    (25, "Event End Date", "period.completed_inside", "error", "30/09/2024",
     "Event End Date is outside the reporting period; requests, assessments and reviews are "
     "submitted when completed inside the 12 months."),
    (26, "Event Start Date", "period.service_active", "error", "01/10/2025",
     "The service starts after the reporting period ends; include services active during it."),
    (27, "LA Code", "period.consistent", "error", "504",
     "LA Code differs from the rest of the file ('503' on most rows); every row of a submission "
     "has the same LA Code and reporting period."),
    (28, "Event Outcome", "outcome.event_type", "warning", "NFA: Support ended for other reason",
     "Event Outcome 'NFA: Support ended for other reason' is not typically used for a request "
     "(see the guidance's table of outcomes by event type)."),
    (29, "LA Person Unique Identifier", "privacy.identifier", "warning", "P14031972",
     "LA Person Unique Identifier contains the person's date of birth; identifiers must not "
     "include personal data in full or in part."),
    (30, "Event Description", "privacy.description", "warning", None,
     "Event Description contains what looks like a postcode; personal data belongs only in the "
     "name, date of birth, NHS number and postcode fields."),
    (31, None, "file.duplicate_row", "error", None,
     "Row repeats line 2 exactly; remove the copy."),
    (32, None, "file.duplicate_event", "warning", None,
     "Same service as line 4 (same person, Client Type, Event Start Date, Service Type, Service "
     "Component); the central pipeline keeps only one."),
    (33, "Event Reference", "file.duplicate_reference", "warning", "SVC0001",
     "Event Reference repeats line 2 for the same event type; each event needs its own "
     "reference."),
    (34, "Event Description", "type.text", "error", "Home support\ntwice daily",
     "Event Description contains a line break or control character"),
    (36, "Ethnicity", "list.release1", "error", "Asian or Asian British - Indian",
     "Ethnicity 'Asian or Asian British - Indian' uses Release 1 punctuation; Release 2 uses "
     "':' for '-', 'and' for '&' and 'or' for '/'. Use 'Asian or Asian British: Indian'."),
    (37, "Event Description", "dlp.leading_character", "error", SUM,
     "Event Description starts with =, +, - or @; the DLP rejects such values (a spreadsheet "
     "formula) unless a minus sign begins a number. Remove the character at source."),
]  # fmt: skip


def test_the_validator_gives_the_hand_written_findings():
    actual = [
        (f["line"], f["column"], f["rule"], f["severity"], f["value"], f["message"])
        for f in actual_report()["findings"]
    ]
    for got, want in zip(actual, HAND_WRITTEN, strict=False):
        assert got == want
    assert len(actual) == len(HAND_WRITTEN)


def test_the_json_golden_file_agrees_with_the_hand_written_table():
    expected = expected_report()
    assert [tuple(f.values()) for f in expected["findings"]] == HAND_WRITTEN
    assert expected["rows"] == 35  # lines 2-37, line 34's value running onto 35
    assert expected["errors"] == sum(f[3] == "error" for f in HAND_WRITTEN) == 21
    assert expected["warnings"] == sum(f[3] == "warning" for f in HAND_WRITTEN) == 10


def test_the_golden_file_covers_every_kind_of_rule():
    expected = expected_report()
    kinds = {f["rule"].split(".")[0] for f in expected["findings"]}
    # The national-processing preview's rules are tested in tests/test_national.py, a run's
    # rules about its mapping (run.*) in tests/test_onboarding_review.py.
    families = {rule.split(".")[0] for rule in load_spec().rules} - {"national", "run"}
    assert kinds == families
    assert expected["errors"] == sum(f["severity"] == "error" for f in expected["findings"])
    assert expected["warnings"] == sum(f["severity"] == "warning" for f in expected["findings"])
