"""DHSC's period filter and death correction, worked by hand from
Main_tables/stored_procedures/create_FilterToEventsInPeriod_procedure.sql (commit e6f5749):

- lines 41-44: the end date becomes the date of death when the death is BETWEEN start AND end
  (inclusive), or after (>) the start of an event with no end;
- lines 50-53: requests/assessments/reviews stay when the corrected end is BETWEEN the period's
  start and end and they start on or before its end (a null start fails);
- lines 55-57: services stay when the corrected end is on or after the period start or null, and
  they start on or before the period end;
- lines 59-61: a death before the period start or before the event start drops the row.

The period is 01/10/2024 - 30/09/2025.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cldetl.national import national_method
from cldetl.national.filter import filter_to_period

PERIOD = (date(2024, 10, 1), date(2025, 9, 30))

CASES = [
    # (id, event type, start, end, died, fate key ("" kept), corrected end, set to death)
    ("request in the period", "Request", "2025-01-01", "2025-01-10", None, "", "2025-01-10", False),
    ("request ending before it", "Request", "2024-09-01", "2024-09-30", None, "outside",
     "2024-09-30", False),
    ("request ending after it", "Request", "2025-09-01", "2025-10-01", None, "outside",
     "2025-10-01", False),
    ("open assessment", "Assessment", "2025-01-01", None, None, "outside", None, False),
    ("service open", "Service", "2020-01-01", None, None, "", None, False),
    ("service ended before the period", "Service", "2023-01-01", "2024-09-30", None, "outside",
     "2024-09-30", False),
    ("service starting after the period", "Service", "2025-10-01", None, None, "outside", None,
     False),
    ("no start date", "Service", None, None, None, "no_start", None, False),
    ("no event type", "", "2025-01-01", "2025-01-10", None, "no_event_type", "2025-01-10",
     False),
    # A death inside an event ends it there (lines 41-44) and the row stays.
    ("death inside a service", "Service", "2024-01-01", None, "2025-02-01", "", "2025-02-01",
     True),
    ("death inside a closed service", "Service", "2024-01-01", "2025-06-30", "2025-02-01", "",
     "2025-02-01", True),
    # A death on the start date of an open service is not after it (>, line 43): end stays open.
    ("death on the start of an open service", "Service", "2025-02-01", None, "2025-02-01", "",
     None, False),
    # A request whose person died mid-request: the end becomes the death, still in the period.
    ("death inside a request", "Request", "2025-03-01", "2025-03-20", "2025-03-10", "",
     "2025-03-10", True),
    # BETWEEN is inclusive: a death on the start date of a closed event ends it there.
    ("death on the start of a closed request", "Request", "2025-03-01", "2025-03-20",
     "2025-03-01", "", "2025-03-01", True),
    # A death on the first day of the period is not before it (>=, line 61): kept.
    ("died on the first day of the period", "Service", "2020-01-01", None, "2024-10-01", "",
     "2024-10-01", True),
    # Died before the period started: dropped (line 61), though the service is open.
    ("died before the period", "Service", "2020-01-01", None, "2024-09-30",
     "death_before_period", "2024-09-30", True),
    # Died before the event started: dropped.
    ("died before the event", "Service", "2025-03-01", None, "2025-02-01",
     "death_before_event", None, False),
    # A service whose type only contains the word (LIKE '%service%', case-insensitive).
    ("lower case service", "service", "2020-01-01", None, None, "", None, False),
]  # fmt: skip


def _dates(values):
    return pd.Series(pd.to_datetime(list(values)))


@pytest.mark.parametrize(
    ("kind", "start", "end", "died", "reason", "der_end", "death_end"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_period_filter(kind, start, end, died, reason, der_end, death_end):
    out = filter_to_period(
        pd.Series([kind], dtype="string"),
        _dates([start]),
        _dates([end]),
        _dates([died]),
        PERIOD,
        national_method()["period_filter"],
    )
    assert out.reason[0] == reason
    got = out.der_end.iloc[0]
    assert (None if pd.isna(got) else got.date().isoformat()) == der_end
    assert bool(out.death_end.iloc[0]) is death_end
