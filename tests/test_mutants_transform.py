"""Cases for the transform's modules that mutation testing found unpinned (issue 19 point 10,
docs/mutation-transform.md). Each expected value is written from the rule's source (the
mapping documentation in docs/mapping.md, the CLD guidance, or the function's docstring), never
from the code's output. Every value is invented. Ids are plain words: mutmut passes them back to
pytest.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from cldetl.mapping.model import Filter, Mapping, Value
from cldetl.spec import load_spec
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import ReconciliationError, transform
from cldetl.transform.columns import (
    BEYOND_THREE,
    CANDIDATE,
    DETAILS_UNUSED,
    NO_PERSON,
    NO_RULE,
    NOT_KNOWN,
    ROW,
    RULE,
    SOURCE,
)
from cldetl.transform.events import _every_outcome, _lineage
from cldetl.transform.filters import matches, member_of
from cldetl.transform.ledger import DETAILS_USED, EXCLUSION_COLUMNS, _Ledger
from cldetl.transform.output import NOT_A_NUMBER, _dates, _hex, format_cld, references
from cldetl.transform.person_details import PERSON
from cldetl.transform.service_lines import MEMBER_KEYS
from cldetl.transform.sources import KEY
from cldetl.transform.values import UnmappedCodes, ValueContext, apply_lookup, evaluate_value
from tests.testshire import MAPPING

SPEC = load_spec()
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))

# member_of: "Which values are among `allowed`, compared as text": `allowed` may be any
# collection of values (a list of numbers too), not only a Series.
MEMBER_OF_CASES = [
    pytest.param(["1", "2", "3"], [1, 3], [True, False, True], id="numbers allowed as a list"),
    pytest.param(["A", "B"], ["B"], [False, True], id="text allowed as a list"),
    pytest.param(["A", "B"], [], [False, False], id="nothing allowed"),
]


@pytest.mark.parametrize(("values", "allowed", "expected"), MEMBER_OF_CASES)
def test_member_of_a_list(values, allowed, expected):
    got = member_of(pd.Series(values, index=[10 + i for i in range(len(values))]), allowed)
    assert got.tolist() == expected
    assert got.index.tolist() == [10 + i for i in range(len(values))]


# Filters (docs/mapping.md, "Filters"): `{column: c, in: [...]}`, `{column: c, not_in: [...]}`,
# `{column: c, blank: true}` (missing or only spaces), `{column: c, blank: false}` (it holds a
# value), and `{all: [...]}`, `{any: [...]}`, `{not: ...}` of those; codes compare as text.
# A filter says which records a rule takes, so the answer is used to pick rows of the frame.
RECORDS = pd.DataFrame(
    {
        "key": ["r1", "r2", "r3", "r4", "r5"],
        "step_type": pd.array([1001, 1002, 1003, None, 1001], dtype="Int64"),
        "status": ["open", " ", None, "closed", "open "],
        # A date column as the transform gets it (sources.prepare_source): day resolution.
        "completed": pd.to_datetime(["2025-07-04", None, "2025-07-05", "2025-07-04", None]).astype(
            "datetime64[ns]"
        ),
    },
    index=[7, 8, 9, 10, 11],
)
FILTER_CASES = [
    pytest.param({"column": "step_type", "in": [1001, 1003]}, ["r1", "r3", "r5"], id="in"),
    pytest.param({"column": "step_type", "not_in": [1001]}, ["r2", "r3", "r4"], id="not in"),
    pytest.param({"column": "status", "not_in": ["open"]}, ["r2", "r3", "r4"], id="not in text"),
    pytest.param({"column": "status", "blank": True}, ["r2", "r3"], id="blank"),
    pytest.param({"column": "status", "blank": False}, ["r1", "r4", "r5"], id="not blank"),
    pytest.param(
        {"all": [{"column": "step_type", "in": [1001]}, {"column": "status", "in": ["open"]}]},
        ["r1", "r5"],
        id="all",
    ),
    pytest.param(
        {"all": [{"column": "step_type", "in": [1001]}, {"column": "key", "in": ["r1", "r2"]}]},
        ["r1"],
        id="all of two that differ",
    ),
    pytest.param(
        {"any": [{"column": "step_type", "in": [1002]}, {"column": "status", "in": ["closed"]}]},
        ["r2", "r4"],
        id="any",
    ),
    pytest.param({"not": {"column": "step_type", "in": [1001]}}, ["r2", "r3", "r4"], id="not"),
    # A missing date is blank; a date given in the mapping (YAML reads 2025-07-04 as a date)
    # is the same day in the source.
    pytest.param({"column": "completed", "blank": True}, ["r2", "r5"], id="blank date"),
    pytest.param({"column": "completed", "blank": False}, ["r1", "r3", "r4"], id="a date"),
    pytest.param({"column": "completed", "in": [date(2025, 7, 4)]}, ["r1", "r4"], id="on a day"),
    pytest.param(
        {"column": "completed", "not_in": [date(2025, 7, 4)]}, ["r2", "r3", "r5"], id="not on a day"
    ),
]


@pytest.mark.parametrize(("flt", "taken"), FILTER_CASES)
def test_a_filter_takes_its_records(flt, taken):
    mask = matches(Filter.model_validate(flt), RECORDS)
    assert RECORDS[mask]["key"].tolist() == taken
    assert mask.index.tolist() == RECORDS.index.tolist()


# unmapped_codes.csv (docs/outputs.md): one line per lookup, source column and local code the
# lookup does not map, with how many rows carried it and `used_instead`, "the value written
# instead (the lookup's `default`), blank for none".
def _unmapped(lookup: str, codes: list, source: str = "steps", column: str = "code"):
    unmapped = UnmappedCodes()
    ctx = ValueContext(MAPPING, SPEC, source, unmapped)
    written = apply_lookup(ctx, lookup, pd.Series(codes, dtype="string"), column)
    return written.tolist(), unmapped.frame()


def test_an_unmapped_code_of_a_lookup_without_a_default_is_written_blank():
    # testshire's assessment_type: 1001/1002/1003, `default: null`.
    written, unmapped = _unmapped("assessment_type", ["1003", "9999", "9999"])
    assert written == ["Long term assessment", "", ""]
    assert unmapped.to_dict("records") == [
        {
            "lookup": "assessment_type",
            "field": "Assessment Type",
            "source": "steps",
            "column": "code",
            "code": "9999",
            "rows": 2,
            "used_instead": "",
        }
    ]


def test_a_cost_that_is_not_a_number_is_written_blank_and_listed():
    """`add_not_numbers`: "Values of a numeric CLD field that are not numbers (written
    blank), counted by source and value"."""
    unmapped = UnmappedCodes()
    sources = pd.Series(["lines", "lines", "other"])
    values = pd.Series(["24.50p", "24.50p", "n/a"], dtype="string")
    unmapped.add_not_numbers("(not a number)", "Unit Cost", sources, values)
    got = unmapped.frame()[["source", "column", "code", "rows", "used_instead"]]
    assert got.values.tolist() == [
        ["lines", "Unit Cost", "24.50p", 2, ""],
        ["other", "Unit Cost", "n/a", 1, ""],
    ]


def test_outcomes_from_a_list_column_take_the_best_item():
    """`{outcomes: [c], lookup: outcome}` (docs/mapping.md, Values): the first in the Event
    Outcome list wins, however many a record holds; a `list` column (all of a step's next
    actions) holds them as items. testshire's outcome lookup: IA is "NFA: Information and
    advice or signposting", SVC "Progress to support planning or services", default "NFA:
    Other"."""
    mapping = MAPPING.model_copy(deep=True)
    mapping.sources["steps"].columns["next_actions"] = "list"
    frame = pd.DataFrame(
        {"next_actions": [("IA", "SVC"), ("IA",), (), ("SVC", "IA")]}, index=[4, 5, 6, 7]
    )
    ctx = ValueContext(mapping, SPEC, "steps", UnmappedCodes())
    value = Value(outcomes=["next_actions"], lookup="outcome")
    got = evaluate_value(ctx, value, frame, "Event Outcome")
    assert got.tolist() == [
        "Progress to support planning or services",
        "NFA: Information and advice or signposting",
        "NFA: Other",
        "Progress to support planning or services",
    ]
    assert got.index.tolist() == [4, 5, 6, 7]


def test_lineage_names_each_line_of_the_return_in_file_order():
    """lineage.csv (docs/outputs.md): one line per data line of the CLD file, in file order:
    `line` (the first data line is 2), `event_reference`, `source`, `source_keys` (';'-separated
    when service lines were chained), `source_records` (how many source records), `rule` and
    `row`."""
    rows = pd.DataFrame(
        {
            "Event Reference": ["E1", "", "E3"],
            SOURCE: ["steps", "steps", "lines"],
            MEMBER_KEYS: ["11", "12", "31;32;33"],
            RULE: ["assessments", "carers", "services"],
            ROW: ["assessment", "carer_by_association", "service"],
        },
        index=[5, 6, 7],
        dtype="string",
    )
    got = _lineage(rows, pd.Index([7, 5, 6]))
    assert got.astype(object).to_dict("list") == {
        "line": [2, 3, 4],
        "event_reference": ["E3", "E1", ""],
        "source": ["lines", "steps", "steps"],
        "source_keys": ["31;32;33", "11", "12"],
        "source_records": [3, 1, 1],
        "rule": ["services", "assessments", "carers"],
        "row": ["service", "assessment", "carer_by_association"],
    }


def test_a_return_with_no_event_rows_is_empty_and_accounts_for_every_record():
    """No event rule takes a record (here the authority has people but no steps or lines):
    the return is the header alone (the spec's 48 fields, no row), lineage.csv is empty, and
    the one person record is still accounted for: read 1 = in the output 0 + person details
    1 (not needed: "no CLD row for this person in the period") + excluded 0."""
    frames = {name: pd.DataFrame(columns=list(s.columns)) for name, s in MAPPING.sources.items()}
    frames["people"] = pd.DataFrame(
        {"person_id": [1], "first_name": "A", "last_name": "B", "gender": "F"}
    ).reindex(columns=list(MAPPING.sources["people"].columns))
    result = transform(MAPPING, frames, PERIOD)
    assert list(result.cld.columns) == [f.name for f in SPEC.fields]
    assert len(result.cld) == 0
    assert len(result.lineage) == 0
    assert len(result.exclusions) == 0
    # linked_people_left_out.csv: its columns (docs/outputs.md), no line.
    assert list(result.linked_people_left_out.columns) == [
        *("la_code", "period_start", "period_end", "event_reference", "person_id"),
        *("client_type", "event_type", "source", "source_key", "rule"),
        *("linked_person_id", "reason"),
    ]
    assert len(result.linked_people_left_out) == 0
    totals = result.reconciliation[result.reconciliation["kind"] == "total"].set_index("source")
    assert totals.loc["people", ["read", "in_output", "person_details", "excluded"]].tolist() == [
        1,
        0,
        1,
        0,
    ]
    details = result.reconciliation[result.reconciliation["kind"] == "detail"]
    assert details[["source", "outcome", "reason", "rows"]].values.tolist() == [
        ["people", "person details", DETAILS_UNUSED, 1]
    ]


def test_every_outcome_of_each_column_becomes_a_column_of_its_own():
    """`_every_outcome`: an `outcomes` column holding several (';'-separated) is split, each
    part "a column of its own (named '<column> (part N)')", stripped; a column that never holds
    ';' stays as it is, whichever of the columns comes first."""
    records = pd.DataFrame(
        {"outcome1": ["IA", "SVC"], "outcome2": ["IA; CONT", "SVC"]}, index=[3, 4]
    )
    got, value = _every_outcome(records, Value(outcomes=["outcome1", "outcome2"], lookup="outcome"))
    assert value.outcomes == ["outcome1", "outcome2 (part 1)", "outcome2 (part 2)"]
    assert value.lookup == "outcome"
    assert got["outcome2 (part 1)"].tolist() == ["IA", "SVC"]
    assert got["outcome2 (part 2)"].fillna("").tolist() == ["CONT", ""]
    assert got.index.tolist() == [3, 4]


def test_outcomes_without_separators_are_left_as_they_are():
    """No column holds ';': the records and the value come back unchanged."""
    records = pd.DataFrame({"outcome1": ["IA", None], "outcome2": ["SVC", ""]})
    value = Value(outcomes=["outcome1", "outcome2"], lookup="outcome")
    got, same = _every_outcome(records, value)
    assert list(got.columns) == ["outcome1", "outcome2"]
    assert same.outcomes == ["outcome1", "outcome2"]


def _with_rule(name: str, **update):
    """Testshire's mapping with one event rule's attributes changed."""
    events = [r.model_copy(update=update) if r.name == name else r for r in MAPPING.events]
    return MAPPING.model_copy(update={"events": events})


def _steps_only(steps: list[dict]) -> dict[str, pd.DataFrame]:
    """testshire's sources with one person (1) and the given steps; no other record."""
    frames = {name: pd.DataFrame(columns=list(s.columns)) for name, s in MAPPING.sources.items()}
    frames["people"] = pd.DataFrame(
        {"person_id": [1], "first_name": "A", "last_name": "B", "gender": "F"}
    ).reindex(columns=list(MAPPING.sources["people"].columns))
    frames["steps"] = pd.DataFrame(steps).reindex(columns=list(MAPPING.sources["steps"].columns))
    return frames


