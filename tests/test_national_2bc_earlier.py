"""ASCOF 2B/2C section 3 ('not new': an earlier residential or nursing service of the person
ended under 365 days before, or still open) is computed over whole arrays
(ascof_2bc._earlier_recent). It must decide as the SQL's correlated EXISTS does, row by row:
the plain loop below is that EXISTS, compared on random people, dates, open ends and blank
starts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cldetl.national.measures.ascof_2bc import _earlier_recent

WINDOW = np.timedelta64(365, "D")


def _exists(person, starts, ends, window) -> np.ndarray:
    out = np.zeros(len(starts), dtype=bool)
    for idx in pd.Series(person).groupby(person).indices.values():
        for i in idx:
            earlier = starts[idx] < starts[i]
            recent = np.isnat(ends[idx]) | ((starts[i] - ends[idx]) < window)
            out[i] = bool((earlier & recent).any())
    return out


def test_whole_array_steps_decide_as_the_row_by_row_exists():
    rng = np.random.default_rng(17)
    for _ in range(500):
        n = int(rng.integers(0, 12))
        person = rng.integers(0, 3, n)
        days = rng.integers(0, 800, n).astype("timedelta64[D]")
        starts = (np.datetime64("2024-01-01") + days).astype("datetime64[us]")
        ends = starts + rng.integers(-50, 400, n).astype("timedelta64[D]")
        starts[rng.random(n) < 0.15] = np.datetime64("NaT")
        ends[rng.random(n) < 0.25] = np.datetime64("NaT")
        expected = _exists(person, starts, ends, WINDOW) & ~np.isnat(starts)
        got = _earlier_recent(person, starts, ends, WINDOW) & ~np.isnat(starts)
        assert (got == expected).all(), (person, starts, ends)


def test_an_end_exactly_365_days_before_is_not_recent():
    starts = np.array(["2024-01-01", "2025-01-01"], dtype="datetime64[us]")
    ends = np.array(["2024-01-02", "NaT"], dtype="datetime64[us]")
    person = np.array([1, 1])
    assert not _earlier_recent(person, starts, ends, WINDOW)[1]  # 365 days: new
    ends[0] = np.datetime64("2024-01-03")
    assert _earlier_recent(person, starts, ends, WINDOW)[1]  # 364 days: not new
