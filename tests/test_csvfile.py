"""Reading CLD files as local authorities save them, and refusing files that are not a table.

Line numbers are physical lines of the file (the header is line 1), because that is what a
person opening the CSV in an editor sees; quoted line breaks and blank lines must not shift them.
"""

from __future__ import annotations

import csv
import io

import pytest

from cldetl.errors import InputError
from cldetl.validate import validate
from cldetl.validate.csvfile import SAVE_AS, read_cld_csv
from tests.conftest import base_row, findings, row, write_rows

HEADERS = list(base_row())


def csv_line(values) -> str:
    """One CSV record, quoted where needed (Ethnicity values hold commas), without a newline."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(list(values))
    return buffer.getvalue()


def rule_lines(report) -> list[tuple[int | None, str]]:
    return [(f["line"], f["rule"]) for f in findings(report)]


# --- encodings and line endings -------------------------------------------------------------------


def test_utf8_with_bom_and_crlf_as_excel_saves(tmp_path):
    path = tmp_path / "excel.csv"
    second = row(Gender="F", **{"Event Reference": "SVC0002", "Service Component": "Day support"})
    body = "\r\n".join(csv_line(r.values()) for r in [row(), second])
    path.write_bytes(b"\xef\xbb\xbf" + (csv_line(HEADERS) + "\r\n" + body + "\r\n").encode())

    table = read_cld_csv(path)

    assert table.header == HEADERS  # no BOM glued to 'LA Code'
    assert table.encoding == "utf-8"
    assert table.rows == 2
    assert list(table.lines) == [2, 3]
    assert table.frame["Gender"].tolist() == ["Female", "F"]
    assert table.frame["Reporting Period End Date"].tolist() == ["30/09/2025"] * 2  # no '\r'
    assert table.bom
    # The BOM is read, and reported: the DLP rejects it.
    assert rule_lines(validate(path)) == [(1, "dlp.bom"), (3, "list.value")]


def test_windows_1252_is_read_and_reported(tmp_path):
    path = write_rows(
        tmp_path / "ansi.csv",
        [row(**{"First Name": "Zoë", "Event Description": "Meals at £3.50, café"})],
        encoding="cp1252",
    )
    assert "£".encode("cp1252") in path.read_bytes()

    table = read_cld_csv(path)

    assert table.encoding == "cp1252"
    assert table.frame["First Name"].tolist() == ["Zoë"]
    assert table.frame["Event Description"].tolist() == ["Meals at £3.50, café"]
    report = validate(table)
    assert report.encoding == "cp1252"
    assert findings(report) == []


def test_lf_line_endings(tmp_path):
    path = write_rows(tmp_path / "lf.csv", [row(), row(Gender="F")], newline="\n")
    table = read_cld_csv(path)
    assert list(table.lines) == [2, 3]
    assert table.frame["Planned units per week"].tolist() == ["10", "10"]


def test_values_are_kept_as_submitted_text(tmp_path):
    path = write_rows(
        tmp_path / "text.csv",
        [row(**{"NHS Number": "0123456789", "Unit Cost": "24.50", "LA Code": "0503"})],
    )
    frame = read_cld_csv(path).frame
    assert all(str(dtype) == "string" for dtype in frame.dtypes)
    assert frame.loc[0, "NHS Number"] == "0123456789"
    assert frame.loc[0, "Unit Cost"] == "24.50"
    assert frame.loc[0, "LA Code"] == "0503"
    assert frame.loc[0, "Date of Death"] == ""


# --- files that are not a CLD table ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty (0 bytes)."),
        (b"\r\n\r\n", "line 1 is blank; a CLD file starts with its header row."),
        ((csv_line(HEADERS) + "\r\n").encode(), "the file has a header but no data rows."),
        (csv_line(HEADERS).encode(), "the file has a header but no data rows."),
        (
            (";".join(HEADERS) + "\r\n" + ";".join(base_row().values()) + "\r\n").encode(),
            f"line 1 is separated by semicolons, not commas. CLD files are comma-separated. "
            f"{SAVE_AS}",
        ),
        (
            ("\t".join(HEADERS) + "\n" + "\t".join(base_row().values()) + "\n").encode(),
            f"line 1 is separated by tabs, not commas. CLD files are comma-separated. {SAVE_AS}",
        ),
    ],
    ids=[
        "empty",
        "blank lines only",
        "header only",
        "header without newline",
        "semicolons",
        "tabs",
    ],
)
def test_unreadable_files_are_input_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_cld_csv(path)
    assert str(caught.value) == f"{path}: {message}"


def test_neither_utf8_nor_windows_1252(tmp_path):
    path = tmp_path / "binary.csv"
    body = csv_line(list(row(**{"First Name": "X"}).values())).encode().replace(b",X,", b",\x81,")
    path.write_bytes(csv_line(HEADERS).encode() + b"\r\n" + body + b"\r\n")
    with pytest.raises(InputError, match="neither UTF-8 nor Windows-1252"):
        read_cld_csv(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_cld_csv(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a folder, not a CSV file"):
        read_cld_csv(tmp_path)


def test_ragged_rows_name_their_lines_but_not_their_values(tmp_path):
    good = csv_line(base_row().values())
    extra = csv_line(row(**{"First Name": "Quimbleworth"}).values()) + ",Jr"  # 49 fields
    short = csv_line(list(base_row().values())[:30])
    path = tmp_path / "ragged.csv"
    lines = [csv_line(HEADERS), good, extra, good, short, good]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")

    with pytest.raises(InputError) as caught:
        read_cld_csv(path)

    message = str(caught.value)
    assert message == (
        f"{path}: 2 row(s) do not have 48 fields like the header (lines 3, 5). Check for "
        "unquoted commas in values, or rows cut short."
    )
    assert "Quimbleworth" not in message
    assert "Lovelock" not in message


# --- physical line numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("break_", ["\n", "\r\n"], ids=["LF in value", "CRLF in value"])
def test_quoted_line_break_keeps_later_line_numbers_physical(tmp_path, break_):
    rows = [
        row(**{"Event Description": f"Home support{break_}twice daily"}),
        row(Gender="F", **{"Event Reference": "SVC0002", "Service Component": "Day support"}),
    ]
    path = write_rows(tmp_path / "quoted.csv", rows)
    # header, a row over two lines, then the row with the defect on physical line 4
    assert path.read_bytes().count(b"\n") == 4

    table = read_cld_csv(path)
    assert table.frame["Event Description"][0] == f"Home support{break_}twice daily"
    assert list(table.lines) == [2, 4]
    assert rule_lines(validate(table)) == [(2, "type.text"), (4, "list.value")]


def test_blank_lines_keep_line_numbers_physical(tmp_path):
    path = tmp_path / "blanks.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADERS)
        writer.writerow(base_row().values())
        handle.write("\r\n\r\n")
        writer.writerow(row(Gender="F", **{"Event Reference": "SVC0002"}).values())
        handle.write("\r\n")
        writer.writerow(row(**{"Unit Cost": "£24.50", "Event Reference": "SVC0003"}).values())

    table = read_cld_csv(path)

    assert table.rows == 3
    assert list(table.lines) == [2, 5, 7]
    report = validate(table)
    assert [
        (line, rule) for line, rule in rule_lines(report) if rule.startswith(("list", "type"))
    ] == [
        (5, "list.value"),
        (7, "type.numeric"),
    ]


def test_duplicate_header_names_keep_both_columns(tmp_path):
    i = HEADERS.index("Event Description") + 1
    header = HEADERS[:i] + ["Event Description"] + HEADERS[i:]
    path = write_rows(tmp_path / "dup.csv", [row()], header=header)

    table = read_cld_csv(path)

    assert table.header == header
    assert len(table.frame.columns) == 49
    assert table.frame["Event Description"].tolist() == ["Home support"]
    assert table.frame["Event Description (2)"].tolist() == ["Home support"]
    duplicate = findings(validate(table), "header.duplicate")
    assert [(f["line"], f["column"]) for f in duplicate] == [(1, "Event Description")]
