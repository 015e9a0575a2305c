"""`cldetl ... | head`: when the reader of stdout goes away the command ends quietly, still
does the rest of its work (a report it was asked for) and exits with its own code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEFECTS = Path(__file__).parent / "data" / "defects.csv"


def first_line_then_close(args: list[str]) -> tuple[int, str]:
    """Run `python -m cldetl ARGS`, read one line of stdout, close the pipe (as `head -1`
    does), and return the exit code and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cldetl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode("utf-8", "replace")
    process.stderr.close()
    return process.wait(timeout=300), stderr


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    """A file with errors whose JSON report is far larger than a pipe's buffer."""
    lines = DEFECTS.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path_factory.mktemp("pipe") / "big.csv"
    path.write_text(lines[0] + "".join(lines[1:] * 20), encoding="utf-8")
    return path


def test_validate_into_a_closed_pipe_still_writes_its_report_and_exits_1(big_file, tmp_path):
    report = tmp_path / "report"
    code, stderr = first_line_then_close(
        ["validate", str(big_file), "--format", "json", "--report", str(report)]
    )
    assert code == 1  # the file has errors: the same code as without the pipe
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    assert "Exception ignored" not in stderr
    assert (report / "report.html").is_file() and (report / "findings.xlsx").is_file()


def test_spec_into_a_closed_pipe_exits_0_quietly():
    code, stderr = first_line_then_close(["spec", "--format", "json"])
    assert code == 0
    assert stderr == ""
