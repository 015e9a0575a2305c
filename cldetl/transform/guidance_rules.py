"""The guidance's rules for event rows, each a function named for the CLD field it sets.

They run on the assembled rows, after person details, in the order `cldetl.transform.events`
calls them: death first (it can end a service), then what depends on end dates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Defaults
    from cldetl.spec.period import ReportingPeriod

CARER_TYPES = ("Unpaid carer", "Unpaid carer known by association")
CARER_PSR = "Social support: Support to unpaid carer"
OPEN_SERVICE_OUTCOME = "Continuation of support or services"
DECEASED = "NFA: Deceased"
EVENT_ONLY_FIELDS_OF_FINANCIAL = ("Event Outcome", "Method of Assessment")


def _is(rows: pd.DataFrame, field: str, *values: str) -> pd.Series:
    return rows[field].isin(values).fillna(False).astype(bool)


def event_end_date_at_death(rows: pd.DataFrame, enabled: bool) -> None:
    """Event End Date: 'When a person has died, the event end date should be the date of
    death' — a service still running at the death ends then, outcome 'NFA: Deceased'."""
    if not enabled:
        return
    died = rows["Date of Death"]
    service = _is(rows, "Event Type", "Service")
    ends = service & died.notna() & (died >= rows["Event Start Date"]).fillna(False)
    ends &= rows["Event End Date"].isna() | (rows["Event End Date"] > died).fillna(False)
    rows.loc[ends, "Event End Date"] = died[ends]
    rows.loc[ends, "Event Outcome"] = DECEASED


def event_end_date_open_services(rows: pd.DataFrame, period: ReportingPeriod) -> None:
    """Event End Date: services open at the period end have no end date, even when an end is
    already planned."""

    service = _is(rows, "Event Type", "Service")
    later = service & (rows["Event End Date"] > pd.Timestamp(period.end)).fillna(False)
    rows.loc[later, "Event End Date"] = pd.NaT


def event_outcome_open_services(rows: pd.DataFrame) -> None:
    """Event Outcome: 'Open and ongoing services should have the outcome Continuation of
    support or services'."""
    open_service = _is(rows, "Event Type", "Service") & rows["Event End Date"].isna()
    rows.loc[open_service, "Event Outcome"] = OPEN_SERVICE_OUTCOME


def financial_assessment_fields(rows: pd.DataFrame) -> None:
    """Event Outcome and Method of Assessment: 'Financial assessments are the only events that
    should not have an outcome recorded'; Annex A needs no method for them."""
    financial = _is(rows, "Event Type", "Assessment") & _is(
        rows, "Assessment Type", "Financial assessment"
    )
    for field in EVENT_ONLY_FIELDS_OF_FINANCIAL:
        rows.loc[financial, field] = ""


def unpaid_carer_defaults(rows: pd.DataFrame, defaults: Defaults) -> None:
    """Primary Support Reason, Route of Access, Review Reason and Client Funding Status for
    unpaid carers, as the guidance sets them."""
    carer = _is(rows, "Client Type", *CARER_TYPES)
    if defaults.unpaid_carer_psr:
        rows.loc[carer, "Primary Support Reason"] = CARER_PSR
    blank = rows["Request: Route of Access"].fillna("").eq("")
    if defaults.unpaid_carer_route_of_access:
        fill = carer & _is(rows, "Event Type", "Request") & blank
        rows.loc[fill, "Request: Route of Access"] = defaults.unpaid_carer_route_of_access
    blank = rows["Review Reason"].fillna("").eq("")
    if defaults.unpaid_carer_review_reason:
        fill = carer & _is(rows, "Event Type", "Review") & blank
        rows.loc[fill, "Review Reason"] = defaults.unpaid_carer_review_reason
    if not defaults.charges_unpaid_carers:
        rows.loc[carer, "Client Funding Status"] = ""


def employment_status_65_plus(rows: pd.DataFrame, age, enabled: bool) -> None:
    """Employment Status: 'the field can be left blank for people aged 65 and older'."""
    if enabled:
        rows.loc[(age >= 65).fillna(False).astype(bool), "Employment Status"] = ""


def inclusion_reasons(rows: pd.DataFrame, period: ReportingPeriod) -> pd.Series:
    """Why a row is out of the return, or '' (guidance, Events (All): what falls within the
    rolling 12 months; cancelled events)."""

    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    event = rows["Event Type"].fillna("")
    begins, ends = rows["Event Start Date"], rows["Event End Date"]
    completed_kind = event.isin(["Request", "Assessment", "Review"])
    service = event.eq("Service")
    died = rows["Date of Death"]
    cases = [
        (event.ne("") & begins.isna(), "no event start date in the source record"),
        (
            completed_kind & ends.isna(),
            "not completed: open requests, assessments and reviews are left out until completed",
        ),
        (
            completed_kind & (ends > died).fillna(False),
            "cancelled: the person died before it was completed",
        ),
        (
            (ends < begins).fillna(False) & service,
            "cancelled: the service ended before any support was given",
        ),
        ((ends < begins).fillna(False), "end date before start date in the source record"),
        (completed_kind & (ends < start).fillna(False), "completed before the reporting period"),
        (completed_kind & (ends > end).fillna(False), "completed after the reporting period end"),
        (service & (begins > end).fillna(False), "service starts after the reporting period"),
        (service & (ends < start).fillna(False), "service ended before the reporting period"),
    ]

    masks = [m.to_numpy(dtype=bool, na_value=False) for m, _ in cases]
    # The first case that holds, by number (0: none), then its reason: text arrays of a
    # million rows are built once, in Arrow, not as NumPy strings.
    first = np.select(masks, list(range(1, len(cases) + 1)), default=0)
    texts = pa.array(["", *(r for _, r in cases)], type=pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(texts.take(first)), index=rows.index)
