"""Owner-only report files: reports list line numbers and identifiers of people's records.

The report folder is created 0700 and every file in it 0600, whatever the umask, and a file is
never written through a symbolic link someone left in the folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from cldetl.errors import UsageError


def private_dir(path: Path) -> None:
    """Create `path` owner-only; an existing directory keeps its own permissions."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file; --report takes a folder for the report.")
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        os.chmod(path, 0o700)


def open_private(path: Path) -> BinaryIO:
    """`path` opened for writing bytes, owner-only, refusing to follow a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def write_private(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path`, owner-only."""
    with open_private(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def lock_down(root: Path) -> None:
    """Owner-only permissions for everything under `root` (libraries use the process umask)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o700)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o600)
