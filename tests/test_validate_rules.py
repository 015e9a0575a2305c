"""Every validation rule, as tables: for each rule id, rows that must pass and rows that must fail
with the exact finding (line, column, severity, value, message).

Rows start from the valid base row in conftest.py and override only what the case is about. A
case asserts the findings of its own rule only: other rules a case happens to trip are tested
by their own rows.

Speed: a validation costs a fixed few hundred milliseconds whatever the row count, so the cases
of rules that look at one row at a time (types, lists, Annex A tables, dates across fields,
outcomes, personal data) are validated together in one file, each case on its own lines, and
each test reads back the findings on its lines. Header, period and duplicate rules look across
rows, so their cases run alone. `test_batched_cases_match_running_alone` guards the shortcut.
"""

from __future__ import annotations

import json
import os

import pytest

from cldetl.national import PREVIEW_RULES
from cldetl.onboarding.run_checks import RUN_RULES
from cldetl.publish.portal_file import WRITER_ONLY_RULES
from cldetl.spec import load_spec
from cldetl.validate import validate
from tests.conftest import (
    ASSESSMENT,
    CARER_BY_ASSOCIATION,
    FINANCIAL_ASSESSMENT,
    NOT_A_SERVICE,
    OTHER_NHS,
    REQUEST,
    RESIDENTIAL,
    REVIEW,
    UNPAID_CARER,
    base_row,
    findings,
    row,
    write_rows,
)

HEADERS = list(base_row())
KEYS = ("line", "column", "severity", "value", "message")


def F(line, column, severity, message, value=None):
    """One expected finding."""
    return {
        "line": line,
        "column": column,
        "severity": severity,
        "value": value,
        "message": message,
    }


def case(rule, rows, expected, id, header=None, monthly=False):
    options = {"header": header, "monthly": monthly}
    return pytest.param(rule, rows, expected, options, id=f"{rule}:{id}")


def other_person(i: int, *overrides, **fields):
    """The base row for a different person (own NHS number, person ID and event reference)."""
    return row(
        *overrides,
        **{
            "NHS Number": OTHER_NHS[i],
            "LA Person Unique Identifier": f"P00090{i}",
            "Event Reference": f"SVC090{i}",
            **fields,
        },
    )


def swapped(names: list[str], a: str, b: str) -> list[str]:
    out = list(names)
    i, j = out.index(a), out.index(b)
    out[i], out[j] = out[j], out[i]
    return out


ROW_LOCAL_FAMILIES = (
    "type",
    "list",
    "mandatory",
    "not_applicable",
    "expected",
    "cross",
    "outcome",
    "privacy",
)
# Compare each event with its own row's period (once the file's period is well formed).
ROW_LOCAL_PERIOD_RULES = ("period.completed_inside", "period.service_active")
STANDARD = {"header": None, "monthly": False}


# mutmut (which sets MUTANT_UNDER_TEST) runs against a mutant only the tests that called the
# mutated function in its first run, and a report shared between tests (the batch file, ALONE)
# is credited to the first test that made it: every other case's rule then looked untested and
# its mutants "survived" (dates._life_dates with "Date of Birth" misspelt, which fails
# test_cross_field_rules[cross.death_before_birth:before]). Under mutmut each case validates
# its own rows, in its own test.
UNDER_MUTMUT = "MUTANT_UNDER_TEST" in os.environ


def batchable(rule, options, rows=()) -> bool:
    """A rule that judges each row on its own, in a case with the standard header, whose rows
    are one physical line each (a quoted line break would shift the lines of later cases)."""
    if UNDER_MUTMUT:
        return False
    row_local = rule.split(".")[0] in ROW_LOCAL_FAMILIES or rule in ROW_LOCAL_PERIOD_RULES
    one_line = not any("\n" in str(v) or "\r" in str(v) for row in rows for v in row.values())
    return row_local and options == STANDARD and one_line


def own_findings(report, rule, first_line=2, count=None):
    """The case's findings of `rule`, with lines as if its rows were alone in the file."""
    last = first_line + count - 1 if count is not None else None
    out = []
    for f in findings(report, rule):
        outside = last is not None and f["line"] is not None and not first_line <= f["line"] <= last
        if outside:
            continue
        f = {k: f[k] for k in KEYS}
        if f["line"] is not None:
            f["line"] -= first_line - 2
        out.append(f)
    return out


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """All batchable cases validated as one file: (report, {case rows id: first line})."""
    if UNDER_MUTMUT:
        return None, {}
    rows, first_lines = [], {}
    for table in ALL_TABLES:
        for param in table:
            rule, case_rows, _, options = param.values
            if batchable(rule, options, case_rows):
                first_lines[id(case_rows)] = len(rows) + 2
                rows.extend(case_rows)
    path = write_rows(tmp_path_factory.mktemp("batch") / "cases.csv", rows)
    return validate(path), first_lines


def run_case(validate_rows, batch, rule, rows, expected, options):
    if batchable(rule, options, rows):
        report, first_lines = batch
        got = own_findings(report, rule, first_lines[id(rows)], len(rows))
    else:
        # Several cases validate the same rows (the base row passing five header rules...).
        key = json.dumps([rows, options])
        if key not in ALONE or UNDER_MUTMUT:
            ALONE[key] = validate_rows(rows, **options)
        got = own_findings(ALONE[key], rule)
    assert got == expected


ALONE: dict[str, object] = {}


# --- header --------------------------------------------------------------------------------------

HEADER_CASES = [
    case("header.missing", [row()], [], "all 48 present"),
    case(
        "header.missing",
        [row()],
        [
            F(
                1,
                "Event Description",
                "error",
                "'Event Description' is missing from the header; every Release 2 field must be "
                "present, even if blank.",
            )
        ],
        "column left out",
        header=[h for h in HEADERS if h != "Event Description"],
    ),
    case(
        "header.missing",
        [row()],
        [
            F(
                1,
                "NHS Number",
                "error",
                "'NHS Number' is missing from the header; every Release 2 field must be present, "
                "even if blank. The header has 'NHS number': rename it to 'NHS Number'.",
            )
        ],
        "misspelt",
        header=["NHS number" if h == "NHS Number" else h for h in HEADERS],
    ),
    case("header.unknown", [row()], [], "none"),
    case(
        "header.unknown",
        [row()],
        [F(1, "Notes", "warning", "'Notes' is not a Release 2 field. Remove it or rename it.")],
        "extra column",
        header=HEADERS + ["Notes"],
    ),
    case(
        "header.unknown",
        [row()],
        [
            F(
                1,
                "NHS number",
                "warning",
                "'NHS number' is not a Release 2 field. Did you mean 'NHS Number'?",
            )
        ],
        "misspelt",
        header=["NHS number" if h == "NHS Number" else h for h in HEADERS],
    ),
    case("header.order", [row()], [], "spec order"),
    case("header.order", [row()], [], "extra column at the end", header=HEADERS + ["Notes"]),
    case(
        "header.order",
        [row()],
        [
            F(
                1,
                "Last Name",
                "warning",
                "Columns are not in specification order (accepted, but the spec order is usual): "
                "'Last Name' stands where 'First Name' belongs.",
            )
        ],
        "two swapped",
        header=swapped(HEADERS, "First Name", "Last Name"),
    ),
    case("header.duplicate", [row()], [], "none"),
    case(
        "header.duplicate",
        [row()],
        [
            F(
                1,
                "Event Description",
                "error",
                "'Event Description' appears 2 times in the header; keep one column of that name.",
            )
        ],
        "repeated in place",
        header=HEADERS[:28] + ["Event Description"] + HEADERS[28:],
    ),
    case(
        "header.duplicate",
        [row()],
        [
            F(
                1,
                "Event Description",
                "error",
                "'Event Description' appears 2 times in the header; keep one column of that name.",
            )
        ],
        "repeated at the end",
        header=HEADERS + ["Event Description"],
    ),
    case("header.dropped", [row()], [], "none"),
    case(
        "header.dropped",
        [row()],
        [
            F(
                1,
                "GP Practice Name",
                "error",
                "'GP Practice Name' was dropped in Release 2 and the DLP rejects files that still "
                "have it: remove the column.",
            )
        ],
        "GP Practice Name",
        header=HEADERS[:8] + ["GP Practice Name"] + HEADERS[8:],
    ),
    case(
        "header.dropped",
        [row()],
        [
            F(
                1,
                "Provider CQC Location Name",
                "error",
                "'Provider CQC Location Name' was dropped in Release 2 and the DLP rejects files "
                "that still have it: remove the column.",
            )
        ],
        "Provider CQC Location Name",
        header=HEADERS + ["Provider CQC Location Name"],
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), HEADER_CASES)
def test_header_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


