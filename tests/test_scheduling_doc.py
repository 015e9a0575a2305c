"""docs/scheduling.md works as written: its Option 1 steps, run against a real Prefect server.

The test reads the shell code blocks of the doc's "Option 1" section (up to "Alerts") and runs
their commands in order, from a copy of the project folder, on this machine:

- `prefect server start` and `prefect worker start` keep running, as in their own terminals:
  they are started in the background (each in a process group of its own, stopped at the end);
- `export` and `set -a; . FILE; set +a` lines carry over to the later commands (as in one
  terminal; the database URLs are NOT exported anywhere, so the worker can only have them from
  the secrets file, as the doc says);
- the server runs on a free port, not 4200 (every `4200` in the commands becomes that port);
- the test's own account plays `cldetl`: `sudo useradd` is skipped, `sudo` and `-o/-g cldetl`
  are dropped, and /etc/cldetl becomes a temporary folder;
- `.venv/bin/` is this test's virtualenv.

Then the run that `prefect deployment run` created must complete, under the name of its
period, with its artifacts and the CLD file it points to.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.flow_fixtures import ROOT, free_port

DOC = ROOT / "docs" / "scheduling.md"
VENV_BIN = Path(sys.executable).parent
BACKGROUND = ("prefect server start", "prefect worker start")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def option_1_commands(text: str) -> list[str]:
    """The command lines of the ```sh blocks between "## Option 1" and "### Alerts"."""
    section = text[text.index("## Option 1") : text.index("### Alerts")]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def as_this_account(line: str, etc: Path, port: int) -> str | None:
    """The doc's command as the test runs it (None: skipped); see the module docstring."""
    if line.startswith("sudo useradd"):
        return None
    line = re.sub(r"^sudo ", "", line)
    line = line.replace(" -o cldetl", "").replace(" -g cldetl", "")
    line = line.replace("/etc/cldetl", str(etc)).replace("4200", str(port))
    return line.replace(".venv/bin/", f"{VENV_BIN}/")


def test_the_doc_has_the_steps_the_test_follows():
    commands = option_1_commands(DOC.read_text(encoding="utf-8"))
    joined = "\n".join(commands)
    for step in (
        "useradd",
        "install -d -m 700 -o cldetl",
        "prefect server start --host 127.0.0.1 --port 4200",
        "PREFECT_UI_API_URL=http://127.0.0.1:4200/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED=false",
        "prefect work-pool create cldetl-local --type process",
        "deploy --all",
        ". /etc/cldetl/cldetl.env",
        "prefect worker start --pool cldetl-local",
        "prefect deployment run 'quarterly-return/eastmoor-quarterly'",
    ):
        assert step in joined, step
    # The account exists before anything is installed for it.
    assert joined.index("useradd") < joined.index("-o cldetl")
    # No database URL is exported in a terminal: the worker reads them from the secrets file.
    assert not re.search(r"export\s+\w+_DB_URL", joined)


class Background:
    """Long-running commands, each in its own process group, output to a log file."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[subprocess.Popen] = []

    def start(self, script: str, cwd: Path, env: dict[str, str]) -> None:
        log = self.logs / f"background-{len(self.procs)}.log"
        with open(log, "wb") as out:
            self.procs.append(
                subprocess.Popen(
                    ["bash", "-c", script],
                    cwd=cwd,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def text(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.logs.glob("background-*.log"))
        )

    def stop(self) -> None:
        for proc in reversed(self.procs):  # the worker (and its flow runs) first
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def wait_for_health(api: str, background: Background, timeout: float = 240) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in background.procs):
            pytest.fail(f"the server stopped:\n{background.text()}")
        try:
            if httpx.get(f"{api}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"the Prefect server did not answer on {api}:\n{background.text()}")


def wait_for_run(api: str, run_id: str, background: Background, timeout: float = 600) -> dict:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(f"{api}/flow_runs/{run_id}", timeout=30)
        if response.status_code == 200:
            run = response.json()
            if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                return run
        time.sleep(2)
    pytest.fail(f"flow run {run_id} did not finish:\n{background.text()}")


@pytest.mark.slow
def test_scheduling_doc_option_1_as_written(tmp_path):
    import httpx

    project = tmp_path / "cldetl"  # the project folder, as cloned into /srv/cldetl/cldetl
    for folder in ("flows", "mappings", "connectors", "examples"):
        shutil.copytree(ROOT / folder, project / folder, ignore=shutil.ignore_patterns("out"))
    shutil.copy(ROOT / "prefect.yaml", project)
    etc = tmp_path / "etc-cldetl"
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    for name in ("EASTMOOR_DB_URL", "WESTVALE_DB_URL", "DO_NOT_TRACK"):
        env.pop(name, None)
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # cldetl's Prefect profile
    env["PYTHONPATH"] = ""

    prelude: list[str] = []
    ran: list[str] = []
    run_output = ""
    background = Background(tmp_path)
    try:
        for line in option_1_commands(DOC.read_text(encoding="utf-8")):
            command = as_this_account(line, etc, port)
            if command is None:
                continue
            # One line each, as typed: a line's trailing comment ends at its newline.
            script = "\n".join(["set -e", *prelude, command])
            if any(b in command for b in BACKGROUND):
                background.start("\n".join(["set -e", *prelude, f"exec {command}"]), project, env)
                if "server start" in command:
                    wait_for_health(api, background)
                ran.append(command)
                continue
            done = subprocess.run(
                ["bash", "-c", script],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            ran.append(command)
            if command.startswith(("export ", "set -a")):
                prelude.append(command)
            if "deployment run" in command:
                run_output = done.stdout + done.stderr

        assert any("worker start" in c for c in ran) and run_output, ran
        run_id = UUID.search(run_output).group(0)
        run = wait_for_run(api, run_id, background)
        assert run["state"]["type"] == "COMPLETED", (run["state"], background.text())
        assert run["name"] == "eastmoor-2025-09-30"

        found = httpx.post(
            f"{api}/artifacts/filter",
            json={"artifacts": {"flow_run_id": {"any_": [run_id]}}},
            timeout=30,
        ).json()
        keys = {a["key"] for a in found}
        assert {
            "cld-998-2025-09-30-return",
            "cld-998-2025-09-30-reconciliation",
            "cld-998-2025-09-30-validation",
            "cld-998-2025-09-30-unmapped-codes",
        } <= keys, keys
        summary = next(a for a in found if a["key"] == "cld-998-2025-09-30-return")["data"]
        cld = re.search(r"`(/[^`]*CLD_R2_998_20250930\.csv)`", summary)
        assert cld, summary  # an absolute path ...
        assert Path(cld.group(1)).is_file()  # ... to the file the run wrote
        assert Path(cld.group(1)).is_relative_to(project / "out" / "eastmoor")
    finally:
        background.stop()
    assert all(p.poll() is not None for p in background.procs)
