"""DHSC's provisional waiting times on a small population worked out by hand from
Waiting_times/waiting_times_method.sql v1.1 (commit 9bee728; line numbers of that file), over
the reference period 01/10/2024 - 30/09/2025. Every person has only an LA person ID.

Stage 1 (lines 12-125), requests left out:
  W05 born 2003: 22 at the request's start, under 25                          (1.3b, line 78)
  W06 long term community service 01/09/2024-15/10/2024, request 10/07/2025: it ends on or
      after 10/07/2024 (12 months back, DATEADD MONTH)                       (1.3c, lines 91-96)
  W08 ST-Max 01/03/2025-02/04/2025, request 02/07/2025: ends on 02/04/2025, 3 months back
                                                                              (1.3c, 98-101)
  W09 request ended 'NFA: Information and advice or signposting'; W10 'Admitted to hospital'
      (Event_Outcome_Grouped 'NFA' / 'Admitted to hospital', lines 108-110, 125)
  W18 an unpaid carer's request                                               (1.3a, line 62)
  Not left out: W07 ST-Max 01/03/2025-01/04/2025 (one day before the 3 months) and an ongoing
  low level service ending the day before the request (not in either list).

Stages 2-4, requests from 1 July 2025 (no conversation flag), in each person's order (start,
then request < assessment < service on one day, lines 142-152):
  W01 1980  request 01/07, long term assessment 01/07 (same day: after the request, progress),
            community service 11/07 open               part 1: 0 days; part 2: 10 days, 25-64
  W02 1980  request 02/07, short term assessment 09/07 (NFA: Other) and ST-Max 09/07 (same
            day: the assessment comes first)          part 1: 7 days (the assessment); part 2:
            its block does not progress to a service, no service (stage 3.3, lines 437-448)
  W03 1950  request 03/07, no assessment, other short term 13/07
                                                      part 1: the service (3.2): 10; part 2: 10
  W04 1950  request 04/07, assessments 08/07 (progress) and 16/07 (NFA: Other), one block,
            community 20/07                           part 1: 4; part 2: 16 (block progresses)
  W07 1950  request 02/07, long term assessment 02/07 (progress); no service after
                                                      part 1: 0; part 2: no service
  W15 born 15/08/1960: 64 at the request 08/07 (so in), assessment 08/07-10/08/2025: the band
            is the age at the event's end from 01/08/1960 (GetDerivedFields e6f5749, lines
            433-445): 65, '65 and above'              part 1: 0 (65+); part 2: no service
  W16 1950  requests 01/08 and 05/08, assessment 10/08 (progress), community 20/08: the second
            request's response (order 3) is no later than the first's (3), and the first's
            follow-up (4) comes after it (2): left out (3.4, lines 451-488)
                                                      first: part 1: 9; part 2: 19
  W20 1950  request 01/08 (1), assessment 03/08 (2, progress), request 06/08 (3), assessment
            08/08 (4, NFA: Other), community 15/08 (5): the first is answered on 03/08 and
            served on 15/08 (its block progresses); the second's response (4) is later than
            the first's (2) and it has no service (its block does not progress), but the
            first's follow-up GREATEST(2, 5) = 5 comes after it (LAG, lines 457-460): left out
                                                      first: part 1: 2; part 2: 14
  W21 1950  requests 01/09 (1), 04/09 (3), 08/09 (5); assessments 02/09 (2, progress) and 05/09
            (4, NFA: Other); community 10/09 (6): the first is answered on 02/09 and served on
            10/09; the second is left out by the first's follow-up (6 > 3, LAG); the third's
            first response is the service (6, after every earlier response) and the previous
            request's follow-up (4, no service: 3.3) ends before it, but its service (6) is
            no later than the first's (running MAX of services, lines 463, 479-487): left out
                                                      first: part 1: 1; part 2: 9

Requests before 1 July 2025 (stage 3.1, lines 377-406: with DHSC's conversation flag 1 the
request is its own first response):
  W11 1950  request 04/11/2024, no assessment, ST-Max 04/11/2024: flag 0 the service, flag 1
            the request, both 0 days, Oct-Dec 65+      counted: part 1: 0; part 2: 0
  W12 1950  request 05/11, assessment 12/11 (progress), community 25/11: part 1 is 7 days with
            flag 0 and 0 with flag 1: left out; part 2 is 20 days both ways: counted
  W13 1950  request 06/11, assessment 10/11 (NFA: Other), ST-Max 15/11: part 1 4 or 0; part 2
            none (3.3) or 9: left out of both
  W14 1950  request 07/11 with its assessment 07/11 (same day: no override possible, line 393),
            community 18/11                            part 1: 0; part 2: 11
  W19 1950  request 08/11 with its assessment 08/11 (NFA: Other; same day, no override), ST-Max
            12/11                                      part 1: 0; part 2: none (3.3)
  W17 1950  request 10/06/2025, assessment 20/06 (progress), request 02/07/2025, community
            05/07: the first: part 1 10 or 0: left out; part 2 25 both ways: counted. The
            second: the first's follow-up (GREATEST(2 or 1, 4) = 4) comes after it (3) either
            way: left out (3.4)
  W22 1950  request 10/06/2025 (1), assessment 12/06 (2, NFA: Other), request 02/07/2025 (3),
            community 10/07 (4). The first: with flag 0 answered on 12/06 with no service
            (3.3), with flag 1 by itself and served on 10/07: left out of both. The second is
            its own (R2) but the first's follow-up is 2 with flag 0 (before it: kept, 8 days)
            and 4 with flag 1 (after it: left out by LAG): left out, naming the earlier request
  W23 1950  request 10/06/2025 (1), request 02/07/2025 (2), assessment 05/07 (3), no service.
            The first: answered on 05/07 or by itself (left out of part 1), no service either
            way. The second: with flag 0 the first's response (3) comes after it (left out),
            with flag 1 the first ends at itself (kept, 3 days): left out, naming the earlier

Medians (stage 4.2, PERCENTILE_CONT(0.5), lines 546, 569), by the quarter and band of the
response or service:
  first response Oct-Dec 2024, 65+: W11 0, W14 0, W19 0          -> 3, 0.0
  first response Jul-Sep 2025, 25-64: W01 0, W02 7               -> 2, 3.5 (interpolated)
  first response Jul-Sep 2025, 65+: W03 10, W04 4, W07 0, W15 0, W16 9, W20 2, W21 1
                                                                 -> 7, 2.0
  first service Oct-Dec 2024, 65+: W11 0, W12 20, W14 11         -> 3, 11.0
  first service Jul-Sep 2025, 25-64: W01 10                      -> 1, 10.0
  first service Jul-Sep 2025, 65+: W03 10, W04 16, W16 19, W17 25, W20 14, W21 9
                                                                 -> 6, 15.0 (interpolated)
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cldetl.national import preview
from cldetl.national.measures import measures, measures_method
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import ASSESSMENT, REQUEST, UNPAID_CARER, row, write_rows

PERIOD = (date(2024, 10, 1), date(2025, 9, 30))
RESPONSE, SERVICE = "Wait time to first response", "Wait time to first service"
PROGRESS = "Progress to support planning or services"
COMMUNITY = {"Service Type": "Long term support: Community",
             "Service Component": "Home support or domiciliary care"}  # fmt: skip
ST_MAX = {"Service Type": "Short term support: ST-Max", "Service Component": "Reablement"}
OTHER_ST = {"Service Type": "Short term support: Other short term",
            "Service Component": "Other short term support"}  # fmt: skip
LOW_LEVEL = {"Service Type": "Short term support: Ongoing low level",
             "Service Component": "Equipment"}  # fmt: skip
ENDED = {"Event Outcome": "NFA: Support ended as planned"}


def event(n, kind, start, end="", born="14/03/1950", ref=None, **fields):
    """One event of person W<n>."""
    parts = {"request": [REQUEST], "long": [ASSESSMENT],
             "short": [ASSESSMENT, {"Assessment Type": "Short term assessment"}]}  # fmt: skip
    overrides = parts[kind] if isinstance(kind, str) else [kind]
    name = kind if isinstance(kind, str) else "service"
    return row(
        *overrides,
        **{
            "NHS Number": "",
            "LA Person Unique Identifier": f"W{n:02d}",
            "Date of Birth": born,
            "Event Start Date": start,
            "Event End Date": end,
            "Event Reference": ref or f"W{n:02d}-{name}-{start}",
            **fields,
        },
    )


def req(n, start, born="14/03/1950", **fields):
    return event(n, "request", start, start, born, ref=f"R{n:02d}-{start}", **fields)


Y80 = "14/03/1980"
POPULATION = [
    # Stage 1 exclusions.
    req(5, "05/07/2025", born="14/03/2003"),
    event(6, COMMUNITY, "01/09/2024", "15/10/2024", **ENDED), req(6, "10/07/2025"),
    event(8, ST_MAX, "01/03/2025", "02/04/2025", **ENDED), req(8, "02/07/2025"),
    req(9, "03/07/2025", **{"Event Outcome": "NFA: Information and advice or signposting"}),
    req(10, "03/07/2025", **{"Event Outcome": "Admitted to hospital"}),
    req(18, "03/07/2025", **UNPAID_CARER),
    # From 1 July 2025.
    req(1, "01/07/2025", born=Y80), event(1, "long", "01/07/2025", "10/07/2025", born=Y80),
    event(1, COMMUNITY, "11/07/2025", born=Y80),
    req(2, "02/07/2025", born=Y80),
    event(2, "short", "09/07/2025", "10/07/2025", born=Y80, **{"Event Outcome": "NFA: Other"}),
    event(2, ST_MAX, "09/07/2025", "20/07/2025", born=Y80, **ENDED),
    req(3, "03/07/2025"), event(3, OTHER_ST, "13/07/2025", "20/07/2025", **ENDED),
    req(4, "04/07/2025"), event(4, "long", "08/07/2025", "15/07/2025"),
    event(4, "short", "16/07/2025", "17/07/2025", **{"Event Outcome": "NFA: Other"}),
    event(4, COMMUNITY, "20/07/2025"),
    event(7, ST_MAX, "01/03/2025", "01/04/2025", **ENDED),
    event(7, LOW_LEVEL, "01/05/2025", "01/07/2025", **ENDED),
    req(7, "02/07/2025"), event(7, "long", "02/07/2025", "09/07/2025"),
    req(15, "08/07/2025", born="15/08/1960"),
    event(15, "long", "08/07/2025", "10/08/2025", born="15/08/1960"),
    req(16, "01/08/2025"), req(16, "05/08/2025"), event(16, "long", "10/08/2025", "12/08/2025"),
    event(16, COMMUNITY, "20/08/2025"),
    # Before 1 July 2025: DHSC's conversation flag.
    req(11, "04/11/2024", **{"Event Outcome": "Progress to reablement/ST-Max"}),
    event(11, ST_MAX, "04/11/2024", "20/11/2024", **ENDED),
    req(12, "05/11/2024"), event(12, "long", "12/11/2024", "20/11/2024"),
    event(12, COMMUNITY, "25/11/2024"),
    req(13, "06/11/2024"),
    event(13, "short", "10/11/2024", "12/11/2024", **{"Event Outcome": "NFA: Other"}),
    event(13, ST_MAX, "15/11/2024", "30/11/2024", **ENDED),
    req(14, "07/11/2024"), event(14, "long", "07/11/2024", "15/11/2024"),
    event(14, COMMUNITY, "18/11/2024"),
    req(17, "10/06/2025"), event(17, "long", "20/06/2025", "25/06/2025"),
    req(17, "02/07/2025"), event(17, COMMUNITY, "05/07/2025"),
    req(19, "08/11/2024"),
    event(19, "short", "08/11/2024", "09/11/2024", **{"Event Outcome": "NFA: Other"}),
    event(19, ST_MAX, "12/11/2024", "20/11/2024", **ENDED),
    req(20, "01/08/2025"), event(20, "long", "03/08/2025", "05/08/2025"),
    req(20, "06/08/2025"),
    event(20, "short", "08/08/2025", "09/08/2025", **{"Event Outcome": "NFA: Other"}),
    event(20, COMMUNITY, "15/08/2025"),
    req(21, "01/09/2025"), event(21, "long", "02/09/2025", "03/09/2025"),
    req(21, "04/09/2025"),
    event(21, "short", "05/09/2025", "06/09/2025", **{"Event Outcome": "NFA: Other"}),
    req(21, "08/09/2025"), event(21, COMMUNITY, "10/09/2025"),
    req(22, "10/06/2025"),
    event(22, "short", "12/06/2025", "13/06/2025", **{"Event Outcome": "NFA: Other"}),
    req(22, "02/07/2025"), event(22, COMMUNITY, "10/07/2025"),
    req(23, "10/06/2025"), req(23, "02/07/2025"), event(23, "long", "05/07/2025", "08/07/2025"),
]  # fmt: skip


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    path = write_rows(tmp_path_factory.mktemp("wt") / "cld.csv", [dict(r) for r in POPULATION])
    table = read_cld_csv(path)
    p = preview(table, validate(table), reference=PERIOD)
    return {(f.measure, f.group): f for f in measures(p) if f.measure.startswith("Wait")}


@pytest.mark.parametrize(
    "measure, group, numerator, median",
    [
        (RESPONSE, "Oct-Dec 2024, 65 and above", 3, 0.0),
        (RESPONSE, "Jul-Sep 2025, 25 to 64", 2, 3.5),
        (RESPONSE, "Jul-Sep 2025, 65 and above", 7, 2.0),
        (SERVICE, "Oct-Dec 2024, 65 and above", 3, 11.0),
        (SERVICE, "Jul-Sep 2025, 25 to 64", 1, 10.0),
        (SERVICE, "Jul-Sep 2025, 65 and above", 6, 15.0),
    ],
)
def test_medians_by_quarter_and_band_worked_by_hand(figures, measure, group, numerator, median):
    f = figures[(measure, group)]
    assert (f.numerator, f.value, f.denominator, f.unit) == (
        numerator, median, None, "days (median)")  # fmt: skip


def test_no_other_figures(figures):
    assert len(figures) == 6


STAGE = {
    "1.3a": "not a service user's request (stage 1.3a)",
    "1.3b": "under 25 or no birth date at the request's start (stage 1.3b)",
    "1.3c": "existing client: a service ending shortly before the request, later or open "
    "(stage 1.3c)",
    "1.4": "request ended with no further action or in hospital (stage 1.4)",
    "3.3": "the assessments answering the request did not progress to a service (stage 3.3)",
    "3.4": "starts before the follow-up of an earlier request ends (stage 3.4)",
    "flag": "depends on DHSC's conversation flag (request before 1 July 2025)",
    "none": "no service after the request",
    "earlier": "depends on DHSC's conversation flag for an earlier request before 1 July 2025 "
    "(stage 3.4)",
}


@pytest.mark.parametrize(
    "request_ref, response, service",
    [
        ("R05-05/07/2025", "1.3b", "1.3b"),
        ("R06-10/07/2025", "1.3c", "1.3c"),
        ("R08-02/07/2025", "1.3c", "1.3c"),
        ("R09-03/07/2025", "1.4", "1.4"),
        ("R10-03/07/2025", "1.4", "1.4"),
        ("R18-03/07/2025", "1.3a", "1.3a"),
        ("R07-02/07/2025", 0, "none"),
        ("R02-02/07/2025", 7, "3.3"),
        ("R03-03/07/2025", 10, 10),
        ("R04-04/07/2025", 4, 16),
        ("R15-08/07/2025", 0, "none"),
        ("R16-01/08/2025", 9, 19),
        ("R16-05/08/2025", "3.4", "3.4"),
        ("R11-04/11/2024", 0, 0),
        ("R12-05/11/2024", "flag", 20),
        ("R13-06/11/2024", "flag", "flag"),
        ("R14-07/11/2024", 0, 11),
        ("R17-10/06/2025", "flag", 25),
        ("R17-02/07/2025", "3.4", "3.4"),
        ("R19-08/11/2024", 0, "3.3"),
        ("R20-01/08/2025", 2, 14),
        ("R20-06/08/2025", "3.4", "3.4"),
        ("R21-01/09/2025", 1, 9),
        ("R21-04/09/2025", "3.4", "3.4"),
        ("R21-08/09/2025", "3.4", "3.4"),
        ("R22-10/06/2025", "flag", "flag"),
        ("R22-02/07/2025", "earlier", "earlier"),
        ("R23-10/06/2025", "flag", "none"),
        ("R23-02/07/2025", "earlier", "earlier"),
    ],
)
def test_each_request_counted_or_why_not(figures, request_ref, response, service):
    """Every request is behind exactly one figure of its part (the one of its response's
    quarter and band) or in the part's records in no figure: counted with its days, or the
    stage that left it out."""
    for measure, expected in ((RESPONSE, response), (SERVICE, service)):
        mine = [f for (m, _), f in figures.items() if m == measure]
        tables = [f.records for f in mine] + [
            f.unplaced_records for f in mine if f.unplaced is not None
        ]
        found = [t.set_index("event_reference").loc[[request_ref]] for t in tables
                 if (t["event_reference"] == request_ref).any()]  # fmt: skip
        assert len(found) == 1 and len(found[0]) == 1, measure
        r = found[0].iloc[0]
        if isinstance(expected, int):
            assert r["days"] == expected, measure
            assert r["reason"] == "counted" and r["counted"], measure
        else:
            assert r["reason"] == STAGE[expected], measure
            assert r["days"] is None or str(r["days"]) == "<NA>"


def test_each_part_lists_its_requests_in_no_figure_once(figures):
    """A part's records in no figure are on its first figure only, none of them counted, and
    with its figures' records they hold each request of the file once."""
    for measure in (RESPONSE, SERVICE):
        mine = [f for (m, _), f in figures.items() if m == measure]
        assert mine[0].unplaced is not None
        assert all(f.unplaced is None for f in mine[1:])
        assert not mine[0].unplaced["counted"].any()
        lines = pd.concat([f.behind["line"] for f in mine] + [mine[0].unplaced["line"]])
        assert lines.is_unique
        assert len(lines) == sum(r["Event Type"] == "Request" for r in POPULATION)
        for f in mine:
            assert f.behind["counted"].sum() == f.numerator


