"""The batches' compact rows, held compressed until a whole-file step reads them.

Why: the preview keeps a few dozen fields of every row of the file (preview._rows: about 140
bytes a row) while validate reads the rest of it. Held as they are, they put the preview's main
process above the peak of `cldetl validate` itself (issue 19 point 9: 1,000,000 rows, 139 MiB
of compact rows). So each batch's columns are packed where the batch is reduced (a worker
process for a large file): their buffers compressed with Arrow's LZ4 codec, dates as whole
days. The generated 1,000,000-row file's compact rows pack to about a third (docs/benchmarks.md).
The whole-file steps then open a column only when they read it (`CompactRows`), so the columns
kept for the measures stay packed while the unique events are found.

Packing is exact: a column unpacked has the dtype, values and missing values it was packed
with (tests/test_national_compact.py); a column of a kind not listed here is kept as it is.
Nothing leaves memory: no temporary file holds the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

CODEC = "lz4"
_DAY = 86_400_000_000  # microseconds: a date at midnight is a whole number of these
_NO_DAY = np.iinfo(np.int32).min  # NaT among whole days


@dataclass(frozen=True)
class Packed:
    """One batch's column, packed. kind: "numbers" (a NumPy buffer), "days" (datetime64 at
    midnight as int32 days), "categories" (the codes packed, the categories as they are),
    "masked" (a nullable array's values and mask), "arrow" (an Arrow-backed array as one
    compressed IPC stream) or "as_is" (not packed)."""

    kind: str
    length: int
    dtype: object
    buffers: tuple = ()
    categories: pd.Index | None = None
    column: pd.Series | None = None  # "as_is" only


def _squeezed(values: np.ndarray) -> bytes:
    return pa.compress(np.ascontiguousarray(values), CODEC, asbytes=True)


def _opened(buffer: bytes, dtype: np.dtype, length: int) -> np.ndarray:
    """The buffer decompressed into a writable array (Arrow's buffer, not a copy)."""
    dtype = np.dtype(dtype)
    if length == 0:
        return np.empty(0, dtype=dtype)
    raw = pa.decompress(buffer, length * dtype.itemsize, CODEC, asbytes=False)
    return np.frombuffer(raw, dtype=dtype)


def pack(column: pd.Series) -> Packed:
    """A column packed (see the kinds on `Packed`); its index is not kept (the batches are
    joined numbered from 0)."""
    array, n, dtype = column.array, len(column), column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.asarray(array.codes)
        return Packed("categories", n, dtype, (_squeezed(codes), codes.dtype), dtype.categories)
    if isinstance(array, pd.arrays.ArrowStringArray | pd.arrays.ArrowExtensionArray):
        chunked = array._pa_array  # the Arrow data pandas holds (no copy)
        sink = pa.BufferOutputStream()
        options = pa.ipc.IpcWriteOptions(compression=CODEC)
        with pa.ipc.new_stream(sink, pa.schema([("v", chunked.type)]), options=options) as out:
            out.write_table(pa.table({"v": chunked}))
        return Packed("arrow", n, dtype, (sink.getvalue().to_pybytes(),))
    if isinstance(array, pd.arrays.IntegerArray | pd.arrays.FloatingArray | pd.arrays.BooleanArray):
        data, mask = array._data, array._mask
        return Packed("masked", n, dtype, (_squeezed(data), data.dtype, _squeezed(mask)))
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        values = np.asarray(array)
        ticks = values.view(np.int64)
        missing = np.isnat(values)
        if dtype == np.dtype("datetime64[us]") and not (ticks[~missing] % _DAY).any():
            days = np.where(missing, _NO_DAY, ticks // _DAY).astype(np.int32)
            return Packed("days", n, dtype, (_squeezed(days),))
        return Packed("numbers", n, dtype, (_squeezed(ticks),))
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return Packed("numbers", n, dtype, (_squeezed(np.asarray(array)),))
    return Packed("as_is", n, dtype, column=column.reset_index(drop=True))


def unpack(packed: Packed) -> pd.Series:
    """The column as it was packed, numbered from 0."""
    kind, n, dtype = packed.kind, packed.length, packed.dtype
    if kind == "as_is":
        return packed.column
    if kind == "categories":
        codes = _opened(packed.buffers[0], packed.buffers[1], n)
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype))
    if kind == "arrow":
        table = pa.ipc.open_stream(packed.buffers[0]).read_all()
        return pd.Series(pd.array(table.column("v"), dtype=dtype))
    if kind == "masked":
        data = _opened(packed.buffers[0], packed.buffers[1], n)
        mask = _opened(packed.buffers[2], np.bool_, n)
        return pd.Series(dtype.construct_array_type()(data, mask))
    return pd.Series(_numbers(packed), copy=False)  # the decompressed buffer, not a copy


def _numbers(packed: Packed) -> np.ndarray:
    """A "numbers" or "days" column's values as their NumPy dtype."""
    if packed.kind == "numbers":
        stored = np.int64 if packed.dtype.kind == "M" else packed.dtype
        return _opened(packed.buffers[0], stored, packed.length).view(packed.dtype)
    days = _opened(packed.buffers[0], np.int32, packed.length)
    ticks = days.astype(np.int64) * _DAY
    ticks[days == _NO_DAY] = np.iinfo(np.int64).min  # NaT
    return ticks.view(packed.dtype)


