"""One piece of advice per problem (issue 20, point 7): every message that tells the user how to
save the file from Excel gives the same advice, the one right for the portal ('CSV (Comma
delimited)': Windows-1252, CRLF, no byte order mark), and nothing else in cldetl gives other
save-as advice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cldetl.errors import InputError
from cldetl.validate import validate
from cldetl.validate.csvfile import SAVE_AS
from tests.conftest import base_row, findings, write_rows

ROOT = Path(__file__).resolve().parents[1]
HEADER = ",".join(base_row()).encode()
ROW = ",".join(base_row().values()).encode()


def test_the_advice_is_right_for_the_portal():
    assert "'CSV (Comma delimited)'" in SAVE_AS  # Windows-1252, what the DLP reads
    assert "not 'CSV UTF-8'" in SAVE_AS  # Excel's UTF-8 CSV starts with a BOM: rejected


@pytest.mark.parametrize(
    "content",
    [
        HEADER.replace(b",", b";") + b"\r\n" + ROW.replace(b",", b";") + b"\r\n",
        HEADER.replace(b",", b"\t") + b"\r\n" + ROW.replace(b",", b"\t") + b"\r\n",
        b"\x81" + HEADER + b"\r\n" + ROW + b"\r\n",
        HEADER + b"\r" + ROW + b"\r",
        b"\xff\xfe" + HEADER,
    ],
    ids=["semicolons", "tabs", "neither UTF-8 nor Windows-1252", "CR only", "UTF-16"],
)
def test_unreadable_files_give_the_one_advice(tmp_path, content):
    path = tmp_path / "cld.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        validate(path)
    assert str(raised.value).endswith(SAVE_AS)


@pytest.mark.parametrize(
    ("rule", "options"),
    [("dlp.bom", {"bom": True}), ("dlp.line_endings", {"newline": "\n"})],
)
def test_file_findings_give_the_one_advice(validate_rows, rule, options):
    (finding,) = findings(validate_rows([base_row()], **options), rule)
    assert finding["message"].endswith(SAVE_AS)


def test_a_file_excel_saved_with_crlf_has_no_line_ending_warning(tmp_path):
    path = write_rows(tmp_path / "cld.csv", [base_row()])
    assert findings(validate(path), "dlp.line_endings") == []


def test_no_other_save_as_advice_for_the_cld_file():
    """(Reading a mapping's source workbook, cldetl/extract, is another problem.)"""
    advice = re.compile(r"(save|saved)[^.]{0,40}\b(as|from Excel)\b", re.IGNORECASE)
    found = []
    packages = ("validate", "publish", "report", "national", "cli")
    for path in sorted(p for name in packages for p in (ROOT / "cldetl" / name).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in advice.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(ROOT)}", text.splitlines()[line - 1].strip()))
    # One place: the SAVE_AS constant, which every message about saving the file uses.
    assert [(where, text.split(" = ")[0]) for where, text in found] == [
        ("cldetl/validate/csvfile.py", "SAVE_AS")
    ], found
