"""docs/onboarding.md cannot rot: its shell blocks are run, in order, as one script, on a
freshly generated authority (in a temporary folder), and must all succeed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "onboarding.md"

pytestmark = pytest.mark.slow  # generates a database and runs cldetl six times (about 60 s)


def shell_blocks(text: str) -> list[str]:
    """The ```sh blocks of a Markdown file, in order (yaml and other blocks are prose)."""
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def test_the_doc_has_the_walkthrough_commands():
    script = "\n".join(shell_blocks(DOC.read_text(encoding="utf-8")))
    for command in ("generate", "cldetl init-mapping", "cldetl profile", "cldetl test-mapping"):
        assert command in script, command
    assert "cldetl run" in script and "cldetl validate" in script


def test_the_walkthrough_runs_as_written(tmp_path):
    script = "set -euo pipefail\n" + "\n".join(shell_blocks(DOC.read_text(encoding="utf-8")))
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),  # `python -m examples...` from outside the checkout
        "COLUMNS": "120",
    }
    env.pop("NEWSHIRE_DB_URL", None)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output
    mapping = tmp_path / "out" / "newshire" / "newshire.yaml"
    text = mapping.read_text()
    assert "suggested (" in text
    # Newshire names things its own way: its codes were found and written in place, marked.
    assert "route_code_question: Q_ROUTE  # suggested: check (the example's" in text
    assert "# TODO:" not in text
    assert re.search(r"^4\d$", done.stdout, flags=re.M)  # the `grep -c` of the marks
    assert re.search(r"\d+ value\(s\) still marked '# suggested: check'", output)
    assert re.search(r"1 passed, 0 failed", output)
    assert "0 code(s) found that the mapping does not map." in output
    assert re.search(r"CLD_R2_995_20250930\.csv: \d+ rows, no errors", output)
    assert (tmp_path / "out/newshire/return/2025-09-30/latest/reconciliation.csv").exists()
