"""`cldetl mapping-review` (issue 18.6): the sign-off workbook lists every local code with its
status, and `--apply` writes signed decisions back keeping comments and layout, and refuses a
workbook whose codes no longer match the database, or a value that is not its field's."""

from __future__ import annotations

import sqlite3
from datetime import date

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.mapping import load_mapping
from cldetl.onboarding.review import CODE_COLUMNS, CODES_SHEET, MARK_COLUMNS, MARKS_SHEET
from examples.mosaic_liquidlogic.generate import build_database

pytestmark = pytest.mark.slow  # builds a database and runs init-mapping


@pytest.fixture
def starter(tmp_path, monkeypatch):
    database = tmp_path / "case.db"
    build_database("northfen", f"sqlite:///{database}", people=40, seed=11)
    monkeypatch.setenv("NEWLA_DB_URL", f"sqlite:///{database}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "starter.yaml"
    args = ["init-mapping", "--system", "mosaic", "--la-code", "996", "--url-env", "NEWLA_DB_URL"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--period-end", "2025-09-30"])
    assert result.exit_code == 0, result.output
    return out, database


def review(*args):
    return CliRunner().invoke(cli, ["mapping-review", *map(str, args), "--period-end",
                                    "2025-09-30"])  # fmt: skip


def rows(book, sheet):
    data = openpyxl.load_workbook(book)[sheet]
    header = [c.value for c in data[1]]
    return header, [dict(zip(header, r, strict=False)) for r in data.iter_rows(min_row=2)]


def test_the_workbook_lists_codes_and_marks_and_apply_writes_signed_rows_only(starter, tmp_path):
    mapping, _ = starter
    book = tmp_path / "review.xlsx"
    assert review("--mapping", mapping, "--out", book).exit_code == 0
    header, codes = rows(book, CODES_SHEET)
    assert header == CODE_COLUMNS
    statuses = {r["status"].value for r in codes}
    assert statuses == {"checked", "suggested"} or statuses == {"checked", "suggested", "unmapped"}
    weur = next(r for r in codes if r["code"].value == "WEUR")
    assert weur["status"].value == "suggested" and '"White: Roma" 0.43' in weur["suggestions"].value
    header, marks = rows(book, MARKS_SHEET)
    assert header == MARK_COLUMNS
    route = next(r for r in marks if r["where"].value.endswith("route_code_question"))
    assert "may be Q_ROUTE" in route["note"].value

    data = openpyxl.load_workbook(book)
    sheet, marks_sheet = data[CODES_SHEET], data[MARKS_SHEET]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(CODE_COLUMNS, row, strict=False))
        if cells["code"].value == "WEUR":
            cells["CLD value"].value = "White: Any other White background"
            cells["checked by"].value, cells["date"].value = "A. Lead", date(2025, 10, 6)
    for row in marks_sheet.iter_rows(min_row=2):
        cells = dict(zip(MARK_COLUMNS, row, strict=False))
        if cells["where"].value.endswith("route_code_question"):
            cells["decision"].value = "Q_ROUTE"
            cells["checked by"].value, cells["date"].value = "A. Lead", date(2025, 10, 6)
        elif cells["where"].value.endswith("casual_contact_question"):
            cells["decision"].value = "Q_CASUAL"  # decided but not signed: not applied
    data.save(book)
    before = mapping.read_text()
    result = review("--mapping", mapping, "--apply", book)
    assert result.exit_code == 0, result.output
    after = mapping.read_text()
    raw = yaml.safe_load(after)
    assert raw["lookups"]["ethnicity"]["values"]["WEUR"] == "White: Any other White background"
    values = raw["sources"]["steps"]["params"]["values"]
    assert values["route_code_question"] == "Q_ROUTE"
    assert values["casual_contact_question"] == "CASUAL_CONTACT"  # unsigned: unchanged
    assert "# unchecked WEUR" not in after
    route_line = next(x for x in after.splitlines() if "route_code_question:" in x)
    assert "#" not in route_line  # its mark went with the decision
    # Comments and layout kept: the header, the other marks and notes, line for line.
    assert after.splitlines()[:20] == before.splitlines()[:20]
    assert after.count("# unchecked") == before.count("# unchecked") - 2
    load_mapping(mapping)


def test_apply_refuses_a_workbook_whose_codes_no_longer_match(starter, tmp_path):
    mapping, database = starter
    book = tmp_path / "review.xlsx"
    assert review("--mapping", mapping, "--out", book).exit_code == 0
    db = sqlite3.connect(database)
    db.execute("UPDATE dm_persons SET gender = 'NEWCODE' WHERE person_id = "
               "(SELECT MIN(person_id) FROM dm_persons)")  # fmt: skip
    db.commit()
    db.close()
    before = mapping.read_text()
    result = review("--mapping", mapping, "--apply", book)
    assert result.exit_code == 2
    assert "its codes no longer match the database (1 new" in result.output
    assert mapping.read_text() == before


def test_apply_refuses_a_value_that_is_not_its_fields(starter, tmp_path):
    mapping, _ = starter
    book = tmp_path / "review.xlsx"
    assert review("--mapping", mapping, "--out", book).exit_code == 0
    data = openpyxl.load_workbook(book)
    for row in data[CODES_SHEET].iter_rows(min_row=2):
        cells = dict(zip(CODE_COLUMNS, row, strict=False))
        if cells["code"].value == "WEUR":
            cells["CLD value"].value = "White European"
            cells["checked by"].value, cells["date"].value = "A. Lead", date(2025, 10, 6)
    data.save(book)
    before = mapping.read_text()
    result = review("--mapping", mapping, "--apply", book)
    assert result.exit_code == 2
    assert "'White European' is not one of the Ethnicity values" in result.output
    assert mapping.read_text() == before
