"""A preview of what DHSC's central processing will make of a CLD file, before it is submitted.

National processing changes what an LA sees on the CLD dashboard, and its method is public
(DataS-DHSC/ASC-CLD-LA-Dashboard). Each step here follows one of its documents, cited from the
spec data (cldetl/spec/national.yaml), which also holds every threshold and field list:

1. The reporting period derived from event end dates (reporting-periods.md), against the stated
   one, with DHSC's gap and missing-event-type flags.
2. Rows central deduplication treats as one event, by DHSC's identifying fields per event type
   (4-deduplication.md, Step 1), with their line numbers.
3. Rows without a derivable person ID: no NHS number and no LA person ID (3-data-cleaning.md);
   DHSC excludes them.
4. A data quality table per field (create_GetDQValues_procedure.sql): valid, blank (not
   mandatory), missing (mandatory), invalid, and Release 1 values, with DHSC's codes. Mandatory
   is read from the spec's Annex A rules, applicability from its "does not apply" rules.

All of it is counts and line numbers: no value of a row is shown.
"""

from __future__ import annotations

import calendar
import csv
import io
import statistics
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from cldetl.spec import load_spec
from cldetl.validate.checks.context import CheckContext
from cldetl.validate.findings import FindingSink

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.spec import Spec
    from cldetl.validate.csvfile import CldTable
    from cldetl.validate.findings import ValidationReport

# The rules the preview gives (warnings: what DHSC will do, not what the file breaks).
PREVIEW_RULES = (
    "national.period_not_derived",
    "national.period_differs",
    "national.period_gap",
    "national.missing_event_type",
    "national.same_event",
    "national.no_person_id",
)
DQ_COLUMNS = ("field", "applicable", "valid", "blank", "missing", "invalid", "release1")