# --- data types ----------------------------------------------------------------------------------

TYPE_CASES = [
    case("type.integer", [row(UNPAID_CARER, REQUEST)], [], "whole numbers"),
    case(
        "type.integer",
        [row(**{"LA Code": "503.0"})],
        [
            F(
                2,
                "LA Code",
                "error",
                "LA Code '503.0' has a decimal part: give a whole number",
                "503.0",
            )
        ],
        "decimal part",
    ),
    case(
        "type.integer",
        [row(UNPAID_CARER, REQUEST, **{"No. of adults being cared for": "two"})],
        [
            F(
                2,
                "No. of adults being cared for",
                "error",
                "No. of adults being cared for 'two' is not a whole number",
                "two",
            )
        ],
        "word",
    ),
    case(
        "type.integer",
        [row(UNPAID_CARER, REQUEST, **{"No. of adults being cared for": "2\n"})],
        [
            F(
                2,
                "No. of adults being cared for",
                "error",
                "No. of adults being cared for '2\n' has spaces or line breaks around the number",
                "2\n",
            )
        ],
        "trailing line break",
    ),
    case("type.numeric", [row(), row(RESIDENTIAL, **{"Unit Cost": "950"})], [], "0.00 and 0"),
    case(
        "type.numeric",
        [row(**{"Unit Cost": "24.505"})],
        [
            F(
                2,
                "Unit Cost",
                "error",
                "Unit Cost '24.505' has more than two decimal places",
                "24.505",
            )
        ],
        "three decimals",
    ),
    case(
        "type.numeric",
        [row(**{"Unit Cost": "£24.50"})],
        [
            F(
                2,
                "Unit Cost",
                "error",
                "Unit Cost '£24.50' has a currency sign or thousands separator",
                "£24.50",
            )
        ],
        "pound sign",
    ),
    case(
        "type.numeric",
        [row(**{"Planned units per week": "-3"})],
        [F(2, "Planned units per week", "error", "Planned units per week '-3' is negative", "-3")],
        "negative",
    ),
    case("type.alphanumeric", [row()], [], "identifiers"),
    case(
        "type.alphanumeric",
        [row(**{"LA Person Unique Identifier": "P 000123"})],
        [
            F(
                2,
                "LA Person Unique Identifier",
                "error",
                "LA Person Unique Identifier contains spaces",
                "P 000123",
            )
        ],
        "space",
    ),
    case(
        "type.alphanumeric",
        [row(**{"GP Practice Code": "A81001?"})],
        [
            F(
                2,
                "GP Practice Code",
                "error",
                "GP Practice Code contains characters other than letters, digits and - _ . /",
                "A81001?",
            )
        ],
        "question mark",
    ),
    case("type.text", [row(**{"Event Description": "Home support: Domestic & café"})], [], "text"),
    case(
        "type.text",
        [row(**{"Event Description": "Home\nsupport"})],
        [
            F(
                2,
                "Event Description",
                "error",
                "Event Description contains a line break or control character",
                "Home\nsupport",
            )
        ],
        "line break",
    ),
    case(
        "type.text",
        [row(**{"First Name": "Ada\r\n"})],
        [
            F(
                2,
                "First Name",
                "error",
                "First Name contains a line break or control character",
                "Ada\r\n",
            )
        ],
        "personal field keeps its value out of the message",
    ),
    case("type.date", [row(REQUEST)], [], "dates"),
    case(
        "type.date",
        [row(**{"Event Start Date": "2024-04-01"})],
        [
            F(
                2,
                "Event Start Date",
                "error",
                "Event Start Date '2024-04-01' is in yyyy-mm-dd order: CLD dates are dd/mm/yyyy",
                "2024-04-01",
            )
        ],
        "ISO order",
    ),
    case(
        "type.date",
        [row(**{"Date of Birth": "31/02/1950"})],
        [F(2, "Date of Birth", "error", "Date of Birth is not a real calendar date", "31/02/1950")],
        "not a real date",
    ),
    case(
        "type.date",
        [row(**{"Reporting Period End Date": "30/09/2025 00:00:00"})],
        [
            F(
                2,
                "Reporting Period End Date",
                "error",
                "Reporting Period End Date '30/09/2025 00:00:00' has a time stamp: give the date "
                "only, as dd/mm/yyyy",
                "30/09/2025 00:00:00",
            )
        ],
        "time stamp",
    ),
    case("type.nhs_number", [row()], [], "valid"),
    case(
        "type.nhs_number",
        [row(**{"NHS Number": "9434765918"})],
        [
            F(
                2,
                "NHS Number",
                "error",
                "NHS Number fails the NHS number check digit (modulus 11)",
                "9434765918",
            )
        ],
        "check digit",
    ),
    case(
        "type.nhs_number",
        [row(**{"NHS Number": "943 476 5919"})],
        [
            F(
                2,
                "NHS Number",
                "error",
                "NHS Number has spaces or dashes: give the 10 digits only",
                "943 476 5919",
            )
        ],
        "spaces",
    ),
    case("type.postcode", [row(), row(**{"Postcode": "ZZ99 3VZ"}), row(Postcode="LN1")], [], "ok"),
    case(
        "type.postcode",
        [row(**{"Postcode": "LN11YL"})],
        [
            F(
                2,
                "Postcode",
                "error",
                "Postcode needs one space between the outward and inward code (e.g. 'LN1 1YL')",
                "LN11YL",
            )
        ],
        "no space",
    ),
    case(
        "type.postcode",
        [row(**{"Postcode": "No fixed abode"})],
        [
            F(
                2,
                "Postcode",
                "error",
                "Postcode is not a full postcode, an outward code, 'ZZ99 3VZ', 'ZZ99 3CZ' or "
                "'Unknown'",
                "No fixed abode",
            )
        ],
        "words",
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), TYPE_CASES)
def test_type_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


# --- defined lists -------------------------------------------------------------------------------

