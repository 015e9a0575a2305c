"""`validate`: check a CLD file the way the national portal (DLP) and the Excel validation tool
do, and report every problem as a finding with its rule and guidance section.

The file is read in batches of whole records (`cldetl.validate.csvfile.open_cld_csv`), so memory
does not grow with the file: each batch goes through the row checks and is dropped. What spans the
whole file (one reporting period, repeated rows, the summary counts) is kept as counts and one
hash per row and key, and judged after the last batch; rows are read a second time only when
such a check has something to report on them. The findings are the same whatever the batch
size (tests/test_validate_batches.py).

The order of checks matters only for reading the report; each check sees the raw columns. A
column missing from the header is reported once and its checks skipped, so one wrong header
does not turn into a million row findings.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cldetl.spec import Spec, load_spec
from cldetl.validate.checks import (
    dates,
    file_level,
    headers,
    lists,
    outcome,
    portal,
    privacy,
    rows,
    types,
)
from cldetl.validate.checks.context import CheckContext
from cldetl.validate.csvfile import (
    BATCH_BYTES,
    CldStream,
    CldTable,
    NotUtf8,
    open_cld_csv,
)
from cldetl.validate.findings import FindingSink, ValidationReport
from cldetl.validate.header_row import unique_names

# Row checks, run on each batch; `headers` and the DLP's file rules run once, on the header.
CHECKS = (portal, types, lists, rows, dates, outcome, privacy, file_level)
# Checks that judge the whole file after the last batch (`finish`), before the report.
FINISH = (dates, file_level)
# Batches checked at once: two keep a 2-CPU machine busy (the reader is itself threaded).
WORKERS = min(2, os.cpu_count() or 1)


def validate(
    source: str | Path | CldTable,
    *,
    monthly: bool = False,
    spec: Spec | None = None,
    batch_bytes: int = BATCH_BYTES,
) -> ValidationReport:
    """Validate a CLD CSV (a path, read in batches, or an already read table).

    Args:
        source: the file, or a `CldTable` from `read_cld_csv` (validated as one batch).
        monthly: the authority submits monthly, so a month end that is not a quarter end is fine.
        spec: the specification (Release 2 by default).
        batch_bytes: about how much of the file each batch holds (the findings do not depend
            on it; tests make it tiny).

    Returns:
        The report: findings, counts, rows. Raises InputError only when the file cannot be read.
    """
    return validate_each_batch(source, None, monthly=monthly, spec=spec, batch_bytes=batch_bytes)[0]


# A step a later stage runs on each batch while validate has it parsed (the national preview's
# reduction of a batch to what it keeps): given the batch's checked context and its row
# findings (line, column, rule), it returns something small, which comes back in file order.
# It runs where the batch is checked (a worker process for a large file), so the file is
# parsed once for both.
BatchStep = Callable[[CheckContext, pd.DataFrame], Any]


def validate_each_batch(
    source: str | Path | CldTable,
    step: BatchStep | None,
    *,
    monthly: bool = False,
    spec: Spec | None = None,
    batch_bytes: int = BATCH_BYTES,
) -> tuple[ValidationReport, list]:
    """`validate`, with `step` run on each batch as it is checked: the report and the step's
    results in file order (none for a file over the DLP's size limit, which is not read)."""
    spec = spec or load_spec()
    stream = open_stream(source, batch_bytes)
    try:
        return validate_stream(stream, spec, monthly, step)
    except NotUtf8:
        # A later batch is not UTF-8: the whole file is Windows-1252, as a whole-file read
        # would have decided; start again (the step's results too).
        return validate_stream(stream.as_cp1252(), spec, monthly, step)


def open_stream(source: str | Path | CldTable, batch_bytes: int = BATCH_BYTES) -> CldStream:
    """A path opened for reading in batches, or an in-memory table as a one-batch stream."""
    if not isinstance(source, CldTable):
        return open_cld_csv(source, batch_bytes)
    return CldStream(
        path=source.path,
        header=source.header,
        encoding=source.encoding,
        bom=source.bom,
        size=source.size,
        gzip_size=source.gzip_size,
        too_large=source.too_large,
        table=source,
    )


def validate_stream(
    stream: CldStream, spec: Spec, monthly: bool = False, step: BatchStep | None = None
) -> tuple[ValidationReport, list]:
    """Every check over every batch of `stream`, then the whole-file checks; `step`'s result
    on each batch, in file order."""

    file = _file_table(stream)
    sink = FindingSink(spec, file.lines, column_order=spec.headers)
    shared: dict = {}
    whole = CheckContext(spec=spec, table=file, sink=sink, monthly=monthly, shared=shared)
    portal.check_file(whole)
    if stream.too_large:
        # A file over the DLP's size limit is not read: only its size (and BOM) is reported.
        return _report(stream, 0, sink, {}, monthly), []
    headers.check(whole)
    total = 0
    stepped: list = []
    for part, state, result in _each_batch(stream, spec, monthly, step):
        sink.absorb(part)
        _merge(shared, state)
        total += len(part.lines)
        if step is not None:
            stepped.append(result)
    later = [step for module in FINISH for step in module.finish(whole)]
    if later:
        start = 0
        for batch in stream.batches():
            ctx = _batch_context(spec, batch, sink, monthly, shared, start)
            for step in later:
                step(ctx)
            start += batch.rows
    file_level.settle(whole)
    sink.lines = np.zeros(0, dtype=np.int64)
    report = _report(stream, total, sink, file_level.summary_counts(whole), monthly)
    return report, stepped


def _check_batch(
    spec: Spec, batch: CldTable, monthly: bool, step: BatchStep | None = None
) -> tuple[FindingSink, dict, Any]:
    """The row checks on one batch: its findings, what it leaves for the whole-file checks and
    `step`'s result on it. Nothing is shared with other batches, so two batches can be checked
    at once."""
    sink = FindingSink(spec, batch.lines, column_order=spec.headers)
    state: dict = {}
    ctx = CheckContext(spec=spec, table=batch, sink=sink, monthly=monthly, shared=state)
    for check in CHECKS:
        check.check(ctx)
    file_level.count(ctx)
    result = step(ctx, _row_findings(sink)) if step is not None else None
    return sink, state, result


def _row_findings(sink: FindingSink) -> pd.DataFrame:
    """The row findings of one batch so far (line, column, rule): what a step reads of them."""
    rows = [part[["line", "column", "rule"]] for part in sink.parts()[0]]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ("line", "column", "rule")})
    return pd.concat(rows, ignore_index=True)


