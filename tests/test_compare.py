"""`cldetl compare`: two hand-written CLD files whose differences are known, counted over the
months both cover; flags by threshold; no personal value on the console."""

from __future__ import annotations

import csv
import json
import math
import re

import pytest
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.report.compare import compare_returns, comparison_svg, comparison_text
from cldetl.spec import load_spec

HEADERS = load_spec().headers
COMMUNITY = "Long term support: Community"
# Personal values that must never reach the console.
SECRET_NAME, SECRET_NHS = "Zebedee", "9434765919"
PERSONAL_TYPE = "Alice Smith"  # a name typed into Event Type by mistake


def row(person, event, event_type, start, end="", period=("01/07/2024", "30/06/2025"), **more):
    values = {
        "LA Code": "999",
        "Reporting Period Start Date": period[0],
        "Reporting Period End Date": period[1],
        "LA Person Unique Identifier": person,
        "First Name": SECRET_NAME,
        "NHS Number": SECRET_NHS,
        "Gender": "Male",
        "Event Type": event_type,
        "Event Reference": event,
        "Event Start Date": start,
        "Event End Date": end,
        **{k.replace("_", " "): v for k, v in more.items()},
    }
    return values


CURRENT = ("01/10/2024", "30/09/2025")


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADERS)
        writer.writeheader()
        for r in rows:
            writer.writerow({h: r.get(h, "") for h in HEADERS})
    return path


@pytest.fixture
def files(tmp_path):
    service = {"Service_Type": COMMUNITY}
    previous = [
        row("P1", "E1", "Service", "01/01/2024", **service),  # open all nine shared months
        row("P2", "E2", "Assessment", "15/08/2024", "20/08/2024"),  # before the shared months
        row("P3", "E3", "Request", "05/11/2024", "05/11/2024"),
        row("P4", "E4", "Request", "10/12/2024", "10/12/2024"),  # gone from the current file
    ]
    current = [
        row("P1", "E1", "Service", "01/01/2024", period=CURRENT, Gender="Female", **service),
        row("P3", "E3", "Request", "05/11/2024", "05/11/2024", period=CURRENT),
        row("P3", "E7", "Request", "01/03/2025", "01/03/2025", period=CURRENT),
        row("P5", "E5", "Request", "03/02/2025", "03/02/2025", period=CURRENT),
        row("P5", "E6", "Review", "15/08/2025", "15/08/2025", period=CURRENT),  # after them
        row("P6", "E8", PERSONAL_TYPE, "01/04/2025", "01/04/2025", period=CURRENT),
    ]
    return write(tmp_path / "previous.csv", previous), write(tmp_path / "current.csv", current)


def by(frame, *columns):
    return {
        tuple(r[c] for c in columns) if len(columns) > 1 else r[columns[0]]: (
            r["previous"],
            r["current"],
            None if math.isnan(r["change_percent"]) else r["change_percent"],
            bool(r["flagged"]),
        )
        for r in frame.to_dict("records")
    }


def test_counts_by_event_type_over_the_shared_months(files):
    comparison = compare_returns(*files, threshold_percent=20)
    assert comparison.months == [f"2024-{m}" for m in ("10", "11", "12")] + [
        f"2025-0{m}" for m in range(1, 7)
    ]
    assert (
        comparison.previous_period.start.isoformat(),
        comparison.current_period.end.isoformat(),
    ) == (
        "2024-07-01",
        "2025-09-30",
    )
    assert list(comparison.by_event_type.columns) == [
        "event_type",
        "previous",
        "current",
        "change_percent",
        "flagged",
    ]
    assert by(comparison.by_event_type, "event_type") == {
        "(not a Release 2 value)": (0, 1, None, True),
        "Request": (2, 3, 50.0, True),
        "Service": (1, 1, 0.0, False),
    }
    assert by(comparison.by_service_type, "service_type") == {COMMUNITY: (1, 1, 0.0, False)}


def test_counts_by_month(files):
    months = by(compare_returns(*files).by_event_type_month, "event_type", "month")
    assert months[("Request", "2024-11")] == (1, 1, 0.0, False)
    assert months[("Request", "2024-12")] == (1, 0, -100.0, True)
    assert months[("Request", "2025-02")] == (0, 1, None, True)
    assert months[("Request", "2025-03")] == (0, 1, None, True)
    assert ("Request", "2024-10") not in months
    assert [months[("Service", f"2025-0{m}")] for m in range(1, 7)] == [(1, 1, 0.0, False)] * 6
    assert {m for _, m in months} == set(compare_returns(*files).months)


def test_threshold_decides_what_is_flagged(files):
    loose = by(compare_returns(*files, threshold_percent=60).by_event_type, "event_type")
    assert loose["Request"] == (2, 3, 50.0, False)
    strict = by(compare_returns(*files, threshold_percent=49.9).by_event_type, "event_type")
    assert strict["Request"][3] is True


def test_people_and_events_that_appear_disappear_or_change(files):
    comparison = compare_returns(*files)
    assert comparison.events == {"appeared": 3, "disappeared": 1, "changed": 1, "unchanged": 1}
    assert comparison.people == {"appeared": 2, "disappeared": 1, "changed": 1, "unchanged": 1}
    changes = dict(comparison.field_changes.itertuples(index=False))
    assert list(comparison.field_changes.columns) == ["field", "changed_events"]
    assert changes["Gender"] == 1
    assert sum(changes.values()) == 1
    assert "Reporting Period End Date" not in changes  # differs by design
    people = dict(comparison.person_field_changes.itertuples(index=False))
    assert people["Gender"] == 1 and "Event Type" not in people


