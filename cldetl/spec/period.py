"""The rolling 12-month reporting period (guidance, "Collection schedule").

Each submission covers the 12 months to a quarter end (Jan/Apr/Jul/Oct submissions cover the
year to the previous 31 Dec / 31 Mar / 30 Jun / 30 Sep), or to a month end for authorities
that submit monthly.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from cldetl.errors import UsageError

QUARTER_END_MONTHS = (3, 6, 9, 12)


@dataclass(frozen=True)
class ReportingPeriod:
    start: date
    end: date

    @classmethod
    def ending(cls, end: date, cadence: str = "quarterly") -> ReportingPeriod:
        """The 12 months ending on `end`, which must be a month end (a quarter end unless
        monthly)."""
        last_day = calendar.monthrange(end.year, end.month)[1]
        if end.day != last_day:
            raise UsageError(
                f"period end {end:%Y-%m-%d} is not the last day of a month; use "
                f"{end.replace(day=last_day):%Y-%m-%d}."
            )
        if cadence == "quarterly" and end.month not in QUARTER_END_MONTHS:
            raise UsageError(
                f"period end {end:%Y-%m-%d} is not a quarter end (31 March, 30 June, "
                "30 September, 31 December); the mapping's cadence is quarterly."
            )
        start_month = end.month % 12 + 1
        start_year = end.year - 1 if end.month != 12 else end.year
        return cls(start=date(start_year, start_month, 1), end=end)

    @classmethod
    def last_completed(cls, today: date, cadence: str = "quarterly") -> ReportingPeriod:
        """The period due for submission on `today`: up to the last completed quarter (or
        month)."""
        previous_month_end = today.replace(day=1) - timedelta(days=1)
        if cadence == "monthly":
            return cls.ending(previous_month_end, cadence)
        end = previous_month_end
        while end.month not in QUARTER_END_MONTHS:
            end = end.replace(day=1) - timedelta(days=1)
        return cls.ending(end, cadence)

    @classmethod
    def chosen(
        cls, period_end: date | None, cadence: str = "quarterly", today: date | None = None
    ) -> ReportingPeriod:
        """The period to produce: the given end, or the last completed quarter (or month)."""
        if period_end is None:
            return cls.last_completed(today or date.today(), cadence)
        return cls.ending(period_end, cadence)

    def label(self) -> str:
        return f"{self.end:%Y-%m-%d}"


def parse_period_end(text: str) -> date:
    """The end of a reporting period as given on the command line (--period-end) or as a flow
    parameter: the one parser of a period end, so both accept and refuse the same text. Whether
    it is a month or quarter end is `ReportingPeriod.ending`'s check, once the cadence is known."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--period-end {text!r} is not a date in YYYY-MM-DD form.") from None
