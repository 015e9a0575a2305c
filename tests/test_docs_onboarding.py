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
    for command in ("generate", "cldetl init-mapping", "cldetl profile", "cldetl test-mapping",
                    "cldetl mapping-review", "--apply"):  # fmt: skip
        assert command in script, command
    assert "accept them all" not in DOC.read_text(encoding="utf-8")
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
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # onboarding's staging, removed after
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
    assert not any((tmp_path / "cache" / "cldetl" / "staging").iterdir())
    assert "Traceback" not in output
    mapping = tmp_path / "out" / "newshire" / "newshire.yaml"
    text = mapping.read_text()
    # Before the review: the gate said not ready, and the run refused and wrote nothing.
    assert "profile: not ready yet" in output
    assert "not checked yet:" in output and "run: refused until the review is done" in output
    # After it: no mark left, Newshire's own codes in place, signed off in the workbooks.
    assert "# unchecked" not in text and "# TODO" not in text
    assert "route_code_question: Q_ROUTE" in text
    assert (tmp_path / "out/newshire/review.xlsx").exists()
    assert re.search(r"0 TODO\(s\), 0 unchecked suggestion\(s\) and 0 code", output)
    assert "Ready: every code is mapped and every suggestion checked." in output
    assert re.search(r"1 passed, 0 failed", output)
    assert re.search(r"CLD_R2_995_20250930\.csv: \d+ rows, no errors", output)
    assert (tmp_path / "out/newshire/return/2025-09-30/latest/reconciliation.csv").exists()
