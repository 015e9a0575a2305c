"""Each guidance rule of the transform pinned by a table written from the guidance, so that
changing a rule (a `<` for a `<=`, a default, a removed line) fails a test.

The rules' functions (cldetl/transform/guidance_rules.py) are called on small frames, one row
per case; the rules that live in the transform itself (unpaid carers known by association, the
outcome hierarchy) run through `transform` with the test authority's mapping. Section names are
the guidance's ("Events (All)", "Event End Date", Annex A).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cldetl.mapping import Defaults, load_mapping
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import guidance_rules as rules
from cldetl.transform import transform
from tests.testshire import MAPPING, MAPPING_PATH

PERIOD = ReportingPeriod.ending(date(2025, 9, 30))  # 01/10/2024 to 30/09/2025


def _date(text: str | None):
    return pd.Timestamp(text) if text else pd.NaT


def _rows(cases: list[dict]) -> pd.DataFrame:
    """Rows as the transform holds them before the rules: dates as datetimes, text as string."""
    dates = ("Event Start Date", "Event End Date", "Date of Death")
    frame = pd.DataFrame(cases)
    for column in frame.columns:
        if column in dates:
            frame[column] = pd.to_datetime(frame[column].map(_date)).astype("datetime64[ns]")
        else:
            frame[column] = frame[column].astype("string")
    for column in dates:
        if column not in frame:
            frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    return frame


# --- Events (All): what falls within the rolling 12 months; cancelled events ----------------

NOT_COMPLETED = "not completed: open requests, assessments and reviews are left out until completed"
INCLUSION = [
    # (case, Event Type, start, end, date of death, reason or "" for in the return)
    ("service open at the period end", "Service", "2023-01-01", None, None, ""),
    ("service started and ended in the period", "Service", "2025-01-01", "2025-02-01", None, ""),
    ("service ended on the first day", "Service", "2024-01-01", "2024-10-01", None, ""),
    (
        "service ended the day before",
        "Service",
        "2024-01-01",
        "2024-09-30",
        None,
        "service ended before the reporting period",
    ),
    ("service starts on the last day", "Service", "2025-09-30", None, None, ""),
    (
        "service starts the day after",
        "Service",
        "2025-10-01",
        None,
        None,
        "service starts after the reporting period",
    ),
    ("service of one day", "Service", "2025-03-03", "2025-03-03", None, ""),
    (
        "service ended before it started",
        "Service",
        "2025-03-03",
        "2025-03-02",
        None,
        "cancelled: the service ended before any support was given",
    ),
    (
        "service ended before it started, before the period",
        "Service",
        "2024-03-03",
        "2024-03-02",
        None,
        "cancelled: the service ended before any support was given",
    ),
    ("service open, person died in the period", "Service", "2024-01-01", None, "2025-03-01", ""),
    ("assessment completed on the first day", "Assessment", "2024-09-01", "2024-10-01", None, ""),
    (
        "assessment completed the day before",
        "Assessment",
        "2024-09-01",
        "2024-09-30",
        None,
        "completed before the reporting period",
    ),
    ("assessment completed on the last day", "Assessment", "2025-09-01", "2025-09-30", None, ""),
    (
        "assessment completed the day after",
        "Assessment",
        "2025-09-01",
        "2025-10-01",
        None,
        "completed after the reporting period end",
    ),
    ("assessment started before, completed in", "Assessment", "2023-01-01", "2025-01-01", None, ""),
    ("assessment open", "Assessment", "2025-09-01", None, None, NOT_COMPLETED),
    ("request open", "Request", "2025-09-01", None, None, NOT_COMPLETED),
    ("review open", "Review", "2025-09-01", None, None, NOT_COMPLETED),
    ("request completed the same day", "Request", "2025-05-05", "2025-05-05", None, ""),
    (
        "review completed after the person died",
        "Review",
        "2025-01-01",
        "2025-03-02",
        "2025-03-01",
        "cancelled: the person died before it was completed",
    ),
    (
        "review completed on the day of death",
        "Review",
        "2025-01-01",
        "2025-03-01",
        "2025-03-01",
        "",
    ),
    (
        "request ended before it started",
        "Request",
        "2025-03-03",
        "2025-03-02",
        None,
        "end date before start date in the source record",
    ),
    (
        "assessment with no start date",
        "Assessment",
        None,
        None,
        None,
        "no event start date in the source record",
    ),
    (
        "service with no start date",
        "Service",
        None,
        "2025-01-01",
        None,
        "no event start date in the source record",
    ),
    ("carer known by association: no event", "", None, None, None, ""),
    ("no Event Type at all (missing)", None, None, None, None, ""),
]


@pytest.mark.parametrize(
    ("event", "start", "end", "died", "reason"),
    [case[1:] for case in INCLUSION],
    ids=[case[0] for case in INCLUSION],
)
def test_inclusion_in_the_rolling_12_months(event, start, end, died, reason):
    rows = _rows(
        [
            {
                "Event Type": event,
                "Event Start Date": start,
                "Event End Date": end,
                "Date of Death": died,
            }
        ]
    )
    assert rules.inclusion_reasons(rows, PERIOD).tolist() == [reason]


def test_inclusion_reasons_keep_the_rows_index():
    rows = _rows([{"Event Type": "Service", "Event Start Date": "2025-01-01"}] * 2)
    rows.index = [7, 3]
    assert rules.inclusion_reasons(rows, PERIOD).index.tolist() == [7, 3]


# --- Event End Date: death; services open at the period end -----------------------------------

AT_DEATH = [
    # (case, Event Type, start, end, died, enabled, expected end, expected outcome)
    ("open service ends at death", "Service", "2024-01-01", None, "2025-03-01", True,
     "2025-03-01", rules.DECEASED),
    ("a later end becomes the death", "Service", "2024-01-01", "2025-06-01", "2025-03-01", True,
     "2025-03-01", rules.DECEASED),
    ("ended on the day of death stays", "Service", "2024-01-01", "2025-03-01", "2025-03-01",
     True, "2025-03-01", "NFA: Support ended as planned"),
    ("ended before death stays", "Service", "2024-01-01", "2025-02-01", "2025-03-01", True,
     "2025-02-01", "NFA: Support ended as planned"),
    ("death on the start day ends it", "Service", "2025-03-01", None, "2025-03-01", True,
     "2025-03-01", rules.DECEASED),
    ("service starting after death is untouched", "Service", "2025-04-01", None, "2025-03-01",
     True, None, "NFA: Support ended as planned"),
    ("alive: untouched", "Service", "2024-01-01", None, None, True, None,
     "NFA: Support ended as planned"),
    ("not a service: untouched", "Review", "2024-01-01", "2025-06-01", "2025-03-01", True,
     "2025-06-01", "NFA: Support ended as planned"),
    ("rule switched off in the mapping", "Service", "2024-01-01", None, "2025-03-01", False,
     None, "NFA: Support ended as planned"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "start", "end", "died", "enabled", "new_end", "outcome"),
    [case[1:] for case in AT_DEATH],
    ids=[case[0] for case in AT_DEATH],
)
def test_event_end_date_at_death(event, start, end, died, enabled, new_end, outcome):
    rows = _rows(
        [
            {
                "Event Type": event,
                "Event Start Date": start,
                "Event End Date": end,
                "Date of Death": died,
                "Event Outcome": "NFA: Support ended as planned",
            }
        ]
    )
    rules.event_end_date_at_death(rows, enabled)
    assert rows.at[0, "Event End Date"] is pd.NaT if new_end is None else True
    assert rows.at[0, "Event End Date"] == _date(new_end) or new_end is None
    assert rows.at[0, "Event Outcome"] == outcome


OPEN_AT_PERIOD_END = [
    # (case, Event Type, end, expected end)
    ("a planned end after the period is blanked", "Service", "2025-10-01", None),
    ("an end on the last day stays", "Service", "2025-09-30", "2025-09-30"),
    ("an end in the period stays", "Service", "2025-01-01", "2025-01-01"),
    ("open stays open", "Service", None, None),
    ("only services: a late assessment keeps its end", "Assessment", "2025-10-01", "2025-10-01"),
]


@pytest.mark.parametrize(
    ("event", "end", "expected"),
    [case[1:] for case in OPEN_AT_PERIOD_END],
    ids=[case[0] for case in OPEN_AT_PERIOD_END],
)
def test_event_end_date_of_services_open_at_the_period_end(event, end, expected):
    rows = _rows([{"Event Type": event, "Event Start Date": "2024-01-01", "Event End Date": end}])
    rules.event_end_date_open_services(rows, PERIOD)
    value = rows.at[0, "Event End Date"]
    assert (value is pd.NaT) if expected is None else value == _date(expected)


# --- Event Outcome -------------------------------------------------------------------------

OUTCOMES = [
    # (case, Event Type, Assessment Type, end, outcome, method, expected outcome, method)
    ("open service continues", "Service", "", None, "NFA: Support ended as planned", "",
     rules.OPEN_SERVICE_OUTCOME, ""),
    ("ended service keeps its outcome", "Service", "", "2025-01-01",
     "NFA: Support ended as planned", "", "NFA: Support ended as planned", ""),
    ("open assessment is not a service", "Assessment", "Long term assessment", None,
     "NFA: Other", "Service user only", "NFA: Other", "Service user only"),
    ("financial assessment: no outcome, no method", "Assessment", "Financial assessment",
     "2025-01-01", "NFA: Other", "Service user only", "", ""),
    ("other assessments keep both", "Assessment", "Short term assessment", "2025-01-01",
     "NFA: Other", "Service user only", "NFA: Other", "Service user only"),
    ("only assessments are financial assessments", "Review", "Financial assessment",
     "2025-01-01", "NFA: Other", "Service user only", "NFA: Other", "Service user only"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "kind", "end", "outcome", "method", "want_outcome", "want_method"),
    [case[1:] for case in OUTCOMES],
    ids=[case[0] for case in OUTCOMES],
)
def test_event_outcome_and_method_of_assessment(
    event, kind, end, outcome, method, want_outcome, want_method
):
    rows = _rows(
        [
            {
                "Event Type": event,
                "Assessment Type": kind,
                "Event Start Date": "2024-06-01",
                "Event End Date": end,
                "Event Outcome": outcome,
                "Method of Assessment": method,
            }
        ]
    )
    rules.event_outcome_open_services(rows)
    rules.financial_assessment_fields(rows)
    assert rows.at[0, "Event Outcome"] == want_outcome
    assert rows.at[0, "Method of Assessment"] == want_method


# --- Unpaid carers: Primary Support Reason, Route of Access, Review Reason, funding --------

ROUTE = "Request: Route of Access"
CARER_CASES = [
    # (case, Client Type, Event Type, given {field: value}, defaults, expected {field: value})
    ("carer's PSR", "Unpaid carer", "Assessment", {"Primary Support Reason": "Unknown"}, {},
     {"Primary Support Reason": rules.CARER_PSR}),
    ("carer by association's PSR", "Unpaid carer known by association", "", {
        "Primary Support Reason": "Unknown"}, {}, {"Primary Support Reason": rules.CARER_PSR}),
    ("service user's PSR stays", "Service user", "Assessment",
     {"Primary Support Reason": "Unknown"}, {}, {"Primary Support Reason": "Unknown"}),
    ("carer PSR switched off", "Unpaid carer", "Assessment", {"Primary Support Reason": "Unknown"},
     {"unpaid_carer_psr": False}, {"Primary Support Reason": "Unknown"}),
    ("carer's blank route of access", "Unpaid carer", "Request", {ROUTE: ""}, {},
     {ROUTE: "Community or other route"}),
    ("carer's missing route of access", "Unpaid carer", "Request", {ROUTE: None}, {},
     {ROUTE: "Community or other route"}),
    ("carer's recorded route stays", "Unpaid carer", "Request", {ROUTE: "Self-funder"}, {},
     {ROUTE: "Self-funder"}),
    ("route only on requests", "Unpaid carer", "Assessment", {ROUTE: ""}, {}, {ROUTE: ""}),
    ("service user's blank route stays", "Service user", "Request", {ROUTE: ""}, {},
     {ROUTE: ""}),
    ("route default switched off", "Unpaid carer", "Request", {ROUTE: ""},
     {"unpaid_carer_route_of_access": None}, {ROUTE: ""}),
    ("carer's blank review reason", "Unpaid carer", "Review", {"Review Reason": ""}, {},
     {"Review Reason": "Planned review of long term care and support plan"}),
    ("carer's missing review reason", "Unpaid carer", "Review", {"Review Reason": None}, {},
     {"Review Reason": "Planned review of long term care and support plan"}),
    ("carer's recorded review reason stays", "Unpaid carer", "Review",
     {"Review Reason": "Unplanned review"}, {}, {"Review Reason": "Unplanned review"}),
    ("review reason only on reviews", "Unpaid carer", "Request", {"Review Reason": ""}, {},
     {"Review Reason": ""}),
    ("service user's review reason stays blank", "Service user", "Review", {"Review Reason": ""},
     {}, {"Review Reason": ""}),
    ("review default switched off", "Unpaid carer", "Review", {"Review Reason": ""},
     {"unpaid_carer_review_reason": None}, {"Review Reason": ""}),
    ("carers not charged: no funding status", "Unpaid carer", "Service",
     {"Client Funding Status": "Fully social care funded"}, {}, {"Client Funding Status": ""}),
    ("carers charged: funding status stays", "Unpaid carer", "Service",
     {"Client Funding Status": "Fully social care funded"}, {"charges_unpaid_carers": True},
     {"Client Funding Status": "Fully social care funded"}),
    ("service user's funding status stays", "Service user", "Service",
     {"Client Funding Status": "Fully social care funded"}, {},
     {"Client Funding Status": "Fully social care funded"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("client", "event", "given", "defaults", "expected"),
    [case[1:] for case in CARER_CASES],
    ids=[case[0] for case in CARER_CASES],
)
def test_unpaid_carer_defaults(client, event, given, defaults, expected):
    row = {
        "Client Type": client,
        "Event Type": event,
        "Primary Support Reason": "Physical support: Personal care support",
        ROUTE: "",
        "Review Reason": "",
        "Client Funding Status": "Unknown",
        **given,
    }
    rows = _rows([row])
    rules.unpaid_carer_defaults(rows, Defaults(**defaults))
    assert {field: rows.at[0, field] for field in expected} == expected


EMPLOYMENT = [
    # (case, age, enabled, expected Employment Status)
    ("65 is blank", 65, True, ""),
    ("over 65 is blank", 90, True, ""),
    ("64 keeps it", 64, True, "Retired"),
    ("unknown age keeps it", None, True, "Retired"),
    ("switched off", 70, False, "Retired"),
]


@pytest.mark.parametrize(
    ("age", "enabled", "expected"),
    [case[1:] for case in EMPLOYMENT],
    ids=[case[0] for case in EMPLOYMENT],
)
def test_employment_status_left_blank_from_65(age, enabled, expected):
    rows = _rows([{"Employment Status": "Retired"}])
    ages = pd.Series([age], dtype="Float64")
    rules.employment_status_65_plus(rows, ages, enabled)
    assert rows.at[0, "Employment Status"] == expected


def test_employment_status_uses_whole_years_at_the_event_end():
    """Through the transform: 65 on the day the event ended, not at the period end."""
    frames = _frames(
        people=[
            _person(1, dob="1960-05-02"),  # 65 on 02/05/2025
            _person(2, dob="1960-05-03"),  # 65 a day later
        ],
        steps=[
            _step(10, 1, 1003, "2025-04-01", "2025-05-02"),
            _step(11, 2, 1003, "2025-04-01", "2025-05-02"),
        ],
    )
    cld = transform(MAPPING, frames, PERIOD).cld.set_index("LA Person Unique Identifier")
    assert cld.at["1", "Employment Status"] == ""
    assert cld.at["2", "Employment Status"] == "Unknown"


# --- through the transform: records, carers known by association, outcome hierarchy ---------


def _person(person_id: int, dob: str = "1950-01-01", **extra) -> dict:
    return {
        "person_id": person_id,
        "first_name": "Ada",
        "last_name": "Example",
        "dob": dob,
        "gender": "F",
        **extra,
    }


def _step(step_id, person_id, step_type, started, completed, **extra) -> dict:
    return {
        "step_id": step_id,
        "person_id": person_id,
        "step_type": step_type,
        "started": started,
        "completed": completed,
        "status": "COMPLETED",
        "outcome1": "SVC",
        **extra,
    }


def _line(line_id, person_id, service, provider, start, end=None, **extra) -> dict:
    return {
        "line_id": line_id,
        "person_id": person_id,
        "service": service,
        "provider": provider,
        "delivery": "COM",
        "start": start,
        "end": end,
        "cost": 100,
        "freq": "W",
        **extra,
    }


def _frames(mapping=MAPPING, **given) -> dict[str, pd.DataFrame]:
    return {
        name: pd.DataFrame(given.get(name, []), columns=list(source.columns))
        for name, source in mapping.sources.items()
    }


BY_ASSOCIATION = "Unpaid carer known by association"


def test_a_carer_by_association_row_goes_with_its_records_event_row():
    """Respite that ended before the period is out, and so is its carer's row."""
    frames = _frames(
        people=[_person(1), _person(2)],
        lines=[_line(50, 1, "RESP", "P9", "2024-03-01", "2024-03-14", carer_id=2)],
    )
    result = transform(MAPPING, frames, PERIOD)
    assert result.cld.empty
    rows = result.exclusions[result.exclusions["source_key"].astype(str) == "50"]
    assert rows["reason"].tolist() == ["service ended before the reporting period"]


