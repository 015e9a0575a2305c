"""The CLD file as the DLP accepts it (cldetl/publish/portal_file.py): Windows-1252, CRLF, quotes
only where needed, blanks as empty fields, no BOM; characters Windows-1252 cannot carry are findings
(or, when the mapping chooses it, transliterated with a warning); UTF-8 and gzip on request.
Expected bytes are written by hand here, not produced by another writer."""

from __future__ import annotations

import gzip
import os
import stat

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cldetl.publish.portal_file import transliterate, write_portal_csv
from cldetl.validate import validate
from tests.conftest import REQUEST, row


def frame(rows):
    return pd.DataFrame(rows, dtype="string")


SMALL = frame(
    [
        {"A": "Zoë", "B": "", "C": "one, two"},
        {"A": 'say "hi"', "B": "x", "C": ""},
    ]
)


def test_windows_1252_crlf_minimal_quotes_blank_fields_no_bom(tmp_path):
    path = tmp_path / "cld.csv"
    written = write_portal_csv(SMALL, path)
    assert path.read_bytes() == (b'A,B,C\r\nZo\xeb,,"one, two"\r\n"say ""hi""",x,\r\n')
    assert written.unencodable == [] and written.transliterated == 0
    assert written.findings().empty
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_utf8_when_chosen_has_no_bom(tmp_path):
    path = tmp_path / "cld.csv"
    write_portal_csv(SMALL, path, encoding="utf-8")
    assert path.read_bytes().startswith(b"A,B,C\r\nZo\xc3\xab,,")


def test_gzip_output_holds_the_same_bytes(tmp_path):
    plain, zipped = tmp_path / "cld.csv", tmp_path / "cld.csv.gz"
    write_portal_csv(SMALL, plain)
    write_portal_csv(SMALL, zipped, use_gzip=True)
    assert zipped.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(zipped.read_bytes()) == plain.read_bytes()


def test_a_character_windows_1252_cannot_carry_is_a_finding_with_line_and_column(tmp_path):
    rows = frame(
        [
            {"First Name": "Ada", "Last Name": "Wałęsa"},
            {"First Name": "李", "Last Name": "Smith"},
            {"First Name": "Zoë", "Last Name": "Brontë"},
        ]
    )
    written = write_portal_csv(rows, tmp_path / "cld.csv")
    assert written.unencodable == [(2, "Last Name"), (3, "First Name")]
    found = written.findings()
    assert list(found["rule"]) == ["dlp.not_cp1252", "dlp.not_cp1252"]
    assert list(found["severity"]) == ["error", "error"]
    assert list(found["line"]) == [2, 3]
    # Never the value, in the finding or its message.
    assert found["value"].isna().all()
    assert not found["message"].str.contains("Wałęsa|李").any()


def test_lines_count_quoted_line_breaks_in_earlier_rows(tmp_path):
    rows = frame([{"A": "two\nlines", "B": "ok"}, {"A": "x", "B": "ł"}])
    written = write_portal_csv(rows, tmp_path / "cld.csv")
    assert written.unencodable == [(4, "B")]


def test_transliteration_is_a_warning_with_its_count_and_chinese_stays_an_error(tmp_path):
    rows = frame(
        [
            {"First Name": "Łukasz", "Last Name": "Wałęsa"},
            {"First Name": "李", "Last Name": "Dvořák"},
        ]
    )
    path = tmp_path / "cld.csv"
    written = write_portal_csv(rows, path, transliteration="nfkd-latin")
    assert path.read_bytes().decode("cp1252").splitlines()[1:3] == [
        "Lukasz,Walesa",
        "?,Dvorák",  # á is in Windows-1252: kept
    ]
    assert written.transliterated == 3
    assert written.unencodable == [(3, "First Name")]
    found = written.findings()
    assert sorted(zip(found["rule"], found["severity"], strict=True)) == [
        ("dlp.not_cp1252", "error"),
        ("dlp.transliterated", "warning"),
    ]
    warning = found[found["rule"] == "dlp.transliterated"]["message"].iloc[0]
    assert warning.startswith("3 value(s) spelled in Latin letters (nfkd-latin)")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Wałęsa", "Walesa"), ("Zoë", "Zoë"), ("Đorđe", "Dorde"), ("Ærø", "Ærø"), ("李", "李")],
)
def test_transliterate_keeps_what_windows_1252_carries(value, expected):
    assert transliterate(value, "nfkd-latin") == expected


def test_the_written_return_validates(tmp_path):
    rows = frame([row(**{"First Name": "Zoë"}), row(REQUEST)])
    path = tmp_path / "cld.csv"
    write_portal_csv(rows, path)
    report = validate(path)
    assert report.encoding == "cp1252"
    assert report.errors == 0, report.findings
    zipped = tmp_path / "cld.csv.gz"
    write_portal_csv(rows, zipped, use_gzip=True)
    assert validate(zipped).errors == 0


def test_a_gzip_over_the_dlp_limit_is_an_error(tmp_path, monkeypatch):
    import cldetl.validate.csvfile

    zipped = tmp_path / "cld.csv.gz"
    write_portal_csv(frame([row()]), zipped, use_gzip=True)
    size = zipped.stat().st_size
    monkeypatch.setattr(cldetl.validate.csvfile, "dlp_limits", lambda: (10**9, size - 1))
    report = validate(zipped)
    found = report.findings[report.findings["rule"] == "dlp.file_size"]
    assert list(found["message"]) == [
        f"The gzip file is {size:,} bytes; the DLP accepts at most {size - 1:,} bytes gzipped. "
        "Split the submission with the DLP team's agreement."
    ]
    assert report.exit_code == 1


