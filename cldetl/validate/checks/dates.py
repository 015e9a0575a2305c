"""Checks across date fields: event and life dates in order, one 12-month reporting period
ending at a month (or quarter) end, and each event inside the period the way the guidance
includes it (requests, assessments and reviews completed in it; services active during it).
"""

from __future__ import annotations

from functools import partial

import pandas as pd

from cldetl.spec import parsers
from cldetl.validate.checks.context import CheckContext

PERIOD_FIELDS = ("LA Code", "Reporting Period Start Date", "Reporting Period End Date")
QUARTER_END_MONTHS = (3, 6, 9, 12)


def _fmt(ts) -> str:
    return ts.strftime("%d/%m/%Y")


def check(ctx: CheckContext) -> None:
    """One batch of rows. The reporting period is the file's: its values are counted here and
    judged in `finish`, and whether each event is inside it counts only if there is one."""
    _event_order(ctx)
    _life_dates(ctx)
    _count_period_values(ctx)
    with ctx.sink.hold(HELD):
        _inside_period(ctx)


HELD = "dates.inside_period"
COUNTS = "dates.period_values"


def finish(ctx: CheckContext) -> list:
    """After the last batch: the reporting period of the whole file. Returns the checks that
    need a second look at the rows (rows whose period differs from the file's)."""
    later: list = []
    period = _period(ctx, later)
    ctx.sink.release(HELD, keep=period is not None)
    return later


def _count_period_values(ctx: CheckContext) -> None:
    if not ctx.usable(PERIOD_FIELDS):
        return
    counts = ctx.shared.setdefault(COUNTS, {name: {} for name in PERIOD_FIELDS})
    for name in PERIOD_FIELDS:
        into = counts[name]
        for value, n in ctx.column(name).value_counts(sort=False, dropna=False).items():
            into[value] = into.get(value, 0) + int(n)


def _mode(counts: dict[str, int]) -> str:
    """The most common value; of equally common ones the first in sort order (pandas'
    `mode().iloc[0]`)."""
    top = max(counts.values())
    return min(v for v, n in counts.items() if n == top)


def _filled(values: dict[str, int]) -> dict[str, int]:

    keys = list(values)
    blank = parsers.blank(pd.Series(keys, dtype="string[pyarrow]")).to_numpy()
    return {k: values[k] for k, b in zip(keys, blank, strict=True) if not b}


def _event_order(ctx: CheckContext) -> None:
    if not ctx.usable(["Event Start Date", "Event End Date"]):
        return
    start, end = ctx.dates("Event Start Date"), ctx.dates("Event End Date")
    mask = (end < start).fillna(False)
    ctx.sink.rows(
        "cross.end_before_start",
        "Event End Date",
        mask,
        ctx.column("Event End Date"),
        "Event End Date is before Event Start Date.",
    )


def _life_dates(ctx: CheckContext) -> None:
    """Each rule runs when the columns it needs are in the file."""
    born, died = ctx.dates("Date of Birth"), ctx.dates("Date of Death")
    if ctx.usable(["Date of Birth", "Date of Death"]):
        ctx.sink.rows(
            "cross.death_before_birth",
            "Date of Death",
            (died < born).fillna(False),
            ctx.column("Date of Death"),
            "Date of Death is before Date of Birth.",
        )
    if ctx.usable(["Date of Birth", "Event Start Date"]):
        ctx.sink.rows(
            "cross.event_before_birth",
            "Event Start Date",
            (ctx.dates("Event Start Date") < born).fillna(False),
            ctx.column("Event Start Date"),
            "Event Start Date is before the person's Date of Birth.",
        )
    needed = ["Date of Death", "Event End Date", "Event Type", "Reporting Period End Date"]
    if ctx.usable(needed):
        end = ctx.dates("Event End Date")
        period_end = ctx.dates("Reporting Period End Date")
        ended_after = (end > died).fillna(False)
        open_service = ctx.column("Event Type").eq("Service") & ctx.blank("Event End Date")
        still_open = open_service & (died <= period_end).fillna(False)
        # A death before the period starts is not "within" it: say which, since DHSC drops
        # such events altogether (create_FilterToEventsInPeriod_procedure.sql, e6f5749, l.59-61).
        if "Reporting Period Start Date" in ctx.present:
            before = still_open & (died < ctx.dates("Reporting Period Start Date")).fillna(False)
        else:
            before = pd.Series(False, index=still_open.index)
        still_open &= ~before
        ctx.sink.rows(
            "cross.event_after_death",
            "Event End Date",
            ended_after,
            ctx.column("Event End Date"),
            "Event End Date is after the Date of Death; when a person has died, the event end "
            "date should be the date of death.",
        )
        ctx.sink.rows(
            "cross.event_after_death",
            "Event End Date",
            still_open,
            None,
            "The service is open but the person died within the reporting period; end it at the "
            "date of death.",
        )
        ctx.sink.rows(
            "cross.event_after_death",
            "Event End Date",
            before,
            None,
            "The service is open but the person died before the reporting period began; end it "
            "at the date of death (DHSC drops events of people who died before the period).",
        )


