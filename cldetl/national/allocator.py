"""One allocator for the whole-file steps: Arrow's buffers from the C library's malloc, as
NumPy's and pandas' are.

The preview's whole-file steps and the measures pass columns back and forth between pandas
(NumPy, glibc's malloc) and Arrow (its own mimalloc pool). Each allocator keeps what a step
frees for its own later use, so memory one of them frees cannot serve the other, and the peak
of a 1,000,000-row `cldetl measures` holds both pools' leftovers: 770-785 MiB with Arrow's
pool, 663-688 MiB with Arrow on the system allocator for these steps (`cldetl preview`: 643 to
600 MiB; docs/benchmarks.md). Set only around the whole-file steps, in the process that runs
them: validate's worker processes keep Arrow's own pool (switched for the whole command, the
peak was 703-713 MiB: the batches the main process unpickles then fragment the one heap).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa


@contextmanager
def one_allocator() -> Iterator[None]:
    """Arrow allocates from the system allocator inside the block, and from the pool it had
    before after it (buffers remember the pool they came from, so either may free them)."""
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)