def test_console_output_has_no_personal_values(files):
    for fmt in ("text", "json"):
        result = CliRunner().invoke(cli, ["compare", *map(str, files), "--format", fmt])
        assert result.exit_code == 0, result.output
        for secret in (SECRET_NAME, SECRET_NHS, PERSONAL_TYPE, "P1", "E1"):
            assert secret not in result.output
    assert "Request" in result.output


def test_cli_text_summary_and_chart(files, tmp_path):
    chart = tmp_path / "chart.svg"
    result = CliRunner().invoke(cli, ["compare", *map(str, files), "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    assert "Months both cover: 2024-10 to 2025-06 (9)" in result.output
    assert "Request" in result.output and "+50.0% !" in result.output
    assert "Events (Event Reference): 3 appeared, 1 disappeared, 1 changed" in result.output
    svg = chart.read_text()
    assert svg.startswith("<svg") and "<script" not in svg and "href" not in svg
    assert svg.count("<rect") >= 2 * 3


def test_threshold_from_the_mapping(files, tmp_path):
    from tests.testshire import MAPPING_PATH

    text = MAPPING_PATH.read_text(encoding="utf-8")
    mapping = tmp_path / "mappings" / "m.yaml"
    mapping.parent.mkdir()
    mapping.write_text(text + "\ncomparison:\n  swing_threshold_percent: 60\n")
    result = CliRunner().invoke(
        cli, ["compare", *map(str, files), "--format", "json", "--mapping", str(mapping)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["threshold_percent"] == 60
    request = next(r for r in data["by_event_type"] if r["event_type"] == "Request")
    assert request == {
        "event_type": "Request",
        "previous": 2,
        "current": 3,
        "change_percent": 50.0,
        "flagged": False,
    }


def test_an_unknown_mapping_key_under_comparison_is_refused(tmp_path):
    from cldetl.mapping import MappingError, load_mapping
    from tests.testshire import MAPPING_PATH

    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING_PATH.read_text(encoding="utf-8") + "\ncomparison:\n  threshold: 5\n")
    with pytest.raises(MappingError, match="unknown key 'threshold'"):
        load_mapping(mapping)


def test_a_file_that_is_not_cld_exits_2_naming_the_columns(files, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(cli, ["compare", str(files[0]), str(other)])
    assert result.exit_code == 2
    # The reader refuses it at its header, before any row (and names no cell of it).
    assert "other.csv: line 1 is not the CLD header" in result.output
    assert "Traceback" not in result.output


def test_files_with_no_shared_month(tmp_path):
    old = write(
        tmp_path / "a.csv",
        [row("P1", "E1", "Request", "01/08/2023", period=("01/01/2023", "31/12/2023"))],
    )
    new = write(tmp_path / "b.csv", [row("P1", "E1", "Request", "01/08/2024")])
    comparison = compare_returns(old, new)
    assert comparison.months == [] and len(comparison.by_event_type) == 0
    assert "share no months" in comparison_text(comparison)
    assert "nothing to compare" in comparison_svg(comparison)


def test_a_real_return_compared_with_itself_has_no_changes(tmp_path, monkeypatch):
    from datetime import date

    from cldetl.pipeline import run
    from tests.testshire import MAPPING_PATH, build_database

    monkeypatch.setenv("TESTSHIRE_DB_URL", build_database(tmp_path / "t.db"))
    result = run(MAPPING_PATH, tmp_path / "out", date(2025, 9, 30))
    comparison = compare_returns(result.files["cld"], result.files["cld"])
    assert len(comparison.months) == 12
    assert not comparison.by_event_type["flagged"].any()
    assert (comparison.by_event_type["previous"] == comparison.by_event_type["current"]).all()
    assert comparison.events["changed"] == comparison.events["appeared"] == 0
    assert comparison.field_changes["changed_events"].sum() == 0


def test_the_chart_file_is_drawn_by_the_pages_chart_builder_in_its_palette(files):
    """One chart builder, one palette: comparison.svg's bars are the page's series colours,
    and a flagged swing is marked in the builder's flag colour."""
    from cldetl.report.charts import FLAG_COLOUR, SERIES_COLOURS

    svg = comparison_svg(compare_returns(*files))
    assert f'fill="{SERIES_COLOURS[0]}"' in svg and f'fill="{SERIES_COLOURS[1]}"' in svg
    fills = set(re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"', svg))
    assert fills == {SERIES_COLOURS[0], SERIES_COLOURS[1]}
    assert f'fill="{FLAG_COLOUR}" font-weight="bold">new</text>' in svg


def test_json_and_text_are_byte_identical_to_the_code_before_the_split(files):
    """tests/data/compare/ holds comparison.json and the console text as cldetl wrote them at
    8c81caa, before compare.py was split into model and output: the split changed no byte."""
    from pathlib import Path

    from cldetl.report.compare import comparison_json

    golden = Path(__file__).parent / "data" / "compare"
    comparison = compare_returns(*files)
    assert comparison_json(comparison) == (golden / "comparison.json").read_text(encoding="utf-8")
    assert comparison_text(comparison) == (golden / "comparison.txt").read_text(encoding="utf-8")