def _period(ctx: CheckContext, later: list):
    """Check the reporting period is one and well formed; return (start, end) or None."""

    counts = ctx.shared.get(COUNTS)
    if not ctx.usable(PERIOD_FIELDS) or counts is None:
        return None
    for name in PERIOD_FIELDS:
        filled = _filled(counts[name])
        if not filled:
            return None
        common = _mode(filled)
        if len(filled) > 1:
            later.append(partial(_differs, name=name, common=common))
    start_text = _mode({v: n for v, n in counts["Reporting Period Start Date"].items() if v})
    end_text = _mode({v: n for v, n in counts["Reporting Period End Date"].items() if v})
    start = pd.to_datetime(start_text, format="%d/%m/%Y", errors="coerce")
    end = pd.to_datetime(end_text, format="%d/%m/%Y", errors="coerce")
    if pd.isna(start) or pd.isna(end):
        return None
    if not end.is_month_end:
        ctx.sink.file(
            "period.month_end",
            f"Reporting Period End Date {end_text} is not the last day of a month.",
            column="Reporting Period End Date",
            value=end_text,
        )
    elif end.month not in QUARTER_END_MONTHS and not ctx.monthly:
        ctx.sink.file(
            "period.month_end",
            f"Reporting Period End Date {end_text} is not a quarter end (31/03, 30/06, 30/09, "
            "31/12). If the authority submits monthly, validate with --monthly.",
            column="Reporting Period End Date",
            value=end_text,
        )
    # From the first of the end month back 11 months: no day past the end is computed, so an
    # end of 31/12/9999 cannot overflow.
    expected_start = end.replace(day=1) - pd.DateOffset(months=11)
    if end.is_month_end and start != expected_start:
        ctx.sink.file(
            "period.twelve_months",
            f"Reporting Period Start Date {start_text} does not begin the 12 months ending "
            f"{end_text}; it should be {_fmt(expected_start)}.",
            column="Reporting Period Start Date",
            value=start_text,
        )
    return start, end


def _differs(ctx: CheckContext, name: str, common: str) -> None:
    column = ctx.column(name)
    differs = ~ctx.blank(name) & column.ne(common)
    ctx.sink.rows(
        "period.consistent",
        name,
        differs,
        column,
        f"{name} differs from the rest of the file ('{common}' on most rows); every row of a "
        "submission has the same LA Code and reporting period.",
    )


def _inside_period(ctx: CheckContext) -> None:
    if not ctx.usable(["Event Type", "Event Start Date", "Event End Date"]):
        return
    event_type = ctx.column("Event Type")
    start, end = ctx.dates("Event Start Date"), ctx.dates("Event End Date")
    period_start = ctx.dates("Reporting Period Start Date")
    period_end = ctx.dates("Reporting Period End Date")
    completed = event_type.isin(["Request", "Assessment", "Review"])
    outside = completed & ((end < period_start) | (end > period_end)).fillna(False)
    ctx.sink.rows(
        "period.completed_inside",
        "Event End Date",
        outside,
        ctx.column("Event End Date"),
        "Event End Date is outside the reporting period; requests, assessments and reviews are "
        "submitted when completed inside the 12 months.",
    )
    service = event_type.eq("Service")
    ctx.sink.rows(
        "period.service_active",
        "Event Start Date",
        service & (start > period_end).fillna(False),
        ctx.column("Event Start Date"),
        "The service starts after the reporting period ends; include services active during it.",
    )
    ctx.sink.rows(
        "period.service_active",
        "Event End Date",
        service & (end < period_start).fillna(False),
        ctx.column("Event End Date"),
        "The service ended before the reporting period began; include services active during it.",
    )
