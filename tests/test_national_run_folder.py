"""The national preview a run folder keeps (cldetl/national/run_files.py): the preview JSON,
one fate per row reconciling to the file's rows, the measures and their records."""

from __future__ import annotations

import json

from cldetl.national.run_files import national_run
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import REQUEST, row, write_rows


def test_run_folder_files_reconcile_to_the_row_count(tmp_path):
    rows = [row(), row(REQUEST), row(**{"NHS Number": "", "LA Person Unique Identifier": ""})]
    path = write_rows(tmp_path / "cld.csv", rows)
    table = read_cld_csv(path)
    files = national_run(table, validate(table)).files()
    assert sorted(files) == [
        "national_fates.csv",
        "national_measures.json",
        "national_measures_records.csv",
        "national_preview.json",
    ]
    data = json.loads(files["national_preview.json"])
    assert data["fates"]["reconciles"] and data["fates"]["rows"] == 3
    assert len(files["national_fates.csv"].splitlines()) == 1 + 3
    measures = json.loads(files["national_measures.json"])
    # Three rows derive no period: the measures are over the stated period, and say so.
    assert measures["over_the_stated_period"] is True
    assert "ASCOF 2D" in measures["not_computable"]
    assert {f["measure"] for f in measures["figures"]} >= {"ASCOF 2B", "ASCOF 2E", "ASCOF 3D1a"}
