"""The waiting times computed in a forked child (national/alongside.py) while the ASCOF measures
run in the main process: on a large file only, and the figures must be the very ones the
one-process run makes, records and all, in the same order. An error in the child reaches the
caller as the error it was, and no child is left behind."""

from __future__ import annotations

import multiprocessing
import sys

import pytest

from cldetl.national import preview
from cldetl.national.alongside import Alongside
from cldetl.national.measures import measures
from cldetl.validate import can_fork, validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import write_rows
from tests.test_national_waiting_times import PERIOD, POPULATION

needs_fork = pytest.mark.skipif(not can_fork(), reason="the platform cannot fork")


@pytest.fixture(scope="module")
def waiting_preview(tmp_path_factory):
    path = write_rows(tmp_path_factory.mktemp("al") / "cld.csv", [dict(r) for r in POPULATION])
    table = read_cld_csv(path)
    return preview(table, validate(table), reference=PERIOD)


@needs_fork
def test_the_figures_are_the_same_with_the_waiting_times_forked(waiting_preview, monkeypatch):
    forks = []
    real_init = Alongside.__init__

    def counting(self, job, fork):
        forks.append(fork)
        real_init(self, job, fork)

    monkeypatch.setattr(Alongside, "__init__", counting)
    here = [f.as_dict(records=True) for f in measures(waiting_preview, alongside_from=10**9)]
    forked = [f.as_dict(records=True) for f in measures(waiting_preview, alongside_from=0)]
    assert forks == [False, True]
    assert any(f["measure"].startswith("Wait") and f["numerator"] for f in forked)
    assert forked == here
    assert multiprocessing.active_children() == []


def _fails():
    raise ValueError("the job's own error")


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "here"])
def test_an_error_in_the_job_reaches_the_caller(fork):
    if fork and not can_fork():
        pytest.skip("the platform cannot fork")
    with pytest.raises(ValueError, match="the job's own error"):
        with Alongside(_fails, fork=fork) as job:
            job.result()
    assert multiprocessing.active_children() == []


@needs_fork
def test_the_job_runs_in_another_process_only_when_forked():
    import os

    with Alongside(os.getpid, fork=True) as job:
        assert job.result() != os.getpid()
    with Alongside(os.getpid, fork=False) as job:
        assert job.result() == os.getpid()


# --- The pool's settings (mutmut run dev-G, 7 December 2026): each survivor of
# `Alongside.__init__` gave the same figures, so these pin what the settings are for.


def _sigint_handler():
    import signal

    return signal.getsignal(signal.SIGINT)


@needs_fork
def test_the_job_gets_one_child_that_leaves_ctrl_c_to_the_parent():
    # One job, one forked child (max_workers=1): a fork pool starts all its workers at once,
    # each a copy of the parent's memory. The child ignores Ctrl-C (its initializer), so an
    # interrupt reaches the parent alone, which ends the pool.
    import signal

    with Alongside(_sigint_handler, fork=True) as job:
        assert len(multiprocessing.active_children()) == 1
        assert job.result() == signal.SIG_IGN
    assert multiprocessing.active_children() == []


def _death_signal():
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    sig = ctypes.c_int(0)
    libc.prctl(2, ctypes.byref(sig))  # PR_GET_PDEATHSIG
    return sig.value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
@needs_fork
def test_the_child_ends_when_the_parent_is_killed():
    # The child asks Linux for SIGTERM when its parent ends, killed included (not only
    # Ctrl-C), so no child is left computing waiting times nobody will read.
    import signal

    with Alongside(_death_signal, fork=True) as job:
        assert job.result() == signal.SIGTERM


@needs_fork
def test_the_child_is_forked_whatever_the_default_start_method():
    # The job reaches the child by inheritance (nothing pickled), so the pool must fork even
    # where the default start method is not fork (macOS; Python 3.14's forkserver): under spawn
    # the child starts without the job and fails.
    previous = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("spawn", force=True)
    try:
        with Alongside(lambda: "inherited", fork=True) as job:
            assert job.result() == "inherited"
    finally:
        multiprocessing.set_start_method(previous, force=True)