def test_an_excluded_record_names_the_exclusion_that_decided():
    """exclusions.csv (docs/outputs.md): `rule` is "the mapping's exclusion name
    (`exclusions[].name`) or event rule name (`events[].name`) that decided; blank when no rule
    took the record"; `person_id` is the event rule's `person` column; a record no rule took
    has no event type, dates or row. testshire's exclusions: `safeguarding` (step type 9001)
    and `cancelled` (status CANCELLED); no rule takes step type 5555."""
    done = {"started": pd.Timestamp("2025-05-01"), "completed": pd.Timestamp("2025-05-02")}
    frames = _steps_only(
        [
            {"step_id": 110, "person_id": 1, "step_type": 9001, "status": "COMPLETED", **done},
            {"step_id": 111, "person_id": 1, "step_type": 1001, "status": "CANCELLED", **done},
            {"step_id": 113, "person_id": 1, "step_type": 5555, "status": "COMPLETED", **done},
        ]
    )
    result = transform(MAPPING, frames, PERIOD)
    got = result.exclusions.drop(columns=["la_code", "period_start", "period_end"])
    blank = {"event_type": "", "event_start_date": "", "event_end_date": "", "row": ""}
    record = {"source": "steps", "level": "record", "person_id": "1", **blank}
    assert got.to_dict("records") == [
        {
            **record,
            "source_key": "110",
            "rule": "safeguarding",
            "reason": "out of scope: safeguarding is reported in the Safeguarding Adults "
            "Collection",
        },
        {
            **record,
            "source_key": "111",
            "rule": "cancelled",
            "reason": "cancelled: the process was not completed",
        },
        {
            **record,
            "source_key": "113",
            "rule": "",
            "reason": "no event rule takes this record (add a rule or an exclusion to the mapping)",
        },
    ]


def test_chained_service_lines_keep_the_first_lines_reference():
    """docs/mapping.md: a rule's `reference` gives the Event Reference; for chained service
    lines it is "computed on the first line, so it stays put when lines are added"
    (`_reference_base`). Two lines of one residential service that follow on (an uplift on
    7 April restarts the line) are one service event: its reference is the first line's."""
    mapping = _with_rule("service_lines", reference=Value(template="SL{line_id}"))
    frames = _steps_only([])
    line = {"person_id": 1, "service": "RES", "provider": "P1", "delivery": "PB", "freq": "W"}
    frames["lines"] = pd.DataFrame(
        [
            {**line, "line_id": 60, "start": "2023-06-01", "end": "2025-04-06", "cost": 800},
            {**line, "line_id": 61, "start": "2025-04-07", "end": None, "cost": 845.5},
        ]
    ).reindex(columns=list(MAPPING.sources["lines"].columns))
    result = transform(mapping, frames, PERIOD)
    assert result.cld[["Event Type", "Event Reference"]].values.tolist() == [["Service", "SL60"]]
    assert result.lineage["source_keys"].tolist() == ["60;61"]


def test_each_row_of_a_record_gets_its_own_derived_reference():
    """docs/mapping.md: without a `reference` a row gets "a derived reference: `E` and 15 hex
    digits, a hash of the rule name, the record's key ... and the row's position in the
    rule". Conversation 1 at first contact gives a Request and an Assessment from one record:
    with testshire's reference taken away, the two rows' references differ (their positions
    differ), and each is E and 15 hex digits."""
    mapping = _with_rule("conversation_1", reference=None)
    step = {"step_id": 5, "person_id": 1, "step_type": 1001, "status": "COMPLETED"}
    step |= {"started": "2025-05-01", "completed": "2025-05-02", "at_contact": "Y"}
    result = transform(mapping, _steps_only([step]), PERIOD)
    got = result.cld.set_index("Event Type")["Event Reference"]
    assert sorted(got.index) == ["Assessment", "Request"]
    assert got["Request"] != got["Assessment"]
    assert got.str.fullmatch("E[0-9a-f]{15}").all()


def test_a_rows_own_event_reference_comes_before_its_rules():
    """docs/mapping.md: the Event Reference is the rule's `reference` "(on the rule or as the
    row's `Event Reference`)"; `_reference_base`: "its own field, else the rule's". The Request
    row of conversation 1 given its own reference RQ{step_id} keeps it; the Assessment row of
    the same record keeps the rule's TS{step_id}."""
    events = []
    for r in MAPPING.events:
        if r.name == "conversation_1":
            request = r.rows[0]
            fields = {**request.fields, "Event Reference": Value(template="RQ{step_id}")}
            rows = [request.model_copy(update={"fields": fields}), *r.rows[1:]]
            r = r.model_copy(update={"rows": rows})
        events.append(r)
    mapping = MAPPING.model_copy(update={"events": events})
    step = {"step_id": 5, "person_id": 1, "step_type": 1001, "status": "COMPLETED"}
    step |= {"started": "2025-05-01", "completed": "2025-05-02", "at_contact": "Y"}
    result = transform(mapping, _steps_only([step]), PERIOD)
    got = result.cld.set_index("Event Type")["Event Reference"].to_dict()
    assert got == {"Request": "RQ5", "Assessment": "TS5"}


def test_lineage_and_linked_people_of_a_carers_rows():
    """lineage.csv's `row` is "the rule's row (`rows[].name`, else its event type in lower
    case)", and a carer-by-association row (no event type) is `carer_by_association`
    (docs/outputs.md, `exclusions.csv` `row`). A `list` column in `linked_people` (docs/mapping.md:
    "each holding one ID or several") gives every item, in order, to Adult 1/2/3 Linked
    Person_ID. testshire: a carer's assessment (step type 2001, linked people from
    `cared_for_id`, made a `list` column here), conversation 1 at first contact (a Request and
    an Assessment), and a respite line with a carer (a Service and the carer's row)."""
    mapping = MAPPING.model_copy(deep=True)
    mapping.sources["steps"].columns["cared_for_id"] = "list"
    frames = _steps_only([])
    frames["people"] = pd.DataFrame(
        {"person_id": [1, 2, 3], "first_name": "A", "last_name": "B", "gender": "F"}
    ).reindex(columns=list(MAPPING.sources["people"].columns))
    done = {"status": "COMPLETED", "started": "2025-05-01", "completed": "2025-05-02"}
    frames["steps"] = pd.DataFrame(
        [
            {"step_id": 5, "person_id": 1, "step_type": 1001, "at_contact": "Y", **done},
            {"step_id": 6, "person_id": 2, "step_type": 2001, "cared_for_id": [3, 1], **done},
        ]
    ).reindex(columns=list(MAPPING.sources["steps"].columns))
    frames["lines"] = pd.DataFrame(
        [
            {"line_id": 50, "person_id": 1, "service": "RESP", "provider": "P9"}
            | {"delivery": "COM", "start": "2025-03-01", "end": "2025-03-14", "carer_id": 2}
        ]
    ).reindex(columns=list(MAPPING.sources["lines"].columns))
    result = transform(mapping, frames, PERIOD)
    lineage = result.lineage[["source", "source_keys", "rule", "row"]].values.tolist()
    assert sorted(lineage) == [
        ["lines", "50", "service_lines", "carer_by_association"],
        ["lines", "50", "service_lines", "service"],
        ["steps", "5", "conversation_1", "assessment"],
        ["steps", "5", "conversation_1", "request"],
        ["steps", "6", "carer_assessment", "assessment"],
    ]
    carer = result.cld[result.cld["Client Type"] == "Unpaid carer"]
    linked = [f"Adult {i} Linked Person_ID" for i in (1, 2, 3)]
    assert carer[linked].values.tolist() == [["3", "1", ""]]
    # Both are known, and no other row names anyone: nobody is left out.
    assert len(result.linked_people_left_out) == 0


def test_linked_people_left_out_name_the_row_and_why():
    """linked_people_left_out.csv (docs/outputs.md): one line per linked person left out, with
    the row's reference, person (the carer), Client Type, Event Type, source, source key and
    rule, the linked ID and the reason. Guidance (Adult 1/2/3 Linked Person_ID): "up to three
    adults cared for by the unpaid carer, but only where they are known to the local
    authority": carer 1 names 6 (not in the person source), 2, 3, 2 again (the same adult),
    herself, 4 and 5: 2, 3 and 4 fill the three fields; 6 and 5 are left out, in that order.
    Carer 7's assessment names nobody (only separators): nothing is filled or reported."""
    mapping = MAPPING.model_copy(deep=True)
    mapping.sources["steps"].columns["cared_for_id"] = "text"  # several IDs, ';'-separated
    frames = _steps_only([])
    frames["people"] = pd.DataFrame(
        {"person_id": [1, 2, 3, 4, 5, 7], "first_name": "A", "last_name": "B", "gender": "F"}
    ).reindex(columns=list(MAPPING.sources["people"].columns))
    done = {"step_type": 2001, "status": "COMPLETED"}
    done |= {"started": "2025-05-01", "completed": "2025-05-02"}
    frames["steps"] = pd.DataFrame(
        [
            {"step_id": 98, "person_id": 7, "cared_for_id": " ; ;", **done},
            {"step_id": 99, "person_id": 1, "cared_for_id": "6;2; 3;2;1;4;5", **done},
        ]
    ).reindex(columns=list(MAPPING.sources["steps"].columns))
    result = transform(mapping, frames, PERIOD)
    linked = [f"Adult {i} Linked Person_ID" for i in (1, 2, 3)]
    got = result.cld.set_index("LA Person Unique Identifier")[linked]
    assert got.loc["1"].tolist() == ["2", "3", "4"]
    assert got.loc["7"].tolist() == ["", "", ""]
    row = {
        "event_reference": "TS99",
        "person_id": "1",
        "client_type": "Unpaid carer",
        "event_type": "Assessment",
        "source": "steps",
        "source_key": "99",
        "rule": "carer_assessment",
    }
    left_out = result.linked_people_left_out.drop(columns=["la_code", "period_start", "period_end"])
    assert left_out.to_dict("records") == [
        {**row, "linked_person_id": "6", "reason": NOT_KNOWN},
        {**row, "linked_person_id": "5", "reason": BEYOND_THREE},
    ]
    assert NOT_KNOWN.startswith("not known to the local authority")
    assert BEYOND_THREE.startswith("more than three linked adults known to the local authority")


def test_dates_given_as_text_are_read_as_dates():
    """A source may give a date as text (a `text` column of a partner file): the event dates
    and the person's Date of Birth and Date of Death are read as dates before the guidance's
    rules and written dd/mm/yyyy (docs/outputs.md). Ada, born 1 January 1950, died 1 August
    2025, had an assessment from 1 to 2 May 2025."""
    mapping = MAPPING.model_copy(deep=True)
    for source, column in (("steps", "started"), ("steps", "completed")):
        mapping.sources[source].columns[column] = "text"
    for column in ("dob", "dod"):
        mapping.sources["people"].columns[column] = "text"
    step = {"step_id": 5, "person_id": 1, "step_type": 1002, "status": "COMPLETED"}
    step |= {"started": "2025-05-01", "completed": "2025-05-02"}
    frames = _steps_only([step])
    frames["people"]["dob"] = ["1950-01-01"]
    frames["people"]["dod"] = ["2025-08-01"]
    result = transform(mapping, frames, PERIOD)
    fields = ["Event Start Date", "Event End Date", "Date of Birth", "Date of Death"]
    assert result.cld[fields].values.tolist() == [
        ["01/05/2025", "02/05/2025", "01/01/1950", "01/08/2025"]
    ]


def test_a_linked_person_left_out_of_a_row_without_a_client_type_is_reported_blank():
    """linked_people_left_out.csv's `client_type` is "the row's Client Type": blank when the
    row has none (a `client_type` read from a column the record leaves empty)."""
    mapping = _with_rule("carer_assessment", client_type=Value(column="client"))
    step = {"step_id": 99, "person_id": 1, "step_type": 2001, "status": "COMPLETED"}
    step |= {"started": "2025-05-01", "completed": "2025-05-02", "cared_for_id": 6}
    result = transform(mapping, _steps_only([step]), PERIOD)
    left_out = result.linked_people_left_out
    assert left_out[["linked_person_id", "client_type", "event_reference"]].values.tolist() == [
        ["6", "", "TS99"]
    ]


# ledger.py (dev-mutL)
# The row ledger (docs/outputs.md, docs/mapping.md "Automatic exclusion reasons"): every source
# record is counted once, as left out by the database, in the return, used for person details,
# or excluded with a reason; the counts reconcile or the run fails.


def test_an_excluded_record_names_its_person_from_its_own_sources_column():
    """exclusions.csv's `person_id` is "the event rule's `person` column, the person source's
    key, or a dated detail's `person` column" of the record's own source (docs/outputs.md).
    Here each source names the person in a column of its own: the service lines in
    `client_ref` (the rule's `person`), the PSR history in `who` (the dated detail's
    `person`). A cancelled line of client 2 (its `person_id` column says 1) and a PSR recorded
    in error for person 3 are excluded by the mapping: each names its own source's person; a
    cancelled line naming no client has a blank `person_id`."""
    data = MAPPING.model_dump(exclude_unset=True)
    data["sources"]["lines"]["columns"]["client_ref"] = "integer"
    data["sources"]["psr_history"]["columns"] = {"who": "integer", "psr_code": "text"}
    data["sources"]["psr_history"]["columns"]["start"] = "date"
    data["sources"]["psr_history"]["key"] = ["who", "start"]
    data["person"]["dated"]["Primary Support Reason"]["person"] = "who"
    for rule in data["events"]:
        if rule["name"] == "service_lines":
            rule["person"] = "client_ref"
    in_error = {"column": "psr_code", "in": ["XX"]}
    data["exclusions"].append(
        {"name": "in_error", "sources": ["psr_history"], "when": in_error, "reason": "in error"}
    )
    mapping = Mapping.model_validate(data)
    frames = _steps_only([])
    cancelled = {"person_id": 1, "service": "HC", "status": "CANCELLED"}
    frames["lines"] = pd.DataFrame(
        [{"line_id": 70, "client_ref": 2, **cancelled}, {"line_id": 71, **cancelled}]
    ).reindex(columns=list(mapping.sources["lines"].columns))
    frames["psr_history"] = pd.DataFrame([{"who": 3, "psr_code": "XX", "start": "2020-01-01"}])
    result = transform(mapping, frames, PERIOD)
    # (A key of two columns is joined by "|", not the ";" docs/outputs.md says: not pinned here.)
    got = result.exclusions[["source", "person_id", "rule", "reason"]].values.tolist()
    assert got == [
        ["lines", "2", "cancelled_services", "cancelled: no support was given"],
        ["lines", "", "cancelled_services", "cancelled: no support was given"],
        ["psr_history", "3", "in_error", "in error"],
    ]