def _each_batch(stream: CldStream, spec: Spec, monthly: bool, step: BatchStep | None = None):
    """(findings, state) of each batch, in file order. Batches are parsed and checked in
    WORKERS threads (Arrow's reader and compute functions release the GIL, so both CPUs
    work, as in a bare pyarrow read); at most WORKERS + 1 are in memory at once."""

    # Windows-1252 is decoded by Python's codec from Arrow's threads: that reader stays in
    # this thread (an Arrow thread still decoding when an error ends the process aborts it).
    if stream.table is not None or WORKERS < 2 or stream.text_encoding != "utf8":
        for batch in stream.batches():
            yield _check_batch(spec, batch, monthly, step)
        return
    if stream.gzip_size is None and stream.size >= PROCESS_MIN_BYTES and can_fork():
        yield from _each_batch_in_processes(stream, spec, monthly, step)
        return

    def work(chunk, line, breaks):
        batch = stream.parse(chunk, line, breaks)
        if not batch.rows:
            return None
        return _check_batch(spec, batch, monthly, step)

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="cldetl-validate") as pool:
        jobs = (pool.submit(work, *raw) for raw in stream.chunks())
        yield from in_file_order(jobs, lambda done: done)


def in_file_order(jobs, finish):
    """Results of submitted jobs in the order they were submitted, with at most WORKERS + 1
    running or waiting at once (so memory holds a few batches, not the file); `finish`
    turns a job's result into what the caller yields. Jobs not yet started are cancelled if
    the caller stops early or an error ends the loop."""

    pending: deque = deque()
    try:
        for job in jobs:
            pending.append(job)
            if len(pending) > WORKERS:
                done = pending.popleft().result()
                if done is not None:
                    yield finish(done)
        while pending:
            done = pending.popleft().result()
            if done is not None:
                yield finish(done)
    finally:
        for future in pending:
            future.cancel()


