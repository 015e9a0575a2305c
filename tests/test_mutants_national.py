"""Cases for the national preview that mutation testing found unpinned (docs/testing.md,
"Mutation testing"). Worked by hand from DHSC's
Main_tables/stored_procedures/create_FilterToEventsInPeriod_procedure.sql (commit e6f5749; the
lines are those of tests/test_national_filter.py) and from national.yaml's list of fates.
Ids are plain words: mutmut passes them back to pytest.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import multiprocessing
import signal
import sys
import types
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cldetl.national.batches as batches_module
from cldetl.national import national_method
from cldetl.national.carer_links import comparable_ids, links_to_no_one
from cldetl.national.choose import first_that_holds
from cldetl.national.data_quality import dq_codes, dq_pairs, dq_summary, dq_unpaired
from cldetl.national.dedup import INVALID, as_numeric_18_2, cleaned, outcome_rank, unique_events
from cldetl.national.distinct import per_distinct
from cldetl.national.fates import FatesDoNotReconcile, assign_fates
from cldetl.national.filter import filter_to_period
from cldetl.national.measures import measures_method
from cldetl.national.measures.persons import person_details
from cldetl.national.period import classify, derive_period
from cldetl.spec import load_spec
from cldetl.validate.csvfile import CldTable
from tests.conftest import OTHER_NHS, VALID_NHS
from tests.conftest import row as cld_row
from tests.conftest import write_rows as write_cld_rows

PERIOD = (date(2024, 10, 1), date(2025, 9, 30))
CARER_TYPES = measures_method()["ascof_3d"]["carer_client_types"]

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


def _as_preview(changes: list[dict], kind) -> pd.DataFrame:
    """One person's rows as the preview gives them to unique_events: BASE, then each row's
    changes, on lines 2, 3, ...; the event type `kind` (one text for every row, or one value
    a row); the end date a row's "end" (None: open), else 31 March 2025."""
    frame = pd.DataFrame([{**BASE, **{k: v for k, v in c.items() if k != "end"}} for c in changes])
    frame["line"] = range(2, 2 + len(changes))
    if isinstance(kind, str):
        kind = pd.Series([kind] * len(changes), dtype="string")
    frame["event_type"] = kind
    frame["Event Type"] = frame["event_type"]
    frame["der_end"] = pd.to_datetime([c.get("end", "2025-03-31") for c in changes])
    return frame


def _kept_lines(frame: pd.DataFrame) -> list[int]:
    return list(unique_events(frame, national_method())["kept_line"])


def _unique(kind: str, first: dict, second: dict) -> pd.DataFrame:
    frame = _as_preview([first, second], kind)
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


# --- Data quality codes (data_quality.py) ------------------------------------------------------
# create_GetDQValues_procedure.sql (commit 7396fab, lines 36-48): field status 2 mandatory, 1
# applicable but not mandatory, 0 not applicable; result 1 valid, 0 blank where allowed, -1
# blank where mandatory, below -1 invalid (-2 here), -7 a Release 1 value (national.yaml
# `data_quality`, issue 17). Status and result worked by hand for each row below from the spec's
# Annex A rules (Gender mandatory for everyone; Date of Death applicable, not mandatory;
# Request: Route of Access not applicable outside requests).


def _dq_ctx(tmp_path, rows):
    from cldetl.validate.checks.context import CheckContext
    from cldetl.validate.csvfile import read_cld_csv
    from cldetl.validate.findings import FindingSink
    from tests.conftest import write_rows

    spec = load_spec()
    table = read_cld_csv(write_rows(tmp_path / "cld.csv", rows))
    return CheckContext(spec=spec, table=table, sink=FindingSink(spec, table.lines, spec.headers))


def _finding(line, column, rule):
    return {"line": line, "column": column, "rule": rule}


DQ_CASES = [
    # (id, the row's changes, findings on its line (column, rule), data field, status, code)
    ("a valid mandatory value", {}, [], "Gender", 2, 1),
    # A list finding is invalid (-2).
    ("a value not in the list", {"Gender": "F"}, [("Gender", "list.gender")], "Gender", 2, -2),
    # A type finding is invalid too.
    ("a value of the wrong type", {}, [("Gender", "type.whatever")], "Gender", 2, -2),
    # Other findings on the field (here a mandatory one on a filled value) leave it valid.
    ("another rule's finding", {}, [("Gender", "mandatory.person_details")], "Gender", 2, 1),
    # A finding on another field leaves this one valid.
    ("another field's finding", {}, [("Ethnicity", "list.ethnicity")], "Gender", 2, 1),
    # A Release 1 value is -7, not -2, although its rule is a list rule too.
    ("a Release 1 value", {}, [("Gender", "list.release1")], "Gender", 2, -7),
    ("a Release 1 value also invalid", {},
     [("Gender", "list.gender"), ("Gender", "list.release1")], "Gender", 2, -7),
    # Blank where mandatory is -1, whatever the findings.
    ("a blank mandatory value", {"Gender": ""}, [("Gender", "list.release1")], "Gender", 2, -1),
    ("a blank mandatory value with a list finding", {"Gender": ""}, [("Gender", "type.x")],
     "Gender", 2, -1),
    # Blank where allowed is 0.
    ("a blank optional value", {"Date of Death": ""}, [], "Date_of_Death", 1, 0),
    ("a blank optional value with a finding", {"Date of Death": ""},
     [("Date of Death", "type.date")], "Date_of_Death", 1, 0),
    ("an invalid optional value", {"Date of Death": "31/02/2025"},
     [("Date of Death", "type.date")], "Date_of_Death", 1, -2),
    ("a valid optional value", {"Date of Death": "01/02/2025"}, [], "Date_of_Death", 1, 1),
    # Not applicable (a service's route of access): status 0, a blank is 0 not -1.
    ("a field that does not apply", {"Request: Route of Access": ""}, [],
     "Request_Route_of_Access", 0, 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "found", "field", "status", "code"),
    [pytest.param(*c[1:], id=c[0]) for c in DQ_CASES],
)
def test_data_quality_status_and_code_of_one_field(tmp_path, changes, found, field, status, code):
    # Kills dq_codes' and _flagged's mutants of the rule prefixes, the blank, Release 1 and
    # invalid masks and np.select's order (docs/mutation-national.md).
    from tests.conftest import row

    ctx = _dq_ctx(tmp_path, [row(), row(**changes)])
    line = int(ctx.table.lines[1])
    findings = pd.DataFrame(
        [_finding(line, c, r) for c, r in found] or None, columns=["line", "column", "rule"]
    )
    got = dq_codes(ctx, findings, national_method())
    assert (int(got[f"{field} status"].iloc[1]), int(got[f"{field} code"].iloc[1])) == (
        status,
        code,
    )
    # The first row has no findings: its Gender is valid.
    assert int(got["Gender code"].iloc[0]) == 1


def test_data_quality_findings_are_matched_to_rows_by_their_line(tmp_path):
    # GetDQValues reads DLP's result per row (lines 36-48): a finding counts on the row that
    # starts on its line only. Rows here start on lines 2, 3 and 5 (the second record spans
    # two lines); findings on line 4 (inside a record), 1 (the header), 9 (past the end) and
    # without a line (file-level) mark no row. Kills _flagged's searchsorted, bounds and
    # equality mutants and dq_codes' `line.notna()` filter.
    from tests.conftest import row

    rows = [row(), row(**{"Event Description": "two\nlines"}), row()]
    ctx = _dq_ctx(tmp_path, rows)
    assert list(ctx.table.lines) == [2, 3, 5]
    found = pd.DataFrame(
        [
            _finding(4, "Gender", "list.gender"),
            _finding(1, "Gender", "list.gender"),
            _finding(9, "Gender", "list.gender"),
            _finding(None, "Gender", "list.gender"),
            _finding(5, "Gender", "list.release1"),
        ]
    )
    got = dq_codes(ctx, found, national_method())
    assert list(got["Gender code"]) == [1, 1, -7]
    only_file = dq_codes(ctx, found[found["line"].isna()], national_method())
    assert list(only_file["Gender code"]) == [1, 1, 1]


def test_data_quality_columns_are_int8_in_dhscs_field_order(tmp_path):
    # The procedure's VALUES order (national.yaml `data_quality.fields`): status then code of
    # each field, int8, on the rows' own index. Kills the astype and index mutants.
    from tests.conftest import row

    ctx = _dq_ctx(tmp_path, [row()])
    ctx.table.frame.index = [7]
    method = national_method()
    got = dq_codes(ctx, pd.DataFrame(columns=["line", "column", "rule"]), method)
    fields = [f[1] for f in method["data_quality"]["fields"]]
    assert list(got.columns) == [f"{f} {part}" for f in fields for part in ("status", "code")]
    assert list(got.index) == [7]
    assert set(got.dtypes) == {np.dtype(np.int8)}


# Every status (0, 1, 2) with every result DHSC's procedure gives (1, 0, -1, -2, -7).
DQ_PAIRS = [(s, c) for s in (2, 1, 0) for c in (1, 0, -1, -2, -7)]


def _two_fields(method):
    dq = dict(method["data_quality"])
    dq["fields"] = [dq["fields"][7], dq["fields"][10]]  # Gender, Date of Death
    return {**method, "data_quality": dq}


def test_data_quality_pairs_hold_each_status_and_code_and_give_them_back():
    # dq_pairs keeps a field's status and code as status * 16 + code + 8 (one byte); dq_unpaired
    # gives back the int8 status and code. Kills the arithmetic and dtype mutants of both.
    method = _two_fields(national_method())
    status = np.array([s for s, _ in DQ_PAIRS], dtype=np.int8)
    code = np.array([c for _, c in DQ_PAIRS], dtype=np.int8)
    index = pd.RangeIndex(100, 100 + len(DQ_PAIRS))
    codes = pd.DataFrame(
        {"Gender status": status, "Gender code": code,
         "Date_of_Death status": status[::-1], "Date_of_Death code": code[::-1]},
        index=index,
    )  # fmt: skip
    pairs = dq_pairs(codes, method)
    assert list(pairs.columns) == ["Gender", "Date_of_Death"]
    assert list(pairs.index) == list(index)
    assert pairs["Gender"].dtype == np.uint8
    assert list(pairs["Gender"]) == [s * 16 + c + 8 for s, c in DQ_PAIRS]
    back = dq_unpaired(pairs, method)
    assert list(back.columns) == list(codes.columns)
    assert list(back.index) == list(index)
    assert set(back.dtypes) == {np.dtype(np.int8)}
    assert back.equals(codes)


def test_data_quality_summary_counts_rows_per_field_status_and_code():
    # GetDQValues' COUNT(*) per field, status and result (lines 36-48), with DHSC's labels
    # (national.yaml `data_quality`), fields in the procedure's order, then status and code
    # as sorted text and number; only combinations that occur. Kills dq_summary's mutants of
    # the decoding, labels, sort and columns.
    method = _two_fields(national_method())
    gender = [(2, 1), (2, 1), (2, -7), (2, -1), (2, -2), (2, 1)]
    death = [(1, 0), (1, 1), (1, 0), (1, -2), (1, 0), (1, 0)]

    def pair(s, c):
        return s * 16 + c + 8

    pairs = pd.DataFrame(
        {"Gender": [pair(*p) for p in gender], "Date_of_Death": [pair(*p) for p in death]},
        dtype=np.uint8,
    )
    got = dq_summary(pairs, method)
    assert list(got.columns) == [
        "module", "data_field", "field", "status", "code", "label", "rows"
    ]  # fmt: skip
    assert list(got.index) == list(range(7))
    assert got.values.tolist() == [
        ["Person details", "Gender", "Gender", "Mandatory", -7,
         "Failed: Invalid (a Release 1 value)", 1],
        ["Person details", "Gender", "Gender", "Mandatory", -2, "Failed: Invalid", 1],
        ["Person details", "Gender", "Gender", "Mandatory", -1, "Failed: Blank (Mandatory)", 1],
        ["Person details", "Gender", "Gender", "Mandatory", 1, "Passed: Valid", 3],
        ["Person details", "Date_of_Death", "Date of Death", "Applicable but not mandatory", -2,
         "Failed: Invalid", 1],
        ["Person details", "Date_of_Death", "Date of Death", "Applicable but not mandatory", 0,
         "Passed: Blank (Not Mandatory)", 4],
        ["Person details", "Date_of_Death", "Date of Death", "Applicable but not mandatory", 1,
         "Passed: Valid", 1],
    ]  # fmt: skip


def test_data_quality_summary_sorts_a_fields_statuses_by_their_labels():
    # Within a field the rows are sorted by the status label, then the code: "Applicable but
    # not mandatory" < "Mandatory" < "Not applicable" (a field's status differs by row, e.g.
    # a route of access for requests and services). Kills the sort-key mutants.
    method = _two_fields(national_method())
    statuses = [0, 2, 1, 2, 0]
    pairs = pd.DataFrame(
        {"Gender": [s * 16 + 1 + 8 for s in statuses], "Date_of_Death": [2 * 16 + 0 + 8] * 5},
        dtype=np.uint8,
    )
    got = dq_summary(pairs, method)
    gender = got[got["data_field"] == "Gender"]
    assert list(gender["status"]) == ["Applicable but not mandatory", "Mandatory", "Not applicable"]
    assert list(gender["rows"]) == [1, 2, 2]
    assert list(got["data_field"]) == ["Gender"] * 3 + ["Date_of_Death"]


# --- Population figures (population.py) --------------------------------------------------------
# Not a DHSC rule: ASCOF 2B and 2C's rates per 100,000 rest on ONS mid-year estimates by age band
# (national_measures.yaml `ascof_2bc`), and every rate names where its figures come from
# (docs/mapping.md, `population`).


def _population_mapping(tmp_path, section):
    from cldetl.mapping import load_mapping

    base = Path(__file__).parent / "data" / "mapping_files" / "testshire.yaml"
    path = tmp_path / "la.yaml"
    path.write_text(base.read_text(encoding="utf-8") + section, encoding="utf-8")
    return load_mapping(path)


POP_CSV = "age_band,population\n18 to 64,200000\n65 and above,50000\n"
POP_BANDS = {"18 to 64": 200_000, "65 and above": 50_000}
POP_SOURCE = '  source: "ONS mid-2024 population estimates, table MYE2"\n  year: 2024\n'


def test_population_figures_say_where_they_were_given(tmp_path):
    # The report names the figures' source and where they were given: the mapping's section
    # (by its file) or the --population file. Kills the mutants of PopulationFigures' source
    # and given_in in population_file and mapping_population.
    from cldetl.national.population import mapping_population, population_file

    csv_path = tmp_path / "pop.csv"
    csv_path.write_text(POP_CSV, encoding="utf-8")
    given = population_file(str(csv_path))
    assert (given.by_band, given.source, given.given_in) == (
        POP_BANDS, "the file pop.csv", str(csv_path)
    )  # fmt: skip
    section = "\npopulation:\n" + POP_SOURCE + "  file: pop.csv\n"
    mapping = _population_mapping(tmp_path, section)
    figures = mapping_population(mapping)
    assert figures.given_in == f"{mapping.path} population"
    assert figures.source == "ONS mid-2024 population estimates, table MYE2 (2024)"
    by_band = "\npopulation:\n" + POP_SOURCE + "  by_age_band:\n    18 to 64: 1\n"
    unnamed = _population_mapping(tmp_path, by_band + "    65 and above: 2\n")
    unnamed = unnamed.model_copy(update={"path": ""})
    assert mapping_population(unnamed).given_in == "the mapping population"


def test_a_population_file_path_in_the_mapping_may_be_absolute_home_or_cwd(tmp_path, monkeypatch):
    # `file` is relative to the mapping file; an absolute path is used as it is, `~` is the
    # user's home, and a mapping with no file of its own (path "") reads from the working
    # folder. Kills the expanduser, is_absolute and base-folder mutants of mapping_population.
    from cldetl.national.population import mapping_population

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pop.csv").write_text(POP_CSV, encoding="utf-8")
    section = f"\npopulation:\n{POP_SOURCE}  file: {elsewhere}/pop.csv\n"
    absolute = _population_mapping(tmp_path, section)
    assert mapping_population(absolute).by_band == POP_BANDS
    monkeypatch.setenv("HOME", str(elsewhere))
    home = _population_mapping(tmp_path, f"\npopulation:\n{POP_SOURCE}  file: ~/pop.csv\n")
    assert mapping_population(home).by_band == POP_BANDS
    relative = _population_mapping(tmp_path, f"\npopulation:\n{POP_SOURCE}  file: pop.csv\n")
    monkeypatch.chdir(elsewhere)
    assert mapping_population(relative.model_copy(update={"path": ""})).by_band == POP_BANDS


def test_the_data_quality_summary_lists_fields_in_dhscs_order():
    # GetDQValues counts rows per field, status and result (COUNT(*), lines 36-48), its fields in
    # the procedure's VALUES order (national.yaml `data_quality.fields`, which is not
    # alphabetical: LA_Code, Reporting_Period_End_Date, ...); within a field by status label,
    # then result. Three rows, the same for every field: mandatory valid, mandatory Release 1,
    # applicable blank. Kills dq_summary__mutmut_87 (the order keyed on the spec's field name,
    # which only Gender, Ethnicity and Dementia share with DHSC's: those three then come first).
    method = national_method()
    fields = method["data_quality"]["fields"]
    rows = [(2, 1), (2, -7), (1, 0)]
    codes = pd.DataFrame(
        {f"{f[1]} {part}": np.array([r[i] for r in rows], dtype=np.int8)
         for f in fields for i, part in ((0, "status"), (1, "code"))}
    )  # fmt: skip
    got = dq_summary(dq_pairs(codes, method), method)
    per_field = [
        ("Applicable but not mandatory", 0, "Passed: Blank (Not Mandatory)"),
        ("Mandatory", -7, "Failed: Invalid (a Release 1 value)"),
        ("Mandatory", 1, "Passed: Valid"),
    ]
    want = [(*f, *p, 1) for f in fields for p in per_field]
    assert list(got.columns) == ["module", "data_field", "field", "status", "code", "label", "rows"]
    assert [tuple(r) for r in got.itertuples(index=False)] == want


# (DHSC data field, status, code) on a row for an unpaid carer known by association: it has
# no event, so the event fields and each event type's own fields do not apply (status 0, and
# their blank is 0, not -1).
CARER_BY_ASSOCIATION_DQ = [
    ("Event_Type", 0, 0),
    ("Event_Outcome", 0, 0),
    ("Request_Route_of_Access", 0, 0),
    ("Eligible_Needs_Identified", 0, 0),
    ("Service_Type", 0, 0),
    ("Review_Reason", 0, 0),
]


@pytest.mark.parametrize(("field", "status", "code"), CARER_BY_ASSOCIATION_DQ)
def test_no_event_field_applies_to_an_unpaid_carer_known_by_association(
    tmp_path, field, status, code
):
    # A field named by several "does not apply" rules of Annex A is not applicable when ANY
    # of them holds (GetDQValues status 0, lines 36-48): the carer-by-association rule holds
    # here and the event-type rules (not a request, not a service, ...) do not. Kills
    # dq_codes__mutmut_34 (`applicable = ~holds` instead of `&=`: the last rule naming the
    # field wins, so a service field became applicable to a row with no event).
    from tests.conftest import CARER_BY_ASSOCIATION, row

    ctx = _dq_ctx(tmp_path, [row(CARER_BY_ASSOCIATION)])
    got = dq_codes(ctx, pd.DataFrame(columns=["line", "column", "rule"]), national_method())
    assert (int(got[f"{field} status"].iloc[0]), int(got[f"{field} code"].iloc[0])) == (
        status,
        code,
    )


# first_that_holds is SQL's CASE WHEN cond THEN value ... ELSE default END (cldetl/national/
# choose.py): one THEN per WHEN, a condition is true or not true, and a column's value given as
# a THEN or ELSE reaches its row unchanged (a NULL stays NULL, it is not the text 'nan').
def test_a_case_needs_one_value_per_condition():
    # Kills choose.x_first_that_holds__mutmut_22, _25, _26 (zip not strict: the second
    # condition, with no value, was silently dropped).
    conditions = [np.array([False, True]), np.array([True, True])]
    with pytest.raises(ValueError):
        first_that_holds(conditions, ["first"], "else")


def test_a_case_with_no_condition_is_refused_by_name():
    # Kills choose.x_first_that_holds__mutmut_2, _3, _4 (the message lost or changed).
    with pytest.raises(ValueError, match="^first_that_holds needs at least one condition$"):
        first_that_holds([], [], "else")


def test_a_condition_held_as_object_true_false_is_read_as_true_or_false():
    # A condition is a truth value per row, not row numbers, whatever column holds it. Kills
    # choose.x_first_that_holds__mutmut_29, _31 (an object array used as an index: IndexError).
    condition = pd.Series([True, False, True], dtype=object)
    got = first_that_holds([condition], ["service"], "other")
    assert got.tolist() == ["service", "other", "service"]


def test_a_column_given_as_then_or_else_reaches_its_rows_unchanged():
    # Row 0: the condition holds, THEN a column: its NULL stays NULL. Row 1: it holds, 'q'.
    # Row 2: it does not, ELSE a column: its NULL stays NULL. Kills choose.x_first_that_holds
    # __mutmut_36, _38 (THEN) and _14, _16 (ELSE): without dtype=object, numpy makes a list of
    # texts and NaN a text array, and NULL becomes the text 'nan'.
    holds = np.array([True, True, False])
    got = first_that_holds([holds], [[np.nan, "q", "r"]], ["x", "y", np.nan])
    assert got[1] == "q"
    assert pd.isna(got[0]) and pd.isna(got[2])


def test_values_worked_out_per_distinct_value_stay_on_their_rows_index():
    # Each row's result is given back on that row's own label, whatever the column's index
    # (a column taken from a filtered frame is not numbered 0, 1, 2, ...). Kills
    # distinct.x_per_distinct__mutmut_19, _21 (the result renumbered from 0).
    column = pd.Series([" Service", None, "Request", " Service"], index=[7, 8, 9, 10])
    got = per_distinct(column, lambda v: v.str.strip().fillna("none"))
    assert got.index.tolist() == [7, 8, 9, 10]
    assert got.astype(object).to_dict() == {7: "Service", 8: "none", 9: "Request", 10: "Service"}


# Unpaid carers' links to no one (cldetl/national/carer_links.py), worked from
# ASCOF_measures/Create_personal_details_table.sql (7396fab), #Carers_shell: carer rows
# (Client_Type 'Unpaid carer' or 'Unpaid carer known by association') whose event overlaps the
# year, end (open: 9999-01-01) >= the year's start AND start <= the year's end, both inclusive;
# their linked IDs are joined to the rows' LA_Person_Unique_Identifier. The year is PERIOD,
# 01/10/2024 - 30/09/2025; the file's one person is P000001, and each case's row links P000999.
CARER_LINK_CASES = [
    # (id, client type, event start, derived end (None: open), reported)
    ("carer whose event ends on the first day of the year", "Unpaid carer", "2024-09-01",
     "2024-10-01", True),
    ("carer whose event ended the day before the year", "Unpaid carer", "2024-01-01",
     "2024-09-30", False),
    ("carer whose event starts on the last day of the year", "Unpaid carer", "2025-09-30", None,
     True),
    ("carer whose event starts the day after the year", "Unpaid carer", "2025-10-01", None,
     False),
    ("open carer event started before the year", "Unpaid carer known by association",
     "2023-05-01", None, True),
    ("service user in the year", "Service User", "2025-01-01", None, False),
]  # fmt: skip


def _carer_events(client_type, start, end, link):
    return pd.DataFrame(
        {
            "line": [2, 3],
            "event_reference": ["E1", "E2"],
            "la_person": pd.Series(["P000001", "C1"], dtype="string"),
            "Client Type": pd.Series(["Service User", client_type], dtype="string"),
            "Event Start Date": pd.to_datetime(["2025-01-01", start]),
            "der_end": pd.to_datetime([None, end]),
            "Adult 1 Linked Person_ID": pd.Series([None, link], dtype="string"),
            "Adult 2 Linked Person_ID": pd.Series([None, None], dtype="string"),
            "Adult 3 Linked Person_ID": pd.Series([None, None], dtype="string"),
        }
    )


@pytest.mark.parametrize(
    ("client_type", "start", "end", "reported"),
    [pytest.param(*c[1:], id=c[0]) for c in CARER_LINK_CASES],
)
def test_only_unpaid_carers_of_the_year_have_their_links_looked_up(
    client_type, start, end, reported
):
    # Kills carer_links.x_links_to_no_one__mutmut_13 (end > start: ending on the first day),
    # _18 (start < end: starting on the last day), _4 (`& ... | start <= end`: any carer event
    # starting before the year's end), _5 (`client type | end >= start`: any row of the year).
    got = links_to_no_one(_carer_events(client_type, start, end, "p000999"), PERIOD, CARER_TYPES)
    want = [[3, "E2", 1]] if reported else []
    assert got[["line", "event_reference", "field"]].values.tolist() == want


def test_no_link_to_no_one_is_an_empty_table_of_line_event_reference_and_field():
    # No carer row of the year has a link: nothing to look up, and the result still has the
    # documented columns.
    # Kills carer_links.x_links_to_no_one__mutmut_29 to _35 (the empty result's columns).
    got = links_to_no_one(
        _carer_events("Unpaid carer", "2025-01-01", None, None), PERIOD, CARER_TYPES
    )
    assert got.empty and list(got.columns) == ["line", "event_reference", "field"]


