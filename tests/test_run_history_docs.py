"""docs/run-history.md as written: its commands run, and the folder it draws is the one a
run leaves."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from cldetl.pipeline import run
from tests.testshire import MAPPING_PATH, build_database

DOC = Path(__file__).parent.parent / "docs" / "run-history.md"


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Two periods of Testshire in out/testshire, as the doc's examples assume."""
    root = tmp_path_factory.mktemp("docs")
    mp = pytest.MonkeyPatch()
    mp.setenv("TESTSHIRE_DB_URL", build_database(root / "testshire.db"))
    try:
        run(MAPPING_PATH, root / "out" / "testshire", date(2025, 6, 30))
        september = run(MAPPING_PATH, root / "out" / "testshire", date(2025, 9, 30))
    finally:
        mp.undo()
    return root, september


def test_the_drawn_folder_is_what_a_run_leaves(history):
    root, september = history
    text = DOC.read_text(encoding="utf-8")
    tree = text.split("```\n", 2)[1]
    # The run folder's files are drawn six spaces in.
    names = re.findall(r"^ {6}([\w.]+\.(?:csv|json|svg))\s", tree, flags=re.M)
    assert len(names) == 9
    for name in names:
        assert (september.run_dir / name).is_file(), name
    assert (root / "out" / "testshire" / ".cldetl" / "lock").is_file()
    for pointer in ("latest", "latest.json"):
        assert (september.run_dir.parent / pointer).exists()


def test_the_docs_commands_run(history):
    root, _ = history
    blocks = sh_blocks(DOC.read_text(encoding="utf-8"))
    commands = [
        line.split("  #")[0]
        for block in blocks
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip() and "PREVIOUS.csv" not in line  # placeholders, run below with files
    ]
    assert any(c.startswith("cldetl compare") for c in commands)
    for command in commands:
        args = shlex.split(command)
        if args[0] == "cldetl":
            args = [sys.executable, "-m", "cldetl", *args[1:]]
        done = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        if args[-1].endswith("latest.json"):
            pointer = json.loads(done.stdout)
            assert set(pointer) == {"run", "manifest"}


def test_the_placeholder_commands_run_on_real_files(history, tmp_path):
    root, september = history
    previous = next((root / "out" / "testshire" / "2025-06-30" / "latest").glob("CLD_*.csv"))
    current = september.files["cld"]
    mapping = tmp_path / "mappings" / "testshire.yaml"
    mapping.parent.mkdir()
    mapping.write_text(MAPPING_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    for block in sh_blocks(DOC.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if "PREVIOUS.csv" not in line:
                continue
            command = line.split("  #")[0].replace("PREVIOUS.csv", str(previous))
            command = command.replace("CURRENT.csv", str(current))
            args = [sys.executable, "-m", "cldetl", *shlex.split(command)[1:]]
            done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, (command, done.stderr)
    assert (tmp_path / "change.svg").read_text().startswith("<svg")
