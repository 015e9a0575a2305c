"""The preview's compact rows held packed (national/compact.py): a column unpacked is the
column packed, exactly (dtype, values, missing values), whatever its kind; the batches join as
the unpacked columns would; a column is opened only when read. The memory it saves is measured
in benchmarks/national.py, not here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cldetl.national import compact
from cldetl.national.compact import CompactRows, joined, pack, unpack

MIDNIGHTS = pd.Series(pd.to_datetime(["2025-04-01", None, "1900-01-01", "2099-12-31"]))
# (name, column, the kind it is packed as)
COLUMNS = [
    ("line numbers", pd.Series(np.arange(2, 1002, dtype=np.int64)), "numbers"),
    ("outcome ranks", pd.Series(np.array([3, -1, 0, 32767], dtype=np.int16)), "numbers"),
    ("floats with NaN", pd.Series([1.5, np.nan, -0.0, 1e300]), "numbers"),
    ("booleans", pd.Series([True, False, True]), "numbers"),
    ("dates at midnight, one missing", MIDNIGHTS.astype("datetime64[us]"), "days"),
    ("dates, all missing", pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us]"), "days"),
    (
        "a time of day is not a whole day",
        pd.Series(pd.to_datetime(["2025-04-01 00:00:00.000001", None])).astype("datetime64[us]"),
        "numbers",
    ),
    ("nanosecond dates", MIDNIGHTS.astype("datetime64[ns]"), "numbers"),
    ("person hashes", pd.Series([-(2**63) + 1, None, 2**63 - 1], dtype="Int64"), "masked"),
    ("nullable booleans", pd.Series([True, None, False], dtype="boolean"), "masked"),
    (
        "categories, a blank, one unused",
        pd.Series(pd.Categorical(["b", None, "a", "b"], categories=["a", "b", "z"])),
        "categories",
    ),
    ("a field blank in the whole batch", pd.Series(pd.Categorical([None, None])), "categories"),
    ("text with a missing value", pd.Series(["P1", None, "", "é£"], dtype="string"), "arrow"),
    ("Python objects are kept as they are", pd.Series([1, "a", None], dtype=object), "as_is"),
    ("no rows", pd.Series([], dtype="datetime64[us]"), "days"),
    ("no rows of text", pd.Series([], dtype="string"), "arrow"),
]


@pytest.mark.parametrize(("column", "kind"), [c[1:] for c in COLUMNS], ids=[c[0] for c in COLUMNS])
def test_a_column_unpacked_is_the_column_packed(column, kind):
    packed = pack(column.set_axis(range(10, 10 + len(column))))  # a batch's own numbering
    assert packed.kind == kind
    back = unpack(packed)
    pd.testing.assert_series_equal(back, column.reset_index(drop=True))
    if kind in ("numbers", "days", "masked", "categories"):
        # Writable, as the column was: some of pandas' and NumPy's routines refuse a read-only
        # buffer, and a step may set values in place.
        for values in _numpy_buffers(back):
            assert values.flags.writeable


def _numpy_buffers(column: pd.Series) -> list[np.ndarray]:
    array = column.array
    if isinstance(array, pd.Categorical):
        return [array._ndarray]  # the codes (`.codes` is always a read-only view)
    if isinstance(array, pd.arrays.IntegerArray | pd.arrays.BooleanArray):
        return [array._data, array._mask]
    return [np.asarray(array)]


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(
                min_value=pd.Timestamp("1677-09-22").to_pydatetime(),
                max_value=pd.Timestamp("2262-04-10").to_pydatetime(),
            ),
        ),
        max_size=50,
    )
)
def test_any_dates_come_back_exactly(values):
    column = pd.Series(pd.to_datetime(pd.Series(values, dtype=object))).astype("datetime64[us]")
    pd.testing.assert_series_equal(unpack(pack(column)), column)


@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=50))
def test_any_person_hashes_come_back_exactly(values):
    column = pd.Series(values, dtype="Int64")
    pd.testing.assert_series_equal(unpack(pack(column)), column)


def test_whole_days_pack_into_far_less_than_their_eight_bytes_a_row():
    """Why the preview packs its rows: 10,000 dates of one quarter (80,000 bytes as
    datetime64) pack into a small fraction."""
    days = pd.Series(pd.date_range("2025-04-01", "2025-06-30").repeat(110)[:10_000])
    packed = pack(days.astype("datetime64[us]"))
    assert sum(len(b) for b in packed.buffers) < 80_000 / 10


def test_text_packs_into_far_less_than_arrow_holds_it():
    """Event references and person IDs are most of the compact rows: 10,000 of them, each
    repeated a few times as a person's events are, pack compressed."""
    text = pd.Series([f"P{i // 4:07d}" for i in range(10_000)], dtype="string")
    held = text.memory_usage(deep=True, index=False)
    assert len(pack(text).buffers[0]) < held / 2


