"""The CLD file as the DLP accepts it (cldetl/portal_file.py): Windows-1252, CRLF, quotes only
where needed, blanks as empty fields, no BOM; characters Windows-1252 cannot carry are findings
(or, when the mapping chooses it, transliterated with a warning); UTF-8 and gzip on request.

Expected bytes are written by hand here, not produced by another writer.
"""

from __future__ import annotations

import gzip
import os
import stat

import pandas as pd
import pytest

from cldetl.portal_file import transliterate, write_portal_csv
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
    import cldetl.csvfile

    zipped = tmp_path / "cld.csv.gz"
    write_portal_csv(frame([row()]), zipped, use_gzip=True)
    size = zipped.stat().st_size
    monkeypatch.setattr(cldetl.csvfile, "dlp_limits", lambda: (10**9, size - 1))
    report = validate(zipped)
    found = report.findings[report.findings["rule"] == "dlp.file_size"]
    assert list(found["message"]) == [
        f"The gzip file is {size:,} bytes; the DLP accepts at most {size - 1:,} bytes gzipped. "
        "Split the submission with the DLP team's agreement."
    ]
    assert report.exit_code == 1


def test_a_gzip_expanding_past_the_limit_is_not_read_whole(tmp_path, monkeypatch):
    import cldetl.csvfile

    zipped = tmp_path / "bomb.csv.gz"
    zipped.write_bytes(gzip.compress(b"LA Code\n" + b"1\n" * 100_000))
    monkeypatch.setattr(cldetl.csvfile, "dlp_limits", lambda: (1000, 10**9))
    report = validate(zipped)
    assert report.rows == 0
    assert list(report.findings["rule"]) == ["dlp.file_size"]
