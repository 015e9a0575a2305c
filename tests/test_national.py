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

import pandas as pd
import pytest
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.national import PREVIEW_RULES, preview
from cldetl.spec import load_spec
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import ASSESSMENT, REQUEST, row, write_rows

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


def test_data_quality_codes_per_row_and_field_as_dhsc_codes_them(tmp_path):
    """create_GetDQValues_procedure.sql (7396fab) lines 36-48: status 2/1/0, result 1 valid,
    0 blank allowed, -1 blank mandatory, below -1 invalid; -7 a Release 1 value (issue 17)."""
    rows = [
        row(),
        row(Gender="F"),
        row(**{"Client Type": "Service User"}),
        row(**{"Event Reference": "SVC2", "Ethnicity": ""}),
    ]
    p = _preview(tmp_path, rows)
    assert list(p.dq["Gender code"]) == [1, -2, 1, 1]
    assert list(p.dq["Client_Type code"]) == [1, 1, -7, 1]
    assert list(p.dq["Ethnicity code"]) == [1, 1, 1, -1]
    assert list(p.dq["Ethnicity status"]) == [2, 2, 2, 2]
    assert list(p.dq["Date_of_Death code"]) == [0, 0, 0, 0]
    # A request's service fields are not applicable (status 0).
    assert list(p.dq["Service_Type status"]) == [2, 2, 2, 2]
    # DHSC's field list has no First Name or Last Name items.
    assert not any(c.startswith(("First", "Last")) for c in p.dq.columns)
    assert len(p.dq.columns) == 2 * 48
    gender = p.quality[p.quality["field"] == "Gender"].set_index("code")["rows"].to_dict()
    assert gender == {-2: 1, 1: 3}
    assert p.quality_csv().splitlines()[0] == "module,data_field,field,status,code,label,rows"


def test_a_requests_service_fields_are_not_applicable(tmp_path):
    p = _preview(tmp_path, [row(REQUEST)])
    assert int(p.dq["Service_Type status"].iloc[0]) == 0
    assert int(p.dq["Request_Route_of_Access status"].iloc[0]) == 2


def test_preview_command_text_json_and_quality_csv(tmp_path):
    path = write_rows(tmp_path / "cld.csv", _year(MONTHS[:-2]))
    out = tmp_path / "dq.csv"
    runner = CliRunner()
    text = runner.invoke(cli, ["preview", str(path), "--quality-csv", str(out)])
    assert text.exit_code == 0, text.output
    assert "derived 01/10/2024 to 31/07/2025" in text.output
    assert "WARNING national.period_differs" in text.output
    assert out.read_text().startswith("module,data_field,field,status,code,label,rows\n")
    as_json = runner.invoke(cli, ["preview", "--format", "json", str(path)])
    data = json.loads(as_json.stdout)
    assert data["reporting_period"]["derived"] == ["2024-10-01", "2025-07-31"]
    # Every row's fate, adding up to the row count; all end inside the derived period.
    fates = data["fates"]
    assert fates["reconciles"] and fates["rows"] == 360
    assert sum(f["rows"] for f in fates["counts"].values()) == 360
    assert fates["counts"]["kept"]["rows"] == 360
    # Counts and line numbers only: no person's ID or name.
    assert "P000001" not in text.output + as_json.stdout
    assert "Lovelock" not in text.output + as_json.stdout


def test_preview_command_fates_csv_has_each_rows_fate_and_dq_codes(tmp_path):
    """--fates-csv: one row per row of the file with its DQ codes (the preview keeps each
    row's codes only when this file is asked for)."""
    rows = [row(**{"LA Person Unique Identifier": f"P{i}"}) for i in range(3)]
    rows[1]["Gender"] = "Robot"
    path = write_rows(tmp_path / "cld.csv", rows)
    out = tmp_path / "fates.csv"
    done = CliRunner().invoke(cli, ["preview", str(path), "--fates-csv", str(out)])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(out)
    assert list(table["line"]) == [2, 3, 4]
    # Gender: valid on lines 2 and 4; line 3's "Robot" is not in the list (an invalid code).
    assert list(table["Gender code"] >= 1) == [True, False, True]
    assert (table["Gender status"] == 2).all()


@pytest.mark.parametrize("rule", PREVIEW_RULES)
def test_each_preview_rule_is_in_the_catalogue_as_a_dhsc_rule(rule):
    entry = load_spec().rules[rule]
    assert entry.source == "DHSC method" and entry.severity == "warning"


def test_a_file_found_to_be_windows_1252_in_a_later_batch_is_previewed_as_validate_reads_it(
    tmp_path,
):
    """The fuzz test's exit 70: a byte that is not UTF-8 after the first batch. The preview
    starts again reading the file as Windows-1252, as validate does, and sees every row."""
    rows = [row(**{"LA Person Unique Identifier": f"P{i}"}) for i in range(40)]
    rows.append(row(**{"LA Person Unique Identifier": "P40", "First Name": "Zoë"}))
    utf8 = write_rows(tmp_path / "utf8.csv", rows)
    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes(utf8.read_text(encoding="utf-8").encode("cp1252"))
    report = validate(str(cp1252))
    small = preview(str(cp1252), report, batch_bytes=2_000)  # the é is in a later batch
    whole = preview(read_cld_csv(cp1252), report)
    assert int(small.fate_counts.sum()) == int(whole.fate_counts.sum()) == len(rows)
    assert small.fate_counts.to_dict() == whole.fate_counts.to_dict()
