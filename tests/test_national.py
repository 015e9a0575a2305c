"""The national-processing preview (cldetl/national.py), on files whose answers are worked out
by hand from DHSC's public method:

- an example-like year: 12 requests, 12 assessments and 12 services ending in each month of the
  stated period, so every month is complete (>= 10 events, >= 20% of the median) and the
  derived period is the stated one;
- the same year without its last two months: the latest complete month is July 2025, so the
  derived period ends 31/07/2025 and starts with the first complete month, 01/10/2024.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.national import PREVIEW_RULES, national_method, preview
from cldetl.spec import load_spec
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import ASSESSMENT, NOT_A_SERVICE, REQUEST, row, write_rows

# The 12 months of the stated period, as (year, month) with a mid-month end date.
MONTHS = [(2024, m) for m in (10, 11, 12)] + [(2025, m) for m in range(1, 10)]
PER_MONTH = 12


def _year(months=MONTHS) -> list[dict[str, str]]:
    rows = []
    n = 0
    for year, month in months:
        end = f"15/{month:02d}/{year}"
        for i in range(PER_MONTH):
            for kind in (REQUEST, ASSESSMENT, {}):
                n += 1
                person = {"NHS Number": "", "LA Person Unique Identifier": f"P{n:06d}"}
                extra = {"Event Reference": f"E{n:06d}", "Event Start Date": f"{1 + i:02d}/"
                         f"{month:02d}/{year}", "Event End Date": end}  # fmt: skip
                if not kind:
                    # A service that ended in the month.
                    extra["Event Outcome"] = "NFA: Support ended as planned"
                rows.append(row(kind, person, extra))
    return rows


def _preview(tmp_path, rows):
    path = write_rows(tmp_path / "cld.csv", rows)
    table = read_cld_csv(path)
    return preview(table, validate(table))


def test_the_example_like_year_derives_the_stated_period(tmp_path):
    p = _preview(tmp_path, _year())
    assert (p.period.start, p.period.end) == (date(2024, 10, 1), date(2025, 9, 30))
    assert p.period.matches
    assert not p.period.gap_flag and not p.period.missing_type_flag
    assert [t.event_type for t in p.period.by_type] == ["Request", "Assessment", "Service"]
    assert p.warnings == []


def test_a_file_missing_its_last_two_months_derives_the_shorter_period(tmp_path):
    p = _preview(tmp_path, _year(MONTHS[:-2]))
    assert (p.period.start, p.period.end) == (date(2024, 10, 1), date(2025, 7, 31))
    assert [rule for rule, _ in p.warnings] == ["national.period_differs"]
    assert p.warnings[0][1].startswith(
        "DHSC would derive the period 01/10/2024 to 31/07/2025, not the stated 01/10/2024 to "
        "30/09/2025"
    )


def test_a_month_with_too_few_events_is_a_gap_inside_the_run(tmp_path):
    rows = [r for r in _year() if not r["Event End Date"].endswith("/03/2025")]
    # Five requests in March: under the 10-event threshold, so March is a gap month.
    march = [row(REQUEST, **{"Event Reference": f"M{i}", "Event End Date": "15/03/2025",
                             "Event Start Date": "01/03/2025",
                             "LA Person Unique Identifier": f"M{i}", "NHS Number": ""})
             for i in range(5)]  # fmt: skip
    p = _preview(tmp_path, rows + march)
    assert (p.period.start, p.period.end) == (date(2024, 10, 1), date(2025, 9, 30))
    assert p.period.gap_flag
    assert [rule for rule, _ in p.warnings] == ["national.period_gap"]


def test_two_empty_months_end_the_run(tmp_path):
    rows = [r for r in _year() if r["Event End Date"][3:] not in ("02/2025", "03/2025")]
    p = _preview(tmp_path, rows)
    assert (p.period.start, p.period.end) == (date(2025, 4, 1), date(2025, 9, 30))


def test_a_file_without_assessments_has_no_derived_period(tmp_path):
    rows = [r for r in _year() if r["Event Type"] != "Assessment"]
    p = _preview(tmp_path, rows)
    assert p.period.start is None and p.period.missing_type_flag
    assert [rule for rule, _ in p.warnings] == [
        "national.period_not_derived",
        "national.missing_event_type",
    ]


def test_rows_treated_as_one_event_and_rows_without_a_person_id(tmp_path):
    same = {"LA Person Unique Identifier": "P1", "NHS Number": ""}
    rows = [
        row(REQUEST, same),
        row(REQUEST, same, **{"Event Reference": "REQ0002", "Event Description": "Phone"}),
        row(REQUEST, same, **{"Request: Route of Access": "Self-funder"}),
        row(**{"NHS Number": "", "LA Person Unique Identifier": ""}),
        row(NOT_A_SERVICE, REQUEST, **{"LA Person Unique Identifier": "P2"}),
    ]
    p = _preview(tmp_path, rows)
    assert p.same_events == [("Request", [2, 3])]
    assert p.no_person_id == [5]
    rules = [rule for rule, _ in p.warnings]
    assert "national.same_event" in rules and "national.no_person_id" in rules


def test_data_quality_counts_per_field_with_dhsc_codes(tmp_path):
    rows = [
        row(),
        row(Gender="F"),
        row(**{"Client Type": "Service User"}),
        row(**{"Event Reference": "SVC2", "Ethnicity": ""}),
    ]
    p = _preview(tmp_path, rows)
    by_field = p.quality.set_index("field")
    assert by_field.loc["Gender"].to_dict() == {
        "applicable": 4, "valid": 3, "blank": 0, "missing": 0, "invalid": 1, "release1": 0,
    }  # fmt: skip
    assert by_field.loc["Client Type", "release1"] == 1
    assert by_field.loc["Ethnicity", "missing"] == 1
    assert by_field.loc["Date of Death", "blank"] == 4
    assert p.quality_csv().splitlines()[0] == (
        "field,applicable,valid,blank,missing,invalid,release1"
    )
    codes = national_method()["data_quality"]["codes"]
    assert [codes[k]["code"] for k in ("valid", "blank", "missing")] == ["1", "0", "-1"]


def test_preview_command_text_json_and_quality_csv(tmp_path):
    path = write_rows(tmp_path / "cld.csv", _year(MONTHS[:-2]))
    out = tmp_path / "dq.csv"
    runner = CliRunner()
    text = runner.invoke(cli, ["preview", str(path), "--quality-csv", str(out)])
    assert text.exit_code == 0, text.output
    assert "derived 01/10/2024 to 31/07/2025" in text.output
    assert "WARNING national.period_differs" in text.output
    assert out.read_text().startswith("field,applicable,valid,blank,missing,invalid,release1\n")
    as_json = runner.invoke(cli, ["preview", "--format", "json", str(path)])
    data = json.loads(as_json.stdout)
    assert data["reporting_period"]["derived"] == ["2024-10-01", "2025-07-31"]
    # Counts and line numbers only: no person's ID or name.
    assert "P000001" not in text.output + as_json.stdout
    assert "Lovelock" not in text.output + as_json.stdout


@pytest.mark.parametrize("rule", PREVIEW_RULES)
def test_each_preview_rule_is_in_the_catalogue_as_a_dhsc_rule(rule):
    entry = load_spec().rules[rule]
    assert entry.source == "DHSC method" and entry.severity == "warning"
