"""The preview reads a file a batch at a time, in worker processes for a large file
(cldetl/national/batches.py): what it makes of the file must not depend on the batches or on
where they were read. Rows of one person and one unique event fall in different batches here,
so the deduplication, the person details and the categories joined across batches are all
exercised."""

from __future__ import annotations

import json
import multiprocessing

import pandas as pd

import cldetl.national.batches as batches_module
from cldetl.national import preview
from cldetl.national.measures import measures
from cldetl.validate import validate
from tests.conftest import write_rows
from tests.test_national_ascof_2a import PERIOD, ROWS
from tests.test_national_measures import ADMISSIONS


def _rows():
    rows = [dict(r) for r in ROWS + ADMISSIONS]
    rows.append(dict(rows[0]))  # the same event again, at the end of the file
    rows[-1]["Unit Cost"] = rows[0]["Unit Cost"] + "0" if rows[0]["Unit Cost"] else ""
    for i, r in enumerate(rows):
        r["Event Reference"] = f"E{i:03d}"
    return rows


def _outcome(path, monkeypatch, minimum, batch_bytes):
    monkeypatch.setattr(batches_module, "PROCESS_MIN_BYTES", minimum)
    p = preview(path, validate(path), reference=PERIOD, batch_bytes=batch_bytes)
    figures = measures(p)
    assert multiprocessing.active_children() == []
    return p, figures


def test_processes_and_batches_make_what_one_batch_makes(tmp_path, monkeypatch):
    path = write_rows(tmp_path / "cld.csv", _rows())
    whole, whole_figures = _outcome(path, monkeypatch, 1 << 62, 1 << 30)
    parts, part_figures = _outcome(path, monkeypatch, 0, 700)
    assert whole.rows == parts.rows == len(_rows())
    assert whole.fate_counts["merged"] == 1
    assert json.dumps(parts.to_json_dict()) == json.dumps(whole.to_json_dict())
    pd.testing.assert_frame_equal(parts.fates, whole.fates)
    pd.testing.assert_frame_equal(parts.dq, whole.dq)
    assert parts.fates_csv() == whole.fates_csv()
    assert [(f.measure, f.group, f.numerator, f.denominator) for f in part_figures] == [
        (f.measure, f.group, f.numerator, f.denominator) for f in whole_figures
    ]
    for a, b in zip(part_figures, whole_figures, strict=True):
        pd.testing.assert_frame_equal(
            a.records.astype({"reason": str}), b.records.astype({"reason": str})
        )