def test_a_carer_by_association_row_of_a_record_in_the_return_stays():
    frames = _frames(
        people=[_person(1), _person(2)],
        lines=[
            _line(50, 1, "RESP", "P9", "2024-03-01", "2024-03-14", carer_id=2),
            _line(51, 1, "RESP", "P9", "2025-03-01", "2025-03-14", carer_id=2),
        ],
    )
    cld = transform(MAPPING, frames, PERIOD).cld
    carers = cld[cld["Client Type"] == BY_ASSOCIATION]
    assert carers["LA Person Unique Identifier"].tolist() == ["2"]
    assert carers["Adult 1 Linked Person_ID"].tolist() == ["1"]
    assert (cld["Event Type"] == "Service").sum() == 1


def test_one_carer_by_association_row_per_carer_and_cared_for_person():
    """Two respite services of one cared-for person with one carer: one carer row. A second
    cared-for person gives the carer a second row."""
    frames = _frames(
        people=[_person(1), _person(2), _person(3)],
        lines=[
            _line(60, 1, "RESP", "P1", "2025-01-01", "2025-01-10", carer_id=2),
            _line(61, 1, "RESP", "P2", "2025-04-01", "2025-04-10", carer_id=2),
            _line(62, 3, "RESP", "P1", "2025-04-01", "2025-04-10", carer_id=2),
        ],
    )
    result = transform(MAPPING, frames, PERIOD)
    carers = result.cld[result.cld["Client Type"] == BY_ASSOCIATION]
    assert sorted(carers["Adult 1 Linked Person_ID"]) == ["1", "3"]
    assert (result.cld["Event Type"] == "Service").sum() == 3
    duplicate = result.exclusions["reason"].str.startswith("duplicate: this unpaid carer")
    assert duplicate.sum() == 1


