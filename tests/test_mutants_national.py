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
from cldetl.national.fates import FatesDoNotReconcile, assign_fates
from cldetl.national.filter import filter_to_period

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
