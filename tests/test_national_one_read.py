"""`validate_and_preview` reads a file once for both validate and the preview: each batch is
reduced to what the preview keeps inside validate's own batch loop (in its worker processes for
a large file). The report and the preview must be what `validate` then `preview` make of the
same file, whatever the batches and wherever they are read."""

from __future__ import annotations

import json
import multiprocessing

import pandas as pd
import pytest

import cldetl.validate as validate_module
from cldetl.errors import InternalError
from cldetl.national import preview, validate_and_preview
from cldetl.national.measures import measures
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import write_rows
from tests.test_national import row
from tests.test_national_batches import _rows


def _same_preview(one, two) -> None:
    assert json.dumps(one.to_json_dict()) == json.dumps(two.to_json_dict())
    pd.testing.assert_frame_equal(one.fates, two.fates)
    pd.testing.assert_frame_equal(one.dq, two.dq)
    assert one.fates_csv() == two.fates_csv()
    # Categories are in the order the batches met them: compared as values.
    pd.testing.assert_frame_equal(_plain(one.events.frame()), _plain(two.events.frame()))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    kinds = {c: object for c, t in frame.dtypes.items() if isinstance(t, pd.CategoricalDtype)}
    return frame.astype(kinds)


@pytest.mark.parametrize(
    ("minimum", "batch_bytes"),
    [(1 << 62, 1 << 30), (1 << 62, 700), (0, 700)],
    ids=["one batch", "batches in threads", "batches in processes"],
)
def test_one_read_makes_the_report_and_preview_of_two(tmp_path, monkeypatch, minimum, batch_bytes):
    path = write_rows(tmp_path / "cld.csv", _rows())
    report = validate(path)
    whole = preview(read_cld_csv(path), report, stated_when_underived=True)
    monkeypatch.setattr(validate_module, "PROCESS_MIN_BYTES", minimum)
    one_report, one = validate_and_preview(
        path, stated_when_underived=True, batch_bytes=batch_bytes
    )
    assert multiprocessing.active_children() == []
    assert one.rows == len(_rows()) and one.fate_counts["merged"] == 1
    pd.testing.assert_frame_equal(one_report.findings, report.findings)
    assert one_report.counts == report.counts and one_report.rows == report.rows
    _same_preview(one, whole)
    assert [f.as_dict(records=True) for f in measures(one)] == [
        f.as_dict(records=True) for f in measures(whole)
    ]


def test_invalid_values_give_the_same_dq_codes_in_one_read(tmp_path, monkeypatch):
    """The DQ codes come from validate's findings on each batch (type and list findings):
    in one read they are the batch's own findings, not the whole report's."""
    rows = [row(**{"LA Person Unique Identifier": f"P{i}"}) for i in range(30)]
    rows[3]["Gender"] = "Robot"
    rows[17]["Date of Birth"] = "31/02/1950"
    rows[25]["Client Type"] = "Carer"
    path = write_rows(tmp_path / "cld.csv", rows)
    whole = preview(read_cld_csv(path), validate(path))
    monkeypatch.setattr(validate_module, "PROCESS_MIN_BYTES", 0)
    _report, one = validate_and_preview(path, batch_bytes=1_500)
    assert (one.dq_pairs.to_numpy() != one.dq_pairs.to_numpy()[0]).any()
    _same_preview(one, whole)


def test_a_file_found_to_be_windows_1252_in_a_later_batch_is_read_again_in_one_read(tmp_path):
    rows = [row(**{"LA Person Unique Identifier": f"P{i}"}) for i in range(40)]
    rows.append(row(**{"LA Person Unique Identifier": "P40", "First Name": "Zoë"}))
    utf8 = write_rows(tmp_path / "utf8.csv", rows)
    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes(utf8.read_text(encoding="utf-8").encode("cp1252"))
    report, small = validate_and_preview(str(cp1252), batch_bytes=2_000)
    whole = preview(read_cld_csv(cp1252), validate(str(cp1252)))
    assert report.encoding == "windows-1252" or report.encoding != "utf-8"
    assert int(small.fate_counts.sum()) == len(rows) == small.rows
    _same_preview(small, whole)


@pytest.mark.parametrize("minimum", [1 << 62, 0], ids=["threads", "processes"])
def test_without_row_codes_the_dq_table_is_the_same_and_no_row_codes_are_kept(
    tmp_path, monkeypatch, minimum
):
    """`row_codes=False` (preview without --fates-csv, measures, validate --report): the
    per-field table is summed from each batch's counts, and must be the one the per-row codes
    give; asking such a preview for its rows' codes is cldetl's own error, not a blank."""
    rows = [row(**{"LA Person Unique Identifier": f"P{i}"}) for i in range(30)]
    rows[3]["Gender"] = "Robot"
    rows[17]["Date of Birth"] = "31/02/1950"
    rows[25]["Ethnicity"] = ""
    path = write_rows(tmp_path / "cld.csv", rows)
    monkeypatch.setattr(validate_module, "PROCESS_MIN_BYTES", minimum)
    _report, kept = validate_and_preview(path, batch_bytes=1_500)
    _report, lean = validate_and_preview(path, batch_bytes=1_500, row_codes=False)
    assert lean.dq_pairs is None and kept.dq_pairs is not None
    assert (kept.quality["code"] < 0).any()  # the table has more than valid rows in it
    pd.testing.assert_frame_equal(lean.quality, kept.quality)
    pd.testing.assert_frame_equal(lean.fates, kept.fates)
    assert json.dumps(lean.to_json_dict()) == json.dumps(kept.to_json_dict())
    with pytest.raises(InternalError, match="without per-row DQ codes"):
        lean.fates_csv()
