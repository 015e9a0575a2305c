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

from cldetl.errors import CldetlError
from cldetl.spec import load_spec

FILE_MODE, DIR_MODE = 0o600, 0o700
# An output folder may be on a shared drive others can write to: nothing cldetl creates, reads
# back or removes under it follows a link planted there (issue 19). Where the system has no
# O_NOFOLLOW (Windows) the flag is 0 and the lstat checks below do the work.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO opened for a read must not hang the run
# What a spreadsheet reads as the start of a formula (as the workbook's FORMULA_PATTERN; tab and
# carriage return because some Excel versions skip them before one).
FORMULA_START = r"^[=+\-@\t\r]"


def cld_file_name(la_code: str, period_end) -> str:
    """The return's file name: LA code and period end, as LAs name their submissions."""
    return f"CLD_R2_{la_code}_{period_end:%Y%m%d}.csv"


class OutputError(CldetlError):
    """The output folder cannot take a run: not a folder, read-only, full, or in use."""


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
    file, FIFO, device) planted at one of them is refused, never followed. `base` itself is
    the user's --out, taken as given."""
    path = Path(base)
    for part in parts:
        path = path / part
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            pass
        refuse_unless_folder(path)
    return path


def refuse_unless_folder(path: Path) -> None:
    """OutputError unless `path` is a real folder (not a link to one)."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        what = "a link" if stat.S_ISLNK(info.st_mode) else "not a folder"
        raise OutputError(
            f"{path} is {what}; cldetl writes only into real folders inside the output folder "
            "(someone else may have put it there). Remove it, or choose another --out."
        )


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


def _create(path: Path, new: bool) -> int:
    """A file descriptor for writing `path`, 0600. With `new` (every file under --out), the
    file must not exist yet and a link is never followed (O_EXCL | O_NOFOLLOW: a planted file
    or link makes the write fail); without it (a path the user named), it is replaced."""
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
    fd = _create(path, new=True)
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
    fd = _create(path, new)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
