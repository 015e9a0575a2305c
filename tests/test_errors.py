"""The CLI's error contract: exit 0, 1, 2, 70 (internal error, with an owner-only crash report)
or 130 (interrupted), one short message, never a traceback, never a value on the console."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cldetl.cli import EXIT_INTERNAL, EXIT_INTERRUPTED, cli
from tests.conftest import base_row, write_rows
from tests.testshire import MAPPING_PATH, build_database

# What an internal error must never show or save: a value a row could hold.
SECRET = "Lovelock-9434765919"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def crash_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "crashes"
    monkeypatch.setenv("CLDETL_CRASH_DIR", str(folder))
    return folder


@pytest.fixture
def good_csv(tmp_path) -> Path:
    return write_rows(tmp_path / "good.csv", [base_row()])


def _failing_validate(table, **kwargs):
    last_name = SECRET  # a local variable holding a value: must not reach the report
    raise RuntimeError(f"cannot check {last_name}")


def _crash_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("crash-*.txt"))


def test_an_internal_error_exits_70_with_one_line_and_a_private_report(
    crash_dir, good_csv, monkeypatch
):
    monkeypatch.setattr("cldetl.cli.check.run_validation", _failing_validate)
    result = CliRunner().invoke(cli, ["validate", str(good_csv)])
    assert result.exit_code == EXIT_INTERNAL == 70
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Internal error in cldetl (RuntimeError), exit 70")
    assert SECRET not in result.output and "Traceback" not in result.output
    (report,) = _crash_files(crash_dir)
    assert str(report) in lines[0]
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert stat.S_IMODE(crash_dir.stat().st_mode) == 0o700
    text = report.read_text()
    assert SECRET not in text
    assert "builtins.RuntimeError" in text
    assert "_failing_validate" in text  # where it happened, for the maintainers
    assert "command: cldetl validate" in text
    assert str(good_csv) not in text


def test_a_real_process_shows_no_traceback_for_an_internal_error(crash_dir, good_csv):
    program = (
        "import sys, cldetl.validate as v\n"
        "def boom(table, **kw):\n"
        f"    secret = {SECRET!r}\n"
        "    raise KeyError(secret)\n"
        "v.validate = boom\n"
        "from cldetl.cli import main\n"
        f"sys.argv = ['cldetl', 'validate', {str(good_csv)!r}]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == EXIT_INTERNAL
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr
    (report,) = _crash_files(crash_dir)
    assert SECRET not in report.read_text()


def test_the_chained_exceptions_are_in_the_report_without_their_messages(
    crash_dir, good_csv, monkeypatch
):
    def failing(table, **kwargs):
        cell, said = SECRET, "wrapped around " + SECRET
        try:
            int(cell)
        except ValueError as exc:
            raise RuntimeError(said) from exc

    monkeypatch.setattr("cldetl.cli.check.run_validation", failing)
    result = CliRunner().invoke(cli, ["validate", str(good_csv)])
    assert result.exit_code == EXIT_INTERNAL
    text = _crash_files(crash_dir)[0].read_text()
    assert "builtins.RuntimeError" in text and "builtins.ValueError" in text
    assert SECRET not in text and "wrapped around" not in text


def test_an_unwritable_crash_folder_falls_back_to_a_private_temporary_one(
    tmp_path, good_csv, monkeypatch
):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CLDETL_CRASH_DIR", str(blocker / "crashes"))
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "state"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr("cldetl.cli.check.run_validation", _failing_validate)
    result = CliRunner().invoke(cli, ["validate", str(good_csv)])
    assert result.exit_code == EXIT_INTERNAL
    (report,) = tmp_path.glob("cldetl-crash-*/crash-*.txt")
    assert str(report) in result.output
    assert stat.S_IMODE(report.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(report.stat().st_mode) == 0o600


def test_a_crash_folder_open_to_others_is_made_private(tmp_path, good_csv, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    monkeypatch.setenv("CLDETL_CRASH_DIR", str(folder))
    monkeypatch.setattr("cldetl.cli.check.run_validation", _failing_validate)
    CliRunner().invoke(cli, ["validate", str(good_csv)])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert len(_crash_files(folder)) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["validate"],
        ["validate", "--format", "xml", "x.csv"],
        ["validate", "--examples", "many", "x.csv"],
        ["run", "--no-such-option"],
        ["spec", "extra-argument"],
    ],
    ids=["unknown command", "missing argument", "bad choice", "bad integer", "bad option", "extra"],
)
def test_click_usage_errors_exit_2_without_a_traceback(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "Error:" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_help_and_version_exit_0():
    assert CliRunner().invoke(cli, ["--help"]).exit_code == 0
    assert CliRunner().invoke(cli, ["--version"]).exit_code == 0
    assert CliRunner().invoke(cli, ["validate", "--help"]).exit_code == 0


def test_ctrl_c_exits_130_quietly(good_csv, monkeypatch, crash_dir):
    def interrupted(table, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("cldetl.cli.check.run_validation", interrupted)
    result = CliRunner().invoke(cli, ["validate", str(good_csv)])
    assert result.exit_code == EXIT_INTERRUPTED == 130
    assert result.output.strip() == ""
    assert not crash_dir.exists()


def test_out_of_memory_is_a_clear_message_and_exit_2(good_csv, monkeypatch, crash_dir):
    def too_big(table, **kwargs):
        raise MemoryError

    monkeypatch.setattr("cldetl.cli.check.run_validation", too_big)
    result = CliRunner().invoke(cli, ["validate", str(good_csv)])
    assert result.exit_code == 2
    assert result.output.startswith("Error: out of memory.")
    assert len(result.output.strip().splitlines()) == 1
    assert not crash_dir.exists()


def test_an_environment_error_names_the_file_and_exits_2(good_csv, monkeypatch, crash_dir):
    def disk_full(table, **kwargs):
        raise OSError(28, "No space left on device", "/srv/cld/out/staging")

    monkeypatch.setattr("cldetl.cli.check.run_validation", disk_full)
    result = CliRunner().invoke(cli, ["validate", str(good_csv)])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: No space left on device: /srv/cld/out/staging"
    assert not crash_dir.exists()


def test_markup_in_the_mapping_is_printed_as_text_not_a_crash(tmp_path, monkeypatch, crash_dir):
    """`la_name: "[/bold]x"` crashed Rich after the files were written."""
    monkeypatch.setenv("TESTSHIRE_DB_URL", build_database(tmp_path / "testshire.db"))
    text = MAPPING_PATH.read_text()
    assert "la_name: Testshire (fictional)" in text
    mapping = tmp_path / "mapping_files" / "markup.yaml"
    mapping.parent.mkdir()
    mapping.write_text(text.replace("la_name: Testshire (fictional)", 'la_name: "[/bold]x"'))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--mapping",
            str(mapping),
            "--period-end",
            "2025-09-30",
            "--out",
            str(out),
            "--connectors",
            str(MAPPING_PATH.parent.parent / "connectors"),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "[/bold]x (LA 999)" in result.output
    assert not crash_dir.exists()


def test_markup_and_control_characters_in_the_run_summary_are_shown_escaped():
    from rich.console import Console

    from cldetl.cli.produce import print_run_summary

    console = Console(record=True, width=200, color_system=None)
    print_run_summary(
        console,
        {
            "authority": "[/]\x1b[2J",
            "la_code": "[red]",
            "period": "01/10/2024 to 30/09/2025",
            "rows_written": 3,
            "reconciliation": [
                {"source": "[/x]", "read": 1, "in_output": 1, "person_details": 0, "excluded": 0}
            ],
            "excluded_by_reason": {"[bold]odd[/]": 2},
            "unmapped_codes": 0,
            "unmapped_rows": 0,
            "validation_errors": 0,
            "validation_warnings": 0,
            "files": {"cld": "x.csv", "exclusions": "/out/[b]exclusions.csv"},
        },
    )
    text = console.export_text()
    assert "[/]\\x1b[2J (LA [red])" in text
    assert "[/x]" in text and "[bold]odd[/]" in text and "/out/[b]exclusions.csv" in text
    assert "\x1b" not in text


def test_an_internal_check_failing_is_exit_70_with_its_message_and_a_report(
    crash_dir, good_csv, monkeypatch
):
    from cldetl.errors import InternalError

    def unreconciled(table, **kwargs):
        raise InternalError("source 'steps': read 7 records but 6 accounted for.\nA bug.")

    monkeypatch.setattr("cldetl.cli.check.run_validation", unreconciled)
    result = CliRunner().invoke(cli, ["validate", str(good_csv)])
    assert result.exit_code == EXIT_INTERNAL
    (line,) = result.output.strip().splitlines()
    assert "(InternalError), exit 70: source 'steps': read 7 records but 6 accounted for." in line
    assert len(_crash_files(crash_dir)) == 1
