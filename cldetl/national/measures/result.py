"""A measure's figure with its numerator, denominator and the records behind it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

RECORD_COLUMNS = ("line", "event_reference", "la_person", "counted", "reason")
# Columns a figure's records carry only when its `behind` has them (after RECORD_COLUMNS):
# the days waited of the waiting times.
OPTIONAL_RECORD_COLUMNS = ("days",)


@dataclass
class Figure:
    """One published figure: a measure for one group of people."""

    measure: str  # e.g. "ASCOF 2B"
    group: str  # e.g. "18 to 64"
    title: str
    numerator: int
    denominator: int | None  # None: a population the authority did not give
    value: float | None  # a rate per 100,000 or a percentage; None without a denominator
    unit: str  # "per 100,000" | "%" | "days (median)"
    cite: str
    # The records behind the figure, kept small (line, counted, reason: see `records`);
    # `people` is the Event Reference and LA person ID of each line, one table shared by every
    # figure of a run (measures() sets it).
    behind: pd.DataFrame = field(default_factory=lambda: records(pd.DataFrame(), [], []))
    people: pd.DataFrame | None = None
    # The measure's records that fall in none of its figures, with why (the waiting times: a
    # request left out before it has a quarter and band), in the layout of `behind`; kept
    # once per measure, on its first figure (None on every other figure and measure).
    unplaced: pd.DataFrame | None = None

    @property
    def records(self) -> pd.DataFrame:
        """Line, Event Reference, LA person ID, counted, reason (and the optional columns
        `behind` has, e.g. days): one row per record."""
        return self._shown(self.behind)

    @property
    def unplaced_records(self) -> pd.DataFrame | None:
        """`unplaced` as `records` shows a record; None when the figure holds none."""
        return None if self.unplaced is None else self._shown(self.unplaced)

    def record_chunks(self, size: int, unplaced: bool = False) -> Iterator[pd.DataFrame]:
        """`records` (or `unplaced_records`) `size` rows at a time, each made when asked: a
        figure's records run to every row of its cohort (hundreds of thousands on a large
        file), so a writer never holds them all with their text."""
        behind = self.unplaced if unplaced else self.behind
        if behind is None:
            return
        for start in range(0, max(len(behind), 1), size):
            yield self._shown(behind.iloc[start : start + size].reset_index(drop=True))

    def _shown(self, behind: pd.DataFrame) -> pd.DataFrame:
        lines = behind["line"].to_numpy(np.int64)
        if self.people is None:
            shown = pd.DataFrame(index=range(len(lines)), columns=["event_reference", "la_person"])
        else:
            shown = self.people.take(_positions(self.people.index, lines)).reset_index(drop=True)
        optional = [c for c in OPTIONAL_RECORD_COLUMNS if c in behind.columns]
        return pd.DataFrame(
            {
                "line": lines,
                "event_reference": shown["event_reference"],
                "la_person": shown["la_person"],
                "counted": behind["counted"].to_numpy(),
                "reason": behind["reason"],
                **{c: behind[c].array for c in optional},
            },
            columns=[*RECORD_COLUMNS, *optional],
        )

    @property
    def value_text(self) -> str:
        """The value as a reader sees it: '12.5 per 100,000', '40.0%', '18.5 days (median)'."""
        if self.value is None:
            return "no rate (no population given)" if self.unit.startswith("per") else "-"
        return f"{self.value}%" if self.unit == "%" else f"{self.value} {self.unit}"

    def as_dict(self, records: bool = False) -> dict:
        """The figure; its records summed by reason (each record is in the records CSV), or
        listed when `records`."""
        out = {
            "measure": self.measure,
            "group": self.group,
            "title": self.title,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "unit": self.unit,
            "cite": self.cite,
        }
        out["records_counted"] = int(self.behind["counted"].sum())
        out["records_by_reason"] = {
            str(k): int(v) for k, v in self.behind["reason"].value_counts(sort=False).items()
        }
        if self.unplaced is not None:
            out["records_in_no_figure_by_reason"] = {
                str(k): int(v) for k, v in self.unplaced["reason"].value_counts(sort=False).items()
            }
        if records:
            out["records"] = _listed(self.records)
            if self.unplaced is not None:
                out["records_in_no_figure"] = _listed(self._shown(self.unplaced))
        return out


def _positions(index: pd.Index, lines: np.ndarray) -> np.ndarray:
    """Where each line is in `index` (the people's lines). The unique events are in file
    order, so the lines are sorted and found by binary search: pandas' get_indexer would
    build, and keep on the index, a hash table of every line (tens of MiB at 1,000,000
    rows)."""
    if not index.is_monotonic_increasing:
        return index.get_indexer(lines)
    known = index.to_numpy(np.int64)
    at = np.searchsorted(known, lines)
    inside = at < len(known)
    found = np.zeros(len(lines), dtype=bool)
    found[inside] = known[at[inside]] == lines[inside]
    return np.where(found, at, -1)


def _listed(table: pd.DataFrame) -> list[dict]:
    table = table.astype(object)
    return table.where(table.notna(), None).to_dict(orient="records")


def records(rows: pd.DataFrame, counted, reason) -> pd.DataFrame:
    """The records behind a figure, as Figure.behind keeps them: the line (int32), counted or
    not, and why (a category, in order of first appearance). A figure's records run to every
    row of its cohort, so nothing of a record's text is copied per figure."""
    codes, reasons = pd.factorize(np.asarray(reason, dtype=object))
    lines = rows["line"].to_numpy(np.int32) if len(rows) else np.zeros(0, np.int32)
    return pd.DataFrame(
        {
            "line": lines,
            "counted": pd.Series(counted, dtype=object).astype(bool).to_numpy(),
            "reason": pd.Categorical.from_codes(codes, categories=pd.Index(reasons, dtype=object)),
        }
    )


def ratio(numerator: int, denominator: int | None, scale: int, places: int) -> float | None:
    if not denominator:
        return None
    return round(numerator / denominator * scale, places)