LIST_CASES = [
    case("list.value", [row(), row(Gender="Unknown")], [], "on the list"),
    case(
        "list.value",
        [row(Gender="F")],
        [
            F(
                2,
                "Gender",
                "error",
                "Gender 'F' is not on the Release 2 list. Allowed: 'Female', 'Male', 'Other', "
                "'Unknown'.",
                "F",
            )
        ],
        "short list shows its values",
    ),
    case(
        "list.value",
        [row(**{"Accommodation Status": "Settled mainstream housing with family & friends"})],
        [
            F(
                2,
                "Accommodation Status",
                "error",
                "Accommodation Status 'Settled mainstream housing with family & friends' is not on "
                "the Release 2 list. Did you mean 'Settled mainstream housing with family or "
                "friends'?",
                "Settled mainstream housing with family & friends",
            )
        ],
        "did you mean",
    ),
    case("list.release1", [row(REQUEST)], [], "Release 2 values"),
    case(
        "list.release1",
        [row(UNPAID_CARER, REQUEST, **{"Client Type": "Carer"})],
        [
            F(
                2,
                "Client Type",
                "error",
                "Client Type 'Carer' is a Release 1 value; Release 2 uses 'Unpaid carer'.",
                "Carer",
            )
        ],
        "Carer",
    ),
    case(
        "list.release1",
        [row(REQUEST, **{"Event Outcome": "NFA - Moved to another LA"})],
        [
            F(
                2,
                "Event Outcome",
                "error",
                "Event Outcome 'NFA - Moved to another LA' is a Release 1 value; Release 2 uses "
                "'NFA: Responsibility moved to another local authority'.",
                "NFA - Moved to another LA",
            )
        ],
        "NFA moved",
    ),
    case(
        "list.release1",
        [row(**{"Accommodation Status": "Tenant - Private landlord"})],
        [
            F(
                2,
                "Accommodation Status",
                "error",
                "Accommodation Status 'Tenant - Private landlord' is a Release 1 value; Release 2 "
                "uses 'Tenant: Private landlord'.",
                "Tenant - Private landlord",
            )
        ],
        "Release 1 value in other case",
    ),
    case(
        "list.release1",
        [row(Ethnicity="Asian or Asian British - Indian")],
        [
            F(
                2,
                "Ethnicity",
                "error",
                "Ethnicity 'Asian or Asian British - Indian' uses Release 1 punctuation; Release 2 "
                "uses ':' for '-', 'and' for '&' and 'or' for '/'. Use 'Asian or Asian British: "
                "Indian'.",
                "Asian or Asian British - Indian",
            )
        ],
        "dash for colon",
    ),
    case(
        "list.release1",
        [row(REQUEST, **{"Event Outcome": "NFA: Information & advice or signposting"})],
        [
            F(
                2,
                "Event Outcome",
                "error",
                "Event Outcome 'NFA: Information & advice or signposting' uses Release 1 "
                "punctuation; Release 2 uses ':' for '-', 'and' for '&' and 'or' for '/'. Use "
                "'NFA: Information and advice or signposting'.",
                "NFA: Information & advice or signposting",
            )
        ],
        "ampersand",
    ),
    case(
        "list.release1",
        [row(**{"Client Funding Status": "Self funding - metering only"})],
        [
            F(
                2,
                "Client Funding Status",
                "error",
                "Client Funding Status 'Self funding - metering only' is a Release 1 value with no "
                "Release 2 equivalent; choose a value from the Release 2 list.",
                "Self funding - metering only",
            )
        ],
        "no equivalent",
    ),
    case("list.near_miss", [row()], [], "exact"),
    case(
        "list.near_miss",
        [row(Gender="female")],
        [
            F(
                2,
                "Gender",
                "error",
                "Gender 'female' differs from 'Female' in case or spacing; the check is "
                "case-sensitive. Did you mean 'Female'?",
                "female",
            )
        ],
        "lower case",
    ),
    case(
        "list.near_miss",
        [row(Gender="Female ")],
        [
            F(
                2,
                "Gender",
                "error",
                "Gender 'Female ' differs from 'Female' in case or spacing; the check is "
                "case-sensitive. Did you mean 'Female'?",
                "Female ",
            )
        ],
        "trailing space",
    ),
    case(
        "list.near_miss",
        [
            row(
                **{
                    "Primary Support Reason": "Learning Disability Support",
                    "Employment Status": "Unknown",
                }
            )
        ],
        [
            F(
                2,
                "Primary Support Reason",
                "error",
                "Primary Support Reason 'Learning Disability Support' is how the guidance's prose "
                "spells it; the defined list has 'Learning disability support' and the list wins.",
                "Learning Disability Support",
            )
        ],
        "guidance prose spelling",
    ),
    case(
        "list.near_miss",
        [row(**{"Accommodation Status": "Tenant Private landlord"})],
        [
            F(
                2,
                "Accommodation Status",
                "error",
                "Accommodation Status 'Tenant Private landlord' differs from 'Tenant: Private "
                "landlord' in punctuation. Did you mean 'Tenant: Private landlord'?",
                "Tenant Private landlord",
            )
        ],
        "punctuation dropped",
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), LIST_CASES)
def test_list_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


# --- mandatory (Annex A) -------------------------------------------------------------------------

EMPLOYMENT_MESSAGE = (
    "Employment Status is blank; it is mandatory for service users aged 18-64 with learning "
    "disabilities. May be left blank for people aged 65 and over."
)
COSTS_ANNEX = (
    "it is mandatory for nursing or residential care; community services included in CASSR "
    "managed personal budgets."
)
NO_COSTS = {"Unit Cost": "", "Cost Frequency (Unit Type)": "", "Planned units per week": ""}
LD = {"Primary Support Reason": "Learning disability support"}
CLOSED_SERVICE = {"Event End Date": "30/06/2025", "Event Outcome": "NFA: Support ended as planned"}


def employment_case(id, *overrides, fails, **fields):
    expected = [F(2, "Employment Status", "error", EMPLOYMENT_MESSAGE)] if fails else []
    return case("mandatory.employment_status", [row(LD, *overrides, **fields)], expected, id)


