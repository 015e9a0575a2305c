"""Validation reads a file in batches (cldetl.validate, cldetl.validate.csvfile.open_cld_csv): the
findings, counts and rows must not depend on where the batches are cut. Each file here has its
problems placed across batch boundaries (rows that repeat rows of an earlier batch, a
reporting period that differs on a few rows, quoted line breaks and blank lines shifting the
physical lines, Windows-1252 text first met after the first batch) and is validated with
batches of one record, of a few rows and of the whole file."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import OTHER_NHS, REQUEST, REVIEW, row, write_rows
from tests.test_validate_rules import ALL_TABLES

WHOLE = 1 << 30


def _rule_case_rows() -> list[dict[str, str]]:
    """The rows of every rule case of tests/test_validate_rules.py that uses the standard
    header, one after the other: every rule fails somewhere in the file, and the rows of one
    case repeat or contradict those of another (period, duplicates) many batches apart."""
    rows = []
    for table in ALL_TABLES:
        for param in table:
            _, case_rows, _, options = param.values
            if options.get("header") is None:
                rows.extend(case_rows)
    return rows


def _problem_rows() -> list[dict[str, str]]:
    """Valid rows with repeats and odd rows spread through the file."""
    rows = [
        row(
            REQUEST,
            **{
                "Event Reference": f"R{i}",
                "Event Start Date": f"{1 + i % 28:02d}/{10 + i // 28}/2024",
            },
        )
        for i in range(40)
    ]
    rows[3]["Event Description"] = "first line\nsecond line"  # a quoted line break
    rows[9] = dict(rows[1])  # an exact repeat of a row several batches back
    rows[15] = dict(rows[2], **{"Event Reference": "R99"})  # the same request, another reference
    rows[21]["Event Reference"] = "R5"  # a repeated reference
    rows[27]["LA Code"] = "999"  # a period field that differs from the file's
    rows[33] = dict(rows[9])  # a third copy
    rows[35]["NHS Number"] = OTHER_NHS[0]
    rows[36] = row(REVIEW, **{"Event Reference": "R5"})  # same reference, another event type
    rows[38]["Event Description"] = "=HYPERLINK(x)"
    return rows


def _findings(report) -> pd.DataFrame:
    return report.findings.astype(object).where(report.findings.notna(), None)


def _same(path, sizes=(700, 3_000, WHOLE)):
    reports = [validate(path, batch_bytes=size) for size in sizes]
    reports.append(validate(read_cld_csv(path)))
    first = reports[0]
    for other in reports[1:]:
        pd.testing.assert_frame_equal(_findings(other), _findings(first))
        assert other.counts == first.counts
        assert list(other.counts) == list(first.counts)
        assert [list(c) for c in other.counts.values()] == [list(c) for c in first.counts.values()]
        assert (other.rows, other.encoding, other.header) == (
            first.rows,
            first.encoding,
            first.header,
        )
    return first


def test_every_rule_case_in_one_file_gives_the_same_findings_in_batches(tmp_path):
    path = write_rows(tmp_path / "cases.csv", _rule_case_rows())
    report = _same(path, sizes=(9_000, 40_000, WHOLE))
    rules = set(report.findings["rule"])
    # The cross-row rules fire across batch boundaries in this file.
    assert {"file.duplicate_row", "file.duplicate_event", "period.consistent"} <= rules


def test_repeats_and_odd_rows_across_batches(tmp_path):
    path = write_rows(tmp_path / "cld.csv", _problem_rows())
    report = _same(path)
    rules = report.findings["rule"].value_counts().to_dict()
    assert rules["file.duplicate_row"] == 2
    assert rules["file.duplicate_event"] == 1
    assert rules["file.duplicate_reference"] == 1
    assert rules["period.consistent"] == 1
    assert rules["dlp.leading_character"] == 1
    repeats = report.findings[report.findings["rule"] == "file.duplicate_row"]
    # Row 9 (line 12: line 5 holds a quoted line break) repeats row 1 on line 3.
    assert list(repeats["line"]) == [12, 36]
    assert all("repeats line 3 exactly" in m for m in repeats["message"])


def test_blank_lines_bom_and_gzip(tmp_path):
    path = write_rows(tmp_path / "cld.csv", _problem_rows())
    data = path.read_bytes().replace(b"\r\nT", b"\r\n\r\nT", 5)
    path.write_bytes(b"\xef\xbb\xbf" + data)
    plain = _same(path)
    zipped = tmp_path / "cld.csv.gz"
    zipped.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    pd.testing.assert_frame_equal(_findings(_same(zipped)), _findings(plain))


def test_windows_1252_first_met_after_the_first_batch(tmp_path):
    rows = _problem_rows()
    rows[30]["Event Description"] = "Café visit"
    path = write_rows(tmp_path / "cld.csv", rows, encoding="cp1252")
    report = _same(path, sizes=(700, WHOLE))
    assert report.encoding == "cp1252"
    assert report.rows == len(rows)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(size=st.integers(min_value=300, max_value=20_000))
def test_any_batch_size_gives_the_findings_of_the_whole_file(tmp_path, size):
    path = tmp_path / "cld.csv"
    if not path.exists():
        write_rows(path, _problem_rows())
    whole = validate(path, batch_bytes=WHOLE)
    report = validate(path, batch_bytes=size)
    pd.testing.assert_frame_equal(_findings(report), _findings(whole))
    assert report.counts == whole.counts


def test_a_ragged_row_in_a_later_batch_names_every_ragged_line(tmp_path):
    from cldetl.errors import InputError

    path = write_rows(tmp_path / "cld.csv", _problem_rows())
    lines = path.read_bytes().split(b"\r\n")
    lines[30] = lines[30] + b",extra"
    lines[8] = lines[8] + b",extra"
    path.write_bytes(b"\r\n".join(lines))
    messages = set()
    for size in (1, 700, WHOLE):
        with pytest.raises(InputError) as caught:
            validate(path, batch_bytes=size)
        messages.add(str(caught.value))
    assert len(messages) == 1
    assert "2 row(s) do not have 48 fields" in messages.pop()
