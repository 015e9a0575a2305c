"""What the example generators (`eastmoor.py`, `westvale.py`) share: the way a table schema is
written down, the story people's rows, and the steps that lay the population out alike in
both systems (periods that end where the next begins, dates of birth kept out of identifiers,
CQC location IDs).

Nothing here draws a random number: each system's module keeps its own draws in its own order,
so that a seed gives the same database whichever module lays it out.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Numeric, String, Table

from .population import NA_DAY, dob_inside, iso

NOT_CQC_REGISTERED = {"PR20", "PR80"}
"""The example providers that are not registered with the CQC (no location ID)."""

_COLUMN = re.compile(
    r"\s*(?P<name>\w+) (?P<kind>int|date|datetime|text|numeric)"
    r"(?:\((?P<size>\d+)(?:,(?P<scale>\d+))?\))?(?P<flags>(?: key| index)*)\s*(?:,|$)"
)


def schema(metadata: MetaData, declared: str) -> dict[str, Table]:
    """The tables `declared` in a compact text: one table a paragraph, its name, a colon and
    its columns (`name kind[(size)] [key] [index]`, separated by commas; kind is int, date,
    datetime, text(n) or numeric(p,s); a line that starts with a space continues the one
    above). Returns {table name: Table}, in the order declared."""
    tables = {}
    for paragraph in re.split(r"\n(?=\S)", declared.strip()):
        name, columns = paragraph.split(":", 1)
        text = " ".join(columns.split())
        found = list(_COLUMN.finditer(text))
        if "".join(m.group(0) for m in found) != text:
            raise ValueError(f"table {name}: cannot read its columns {text!r}")
        tables[name] = Table(name, metadata, *(_column(m) for m in found))
    return tables


def _column(declared: re.Match) -> Column:
    size, scale, flags = declared["size"], declared["scale"], declared["flags"].split()
    kind = {
        "int": Integer,
        "date": Date,
        "datetime": DateTime,
        "text": String(int(size or 0) or None),
        "numeric": Numeric(int(size or 0) or None, int(scale or 0) or None),
    }[declared["kind"]]
    options = {"primary_key": True} if "key" in flags else {}
    if "index" in flags:
        options["index"] = True
    return Column(declared["name"], kind, **options)


def person_periods(
    frame: pd.DataFrame, pid: np.ndarray, key: str, first_id: int, values: dict, dates: tuple
) -> pd.DataFrame:
    """A table of dated rows (addresses, support reasons) from the population's `frame`
    (person, start, ...): `key` numbered from `first_id`, the person's id, `values` (column:
    array), then the start and end `dates` (column names), each row ending the day before the
    person's next one starts (the last one open)."""
    nxt = frame.groupby("person")["start"].shift(-1)
    start, end = dates
    return pd.DataFrame(
        {
            key: np.arange(first_id, first_id + len(frame)),
            "person_id": pid[frame["person"].to_numpy()],
            **values,
            start: iso(frame["start"].to_numpy()),
            end: iso((nxt - 1).fillna(NA_DAY).astype(np.int64).to_numpy()),
        }
    )


def avoid_dob_in_ids(people: pd.DataFrame, *records: tuple) -> pd.DataFrame:
    """Move a date of birth by a day where it would show inside the person's own id or the id
    of one of their records (the validator's privacy check would rightly flag it).

    records: (ids, person rows) pairs, each person row the position of its owner in `people`.
    """
    people = people.copy()
    ids = np.concatenate(
        [people["person_id"].to_numpy(), *(np.asarray(i) for i, _ in records)]
    ).astype(np.int64)
    owner = np.concatenate([np.arange(len(people)), *(np.asarray(o) for _, o in records)])
    for _ in range(10):
        bad = dob_inside(people["dob"].to_numpy()[owner], ids)
        if not bad.any():
            break
        rows = people.index[np.unique(owner[bad])]
        people.loc[rows, "dob"] = people.loc[rows, "dob"] + 1
    return people


def cqc_locations(provider: pd.Series, prefix: str) -> pd.Series:
    """A fictional CQC location ID per provider code `PRnn` (`prefix` + the number in eight
    digits); none for unregistered providers."""
    number = provider.str.slice(2).astype("Int64")
    out = (prefix + number.astype("string").str.zfill(8)).astype(object)
    out[provider.isna() | provider.isin(NOT_CQC_REGISTERED)] = None
    return out


def with_story(frames: dict[str, pd.DataFrame], story: StoryRows | None) -> dict:
    """The random population's tables with the story people's rows after them."""
    if story is not None:
        for name, rows in story.tables.items():
            frames[name] = pd.concat([frames[name], pd.DataFrame(rows)], ignore_index=True)
    return frames


class StoryRows:
    """The story people's rows, table by table: literal data, no randomness."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict]] = {}

    def add(self, table: str, **row) -> None:
        self.tables.setdefault(table, []).append(row)

    def keyed(self, table: str, key: str, records: dict, columns: tuple, **more) -> None:
        """A row per record {id: (values...)}: `key` the id, `columns` the values, then `more`
        columns, each a value or a function of the row so far."""
        for record_id, values in records.items():
            row = {key: record_id, **dict(zip(columns, values, strict=True))}
            row.update({name: v(row) if callable(v) else v for name, v in more.items()})
            self.add(table, **row)

    def dated(
        self, table: str, key: str, person: int, entries: list, columns: tuple[str, ...], end: str
    ) -> None:
        """A person's dated rows (addresses, support reasons), numbered person * 10 + i, each
        open (`end` blank)."""
        for i, values in enumerate(entries):
            row = {key: person * 10 + i, "person_id": person}
            self.add(table, **row, **dict(zip(columns, values, strict=True)), **{end: None})


def cqc_location(prefix: str, provider_column: str):
    """A story row's CQC location ID (a function of the row, for `StoryRows.keyed`): from its
    provider code as `cqc_locations` makes it (the story providers are all registered)."""

    def location(row: dict) -> str | None:
        provider = row[provider_column]
        return None if provider is None else f"{prefix}{int(provider[2:]):08d}"

    return location
