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


def ends_at_next(frame: pd.DataFrame) -> np.ndarray:
    """The ISO end date of each of a person's dated rows (addresses, support reasons): the day
    before the person's next row starts; None for the last."""
    nxt = frame.groupby("person")["start"].shift(-1)
    return iso((nxt - 1).fillna(NA_DAY).astype(np.int64).to_numpy())


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

    def keyed(self, table: str, key: str, records: dict, columns: tuple[str, ...], **after) -> None:
        """A row per record {id: (values...)}: `key` the id, then `columns` the values. Each
        `after` column follows the column it names, its value computed from that one's:
        after={"cqc_location_id": ("provider_id", function)}."""
        for record_id, values in records.items():
            row = {key: record_id}
            for column, value in zip(columns, values, strict=True):
                row[column] = value
                for name, (follows, compute) in after.items():
                    if follows == column:
                        row[name] = compute(value)
            self.add(table, **row)

    def dated(
        self, table: str, key: str, person: int, entries: list, columns: tuple[str, ...], end: str
    ) -> None:
        """A person's dated rows (addresses, support reasons), numbered person * 10 + i, each
        open (`end` blank)."""
        for i, values in enumerate(entries):
            row = {key: person * 10 + i, "person_id": person}
            self.add(table, **row, **dict(zip(columns, values, strict=True)), **{end: None})


def cqc_location(prefix: str):
    """The story rows' CQC location ID of a provider code (None for none), as
    `cqc_locations` gives it (the story providers are all registered)."""
    return lambda provider: None if provider is None else f"{prefix}{int(provider[2:]):08d}"