# Period 1 October 2024 to 30 September 2025; testshire's person 1. Step 16: an assessment
# still open. Step 17: conversation 1 at first contact on 20 September 2025, its assessment
# completed on 5 October, after the period: the Request is in the return, the Assessment is
# not. Step 18: an assessment of person 77, who is not in the person source. Step 19: type
# 5555, which no rule takes. Step 20: conversation 1 at first contact on 22 September 2025,
# its assessment still open: the Request is in the return, the Assessment is not.
STEPS_LEFT_OUT = [
    {"step_id": 16, "person_id": 1, "step_type": 1003, "status": "STARTED"}
    | {"started": "2025-09-01", "completed": None},
    {"step_id": 17, "person_id": 1, "step_type": 1001, "status": "COMPLETED"}
    | {"started": "2025-09-20", "completed": "2025-10-05", "at_contact": "Y"},
    {"step_id": 18, "person_id": 77, "step_type": 1002, "status": "COMPLETED"}
    | {"started": "2025-05-01", "completed": "2025-05-02"},
    {"step_id": 19, "person_id": 1, "step_type": 5555, "status": "COMPLETED"}
    | {"started": "2025-05-01", "completed": "2025-05-02"},
    {"step_id": 20, "person_id": 1, "step_type": 1001, "status": "STARTED"}
    | {"started": "2025-09-22", "completed": None, "at_contact": "Y"},
]


def test_exclusions_list_each_record_and_row_left_out_with_its_event():
    """exclusions.csv (docs/outputs.md), sorted by source, level, key and row: a record all of
    whose rows left the return is one `level=record` line carrying that row's Event Type, dates
    (`YYYY-MM-DD`, blank when none) and `row`; a row left out of a record otherwise in the
    return is a `level=row` line; a record no rule took has no event, dates or row."""
    result = transform(MAPPING, _steps_only(STEPS_LEFT_OUT), PERIOD)
    columns = ["source_key", "level", "person_id", "event_type", "event_start_date"]
    columns += ["event_end_date", "rule", "reason"]
    assert (result.exclusions["source"] == "steps").all()
    assert result.exclusions[columns].values.tolist() == [
        ["16", "record", "1", "Assessment", "2025-09-01", "", "conversations_2_and_3"]
        + ["not completed: open requests, assessments and reviews are left out until completed"],
        ["18", "record", "77", "Assessment", "2025-05-01", "2025-05-02", "conversations_2_and_3"]
        + ["no person details: the person is not in the person source (a casual contact?)"],
        ["19", "record", "1", "", "", "", ""]
        + ["no event rule takes this record (add a rule or an exclusion to the mapping)"],
        ["17", "row", "1", "Assessment", "2025-09-20", "2025-10-05", "conversation_1"]
        + ["completed after the reporting period end"],
        ["20", "row", "1", "Assessment", "2025-09-22", "", "conversation_1"]
        + ["not completed: open requests, assessments and reviews are left out until completed"],
    ]
    # `row` of the level=row line; docs/outputs.md says a record all of whose rows left the
    # return names its row too, but the ledger writes it blank (reported, not pinned here).
    assert result.exclusions["row"].tolist()[2:] == ["", "assessment", "assessment"]


class _Count:
    """What the extract's count queries report for one source (`SourceCount`)."""

    def __init__(self, table_rows: int, left_out: dict[str, int]):
        self.table_rows, self.left_out = table_rows, left_out


def test_the_reconciliation_of_a_small_input_line_by_line():
    """reconciliation.csv (docs/outputs.md), sources in the mapping's order: per source one
    `kind=total` line (table rows = left out in the database + read; read = in output +
    person details + excluded; `excluded_rows` beside them), then its `kind=detail` lines:
    the database's reasons (a reason that left nothing out is no line), then the transform's
    by outcome (in output, person details, excluded, excluded row) and reason. STEPS_LEFT_OUT:
    17 and 20 in the return with one row each left out, 16, 18 and 19 excluded; the database
    left out 3 steps that ended and 2 test records. People were counted (1 row); no count was
    taken for the PSR history and the service lines."""
    counts = {
        "people": _Count(1, {}),
        "steps": _Count(10, {"test record": 2, "ended": 3, "deleted": 0}),
    }
    result = transform(MAPPING, _steps_only(STEPS_LEFT_OUT), PERIOD, database_counts=counts)
    table = result.reconciliation.drop(columns=["la_code", "period_start", "period_end"])
    got = table.astype(object).where(table.notna(), None).values.tolist()
    no_totals = [None] * 7
    not_completed = "not completed: open requests, assessments and reviews are left out until "
    not_completed += "completed"
    assert got == [
        ["people", "total", 1, 0, 1, 0, 1, 0, 0, "", "", None],
        ["people", "detail", *no_totals, "person details", DETAILS_USED, 1],
        ["psr_history", "total", None, None, 0, 0, 0, 0, 0, "", "", None],
        ["steps", "total", 10, 5, 5, 2, 0, 3, 2, "", "", None],
        ["steps", "detail", *no_totals, "left out in the database", "ended", 3],
        ["steps", "detail", *no_totals, "left out in the database", "test record", 2],
        ["steps", "detail", *no_totals, "in output", "in the return", 2],
        ["steps", "detail", *no_totals, "excluded", NO_RULE, 1],
        ["steps", "detail", *no_totals, "excluded", NO_PERSON, 1],
        ["steps", "detail", *no_totals, "excluded", not_completed, 1],
        ["steps", "detail", *no_totals, "excluded row", "completed after the reporting period end"]
        + [1],
        ["steps", "detail", *no_totals, "excluded row", not_completed, 1],
        ["lines", "total", None, None, 0, 0, 0, 0, 0, "", "", None],
    ]


def test_an_excluded_events_date_given_with_a_time_is_listed_as_its_day():
    """Dates in the accounting files are `YYYY-MM-DD` (docs/outputs.md), also when a source
    gives them as text with a time of day (a partner file's `text` column): an assessment
    started at 10:30 on 1 September 2025 and completed at 16:00 on 2 October 2025, after the
    period, is listed with its days."""
    mapping = MAPPING.model_copy(deep=True)
    for column in ("started", "completed"):
        mapping.sources["steps"].columns[column] = "text"
    step = {"step_id": 5, "person_id": 1, "step_type": 1002, "status": "COMPLETED"}
    step |= {"started": "2025-09-01 10:30:00", "completed": "2025-10-02 16:00:00"}
    result = transform(mapping, _steps_only([step]), PERIOD)
    dates = ["event_start_date", "event_end_date", "reason"]
    assert result.exclusions[dates].values.tolist() == [
        ["2025-09-01", "2025-10-02", "completed after the reporting period end"]
    ]


def _conversation_1_request_only(at_contact: str) -> tuple:
    """Conversation 1 reduced to its Request row (only at first contact), and step 5."""
    conversation_1 = next(r for r in MAPPING.events if r.name == "conversation_1")
    mapping = _with_rule("conversation_1", rows=conversation_1.rows[:1])
    step = {"step_id": 5, "person_id": 1, "step_type": 1001, "status": "COMPLETED"}
    step |= {"started": "2025-05-01", "completed": "2025-05-02", "at_contact": at_contact}
    return mapping, step


def test_a_record_none_of_whose_rows_applies_is_excluded_as_giving_no_row():
    """docs/mapping.md, "Automatic exclusion reasons": "gave no CLD row", for "a record taken
    by a rule none of whose rows' `when` held". Conversation 1 reduced to its Request row:
    step 5, not at first contact, is taken by the rule and gives nothing (beside step 16 of
    STEPS_LEFT_OUT, an open assessment)."""
    mapping, step = _conversation_1_request_only("N")
    result = transform(mapping, _steps_only([step, STEPS_LEFT_OUT[0]]), PERIOD)
    assert len(result.cld) == 0
    got = result.exclusions[["source_key", "level", "event_type", "rule", "reason"]]
    assert got.values.tolist()[1] == ["5", "record", "", "conversation_1", "gave no CLD row"]


def test_a_record_that_gave_no_row_in_a_run_that_left_no_row_out():
    """The same record alone: no row of the run was left out, so the ledger's frame of rows
    left out is empty; it still has the event columns `settle` reads for a record that gave
    no row (it lacked them, and the run failed with KeyError: found on branch dev-mutL,
    fixed on main in dff22a1)."""
    mapping, step = _conversation_1_request_only("N")
    result = transform(mapping, _steps_only([step]), PERIOD)
    assert result.exclusions["reason"].tolist() == ["gave no CLD row"]


def test_a_record_all_of_whose_rows_left_is_excluded_for_its_first_rows_reason():
    """`settle`: "a taken record none of whose rows reached the return is excluded for its
    first row's reason", listed once at record level with that row's event and dates
    (docs/outputs.md). Conversation 1 at first contact on 25 September 2024, before the
    period, its assessment completed on 5 October 2025, after it: the Request row (the
    first) is out as completed before the period, the Assessment as completed after it."""
    step = {"step_id": 21, "person_id": 1, "step_type": 1001, "status": "COMPLETED"}
    step |= {"started": "2024-09-25", "completed": "2025-10-05", "at_contact": "Y"}
    result = transform(MAPPING, _steps_only([step]), PERIOD)
    assert len(result.cld) == 0
    columns = ["source_key", "level", "event_type", "event_start_date", "event_end_date"]
    assert result.exclusions[[*columns, "reason"]].values.tolist() == [
        ["21", "record", "Request", "2024-09-25", "2024-09-25"]
        + ["completed before the reporting period"]
    ]


def test_a_source_no_rule_reads_has_its_records_excluded_without_a_person():
    """A source the mapping declares but no rule, exclusion or person detail reads (case
    notes): each record is excluded as "no event rule takes this record", and exclusions.csv's
    `person_id` is "blank when the source has none" (docs/outputs.md), although the notes
    carry a column of the same name as the person source's key."""
    data = MAPPING.model_dump(exclude_unset=True)
    columns = {"note_id": "integer", "person_id": "integer"}
    data["sources"]["notes"] = {"template": "notes.sql.j2", "key": ["note_id"], "columns": columns}
    frames = _steps_only([])
    frames["notes"] = pd.DataFrame({"note_id": [3, 4], "person_id": [1, 1]})
    result = transform(Mapping.model_validate(data), frames, PERIOD)
    got = result.exclusions[["source", "source_key", "level", "person_id", "rule", "reason"]]
    assert got.values.tolist() == [
        ["notes", "3", "record", "", "", NO_RULE],
        ["notes", "4", "record", "", "", NO_RULE],
    ]


def test_exclusions_with_no_line_have_every_column_as_text():
    """exclusions.csv has its header whatever was left out, and every value is text
    (docs/outputs.md): with nothing left out (one assessment in the return) the frame has
    every column, each of the text dtype a frame with lines has, and no line."""
    step = {"step_id": 5, "person_id": 1, "step_type": 1002, "status": "COMPLETED"}
    step |= {"started": "2025-05-01", "completed": "2025-05-02"}
    result = transform(MAPPING, _steps_only([step]), PERIOD)
    assert len(result.cld) == 1
    assert list(result.exclusions.columns) == EXCLUSION_COLUMNS
    assert len(result.exclusions) == 0
    assert set(result.exclusions.dtypes.astype(str)) == {"string"}


def test_a_record_without_an_outcome_stops_the_run_saying_how_many(monkeypatch):
    """A record whose status is none of in the return, person details or excluded is a cldetl
    bug: the run stops (ReconciliationError, exit 70) saying which source and how many. The
    ledger made to mislabel the two service lines a rule takes."""
    real = _Ledger.take

    def mislabelling(self, source, mask, rule):
        real(self, source, mask, rule)
        self.status[source] = self.status[source].mask(mask, "claimed")

    monkeypatch.setattr(_Ledger, "take", mislabelling)
    frames = _steps_only([])
    line = {"person_id": 1, "service": "HC", "provider": "P1", "delivery": "PB"}
    frames["lines"] = pd.DataFrame(
        [
            {"line_id": 60, "start": "2025-01-01", **line},
            {"line_id": 61, "start": "2025-02-01", **line},
        ]
    ).reindex(columns=list(MAPPING.sources["lines"].columns))
    said = "source 'lines': 2 records have no outcome after the transform. This is a cldetl bug."
    with pytest.raises(ReconciliationError, match=f"^{re.escape(said)}$"):
        transform(MAPPING, frames, PERIOD)


def _assessment(step_id: int, person_id: int) -> dict:
    """An assessment completed in the period (testshire's `conversations_2_and_3`)."""
    step = {"step_id": step_id, "person_id": person_id, "step_type": 1002}
    return step | {"status": "COMPLETED", "started": "2025-05-01", "completed": "2025-05-02"}


