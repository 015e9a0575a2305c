"""Unpaid carers' links to a person found on no row, worked by hand from
ASCOF_measures/Create_personal_details_table.sql (DataS-DHSC/ASC-CLD-LA-Dashboard, 7396fab),
"Now look for people with unpaid carer in the carer's fields":

- #Carers_shell: the Adult 1, 2 and 3 linked IDs of carer rows (not blank; the text NULL is
  blank, GetDerivedFields e6f5749 lines 42-113) whose event overlaps the year;
- #People_With_Unpaid_Carer: an INNER JOIN of those IDs to the rows' LA_Person_Unique_Identifier.

A link that matches no one is dropped by the join and nothing else reads it: DHSC's figures do
not change, and the preview reports it (national.carer_link_to_no_one).

Rows (line 2 onwards), year 01/10/2024 - 30/09/2025:
  2  P000001, a service user
  3  carer C1 linking P000001 (Adult 1)                      matches
  4  carer C2 linking ' p000001 ' (Adult 1)                  matches, spaces and case ignored
  5  carer C3 linking P000999 (Adult 1) and P000777 (Adult 2) no one: 2 links
  6  carer C4 linking NULL (Adult 1)                         blank: not a link
  -> 2 links on 1 row (line 5); every figure as when C3 links P000001.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from cldetl.national import preview
from cldetl.national.carer_links import LINKED_FIELDS, _matched
from cldetl.national.measures import measures
from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import UNPAID_CARER, row, write_rows

PERIOD = (date(2024, 10, 1), date(2025, 9, 30))
CARER_SERVICE = {**UNPAID_CARER, "Service Type": "Unpaid carer support: Direct to unpaid carer",
                 "Service Component": "Unpaid carer respite", "NHS Number": ""}  # fmt: skip


def carer(n: int, **links: str) -> dict[str, str]:
    fields = {f"Adult {k[-1]} Linked Person_ID": v for k, v in links.items()}
    return row(CARER_SERVICE, **{"LA Person Unique Identifier": f"C{n}",
                                 "Event Reference": f"C{n}", **fields})  # fmt: skip


def _preview(tmp_path, c3_links):
    rows = [
        row(**{"NHS Number": "", "LA Person Unique Identifier": "P000001"}),
        carer(1, adult1="P000001"),
        carer(2, adult1=" p000001 "),
        carer(3, **c3_links),
        carer(4, adult1="NULL"),
    ]
    path = write_rows(tmp_path / "cld.csv", rows)
    table = read_cld_csv(path)
    return preview(table, validate(table), reference=PERIOD)


def test_links_to_no_one_are_reported_and_change_no_figure(tmp_path):
    p = _preview(tmp_path, {"adult1": "P000999", "adult2": "P000777"})
    warnings = dict(p.warnings)
    assert warnings["national.carer_link_to_no_one"].startswith(
        "2 linked person ID(s) on 1 unpaid carer row(s) of the year match no LA person ID in "
        "the file (lines 5)"
    )
    linked = _preview(tmp_path, {"adult1": "P000001"})
    assert "national.carer_link_to_no_one" not in dict(linked.warnings)
    # Read by the warning only: the unique events the measures read no longer hold them.
    assert not set(LINKED_FIELDS) & set(p.events.columns)

    def shown(q):
        return [(f.measure, f.group, f.numerator, f.denominator, f.value) for f in measures(q)]

    assert shown(p) == shown(linked)


@pytest.mark.parametrize("slice_rows", [1, 2, 3, 1 << 17])
def test_the_links_matched_do_not_depend_on_how_the_ids_are_sliced(slice_rows):
    """The LA person IDs are read a slice at a time (no hash table of every ID): a link is
    matched by an ID in any slice, compared stripped and ignoring case, and found once."""
    ids = pd.Series(["C1", "P000001", " p000001 ", None, "P000002", "Xy"], dtype="string")
    wanted = pa.array(["p000001", "p000999", "xy"], type=pa.large_string())
    assert sorted(_matched(ids, wanted, slice_rows).to_pylist()) == ["p000001", "xy"]