def test_links_are_listed_by_line_then_field_numbered_from_0():
    # Line 3 links P000999 in Adult 2; line 4 links P000888 in Adult 1 and P000777 in Adult 3;
    # none is in the file. One row per link, in line then field order, numbered 0, 1, 2 like
    # any fresh table. Kills carer_links.x_links_to_no_one__mutmut_93, _95, _105 (the sorted
    # rows keep the concatenation's numbering 1, 0, 2) and, through the column names,
    # _86, _87 (event_reference misnamed).
    events = pd.DataFrame(
        {
            "line": [2, 3, 4],
            "event_reference": ["E1", "E2", "E3"],
            "la_person": pd.Series(["P000001", "C1", "C2"], dtype="string"),
            "Client Type": pd.Series(["Service User", "Unpaid carer", "Unpaid carer"]),
            "Event Start Date": pd.to_datetime(["2025-01-01"] * 3),
            "der_end": pd.to_datetime([None] * 3),
            "Adult 1 Linked Person_ID": pd.Series([None, None, "p000888"], dtype="string"),
            "Adult 2 Linked Person_ID": pd.Series([None, "p000999", None], dtype="string"),
            "Adult 3 Linked Person_ID": pd.Series([None, None, "p000777"], dtype="string"),
        }
    )
    got = links_to_no_one(events, PERIOD, CARER_TYPES)
    assert got.to_dict("index") == {
        0: {"line": 3, "event_reference": "E2", "field": 2},
        1: {"line": 4, "event_reference": "E3", "field": 1},
        2: {"line": 4, "event_reference": "E3", "field": 3},
    }


def test_a_linked_id_of_spaces_only_is_blank_not_a_link():
    # SQL Server's = ignores trailing spaces, so '   ' is '' and a blank ID links to no one
    # (not a link at all); an ID is compared stripped and ignoring case. Kills
    # carer_links.x_comparable_ids__mutmut_7 (blank left as '', then reported as a link).
    got = comparable_ids(pd.Series(["   ", "", " P000001 ", None]))
    assert got.isna().tolist() == [True, True, False, True]
    assert got.iloc[2] == "p000001"


