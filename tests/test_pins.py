"""Rules that no test pinned (issue 19, point 10): each case here fails when its rule is
removed or changed (checked by mutating the code by hand; docs/testing.md)."""

from __future__ import annotations

import os
from datetime import date

import pytest

from cldetl.errors import InputError
from cldetl.mapping.model import Value
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import transform
from cldetl.transform.guidance_rules import EVENT_ONLY_FIELDS_OF_FINANCIAL
from cldetl.validate import validate
from cldetl.validate.csvfile import dlp_limits, open_cld_csv
from tests.conftest import findings, row, write_rows
from tests.test_reconciliation import _frames, _person, _step
from tests.testshire import MAPPING

PERIOD = ReportingPeriod.ending(date(2025, 9, 30))


def test_a_financial_assessment_has_no_outcome_and_no_method_in_the_return():
    """`financial_assessment_fields`, as the transform applies it: a mapping that gives a
    financial assessment an outcome and a method still writes both blank (guidance: financial
    assessments are the only events that should not have an outcome recorded)."""
    mapping = MAPPING.model_copy(deep=True)
    rule = next(r for r in mapping.events if r.name == "financial_assessment")
    rule.rows[0].fields["Event Outcome"] = Value(value="NFA: Other")
    rule.rows[0].fields["Method of Assessment"] = Value(value="Service user only")
    rule.rows[0].fields["Event Description"] = Value(value="kept")
    frames = _frames(people=[_person(1)], steps=[_step(100, 1, 3001, "2025-05-01", "2025-05-03")])
    cld = transform(mapping, frames, PERIOD).cld
    assert cld["Assessment Type"].tolist() == ["Financial assessment"]
    assert cld["Event Description"].tolist() == ["kept"]  # the mapping's values do arrive
    assert set(EVENT_ONLY_FIELDS_OF_FINANCIAL) == {"Event Outcome", "Method of Assessment"}
    for field in EVENT_ONLY_FIELDS_OF_FINANCIAL:
        assert cld[field].tolist() == [""], field


@pytest.mark.parametrize(
    ("postcode", "reference", "warned"),
    [
        # The guidance's pseudo-postcodes (no fixed abode; no postcode recorded) are no one's
        # address: a reference that holds one is not personal data.
        ("ZZ99 3VZ", "ZZ993VZ-01", False),
        ("ZZ99 3CZ", "ZZ993CZ-01", False),
        ("zz99 3vz", "zz993vz-01", False),
        # A real postcode of the same shape is.
        ("ZZ99 3AB", "ZZ993AB-01", True),
        ("LN1 1YL", "LN11YL-01", True),
    ],
)
def test_pseudo_postcodes_in_an_identifier_are_not_personal_data(
    tmp_path, postcode, reference, warned
):
    path = tmp_path / "cld.csv"
    write_rows(path, [row(**{"Postcode": postcode, "Event Reference": reference})])
    found = [
        f["message"]
        for f in findings(validate(str(path)), "privacy.identifier")
        if "postcode" in f["message"]
    ]
    assert bool(found) is warned


def _sized(path, size: int) -> None:
    """A sparse file of `size` bytes starting with a CLD header (no disk space used)."""
    with path.open("wb") as handle:
        handle.write(b"LA Code,Gender\r\n999,Male\r\n")
        handle.truncate(size)


def test_the_dlp_size_limit_is_4_gb():
    """The DLP data sender user guide: at most 4 GB uncompressed, 800 MB gzipped (decimal
    units, the stricter reading); spec data (`dlp:` in release2.yaml)."""
    assert dlp_limits() == (4_000_000_000, 800_000_000)


def test_a_file_one_byte_over_4_gb_is_too_large_and_one_at_4_gb_is_read(tmp_path):
    over = tmp_path / "over.csv"
    _sized(over, 4_000_000_001)
    if os.stat(over).st_blocks * 512 > 1 << 20:  # pragma: no cover - no sparse files here
        # The 4 GB pin must run in CI (its machines keep sparse files); elsewhere it may skip.
        if os.environ.get("CI"):
            pytest.fail("CI must run the 4 GB pin: this file system does not keep sparse files")
        pytest.skip("the file system does not keep sparse files")
    stream = open_cld_csv(over)
    assert stream.too_large
    sizes = [f["message"] for f in findings(validate(str(over)), "dlp.file_size")]
    assert sizes and "4,000,000,000 bytes" in sizes[0]
    at_limit = tmp_path / "at.csv"
    _sized(at_limit, 4_000_000_000)
    # Read (not refused for its size): its zeros are then refused as not CSV text.
    with pytest.raises(InputError, match="NUL bytes"):
        open_cld_csv(at_limit)
