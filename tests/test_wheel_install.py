"""cldetl works when installed (issue 18.8): the wheel built from this checkout, installed into
a fresh virtualenv outside the checkout, writes a starter mapping (reading its reference
mappings, meanings and code lists as package data), profiles it and runs it, from a folder that
has no `mappings/` beside it.

The virtualenv borrows the already-installed dependencies (a path line to this environment's
site-packages, after its own: no download), but cldetl itself must come from the wheel: the
test checks where it is imported from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from examples.mosaic_liquidlogic.generate import build_database

ROOT = Path(__file__).resolve().parents[1]
SKIP = (".venv", ".git", "out", "mutants", "__pycache__", "*.egg-info", "build", ".pytest_cache",
        ".hypothesis", ".ruff_cache", "dist")  # fmt: skip

pytestmark = pytest.mark.slow  # builds a wheel and a virtualenv (about 30 s)


def run(args: list, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_installed_wheel_writes_profiles_and_runs_a_starter(tmp_path):
    source = tmp_path / "source"  # a copy: the build leaves nothing in the checkout
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*SKIP))
    wheels = tmp_path / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                 str(source)], tmp_path, dict(os.environ))  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("cldetl-*.whl")

    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / ("Scripts" if os.name == "nt" else "bin") / "python"
    own = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
              tmp_path, {})  # fmt: skip
    site = Path(own.stdout.strip())
    # The dependencies already installed here, after the virtualenv's own packages; a plain
    # path line, so this environment's editable cldetl hook is never loaded.
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    installed = run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                    tmp_path, env)  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run([python, "-c", "import cldetl; print(cldetl.__file__)"], work, env)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout
    assert not Path(where.stdout.strip()).is_relative_to(ROOT)

    database = work / "case.db"
    build_database("liquidlogic", f"sqlite:///{database}", people=40, seed=4)
    env["NEWLA_DB_URL"] = f"sqlite:///{database}"
    cldetl = fresh / ("Scripts" if os.name == "nt" else "bin") / "cldetl"
    starter = run([cldetl, "init-mapping", "--system", "liquidlogic", "--la-code", "990",
                   "--url-env", "NEWLA_DB_URL", "--out", "new.yaml", "--period-end",
                   "2025-09-30"], work, env)  # fmt: skip
    assert starter.returncode == 0, starter.stdout + starter.stderr
    text = (work / "new.yaml").read_text()
    assert "certain: as the example authority maps the same code" in text  # westvale.yaml read

    profile = run([cldetl, "profile", "--mapping", "new.yaml", "--period-end", "2025-09-30"],
                  work, env)  # fmt: skip
    assert profile.returncode in (0, 1), profile.stdout + profile.stderr
    assert "TODO(s)" in profile.stdout

    refused = run([cldetl, "run", "--mapping", "new.yaml", "--period-end", "2025-09-30",
                   "--out", "out"], work, env)  # fmt: skip
    assert refused.returncode == 2 and "not checked yet" in refused.stderr, refused.stderr
    ran = run([cldetl, "run", "--mapping", "new.yaml", "--period-end", "2025-09-30",
               "--out", "out", "--trial"], work, env)  # fmt: skip
    assert ran.returncode in (0, 1), ran.stdout + ran.stderr
    assert list((work / "out").rglob("CLD_R2_990_20250930.csv"))
    assert "Traceback" not in starter.stderr + profile.stderr + ran.stderr
