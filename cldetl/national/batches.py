"""The file read for the preview a batch at a time, in worker processes when it is large.

Each batch is reduced where it is read to what the preview keeps for the whole file (its
compact rows, its stated period, its DQ pairs: `Part`), so memory holds a few parsed batches and
the compact rows, not the file. A large plain file is read in forked worker processes, as
`cldetl validate` reads it (cldetl/validate/__init__.py, same pool, same file order, same
limits): the steps are mostly pandas, which holds the GIL, so threads would take turns.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cldetl.national.compact import Packed
from cldetl.spec import Spec
from cldetl.validate import PROCESS_MIN_BYTES, WORKERS, can_fork, end_with_parent, in_file_order
from cldetl.validate.checks.context import CheckContext
from cldetl.validate.csvfile import CldStream, CldTable
from cldetl.validate.findings import FindingSink


@dataclass
class Part:
    """What one batch leaves for the preview."""

    rows: dict[str, Packed]  # a column each (preview._rows), packed (compact.py)
    stated: tuple[pd.Timestamp, pd.Timestamp]
    dq_counts: np.ndarray  # rows per DQ field and pair value (data_quality.dq_counts)
    dq_pairs: pd.DataFrame | None  # per row; None when the preview keeps no per-row codes


# reduce(ctx, findings of the batch) -> Part, given by the preview (it owns the steps).
Reduce = Callable[[CheckContext, pd.DataFrame], Part]


def batch_parts(
    stream: CldStream | None,
    table: CldTable | None,
    spec: Spec,
    findings: pd.DataFrame,
    reduce: Reduce,
) -> Iterator[Part]:
    """Each batch's Part, in file order: a table given is one batch; a large plain file is read
    in worker processes, anything else here."""
    if table is not None:
        yield _part(spec, table, findings, reduce)
        return
    assert stream is not None
    if (
        WORKERS >= 2
        and stream.gzip_size is None
        and stream.text_encoding == "utf8"
        and stream.size >= PROCESS_MIN_BYTES
        and can_fork()
    ):
        yield from _in_processes(stream, spec, findings, reduce)
        return
    for batch in stream.batches():
        yield _part(spec, batch, findings, reduce)


def _part(spec: Spec, batch: CldTable, findings: pd.DataFrame, reduce: Reduce) -> Part:
    ctx = CheckContext(spec=spec, table=batch, sink=FindingSink(spec, batch.lines, spec.headers))
    lines = np.asarray(batch.lines, dtype=np.int64)
    if len(lines):
        mine = findings[findings["line"].between(int(lines[0]), int(lines[-1]))]
    else:
        mine = findings.iloc[:0]
    return reduce(ctx, mine)


_WORKER: dict = {}


def _in_processes(stream: CldStream, spec: Spec, findings: pd.DataFrame, reduce: Reduce):
    """The batches reduced in WORKERS forked processes (they inherit the stream, spec, findings
    and steps; only byte offsets go to them and only the compact Parts come back). The pool is
    always ended: on an error or Ctrl-C the batches not started are cancelled."""
    pool = ProcessPoolExecutor(
        max_workers=WORKERS,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(stream, spec, findings, reduce),
    )
    jobs = (
        pool.submit(_reduce_span, offset, len(chunk), line, breaks)
        for chunk, offset, line, breaks in stream.spans()
    )
    try:
        yield from in_file_order(jobs, lambda done: done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(stream, spec, findings, reduce) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with_parent(signal.SIGTERM)
    _WORKER.update(stream=stream, spec=spec, findings=findings, reduce=reduce)


def _reduce_span(offset: int, length: int, line: int, breaks: int) -> Part | None:
    """In a worker: read one raw batch, parse and reduce it."""
    stream = _WORKER["stream"]
    batch = stream.parse(stream.read_span(offset, length), line, breaks)
    if not batch.rows:
        return None
    return _part(_WORKER["spec"], batch, _WORKER["findings"], _WORKER["reduce"])
