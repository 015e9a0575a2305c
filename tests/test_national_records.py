"""A figure's records as the report and the records CSV read them (measures/result.py): each
record's Event Reference and LA person ID found by its line among the unique events, and the
records made a chunk at a time for the workbook's measure sheets."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cldetl.national.measures.result import Figure, _positions, records


@given(
    st.lists(st.integers(2, 60), unique=True),
    st.lists(st.integers(0, 70), max_size=30),
    st.booleans(),
)
def test_a_line_is_found_where_pandas_finds_it(lines, wanted, shuffled):
    """Binary search over the sorted lines (no hash table kept on the index) gives what
    get_indexer gives: each line's position, -1 for a line that is not there; unsorted lines
    (never made by the preview) are looked up by get_indexer itself."""
    known = sorted(lines)
    if shuffled:
        known = known[::-1]
    index = pd.Index(known, dtype=np.int64)
    asked = np.array(wanted, dtype=np.int64)
    assert _positions(index, asked).tolist() == index.get_indexer(asked).tolist()


def _figure(n: int) -> Figure:
    lines = np.arange(2, 2 + n)
    people = pd.DataFrame(
        {
            "event_reference": pd.array([f"E{x}" for x in lines], dtype="string"),
            "la_person": pd.array([f"P{x % 7}" for x in lines], dtype="string"),
        },
        index=pd.Index(lines),
    )
    behind = records(pd.DataFrame({"line": lines[::-1]}), [x % 3 == 0 for x in lines], ["why"] * n)
    two = lines[:2]
    unplaced = records(
        pd.DataFrame({"line": two}), [False] * len(two), ["no band", "x"][: len(two)]
    )
    return Figure("ASCOF 2A", "Total", "t", 1, 1, 1.0, "%", "c", behind, people, unplaced)


def test_records_made_a_chunk_at_a_time_are_the_records():
    figure = _figure(23)
    chunks = list(figure.record_chunks(5))
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 3]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), figure.records)
    assert figure.records["event_reference"].iloc[0] == "E24"  # found by line, not position
    unplaced = pd.concat(list(figure.record_chunks(5, unplaced=True)), ignore_index=True)
    pd.testing.assert_frame_equal(unplaced, figure.unplaced_records)


def test_a_figure_without_records_gives_one_empty_chunk_and_no_unplaced_one():
    figure = _figure(0)
    figure.unplaced = None
    assert [len(c) for c in figure.record_chunks(5)] == [0]
    assert list(figure.record_chunks(5, unplaced=True)) == []
