"""Step 1: the reporting period DHSC derives from a file's event end dates.

Follows Main_tables/REF_tables/create_REF_Submission_Reporting_Periods_V2_table.sql at commit
e6f5749 (line numbers in cldetl/spec/national.yaml, `reporting_period`). Where the method document
(reporting-periods.md) reads differently, this follows the SQL:

- a month is complete for a type when the type's total is >= 5% of the median type total, the
  month has >= 10 events (City of London, 714, exempt) and >= 20% of the type's median monthly
  count, the median taken over months with at least one event (lines 245-311);
- an incomplete month between two complete ones is allowed in a run (lines 313-354);
- the overall period is the latest run of months allowed for all three types (lines 469-546),
  and exists only when every type has events and a run of its own (lines 548-581);
- the gap flag is any incomplete month between a type's first and last complete month
  (lines 583-618); the missing-type flag a type with no counted events (lines 641-643);
- the Isles of Scilly (906) get their stated period (lines 660-676).

Months are whole numbers (year * 12 + month - 1) so every step is arithmetic on a few hundred
values, whatever the size of the file.
"""

from __future__ import annotations

import calendar
import statistics
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from cldetl.national.distinct import per_distinct


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def month_end(index: int) -> date:
    y, m = index // 12, index % 12 + 1
    return date(y, m, calendar.monthrange(y, m)[1])


@dataclass
class TypePeriod:
    """One event type's counts and derived run (None when it has none)."""

    event_type: str
    total: int
    median_month: float | None
    enough_volume: bool
    start: date | None
    end: date | None
    first_complete: date | None
    last_complete: date | None
    gap: bool
    complete_months: list[date] = field(default_factory=list)


@dataclass
class DerivedPeriod:
    stated_start: date | None
    stated_end: date | None
    start: date | None
    end: date | None
    by_type: list[TypePeriod]
    gap_flag: bool
    missing_type_flag: bool
    import_month: date
    exception: str | None = None

    @property
    def matches(self) -> bool:
        return (
            self.start is not None
            and self.start == self.stated_start
            and self.end == self.stated_end
        )


def classify(event_type: pd.Series, types: list[str]) -> pd.Series:
    """Request/Assessment/Service by the word the Event Type starts with (LIKE 'Request%'), case
    insensitive as SQL Server compares; anything else (reviews, blanks) is missing. Worked out
    once per distinct Event Type (a category comes back, one byte a row)."""

    def kind_of(values: pd.Series) -> pd.Series:
        text = values.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="string")
        for kind in types:
            out = out.mask(text.str.startswith(kind.lower()).fillna(False), kind)
        return out

    return per_distinct(event_type, kind_of)


def _latest_run(months: list[int]) -> tuple[int, int] | None:
    """The latest run of consecutive months (runs are disjoint, so the latest end is unique)."""
    if not months:
        return None
    months = sorted(months)
    end = months[-1]
    start = end
    for m in reversed(months[:-1]):
        if m != start - 1:
            break
        start = m
    return start, end


def derive_period(
    kinds: pd.Series,
    ends: pd.Series,
    la_code: str | None,
    stated: tuple[date | None, date | None],
    import_month: date,
    method: dict,
) -> DerivedPeriod:
    """The derived period of one submission.

    kinds: classify()'s Request/Assessment/Service per row; ends: raw Event End Date (NaT when
    blank); stated: (earliest start, latest end) of the file; import_month: the first day of the
    month the file is loaded (events ending in or after it are not counted).
    """
    types = list(method["event_types"])
    calendar_start = month_index(date.fromisoformat(method["calendar_start"]))
    last_month = month_index(import_month) - 1
    window_start = pd.Timestamp(method["calendar_start"])
    window_end = pd.Timestamp(import_month)
    in_window = ((ends >= window_start) & (ends < window_end)).fillna(False)
    counted = kinds.notna() & (in_window | (kinds.eq("Service").fillna(False) & ends.isna()))
    totals = {k: int((counted & kinds.eq(k).fillna(False)).sum()) for k in types}
    median_total = statistics.median(totals.values())
    dated = counted & ends.notna()
    month_of = (ends.dt.year * 12 + ends.dt.month - 1)[dated]
    exempt = la_code in method["exceptions"]["no_min_monthly_count"]["codes"]
    calendar_months = np.arange(calendar_start, last_month + 1)
    allowed: dict[str, set[int]] = {}
    by_type = []
    for kind in types:
        counts = month_of[kinds[dated].eq(kind).to_numpy()].value_counts()
        counts = {int(m): int(n) for m, n in counts.items()}
        median_month = statistics.median(counts.values()) if counts else None
        enough = totals[kind] >= median_total * method["min_pct_of_median_type_total"] / 100.0
        complete = set()
        for m in calendar_months:
            n = counts.get(int(m), 0)
            if (
                enough
                and (n >= method["min_monthly_count"] or exempt)
                and median_month
                and 100.0 * n / median_month >= method["min_pct_of_median_month"]
            ):
                complete.add(int(m))
        # A lone incomplete month between two complete ones is allowed in a run (LAG/LEAD
        # default 0: the first and last calendar months have no complete neighbour outside).
        lenient = set(complete) | {
            int(m)
            for m in calendar_months
            if int(m) not in complete and int(m) - 1 in complete and int(m) + 1 in complete
        }
        allowed[kind] = lenient
        run = _latest_run(list(lenient))
        first = min(complete) if complete else None
        last = max(complete) if complete else None
        gap = first is not None and any(m not in complete for m in range(first, last + 1))
        by_type.append(
            TypePeriod(
                event_type=kind,
                total=totals[kind],
                median_month=median_month,
                enough_volume=enough,
                start=month_start(run[0]) if run else None,
                end=month_end(run[1]) if run else None,
                first_complete=month_start(first) if first is not None else None,
                last_complete=month_start(last) if last is not None else None,
                gap=gap,
                complete_months=[month_start(m) for m in sorted(complete)],
            )
        )
    everywhere = set.intersection(*(allowed[k] for k in types)) if types else set()
    overall = _latest_run(list(everywhere))
    derivable = all(t.total > 0 and t.start is not None for t in by_type)
    start = end = None
    if derivable and overall:
        start, end = month_start(overall[0]), month_end(overall[1])
    exception = None
    if la_code in method["exceptions"]["stated_period"]["codes"]:
        start, end = stated
        exception = "stated_period"
    elif exempt:
        exception = "no_min_monthly_count"
    return DerivedPeriod(
        stated_start=stated[0],
        stated_end=stated[1],
        start=start,
        end=end,
        by_type=by_type,
        gap_flag=any(t.gap for t in by_type),
        missing_type_flag=sum(t.total > 0 for t in by_type) < len(types),
        import_month=import_month,
        exception=exception,
    )