@cache
def national_method() -> dict[str, Any]:
    """DHSC's public method as data (cldetl/spec/national.yaml)."""
    text = resources.files("cldetl").joinpath("spec/national.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass
class TypePeriod:
    """One event type's derived period (None when it cannot be derived)."""

    event_type: str
    total: int
    start: date | None
    end: date | None
    gap: bool
    enough: bool


@dataclass
class DerivedPeriod:
    stated_start: date | None
    stated_end: date | None
    start: date | None
    end: date | None
    by_type: list[TypePeriod]
    gap_flag: bool
    missing_type_flag: bool

    @property
    def matches(self) -> bool:
        return (
            self.start is not None
            and self.start == self.stated_start
            and self.end == self.stated_end
        )


@dataclass
class Preview:
    file: str
    rows: int
    period: DerivedPeriod
    # Each group of rows DHSC treats as one event: (event type, [line, line, ...]).
    same_events: list[tuple[str, list[int]]]
    no_person_id: list[int]
    quality: pd.DataFrame
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def quality_csv(self) -> str:
        out = io.StringIO()
        self.quality.to_csv(out, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        return out.getvalue()

    def to_json_dict(self) -> dict[str, Any]:
        p = self.period
        return {
            "file": self.file,
            "rows": self.rows,
            "source": national_method()["source"],
            "reporting_period": {
                "stated": [_iso(p.stated_start), _iso(p.stated_end)],
                "derived": [_iso(p.start), _iso(p.end)],
                "matches": p.matches,
                "gap_flag": p.gap_flag,
                "missing_event_type_flag": p.missing_type_flag,
                "by_event_type": [
                    {
                        "event_type": t.event_type,
                        "events": t.total,
                        "derived": [_iso(t.start), _iso(t.end)],
                        "gap": t.gap,
                        "enough_volume": t.enough,
                    }
                    for t in p.by_type
                ],
            },
            "same_events": [{"event_type": k, "lines": lines} for k, lines in self.same_events],
            "rows_without_person_id": self.no_person_id,
            "data_quality": self.quality.to_dict(orient="records"),
            "warnings": [{"rule": r, "message": m} for r, m in self.warnings],
        }


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _month_end(year: int, month: int) -> date:

    return date(year, month, calendar.monthrange(year, month)[1])


def _months(a: int, b: int) -> list[int]:
    return list(range(a, b + 1))


def _ym(index: int) -> tuple[int, int]:
    return divmod(index, 12)[0], divmod(index, 12)[1] + 1


def _type_period(counts: dict[int, int], total: int, enough: bool, method) -> TypePeriod | None:
    """The latest run of complete months, isolated gaps allowed (reporting-periods.md)."""

    if not counts or not enough:
        return None
    median = statistics.median(counts.values())
    complete = {
        m
        for m, n in counts.items()
        if n >= method["min_month_events"] and n >= method["min_share_of_median_month"] * median
    }
    if not complete:
        return None
    allowed = method["allowed_gap_months"]
    end = max(complete)
    start, gap, missing_run = end, False, 0
    month = end - 1
    while month >= min(complete):
        if month in complete:
            start, missing_run = month, 0
        else:
            missing_run += 1
            if missing_run > allowed:
                break
            # A gap counts only when a complete month follows it further back.
        month -= 1
    gap = any(m not in complete for m in _months(start, end))
    return TypePeriod("", total, date(*_ym(start), 1), _month_end(*_ym(end)), gap, enough)


def derive_period(ctx_dates, event_type: pd.Series, stated, method) -> DerivedPeriod:
    """reporting-periods.md: per event type, then the overlap across types."""

    stated_start, stated_end = stated
    earliest = pd.Timestamp(pd.to_datetime(method["earliest_end_date"], format="%d/%m/%Y").date())
    # The import month: the earliest a file for the stated period can be submitted.
    if stated_end is not None:
        import_month = pd.Timestamp(stated_end) + pd.offsets.MonthBegin(1)
    else:
        import_month = pd.Timestamp(date.today().replace(day=1))
    end = ctx_dates
    counted = end.notna() & (end >= earliest) & (end < import_month)
    totals = {t: int(event_type.eq(t).sum()) for t in method["event_types"]}
    median_total = statistics.median(totals.values()) if totals else 0
    by_type = []
    for kind in method["event_types"]:
        rows = event_type.eq(kind) & counted
        months = end[rows].dt.year * 12 + (end[rows].dt.month - 1)
        counts = {int(k): int(v) for k, v in months.value_counts().items()}
        enough = totals[kind] > 0 and totals[kind] >= method["min_share_of_median_type"] * (
            median_total
        )
        found = _type_period(counts, totals[kind], enough, method)
        if found is None:
            by_type.append(TypePeriod(kind, totals[kind], None, None, False, enough))
        else:
            found.event_type = kind
            by_type.append(found)
    missing = any(t.total == 0 or not t.enough for t in by_type)
    start = end_ = None
    if all(t.start is not None for t in by_type) and by_type:
        start = max(t.start for t in by_type)
        end_ = min(t.end for t in by_type)
        if start > end_:
            start = end_ = None
    return DerivedPeriod(
        stated_start=stated_start,
        stated_end=stated_end,
        start=start,
        end=end_,
        by_type=by_type,
        gap_flag=any(t.gap for t in by_type),
        missing_type_flag=missing,
    )


def _stated(ctx) -> tuple[date | None, date | None]:
    out = []
    for name in ("Reporting Period Start Date", "Reporting Period End Date"):
        parsed = ctx.dates(name).dropna()
        out.append(parsed.mode().iloc[0].date() if len(parsed) else None)
    return out[0], out[1]


def same_events(ctx, method) -> list[tuple[str, list[int]]]:
    """4-deduplication.md, Step 1: rows equal on every identifying field are one event."""

    person = _person_id(ctx)
    event_type = ctx.column("Event Type")
    groups = []
    for kind, extra in method["by_event_type"].items():
        names = list(method["common"]) + list(extra)
        rows = event_type.eq(kind) & person.notna()
        if rows.sum() < 2:
            continue
        keys = pd.DataFrame({n: ctx.column(n)[rows] for n in names}).assign(_person=person[rows])
        key = pd.util.hash_pandas_object(keys, index=False)
        repeated = key[key.duplicated(keep=False)]
        if repeated.empty:
            continue
        lines = pd.Series(ctx.table.lines[repeated.index.to_numpy()], index=repeated.index)
        for _, group in lines.groupby(repeated.to_numpy(), sort=False):
            groups.append((kind, sorted(int(x) for x in group)))
    return sorted(groups, key=lambda g: g[1][0])


def _person_id(ctx) -> pd.Series:
    """3-data-cleaning.md: NHS number if present, else the LA person ID (NA when neither)."""
    nhs, la = (ctx.column(n) for n in national_method()["person_id"]["fields"])
    nhs_blank = ctx.blank(national_method()["person_id"]["fields"][0])
    la_blank = ctx.blank(national_method()["person_id"]["fields"][1])
    person = ("N:" + nhs.astype(object)).where(~nhs_blank, "L:" + la.astype(object))
    return person.where(~(nhs_blank & la_blank))


def data_quality(ctx, report: ValidationReport) -> pd.DataFrame:
    """create_GetDQValues_procedure.sql: a DQ value per applicable field of each row, counted."""

    spec = ctx.spec
    findings = report.findings
    row_findings = findings[findings["line"].notna()]
    position = {int(line): i for i, line in enumerate(ctx.table.lines)}
    rows = []
    for f in spec.fields:
        if f.name not in ctx.present:
            continue
        applicable = pd.Series(True, index=ctx.frame.index)
        for rule in spec.not_applicable:
            if f.name in rule.fields:
                applicable &= ~ctx.holds(rule.when)
        mandatory = pd.Series(False, index=ctx.frame.index)
        for rule in spec.mandatory_for(f.name):
            mandatory |= ctx.holds(rule.when)
        blank = ctx.blank(f.name)
        mine = row_findings[row_findings["column"] == f.name]

        def flagged(prefixes, mine=mine):
            chosen = mine[mine["rule"].str.startswith(prefixes)]
            at = np.zeros(ctx.n, dtype=bool)
            where = [position[int(x)] for x in chosen["line"] if int(x) in position]
            at[where] = True
            return pd.Series(at, index=ctx.frame.index)

        release1 = flagged(("list.release1",)) & ~blank
        invalid = flagged(("type.", "list.")) & ~blank & ~release1
        rows.append(
            {
                "field": f.name,
                "applicable": int(applicable.sum()),
                "valid": int((applicable & ~blank & ~invalid & ~release1).sum()),
                "blank": int((applicable & blank & ~mandatory).sum()),
                "missing": int((applicable & blank & mandatory).sum()),
                "invalid": int((applicable & invalid).sum()),
                "release1": int((applicable & release1).sum()),
            }
        )
    return pd.DataFrame(rows, columns=list(DQ_COLUMNS))


def preview(table: CldTable, report: ValidationReport, spec: Spec | None = None) -> Preview:
    """The national-processing preview of a file already read and validated."""

    spec = spec or load_spec()
    method = national_method()
    ctx = CheckContext(spec=spec, table=table, sink=FindingSink(spec, table.lines, spec.headers))
    stated = _stated(ctx)
    period = derive_period(
        ctx.dates("Event End Date"), ctx.column("Event Type"), stated, method["reporting_period"]
    )
    groups = same_events(ctx, method["deduplication"])
    person = _person_id(ctx)
    no_person = [int(x) for x in table.lines[person.isna().to_numpy()]]
    out = Preview(
        file=table.path,
        rows=table.rows,
        period=period,
        same_events=groups,
        no_person_id=no_person,
        quality=data_quality(ctx, report),
    )
    out.warnings = _warnings(out, method)
    return out


def _fmt(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else "none"


def _warnings(p: Preview, method) -> list[tuple[str, str]]:
    period, out = p.period, []
    cite = method["reporting_period"]["cite"]
    if period.start is None:
        missing = [t.event_type for t in period.by_type if t.start is None]
        out.append(
            (
                "national.period_not_derived",
                "DHSC cannot derive a reporting period from this file (no complete run of months "
                f"for: {', '.join(missing) or 'the overlap of event types'}); it may be left out "
                f"of the dashboard. Method: {cite}.",
            )
        )
    elif not period.matches:
        out.append(
            (
                "national.period_differs",
                f"DHSC would derive the period {_fmt(period.start)} to {_fmt(period.end)}, not "
                f"the stated {_fmt(period.stated_start)} to {_fmt(period.stated_end)}: months "
                f"with too few events are not counted. Method: {cite}.",
            )
        )
    if period.gap_flag:
        out.append(
            (
                "national.period_gap",
                "A month inside the derived period has too few events for an event type (DHSC's "
                f"gap flag). Method: {cite}.",
            )
        )
    if period.missing_type_flag:
        out.append(
            (
                "national.missing_event_type",
                "Requests, assessments or services are missing or too few (DHSC's missing "
                f"event type flag). Method: {cite}.",
            )
        )
    if p.same_events:
        rows = sum(len(lines) - 1 for _, lines in p.same_events)
        out.append(
            (
                "national.same_event",
                f"{len(p.same_events)} group(s) of rows that DHSC treats as one event; {rows} "
                f"row(s) will not count. Method: {method['deduplication']['cite']}.",
            )
        )
    if p.no_person_id:
        out.append(
            (
                "national.no_person_id",
                f"{len(p.no_person_id)} row(s) have neither an NHS number nor an LA person ID; "
                f"DHSC excludes them. Method: {method['person_id']['cite']}.",
            )
        )
    return out


def preview_text(p: Preview, limit: int = 10) -> str:
    """The preview for a console: counts, dates and line numbers only."""
    method = national_method()
    period = p.period
    lines = [
        f"National processing preview of {p.file}: {p.rows} rows",
        f"Following {method['source']}.",
        "",
        f"Reporting period ({method['reporting_period']['cite']}):",
        f"  stated  {_fmt(period.stated_start)} to {_fmt(period.stated_end)}",
        f"  derived {_fmt(period.start)} to {_fmt(period.end)}"
        + ("  (matches)" if period.matches else ""),
        f"  gap flag: {'yes' if period.gap_flag else 'no'}; missing event type flag: "
        f"{'yes' if period.missing_type_flag else 'no'}",
    ]
    for t in period.by_type:
        lines.append(
            f"  {t.event_type}: {t.total} event(s), derived {_fmt(t.start)} to {_fmt(t.end)}"
            + ("" if t.enough else " (too few events)")
        )
    lines += ["", f"Rows treated as one event ({method['deduplication']['cite']}):"]
    if not p.same_events:
        lines.append("  none")
    for kind, group in p.same_events[:limit]:
        lines.append(f"  {kind}: lines {', '.join(str(n) for n in group)}")
    if len(p.same_events) > limit:
        lines.append(f"  ... and {len(p.same_events) - limit} more group(s)")
    lines += ["", f"Rows without a person ID ({method['person_id']['cite']}):"]
    shown = ", ".join(str(n) for n in p.no_person_id[:limit])
    more = f" ... and {len(p.no_person_id) - limit} more" if len(p.no_person_id) > limit else ""
    lines.append(f"  {len(p.no_person_id)}" + (f": lines {shown}{more}" if shown else ""))
    codes = method["data_quality"]["codes"]
    lines += [
        "",
        f"Data quality by field ({method['data_quality']['cite']}):",
        "  codes: " + "; ".join(f"{name} {c['code']} '{c['label']}'" for name, c in codes.items()),
        "  " + " | ".join(DQ_COLUMNS),
    ]
    for r in p.quality.itertuples(index=False):
        lines.append("  " + " | ".join(str(v) for v in r))
    if p.warnings:
        lines += ["", "Warnings:"]
        lines += [f"  WARNING {rule}: {message}" for rule, message in p.warnings]
    return "\n".join(lines) + "\n"