def test_a_record_two_exclusions_match_is_excluded_once_by_the_first():
    """Exclusions are applied first, in the mapping's order (docs/mapping.md, "How a run uses
    it"), and exclusions.csv's `rule` is the exclusion "that decided": a cancelled
    safeguarding step matches testshire's `cancelled` and, after it, `safeguarding`; it is
    out once, for the first."""
    step = _assessment(30, 1) | {"step_type": 9001, "status": "CANCELLED"}
    result = transform(MAPPING, _steps_only([step]), PERIOD)
    got = result.exclusions[["source_key", "level", "rule", "reason"]].values.tolist()
    assert got == [["30", "record", "cancelled", "cancelled: the process was not completed"]]


def test_the_records_of_two_people_not_in_the_person_source_are_each_excluded():
    """docs/mapping.md, "Automatic exclusion reasons": a row whose person is not in the person
    source is left out (`no person details: ...`). Assessments of persons 77 and 78, neither
    in the person source, beside one of person 1: each of the two is listed with its person."""
    steps = [_assessment(31, 77), _assessment(32, 1), _assessment(33, 78)]
    result = transform(MAPPING, _steps_only(steps), PERIOD)
    assert len(result.cld) == 1
    got = result.exclusions[["source_key", "level", "person_id", "reason"]].values.tolist()
    assert got == [["31", "record", "77", NO_PERSON], ["33", "record", "78", NO_PERSON]]


def test_an_excluded_detail_of_a_person_in_the_return_stays_excluded():
    """A record an exclusion left out is excluded, even when it is a person detail of someone
    in the return (docs/outputs.md: `person_details` are the details "used for someone in the
    return, or not needed"; `excluded` the records the transform left out). Person 1 has an
    assessment in the return and two PSR records, one recorded in error."""
    data = MAPPING.model_dump(exclude_unset=True)
    in_error = {"column": "psr_code", "in": ["XX"]}
    data["exclusions"].append(
        {"name": "in_error", "sources": ["psr_history"], "when": in_error, "reason": "in error"}
    )
    frames = _steps_only([_assessment(34, 1)])
    frames["psr_history"] = pd.DataFrame(
        {"person_id": [1, 1], "psr_code": ["PC", "XX"], "start": ["2020-01-01", "2021-01-01"]}
    )
    result = transform(Mapping.model_validate(data), frames, PERIOD)
    table = result.reconciliation
    details = table[(table["source"] == "psr_history") & (table["kind"] == "detail")]
    assert details[["outcome", "reason", "rows"]].values.tolist() == [
        ["person details", DETAILS_USED, 1],
        ["excluded", "in error", 1],
    ]
    assert result.exclusions[["source", "rule", "reason"]].values.tolist() == [
        ["psr_history", "in_error", "in error"]
    ]


def test_the_reconciliation_counts_are_written_as_whole_numbers():
    """Counts are whole numbers (docs/outputs.md), blank where a line has none, in the
    reconciliation as written (`publish.write.write_csv` writes each value as text). One
    assessment in the return; no database count taken, so `table_rows` and
    `left_out_in_database` are blank."""
    result = transform(MAPPING, _steps_only([_assessment(35, 1)]), PERIOD)
    table = result.reconciliation.astype("string").fillna("")
    table = table[table["source"] == "steps"]
    columns = ["kind", "table_rows", "left_out_in_database", "read", "in_output"]
    columns += ["person_details", "excluded", "excluded_rows", "rows"]
    assert table[columns].values.tolist() == [
        ["total", "", "", "1", "1", "0", "0", "0", ""],
        ["detail", "", "", "", "", "", "", "", "1"],
    ]


def _steps_from_a_file():
    """testshire's mapping with its steps from a partner's file, not a SQL template."""
    data = MAPPING.model_dump(exclude_unset=True)
    steps = data["sources"]["steps"]
    del steps["template"], steps["params"]
    steps["file"] = "steps.csv"
    return Mapping.model_validate(data)


# A source's table rows (reconciliation.csv, docs/outputs.md): "counted in the database (a
# file source: the rows read). Blank when no count was taken"; and a run whose counts do not
# add up (table rows != left out in the database + read) fails, saying so.
TABLE_ROWS_CASES = [
    pytest.param(MAPPING, None, (None, None, 2), id="a template without counts"),
    pytest.param(_steps_from_a_file(), None, (2, 0, 2), id="a file"),
    pytest.param(MAPPING, {"steps": _Count(5, {"ended": 3})}, (5, 3, 2), id="counted"),
]


@pytest.mark.parametrize(("mapping", "counts", "expected"), TABLE_ROWS_CASES)
def test_a_sources_table_rows(mapping, counts, expected):
    steps = [_assessment(36, 1), _assessment(37, 1)]
    result = transform(mapping, _steps_only(steps), PERIOD, database_counts=counts)
    table = result.reconciliation
    total = table[(table["source"] == "steps") & (table["kind"] == "total")]
    got = total[["table_rows", "left_out_in_database", "read"]].astype(object)
    assert got.where(got.notna(), None).values.tolist() == [list(expected)]


def test_database_counts_that_do_not_add_up_stop_the_run_saying_so():
    """10 rows in the table, 3 left out by the database, but 2 read: a cldetl bug (exit 70)."""
    counts = {"steps": _Count(10, {"ended": 3, "test record": 0})}
    said = (
        "source 'steps': the database counted 10 rows in its table(s) and left out 3, but 2 "
        "were read (10 != 3 + 2), counted and read in one snapshot of the database. This is a "
        "cldetl bug."
    )
    steps = [_assessment(36, 1), _assessment(37, 1)]
    with pytest.raises(ReconciliationError, match=f"^{re.escape(said)}$"):
        transform(MAPPING, _steps_only(steps), PERIOD, database_counts=counts)


# output.py (dev-mutO)
# The CLD rows as written (output.py's docstrings, docs/mapping.md "derived reference",
# docs/outputs.md): dates dd/mm/yyyy, the event reference, the 48 text columns in spec order
# and the row order.


@pytest.mark.parametrize(
    "value",
    [0, 1, 0x0123456789ABCDEF, 0xFEDCBA9876543210, 2**64 - 1],
    ids=["zero", "one", "every digit up", "every digit down", "largest"],
)
def test_a_hash_is_written_as_sixteen_hex_digits(value):
    """`_hex`: "uint64 -> 16 hex digits" (lower case, leading zeros kept), as Python writes
    it with `format(value, "016x")`."""
    got = _hex(np.array([value, value], dtype=np.uint64))
    assert got.tolist() == [format(value, "016x")] * 2


def test_no_hash_is_no_hex_text():
    """`_hex` of nothing is no text (an empty array of 16-character text). Its caller
    `references` returns early on no rows, so only this test reaches the empty branch."""
    got = _hex(np.array([], dtype=np.uint64))
    assert got.tolist() == []
    assert got.dtype.kind == "U"


def _derived(rule: str, key: str, position: str) -> str:
    """docs/mapping.md: a derived reference is "`E` and 15 hex digits, a hash of the rule
    name, the record's key ... and the row's position in the rule", each taken as text."""
    basis = pd.DataFrame({RULE: [rule], KEY: [key], "_row_index": [position]}, dtype="string")
    return "E" + format(int(pd.util.hash_pandas_object(basis, index=False).iloc[0]), "016x")[:15]


def test_event_references_own_derived_and_blank_for_carers():
    """`references`: "the rule's own (a system reference), else one derived from the rule, the
    record's key and the row"; rows of the carer-by-association kind (no Event Type) have no
    reference (docs/mapping.md; docs/outputs.md: "blank for unpaid-carer-by-association
    rows"). The key is a number here and the position a number: the hash is of their text,
    so a key read as a number one quarter and as text the next keeps its reference."""
    rows = pd.DataFrame(
        {
            RULE: ["lines", "steps_a", "steps_a", "carers", "carers"],
            KEY: pd.array([101, 101, 101, 7, 8], dtype="Int64"),
            "_row_index": pd.array([0, 0, 1, 0, 0], dtype="int64"),
            "_reference_base": pd.array(["SYS1", "", None, "SYS2", ""], dtype="string"),
            "Event Type": pd.array(["Service", "Assessment", "Request", "", ""], dtype="string"),
        },
        index=[5, 6, 7, 8, 9],
    )
    got = references(rows, MAPPING)
    assert got.tolist() == [
        "SYS1",
        _derived("steps_a", "101", "0"),
        _derived("steps_a", "101", "1"),
        "",
        "",
    ]
    assert got.index.tolist() == [5, 6, 7, 8, 9]
    assert got.iloc[1:3].str.fullmatch("E[0-9a-f]{15}").all()


def test_no_rows_have_no_references():
    rows = pd.DataFrame(columns=[RULE, KEY, "_row_index", "_reference_base", "Event Type"])
    assert references(rows, MAPPING).tolist() == []


def test_dates_are_written_day_month_year_and_blank_when_missing():
    """`_dates`: "Dates as dd/mm/yyyy text, blank where missing" (the CLD file's dates,
    docs/outputs.md); a date that repeats is written the same each time."""
    values = pd.Series(
        pd.to_datetime(["2025-07-04", None, "2025-07-04", "1999-12-31", "2024-02-29", None]),
        index=[3, 4, 5, 6, 7, 8],
    )
    got = _dates(values)
    assert got.tolist() == ["04/07/2025", "", "04/07/2025", "31/12/1999", "29/02/2024", ""]
    assert _dates(pd.Series(pd.to_datetime([None, None]))).tolist() == ["", ""]


# format_cld: rows as the transform holds them before writing (one column per field it has,
# and its working columns), on an index of its own. Each row's place in the sort, by the rule
# in format_cld (person as text by code point, then start date with missing first, then
# Request, Assessment, Service, Review and the carer's row, then reference as text, then
# candidate): the person "10" sorts before "9"; of person 9's rows the one without a start
# date comes first; the others start the same day, so they go by type; two Assessments "A10"
# (candidates 7 and 6) come before "A2".
FORMAT_ROWS = [
    # label, person, start, event type, reference, candidate
    (20, "9", "2025-05-01", "Review", "R1", 0),
    (21, "9", "2025-05-01", "", "", 1),
    (22, "9", "2025-05-01", "Request", "R9", 2),
    (23, "10", "2025-06-01", "Service", "S1", 3),
    (24, "9", None, "Assessment", "A1", 4),
    (25, "9", "2025-05-01", "Assessment", "A2", 5),
    (26, "9", "2025-05-01", "Assessment", "A10", 7),
    (27, "9", "2025-05-01", "Assessment", "A10", 6),
    (28, "9", "2025-05-01", "Service", "S0", 8),
]
FORMAT_ORDER = [23, 24, 22, 27, 26, 25, 28, 20, 21]


def _format_rows() -> pd.DataFrame:
    label, person, start, event_type, reference, candidate = zip(*FORMAT_ROWS, strict=True)
    n = len(label)
    return pd.DataFrame(
        {
            PERSON: pd.array(person, dtype="string"),
            "Event Start Date": pd.to_datetime(list(start)),
            "Event End Date": pd.to_datetime(["2025-07-04"] * n),
            "Event Type": pd.array(event_type, dtype="string"),
            "Event Reference": pd.array(reference, dtype="string"),
            "First Name": pd.array(["  Ada "] * n, dtype="string"),
            # A cost from a text column: 845.5 is 845.50; "n/a" is not a number (blank, listed).
            "Unit Cost": pd.array(["845.5", "n/a", *[""] * (n - 2)], dtype="string"),
            CANDIDATE: pd.array(candidate, dtype="int64"),
            SOURCE: pd.array(["lines", "costs", *["steps"] * (n - 2)], dtype="string"),
            KEY: pd.array([str(c) for c in candidate], dtype="string"),
            "_row_index": pd.array([0] * n, dtype="int64"),
        },
        index=list(label),
    )


def test_the_cld_rows_are_written_as_text_in_spec_order_and_sorted():
    """`format_cld`: "The 48 columns as text, in a stable order; also the row order used (for
    lineage)". LA Code is the mapping's (testshire 999) and the reporting period is written
    dd/mm/yyyy on every row (1 October 2024 to 30 September 2025); LA Person Unique Identifier
    is the row's person; dates dd/mm/yyyy (blank when missing), costs 0.00, text stripped; a
    field the rows do not hold is blank. Every column is pandas text (Arrow-backed, for the
    memory at a million rows) on the lines 0..n-1. A cost that is not a number is blank and
    listed in unmapped_codes.csv under its source (docs/outputs.md). With `keep`, `rows` is
    left holding only the `keep` columns."""
    rows = _format_rows()
    keep = [PERSON, CANDIDATE, SOURCE, "Event Reference", "Event Type", "Client Type"]
    unmapped = UnmappedCodes()
    cld, order = format_cld(rows, MAPPING, SPEC, PERIOD, keep=keep, unmapped=unmapped)

    assert order.tolist() == FORMAT_ORDER
    assert list(cld.columns) == [f.name for f in SPEC.fields]
    assert cld.index.tolist() == list(range(len(FORMAT_ROWS)))
    assert all(str(dtype) == "string" for dtype in cld.dtypes)
    by_label = {row[0]: row for row in FORMAT_ROWS}
    assert cld["LA Person Unique Identifier"].tolist() == [by_label[i][1] for i in FORMAT_ORDER]
    assert cld["Event Reference"].tolist() == [by_label[i][4] for i in FORMAT_ORDER]
    assert cld["Event Type"].tolist() == [by_label[i][3] for i in FORMAT_ORDER]
    n = len(FORMAT_ROWS)
    assert cld["LA Code"].tolist() == ["999"] * n
    assert cld["Reporting Period Start Date"].tolist() == ["01/10/2024"] * n
    assert cld["Reporting Period End Date"].tolist() == ["30/09/2025"] * n
    assert cld["Event Start Date"].tolist()[:2] == ["01/06/2025", ""]
    assert cld["Event End Date"].tolist() == ["04/07/2025"] * n
    assert cld["First Name"].tolist() == ["Ada"] * n
    assert cld["NHS Number"].tolist() == [""] * n
    # Label 20 (the cost 845.5) is eighth in the order, label 21 ("n/a") ninth.
    assert cld["Unit Cost"].tolist() == [""] * 7 + ["845.50", ""]
    listed = unmapped.frame()
    assert listed[["lookup", "source", "column", "code", "rows"]].values.tolist() == [
        [NOT_A_NUMBER, "costs", "Unit Cost", "n/a", 1]
    ]
    assert sorted(rows.columns) == sorted(keep[:-1])  # Client Type was never in the rows
    assert rows.index.tolist() == [row[0] for row in FORMAT_ROWS]


