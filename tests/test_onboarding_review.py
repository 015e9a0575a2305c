"""Issue 18's done-when, on each example database recoded so that every configured code
differs from the example's: the unedited starter has no active value that is not certain,
`profile` exits non-zero and `run` refuses; once the review workbook is filled in with the
right values (the example's meaning of each recoded code) and applied, the run reproduces the
example's return exactly."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.onboarding.review import CODES_SHEET, MARKS_SHEET
from examples.mosaic_liquidlogic.generate import build_database
from tests.onboarding_recode import (
    PREFIX,
    configured_codes,
    recode_database,
    recode_value,
    reference,
    right_lookup_value,
)

pytestmark = pytest.mark.slow  # builds two databases and runs cldetl a dozen times

CASES = {
    # system: the example mapping, integer code columns, and text columns left as they are
    # (a type table's names, which only look like the outcome lookup's keys).
    "mosaic": ("eastmoor.yaml", {"workflow_step_type_id"}, {"dm_workflow_step_types.description"}),
    "liquidlogic": ("westvale.yaml", set(), set()),
}
PERIOD = "2025-09-30"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def fill_workbook(book_path: Path, example: dict, text: set[str], numbers: set[int]) -> int:
    """Fill every undecided row as a practice lead who knows the example's meanings would."""

    book = openpyxl.load_workbook(book_path)
    filled = 0
    codes = book[CODES_SHEET]
    header = [c.value for c in codes[1]]
    for row in codes.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=False))
        if cells["status"].value == "checked":
            continue
        cells["CLD value"].value = right_lookup_value(
            example, cells["lookup"].value, str(cells["code"].value)
        )
        cells["checked by"].value, cells["date"].value = "Practice lead", date(2025, 10, 6)
        filled += 1
    marks = book[MARKS_SHEET]
    header = [c.value for c in marks[1]]
    for row in marks.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=False))
        current = cells["current value"].value
        if ".reference." in cells["where"].value:
            decision = current  # the authority keeps the prefix its references already use
        else:
            value = int(current) if re.fullmatch(r"\d+", current) else current
            decision = str(recode_value(value, text, numbers))
        cells["decision"].value = decision
        cells["checked by"].value, cells["date"].value = "Practice lead", date(2025, 10, 6)
        filled += 1
    book.save(book_path)
    return filled


@pytest.mark.parametrize("system", sorted(CASES))
def test_a_recoded_database_is_reviewed_then_reproduces_the_example(system, tmp_path, monkeypatch):
    file, int_columns, keep = CASES[system]
    example = reference(file)
    text, numbers = configured_codes(example)
    original = tmp_path / "example.db"
    build_database(system, f"sqlite:///{original}", people=60, seed=5)
    recoded = tmp_path / "recoded.db"
    shutil.copy(original, recoded)
    recode_database(recoded, example, int_columns, keep)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    # The example's own return, from its own mapping on the original database.
    example_env = example["connection"]["url_env"]
    monkeypatch.setenv(example_env, f"sqlite:///{original}")
    done = invoke("run", "--mapping", f"mappings/{file}", "--period-end", PERIOD, "--out",
                  str(tmp_path / "example-out"))  # fmt: skip
    assert done.exit_code in (0, 1), done.output
    expected = next((tmp_path / "example-out").rglob("CLD_R2_*.csv"))

    monkeypatch.setenv("NEW_DB_URL", f"sqlite:///{recoded}")
    starter = tmp_path / "new.yaml"
    about = example["metadata"]
    done = invoke("init-mapping", "--system", system, "--la-code", str(about["la_code"]),
                  "--la-name", about["la_name"], "--url-env", "NEW_DB_URL",
                  "--out", str(starter), "--period-end", PERIOD)  # fmt: skip
    assert done.exit_code == 0, done.output
    written = starter.read_text()
    # No active value that is not certain: every active lookup value says why it is certain.
    active = re.findall(
        r"^      (?!#)\S.*$", written.split("\nlookups:\n")[1].split("\n\n")[0], re.M
    )
    assert all("# " in line and "certain:" in line for line in active), active
    assert "# unchecked" in written

    profile = invoke("profile", "--mapping", str(starter), "--period-end", PERIOD)
    assert profile.exit_code == 1, profile.output
    assert re.search(r"[1-9]\d* unchecked suggestion", profile.output)
    refused = invoke("run", "--mapping", str(starter), "--period-end", PERIOD, "--out",
                     str(tmp_path / "refused"))  # fmt: skip
    assert refused.exit_code == 2
    assert "not checked yet" in refused.output
    assert not (tmp_path / "refused").exists()

    # Review until nothing is left: parameters first (they decide which records are read),
    # then the lookup codes those records hold.
    for round_ in range(3):
        book = tmp_path / f"review-{round_}.xlsx"
        done = invoke("mapping-review", "--mapping", str(starter), "--period-end", PERIOD,
                      "--out", str(book))  # fmt: skip
        assert done.exit_code == 0, done.output
        if not fill_workbook(book, example, text, numbers):
            break
        done = invoke("mapping-review", "--mapping", str(starter), "--period-end", PERIOD,
                      "--apply", str(book))  # fmt: skip
        assert done.exit_code == 0, done.output
    assert "# unchecked" not in starter.read_text() and "# TODO" not in starter.read_text()
    assert yaml.safe_load(starter.read_text())  # still plain YAML

    done = invoke("run", "--mapping", str(starter), "--period-end", PERIOD, "--out",
                  str(tmp_path / "new-out"))  # fmt: skip
    assert done.exit_code in (0, 1), done.output
    produced = next((tmp_path / "new-out").rglob("CLD_R2_*.csv"))
    if system == "mosaic":
        assert produced.read_bytes() == expected.read_bytes()
    else:
        # LiquidLogic's Event Description is the form type or service element code itself:
        # the authority's own code (recoded here) is its description. Everything else is equal.
        old, new = (pd.read_csv(f, dtype=str, keep_default_na=False) for f in (expected, produced))
        described, before = new["Event Description"], old["Event Description"]
        assert ((described == before) | (described == PREFIX + before)).all()
        columns = [c for c in old.columns if c != "Event Description"]
        pd.testing.assert_frame_equal(new[columns], old[columns])
