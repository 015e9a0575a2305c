"""The national preview a run folder keeps (cldetl/national/run_files.py): the preview JSON,
one fate per row reconciling to the file's rows, the measures and their records; and a run's
(cldetl/pipeline.py): rates from the mapping's population, the measures against last quarter's
run with the records that moved them, the preview computed once for the files and the report."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

from click.testing import CliRunner
from openpyxl import load_workbook

import cldetl.pipeline
import cldetl.report.national_section
from cldetl.cli import cli
from cldetl.national import preview
from cldetl.national.measures import Figure
from cldetl.national.measures.output import compare
from cldetl.national.population import WHERE_TO_PUT_IT
from cldetl.national.run_files import (
    LastQuarter,
    against_last_quarter,
    national_run,
    national_run_of,
)
from cldetl.pipeline import run
from cldetl.report.national_section import national_section
from cldetl.report.page import write_report
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import OTHER_NHS, REQUEST, row, write_rows
from tests.testshire import MAPPING_PATH, build_database


def test_the_run_lets_the_unique_events_go_once_the_measures_are_made(tmp_path):
    """Nothing after the measures reads the unique events: the run's preview is kept without
    them (the report's peak memory, issue 19 point 9), its fates and counts intact."""
    path = write_rows(tmp_path / "cld.csv", [row(), row(REQUEST)])
    table = read_cld_csv(path)
    p = preview(table, validate(table))
    run = national_run_of(p, table, validate(table))
    assert run.figures and run.preview.events is None
    assert p.events is not None  # the caller's preview is not changed
    assert len(run.preview.fates) == 2 and run.preview.fate_counts.sum() == 2


def test_run_folder_files_reconcile_to_the_row_count(tmp_path):
    rows = [row(), row(REQUEST), row(**{"NHS Number": "", "LA Person Unique Identifier": ""})]
    path = write_rows(tmp_path / "cld.csv", rows)
    table = read_cld_csv(path)
    files = national_run(table, validate(table)).files()
    assert sorted(files) == [
        "national_fates.csv",
        "national_measures.json",
        "national_measures_records.csv",
        "national_preview.json",
    ]
    data = json.loads(files["national_preview.json"])
    assert data["fates"]["reconciles"] and data["fates"]["rows"] == 3
    assert len(files["national_fates.csv"].splitlines()) == 1 + 3
    measures = json.loads(files["national_measures.json"])
    # Three rows derive no period: the measures are over the stated period, and say so.
    assert measures["over_the_stated_period"] is True
    assert "ASCOF 2D" in measures["not_computable"]
    assert {f["measure"] for f in measures["figures"]} >= {"ASCOF 2B", "ASCOF 2E", "ASCOF 3D1a"}
    # The JSON counts each figure's records by reason; the records themselves are in the CSV.
    by_key = {(f["measure"], f["group"]): f for f in measures["figures"]}
    total = by_key[("ASCOF 3D1a", "Total")]
    assert total["records_counted"] == 1 and "records" not in total
    assert sum(total["records_by_reason"].values()) == 1


def test_the_report_shows_what_dhsc_will_see_and_the_workbook_a_sheet_per_measure(tmp_path):
    rows = [row(), row(**{"NHS Number": OTHER_NHS[0], "LA Person Unique Identifier": "P2",
                          "Delivery Mechanism": "Direct payment"})]  # fmt: skip
    path = write_rows(tmp_path / "cld.csv", rows)
    table = read_cld_csv(path)
    page_path, book_path = write_report(
        tmp_path / "report", table=table, report=validate(table), authority="Testshire",
        la_code="503", period_start="2024-10-01", period_end="2025-09-30",
        run_date="2025-10-05",
    )[:2]  # fmt: skip
    page = page_path.read_text()
    section = page[page.index('id="national"') :]
    assert "What DHSC will see" in section
    assert '<td>All rows</td><td class="n">2</td>' in section
    assert '<td>ASCOF 3D2a</td><td>Total</td><td class="n">1</td><td class="n">2</td>' in (section)
    book = load_workbook(book_path)
    sheet = book["ASCOF 3D2a Total"]
    records = list(sheet.iter_rows(values_only=True))
    assert records[0] == ("line", "event_reference", "la_person", "counted", "reason")
    # a flag is "yes" or blank in the workbook (an analyst filters on a word)
    assert [(r[2], r[3]) for r in records[1:]] == [("P000123", None), ("P2", "yes")]


# --- a run: the population from the mapping, last quarter's run, the preview computed once ----

POPULATION = """
population:
  source: "ONS mid-2024 population estimates, table MYE2"
  year: 2024
  by_age_band: {18 to 64: 200000, 65 and above: 50000}
"""


def _testshire_mapping(tmp_path, section: str = ""):
    """The test authority's mapping with `section` added, in a folder of its own with the test
    connectors beside it (where a run looks for its templates)."""

    folder = tmp_path / "mapping"
    folder.mkdir(parents=True)
    (folder / "connectors").symlink_to(MAPPING_PATH.parents[1] / "connectors")
    path = folder / "testshire.yaml"
    path.write_text(MAPPING_PATH.read_text(encoding="utf-8") + section, encoding="utf-8")
    return path


def two_quarter_runs(tmp_path, monkeypatch, section: str = ""):
    """June's run, then September's after one service changed to a direct payment (ASCOF 3D2a
    65 and above moves from 1 of 2 people to 2 of 2), both with the report."""

    database = tmp_path / "testshire.db"
    url = build_database(database)
    mapping = _testshire_mapping(tmp_path, section)
    out = tmp_path / "out"
    monkeypatch.setenv("TESTSHIRE_DB_URL", url)
    june = run(mapping, out, date(2025, 6, 30), html_report=True)
    with sqlite3.connect(database) as db:
        db.execute("UPDATE ts_lines SET delivery = 'DP' WHERE line_id = 7094")
    september = run(mapping, out, date(2025, 9, 30), html_report=True)
    return june, september


def _measures(run_dir) -> dict:
    return json.loads((run_dir / "national_measures.json").read_text(encoding="utf-8"))


def test_a_run_takes_its_population_from_the_mapping_and_shows_rates(tmp_path, monkeypatch):

    june, september = two_quarter_runs(tmp_path, monkeypatch, POPULATION)
    data = _measures(september.run_dir)
    by_key = {(f["measure"], f["group"]): f for f in data["figures"]}
    for key, people in (
        (("ASCOF 2B", "18 to 64"), 200_000),
        (("ASCOF 2C", "65 and above"), 50_000),
    ):
        figure = by_key[key]
        assert figure["denominator"] == people and figure["unit"] == "per 100,000"
        assert figure["value"] == round(figure["numerator"] / people * 100_000, 1)
    assert data["population"]["source"] == "ONS mid-2024 population estimates, table MYE2 (2024)"
    page = (september.run_dir / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="national"') :]
    assert "0.0 per 100,000" in section and "no rate" not in section
    assert "Rates per 100,000 use the population figures from: ONS mid-2024" in section
    assert WHERE_TO_PUT_IT.split(":")[0] not in section

    # Without a population: counts with no rate, and where to put the figures.
    plain = run(_testshire_mapping(tmp_path / "plain"), tmp_path / "plain-out",
                september.period.end, html_report=True)  # fmt: skip
    assert _measures(plain.run_dir).get("population") is None
    page = (plain.run_dir / "report.html").read_text(encoding="utf-8")
    assert "no rate: no population given" in page
    assert "Rates per 100,000 need population figures" in page and "`population`" in page


def test_september_is_compared_with_junes_run_and_names_the_records_that_moved(
    tmp_path, monkeypatch
):

    june, september = two_quarter_runs(tmp_path, monkeypatch)
    first = _measures(june.run_dir)
    assert "against_previous" not in first
    assert first["last_quarter"]["note"].startswith("No earlier run to compare with")
    page = (june.run_dir / "report.html").read_text(encoding="utf-8")
    assert "No earlier run to compare with" in page[page.index('id="national"') :]

    data = _measures(september.run_dir)
    assert data["last_quarter"]["previous_run"] == f"2025-06-30/{june.run_dir.name}"
    assert data["last_quarter"]["threshold_percent"] == 20.0
    moved = {(m["measure"], m["group"]): m for m in data["against_previous"] if m["flagged"]}
    assert sorted(moved) == [("ASCOF 3D2a", "65 and above"), ("ASCOF 3D2a", "Total")]
    m = moved[("ASCOF 3D2a", "65 and above")]
    assert (m["previous_value"], m["change_percent"]) == (50.0, 100.0)
    assert [r["la_person"] for r in m["counted_now_not_before"]] == ["7001"]
    assert m["counted_before_not_now"] == []
    unmoved = [m for m in data["against_previous"] if not m["flagged"]]
    assert unmoved and all(m["counted_now_not_before"] == [] for m in unmoved)

    page = (september.run_dir / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="national-last-quarter"') :]
    assert f"Compared with the earlier run 2025-06-30/{june.run_dir.name}" in section
    assert ("<tr><td>ASCOF 3D2a</td><td>65 and above</td><td class=\"n\">100.0%</td>"
            "<td class=\"n\">50.0%</td><td class=\"n\">+100.0%</td>"
            "<td><strong>moved more than the threshold</strong></td></tr>") in section  # fmt: skip
    reference = m["counted_now_not_before"][0]["event_reference"]
    assert "The records that moved ASCOF 3D2a (65 and above)" in section
    assert f"Counted now, not last quarter: 1 ({reference} (7001))." in section

    book = load_workbook(september.run_dir / "findings.xlsx")
    rows = list(book["ASCOF 3D2a 65 and above"].iter_rows(values_only=True))
    assert rows[0][-1] == "since last quarter (then 50.0%)"
    assert [r[-1] for r in rows[1:] if r[2] == "7001"] == ["counted now, not last quarter"]
    measures = list(book["DHSC measures"].iter_rows(values_only=True))
    assert measures[0][5:] == ("Last quarter", "Change", "Moved more than the threshold")
    assert ("ASCOF 3D2a", "65 and above", 2, 2, "100.0%", "50.0%", 100, "yes") in measures


HOSTILE = "<b>" + "R" * 70  # an Event Reference the page must escape and cut


def test_a_record_counted_last_quarter_and_not_now_is_listed_on_its_sheet(tmp_path):
    """The other direction, from run folders alone: the earlier run counted a person this one
    does not (against_last_quarter reads the earlier run's measures JSON and records CSV)."""

    direct = {"NHS Number": OTHER_NHS[0], "LA Person Unique Identifier": "P2",
              "Delivery Mechanism": "Direct payment", "Event Reference": HOSTILE}  # fmt: skip
    then_rows = [row(), row(**direct)]
    now_rows = [row(), row(**{**direct, "Delivery Mechanism": "CASSR managed personal budget"})]
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    table = read_cld_csv(write_rows(tmp_path / "then.csv", then_rows))
    for name, text in national_run(table, validate(table)).files().items():
        (earlier / name).write_text(text, encoding="utf-8")
    table = read_cld_csv(write_rows(tmp_path / "now.csv", now_rows))
    report = validate(table)
    national = national_run(table, report)
    national.last_quarter = against_last_quarter(national, earlier, "earlier", 20.0, "2025-06-30")
    moved = {(m.figure.measure, m.figure.group): m for m in national.last_quarter.movements}
    m = moved[("ASCOF 3D2a", "Total")]
    assert m.flagged and m.change_percent == -100.0
    assert m.left.to_dict(orient="records") == [{"event_reference": HOSTILE, "la_person": "P2"}]
    files = national.files()
    assert json.loads(files["national_measures.json"])["last_quarter"]["previous_run"] == "earlier"

    page_path, book_path = write_report(
        tmp_path / "report", table=table, report=report, authority="Testshire",
        la_code="503", period_start="2024-10-01", period_end="2025-09-30",
        run_date="2025-10-05", national=national,
    )[:2]  # fmt: skip
    page = page_path.read_text(encoding="utf-8")
    # Escaped and cut as the findings' identifiers are (60 characters at most).
    shown = "&lt;b&gt;" + "R" * 56 + "\u2026"
    assert f"Counted last quarter, not now: 1 ({shown} (P2))." in page
    assert "<b>" not in page and "R" * 57 not in page
    assert "of the period ending 2025-06-30" in page
    rows = list(load_workbook(book_path)["ASCOF 3D2a Total"].iter_rows(values_only=True))
    assert rows[-1] == (None, HOSTILE, "P2", None, None, "counted last quarter, not now")


def test_an_earlier_run_without_measures_is_said_not_skipped(tmp_path):

    table = read_cld_csv(write_rows(tmp_path / "now.csv", [row()]))
    national = national_run(table, validate(table))
    (tmp_path / "old").mkdir()
    last = against_last_quarter(national, tmp_path / "old", "2025-06-30/run-0001", 20.0)
    assert last.movements is None
    assert last.note == (
        "No earlier run to compare with: the earlier run 2025-06-30/run-0001 has no measures "
        "(made before cldetl computed them)."
    )


def test_a_run_computes_the_national_preview_once_for_its_files_and_report(tmp_path, monkeypatch):
    """The pipeline computes the preview and measures once and hands them to the report: the
    report stage never computes them again for a run."""

    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return national_run(*args, **kwargs)

    def refused(*args, **kwargs):
        raise AssertionError("the report computed the national preview again")

    monkeypatch.setattr(cldetl.pipeline, "national_run", counted)
    monkeypatch.setattr(cldetl.report.national_section, "national_run", refused)
    monkeypatch.setenv("TESTSHIRE_DB_URL", build_database(tmp_path / "testshire.db"))

    result = run(_testshire_mapping(tmp_path), tmp_path / "out", date(2025, 9, 30),
                 html_report=True)  # fmt: skip
    assert calls == [1]
    page = (result.run_dir / "report.html").read_text(encoding="utf-8")
    assert "What DHSC will see" in page


def test_a_run_whose_population_file_is_bad_stops_before_it_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("TESTSHIRE_DB_URL", build_database(tmp_path / "testshire.db"))
    section = '\npopulation: {source: "ONS mid-2024, MYE2", year: 2024, file: missing.csv}\n'
    mapping = _testshire_mapping(tmp_path, section)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["run", "--mapping", str(mapping), "--out", str(out), "--period-end", "2025-09-30"]
    )
    assert result.exit_code == 2, result.output
    line = len(mapping.read_text().splitlines())
    assert f"{mapping}:{line} population.file" in result.output.replace("\n", "")
    assert "Traceback" not in result.output
    assert not list(out.glob("*/run-*"))


def test_any_figure_is_shown_by_its_unit_without_a_change_to_the_report(tmp_path):
    """A kind of figure the report has never seen (DHSC's waiting times: a median in days, no
    denominator) is shown like any other: its value and unit, now and last quarter."""
    table = read_cld_csv(write_rows(tmp_path / "cld.csv", [row()]))
    report = validate(table)
    national = national_run(table, report)

    def waiting(days: float) -> Figure:
        return Figure("Waiting times", "Request to assessment", "Median days", 40, None, days,
                      "days (median)", "Waiting_times/waiting_times_method.sql")  # fmt: skip

    national.figures.append(waiting(15.0))
    moved = compare([waiting(15.0)], [waiting(10.0)], 20.0)
    national.last_quarter = LastQuarter("Compared with the earlier run x.", 20.0, moved, "x")
    section = national_section(table, report, national)
    assert ["Waiting times", "Request to assessment", 40, "-", "15.0 days (median)"] in (
        section.page["figures"]
    )
    assert section.page["last_quarter"]["rows"] == [
        ["Waiting times", "Request to assessment", "15.0 days (median)", "10.0 days (median)",
         "+50.0%", "moved more than the threshold"]
    ]  # fmt: skip
