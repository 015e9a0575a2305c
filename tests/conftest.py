"""Shared test helpers: one valid CLD row to start every case from, and a way to validate rows.

Each rule test takes `base_row()`, overrides the fields the case is about, writes the rows to a
CSV with `write_rows` and validates it. The base row is a service user's open long term
community service that meets every rule, so any finding a case produces comes from its
overrides.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

DATA = Path(__file__).parent / "data"

# Hypothesis' default 200 ms deadline per example is a timing check, and speed belongs in
# benchmarks/, never in unit tests: on a loaded 2-core CI machine a property test of the 3D pairs
# once failed on the real code by its deadline alone. Every property test runs without one.
settings.register_profile("cldetl", deadline=None)
settings.load_profile("cldetl")

# A valid NHS number: 943 476 591 weighs 10*9+9*4+8*3+7*4+6*7+5*6+4*5+3*9+2*1 = 299;
# 299 mod 11 = 2; 11 - 2 = 9, the check digit.
VALID_NHS = "9434765919"
# More valid NHS numbers, for rows that must be other people.
OTHER_NHS = ("4010232137", "4857773457", "1234567881", "4505577104")


def base_row() -> dict[str, str]:
    """A fully valid row: a service user aged 75 with an open long term community service."""
    return {
        "LA Code": "503",
        "Reporting Period Start Date": "01/10/2024",
        "Reporting Period End Date": "30/09/2025",
        "NHS Number": VALID_NHS,
        "LA Person Unique Identifier": "P000123",
        "First Name": "Ada",
        "Last Name": "Lovelock",
        "GP Practice Code": "A81001",
        "Gender": "Female",
        "Ethnicity": "White: English, Welsh, Scottish, Northern Irish or British",
        "Date of Birth": "14/03/1950",
        "Date of Death": "",
        "Client Type": "Service user",
        "Primary Support Reason": "Physical support: Personal care support",
        "Postcode": "LN1 1YL",
        "Accommodation Status": "Owner occupier or shared ownership scheme",
        "Employment Status": "",
        "Has Unpaid Carer": "No",
        "Autism Spectrum Disorder (ASD)": "No",
        "Visual Impairment": "No visual impairment",
        "Hearing Impairment": "No hearing impairment",
        "Dementia": "No",
        "Client Funding Status": "Joint client and social care funded",
        "Event Type": "Service",
        "Event Reference": "SVC0001",
        "Event Start Date": "01/04/2024",
        "Event End Date": "",
        "Event Description": "Home support",
        "Event Outcome": "Continuation of support or services",
        "Request: Route of Access": "",
        "Assessment Type": "",
        "Eligible Needs Identified": "",
        "Method of Assessment": "",
        "Total Hrs Caring per week": "",
        "No. of adults being cared for": "",
        "Adult 1 Linked Person_ID": "",
        "Adult 2 Linked Person_ID": "",
        "Adult 3 Linked Person_ID": "",
        "Service Type": "Long term support: Community",
        "Service Component": "Home support or domiciliary care",
        "Delivery Mechanism": "CASSR managed personal budget",
        "Provider CQC Location ID": "1-123456789",
        "Review Reason": "",
        "Review Outcomes Achieved": "",
        "Method of Review": "",
        "Unit Cost": "24.50",
        "Cost Frequency (Unit Type)": "Hourly",
        "Planned units per week": "10",
    }


# Overrides that turn the base row into other valid events of the same person.
NOT_A_SERVICE = {
    "Service Type": "",
    "Service Component": "",
    "Delivery Mechanism": "",
    "Provider CQC Location ID": "",
    "Unit Cost": "",
    "Cost Frequency (Unit Type)": "",
    "Planned units per week": "",
}
REQUEST = {
    **NOT_A_SERVICE,
    "Event Type": "Request",
    "Event Reference": "REQ0001",
    "Event Start Date": "12/05/2025",
    "Event End Date": "12/05/2025",
    "Event Description": "Adult contact",
    "Event Outcome": "Progress to assessment, review or reassessment",
    "Request: Route of Access": "Community or other route",
}
ASSESSMENT = {
    **NOT_A_SERVICE,
    "Event Type": "Assessment",
    "Event Reference": "ASM0001",
    "Event Start Date": "12/05/2025",
    "Event End Date": "02/06/2025",
    "Event Description": "Care needs assessment",
    "Event Outcome": "Progress to support planning or services",
    "Assessment Type": "Long term assessment",
    "Eligible Needs Identified": "Eligible needs identified",
    "Method of Assessment": "Service user only",
}
FINANCIAL_ASSESSMENT = {
    **ASSESSMENT,
    "Event Reference": "FIN0001",
    "Event Description": "Financial assessment",
    "Event Outcome": "",
    "Assessment Type": "Financial assessment",
    "Eligible Needs Identified": "",
    "Method of Assessment": "",
}
REVIEW = {
    **NOT_A_SERVICE,
    "Event Type": "Review",
    "Event Reference": "REV0001",
    "Event Start Date": "01/07/2025",
    "Event End Date": "03/07/2025",
    "Event Description": "Annual review",
    "Event Outcome": "Continuation of support or services",
    "Review Reason": "Planned review of long term care and support plan",
    "Review Outcomes Achieved": "Fully met",
    "Method of Review": "Service user only",
}
RESIDENTIAL = {
    "Accommodation Status": "Registered care home",
    "Service Type": "Long term support: Residential care",
    "Service Component": "Long term residential care",
    "Delivery Mechanism": "",
    "Unit Cost": "950.00",
    "Cost Frequency (Unit Type)": "Weekly",
    "Planned units per week": "",
}
UNPAID_CARER = {
    "Client Type": "Unpaid carer",
    "Primary Support Reason": "Social support: Support to unpaid carer",
    "Client Funding Status": "",
    "Total Hrs Caring per week": "20 to 34 hours a week",
    "No. of adults being cared for": "1",
    "Adult 1 Linked Person_ID": "P000999",
}
# An 'Unpaid carer known by association' row: person and unpaid carer details, no event.
CARER_BY_ASSOCIATION = {
    **NOT_A_SERVICE,
    **UNPAID_CARER,
    "Client Type": "Unpaid carer known by association",
    "Event Type": "",
    "Event Reference": "",
    "Event Start Date": "",
    "Event End Date": "",
    "Event Description": "",
    "Event Outcome": "",
}


def row(*overrides: dict[str, str], **fields: str) -> dict[str, str]:
    """The base row with overrides applied in order (dicts first, then keyword fields)."""
    out = base_row()
    for part in overrides:
        unknown = set(part) - set(out)
        assert not unknown, f"not a CLD field: {unknown}"
        out.update(part)
    return out | fields


def write_rows(
    path: Path,
    rows: list[dict[str, str]],
    header: list[str] | None = None,
    *,
    encoding: str = "utf-8",
    newline: str = "\r\n",
) -> Path:
    """Write rows as a CSV (Excel's CRLF by default); `header` picks and orders the columns."""
    header = header if header is not None else list(base_row())
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(header)
        for r in rows:
            writer.writerow([r.get(name, "") for name in header])
    return path


@pytest.fixture
def validate_rows(tmp_path):
    """validate_rows(rows, header=None, monthly=False) -> ValidationReport of those rows."""
    from cldetl.validate import validate

    def run(
        rows, header=None, monthly=False, bom=False, gzip_file=False, max_bytes=None, newline="\r\n"
    ):
        """`bom` starts the file with a UTF-8 byte order mark, `gzip_file` compresses it,
        `max_bytes` patches the DLP's size limits to (uncompressed, gzipped) bytes, `newline`
        ends each line."""
        import gzip
        from unittest import mock

        path = write_rows(tmp_path / "cld.csv", rows, header, newline=newline)
        if bom:
            path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        if gzip_file:
            target = tmp_path / "cld.csv.gz"
            target.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
            path = target
        if max_bytes is None:
            return validate(path, monthly=monthly)
        with mock.patch("cldetl.validate.csvfile.dlp_limits", return_value=tuple(max_bytes)):
            return validate(path, monthly=monthly)

    return run


def findings(report, rule: str | None = None) -> list[dict[str, Any]]:
    """The report's findings as dicts (all, or one rule's), in report order."""
    out = [f.as_dict() for f in report.records()]
    return [f for f in out if rule is None or f["rule"] == rule]


# The servers a session starts: under pytest-xdist (`make test`: -n auto --dist loadgroup) the
# tests that need one run on one worker, so a machine with many CPUs starts one PostgreSQL and
# one Prefect test server, not one per worker (each is a few hundred MB and seconds to start).
SERVER_GROUPS = (("postgres_server", "postgres"), ("prefect_server", "prefect"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        names = getattr(item, "fixturenames", ())
        for fixture, group in SERVER_GROUPS:
            if fixture in names or item.get_closest_marker(group) is not None:
                item.add_marker(pytest.mark.xdist_group(group))
                break