def test_the_cld_rows_without_keep_or_unmapped_leave_the_rows_whole():
    """`format_cld`'s `keep` and `unmapped` are optional: without `keep` every column of
    `rows` stays; without `unmapped` a cost that is not a number is still written blank."""
    rows = _format_rows()
    columns = list(rows.columns)
    cld, order = format_cld(rows, MAPPING, SPEC, PERIOD)
    assert order.tolist() == FORMAT_ORDER
    assert list(rows.columns) == columns
    assert cld["Unit Cost"].tolist() == [""] * 7 + ["845.50", ""]


@pytest.mark.parametrize("field", ["Date of Death", "Date of Birth"])
def test_a_date_field_given_as_a_dated_detail_is_read_as_a_date(field):
    """A mapping may give Date of Death (or Date of Birth) from a dated history (docs/mapping.md,
    `person.dated`: any CLD person field). It is overlaid as a date, as the person's own date
    fields are: the death ends the event it falls in (guidance, Event End Date), the birth
    gives the age. Before, the overlay wrote text over the dates and the transform failed
    (TypeError, AttributeError; found by dev-mutO)."""
    from cldetl.mapping.model import DatedDetail

    person = MAPPING.person.model_copy(
        update={
            "dated": {
                field: DatedDetail(
                    source="psr_history", person="person_id", column="psr_code", start="start"
                )
            }
        }  # fmt: skip
    )
    mapping = MAPPING.model_copy(update={"person": person})
    frames = _steps_only(
        [
            {
                "step_id": 7,
                "person_id": 1,
                "step_type": 1001,
                "status": "COMPLETED",
                "started": "2025-05-01",
                "completed": "2025-05-02",
                "at_contact": "Y",
            }
        ]  # fmt: skip
    )
    frames["psr_history"] = pd.DataFrame(
        {"person_id": [1], "psr_code": ["2025-05-01"], "start": [pd.Timestamp("2025-01-01")]}
    ).reindex(columns=list(MAPPING.sources["psr_history"].columns))
    result = transform(mapping, frames, PERIOD)
    assert len(result.cld) >= 1
    assert set(result.cld[field]) == {"01/05/2025"}


# events.py / values.py, the rest (dev-mutT2)
# The person's details on each event row and the guidance's rules applied to them
# (docs/mapping.md "person.dated", the CLD guidance's Employment Status), and the
# unmapped_codes.csv table (docs/outputs.md).


def test_no_unmapped_codes_is_an_empty_table_with_its_columns():
    """unmapped_codes.csv is written with its header when every code was mapped."""
    assert UnmappedCodes().frame().columns.tolist() == [
        "lookup",
        "field",
        "source",
        "column",
        "code",
        "rows",
        "used_instead",
    ]


def _one_service(end: str | None, dob: str) -> dict[str, pd.DataFrame]:
    """testshire's person 1, born `dob`, with one residential service line from 1 January
    2025 to `end` (None: still open)."""
    frames = _steps_only([])
    frames["people"]["dob"] = [pd.Timestamp(dob)]
    line = {"line_id": 80, "person_id": 1, "service": "RES", "provider": "P1", "delivery": "PB"}
    line |= {"freq": "W", "start": "2025-01-01", "end": end, "cost": 800}
    frames["lines"] = pd.DataFrame([line]).reindex(columns=list(MAPPING.sources["lines"].columns))
    return frames


# Employment Status "can be left blank for people aged 65 and older" (testshire:
# employment_status_blank_65_plus, Employment Status the constant "Unknown"): the age at the
# event's end, or at the end of the period (30 September 2025) for a service still open.
EMPLOYMENT_65_CASES = [
    pytest.param(None, "1960-06-01", "", id="open, 65 at the period end"),
    pytest.param(None, "1960-10-01", "Unknown", id="open, 64 at the period end"),
    pytest.param("2025-05-31", "1960-06-01", "Unknown", id="ended at 64"),
    pytest.param("2025-06-01", "1960-06-01", "", id="ended on the 65th birthday"),
]


@pytest.mark.parametrize(("end", "dob", "expected"), EMPLOYMENT_65_CASES)
def test_employment_status_is_blank_from_65_at_the_events_end(end, dob, expected):
    result = transform(MAPPING, _one_service(end, dob), PERIOD)
    assert result.cld[["Event Type", "Employment Status"]].values.tolist() == [
        ["Service", expected]
    ]


def test_a_code_met_twice_is_one_line_of_unmapped_codes_with_the_rows_added():
    """unmapped_codes.csv has one line per lookup, source column and local code, with how many
    rows carried it: a code met by two rules (or two parts of a run) is counted once, its rows
    added; lines in order of lookup, source, column and code."""
    psr = MAPPING.lookups["psr"]
    unmapped = UnmappedCodes()
    unmapped.add("psr", psr, "psr_history", "psr_code", pd.Series({"ZZ": 2}))
    unmapped.add("psr", psr, "psr_history", "psr_code", pd.Series({"ZZ": 3, "AA": 1}))
    unmapped.add("psr", psr, "people", "psr", pd.Series({"ZZ": 4}))
    field = "Primary Support Reason"
    assert unmapped.frame().values.tolist() == [
        ["psr", field, "people", "psr", "ZZ", 4, "Unknown"],
        ["psr", field, "psr_history", "psr_code", "AA", 1, "Unknown"],
        ["psr", field, "psr_history", "psr_code", "ZZ", 5, "Unknown"],
    ]


def test_a_date_value_with_a_default_stays_a_date():
    """evaluate_value: "dates stay datetimes"; a `default` fills a blank text result
    (docs/mapping.md), so a date column's missing dates stay missing, not the default's text."""
    ctx = ValueContext(MAPPING, SPEC, "steps", UnmappedCodes())
    frame = pd.DataFrame({"completed": pd.to_datetime(["2025-05-02", None])}, index=[4, 9])
    got = evaluate_value(ctx, Value(column="completed", default="Unknown"), frame, "x")
    assert pd.api.types.is_datetime64_any_dtype(got.dtype)
    assert got.index.tolist() == [4, 9]
    assert got.iloc[0] == pd.Timestamp("2025-05-02")
    assert pd.isna(got.iloc[1])


# A dated detail (testshire: Primary Support Reason from psr_history, as at the event end) is
# the one in force at the event's end, or at the end of the period for a service still open:
# personal care from 1 January 2024, learning disability from 1 August 2025.
PSR_AS_AT_CASES = [
    pytest.param(None, "Learning disability support", id="open: at the period end"),
    pytest.param("2025-05-31", "Physical support: Personal care support", id="ended before"),
    pytest.param("2025-08-01", "Learning disability support", id="ended on the change"),
]


@pytest.mark.parametrize(("end", "expected"), PSR_AS_AT_CASES)
def test_a_dated_detail_is_the_one_in_force_at_the_events_end(end, expected):
    frames = _one_service(end, "1980-01-01")
    frames["psr_history"] = pd.DataFrame(
        {
            "person_id": [1, 1],
            "psr_code": ["PC", "LD"],
            "start": pd.to_datetime(["2024-01-01", "2025-08-01"]),
        }
    )
    result = transform(MAPPING, frames, PERIOD)
    assert result.cld["Primary Support Reason"].tolist() == [expected]


def test_a_date_given_as_text_that_is_not_a_date_is_written_blank():
    """A `text` column read as a date (test_dates_given_as_text_are_read_as_dates) may hold
    something that is not a date: the person's Date of Birth is then blank (not known), and
    the event is still in the return."""
    mapping = MAPPING.model_copy(deep=True)
    mapping.sources["people"].columns["dob"] = "text"
    step = {"step_id": 5, "person_id": 1, "step_type": 1002, "status": "COMPLETED"}
    step |= {"started": "2025-05-01", "completed": "2025-05-02"}
    frames = _steps_only([step])
    frames["people"]["dob"] = ["not known"]
    result = transform(mapping, frames, PERIOD)
    assert result.cld[["Event Start Date", "Date of Birth"]].values.tolist() == [["01/05/2025", ""]]


# `coalesce: [a, b, ...]` (docs/mapping.md): the first column of the list that holds a value,
# row by row; dates stay dates; with a `lookup`, the coalesced code is looked up and an
# unmapped one is listed under the columns joined by "+".
COALESCE_TEXT = pd.DataFrame(
    {
        "a": ["A1", "", None, " ", None],
        "b": ["B1", "B2", " ", None, None],
        "c": ["C1", "C2", "C3", "C4", None],
    },
    index=[3, 5, 7, 9, 11],
)


def test_coalesce_takes_the_first_column_with_a_value():
    ctx = ValueContext(MAPPING, SPEC, "steps", UnmappedCodes())
    got = evaluate_value(ctx, Value(coalesce=["a", "b", "c"]), COALESCE_TEXT, "x")
    assert got.index.tolist() == [3, 5, 7, 9, 11]
    assert got.fillna("").tolist() == ["A1", "B2", "C3", "C4", ""]


def test_coalesce_of_dates_keeps_dates():
    ctx = ValueContext(MAPPING, SPEC, "steps", UnmappedCodes())
    frame = pd.DataFrame(
        {
            "completed": pd.to_datetime(["2025-05-02", None, None]),
            "started": pd.to_datetime(["2025-05-01", "2025-04-01", None]),
        }
    )
    got = evaluate_value(ctx, Value(coalesce=["completed", "started"]), frame, "x")
    assert pd.api.types.is_datetime64_any_dtype(got.dtype)
    assert got.tolist()[:2] == [pd.Timestamp("2025-05-02"), pd.Timestamp("2025-04-01")]
    assert pd.isna(got.iloc[2])


def test_coalesce_with_a_lookup_lists_an_unmapped_code_under_the_joined_columns():
    unmapped = UnmappedCodes()
    ctx = ValueContext(MAPPING, SPEC, "people", unmapped)
    frame = pd.DataFrame({"g1": ["", "M", None], "g2": ["F", "Q", "Q"]})
    got = evaluate_value(ctx, Value(coalesce=["g1", "g2"], lookup="gender"), frame, "Gender")
    assert got.tolist() == ["Female", "Male", "Unknown"]
    assert unmapped.frame().values.tolist() == [
        ["gender", "Gender", "people", "g1+g2", "Q", 1, "Unknown"]
    ]


# A lookup with `release1_values: true` also takes the field's Release 1 texts (the spec's
# Release 1 to Release 2 list) for its own field only; with `cld_values: true`, the field's
# CLD values as they are. testshire's psr lookup (PC, LD; default Unknown) so widened:
LOOKUP_TABLE_CASES = [
    pytest.param("PC", "Physical support: Personal care support", id="own code"),
    pytest.param(
        "Social Support: Support to Carer",
        "Social support: Support to unpaid carer",
        id="release 1 text of the field",
    ),
    pytest.param("Direct Payment", "Unknown", id="release 1 text of another field"),
    pytest.param("Mental health support", "Unknown", id="cld value not accepted"),
]


@pytest.mark.parametrize(("code", "expected"), LOOKUP_TABLE_CASES)
def test_a_lookup_accepts_release_1_texts_of_its_own_field(code, expected):
    lookups = dict(MAPPING.lookups)
    lookups["psr"] = lookups["psr"].model_copy(update={"release1_values": True})
    mapping = MAPPING.model_copy(update={"lookups": lookups})
    ctx = ValueContext(mapping, SPEC, "psr_history", UnmappedCodes())
    got = apply_lookup(ctx, "psr", pd.Series([code]), "psr_code")
    assert got.tolist() == [expected]


def test_a_lookup_with_cld_values_takes_the_fields_cld_values_as_they_are():
    lookups = dict(MAPPING.lookups)
    lookups["psr"] = lookups["psr"].model_copy(update={"cld_values": True})
    mapping = MAPPING.model_copy(update={"lookups": lookups})
    ctx = ValueContext(mapping, SPEC, "psr_history", UnmappedCodes())
    codes = pd.Series(["Mental health support", "LD", "Direct payment"])
    got = apply_lookup(ctx, "psr", codes, "psr_code")
    assert got.tolist() == ["Mental health support", "Learning disability support", "Unknown"]


