"""DHSC's provisional waiting times: request to first assessment or service, request to service.

Follows Waiting_times/waiting_times_method.sql, version 1.1 (commit 9bee728; line numbers of
that file; every list in cldetl/spec/national_measures.yaml, `waiting_times`), stage by stage.
Stages 1 and 2 are here; stage 3 (the conversation flag, services as first response, overlaps)
is in waiting_times_follow_up.py; stage 4 (medians by quarter and age band) is `_figures`.

The SQL runs on DHSC's joined submissions; the preview has one file, so `ImportDate desc` can
never break a tie, and `Der_Unique_Record_ID desc` (the row number DHSC gives each record in
file order) becomes the later line of the file first, as the preview's deduplication reads it.
The ages are DHSC's derived fields: Der_Age_Event_Start_Date, FLOOR(days from the birth date
to the event's start / 365.25) (the formula of the ASCOF measures, `whole_years`), and
Der_Working_Age_Band from the age at the event's end (GetDerivedFields, e6f5749, lines 400-445).
Both are per record, so each row's own Date of Birth is used, as the derived fields are.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from cldetl.national.choose import first_that_holds
from cldetl.national.measures.persons import whole_years
from cldetl.national.measures.result import Figure, records
from cldetl.national.measures.waiting_times_follow_up import Outcomes, follow_up

# The columns of the unique events (with the person details) this measure reads:
# measures() opens only these for it.
READS = (
    "line",
    "person",
    "event_type",
    "Event Start Date",
    "der_end",
    "Client Type",
    "birth",
    "Assessment Type",
    "Service Type",
    "Event Outcome",
)

CONVERSATION = "depends on DHSC's conversation flag (request before 1 July 2025)"


def waiting_times(events: pd.DataFrame, year: tuple[date, date], method: dict) -> list[Figure]:
    """The figures of both parts, per quarter and age band, each with the requests of its
    quarter and band (counted or why not, and the days waited where counted); the requests in
    no figure are on each part's first figure once (`Figure.unplaced`)."""
    m = method["waiting_times"]
    requests = events[events["event_type"].eq("Request").to_numpy()]
    reason = _request_stages(events, requests, m)
    linked = link_requests(events, year[1], m, reason)
    outcomes = follow_up(linked, m)
    return _figures(requests, reason, linked, outcomes, m)


def age_band(events: pd.DataFrame, reference_end: date, m: dict) -> np.ndarray:
    """Der_Working_Age_Band (GetDerivedFields lines 420-426) of Der_Latest_Age (lines 433-445):
    the age, born on the first of the birth month, at the event's end, or for an open service
    at the reference period's end; renamed '25 to 64' as the waiting times do (lines 72-75)."""
    born = events["birth"]
    month_start = born - pd.to_timedelta(born.dt.day - 1, unit="D")
    at = events["der_end"].mask(
        events["der_end"].isna() & events["event_type"].eq("Service"),
        pd.Timestamp(reference_end),
    )
    age = whole_years(month_start, at)
    conditions, labels = [], []
    for band in m["working_age_bands"]:
        inside = pd.Series(True, index=events.index)
        if band["min"] is not None:
            inside &= (age >= band["min"]).fillna(False)
        if band["max"] is not None:
            inside &= (age <= band["max"]).fillna(False)
        conditions.append(inside.to_numpy() & age.notna().to_numpy())
        labels.append(m["band_renamed"].get(band["label"], band["label"]))
    return first_that_holds(conditions, labels, default=m["unknown_band"])


