"""`write`: the run's files, written so that nobody ever sees half of one.

CLD files hold names, NHS numbers, dates of birth and postcodes, so every file is created
owner-only (0600, folders 0700). All of a run's files are written into a private staging folder
beside the output folder and then moved into place one by one with os.replace, which is atomic;
a failure before that leaves the output folder as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

FILE_MODE, DIR_MODE = 0o600, 0o700


def cld_file_name(la_code: str, period_end) -> str:
    """The return's file name: LA code and period end, as LAs name their submissions."""
    return f"CLD_R2_{la_code}_{period_end:%Y%m%d}.csv"


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return path


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A CSV of text columns: header, quotes only where needed, UTF-8, 0600."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(frame.astype("string").fillna(""), preserve_index=False)
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        pacsv.write_csv(table, handle, write_options=pacsv.WriteOptions(quoting_style="needed"))


def write_text(text: str, path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass
class Staging:
    """Files being prepared for an output folder; `commit` moves them all into place."""

    out_dir: Path
    folder: Path
    files: list[str] = field(default_factory=list)

    def path(self, name: str) -> Path:
        self.files.append(name)
        return self.folder / name

    def commit(self) -> list[Path]:
        moved = []
        for name in self.files:
            source = self.folder / name
            target = self.out_dir / name
            if source.is_dir():
                if target.exists():
                    shutil.rmtree(target)
                os.replace(source, target)
            else:
                os.replace(source, target)
            moved.append(target)
        return moved


@contextmanager
def staged(out_dir: str | Path) -> Iterator[Staging]:
    """Write into a private folder under `out_dir`; move into place only if all went well."""
    out = ensure_private_dir(Path(out_dir))
    folder = Path(tempfile.mkdtemp(prefix=".cldetl-staging-", dir=out))
    os.chmod(folder, DIR_MODE)
    try:
        yield Staging(out, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