def test_a_lookup_with_no_codes_yet_gives_its_default_and_lists_every_code():
    """A lookup being built may list no code yet: every code is unmapped, written as the
    default and listed in unmapped_codes.csv (never silently blanked)."""
    lookups = dict(MAPPING.lookups)
    lookups["psr"] = lookups["psr"].model_copy(update={"values": {}})
    mapping = MAPPING.model_copy(update={"lookups": lookups})
    unmapped = UnmappedCodes()
    ctx = ValueContext(mapping, SPEC, "psr_history", unmapped)
    got = apply_lookup(ctx, "psr", pd.Series(["PC", "", "PC"]), "psr_code")
    assert got.tolist() == ["Unknown", "Unknown", "Unknown"]
    assert unmapped.frame()[["code", "rows"]].values.tolist() == [["PC", 2]]


# --- dev-E: transform survivors (mutmut run of 7 December 2026, afternoon) ---
# person_details.py, sources.py, service_lines.py (docs/mutation-transform.md, branch dev-E).
# The person table and the dated details (person_details.py's docstrings, docs/mapping.md
# "person" and "person.dated"), the sources as the transform reads them (sources.py) and the
# chaining of service lines (service_lines.py). Every value is invented.


def test_the_person_table_is_one_row_per_person_the_latest_known():
    """person_table: "One row per person id with the mapped person fields (latest known)":
    person 1 extracted twice keeps the later record (Ada2, not Ada); the table holds the id
    and testshire's person fields, nothing else, on a fresh index (0, 1) whatever the
    source's."""
    from cldetl.transform.person_details import person_table

    people = pd.DataFrame(
        {"person_id": [1, 2, 1], "first_name": ["Ada", "Bea", "Ada2"], "gender": ["F", "M", "F"]},
        index=[5, 6, 7],
    ).reindex(columns=list(MAPPING.sources["people"].columns))
    got = person_table(MAPPING, SPEC, people, UnmappedCodes())
    assert got.columns.tolist() == [PERSON, *MAPPING.person.fields]
    assert got.index.tolist() == [0, 1]
    assert got[[PERSON, "First Name", "Gender"]].values.tolist() == [
        ["2", "Bea", "Male"],
        ["1", "Ada2", "Female"],
    ]


def _dated_from_psr_history(field: str, **options):
    """testshire with `field` a dated detail read from its PSR history (psr_history): the
    codes as they are, or through `options` (a lookup, an `as_at`)."""
    from cldetl.mapping.model import DatedDetail

    detail = DatedDetail(
        source="psr_history", person="person_id", column="psr_code", start="start", **options
    )
    person = MAPPING.person.model_copy(update={"dated": {field: detail}})
    return MAPPING.model_copy(update={"person": person})


def _psr_history_source(history: pd.DataFrame) -> dict[str, pd.DataFrame]:
    from cldetl.transform.sources import prepare_source

    return {"psr_history": prepare_source("psr_history", MAPPING.sources["psr_history"], history)}


def _dated_psr_details(as_at, history, rows, unmapped=None) -> pd.DataFrame:
    """`rows` with testshire's dated Primary Support Reason (through its `psr` lookup) as at
    `as_at`, from `history`, at the end of September 2025."""
    from cldetl.transform.person_details import add_dated_details

    mapping = _dated_from_psr_history("Primary Support Reason", lookup="psr", as_at=as_at)
    sources = _psr_history_source(history)
    unmapped = UnmappedCodes() if unmapped is None else unmapped
    return add_dated_details(mapping, SPEC, rows, sources, date(2025, 9, 30), unmapped)


# add_dated_details on rows with no Event End Date column: "as at each row's event end date
# (or the latest)": with `event_end` the detail in force at the end of the period (30 September
# 2025), with `latest` the one that started last. Person 1: personal care (PC) from 1 January
# 2024, learning disability (LD) from 1 August 2025: LD either way. Person 2: LD from 1 January
# 2026, after the period: none in force at its end (the person's own "Unknown" stays), but the
# latest. Person 3: a PC line without a start date, which is dropped: "Unknown" stays. Person
# 4: code ZZ, which the psr lookup does not map: its default "Unknown", and one line of
# unmapped_codes.csv for the history's column psr_code (one history row carried it).
DATED_WITHOUT_END_CASES = [
    pytest.param("event_end", ["LD", "Unknown", "Unknown", "Unknown"], id="as at the period end"),
    pytest.param("latest", ["LD", "LD", "Unknown", "Unknown"], id="the latest"),
]


@pytest.mark.parametrize(("as_at", "expected"), DATED_WITHOUT_END_CASES)
def test_a_dated_detail_of_rows_without_an_end_date(as_at, expected):

    history = pd.DataFrame(
        {
            "person_id": [1, 2, 1, 3, 4],
            "psr_code": ["LD", "LD", "PC", "PC", "ZZ"],
            "start": ["2025-08-01", "2026-01-01", "2024-01-01", None, "2025-01-01"],
        }
    )
    rows = pd.DataFrame(
        {
            PERSON: pd.array(["1", "2", "3", "4"], dtype="string"),
            "Primary Support Reason": pd.array(["Unknown"] * 4, dtype="string"),
        },
        index=[5, 9, 2, 7],
    )
    unmapped = UnmappedCodes()
    got = _dated_psr_details(as_at, history, rows, unmapped)
    names = {"LD": "Learning disability support", "Unknown": "Unknown"}
    assert got.columns.tolist() == [PERSON, "Primary Support Reason"]
    assert got.index.tolist() == [5, 9, 2, 7]
    assert got["Primary Support Reason"].tolist() == [names[e] for e in expected]
    assert unmapped.frame().values.tolist() == [
        ["psr", "Primary Support Reason", "psr_history", "psr_code", "ZZ", 1, "Unknown"]
    ]


@pytest.mark.parametrize("as_at", ["event_end", "latest"])
def test_of_a_persons_dated_lines_starting_the_same_day_the_last_read_is_in_force(as_at):
    """Person 1's 40 psr_history lines, read alternately starting 1 January 2025 and 1
    January 2024; every one personal care (PC) but the 39th read (a 1 January 2025 line),
    learning disability (LD). Of the lines starting the same day, the last read is the one in
    force, as the person source's own records are "latest known" (person_table keeps a
    person's last record): LD, at the period end and as the latest alike. (Forty lines: a
    sort that is not stable may reorder lines of the same day; it does not on a handful.)"""

    history = pd.DataFrame(
        {
            "person_id": [1] * 40,
            "psr_code": ["PC"] * 38 + ["LD", "PC"],
            "start": ["2025-01-01", "2024-01-01"] * 20,
        }
    )
    rows = pd.DataFrame(
        {
            PERSON: pd.array(["1"], dtype="string"),
            "Primary Support Reason": pd.array(["Unknown"], dtype="string"),
        }
    )
    got = _dated_psr_details(as_at, history, rows)
    assert got["Primary Support Reason"].tolist() == ["Learning disability support"]


def test_a_dated_detail_of_a_field_the_rows_lack_is_blank_where_none_is_in_force():
    """A dated detail for a field the person source does not give (here Accommodation Status,
    the history's codes as they are, no lookup): person 1's LD, from 1 August 2025, is in
    force at the end of the period; person 2 has no line, so the field is blank (empty text,
    not missing)."""
    from cldetl.transform.person_details import add_dated_details

    mapping = _dated_from_psr_history("Accommodation Status")
    history = pd.DataFrame({"person_id": [1], "psr_code": ["LD"], "start": ["2025-08-01"]})
    sources = _psr_history_source(history)
    rows = pd.DataFrame({PERSON: pd.array(["1", "2"], dtype="string")}, index=[5, 9])
    got = add_dated_details(mapping, SPEC, rows, sources, date(2025, 9, 30), UnmappedCodes())
    assert got.index.tolist() == [5, 9]
    assert got["Accommodation Status"].tolist() == ["LD", ""]
    assert str(got["Accommodation Status"].dtype) == "string"


def test_a_dated_line_in_force_with_a_blank_value_leaves_the_persons_own():
    """A dated detail whose line in force holds no value (blank, or only spaces) does not
    blank the person's own: the history gives nothing for that time. Accommodation Status from
    the history's codes as they are (no lookup); person 1's own "Settled" stays, person 2's
    "Settled" gives way to the history's "LD"."""
    from cldetl.transform.person_details import add_dated_details

    mapping = _dated_from_psr_history("Accommodation Status")
    history = pd.DataFrame(
        {"person_id": [1, 2], "psr_code": ["  ", "LD"], "start": ["2025-08-01", "2025-08-01"]}
    )
    sources = _psr_history_source(history)
    rows = pd.DataFrame(
        {
            PERSON: pd.array(["1", "2"], dtype="string"),
            "Accommodation Status": pd.array(["Settled", "Settled"], dtype="string"),
        }
    )
    got = add_dated_details(mapping, SPEC, rows, sources, date(2025, 9, 30), UnmappedCodes())
    assert got["Accommodation Status"].tolist() == ["Settled", "LD"]


def test_a_dated_date_field_whose_value_is_not_a_date_is_no_date():
    """A date field given as a dated detail (as in
    test_a_date_field_given_as_a_dated_detail_is_read_as_a_date) whose line in force holds
    text that is not a date ("not known") is no date, as a date given as text that is not one
    is (test_a_date_given_as_text_that_is_not_a_date_is_written_blank): the run goes on."""
    from cldetl.transform.person_details import add_dated_details

    mapping = _dated_from_psr_history("Date of Death")
    history = pd.DataFrame({"person_id": [1], "psr_code": ["not known"], "start": ["2025-01-01"]})
    sources = _psr_history_source(history)
    rows = pd.DataFrame(
        {
            PERSON: pd.array(["1"], dtype="string"),
            "Date of Death": pd.Series([pd.NaT], dtype="datetime64[ns]"),
        }
    )
    got = add_dated_details(mapping, SPEC, rows, sources, date(2025, 9, 30), UnmappedCodes())
    assert got["Date of Death"].dtype == np.dtype("datetime64[ns]")
    assert got["Date of Death"].isna().tolist() == [True]


def _source(**columns: str):
    """A source of the mapping model keyed on a and b, with the given columns after them."""
    from cldetl.mapping.model import Source

    return Source(
        template="t.sql.j2", key=["a", "b"], columns={"a": "integer", "b": "text", **columns}
    )


def test_a_source_is_read_column_by_column_as_its_type():
    """sources.py: the declared columns typed (text, integer, number, date, list), each record
    with a position (0, 1, ... in the order read, whatever the frame's index) and a key (the
    key columns as text joined by '|', a missing one empty). An integer from SQL with NULLs
    arrives as a float: 1.0 is "1" (no '.0'). Text is kept as given (" z " keeps its spaces).
    A date keeps its day (10:30 dropped); "9999-12-31" and "2200-01-01" are case systems' "no
    end date" (any year from 2200 on), so no date, while 2199-12-31 is a date. A number that
    is not one ("x") is missing. A list keeps its items as text, in order; no list is empty."""
    from cldetl.transform.sources import POSITION, prepare_source

    frame = pd.DataFrame(
        {
            "a": [1.0, None, 3.0, 4.0],
            "b": ["x", "y", None, " z "],
            "d": ["2025-07-04T10:30:00", "9999-12-31", "2200-01-01", "2199-12-31"],
            "n": ["12.5", "x", None, 3],
            "l": [["a", 1], None, [], ("b",)],
        },
        index=[10, 11, 12, 13],
    )
    got = prepare_source("s", _source(d="date", n="number", l="list"), frame)
    assert got.columns.tolist() == ["a", "b", "d", "n", "l", POSITION, KEY]
    assert got.index.tolist() == [0, 1, 2, 3]
    assert str(got["a"].dtype) == "string" and str(got["b"].dtype) == "string"
    assert got["a"].tolist() == ["1", pd.NA, "3", "4"]
    assert got["b"].tolist() == ["x", "y", pd.NA, " z "]
    assert got["d"].dtype == np.dtype("datetime64[ns]")
    assert got["d"].tolist()[0] == pd.Timestamp("2025-07-04")
    assert got["d"].isna().tolist() == [False, True, True, False]
    assert got["d"].tolist()[3] == pd.Timestamp("2199-12-31")
    assert str(got["n"].dtype) == "Float64"
    assert got["n"].tolist() == [12.5, pd.NA, pd.NA, 3.0]
    assert got["l"].tolist() == [("a", "1"), (), (), ("b",)]
    assert got[POSITION].tolist() == [0, 1, 2, 3]
    assert got[KEY].tolist() == ["1|x", "|y", "3|", "4| z "]


# An integer column as the database may give it: integers (7, 8), or text with or without a
# '.0' ("3.0" is 3; "30" and "3.05" stay as they are).
INTEGER_CASES = [
    pytest.param(pd.Series([7, 8], dtype="int64"), ["7", "8"], id="integers"),
    pytest.param(pd.Series(["3.0", "30"]), ["3", "30"], id="text"),
    pytest.param(pd.Series(["3.05", None]), ["3.05", pd.NA], id="text not whole"),
    # An integer column with a NULL arrives as floats; a float of 10**17 as text is '1e+17'
    # (sources.x__integer_text__mutmut_1 sent floats through the text path).
    pytest.param(pd.Series([7.0, None, 1e17]), ["7", pd.NA, "100000000000000000"], id="floats"),
]


@pytest.mark.parametrize(("values", "expected"), INTEGER_CASES)
def test_an_integer_column_is_text_without_a_trailing_point_zero(values, expected):
    from cldetl.transform.sources import prepare_source

    frame = pd.DataFrame({"a": values, "b": ["k"] * len(values)})
    got = prepare_source("s", _source(), frame)
    assert got["a"].tolist() == expected
    assert str(got["a"].dtype) == "string"


