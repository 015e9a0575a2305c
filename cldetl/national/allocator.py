"""How the preview's whole-file steps ask the allocators for memory, so that memory freed by
one step serves the next instead of staying resident: Arrow's buffers from the C library's
malloc as NumPy's are (`one_allocator`), free pages given back after each step (`give_back`),
two malloc arenas (`two_malloc_arenas`), large blocks mapped on their own
(`large_blocks_mapped`). Each is measured in benchmarks/national.py.

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

import ctypes
import ctypes.util
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

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


@cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has malloc_trim and mallopt), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 (glibc only: elsewhere AttributeError)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def give_back() -> bool:
    """After a whole-file step has let go of its working copies, ask glibc to return the free
    pages inside its heap (malloc_trim). Freed memory sits between live blocks; the next
    step's blocks seldom fit those holes, so without this they stay resident under the new
    ones: a 1,000,000-row `cldetl preview` peaked at 498 MiB without it, 428 MiB with it
    after each whole-file step (docs/benchmarks.md). False where the C library is not glibc
    (nothing is asked)."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def two_malloc_arenas() -> bool:
    """Ask glibc for at most two malloc arenas in this process. The batches' compact rows are
    unpickled by the worker pool's own thread, in an arena of its own, and the whole-file
    steps then allocate in the main one: the two fragment each other, and the peak (measured
    at 1,000,000 rows, docs/benchmarks.md) is about 13% lower with two arenas, at the same
    CPU time. False where the C library is not glibc (nothing is asked)."""
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt(-8, 2)  # M_ARENA_MAX
    return True


# Blocks from this size up are mapped by glibc's malloc on their own (mmap) and unmapped when
# freed, whatever blocks were freed before.
MAPPED_FROM = 1 << 20


def large_blocks_mapped() -> bool:
    """Ask glibc to map every block of MAPPED_FROM bytes or more on its own, and so give it
    back to the system the moment it is freed. By default glibc raises that threshold to the
    size of the largest block freed so far (up to 32 MiB): after the first whole-file column
    is let go, the next ones (a few MiB each at 1,000,000 rows) come from the heap, whose free
    pages stay resident between live blocks, and the peak of `cldetl measures` holds them
    (measured at 1,000,000 rows: docs/benchmarks.md). Setting the threshold turns that
    adjustment off. False where the C library is not glibc (nothing is asked)."""
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt(-3, MAPPED_FROM)  # M_MMAP_THRESHOLD
    return True