MANDATORY_CASES = [
    case("mandatory.submission", [row()], [], "filled"),
    case(
        "mandatory.submission",
        [row(**{"LA Code": ""})],
        [F(2, "LA Code", "error", "LA Code is blank; it is mandatory for all records.")],
        "LA Code",
    ),
    case(
        "mandatory.submission",
        [row(**{"Reporting Period Start Date": "", "Reporting Period End Date": ""})],
        [
            F(
                2,
                "Reporting Period Start Date",
                "error",
                "Reporting Period Start Date is blank; it is mandatory for all records.",
            ),
            F(
                2,
                "Reporting Period End Date",
                "error",
                "Reporting Period End Date is blank; it is mandatory for all records.",
            ),
        ],
        "period dates",
    ),
    case("mandatory.nhs_number", [row()], [], "filled"),
    case(
        "mandatory.nhs_number",
        [row(**{"NHS Number": ""})],
        [
            F(
                2,
                "NHS Number",
                "warning",
                "NHS Number is blank; it is mandatory for all records. NHS Number should be "
                "provided where available; a blank one is traced centrally from name, date of "
                "birth and postcode.",
            )
        ],
        "blank is a warning",
    ),
    case("mandatory.person_id", [row()], [], "filled"),
    case(
        "mandatory.person_id",
        [row(**{"LA Person Unique Identifier": " "})],
        [
            F(
                2,
                "LA Person Unique Identifier",
                "error",
                "LA Person Unique Identifier is blank; it is mandatory for all records.",
            )
        ],
        "only a space",
    ),
    case("mandatory.name", [row()], [], "filled"),
    case(
        "mandatory.name",
        [row(**{"First Name": "", "Last Name": ""})],
        [
            F(2, "First Name", "error", "First Name is blank; it is mandatory for all records."),
            F(2, "Last Name", "error", "Last Name is blank; it is mandatory for all records."),
        ],
        "both names",
    ),
    case(
        "mandatory.person_details",
        [row(Gender="Unknown", Postcode="Unknown", **{"Has Unpaid Carer": "Unknown"})],
        [],
        "Unknown is a valid response",
    ),
    case(
        "mandatory.person_details",
        [row(Postcode="")],
        [
            F(
                2,
                "Postcode",
                "error",
                "Postcode is blank; it is mandatory for all records ('Unknown' is a valid "
                "response). Use 'Unknown' when the detail applies but was not recorded; blank is "
                "for details that do not apply.",
            )
        ],
        "Postcode",
    ),
    case(
        "mandatory.person_details",
        [row(**{"Client Type": "", "Has Unpaid Carer": ""})],
        [
            F(
                2,
                "Client Type",
                "error",
                "Client Type is blank; it is mandatory for all records ('Unknown' is a valid "
                "response). Use 'Unknown' when the detail applies but was not recorded; blank is "
                "for details that do not apply.",
            ),
            F(
                2,
                "Has Unpaid Carer",
                "error",
                "Has Unpaid Carer is blank; it is mandatory for all records ('Unknown' is a valid "
                "response). Use 'Unknown' when the detail applies but was not recorded; blank is "
                "for details that do not apply.",
            ),
        ],
        "Client Type and Has Unpaid Carer",
    ),
    case("mandatory.date_of_birth", [row()], [], "filled"),
    case(
        "mandatory.date_of_birth",
        [row(UNPAID_CARER, REQUEST, **{"Date of Birth": ""})],
        [
            F(
                2,
                "Date of Birth",
                "warning",
                "Date of Birth is blank; it is mandatory for all records. The guidance asks for a "
                "blank rather than an estimated date when the date of birth is not recorded (some "
                "unpaid carers); local authorities should improve recording.",
            )
        ],
        "blank is a warning",
    ),
    # Age is whole years at the Event End Date, or the Reporting Period End Date (30/09/2025)
    # for an open service.
    employment_case("aged 30", fails=True, **{"Date of Birth": "01/06/1995"}),
    employment_case("aged 70", fails=False, **{"Date of Birth": "01/06/1955"}),
    employment_case(
        "aged 30 with Unknown",
        fails=False,
        **{"Date of Birth": "01/06/1995", "Employment Status": "Unknown"},
    ),
    employment_case("aged 64 at period end", fails=True, **{"Date of Birth": "01/10/1960"}),
    employment_case("aged 65 at period end", fails=False, **{"Date of Birth": "30/09/1960"}),
    employment_case("aged 18 at period end", fails=True, **{"Date of Birth": "30/09/2007"}),
    employment_case("aged 17 at period end", fails=False, **{"Date of Birth": "01/10/2007"}),
    employment_case(
        "64 at event end, 65 at period end",
        CLOSED_SERVICE,
        fails=True,
        **{"Date of Birth": "01/07/1960"},
    ),
    employment_case(
        "65 at event end", CLOSED_SERVICE, fails=False, **{"Date of Birth": "30/06/1960"}
    ),
    employment_case(
        "64 on request end date", REQUEST, fails=True, **{"Date of Birth": "13/05/1960"}
    ),
    employment_case(
        "65 on request end date", REQUEST, fails=False, **{"Date of Birth": "12/05/1960"}
    ),
    employment_case(
        "unpaid carer aged 30",
        UNPAID_CARER,
        REQUEST,
        LD,
        fails=False,
        **{"Date of Birth": "01/06/1995"},
    ),
    employment_case(
        "other PSR aged 30",
        LD,
        fails=False,
        **{"Date of Birth": "01/06/1995", "Primary Support Reason": "Mental health support"},
    ),
    case("mandatory.client_funding_status", [row()], [], "filled"),
    case(
        "mandatory.client_funding_status",
        [row(UNPAID_CARER, REQUEST)],
        [],
        "unpaid carer may be blank",
    ),
    case(
        "mandatory.client_funding_status",
        [row(**{"Client Funding Status": ""})],
        [
            F(
                2,
                "Client Funding Status",
                "error",
                "Client Funding Status is blank; it is mandatory for service users ('Unknown' is a "
                "valid response). May be left blank for unpaid carers where the local authority "
                "does not charge for their services.",
            )
        ],
        "service user",
    ),
    case("mandatory.event", [row(), row(CARER_BY_ASSOCIATION)], [], "event and association rows"),
    case(
        "mandatory.event",
        [row(**{"Event Start Date": ""})],
        [
            F(
                2,
                "Event Start Date",
                "error",
                "Event Start Date is blank; it is mandatory for all events. Every row except an "
                "'Unpaid carer known by association' row is an event.",
            )
        ],
        "start date",
    ),
    case(
        "mandatory.event",
        [row(NOT_A_SERVICE, **{"Event Type": "", "Event Outcome": ""})],
        [
            F(
                2,
                "Event Type",
                "error",
                "Event Type is blank; it is mandatory for all events. Every row except an 'Unpaid "
                "carer known by association' row is an event.",
            )
        ],
        "event type",
    ),
    case("mandatory.event_end_date", [row()], [], "open service"),
    case(
        "mandatory.event_end_date",
        [row(REQUEST, **{"Event End Date": ""})],
        [
            F(
                2,
                "Event End Date",
                "error",
                "Event End Date is blank; it is mandatory for all events except for open and "
                "ongoing services. Only services open at the reporting period end may have a blank "
                "end date; requests, assessments and reviews are submitted once completed.",
            )
        ],
        "request",
    ),
    case(
        "mandatory.event_end_date",
        [row(REVIEW, **{"Event End Date": ""}), row(ASSESSMENT, **{"Event End Date": ""})],
        [
            F(
                2,
                "Event End Date",
                "error",
                "Event End Date is blank; it is mandatory for all events except for open and "
                "ongoing services. Only services open at the reporting period end may have a blank "
                "end date; requests, assessments and reviews are submitted once completed.",
            ),
            F(
                3,
                "Event End Date",
                "error",
                "Event End Date is blank; it is mandatory for all events except for open and "
                "ongoing services. Only services open at the reporting period end may have a blank "
                "end date; requests, assessments and reviews are submitted once completed.",
            ),
        ],
        "review and assessment",
    ),
    case("mandatory.event_outcome", [row(FINANCIAL_ASSESSMENT)], [], "financial assessment"),
    case(
        "mandatory.event_outcome",
        [row(REQUEST, **{"Event Outcome": ""})],
        [
            F(
                2,
                "Event Outcome",
                "error",
                "Event Outcome is blank; it is mandatory for all events except for financial "
                "assessments.",
            )
        ],
        "request",
    ),
    case(
        "mandatory.event_outcome",
        [row(ASSESSMENT, **{"Event Outcome": ""})],
        [
            F(
                2,
                "Event Outcome",
                "error",
                "Event Outcome is blank; it is mandatory for all events except for financial "
                "assessments.",
            )
        ],
        "long term assessment",
    ),
    case("mandatory.route_of_access", [row(REQUEST)], [], "filled"),
    case(
        "mandatory.route_of_access",
        [row(REQUEST, **{"Request: Route of Access": ""})],
        [
            F(
                2,
                "Request: Route of Access",
                "error",
                "Request: Route of Access is blank; it is mandatory for requests. For unpaid "
                "carers whose route is not recorded, use 'Community or other route'.",
            )
        ],
        "request",
    ),
    case("mandatory.assessment_type", [row(ASSESSMENT)], [], "filled"),
    case(
        "mandatory.assessment_type",
        [row(ASSESSMENT, **{"Assessment Type": ""})],
        [
            F(
                2,
                "Assessment Type",
                "error",
                "Assessment Type is blank; it is mandatory for assessments.",
            )
        ],
        "assessment",
    ),
    case(
        "mandatory.method_of_assessment",
        [row(ASSESSMENT), row(FINANCIAL_ASSESSMENT)],
        [],
        "filled, or a financial assessment",
    ),
    case(
        "mandatory.method_of_assessment",
        [row(ASSESSMENT, **{"Method of Assessment": ""})],
        [
            F(
                2,
                "Method of Assessment",
                "error",
                "Method of Assessment is blank; it is mandatory for assessments except for "
                "financial assessments.",
            )
        ],
        "long term assessment",
    ),
    case("mandatory.service", [row()], [], "filled"),
    case(
        "mandatory.service",
        [row(**{"Service Component": ""})],
        [
            F(
                2,
                "Service Component",
                "error",
                "Service Component is blank; it is mandatory for services.",
            )
        ],
        "component",
    ),
    case("mandatory.delivery_mechanism", [row(), row(RESIDENTIAL)], [], "community, residential"),
    case(
        "mandatory.delivery_mechanism",
        [row(NO_COSTS, **{"Delivery Mechanism": ""})],
        [
            F(
                2,
                "Delivery Mechanism",
                "error",
                "Delivery Mechanism is blank; it is mandatory for long term community services "
                "only.",
            )
        ],
        "long term community",
    ),
    case("mandatory.review", [row(REVIEW)], [], "filled"),
    case(
        "mandatory.review",
        [row(REVIEW, **{"Review Reason": "", "Method of Review": ""})],
        [
            F(2, "Review Reason", "error", "Review Reason is blank; it is mandatory for reviews."),
            F(
                2,
                "Method of Review",
                "error",
                "Method of Review is blank; it is mandatory for reviews.",
            ),
        ],
        "review",
    ),
    case(
        "mandatory.review_outcomes_achieved",
        [
            row(REVIEW),
            row(
                REVIEW,
                **{"Review Reason": "Unplanned: Other reason", "Review Outcomes Achieved": ""},
            ),
        ],
        [],
        "filled, or unplanned",
    ),
    case(
        "mandatory.review_outcomes_achieved",
        [row(REVIEW, **{"Review Outcomes Achieved": ""})],
        [
            F(
                2,
                "Review Outcomes Achieved",
                "warning",
                "Review Outcomes Achieved is blank; it is mandatory for planned reviews excluding "
                "initial 6-week reviews. Initial 6-week reviews may be blank or 'Not applicable'; "
                "the file cannot tell them apart from other planned reviews, so a blank is a "
                "warning.",
            )
        ],
        "planned review",
    ),
    case(
        "mandatory.costs",
        [
            row(),
            row(RESIDENTIAL),
            row(NO_COSTS, **{"Delivery Mechanism": "CASSR commissioned support"}),
            row(
                NO_COSTS,
                **{
                    "Service Type": "Short term support: ST-Max",
                    "Service Component": "Reablement",
                    "Delivery Mechanism": "CASSR commissioned support",
                },
            ),
        ],
        [],
        "costed, or commissioned support",
    ),
    case(
        "mandatory.costs",
        [row(RESIDENTIAL, **{"Unit Cost": ""})],
        [F(2, "Unit Cost", "error", f"Unit Cost is blank; {COSTS_ANNEX}")],
        "residential care",
    ),
    case(
        "mandatory.costs",
        [row(NO_COSTS)],
        [
            F(2, "Unit Cost", "error", f"Unit Cost is blank; {COSTS_ANNEX}"),
            F(
                2,
                "Cost Frequency (Unit Type)",
                "error",
                f"Cost Frequency (Unit Type) is blank; {COSTS_ANNEX}",
            ),
        ],
        "community via managed personal budget",
    ),
    case(
        "mandatory.costs",
        [
            row(
                NO_COSTS,
                **{"Delivery Mechanism": "Direct payment", "Service Component": "Direct payment"},
            ),
            row(
                NO_COSTS,
                CLOSED_SERVICE,
                **{
                    "Service Type": "Short term support: Other short term",
                    "Service Component": "Short term residential care",
                    "Delivery Mechanism": "",
                },
            ),
        ],
        [
            F(2, "Unit Cost", "error", f"Unit Cost is blank; {COSTS_ANNEX}"),
            F(
                2,
                "Cost Frequency (Unit Type)",
                "error",
                f"Cost Frequency (Unit Type) is blank; {COSTS_ANNEX}",
            ),
            F(3, "Unit Cost", "error", f"Unit Cost is blank; {COSTS_ANNEX}"),
            F(
                3,
                "Cost Frequency (Unit Type)",
                "error",
                f"Cost Frequency (Unit Type) is blank; {COSTS_ANNEX}",
            ),
        ],
        "direct payment and short term residential",
    ),
    case("mandatory.planned_units", [row(), row(RESIDENTIAL)], [], "hourly filled, weekly"),
    case(
        "mandatory.planned_units",
        [
            row(**{"Planned units per week": ""}),
            row(RESIDENTIAL, **{"Cost Frequency (Unit Type)": "Daily", "Unit Cost": "135.00"}),
        ],
        [
            F(
                2,
                "Planned units per week",
                "error",
                f"Planned units per week is blank; {COSTS_ANNEX} Planned units are completed for "
                "services costed hourly or daily (or per session in some cases).",
            ),
            F(
                3,
                "Planned units per week",
                "error",
                f"Planned units per week is blank; {COSTS_ANNEX} Planned units are completed for "
                "services costed hourly or daily (or per session in some cases).",
            ),
        ],
        "hourly and daily",
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), MANDATORY_CASES)
def test_mandatory_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


