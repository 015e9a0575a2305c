"""Where init-mapping and profile keep the rows they read: an owner-only folder of the user's
own, never the shared temporary folder, removed on exit and, after a kill, on the next start.

The extract stages each source as a Parquet file (people.parquet holds names and dates of
birth). A run has its own staging inside its output folder; onboarding has no output folder,
and `$TMPDIR` is often shared and rarely cleaned, so a killed `init-mapping` used to leave
personal data there for good. Here each process stages in `<cache>/cldetl/staging/<pid>-<id>/`
(0700): removed when the command ends (a SIGTERM or Ctrl-C included), and any folder whose
process is gone is removed when the next command starts.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

STALE_SECONDS = 24 * 3600
"""Where a process cannot be asked whether it is alive (Windows), a folder this old is stale."""


def staging_root() -> Path:
    """The user's cache folder for cldetl's onboarding staging (never `$TMPDIR`)."""

    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "cldetl" / "staging"


def _alive(pid: int) -> bool:
    if sys.platform == "win32":
        return True  # decided by age instead (os.kill(pid, 0) is not a probe on Windows)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(root: Path) -> list[Path]:
    """Remove the staging folders of processes that are gone (killed before their clean-up)."""

    removed = []
    if not root.is_dir():
        return removed
    for entry in root.iterdir():
        if entry.is_symlink() or not entry.is_dir():
            continue
        pid_text = entry.name.split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        old = time.time() - entry.stat().st_mtime > STALE_SECONDS
        if int(pid_text) != os.getpid() and (not _alive(int(pid_text)) or old):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _owner_only_folder(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.is_symlink() or not path.is_dir():
        raise OSError(f"{path} is not a folder")
    with contextlib.suppress(OSError):  # not supported everywhere (Windows ACLs)
        os.chmod(path, 0o700)


@contextlib.contextmanager
def onboarding_staging() -> Iterator[Path]:
    """An owner-only staging folder for this command, removed however it ends (bar SIGKILL,
    which the next command's start clears up)."""

    root = staging_root()
    _owner_only_folder(root)
    remove_stale(root)
    folder = root / f"{os.getpid()}-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    previous = None
    in_main = threading.current_thread() is threading.main_thread()
    if in_main and hasattr(signal, "SIGTERM"):

        def terminated(signum, frame):  # a kill -TERM runs the clean-up below
            raise SystemExit(128 + signum)

        previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
