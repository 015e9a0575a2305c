"""cldetl run: extract from a real database, transform, validate, write: files, permissions,
exit codes, determinism, and nothing half-written when something fails."""

from __future__ import annotations

import os
import stat
from datetime import date

import pandas as pd
import pytest
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.errors import InputError
from cldetl.pipeline import run
from cldetl.validate import validate
from tests.testshire import MAPPING_PATH, build_database

CLD_NAME = "CLD_R2_999_20250930.csv"
PERIOD_END = date(2025, 9, 30)


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = build_database(tmp_path / "testshire.db")
    monkeypatch.setenv("TESTSHIRE_DB_URL", url)
    return url


def test_run_writes_every_file_owner_only(database, tmp_path):
    out = tmp_path / "out"
    result = run(MAPPING_PATH, out, PERIOD_END)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            CLD_NAME,
            "exclusions.csv",
            "lineage.csv",
            "reconciliation.csv",
            "unmapped_codes.csv",
            "validation.json",
        ]
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert result.exit_code == 0
    report = validate(out / CLD_NAME)
    assert report.errors == 0
    cld = pd.read_csv(out / CLD_NAME, dtype=str, keep_default_na=False)
    lineage = pd.read_csv(out / "lineage.csv", dtype=str, keep_default_na=False)
    assert len(lineage) == len(cld) > 10
    reconciliation = pd.read_csv(out / "reconciliation.csv")
    totals = reconciliation[reconciliation["read"].notna()]
    assert (
        totals["read"] == totals["in_output"] + totals["person_details"] + totals["excluded"]
    ).all()


def test_rerun_is_byte_identical(database, tmp_path):
    run(MAPPING_PATH, tmp_path / "a", PERIOD_END)
    run(MAPPING_PATH, tmp_path / "b", PERIOD_END)
    for name in (CLD_NAME, "exclusions.csv", "lineage.csv", "reconciliation.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_failure_while_writing_leaves_nothing(database, tmp_path, monkeypatch):
    import cldetl.pipeline as pipeline

    calls = []
    real = pipeline.write_csv

    def failing(frame, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        real(frame, path)

    monkeypatch.setattr(pipeline, "write_csv", failing)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        run(MAPPING_PATH, out, PERIOD_END)
    assert list(out.iterdir()) == []


def test_cli_run_summarises_and_exits_0(database, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["run", "--mapping", str(MAPPING_PATH), "--period-end", "2025-09-30", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "rows written:" in result.output
    assert "validation: 0 error(s)" in result.output
    assert "cancelled: the process was not completed" in result.output
    assert (out / CLD_NAME).exists()


def test_cli_run_with_an_unset_url_variable_exits_2(tmp_path, monkeypatch):
    monkeypatch.delenv("TESTSHIRE_DB_URL", raising=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["run", "--mapping", str(MAPPING_PATH), "--out", str(out), "--period-end", "2025-09-30"],
    )
    assert result.exit_code == 2
    assert "TESTSHIRE_DB_URL" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or list(out.iterdir()) == []


def test_a_database_missing_a_table_exits_2_naming_the_source(tmp_path, monkeypatch):
    import sqlalchemy as sa

    url = build_database(tmp_path / "testshire.db")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE ts_steps"))
    engine.dispose()
    monkeypatch.setenv("TESTSHIRE_DB_URL", url)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["run", "--mapping", str(MAPPING_PATH), "--out", str(out), "--period-end", "2025-09-30"],
    )
    assert result.exit_code == 2
    assert "steps" in result.output and "Traceback" not in result.output
    assert not out.exists() or list(out.iterdir()) == []
    with pytest.raises(InputError):
        run(MAPPING_PATH, out, PERIOD_END)


def test_period_end_must_be_a_quarter_end(database, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--mapping",
            str(MAPPING_PATH),
            "--out",
            str(tmp_path / "o"),
            "--period-end",
            "2025-08-31",
        ],
    )
    assert result.exit_code == 2
    assert "not a quarter end" in result.output


def test_cli_test_mapping_passes_and_reports(tmp_path):
    result = CliRunner().invoke(cli, ["test-mapping", str(MAPPING_PATH)])
    assert result.exit_code == 0, result.output
    assert "10 passed, 0 failed" in result.output


def test_cli_sql_shows_binds_apart_from_the_sql():
    result = CliRunner().invoke(
        cli,
        ["sql", "--mapping", str(MAPPING_PATH), "--dialect", "mssql", "--period-end", "2025-09-30"],
    )
    assert result.exit_code == 0, result.output
    assert "FROM ts_steps" in result.output
    assert ":period_start" in result.output
    assert "2024-10-01" in result.output  # listed as a bound value, not inside the SQL


def test_output_files_are_never_world_readable_even_with_a_loose_umask(database, tmp_path):
    old = os.umask(0)
    try:
        run(MAPPING_PATH, tmp_path / "out", PERIOD_END)
    finally:
        os.umask(old)
    for path in (tmp_path / "out").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
