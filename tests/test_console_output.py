"""Console output when not on a terminal (issue 20, point 5): a scheduled task's log or
`cldetl run | tee run.log` gets lines that are never wrapped, so every path is printed whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cldetl.cli.terminal import output_console
from tests.testshire import MAPPING_PATH, build_database

ROOT = Path(__file__).resolve().parents[1]


def test_run_prints_every_path_whole_into_a_pipe(tmp_path):
    # A path far wider than 80 columns, as a network share's often is.
    out = tmp_path / ("Adult Social Care " * 6).strip() / "Client Level Data" / "2025-26"
    env = {
        **os.environ,
        "TESTSHIRE_DB_URL": build_database(tmp_path / "testshire.db"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("COLUMNS", None)
    args = ["run", "--mapping", str(MAPPING_PATH), "--period-end", "30/09/2025", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "cldetl", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stderr
    (run_folder,) = [p for p in out.glob("*/run-*") if p.is_dir()]
    lines = done.stdout.splitlines()
    assert any(line.endswith(f"run folder: {run_folder}") for line in lines), done.stdout
    for name in ("exclusions", "reconciliation"):
        assert any(str(run_folder) in line and name in line for line in lines), name


def test_a_console_not_on_a_terminal_never_wraps(capsys):
    console = output_console()
    path = "C:\\Users\\analyst\\OneDrive - Eastmoor Council\\CLD\\" + "Quarter returns\\" * 12
    console.print(f"  run folder: {path}")
    assert capsys.readouterr().out == f"  run folder: {path}\n"
