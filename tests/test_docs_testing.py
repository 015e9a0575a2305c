"""docs/testing.md stays true: the test files and markers it names exist, its pytest commands
name real paths and declared markers, `make mutate` runs mutmut, and the mutation-testing
configuration points at real files."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from glob import glob
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "testing.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _commands(prefix: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC, flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith(prefix)]


def test_every_test_file_named_exists():
    named = set(re.findall(r"`((?:tests|mappings)/[\w/*.]+\.(?:py|yaml))`", DOC))
    named |= {f"tests/{n}" for n in re.findall(r"`(test_\w+\.py)`", DOC)}
    assert named
    missing = [n for n in sorted(named) if not glob(str(ROOT / n))]
    assert missing == []


def test_the_markers_table_is_the_declared_markers():
    declared = {m.split(":")[0] for m in PYPROJECT["tool"]["pytest"]["ini_options"]["markers"]}
    section = DOC.split("## Markers", 1)[1].split("\n## ", 1)[0]
    table = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.M))
    assert table == declared


PYTEST_COMMANDS = _commands(".venv/bin/python -m pytest")


@pytest.mark.parametrize("command", PYTEST_COMMANDS)
def test_each_pytest_command_names_real_paths_and_markers(command):
    """Checked, not run (collecting the whole suite five times would double CI's time): each
    path exists and a -m expression uses only declared markers."""
    args = shlex.split(command)[3:]
    declared = {m.split(":")[0] for m in PYPROJECT["tool"]["pytest"]["ini_options"]["markers"]}
    for flag, value in zip(args, args[1:] + [""], strict=True):
        if flag == "-m":
            words = set(re.findall(r"\w+", value)) - {"not", "and", "or"}
            assert words <= declared, value
    paths = [a for a in args if not a.startswith("-") and ("/" in a or a.endswith(".py"))]
    for path in paths:
        assert (ROOT / path).exists(), path


def test_there_are_pytest_commands_to_check():
    assert len(PYTEST_COMMANDS) >= 4


def test_the_mutation_configuration_points_at_real_files():
    config = PYPROJECT["tool"]["mutmut"]
    for path in config["source_paths"]:
        assert (ROOT / path).is_dir()
    for pattern in config["only_mutate"]:
        assert glob(str(ROOT / pattern))
    for path in config["pytest_add_cli_args_test_selection"]:
        assert (ROOT / path).exists()
    assert "mutmut" in " ".join(PYPROJECT["project"]["optional-dependencies"]["mutate"])


def test_make_mutate_runs_mutmut_on_the_named_mutants():
    done = subprocess.run(
        ["make", "-n", "mutate", "MUTANTS=cldetl.transform.values.*"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "mutmut run --max-children 2 cldetl.transform.values.*" in done.stdout
