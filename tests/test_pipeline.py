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


def published(out) -> list:
    """Every published run folder under `out` (period folders, run folders)."""
    return sorted(p for p in out.glob("*/run-*") if p.is_dir())


def test_run_writes_every_file_owner_only_into_its_run_folder(database, tmp_path):
    out = tmp_path / "out"
    result = run(MAPPING_PATH, out, PERIOD_END)
    run_dir = result.run_dir
    assert run_dir.parent == out / "2025-09-30"
    assert run_dir.name.startswith("run-0001-")
    assert (out / "2025-09-30" / "latest").resolve() == run_dir.resolve()
    assert result.manifest_path == run_dir / "manifest.json"
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == sorted(
        [
            CLD_NAME,
            "exclusions.csv",
            "lineage.csv",
            "manifest.json",
            "reconciliation.csv",
            "unmapped_codes.csv",
            "validation.json",
            # What DHSC will make of the return (cldetl/national/run_files.py).
            "national_preview.json",
            "national_fates.csv",
            "national_measures.json",
            "national_measures_records.csv",
        ]
    )
    assert result.files["cld"] == run_dir / CLD_NAME
    for folder in (out, out / ".cldetl", out / "2025-09-30", run_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for path in [*run_dir.iterdir(), out / "2025-09-30" / "latest.json"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert list((out / ".cldetl" / "staging").iterdir()) == []  # staging removed
    assert result.exit_code == 0
    report = validate(run_dir / CLD_NAME)
    assert report.errors == 0
    cld = pd.read_csv(run_dir / CLD_NAME, dtype=str, keep_default_na=False)
    lineage = pd.read_csv(run_dir / "lineage.csv", dtype=str, keep_default_na=False)
    assert len(lineage) == len(cld) > 10
    reconciliation = pd.read_csv(run_dir / "reconciliation.csv")
    totals = reconciliation[reconciliation["read"].notna()]
    assert (
        totals["read"] == totals["in_output"] + totals["person_details"] + totals["excluded"]
    ).all()


def test_the_manifest_describes_the_run(database, tmp_path):
    import hashlib
    import json

    from cldetl import __version__

    result = run(MAPPING_PATH, tmp_path / "out", PERIOD_END)
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["cldetl_version"] == __version__
    assert manifest["mapping"] == {
        "file": "testshire.yaml",
        "sha256": hashlib.sha256(MAPPING_PATH.read_bytes()).hexdigest(),
    }
    assert manifest["period"] == {"start": "2024-10-01", "end": "2025-09-30"}
    assert manifest["started"] <= manifest["finished"]
    assert manifest["started"].endswith("Z")
    assert manifest["exit_status"] == 0
    assert manifest["cld_file"] == CLD_NAME
    cld_rows = len(pd.read_csv(result.files["cld"], dtype=str))
    assert manifest["rows"]["cld"] == cld_rows
    assert set(manifest["rows"]["sources_read"]) == {"people", "psr_history", "steps", "lines"}
    assert manifest["comparison"] is None  # no earlier period in the history
    listed = {f["path"]: f for f in manifest["files"]}
    assert sorted(listed) == sorted(
        p.name for p in result.run_dir.iterdir() if p.name != "manifest.json"
    )
    for name, entry in listed.items():
        data = (result.run_dir / name).read_bytes()
        assert entry == {
            "path": name,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }


def test_a_rerun_adds_a_run_keeps_the_first_and_is_byte_identical(database, tmp_path):
    out = tmp_path / "out"
    first = run(MAPPING_PATH, out, PERIOD_END)
    second = run(MAPPING_PATH, out, PERIOD_END)
    assert published(out) == [first.run_dir, second.run_dir]
    assert second.run_dir.name.startswith("run-0002-")
    assert os.readlink(out / "2025-09-30" / "latest") == second.run_dir.name
    names = sorted(p.name for p in first.run_dir.iterdir())
    assert names == sorted(p.name for p in second.run_dir.iterdir())
    for name in names:
        if name != "manifest.json":
            assert (first.run_dir / name).read_bytes() == (second.run_dir / name).read_bytes()

    import json

    a, b = (json.loads(r.manifest_path.read_text()) for r in (first, second))
    for moment in ("started", "finished"):
        a.pop(moment), b.pop(moment)
    assert a == b  # the manifests differ only in their times


def test_a_failure_while_writing_publishes_nothing(database, tmp_path, monkeypatch):
    import cldetl.pipeline as pipeline
    from cldetl.publish.history import OutputError

    calls = []
    real = pipeline.write_csv

    def failing(frame, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(frame, path)

    monkeypatch.setattr(pipeline, "write_csv", failing)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="No space left on device.*Nothing was published"):
        run(MAPPING_PATH, out, PERIOD_END)
    assert sorted(p.name for p in out.iterdir()) == [".cldetl"]
    assert list((out / ".cldetl" / "staging").iterdir()) == []


def test_cli_run_summarises_and_exits_0(database, tmp_path):
    out = tmp_path / "out"
    june = run(MAPPING_PATH, out, date(2025, 6, 30))
    result = CliRunner().invoke(
        cli,
        ["run", "--mapping", str(MAPPING_PATH), "--period-end", "2025-09-30", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "rows written:" in result.output
    assert "validation: 0 error(s)" in result.output
    assert "cancelled: the process was not completed" in result.output
    assert (out / "2025-09-30" / "latest" / CLD_NAME).exists()
    assert "run folder:" in result.output
    assert f"compared with last quarter: {june.run_dir}" in result.output.replace("\n", "")


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
    assert published(out) == []


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
    assert published(out) == []
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
    for path in (tmp_path / "out").rglob("*"):
        if not path.is_symlink():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_two_periods_in_one_folder_stay_whole_and_the_second_compares_with_the_first(
    database, tmp_path
):
    import json

    from cldetl.publish.history import verify_run

    out = tmp_path / "out"
    june = run(MAPPING_PATH, out, date(2025, 6, 30))
    september = run(MAPPING_PATH, out, PERIOD_END)
    assert june.run_dir.parent.name == "2025-06-30" and june.compared_with is None
    assert september.compared_with == june.run_dir
    assert september.comparison.previous_period.end == date(2025, 6, 30)
    for result in (june, september):
        assert verify_run(result.run_dir) == []
    assert sorted(p.name for p in june.run_dir.iterdir()) == sorted(
        [
            "CLD_R2_999_20250630.csv",
            "exclusions.csv",
            "lineage.csv",
            "manifest.json",
            "reconciliation.csv",
            "unmapped_codes.csv",
            "validation.json",
            # What DHSC will make of the return (cldetl/national/run_files.py).
            "national_preview.json",
            "national_fates.csv",
            "national_measures.json",
            "national_measures_records.csv",
        ]
    )
    comparison = json.loads((september.run_dir / "comparison.json").read_text())
    assert comparison["previous_file"] == "CLD_R2_999_20250630.csv"
    assert comparison["current_file"] == CLD_NAME
    assert comparison["months"][0] == "2024-10" and comparison["months"][-1] == "2025-06"
    assert (september.run_dir / "comparison.svg").read_text().startswith("<svg")
    manifest = json.loads(september.manifest_path.read_text())
    assert manifest["comparison"]["previous_run"] == f"2025-06-30/{june.run_dir.name}"
    assert manifest["comparison"]["files"] == ["comparison.json", "comparison.svg"]

    # A rerun of September: a new run folder, the same bytes (comparison included).
    again = run(MAPPING_PATH, out, PERIOD_END)
    assert again.run_dir != september.run_dir and september.run_dir.is_dir()
    for path in september.run_dir.iterdir():
        if path.name != "manifest.json":
            assert (again.run_dir / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_previous_return_that_cannot_be_compared_is_noted_and_the_run_goes_on(database, tmp_path):
    import json

    out = tmp_path / "out"
    june = run(MAPPING_PATH, out, date(2025, 6, 30))
    june.files["cld"].write_text("not,a,cld\n1,2,3\n")  # damaged after its run
    september = run(MAPPING_PATH, out, PERIOD_END)
    assert september.exit_code == 0
    assert september.compared_with is None and september.comparison is None
    assert not (september.run_dir / "comparison.json").exists()
    noted = json.loads(september.manifest_path.read_text())["comparison"]
    assert noted["previous_run"] == f"2025-06-30/{june.run_dir.name}"
    assert "line 1 is not the CLD header" in noted["error"]


def test_the_second_periods_report_compares_with_the_first_and_reruns_are_identical(
    database, tmp_path
):
    """Issue 11's routine: with --report, September's page shows its counts against June's
    file, and a rerun of the same inputs writes the same report and workbook bytes."""
    out = tmp_path / "out"
    june = run(MAPPING_PATH, out, date(2025, 6, 30), html_report=True)
    september = run(MAPPING_PATH, out, PERIOD_END, html_report=True)
    first = (june.run_dir / "report.html").read_text(encoding="utf-8")
    page = (september.run_dir / "report.html").read_text(encoding="utf-8")
    assert "against last quarter" not in first
    assert "Events by event type, against last quarter" in page
    assert "1 October 2024 to 30 September 2025" in page  # the period, first
    assert (september.run_dir / "findings.xlsx").is_file()

    again = run(MAPPING_PATH, out, PERIOD_END, html_report=True)
    for name in ("report.html", "findings.xlsx"):
        assert (again.run_dir / name).read_bytes() == (september.run_dir / name).read_bytes()
