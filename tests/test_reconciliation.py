"""Reconciliation: every source record is in the output, used as person details or excluded
with a reason, with counts worked out by hand for a small input; and a run whose counts do not
add up fails with ReconciliationError instead of shipping."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

import cldetl.transform.ledger as ledger_module
import cldetl.transform.run as transform_module
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import ReconciliationError, transform
from tests.testshire import MAPPING

PERIOD = ReportingPeriod.ending(date(2025, 9, 30))  # 01/10/2024 to 30/09/2025


def _frames(**given: list[dict]) -> dict[str, pd.DataFrame]:
    return {
        name: pd.DataFrame(given.get(name, []), columns=list(source.columns))
        for name, source in MAPPING.sources.items()
    }


def _person(person_id: int) -> dict:
    return {"person_id": person_id, "first_name": "Ada", "last_name": "Example",
            "dob": "1950-01-01", "gender": "F"}  # fmt: skip


def _step(step_id, person_id, step_type, started, completed, status="COMPLETED", **extra):
    return {"step_id": step_id, "person_id": person_id, "step_type": step_type,
            "started": started, "completed": completed, "status": status, "outcome1": "SVC",
            **extra}  # fmt: skip


def _line(line_id, person_id, service, start, end=None, status=""):
    return {"line_id": line_id, "person_id": person_id, "service": service, "provider": "P1",
            "delivery": "PB", "start": start, "end": end, "cost": 20, "freq": "H", "units": 5,
            "status": status}  # fmt: skip


def hand_made_input() -> dict[str, pd.DataFrame]:
    """Each record's fate is written beside it; the expected counts below are these added up."""
    return _frames(
        people=[
            _person(1),  # details: has rows in the return
            _person(2),  # details: has rows in the return
            _person(3),  # excluded: no CLD row for this person
        ],
        psr_history=[
            {"person_id": 1, "psr_code": "PC", "start": "2020-01-01"},  # details (person 1)
            {"person_id": 3, "psr_code": "LD", "start": "2020-01-01"},  # excluded (person 3)
        ],
        steps=[
            _step(10, 1, 1003, "2025-05-01", "2025-05-20"),  # output: 1 assessment row
            _step(11, 1, 1001, "2025-06-01", "2025-06-10", at_contact="Y"),  # output: 2 rows
            _step(12, 1, 1003, "2025-05-01", "2025-05-20", status="CANCELLED"),  # excluded
            _step(13, 2, 1003, "2024-01-01", "2024-02-01"),  # excluded: before the period
            _step(14, 77, 1003, "2025-05-01", "2025-05-02"),  # excluded: 77 is nobody
            _step(15, 1, 5555, "2025-05-01", "2025-05-02"),  # excluded: no rule for 5555
            _step(16, 2, 1003, "2025-09-01", None, status="STARTED"),  # excluded: open
        ],
        lines=[
            _line(20, 2, "HC", "2025-01-01"),  # output: one service with line 21
            _line(21, 2, "HC", "2023-01-01", "2024-12-31"),  # output (chained into 20's row)
            _line(22, 1, "RES", "2024-01-01", "2024-06-30"),  # excluded: ended before
            _line(23, 1, "RES", "2025-01-01", status="CANCELLED"),  # excluded: cancelled
        ],
    )


# Worked out by hand from the comments above.
EXPECTED_TOTALS = {
    # source: (read, in_output, person_details, excluded); person 3 has no CLD row, so its
    # details are counted as "person details not needed", not excluded (docs/outputs.md)
    "people": (3, 0, 3, 0),
    "psr_history": (2, 0, 2, 0),
    "steps": (7, 2, 0, 5),
    "lines": (4, 2, 0, 2),
}
EXPECTED_REASONS = {
    ("steps", "cancelled: the process was not completed"): 1,
    ("steps", "completed before the reporting period"): 1,
    ("steps", "no person details: the person is not in the person source (a casual contact?)"): 1,
    ("steps", "no event rule takes this record (add a rule or an exclusion to the mapping)"): 1,
    (
        "steps",
        "not completed: open requests, assessments and reviews are left out until completed",
    ): 1,
    ("lines", "service ended before the reporting period"): 1,
    ("lines", "cancelled: no support was given"): 1,
}
EXPECTED_CLD_ROWS = 4  # step 10: 1, step 11: 2 (request, assessment), lines 20+21: 1


