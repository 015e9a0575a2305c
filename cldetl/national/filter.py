"""Step 2: the events DHSC keeps for a period, with end dates corrected by the date of death.

Follows Main_tables/stored_procedures/create_FilterToEventsInPeriod_procedure.sql at commit
e6f5749 (lines in cldetl/spec/national.yaml, `period_filter`):

- the end date becomes the date of death when the death falls between the event's start and
  end (both inclusive), or after the start of an event with no end date (lines 39-45);
- requests, assessments and reviews stay when the corrected end date is inside the period and
  they start before it ends; services when they end on or after the period start (or have no
  end) and start before it ends (lines 49-57); a missing start date fails both;
- a date of death before the period start or before the event start drops the row (59-61).

DHSC's date of death also comes from ONS records traced by NHS number (GetONSDeaths); the
preview knows only the file's Date of Death.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from cldetl.national.choose import first_that_holds
from cldetl.national.distinct import per_distinct


@dataclass
class PeriodFilter:
    """Per row: the corrected end date and why a row is dropped (an empty string when kept)."""

    der_end: pd.Series
    death_end: pd.Series  # the end date was replaced by the date of death
    reason: np.ndarray  # fate key (national.yaml `fates`) or "", as Python strings


def _kinds(event_type: pd.Series, service_word: str) -> tuple[np.ndarray, np.ndarray]:
    """Per row: no event type (blank once stripped), and a service (its type names the service
    word, case ignored); each worked out once per distinct Event Type."""

    def blank(values: pd.Series) -> pd.Series:
        text = values.astype("string").str.strip()
        return text.isna() | text.eq("")

    def service(values: pd.Series) -> pd.Series:
        text = values.astype("string").str.strip().str.lower()
        return text.str.contains(service_word, regex=False).fillna(False).astype(bool)

    return (
        per_distinct(event_type, blank).to_numpy(dtype=bool),
        per_distinct(event_type, service).to_numpy(dtype=bool),
    )


def filter_to_period(
    event_type: pd.Series,
    start: pd.Series,
    end: pd.Series,
    died: pd.Series,
    period: tuple[date, date],
    method: dict,
) -> PeriodFilter:
    """DHSC's filter for one reference period; reasons are checked in a fixed order so each
    dropped row gets one: no event type, no start, died before the period, died before the
    event, outside the period."""
    p_start, p_end = (pd.Timestamp(d) for d in period)
    replaced = ((died >= start) & (died <= end)) | ((died > start) & end.isna())
    replaced = replaced.fillna(False).astype(bool)
    der_end = end.mask(replaced, died)
    no_type, service = _kinds(event_type, method["service_word"])
    starts_in = (start <= p_end).fillna(False)
    other_in = ~service & (der_end >= p_start).fillna(False) & (der_end <= p_end).fillna(False)
    service_in = service & ((der_end >= p_start).fillna(False) | der_end.isna())
    in_period = (other_in | service_in) & starts_in
    before_period = (died < p_start).fillna(False)
    before_event = (died < start).fillna(False)
    reason = first_that_holds(
        [
            no_type,
            start.isna().to_numpy(),
            before_period.to_numpy(),
            before_event.to_numpy(),
            ~in_period.to_numpy(),
        ],
        ["no_event_type", "no_start", "death_before_period", "death_before_event", "outside"],
        default="",
    )
    return PeriodFilter(der_end=der_end, death_end=replaced, reason=reason)
