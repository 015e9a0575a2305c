"""File sources (CSV, XLSX): declared columns, date formats, and errors that name the file, the
row and the column but never a cell's value."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from cldetl.errors import InputError, UsageError
from cldetl.extract.file_sources import normalise_header, read_file_source
from cldetl.mapping import FileFormat, Source, load_mapping

DATA = Path(__file__).parent / "data"
MAPPING = DATA / "mappings" / "testsys.yaml"
COLUMNS = {"carer_id": "text", "person_id": "integer", "assessed_on": "date", "hours": "number"}
HEADER = "Carer ID,Person ID,Assessed On,Hours\n"


@pytest.fixture(scope="module")
def mapping():
    return load_mapping(MAPPING)


def file_mapping(mapping, folder: Path, file: str, columns=None, **file_format):
    """The test mapping, as if saved in `folder`, with one file source 'carers'."""
    source = Source(
        file=file,
        file_format=FileFormat(**file_format),
        key=["carer_id"],
        columns=columns or COLUMNS,
    )
    return mapping.model_copy(
        update={"path": str(folder / "mapping.yaml"), "sources": {"carers": source}}
    )


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> None:
    (folder / name).write_text(text, encoding=encoding, newline="")


# --- CSV ------------------------------------------------------------------------------------


def test_csv_source_reads_declared_columns_with_types(mapping):
    carers = read_file_source(mapping, "carers")
    assert list(carers.columns) == ["carer_id", "person_id", "assessed_on", "hours"]  # no Notes
    assert list(carers["carer_id"]) == ["C001", "C002"]
    assert str(carers["person_id"].dtype) == "Int64"
    assert list(carers["assessed_on"]) == [pd.Timestamp("2025-04-01"), pd.Timestamp("2025-05-15")]
    assert carers["hours"].iloc[0] == 12.5 and pd.isna(carers["hours"].iloc[1])


def test_file_path_is_relative_to_the_mapping_folder(mapping, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing here: the mapping's folder is what counts
    assert len(read_file_source(mapping, "carers")) == 2


def test_headers_match_ignoring_case_spaces_and_punctuation():
    assert normalise_header(" Assessed On ") == "assessed_on"
    assert normalise_header("Person-ID") == "person_id"
    assert normalise_header("HOURS (per week)") == "hours_per_week"


def test_wrong_date_format_names_file_line_and_column_not_the_value(mapping, tmp_path):
    write(tmp_path, "c.csv", HEADER + "C1,1,01/04/2025,1\nC2,2,2025-04-31,2\n")
    with pytest.raises(InputError) as err:
        read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")
    message = str(err.value)
    assert str(tmp_path / "c.csv") in message
    assert "row 3, column assessed_on: not a date in %d/%m/%Y" in message
    assert "2025-04-31" not in message
    assert "sources.carers.file_format.date_format" in message


def test_row_is_the_physical_line_even_after_a_multi_line_cell(mapping, tmp_path):
    columns = {**COLUMNS, "notes": "text"}
    text = 'Carer ID,Person ID,Assessed On,Hours,Notes\nC1,1,01/04/2025,1,"two\nlines"\n'
    write(tmp_path, "c.csv", text + "\nC2,2,1 April 2025,2,\n")
    with pytest.raises(InputError, match="row 5, column assessed_on"):
        read_file_source(file_mapping(mapping, tmp_path, "c.csv", columns), "carers")


def test_blank_lines_before_the_header_are_skipped_and_counted(mapping, tmp_path):
    write(tmp_path, "c.csv", "\n,,,\n" + HEADER + "C1,1,01/04/2025,1\nC2,2,bad,2\n")
    with pytest.raises(InputError, match="row 5, column assessed_on"):
        read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")


def test_declared_date_format_is_used(mapping, tmp_path):
    write(tmp_path, "c.csv", HEADER + "C1,1,2025-04-01,1\n")
    m = file_mapping(mapping, tmp_path, "c.csv", date_format="%Y-%m-%d")
    assert read_file_source(m, "carers")["assessed_on"].iloc[0] == pd.Timestamp("2025-04-01")


def test_a_time_after_the_date_is_accepted(mapping, tmp_path):
    write(tmp_path, "c.csv", HEADER + "C1,1,01/04/2025 00:00,1\nC2,2,02/04/2025 13:45:10,2\n")
    dates = read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")["assessed_on"]
    assert list(dates) == [pd.Timestamp("2025-04-01"), pd.Timestamp("2025-04-02")]


def test_integer_and_number_columns_are_checked(mapping, tmp_path):
    write(tmp_path, "c.csv", HEADER + "C1,1.5,01/04/2025,ten\nC2,2.0,01/04/2025,1e1\n")
    with pytest.raises(InputError) as err:
        read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")
    message = str(err.value)
    assert "2 problem(s)" in message
    assert "row 2, column person_id: not a whole number" in message
    assert "row 2, column hours: not a number" in message
    assert "ten" not in message.replace("Cell values", "")


def test_blank_cells_and_blank_lines(mapping, tmp_path):
    write(tmp_path, "c.csv", HEADER + "C1,,,\n\n , ,\nC2, 7 ,01/04/2025, 3.5 \n")
    carers = read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")
    assert list(carers["carer_id"]) == ["C1", "C2"]
    assert pd.isna(carers["person_id"].iloc[0]) and carers["person_id"].iloc[1] == 7
    assert carers["hours"].iloc[1] == 3.5


def test_missing_declared_column_names_file_and_column(mapping, tmp_path):
    write(tmp_path, "c.csv", "Carer ID,Person ID,Hours\nC1,1,2\n")
    with pytest.raises(InputError) as err:
        read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")
    message = str(err.value)
    assert str(tmp_path / "c.csv") in message
    assert "no column assessed_on" in message
    assert "matches carer_id, person_id, hours of the declared columns" in message


def test_a_file_without_a_header_row_never_shows_its_first_record(mapping, tmp_path):
    """The first record becomes the 'header': its values are personal data, never shown."""
    write(tmp_path, "c.csv", "C1,9434765919,Ada Lovelock,01/04/2025,3.5\nC2,1,x,01/04/2025,1\n")
    with pytest.raises(InputError) as err:
        read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")
    message = str(err.value)
    assert "Check the file has a header row" in message
    for value in ("9434765919", "Ada Lovelock", "C1", "3.5"):
        assert value not in message


def test_a_row_longer_than_the_header_is_an_error(mapping, tmp_path):
    write(tmp_path, "c.csv", HEADER + "C1,1,01/04/2025,1\nC2,2,01/04/2025,1,000\n")
    with pytest.raises(InputError, match="row 3 has 5 values but the header has 4"):
        read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")


def test_many_problems_are_summarised(mapping, tmp_path):
    rows = "".join(f"C{i},{i},bad,1\n" for i in range(25))
    write(tmp_path, "c.csv", HEADER + rows)
    with pytest.raises(InputError, match=r"25 problem\(s\)") as err:
        read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")
    assert "... and 15 more" in str(err.value)


def test_encoding_error_points_at_the_encoding_setting(mapping, tmp_path):
    write(tmp_path, "c.csv", HEADER + "Zoë,1,01/04/2025,1\n", encoding="cp1252")
    with pytest.raises(InputError, match="sources.carers.file_format.encoding"):
        read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")
    m = file_mapping(mapping, tmp_path, "c.csv", encoding="cp1252")
    assert read_file_source(m, "carers")["carer_id"].iloc[0] == "Zoë"


def test_missing_file_and_unsupported_type(mapping, tmp_path):
    with pytest.raises(InputError, match="no such file") as err:
        read_file_source(file_mapping(mapping, tmp_path, "nope.csv"), "carers")
    assert str(tmp_path / "nope.csv") in str(err.value)
    write(tmp_path, "c.xls", "")
    with pytest.raises(InputError, match=r"save an \.xls workbook as \.xlsx"):
        read_file_source(file_mapping(mapping, tmp_path, "c.xls"), "carers")


def test_empty_file(mapping, tmp_path):
    write(tmp_path, "c.csv", "")
    with pytest.raises(InputError, match="empty"):
        read_file_source(file_mapping(mapping, tmp_path, "c.csv"), "carers")


def test_database_source_is_not_a_file(mapping):
    with pytest.raises(UsageError, match="not a file"):
        read_file_source(mapping, "people")


# --- XLSX -----------------------------------------------------------------------------------


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)


HEADER_ROW = ["Carer ID", "Person ID", "Assessed On", "Hours"]


def test_xlsx_source_reads_typed_and_text_cells(mapping, tmp_path):
    write_xlsx(
        tmp_path / "c.xlsx",
        {
            "Cover": [["Reablement episodes, Q2"]],
            "Episodes": [
                HEADER_ROW,
                ["C1", 1, datetime(2025, 4, 1), 12.5],
                [None, None, None, None],
                ["C2", "2", "15/05/2025", 3],
                [101, 3.0, date(2025, 6, 1), None],
            ],
        },
    )
    m = file_mapping(mapping, tmp_path, "c.xlsx", sheet="Episodes")
    carers = read_file_source(m, "carers")
    assert list(carers["carer_id"]) == ["C1", "C2", "101"]
    assert list(carers["person_id"]) == [1, 2, 3]
    assert list(carers["assessed_on"]) == [
        pd.Timestamp("2025-04-01"),
        pd.Timestamp("2025-05-15"),
        pd.Timestamp("2025-06-01"),
    ]
    assert list(carers["hours"].fillna(-1)) == [12.5, 3.0, -1]


def test_xlsx_errors_name_the_excel_row(mapping, tmp_path):
    write_xlsx(
        tmp_path / "c.xlsx",
        {
            "Sheet1": [
                HEADER_ROW,
                ["C1", 1, datetime(2025, 4, 1), 1],
                ["C2", 2, "2025-04-01", 1],
                ["C3", 3, 45748, 1],
            ]
        },
    )
    with pytest.raises(InputError) as err:
        read_file_source(file_mapping(mapping, tmp_path, "c.xlsx"), "carers")
    message = str(err.value)
    assert "row 3, column assessed_on: not a date in %d/%m/%Y" in message
    assert "row 4, column assessed_on: a number, not a date" in message
    assert "45748" not in message


def test_xlsx_missing_sheet_lists_the_sheets(mapping, tmp_path):
    write_xlsx(tmp_path / "c.xlsx", {"Episodes": [HEADER_ROW]})
    m = file_mapping(mapping, tmp_path, "c.xlsx", sheet="Carers")
    with pytest.raises(InputError, match="no sheet 'Carers'.*the workbook has: Episodes"):
        read_file_source(m, "carers")


def test_not_a_workbook(mapping, tmp_path):
    write(tmp_path, "c.xlsx", "Carer ID,Person ID\n")
    with pytest.raises(InputError, match="not a readable .xlsx workbook"):
        read_file_source(file_mapping(mapping, tmp_path, "c.xlsx"), "carers")