def joined(name: str, packs: list[Packed]) -> pd.Series:
    """One field's packed batches as one column, named `name`, numbered from 0. Categories are
    merged in order of first appearance and held as plain text whatever a batch made of them
    (a batch where a field is blank has no text categories), as pandas' union_categoricals
    gives them without its copies; other kinds are joined a batch at a time."""
    kinds = {p.kind for p in packs}
    if kinds == {"categories"}:
        return pd.Series(_joined_categories(packs), name=name)
    if kinds <= {"numbers", "days"} and len({p.dtype for p in packs}) == 1:
        out = np.empty(sum(p.length for p in packs), dtype=packs[0].dtype)
        at = 0
        for p in packs:
            out[at : at + p.length] = _numbers(p)
            at += p.length
        return pd.Series(out, name=name, copy=False)
    return pd.concat([unpack(p) for p in packs], ignore_index=True).rename(name)


def _joined_categories(packs: list[Packed]) -> pd.Categorical:
    """Each batch's codes renumbered through a small table into the union of the categories."""
    categories = pd.Index(
        pd.unique(np.concatenate([np.asarray(p.categories, dtype=object) for p in packs])),
        dtype=object,
    )
    codes = np.empty(sum(p.length for p in packs), dtype=np.int32)
    at = 0
    for p in packs:
        table = np.append(categories.get_indexer(np.asarray(p.categories, dtype=object)), -1)
        codes[at : at + p.length] = table[_opened(p.buffers[0], p.buffers[1], p.length)]
        at += p.length  # code -1 (blank) takes the table's last entry: -1
    return pd.Categorical.from_codes(codes, categories=categories)


class CompactRows(MutableMapping):
    """The file's compact rows, a column each, from the batches' packed columns: a column is
    joined and unpacked the first time it is read and held open from then on; `pop` and `del`
    let it go. Columns set are held as given. Names keep the batches' order."""

    def __init__(self, batches: list[dict[str, Packed]]):
        names = list(batches[0]) if batches else []
        self._packed: dict[str, list[Packed]] = {n: [b.pop(n) for b in batches] for n in names}
        self._open: dict[str, pd.Series] = {}
        self._order = names

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self._open:
            if name not in self._packed:
                raise KeyError(name)
            self._open[name] = joined(name, self._packed.pop(name))
        return self._open[name]

    def close(self, name: str) -> None:
        """Pack an open column again (read now, read again much later)."""
        if name in self._open:
            self._packed[name] = [pack(self._open.pop(name))]

    def __setitem__(self, name: str, column: pd.Series) -> None:
        self._packed.pop(name, None)
        if name not in self._order:
            self._order.append(name)
        self._open[name] = column

    def __delitem__(self, name: str) -> None:
        if name not in self._open and name not in self._packed:
            raise KeyError(name)
        self._open.pop(name, None)
        self._packed.pop(name, None)
        self._order.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._open or name in self._packed


class PackedFrame:
    """Columns of one length held packed, each opened only while a step reads it.

    Why: the unique events are kept from the preview's whole-file steps to the last measure,
    and each measure reads a dozen of their columns. Held open, every column of every event
    stays resident through all of them (about 100 MiB at 1,000,000 rows: with the measures'
    working copies, above the peak of `cldetl validate`, issue 17 point 5); packed, a measure
    opens the columns it reads (`frame`) and lets them go when it is done."""

    def __init__(self, columns: dict[str, pd.Series] | None = None, length: int = 0):
        self._packed: dict[str, Packed] = {}
        self._length = length
        for name, column in (columns or {}).items():
            self[name] = column

    def __setitem__(self, name: str, column: pd.Series) -> None:
        if self._packed and len(column) != self._length:
            raise ValueError(f"{name}: {len(column)} rows where the others have {self._length}")
        self._length = len(column)
        self._packed[name] = pack(column)

    def __getitem__(self, name: str) -> pd.Series:
        """The column opened (a new array each time: nothing is kept open), numbered from 0."""
        return unpack(self._packed[name]).rename(name)

    def __contains__(self, name: object) -> bool:
        return name in self._packed

    def __len__(self) -> int:
        return self._length

    @property
    def columns(self) -> list[str]:
        return list(self._packed)

    def frame(self, names: Iterable[str] | None = None) -> pd.DataFrame:
        """The columns named (those held, in the order asked; every column without `names`)
        opened as a DataFrame numbered from 0, each column its own array (no copy into
        blocks)."""
        chosen = [n for n in (self.columns if names is None else names) if n in self._packed]
        if not chosen:
            return pd.DataFrame(index=pd.RangeIndex(self._length))
        return pd.concat([self[n] for n in chosen], axis=1, keys=chosen)

    def select(self, names: Iterable[str]) -> PackedFrame:
        """The packed columns named (those held), in that order; nothing is copied."""
        out = PackedFrame(length=self._length)
        out._packed = {n: self._packed[n] for n in names if n in self._packed}
        return out

    def without(self, names: Iterable[str]) -> PackedFrame:
        """The packed columns but those named; nothing is copied."""
        dropped = set(names)
        return self.select([n for n in self._packed if n not in dropped])
