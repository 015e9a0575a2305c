"""--period-end as analysts write it (issue 20, point 6): `parse_period_end` is the one parser
of a period end (the CLI's option and the flows' parameter), dd/mm/yyyy and yyyy-mm-dd both
read, an impossible date says which part is wrong, and a period end after today is refused
unless --allow-future."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cldetl.cli import cli
from cldetl.errors import UsageError
from cldetl.spec.period import parse_period_end, refuse_future
from tests.testshire import MAPPING_PATH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30/09/2025", date(2025, 9, 30)),
        ("2025-09-30", date(2025, 9, 30)),
        ("31/3/2025", date(2025, 3, 31)),
        ("2024-2-29", date(2024, 2, 29)),
        (" 31/12/2024 ", date(2024, 12, 31)),
        (date(2025, 6, 30), date(2025, 6, 30)),  # a flow parameter already read as a date
    ],
)
def test_both_forms_are_read(text, expected):
    assert parse_period_end(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-09-31", "period end '2025-09-31': the day is 31, but September 2025 has 30 "
         "days; use 30/09/2025."),
        ("31/09/2025", "period end '31/09/2025': the day is 31, but September 2025 has 30 "
         "days; use 30/09/2025."),
        ("29/02/2025", "period end '29/02/2025': the day is 29, but February 2025 has 28 "
         "days; use 28/02/2025."),
        ("00/09/2025", "period end '00/09/2025': the day is 0, but September 2025 has 30 "
         "days; use 30/09/2025."),
        ("09/30/2025", "period end '09/30/2025': the month is 30, not 1 to 12; give it as "
         "dd/mm/yyyy (30/09/2025) or yyyy-mm-dd (2025-09-30)."),
        ("2025-13-31", "period end '2025-13-31': the month is 13, not 1 to 12; give it as "
         "dd/mm/yyyy (30/09/2025) or yyyy-mm-dd (2025-09-30)."),
        ("0000-12-31", "period end '0000-12-31': the year is 0; give it as dd/mm/yyyy "
         "(30/09/2025) or yyyy-mm-dd (2025-09-30)."),
        ("30/09/25", "period end '30/09/25' is not a date: give it as dd/mm/yyyy (30/09/2025) "
         "or yyyy-mm-dd (2025-09-30)."),
        ("30.09.2025", "period end '30.09.2025' is not a date: give it as dd/mm/yyyy "
         "(30/09/2025) or yyyy-mm-dd (2025-09-30)."),
        ("[red]x", "period end '\\[red]x' is not a date: give it as dd/mm/yyyy (30/09/2025) "
         "or yyyy-mm-dd (2025-09-30)."),
    ],
)  # fmt: skip
def test_a_date_that_cannot_be_says_which_part_is_wrong(text, message):
    with pytest.raises(UsageError) as raised:
        parse_period_end(text)
    assert str(raised.value) == message


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)))
def test_any_real_date_reads_back_in_either_form(day):
    assert parse_period_end(f"{day:%d/%m/%Y}") == day
    assert parse_period_end(day.isoformat()) == day


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_text_is_a_date_or_one_usage_error(text):
    try:
        parse_period_end(text)
    except UsageError as exc:
        assert "\n" not in str(exc)


def test_a_period_after_today_is_refused_saying_how_to_allow_it():
    refuse_future(date(2026, 12, 5), today=date(2026, 12, 5))  # today itself is fine
    with pytest.raises(UsageError, match=r"31/03/2027 is after today \(05/12/2026\).*--allow-fu"):
        refuse_future(date(2027, 3, 31), today=date(2026, 12, 5))


def _next_quarter_end() -> date:
    day = date.today()
    while True:
        day += timedelta(days=1)
        if (day + timedelta(days=1)).day == 1 and day.month in (3, 6, 9, 12):
            return day


@pytest.mark.parametrize("form", ["%d/%m/%Y", "%Y-%m-%d"])
def test_the_cli_refuses_a_future_period_end_unless_allowed(form):
    future = f"{_next_quarter_end():{form}}"
    args = ["sql", "--mapping", str(MAPPING_PATH), "--period-end", future]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2
    assert "is after today" in refused.output and "--allow-future" in refused.output
    allowed = CliRunner().invoke(cli, [*args, "--allow-future"])
    assert allowed.exit_code == 0, allowed.output
    assert "-- source:" in allowed.output


def test_the_cli_reads_the_cld_date_form():
    result = CliRunner().invoke(
        cli, ["run", "--mapping", str(MAPPING_PATH), "--dry-run", "--period-end", "30/09/2025"]
    )
    assert result.exit_code == 0, result.output
    assert "01/10/2024 to 30/09/2025" in result.output
