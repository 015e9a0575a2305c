"""The column parsers: example tables for each message, and properties checked with hypothesis.

Columns are built as the reader builds them: pandas Series of dtype "string[pyarrow]".
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cldetl.spec import load_spec, parsers

# Each example is a column of up to 20 values: one parser call checks many values, which keeps
# the property tests fast while still covering a few thousand values each.
FAST = settings(max_examples=100, deadline=None)
COLUMN = {"min_size": 1, "max_size": 20}


def column(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype="string[pyarrow]")


def one(problems: pd.Series):
    value = problems.iloc[0]
    return None if value is None or pd.isna(value) else value


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("29/02/2024", dt.date(2024, 2, 29)),
        ("01/10/2024", dt.date(2024, 10, 1)),
        ("31/12/1930", dt.date(1930, 12, 31)),
    ],
)
def test_parse_dates_reads_dd_mm_yyyy(text, expected):
    dates, problems = parsers.parse_dates(column(text))
    assert dates.iloc[0].date() == expected
    assert one(problems) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("29/02/2023", "is not a real calendar date"),
        ("31/04/2025", "is not a real calendar date"),
        ("00/01/2025", "is not a real calendar date"),
        ("01/13/2025", "is not a real calendar date"),
        ("01/10/2024 00:00", "has a time stamp: give the date only, as dd/mm/yyyy"),
        ("01/10/2024T09:30", "has a time stamp: give the date only, as dd/mm/yyyy"),
        ("2024-10-01", "is in yyyy-mm-dd order: CLD dates are dd/mm/yyyy"),
        ("1/10/2024", "needs two-digit day and month and no spaces, as dd/mm/yyyy"),
        (" 01/10/2024", "needs two-digit day and month and no spaces, as dd/mm/yyyy"),
        ("01/10/24", "needs a four-digit year, as dd/mm/yyyy"),
        ("01.10.2024", "uses '.' or '-' between day, month and year: use '/', as dd/mm/yyyy"),
        ("01-10-2024", "uses '.' or '-' between day, month and year: use '/', as dd/mm/yyyy"),
        ("1st October 2024", "is not a date in dd/mm/yyyy"),
    ],
)
def test_parse_dates_says_what_is_wrong(text, message):
    dates, problems = parsers.parse_dates(column(text))
    assert pd.isna(dates.iloc[0])
    assert one(problems) == message


@pytest.mark.parametrize("text", ["", "   "])
def test_parse_dates_blank_is_neither_date_nor_problem(text):
    dates, problems = parsers.parse_dates(column(text))
    assert pd.isna(dates.iloc[0])
    assert one(problems) is None


def _date_text():
    """Strings near the dd/mm/yyyy shape as well as arbitrary text."""
    digits = st.integers(0, 99).map(lambda n: f"{n:02d}")
    years = st.integers(0, 9999).map(lambda n: f"{n:04d}")
    shaped = st.builds(lambda d, m, y: f"{d}/{m}/{y}", digits, digits, years)
    real = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(
        lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
    )
    return st.one_of(real, shaped, st.text(max_size=14), st.from_regex(r"[0-9/ .:T-]{0,16}"))


@FAST
@given(st.lists(_date_text(), **COLUMN))
def test_parse_dates_either_a_real_date_or_a_message(texts):
    dates, problems = parsers.parse_dates(column(*texts))
    assert len(dates) == len(problems) == len(texts)
    for text, date, problem in zip(texts, dates, problems, strict=True):
        problem = None if problem is None or pd.isna(problem) else problem
        if pd.isna(date):
            if text.strip() != "":
                assert isinstance(problem, str) and problem, text
        else:
            assert problem is None, text
            # strftime's %Y does not zero-pad years before 1000 on every platform.
            assert f"{date.day:02d}/{date.month:02d}/{date.year:04d}" == text


# --- NHS numbers -------------------------------------------------------------------------------


def check_digit(first_nine: str) -> int:
    """The NHS number modulus 11 check digit (10 means no valid number has these digits)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return 0 if check == 11 else check


valid_nhs_numbers = (
    st.text("0123456789", min_size=9, max_size=9)
    .filter(lambda nine: check_digit(nine) != 10)
    .map(lambda nine: nine + str(check_digit(nine)))
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9434765919", None),
        ("", None),
        ("9434765918", "fails the NHS number check digit (modulus 11)"),
        ("943 476 5919", "has spaces or dashes: give the 10 digits only"),
        ("943-476-5919", "has spaces or dashes: give the 10 digits only"),
        ("943476591", "is not 10 digits long"),
        ("94347659190", "is not 10 digits long"),
        ("9434765919.0", "is not a 10-digit number"),
        ("unknown", "is not a 10-digit number"),
    ],
)
def test_nhs_number_messages(text, message):
    assert one(parsers.nhs_number_problems(column(text))) == message


@FAST
@given(st.lists(valid_nhs_numbers, **COLUMN))
def test_valid_nhs_numbers_pass(numbers):
    problems = parsers.nhs_number_problems(column(*numbers))
    assert problems.isna().all()


def one_digit_changed(number: str, position: int, shift: int) -> str:
    wrong = str((int(number[position]) + shift) % 10)
    return number[:position] + wrong + number[position + 1 :]


@FAST
@given(
    st.lists(
        st.builds(one_digit_changed, valid_nhs_numbers, st.integers(0, 9), st.integers(1, 9)),
        **COLUMN,
    )
)
def test_changing_one_digit_fails_the_check(numbers):
    problems = parsers.nhs_number_problems(column(*numbers))
    assert problems.tolist() == ["fails the NHS number check digit (modulus 11)"] * len(numbers)


# --- postcodes ---------------------------------------------------------------------------------

