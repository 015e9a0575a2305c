"""The validator's open-service-after-death warning says when the person died, relative to the
reporting period: "within" only when the death is inside it (issue 17). DHSC drops events of a
person who died before the period starts (create_FilterToEventsInPeriod_procedure.sql, e6f5749,
lines 59-61), so telling that person's LA the death was "within the reporting period" is wrong.
"""

from __future__ import annotations

import pytest

from cldetl.validate import validate
from cldetl.validate.csvfile import read_cld_csv
from tests.conftest import row, write_rows

WITHIN = "The service is open but the person died within the reporting period"
BEFORE = "The service is open but the person died before the reporting period began"


@pytest.mark.parametrize(
    ("died", "expected"),
    [
        ("01/05/2025", WITHIN),  # inside 01/10/2024 - 30/09/2025
        ("01/10/2024", WITHIN),  # the first day of the period is within it
        ("30/09/2024", BEFORE),  # the day before the period starts
        ("01/05/2024", BEFORE),  # after the event started, before the period
    ],
)
def test_open_service_after_death_names_when_the_person_died(tmp_path, died, expected):
    path = write_rows(tmp_path / "cld.csv", [row(**{"Date of Death": died})])
    found = validate(read_cld_csv(path)).findings
    messages = list(found[found["rule"] == "cross.event_after_death"]["message"])
    assert len(messages) == 1
    assert messages[0].startswith(expected)