def _request_stages(events: pd.DataFrame, requests: pd.DataFrame, m: dict) -> np.ndarray:
    """Stage 1.3-1.4 for every request: '' when it passes, else the stage that left it out.

    1.3a (lines 55-63): a service user's request starting on or after 1 April 2023. 1.3b (65-78):
    Der_Age_Event_Start_Date >= 25 (no birth date: no age, NULL >= 25 is unknown). 1.3c: no
    existing client (`_existing_clients`). 1.4 (107-125): Event_Outcome_Grouped NOT IN ('NFA',
    'Admitted to hospital'); DHSC's grouping is not public, and is derived as the SQL's comment
    describes it (lines 108-110): 'NFA' for every NFA outcome, 'Admitted to hospital' for that
    outcome; a blank outcome has no group (GetDerivedFields joins on the raw value), and NOT IN
    is unknown for it, so that request is left out too. 1.4's own request order is not used
    after stage 2.1, which orders every event again."""
    start = requests["Event Start Date"]
    age = whole_years(requests["birth"], start)
    # Only the columns stage 1.3c reads, of the listed services (not a copy of every field).
    services = events.loc[events["event_type"].eq("Service").to_numpy()
                          & events["Service Type"].isin(m["service_types"]).to_numpy(),
                          ["person", "Service Type", "Event Start Date", "der_end"]]  # fmt: skip
    existing = _existing_clients(requests, services, m)
    outcome = requests["Event Outcome"].astype("string")
    excluded_group = outcome.str.startswith(m["nfa_prefix"]) | outcome.isin(m["excluded_outcomes"])
    return first_that_holds(
        [
            ~requests["Client Type"].eq(m["client_type"]).to_numpy(),
            ~(start >= pd.Timestamp(m["requests_from"])).to_numpy(),
            ~(age >= m["min_age"]).fillna(False).to_numpy(),
            existing,
            outcome.isna().to_numpy(),
            excluded_group.fillna(False).to_numpy(),
        ],
        [
            "not a service user's request (stage 1.3a)",
            f"request started before {m['requests_from']:%d/%m/%Y} (stage 1.3a)",
            f"under {m['min_age']} or no birth date at the request's start (stage 1.3b)",
            "existing client: a service ending shortly before the request, later or open "
            "(stage 1.3c)",
            "no event outcome: the SQL's NOT IN is unknown for it (stage 1.4)",
            "request ended with no further action or in hospital (stage 1.4)",
        ],
        default="",
    )


def _existing_clients(requests: pd.DataFrame, services: pd.DataFrame, m: dict) -> np.ndarray:
    """Stage 1.3c (lines 80-105): the person has a service of a listed type that started before
    the request and ends on or after the request's start less the type's months, or is open."""
    out = np.zeros(len(requests), dtype=bool)
    r = pd.DataFrame(
        {
            "person": requests["person"].to_numpy(),
            "start": requests["Event Start Date"].to_numpy(),
            "at": np.arange(len(requests)),
        }
    )
    for rule in m["existing_client"]:
        s = services[services["Service Type"].isin(rule["service_types"]).to_numpy()]
        s = pd.DataFrame(
            {"person": s["person"].to_numpy(), "s_start": s["Event Start Date"].to_numpy(),
             "s_end": s["der_end"].to_numpy()}
        )  # fmt: skip
        pairs = r.merge(s, on="person")
        since = pairs["start"] - pd.DateOffset(months=rule["months"])
        hit = (pairs["s_start"] < pairs["start"]) & (
            pairs["s_end"].isna() | (pairs["s_end"] >= since)
        )
        out[pairs.loc[hit, "at"].to_numpy()] = True
    return out