letters = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
digit = st.sampled_from("0123456789")
outward_codes = st.builds(
    lambda area, district, extra: area + district + extra,
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=2),
    digit,
    st.one_of(st.just(""), letters, digit),
)
full_postcodes = st.builds(
    lambda outward, d, unit: f"{outward} {d}{unit}",
    outward_codes,
    digit,
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("LN1 1YL", None),
        ("SW1A 1AA", None),
        ("LN1", None),
        ("ZZ99 3VZ", None),
        ("ZZ99 3CZ", None),
        ("Unknown", None),
        ("unknown", "must be written 'Unknown' (capital U, no spaces)"),
        ("UNKNOWN", "must be written 'Unknown' (capital U, no spaces)"),
        ("ln1 1yl", "must be in capital letters with no leading or trailing spaces"),
        (" LN1 1YL", "must be in capital letters with no leading or trailing spaces"),
        ("LN11YL", "needs one space between the outward and inward code (e.g. 'LN1 1YL')"),
        ("LN1  1YL", "needs one space between the outward and inward code (e.g. 'LN1 1YL')"),
        (
            "Lincoln",
            "is not a full postcode, an outward code, 'ZZ99 3VZ', 'ZZ99 3CZ' or 'Unknown'",
        ),
    ],
)
def test_postcode_messages(text, message):
    assert one(parsers.postcode_problems(column(text))) == message


@FAST
@given(st.lists(st.one_of(full_postcodes, outward_codes), **COLUMN))
def test_valid_postcodes_and_outward_codes_pass(codes):
    assert parsers.postcode_problems(column(*codes)).isna().all()


@FAST
@given(st.lists(st.one_of(full_postcodes, outward_codes), **COLUMN))
def test_lower_case_postcodes_are_told_to_use_capitals(codes):
    problems = parsers.postcode_problems(column(*(c.lower() for c in codes)))
    assert problems.tolist() == [
        "must be in capital letters with no leading or trailing spaces"
    ] * len(codes)


@FAST
@given(st.lists(full_postcodes, **COLUMN))
def test_postcodes_without_their_space_are_told_to_add_it(codes):
    problems = parsers.postcode_problems(column(*(c.replace(" ", "") for c in codes)))
    assert problems.tolist() == [
        "needs one space between the outward and inward code (e.g. 'LN1 1YL')"
    ] * len(codes)


# --- integer, numeric and identifier patterns --------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("integer", "503", None),
        ("integer", "503.0", "has a decimal part: give a whole number"),
        ("integer", " 503", "has spaces or line breaks around the number"),
        ("integer", "-1", "is not a whole number"),
        ("integer", "five", "is not a whole number"),
        ("numeric", "24", None),
        ("numeric", "24.5", None),
        ("numeric", "24.50", None),
        ("numeric", "24.505", "has more than two decimal places"),
        ("numeric", "£24.50", "has a currency sign or thousands separator"),
        ("numeric", "1,024.50", "has a currency sign or thousands separator"),
        ("numeric", "-24.50", "is negative"),
        ("numeric", ".50", "is not a number in the form 0.00"),
        ("alphanumeric", "P000123", None),
        ("alphanumeric", "1-123456789", None),
        ("alphanumeric", "P 000123", "contains spaces"),
        ("alphanumeric", "P#000123", "contains characters other than letters, digits and - _ . /"),
    ],
)
def test_pattern_messages(kind, text, message):
    pattern = load_spec().pattern(kind)
    assert one(parsers.pattern_problems(column(text), pattern, kind)) == message


pattern_text = st.one_of(
    st.text(max_size=8),
    st.from_regex(r"[0-9.,£$ \n-]{0,8}", fullmatch=True),
    st.from_regex(r"[0-9]{1,5}(\.[0-9]{0,4})?", fullmatch=True),
)


@FAST
@given(st.sampled_from(["integer", "numeric"]), st.lists(pattern_text, **COLUMN))
def test_pattern_problems_agree_with_fullmatch(kind, texts):
    pattern = load_spec().pattern(kind)
    problems = parsers.pattern_problems(column(*texts), pattern, kind)
    for text, problem in zip(texts, problems, strict=True):
        problem = None if problem is None or pd.isna(problem) else problem
        fine = text.strip() == "" or re.fullmatch(pattern, text) is not None
        assert (problem is None) == fine, (kind, text, problem)


# --- text and ages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Home support: Domestic", None),
        ("Café, £12 & 50% – fine", None),
        ("line one\nline two", "contains a line break or control character"),
        ("carriage\rreturn", "contains a line break or control character"),
        ("tab\there", None),
        ("bell\x07", "contains a line break or control character"),
    ],
)
def test_text_problems(text, message):
    assert one(parsers.text_problems(column(text))) == message


@pytest.mark.parametrize(
    ("born", "at", "age"),
    [
        ("14/03/1950", "13/03/2025", 74),
        ("14/03/1950", "14/03/2025", 75),
        ("29/02/2008", "28/02/2026", 17),
        ("29/02/2008", "01/03/2026", 18),
    ],
)
def test_whole_years(born, at, age):
    born_dates, _ = parsers.parse_dates(column(born))
    at_dates, _ = parsers.parse_dates(column(at))
    assert parsers.whole_years(born_dates, at_dates).iloc[0] == age


def test_whole_years_is_missing_without_both_dates():
    born, _ = parsers.parse_dates(column("", "14/03/1950"))
    at, _ = parsers.parse_dates(column("01/01/2025", ""))
    assert parsers.whole_years(born, at).isna().all()


@FAST
@given(st.lists(st.text(" \t\r\nab\u00a0\u2003", max_size=4), **COLUMN))
def test_blank_is_only_whitespace(texts):
    assert parsers.blank(column(*texts)).tolist() == [t.strip() == "" for t in texts]
