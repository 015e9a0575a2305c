"""Python's cyclic garbage collector, paused where a stage makes millions of short-lived
objects that hold no reference cycles.

Each fetched chunk of rows is tens of thousands of tuples, and the transform's Arrow-to-Python
steps make lists and strings by the hundred thousand; every so many allocations Python walks
every live object looking for cycles, again and again. At a million CLD rows those walks were
a quarter of the extract's and a sixth of the transform's time. Reference counting still frees
everything at once; only cycles wait until the collector is back on (afterwards, also on an
error), so memory is unchanged (the end-to-end benchmark measures it).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block, then as it was (on, unless someone turned it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
