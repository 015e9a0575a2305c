"""Findings: every problem the validator sees, as a record, never an exception.

A check adds findings for whole columns at once (a boolean mask and a message, or a message per
row), so a million-row file with many problems costs a few array operations, not a million
Python objects. The report turns them into `Finding` records only when asked (JSON, examples).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from cldetl.spec import Spec

FINDING_COLUMNS = ["line", "column", "rule", "severity", "value", "message"]


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, where (physical line, CSV column), the value and what to do."""

    rule: str
    line: int | None
    column: str | None
    value: str | None
    severity: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "value": self.value,
            "message": self.message,
        }


class FindingSink:
    """Collects findings column by column; `frame()` gives them all, in file order."""

    def __init__(self, spec: Spec, lines: np.ndarray, column_order: list[str]):
        self.spec = spec
        self.lines = lines
        self._parts: list[pd.DataFrame] = []
        # File and header findings as plain records, made into one frame at the end: a header
        # of 100,000 columns must not cost a DataFrame per finding.
        self._singles: list[dict[str, Any]] = []
        self._order = {name: i for i, name in enumerate(column_order)}
        # Row findings that count only if a whole-file condition holds, known at the end of
        # the file (events inside the reporting period, when there is one): kept aside by key.
        self._held: dict[str, list[pd.DataFrame]] = {}
        self._holding: str | None = None

    def absorb(self, other: FindingSink) -> None:
        """Take the row findings of another sink (one batch's), after those already here."""
        self._parts.extend(other._parts)
        for key, held in other._held.items():
            self._held.setdefault(key, []).extend(held)
        self._singles.extend(other._singles)

    def parts(self) -> tuple:
        """The row and file findings so far, to send to another process (`take_parts`)."""
        return self._parts, self._held, self._singles

    def take_parts(self, parts: tuple) -> None:
        self._parts, self._held, self._singles = parts

    @contextmanager
    def hold(self, key: str):
        """Row findings added inside the block are kept aside under `key`, until `release`."""
        self._holding = key
        self._held.setdefault(key, [])
        try:
            yield
        finally:
            self._holding = None

    def release(self, key: str, keep: bool) -> None:
        """The findings held under `key` join the others (`keep`) or are dropped."""
        held = self._held.pop(key, [])
        if keep:
            self._parts.extend(held)

    def severity(self, rule: str) -> str:
        return self.spec.rules[rule].severity

    def rows(
        self,
        rule: str,
        column: str | None,
        mask: pd.Series,
        values: pd.Series | None,
        message: str | pd.Series,
        severity: str | None = None,
    ) -> int:
        """Add a finding for every row where `mask` is true. Returns how many were added."""

        where = np.flatnonzero(mask.to_numpy(dtype=bool, na_value=False))
        if len(where) == 0:
            return 0
        part = pd.DataFrame(
            {
                "line": self.lines[where],
                "column": column,
                "rule": rule,
                "severity": severity or self.severity(rule),
                "value": (
                    values.iloc[where].to_numpy(dtype=object) if values is not None else None
                ),
                "message": (
                    message.iloc[where].to_numpy(dtype=object)
                    if isinstance(message, pd.Series)
                    else message
                ),
            }
        )
        if self._holding is not None:
            self._held[self._holding].append(part)
        else:
            self._parts.append(part)
        return len(where)

    def file(
        self,
        rule: str,
        message: str,
        column: str | None = None,
        value: str | None = None,
        line: int | None = None,
        severity: str | None = None,
    ) -> None:
        """Add a finding about the whole file (line None) or the header (line 1)."""
        self._singles.append(
            {
                "line": line,
                "column": column,
                "rule": rule,
                "severity": severity or self.severity(rule),
                "value": value,
                "message": message,
            }
        )

    def frame(self) -> pd.DataFrame:
        """All findings, ordered by line (file-level first), then column order, then rule."""

        parts = list(self._parts)
        if self._singles:
            parts.insert(0, pd.DataFrame(self._singles, columns=FINDING_COLUMNS))
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS}).astype(
                {"line": "Int64"}
            )
        frame = pd.concat(parts, ignore_index=True)
        frame["line"] = frame["line"].astype("Int64")
        order = frame["column"].map(self._order).fillna(-1)
        frame = (
            frame.assign(_line=frame["line"].fillna(0), _col=order)
            .sort_values(["_line", "_col", "rule"], kind="stable")
            .drop(columns=["_line", "_col"])
            .reset_index(drop=True)
        )
        return frame[FINDING_COLUMNS]


@dataclass
class ValidationReport:
    """The outcome of validating one file."""

    file: str
    rows: int
    findings: pd.DataFrame
    counts: dict[str, dict[str, int]]
    encoding: str = "utf-8"
    monthly: bool = False
    header: list[str] = field(default_factory=list)

    def add_findings(self, more: pd.DataFrame) -> None:
        """Findings from a later stage (writing the DLP file) join the report."""

        if more.empty:
            return
        frame = more[FINDING_COLUMNS].astype({"line": "Int64"})
        self.findings = (
            pd.concat([self.findings, frame], ignore_index=True)
            if not self.findings.empty
            else frame.reset_index(drop=True)
        )

    @property
    def errors(self) -> int:
        return int((self.findings["severity"] == "error").sum())

    @property
    def warnings(self) -> int:
        return int((self.findings["severity"] == "warning").sum())

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0

    def records(self) -> list[Finding]:
        """The findings as records (for JSON output and examples; not for hot paths)."""
        out = []
        for line, column, rule, severity, value, message in self.findings.itertuples(
            index=False, name=None
        ):
            out.append(
                Finding(
                    rule=rule,
                    line=None if _missing(line) else int(line),
                    column=None if _missing(column) else column,
                    value=None if _missing(value) else value,
                    severity=severity,
                    message=message,
                )
            )
        return out

    def by_rule(self) -> pd.DataFrame:
        """Findings counted by rule, errors first, then by count."""

        if self.findings.empty:
            return pd.DataFrame(columns=["rule", "severity", "count"])
        grouped = (
            self.findings.groupby(["rule", "severity"], sort=False).size().reset_index(name="count")
        )
        grouped["_sev"] = grouped["severity"].map({"error": 0, "warning": 1})
        return (
            grouped.sort_values(["_sev", "count", "rule"], ascending=[True, False, True])
            .drop(columns="_sev")
            .reset_index(drop=True)
        )

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "errors": self.errors,
            "warnings": self.warnings,
            "findings": [f.as_dict() for f in self.records()],
            "counts": self.counts,
        }


def _missing(value: Any) -> bool:

    return value is None or (not isinstance(value, str) and pd.isna(value))
