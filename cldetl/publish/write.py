"""`write`: the run's files, owner-only.

CLD files hold names, NHS numbers, dates of birth and postcodes, so every file is created
owner-only (0600, folders 0700) whatever the umask. The files are written into the run's
private staging folder; cldetl.publish.history publishes the whole run folder with one rename, so
nobody ever sees half of a run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pacsv

if TYPE_CHECKING:
    import pandas as pd

FILE_MODE, DIR_MODE = 0o600, 0o700


def cld_file_name(la_code: str, period_end) -> str:
    """The return's file name: LA code and period end, as LAs name their submissions."""
    return f"CLD_R2_{la_code}_{period_end:%Y%m%d}.csv"


def ensure_private_dir(path: Path) -> Path:
    """Make `path` 0700 if missing (an existing folder keeps the mode its owner gave it)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return path


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A CSV of text columns: header, every value quoted when it holds a comma, quote or line
    break (Arrow's "needed" quoting), UTF-8, 0600."""

    table = pa.Table.from_pandas(frame.astype("string").fillna(""), preserve_index=False)
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        pacsv.write_csv(table, handle, write_options=pacsv.WriteOptions(quoting_style="needed"))


def write_text(text: str, path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
