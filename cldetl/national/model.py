"""The preview of one file: its derived period, each row's fate and DQ codes, as data."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from cldetl.errors import InternalError
from cldetl.national.compact import PackedFrame
from cldetl.national.data_quality import dq_unpaired
from cldetl.national.method import national_method
from cldetl.national.period import DerivedPeriod


@dataclass
class Preview:
    file: str
    rows: int
    period: DerivedPeriod
    reference_period: tuple[date, date] | None
    # FATE_COLUMNS, one row per row of the file, held packed (read as `fates`).
    packed_fates: PackedFrame
    fate_counts: pd.Series  # per fate key, adding up to `rows`
    # Per row, DHSC's DQ status and code per field (data_quality.dq_pairs); None when the
    # preview was made without them (validate_and_preview(row_codes=False)).
    dq_pairs: pd.DataFrame | None
    quality: pd.DataFrame  # dq summed per field, status and result
    # The rows that stand for DHSC's unique events, with the cleaned fields the measures use,
    # held packed (each measure opens the columns it reads).
    events: PackedFrame | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def fates(self) -> pd.DataFrame:
        """FATE_COLUMNS, one row per row of the file (opened anew at each reading: the fates
        stay packed while the measures run)."""
        return self.packed_fates.frame()

    @property
    def dq(self) -> pd.DataFrame:
        """Per row, DHSC's DQ status and code per field ('<field> status', '<field> code')."""
        if self.dq_pairs is None:
            raise InternalError("a preview made without per-row DQ codes was asked for them")
        return dq_unpaired(self.dq_pairs, national_method())

    @property
    def same_events(self) -> list[tuple[int, list[int]]]:
        """Each kept line with the lines merged into it."""
        fates = self.fates
        merged = fates[fates["fate"] == "merged"]
        groups = merged.groupby("merged_into_line")["line"].apply(sorted)
        return [(int(k), [int(x) for x in v]) for k, v in groups.items()]

    @property
    def no_person_id(self) -> list[int]:
        fates = self.fates
        return [int(x) for x in fates.loc[fates["fate"] == "no_person", "line"]]

    def quality_csv(self) -> str:
        out = io.StringIO()
        self.quality.to_csv(out, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        return out.getvalue()

    def fates_csv(self) -> str:
        """Line, Event Reference, fate (in words), merged-into line, then each DQ code."""
        labels = national_method()["fates"]
        fates = self.fates
        table = fates.assign(fate=fates["fate"].map(labels))
        table = pd.concat([table, self.dq.reset_index(drop=True)], axis=1)
        out = io.StringIO()
        table.to_csv(out, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        return out.getvalue()

    def to_json_dict(self) -> dict[str, Any]:
        method = national_method()
        p = self.period
        return {
            "file": self.file,
            "rows": self.rows,
            "source": method["source"],
            "commit": method["commit"],
            "reporting_period": {
                "stated": [_iso(p.stated_start), _iso(p.stated_end)],
                "derived": [_iso(p.start), _iso(p.end)],
                "matches": p.matches,
                "import_month": _iso(p.import_month),
                "exception": p.exception,
                "gap_flag": p.gap_flag,
                "missing_event_type_flag": p.missing_type_flag,
                "by_event_type": [
                    {
                        "event_type": t.event_type,
                        "events": t.total,
                        "median_month": t.median_month,
                        "enough_volume": t.enough_volume,
                        "derived": [_iso(t.start), _iso(t.end)],
                        "complete": [_iso(t.first_complete), _iso(t.last_complete)],
                        "gap": t.gap,
                    }
                    for t in p.by_type
                ],
                "cite": method["reporting_period"]["cite"],
            },
            "fates": {
                "rows": self.rows,
                "counts": {
                    key: {"label": method["fates"][key], "rows": int(n)}
                    for key, n in self.fate_counts.items()
                },
                "reconciles": int(self.fate_counts.sum()) == self.rows,
            },
            "same_events": [{"kept_line": k, "merged_lines": v} for k, v in self.same_events],
            "rows_without_person_id": self.no_person_id,
            "data_quality": self.quality.to_dict(orient="records"),
            "warnings": [{"rule": r, "message": m} for r, m in self.warnings],
        }


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None