def test_waiting_times_lists_are_spec_data():
    m = measures_method()["waiting_times"]
    assert m["min_age"] == 25 and m["conversation_before"] == date(2025, 7, 1)
    assert [r["months"] for r in m["existing_client"]] == [12, 3]
    assert "Waiting times" not in measures_method()["not_yet"]


def test_measures_command_prints_the_waiting_times(tmp_path):
    """`cldetl measures` on the example return prints both parts with counts and medians, and
    the records CSV carries the days waited."""
    from click.testing import CliRunner

    from cldetl.cli import cli

    out = tmp_path / "records.csv"
    result = CliRunner().invoke(
        cli, ["measures", "examples/sample/cld_sample_2025q3.csv", "--records-csv", str(out)]
    )
    assert result.exit_code == 0, result.output
    # The sample's requests worked by hand: line 2 (14/11/2024) is answered by its same-day
    # assessment (0 days) and served on 20/01/2025 (67 days); line 25 (03/03/2025, no
    # assessment) is served the next day either way (1 day), but its first response is the
    # service or itself depending on the conversation flag; so is line 23's (05/06/2025).
    assert (
        "Wait time to first response (Oct-Dec 2024, 65 and above): 1 counted, "
        "0.0 days (median)" in result.output
    )
    assert "left out, depending on DHSC's conversation flag: 2" in result.output
    assert (
        "Wait time to first service (Jan-Mar 2025, 65 and above): 2 counted, "
        "34.0 days (median)" in result.output
    )
    header = out.read_text().splitlines()[0]
    assert header == "measure,group,line,event_reference,la_person,counted,reason,days"
    # Each request once per waiting-times measure: in its figure, or once 'in no figure'.
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    for measure in (RESPONSE, SERVICE):
        mine = table[table["measure"] == measure]
        assert mine["line"].is_unique and (mine["group"] == "in no figure").any()
        assert (mine.loc[mine["group"] == "in no figure", "counted"] == "False").all()