def link_requests(
    events: pd.DataFrame, reference_end: date, m: dict, reason: np.ndarray
) -> pd.DataFrame:
    """Stage 2: the valid requests with the first assessment and the first service after each.

    2.1 (lines 132-167): the valid requests and the listed assessments and services of people
    aged 25 or more at their start, in each person's order: start date, then request <
    assessment < service on the same day, then the later line first. 2.2 (181-205): people with
    no valid request are left out. 2.3 (207-299): whether a request indicates progress, and for
    each run of consecutive assessments whether any of them indicates progress to a service.
    2.4 (301-358): per request, the next assessment and the next service in that order."""
    kind = events["event_type"]  # compared as a category, on its codes
    request = kind.eq("Request").to_numpy()
    valid = np.zeros(len(events), dtype=bool)
    valid[request] = reason == ""
    answer = (
        (kind.eq("Assessment") & events["Assessment Type"].isin(m["assessment_types"]))
        | (kind.eq("Service") & events["Service Type"].isin(m["service_types"]))
    ).to_numpy(copy=True)
    # The age only of the listed assessments and services, not of every event.
    aged = whole_years(events["birth"][answer], events["Event Start Date"][answer])
    answer[answer] = (aged >= m["min_age"]).fillna(False).to_numpy()
    chosen = valid | answer
    u = events.loc[chosen, ["line", "person", "event_type", "Event Start Date", "der_end",
                            "birth", "Event Outcome"]]  # fmt: skip
    band = age_band(u, reference_end, m)
    priority = {k: i for i, k in enumerate(m["same_day_order"], start=1)}
    u = pd.DataFrame(
        {
            "line": u["line"].to_numpy(),
            "person": u["person"].to_numpy(),
            # Categories and plain objects: not turned into Arrow text (pandas would, row by row).
            "kind": u["event_type"].array,
            "start": u["Event Start Date"].to_numpy(),
            "band": pd.Series(band, dtype=object),
            "outcome": u["Event Outcome"].array,
        }
    )
    kinds = u["kind"].array  # a category: the priority looked up once per kind
    last = len(priority) + 1
    rank = np.array([priority.get(k, last) for k in kinds.categories] + [last])[kinds.codes]
    # ORDER BY start, same-day priority, ImportDate desc (one file: never a tie), then
    # Der_Unique_Record_ID desc: DHSC numbers records in file order, so the later line first.
    u = u.iloc[np.lexsort((-u["line"].to_numpy(), rank, u["start"].to_numpy(),
                           u["person"].to_numpy()))].reset_index(drop=True)  # fmt: skip
    is_request = u["kind"].eq("Request")
    u = u[is_request.groupby(u["person"]).transform("any")].reset_index(drop=True)  # 2.2
    is_request = u["kind"].eq("Request").to_numpy()
    is_assessment = u["kind"].eq("Assessment").to_numpy()
    is_service = u["kind"].eq("Service").to_numpy()
    u["order"] = u.groupby("person").cumcount().to_numpy() + 1.0
    # 2.3b (lines 257-299): a block is a run of assessments; the running count of other events
    # numbers it. Its flag: any assessment in it progresses to a service.
    progress = u["outcome"].isin(m["assessment_progress_to_service"]).astype(float)
    block = pd.Series(~is_assessment, dtype=int).groupby(u["person"]).cumsum()
    u["block"] = progress.where(is_assessment).groupby([u["person"], block]).transform("max")
    at = pd.Series(np.arange(len(u), dtype=float))
    next_assessment = at.where(is_assessment).groupby(u["person"]).bfill().to_numpy()
    next_service = at.where(is_service).groupby(u["person"]).bfill().to_numpy()
    r = u[is_request]
    out = pd.DataFrame(
        {
            "line": r["line"].to_numpy(),
            "person": r["person"].to_numpy(),
            "order": r["order"].to_numpy(),
            "start": r["start"].to_numpy(),
            "band": r["band"].to_numpy(),
            "progress": r["outcome"].isin(m["request_progress"]).to_numpy(),
        }
    )
    for prefix, found in (("asmt", next_assessment[is_request]), ("srv", next_service[is_request])):
        for column in ("order", "start", "band") + (("block",) if prefix == "asmt" else ()):
            out[f"{prefix}_{column}"] = _take(u[column], found)
    return out


def _take(column: pd.Series, at: np.ndarray) -> np.ndarray:
    """column[at], NULL (NaN, NaT or None) where `at` is NaN (no such event)."""
    values = column.to_numpy()
    found = ~np.isnan(at)
    picked = values[np.where(found, at, 0).astype(np.int64)] if len(values) else values[:0]
    if np.issubdtype(values.dtype, np.datetime64):
        return np.where(found, picked, np.datetime64("NaT"))
    if values.dtype == object:
        return np.where(found, picked, None)
    return np.where(found, picked.astype(float), np.nan)


def quarter_label(start: pd.Timestamp) -> str:
    """'Apr-Jun 2025': the calendar quarter DATEFROMPARTS(YEAR, (QUARTER - 1) * 3 + 1, 1)."""
    end = start + pd.offsets.MonthBegin(2)
    return f"{start:%b}-{end:%b} {start:%Y}"


