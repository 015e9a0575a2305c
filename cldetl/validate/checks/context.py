"""What every check needs: the file's columns, parsed once, and a place to put findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import pandas as pd

from cldetl.spec import parsers
from cldetl.spec.conditions import evaluate

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.spec import Spec
    from cldetl.spec.conditions import Condition
    from cldetl.validate.csvfile import CldTable
    from cldetl.validate.findings import FindingSink


@dataclass
class CheckContext:
    spec: Spec
    table: CldTable
    sink: FindingSink
    monthly: bool = False
    # Reading in batches: what the checks keep from one batch to the next (cross-row state,
    # caches by distinct value), and the position of this batch's first row in the file.
    shared: dict = field(default_factory=dict)
    start: int = 0
    _blank: dict[str, pd.Series] = field(default_factory=dict)
    _dates: dict[str, pd.Series] = field(default_factory=dict)
    _date_problems: dict[str, pd.Series] = field(default_factory=dict)
    _holds: dict[Condition, pd.Series] = field(default_factory=dict)
    # Per batch: values derived once for several checks (column hashes...).
    cache: dict = field(default_factory=dict)

    @property
    def frame(self) -> pd.DataFrame:
        return self.table.frame

    @property
    def n(self) -> int:
        return len(self.table.frame)

    @cached_property
    def present(self) -> frozenset[str]:
        """Spec fields whose column is in the file (checks on absent columns are skipped)."""
        return frozenset(n for n in self.table.header if self.spec.has_field(n))

    def column(self, name: str) -> pd.Series:
        """A column's values as submitted; a column missing from the file reads as blank."""

        if name in self.present:
            return self.frame[name]
        return pd.Series("", index=self.frame.index, dtype="string[pyarrow]")

    def blank(self, name: str) -> pd.Series:
        if name not in self._blank:
            self._blank[name] = parsers.blank(self.column(name))
        return self._blank[name]

    def dates(self, name: str) -> pd.Series:
        """A date column parsed (NaT where blank or not a real dd/mm/yyyy date)."""
        if name not in self._dates:
            self._dates[name], self._date_problems[name] = parsers.parse_dates(self.column(name))
        return self._dates[name]

    def date_problems(self, name: str) -> pd.Series:
        self.dates(name)
        return self._date_problems[name]

    @cached_property
    def age(self) -> pd.Series:
        """Whole years at the event end date, or at the reporting period end for open events."""
        at = self.dates("Event End Date").fillna(self.dates("Reporting Period End Date"))
        return parsers.whole_years(self.dates("Date of Birth"), at)

    def holds(self, cond: Condition) -> pd.Series:
        """Which rows a spec condition holds for."""

        return evaluate(cond, self.column, lambda: self.age, self.n, self._holds)

    def usable(self, names) -> bool:
        """True when all the named fields are in the file (else a rule on them is skipped)."""
        return all(n in self.present for n in names)
