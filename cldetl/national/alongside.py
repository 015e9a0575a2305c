"""One job run in a forked process while this one goes on: the second CPU core, used.

After validate (which reads the file in two worker processes) the national steps run in one
process, leaving a core idle. The measures are independent of one another: the waiting times
(the longest) run in a forked child while this process computes the ASCOF measures. The child
inherits what the job reads (fork: nothing is pickled on the way in, as validate's workers
inherit the file); only the job's result comes back. Where the platform cannot fork
(Windows), or the job is small, it runs here when its result is asked for: the result is the
same either way (tests/test_national_alongside.py).
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from cldetl.validate import can_fork, end_with_parent

_JOB: dict[str, Callable[[], Any]] = {}


class Alongside:
    """job() started in a forked child (when `fork` and the platform can), its result given by
    `result()`; used as a context manager so the child is always ended, on an error too."""

    def __init__(self, job: Callable[[], Any], fork: bool) -> None:
        self._job, self._pool, self._future = job, None, None
        if fork and can_fork():
            _JOB["job"] = job  # inherited by the child forked at submit
            try:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=_start_child,
                )
                self._future = self._pool.submit(_run_inherited)
            finally:
                _JOB.clear()  # the parent keeps no second reference to what the job reads

    def result(self) -> Any:
        if self._future is None:
            return self._job()
        return self._future.result()

    def __enter__(self) -> Alongside:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _start_child() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    end_with_parent(signal.SIGTERM)


def _run_inherited() -> Any:
    return _JOB["job"]()
