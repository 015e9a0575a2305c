"""per_distinct gives every row what the rule gives its value: the same as the rule applied
row by row, missing and blank values included (the preview's cleaning, classify and the period
filter rely on it)."""

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cldetl.national.distinct import per_distinct

values = st.lists(st.one_of(st.none(), st.sampled_from(["", " Request ", "service", "NULL", "x"])))


def _rule(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.strip().str.lower()
    return text.mask(text.eq("null")).fillna("blank")


@given(values)
def test_it_agrees_with_the_rule_row_by_row(rows):
    column = pd.Series(rows, dtype="string")
    got = per_distinct(column, _rule)
    assert isinstance(got.dtype, pd.CategoricalDtype)
    assert got.astype(object).tolist() == _rule(column).astype(object).tolist()
    assert got.index.equals(column.index)
