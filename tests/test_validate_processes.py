"""Large plain files are checked in worker processes (cldetl.validate, PROCESS_MIN_BYTES): the
findings, counts and errors must be those of the in-thread path, and no worker may outlive
the call, whether it ends well or with an error."""

from __future__ import annotations

import multiprocessing

import pandas as pd
import pytest

import cldetl.validate as validate_module
from cldetl.errors import InputError
from cldetl.validate import validate
from tests.conftest import write_rows
from tests.test_validate_batches import _findings, _problem_rows, _rule_case_rows


def _both(path, monkeypatch, size):
    monkeypatch.setattr(validate_module, "PROCESS_MIN_BYTES", 1 << 62)
    threads = validate(path, batch_bytes=size)
    monkeypatch.setattr(validate_module, "PROCESS_MIN_BYTES", 0)
    processes = validate(path, batch_bytes=size)
    assert multiprocessing.active_children() == []
    return threads, processes


@pytest.mark.parametrize(
    ("rows", "size"), [(_rule_case_rows, 9_000), (_problem_rows, 700), (_problem_rows, 1 << 30)]
)
def test_processes_find_what_threads_find(tmp_path, monkeypatch, rows, size):
    path = write_rows(tmp_path / "cld.csv", rows())
    threads, processes = _both(path, monkeypatch, size)
    assert len(threads.findings) > 0
    pd.testing.assert_frame_equal(_findings(processes), _findings(threads))
    assert processes.counts == threads.counts
    assert [list(c) for c in processes.counts.values()] == [
        list(c) for c in threads.counts.values()
    ]
    assert processes.rows == threads.rows


def test_an_error_in_a_worker_is_the_same_error_and_ends_the_workers(tmp_path, monkeypatch):
    path = write_rows(tmp_path / "cld.csv", _problem_rows())
    lines = path.read_bytes().split(b"\r\n")
    lines[30] = lines[30] + b",extra"
    path.write_bytes(b"\r\n".join(lines))
    monkeypatch.setattr(validate_module, "PROCESS_MIN_BYTES", 0)
    with pytest.raises(InputError, match="1 row"):
        validate(path, batch_bytes=700)
    assert multiprocessing.active_children() == []
