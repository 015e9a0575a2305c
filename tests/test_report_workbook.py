"""findings.xlsx holds the whole report (issue 20, point 4), read back with openpyxl: a sheet
per section, each with an AutoFilter over its table, a frozen header row, numbers stored as
numbers (with a number format), and print set-up (landscape, one page wide, header repeated)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from cldetl.report.workbook import INTEGER, Section, section_from_frame, write_workbook
from tests.test_report_page import RECONCILIATION, UNMAPPED, make_report

SECTIONS = [
    "Summary",
    "Findings by rule",
    "Findings",
    "Unmapped codes",
    "Reconciliation",
    "Swings",
    "Comparison by event type",
    "Comparison by month",
    "Comparison by service type",
    "Comparison field changes",
]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    _, report, files = make_report(tmp_path_factory.mktemp("workbook"))
    return report, load_workbook(files[1])


def test_a_sheet_per_section(book):
    _, workbook = book
    assert workbook.sheetnames[: len(SECTIONS)] == SECTIONS
    # Then the national preview (issue 17): each row's fate, the measures, one per measure.
    assert workbook.sheetnames[len(SECTIONS) : len(SECTIONS) + 2] == ["DHSC fates", "DHSC measures"]


def test_the_national_sheets_have_filters_and_frozen_headers_too(book):
    _, workbook = book
    for name in workbook.sheetnames[len(SECTIONS) :]:
        sheet = workbook[name]
        assert sheet.auto_filter.ref and sheet.freeze_panes == "A2", name


@pytest.mark.parametrize("name", SECTIONS)
def test_every_table_has_a_filter_a_frozen_header_and_print_set_up(book, name):
    _, workbook = book
    sheet = workbook[name]
    width = len(next(sheet.iter_rows(max_row=1, values_only=True)))
    last = chr(ord("A") + width - 1)
    assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"


def test_numbers_are_numbers(book):
    report, workbook = book
    reconciliation = list(workbook["Reconciliation"].iter_rows(min_row=2))
    # Reconciliation: the rows columns are numbers with a thousands format.
    assert [[c.value for c in r[1:]] for r in reconciliation] == RECONCILIATION.iloc[
        :, 1:
    ].values.tolist()
    assert all(
        c.data_type == "n" and c.number_format == INTEGER for r in reconciliation for c in r[1:]
    )
    unmapped = list(workbook["Unmapped codes"].iter_rows(min_row=2))
    assert unmapped[0][5].value == UNMAPPED["rows"].iloc[0] and unmapped[0][5].data_type == "n"
    compared = {r[0].value: r for r in workbook["Comparison by event type"].iter_rows(min_row=2)}
    review = compared["Review"]
    assert [review[1].value, review[2].value, review[3].value, review[4].value] == [
        3,
        4,
        33.3,
        "yes",
    ]
    assert review[3].data_type == "n" and review[3].number_format == "0.0"
    swings = list(workbook["Swings"].iter_rows(min_row=2, values_only=True))
    assert swings == [("By event type", "Review", None, 3, 4, 33.3)]
    by_rule = {
        r[0]: r[2] for r in workbook["Findings by rule"].iter_rows(min_row=2, values_only=True)
    }
    assert by_rule == report.by_rule().set_index("rule")["count"].to_dict()
    lines = [r[0] for r in workbook["Findings"].iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(v, int) for v in lines if v is not None) and any(lines)
    summary = dict(workbook["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["Rows"] == report.rows and isinstance(summary["Errors"], int)


def test_a_section_is_a_small_data_object_rendered_like_every_other():
    """How another part of the report (the national preview) adds a sheet."""
    extra = section_from_frame("National preview", pd.DataFrame({"measure": ["a"], "people": [7]}))
    handle = io.BytesIO()
    write_workbook(handle, [Section("Summary", ["Item", "Value"], [("x", 1)]), extra])
    sheet = load_workbook(io.BytesIO(handle.getvalue()))["National preview"]
    assert [c.value for c in sheet[1]] == ["Measure", "People"]
    assert sheet["B2"].value == 7 and sheet["B2"].number_format == INTEGER
    assert sheet.auto_filter.ref == "A1:B2" and sheet.freeze_panes == "A2"


def test_formula_like_text_in_any_section_is_stored_as_text():
    handle = io.BytesIO()
    frame = pd.DataFrame({"code": ['=HYPERLINK("x","y")', "+cmd|' /C calc'!A0", "ok"]})
    write_workbook(handle, [section_from_frame("Unmapped codes", frame)])
    sheet = load_workbook(io.BytesIO(handle.getvalue()))["Unmapped codes"]
    assert sheet["A2"].data_type == "s" and sheet["A2"].quotePrefix
    assert sheet["A3"].data_type == "s" and sheet["A3"].quotePrefix
    assert not sheet["A4"].quotePrefix


def test_another_part_of_the_report_adds_its_sheet_after_the_comparison(tmp_path):
    preview = section_from_frame("National preview", pd.DataFrame({"measure": ["a"], "n": [1]}))
    _, _, files = make_report(tmp_path, extra_sections=(preview,))
    names = load_workbook(files[1]).sheetnames
    assert names[: len(SECTIONS)] == SECTIONS and names[-1] == "National preview"
