"""first_that_holds is SQL's CASE WHEN: the first true condition's text, else the default; it
must give what np.select gives (which it replaces to save memory), row for row."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cldetl.national.choose import first_that_holds

rows = st.integers(min_value=0, max_value=30)


@given(rows.flatmap(lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n),
                                       min_size=1, max_size=4)))  # fmt: skip
def test_it_agrees_with_np_select_row_for_row(conditions):
    texts = [f"reason {i}" for i in range(len(conditions))]
    got = first_that_holds([np.array(c, dtype=bool) for c in conditions], texts, "kept")
    want = np.select([np.array(c, dtype=bool) for c in conditions], texts, default="kept")
    assert got.dtype == object
    assert got.tolist() == want.tolist()


def test_a_choice_or_the_default_may_be_one_text_a_row():
    first = np.array([True, False, False])
    second = np.array([True, True, False])
    got = first_that_holds(
        [first, second], ["a", np.array(["p", "q", "r"], dtype=object)], np.array(["x", "y", "z"])
    )
    assert got.tolist() == ["a", "q", "z"]


def test_no_condition_is_refused():
    with pytest.raises(ValueError):
        first_that_holds([], [], "kept")
