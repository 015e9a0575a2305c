"""Crash reports: what an internal error (a cldetl bug) leaves behind instead of a traceback.

A traceback on a console shows whatever the exception's message holds, and an exception raised
deep in a transform can hold a row's values (a name, an NHS number). So the console gets one
line saying where the report is, and the report holds only what a maintainer needs to find the
bug and nothing that could be data: the exception types and, for each frame, the file, line,
function and source line. Exception messages and local variables are never written.

Reports go to `$CLDETL_CRASH_DIR`, else `$XDG_STATE_HOME/cldetl/crash-reports` (default
`~/.local/state/cldetl/crash-reports`), else a new private folder in the temporary folder: the
folder is 0700 and each report 0600, because even frame data is nobody else's business.
"""

from __future__ import annotations

import os
import platform
import tempfile
import traceback
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def crash_folders() -> list[Path]:
    """Where a report may go, most preferred first."""
    folders = []
    if os.environ.get("CLDETL_CRASH_DIR"):
        folders.append(Path(os.environ["CLDETL_CRASH_DIR"]))
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    folders.append(Path(state) / "cldetl" / "crash-reports")
    return folders


def crash_report_text(exc: BaseException, command: str) -> str:
    """The report: versions, the command's name, and the exception chain as types and frames."""

    try:
        cldetl_version = version("cldetl")
    except PackageNotFoundError:
        cldetl_version = "unknown"
    lines = [
        "cldetl crash report (exception messages and variable values are left out: they may "
        "hold personal data)",
        f"time: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"cldetl: {cldetl_version}",
        f"python: {platform.python_version()} ({platform.platform(terse=True)})",
        f"command: cldetl {command}".rstrip(),
        "",
    ]
    for number, link in enumerate(_exception_chain(exc)):
        if number:
            lines.append("")
            lines.append("which happened while handling (or was caused by):")
        lines.append(f"{type(link).__module__}.{type(link).__qualname__}")
        lines.extend(_frames(link.__traceback__))
    return "\n".join(lines) + "\n"


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception, then its cause or context, and so on (each once)."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _frames(tb: TracebackType | None) -> list[str]:
    """File, line, function and code of each frame; `walk_tb` + `extract` never reads locals
    (capture_locals stays False), and the source line is the program's text, not data."""
    summary = traceback.StackSummary.extract(traceback.walk_tb(tb), capture_locals=False)
    out = []
    for frame in summary:
        out.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            out.append(f"    {frame.line.strip()}")
    return out


def save_crash_report(exc: BaseException, command: str = "") -> Path | None:
    """Write the report for `exc` owner-only; its path, or None when no folder would take it."""
    text = crash_report_text(exc, command)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"crash-{stamp}-{os.getpid()}.txt"
    for folder in crash_folders():
        path = _write_private(folder, name, text)
        if path is not None:
            return path

    try:
        folder = Path(tempfile.mkdtemp(prefix="cldetl-crash-"))  # mkdtemp makes it 0700
    except OSError:
        return None
    return _write_private(folder, name, text)


def _write_private(folder: Path, name: str, text: str) -> Path | None:
    """`folder/name` created 0600 in a 0700 folder; None if the folder cannot be used or is
    open to others (a report never goes where other users could read it)."""
    try:
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        if folder.stat().st_mode & 0o077:
            os.chmod(folder, FOLDER_MODE)
        path = folder / name
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(path, flags, FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError:
        return None
    return path