def test_a_file_whose_every_request_is_counted(tmp_path):
    """W01 alone: its one request counted in both parts (every group key is a counted one)."""
    rows = [dict(r) for r in POPULATION if r["LA Person Unique Identifier"] == "W01"]
    table = read_cld_csv(write_rows(tmp_path / "cld.csv", rows))
    p = preview(table, validate(table), reference=PERIOD)
    got = {(f.measure, f.group): (f.numerator, f.value) for f in measures(p)
           if f.measure.startswith("Wait")}  # fmt: skip
    assert got == {
        (RESPONSE, "Jul-Sep 2025, 25 to 64"): (1, 0.0),
        (SERVICE, "Jul-Sep 2025, 25 to 64"): (1, 10.0),
    }


def test_a_file_with_no_request_says_none_was_counted(tmp_path):
    rows = [dict(r) for r in POPULATION if r["Event Type"] != "Request"]
    table = read_cld_csv(write_rows(tmp_path / "cld.csv", rows))
    p = preview(table, validate(table), reference=PERIOD)
    got = [(f.measure, f.group, f.numerator, f.value) for f in measures(p)
           if f.measure.startswith("Wait")]  # fmt: skip
    assert got == [(RESPONSE, "no request counted", 0, None),
                   (SERVICE, "no request counted", 0, None)]  # fmt: skip
