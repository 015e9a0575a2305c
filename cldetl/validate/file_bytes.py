"""The bytes of a CLD file: opened only when it is a regular file, decompressed when gzipped,
its start read for the header, and the rest cut into batches of whole records (never a record
split between two batches), so that memory does not grow with the file."""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from contextlib import contextmanager

import numpy as np

from cldetl.errors import InputError

UTF8_BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
# The start of the file read before parsing: the header, the next line and the NUL screen.
HEAD_BYTES = 65_536


def open_regular(path: str):
    """Open `path` for reading only if it is a regular file: a FIFO would hang the read and a
    device such as /dev/zero never ends."""
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file. Check the path.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be opened ({exc.strerror}).") from None
    if stat.S_ISDIR(before.st_mode):
        raise InputError(f"{path}: is a folder, not a CSV file.")
    if not stat.S_ISREG(before.st_mode):
        raise InputError(
            f"{path}: is not a regular file (a device, pipe or socket); cldetl reads only "
            "regular files. Save the return to a file and validate that."
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"{path}: cannot be opened ({exc.strerror}).") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"{path}: is not a regular file; cldetl reads only regular files.")
    return os.fdopen(fd, "rb")


@contextmanager
def open_data(path: str, gzipped: bool):
    """The file's bytes, decompressed if it is a gzip file."""
    with open_regular(path) as handle:
        if not gzipped:
            yield handle
            return
        with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
            try:
                yield unzipped
            except (OSError, EOFError, zlib.error) as exc:
                raise InputError(
                    f"{path}: starts like a gzip file but cannot be decompressed ({exc}). "
                    "Compress it again, or submit the plain .csv."
                ) from None


def skip_bytes(handle, count: int) -> None:
    if not count:
        return
    if isinstance(handle, gzip.GzipFile):
        while count:
            got = len(handle.read(min(count, 1 << 24)))
            if not got:
                return
            count -= got
    else:
        handle.seek(count)


def record_chunks(handle, size: int):
    """Blocks of about `size` bytes cut after a line break outside quotes (an even number of
    quote characters before it), so that no record is split between two batches. Each block
    is read into a buffer of its own (the rows are parsed in other threads), without copying
    it again: a memoryview of the whole records, the partial last record carried over."""

    left = _bytes_left(handle)
    rest = b""
    while True:
        # No bigger than what is left of a plain file (a small file must not cost a 32 MB
        # buffer per batch); one byte more, to see the end.
        want = size if left is None else max(1, min(size, left + 1))
        buffer = bytearray(len(rest) + want)
        buffer[: len(rest)] = rest
        got = handle.readinto(memoryview(buffer)[len(rest) :]) or 0
        end = len(rest) + got
        if left is not None:
            left -= got
        if not got:
            if rest:
                yield memoryview(rest)
            return
        data = memoryview(buffer)[:end]
        cut = buffer.rfind(b"\n", 0, end)
        if cut >= 0:
            quotes = np.count_nonzero(np.frombuffer(data, np.uint8, count=cut) == 34)
            while cut >= 0 and quotes % 2:
                before = buffer.rfind(b"\n", 0, cut)
                quotes -= buffer.count(b'"', before + 1, cut)
                cut = before
        if cut < 0:
            rest = bytes(data)
            continue
        rest = bytes(data[cut + 1 :])
        yield data[: cut + 1]


def _bytes_left(handle) -> int | None:
    """Bytes from here to the end of a plain file; None when unknown (gzip)."""
    if isinstance(handle, gzip.GzipFile):
        return None
    try:
        return max(0, os.fstat(handle.fileno()).st_size - handle.tell())
    except (AttributeError, OSError, ValueError):
        return None


def uncompressed_size(path: str, handle, max_bytes: int) -> int:
    """The uncompressed size, decompressing no further than the DLP's limit (a gzip bomb
    costs a read of max_bytes at most, never the memory)."""
    total = 0
    try:
        with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
            while total <= max_bytes:
                block = unzipped.read(1 << 24)
                if not block:
                    break
                total += len(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(
            f"{path}: starts like a gzip file but cannot be decompressed ({exc}). "
            "Compress it again, or submit the plain .csv."
        ) from None
    return total


def read_head(handle) -> bytes:
    """The start of the file: at least HEAD_BYTES, and on to the end of line 2 (or the file's
    end; a file without a line feed is read whole, to say that it is not CSV)."""
    head = handle.read(HEAD_BYTES)
    while True:
        first = head.find(b"\n")
        if first >= 0 and head.find(b"\n", first + 1) >= 0:
            return head
        block = handle.read(HEAD_BYTES)
        if not block:
            return head
        head += block