def _each_batch_in_processes(
    stream: CldStream, spec: Spec, monthly: bool, step: BatchStep | None = None
):
    """As `_each_batch`, with the batches checked in WORKERS processes: the checks are mostly
    pandas and Python, which hold the GIL, so threads would take turns. Each worker reads its
    own byte range of the file (only offsets go to it); its findings and state come back,
    in file order. The pool is started here, for large plain files only, and always ended:
    on an error or Ctrl-C the batches not started are cancelled and the workers exit."""

    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        max_workers=WORKERS,
        mp_context=context,
        initializer=_start_worker,
        initargs=(stream, spec, monthly, step),
    )
    jobs = (
        pool.submit(_check_span, offset, len(chunk), line, breaks)
        for chunk, offset, line, breaks in stream.spans()
    )
    try:
        yield from in_file_order(jobs, lambda done: _as_sink(spec, *done))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# Files at least this large are checked in worker processes (smaller ones in threads: a
# process costs more to start than a few batches take to check).
PROCESS_MIN_BYTES = 128 << 20

_WORKER: dict = {}


def can_fork() -> bool:
    """Workers are forked (they inherit the spec and stream, nothing is pickled); where the
    platform cannot fork (Windows), batches are checked in threads as before."""

    return "fork" in multiprocessing.get_all_start_methods()


def _start_worker(stream: CldStream, spec: Spec, monthly: bool, step: BatchStep | None) -> None:
    """A worker process keeps the stream and spec it was forked with; Ctrl-C is the parent's
    to handle (it cancels the work and ends the pool)."""

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with_parent(signal.SIGTERM)
    _WORKER.update(stream=stream, spec=spec, monthly=monthly, step=step)


def end_with_parent(sig: int) -> None:
    """Ask Linux to end this worker when its parent ends (killed, not only Ctrl-C), so that no
    worker is left checking batches nobody will read. Elsewhere the pool's own shutdown is
    all there is."""
    import ctypes.util  # Linux only: prctl(PR_SET_PDEATHSIG)

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, sig)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent ended before the request was made
        os._exit(1)


def _check_span(offset: int, length: int, line: int, breaks: int):
    """In a worker: read one raw batch, parse and check it; the sink's parts, the state and
    the step's result."""
    stream, spec, monthly = _WORKER["stream"], _WORKER["spec"], _WORKER["monthly"]
    batch = stream.parse(stream.read_span(offset, length), line, breaks)
    if not batch.rows:
        return None
    sink, state, result = _check_batch(spec, batch, monthly, _WORKER["step"])
    return sink.lines, sink.parts(), state, result


def _as_sink(spec: Spec, lines, parts, state: dict, result) -> tuple[FindingSink, dict, Any]:
    sink = FindingSink(spec, lines, column_order=spec.headers)
    sink.take_parts(parts)
    return sink, state, result


def _merge(into: dict, part: dict) -> None:
    """Add one batch's state to the file's: lists are extended, counts added, dictionaries
    merged key by key (in first-seen order, which the summary counts keep)."""
    for key, value in part.items():
        if key not in into:
            into[key] = value
        elif isinstance(value, dict):
            _merge(into[key], value)
        elif isinstance(value, list):
            into[key].extend(value)
        else:
            into[key] += value


def _batch_context(spec, batch, sink, monthly, shared, start) -> CheckContext:
    sink.lines = batch.lines
    return CheckContext(
        spec=spec, table=batch, sink=sink, monthly=monthly, shared=shared, start=start
    )


def _file_table(stream: CldStream) -> CldTable:
    """The file without its rows: what the header and file-level checks look at."""

    names = unique_names(stream.header)
    frame = pd.DataFrame({i: pd.Series(dtype="string[pyarrow]") for i in range(len(names))})
    frame.columns = names
    return stream.rows_table(frame, np.zeros(0, dtype=np.int64))


def _report(stream: CldStream, total: int, sink: FindingSink, counts, monthly: bool):
    return ValidationReport(
        file=stream.path,
        rows=total,
        findings=sink.frame(),
        counts=counts,
        encoding=stream.encoding,
        monthly=monthly,
        header=stream.header if not stream.too_large else [],
    )
