"""`test_mapping` (cldetl/transform/mapping_tests.py): a mapping test fails when the transform
produces a row it does not expect, including a test that lists only exclusions."""

from __future__ import annotations

from cldetl.transform.mapping_tests import run_mapping_test
from tests.testshire import MAPPING

EXCLUSIONS_ONLY = next(t for t in MAPPING.tests if t.expect_excluded and not t.expect)
A_ROW = {"step_id": 114, "person_id": 2, "step_type": 1003, "started": "2025-05-01",
         "completed": "2025-05-02", "status": "COMPLETED", "outcome1": "SVC"}  # fmt: skip


BEN = {"person_id": 2, "first_name": "Ben", "last_name": "Sample", "dob": "1955-02-02"}


def _with_steps(test, *steps):
    """`test` with more step records, for a second person (so person 1's expected exclusion
    as 'details not needed' still holds)."""
    people = [*test.given["people"], BEN]
    given = {**test.given, "people": people, "steps": [*test.given["steps"], *steps]}
    return test.model_copy(update={"given": given})


def test_the_exclusions_only_test_passes_as_written():
    result = run_mapping_test(MAPPING, EXCLUSIONS_ONLY)
    assert result.passed, result.problems


def test_an_unexpected_row_fails_a_test_that_lists_only_exclusions():
    result = run_mapping_test(MAPPING, _with_steps(EXCLUSIONS_ONLY, A_ROW))
    assert not result.passed
    assert len(result.problems) == 1
    assert result.problems[0].startswith("produced but not expected: ")


def test_an_empty_expect_without_exclusions_means_no_rows():
    test = EXCLUSIONS_ONLY.model_copy(update={"expect_excluded": []})
    assert run_mapping_test(MAPPING, test).passed
    result = run_mapping_test(MAPPING, _with_steps(test, A_ROW))
    assert [p.split(":")[0] for p in result.problems] == ["produced but not expected"]


def test_an_expected_exclusion_that_does_not_happen_fails():
    missing = {"source": "steps", "source_key": "999", "reason": "cancelled"}
    test = EXCLUSIONS_ONLY.model_copy(
        update={"expect_excluded": [*EXCLUSIONS_ONLY.expect_excluded, missing]}
    )
    result = run_mapping_test(MAPPING, test)
    assert result.problems == [f"expected an exclusion matching {missing}; none found"]


def test_an_expected_row_must_be_produced_once_per_expectation():
    row = {"Event Type": "Assessment", "Event Reference": "TS7"}
    case = next(t for t in MAPPING.tests if t.name.startswith("conversation 3"))
    twice = case.model_copy(update={"expect": [row, row]})
    result = run_mapping_test(MAPPING, twice)
    assert result.problems == [f"expected but not produced: {row}"]
