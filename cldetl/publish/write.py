"""`write`: the run's files, owner-only.

CLD files hold names, NHS numbers, dates of birth and postcodes, so every file is created
owner-only (0600, folders 0700) whatever the umask. The files are written into the run's
private staging folder; cldetl.publish.history publishes the whole run folder with one rename, so
nobody ever sees half of a run.

The CSVs beside the return (exclusions, unmapped codes, reconciliation, lineage, linked people
left out) are opened in Excel by analysts and hold text from the case system: a local code such
as `=HYPERLINK(...)` or `+cmd|...` would run as a formula. `write_csv` writes such a cell with
a leading apostrophe, the CSV form of the workbook's quote prefix (cldetl.report.workbook): text
starting = + - @, a tab or a carriage return, except a plain negative number. The CLD return
itself is never altered (cldetl.publish.portal_file writes it; the validator reports such
values as `dlp.leading_character`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from cldetl.publish.folder import (
    DIR_MODE,
    FILE_MODE,
    NOFOLLOW,
    NONBLOCK,
    Folder,
    OutputError,
    held_folder,
    refuse_unless_folder,
)
from cldetl.spec import load_spec

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "NOFOLLOW",
    "NONBLOCK",
    "OutputError",
    "refuse_unless_folder",
]

# An output folder may be on a shared drive others can write to: nothing cldetl creates, reads
# back or removes under it follows a link planted there (issue 19), and every folder it works
# in under --out is held open by descriptor (cldetl.publish.folder). Where the system has no
# O_NOFOLLOW (Windows) the flag is 0 and the lstat checks do the work.
# What a spreadsheet reads as the start of a formula (as the workbook's FORMULA_PATTERN; tab and
# carriage return because some Excel versions skip them before one).
FORMULA_START = r"^[=+\-@\t\r]"


def cld_file_name(la_code: str, period_end) -> str:
    """The return's file name: LA code and period end, as LAs name their submissions."""
    return f"CLD_R2_{la_code}_{period_end:%Y%m%d}.csv"


def ensure_private_dir(path: Path) -> Path:
    """Make `path` 0700 if missing, and each missing folder above it 0700 too (Path.mkdir
    would make those with the umask's mode); an existing folder keeps the mode its owner gave
    it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True, mode=DIR_MODE)
    return path


def private_dir_in(base: Path, *parts: str) -> Path:
    """`base/parts...`, each folder made 0700 if missing, and each a real folder: a link (or a
    file, FIFO, device) planted at one of them is refused, never followed. Walked down by
    descriptor from `base` (cldetl.publish.folder), so no folder on the way can be swapped."""
    with Folder.open(base) as top, top.down(*parts):
        pass
    return Path(base).joinpath(*parts)


def read_small(path: Path, limit: int) -> bytes | None:
    """The bytes of `path` when it is a regular file (not a link, FIFO or device) of at most
    `limit` bytes; None otherwise. For pointers and manifests others could have replaced."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        data = b""
        while len(data) <= limit:
            block = os.read(fd, limit + 1 - len(data))
            if not block:
                break
            data += block
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


_NEW_OR_REPLACED = {True: os.O_EXCL, False: os.O_TRUNC}


def create_file(path: Path, new: bool) -> int:
    """A file descriptor for writing `path`, 0600. With `new` (every file under --out), the
    file must not exist yet and a link is never followed (O_EXCL | O_NOFOLLOW: a planted file
    or link makes the write fail); without it (a path the user named), it is replaced. In a
    folder cldetl holds open (a run's staging folder), the file is created relative to the
    folder's descriptor, never through a link: a folder swapped on the way changes nothing."""
    path = Path(path)
    folder = held_folder(path.parent)
    if folder is not None:
        return folder.open_file(path.name, os.O_WRONLY | os.O_CREAT | _NEW_OR_REPLACED[new])
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL | NOFOLLOW if new else os.O_TRUNC)
    return os.open(path, flags, FILE_MODE)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A CSV of text columns: header, every value quoted when it holds a comma, quote or line
    break (Arrow's "needed" quoting), formula-like cells neutralised, UTF-8, 0600; a new file
    (written into a run's fresh staging folder), never through a link."""

    text = frame.astype("string").fillna("")
    text = pd.DataFrame({name: neutralised(text[name]) for name in text.columns}, index=text.index)
    table = pa.Table.from_pandas(text, preserve_index=False)
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    fd = create_file(path, new=True)
    with os.fdopen(fd, "wb") as handle:
        pacsv.write_csv(table, handle, write_options=pacsv.WriteOptions(quoting_style="needed"))


def neutralised(text: pd.Series) -> pd.Series:
    """Text a spreadsheet would run as a formula, with a leading apostrophe (shown as text by
    Excel); a plain negative number (the DLP's own exception, spec data) is left as it is."""

    negative = load_spec().dlp["negative_number"]
    formula = text.str.contains(FORMULA_START, regex=True).fillna(False).astype(bool)
    if not formula.any():
        return text
    formula &= ~text.str.fullmatch(negative).fillna(False).astype(bool)
    return text.where(~formula, "'" + text)


def write_text(text: str, path: Path, *, new: bool = False) -> None:
    """`text` in UTF-8, 0600; with `new`, only as a new file, never through a link."""
    fd = create_file(path, new)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