def _mapping_with_outcome_default(tmp_path: Path, default: str):
    text = MAPPING_PATH.read_text()
    old = 'field: Event Outcome\n    default: "NFA: Other"'
    assert old in text
    path = tmp_path / "outcome_default.yaml"
    path.write_text(text.replace(old, f'field: Event Outcome\n    default: "{default}"'))
    return load_mapping(path)


OUTCOME_HIERARCHY = [
    # (case, outcome1, outcome2, lookup default, expected Event Outcome)
    ("the first in the list wins", "IA", "SVC", "NFA: Other",
     "Progress to support planning or services"),
    ("whichever column it is in", "SVC", "IA", "NFA: Other",
     "Progress to support planning or services"),
    ("a blank later column does not win with the default", "IA", "",
     "Continuation of support or services", "NFA: Information and advice or signposting"),
    ("a blank first column does not win with the default", "", "IA",
     "Continuation of support or services", "NFA: Information and advice or signposting"),
    ("all blank: the lookup's default", "", "", "Continuation of support or services",
     "Continuation of support or services"),
    ("an unmapped code: the lookup's default", "ZZ", "", "NFA: Other", "NFA: Other"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("first", "second", "default", "expected"),
    [case[1:] for case in OUTCOME_HIERARCHY],
    ids=[case[0] for case in OUTCOME_HIERARCHY],
)
def test_event_outcome_hierarchy(tmp_path, first, second, default, expected):
    mapping = _mapping_with_outcome_default(tmp_path, default)
    frames = _frames(
        mapping,
        people=[_person(1)],
        steps=[_step(7, 1, 1003, "2025-05-01", "2025-05-20", outcome1=first, outcome2=second)],
    )
    cld = transform(mapping, frames, PERIOD).cld
    assert cld["Event Outcome"].tolist() == [expected]
