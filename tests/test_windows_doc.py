"""docs/windows.md and make.ps1 (issue 20, point 1). CI runs Linux, so what can be checked here
is checked: make.ps1's demo is the Makefile's demo step for step; every PowerShell block is
PowerShell (no Linux-only command slipped in); and the blocks the doc marks *checked* are run,
their Windows paths and `$env:` settings translated, and must succeed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from examples.mosaic_liquidlogic.generate import build_database

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "windows.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```powershell\n(.*?)```", re.DOTALL)
CHECKED = re.compile(r"^\*checked\*[^\n]*\n+```powershell\n(.*?)```", re.DOTALL | re.MULTILINE)


def makefile_demo() -> list[str]:
    """The Makefile's demo recipe as steps: 'python ARGS' or 'cldetl ARGS'."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = text.split("\ndemo: venv\n", 1)[1].split("\n\n", 1)[0]
    steps = []
    for line in recipe.splitlines():
        line = line.strip()
        found = re.match(r"\$\(BIN\)/(python|cldetl) (.*)", line)
        if found:
            args = found[2].replace("$(PERIOD_END)", "PERIOD").replace('"', "")
            args = re.sub(r"\$\$(\w+)", r"ENV:\1", args)
            steps.append(f"{found[1]} {args}")
    return steps


def powershell_demo() -> list[str]:
    text = (ROOT / "make.ps1").read_text(encoding="utf-8")
    recipe = text.split('"demo" {', 1)[1].split("\n    }", 1)[0]
    steps = []
    for line in recipe.splitlines():
        found = re.match(r"\s*Invoke-(Python|Cldetl) (.*)", line)
        if found:
            args = found[2].replace("$PeriodEnd", "PERIOD")
            args = re.sub(r"\$env:(\w+)", r"ENV:\1", args)
            steps.append(f"{found[1].lower()} {args}")
    return steps


def test_make_ps1_demo_is_the_makefile_demo():
    assert len(makefile_demo()) == 6
    assert powershell_demo() == makefile_demo()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    script = (ROOT / "make.ps1").read_text(encoding="utf-8")
    assert re.search(r"^PERIOD_END \?= (\S+)$", makefile, re.M)[1] in script
    assert "pip install -c constraints.txt -e '.[dev,ge]'" in makefile
    assert 'pip install -c constraints.txt -e ".[dev,ge]"' in script
    for name in ("EASTMOOR", "WESTVALE", "NORTHFEN"):
        assert f"$env:{name}_DB_URL" in script


# What a Linux reader would type that PowerShell does not know (or that is a Linux path).
LINUX_ONLY = re.compile(
    r"\.venv/bin|^\s*(export|sudo|set -a|source|systemctl)\b|\$\(pwd\)|~/", re.M
)


def test_every_powershell_block_is_windows_only():
    blocks = BLOCK.findall(DOC)
    assert len(blocks) >= 10
    for block in blocks:
        assert not LINUX_ONLY.search(block), block


def translate(line: str) -> list[str]:
    """A PowerShell command line of the doc as argv here: Windows paths with '/', the
    commands from this checkout's virtualenv."""
    words = shlex.split(line.replace("\\", "/"))
    program = {"cldetl": [sys.executable, "-m", "cldetl"]}[words[0]]
    return program + words[1:]


def test_the_checked_blocks_run(tmp_path):
    """From a folder laid out as the cldetl folder after `.\\make.ps1 demo` (the mappings and
    connectors, and the Eastmoor example database)."""
    for name in ("mappings", "connectors", "flows"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    build_database("mosaic", f"sqlite:///{tmp_path / 'out' / 'examples' / 'eastmoor.db'}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    blocks = CHECKED.findall(DOC)
    assert len(blocks) == 2
    ran = 0
    for block in blocks:
        for line in block.strip().splitlines():
            setting = re.fullmatch(r'\$env:(\w+) = "(.*)"', line.strip())
            if setting:
                env[setting[1]] = setting[2]
                continue
            done = subprocess.run(
                translate(line), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
            )
            assert done.returncode == 0, (line, done.stdout[-2000:], done.stderr[-2000:])
            ran += 1
    assert ran == 5
    (period,) = (tmp_path / "out" / "windows-doc" / "eastmoor").glob("2025-09-30")
    (run,) = period.glob("run-*")
    assert (run / "CLD_R2_998_20250930.csv").is_file() and (run / "report.html").is_file()


@pytest.mark.parametrize("url", re.findall(r'"(mssql\+pyodbc://[^"]+)"', DOC))
def test_the_doc_urls_are_windows_authentication_and_read_only(url):
    assert "trusted_connection=yes" in url and "ApplicationIntent=ReadOnly" in url
