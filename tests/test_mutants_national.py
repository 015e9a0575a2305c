"""Cases for the national preview that mutation testing found unpinned (docs/testing.md,
"Mutation testing"). Worked by hand from DHSC's
Main_tables/stored_procedures/create_FilterToEventsInPeriod_procedure.sql (commit e6f5749; the
lines are those of tests/test_national_filter.py) and from national.yaml's list of fates.
Ids are plain words: mutmut passes them back to pytest.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from cldetl.national import national_method
from cldetl.national.dedup import INVALID, as_numeric_18_2, cleaned, outcome_rank, unique_events
from cldetl.national.fates import FatesDoNotReconcile, assign_fates
from cldetl.national.filter import filter_to_period
from cldetl.national.period import classify, derive_period
from cldetl.spec import load_spec

PERIOD = (date(2024, 10, 1), date(2025, 9, 30))

FILTER_CASES = [
    # (id, event type, start, end, died, fate key ("" kept), corrected end, set to death)
    # BETWEEN is inclusive at both ends (lines 41-44): a death on the end date of a closed
    # event sets the end date to the date of death (the same day).
    ("death on the end date of a closed request", "Request", "2025-03-01", "2025-03-20",
     "2025-03-20", "", "2025-03-20", True),
    # Event_Start_Date <= the period end (lines 50-57): an event starting on the last day of
    # the period is in it.
    ("service starting on the last day of the period", "Service", "2025-09-30", None, None, "",
     None, False),
    ("request on the last day of the period", "Request", "2025-09-30", "2025-09-30", None, "",
     "2025-09-30", False),
    # BETWEEN the period's start and end is inclusive (lines 50-53): a request ending on the
    # first day of the period is in it.
    ("request ending on the first day of the period", "Request", "2024-09-20", "2024-10-01",
     None, "", "2024-10-01", False),
    # A missing event type (NULL, not an empty string) is no event type.
    ("missing event type", None, "2025-01-01", "2025-01-10", None, "no_event_type",
     "2025-01-10", False),
]  # fmt: skip


def _dates(values):
    return pd.Series(pd.to_datetime(list(values)))


@pytest.mark.parametrize(
    ("kind", "start", "end", "died", "reason", "der_end", "death_end"),
    [pytest.param(*c[1:], id=c[0]) for c in FILTER_CASES],
)
def test_period_filter_boundaries(kind, start, end, died, reason, der_end, death_end):
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


LABELS = {
    "kept": "kept",
    "death_end": "kept, end date set to the date of death",
    "merged": "merged into another row",
    "no_event_type": "dropped: no event type",
    "outside": "dropped: outside the period",
    "no_person": "dropped: no person ID",
}


def _fates(n):
    """Five rows (lines 2-6): kept; end set to death; merged into line 2; outside; no person."""
    return assign_fates(
        n,
        dropped=np.array(["", "", "", "outside", ""], dtype=object),
        no_person=np.array([False, False, False, False, True]),
        merged_into=np.array([2, 3, 2, 0, 0]),
        lines=np.array([2, 3, 4, 5, 6]),
        death_end=np.array([False, True, False, False, False]),
        labels=LABELS,
    )


def test_fate_counts_list_every_fate_in_the_labels_order_with_zeros():
    fate, counts = _fates(5)
    assert list(fate) == ["kept", "death_end", "merged", "outside", "no_person"]
    assert list(counts.index) == list(LABELS)
    assert list(counts) == [1, 1, 1, 0, 1, 1]


def test_fates_that_do_not_add_up_to_the_file_stop_the_preview():
    with pytest.raises(FatesDoNotReconcile) as raised:
        _fates(6)
    assert str(raised.value) == "national preview: fates of 5 row(s) for a file of 6 row(s)"


# --- Step 1, the derived reporting period ----------------------------------------------------
# Worked by hand from Main_tables/REF_tables/create_REF_Submission_Reporting_Periods_V2_table.sql
# (commit e6f5749; lines as national.yaml's `reporting_period` cites them). Each type's counts
# are events per month of Oct 2024 - Sep 2025 (the stated period), ending on the 15th; the
# import month is Oct 2025.

YEAR = [(2024, m) for m in (10, 11, 12)] + [(2025, m) for m in range(1, 10)]
STATED = (date(2024, 10, 1), date(2025, 9, 30))
IMPORT = date(2025, 10, 1)


def _events(per_type: dict[str, list[int]], extra=()) -> tuple[pd.Series, pd.Series]:
    kinds, ends = [], []
    for kind, counts in per_type.items():
        for (y, m), n in zip(YEAR, counts, strict=True):
            kinds += [kind] * n
            ends += [pd.Timestamp(y, m, 15)] * n
    for kind, end, n in extra:
        kinds += [kind] * n
        ends += [pd.Timestamp(end)] * n
    return pd.Series(kinds, dtype="string"), pd.Series(pd.to_datetime(ends))


def _period(per_type, la="503", extra=(), import_month=IMPORT):
    kinds, ends = _events(per_type, extra)
    method = national_method()["reporting_period"]
    return derive_period(kinds, ends, la, STATED, import_month, method)


def _only(month: tuple[int, int], n: int) -> list[int]:
    return [n if ym == month else 0 for ym in YEAR]


def test_event_types_are_classified_by_their_first_word():
    # Lines 157-165: Event_Type LIKE 'Request%' / 'Assessment%' / 'Service%' (case-insensitive
    # as SQL Server compares); a review, or a NULL event type, is none of the three.
    types = national_method()["reporting_period"]["event_types"]
    got = classify(
        pd.Series(["Request", None, "Review", " service", "ASSESSMENT"], dtype="string"), types
    )
    assert [None if pd.isna(v) else v for v in got] == [
        "Request", None, None, "Service", "Assessment"
    ]  # fmt: skip


def test_the_derived_period_reports_each_types_counts_complete_months_and_run():
    # A full year, 12 events a month of each type: each type's total is 144, its median month
    # 12, every month Oct 2024 - Sep 2025 complete (lines 273-311), and the run is that year.
    p = _period({"Request": [12] * 12, "Assessment": [12] * 12, "Service": [12] * 12})
    assert (p.import_month, p.exception) == (IMPORT, None)
    request = p.by_type[0]
    assert (request.total, request.median_month, request.enough_volume) == (144, 12, True)
    assert (request.start, request.end) == (date(2024, 10, 1), date(2025, 9, 30))
    assert (request.first_complete, request.last_complete) == (date(2024, 10, 1), date(2025, 9, 1))


@pytest.mark.parametrize(
    ("la", "exception"), [("906", "stated_period"), ("714", "no_min_monthly_count"), ("503", None)]
)
def test_the_authority_exception_is_named(la, exception):
    # Lines 288-289 (City of London, 714) and 660-676 (Isles of Scilly, 906).
    p = _period({"Request": [12] * 12, "Assessment": [12] * 12, "Service": [12] * 12}, la=la)
    assert p.exception == exception


def test_the_calendar_starts_in_april_2020_and_counts_its_first_day():
    # Lines 81-111, 148-181: events ending from 1 April 2020 are counted. A file whose events
    # end on 1 April and 1 May 2020 (12 of each type in each), loaded in June 2020: both months
    # are complete, so the derived period is April - May 2020.
    kinds, ends = [], []
    for kind in ("Request", "Assessment", "Service"):
        for day in ("2020-04-01", "2020-05-01"):
            kinds += [kind] * 12
            ends += [pd.Timestamp(day)] * 12
    method = national_method()["reporting_period"]
    p = derive_period(
        pd.Series(kinds, dtype="string"),
        pd.Series(pd.to_datetime(ends)),
        "503",
        (date(2020, 4, 1), date(2020, 5, 31)),
        date(2020, 6, 1),
        method,
    )
    assert [t.total for t in p.by_type] == [24, 24, 24]
    assert (p.start, p.end) == (date(2020, 4, 1), date(2020, 5, 31))


def test_events_outside_the_counted_window_do_not_set_the_median_month():
    # Lines 183-201: the monthly counts are of counted events only. 100 requests a month in the
    # 13 months Mar 2019 - Mar 2020 (before the calendar) are not counted, so the requests'
    # median month stays 12 and every month of the year is complete.
    extra = [
        ("Request", pd.Timestamp(2019, 3, 15) + pd.DateOffset(months=k), 100) for k in range(13)
    ]
    p = _period({"Request": [12] * 12, "Assessment": [12] * 12, "Service": [12] * 12}, extra=extra)
    assert p.by_type[0].median_month == 12
    assert (p.start, p.end) == STATED


# Requests and assessments: 2,020 events each (170 a month, 150 in Sep 2025); the median type
# total is 2,020 and 5% of it is 101 (line 287, `>=`). Services only in Sep 2025.
BIG = [170] * 11 + [150]


@pytest.mark.parametrize(
    ("services", "period"),
    [
        pytest.param(101, (date(2025, 9, 1), date(2025, 9, 30)), id="exactly 5 percent"),
        pytest.param(100, (None, None), id="one event under 5 percent"),
    ],
)
def test_a_type_needs_five_percent_of_the_median_type_total(services, period):
    p = _period({"Request": BIG, "Assessment": BIG, "Service": _only((2025, 9), services)})
    assert p.by_type[2].enough_volume is (services == 101)
    assert (p.start, p.end) == period


def test_a_month_just_under_twenty_percent_of_the_median_month_is_incomplete():
    # Line 290: 100 * n / median >= 20. 505 requests a month and 100 in March: the median is
    # 505 and 100 * 100 / 505 = 19.8, so March is incomplete (allowed in the run, line 346).
    p = _period({"Request": _with_march(505, 100), "Assessment": [12] * 12, "Service": [12] * 12})
    assert date(2025, 3, 1) not in p.by_type[0].complete_months
    assert p.gap_flag is True


def _with_march(n: int, march: int) -> list[int]:
    return [march if ym == (2025, 3) else n for ym in YEAR]


def test_an_incomplete_last_but_one_month_is_a_gap():
    # Lines 583-618: any incomplete month between the first and last complete month, here
    # August 2025 (5 requests), the month before the last complete one.
    requests = [5 if ym == (2025, 8) else 12 for ym in YEAR]
    p = _period({"Request": requests, "Assessment": [12] * 12, "Service": [12] * 12})
    assert p.by_type[0].gap is True and p.gap_flag is True
    assert (p.start, p.end) == STATED


def test_types_whose_runs_never_meet_derive_no_period():
    # Lines 469-548: the period is the latest run of months allowed for all three types.
    # Requests are complete only in Oct-Dec 2024, the others only in Jul-Sep 2025: every type
    # has a run, but no month is allowed for all three, so there is no derived period.
    early = [12 if ym < (2025, 1) else 0 for ym in YEAR]
    late = [12 if ym >= (2025, 7) else 0 for ym in YEAR]
    p = _period({"Request": early, "Assessment": late, "Service": late})
    assert all(t.start is not None for t in p.by_type)
    assert (p.start, p.end) == (None, None)


def test_city_of_london_with_one_event_of_each_type():
    # Line 289: City of London (714) has no minimum monthly count; one event of each type in
    # Sep 2025 makes it complete for each (a total of 1 is > 0, lines 548-581 and 641-643).
    one = _only((2025, 9), 1)
    p = _period({"Request": one, "Assessment": one, "Service": one}, la="714")
    assert (p.start, p.end) == (date(2025, 9, 1), date(2025, 9, 30))
    assert p.missing_type_flag is False


# --- Steps 3 and 4, DHSC's unique events -------------------------------------------------------
# Worked by hand from create_GetDerivedFields_procedure.sql lines 304-318 (the unique event:
# LA, start, end unless a service, client type, person, event type and the type's own fields)
# and create_GetUniqueEvents_procedure.sql lines 49-53 (NUMERIC(18,2)), 66-71 (services also
# split by delivery mechanism and the cost fields) and 72-76 (the later line kept on a tie),
# commit e6f5749.

BASE = {
    "la_code": "503",
    "person": "N:9990000018",
    "Event Start Date": "2025-01-06",
    "Client Type": "Service user",
    "Request: Route of Access": "Planned entry (transition)",
    "Assessment Type": "Long Term Support: First Assessment",
    "Service Type": "Long Term Support: Nursing Care",
    "Service Component": "Nursing",
    "Delivery Mechanism": "CASSR managed personal budget",
    "Unit Cost": "24.50",
    "Cost Frequency (Unit Type)": "Weekly",
    "Planned units per week": "1.00",
    "outcome_rank": 999,
}


def _unique(kind: str, first: dict, second: dict) -> pd.DataFrame:
    rows = [{**BASE, **first}, {**BASE, **second}]
    frame = pd.DataFrame(rows, index=[10, 11])
    frame["line"] = [2, 3]
    frame["event_type"] = pd.Series([kind, kind], index=frame.index, dtype="string")
    frame["Event Type"] = frame["event_type"]
    frame["der_end"] = pd.to_datetime([r.get("end", "2025-03-31") for r in rows])
    frame.index = [10, 11]
    return unique_events(frame, national_method())


UNIQUE_CASES = [
    # (id, event type, first row's changes, second row's, kept line of each)
    # The end date is part of the event for requests (line 311): two events.
    ("two requests ending on different days", "Request", {"end": "2025-03-30"},
     {"end": "2025-03-31"}, [2, 3]),
    # A route of access is compared for requests only (line 314): assessments that differ in
    # it alone are one event, and the later line stands for it.
    ("two assessments with different routes of access", "Assessment", {},
     {"Request: Route of Access": "Self-funder"}, [3, 3]),
    # The cost fields split services only (GetUniqueEvents lines 66-71): one request.
    ("two requests with different unit costs", "Request", {}, {"Unit Cost": "30.00"}, [3, 3]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "first", "second", "kept"), [pytest.param(*c[1:], id=c[0]) for c in UNIQUE_CASES]
)
def test_rows_dhsc_treats_as_one_event(kind, first, second, kept):
    assert list(_unique(kind, first, second)["kept_line"]) == kept


def test_unique_events_keep_the_rows_index_and_number_each_event():
    got = _unique("Request", {}, {})
    assert list(got.index) == [10, 11]
    assert list(got.columns) == ["group", "kept_line"]
    assert got["group"].nunique() == 1


@pytest.mark.parametrize(
    ("text", "held"),
    [("24.505", "24.51"), ("24.515", "24.52"), ("0.125", "0.13"), ("24.5", "24.50")],
)
def test_costs_round_half_up_as_numeric_18_2(text, held):
    # Lines 49-53: CAST(... AS NUMERIC(18,2)); SQL Server rounds a half away from zero, so
    # 24.505 is 24.51 (not the banker's 24.50).
    assert as_numeric_18_2(pd.Series([text]))[0] == held


def test_costs_keep_the_rows_index():
    # The preview puts the held values back beside their rows by index.
    assert list(as_numeric_18_2(pd.Series(["24.5", "7"], index=[7, 9])).index) == [7, 9]


def test_an_outcome_outside_the_hierarchy_ranks_last():
    # Event_Outcome_Hierarchy (3-data-cleaning.md lines 50-66): 1 is highest, the listed order
    # (any case); an unmapped or blank outcome is 999, below every listed one.
    method = national_method()["deduplication"]
    outcomes = pd.Series(
        ["Invalid and not mapped", "NFA: Other", None, "progress to reablement/st-max"]
    )
    assert list(outcome_rank(outcomes, method)) == [999, 17, 999, 1]


def test_values_are_compared_as_dhscs_mapping_tables_clean_them():
    # GetDerivedFields lines 304-318 compare cleaned values: a Release 2 value itself (any
    # case), a Release 1 value as its Release 2 equivalent (Carer is Unpaid carer), a Release 1
    # value with none, or anything else, 'Invalid and not mapped'; a blank stays blank.
    spec = load_spec()
    client = pd.Series(["Carer", "carer", "Service user", "Nonsense", None], index=[5, 6, 7, 8, 9])
    got = cleaned(client, "Client Type", spec)
    assert list(got.index) == [5, 6, 7, 8, 9]
    assert list(got) == ["Unpaid carer", "Unpaid carer", "Service user", INVALID, None]
    assert list(cleaned(pd.Series(["White"]), "Ethnicity", spec)) == [INVALID]