# --- fields that do not apply --------------------------------------------------------------------


def na(column, module, value, note="", severity="warning", line=2):
    message = f"{column} is filled on a row it does not apply to ({module}).{note}"
    return F(line, column, severity, message, value)


CBA_NOTE = (
    " An 'Unpaid carer known by association' row carries person details and unpaid carer "
    "information but no event details."
)
FINANCIAL_NOTE = (
    " Financial assessments are the only events that should not have an outcome recorded."
)

NOT_APPLICABLE_CASES = [
    case(
        "not_applicable.carer_by_association", [row(CARER_BY_ASSOCIATION)], [], "no event details"
    ),
    case(
        "not_applicable.carer_by_association",
        [row(CARER_BY_ASSOCIATION, **{"Event Type": "Service"})],
        [na("Event Type", "Events (All)", "Service", CBA_NOTE, "error")],
        "event type",
    ),
    case(
        "not_applicable.carer_by_association",
        [
            row(
                CARER_BY_ASSOCIATION,
                **{
                    "Event Start Date": "01/04/2025",
                    "Service Type": "Unpaid carer support: Direct to unpaid carer",
                    "Unit Cost": "20.00",
                },
            )
        ],
        [
            na("Event Start Date", "Events (All)", "01/04/2025", CBA_NOTE, "error"),
            na(
                "Service Type",
                "Events (Services only)",
                "Unpaid carer support: Direct to unpaid carer",
                CBA_NOTE,
                "error",
            ),
            na("Unit Cost", "Costs (Services only)", "20.00", CBA_NOTE, "error"),
        ],
        "start date, service type and cost",
    ),
    case("not_applicable.route_of_access", [row(REQUEST), row()], [], "request, service"),
    case(
        "not_applicable.route_of_access",
        [row(**{"Request: Route of Access": "Discharge from hospital"})],
        [na("Request: Route of Access", "Events (Requests only)", "Discharge from hospital")],
        "service",
    ),
    case("not_applicable.assessment_fields", [row(ASSESSMENT), row()], [], "assessment, service"),
    case(
        "not_applicable.assessment_fields",
        [row(REVIEW, **{"Assessment Type": "Long term assessment"})],
        [na("Assessment Type", "Events (Assessments only)", "Long term assessment")],
        "review",
    ),
    case(
        "not_applicable.eligible_needs",
        [
            row(ASSESSMENT),
            row(
                ASSESSMENT,
                **{"Assessment Type": "Short term assessment", "Eligible Needs Identified": ""},
            ),
        ],
        [],
        "long term assessment",
    ),
    case(
        "not_applicable.eligible_needs",
        [row(ASSESSMENT, **{"Assessment Type": "Short term assessment"})],
        [
            na(
                "Eligible Needs Identified",
                "Events (Assessments only)",
                "Eligible needs identified",
                " Eligible needs are recorded for long term assessments only, where eligibility "
                "is determined.",
            )
        ],
        "short term assessment",
    ),
    case("not_applicable.financial_assessment", [row(FINANCIAL_ASSESSMENT)], [], "blank"),
    case(
        "not_applicable.financial_assessment",
        [row(FINANCIAL_ASSESSMENT, **{"Event Outcome": "NFA: Other"})],
        [na("Event Outcome", "Events (All)", "NFA: Other", FINANCIAL_NOTE)],
        "outcome",
    ),
    case("not_applicable.service_fields", [row(), row(REQUEST)], [], "service, request"),
    case(
        "not_applicable.service_fields",
        [row(REQUEST, **{"Service Type": "Long term support: Community", "Unit Cost": "24.50"})],
        [
            na("Service Type", "Events (Services only)", "Long term support: Community"),
            na("Unit Cost", "Costs (Services only)", "24.50"),
        ],
        "request",
    ),
    case("not_applicable.review_fields", [row(), row(REVIEW)], [], "service, review"),
    case(
        "not_applicable.review_fields",
        [row(**{"Method of Review": "Service user only"})],
        [na("Method of Review", "Events (Reviews only)", "Service user only")],
        "service",
    ),
    case(
        "not_applicable.unpaid_carer_fields",
        [row(UNPAID_CARER, REQUEST), row(CARER_BY_ASSOCIATION)],
        [],
        "unpaid carer rows",
    ),
    case(
        "not_applicable.unpaid_carer_fields",
        [row(**{"Total Hrs Caring per week": "1 to 9 hours a week"})],
        [
            na(
                "Total Hrs Caring per week",
                "Events (Unpaid carers only)",
                "1 to 9 hours a week",
                " These fields are completed for rows with client type 'Unpaid carer' or 'Unpaid "
                "carer known by association'.",
            )
        ],
        "service user",
    ),
    case(
        "not_applicable.planned_units",
        [row(), row(**{"Cost Frequency (Unit Type)": "Per session"}), row(RESIDENTIAL)],
        [],
        "hourly, per session, weekly without units",
    ),
    case(
        "not_applicable.planned_units",
        [row(RESIDENTIAL, **{"Planned units per week": "7"})],
        [
            na(
                "Planned units per week",
                "Costs (Services only)",
                "7",
                " Planned units are completed only where the cost frequency is hourly or daily (or "
                "per session in some cases).",
            )
        ],
        "weekly",
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), NOT_APPLICABLE_CASES)
def test_not_applicable_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


