"""No POSIX-only call without a tested fallback (issue 20, point 1). CI cannot run Windows, so
each Windows branch is run here on Linux with what Windows lacks taken away: os.pread and
os.pwrite, fcntl (a stand-in with msvcrt's byte-range `locking` takes its place), symbolic
links (a user without the privilege), opening a folder to fsync it."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

import cldetl.validate
from cldetl.extract.database import _sqlite_read_only, create_engine
from cldetl.publish import history
from cldetl.publish.history import (
    LATEST,
    LATEST_POINTER,
    MANIFEST,
    RunLockedError,
    latest_run,
    period_folder,
    run_lock,
    switch_latest,
)
from tests.conftest import base_row, write_rows


class StandInMsvcrt:
    """msvcrt's `locking` as Windows does it: `nbytes` from the file's current position, a
    non-blocking lock refused (OSError) while another process holds an overlapping one. Made of
    POSIX record locks, which are per process too."""

    LK_UNLCK, LK_NBLCK = 0, 2

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        where = os.lseek(fd, 0, os.SEEK_CUR)
        self.calls.append((mode, where))
        if mode == self.LK_UNLCK:
            fcntl.lockf(fd, fcntl.LOCK_UN, nbytes, where, os.SEEK_SET)
            return
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, nbytes, where, os.SEEK_SET)
        except BlockingIOError:
            raise PermissionError(13, "Permission denied") from None  # as msvcrt raises


@pytest.fixture
def windows_locks(monkeypatch):
    stand_in = StandInMsvcrt()
    monkeypatch.setattr(history, "LOCKS", stand_in)
    monkeypatch.delattr(os, "pread", raising=False)  # not on Windows
    monkeypatch.delattr(os, "pwrite", raising=False)
    return stand_in


def test_the_run_lock_holds_across_processes_with_windows_locks(windows_locks, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ctx = multiprocessing.get_context("fork")
    locked, release = ctx.Event(), ctx.Event()

    def holder():
        with run_lock(out):
            locked.set()
            release.wait(30)
        os._exit(0)

    child = ctx.Process(target=holder)
    child.start()
    try:
        assert locked.wait(30)
        # Refused, naming the holder: its pid is readable, the locked byte is far past it.
        with pytest.raises(RunLockedError, match=f"process {child.pid}"), run_lock(out):
            pass
    finally:
        child.kill()  # killed while holding it: the system releases the lock
        child.join(30)
    with run_lock(out) as path:
        assert path.read_text() == f"{os.getpid()}\n"
    assert (windows_locks.LK_NBLCK, history.WINDOWS_LOCK_OFFSET) in windows_locks.calls
    assert (windows_locks.LK_UNLCK, history.WINDOWS_LOCK_OFFSET) in windows_locks.calls
    assert (out / ".cldetl" / "lock").read_text() == ""  # released: no holder named


def test_without_symbolic_links_latest_json_names_the_run(monkeypatch, tmp_path):
    def no_privilege(*args, **kwargs):
        raise OSError(1314, "A required privilege is not held by the client")

    monkeypatch.setattr(os, "symlink", no_privilege)
    end = date(2025, 9, 30)
    folder = period_folder(tmp_path, end)
    run = folder / "run-0001-20251005T060000Z"
    run.mkdir(parents=True)
    (run / MANIFEST).write_text("{}")
    switch_latest(folder, run.name)
    assert not (folder / LATEST).exists()
    assert (folder / LATEST_POINTER).is_file()
    assert latest_run(tmp_path, end) == run


def test_a_folder_that_cannot_be_opened_is_not_fsynced(monkeypatch, tmp_path):
    real_open = os.open

    def windows_open(path, flags, *args):
        if os.path.isdir(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", windows_open)
    history._fsync_dir(tmp_path)  # no error: Windows cannot open a folder, nothing to flush


def test_a_sqlite_path_is_opened_by_its_file_uri(tmp_path):
    """SQLite's documented URI form (file:///C:/Users/... on Windows): spaces and '#' in a
    folder name, as in 'C:\\Users\\Ann Smith\\OneDrive - Council', still open it read-only."""
    path = tmp_path / "OneDrive - Council #2" / "cms reporting.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (a INTEGER)")
    url = f"sqlite:///{path}"
    assert _sqlite_read_only(make_url(url)).database == path.as_uri()
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM t")).scalar() == 0
        with pytest.raises(OperationalError, match="readonly"):
            connection.execute(text("INSERT INTO t VALUES (1)"))


def test_without_fork_a_large_file_is_checked_in_threads_alike(monkeypatch, tmp_path):
    """Windows cannot fork: the batches of a file large enough for worker processes are
    checked in threads instead, with the same findings."""
    rows = [base_row() for _ in range(40)] + [{**base_row(), "Gender": "female"}]
    path = write_rows(tmp_path / "cld.csv", rows)
    monkeypatch.setattr(cldetl.validate, "PROCESS_MIN_BYTES", 1)
    monkeypatch.setattr(cldetl.validate, "WORKERS", 2)
    in_processes = []
    real = cldetl.validate._each_batch_in_processes

    def spy(*args):
        in_processes.append(True)
        yield from real(*args)

    monkeypatch.setattr(cldetl.validate, "_each_batch_in_processes", spy)
    forked = cldetl.validate.validate(path)
    assert in_processes == [True]
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    threads = cldetl.validate.validate(path)
    assert in_processes == [True]  # not again: threads
    assert [f.as_dict() for f in threads.records()] == [f.as_dict() for f in forked.records()]
    assert threads.errors == forked.errors > 0