# Dates as the database may give them: already dates (a placeholder 1 January 2200 among them),
# with a time zone (a time of 23:30 at UTC+1 is that day, 4 July, as the case system wrote it),
# or text with spaces before the year.
DATE_CASES = [
    pytest.param(
        pd.Series(pd.to_datetime(["2025-07-04 10:30", "2200-01-01 00:00", None])),
        ["2025-07-04", None, None],
        id="dates",
    ),
    pytest.param(
        pd.Series(pd.to_datetime(["2025-07-04T23:30:00+01:00", "2025-07-05T00:30:00+01:00"])),
        ["2025-07-04", "2025-07-05"],
        id="dates with a time zone",
    ),
    pytest.param(
        pd.Series(["2025-07-04T23:30:00+01:00", " 2200-03-01", "", "  "]),
        ["2025-07-04", None, None, None],
        id="text",
    ),
]


@pytest.mark.parametrize(("values", "expected"), DATE_CASES)
def test_a_date_column_is_read_as_days(values, expected):
    from cldetl.transform.sources import prepare_source

    frame = pd.DataFrame({"a": range(len(values)), "b": "k", "d": values})
    got = prepare_source("s", _source(d="date"), frame)["d"]
    assert got.dtype == np.dtype("datetime64[ns]")
    assert [None if pd.isna(d) else f"{d:%Y-%m-%d}" for d in got] == expected


# Values of a date column that are not dates stop the run, counted: "31/02/2025" and "soon"
# (2); a blank one (empty, spaces, missing) is no date, not a wrong one, and "9999-12-31" is
# the case system's "no end date".
NOT_DATES = ["2025-02-28", "31/02/2025", "", "  ", None, "9999-12-31", "soon"]


@pytest.mark.parametrize(
    "columns, said",
    [
        (
            {"a": [1], "x": ["k"]},
            "source 's' has no column(s) b, d; the mapping declares them. Check the extract "
            "template or file, or the mapping's sources.s.columns.",
        ),
        (
            {"a": range(7), "b": "k", "d": NOT_DATES},
            "source 's' column 'd': 2 value(s) are not dates. Check the column's type in the "
            "extract, or declare it as text.",
        ),
    ],
    ids=["a declared column missing", "values of a date column that are not dates"],
)
def test_a_source_the_mapping_does_not_fit_stops_the_run_saying_so(columns, said):
    from cldetl.errors import InputError
    from cldetl.transform.sources import prepare_source

    with pytest.raises(InputError) as err:
        prepare_source("s", _source(d="date"), pd.DataFrame(columns))
    assert str(err.value) == said


def test_a_source_that_was_not_extracted_stops_the_run_saying_so():
    from cldetl.errors import InputError
    from cldetl.transform.sources import prepare_sources

    frames = {name: pd.DataFrame(columns=list(s.columns)) for name, s in MAPPING.sources.items()}
    prepared = prepare_sources(MAPPING, frames)
    assert list(prepared) == list(MAPPING.sources)
    assert all(len(frame) == 0 for frame in prepared.values())
    frames["lines"] = frames["lines"].drop(columns=["units"])
    with pytest.raises(InputError, match=r"^source 'lines' has no column\(s\) units;"):
        prepare_sources(MAPPING, frames)
    del frames["lines"]
    with pytest.raises(InputError) as err:
        prepare_sources(MAPPING, frames)
    assert str(err.value) == "source 'lines' was not extracted; nothing to transform."


def _lines(*lines: dict) -> pd.DataFrame:
    """testshire's service lines as the transform holds them when it chains them (typed, each
    with its position and key, sources.prepare_source), each of person 1's residential
    service from P1 (CASSR managed) unless a line says otherwise; on an index of its own, as
    the lines a rule took are."""
    from cldetl.transform.sources import prepare_source

    base = {"person_id": 1, "service": "RES", "provider": "P1", "delivery": "PB", "freq": "W"}
    frame = pd.DataFrame([{**base, **line} for line in lines])
    frame = frame.reindex(columns=list(MAPPING.sources["lines"].columns))
    prepared = prepare_source("lines", MAPPING.sources["lines"], frame)
    return prepared.set_axis([100 + i for i in range(len(prepared))])


def _chained(lines: pd.DataFrame, **update) -> list[tuple]:
    """chain_service_lines with testshire's rule (changed by `update`): per event, its first
    line, start, end (None: open), cost, member positions and member keys."""
    from cldetl.transform.service_lines import MEMBERS, chain_service_lines

    rule = next(r for r in MAPPING.events if r.name == "service_lines").service_lines
    got = chain_service_lines(lines, rule.model_copy(update=update))

    def day(d):
        return None if pd.isna(d) else f"{d:%Y-%m-%d}"

    return [
        (r[KEY], day(r["start"]), day(r["end"]), r["cost"], list(np.atleast_1d(r[MEMBERS])))
        + (r[MEMBER_KEYS],)
        for _, r in got.iterrows()
    ]


# Service lines (docs/mapping.md "service_lines"; the guidance's "Clarification to guidance"):
# lines of one service that follow on within `max_gap_days` (default 1) are one service event,
# from the first line's start to the last line's end (open if one is open), with the latest
# line's cost and details and the first line's key; `keep_lines` keeps a row per line.
# Read in the order 61, 70, 60, 62 (positions 0 to 3): 60 (1 June 2023 to 6 April 2025,
# 800 a week), 61 from 7 April (the day after) to 30 June (845.5), 62 from 2 July (two days
# after) and open (900); 70, another service (home care, HC), 1 January to 31 March 2025.
# With a gap of 1 day: 60 and 61 are one event (first line 60, position 2; members 2 and 0),
# 62 another, 70 another; events in the order of their first line's position. With a gap of
# 2 days, 62 joins them, and the event is open. A suspended 61 counts as open (its end set
# aside), so 62 follows it whatever the gap. With 71, home care from 1 April (the day after
# 70) to 31 May (25), each service is one event of two lines.
LINES_61_70_60_62 = [
    {"line_id": 61, "start": "2025-04-07", "end": "2025-06-30", "cost": 845.5},
    {"line_id": 70, "service": "HC", "start": "2025-01-01", "end": "2025-03-31", "cost": 20},
    {"line_id": 60, "start": "2023-06-01", "end": "2025-04-06", "cost": 800},
    {"line_id": 62, "start": "2025-07-02", "end": None, "cost": 900},
]
CHAIN_CASES = [
    pytest.param(
        {},
        LINES_61_70_60_62,
        [
            ("70", "2025-01-01", "2025-03-31", 20, [1], "70"),
            ("60", "2023-06-01", "2025-06-30", 845.5, [2, 0], "60;61"),
            ("62", "2025-07-02", None, 900, [3], "62"),
        ],
        id="one day gap",
    ),
    pytest.param(
        {"max_gap_days": 2},
        LINES_61_70_60_62,
        [
            ("70", "2025-01-01", "2025-03-31", 20, [1], "70"),
            ("60", "2023-06-01", None, 900, [2, 0, 3], "60;61;62"),
        ],
        id="two days gap",
    ),
    pytest.param(
        {},
        [{**LINES_61_70_60_62[0], "status": "SUSPENDED"}, *LINES_61_70_60_62[1:]],
        [
            ("70", "2025-01-01", "2025-03-31", 20, [1], "70"),
            ("60", "2023-06-01", None, 900, [2, 0, 3], "60;61;62"),
        ],
        id="suspended",
    ),
    pytest.param(
        {},
        [
            *LINES_61_70_60_62[:3],
            {
                "line_id": 71,
                "service": "HC",
                "start": "2025-04-01",
                "end": "2025-05-31",
                "cost": 25,
            },
        ],
        [
            ("70", "2025-01-01", "2025-05-31", 25, [1, 3], "70;71"),
            ("60", "2023-06-01", "2025-06-30", 845.5, [2, 0], "60;61"),
        ],
        id="two services each of two lines",
    ),
    pytest.param(
        {"split_lines": "keep_lines"},
        LINES_61_70_60_62,
        [
            ("61", "2025-04-07", "2025-06-30", 845.5, [0], "61"),
            ("70", "2025-01-01", "2025-03-31", 20, [1], "70"),
            ("60", "2023-06-01", "2025-04-06", 800, [2], "60"),
            ("62", "2025-07-02", None, 900, [3], "62"),
        ],
        id="keep lines",
    ),
    pytest.param(
        {"split_lines": "keep_lines"},
        [{**LINES_61_70_60_62[0], "status": "SUSPENDED"}],
        [("61", "2025-04-07", None, 845.5, [0], "61")],
        id="keep lines suspended",
    ),
]


@pytest.mark.parametrize(("update", "lines", "expected"), CHAIN_CASES)
def test_service_lines_that_follow_on_are_one_service_event(update, lines, expected):
    assert _chained(_lines(*lines), **update) == expected


# `order_by` (docs/mapping.md): which of the lines that start the same day is the later. Lines
# 80 (position 0, 4 units) and 81 (position 1, 2 units) both start on 1 January 2025 and follow
# on: by position, 81 is the latest (its cost, 81's 30) and 80 the first (its key); ordered by
# units, 81 (2) comes first and 80 (4) is the latest.
ORDER_BY_CASES = [
    pytest.param({}, [("80", "2025-01-01", "2025-03-31", 30, [0, 1], "80;81")], id="position"),
    pytest.param(
        {"order_by": "units"},
        [("81", "2025-01-01", "2025-03-31", 40, [1, 0], "81;80")],
        id="order by units",
    ),
]


@pytest.mark.parametrize(("update", "expected"), ORDER_BY_CASES)
def test_lines_that_start_the_same_day_follow_order_by(update, expected):
    lines = _lines(
        {"line_id": 80, "start": "2025-01-01", "end": "2025-03-31", "cost": 40, "units": 4},
        {"line_id": 81, "start": "2025-01-01", "end": "2025-03-31", "cost": 30, "units": 2},
    )
    assert _chained(lines, **update) == expected


def test_chained_lines_keep_the_first_lines_reference_base_and_its_columns():
    """The event keeps the first line's `_reference_base` (docs/mapping.md: the reference is
    "computed on the first line, so it stays put when lines are added") and the latest line's
    other columns; positions are whole numbers; an empty set of lines is returned with its
    member columns (none)."""
    from cldetl.transform.service_lines import MEMBERS, chain_service_lines
    from cldetl.transform.sources import POSITION

    rule = next(r for r in MAPPING.events if r.name == "service_lines").service_lines
    lines = _lines(*LINES_61_70_60_62).assign(_reference_base=["R61", "R70", "R60", "R62"])
    got = chain_service_lines(lines, rule)
    assert got["_reference_base"].tolist() == ["R70", "R60", "R62"]
    assert got["line_id"].tolist() == ["70", "61", "62"]
    assert got[POSITION].dtype == np.int64
    assert got.index.tolist() == [0, 1, 2]
    empty = chain_service_lines(lines.iloc[:0], rule)
    assert len(empty) == 0
    assert {MEMBERS, MEMBER_KEYS} <= set(empty.columns)


def test_chained_lines_whose_keys_are_held_in_several_arrow_chunks():
    """Text joined from parts (a source read in batches) is held by pandas in several Arrow
    chunks; the members' keys are joined the same: lines 60 and 61, which follow on, are one
    event of keys "60;61" (read in that order, so the chunks are kept as they are)."""
    from cldetl.transform.service_lines import chain_service_lines

    lines = _lines(LINES_61_70_60_62[2], LINES_61_70_60_62[0])  # 60, then 61
    lines[KEY] = pd.concat([lines[KEY].iloc[:1], lines[KEY].iloc[1:]])
    assert lines[KEY].array._pa_array.num_chunks == 2
    rule = next(r for r in MAPPING.events if r.name == "service_lines").service_lines
    assert chain_service_lines(lines, rule)[MEMBER_KEYS].tolist() == ["60;61"]


# --- integrator: linked_people._linked_people's two not-pinned mutants (7 December 2026) ---
def test_linked_ids_made_of_x_are_linked_like_any_other():
    # A person ID is whatever text the case system gives; 'X' and 'XXXX' are IDs like any.
    # Two carer rows name one known adult each ('X;' with a trailing separator, 'XXXX'):
    # each fills Adult 1 Linked Person_ID. Stripping 'X' as well as ';' (`_19`), or taking
    # 'XXXX' for the empty text (`_20`), would leave that row naming no one.
    from cldetl.transform.columns import LINKED, LINKED_FIELDS
    from cldetl.transform.linked_people import _linked_people

    rows = pd.DataFrame({LINKED: ["X;", "XXXX"], PERSON: ["C1", "C2"]})
    left_out = _linked_people(rows, pd.Series(["X", "XXXX", "C1", "C2"]))
    assert rows[LINKED_FIELDS[0]].tolist() == ["X", "XXXX"]
    assert left_out.empty


# --- dev-K: service_lines.py survivors (mutmut run of 7 December 2026, evening) ---
# service_lines.py, the rest of sources.py and person_details.py run by mutmut
# (docs/mutation-transform.md, branch dev-K).


def test_chained_events_keep_no_column_of_the_chaining_itself():
    """chain_service_lines numbers the chains (`_chain`, the index of its events while it
    builds them) and drops that numbering: the events it returns carry the lines' own columns
    and the members (`_members`, `_member_keys`), but neither the chain numbers as a column
    `_chain` nor a former index as a column `index`, which no mapping declared. Lines 61, 70,
    60, 62 of the cases above are three events (60 and 61 chained)."""
    from cldetl.transform.service_lines import MEMBERS, chain_service_lines

    rule = next(r for r in MAPPING.events if r.name == "service_lines").service_lines
    lines = _lines(*LINES_61_70_60_62)
    got = chain_service_lines(lines, rule)
    assert len(got) == 3
    assert set(lines.columns) | {MEMBERS, MEMBER_KEYS} <= set(got.columns)
    assert not {"_chain", "index"} & set(got.columns)