def _figures(
    requests: pd.DataFrame,
    reason: np.ndarray,
    linked: pd.DataFrame,
    outcomes: dict[str, Outcomes],
    m: dict,
) -> list[Figure]:
    """Stage 4.2 (lines 534-582): per part, quarter and band, the number of waits and their
    median (PERCENTILE_CONT(0.5): the mean of the two middle waits when their number is even).
    Quarters before the dashboard's first are not shown (stage 6)."""
    at = pd.Series(np.arange(len(linked)), index=linked["line"].to_numpy())
    where = at.reindex(requests["line"].to_numpy()).to_numpy()
    figures = []
    for part in ("part1", "part2"):
        o = outcomes[part]
        why = reason.copy()
        days = np.full(len(requests), np.nan)
        group = np.full(len(requests), None, dtype=object)
        place = np.full(len(requests), None, dtype=object)
        inside = ~np.isnan(where)
        k = where[inside].astype(np.int64)
        quarter = pd.to_datetime(o.start[k]).to_period("Q").start_time
        shown = np.asarray(quarter >= pd.Timestamp(m["dashboard_from"]))
        counted = o.known[k] & ~o.excluded[k] & ~pd.isna(o.start[k]) & shown
        counted &= pd.Series(o.band[k]).isin(m["bands"]).to_numpy()
        # The quarter and band of the response (or service), where the request has one that a
        # figure could show, counted or not (flag 0's when the flag would change it).
        placed = ~pd.isna(o.start[k]) & shown & pd.Series(o.band[k]).isin(m["bands"]).to_numpy()
        keyed = pd.Series(quarter.strftime("%Y-%m-%d"), dtype=object).fillna("").to_numpy() + "|"
        keyed = keyed + pd.Series(o.band[k], dtype=object).fillna("").to_numpy()
        labels = np.where(counted, keyed, None)
        sub = first_that_holds(
            [
                ~o.known[k] & o.sensitive[k],
                ~o.known[k],
                o.excluded[k],
                pd.isna(o.start[k]),
                ~shown,
                ~counted,
            ],
            [
                CONVERSATION,
                "depends on DHSC's conversation flag for an earlier request before 1 July "
                "2025 (stage 3.4)",
                "starts before the follow-up of an earlier request ends (stage 3.4)",
                o.missing,
                f"quarter before the dashboard's first ({m['dashboard_from']:%d/%m/%Y})",
                "age band of the response unknown (stage 4.2)",
            ],
            default="",
        )
        why[inside] = sub
        days[inside] = np.where(counted, o.days[k], np.nan)
        group[inside] = labels
        place[inside] = np.where(placed, keyed, None)
        figures += _part_figures(requests, why, days, group, place, part, m)
    return figures


def _part_figures(requests, why, days, group, place, part, m) -> list[Figure]:
    """One figure per quarter and band of the part (in order), each with the requests whose
    response (or service) falls in its quarter and band: counted with the days waited, or
    why not. The requests in no figure (left out before they have a quarter and band a
    figure shows) are kept once, on the part's first figure (`unplaced`), with why: every
    request is in exactly one of them."""
    counted = pd.notna(group)
    # A group is 'quarter start|band': in quarter order, then the bands' order.
    split = {g: g.split("|") for g in set(group[counted])}
    keys = sorted(split, key=lambda g: (split[g][0], m["bands"].index(split[g][1])))
    names = {g: f"{quarter_label(pd.Timestamp(q))}, {b}" for g, (q, b) in split.items()}
    lines = pd.DataFrame({"line": requests["line"].to_numpy()})
    # Each request's figure (its index in `keys`), -1 for none; made once, not per figure.
    number = {g: i for i, g in enumerate(keys)}
    figure_of = np.array([number.get(g, -1) for g in place], dtype=np.int64)
    order = np.argsort(figure_of, kind="stable")
    bounds = np.searchsorted(figure_of[order], np.arange(-1, len(keys) + 1))

    def behind(at: np.ndarray) -> pd.DataFrame:
        mine = counted[at]
        out = records(lines.iloc[at], mine, np.where(mine, "counted", why[at]))
        out["days"] = pd.array(days[at], dtype="Float64").astype("Int64")
        return out

    out = []
    for i, key in enumerate(keys or [None]):
        at = order[bounds[i + 1] : bounds[i + 2]] if key else np.zeros(0, dtype=np.int64)
        waits = days[at][counted[at]]
        out.append(
            Figure(
                measure=m["measures"][part],
                group=names[key] if key else "no request counted",
                title=m["titles"][part],
                numerator=int(counted[at].sum()),
                denominator=None,
                value=float(np.median(waits)) if len(waits) else None,
                unit="days (median)",
                cite=m["cite"],
                behind=behind(at),
            )
        )
    out[0].unplaced = behind(order[bounds[0] : bounds[1]])
    return out
