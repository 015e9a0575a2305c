"""What the report needs of the file, and no more: its name, the LA code and reporting period
it states, its records by event type, and the Event Reference and LA Person ID on the lines
that have findings.

Why a summary and not the table: a report on a million-row file (`cldetl validate FILE
--report`) would otherwise hold every row in memory beside the validator's own batches. The
summary is gathered batch by batch from the same reader the validator uses (`from_file`), so
memory is one batch plus the findings; a table already in memory (a run of the pipeline) gives
the same summary at once (`from_table`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cldetl.validate.csvfile import CldTable, NotUtf8, open_cld_csv

EVENT_TYPE = "Event Type"
CLIENT_TYPE = "Client Type"
EVENT_REFERENCE = "Event Reference"
PERSON_ID = "LA Person Unique Identifier"
BY_ASSOCIATION = "Unpaid carer known by association"
# The summary reads the file in the report's own process, one batch at a time, after validate
# (whose batches are parsed in worker processes): smaller batches than validate's keep this
# process's peak near validate's (a parsed batch of text is several times its bytes).
SUMMARY_BATCH_BYTES = 4 * 1024 * 1024
# The label of the rows that are not events (the guidance: such a row "carries person details
# and unpaid carer information but no event details"), and of any other blank Event Type.
BY_ASSOCIATION_LABEL = f"{BY_ASSOCIATION} (no event)"
BLANK_LABEL = "(Event Type blank)"
FACT_COLUMNS = {
    "la_code": "LA Code",
    "period_start": "Reporting Period Start Date",
    "period_end": "Reporting Period End Date",
}


@dataclass
class FileSummary:
    """The file as the report uses it (see the module docstring).

    event_types: records by event type label (blank Event Types named, never blank).
    facts: la_code, period_start, period_end (most common values; dates as dates) and
        authority (a label for a file that did not come from a run).
    identifiers: event_reference and person_id, indexed by line, for the lines asked for.
    """

    path: str
    event_types: pd.Series
    facts: dict[str, Any]
    identifiers: pd.DataFrame = field(default_factory=pd.DataFrame)


def event_type_labels(frame: pd.DataFrame) -> pd.Series:
    """Event Type per record, a blank one named: by-association rows are not events."""
    if EVENT_TYPE not in frame.columns:
        return pd.Series(BLANK_LABEL, index=frame.index, dtype=object)
    values = frame[EVENT_TYPE].astype(object)
    blank = values.fillna("").str.strip().eq("")
    if CLIENT_TYPE in frame.columns:
        association = frame[CLIENT_TYPE].fillna("").str.strip().eq(BY_ASSOCIATION)
    else:
        association = pd.Series(False, index=frame.index)
    values = values.mask(blank & association, BY_ASSOCIATION_LABEL)
    return values.mask(blank & ~association, BLANK_LABEL)


class _Gatherer:
    """Counts and identifiers collected one batch at a time."""

    def __init__(self, lines: np.ndarray):
        self.wanted = np.unique(np.asarray(lines, dtype="int64"))
        self.types: Counter[str] = Counter()
        self.facts: dict[str, Counter[str]] = {k: Counter() for k in FACT_COLUMNS}
        self.found: list[pd.DataFrame] = []

    def add(self, batch: CldTable) -> None:
        frame = batch.frame
        self.types.update(event_type_labels(frame).value_counts().to_dict())
        for key, column in FACT_COLUMNS.items():
            if column in frame.columns:
                values = frame[column]
                self.facts[key].update(values[values.str.strip() != ""].value_counts().to_dict())
        lines = np.asarray(batch.lines, dtype="int64")
        keep = np.isin(lines, self.wanted)
        if keep.any():
            part = pd.DataFrame(index=pd.Index(lines[keep], name="line"))
            for key, column in (("event_reference", EVENT_REFERENCE), ("person_id", PERSON_ID)):
                values = frame[column].to_numpy(dtype=object)[keep] if column in frame else ""
                part[key] = values
            self.found.append(part)

    def summary(self, path: str) -> FileSummary:
        types = pd.Series(self.types, dtype="int64")
        types = types.sort_values(ascending=False, kind="stable") if len(types) else types
        facts: dict[str, Any] = {}
        for key, counts in self.facts.items():
            # The most common value; ties go to the first in sorted order (as pandas' mode).
            value = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counts else ""
            if key != "la_code" and value:
                try:
                    value = datetime.strptime(value, "%d/%m/%Y").date()
                except ValueError:
                    pass
            facts[key] = value
        facts["authority"] = (
            f"LA code {facts['la_code']}" if facts["la_code"] else "Authority not stated"
        )
        identifiers = (
            pd.concat(self.found)
            if self.found
            else pd.DataFrame(
                {"event_reference": [], "person_id": []}, index=pd.Index([], name="line")
            )
        )
        return FileSummary(path, types, facts, identifiers)


def from_table(table: CldTable, lines: Any = ()) -> FileSummary:
    """The summary of a table already in memory (identifiers for `lines`)."""
    gatherer = _Gatherer(np.asarray(lines))
    gatherer.add(table)
    return gatherer.summary(table.path)


def from_file(
    path: str | Path, lines: Any = (), batch_bytes: int = SUMMARY_BATCH_BYTES
) -> FileSummary:
    """The summary of a file read batch by batch (identifiers for `lines`)."""
    stream = open_cld_csv(path, batch_bytes)
    for attempt in (stream, stream.as_cp1252()):
        gatherer = _Gatherer(np.asarray(lines))
        try:
            for batch in attempt.batches():
                gatherer.add(batch)
        except NotUtf8:
            continue  # a later batch is not UTF-8: the file is Windows-1252, as validate found
        return gatherer.summary(stream.path)
    raise AssertionError("a Windows-1252 read cannot fail on UTF-8")  # pragma: no cover
