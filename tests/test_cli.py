"""The `cldetl` command: exit codes, the JSON and text reports, `cldetl spec`, and that the console
never shows personal values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.validate import validate
from tests.conftest import REQUEST, base_row, row, write_rows
from tests.test_spec import EXPECTED_HEADERS

ROOT = Path(__file__).resolve().parents[1]
WIDE = {"COLUMNS": "200"}  # rich wraps at 80 columns otherwise


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env=WIDE)


@pytest.fixture
def good_csv(tmp_path):
    return write_rows(tmp_path / "good.csv", [row(), row(REQUEST)])


@pytest.fixture
def bad_csv(tmp_path):
    return write_rows(
        tmp_path / "bad.csv", [row(), row(REQUEST, Gender="F", **{"Event End Date": ""})]
    )


def test_a_good_file_exits_0(good_csv):
    result = run("validate", str(good_csv))
    assert result.exit_code == 0, result.output
    assert "2 rows, no errors, 0 warning(s)" in result.stdout
    assert "The file meets the Release 2 specification." in result.stdout


def test_a_file_with_errors_exits_1(bad_csv):
    result = run("validate", str(bad_csv))
    assert result.exit_code == 1, result.output
    assert "2 rows, 2 error(s), 0 warning(s)" in result.stdout
    assert "ERROR list.value" in result.stdout
    assert "ERROR mandatory.event_end_date" in result.stdout
    assert "line 3, Gender: Gender 'F' is not on the Release 2 list." in result.stdout


def test_warnings_alone_exit_0(tmp_path):
    path = write_rows(tmp_path / "warn.csv", [row(**{"NHS Number": ""})])
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output
    assert "WARNING mandatory.nhs_number" in result.stdout


def test_monthly_flag(tmp_path):
    august = {
        "Reporting Period Start Date": "01/09/2024",
        "Reporting Period End Date": "31/08/2025",
    }
    path = write_rows(tmp_path / "august.csv", [row(**august)])
    assert run("validate", str(path)).exit_code == 1
    assert run("validate", "--monthly", str(path)).exit_code == 0


def test_json_report_is_the_validation_report(bad_csv):
    result = run("validate", "--format", "json", str(bad_csv))
    assert result.exit_code == 1
    printed = json.loads(result.stdout)
    assert printed == validate(bad_csv).to_json_dict()
    assert set(printed) == {"file", "rows", "errors", "warnings", "findings", "counts"}
    assert printed["errors"] == 2
    assert [(f["line"], f["rule"]) for f in printed["findings"]] == [
        (3, "list.value"),
        (3, "mandatory.event_end_date"),
    ]


def test_json_report_of_the_golden_file():
    path = ROOT / "tests" / "data" / "defects.csv"
    result = run("validate", "--format", "json", str(path))
    printed = json.loads(result.stdout)
    expected = json.loads((path.parent / "defects.expected.json").read_text(encoding="utf-8"))
    printed["file"] = Path(printed["file"]).name
    assert printed == expected
    assert result.exit_code == 1


# --- unusable input: exit 2, one clear line, no traceback ----------------------------------------


def _semicolons(path: Path) -> None:
    path.write_text(";".join(EXPECTED_HEADERS) + "\n" + ";".join(base_row().values()) + "\n")


def _not_text(path: Path) -> None:
    write_rows(path, [row(**{"First Name": "X"})])
    path.write_bytes(path.read_bytes().replace(b",X,", b",\x81\x8d,"))


def _ragged(path: Path) -> None:
    write_rows(path, [row(), row(**{"Last Name": "Quimbleworth", "Planned units per week": "@"})])
    path.write_bytes(path.read_bytes().replace(b",@\r\n", b",10,extra\r\n"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "no such file"),
        (lambda p: p.write_bytes(b""), "the file is empty (0 bytes)"),
        (lambda p: p.write_text(",".join(EXPECTED_HEADERS) + "\n"), "header but no data rows"),
        (_semicolons, "separated by semicolons"),
        (_not_text, "neither UTF-8 nor Windows-1252"),
        (_ragged, "1 row(s) do not have 48 fields like the header (lines 3)"),
    ],
    ids=["missing", "empty", "header only", "semicolons", "not text", "ragged"],
)
def test_unusable_files_exit_2_with_one_error_line(tmp_path, make, message):
    path = tmp_path / "unusable.csv"
    if make:
        make(path)
    result = run("validate", str(path))
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: "), result.stderr
    assert message in result.stderr
    assert "Quimbleworth" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize("make", [_semicolons, _not_text], ids=["semicolons", "not text"])
def test_a_real_process_prints_no_traceback(tmp_path, make):
    path = tmp_path / "unusable.csv"
    make(path)
    result = subprocess.run(
        [sys.executable, "-m", "cldetl", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_folder_is_a_usage_error(tmp_path):
    result = run("validate", str(tmp_path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# --- cldetl spec ---------------------------------------------------------------------------------


def test_spec_json_has_the_48_fields_in_order():
    result = run("spec", "--format", "json")
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout)
    assert spec["release"] == "2"
    assert [f["name"] for f in spec["fields"]] == EXPECTED_HEADERS
    gender = next(f for f in spec["fields"] if f["name"] == "Gender")
    assert gender["values"] == ["Female", "Male", "Other", "Unknown"]
    postcode = next(f for f in spec["fields"] if f["name"] == "Postcode")
    assert postcode["values"] == ["ZZ99 3VZ", "ZZ99 3CZ", "Unknown"]
    assert spec["dropped_fields"] == ["GP Practice Name", "Provider CQC Location Name"]
    rule_ids = {r["id"] for r in spec["rules"]}
    assert {"mandatory.employment_status", "list.release1", "period.month_end"} <= rule_ids


def test_spec_markdown_is_the_committed_docs():
    result = run("spec", "--format", "markdown")
    assert result.exit_code == 0, result.output
    committed = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    assert result.stdout == committed, "docs/spec.md is stale: run `make spec-docs`"


# --- personal data stays out of the console ------------------------------------------------------

PERSONAL = {
    "NHS Number": "9434765918",  # fails its check digit
    "First Name": "Quimbleworth\x07",  # a control character
    "Date of Birth": "31/02/1961",  # not a real date
    "Date of Death": "2025-13-45",
    "Postcode": "qx9 9zz",
}


def test_text_report_never_prints_personal_values(tmp_path):
    path = write_rows(tmp_path / "personal.csv", [row(**PERSONAL)])

    text = run("validate", str(path))
    as_json = run("validate", "--format", "json", str(path))

    assert text.exit_code == as_json.exit_code == 1
    findings = json.loads(as_json.stdout)["findings"]
    for column, value in PERSONAL.items():
        assert value not in text.output, column
        assert "Quimbleworth" not in text.output
        assert any(f["column"] == column and f["value"] == value for f in findings), column
    assert "type.nhs_number" in text.output
    assert "NHS Number fails the NHS number check digit (modulus 11)" in text.output
