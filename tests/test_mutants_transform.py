"""Cases for the transform's modules that mutation testing found unpinned (issue 19 point 10,
docs/mutation-transform.md). Each expected value is written from the rule's source (the
mapping documentation in docs/mapping.md, the CLD guidance, or the function's docstring), never
from the code's output. Every value is invented. Ids are plain words: mutmut passes them back to
pytest.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cldetl.mapping.model import Filter, Value
from cldetl.spec import load_spec
from cldetl.transform.filters import matches, member_of
from cldetl.transform.values import UnmappedCodes, ValueContext, apply_lookup, evaluate_value
from tests.testshire import MAPPING

SPEC = load_spec()

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