def test_reconciliation_of_a_hand_counted_input():
    result = transform(MAPPING, hand_made_input(), PERIOD)
    table = result.reconciliation
    totals = table[table["kind"] == "total"].set_index("source")
    got = {
        name: tuple(int(v) for v in row)
        for name, row in totals[["read", "in_output", "person_details", "excluded"]].iterrows()
    }
    assert got == EXPECTED_TOTALS
    reasons = table[(table["kind"] == "detail") & (table["outcome"] == "excluded")]
    got_reasons = {(row.source, row.reason): int(row.rows) for row in reasons.itertuples()}
    assert got_reasons == EXPECTED_REASONS
    assert len(result.cld) == EXPECTED_CLD_ROWS


def test_exclusions_name_each_excluded_record_once():
    result = transform(MAPPING, hand_made_input(), PERIOD)
    records = result.exclusions[result.exclusions["level"] == "record"]
    got = sorted(zip(records["source"], records["source_key"].astype(str), strict=True))
    assert got == [
        ("lines", "22"),
        ("lines", "23"),
        ("steps", "12"),
        ("steps", "13"),
        ("steps", "14"),
        ("steps", "15"),
        ("steps", "16"),
    ]


def test_rows_lost_between_the_rules_and_the_output_fail_the_run(monkeypatch):
    """The check that candidate rows = written + excluded rows (a row lost while formatting)."""
    real = transform_module.format_cld

    def losing_a_row(rows, *args, **kwargs):
        cld, order = real(rows, *args, **kwargs)
        return cld.iloc[:-1], order

    monkeypatch.setattr(transform_module, "format_cld", losing_a_row)
    # Candidates: steps 10 (1), 11 (2), 13, 14, 16 (1 each); lines 20+21 (1), 22 (1) = 8;
    # rows left out by the rules: 13, 14, 16, 22 = 4; so 4 written, 3 after the loss. The
    # whole message, which says whose fault it is.
    expected = "8 candidate rows but 3 written + 4 excluded. This is a cldetl bug."
    with pytest.raises(ReconciliationError, match=f"^{re.escape(expected)}$"):
        transform(MAPPING, hand_made_input(), PERIOD)


def test_a_record_the_ledger_loses_track_of_fails_the_run(monkeypatch):
    """The per-source check read = in output + details + excluded (a record whose status is
    none of these)."""
    real = ledger_module._Ledger.take

    def mislabelling(self, source, mask, rule):
        real(self, source, mask, rule)
        if source == "lines":
            self.status[source] = self.status[source].mask(mask, "claimed")

    monkeypatch.setattr(ledger_module._Ledger, "take", mislabelling)
    # Caught by the first of the ledger's per-source checks it meets (a record with no
    # outcome; the sum read = output + details + excluded stands behind it).
    with pytest.raises(ReconciliationError, match="source 'lines': "):
        transform(MAPPING, hand_made_input(), PERIOD)


def miscount_person_details(monkeypatch) -> None:
    """The person details total summed over an outcome no record has (always 0)."""
    outcomes = {
        ("person details, miscounted" if k == "person details" else k): v
        for k, v in ledger_module.OUTCOMES.items()
    }
    monkeypatch.setattr(ledger_module, "OUTCOMES", outcomes)


def test_a_miscounted_total_fails_the_run(monkeypatch):
    """The per-source sum read = in output + person details + excluded: with the person
    details total miscounted (every record still has an outcome), the run must stop."""
    miscount_person_details(monkeypatch)
    with pytest.raises(
        ReconciliationError,
        match=r"source 'people': read \d+ records but 0 in the output \+ 0 used as details",
    ):
        transform(MAPPING, hand_made_input(), PERIOD)


def test_reconciliation_error_is_an_internal_error_with_exit_70():
    """Its message says "This is a cldetl bug": it exits 70 with a crash report, not 2."""
    from cldetl.errors import InternalError

    assert issubclass(ReconciliationError, InternalError)
    assert ReconciliationError("x").exit_code == 70


def test_cldetl_run_with_an_unreconciled_source_exits_70_with_a_crash_report(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cldetl.cli import cli
    from tests.testshire import MAPPING_PATH, build_database

    monkeypatch.setenv("TESTSHIRE_DB_URL", build_database(tmp_path / "testshire.db"))
    monkeypatch.setenv("CLDETL_CRASH_DIR", str(tmp_path / "crashes"))
    miscount_person_details(monkeypatch)
    args = ["run", "--mapping", str(MAPPING_PATH), "--period-end", "2025-09-30"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 70, result.output
    said = " ".join(result.output.split())
    assert "(ReconciliationError), exit 70: source 'people'" in said
    assert "This is a cldetl bug" in said
    assert len(list((tmp_path / "crashes").glob("crash-*.txt"))) == 1
    assert not list((tmp_path / "out").glob("*/run-*")), "nothing published"