def test_a_gzip_expanding_past_the_limit_is_not_read_whole(tmp_path, monkeypatch):
    import cldetl.validate.csvfile

    zipped = tmp_path / "bomb.csv.gz"
    zipped.write_bytes(gzip.compress(b"LA Code\n" + b"1\n" * 100_000))
    monkeypatch.setattr(cldetl.validate.csvfile, "dlp_limits", lambda: (1000, 10**9))
    report = validate(zipped)
    assert report.rows == 0
    assert list(report.findings["rule"]) == ["dlp.file_size"]


# --- cldetl run writes the DLP file ---------------------------------------------------------------


@pytest.fixture
def database(tmp_path, monkeypatch):
    from tests.testshire import build_database

    url = build_database(tmp_path / "testshire.db")
    monkeypatch.setenv("TESTSHIRE_DB_URL", url)
    return tmp_path / "testshire.db"


def _rename_everyone(db, first_name: str) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE ts_people SET first_name = ?", (first_name,))


def test_run_writes_windows_1252_crlf_that_validates(database, tmp_path):
    from datetime import date

    from cldetl.pipeline import run
    from tests.testshire import MAPPING_PATH

    _rename_everyone(database, "Zoë")
    result = run(MAPPING_PATH, tmp_path / "out", date(2025, 9, 30))
    data = result.files["cld"].read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == data.count(b"\n") == len(result.result.cld) + 1
    assert b"Zo\xeb" in data and b'""' not in data
    assert validate(result.files["cld"]).errors == 0


def test_run_reports_a_name_windows_1252_cannot_carry(database, tmp_path):
    import json
    from datetime import date

    from cldetl.pipeline import run
    from tests.testshire import MAPPING_PATH

    _rename_everyone(database, "Łucja")
    result = run(MAPPING_PATH, tmp_path / "out", date(2025, 9, 30))
    assert result.exit_code == 1
    report = json.loads((result.run_dir / "validation.json").read_text(encoding="utf-8"))
    found = [f for f in report["findings"] if f["rule"] == "dlp.not_cp1252"]
    assert found and {f["column"] for f in found} == {"First Name"}
    assert all(f["value"] is None for f in found)
    assert "Łucja" not in json.dumps(found, ensure_ascii=False)


def test_run_options_choose_transliteration_utf8_and_gzip(database, tmp_path):
    from datetime import date

    from cldetl.pipeline import run
    from tests.testshire import MAPPING_PATH

    _rename_everyone(database, "Łucja")
    result = run(
        MAPPING_PATH,
        tmp_path / "out",
        date(2025, 9, 30),
        output={"transliteration": "nfkd-latin", "gzip": True},
    )
    assert result.files["cld"].name.endswith(".csv.gz")
    assert b"Lucja" in gzip.decompress(result.files["cld"].read_bytes())
    rules = set(result.report.findings["rule"])
    assert "dlp.transliterated" in rules and "dlp.not_cp1252" not in rules
    assert result.exit_code == 0

    utf8 = run(MAPPING_PATH, tmp_path / "utf8", date(2025, 9, 30), output={"encoding": "utf-8"})
    assert "Łucja".encode() in utf8.files["cld"].read_bytes()
    assert utf8.exit_code == 0


def test_cli_run_encoding_and_gzip_options(database, tmp_path):
    from click.testing import CliRunner

    from cldetl.cli import cli
    from tests.testshire import MAPPING_PATH

    _rename_everyone(database, "Łucja")
    out = tmp_path / "out"
    args = ["run", "--mapping", str(MAPPING_PATH), "--period-end", "2025-09-30", "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--encoding", "utf-8", "--gzip"])
    assert result.exit_code == 0, result.output
    (written,) = out.glob("*/latest/CLD_R2_*.csv.gz")
    assert "Łucja".encode() in gzip.decompress(written.read_bytes())
    refused = CliRunner().invoke(cli, [*args, "--no-gzip"])
    assert refused.exit_code == 1  # Windows-1252 by default: the name is a finding
    assert "Łucja" not in refused.output


# The columnar writer against Python's csv module (QUOTE_MINIMAL, CRLF), the reference the
# DLP's "quotes only where needed" means: any text, including quotes, commas, line breaks,
# missing values and characters Windows-1252 has no byte for ('?' in the file, a finding).
CELL = st.one_of(
    st.none(), st.text(alphabet=st.sampled_from(list('ab ,"\r\n;éë€\tŁ中')), max_size=8)
)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=12),
    chunk=st.integers(1, 5),
    encoding=st.sampled_from(["windows-1252", "utf-8"]),
    # Repeated past 1,000 rows, a column of few distinct values is quoted per distinct value.
    repeat=st.sampled_from([1, 1, 200]),
)
def test_the_writer_matches_pythons_csv_writer(tmp_path_factory, rows, chunk, encoding, repeat):
    import csv
    import io

    rows = rows * repeat
    chunk = chunk * repeat
    frame = pd.DataFrame(rows, columns=["A", "B,1", 'C"x']).astype("string")
    expected = io.StringIO(newline="")
    writer = csv.writer(expected, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(frame.columns)
    writer.writerows([["" if v is None else v for v in r] for r in rows])
    codec = {"windows-1252": "cp1252", "utf-8": "utf-8"}[encoding]
    path = tmp_path_factory.mktemp("csv") / "cld.csv"
    written = write_portal_csv(frame, path, encoding=encoding, rows_per_chunk=chunk)
    assert path.read_bytes() == expected.getvalue().encode(codec, errors="replace")
    unencodable = {c for _, c in written.unencodable}
    if codec == "cp1252":
        assert unencodable == {c for c in frame if frame[c].str.contains("[Ł中]").any()}
    else:
        assert unencodable == set()
