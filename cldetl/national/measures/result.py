"""A measure's figure with its numerator, denominator and the records behind it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

RECORD_COLUMNS = ("line", "event_reference", "la_person", "counted", "reason")


@dataclass
class Figure:
    """One published figure: a measure for one group of people."""

    measure: str  # e.g. "ASCOF 2B"
    group: str  # e.g. "18 to 64"
    title: str
    numerator: int
    denominator: int | None  # None: a population the authority did not give
    value: float | None  # a rate per 100,000 or a percentage; None without a denominator
    unit: str  # "per 100,000" | "%"
    cite: str
    records: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RECORD_COLUMNS))

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
        out["records_counted"] = int(self.records["counted"].sum())
        out["records_by_reason"] = {
            str(k): int(v) for k, v in self.records["reason"].value_counts(sort=False).items()
        }
        if records:
            out["records"] = self.records.to_dict(orient="records")
        return out


def records(rows: pd.DataFrame, counted, reason) -> pd.DataFrame:
    """The records behind a figure: line, Event Reference, LA person ID, in or out and why."""
    return pd.DataFrame(
        {
            "line": rows["line"].astype("int64").to_numpy(),
            "event_reference": rows["event_reference"].astype("string").to_numpy(),
            "la_person": rows["la_person"].astype("string").to_numpy(),
            "counted": pd.Series(counted).astype(bool).to_numpy(),
            "reason": np.asarray(reason, dtype=object),
        },
        columns=list(RECORD_COLUMNS),
    )


def ratio(numerator: int, denominator: int | None, scale: int, places: int) -> float | None:
    if not denominator:
        return None
    return round(numerator / denominator * scale, places)