# --- integrator: a carer row whose record's event row has no person (7 December 2026) ---
def _respite_of_an_unknown_person() -> dict[str, pd.DataFrame]:
    """testshire's sources: respite line 50 of person 1, not in the person source, whose
    carer, 2, is the only person there."""
    frames = _steps_only([])
    frames["people"] = pd.DataFrame(
        {"person_id": [2], "first_name": "A", "last_name": "B", "gender": "F"}
    ).reindex(columns=list(MAPPING.sources["people"].columns))
    line = {"line_id": 50, "person_id": 1, "service": "RESP", "provider": "P9", "carer_id": 2}
    line |= {"delivery": "COM", "start": "2025-03-01", "end": "2025-03-14"}
    frames["lines"] = pd.DataFrame([line]).reindex(columns=list(MAPPING.sources["lines"].columns))
    return frames


def test_a_carer_row_whose_cared_for_person_is_not_in_the_person_source_is_left_out():
    # run._carer_by_association_follows_its_record: an 'Unpaid carer known by association'
    # row is in the return only when an event row of its source record is. Respite line 50
    # is person 1's (not in the person source: only the carer, 2, is), so its service row is
    # left out for no person details, and its carer row follows it, with that reason. Found by
    # dev-J: the no-person rows went before the carer rows were matched to their records, so
    # the carer row stayed, an unpaid carer of no one in the return.
    frames = _respite_of_an_unknown_person()
    result = transform(MAPPING, frames, PERIOD)
    assert len(result.cld) == 0
    # The record left out whole is said once, at record level, by its event row's reason.
    got = result.exclusions[["level", "source_key", "person_id", "reason"]]
    assert got.to_dict("records") == [
        {"level": "record", "source_key": "50", "person_id": "1", "reason": NO_PERSON}
    ]


# --- dev-J: mapping_tests.py and run.py survivors (mutmut run of 7 December 2026, evening) ---

# A mapping's own tests (docs/mapping.md, "Tests in the mapping"; mapping_tests.py): only the
# fields a test names are compared; an expected row is matched once, most specific first;
# every row produced must be expected; `expect_excluded` matches `reason` as part of the
# reason's text (the doc's `reason: cancelled`) and every other key as the whole value.
CONVERSATION_1 = next(t for t in MAPPING.tests if t.name.startswith("conversation 1"))
OUT_OF_SCOPE = next(t for t in MAPPING.tests if t.name.startswith("out of scope"))
# testshire.yaml's expected rows of conversation 1 (a request, then an assessment).
REQUEST_ROW, ASSESSMENT_ROW = CONVERSATION_1.expect


def _mapping_test(case, **update):
    from cldetl.transform.mapping_tests import run_mapping_test

    return run_mapping_test(MAPPING, case.model_copy(update=update))


def test_an_expected_row_naming_more_fields_is_matched_first():
    # Both rows of conversation 1 are TS3155; the request is the first row of the return.
    # Matched in the order written, {reference} would take the request and leave
    # {reference, Request} nothing; most specific first, each finds its own row.
    expect = [{"Event Reference": "TS3155"}, {"Event Reference": "TS3155", "Event Type": "Request"}]
    assert _mapping_test(CONVERSATION_1, expect=expect).problems == []


def test_a_row_produced_but_not_expected_is_shown_by_the_fields_the_test_names():
    # Only the request expected: the assessment is shown by the seven fields of that
    # expectation, valued as testshire.yaml expects them.
    result = _mapping_test(CONVERSATION_1, expect=[REQUEST_ROW])
    assert result.problems == [f"produced but not expected: {ASSESSMENT_ROW}"]
    assert list(ASSESSMENT_ROW) == list(REQUEST_ROW)


def test_a_row_produced_when_none_is_expected_is_shown_by_its_event_fields():
    # No `expect`: each row is shown by the CLD's event fields, 24th to 29th of the
    # specification (Event Type to Event Outcome); testshire maps no Event Description.
    result = _mapping_test(CONVERSATION_1, expect=[])
    event = ["Event Type", "Event Reference", "Event Start Date", "Event End Date"]
    shown = [
        {**{f: REQUEST_ROW[f] for f in event}, "Event Description": "", "Event Outcome": o}
        for o in [REQUEST_ROW["Event Outcome"], ASSESSMENT_ROW["Event Outcome"]]
    ]
    shown[1].update({f: ASSESSMENT_ROW[f] for f in event})
    assert result.problems == [f"produced but not expected: {row}" for row in shown]


# Step 110 is excluded as "safeguarding", 111 "cancelled: the process was not completed".
@pytest.mark.parametrize(
    ("wanted", "said"),
    [
        pytest.param({"source": "steps", "source_key": "110", "reason": "safe"}, [], id="found"),
        # A reason is part of the text, read as it is: '.' is a full stop, not any character.
        pytest.param(
            {"source": "steps", "source_key": "111", "reason": "cancelled. the process"},
            ["none found"],
            id="reason as plain text",
        ),
        # Any other key is the whole value: no record's key is "11".
        pytest.param(
            {"source": "steps", "source_key": "11", "reason": "safeguarding"},
            ["none found"],
            id="key as the whole value",
        ),
        # Each unknown key is said, and the exclusion is not found whatever the others match.
        pytest.param(
            {"source": "steps", "sourcekey": "110", "why": "safeguarding"},
            [
                f"expect_excluded: unknown key 'sourcekey' (use {EXCLUSION_COLUMNS})",
                f"expect_excluded: unknown key 'why' (use {EXCLUSION_COLUMNS})",
                "none found",
            ],
            id="unknown keys",
        ),
    ],
)
def test_an_expected_exclusion_is_matched_key_by_key(wanted, said):
    from cldetl.transform.mapping_tests import MappingTestResult

    result = _mapping_test(OUT_OF_SCOPE, expect_excluded=[wanted])
    none_found = f"expected an exclusion matching {wanted}; none found"
    problems = [none_found if p == "none found" else p for p in said]
    assert result == MappingTestResult(OUT_OF_SCOPE.name, not said, problems)


def test_a_mapping_test_whose_transform_fails_says_why():
    from cldetl.transform.mapping_tests import MappingTestResult

    steps = [{**CONVERSATION_1.given["steps"][0], "started": "soon"}]
    result = _mapping_test(CONVERSATION_1, given={**CONVERSATION_1.given, "steps": steps})
    said = (
        "the transform failed: source 'steps' column 'started': 1 value(s) are not dates. "
        "Check the column's type in the extract, or declare it as text."
    )
    assert result == MappingTestResult(CONVERSATION_1.name, False, [said])


def test_a_mapping_tests_period_end_follows_the_mappings_cadence():
    from cldetl.errors import UsageError
    from cldetl.transform.mapping_tests import run_mapping_test

    # 31 October ends a month, not a quarter: refused for testshire (quarterly), a period
    # (November 2024 to October 2025, conversation 1's July events in it) for a monthly one.
    october = CONVERSATION_1.model_copy(update={"period_end": date(2025, 10, 31)})
    with pytest.raises(UsageError, match="is not a quarter end"):
        run_mapping_test(MAPPING, october)
    metadata = MAPPING.metadata.model_copy(update={"cadence": "monthly"})
    monthly = MAPPING.model_copy(update={"metadata": metadata})
    assert run_mapping_test(monthly, october).problems == []


def test_a_mappings_tests_are_each_run_in_order():
    from cldetl.transform.mapping_tests import run_mapping_tests

    # Two of testshire's tests, each passing as written in testshire.yaml.
    two = MAPPING.model_copy(update={"tests": [CONVERSATION_1, OUT_OF_SCOPE]})
    results = run_mapping_tests(two)
    assert [(r.name, r.passed, r.problems) for r in results] == [
        (CONVERSATION_1.name, True, []),
        (OUT_OF_SCOPE.name, True, []),
    ]


def test_the_transform_writes_the_fields_of_the_spec_it_is_given():
    import dataclasses

    # transform(): "spec: the Release 2 specification (loaded when not given)". Given one
    # without Event Description, the return has the 47 other fields, not the loaded 48.
    spec = dataclasses.replace(
        SPEC, fields=tuple(f for f in SPEC.fields if f.name != "Event Description")
    )
    step = {"step_id": 7, "person_id": 1, "step_type": 1003, "started": "2025-05-01",
            "completed": "2025-05-20", "status": "COMPLETED", "outcome1": "SVC"}  # fmt: skip
    cld = transform(MAPPING, _steps_only([step]), PERIOD, spec=spec).cld
    assert list(cld.columns) == [f.name for f in spec.fields]
    assert len(cld) == 1 and len(SPEC.fields) == 48


# run.py, _carer_by_association_follows_its_record: "An 'Unpaid carer known by association'
# row is in the return only when an event row of the same source record is; and one such row
# per carer and cared-for people is enough." Left-out rows carry their reason, kept rows "".
def test_a_carer_by_association_row_follows_its_records_event_rows_once_per_carer():
    from cldetl.transform.columns import DUPLICATE_CARER, KIND, LINKED, ORPHAN_CARER
    from cldetl.transform.run import _carer_by_association_follows_its_record

    ended, carer, user = (
        "ended before the reporting period",
        "Unpaid carer known by association",
        "Service user",
    )
    table = [  # kind, record (source line), person, client type, linked, reason in, out
        ("event", "50", "1", user, "", "", ""),
        ("carer_by_association", "50", "2", carer, "1", "", ""),
        ("event", "51", "1", user, "", "", ""),
        # the same carer of the same person again (line 51 is kept): a duplicate
        ("carer_by_association", "51", "2", carer, "1", "", DUPLICATE_CARER),
        # line 52's two event rows are left out: its carer row goes, for the first one's reason
        ("event", "52", "1", user, "", ended, ended),
        ("event", "52", "1", user, "", "not completed", "not completed"),
        ("carer_by_association", "52", "3", carer, "1", "", ORPHAN_CARER + ended),
        # carer 3 of person 1 again, on a kept line: 52's row, left out, is not its first
        ("event", "53", "1", user, "", "", ""),
        ("carer_by_association", "53", "3", carer, "1", "", ""),
        # carer 2 of another person: not a duplicate
        ("event", "54", "4", user, "", "", ""),
        ("carer_by_association", "54", "2", carer, "4", "", ""),
    ]
    kind, record, person, client, linked, reason_in, reason_out = zip(*table, strict=True)
    index = [100 + 3 * i for i in range(len(table))]  # not 0, 1, ...: kept by label
    rows = pd.DataFrame(
        {KIND: kind, SOURCE: "lines", MEMBER_KEYS: record, PERSON: person}
        | {"Client Type": client, LINKED: linked},
        index=index,
    )
    reasons = pd.Series(reason_in, index=index, dtype="string")
    got = _carer_by_association_follows_its_record(rows, reasons, pd.Series([], dtype=str))
    assert got.index.tolist() == index
    assert got.tolist() == list(reason_out)
    assert reasons.tolist() == list(reason_in)  # the reasons given are left as they were


def test_a_cost_that_is_not_a_number_is_listed_by_the_transform():
    from cldetl.transform.output import NOT_A_NUMBER

    # A cost read as text (not declared `number`): "24.50p" is no number, so Unit Cost is
    # written blank and unmapped_codes.csv lists it once (docs/outputs.md).
    mapping = MAPPING.model_copy(deep=True)
    mapping.sources["lines"].columns["cost"] = "text"
    frames = _steps_only([])
    frames["lines"] = pd.DataFrame(
        [
            {"line_id": 70, "person_id": 1, "service": "HC", "provider": "P1", "delivery": "PB"}
            | {"start": "2025-01-01", "cost": "24.50p", "freq": "H", "units": 5}
        ]
    ).reindex(columns=list(MAPPING.sources["lines"].columns))
    result = transform(mapping, frames, PERIOD)
    assert result.cld["Unit Cost"].tolist() == [""]
    got = result.unmapped[["lookup", "field", "source", "column", "code", "rows", "used_instead"]]
    assert got.values.tolist() == [
        [NOT_A_NUMBER, "Unit Cost", "lines", "Unit Cost", "24.50p", 1, ""]
    ]


def test_a_carer_row_of_a_record_with_no_event_row_stays_when_another_carer_is_unknown():
    # A rule may give a record carer rows and no event row (its event row's `when` not met):
    # such carer rows stay (only a record whose event rows all left the return takes its
    # carer rows with it). Line 50 gives no service row here, and two carer rows: carer 2
    # (in the person source) and, as a second carer, person 1 (not in it: dropped for no
    # person details). Carer 2's row stays. Taking person 1's carer row for an event row of
    # the record (run._transform's `no_person` of every left-out row, or of rows of no kind)
    # would take carer 2's row out with it.
    from cldetl.mapping.model import Filter

    def rows(rule):
        service, carer = rule.rows
        never = service.model_copy(update={"when": Filter(column="status", in_=["NEVER"])})
        return [never, carer, carer.model_copy(update={"person": "person_id"})]

    events = [
        r.model_copy(update={"rows": rows(r)}) if r.name == "service_lines" else r
        for r in MAPPING.events
    ]
    mapping = MAPPING.model_copy(update={"events": events})
    frames = _respite_of_an_unknown_person()
    result = transform(mapping, frames, PERIOD)
    assert result.cld[["LA Person Unique Identifier", "Client Type"]].values.tolist() == [
        ["2", "Unpaid carer known by association"]
    ]