def test_categories_join_in_order_of_first_appearance_as_text():
    """The batches' categories differ (and a batch where the field is blank has none): the
    file's are the union in order of first appearance, held as text, each row's value kept."""
    batches = [
        pd.Series(pd.Categorical(["b", "a"], categories=["b", "a"])),
        pd.Series(pd.Categorical([None, None])),
        pd.Series(pd.Categorical(["c", None, "a"], categories=["a", "c"])),
    ]
    column = joined("Service Type", [pack(b) for b in batches])
    assert column.name == "Service Type"
    assert list(column.cat.categories) == ["b", "a", "c"]
    assert column.cat.categories.dtype == object
    assert column.astype(object).where(column.notna(), None).tolist() == [
        "b",
        "a",
        None,
        None,
        "c",
        None,
        "a",
    ]


@pytest.mark.parametrize(
    "batches",
    [
        [pd.Series([1, 2], dtype=np.int64), pd.Series([], dtype=np.int64), pd.Series([3])],
        [MIDNIGHTS.astype("datetime64[us]"), MIDNIGHTS.astype("datetime64[us]")[:1]],
        [pd.Series([5, None], dtype="Int64"), pd.Series([None], dtype="Int64")],
        [pd.Series(["x", None], dtype="string"), pd.Series(["y"], dtype="string")],
    ],
    ids=["numbers", "dates", "nullable", "text"],
)
def test_other_columns_join_as_their_concatenation(batches):
    expected = pd.concat(batches, ignore_index=True).rename("f")
    pd.testing.assert_series_equal(joined("f", [pack(b) for b in batches]), expected)


def test_dates_and_numbers_join_into_one_array_without_unpacking_each_batch_whole(monkeypatch):
    """Each batch's values go straight into the file's array (unpacking each batch into a
    column first would hold the column twice), also when one batch's dates are whole days
    and another's are not."""

    def whole(packed):
        raise AssertionError("a batch was unpacked whole")

    monkeypatch.setattr(compact, "unpack", whole)
    dates = [
        pd.Series(pd.to_datetime(["2025-04-01", None])).astype("datetime64[us]"),
        pd.Series(pd.to_datetime(["2025-04-01 12:00"])).astype("datetime64[us]"),
    ]
    assert [pack(d).kind for d in dates] == ["days", "numbers"]
    expected = pd.concat(dates, ignore_index=True).rename("end")
    pd.testing.assert_series_equal(joined("end", [pack(d) for d in dates]), expected)
    lines = [pd.Series([2, 3]), pd.Series([4])]
    assert joined("line", [pack(x) for x in lines]).tolist() == [2, 3, 4]


def test_no_batches_are_no_columns_and_one_batch_is_its_columns():
    assert list(CompactRows([])) == [] and len(CompactRows([])) == 0
    one = CompactRows([{"line": pack(pd.Series([7, 8]))}])
    assert list(one) == ["line"] and one["line"].tolist() == [7, 8]


@pytest.fixture
def rows(monkeypatch):
    """Two batches of two columns, counting each time a column is joined and unpacked."""
    opened: list[str] = []
    real = compact.joined
    monkeypatch.setattr(
        compact, "joined", lambda name, packs: opened.append(name) or real(name, packs)
    )
    batches = [
        {
            "line": pack(pd.Series([2, 3])),
            "end": pack(pd.Series(pd.to_datetime(["2025-05-01", None]))),
        },
        {"line": pack(pd.Series([4])), "end": pack(pd.Series(pd.to_datetime(["2025-06-01"])))},
    ]
    return CompactRows(batches), opened


def test_a_column_is_opened_once_when_first_read(rows):
    rows, opened = rows
    assert opened == []
    assert rows["line"].tolist() == [2, 3, 4]
    assert rows["line"] is rows["line"]
    assert opened == ["line"]


def test_a_column_let_go_unread_is_never_opened(rows):
    rows, opened = rows
    del rows["end"]
    assert list(rows) == ["line"] and len(rows) == 1 and "end" not in rows
    assert opened == []
    with pytest.raises(KeyError, match="end"):
        rows["end"]
    with pytest.raises(KeyError, match="end"):
        del rows["end"]


def test_pop_gives_the_column_and_lets_it_go(rows):
    rows, opened = rows
    assert rows.pop("line").tolist() == [2, 3, 4]
    assert "line" not in rows and list(rows) == ["end"]
    assert rows.pop("line", None) is None
    with pytest.raises(KeyError, match="line"):
        rows.pop("line")


