"""docs/national.md stays true: its commands run, and the DHSC files and lines it cites are the
ones the spec data cites (cldetl/spec/national.yaml)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.national import national_method

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "national.md").read_text()
COMMANDS = [
    line.strip()
    for block in re.findall(r"```sh\n(.*?)```", DOC, flags=re.S)
    for line in block.splitlines()
    if line.strip().startswith("cldetl ")
]


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_in_the_doc_runs(command, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, shlex.split(command)[1:])
    assert result.exit_code == 0, result.output


def test_the_doc_cites_the_files_the_spec_data_follows():
    method = national_method()
    for step in ("reporting_period", "period_filter", "derived_fields", "deduplication"):
        assert f"`{method[step]['file']}`" in DOC, step
    assert f"`{method['data_quality']['file']}` ({method['data_quality']['commit'][:7]})" in DOC
    assert method["commit"][:7] in DOC
