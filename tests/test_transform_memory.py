"""The transform's memory savings change no byte of the output.

`format_cld` puts the rows in order one column at a time and keeps Arrow-backed text (issue 9:
a million CLD rows in bounded memory). The reference below is the straightforward version it
replaced: reorder the whole frame, then build each column through NumPy. Both run the same
pipeline on the same authority; the return and every accounting file must be byte-identical.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

import cldetl.transform.run as transform_module
from cldetl.pipeline import run
from tests.testshire import MAPPING_PATH, build_database

ROOT = Path(__file__).resolve().parent.parent
PERIOD_END = date(2025, 9, 30)
COMPARED = ["exclusions.csv", "lineage.csv", "reconciliation.csv", "unmapped_codes.csv"]


def _format_cld_whole_frame(rows, mapping, spec, period, keep=None, unmapped=None):
    """The reference: the whole frame reordered at once, each column via a NumPy array."""
    import numpy as np
    import pandas as pd

    from cldetl.transform.columns import CANDIDATE
    from cldetl.transform.output import EVENT_TYPE_ORDER, _dates, money_text
    from cldetl.transform.person_details import PERSON

    order_frame = pd.DataFrame(
        {
            "person": rows[PERSON].astype("string"),
            "start": rows["Event Start Date"],
            "type": rows["Event Type"].fillna("").map(EVENT_TYPE_ORDER).fillna(4),
            "reference": rows["Event Reference"].astype("string"),
            "candidate": rows[CANDIDATE].astype(np.int64),
        },
        index=rows.index,
    )
    order = order_frame.sort_values(
        ["person", "start", "type", "reference", "candidate"], kind="stable", na_position="first"
    ).index
    ordered = rows.loc[order]
    out = pd.DataFrame(index=range(len(ordered)))
    fixed = {
        "LA Code": mapping.metadata.la_code,
        "Reporting Period Start Date": period.start.strftime("%d/%m/%Y"),
        "Reporting Period End Date": period.end.strftime("%d/%m/%Y"),
    }
    for field in spec.fields:
        name = field.name
        if name in fixed:
            out[name] = fixed[name]
            continue
        if name == "LA Person Unique Identifier":
            values = ordered[PERSON]
        elif name in ordered:
            values = ordered[name]
        else:
            out[name] = ""
            continue
        if field.type == "date":
            text = _dates(pd.to_datetime(values, errors="coerce"))
        elif field.type == "numeric":
            text = money_text(values)[0]
        else:
            text = values.astype("string").fillna("").str.strip()
        out[name] = text.to_numpy()
    if keep is not None:
        for column in [c for c in rows.columns if c not in keep]:
            del rows[column]
    return out.astype("string"), order


def _files(out: Path, result) -> dict[str, bytes]:
    names = [Path(result.files["cld"]).name, *COMPARED]
    return {name: (result.run_dir / name).read_bytes() for name in names}


def _both(monkeypatch, tmp_path, mapping, **kwargs) -> tuple[dict, dict]:
    changed = run(mapping, tmp_path / "changed", PERIOD_END, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(transform_module, "format_cld", _format_cld_whole_frame)
        reference = run(mapping, tmp_path / "reference", PERIOD_END, **kwargs)
    return _files(tmp_path / "changed", changed), _files(tmp_path / "reference", reference)


@pytest.fixture
def large_authority(tmp_path, monkeypatch):
    """The benchmark's large authority (benchmarks/_authority.py), a few thousand rows."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import _authority

    built = _authority.build(3000, tmp_path / "authority.db", seed=7)
    monkeypatch.setenv(_authority.URL_ENV, built["url"])
    yield _authority
    sys.modules.pop("_authority", None)
    sys.modules.pop("_generate", None)


def test_generated_authority_output_is_byte_identical(large_authority, tmp_path, monkeypatch):
    changed, reference = _both(
        monkeypatch, tmp_path, large_authority.MAPPING, connectors_dir=large_authority.CONNECTORS
    )
    cld = next(iter(changed))
    assert changed[cld].count(b"\n") > 2500  # header + about 3,000 rows
    for name, content in reference.items():
        assert changed[name] == content, name


def test_testshire_output_is_byte_identical(tmp_path, monkeypatch):
    """The test authority: service lines chained, dated details, carers by association,
    exclusions of every kind."""
    monkeypatch.setenv("TESTSHIRE_DB_URL", build_database(tmp_path / "testshire.db"))
    changed, reference = _both(monkeypatch, tmp_path, MAPPING_PATH)
    assert len(changed["exclusions.csv"].splitlines()) > 1
    for name, content in reference.items():
        assert changed[name] == content, name
