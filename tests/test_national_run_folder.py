"""The national preview a run folder keeps (cldetl/national/run_files.py): the preview JSON,
one fate per row reconciling to the file's rows, the measures and their records."""

from __future__ import annotations

import json

from cldetl.national.run_files import national_run
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import REQUEST, row, write_rows


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
    from openpyxl import load_workbook

    from cldetl.report.page import write_report
    from tests.conftest import OTHER_NHS

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
