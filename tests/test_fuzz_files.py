"""Seeded fuzzing of the CLD reader (issue 19, point 5): thousands of small, broken CLD files
through `cldetl validate`, and some through `preview` and `compare`; none may print a traceback
("Traceback", or "Exception ignored" from a callback), crash (exit 70) or abort. Each file is
one of a few shapes (a valid header and rows) with a few random faults laid on it: invalid
bytes, stray and unclosed quotes, line breaks, NULs, byte order marks, repeated headers, gzip
magic, long values, other delimiters, truncation. The seed is fixed: a failure names the case,
and `FUZZ_SEED=<n>` runs another sample."""

from __future__ import annotations

import os
import random
import sys

import pytest
from click.testing import CliRunner

from cldetl.cli import cli
from tests.conftest import base_row

SEED = int(os.environ.get("FUZZ_SEED", "19"))
FILES = 1500
HEADER = list(base_row())
ROW = list(base_row().values())
FAULTS = [
    b"\xff", b"\xfe\xff", b"\x00", b'"', b'""', b"\r", b"\n", b"\r\n", b",", b";", b"\t",
    b"\x81", b"\xc3", b"\xe2\x80", b"\xef\xbb\xbf", b"\x1f\x8b", b"=", b"\x85", b"\xe2\x80\xa8",
    b"LA Code", b"LA Code (2)", b'"a\r\nb"', b"x" * 200, b"\\",
]  # fmt: skip


def _shape(rng: random.Random) -> bytes:
    """A small CLD-like file: some or all of the header, a few rows."""
    width = rng.choice([2, 3, 5, len(HEADER)])
    names = HEADER[:width] if width < len(HEADER) else HEADER
    if rng.random() < 0.2:  # a repeated or colliding header
        names = names + [rng.choice(["LA Code", "LA Code (2)", names[-1]])]
    rows = [",".join(names)]
    for _ in range(rng.randint(0, 4)):
        cells = (ROW + [""])[: len(names)]
        rows.append(",".join(c.replace(",", " ") for c in cells))
    newline = rng.choice(["\r\n", "\n"])
    data = (newline.join(rows) + rng.choice([newline, ""])).encode("utf-8")
    return data


def _fault(rng: random.Random, data: bytes) -> bytes:
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        at = rng.randint(0, len(data))
        if kind < 0.55:
            data = data[:at] + rng.choice(FAULTS) + data[at:]
        elif kind < 0.7:
            data = data[:at]  # cut short
        elif kind < 0.8:
            data = data[:at] + data[at + rng.randint(1, 20) :]
        elif kind < 0.9:
            data = data + b'999,"unclosed' + rng.choice([b"", b"\r\n", b"\n"])
        else:
            data = (
                data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + data[at:]
            )
    return data


def _cases(count: int):
    rng = random.Random(SEED)
    for i in range(count):
        yield i, _fault(rng, _shape(rng))


def _check(result, case: int, data: bytes, command: str) -> str | None:
    text = (result.output or "") + (getattr(result, "stderr", "") or "")
    if result.exit_code not in (0, 1, 2):
        return f"{command} case {case}: exit {result.exit_code} on {data[:120]!r}"
    for bad in ("Traceback", "Exception ignored"):
        if bad in text:
            return f"{command} case {case}: {bad!r} printed on {data[:120]!r}"
    return None


@pytest.fixture
def unraisable(monkeypatch):
    """Exceptions a C callback could only print (pyarrow's "Exception ignored ..."): kept."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: seen.append(repr(info.exc_value)))
    return seen


def test_broken_files_give_a_finding_or_a_one_line_error(tmp_path, unraisable):
    runner = CliRunner()
    problems = []
    for case, data in _cases(FILES):
        path = tmp_path / f"case{case}.csv"
        path.write_bytes(data)
        result = runner.invoke(cli, ["validate", str(path)])
        problem = _check(result, case, data, "validate")
        if unraisable:
            problem = f"validate case {case}: Exception ignored {unraisable[0]} on {data[:120]!r}"
            unraisable.clear()
        if problem:
            problems.append(problem)
        path.unlink()
    assert not problems, "\n".join(problems[:20])


def test_broken_files_through_preview_and_compare(tmp_path, unraisable):
    runner = CliRunner()
    problems = []
    good = tmp_path / "good.csv"
    good.write_bytes(_shape(random.Random(SEED)))
    for case, data in _cases(FILES // 10):
        path = tmp_path / f"case{case}.csv"
        path.write_bytes(data)
        for args in (["preview", str(path)], ["compare", str(path), str(good)]):
            result = runner.invoke(cli, args)
            problem = _check(result, case, data, args[0])
            if unraisable:
                problem = f"{args[0]} case {case}: Exception ignored {unraisable[0]}"
                unraisable.clear()
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems[:20])