# --- expected values -----------------------------------------------------------------------------

EXPECTED_CASES = [
    case(
        "expected.unpaid_carer_psr", [row(UNPAID_CARER, REQUEST), row()], [], "carer, service user"
    ),
    case(
        "expected.unpaid_carer_psr",
        [
            row(
                UNPAID_CARER,
                REQUEST,
                **{"Primary Support Reason": "Physical support: Personal care support"},
            )
        ],
        [
            F(
                2,
                "Primary Support Reason",
                "warning",
                "Primary Support Reason is 'Physical support: Personal care support'; the guidance "
                "expects 'Social support: Support to unpaid carer' here. The PSR 'Social support: "
                "Support to unpaid carer' should be recorded for any unpaid carer-related events.",
                "Physical support: Personal care support",
            )
        ],
        "unpaid carer",
    ),
    case(
        "expected.open_service_outcome",
        [row(), row(CLOSED_SERVICE)],
        [],
        "open continuing, closed ended",
    ),
    case(
        "expected.open_service_outcome",
        [row(**{"Event Outcome": "NFA: Support ended as planned"})],
        [
            F(
                2,
                "Event Outcome",
                "warning",
                "Event Outcome is 'NFA: Support ended as planned'; the guidance expects "
                "'Continuation of support or services' here. Open and ongoing services should "
                "have the outcome 'Continuation of support or services'.",
                "NFA: Support ended as planned",
            )
        ],
        "open service",
    ),
    case(
        "expected.carer_method_of_assessment",
        [
            row(UNPAID_CARER, ASSESSMENT, **{"Method of Assessment": "Unpaid carer only"}),
            row(
                UNPAID_CARER,
                ASSESSMENT,
                **{
                    "Method of Assessment": "Service user and unpaid carer",
                    "Event Reference": "ASM0002",
                },
            ),
        ],
        [],
        "carer involved",
    ),
    case(
        "expected.carer_method_of_assessment",
        [row(UNPAID_CARER, ASSESSMENT)],
        [
            F(
                2,
                "Method of Assessment",
                "warning",
                "Method of Assessment is 'Service user only'; the guidance expects 'Unpaid carer "
                "only' or 'Service user and unpaid carer' here. An unpaid carer's assessment "
                "involves the unpaid carer; 'Service user and unpaid carer' marks a joint "
                "assessment.",
                "Service user only",
            )
        ],
        "service user only",
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), EXPECTED_CASES)
def test_expected_value_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


# --- dates across fields -------------------------------------------------------------------------

DIED = {"Date of Death": "01/05/2025"}

CROSS_CASES = [
    case("cross.end_before_start", [row(REQUEST), row(ASSESSMENT)], [], "same day, later"),
    case(
        "cross.end_before_start",
        [row(REQUEST, **{"Event End Date": "11/05/2025"})],
        [
            F(
                2,
                "Event End Date",
                "error",
                "Event End Date is before Event Start Date.",
                "11/05/2025",
            )
        ],
        "a day before",
    ),
    case(
        "cross.death_before_birth",
        [row(DIED, CLOSED_SERVICE, **{"Event End Date": "01/05/2025"})],
        [],
        "after",
    ),
    case(
        "cross.death_before_birth",
        [row(**{"Date of Death": "01/01/1949"})],
        [F(2, "Date of Death", "error", "Date of Death is before Date of Birth.", "01/01/1949")],
        "before",
    ),
    case("cross.event_before_birth", [row(**{"Event Start Date": "14/03/1950"})], [], "birthday"),
    case(
        "cross.event_before_birth",
        [row(**{"Date of Birth": "02/04/2024"})],
        [
            F(
                2,
                "Event Start Date",
                "error",
                "Event Start Date is before the person's Date of Birth.",
                "01/04/2024",
            )
        ],
        "before",
    ),
    case(
        "cross.event_after_death",
        [
            row(
                DIED,
                CLOSED_SERVICE,
                **{"Event End Date": "01/05/2025", "Event Outcome": "NFA: Deceased"},
            ),
            row(**{"Date of Death": "01/10/2025"}),
        ],
        [],
        "ended at death, died after the period",
    ),
    case(
        "cross.event_after_death",
        [row(DIED, CLOSED_SERVICE, **{"Event Outcome": "NFA: Deceased"})],
        [
            F(
                2,
                "Event End Date",
                "warning",
                "Event End Date is after the Date of Death; when a person has died, the event end "
                "date should be the date of death.",
                "30/06/2025",
            )
        ],
        "ended after death",
    ),
    case(
        "cross.event_after_death",
        [row(DIED)],
        [
            F(
                2,
                "Event End Date",
                "warning",
                "The service is open but the person died within the reporting period; end it at "
                "the date of death.",
            )
        ],
        "still open",
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), CROSS_CASES)
def test_cross_field_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


# --- reporting period ----------------------------------------------------------------------------

AUGUST_PERIOD = {
    "Reporting Period Start Date": "01/09/2024",
    "Reporting Period End Date": "31/08/2025",
}
FEBRUARY_PERIOD = {
    "Reporting Period Start Date": "01/03/2023",
    "Reporting Period End Date": "29/02/2024",
}
FEBRUARY_SERVICE = {"Event Start Date": "01/04/2023"}