def test_a_column_closed_is_packed_again_and_reads_the_same(rows):
    rows, opened = rows
    before = rows["end"].copy()
    rows.close("end")
    assert opened == ["end"]
    pd.testing.assert_series_equal(rows["end"], before)
    assert opened == ["end", "end"]


def test_a_column_set_is_held_as_given_after_the_batches_columns(rows):
    rows, opened = rows
    der_end = pd.Series(pd.to_datetime(["2025-05-01", "2025-05-02", "2025-06-01"]))
    rows["der_end"] = der_end
    assert rows["der_end"] is der_end
    assert list(rows) == ["line", "end", "der_end"]
    rows["line"] = der_end  # replaces the packed column without opening it
    assert opened == [] and list(rows) == ["line", "end", "der_end"]
    assert "line" not in rows._packed  # the replaced batches are let go (memory)


@pytest.mark.parametrize(("events", "expected"), [(False, "half"), (True, "three quarters")])
def test_the_preview_alone_reads_half_batches_and_with_the_measures_three_quarters(
    tmp_path, monkeypatch, events, expected
):
    """The preview's workers hold a batch's reduction beside the batch: with validate's
    batches they would be the peak, so the preview alone reads half batches, and with the
    measures' events three quarters of them (the main process then peaks about where those
    workers do; halving them too only costs time)."""
    import sys

    from cldetl.validate.csvfile import BATCH_BYTES
    from tests.conftest import row, write_rows

    preview_module = sys.modules["cldetl.national.preview"]  # the package exports a function
    seen: list[int] = []
    real = preview_module.validate_each_batch

    def spy(path, step, **kwargs):
        seen.append(kwargs["batch_bytes"])
        return real(path, step, **kwargs)

    monkeypatch.setattr(preview_module, "validate_each_batch", spy)
    preview_module.validate_and_preview(write_rows(tmp_path / "cld.csv", [row()]), events=events)
    assert seen == [BATCH_BYTES // 2 if expected == "half" else BATCH_BYTES * 3 // 4]


# --- PackedFrame: the unique events and the fates, held packed between the steps -------------


def _packed_frame():
    from cldetl.national.compact import PackedFrame

    columns = {name: column.reset_index(drop=True) for name, column, _ in COLUMNS[:4]}
    columns = {n: c.iloc[:3].reset_index(drop=True) for n, c in columns.items()}
    columns["text"] = pd.Series(["P1", None, "é£"], dtype="string")
    columns["category"] = pd.Series(pd.Categorical(["b", None, "a"], categories=["a", "b"]))
    return PackedFrame(columns), columns


def test_a_packed_frame_gives_back_each_column_as_it_was_given():
    frame, columns = _packed_frame()
    assert frame.columns == list(columns) and len(frame) == 3
    for name, column in columns.items():
        pd.testing.assert_series_equal(frame[name], column.rename(name))
    pd.testing.assert_frame_equal(frame.frame(), pd.DataFrame(columns))


def test_a_packed_frame_opens_only_the_columns_asked_in_the_order_asked():
    frame, columns = _packed_frame()
    got = frame.frame(["text", "not held", "line numbers"])
    assert list(got.columns) == ["text", "line numbers"]
    pd.testing.assert_series_equal(got["text"], columns["text"].rename("text"))
    assert list(frame.frame([]).index) == [0, 1, 2]  # no column, still the rows


def test_each_reading_of_a_packed_column_is_a_new_array():
    """Nothing is kept open: a step that changes what it read changes nothing held."""
    frame, _ = _packed_frame()
    first = frame["line numbers"]
    first.iloc[0] = -1
    assert frame["line numbers"].iloc[0] == 2


def test_select_and_without_share_the_packed_columns():
    frame, _ = _packed_frame()
    chosen = frame.select(["text", "booleans", "not held"])
    assert chosen.columns == ["text", "booleans"] and len(chosen) == 3
    assert chosen._packed["text"] is frame._packed["text"]  # nothing copied
    assert frame.without(["text", "not held"]).columns == [
        "line numbers", "outcome ranks", "floats with NaN", "booleans", "category"
    ]  # fmt: skip
    assert "text" in frame and "text" not in frame.without(["text"])


def test_a_packed_frame_refuses_a_column_of_another_length():
    frame, _ = _packed_frame()
    with pytest.raises(ValueError, match="extra: 2 rows where the others have 3"):
        frame["extra"] = pd.Series([1, 2])
    frame["line numbers"] = pd.Series([7, 8, 9])  # replacing one of the same length is fine
    assert frame["line numbers"].tolist() == [7, 8, 9]
