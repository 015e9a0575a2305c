"""DHSC's derived reporting period, worked by hand from
Main_tables/REF_tables/create_REF_Submission_Reporting_Periods_V2_table.sql (commit e6f5749;
line numbers as cited in cldetl/spec/national.yaml):

- a month is complete when the type's total >= 5% of the median type total (line 287), the
  month has >= 10 events (line 288; City of London 714 exempt, line 289) and >= 20% of the
  median of the type's non-empty months (lines 245-271, 290);
- a lone incomplete month between complete months is allowed (lines 313-354);
- the period is the latest run of months allowed for all three types (lines 469-546), only when
  every type has events and a run (lines 548-581); Isles of Scilly 906 keep the stated period
  (lines 660-676);
- gap flag: any incomplete month between a type's first and last complete month (583-618);
  missing flag: a type with no counted events (641-643); counted events end from 2020-04-01 to
  before the import month, plus services with no end date (lines 148-181).

Each case gives events per type per month of Oct 2024 - Sep 2025 (the stated period); the
import month is Oct 2025.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cldetl.national import national_method
from cldetl.national.period import derive_period

MONTHS = [(2024, m) for m in (10, 11, 12)] + [(2025, m) for m in range(1, 10)]
STATED = (date(2024, 10, 1), date(2025, 9, 30))
IMPORT = date(2025, 10, 1)
FULL = [12] * 12


def _series(per_type: dict[str, list[int]], extra=()):
    kinds, ends = [], []
    for kind, counts in per_type.items():
        for (y, m), n in zip(MONTHS, counts, strict=True):
            kinds += [kind] * n
            ends += [pd.Timestamp(y, m, 15)] * n
    for kind, end in extra:
        kinds.append(kind)
        ends.append(pd.NaT if end is None else pd.Timestamp(end))
    return pd.Series(kinds, dtype="string"), pd.Series(pd.to_datetime(ends))


def _derive(per_type, la="503", extra=(), method=None):
    kinds, ends = _series(per_type, extra)
    method = method or national_method()["reporting_period"]
    return derive_period(kinds, ends, la, STATED, IMPORT, method)


def _with(counts, **months):
    out = list(counts)
    for key, n in months.items():
        out[MONTHS.index((int(key[1:5]), int(key[5:])))] = n
    return out


def gap(*missing):
    return _with(FULL, **{f"m{y}{m:02d}": 0 for y, m in missing})


CASES = [
    # (id, requests, assessments, services, la, derived start, derived end, gap, missing)
    ("full year", FULL, FULL, FULL, "503", date(2024, 10, 1), date(2025, 9, 30), False, False),
    # March has 5 requests (< 10): incomplete, but its neighbours are complete: allowed (l.346).
    ("one-month gap", _with(FULL, m202503=5), FULL, FULL, "503",
     date(2024, 10, 1), date(2025, 9, 30), True, False),
    # February and March empty: two incomplete months end the run (lines 340-354).
    ("two-month gap", gap((2025, 2), (2025, 3)), FULL, FULL, "503",
     date(2025, 4, 1), date(2025, 9, 30), True, False),
    # Requests run Oct-Jun and Sep (Jul-Aug empty), assessments Oct-Aug (Sep empty): the latest
    # per-type runs (Sep; Oct-Aug) do not overlap, yet the months all three allow run Oct-Jun.
    ("runs that do not overlap", gap((2025, 7), (2025, 8)), gap((2025, 9),), FULL, "503",
     date(2024, 10, 1), date(2025, 6, 30), True, False),
    # Requests complete in Oct, empty Nov-Dec, complete from Jan: the gap is before the latest
    # run, and still flagged (first to last complete month, lines 583-618).
    ("gap before the latest run", gap((2024, 11), (2024, 12)), FULL, FULL, "503",
     date(2025, 1, 1), date(2025, 9, 30), True, False),
    # 6 services against a median type total of 144: under 5% (7.2), so no month is complete;
    # no period, but services have events, so no missing-type flag (line 642).
    ("a type under 5% of the median", FULL, FULL, _with([0] * 12, m202509=6), "503",
     None, None, False, False),
    # No assessments at all: the missing-type flag.
    ("a type missing", FULL, [0] * 12, FULL, "503", None, None, False, True),
    # 5 events a month: under 10, so nothing is complete ...
    ("five a month", [5] * 12, [5] * 12, [5] * 12, "503", None, None, False, False),
    # ... except for the City of London, exempt from the 10-event rule (line 289).
    ("City of London 714", [5] * 12, [5] * 12, [5] * 12, "714",
     date(2024, 10, 1), date(2025, 9, 30), False, False),
    # Isles of Scilly 906: the stated period, whatever the counts (lines 660-676).
    ("Isles of Scilly 906", [1] * 12, [0] * 12, [1] * 12, "906",
     date(2024, 10, 1), date(2025, 9, 30), False, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("requests", "assessments", "services", "la", "start", "end", "gap", "missing"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_derived_period(requests, assessments, services, la, start, end, gap, missing):
    p = _derive({"Request": requests, "Assessment": assessments, "Service": services}, la)
    assert (p.start, p.end) == (start, end)
    assert p.gap_flag is gap
    assert p.missing_type_flag is missing


def test_events_ending_before_april_2020_and_after_the_import_month_are_not_counted():
    # Services all end in March 2020 or in October 2025 (the import month): none is counted, so
    # services have no events and the missing flag is set (lines 148-181, 641-643).
    extra = [("Service", "2020-03-31")] * 50 + [("Service", "2025-10-01")] * 50
    p = _derive({"Request": FULL, "Assessment": FULL, "Service": [0] * 12}, extra=extra)
    assert p.missing_type_flag and p.start is None
    assert [t.total for t in p.by_type] == [144, 144, 0]


def test_open_services_count_in_the_total_only():
    # 100 open services: the total is 100 (enough volume), but no month has an event.
    extra = [("Service", None)] * 100
    p = _derive({"Request": FULL, "Assessment": FULL, "Service": [0] * 12}, extra=extra)
    service = p.by_type[2]
    assert service.total == 100 and service.enough_volume and service.start is None
    assert not p.missing_type_flag and p.start is None


@pytest.mark.parametrize(("march", "complete"), [(10, True), (9, False)])
def test_the_ten_event_boundary_is_inclusive(march, complete):
    # Line 288: n >= 10. The median month is 12, so 9 and 10 both pass the 20% test.
    p = _derive({"Request": _with(FULL, m202503=march), "Assessment": FULL, "Service": FULL})
    assert (date(2025, 3, 1) in p.by_type[0].complete_months) is complete


@pytest.mark.parametrize(("march", "complete"), [(20, True), (19, False)])
def test_twenty_percent_of_the_median_month_is_inclusive(march, complete):
    # Line 290: 100 * n / median >= 20. Requests have 100 a month, so the median is 100 and
    # March needs 20 (>= 10 either way).
    p = _derive({"Request": _with([100] * 12, m202503=march), "Assessment": FULL, "Service": FULL})
    assert (date(2025, 3, 1) in p.by_type[0].complete_months) is complete


def test_the_thresholds_are_the_spec_data():
    method = national_method()["reporting_period"]
    assert (
        method["min_monthly_count"],
        method["min_pct_of_median_month"],
        method["min_pct_of_median_type_total"],
    ) == (10, 20, 5)
    assert method["exceptions"]["no_min_monthly_count"]["codes"] == ["714"]
    assert method["exceptions"]["stated_period"]["codes"] == ["906"]