PERIOD_CASES = [
    case("period.consistent", [row(), other_person(0), other_person(1)], [], "one period"),
    case(
        "period.consistent",
        [row(), other_person(0), other_person(1, **{"LA Code": "504"})],
        [
            F(
                4,
                "LA Code",
                "error",
                "LA Code differs from the rest of the file ('503' on most rows); every row of a "
                "submission has the same LA Code and reporting period.",
                "504",
            )
        ],
        "LA Code",
    ),
    case(
        "period.consistent",
        [
            other_person(
                0,
                **{
                    "Reporting Period Start Date": "01/07/2024",
                    "Reporting Period End Date": "30/06/2025",
                },
            ),
            row(),
            other_person(1),
        ],
        [
            F(
                2,
                "Reporting Period Start Date",
                "error",
                "Reporting Period Start Date differs from the rest of the file ('01/10/2024' on "
                "most rows); every row of a submission has the same LA Code and reporting period.",
                "01/07/2024",
            ),
            F(
                2,
                "Reporting Period End Date",
                "error",
                "Reporting Period End Date differs from the rest of the file ('30/09/2025' on "
                "most rows); every row of a submission has the same LA Code and reporting period.",
                "30/06/2025",
            ),
        ],
        "period dates",
    ),
    case("period.month_end", [row()], [], "quarter end"),
    case("period.month_end", [row(AUGUST_PERIOD)], [], "monthly submitter", monthly=True),
    case(
        "period.month_end",
        [row(FEBRUARY_PERIOD, FEBRUARY_SERVICE)],
        [],
        "leap day, monthly",
        monthly=True,
    ),
    case(
        "period.month_end",
        [row(**{"Reporting Period End Date": "29/09/2025"})],
        [
            F(
                None,
                "Reporting Period End Date",
                "error",
                "Reporting Period End Date 29/09/2025 is not the last day of a month.",
                "29/09/2025",
            )
        ],
        "not a month end",
    ),
    case(
        "period.month_end",
        [row(AUGUST_PERIOD)],
        [
            F(
                None,
                "Reporting Period End Date",
                "error",
                "Reporting Period End Date 31/08/2025 is not a quarter end (31/03, 30/06, 30/09, "
                "31/12). If the authority submits monthly, validate with --monthly.",
                "31/08/2025",
            )
        ],
        "not a quarter end",
    ),
    case("period.twelve_months", [row()], [], "12 months"),
    case(
        "period.twelve_months",
        [row(FEBRUARY_PERIOD, FEBRUARY_SERVICE)],
        [],
        "to a leap day",
        monthly=True,
    ),
    case(
        "period.twelve_months",
        [row(**{"Reporting Period Start Date": "01/09/2024"})],
        [
            F(
                None,
                "Reporting Period Start Date",
                "error",
                "Reporting Period Start Date 01/09/2024 does not begin the 12 months ending "
                "30/09/2025; it should be 01/10/2024.",
                "01/09/2024",
            )
        ],
        "13 months",
    ),
    case(
        "period.twelve_months",
        [row(**{"Reporting Period Start Date": "01/07/2025"})],
        [
            F(
                None,
                "Reporting Period Start Date",
                "error",
                "Reporting Period Start Date 01/07/2025 does not begin the 12 months ending "
                "30/09/2025; it should be 01/10/2024.",
                "01/07/2025",
            )
        ],
        "one quarter",
    ),
    case(
        "period.completed_inside",
        [
            row(REQUEST),
            row(ASSESSMENT, **{"Event Start Date": "01/09/2024", "Event End Date": "01/10/2024"}),
            row(REVIEW, **{"Event Start Date": "30/09/2025", "Event End Date": "30/09/2025"}),
        ],
        [],
        "inside, including started before",
    ),
    case(
        "period.completed_inside",
        [
            row(REQUEST, **{"Event Start Date": "30/09/2024", "Event End Date": "30/09/2024"}),
            row(REVIEW, **{"Event End Date": "01/10/2025"}),
        ],
        [
            F(
                2,
                "Event End Date",
                "error",
                "Event End Date is outside the reporting period; requests, assessments and reviews "
                "are submitted when completed inside the 12 months.",
                "30/09/2024",
            ),
            F(
                3,
                "Event End Date",
                "error",
                "Event End Date is outside the reporting period; requests, assessments and reviews "
                "are submitted when completed inside the 12 months.",
                "01/10/2025",
            ),
        ],
        "before and after",
    ),
    case(
        "period.service_active",
        [
            row(**{"Event Start Date": "01/06/2019"}),
            row(
                CLOSED_SERVICE, **{"Event Start Date": "30/09/2025", "Event End Date": "30/09/2025"}
            ),
            row(CLOSED_SERVICE, **{"Event End Date": "01/10/2024"}),
        ],
        [],
        "active in the period",
    ),
    case(
        "period.service_active",
        [
            row(**{"Event Start Date": "01/10/2025"}),
            row(
                CLOSED_SERVICE, **{"Event Start Date": "01/04/2023", "Event End Date": "30/09/2024"}
            ),
        ],
        [
            F(
                2,
                "Event Start Date",
                "error",
                "The service starts after the reporting period ends; include services active "
                "during it.",
                "01/10/2025",
            ),
            F(
                3,
                "Event End Date",
                "error",
                "The service ended before the reporting period began; include services active "
                "during it.",
                "30/09/2024",
            ),
        ],
        "after and before",
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), PERIOD_CASES)
def test_period_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


# --- outcome by event type, personal data, duplicates --------------------------------------------

PRIVACY_IDENTIFIER = (
    "{} contains the person's {}; identifiers must not include personal data in full or in part."
)
PRIVACY_DESCRIPTION = (
    "Event Description contains what looks like {}; personal data belongs only in the name, date "
    "of birth, NHS number and postcode fields."
)

OTHER_CASES = [
    case(
        "outcome.event_type",
        [row(), row(REQUEST), row(REVIEW), row(CLOSED_SERVICE)],
        [],
        "typical outcomes",
    ),
    case(
        "outcome.event_type",
        [row(REQUEST, **{"Event Outcome": "NFA: Support ended for other reason"})],
        [
            F(
                2,
                "Event Outcome",
                "warning",
                "Event Outcome 'NFA: Support ended for other reason' is not typically used for a "
                "request (see the guidance's table of outcomes by event type).",
                "NFA: Support ended for other reason",
            )
        ],
        "request",
    ),
    case(
        "outcome.event_type",
        [row(CLOSED_SERVICE, **{"Event Outcome": "Progress to reablement/ST-Max"})],
        [
            F(
                2,
                "Event Outcome",
                "warning",
                "Event Outcome 'Progress to reablement/ST-Max' is not typically used for a service "
                "(see the guidance's table of outcomes by event type).",
                "Progress to reablement/ST-Max",
            )
        ],
        "service",
    ),
    case(
        "privacy.identifier",
        [row(), row(**{"First Name": "Al", "LA Person Unique Identifier": "AL000123"})],
        [],
        "no personal data, two-letter name",
    ),
    case(
        "privacy.identifier",
        [row(**{"LA Person Unique Identifier": "P14031950"})],
        [
            F(
                2,
                "LA Person Unique Identifier",
                "warning",
                PRIVACY_IDENTIFIER.format("LA Person Unique Identifier", "date of birth"),
                "P14031950",
            )
        ],
        "date of birth ddmmyyyy",
    ),
    case(
        "privacy.identifier",
        [row(**{"LA Person Unique Identifier": "19500314-07"})],
        [
            F(
                2,
                "LA Person Unique Identifier",
                "warning",
                PRIVACY_IDENTIFIER.format("LA Person Unique Identifier", "date of birth"),
                "19500314-07",
            )
        ],
        "date of birth yyyymmdd",
    ),
    case(
        "privacy.identifier",
        [row(**{"Event Reference": "Lovelock-SVC1"})],
        [
            F(
                2,
                "Event Reference",
                "warning",
                PRIVACY_IDENTIFIER.format("Event Reference", "last name"),
                "Lovelock-SVC1",
            )
        ],
        "last name",
    ),
    case(
        "privacy.identifier",
        [row(**{"Event Reference": "LN11YL-01"})],
        [
            F(
                2,
                "Event Reference",
                "warning",
                PRIVACY_IDENTIFIER.format("Event Reference", "postcode"),
                "LN11YL-01",
            )
        ],
        "postcode",
    ),
    case(
        "privacy.description",
        [row(), row(REVIEW, **{"Event Description": "6 week review"})],
        [],
        "plain descriptions",
    ),
    case(
        "privacy.description",
        [
            row(**{"Event Description": "Called GP about 943 476 5919"}),
            row(**{"Event Description": "Moved to LN1 1YL"}),
            row(**{"Event Description": "Reviewed 12/05/2025"}),
        ],
        [
            F(2, "Event Description", "warning", PRIVACY_DESCRIPTION.format("an NHS number")),
            F(3, "Event Description", "warning", PRIVACY_DESCRIPTION.format("a postcode")),
            F(4, "Event Description", "warning", PRIVACY_DESCRIPTION.format("a date")),
        ],
        "NHS number, postcode, date",
    ),
    case("file.duplicate_row", [row(), row(REQUEST)], [], "different rows"),
    case(
        "file.duplicate_row",
        [row(), row(REQUEST), row()],
        [F(4, None, "error", "Row repeats line 2 exactly; remove the copy.")],
        "copy",
    ),
    case(
        "file.duplicate_event",
        [row(), row(**{"Service Component": "Day support", "Event Reference": "SVC0002"})],
        [],
        "two services",
    ),
    case(
        "file.duplicate_event",
        [row(), row(**{"Event Reference": "SVC0002", "Provider CQC Location ID": "1-987654321"})],
        [
            F(
                3,
                None,
                "warning",
                "Same service as line 2 (same person, Client Type, Event Start Date, Service Type, "
                "Service Component); the central pipeline keeps only one.",
            )
        ],
        "service",
    ),
    case(
        "file.duplicate_event",
        [
            row(REQUEST),
            row(REQUEST, **{"Event Reference": "REQ0002", "Event Description": "Phone"}),
        ],
        [
            F(
                3,
                None,
                "warning",
                "Same request as line 2 (same person, Client Type, Event Start Date, Event End "
                "Date, Request: Route of Access); the central pipeline keeps only one.",
            )
        ],
        "request",
    ),
    case(
        "file.duplicate_reference",
        [row(), row(REQUEST, **{"Event Reference": "SVC0001"})],
        [],
        "other event type",
    ),
    case(
        "file.duplicate_reference",
        [row(), row(**{"Service Component": "Day support"})],
        [
            F(
                3,
                "Event Reference",
                "warning",
                "Event Reference repeats line 2 for the same event type; each event needs its own "
                "reference.",
                "SVC0001",
            )
        ],
        "two services",
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), OTHER_CASES)
def test_outcome_privacy_and_file_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


