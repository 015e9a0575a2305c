"""The reader's three crashes on input (issue 19, point 5), each now a one-line exit-2 error or
a finding: run as a user runs them, in a process of its own, so that text printed by a C
callback or an abort would show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cldetl(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "cldetl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finished(process: subprocess.Popen) -> tuple[int, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out + err


def test_an_invalid_byte_after_the_header_prints_no_traceback(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"LA Code,Gender\r\n999,Male\r\n\xff\r\n")
    code, text = finished(cldetl("validate", str(path)))
    assert code == 2, text
    assert "Exception ignored" not in text and "Traceback" not in text
    assert "f.csv: 1 row(s) do not have 2 fields like the header (lines 3)" in text


def test_an_unclosed_quote_on_the_last_row_two_runs_at_once(tmp_path):
    """preview and compare, two at a time (the abort came when two ran at once)."""
    path = tmp_path / "q.csv"
    path.write_bytes(b'LA Code,Gender\r\n999,Male\r\n998,"Fem\r\n')
    for _ in range(2):
        runs = [
            cldetl("preview", str(path)),
            cldetl("compare", str(path), str(path)),
            cldetl("validate", str(path)),
        ]
        for code, text in map(finished, runs):
            assert code == 2, text
            assert "terminate called" not in text and "Traceback" not in text
            assert "line 3: a quoted value is never closed" in text


def test_a_quote_inside_a_value_is_text_not_an_unclosed_quote(tmp_path):
    from cldetl.validate.csvfile import read_cld_csv

    path = tmp_path / "s.csv"
    path.write_bytes(b'LA Code,Gender\r\n999,5"6\r\n')
    assert read_cld_csv(path).frame["Gender"].tolist() == ['5"6']


@pytest.mark.parametrize(
    "header", [["LA Code", "LA Code (2)", "LA Code"], ["LA Code", "LA Code", "LA Code (2)"]]
)
def test_a_header_suffix_collision_is_a_finding_not_a_crash(tmp_path, header):
    from cldetl.validate import validate
    from cldetl.validate.header_row import unique_names
    from tests.conftest import findings

    assert len(set(unique_names(header))) == len(header)
    path = tmp_path / "g.csv"
    path.write_text(",".join(header) + "\r\n1,2,3\r\n", encoding="utf-8")
    report = validate(str(path))
    assert findings(report, "header.duplicate")
