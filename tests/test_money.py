"""Costs as the return writes them (issue 19): 0.00 text from the sign and the exact decimal,
rounded to the penny half away from zero; text read by one stated rule (MONEY_TEXT) and
anything else left blank AND listed in unmapped_codes.csv, never blanked unseen."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from cldetl.spec.period import ReportingPeriod
from cldetl.transform import transform
from cldetl.transform.output import NOT_A_NUMBER, money_text
from tests.test_reconciliation import _frames, _line, _person
from tests.testshire import MAPPING

# (value as the source gives it, text written, reported as not a number)
CASES = [
    # negative amounts: floor division and modulo once wrote -10.50 as -11.50
    ("-10.50", "-10.50", False),
    ("-0.25", "-0.25", False),
    ("-0.01", "-0.01", False),
    ("-1234.5", "-1234.50", False),
    (-10.5, "-10.50", False),
    (-0.25, "-0.25", False),
    # zero, written as zero however signed
    ("0", "0.00", False),
    ("-0", "0.00", False),
    (0.0, "0.00", False),
    ("-0.004", "0.00", False),
    # half pennies: half away from zero, from the decimal written (10.005 is 10.00499... as
    # a float, 10.01 as written)
    ("10.005", "10.01", False),
    ("-10.005", "-10.01", False),
    ("0.125", "0.13", False),
    ("2.675", "2.68", False),
    (10.005, "10.01", False),
    ("0.0049999999999", "0.00", False),
    ("24.5", "24.50", False),
    (".5", "0.50", False),
    (7, "7.00", False),
    # text by the stated rule: a pound sign, commas between groups of three, spaces around
    ("£24.50", "24.50", False),
    ("1,200.00", "1200.00", False),
    ("£1,234,567.891", "1234567.89", False),
    ("-£10.50", "-10.50", False),
    ("£-10.50", "-10.50", False),
    ("  7 ", "7.00", False),
    # anything else is not guessed at
    ("24.50p", "", True),
    ("1.200,00", "", True),
    ("1,20", "", True),
    ("12,00.00", "", True),
    ("n/a", "", True),
    ("--5", "", True),
    ("£", "", True),
    ("9" * 40, "", True),
    (float("inf"), "", True),
    # blank is blank, not a problem
    ("", "", False),
    (None, "", False),
]


def _id(value) -> str:
    """A test id of plain characters (mutmut passes ids on a command line)."""
    return re.sub(r"[^A-Za-z0-9.,=+@-]", "_", repr(value))


@pytest.mark.parametrize(("given", "written", "bad"), CASES, ids=[_id(c[0]) for c in CASES])
def test_a_cost_is_written_from_its_sign_and_exact_value(given, written, bad):
    values = pd.Series([given, "1.00"], dtype=object)
    text, problems = money_text(values)
    assert text.tolist() == [written, "1.00"]
    assert problems.tolist() == [bad, False]


def test_a_float_column_with_missing_values():
    values = pd.Series([-10.5, None, 0.125], dtype="Float64")
    text, problems = money_text(values)
    assert text.tolist() == ["-10.50", "", "0.13"]
    assert not problems.any()


def test_a_cost_that_is_not_a_number_is_listed_in_unmapped_codes():
    """A text cost column (the mapping declares `cost: text`): "£24.50" is read by the rule,
    "24.50p" is left blank and listed, with its source and the rows it is on."""
    mapping = MAPPING.model_copy(deep=True)
    mapping.sources["lines"].columns["cost"] = "text"
    lines = [
        {**_line(20, 1, "HC", "2025-01-01"), "cost": "£1,024.50"},
        {**_line(21, 2, "HC", "2025-01-01"), "cost": "24.50p"},
        {**_line(22, 2, "RES", "2025-02-01"), "cost": "-10.50"},
    ]
    frames = _frames(people=[_person(1), _person(2)], lines=lines)
    result = transform(mapping, frames, ReportingPeriod.ending(date(2025, 9, 30)))
    costs = sorted(result.cld["Unit Cost"].tolist())
    assert costs == ["", "-10.50", "1024.50"]
    listed = result.unmapped[result.unmapped["lookup"] == NOT_A_NUMBER]
    assert listed[["field", "source", "code", "rows"]].values.tolist() == [
        ["Unit Cost", "lines", "24.50p", 1]
    ]


def test_the_result_keeps_the_rows_index_and_is_text():
    """format_cld assigns by index: the text and the mask keep the rows' own index."""
    values = pd.Series(["-1.5", "x", None], index=[10, 20, 30], dtype=object)
    text, problems = money_text(values)
    assert text.index.tolist() == problems.index.tolist() == [10, 20, 30]
    assert text.dtype == "string" and problems.dtype == bool
    assert text.tolist() == ["-1.50", "", ""] and problems.tolist() == [False, True, False]