# --- the DLP's file rules -------------------------------------------------------------------


def dlp_case(rule, rows, expected, id, **options):
    """A case with the DLP options of `validate_rows`: bom, gzip_file, max_bytes."""
    return pytest.param(rule, rows, expected, STANDARD | options, id=f"{rule}:{id}")


LEADING = (
    "{} starts with =, +, - or @; the DLP rejects such values (a spreadsheet formula) unless a "
    "minus sign begins a number. Remove the character at source."
)
NOT_CP1252 = (
    "{} holds a character Windows-1252 cannot carry; the DLP reads files as Windows-1252, so it "
    "would arrive garbled. Correct it at source, or write the file with `cldetl run` and a "
    "transliteration."
)

LF_ONLY = (
    "Lines end with LF only (as Linux and macOS tools write), not CRLF, which the DLP data sender "
    "user guide asks for. Save it from Excel as 'CSV (Comma delimited)', which writes what the "
    "DLP asks for (Windows-1252, CRLF line endings, no byte order mark), not 'CSV UTF-8', whose "
    "byte order mark the DLP rejects; or write the file with `cldetl run`."
)

DLP_CASES = [
    dlp_case("dlp.bom", [row()], [], "no byte order mark"),
    dlp_case(
        "dlp.bom",
        [row()],
        [
            F(
                1,
                None,
                "error",
                "The file starts with a UTF-8 byte order mark (BOM); the DLP reads it as part of "
                "the first column name and fails the submission. Save it from Excel as 'CSV "
                "(Comma delimited)', which writes what the DLP asks for (Windows-1252, CRLF line "
                "endings, no byte order mark), not 'CSV UTF-8', whose byte order mark the DLP "
                "rejects; or write the file with `cldetl run`.",
            )
        ],
        "Excel's CSV UTF-8",
        bom=True,
    ),
    dlp_case("dlp.line_endings", [row()], [], "CRLF, as Excel writes"),
    dlp_case(
        "dlp.line_endings",
        [row(**{"Event Description": "two\nlines"})],
        [],
        "LF inside a quoted value, as Excel writes it",
    ),
    dlp_case("dlp.line_endings", [row()], [F(1, None, "warning", LF_ONLY)], "LF", newline="\n"),
    dlp_case(
        "dlp.line_endings",
        [row()],
        [F(1, None, "warning", LF_ONLY)],
        "LF, gzipped",
        newline="\n",
        gzip_file=True,
    ),
    dlp_case("dlp.leading_character", [row(**{"Unit Cost": "-12.50"})], [], "negative cost"),
    dlp_case(
        "dlp.leading_character",
        [
            row(**{"Event Description": '=HYPERLINK("http://x.example")'}),
            row(**{"Event Reference": "+SVC1", "Event Description": "@home"}),
            row(**{"Unit Cost": "-12.50x", "Planned units per week": "-"}),
        ],
        [
            F(
                2,
                "Event Description",
                "error",
                LEADING.format("Event Description"),
                '=HYPERLINK("http://x.example")',
            ),
            F(3, "Event Reference", "error", LEADING.format("Event Reference"), "+SVC1"),
            F(3, "Event Description", "error", LEADING.format("Event Description"), "@home"),
            F(4, "Unit Cost", "error", LEADING.format("Unit Cost"), "-12.50x"),
            F(
                4,
                "Planned units per week",
                "error",
                LEADING.format("Planned units per week"),
                "-",
            ),
        ],
        "formula, plus, at, minus not before a number",
    ),
    dlp_case("dlp.file_size", [row()], [], "small file", max_bytes=(10**6, 10**6)),
    dlp_case(
        "dlp.file_size",
        [row()],
        [
            F(
                None,
                None,
                "error",
                "The file is over 100 bytes uncompressed, the most the DLP accepts, so cldetl did "
                "not read it further. Check that it is the CLD return; split the submission with "
                "the DLP team's agreement.",
            )
        ],
        "over a patched 100-byte limit",
        max_bytes=(100, 10**6),
    ),
    dlp_case("dlp.not_cp1252", [row(**{"First Name": "Zoë"})], [], "Windows-1252 letter"),
    dlp_case(
        "dlp.not_cp1252",
        [row(**{"Last Name": "Wałęsa"}), row(**{"Event Description": "家庭支援"})],
        [
            F(2, "Last Name", "error", NOT_CP1252.format("Last Name"), "Wałęsa"),
            F(3, "Event Description", "error", NOT_CP1252.format("Event Description"), "家庭支援"),
        ],
        "Polish and Chinese",
    ),
]


@pytest.mark.parametrize(("rule", "rows", "expected", "options"), DLP_CASES)
def test_dlp_rules(validate_rows, batch, rule, rows, expected, options):
    run_case(validate_rows, batch, rule, rows, expected, options)


ALL_TABLES = (
    DLP_CASES,
    HEADER_CASES,
    TYPE_CASES,
    LIST_CASES,
    MANDATORY_CASES,
    NOT_APPLICABLE_CASES,
    EXPECTED_CASES,
    CROSS_CASES,
    PERIOD_CASES,
    OTHER_CASES,
)


def test_every_rule_has_a_passing_and_a_failing_case():
    passing, failing = set(), set()
    for table in ALL_TABLES:
        for param in table:
            rule, _, expected, _ = param.values
            (failing if expected else passing).add(rule)
    # Rules only the DLP file writer gives (tests/test_portal_file.py), the national
    # processing preview (tests/test_national.py) or a run about its mapping
    # (tests/test_onboarding_review.py).
    catalogue = (
        set(load_spec().rules) - set(WRITER_ONLY_RULES) - set(PREVIEW_RULES) - set(RUN_RULES)
    )
    assert catalogue - failing == set(), "rules without a failing case"
    assert catalogue - passing == set(), "rules without a passing case"
    assert (failing | passing) - catalogue == set(), "cases for rules not in the catalogue"


def test_failing_cases_name_their_rules_catalogue_severity():
    rules = load_spec().rules
    for table in ALL_TABLES:
        for param in table:
            rule, _, expected, _ = param.values
            for finding in expected:
                assert finding["severity"] == rules[rule].severity, (rule, finding)


def test_base_row_and_event_variants_are_clean(validate_rows):
    rows = [
        row(),
        row(REQUEST),
        row(ASSESSMENT),
        row(FINANCIAL_ASSESSMENT),
        row(REVIEW),
        row(RESIDENTIAL, **{"Event Reference": "SVC0002"}),
        row(UNPAID_CARER, REQUEST, **{"Event Reference": "REQ0002"}),
        row(CARER_BY_ASSOCIATION),
    ]
    report = validate_rows(rows)
    assert findings(report) == []
    assert report.rows == len(rows)
    assert report.exit_code == 0


def test_a_column_missing_from_the_header_is_reported_once_not_per_row(validate_rows):
    header = [h for h in HEADERS if h != "Event Type"]
    report = validate_rows([row(), row(REQUEST), row(REVIEW)], header=header)
    assert [(f["rule"], f["column"]) for f in findings(report)] == [
        ("header.missing", "Event Type")
    ]


SAMPLE_CASES = [
    ("mandatory.employment_status", "aged 64 at period end"),
    ("not_applicable.carer_by_association", "start date, service type and cost"),
    ("list.release1", "NFA moved"),
    ("cross.event_after_death", "still open"),
    ("privacy.description", "NHS number, postcode, date"),
]


@pytest.mark.skipif(UNDER_MUTMUT, reason="under mutmut no case is batched")
@pytest.mark.parametrize(("rule", "name"), SAMPLE_CASES)
def test_batched_cases_match_running_alone(validate_rows, batch, rule, name):
    param = next(p for t in ALL_TABLES for p in t if p.id == f"{rule}:{name}")
    _, rows, expected, options = param.values
    assert batchable(rule, options)
    report, first_lines = batch
    alone = own_findings(validate_rows(rows), rule)
    assert alone == own_findings(report, rule, first_lines[id(rows)], len(rows)) == expected