# The preview reads a file a batch at a time (cldetl/national/batches.py): "a large plain file
# is read in worker processes, anything else here", as `cldetl validate` reads it (same pool,
# same limits: cldetl/validate/__init__.py). Plain: not gzip, UTF-8 text; large: at least
# PROCESS_MIN_BYTES; processes only with at least 2 workers and where the platform can fork.
BATCH_ROUTE_CASES = [
    # (id, workers, gzip size, text encoding, file size, can fork, read in processes)
    ("plain file at the size limit", 2, None, "utf8", 100, True, True),
    ("plain file one byte under the limit", 2, None, "utf8", 99, True, False),
    ("one worker on one CPU", 1, None, "utf8", 100, True, False),
    ("gzip file", 2, 40, "utf8", 100, True, False),
    ("Windows-1252 file", 2, None, "cp1252", 100, True, False),
    ("platform that cannot fork", 2, None, "utf8", 100, False, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("workers", "gzip_size", "encoding", "size", "fork", "in_processes"),
    [pytest.param(*c[1:], id=c[0]) for c in BATCH_ROUTE_CASES],
)
def test_only_a_large_plain_file_is_read_in_processes(
    monkeypatch, workers, gzip_size, encoding, size, fork, in_processes
):
    # Kills batches.x_batch_parts__mutmut_11 to _21 (a condition joined by `or`, 2 workers
    # refused, gzip or encoding test inverted or misspelt, the size limit exclusive).
    routes = []
    monkeypatch.setattr(batches_module, "WORKERS", workers)
    monkeypatch.setattr(batches_module, "PROCESS_MIN_BYTES", 100)
    monkeypatch.setattr(batches_module, "can_fork", lambda: fork)
    monkeypatch.setattr(
        batches_module, "_in_processes", lambda *a: routes.append("processes") or []
    )
    stream = types.SimpleNamespace(
        gzip_size=gzip_size, text_encoding=encoding, size=size,
        batches=lambda: routes.append("here") or [],
    )  # fmt: skip
    assert list(batches_module.batch_parts(stream, None, None, None, None)) == []
    assert routes == ["processes" if in_processes else "here"]


def test_the_preview_reads_in_validates_forked_pool_ended_and_waited_for(monkeypatch):
    # The workers are forked (they inherit the stream, spec, findings and steps, which are not
    # pickled: the default start method is not fork on macOS or from Python 3.14), WORKERS of
    # them as for `cldetl validate`, and the pool is shut down waiting for them. Kills
    # batches.x__in_processes__mutmut_2, _6 (max_workers None or left out: one per CPU),
    # _3, _7, _10 (the default start method), _29, _33 (shutdown without waiting).
    made, ended = [], []

    class Pool:
        def __init__(self, **kwargs):
            made.append(kwargs)

        def shutdown(self, **kwargs):
            ended.append(kwargs)

    asked, get_context = [], multiprocessing.get_context
    monkeypatch.setattr(batches_module, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(
        multiprocessing, "get_context", lambda method=None: asked.append(method) or get_context()
    )
    stream = types.SimpleNamespace(spans=lambda: [])
    assert list(batches_module._in_processes(stream, None, None, None)) == []
    assert made[0].get("max_workers") == batches_module.WORKERS
    assert asked == ["fork"] and "mp_context" in made[0]
    assert len(ended) == 1 and ended[0].get("wait", True) is True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_preview_worker_ignores_ctrl_c_and_ends_with_its_parent():
    # A worker leaves Ctrl-C to its parent (which ends the pool) and asks Linux to end it
    # with SIGTERM when its parent ends, as `cldetl validate`'s workers do. Kills
    # batches.x__start_worker__mutmut_5 (end_with_parent(None): no signal, so a worker
    # outlives a killed parent).
    fork = multiprocessing.get_context("fork")
    ours, theirs = fork.Pipe()

    def worker():
        batches_module._start_worker(None, None, None, None)
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        sig = ctypes.c_int()
        libc.prctl(2, ctypes.byref(sig))  # PR_GET_PDEATHSIG
        theirs.send((sig.value, signal.getsignal(signal.SIGINT) == signal.SIG_IGN))

    child = fork.Process(target=worker)
    child.start()
    got = ours.recv() if ours.poll(30) else None
    child.join(30)
    assert got == (signal.SIGTERM, True)


def test_a_batch_is_given_the_findings_of_its_own_lines_and_none_without_rows():
    # `_part` gives the preview's steps the findings of the batch's lines, first to last; a
    # batch with no rows (an in-memory table of none) has none: an empty findings table, not
    # None nor the file's first finding. Kills batches.x__part__mutmut_31 (None) and _32.
    spec = load_spec()
    findings = pd.DataFrame(
        {"line": [2, 3, 9], "column": ["Gender"] * 3, "rule": ["list.release1"] * 3}
    )

    def table(lines):
        frame = pd.DataFrame({name: [""] * len(lines) for name in spec.headers})
        return CldTable("cld.csv", list(spec.headers), frame, np.array(lines, np.int64), "utf-8")

    def mine(lines):
        return batches_module._part(spec, table(lines), findings, lambda ctx, found: found)

    assert mine([3, 4, 5])["line"].tolist() == [3]
    got = mine([])
    assert got.empty and list(got.columns) == ["line", "column", "rule"]


# --- The measures' ages and person details (measures/persons.py) --------------------------------
# Every ASCOF measure ages a person as FLOOR(DATEDIFF(DAY, birth, at) / 365.25)
# (Create_ASCOF_3D_2425_Onwards.sql (69fe2e4), #Build's Der_Age_Reporting_End;
# Create_ASCOF_2B2C_2425_Onwards.sql, section 1's Der_Age_Event_Start). Days counted by hand:
# 20 Sep 1960 to 20 Sep 2025 is 65 years of 365 days and 16 leap days (29 Feb 1964 ... 2024).
WHOLE_YEARS_CASES = [
    # 23,741 + 10 = 23,751 days; 65 x 365.25 = 23,741.25, so 65.03: 65 (a year of 366.25
    # days gives 64.85: 64).
    ("ten days after the 65th birthday", "1960-09-20", "2025-09-30", 65),
    # 23,741 days on the 65th birthday: 64.999, so still 64 (FLOOR of a 365.25-day year).
    ("on the 65th birthday", "1960-09-30", "2025-09-30", 64),
    # 1 Oct 2007 to 1 Oct 2025: 18 x 365 + 5 leap days = 6,575; the day before: 6,574 days,
    # 17.998: 17.
    ("the day before the 18th birthday", "2007-10-01", "2025-09-30", 17),
    ("no birth date", None, "2025-09-30", None),
]  # fmt: skip


def test_ages_are_whole_years_of_365_25_days():
    # Kills persons.x_whole_years__mutmut_6 (a year of 366.25 days) and _8 (`astype("int64")`:
    # no birth date raises).
    from cldetl.national.measures.persons import whole_years

    born = _dates(c[1] for c in WHOLE_YEARS_CASES)
    at = _dates(c[2] for c in WHOLE_YEARS_CASES)
    got = whole_years(born, at)
    assert [None if pd.isna(v) else int(v) for v in got] == [c[3] for c in WHOLE_YEARS_CASES]


# #Accom_Row1 / #PSR_Row1 (Create_personal_details_table.sql, 7396fab): after the end date
# (both events open here: 9999-01-01), the latest Event_Start_Date first. SQL Server sorts a
# NULL start lowest, so last in that descending order.
LATEST_START_CASES = [
    # Kills persons.x__descending__mutmut_2 (the dates' bits read as floats: before 1970 they
    # are negative, and the order of two such starts is reversed).
    ("starts before 1970", ["1965-01-01", "1968-01-01"], "Tenant"),
    # Kills persons.x__descending__mutmut_4 (a missing start's key None: a TypeError).
    ("a missing start", [None, "2025-01-01"], "Tenant"),
]


@pytest.mark.parametrize(
    ("starts", "expected"), [pytest.param(*c[1:], id=c[0]) for c in LATEST_START_CASES]
)
def test_the_latest_start_decides_between_two_open_events(starts, expected):
    from cldetl.national.measures.persons import person_details

    events = pd.DataFrame(
        {
            "person": [7, 7],
            "Event Start Date": pd.to_datetime(starts),
            "der_end": pd.to_datetime([None, None]),
            "Accommodation Status": pd.Series(["Registered care home", "Tenant"], dtype=object),
        }
    )
    got = person_details(events, ["Accommodation Status"]).loc[7, "Accommodation Status"]
    assert got == expected


# --- The ASCOF measures called on their own (measures/ascof_*.py) -------------------------------
# The unique events as `measures()` gives them to each measure (with_person_details: the person
# as a number, their birth date and date of death on every row), built here row by row. The
# year is PERIOD (1 Oct 2024 - 30 Sep 2025). A row: (person, client type, event type, service
# type, component, delivery mechanism, start, end or None, born or None, died or None, outcome).
COMMUNITY_3D = "Long term support: Community"
CARER_DIRECT = "Unpaid carer support: Direct to unpaid carer"


def _with_person_accommodation(events):
    """`person_accommodation` as with_person_details puts it on every row: the person's latest
    known Accommodation Status (2E's unknown statuses read as unknown)."""
    unknown = {"Accommodation Status": measures_method()["ascof_2e"]["unknown"]}
    status = person_details(events, ["Accommodation Status"], unknown)["Accommodation Status"]
    return events.assign(person_accommodation=events["person"].map(status))


def _measure_events(rows, **extra):
    cols = list(zip(*rows, strict=True))
    text = lambda i: pd.Series(cols[i], dtype=object)  # noqa: E731
    return pd.DataFrame(
        {
            "line": np.arange(2, len(rows) + 2),
            "person": list(cols[0]),
            "Client Type": text(1),
            "event_type": text(2),
            "Service Type": text(3),
            "Service Component": text(4),
            "Delivery Mechanism": text(5),
            "Event Start Date": pd.to_datetime(list(cols[6])),
            "der_end": pd.to_datetime(list(cols[7])),
            "person_birth": pd.to_datetime(list(cols[8])),
            "person_died": pd.to_datetime(list(cols[9])),
            "Event Outcome": text(10),
            **extra,
        }
    )


def _client(person, mechanism, born="1950-03-14", start="2024-01-01", end=None, died=None,
            stype=COMMUNITY_3D, component="Home support or domiciliary care",
            client="Service user"):  # fmt: skip
    return (person, client, "Service", stype, component, mechanism, start, end, born, died, None)


def _carer(person, mechanism, born="1970-01-01", start="2025-01-01", end=None, died=None,
           stype=CARER_DIRECT, component="Unpaid carer respite", client="Unpaid carer",
           kind="Service", outcome=None):  # fmt: skip
    return (person, client, kind, stype, component, mechanism, start, end, born, died, outcome)


DP, MPB, CSS = "Direct payment", "CASSR managed personal budget", "CASSR commissioned support"
INFO = "NFA: Information and advice or signposting"
# Create_ASCOF_3D_2425_Onwards.sql (69fe2e4), the client section: #ASCOF_3D_Clients_Build (long
# term services of service users with Event_Start_Date <= the year end, Der_Event_End_Date >=
# the year end or NULL and >= Event_Start_Date, Date_of_Death_Latest >= the year end or NULL;
# ages FLOOR(days / 365.25) at the year end: < 18 'Under 18', 18-64, >= 65, else 'Unknown'),
# the update blanking a mechanism #REF_Service_Type_Delivery_Mech does not list for the type,
# #ASCOF_3D_Clients_Join (hierarchy 3 for a community service whose component is Direct
# payment) / _MinRank / _Final (the lowest hierarchy; 'Under 18' out, 'Unknown' kept), and
# #ASCOF_3D_Clients_Aggregation (community only; 1a: DP or component DP or managed budget;
# 2a: DP or component DP; ROLLUP: 'Unknown' in the Total only). Ages: WHOLE_YEARS_CASES.
CLIENTS_3D = [
    _client(1, DP, born="1960-09-20"),  # 65 at the year end: 65+; 1a, 2a
    _client(90, MPB, born="1960-09-30"),  # 64 (FLOOR): 18-64; 1a only (listed out of order)
    _client(3, DP, born="2007-10-01"),  # 17: under 18, out
    _client(4, DP, born=None),  # no birth date: 'Unknown', in the Total only; 1a, 2a
    _client(5, DP, end="2025-09-30"),  # ends on the year end: still open then; 1a, 2a
    _client(6, DP, end="2025-09-29"),  # ended the day before: out
    _client(7, DP, start="2025-09-30"),  # starts on the year end: in; 1a, 2a
    _client(8, DP, start="2025-10-01"),  # starts after it: out
    _client(9, DP, died="2025-09-30"),  # died on the year end: in; 1a, 2a
    _client(10, DP, died="2025-09-29"),  # died the day before: out
    _client(12, "Cash"),  # a mechanism not listed: blank (rank 6); denominator only
    _client(13, CSS), _client(13, DP),  # rank 3 (DP) before 5: 1a, 2a
    _client(14, DP), _client(14, "", stype="Long term support: Residential care",
                             component="Long term residential care"),  # residential: out
    _client(16, DP, client="Unpaid carer"),  # not a service user: out
    _client(17, MPB, born="2007-09-20"),  # 18 (6,585 days): 18-64; 1a only
    _client(18, CSS, component=DP),  # the component makes it a direct payment: 1a, 2a
    _client(19, DP, start="2025-09-30", end="2025-09-30"),  # one day, the year end: 1a, 2a
    _client(20, None),  # no mechanism: blank (rank 6); denominator only
    # Prison with component Direct payment: not a community service, so hierarchy 9 (the
    # mechanism blanked), after community with no mechanism (6): denominator only.
    _client(21, None, stype="Long term support: Prison", component=DP), _client(21, None),
    # Component Direct payment (3) before a managed budget (4): 1a, 2a.
    _client(22, CSS, component=DP), _client(22, MPB),
]  # fmt: skip
# The carer section: #ASCOF_3D_Carers_Build (unpaid carers' events with Event_Start_Date <= the
# year end, Der_Event_End_Date >= the year start or NULL and >= Event_Start_Date,
# Date_of_Death_Latest >= the year start or NULL; and a request or assessment with no service
# type ending in information and advice, a carer service, or an assessment or review with no
# service type), #ASCOF_3D_Carers_Case (support provided: hierarchy 1 DP, 2 managed budget,
# 3 commissioned, 4 direct with another mechanism, 5 information (a request, or an assessment
# or review ending in information), 6 no direct support (support involving the cared-for, or
# another assessment or review)), _MinRank / _Final (the highest support; the youngest age's
# band) and _Aggregation (denominator: 1-3; 1b: 1-2; 2b: 1).
REQUEST = {"kind": "Request", "stype": None, "component": None, "end": "2025-01-05"}
ASSESSED = {"stype": None, "component": None, "end": "2025-01-05", "outcome": "NFA: Other"}
INVOLVING = {"stype": "Unpaid carer support: Support involving the person cared-for",
             "component": "Other"}  # fmt: skip
CARERS_3D = [
    _carer(21, DP),  # Direct Payment only
    _carer(22, CSS, component=DP),  # component Direct payment: Direct Payment only
    _carer(23, MPB, born="1950-03-14"),  # CASSR Managed Personal Budget, 65+
    _carer(24, CSS),  # CASSR Commissioned Support only: denominator only
    # No mechanism: unknown delivery mechanism (4), before the request's information (5).
    _carer(25, None), _carer(25, None, **REQUEST, outcome=INFO),
    _carer(26, CSS), _carer(26, DP),  # 1 before 3: Direct Payment only
    _carer(27, DP, start="2024-06-01", end="2024-10-01"),  # ends on the year's first day: in
    _carer(28, DP, start="2024-06-01", end="2024-09-30"),  # ended before the year: out
    _carer(29, DP, born="1950-03-14", died="2024-10-01"),  # died on the year's first day: in
    _carer(30, DP, died="2024-09-30"),  # died before the year: out
    _carer(31, DP, born="2008-01-01"),  # 17 at the year end: out
    # An assessment ending in information (5) before support involving the cared-for (6).
    _carer(32, None, **INVOLVING), _carer(32, None, kind="Assessment", **{**ASSESSED,
                                                                         "outcome": INFO}),
    _carer(33, DP, client="Unpaid carer known by association"),  # an unpaid carer: in
    _carer(34, DP, start="2025-10-01"),  # starts after the year: out
    _carer(35, MPB, born=None),  # no birth date: 'Unknown', in the Total only; 1b
    _carer(36, DP, client="Service user"),  # not a carer: out
    # A request ending in information (5) before an assessment ending otherwise (6).
    _carer(37, None, **REQUEST, outcome=INFO), _carer(37, None, kind="Assessment", **ASSESSED),
    _carer(38, None, **REQUEST, outcome="NFA: Other"),  # a request ending otherwise: not in
    # Another assessment, or review, and support involving the cared-for: both 6, both first.
    _carer(39, None, kind="Assessment", **ASSESSED), _carer(39, None, **INVOLVING),
    _carer(40, None, kind="Review", **ASSESSED), _carer(40, None, **INVOLVING),
    # A service with no service type ending in information is in the cohort but in no
    # category (the CASE has no branch for it: NULL, no hierarchy): the other row decides.
    _carer(41, None, stype=None, outcome=INFO), _carer(41, None, **INVOLVING),
    _carer(44, None, stype=None, outcome=INFO),  # such a row alone: outside the measure
    _carer(42, DP, start="2025-03-01", end="2025-03-01"),  # one day in the year: DP
    _carer(43, DP, start="2025-09-30"),  # starts on the year end: DP
]  # fmt: skip
ASCOF_3D_BY_HAND = {
    # Clients: 18-64: 90, 17; 65+: 1, 5, 7, 9, 12, 13, 18, 19, 20, 21, 22; Unknown: 4.
    ("ASCOF 3D1a", "18 to 64"): (2, 2), ("ASCOF 3D2a", "18 to 64"): (0, 2),
    ("ASCOF 3D1a", "65 and above"): (8, 11), ("ASCOF 3D2a", "65 and above"): (8, 11),
    ("ASCOF 3D1a", "Total"): (11, 14), ("ASCOF 3D2a", "Total"): (9, 14),
    # Carers: 18-64: 21, 22, 24, 26, 27, 33, 42, 43; 65+: 23, 29; Unknown: 35.
    ("ASCOF 3D1b", "18 to 64"): (7, 8), ("ASCOF 3D2b", "18 to 64"): (7, 8),
    ("ASCOF 3D1b", "65 and above"): (2, 2), ("ASCOF 3D2b", "65 and above"): (1, 2),
    ("ASCOF 3D1b", "Total"): (10, 11), ("ASCOF 3D2b", "Total"): (8, 11),
}  # fmt: skip
# Each person's records behind 3D1a and 3D1b (Total), in their rows' order: counted, and why.
YES, HIGHER = "community support at the year end", "a higher setting counts for this person"
OUTSIDE, MORE = "support outside the measure", "higher support counts for this carer"
DPO, PB = "Direct Payment only", "CASSR Managed Personal Budget"
CSO = "CASSR Commissioned Support only"
RECORDS_3D = {
    "ASCOF 3D1a": {
        1: [(True, YES)], 90: [(True, YES)], 3: [(False, "under 18")], 4: [(True, YES)],
        5: [(True, YES)], 7: [(True, YES)], 9: [(True, YES)], 12: [(False, YES)],
        13: [(False, HIGHER), (True, YES)], 14: [(False, HIGHER), (False, "not community support")],
        17: [(True, YES)], 18: [(True, YES)], 19: [(True, YES)], 20: [(False, YES)],
        21: [(False, HIGHER), (False, YES)], 22: [(True, YES), (False, HIGHER)],
    },
    "ASCOF 3D1b": {
        21: [(True, DPO)], 22: [(True, DPO)], 23: [(True, PB)], 24: [(False, CSO)],
        25: [(False, OUTSIDE), (False, MORE)], 26: [(False, MORE), (True, DPO)],
        27: [(True, DPO)], 29: [(True, DPO)], 31: [(False, "under 18")],
        32: [(False, MORE), (False, OUTSIDE)], 33: [(True, DPO)], 35: [(True, PB)],
        37: [(False, OUTSIDE), (False, MORE)], 39: [(False, OUTSIDE), (False, OUTSIDE)],
        40: [(False, OUTSIDE), (False, OUTSIDE)], 41: [(False, MORE), (False, OUTSIDE)],
        42: [(True, DPO)], 43: [(True, DPO)], 44: [(False, OUTSIDE)],
    },
}  # fmt: skip
TITLES_3D = {
    "ASCOF 3D1a": "Clients receiving self-directed support",
    "ASCOF 3D2a": "Clients receiving direct payments",
    "ASCOF 3D1b": "Carers receiving self-directed support",
    "ASCOF 3D2b": "Carers receiving direct payments",
}


def _by_person(figure, events):
    person = dict(zip(events["line"], events["person"], strict=True))
    got: dict[int, list] = {}
    for line, counted, reason in zip(figure.behind["line"], figure.behind["counted"],
                                     figure.behind["reason"], strict=True):  # fmt: skip
        got.setdefault(person[line], []).append((bool(counted), reason))
    return got


def test_ascof_3d_boundaries_hierarchy_and_bands_counted_by_hand():
    # Fails with 569 of ascof_3d.py's 654 mutants; the other 85 are equivalent
    # (docs/mutation-national.md, branch dev-mutM).
    from cldetl.national.measures.ascof_3d import ascof_3d

    events = _measure_events(CLIENTS_3D + CARERS_3D)
    figures = ascof_3d(events, PERIOD, measures_method())
    got = {(f.measure, f.group): (f.numerator, f.denominator) for f in figures}
    assert got == ASCOF_3D_BY_HAND
    by = {(f.measure, f.group): f for f in figures}
    # ROUND(numerator / denominator * 100, 1): 8 / 11 = 72.7%, 9 / 14 = 64.3%.
    assert by[("ASCOF 3D1a", "65 and above")].value == 72.7
    assert by[("ASCOF 3D2a", "Total")].value == 64.3
    for measure, records in RECORDS_3D.items():
        assert _by_person(by[(measure, "Total")], events) == records, measure
    # Within a band, only that band's people are counted: 3D1a 18-64 counts 90 and 17.
    band = _by_person(by[("ASCOF 3D1a", "18 to 64")], events)
    assert {p for p, rs in band.items() if any(c for c, _ in rs)} == {90, 17}
    cite = measures_method()["ascof_3d"]["cite"]
    assert {(f.measure, f.title, f.unit, f.cite) for f in figures} == {
        (m, t, "%", cite) for m, t in TITLES_3D.items()
    }


# Create_ASCOF_2B2C_2425_Onwards.sql (69fe2e4): section 1 (services of service users, long term
# residential or nursing, a birth date, alive at the year start (Date_of_Death >= it), a component
# LIKE '%Residential%' or '%Nursing%' (SQL Server's default collation ignores case) and NOT LIKE
# '%Short%' (unknown for a NULL component: out); the age FLOOR(days / 365.25) at the event's
# start), section 2 (Event_Start_Date BETWEEN the year's start and end, not ended self-funded),
# section 3 (not new when a build row of the person started strictly earlier and is open or
# ended under 365 days before: DATEDIFF(DAY, its end, this start) < 365), section 4 (18 and
# over; 18-64 2B, over 64 2C; per 100,000 of the band's population, ROUND 1).
RESIDENTIAL = "Long term support: Residential care"
RES_CARE = "Long term residential care"
SELF_FUNDED = "NFA: Self-funded client or under 12wk disregard"


def _admission(person, start, end=None, born="1950-03-14", died=None, stype=RESIDENTIAL,
               component=RES_CARE, outcome=None, client="Service user"):  # fmt: skip
    return (person, client, "Service", stype, component, None, start, end, born, died, outcome)


ADMISSIONS_2BC = [
    _admission(101, "2024-10-01"),  # the year's first day: new, 65+
    _admission(102, "2025-09-30"),  # its last day: new
    _admission(103, "2024-09-30"),  # the day before: started outside the year
    _admission(104, "2025-10-01"),  # the day after
    _admission(105, "2025-01-01", stype="Long term support: Nursing care",
               component="long term nursing care"),  # the word in lower case: new
    _admission(106, "2025-01-01", component="Short term residential care"),  # short: not built
    _admission(107, "2025-01-01", component=None),  # no component: not built
    _admission(108, "2025-01-01", component="Home support"),  # neither word: not built
    _admission(109, "2025-01-01", "2025-03-01", outcome=SELF_FUNDED),  # ended self-funded
    # 1 Jan 2024 to 30 Dec 2024: 364 days (2024 is a leap year), under 365: not new.
    _admission(110, "2023-01-01", "2024-01-01"), _admission(110, "2024-12-30"),
    # To 31 Dec 2024: 365 days, not under 365: new.
    _admission(111, "2023-01-01", "2024-01-01"), _admission(111, "2024-12-31"),
    # An earlier service still open: not new.
    _admission(112, "2020-01-01"), _admission(112, "2025-01-01"),
    # Two starting on the same day: neither is strictly earlier, both new; one person.
    _admission(113, "2025-02-01", "2025-03-01"), _admission(113, "2025-02-01"),
    # An earlier short-term stay is not in the build: new.
    _admission(114, "2024-09-01", "2024-11-01", component="Short term residential care"),
    _admission(114, "2025-01-01"),
    # An earlier stay that ended self-funded is still in the build: not new.
    _admission(115, "2024-11-01", "2024-12-01", outcome=SELF_FUNDED),
    _admission(115, "2025-02-01"),
    _admission(116, "2024-10-01", died="2024-10-01"),  # died on the year's first day: new
    _admission(117, "2025-01-01", died="2024-09-30"),  # died before the year: not built
    _admission(118, "2025-01-01", born=None),  # no birth date: not built
    # Ages at the start: 1 Jan 2007 to 1 Jan 2025 is 18 x 365 + 5 leap days = 6,575 days:
    # 18.001, 18 (2B); born a day later: 6,574, 17.998, under 18. WHOLE_YEARS_CASES: 65, 64.
    _admission(119, "2025-01-01", born="2007-01-01"),
    _admission(120, "2025-01-01", born="2007-01-02"),
    _admission(121, "2025-09-30", born="1960-09-20"),  # 65: 2C
    _admission(122, "2025-09-30", born="1960-09-30"),  # 64: 2B
    _admission(124, "2025-01-01", client="Unpaid carer"),  # not a service user: not built
    _admission(125, "2025-01-01", component="short term residential care"),  # 'Short': any case
]  # fmt: skip
NEW_65 = "new admission, 65 and above"
OUTSIDE_YEAR, NOT_NEW = (
    "started outside the year",
    "not new: an earlier residential or nursing service ended under 365 days before",
)  # noqa: E501
OTHER_BAND = "counted in the other age band"
RECORDS_2C = {
    101: [(True, NEW_65)], 102: [(True, NEW_65)], 103: [(False, OUTSIDE_YEAR)],
    104: [(False, OUTSIDE_YEAR)], 105: [(True, NEW_65)], 109: [(False, "ended as self-funded")],
    110: [(False, OUTSIDE_YEAR), (False, NOT_NEW)], 111: [(False, OUTSIDE_YEAR), (True, NEW_65)],
    112: [(False, OUTSIDE_YEAR), (False, NOT_NEW)], 113: [(True, NEW_65), (True, NEW_65)],
    114: [(True, NEW_65)], 115: [(False, "ended as self-funded"), (False, NOT_NEW)],
    116: [(True, NEW_65)], 119: [(False, OTHER_BAND)], 120: [(False, "under 18")],
    121: [(True, NEW_65)], 122: [(False, OTHER_BAND)],
}  # fmt: skip


def test_ascof_2b_2c_boundaries_and_new_admissions_counted_by_hand():
    # With the next test, fails with 362 of ascof_2bc.py's 393 mutants; the other 31 are
    # equivalent (docs/mutation-national.md, branch dev-mutM).
    from cldetl.national.measures.ascof_2bc import ascof_2bc

    events = _measure_events(ADMISSIONS_2BC)
    population = {"18 to 64": 300_000, "65 and above": 60_000}
    b, c = ascof_2bc(events, PERIOD, population, measures_method())
    # 2B: 119, 122; 2C: 101, 102, 105, 111, 113, 114, 116, 121. 2 / 300,000 x 100,000 = 0.67,
    # 0.7; 8 / 60,000 x 100,000 = 13.33, 13.3.
    assert (b.measure, b.group, b.numerator, b.denominator, b.value) == (
        "ASCOF 2B", "18 to 64", 2, 300_000, 0.7
    )  # fmt: skip
    assert (c.measure, c.group, c.numerator, c.denominator, c.value) == (
        "ASCOF 2C", "65 and above", 8, 60_000, 13.3
    )  # fmt: skip
    assert _by_person(c, events) == RECORDS_2C
    assert {p for p, rs in _by_person(b, events).items() if any(k for k, _ in rs)} == {119, 122}
    m = measures_method()["ascof_2bc"]
    assert {(f.title, f.unit, f.cite) for f in (b, c)} == {(m["title"], "per 100,000", m["cite"])}


# Section 3 for one person alone (the first rows of the whole-array steps in `_earlier_recent`):
# (start, end) of each residential service -> counted per row. 2 Jun 2023 to 1 Feb 2025 is 611
# days, over 365.
ONE_PERSON_2BC = [
    ("one admission", [("2025-01-01", None)], [True]),
    ("two on the same day", [("2025-02-01", "2025-03-01"), ("2025-02-01", None)], [True, True]),
    ("an earlier service still open", [("2020-01-01", None), ("2025-01-01", None)],
     [False, False]),
    ("an earlier service ended 611 days before", [("2023-01-01", "2023-06-01"),
                                                  ("2025-02-01", None)], [False, True]),
    ("no residential or nursing service", [], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("services", "counted"), [pytest.param(*c[1:], id=c[0]) for c in ONE_PERSON_2BC]
)
def test_ascof_2b_2c_of_one_person(services, counted):
    # Kills ascof_2bc._earlier_recent's first-row mutants (`n == 1`, `before > 0`, `valid` with
    # `|`, the run start's filler 1, the prior row taken from index 1) and the empty result's.
    from cldetl.national.measures.ascof_2bc import ascof_2bc

    rows = [_admission(7, start, end) for start, end in services]
    rows.append(_client(7, DP))  # a community service: never in the build
    b, c = ascof_2bc(_measure_events(rows), PERIOD, None, measures_method())
    assert c.behind["counted"].tolist() == counted
    assert (b.numerator, c.numerator, c.value) == (0, int(any(counted)), None)


# Create_ASCOF_2E_2425_Onwards.sql (69fe2e4): #ASCOF_2E_Build (services of service users, long
# term, a start, Der_Event_End_Date >= Event_Start_Date or NULL, Event_Start_Date <= the year end,
# Der_Event_End_Date >= the year start or NULL), #ASCOF_2E_Person_Details_temp / #Capped_end_dates
# (each end capped at the year end, open as 9999-01-01; the person's latest), #ASCOF_2E_Person_
# Details (alive at the year start; the age FLOOR(days / 365.25) at that capped end), _Age (18
# and over or no age; BETWEEN 18 AND 64, >= 65, no age 'Unknown'), the numerator's
# Accommodation_Status_Group = 1 (#REF_Accommodation_Status) and the LD variant (Learning
# disability support, 18-64). A row: _client's, with an accommodation status and a primary
# support reason.
OWNER, CARE_HOME = "Owner occupier or shared ownership scheme", "Registered care home"
LD, UNK, B80 = "Learning disability support", "Unknown", "1980-01-01"
NURSING = "Long term support: Nursing care"
SETTLED_2E = [
    (_client(201, None), OWNER, None),  # settled, 65+
    (_client(202, None), CARE_HOME, None),  # not settled, 65+
    (_client(203, None, start="2025-09-30"), OWNER, None),  # starts on the year end: in
    (_client(204, None, start="2025-10-01"), OWNER, None),  # after it: not built
    (_client(205, None, end="2024-10-01"), OWNER, None),  # ends on the year's first day: in
    (_client(206, None, end="2024-09-30"), OWNER, None),  # the day before: not built
    (_client(207, None, start="2025-01-10", end="2025-01-05"), OWNER, None),  # ends first: out
    (_client(208, None, died="2024-10-01"), OWNER, None),  # died on the year's first day: in
    (_client(209, None, died="2024-09-30"), OWNER, None),  # died before the year: out
    (_client(210, None, born="1960-09-20"), OWNER, None),  # 65 at the capped end (year end)
    # Ended 1 Mar 2025: 64 then (23,538 days from 20 Sep 1960, 64.4): 18-64.
    (_client(211, None, born="1960-09-20", end="2025-03-01"), OWNER, None),
    # The same and an open service: the person's latest capped end is the year end, 65.
    (_client(212, None, born="1960-09-20", end="2025-03-01"), OWNER, None),
    (_client(212, None, born="1960-09-20"), OWNER, None),
    (_client(213, None, born="2007-09-20"), OWNER, None),  # 18 at the year end: 18-64
    (_client(214, None, born="2007-10-01"), OWNER, None),  # 17: out
    (_client(215, None, born=None), OWNER, None),  # no age: 'Unknown', in neither band
    (_client(216, None, born="1980-01-01"), OWNER, LD),  # settled, 18-64 and LD
    (_client(217, None), OWNER, LD),  # LD but 65+: in 2E 65+ only
    (_client(218, None, born="1980-01-01"), CARE_HOME, LD),  # LD, not settled
    (_client(219, None, client="Unpaid carer"), OWNER, None),  # not a service user
    (_client(220, None, stype="Short term support: ST-Max"), OWNER, None),  # not long term
    # Unknown, deduced from the latest service: nursing, a registered nursing home: not settled.
    (_client(221, None, born=B80, stype=NURSING, component="Long term nursing care"), UNK, None),
    (_client(222, None, born=B80), "Tenant: Private landlord", None),  # settled, 18-64
    (_client(223, None, born="2025-01-01"), OWNER, None),  # 0 years old: out
    # Unknown accommodation, deduced (Create_personal_details_table.sql, 7396fab, #Service_Row1:
    # the latest end, then the highest service type, then a telling component, then the latest
    # start; #Unknowns_Services_Deduped: one distinct value or none; #Unknowns_Services_Mapped).
    (_client(224, None, born=B80), UNK, None),  # community home support: presumed at home
    # The latest end decides: open community home support after residential that ended.
    (_client(225, None, born=B80, stype=RESIDENTIAL, component=RES_CARE, end="2025-03-01"),
     UNK, None),
    (_client(225, None, born=B80), UNK, None),
    # Both open: nursing (1) before community (3): a registered nursing home.
    (_client(226, None, born=B80, stype=NURSING, component="Long term nursing care"), UNK, None),
    (_client(226, None, born=B80), UNK, None),
    # The same dates and type: the telling component (Shared Lives) before Day support.
    (_client(227, None, born=B80, component="Day support"), UNK, None),
    (_client(227, None, born=B80, component="Shared Lives"), UNK, None),
    # Then the latest start: extra care housing (1 Jun 2024) before Shared Lives (1 Jan 2024).
    (_client(228, None, born=B80, component="Shared Lives"), UNK, None),
    (_client(228, None, born=B80, component="Extra care housing", start="2024-06-01"), UNK, None),
    # Two telling components tied: no one value, so community with no component.
    (_client(229, None, born=B80, component="Shared Lives"), UNK, None),
    (_client(229, None, born=B80, component="Extra care housing"), UNK, None),
    # The latest service is short term (type 5, not a long term one): nothing to deduce.
    (_client(230, None, born=B80, end="2025-03-01"), UNK, None),
    (_client(230, None, born=B80, stype="Short term support: ST-Max", component="Reablement"),
     UNK, None),
    (_client(231, None, born=B80, start="2025-03-01", end="2025-03-01"), OWNER, None),  # one day
    # The latest service's type is on no list (hierarchy 99, 'Not useful'), its component
    # Shared Lives still tells: Shared Lives scheme.
    (_client(232, None, born=B80, end="2025-03-01", component="Day support"), UNK, None),
    (_client(232, None, born=B80, stype="Unpaid carer support: Direct to unpaid carer",
             component="Shared Lives"), UNK, None),
    # Community with an untelling component ('Not useful', so NULL): presumed in community.
    (_client(233, None, born=B80, component="Day support"), UNK, None),
]  # fmt: skip
NOT_18_64 = "not 18 to 64"
RECORDS_2E_18_64 = {
    201: [(False, NOT_18_64)], 202: [(False, NOT_18_64)], 203: [(False, NOT_18_64)],
    205: [(False, NOT_18_64)], 208: [(False, NOT_18_64)], 209: [(False, "died before the year")],
    210: [(False, NOT_18_64)], 211: [(True, "settled: " + OWNER)],
    212: [(False, NOT_18_64), (False, NOT_18_64)], 213: [(True, "settled: " + OWNER)],
    214: [(False, "under 18")], 215: [(False, NOT_18_64)], 216: [(True, "settled: " + OWNER)],
    217: [(False, NOT_18_64)], 218: [(False, "not settled: " + CARE_HOME)],
    221: [(False, "not settled: Registered nursing home")],
    222: [(True, "settled: Tenant: Private landlord")], 223: [(False, "under 18")],
    224: [(True, "settled: Unknown: Presumed at home")],
    225: [(True, "settled: Unknown: Presumed at home")] * 2,
    226: [(False, "not settled: Registered nursing home")] * 2,
    227: [(True, "settled: Shared Lives scheme")] * 2,
    228: [(True, "settled: Sheltered housing, extra care housing or other sheltered housing")] * 2,
    229: [(False, "not settled: Unknown: Presumed in community")] * 2,
    230: [(False, "not settled: Unknown")], 231: [(True, "settled: " + OWNER)],
    232: [(True, "settled: Shared Lives scheme")],
    233: [(False, "not settled: Unknown: Presumed in community")],
}  # fmt: skip
# Behind 2E LD: 216 and 218; another 18-64 person is not LD, an LD person of 65 not 18-64.
RECORDS_2E_LD = {
    216: [(True, "settled: " + OWNER)], 218: [(False, "not settled: " + CARE_HOME)],
    211: [(False, "not learning disability")], 217: [(False, NOT_18_64)],
}  # fmt: skip


def test_ascof_2e_cohort_ages_and_bands_counted_by_hand():
    # With the next test, fails with 479 of ascof_2e.py's 546 mutants; the other 67 are
    # equivalent (docs/mutation-national.md, branch dev-mutM).
    from cldetl.national.measures.ascof_2e import ascof_2e

    events = _measure_events(
        [r[0] for r in SETTLED_2E],
        **{"Accommodation Status": pd.Series([r[1] for r in SETTLED_2E], dtype=object),
           "person_reason": pd.Series([r[2] for r in SETTLED_2E], dtype=object)},
    )  # fmt: skip
    figures = ascof_2e(_with_person_accommodation(events), PERIOD, measures_method())
    got = {(f.measure, f.group): (f.numerator, f.denominator, f.value) for f in figures}
    # 18-64: 211, 213, 216, 218, 221, 222, 224-233 (218, 221, 226, 229, 230, 233 not settled):
    # 10 / 16 = 62.5%. 65+: 201, 202, 203, 205, 208, 210, 212, 217 (202 not): 7 / 8 = 87.5%.
    # LD 18-64: 216, 218: 1 / 2.
    assert got == {
        ("ASCOF 2E", "18 to 64"): (10, 16, 62.5),
        ("ASCOF 2E", "65 and above"): (7, 8, 87.5),
        ("ASCOF 2E LD", "18 to 64"): (1, 2, 50.0),
    }
    assert _by_person(figures[0], events) == RECORDS_2E_18_64
    ld = _by_person(figures[2], events)
    assert {p: ld[p] for p in RECORDS_2E_LD} == RECORDS_2E_LD
    m = measures_method()["ascof_2e"]
    assert {(f.title, f.unit, f.cite) for f in figures} == {(m["title"], "%", m["cite"])}


def test_ascof_2e_with_no_long_term_service():
    # No one in the cohort (only an unpaid carer's service): every figure 0 / 0 with no value
    # and no record. Kills ascof_2e's empty-cohort mutants (the status of no rows read from a
    # misnamed column, or mapped through `accommodation` of nothing).
    from cldetl.national.measures.ascof_2e import ascof_2e

    events = _measure_events(
        [_carer(1, DP)],
        **{"Accommodation Status": pd.Series([OWNER], dtype=object),
           "person_reason": pd.Series([None], dtype=object)},
    )  # fmt: skip
    figures = ascof_2e(_with_person_accommodation(events), PERIOD, measures_method())
    assert [(f.numerator, f.denominator, f.value, len(f.behind)) for f in figures] == [
        (0, 0, None, 0)
    ] * 3


def test_ascof_3d_a_carer_service_with_a_blank_component_is_in_no_category():
    """Create_ASCOF_3D_2425_Onwards.sql (69fe2e4), #ASCOF_3D_Carers_Case: after the direct
    payment branch each branch for 'Direct to unpaid carer' also asks `Service_Component NOT
    LIKE 'Direct payment'`, unknown for a NULL component, so the CASE gives NULL: no hierarchy
    (FULL JOIN to #REF_CARER_SUPPORT_HIERARCHY), MIN(Hierarchy) NULL when it is the person's
    only row (#ASCOF_3D_Carers_MinRank), out of #ASCOF_3D_Carers_Final.

    Carers: 51 managed budget, no component: none. 52 commissioned, no component: none.
    53 no mechanism, no component: none. 54 direct payment mechanism, no component: Direct
    Payment only (the first branch is an OR, true). 55 managed budget with no component and
    commissioned support with one: the second row decides, CASSR Commissioned Support only.
    So 1b: numerator 1 (54), denominator 2 (54, 55); 2b: 1 of 2."""
    from cldetl.national.measures.ascof_3d import ascof_3d

    events = _measure_events([
        _carer(51, MPB, component=None),
        _carer(52, CSS, component=None),
        _carer(53, None, component=None),
        _carer(54, DP, component=None),
        _carer(55, MPB, component=None), _carer(55, CSS),
    ])  # fmt: skip
    counts = {
        (f.measure, f.group): (f.numerator, f.denominator)
        for f in ascof_3d(events, PERIOD, measures_method())
    }
    assert counts[("ASCOF 3D1b", "Total")] == (1, 2)
    assert counts[("ASCOF 3D2b", "Total")] == (1, 2)


# Create_ASCOF_2A_2425_Onwards.sql (7396fab). Section 1: #ASCOF2A_Build_Temp (Client_Type
# 'Service User', a start, Der_Event_End_Date >= Event_Start_Date or NULL; open: 9999-01-01),
# #REF_Event_Outcome_Hierarchy_UTC (the unusable outcomes + 100; no outcome is 'Invalid and not
# mapped', hierarchy 999), #ST_Max_Grouped / _Clusters_Assigned (an ST-Max starting at most 7
# days after the latest earlier end joins the cluster), #ST_Max_Grouped_Event_Outcome (the
# cluster's outcome: LAST_VALUE by end ASC, hierarchy DESC, record ASC, so the latest end, then
# the lowest hierarchy), #ST_Max_Clusters_In_period (the cluster's end BETWEEN the year's start
# and end), #ST_Max_Joined (18 or over at the cluster's end, or no birth date; not died before
# the cluster's start), #ST_Max_Joined_Flags (not new: long-term support started before the
# cluster and ended under 91 days before it, or open). Section 2: the sequels 1 to 6. Outcome
# hierarchy (national.yaml `outcome_hierarchy`): 'Progress to support planning or services' 4
# (+ 100), 'NFA: Information and advice or signposting' 10, 'NFA: Support ended as planned' 14,
# 'NFA: Other' 17. A row: _client's; everyone born 14 Mar 1950 (65 and above) unless said.
ST_MAX = "Short term support: ST-Max"
PLANNED_2A = "NFA: Support ended as planned"
PLANNING_2A = "Progress to support planning or services"
PLANNED_4A = "sequel 4a: NFA: Support ended as planned (numerator)"
NOT_NEW_2A = "not a new client: long-term support within 91 days before"


def _st_max(person, start, end, outcome=None, born="1950-03-14", died=None,
            client="Service user", component="Reablement"):  # fmt: skip
    return (person, client, "Service", ST_MAX, component, None, start, end, born, died, outcome)


def _event_2a(person, kind, stype, component, start, end, outcome=None, born="1950-03-14",
              died=None, client="Service user"):  # fmt: skip
    return (person, client, kind, stype, component, None, start, end, born, died, outcome)


EVENTS_2A = [
    # Not a service user's reablement: not built, no record.
    _st_max(301, "2025-02-01", "2025-02-28", PLANNED_2A, client="Unpaid carer"),
    # A one-day reablement (the end on the start is not before it): sequel 4a.
    _st_max(302, "2025-03-01", "2025-03-01", PLANNED_2A),
    # Long-term support "ending" 1 Dec 2024, before its start on 20 Dec 2024: not built, so
    # it cannot make the reablement of 10 Jan 2025 (40 days later) that of an existing client.
    _st_max(303, "2025-01-10", "2025-01-31", PLANNED_2A),
    _event_2a(303, "Service", COMMUNITY_3D, "Home support or domiciliary care", "2024-12-20",
              "2024-12-01"),
    # No outcome: 'Invalid and not mapped' (999), no usable outcome, nothing after: sequel 6.
    _st_max(304, "2025-04-01", "2025-04-10"),
    # Two rows ending the same day: the lower hierarchy decides the cluster's outcome,
    # 'Progress to support planning or services' (104) before no outcome (999): sequel 6.
    _st_max(305, "2025-05-01", "2025-05-20", PLANNING_2A),
    _st_max(305, "2025-05-05", "2025-05-20"),
    # 18 Jan 2025 is 8 days after the end on 10 Jan: two clusters, each its own outcome.
    _st_max(306, "2025-01-01", "2025-01-10", PLANNED_2A),
    _st_max(306, "2025-01-18", "2025-01-31", "NFA: Other"),
    # 17 Feb 2025 is 7 days after 10 Feb: one cluster, the outcome of the latest end.
    _st_max(307, "2025-02-01", "2025-02-10", PLANNING_2A),
    _st_max(307, "2025-02-17", "2025-02-28", PLANNED_2A),
    # Died 7 days after the end (DATEDIFF <= 7): sequel 1.
    _st_max(308, "2025-06-01", "2025-06-10", PLANNED_2A, died="2025-06-17"),
    # The cluster's own row is never equipment delivered during it (#ST_Max_Joined's
    # Same_ST_Max rows are blanked), whatever its component: sequel 6.
    _st_max(309, "2025-06-01", "2025-06-10", PLANNING_2A, component="Equipment"),
    # Long-term support starting on the cluster's first day (Event_Start_Date >= its start; not
    # before it, so a new client) and still open: sequel 3.
    _st_max(310, "2025-07-01", "2025-07-10", "NFA: Other"),
    _event_2a(310, "Service", COMMUNITY_3D, "Home support or domiciliary care", "2025-07-01",
              None),
    # A service ending on the cluster's last day does not end after it (> its end): not a
    # sequel, nor equipment: the cluster's own outcome, sequel 4a.
    _st_max(311, "2025-08-01", "2025-08-20", "NFA: Other"),
    _event_2a(311, "Service", "Short term support: Ongoing low level", "Other short term support",
              "2025-08-05", "2025-08-20"),
    # Residential care starting 7 days after the end (DATEDIFF <= 7): sequel 3.
    _st_max(312, "2025-09-01", "2025-09-10", "NFA: Other"),
    _event_2a(312, "Service", RESIDENTIAL, RES_CARE, "2025-09-17", None),
    # A later event of ST-Max type in the window (#FirstSTMaxEvent reads only the service type,
    # here a request's) leaves it and every event starting on or after it out
    # (#Has_Future_Events_In_Window): not the community support of 15 May, nor the request's
    # usable outcome: the cluster's own, sequel 4a.
    _st_max(313, "2025-05-01", "2025-05-10", PLANNED_2A),
    _event_2a(313, "Request", ST_MAX, None, "2025-05-13", "2025-05-14", INFO),
    _event_2a(313, "Service", COMMUNITY_3D, "Home support or domiciliary care", "2025-05-15",
              None),
    # A service of a type #REF_Service_Type does not list (hierarchy 99) in the window is no
    # service sequel, and as a service no step 4 source either (Event_Type != 'Service'); the
    # cluster has a future event, so its own outcome is not 4a (#Has_Usable_Stmax_EO_Only):
    # sequel 6, its own 'NFA: Other', in the numerator.
    _st_max(314, "2025-03-01", "2025-03-10", "NFA: Other"),
    _event_2a(314, "Service", CARER_DIRECT, "Unpaid carer respite", "2025-03-12", None),
    # Two other short term services (hierarchy 7): the short term residential one first
    # (#Ranked_Services), its own outcome (#Find_Top_Service), in the denominator only.
    _st_max(315, "2025-04-01", "2025-04-10", "NFA: Other"),
    _event_2a(315, "Service", "Short term support: Other short term", "Other short term support",
              "2025-04-12", "2025-04-25"),
    _event_2a(315, "Service", "Short term support: Other short term",
              "Short term residential care", "2025-04-12", "2025-04-20"),
    # Other short term support alone: its own service type, in the numerator.
    _st_max(316, "2025-04-01", "2025-04-10", "NFA: Other"),
    _event_2a(316, "Service", "Short term support: Other short term", "Other short term support",
              "2025-04-12", "2025-04-25"),
    # Nested events (#Has_Nested_Events: Event_Start_Date >= the cluster's start, end > its start
    # and <= its end); an assessment or review among them ending under 14 days before the
    # cluster's end with a usable outcome is sequel 4c (#Nested_Assessments_Reviews).
    # A review starting on the cluster's first day: nested, 4c.
    _st_max(317, "2025-02-01", "2025-02-20", PLANNING_2A),
    _event_2a(317, "Review", None, None, "2025-02-01", "2025-02-15", INFO),
    # An assessment ending on the cluster's first day (the one leading to it): not nested, so
    # the cluster's own unusable outcome, sequel 6.
    _st_max(318, "2025-03-01", "2025-03-10", PLANNING_2A),
    _event_2a(318, "Assessment", None, None, "2025-03-01", "2025-03-01", INFO),
    # A review ending on the cluster's last day: nested, 4c.
    _st_max(319, "2025-03-01", "2025-03-10", PLANNING_2A),
    _event_2a(319, "Review", None, None, "2025-03-05", "2025-03-10", "NFA: Other"),
    # A review ending 14 days before the cluster's end (17 to 31 Jan): not under 14, sequel 6.
    _st_max(320, "2025-01-01", "2025-01-31", PLANNING_2A),
    _event_2a(320, "Review", None, None, "2025-01-10", "2025-01-17", INFO),
    # Two nested reviews: the latest-ending one's outcome (LAST_VALUE by end), 'NFA: Other' (17),
    # not the lower hierarchy of the earlier one (10).
    _st_max(321, "2025-02-01", "2025-02-20", PLANNING_2A),
    _event_2a(321, "Review", None, None, "2025-02-01", "2025-02-10", INFO),
    _event_2a(321, "Review", None, None, "2025-02-05", "2025-02-18", "NFA: Other"),
    # Two ending the same day: then the lower hierarchy, information and advice (10).
    _st_max(322, "2025-03-01", "2025-03-20", PLANNING_2A),
    _event_2a(322, "Review", None, None, "2025-03-05", "2025-03-18", "NFA: Other"),
    _event_2a(322, "Review", None, None, "2025-03-05", "2025-03-18", INFO),
    # A usable cluster outcome (10) and a later request's (17): the lower, the cluster's own
    # (source 1), sequel 4a (#All_Outcome_Hierarchies, #Final_Min_Outcome_Hierarchy).
    _st_max(323, "2025-04-01", "2025-04-10", INFO),
    _event_2a(323, "Request", None, None, "2025-04-12", "2025-04-13", "NFA: Other"),
    # A nested service other than equipment (meals) is not step 5: sequel 6.
    _st_max(324, "2025-05-01", "2025-05-20", PLANNING_2A),
    _event_2a(324, "Service", "Short term support: Ongoing low level", "Meals", "2025-05-05",
              "2025-05-15"),
    # Clusters ending on the year's first and last day are in it (BETWEEN); the day before and
    # the day after are not, and have no record.
    _st_max(325, "2024-09-20", "2024-10-01", PLANNED_2A),
    _st_max(326, "2024-09-20", "2024-09-30", PLANNED_2A),
    _st_max(327, "2025-09-20", "2025-09-30", PLANNED_2A),
    _st_max(328, "2025-09-20", "2025-10-01", PLANNED_2A),
    # Ages at the cluster's end: 1 Jan 2007 to 1 Jan 2025 is 6,575 days, 18.001: 18 (18 to 64);
    # born a day later, 6,574 days, 17: under 18 (band '18 to 64', as the SQL's CASE <= 64).
    _st_max(329, "2024-12-20", "2025-01-01", PLANNED_2A, born="2007-01-01"),
    _st_max(330, "2024-12-20", "2025-01-01", PLANNED_2A, born="2007-01-02"),
    # WHOLE_YEARS_CASES: on 30 Sep 2025, born 20 Sep 1960 is 65, born 30 Sep 1960 is 64.
    _st_max(331, "2025-09-20", "2025-09-30", PLANNED_2A, born="1960-09-20"),
    _st_max(332, "2025-09-20", "2025-09-30", PLANNED_2A, born="1960-09-30"),
    # No birth date: counted, age band 'Unknown' (in the Total only).
    _st_max(333, "2025-01-01", "2025-01-10", PLANNED_2A, born=None),
    # Died the day before the cluster's start: out. Died on its first day: in, sequel 1.
    _st_max(334, "2025-02-01", "2025-02-10", PLANNED_2A, died="2025-01-31"),
    _st_max(335, "2025-02-01", "2025-02-10", PLANNED_2A, died="2025-02-01"),
    # New clients: long-term support that ended 2 Nov 2024, 91 days before 1 Feb 2025 (29 + 31
    # + 31): new. Ended 3 Nov 2024, 90 days before: not new. Still open: not new. Other short
    # term support that ended 12 days before is not long-term support: new.
    _st_max(336, "2025-02-01", "2025-02-10", PLANNED_2A),
    _event_2a(336, "Service", NURSING, "Long term nursing care", "2024-06-01", "2024-11-02"),
    _st_max(337, "2025-02-01", "2025-02-10", PLANNED_2A),
    _event_2a(337, "Service", NURSING, "Long term nursing care", "2024-06-01", "2024-11-03"),
    _st_max(338, "2025-02-01", "2025-02-10", PLANNED_2A),
    _event_2a(338, "Service", "Long term support: Prison", "Other long term support",
              "2020-01-01", None),
    _st_max(339, "2025-02-01", "2025-02-10", PLANNED_2A),
    _event_2a(339, "Service", "Short term support: Other short term", "Other short term support",
              "2025-01-01", "2025-01-20"),
]  # fmt: skip
RECORDS_2A = {
    302: [(True, "sequel 4a: NFA: Support ended as planned (numerator)")],
    303: [(True, "sequel 4a: NFA: Support ended as planned (numerator)")],
    304: [(False, "sequel 6: Invalid and not mapped (neither)")],
    305: [(False, "sequel 6: Progress to support planning or services (neither)")] * 2,
    306: [(True, "sequel 4a: NFA: Support ended as planned (numerator)"),
          (True, "sequel 4a: NFA: Other (numerator)")],
    307: [(True, "sequel 4a: NFA: Support ended as planned (numerator)")] * 2,
    308: [(False, "sequel 1: NFA: Deceased (neither)")],
    309: [(False, "sequel 6: Progress to support planning or services (neither)")],
    310: [(False, "sequel 3: Long term support: Community (denominator only)")],
    311: [(True, "sequel 4a: NFA: Other (numerator)")],
    312: [(False, "sequel 3: Long term support: Residential care (denominator only)")],
    313: [(True, "sequel 4a: NFA: Support ended as planned (numerator)")],
    314: [(True, "sequel 6: NFA: Other (numerator)")],
    315: [(False, "sequel 3: Short Term Support: Residential or Nursing Care (denominator only)")],
    316: [(True, "sequel 3: Short term support: Other short term (numerator)")],
    317: [(True, "sequel 4c: " + INFO + " (numerator)")],
    318: [(False, "sequel 6: Progress to support planning or services (neither)")],
    319: [(True, "sequel 4c: NFA: Other (numerator)")],
    320: [(False, "sequel 6: Progress to support planning or services (neither)")],
    321: [(True, "sequel 4c: NFA: Other (numerator)")],
    322: [(True, "sequel 4c: " + INFO + " (numerator)")],
    323: [(True, "sequel 4a: " + INFO + " (numerator)")],
    324: [(False, "sequel 6: Progress to support planning or services (neither)")],
    325: [(True, PLANNED_4A)], 327: [(True, PLANNED_4A)], 329: [(True, PLANNED_4A)],
    330: [(False, "under 18 at the end of the reablement")], 331: [(True, PLANNED_4A)],
    332: [(True, PLANNED_4A)], 333: [(True, PLANNED_4A)],
    334: [(False, "died before the reablement started")],
    335: [(False, "sequel 1: NFA: Deceased (neither)")], 336: [(True, PLANNED_4A)],
    337: [(False, NOT_NEW_2A)], 338: [(False, NOT_NEW_2A)], 339: [(True, PLANNED_4A)],
}  # fmt: skip
# The band figures: a cluster of another band is 'not <band>'.
RECORDS_2A_BANDS = {
    "18 to 64": {329: [(True, PLANNED_4A)], 330: [(False, "under 18 at the end of the reablement")],
                 332: [(True, PLANNED_4A)], 333: [(False, "not 18 to 64")],
                 331: [(False, "not 18 to 64")]},
    "65 and above": {331: [(True, PLANNED_4A)], 332: [(False, "not 65 and above")],
                     333: [(False, "not 65 and above")], 337: [(False, NOT_NEW_2A)]},
}  # fmt: skip


def test_ascof_2a_clusters_and_sequels_counted_by_hand():
    """Every ST-Max row of a cluster ending in the year is a record of each 2A figure, counted
    when its cluster's sequel is in the numerator; the Total's reason says which sequel step
    decided it (as test_national_ascof_2a.py), here with ascof_2a called on its own input."""
    from cldetl.national.measures.ascof_2a import ascof_2a

    dedup = national_method()["deduplication"]
    events = _measure_events(EVENTS_2A)
    figures = ascof_2a(events, PERIOD, measures_method(), dedup["outcome_hierarchy"],
                       dedup["missing_hierarchy"])  # fmt: skip
    got = {f.group: (f.numerator, f.denominator, f.value) for f in figures}
    # 65 and above: 302, 303, 306 (two clusters), 307, 311, 313, 314, 316, 317, 319, 321, 322,
    # 323, 325, 327, 331, 336, 339 in the numerator (and the denominator), 310, 312, 315 in the
    # denominator only; 304, 305, 308, 309, 318, 320, 324, 335 in neither: 19 / 22 = 86.36, 86.4%.
    # 18 to 64: 329, 332: 2 / 2. Unknown: 333, in the Total only: 22 / 25 = 88%.
    assert got == {"18 to 64": (2, 2, 100.0), "65 and above": (19, 22, 86.4),
                   "Total": (22, 25, 88.0)}  # fmt: skip
    assert [f.group for f in figures] == ["18 to 64", "65 and above", "Total"]
    assert _by_person(figures[2], events) == RECORDS_2A
    for figure in figures[:2]:
        records = _by_person(figure, events)
        assert {p: records[p] for p in RECORDS_2A_BANDS[figure.group]} == RECORDS_2A_BANDS[
            figure.group
        ]
    m = measures_method()["ascof_2a"]
    assert {(f.measure, f.title, f.unit, f.cite) for f in figures} == {
        ("ASCOF 2A", m["title"], "%", m["cite"])
    }


# The waiting times' age band of a response or service (waiting_times.age_band):
# Der_Working_Age_Band (GetDerivedFields, e6f5749, lines 420-426) of Der_Latest_Age (lines
# 433-445): FLOOR(days / 365.25) from the first of the birth month to the event's end, or for an
# open service to the reference period's end (30 Sep 2025); no age is 'Unknown'; '18 to 64' is
# shown as '25 to 64' (waiting_times_method.sql lines 72-75). Born 20 Sep 1960: from 1 Sep 1960
# to 2 Sep 2025 is 23,742 days (65.002), to 1 Sep 2025 23,741 (64.9993), to 31 Aug 2025 23,740;
# to 30 Sep 2025 23,770. From the birthday itself, 2 Sep 2025 would be 64 (23,723 days).
# Born 15 Sep 2007: from 1 Sep 2007 to 2 Sep 2025 is 6,576 days (18.004), to 31 Aug 2025 6,574
# (17.9986).
AGE_BAND_CASES = [
    ("the first of the birth month: 65", "1960-09-20", "Assessment", "2025-09-02", "65 and above"),
    ("a day before", "1960-09-20", "Assessment", "2025-09-01", "25 to 64"),
    ("two days before", "1960-09-20", "Service", "2025-08-31", "25 to 64"),
    ("an open service: the reference end", "1960-09-20", "Service", None, "65 and above"),
    ("an open assessment: no age", "1960-09-20", "Assessment", None, "Unknown"),
    ("no birth date", None, "Service", "2025-09-02", "Unknown"),
    ("18: the band 18 to 64, shown as 25 to 64", "2007-09-15", "Assessment", "2025-09-02",
     "25 to 64"),
    ("17", "2007-09-15", "Assessment", "2025-08-31", "Under 18"),
]  # fmt: skip


def test_waiting_times_age_band_from_the_first_of_the_birth_month():
    from cldetl.national.measures.waiting_times import age_band

    events = pd.DataFrame(
        {
            "birth": pd.to_datetime([c[1] for c in AGE_BAND_CASES]),
            "event_type": pd.Categorical([c[2] for c in AGE_BAND_CASES]),
            "der_end": pd.to_datetime([c[3] for c in AGE_BAND_CASES]),
        },
        index=range(10, 10 + len(AGE_BAND_CASES)),
    )
    got = age_band(events, date(2025, 9, 30), measures_method()["waiting_times"])
    assert dict(zip([c[0] for c in AGE_BAND_CASES], got, strict=True)) == {
        c[0]: c[4] for c in AGE_BAND_CASES
    }


# Waiting times stage 1 (waiting_times_method.sql v1.1, 9bee728, lines 55-125): 1.3a a service
# user's request starting on or after 1 Apr 2023; 1.3b Der_Age_Event_Start_Date >= 25; 1.3c no
# service (Event_Type_Cleaned = 'Service', #filtered_assessments_and_services) of the person that
# started before the request and ends no earlier than DATEADD(MONTH, -12) (long term) or -3
# (ST-Max, other short term) of its start, or is open; 1.4 the outcome's group NOT IN ('NFA',
# 'Admitted to hospital'), unknown for no outcome. Each case: one person's request (10 Jul
# 2025, born 14 Mar 1950, 'Progress to support planning or services', unless said) and the
# events beside it; DATEADD(MONTH, -12 / -3) of 10 Jul 2025 is 10 Jul 2024 / 10 Apr 2025.
# Born 10 Jul 2000: to 10 Jul 2025 is 9,131 days (24.9993), to 11 Jul 2025 9,132 (25.002).
LTC_WT = ("Service", "Long term support: Community")
STAGE_1 = {
    "a": "not a service user's request (stage 1.3a)",
    "from": "request started before 01/04/2023 (stage 1.3a)",
    "b": "under 25 or no birth date at the request's start (stage 1.3b)",
    "c": "existing client: a service ending shortly before the request, later or open (stage 1.3c)",
    "blank": "no event outcome: the SQL's NOT IN is unknown for it (stage 1.4)",
    "4": "request ended with no further action or in hospital (stage 1.4)",
}
REQUEST_STAGE_CASES = [
    ("a request that passes", {}, [], ""),
    ("started on 1 Apr 2023", {"start": "2023-04-01"}, [], ""),
    ("started on 31 Mar 2023", {"start": "2023-03-31"}, [], "from"),
    ("an unpaid carer's request", {"client": "Unpaid carer"}, [], "a"),
    ("25 at its start", {"start": "2025-07-11", "born": "2000-07-10"}, [], ""),
    ("24 at its start", {"born": "2000-07-10"}, [], "b"),
    ("no birth date", {"born": None}, [], "b"),
    ("long term support ended 12 months before", {}, [(*LTC_WT, "2024-01-01", "2024-07-10")],
     "c"),
    ("ended a day earlier", {}, [(*LTC_WT, "2024-01-01", "2024-07-09")], ""),
    ("ST-Max ended 3 months before", {},
     [("Service", "Short term support: ST-Max", "2025-03-01", "2025-04-10")], "c"),
    ("ST-Max ended a day earlier", {},
     [("Service", "Short term support: ST-Max", "2025-03-01", "2025-04-09")], ""),
    ("other short term support ended 3 months before", {},
     [("Service", "Short term support: Other short term", "2025-03-01", "2025-04-10")], "c"),
    ("long term support still open", {}, [(*LTC_WT, "2024-01-01", None)], "c"),
    ("long term support ending after the request", {}, [(*LTC_WT, "2024-01-01", "2025-12-31")],
     "c"),
    ("long term support starting on the request's day", {}, [(*LTC_WT, "2025-07-10", None)],
     ""),
    ("ongoing low level support (on neither list) still open", {},
     [("Service", "Short term support: Ongoing low level", "2024-01-01", None)], ""),
    ("an assessment carrying a long term service type", {},
     [("Assessment", "Long term support: Community", "2024-01-01", None)], ""),
    ("no outcome", {"outcome": None}, [], "blank"),
    ("an NFA outcome", {"outcome": "NFA: Other"}, [], "4"),
    ("admitted to hospital", {"outcome": "Admitted to hospital"}, [], "4"),
]  # fmt: skip


def _waiting_events(rows: list[tuple], third: str) -> pd.DataFrame:
    """Unique events for the waiting times from (person, event type, `third`, service type,
    start, end, born, outcome) tuples, numbered from line 2."""
    cols = list(zip(*rows, strict=True))
    return pd.DataFrame(
        {
            "line": np.arange(2, len(rows) + 2),
            "person": list(cols[0]),
            "event_type": pd.Categorical(cols[1]),
            third: pd.Categorical(cols[2]),
            "Service Type": pd.Categorical(cols[3]),
            "Event Start Date": pd.to_datetime(list(cols[4])),
            "der_end": pd.to_datetime(list(cols[5])),
            "birth": pd.to_datetime(list(cols[6])),
            "Event Outcome": pd.Categorical(cols[7]),
        }
    )


def test_waiting_times_stage_1_leaves_out_each_request_for_its_reason():
    from cldetl.national.measures.waiting_times import _request_stages

    rows = []  # (person, event type, client type, service type, start, end, born, outcome)
    for person, (_, request, others, _) in enumerate(REQUEST_STAGE_CASES):
        r = {"start": "2025-07-10", "born": "1950-03-14", "client": "Service user",
             "outcome": "Progress to support planning or services"} | request  # fmt: skip
        rows.append((person, "Request", r["client"], None, r["start"], r["start"], r["born"],
                     r["outcome"]))  # fmt: skip
        for kind, stype, start, end in others:
            rows.append((person, kind, "Service user", stype, start, end, "1950-03-14", None))
    events = _waiting_events(rows, "Client Type")
    requests = events[events["event_type"].eq("Request").to_numpy()]
    got = _request_stages(events, requests, measures_method()["waiting_times"])
    assert dict(zip([c[0] for c in REQUEST_STAGE_CASES], got, strict=True)) == {
        c[0]: STAGE_1.get(c[3], "") for c in REQUEST_STAGE_CASES
    }


def test_waiting_times_only_listed_assessments_and_services_of_25_or_over_answer_a_request():
    """Stage 1.2 (waiting_times_method.sql v1.1, 9bee728, lines 31-52): only short and long term
    assessments (Assessment_Type_Cleaned IN ...) and services of the listed types can answer a
    request; stage 2.1 (lines 159-167): only those with Der_Age_Event_Start_Date >= 25 (each
    row's own birth date; NULL is not >= 25). Requests after 1 Jul 2025 (no conversation flag).
    Person 1 (born 1950): a request on 10 Jul 2025, a financial assessment on 12 Jul, unpaid
    carer support on 13 Jul, a long term assessment progressing to a service on 15 Jul, long
    term support from 20 Jul: first response the long term assessment, 5 days; first service
    10 days; 65 and above. Person 2 (born 10 Jul 2000): a request and a long term assessment on
    11 Jul 2025, 25 at both (9,132 days): response 0 days, '25 to 64' (from 1 Jul 2000 to its
    end on 12 Jul 2025: 25); no service. Person 3: a request on 10 Jul 2025, a long term
    assessment on 12 Jul whose row has no birth date (no age: not an answer), long term support
    from 20 Jul: response and service both that service, 10 days, 65 and above (open: aged at
    30 Sep 2025). Medians: responses 65+ of 5 and 10, 7.5; services 10 and 10."""
    from cldetl.national.measures.waiting_times import waiting_times

    # Person 4: two requests on 14 Jul 2025 and a long term assessment on 16 Jul. On the same
    # day the later record comes first (Der_Unique_Record_ID desc, lines 132-167: the later
    # line), so the request on the earlier line is the second, and its response is no later
    # than the first's: left out (stage 3.4). The other waits 2 days. Responses 65+: 5, 10, 2.
    progress = "Progress to support planning or services"
    b50, b00, ltc = "1950-03-14", "2000-07-10", "Long term support: Community"
    rows = [  # (person, event type, assessment type, service type, start, end, born, outcome)
        (1, "Request", None, None, "2025-07-10", "2025-07-10", b50, progress),
        (1, "Assessment", "Financial assessment", None, "2025-07-12", "2025-07-12", b50, progress),
        (1, "Service", None, "Unpaid carer support: Direct to unpaid carer", "2025-07-13", None,
         b50, None),
        (1, "Assessment", "Long term assessment", None, "2025-07-15", "2025-07-16", b50, progress),
        (1, "Service", None, ltc, "2025-07-20", None, b50, None),
        (2, "Request", None, None, "2025-07-11", "2025-07-11", b00, progress),
        (2, "Assessment", "Long term assessment", None, "2025-07-11", "2025-07-12", b00, progress),
        (3, "Request", None, None, "2025-07-10", "2025-07-10", b50, progress),
        (3, "Assessment", "Long term assessment", None, "2025-07-12", "2025-07-12", None, progress),
        (3, "Service", None, ltc, "2025-07-20", None, b50, None),
        (4, "Request", None, None, "2025-07-14", "2025-07-14", b50, progress),
        (4, "Request", None, None, "2025-07-14", "2025-07-14", b50, progress),
        (4, "Assessment", "Long term assessment", None, "2025-07-16", "2025-07-17", b50, progress),
    ]  # fmt: skip
    events = _waiting_events(rows, "Assessment Type")
    events.insert(3, "Client Type", pd.Categorical(["Service user"] * len(rows)))
    figures = waiting_times(events, PERIOD, measures_method())
    days = lambda f: [None if pd.isna(d) else int(d) for d in f.behind["days"]]  # noqa: E731
    got = [(f.measure, f.group, f.numerator, f.value, days(f)) for f in figures]
    # Each figure's requests in the file's order: 1, 3, 4 (line 12, left out), 4 (line 13).
    assert got == [
        ("Wait time to first response", "Jul-Sep 2025, 25 to 64", 1, 0.0, [0]),
        ("Wait time to first response", "Jul-Sep 2025, 65 and above", 3, 5.0, [5, 10, None, 2]),
        ("Wait time to first service", "Jul-Sep 2025, 65 and above", 2, 10.0, [10, 10]),
    ]
    overlap = "starts before the follow-up of an earlier request ends (stage 3.4)"
    assert figures[1].behind["reason"].tolist() == ["counted", "counted", overlap, "counted"]
    assert figures[2].unplaced["reason"].tolist() == [
        "no service after the request",
        overlap,
        "no service after the request",
    ]  # requests of persons 2, 4 (line 12), 4 (line 13)


def test_waiting_times_of_a_file_whose_only_event_is_one_request():
    """One valid request and no other event: it has no response nor service (stage 2.4's
    OUTER APPLY finds nothing), so it is in no figure, with why; `_take` must look up nothing
    in a column of one row."""
    from cldetl.national.measures.waiting_times import waiting_times

    events = pd.DataFrame(
        {
            "line": [2],
            "person": [1],
            "event_type": pd.Categorical(["Request"]),
            "Client Type": pd.Categorical(["Service user"]),
            "Assessment Type": pd.Categorical([None]),
            "Service Type": pd.Categorical([None]),
            "Event Start Date": pd.to_datetime(["2025-07-10"]),
            "der_end": pd.to_datetime(["2025-07-10"]),
            "birth": pd.to_datetime(["1950-03-14"]),
            "Event Outcome": pd.Categorical(["Progress to support planning or services"]),
        }
    )
    figures = waiting_times(events, PERIOD, measures_method())
    assert [(f.group, f.numerator, f.value, len(f.behind)) for f in figures] == [
        ("no request counted", 0, None, 0)
    ] * 2
    assert [f.unplaced["reason"].tolist() for f in figures] == [
        ["no assessment or service after the request"],
        ["no service after the request"],
    ]


def test_waiting_times_quarters_shown_from_the_dashboards_first():
    """Stage 6: the dashboard shows quarters from 1 Apr 2024 (@Stat_RP_Start_Dashboard_Lower_
    Limit, national_measures.yaml `dashboard_from`). A request answered by a long term
    assessment the same day (not before it, so no conversation flag: stage 3.1) on 1 Apr 2024
    is in Apr-Jun 2024, 0 days; the same on 31 Mar 2024 is in Jan-Mar 2024, not shown. On
    1 May 2024 with the assessment still open, the response has no age at its end (not a
    service: no reference end), so no band: in no figure (stage 4.2). Person 4, born 1980, on
    1 Jul 2024: Jul-Sep 2024, 25 to 64. The figures in quarter order, then the bands' order."""
    from cldetl.national.measures.waiting_times import waiting_times

    starts = ["2024-04-01"] * 2 + ["2024-03-31"] * 2 + ["2024-05-01"] * 2 + ["2024-07-01"] * 2
    ends = starts[:5] + [None] + starts[6:]
    events = pd.DataFrame(
        {
            "line": [2, 3, 4, 5, 6, 7, 8, 9],
            "person": [1, 1, 2, 2, 3, 3, 4, 4],
            "event_type": pd.Categorical(["Request", "Assessment"] * 4),
            "Client Type": pd.Categorical(["Service user"] * 8),
            "Assessment Type": pd.Categorical([None, "Long term assessment"] * 4),
            "Service Type": pd.Categorical([None] * 8),
            "Event Start Date": pd.to_datetime(starts),
            "der_end": pd.to_datetime(ends),
            "birth": pd.to_datetime(["1950-03-14"] * 6 + ["1980-03-14"] * 2),
            "Event Outcome": pd.Categorical(["Progress to support planning or services"] * 8),
        }
    )
    figures = waiting_times(events, PERIOD, measures_method())
    assert [(f.group, f.numerator, f.value) for f in figures[:2]] == [
        ("Apr-Jun 2024, 65 and above", 1, 0.0),
        ("Jul-Sep 2024, 25 to 64", 1, 0.0),
    ]
    response = figures[0]
    assert response.unplaced["reason"].tolist() == [
        "quarter before the dashboard's first (01/04/2024)",
        "age band of the response unknown (stage 4.2)",
    ]


# Waiting times stage 3 (waiting_times_follow_up.follow_up) on link_requests' output: each
# request with the order of its first assessment and first service after it (stage 2.4). Worked
# by hand from waiting_times_method.sql v1.1 (9bee728): 3.1 (lines 377-406) a request before
# 1 Jul 2025 (R1; on 1 Jul it is R2) that indicates progress and starts before its next
# assessment, or has none, is its own first response when DHSC's Der_Conversation is 1 (not
# public: both ways are followed); 3.2 (408-435) a service ordered before the response, or with
# none, is the response; 3.3 (437-448) an assessment response whose block does not progress
# leaves part 2 no service; 3.4 (451-488) a request is left out when the previous request's
# GREATEST(response, service) is after it, or its response or service is <= the running MAX of
# earlier requests' (so an earlier one's equal order leaves it out). A part is settled only when
# every choice of the flags gives the same result: else 'flag' (its own) or 'earlier'.
B25, B65 = "25 to 64", "65 and above"
FOLLOW_UP_REQUESTS = [
    # (id, person, request (order, start, band), progress, assessment (order, start, band,
    #  block progresses) or None, service (order, start, band) or None, part 1, part 2)
    # R1 ends the day before 1 Jul 2025 (request_start_date < '2025-07-01'): with no assessment
    # the first response is the service 3 days later with flag 0 and the request with flag 1.
    ("30 Jun 2025: R1", 1, (1, "2025-06-30", B65), True, None, (2, "2025-07-03", B65), "flag",
     (3, B65)),
    ("1 Jul 2025: R2", 2, (1, "2025-07-01", B65), True, None, (2, "2025-07-03", B65), (2, B65),
     (2, B65)),
    # Born 15 Jul 1960: 64 at the request's end on 30 Jun 2025 (from 1 Jul 1960), 65 at the
    # open service's (the reference end). Flag 0 or 1 waits 0 days either way, but in another
    # band: not settled.
    ("the same day, another band", 3, (1, "2025-06-30", B25), True, None, (2, "2025-06-30", B65),
     "flag", (0, B65)),
    # Person 4: i (1) with its assessment the same day (no override possible: line 393),
    # progressing, served at 7; k (3) with its own same-day assessment (4) that does not
    # progress (3.3); j (5) whose assessment (6) does not progress either. k: i's follow-up
    # GREATEST(2, 7) = 7 is after it (LAG): left out. j with flag 0: response 6 > MAX(2, 4),
    # no service (3.3), k's follow-up 4 before it: kept, 2 days; with flag 1 its service 7 <=
    # MAX(7) (i's): left out. Its own flag decides: 'flag'.
    ("i", 4, (1, "2025-06-02", B65), True, (2, "2025-06-02", B65, 1),
     (7, "2025-06-20", B65), (0, B65), (18, B65)),
    ("k", 4, (3, "2025-06-05", B65), True, (4, "2025-06-05", B65, 0),
     (7, "2025-06-20", B65), "3.4", "3.4"),
    ("j", 4, (5, "2025-06-10", B65), True, (6, "2025-06-12", B65, 0),
     (7, "2025-06-20", B65), "flag", "flag"),
    # Person 5: the first request's service (2) comes before its assessment (4): the service
    # is its response (3.2), and its follow-up GREATEST(2, 2) ends before the second request
    # (3), whose response is the assessment (4 > MAX(2)): both counted.
    ("served first", 5, (1, "2025-08-01", B65), True, (4, "2025-08-12", B65, 1),
     (2, "2025-08-05", B65), (4, B65), (4, B65)),
    ("after it", 5, (3, "2025-08-10", B65), True, (4, "2025-08-12", B65, 1), None, (2, B65),
     "none"),
    # Person 6: one assessment (4) after three requests. The first does not indicate progress
    # (request_indicates_progress 0: no override; an outcome off DHSC's lists, since every
    # listed one that passes stage 1.4 indicates progress); the second does, so its response is the
    # assessment or itself (2); the third is R2. The third's response 4 <= MAX(4, 4 or 2):
    # left out whatever the second's flag (its follow-up, 4 or 2, decides only the LAG).
    ("no progress", 6, (1, "2025-06-02", B65), False, (4, "2025-07-07", B65, 1), None, (35, B65),
     "none"),
    ("progress", 6, (2, "2025-06-05", B65), True, (4, "2025-07-07", B65, 1), None, "3.4", "3.4"),
    ("R2 answered by the same assessment", 6, (3, "2025-07-03", B65), True,
     (4, "2025-07-07", B65, 1), None, "3.4", "3.4"),
]  # fmt: skip


def _linked(rows) -> pd.DataFrame:
    """link_requests' output from FOLLOW_UP_REQUESTS' rows (no assessment or service: NULLs)."""
    none_a, none_s = (np.nan, None, None, np.nan), (np.nan, None, None)
    r = [(c[1], *c[2], c[3], *(c[4] or none_a), *(c[5] or none_s)) for c in rows]
    cols = list(zip(*r, strict=True))
    return pd.DataFrame(
        {
            "line": np.arange(2, len(rows) + 2),
            "person": list(cols[0]),
            "order": np.array(cols[1], dtype=float),
            "start": pd.to_datetime(list(cols[2])).to_numpy(),
            "band": pd.Series(cols[3], dtype=object),
            "progress": np.array(cols[4]),
            "asmt_order": np.array(cols[5], dtype=float),
            "asmt_start": pd.to_datetime(list(cols[6])).to_numpy(),
            "asmt_band": np.array(cols[7], dtype=object),
            "asmt_block": np.array(cols[8], dtype=float),
            "srv_order": np.array(cols[9], dtype=float),
            "srv_start": pd.to_datetime(list(cols[10])).to_numpy(),
            "srv_band": np.array(cols[11], dtype=object),
        }
    )


def test_waiting_times_follow_up_settles_each_request_as_the_sql_would_for_every_flag():
    """Each request's part 1 and part 2 as `_figures` reads them: the days and band when
    settled and counted, 'flag' / 'earlier' when DHSC's conversation flag of the request / of
    an earlier one decides, '3.4' when left out whatever the flags, or why there is none."""
    from cldetl.national.measures.waiting_times_follow_up import follow_up

    short = {"no service after the request": "none",
             "no assessment or service after the request": "no response",
             "the assessments answering the request did not progress to a service (stage 3.3)":
             "3.3"}  # fmt: skip
    outcomes = follow_up(_linked(FOLLOW_UP_REQUESTS), measures_method()["waiting_times"])

    def settled(o, i):
        if not o.known[i]:
            return "flag" if o.sensitive[i] else "earlier"
        if o.excluded[i]:
            return "3.4"
        if pd.isna(o.start[i]):
            return short[o.missing[i]]
        return (int(o.days[i]), o.band[i])

    got = {c[0]: tuple(settled(outcomes[p], i) for p in ("part1", "part2"))
           for i, c in enumerate(FOLLOW_UP_REQUESTS)}  # fmt: skip
    assert got == {c[0]: (c[6], c[7]) for c in FOLLOW_UP_REQUESTS}


# waiting_times.py, the rest (dev-mutS): what `_part_figures` puts behind each figure. Forty
# persons, each a request on (30 Jun 2025 + p days), p = 1 to 40 (all from 1 Jul 2025: no
# conversation flag, stage 3.1), answered by a long term assessment (p % 7 + 1) days later
# that ends the day it starts (DATEDIFF(DAY, request, response): that many days, stage 4.1);
# odd p born 1950 (65 and above), even p born 1980 (25 to 64) at the assessment's end (all in
# Jul-Sep 2025). Each person's request is on line 2p, the assessment on 2p + 1. No service.
def test_waiting_times_records_list_their_requests_in_file_order_with_whole_days():
    """The records of a figure (the records CSV a user checks a figure against) list its
    requests in the file's order, the days waited as whole days ('3', not '3.0'), blank when
    not counted: the 25 to 64 figure holds the 20 even persons' requests (lines 4, 8, ..., 80),
    the 65 and above figure the 20 odd persons' (lines 2, 6, ..., 78); part 2 has no figure,
    all 40 requests in no figure ('no service after the request'), with no days."""
    from cldetl.national.measures.output import IN_NO_FIGURE, records_csv
    from cldetl.national.measures.waiting_times import waiting_times

    progress, ltc = "Progress to support planning or services", "Long term assessment"
    rows = []  # (person, event type, assessment type, service type, start, end, born, outcome)
    for p in range(1, 41):
        asked = pd.Timestamp("2025-06-30") + pd.Timedelta(days=p)
        answered = asked + pd.Timedelta(days=p % 7 + 1)
        born = "1950-03-14" if p % 2 else "1980-03-14"
        rows.append((p, "Request", None, None, asked, asked, born, progress))
        rows.append((p, "Assessment", ltc, None, answered, answered, born, progress))
    events = _waiting_events(rows, "Assessment Type")
    events.insert(3, "Client Type", pd.Categorical(["Service user"] * len(rows)))
    figures = waiting_times(events, PERIOD, measures_method())

    # p % 7 + 1 for p = 2, 4, ..., 40 and for p = 1, 3, ..., 39, worked out by hand.
    working = [3, 5, 7, 2, 4, 6, 1, 3, 5, 7, 2, 4, 6, 1, 3, 5, 7, 2, 4, 6]
    older = [2, 4, 6, 1, 3, 5, 7, 2, 4, 6, 1, 3, 5, 7, 2, 4, 6, 1, 3, 5]
    assert [(f.measure, f.group, f.numerator) for f in figures] == [
        ("Wait time to first response", "Jul-Sep 2025, 25 to 64", 20),
        ("Wait time to first response", "Jul-Sep 2025, 65 and above", 20),
        ("Wait time to first service", "no request counted", 0),
    ]
    table = pd.read_csv(io.StringIO(records_csv(figures)), dtype=str, keep_default_na=False)
    mine = lambda group: table[table["group"].eq(group)]  # noqa: E731
    young, old = mine("Jul-Sep 2025, 25 to 64"), mine("Jul-Sep 2025, 65 and above")
    assert young["line"].tolist() == [str(4 * i) for i in range(1, 21)]
    assert young["days"].tolist() == [str(d) for d in working]
    assert old["line"].tolist() == [str(4 * i - 2) for i in range(1, 21)]
    assert old["days"].tolist() == [str(d) for d in older]
    assert (young["reason"].tolist(), old["reason"].tolist()) == (["counted"] * 20,) * 2
    nowhere = mine(IN_NO_FIGURE)
    assert nowhere["line"].tolist() == [str(2 * p) for p in range(1, 41)]
    assert set(nowhere["reason"]) == {"no service after the request"}
    assert set(nowhere["days"]) == {""}
    assert (figures[0].title, figures[2].title, figures[0].cite) == (
        "Wait time to first response: request to first assessment or service (median days)",
        "Wait time to first service: request to first service (median days)",
        "Waiting_times/waiting_times_method.sql v1.1 (9bee728)",
    )


# When DHSC loads the file, unless told (`--import-month`): the month after the stated period
# ends, the earliest a quarter's file can be loaded; with no stated end, this month. The period
# DHSC derives reads it (national.yaml reporting_period), so a month out moves the period.
IMPORT_MONTH_CASES = [
    ("a quarter ending in September", date(2025, 9, 30), date(2025, 10, 1)),
    ("a quarter ending in December: the next year", date(2025, 12, 31), date(2026, 1, 1)),
    ("an end stated mid-month", date(2025, 9, 15), date(2025, 10, 1)),
    ("an end stated on the first", date(2025, 9, 1), date(2025, 10, 1)),
]


@pytest.mark.parametrize(("stated_end", "expected"), [c[1:] for c in IMPORT_MONTH_CASES],
                         ids=[c[0] for c in IMPORT_MONTH_CASES])  # fmt: skip
def test_the_file_is_loaded_the_month_after_its_stated_end(stated_end, expected):
    from cldetl.national.preview import default_import_month

    assert default_import_month(stated_end) == expected


def test_with_no_stated_end_the_file_is_loaded_this_month():
    from cldetl.national.preview import default_import_month

    assert default_import_month(None) == date.today().replace(day=1)


# The options of the two entry points reach the preview they make: the file's name, DHSC's
# import month and the period published.
IMPORT_MONTH = date(2026, 2, 1)
PUBLISHED = (date(2025, 4, 1), date(2025, 6, 30))


def test_validate_and_preview_passes_its_options_to_the_preview(tmp_path):
    from cldetl.national.preview import validate_and_preview

    path = write_cld_rows(tmp_path / "cld.csv", [cld_row()])
    report, got = validate_and_preview(path, import_month=IMPORT_MONTH, reference=PUBLISHED)
    assert got.file == str(path) and got.rows == 1
    assert got.period.import_month == IMPORT_MONTH
    assert got.reference_period == PUBLISHED
    assert got.events is not None
    assert validate_and_preview(path, events=False)[1].events is None  # the preview alone


def test_preview_of_a_file_passes_its_options_to_the_preview(tmp_path):
    from cldetl.national.preview import preview
    from cldetl.validate import validate
    from cldetl.validate.csvfile import read_cld_csv

    path = write_cld_rows(tmp_path / "cld.csv", [cld_row()])
    got = preview(
        path, validate(read_cld_csv(path)), import_month=IMPORT_MONTH, reference=PUBLISHED
    )
    assert got.file == str(path)
    assert got.period.import_month == IMPORT_MONTH
    assert got.reference_period == PUBLISHED


def test_validate_and_preview_validates_a_monthly_file_as_monthly_only_when_asked(tmp_path):
    """An authority that submits monthly ends its period on any month end (validate
    --monthly); the one-read preview passes the option on to validate and is quarterly by
    default, as `cldetl validate` is."""
    from cldetl.national.preview import validate_and_preview

    august = {
        "Reporting Period Start Date": "01/09/2024",
        "Reporting Period End Date": "31/08/2025",
    }
    path = write_cld_rows(tmp_path / "cld.csv", [cld_row(**august)])

    def quarter_end_findings(report):
        found = report.findings[report.findings["rule"] == "period.month_end"]
        return found["message"].str.contains("not a quarter end").sum()

    assert quarter_end_findings(validate_and_preview(path)[0]) == 1
    assert quarter_end_findings(validate_and_preview(path, monthly=True)[0]) == 0


# preview.py (dev-mutR)
# The key fields of a row as DHSC's GetDerivedFields reads them (national.yaml derived_fields,
# lines 42-113): the literal text NULL, in any case, is blank in the fields it lists and in no
# other; blanks and spaces are blank in every field. Two rows of one event (the base row, a
# person's open service, or an assessment of theirs) that differ in one field: one unique event
# (the second row, the later, kept) when the field's two values are both blank, else two.
SAME_EVENT_CASES = [
    # (id, assessment (else the service), field, first row's value, second's, one event)
    ("NULL is blank in the assessment type", True, "Assessment Type", "NULL", "", True),
    ("null in lower case is blank, as are spaces", True, "Assessment Type", "null", "  ", True),
    ("NULL is blank in the client type", True, "Client Type", "NULL", "", True),
    ("NULL is blank in the service component", False, "Service Component", "NULL", "", True),
    ("NULL is blank in the delivery mechanism", False, "Delivery Mechanism", "Null", "", True),
    ("NULL is blank in the cost frequency", False, "Cost Frequency (Unit Type)", "NULL", "",
     True),
    # Unit Cost and Planned units per week are not in DHSC's list: NULL is a value there.
    ("NULL is a value in the unit cost", False, "Unit Cost", "NULL", "", False),
    ("NULL is a value in the planned units", False, "Planned units per week", "NULL", "", False),
    ("spaces are blank in the unit cost", False, "Unit Cost", " ", "", True),
    ("spaces are blank in the planned units", False, "Planned units per week", "  ", "", True),
    ("a cost is a value", False, "Unit Cost", "24.50", "", False),
    ("two assessment types are two events", True, "Assessment Type", "Short term assessment",
     "Long term assessment", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("assessment", "field", "first", "second", "one_event"),
    [c[1:] for c in SAME_EVENT_CASES],
    ids=[c[0] for c in SAME_EVENT_CASES],
)
def test_null_text_and_blanks_in_the_key_fields_of_one_event(
    tmp_path, assessment, field, first, second, one_event
):
    from cldetl.national.preview import validate_and_preview
    from tests.conftest import ASSESSMENT

    event = ASSESSMENT if assessment else {}
    rows = [
        cld_row(event, **{field: first}),
        cld_row(event, **{field: second, "Event Reference": "SECOND"}),
    ]
    path = write_cld_rows(tmp_path / "cld.csv", rows)
    got = validate_and_preview(path, reference=PERIOD)[1]
    assert list(got.fates["fate"]) == (["merged", "kept"] if one_event else ["kept", "kept"])
    assert got.same_events == ([(3, [2])] if one_event else [])


# DHSC's person ID is the NHS number, else the LA code and the LA person ID (national.yaml
# person_id_fields, lines 336-342): one NHS number is one person whatever the LA person IDs; a
# row with no NHS number is kept under its LA's ID, and the same LA person ID in another LA (the
# code's spaces trimmed) is another person. Each row: the person's open service.
PERSON_CASES = [
    # (id, each row's (NHS Number, LA Code, LA Person Unique Identifier), fates)
    ("one NHS number under two LA person IDs is one person",
     [(VALID_NHS, "503", "P1"), (VALID_NHS, "503", "P2")], ["merged", "kept"]),
    ("two NHS numbers are two people, whatever the LA person ID",
     [(VALID_NHS, "503", "P1"), (OTHER_NHS[0], "503", "P1")], ["kept", "kept"]),
    ("a row with no NHS number has a person ID", [("", "503", "P1")], ["kept"]),
    ("one LA person ID in one LA is one person", [("", "503", "P1"), ("", "503", "P1")],
     ["merged", "kept"]),
    ("the LA code's spaces are trimmed", [("", " 503 ", "P1"), ("", "503", "P1")],
     ["merged", "kept"]),
    ("one LA person ID in two LAs is two people", [("", "503", "P1"), ("", "504", "P1")],
     ["kept", "kept"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("people", "fates"), [c[1:] for c in PERSON_CASES], ids=[c[0] for c in PERSON_CASES]
)
def test_a_person_is_known_by_nhs_number_else_by_la_code_and_la_person_id(tmp_path, people, fates):
    from cldetl.national.preview import validate_and_preview

    fields = ("NHS Number", "LA Code", "LA Person Unique Identifier")
    rows = [
        cld_row(dict(zip(fields, person, strict=True)), **{"Event Reference": f"SVC{i}"})
        for i, person in enumerate(people)
    ]
    path = write_cld_rows(tmp_path / "cld.csv", rows)
    got = validate_and_preview(path, reference=PERIOD)[1]
    assert list(got.fates["fate"]) == fates
    assert list(got.fates["event_reference"]) == [f"SVC{i}" for i in range(len(people))]


# The period a file states is its rows' earliest start and latest end (LA_Submissions: MIN and
# MAX); a file that states no start (or no end) has none, and `stated_when_underived` then has
# no stated period to filter to: every row's fate says the file would not be selected.
STATED_CASES = [
    # (id, Reporting Period Start Date, Reporting Period End Date, stated start, stated end)
    ("no start stated", "", "30/09/2025", None, date(2025, 9, 30)),
    ("no end stated", "01/10/2024", "", date(2024, 10, 1), None),
]


@pytest.mark.parametrize(
    ("start", "end", "stated_start", "stated_end"),
    [c[1:] for c in STATED_CASES],
    ids=[c[0] for c in STATED_CASES],
)
def test_a_file_stating_half_a_period_is_not_filtered_to_it(
    tmp_path, start, end, stated_start, stated_end
):
    from cldetl.national.preview import validate_and_preview

    stated = {"Reporting Period Start Date": start, "Reporting Period End Date": end}
    path = write_cld_rows(tmp_path / "cld.csv", [cld_row(**stated)])
    got = validate_and_preview(path, stated_when_underived=True)[1]
    assert (got.period.stated_start, got.period.stated_end) == (stated_start, stated_end)
    assert got.reference_period is None
    assert list(got.fates["fate"]) == ["no_period"]


# A file over the DLP's size limit is not read: validate reports only its size and leaves the
# preview no batches. The one read, the preview of a path and every command that previews stop
# with the same reason and exit 2 (`cldetl validate --report` crashed: ValueError, "No objects
# to concatenate", exit 70, found by dev-mutR; `preview()` of such a path crashed the same way).
def test_a_file_over_the_dlp_size_limit_is_refused_by_the_one_read(tmp_path):
    from unittest import mock

    from click.testing import CliRunner

    from cldetl.cli import cli
    from cldetl.errors import InputError
    from cldetl.national.preview import preview, validate_and_preview
    from cldetl.validate import validate

    path = write_cld_rows(tmp_path / "cld.csv", [cld_row()])
    with mock.patch("cldetl.validate.csvfile.dlp_limits", return_value=(100, 100)):
        with pytest.raises(InputError) as refused:
            validate_and_preview(path)
        with pytest.raises(InputError) as refused_alone:
            preview(path, validate(path))
        report_dir = str(tmp_path / "report")
        result = CliRunner().invoke(cli, ["validate", "--report", report_dir, str(path)])
        commands = {c: CliRunner().invoke(cli, [c, str(path)]) for c in ("preview", "measures")}
    said = (
        f"{path}: over the DLP's size limit, so not read and not previewed; `cldetl validate` "
        "without --report reports its size."
    )
    assert str(refused.value) == said
    assert str(refused_alone.value) == said
    assert result.exit_code == 2
    assert said in result.output
    for command, ran in commands.items():
        assert (command, ran.exit_code) == (command, 2)
        assert said in ran.output


# The dates DHSC's steps read from a row: the date of death ends an open service on it, or
# drops a row of a person who died before the period (the filter); the unique event kept holds
# the person's dates of birth and death for the measures.
DEATH_CASES = [
    # (id, Date of Death, fate, the kept event's date of death (None: no event kept))
    ("no date of death", "", "kept", pd.NaT),
    ("died during the open service: its end set to the death", "10/03/2025", "death_end",
     pd.Timestamp("2025-03-10")),
    ("died before the period", "15/09/2024", "death_before_period", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("died", "fate", "kept_died"), [c[1:] for c in DEATH_CASES], ids=[c[0] for c in DEATH_CASES]
)
def test_the_date_of_death_and_of_birth_are_read_for_the_filter_and_the_measures(
    tmp_path, died, fate, kept_died
):
    from cldetl.national.preview import validate_and_preview

    path = write_cld_rows(tmp_path / "cld.csv", [cld_row(**{"Date of Death": died})])
    got = validate_and_preview(path, reference=PERIOD)[1]
    assert list(got.fates["fate"]) == [fate]
    events = got.events.frame()
    if kept_died is None:
        assert len(events) == 0
        return
    assert list(events["birth"]) == [pd.Timestamp("1950-03-14")]
    assert (
        events["died"].isna().all() if kept_died is pd.NaT else list(events["died"]) == [kept_died]
    )


# An unpaid carer's linked person IDs (national.yaml null_text_fields): the literal NULL is no
# link, as a blank is; an ID that is no LA person ID in the file is a link to no one, warned of
# (text.py); an ID of a person in the file is not.
CARER_LINK_CASES = [
    # (id, Adult 1 Linked Person_ID, warned of a link to no one)
    ("a link to no one is warned of", "P000999", True),
    ("NULL is no link", "NULL", False),
    ("a blank is no link", "", False),
    ("a link to the person in the file", "P000123", False),
]


@pytest.mark.parametrize(
    ("link", "warned"), [c[1:] for c in CARER_LINK_CASES], ids=[c[0] for c in CARER_LINK_CASES]
)
def test_an_unpaid_carers_link_to_no_one_is_warned_of(tmp_path, link, warned):
    from cldetl.national.preview import validate_and_preview
    from tests.conftest import ASSESSMENT, UNPAID_CARER

    carer = {"NHS Number": OTHER_NHS[0], "LA Person Unique Identifier": "C1"}
    rows = [
        cld_row(),  # P000123's service
        cld_row(ASSESSMENT, UNPAID_CARER, carer, **{"Adult 1 Linked Person_ID": link}),
    ]
    path = write_cld_rows(tmp_path / "cld.csv", rows)
    got = validate_and_preview(path, reference=PERIOD)[1]
    rules = [rule for rule, _ in got.warnings]
    assert ("national.carer_link_to_no_one" in rules) == warned


# --- dev-C: measures/ascof_3d.py survivors (mutmut run of 7 December 2026, afternoon) ---
# Create_ASCOF_3D_2425_Onwards.sql (69fe2e4), #ASCOF_3D_Clients_Build: `CASE WHEN
# Service_Component_Cleaned = 'Direct Payment' THEN 'Direct Payment' ELSE
# Delivery_Mechanism_Cleaned END AS Delivery_Mechanism` for every service type, then the UPDATE
# blanking a mechanism #REF_Service_Type_Delivery_Mech does not list for the type, then
# #ASCOF_3D_Clients_Join's hierarchy from the same table (national_measures.yaml
# `client_hierarchy`: Prison with a managed budget 7, commissioned 8, blank 9; Prison has no
# Direct payment row).
PRISON_3D = "Long term support: Prison"


def test_ascof_3d_a_prison_service_whose_component_is_a_direct_payment_ranks_as_blank():
    """Person 60 has two prison services open at the year end. The first's component is Direct
    payment and its mechanism a managed budget: the build makes its mechanism Direct payment,
    which the reference table does not list for Prison, so it is blanked: hierarchy 9. The
    second is commissioned: hierarchy 8. MIN is 8: the second row places the person (not
    community support: in no figure); the first is behind a higher setting. Were the
    component not to make the mechanism Direct payment, the first would stay a managed budget,
    hierarchy 7, and place the person instead: the reasons would swap."""
    from cldetl.national.measures.ascof_3d import ascof_3d

    events = _measure_events([
        _client(60, MPB, stype=PRISON_3D, component=DP),
        _client(60, CSS, stype=PRISON_3D, component="Other"),
    ])  # fmt: skip
    by = {(f.measure, f.group): f for f in ascof_3d(events, PERIOD, measures_method())}
    total = by[("ASCOF 3D1a", "Total")]
    assert (total.numerator, total.denominator) == (0, 0)
    assert _by_person(total, events) == {60: [(False, HIGHER), (False, "not community support")]}


def test_3d_pairs_keep_a_missing_second_value_as_a_value_of_its_own():
    """ascof_3d._pairs (its docstring: a missing value a value of its own), the second column
    missing: rows (a, x), (a, -), (b, -) are three distinct pairs, in order of first appearance.
    Factorized with NA as -1, (b, -) would be coded a * 1 + (-1) = 0, the code of (a, x)."""
    from cldetl.national.measures.ascof_3d import _pairs

    found, distinct = _pairs(pd.Series(["a", "a", "b"]), pd.Series(["x", None, None]))
    assert list(found) == [0, 1, 2]
    assert distinct == [("a", "x"), ("a", None), ("b", None)]


# preview._from_parts (decorated, so mutmut makes no mutant of it: mutated by hand, see
# docs/mutation-national.md, branch dev-C). Its authority is the mode of the file's LA Code,
# passed to derive_period: create_DerivedReportingPeriod (national.yaml `reporting_period`
# `exceptions`, lines 660-676): Isles of Scilly (906) keep the stated period.
def test_the_files_la_code_reaches_the_derived_period_through_the_preview(tmp_path):
    """Two rows of LA Code 906 stating 1 Oct 2024 - 30 Sep 2025: two events cannot make a
    period of complete months, but 906's derived period is the stated one, and with no
    reference given it becomes the preview's reference period. Read as no authority, the
    period would be underived (no start, no end) and the preview would have no reference."""
    from cldetl.national.preview import validate_and_preview

    rows = [cld_row(**{"LA Code": "906"}), cld_row(**{"LA Code": "906"})]
    got = validate_and_preview(write_cld_rows(tmp_path / "cld.csv", rows))[1]
    assert got.period.exception == "stated_period"
    assert (got.period.start, got.period.end) == PERIOD
    assert got.reference_period == PERIOD


# preview._from_parts' candidates for the unique events are the rows the filter keeps that
# have a person: Create_ASCOF_3D_2425_Onwards.sql (69fe2e4), #ASCOF_3D_Clients_Build, asks
# Der_NHS_LA_Combined_Person_ID IS NOT NULL, and the fates give such a row 'no_person'.
def test_a_row_with_no_person_is_in_no_measure(tmp_path):
    """P000123's community service with a managed budget (the base row: 65 and above at the
    year end) and a second one, a direct payment, with no NHS number and no LA person ID: the
    second is no one's, so 3D1a is 1 / 1 and 3D2a 0 / 1 (P000123 has no direct payment).
    Made a candidate, the row would be a unique event of a person of its own: 2 / 2 and 1 / 2."""
    from cldetl.national.measures import measures
    from cldetl.national.preview import validate_and_preview

    no_one = {"NHS Number": "", "LA Person Unique Identifier": "", "Event Reference": "E2",
              "Delivery Mechanism": "Direct payment"}  # fmt: skip
    rows = [cld_row(**{"Event Reference": "E1"}), cld_row(**no_one)]
    p = validate_and_preview(write_cld_rows(tmp_path / "cld.csv", rows), reference=PERIOD)[1]
    assert list(p.fate_counts[p.fate_counts > 0].items()) == [("kept", 1), ("no_person", 1)]
    got = {(f.measure, f.group): (f.numerator, f.denominator) for f in measures(p)}
    assert got[("ASCOF 3D1a", "Total")] == (1, 1)
    assert got[("ASCOF 3D2a", "Total")] == (0, 1)


# --- dev-D: measures/result.py survivors (mutmut run of 7 December 2026, afternoon) ---
# A figure as the measures JSON gives it (measures/result.py), built by hand: the reasons a
# record is or is not counted are a category in the order the records first give them
# (result.records), and the JSON lists them in that order.


def _a_2e_figure_with_lines_in_no_figure(unplaced: bool = True):
    """ASCOF 2E's 18 to 64 figure over the unique events on lines 2-8: lines 2-5 in its
    cohort (line 2 counted, 3-5 'under 18'), lines 6-8 in no figure (6 'no band', 7-8 'no
    quarter'). 1 / 4 = 25.0%."""
    from cldetl.national.measures.result import Figure, records

    lines = np.arange(2, 9)
    people = pd.DataFrame(
        {
            "event_reference": pd.array([f"E{x}" for x in lines], dtype="string"),
            "la_person": pd.array([f"P{x}" for x in lines], dtype="string"),
        },
        index=pd.Index(lines),
    )
    behind = records(
        pd.DataFrame({"line": [2, 3, 4, 5]}),
        [True, False, False, False],
        ["counted", "under 18", "under 18", "under 18"],
    )
    away = records(
        pd.DataFrame({"line": [6, 7, 8]}), [False] * 3, ["no band", "no quarter", "no quarter"]
    )
    return Figure(
        "ASCOF 2E", "18 to 64", "t", 1, 4, 25.0, "%", "c", behind, people,
        away if unplaced else None,
    )  # fmt: skip


def test_a_figures_dict_sums_its_records_by_reason_in_the_order_they_first_come():
    """as_dict() (no records asked) sums the records by reason, each reason under its own name
    and in the order the records first give it: 'counted' (1) before 'under 18' (3), though
    'under 18' is the more; the records in no figure likewise ('no band' 1, 'no quarter' 2).
    Each record itself is listed only when asked (records=True), its Event Reference and LA
    person ID found by its line."""
    figure = _a_2e_figure_with_lines_in_no_figure()
    got = figure.as_dict()
    assert list(got.items()) == [
        ("measure", "ASCOF 2E"),
        ("group", "18 to 64"),
        ("title", "t"),
        ("numerator", 1),
        ("denominator", 4),
        ("value", 25.0),
        ("unit", "%"),
        ("cite", "c"),
        ("records_counted", 1),
        ("records_by_reason", {"counted": 1, "under 18": 3}),
        ("records_in_no_figure_by_reason", {"no band": 1, "no quarter": 2}),
    ]
    assert list(got["records_by_reason"]) == ["counted", "under 18"]
    assert list(got["records_in_no_figure_by_reason"]) == ["no band", "no quarter"]
    listed = figure.as_dict(records=True)
    assert listed["records"][0] == {
        "line": 2, "event_reference": "E2", "la_person": "P2", "counted": True,
        "reason": "counted",
    }  # fmt: skip
    assert [r["line"] for r in listed["records_in_no_figure"]] == [6, 7, 8]
    assert [r["reason"] for r in listed["records_in_no_figure"]] == [
        "no band", "no quarter", "no quarter",
    ]  # fmt: skip
    alone = _a_2e_figure_with_lines_in_no_figure(unplaced=False).as_dict(records=True)
    assert "records_in_no_figure_by_reason" not in alone and "records_in_no_figure" not in alone


def test_a_figures_records_keep_each_line_as_int32():
    """result.records keeps a record's line as int32 whatever the rows hold (a figure's records
    run to every row of its cohort: half the memory of int64 at 1,000,000 rows, issue 17
    point 5), counted as booleans, the reasons a category in the order first given."""
    from cldetl.national.measures.result import records

    rows = pd.DataFrame({"line": np.array([7, 3, 5], dtype=np.int64)})
    behind = records(rows, [1, 0, 0], ["counted", "under 18", "no band"])
    assert behind["line"].dtype == np.int32 and behind["line"].tolist() == [7, 3, 5]
    assert behind["counted"].tolist() == [True, False, False]
    assert list(behind["reason"].cat.categories) == ["counted", "under 18", "no band"]


# --- dev-D: measures/output.py survivors (mutmut run of 7 December 2026, afternoon) ---


def test_the_measures_text_names_five_counted_records_and_how_many_more():
    """measures_text: its heading, then per figure 'numerator / denominator = value' and the
    first five counted records by Event Reference (limit 5), '... and 2 more' for the other
    two of seven; a median figure as 'n counted, value'."""
    from cldetl.national.measures.output import CONVERSATION_WORDS, measures_text
    from cldetl.national.measures.result import Figure, records

    lines = np.arange(2, 12)
    people = pd.DataFrame(
        {
            "event_reference": pd.array([f"E{x}" for x in lines], dtype="string"),
            "la_person": pd.array([f"P{x}" for x in lines], dtype="string"),
        },
        index=pd.Index(lines),
    )
    # Lines 2-8 counted (7), 9-11 not: 7 / 10 = 70.0%.
    behind = records(pd.DataFrame({"line": lines}), lines <= 8, ["why"] * 10)
    figure = Figure("ASCOF 2E", "18 to 64", "t", 7, 10, 70.0, "%", "c", behind, people)
    assert measures_text([figure], {}) == (
        "Measures DHSC will publish from this file:\n"
        "  ASCOF 2E (18 to 64): 7 / 10 = 70.0%\n"
        "      counted: E2, E3, E4, E5, E6 ... and 2 more\n"
    )
    # A median figure of a measure with no records in no figure: its records left out for
    # DHSC's conversation flag (lines 3 and 4) are said, counted from its own records.
    flag = f"{CONVERSATION_WORDS} (no conversation recorded)"
    waits = records(pd.DataFrame({"line": [2, 3, 4]}), [True, False, False],
                    ["counted", flag, flag])  # fmt: skip
    wait = Figure("Wait time", "Jul-Sep 2025", "t", 1, None, 3.0, "days (median)", "c", waits,
                  people)  # fmt: skip
    assert measures_text([wait], {}).splitlines()[1:] == [
        "  Wait time (Jul-Sep 2025): 1 counted, 3.0 days (median)",
        "      counted: E2",
        "      left out, depending on DHSC's conversation flag: 2",
    ]
    # Rates per 100,000 (ASCOF 2B): 12 / 250,000 * 100,000 = 4.8; with no population given,
    # no rate. Neither holds a record here, so no 'counted' line.
    rates = [
        Figure("ASCOF 2B", "18 to 64", "t", 12, 250_000, 4.8, "per 100,000", "c"),
        Figure("ASCOF 2B", "65 and above", "t", 12, None, None, "per 100,000", "c"),
    ]
    assert measures_text(rates, {}).splitlines()[1:] == [
        "  ASCOF 2B (18 to 64): 12 / 250,000 = 4.8 per 100,000",
        "  ASCOF 2B (65 and above): 12 / no population = no rate (no population given)",
    ]
    # No figure: DHSC derives no period; each measure not computed follows, with why.
    assert measures_text([], {"ASCOF 2D": "Not computed: no data"}) == (
        "Measures DHSC will publish from this file:\n"
        "  none: DHSC derives no reporting period, so it would not select the file\n"
        "  ASCOF 2D: Not computed: no data\n"
    )


def test_the_measures_text_counts_the_conversation_flag_once_a_measure_and_says_what_moved():
    """A measure with records in no figure (the waiting times) says its records left out for
    DHSC's conversation flag once, on its first figure, over all its figures and the records
    in no figure: 1 (line 3) + 1 (line 5) + 1 (line 6) = 3; its second figure says none.
    Exactly five counted records are all named, with no '... and 0 more'; an Event Reference
    of 41 characters is cut at 40. Against last quarter: 2 -> 3 counted is +50.0%, over the
    20% threshold (one record counted now, not then); a figure at 0 last quarter has no
    change to give."""
    from cldetl.national.measures.output import CONVERSATION_WORDS, compare, measures_text
    from cldetl.national.measures.result import Figure, records

    long = "R" * 41
    refs = ["E2", "E3", "E4", "E5", long, "E7", "E8", "E9", "E10"]
    people = pd.DataFrame(
        {
            "event_reference": pd.array(refs, dtype="string"),
            "la_person": pd.array([f"P{x}" for x in range(2, 11)], dtype="string"),
        },
        index=pd.Index(range(2, 11)),
    )
    flag = f"{CONVERSATION_WORDS} (no conversation recorded)"

    def figure(measure, group, lines, counted, reasons, unplaced=None, value=None):
        behind = records(pd.DataFrame({"line": lines}), counted, reasons)
        numerator = sum(counted)
        return Figure(measure, group, "t", numerator, None, value, "days (median)", "c",
                      behind, people, unplaced)  # fmt: skip

    away = records(pd.DataFrame({"line": [6, 7]}), [False, False], [flag, "no band"])
    first = figure("Wait", "Q1", [2, 3], [True, False], ["counted", flag], away, 4.0)
    second = figure("Wait", "Q2", [4, 5], [True, False], ["counted", flag], None, 2.0)
    five = figure("ASCOF 2A", "Total", [2, 3, 4, 5, 6], [True] * 5, ["counted"] * 5, None, 1.0)
    text = measures_text([first, second, five], {}).splitlines()[1:]
    assert text == [
        "  Wait (Q1): 1 counted, 4.0 days (median)",
        "      counted: E2",
        "      in no figure of the measure: 2 record(s)",
        "      left out, depending on DHSC's conversation flag: 3",
        "  Wait (Q2): 1 counted, 2.0 days (median)",
        "      counted: E4",
        "  ASCOF 2A (Total): 5 counted, 1.0 days (median)",
        f"      counted: E2, E3, E4, E5, {'R' * 40}... (41 characters)",
    ]

    now = figure("ASCOF 2A", "Total", [2, 3, 4], [True] * 3, ["counted"] * 3)
    then = figure("ASCOF 2A", "Total", [2, 3, 4], [True, True, False], ["counted"] * 3)
    from_none = figure("Wait", "Q1", [2], [True], ["counted"])
    never = figure("Wait", "Q1", [2], [False], ["counted"])
    moved = compare([now, from_none], [then, never], 20.0)
    text = measures_text([now, from_none], {}, moved).splitlines()[1:]
    assert text == [
        "  ASCOF 2A (Total): 3 counted, -",
        "      counted: E2, E3, E4",
        "      last quarter: 2 (+50.0%)  MOVED MORE THAN THE THRESHOLD",
        "      1 record(s) counted now and not before, 0 counted before and not now",
        "  Wait (Q1): 1 counted, -",
        "      counted: E2",
        "      last quarter: 0",
    ]


# --- dev-A: ascof_2e.py and carer_links.py survivors (mutmut run of 7 December 2026, afternoon) ---
# ASCOF 2E's deduction of an unknown accommodation reads the person's SERVICES only:
# Create_personal_details_table.sql (7396fab), #Service_Row1 selects from the services
# (Event_Type = 'Service') of the people whose status is unknown, then ranks them by the latest
# end (open as 9999-01-01), the service type's hierarchy, a telling component, the latest start.
def test_ascof_2e_deduces_an_unknown_accommodation_from_services_only():
    # Person 301 (18-64, accommodation Unknown on every row): a community home support service
    # ended 1 Mar 2025 (in the cohort: it ends after the year's start) and an assessment still
    # open. The latest SERVICE is the home support: "Unknown: Presumed at home", settled, 1 / 1.
    # Had the open assessment been read as the latest event, its blank type and component would
    # deduce nothing: 'Unknown', not settled, 0 / 1.
    # Kills ascof_2e.x__deduced__mutmut_5 (`event_type == 'Service' | person unknown`).
    from cldetl.national.measures.ascof_2e import ascof_2e

    rows = [
        _client(301, None, born=B80, end="2025-03-01"),
        (301, "Service user", "Assessment", None, None, None, "2025-02-01", None, B80, None, None),
    ]
    events = _measure_events(
        rows,
        **{"Accommodation Status": pd.Series([UNK, UNK], dtype=object),
           "person_reason": pd.Series([None, None], dtype=object)},
    )  # fmt: skip
    figures = ascof_2e(_with_person_accommodation(events), PERIOD, measures_method())
    assert (figures[0].numerator, figures[0].denominator) == (1, 1)
    assert _by_person(figures[0], events) == {301: [(True, "settled: Unknown: Presumed at home")]}


def test_the_la_person_ids_are_made_comparable_a_slice_at_a_time_once_per_distinct_id(
    monkeypatch,
):
    # carer_links' docstring: "the LA person IDs are made comparable a slice of rows at a time,
    # once per distinct ID of the slice" (no hash table of every ID, nor every ID made text
    # again). Five IDs in slices of 2 rows: rows 0-1 ('C1' twice: one distinct ID), rows 2-3,
    # row 4: three calls of comparable_ids, on ['C1'], ['P000001', 'Xy'], [' p000001 '].
    # Kills carer_links.x__matched__mutmut_15 (a step of 1 row: five overlapping slices) and
    # _20, _22 (each slice runs to the end of the column: 4, 3 and 1 IDs).
    import pyarrow as pa

    import cldetl.national.carer_links as carer_links_module

    seen = []
    real = carer_links_module.comparable_ids

    def spy(ids):
        seen.append(ids.tolist())
        return real(ids)

    monkeypatch.setattr(carer_links_module, "comparable_ids", spy)
    ids = pd.Series(["C1", "C1", "P000001", "Xy", " p000001 "], dtype="string")
    wanted = pa.array(["p000001", "xy", "p000999"], type=pa.large_string())
    got = carer_links_module._matched(ids, wanted, 2)
    assert sorted(got.to_pylist()) == ["p000001", "xy"]
    assert seen == [["C1"], ["P000001", "Xy"], [" p000001 "]]


# --- dev-F: dedup.unique_events survivors (mutmut run of 7 December 2026, afternoon) ---
# unique_events folds each key field (create_GetDerivedFields_procedure.sql lines 304-318,
# create_GetUniqueEvents_procedure.sql lines 66-71, commit e6f5749) into one group number:
# group * width + (code + 2), where a field's codes run from -2 (does not apply) and -1 (blank)
# to its largest value's code, so `width` must be at least that many values, and the group
# numbers must stay exact whole numbers (renumbered before they would pass 2**62).

_KEY_FIELDS = [
    "la_code", "person", "Event Start Date", "Client Type", "Event Type",
    "Request: Route of Access", "Assessment Type", "Service Type", "Service Component",
    "Delivery Mechanism", "Unit Cost", "Cost Frequency (Unit Type)", "Planned units per week",
]  # fmt: skip


def _requests(changes: list[dict], **columns) -> list[int]:
    """The kept line of each of a person's requests (BASE, then each row's changes; lines 2,
    3, ...; one end date), `columns` replacing whole key columns (categories)."""
    frame = _as_preview(changes, "Request")
    for name, column in columns.items():
        frame[name] = column
    return _kept_lines(frame)


def test_requests_differing_in_their_start_or_client_type_are_events_of_their_own():
    # Line 2: BASE. Line 3: another start and another client type. Line 4: line 2's start,
    # a third client type. Each pair differs in a key field (start, client type: lines
    # 304-318), so three events, each kept. As text the client type's codes are 0, 1, 2 and the
    # start's 0, 1, 0: lines 2 and 3 differ in both by one, which only a field width of at
    # least the field's number of codes keeps apart.
    rows = [
        {},
        {"Event Start Date": "2025-01-07", "Client Type": "Unpaid carer"},
        {"Client Type": "Invalid and not mapped"},
    ]
    assert _requests(rows) == [2, 3, 4]


def test_requests_differing_in_a_category_of_client_type_are_two_events():
    # The preview holds the cleaned key fields as categories. Client Type of three categories,
    # line 2 the second (code 1), line 3 the first (code 0) and another start date (code 1):
    # two events (lines 304-318), each kept.
    client = pd.Categorical.from_codes([1, 0], categories=["Service user", "Unpaid carer", "X"])
    assert _requests([{}, {"Event Start Date": "2025-01-07"}], **{"Client Type": client}) == [
        2,
        3,
    ]


def _wide(categories: int, codes: list[dict]) -> list[int]:
    """Requests whose every key field is a category of `categories` values (each row's codes
    given, else 0): the group number's bound is then a product of powers of two."""
    zero = dict.fromkeys(_KEY_FIELDS, 0)
    return _categories("Request", [{**zero, **c} for c in codes], {}, categories)


def test_two_las_stay_two_events_when_the_group_numbers_pass_64_bits():
    # Fields of 62 categories are 64 = 2**6 wide. Line 2 in the first LA, line 3 in the second;
    # every other field the same. After the LA the group numbers differ by 1, then are
    # multiplied by the person's 2**6, the end date's 3 and 2**6 for each of the 11 fields after
    # it: 3 * 2**72. Unrenumbered, that difference is 0 modulo 2**64 (int64 wraps) and the two
    # LAs' requests would be one event; renumbered at 2**62 they stay two (person and LA are
    # part of the event, lines 304-318).
    assert _wide(62, [{"la_code": 0}, {"la_code": 1}]) == [2, 3]


def test_two_routes_of_access_stay_two_events_when_the_group_numbers_pass_2_to_the_53():
    # Fields of 1022 categories are 1024 = 2**10 wide; every code the last (1021) but line 3's
    # route of access (1020). Before the route the bound is 2**10 (LA) * 2**10 (person) * 3 (end
    # date) * 2**30 (start, client type, event type) = 3 * 2**50, and the groups are near it;
    # after it near 3 * 2**60, where a float64 is exact only to 2**9: two whole numbers one
    # apart. As int64 they stay two events (the route is a request's key field, line 314).
    top = dict.fromkeys(_KEY_FIELDS, 1021)
    assert _wide(1022, [top, {**top, "Request: Route of Access": 1020}]) == [2, 3]


def _typed(rows: list[dict]) -> list[int]:
    """The kept line of each of a person's rows (BASE, then each row's changes, its cleaned
    event type under "t"; lines 2, 3, ...), as the preview holds the event type: a category
    of the spec's values, then 'Invalid and not mapped' (preview._category)."""
    types = [*load_spec().field("Event Type").values, INVALID]
    kind = pd.Categorical([r["t"] for r in rows], categories=types)
    return _kept_lines(_as_preview([{k: v for k, v in r.items() if k != "t"} for r in rows], kind))


ROUTE = "Request: Route of Access"
TYPED_CASES = [
    # (id, rows, kept line of each). Event Type is part of the event (line 305), so rows of
    # two event types are two events whatever the fields that do not apply to one of them
    # (the end date: not a service's, nor a NULL event type's, line 311; route of access:
    # requests only, line 314). A not-applying field's code must be one no row that applies
    # can have (-2, below blank's -1): neither a value's code nor one past the field's width.
    # Three requests ending on three days (line 4's route blank), then a NULL event type (not
    # a service, but no end date in its event, line 311): four events. Coded 4 (+2) instead of
    # 0 (-2), the NULL row's end date would fold like line 4's third end date (code 2) and its
    # route one past the route's width like line 4's blank: lines 4 and 5 one event.
    ("three requests and a NULL event type",
     [{"t": "Request", "end": "2025-03-29"}, {"t": "Request", "end": "2025-03-30"},
      {"t": "Request", "end": "2025-03-31", ROUTE: None}, {"t": None}], [2, 3, 4, 5]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "kept"), [c[1:] for c in TYPED_CASES], ids=[c[0] for c in TYPED_CASES]
)
def test_rows_of_two_event_types_are_two_events(rows, kept):
    assert _typed(rows) == kept


def test_of_two_rows_of_one_service_the_open_one_is_kept():
    # GetUniqueEvents lines 72-76 keep the row with the latest end date, an open one (NULL)
    # read as 9999-01-01, so the latest of all. Two rows of one service (a service's end date
    # is not part of its event, line 311): line 2 open, line 3 ending 31 March 2025. Line 2 is
    # kept although line 3 is the later line (the tie-break only when the ends are equal).
    assert _kept_lines(_as_preview([{"end": None}, {}], "Service")) == [2, 2]


def test_each_of_two_events_of_two_rows_keeps_its_later_line():
    # Lines 2 and 3 one request, lines 4 and 5 another (a later start, line 304): each pair
    # ties on its end date and outcome, so each event keeps its later line (GetUniqueEvents
    # lines 72-76: the row number last) - 3 and 5, each chosen within its own event.
    later = {"Event Start Date": "2025-01-07"}
    assert _kept_lines(_as_preview([{}, {}, later, later], "Request")) == [3, 3, 5, 5]


# --- integrator: unique_events mutants dev-F left not pinned (7 December 2026, evening) ---
# Each key field a category of many values (a large file's unit costs, start dates, persons are
# as many), so the group numbers grow past 2**53 and are renumbered at 2**62 (dedup.py lines
# 130-132). The width of a category of n values is n + 2 (blank -1 and not-applying -2 below
# its codes).
SERVICE_FIELDS = _KEY_FIELDS[-6:]


def _categories(kind, codes: list[dict], counts: dict[str, int], default: int) -> list[int]:
    """The kept line of each row of `_as_preview` (event type `kind`, lines 2, 3, ...) whose key
    fields are categories of `counts[name]` values (else `default`), each row at its field's
    last code unless `codes` says otherwise. A typed `kind` (a category of the spec's event
    types) is kept as the Event Type key field; a text `kind` is widened like the rest."""
    frame = _as_preview([{} for _ in codes], kind)
    for name in _KEY_FIELDS:
        if name == "Event Type" and isinstance(kind, pd.Categorical):
            continue
        n = counts.get(name, default)
        frame[name] = pd.Categorical.from_codes(
            [c.get(name, n - 1) for c in codes], categories=[f"v{i}" for i in range(n)]
        )
    return _kept_lines(frame)


@pytest.mark.parametrize("other", ["Review", "Request", "Assessment", INVALID, None])
def test_a_service_and_another_event_type_stay_two_events_after_a_renumbering(other):
    # Line 2 a service, line 3 another event type (or none); every field of 62 categories
    # (2**6 wide) but the event type (the spec's four and 'Invalid and not mapped': 7 wide).
    # Before Unit Cost the bound is 2**12 (LA, person) * 3 (end date) * 2**12 (start, client
    # type) * 7 * 2**30 (route to delivery mechanism), about 2**58.4; with Unit Cost's 2**6 it
    # passes 2**62, so the groups are renumbered first: line 2 is 0, line 3 is 1. The service
    # fields do not apply to line 3, coded -2 (+2 = 0); line 2's unit cost and cost frequency
    # are codes 60 (+2 = 62), its planned units 61 (63). Line 3 - line 2: 64 - 62 = 2, then
    # 2 * 64 - 62 = 66, then 66 * 64 - 63: two events, as Event Type is part of the event
    # (create_GetDerivedFields_procedure.sql lines 304-318, e6f5749). Coded -3 (+2 = -1), the
    # difference would be 64 - 1 - 62 = 1, 1 again, then 64 - 1 - 63 = 0: one event.
    kind = pd.Categorical(
        ["Service", other], categories=[*load_spec().field("Event Type").values, INVALID]
    )
    service = {"Unit Cost": 60, "Cost Frequency (Unit Type)": 60}
    assert _categories(kind, [service, {}], {}, 62) == [2, 3]


def test_two_cost_frequencies_stay_two_events_when_renumbered_groups_pass_2_to_the_53():
    # Two services, every code the last but line 3's cost frequency (one below). LA, person,
    # start, client type and event type of 4094 categories (2**12 wide), route and assessment
    # type of 1 (3 wide), the six service fields of 2046 (2**11). Before the route the bound
    # is 2**48 * 3 (end date) * 2**12 = 3 * 2**60; with the route's 3 it passes 2**62, so
    # both rows are renumbered to group 0. Route and assessment type do not apply (0); service
    # type to unit cost at their last code (2047) make 2**44 - 1; the cost frequency makes
    # 2**55 - 1 (line 2) and 2**55 - 2 (line 3), the bound 9 * 2**55, so no renumbering before
    # the last field. As int64 two groups: two events (the cost frequency splits services,
    # create_GetUniqueEvents_procedure.sql lines 66-71, e6f5749); as float64 (exact to 4
    # above 2**54) both would be 2**55: one event.
    counts = {name: 4094 for name in _KEY_FIELDS[:5]}
    counts |= {ROUTE: 1, "Assessment Type": 1, **dict.fromkeys(SERVICE_FIELDS, 2046)}
    assert _categories("Service", [{}, {"Cost Frequency (Unit Type)": 2044}], counts, 0) == [2, 3]


def test_two_las_services_stay_two_events_when_renumbered_groups_grow():
    # Two services, every field of 1022 categories (2**10 wide), every code the last but line
    # 3's LA (one below). The bound passes 2**62 at Assessment Type (3 * 2**70): the groups
    # are renumbered, line 2 to 0 and line 3 to 1, then each multiplied by 2**10 at each of
    # the six fields before Planned units (bound 2**61), exact in int64: two events (the LA
    # is part of the event, lines 304-318). Divided instead, that 1 would be 2**-60 of a
    # number near 1023, where a float64 holds no more than 2**-43: one event.
    assert _categories("Service", [{}, {"la_code": 1020}], {}, 1022) == [2, 3]


# --- dev-I: model.py, text.py, run_files.py survivors (mutmut run of 7 December 2026, evening) ---
# A preview built by hand (no file read): its period, fates, counts and data quality table as
# the preview makes them (fates.FATE_COLUMNS packed, fate_counts per national.yaml `fates` key,
# the dq_summary columns), so the text, the JSON and the CSVs it gives are known line by line.
FATE_KEYS = list(national_method()["fates"])
SOURCE = "DHSC, ASC-CLD-LA-Dashboard (github.com/DataS-DHSC/ASC-CLD-LA-Dashboard)"
PERIOD_CITE = "create_REF_Submission_Reporting_Periods_V2_table.sql (e6f5749)"
DEDUP_CITE = "create_GetUniqueEvents_procedure.sql (e6f5749)"
DQ_CITE = "create_GetDQValues_procedure.sql (7396fab) lines 36-48"


def _type_period(kind, total, run=None, enough=True, gap=False, median=None):
    """One event type's line of the derived period; `run` its (first, last) complete month
    starts, which are also the derived run (the run's start, the last month's end)."""
    from cldetl.national.period import TypePeriod

    first, last = run or (None, None)
    end = None if last is None else (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    return TypePeriod(kind, total, median, enough, first, end, first, last, gap)


def _hand_preview(period, fates, quality, warnings=(), reference=PERIOD, dq_pairs=None):
    """`fates`: (line, fate key, merged-into line) a row, Event Reference E<line>."""
    from cldetl.national.compact import PackedFrame
    from cldetl.national.model import Preview

    lines = [f[0] for f in fates]
    packed = PackedFrame(
        {
            "line": pd.Series(lines, dtype=np.int64),
            "event_reference": pd.Series([f"E{x}" for x in lines], dtype="string"),
            "fate": pd.Series(pd.Categorical([f[1] for f in fates], categories=FATE_KEYS)),
            "merged_into_line": pd.Series([f[2] for f in fates], dtype=np.int64),
        }
    )
    counts = pd.Series([sum(f[1] == k for f in fates) for k in FATE_KEYS], index=FATE_KEYS)
    return Preview("cld.csv", len(fates), period, reference, packed, counts, dq_pairs,
                   pd.DataFrame(quality, columns=["field", "status", "code", "label", "rows"]),
                   warnings=list(warnings))  # fmt: skip


# Preview A: the derived period (Nov 2024 - Aug 2025) differs from the stated one, with a
# gap; assessments are too few. Lines 2-25: line 2 kept with 3 and 4 merged into it, then
# ten pairs (5 kept, 6 merged into it; ... 23, 24), line 25 with no person: 11 kept, 12
# merged, 1 no person, 11 groups.
def _derived(start, end, by_type, gap=False, missing=False, exception=None):
    """The derived period of the stated year (STATED), loaded in October 2025 (IMPORT)."""
    from cldetl.national.period import DerivedPeriod

    return DerivedPeriod(*STATED, start, end, by_type, gap, missing, IMPORT, exception)


A_PERIOD = _derived(
    date(2024, 11, 1), date(2025, 8, 31),
    [_type_period("Request", 120, (date(2024, 11, 1), date(2025, 8, 1)), median=11.5),
     _type_period("Assessment", 3, enough=False),
     _type_period("Service", 130, (date(2024, 11, 1), date(2025, 8, 1)), gap=True, median=12.0)],
    gap=True,
)  # fmt: skip
A_FATES = [(2, "kept", 0), (3, "merged", 2), (4, "merged", 2)]
A_FATES += [f for k in range(5, 24, 2) for f in ((k, "kept", 0), (k + 1, "merged", k))]
A_FATES += [(25, "no_person", 0)]
# A failed code per field (-2, -1), a blank passed (0) and a valid one (1): only the failed
# (code below 0) are listed in the text.
A_QUALITY = [
    ("Gender", "Mandatory", -2, "Failed: Invalid", 2),
    ("Gender", "Mandatory", 1, "Passed: Valid", 22),
    ("NHS Number", "Mandatory", -1, "Failed: Blank (Mandatory)", 1),
    ("Date of Death", "Applicable but not mandatory", 0, "Passed: Blank (Not Mandatory)", 24),
]
# Preview B: Isles of Scilly's exception keeps the stated period (so it matches); no
# assessments at all (the missing event type flag); two kept rows, every field passed.
B_TYPES = [_type_period("Request", 1), _type_period("Assessment", 0), _type_period("Service", 1)]
B_PERIOD = _derived(*STATED, B_TYPES, missing=True, exception="stated_period")
B_FATES = [(2, "kept", 0), (3, "kept", 0)]
B_QUALITY = [("Gender", "Mandatory", 1, "Passed: Valid", 2)]


def test_the_preview_text_lists_the_period_fates_groups_failed_fields_and_warnings():
    """text.preview_text of preview A, line by line: the derived run differs (no
    "(matches)"), each type's line says too few events or a gap, counts right-aligned in 8
    with the fates of no rows left out, the first 10 of 11 groups then "1 more", the two
    failed codes of the four, then the warnings."""
    from cldetl.national.text import preview_text

    p = _hand_preview(A_PERIOD, A_FATES, A_QUALITY, [("national.x", "first"), ("y", "second")])
    groups = [f"  line {k} stands for lines {k + 1}" for k in range(5, 22, 2)]
    assert preview_text(p).split("\n") == [
        "National processing preview of cld.csv: 24 rows",
        f"Following {SOURCE}, commit e6f5749.",
        "",
        f"Reporting period ({PERIOD_CITE}):",
        "  stated  01/10/2024 to 30/09/2025",
        "  derived 01/11/2024 to 31/08/2025",
        "  counted: events ending before the import month (01/10/2025)",
        "  gap flag: yes; missing event type flag: no",
        "  Request: 120 event(s), derived 01/11/2024 to 31/08/2025",
        "  Assessment: 3 event(s), derived none to none (too few events)",
        "  Service: 130 event(s), derived 01/11/2024 to 31/08/2025 (gap)",
        "",
        "What happens to each row (24 rows):",
        "        11  kept",
        "        12  merged into another row",
        "         1  dropped: no person ID",
        "",
        f"Rows merged into another ({DEDUP_CITE}):",
        "  line 2 stands for lines 3, 4",
        *groups,
        "  ... and 1 more group(s)",
        "",
        f"Data quality by field ({DQ_CITE}):",
        "  codes: 1 'Passed: Valid'; 0 'Passed: Blank (Not Mandatory)'; -1 'Failed: Blank "
        "(Mandatory)'; -2 'Failed: Invalid'; -7 'Failed: Invalid (a Release 1 value)'",
        "  Gender: 2 row(s) -2 'Failed: Invalid' (Mandatory)",
        "  NHS Number: 1 row(s) -1 'Failed: Blank (Mandatory)' (Mandatory)",
        "",
        "Warnings:",
        "  WARNING national.x: first",
        "  WARNING y: second",
        "",
    ]
    # Two groups shown of 11: "9 more".
    assert preview_text(p, limit=2).split("\n")[18:22] == [
        "  line 2 stands for lines 3, 4",
        "  line 5 stands for lines 6",
        "  ... and 9 more group(s)",
        "",
    ]
    # Eleven groups within a limit of 11: all shown, no "more" line.
    shown = preview_text(p, limit=11).split("\n")
    assert shown[28:31] == [
        "  line 23 stands for lines 24",
        "",
        f"Data quality by field ({DQ_CITE}):",
    ]


def test_the_preview_text_of_a_matching_period_with_no_groups_failures_or_warnings():
    """Preview B: "(matches)", the authority exception in words, the flags the other way round,
    no merged rows section, every field passed, no warnings section."""
    from cldetl.national.text import preview_text

    p = _hand_preview(B_PERIOD, B_FATES, B_QUALITY)
    assert preview_text(p).split("\n")[4:] == [
        "  stated  01/10/2024 to 30/09/2025",
        "  derived 01/10/2024 to 30/09/2025  (matches)",
        "  counted: events ending before the import month (01/10/2025)",
        "  gap flag: no; missing event type flag: yes",
        "  authority exception: stated period",
        "  Request: 1 event(s), derived none to none",
        "  Assessment: 0 event(s), derived none to none",
        "  Service: 1 event(s), derived none to none",
        "",
        "What happens to each row (2 rows):",
        "         2  kept",
        "",
        f"Data quality by field ({DQ_CITE}):",
        "  codes: 1 'Passed: Valid'; 0 'Passed: Blank (Not Mandatory)'; -1 'Failed: Blank "
        "(Mandatory)'; -2 'Failed: Invalid'; -7 'Failed: Invalid (a Release 1 value)'",
        "  every field valid or blank where allowed",
        "",
    ]


def test_a_previews_groups_and_rows_without_a_person_by_line():
    """model.Preview.same_events and no_person_id of preview A (above)."""
    p = _hand_preview(A_PERIOD, A_FATES, A_QUALITY)
    assert p.same_events == [(2, [3, 4])] + [(k, [k + 1]) for k in range(5, 24, 2)]
    assert p.no_person_id == [25]
    assert _hand_preview(B_PERIOD, B_FATES, B_QUALITY).same_events == []


def test_the_preview_json_of_a_hand_built_preview():
    """model.Preview.to_json_dict of preview A: dates as ISO text, None where a type has no run;
    every fate with its label and rows (zeros included), reconciling to the 24 rows."""
    labels = national_method()["fates"]
    counts = {"kept": 11, "merged": 12, "no_person": 1}
    p = _hand_preview(A_PERIOD, A_FATES, A_QUALITY, [("national.x", "first")])
    run = ["2024-11-01", "2025-08-31"]
    complete = ["2024-11-01", "2025-08-01"]
    assert p.to_json_dict() == {
        "file": "cld.csv",
        "rows": 24,
        "source": SOURCE,
        "commit": "e6f57490e457a669065e77c17983eb4a5f1b598b",
        "reporting_period": {
            "stated": ["2024-10-01", "2025-09-30"],
            "derived": run,
            "matches": False,
            "import_month": "2025-10-01",
            "exception": None,
            "gap_flag": True,
            "missing_event_type_flag": False,
            "by_event_type": [
                {
                    "event_type": "Request",
                    "events": 120,
                    "median_month": 11.5,
                    "enough_volume": True,
                    "derived": run,
                    "complete": complete,
                    "gap": False,
                },
                {
                    "event_type": "Assessment",
                    "events": 3,
                    "median_month": None,
                    "enough_volume": False,
                    "derived": [None, None],
                    "complete": [None, None],
                    "gap": False,
                },
                {
                    "event_type": "Service",
                    "events": 130,
                    "median_month": 12.0,
                    "enough_volume": True,
                    "derived": run,
                    "complete": complete,
                    "gap": True,
                },
            ],  # fmt: skip
            "cite": PERIOD_CITE,
        },
        "fates": {
            "rows": 24,
            "counts": {k: {"label": labels[k], "rows": counts.get(k, 0)} for k in FATE_KEYS},
            "reconciles": True,
        },
        "same_events": [{"kept_line": 2, "merged_lines": [3, 4]}]
        + [{"kept_line": k, "merged_lines": [k + 1]} for k in range(5, 24, 2)],
        "rows_without_person_id": [25],
        "data_quality": [
            {"field": f, "status": s, "code": c, "label": label, "rows": n}
            for f, s, c, label, n in A_QUALITY
        ],
        "warnings": [{"rule": "national.x", "message": "first"}],
    }
    # Fates that do not add up to the rows do not reconcile.
    p.rows = 25
    assert p.to_json_dict()["fates"]["reconciles"] is False


def test_the_quality_and_fates_csvs_of_a_hand_built_preview():
    """model.Preview.quality_csv (the table as it is, no index) and fates_csv: each row's line,
    Event Reference, fate in words (national.yaml `fates`), merged-into line, then each field's
    DQ status and code in DHSC's order (dq_unpaired of the pairs: status * 16 + code + 8)."""
    method = national_method()
    fields = [f[1] for f in method["data_quality"]["fields"]]
    # Line 2: every field Mandatory (2) and valid (1): 2 * 16 + 1 + 8 = 41. Line 3: every field
    # not applicable (0) and blank (0): 8; but Gender mandatory and invalid: 32 - 2 + 8 = 38.
    pairs = pd.DataFrame({f: [41, 38 if f == "Gender" else 8] for f in fields}, dtype=np.uint8)
    fates = [(2, "kept", 0), (3, "merged", 2)]
    p = _hand_preview(B_PERIOD, fates, B_QUALITY + [("Gender", "Mandatory", -2, "x, y", 1)],
                      dq_pairs=pairs)  # fmt: skip
    assert p.quality_csv() == (
        "field,status,code,label,rows\n"
        "Gender,Mandatory,1,Passed: Valid,2\n"
        'Gender,Mandatory,-2,"x, y",1\n'
    )
    codes = [",".join(f"{f} status,{f} code" for f in fields)]
    codes += [",".join("2,1" for _ in fields)]
    codes += [",".join("2,-2" if f == "Gender" else "0,0" for f in fields)]
    assert p.fates_csv() == (
        f"line,event_reference,fate,merged_into_line,{codes[0]}\n"
        f"2,E2,kept,0,{codes[1]}\n"
        f"3,E3,merged into another row,2,{codes[2]}\n"
    )


def test_a_preview_made_without_row_codes_refuses_to_give_them():
    from cldetl.errors import InternalError

    p = _hand_preview(B_PERIOD, B_FATES, B_QUALITY)
    with pytest.raises(InternalError, match="^a preview made without per-row DQ codes was asked"):
        p.dq  # noqa: B018


def _counts(**rows):
    return [(line, key, 0) for line, key in enumerate(
        [k for k, n in rows.items() for _ in range(n)], start=2)]  # fmt: skip


def _warnings(period=None, reference=PERIOD, **rows):
    """warnings_for of a preview of the given fates (e.g. kept=1, outside=2) and `period`, the
    stated one by default (matching, no flags: no warning of its own)."""
    from cldetl.national.text import warnings_for

    period = period or _derived(*STATED, B_TYPES)
    p = _hand_preview(period, _counts(**rows), B_QUALITY, reference=reference)
    return warnings_for(p, national_method())


UNDERIVED_TYPES = [
    _type_period("Request", 40, (date(2024, 10, 1), date(2025, 1, 1))),
    _type_period("Assessment", 2, enough=False),
    _type_period("Service", 3, enough=False),
]
APART_TYPES = [
    _type_period("Request", 40, (date(2024, 10, 1), date(2025, 1, 1))),
    _type_period("Assessment", 40, (date(2025, 3, 1), date(2025, 9, 1))),
    _type_period("Service", 40, (date(2024, 10, 1), date(2025, 9, 1))),
]
FILTER_CITE = "create_FilterToEventsInPeriod_procedure.sql (e6f5749)"
PERIOD_WARNING_CASES = [
    # (id, start, end, by type, gap flag, missing type flag, exception, [(rule, message)])
    ("two types without a run", None, None, UNDERIVED_TYPES, False, False, None,
     [("national.period_not_derived", "DHSC cannot derive a reporting period from this file (no "
       "run of complete months for: Assessment, Service); it would not select the file. "
       f"Method: {PERIOD_CITE}.")]),
    ("three runs that do not meet", None, None, APART_TYPES, False, False, None,
     [("national.period_not_derived", "DHSC cannot derive a reporting period from this file (no "
       "run of complete months for: all three event types together); it would not select the "
       f"file. Method: {PERIOD_CITE}.")]),
    ("a shorter period, a gap and a missing type", date(2024, 11, 1), date(2025, 8, 31),
     B_TYPES, True, True, None,
     [("national.period_differs", "DHSC would derive the period 01/11/2024 to 31/08/2025, not "
       "the stated 01/10/2024 to 30/09/2025: months with too few events are not counted. "
       f"Method: {PERIOD_CITE}."),
      ("national.period_gap", "An event type has a month with too few events between its "
       f"first and last complete month (DHSC's gap flag). Method: {PERIOD_CITE}."),
      ("national.missing_event_type", "Requests, assessments or services have no events DHSC "
       f"counts (its missing event type flag). Method: {PERIOD_CITE}.")]),
    ("the stated period", *STATED, B_TYPES, False, False, None, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end", "by_type", "gap", "missing", "exception", "expected"),
    [pytest.param(*c[1:], id=c[0]) for c in PERIOD_WARNING_CASES],
)
def test_the_period_warnings(start, end, by_type, gap, missing, exception, expected):
    """text.warnings_for on the derived period (create_DerivedReportingPeriod's outcomes): none
    derived, naming the types with no run of complete months (all three when each has one but
    they do not meet); a period other than the stated one; the gap and missing type flags."""
    assert _warnings(_derived(start, end, by_type, gap, missing, exception), kept=1) == expected


def test_the_fate_warnings_count_merged_no_person_and_dropped_rows():
    """text.warnings_for on the fates: 2 merged rows, 1 with no person, and the rows the period
    filter drops: those whose fate starts no_, outside or death_before, less the no person one:
    1 no event type + 1 no start + 2 outside + 1 died before the period + 1 before the event =
    6. The dropped ones are told only when the file has a reference period."""
    rows = dict(kept=1, merged=2, no_person=1, no_event_type=1, no_start=1, outside=2,
                death_before_period=1, death_before_event=1)  # fmt: skip
    merged = ("national.same_event", "2 row(s) are merged into another row of the same event "
              f"by DHSC. Method: {DEDUP_CITE}.")  # fmt: skip
    no_person = (
        "national.no_person_id",
        "1 row(s) have neither an NHS number nor an LA person "
        "ID; DHSC drops them. Method: create_GetDerivedFields_procedure.sql (e6f5749).",
    )
    dropped = ("national.dropped", "6 row(s) are dropped by DHSC's period filter (see the "
               f"fates). Method: {FILTER_CITE}.")  # fmt: skip
    assert _warnings(**rows) == [merged, no_person, dropped]
    assert _warnings(reference=None, **rows) == [merged, no_person]
    # Only the rows with no person: nothing dropped by the filter (1 - 1 = 0).
    assert _warnings(kept=1, no_person=1) == [no_person]
    # One row outside the period alone.
    assert _warnings(kept=1, outside=1) == [
        ("national.dropped", "1 row(s) are dropped by DHSC's period filter (see the fates). "
         f"Method: {FILTER_CITE}.")
    ]  # fmt: skip


# text._carer_links, through the preview's warnings (the linked IDs are let go after them):
# line 2 is P000123's service; lines 3 on are unpaid carers' assessments, line 3 linking to X1
# and X2, line 4 to P000123 (a person in the file: no warning), each later line to an ID of
# its own found on no row. The lines are listed up to 10, then "and N more".
CARER_LIMIT_CASES = [
    # (id, carer rows, links to no one, rows with one, lines shown)
    ("ten rows listed whole", 11, 11, 10, "3, 5, 6, 7, 8, 9, 10, 11, 12, 13"),
    ("eleven rows cut at ten", 12, 12, 11, "3, 5, 6, 7, 8, 9, 10, 11, 12, 13 and 1 more"),
]


@pytest.mark.parametrize(
    ("carers", "links", "rows", "shown"),
    [pytest.param(*c[1:], id=c[0]) for c in CARER_LIMIT_CASES],
)
def test_an_unpaid_carers_links_to_no_one_are_counted_and_listed_by_line(
    tmp_path, carers, links, rows, shown
):
    from cldetl.national.preview import validate_and_preview
    from tests.conftest import ASSESSMENT, UNPAID_CARER

    def carer(i):
        link = {0: {"Adult 1 Linked Person_ID": "X1", "Adult 2 Linked Person_ID": "X2"},
                1: {"Adult 1 Linked Person_ID": "P000123"}}.get(
                    i, {"Adult 1 Linked Person_ID": f"X{i + 2}"})  # fmt: skip
        person = {"NHS Number": "", "LA Person Unique Identifier": f"C{i}"}
        return cld_row(ASSESSMENT, UNPAID_CARER, link, person, **{"Event Reference": f"A{i}"})

    path = write_cld_rows(tmp_path / "cld.csv", [cld_row(), *map(carer, range(carers))])
    p = validate_and_preview(path, reference=PERIOD)[1]
    assert [w for w in p.warnings if w[0] == "national.carer_link_to_no_one"] == [
        (
            "national.carer_link_to_no_one",
            f"{links} linked person ID(s) on {rows} unpaid carer row(s) of the year match no "
            f"LA person ID in the file (lines {shown}); DHSC's join drops them, so it cannot "
            "tell whom the carer cares for. No figure changes. Method: "
            "ASCOF_measures/Create_personal_details_table.sql (7396fab), #Carers_shell and "
            "#People_With_Unpaid_Carer.",
        )
    ]


# run_files: the measures against last quarter's run, from an earlier run folder written by
# hand (its measures JSON and records CSV as NationalRun.files writes them). Figures M/G, P/All
# and Q/All (Q only then); line 5's LA person ID is the text "NA" and line 7 has no Event
# Reference: both read as text, never as missing.
EARLIER_JSON = {
    "figures": [
        {"measure": "M", "group": "G", "title": "M of G", "numerator": 4, "denominator": None,
         "value": None, "unit": "per 100,000", "cite": "m.sql", "records_counted": 2},
        {"measure": "P", "group": "All", "title": "P", "numerator": 1, "denominator": 2,
         "value": 50.0, "unit": "%", "cite": "p.sql", "records_counted": 1},
        {"measure": "Q", "group": "All", "title": "Q", "numerator": 3, "denominator": None,
         "value": None, "unit": "per 100,000", "cite": "q.sql", "records_counted": 1},
    ]
}  # fmt: skip
EARLIER_RECORDS = """measure,group,line,event_reference,la_person,counted,reason
M,G,2,E2,P2,True,counted
M,G,3,E3,P3,False,too young
M,G,5,E5,NA,True,counted
P,All,2,E2,P2,True,counted
P,All,7,,P7,False,not in the year
Q,All,5,E5,NA,True,counted
"""


def _earlier_run(folder: Path) -> Path:
    import json

    folder.mkdir()
    (folder / "national_measures.json").write_text(json.dumps(EARLIER_JSON), encoding="utf-8")
    (folder / "national_measures_records.csv").write_text(EARLIER_RECORDS, encoding="utf-8")
    return folder


def _hand_figure(measure, group, numbers, counted):
    """A figure whose counted records are `counted`: (line, Event Reference, LA person ID)."""
    from cldetl.national.measures import Figure

    lines = [c[0] for c in counted]
    behind = pd.DataFrame({"line": np.array(lines, dtype=np.int64), "counted": True,
                           "reason": pd.Categorical(["counted"] * len(lines))})  # fmt: skip
    people = pd.DataFrame(
        {"event_reference": [c[1] for c in counted], "la_person": [c[2] for c in counted]},
        index=pd.Index(lines, dtype=np.int64),
    )
    numerator, denominator, value, unit = numbers
    return Figure(measure, group, measure, numerator, denominator, value, unit, "now.sql",
                  behind=behind, people=people)  # fmt: skip


@pytest.mark.parametrize("chunk", [2, 200_000], ids=["two rows a chunk", "one chunk"])
def test_an_earlier_runs_figures_are_read_back_with_their_counted_records(
    tmp_path, monkeypatch, chunk
):
    """run_files.figures_from_run: each figure of the JSON, with the records CSV's counted rows
    of its measure and group (M/G: lines 2 and 5, not line 3), whichever chunks they come in;
    each line's Event Reference and LA person ID as written ("NA" stays "NA")."""
    import cldetl.national.run_files as run_files

    monkeypatch.setattr(run_files, "RECORD_CHUNK", chunk)
    got = run_files.figures_from_run(_earlier_run(tmp_path / "june"))
    assert [(f.measure, f.group, f.title, f.numerator, f.denominator, f.value, f.unit, f.cite)
            for f in got] == [
        ("M", "G", "M of G", 4, None, None, "per 100,000", "m.sql"),
        ("P", "All", "P", 1, 2, 50.0, "%", "p.sql"),
        ("Q", "All", "Q", 3, None, None, "per 100,000", "q.sql"),
    ]  # fmt: skip
    assert [f.records.values.tolist() for f in got] == [
        [[2, "E2", "P2", True, "counted"], [5, "E5", "NA", True, "counted"]],
        [[2, "E2", "P2", True, "counted"]],
        [[5, "E5", "NA", True, "counted"]],
    ]


def test_the_measures_are_compared_with_last_quarters_as_counts_where_one_side_has_no_rate(
    tmp_path,
):
    """run_files.against_last_quarter. M/G is a rate now (a population given: 2.0 per 100,000
    of 5 people) and a count then (4): compared as counts, 5 against 4 is +25.0%, over the 20%
    threshold; as given it would be 2.0 against 4, -50.0%. P/All is a percentage on both sides,
    compared as such: 75.0 (3 of 4) against 50.0 (1 of 2), +50.0% (as counts, 3 against 1, it
    would be +200.0%). Q/All, only then, is no movement. The records that moved M/G: line 9
    counted now only, line 5 ("NA") then only."""
    from cldetl.national.run_files import NationalRun, against_last_quarter

    now = [
        _hand_figure("M", "G", (5, 250_000, 2.0, "per 100,000"),
                     [(2, "E2", "P2"), (9, "E9", "P9")]),
        _hand_figure("P", "All", (3, 4, 75.0, "%"),
                     [(2, "E2", "P2"), (5, "E5", "NA"), (8, "E8", "P8")]),
    ]  # fmt: skip
    run = NationalRun(_hand_preview(B_PERIOD, B_FATES, B_QUALITY), now, False, {})
    june = _earlier_run(tmp_path / "june")
    last = against_last_quarter(run, june, "2025-06-30/run-1", 20.0, "2025-06-30")
    assert (last.note, last.threshold, last.run) == (
        "Compared with the earlier run 2025-06-30/run-1 of the period ending 2025-06-30.",
        20.0,
        "2025-06-30/run-1",
    )
    got = [(m.figure.measure, m.figure.group, m.change_percent, m.flagged,
            m.joined.values.tolist(), m.left.values.tolist()) for m in last.movements]  # fmt: skip
    assert got == [
        ("M", "G", 25.0, True, [["E9", "P9"]], [["E5", "NA"]]),
        ("P", "All", 50.0, True, [["E5", "NA"], ["E8", "P8"]], []),
    ]
    # The figures themselves are left as they are.
    assert [f.value for f in run.figures] == [2.0, 75.0]
    # With no period end given, the note names the run only.
    plain = against_last_quarter(run, june, "2025-06-30/run-1", 20.0)
    assert plain.note == "Compared with the earlier run 2025-06-30/run-1."


NO_EARLIER = "No earlier run to compare with: "
UNREAD_CASES = [
    # (id, measures JSON, records CSV, note after NO_EARLIER)
    ("no folder", None, None,
     "the output folder holds no run of an earlier period for this authority."),
    ("JSON that is not JSON", "{", EARLIER_RECORDS,
     "the measures of the earlier run L cannot be read (JSONDecodeError)."),
    ("JSON without figures", "{}", EARLIER_RECORDS,
     "the measures of the earlier run L cannot be read (KeyError)."),
    ("figures that are no list", '{"figures": 3}', EARLIER_RECORDS,
     "the measures of the earlier run L cannot be read (TypeError)."),
    ("no records CSV", '{"figures": []}', None,
     "the earlier run L has no measures (made before cldetl computed them)."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("measures", "records", "note"), [pytest.param(*c[1:], id=c[0]) for c in UNREAD_CASES]
)
def test_an_earlier_run_that_cannot_be_compared_with_is_said(tmp_path, measures, records, note):
    """run_files.against_last_quarter when there is nothing to compare with: the note says why,
    with no movements, and names the earlier run when there is one."""
    from cldetl.national.run_files import LastQuarter, NationalRun, against_last_quarter

    run = NationalRun(_hand_preview(B_PERIOD, B_FATES, B_QUALITY), [], False, {})
    folder = None
    if measures is not None:
        folder = tmp_path / "june"
        folder.mkdir()
        (folder / "national_measures.json").write_text(measures, encoding="utf-8")
        if records is not None:
            (folder / "national_measures_records.csv").write_text(records, encoding="utf-8")
    got = against_last_quarter(run, folder, "L", 15.0)
    assert got == LastQuarter(NO_EARLIER + note, 15.0, None, None if folder is None else "L")
    assert got.as_dict() == {"note": NO_EARLIER + note, "threshold_percent": 15.0,
                             "previous_run": got.run}  # fmt: skip


def test_a_national_runs_files_hold_the_preview_fates_measures_and_records(monkeypatch):
    """NationalRun.files: the preview JSON and fates CSV of its preview; the measures JSON with
    the run's own keys after the measures' (over the stated period, the population and last
    quarter when given), indented by 2 and ending in a newline; the records CSV. The CSVs end
    their lines in \\n whatever the platform's line separator."""
    import json
    import os

    from cldetl.national.population import PopulationFigures
    from cldetl.national.run_files import LastQuarter, NationalRun

    monkeypatch.setattr(os, "linesep", "\r\n")
    fields = [f[1] for f in national_method()["data_quality"]["fields"]]
    pairs = pd.DataFrame({f: [41, 41] for f in fields}, dtype=np.uint8)
    p = _hand_preview(B_PERIOD, B_FATES, B_QUALITY, dq_pairs=pairs)
    population = PopulationFigures({"18 to 64": 200_000}, "ONS", "the mapping")
    last = LastQuarter("Compared.", 20.0, [], "2025-06-30/run-1")
    run = NationalRun(p, [], True, {"ASCOF 1A": "not yet"}, population, last)
    files = run.files()
    assert list(files) == ["national_preview.json", "national_fates.csv",
                           "national_measures.json", "national_measures_records.csv"]  # fmt: skip
    assert files["national_preview.json"] == json.dumps(p.to_json_dict(), indent=2) + "\n"
    assert files["national_fates.csv"].split("\n")[1].startswith("2,E2,kept,0,2,1,")
    assert "\r" not in files["national_fates.csv"] + p.quality_csv()
    measures = files["national_measures.json"]
    assert measures == json.dumps(json.loads(measures), indent=2) + "\n"
    assert json.loads(measures) == {
        "figures": [],
        "not_computable": {"ASCOF 1A": "not yet"},
        "against_previous": [],
        "over_the_stated_period": True,
        "population": {"source": "ONS", "given_in": "the mapping",
                       "by_age_band": {"18 to 64": 200_000}},
        "last_quarter": {"note": "Compared.", "threshold_percent": 20.0,
                         "previous_run": "2025-06-30/run-1"},
    }  # fmt: skip
    assert files["national_measures_records.csv"] == (
        "measure,group,line,event_reference,la_person,counted,reason\n"
    )
    # Neither a population nor a comparison: only whether the period is the stated one.
    bare = NationalRun(p, [], False, {}).files()["national_measures.json"]
    assert json.loads(bare) == {"figures": [], "not_computable": {},
                                "over_the_stated_period": False}  # fmt: skip


def test_a_national_run_makes_its_rates_from_the_population_it_is_given(tmp_path):
    """run_files.national_run / national_run_of with a population: the ASCOF 2B and 2C figures
    take its bands as their denominators (a rate per 100,000; none of the file's two rows is
    an admission, so the rate is 0.0) and the run keeps it for its files; without one, no
    denominator and no rate."""
    from cldetl.national.population import PopulationFigures
    from cldetl.national.run_files import national_run
    from cldetl.validate import validate
    from cldetl.validate.csvfile import read_cld_csv

    table = read_cld_csv(write_cld_rows(tmp_path / "cld.csv", [cld_row(), cld_row()]))
    population = PopulationFigures({"18 to 64": 200_000, "65 and above": 50_000}, "ONS", "x")
    rated = national_run(table, validate(table), population)
    assert rated.population is population
    by = {(f.measure, f.group): f for f in rated.figures}
    assert [(by[k].denominator, by[k].value) for k in (("ASCOF 2B", "18 to 64"),
            ("ASCOF 2C", "65 and above"))] == [(200_000, 0.0), (50_000, 0.0)]  # fmt: skip
    plain = national_run(table, validate(table))
    assert plain.population is None
    assert {(f.denominator, f.value) for f in plain.figures if f.measure == "ASCOF 2C"} == {
        (None, None)
    }


def test_the_file_is_previewed_again_only_when_dhsc_derives_no_period(tmp_path, monkeypatch):
    """run_files.national_run_of: a preview with a reference period (here given) is measured
    as it is; one with none (no period derived, none given) is previewed again over the
    period the file states (stated_when_underived) and the run says so."""
    import cldetl.national.run_files as run_files
    from cldetl.national.preview import preview as real_preview
    from cldetl.national.preview import validate_and_preview

    path = write_cld_rows(tmp_path / "cld.csv", [cld_row()])
    report, given = validate_and_preview(path, reference=PERIOD)
    report, underived = validate_and_preview(path)
    assert (given.reference_period, underived.reference_period) == (PERIOD, None)
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return real_preview(*args, **kwargs)

    monkeypatch.setattr(run_files, "preview", counted)
    assert run_files.national_run_of(given, path, report).stated is False
    assert calls == []
    assert run_files.national_run_of(underived, path, report).stated is True
    assert calls == [{"stated_when_underived": True}]


# --- dev-H: measures/__init__.py, output.py survivors (mutmut run of 7 December 2026 afternoon) ---
# read_population (measures/__init__.py): the ONS figures by age band from a CSV. Each refusal
# is an InputError naming the file, the line (the header is line 1) and what to fix; a value
# is shown cut at 40 characters (display.shown), the bands named are the spec's
# (population_age_bands: '18 to 64', '65 and above').

BANDS_NAMED = "give one row for each of '18 to 64', '65 and above'."
POPULATION_REFUSALS = [
    # (CSV text, the message after "<path>: ")
    ("band,people\n18 to 64,1\n",
     "the population file needs the columns age_band,population (e.g. '18 to 64,250000')."),
    ("age_band,population\n18 to 64,200000\n",
     f"no row for the age band '65 and above'; {BANDS_NAMED}"),
    # An empty cell is shown as nothing (two spaces), not as a made-up value.
    ("age_band,population\n18 to 64,\n65 and above,50000\n",
     "line 2, column population:  is not a whole number of people; write it without decimals."),
    # No one: 0 is refused (a rate over no population has no meaning); 1 is a number of people.
    ("age_band,population\n18 to 64,1\n65 and above,0\n",
     "line 3, column population: 0 is not a whole number of people; write it without decimals."),
    # 39 ones and '.5' are 41 characters: cut at 40 ('1' * 39 and the point), then the length.
    (f"age_band,population\n18 to 64,{'1' * 39}.5\n",
     f"line 2, column population: {'1' * 39}.... (41 characters) is not a whole number of "
     "people; write it without decimals."),
    ("age_band,population\n,200000\n",
     f"line 2, column age_band: not an age band of the measures: ; {BANDS_NAMED}"),
    (f"age_band,population\n{'B' * 41},200000\n",
     f"line 2, column age_band: not an age band of the measures: {'B' * 40}... (41 characters); "
     f"{BANDS_NAMED}"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), POPULATION_REFUSALS)
def test_a_bad_population_file_is_refused_with_the_whole_message(tmp_path, text, message):
    from cldetl.errors import InputError
    from cldetl.national.measures import read_population

    path = tmp_path / "pop.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_population(path)
    assert str(info.value) == f"{path}: {message}"


def test_a_population_file_saved_with_a_byte_order_mark_and_a_band_of_one_person_is_read(
    tmp_path,
):
    """Excel's 'CSV UTF-8' starts the file with a byte order mark: read as utf-8-sig, the
    first column is still 'age_band'. A band of 1 person is a whole number of people."""
    from cldetl.national.measures import read_population

    path = tmp_path / "pop.csv"
    path.write_bytes("\ufeffage_band,population\n18 to 64,1\n65 and above,50000\n".encode())
    assert read_population(path) == {"18 to 64": 1, "65 and above": 50_000}


# compare (measures/output.py): each figure against the same measure and group last quarter,
# by its value (a median) or, with no value, its numerator; the change in percent to one
# place, flagged only when MORE than the threshold, up or down (the report's comparison
# threshold). The figures carry no records here.
COMPARE_CASES = [
    # (why, (numerator, value) now, then or None, threshold, change, flagged)
    ("a quarter more, at exactly a threshold of 25%: not more than it", (5, None), (4, None),
     25.0, 25.0, False),
    ("a quarter less: the fall is what moved", (3, None), (4, None), 20.0, -25.0, True),
    ("a third more, to one place: 1 / 3 * 100 = 33.33... -> 33.3", (4, None), (3, None), 50.0,
     33.3, False),
    ("a median from 4.0 to 6.0 days is +50%; the numerators did not move", (10, 6.0),
     (10, 4.0), 20.0, 50.0, True),
    ("last quarter 0: no change to give", (3, None), (0, None), 20.0, None, False),
    ("no figure last quarter", (3, None), None, 20.0, None, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("now", "then", "threshold", "change", "flagged"),
    [c[1:] for c in COMPARE_CASES],
    ids=[c[0] for c in COMPARE_CASES],
)
def test_a_figure_is_flagged_when_it_moved_more_than_the_threshold(
    now, then, threshold, change, flagged
):
    from cldetl.national.measures.output import compare
    from cldetl.national.measures.result import Figure

    def figure(numerator, value):
        return Figure("ASCOF 2A", "Total", "t", numerator, None, value, "days (median)", "c")

    previous = [] if then is None else [figure(*then)]
    [moved] = compare([figure(*now)], previous, threshold)
    assert (moved.change_percent, moved.flagged) == (change, flagged)


def test_the_records_csv_names_the_measure_of_its_records_in_no_figure(monkeypatch):
    """records_csv: a figure's records under its measure and group, then the measure's records
    in no figure under the same measure, as the group 'in no figure' (the 2E figure of
    _a_2e_figure_with_lines_in_no_figure: lines 2-5 in the figure, 6-8 in none). Lines end in
    '\\n' on every platform: pandas would otherwise end them in os.linesep ('\\r\\n' on
    Windows), set so here. With no figure (no period derived), the header alone."""
    import os

    from cldetl.national.measures.output import records_csv

    monkeypatch.setattr(os, "linesep", "\r\n")
    assert records_csv([_a_2e_figure_with_lines_in_no_figure()]) == (
        "measure,group,line,event_reference,la_person,counted,reason\n"
        "ASCOF 2E,18 to 64,2,E2,P2,True,counted\n"
        "ASCOF 2E,18 to 64,3,E3,P3,False,under 18\n"
        "ASCOF 2E,18 to 64,4,E4,P4,False,under 18\n"
        "ASCOF 2E,18 to 64,5,E5,P5,False,under 18\n"
        "ASCOF 2E,in no figure,6,E6,P6,False,no band\n"
        "ASCOF 2E,in no figure,7,E7,P7,False,no quarter\n"
        "ASCOF 2E,in no figure,8,E8,P8,False,no quarter\n"
    )
    assert records_csv([]) == "measure,group,line,event_reference,la_person,counted,reason\n"


def test_the_measures_json_gives_each_figure_against_last_quarter_and_the_records_that_moved():
    """measures_json with movements: per figure its measure, group, last quarter's numerator
    and value, the change and flag, and the records counted in one quarter only by Event
    Reference and LA person ID, sorted. 3D1a: lines 2-4 counted now (3 / 4 = 75.0%), lines
    4-5 last quarter (2 / 4 = 50.0%): (75 - 50) / 50 = +50.0%, over 20%; lines 2 (E9) and 3
    (E1) counted now only, listed E1 first; line 5 (E5) then only. 2A had no figure last
    quarter: None throughout, no record listed. Without movements, no 'against_previous';
    each figure's records listed only when asked (records=True)."""
    from cldetl.national.measures.output import compare, measures_json
    from cldetl.national.measures.result import Figure, records

    people = pd.DataFrame(
        {
            "event_reference": pd.array(["E9", "E1", "E4", "E5"], dtype="string"),
            "la_person": pd.array(["P2", "P3", "P4", "P5"], dtype="string"),
        },
        index=pd.Index([2, 3, 4, 5]),
    )

    def figure(measure, numerator, value, counted):
        behind = records(pd.DataFrame({"line": [2, 3, 4, 5]}), counted, ["r"] * 4)
        return Figure(measure, "Total", "t", numerator, 4, value, "%", "c", behind, people)

    now = [figure("ASCOF 3D1a", 3, 75.0, [1, 1, 1, 0]), figure("ASCOF 2A", 1, 25.0, [1, 0, 0, 0])]
    then = [figure("ASCOF 3D1a", 2, 50.0, [0, 0, 1, 1])]
    got = measures_json(now, {"ASCOF 2D": "Not computed"}, compare(now, then, 20.0))
    assert got["not_computable"] == {"ASCOF 2D": "Not computed"}
    assert got["figures"] == [f.as_dict() for f in now]
    assert got["against_previous"] == [
        {"measure": "ASCOF 3D1a", "group": "Total", "previous_numerator": 2,
         "previous_value": 50.0, "change_percent": 50.0, "flagged": True,
         "counted_now_not_before": [{"event_reference": "E1", "la_person": "P3"},
                                    {"event_reference": "E9", "la_person": "P2"}],
         "counted_before_not_now": [{"event_reference": "E5", "la_person": "P5"}]},
        {"measure": "ASCOF 2A", "group": "Total", "previous_numerator": None,
         "previous_value": None, "change_percent": None, "flagged": False,
         "counted_now_not_before": [], "counted_before_not_now": []},
    ]  # fmt: skip
    alone = measures_json(now[:1], {}, None, records=True)
    assert "against_previous" not in alone
    assert [r["line"] for r in alone["figures"][0]["records"]] == [2, 3, 4, 5]


def _details_of(persons: list[str | None], births: list[str] | None = None) -> pd.DataFrame:
    """with_person_details over unique events of these persons (their birth dates when given;
    no other date, reason or status known)."""
    from cldetl.national.measures import with_person_details

    n = len(persons)
    no_date = pd.to_datetime([None] * n)
    unknown = pd.Series([None] * n, dtype="category")
    return with_person_details(
        pd.DataFrame(
            {
                "person": pd.Series(persons, dtype=object),
                "Event Start Date": no_date,
                "der_end": no_date,
                "birth": no_date if births is None else pd.to_datetime(births),
                "died": no_date,
                "Primary Support Reason": unknown,
                "Accommodation Status": unknown,
            }
        )
    )


def test_the_person_details_number_each_person_and_of_no_unique_event_are_an_empty_table():
    """with_person_details gives DETAIL_COLUMNS on every row, the person as a number in order
    of first appearance (P9, P1, P9: 0, 1, 0; the measures group and match on it). Over no
    rows (no unique event): the same columns, no row; nothing of it is 'missing' to mask."""
    from cldetl.national.measures import DETAIL_COLUMNS

    got = _details_of(["P9", "P1", "P9"])
    assert list(got.columns) == list(DETAIL_COLUMNS)
    assert got["person"].tolist() == [0, 1, 0]
    none = _details_of([])
    assert (list(none.columns), len(none)) == (list(DETAIL_COLUMNS), 0)


# --- integrator: with_person_details on a row with no person (7 December 2026, evening) ---
@pytest.mark.parametrize(
    ("persons", "numbers", "blank"),
    [
        (["P1", "P2", None], [0, 1, -1], [False, False, True]),
        ([None, None, None], [-1, -1, -1], [True, True, True]),
    ],
    ids=["two persons and none", "no person at all"],
)
def test_a_row_with_no_person_takes_no_persons_details(persons, numbers, blank):
    # Found by dev-H: pd.factorize numbers a missing person -1, and found[-1] / take[-1] are
    # the last person's, so a row with no person took P2's birth date. No measure passes such
    # a row today (a row with no person is never a unique event), but the function's rows are
    # any preview rows: the row is -1 and its details blank. With no person at all, there
    # were no details to index (an IndexError).
    got = _details_of(persons, ["1970-01-01", "1980-06-01", "1990-01-01"])
    assert got["person"].tolist() == numbers
    assert got["person_birth"].isna().tolist() == blank
