"""Helpers for tests/test_flows.py: a tiny fictional authority and a way to load the flows.

`flows/` is a folder of Prefect entrypoint scripts, not a package, so the tests load the flow
modules by file path under the same module names `flows/all_authorities.py` uses
(`cldetl_flows_<stem>`): the test and the flows then share one module object, and patches made
by a test are the ones the flows see.

The tiny authority is tests/data/mapping_files/testshire.yaml under another LA code, with its
source rows given here (no database): tests replace `cldetl.extract.extract_source` with
`FakeSources`, which returns these rows as the source's frame.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from pathlib import Path
from types import ModuleType

import yaml

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
TESTSHIRE = ROOT / "tests" / "data" / "mapping_files" / "testshire.yaml"
PERIOD_END = date(2025, 9, 30)

# Valid NHS numbers (mod 11 check digit), and one whose check digit is wrong.
NHS = ("9434765919", "4010232137", "4857773457")
BAD_NHS = "9434765918"

# One coherent set of source rows for Testshire's sources (YAML, as a mapping's tests give
# them): a conversation 1 at first contact, a joint carer assessment, a carer's review, a
# safeguarding step (excluded), home care by direct payment and respite that makes a carer known
# by association. Gender X has no lookup entry: an unmapped code.
ROWS: dict[str, list[dict]] = yaml.safe_load(
    f"""
people:
  - {{person_id: 1, first_name: Ada, last_name: Example, dob: 1950-01-01, gender: F,
     nhs: "{NHS[0]}", postcode: LN1 1YL}}
  - {{person_id: 2, first_name: Ben, last_name: Sample, dob: 1955-02-02, gender: M,
     nhs: "{NHS[1]}", postcode: LN2 2AB}}
  - {{person_id: 3, first_name: Cal, last_name: Person, dob: 1990-03-03, gender: X,
     nhs: "{NHS[2]}", postcode: LN3 3CD}}
psr_history:
  - {{person_id: 1, psr_code: LD, start: 2020-01-01}}
  - {{person_id: 1, psr_code: PC, start: 2025-08-01}}
steps:
  - {{step_id: 3155, person_id: 1, step_type: 1001, started: 2025-07-04, completed: 2025-07-18,
     status: COMPLETED, route: HOSP, outcome1: IA, at_contact: Y}}
  - {{step_id: 20, person_id: 1, step_type: 1003, started: 2025-05-01, completed: 2025-05-20,
     status: COMPLETED, outcome1: SVC, joint: Y}}
  - {{step_id: 21, person_id: 2, step_type: 2001, started: 2025-05-01, completed: 2025-05-20,
     status: COMPLETED, outcome1: SVC, joint: Y, cared_for_id: 1}}
  - {{step_id: 101, person_id: 3, step_type: 4001, started: 2025-06-01, completed: 2025-06-02,
     status: COMPLETED, outcome1: CONT, client: C}}
  - {{step_id: 110, person_id: 1, step_type: 9001, started: 2025-05-01, completed: 2025-05-02,
     status: COMPLETED}}
lines:
  - {{line_id: 70, person_id: 1, service: HC, provider: P1, delivery: DP, start: 2025-01-01,
     cost: 20, freq: H, units: 7}}
  - {{line_id: 50, person_id: 1, service: RESP, provider: P9, delivery: COM, start: 2025-03-01,
     end: 2025-03-14, carer_id: 2}}
"""
)


def load_flow_module(stem: str) -> ModuleType:
    """flows/<stem>.py, loaded as the CLI and the flows load it (one copy per process)."""
    from cldetl.cli.flows_loader import load_flows_module

    return load_flows_module(stem, FLOWS / f"{stem}.py")


def write_mapping(folder: Path, la_code: int = 901, la_name: str = "Flowshire") -> Path:
    """Testshire's mapping under another LA code and name, as `<folder>/<name>.yaml`."""
    raw = yaml.safe_load(TESTSHIRE.read_text(encoding="utf-8"))
    raw["metadata"]["la_code"] = la_code
    raw["metadata"]["la_name"] = la_name
    raw["tests"] = []
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{la_name.lower()}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def outage(name: str) -> Exception:
    """A transient fault, as the extract layer reports one (CldetlError.transient)."""
    from cldetl.errors import InputError

    error = InputError(f"source '{name}': the connection was refused (test outage)")
    error.transient = True
    return error


def missing_table(name: str) -> Exception:
    """A permanent fault: retrying cannot help."""
    from cldetl.errors import InputError

    return InputError(f"source '{name}': table or column missing: no such table: dm_{name}")


class FakeSources:
    """Stands in for `cldetl.extract.extract_source`: the rows above as each source's frame
    (without table counts: the reconciliation's table rows stay blank).

    `fail` maps a source name to how many calls of it raise before one succeeds (an outage
    that a retry gets past), raising `error(name)` (default: a transient `outage`); `bad_nhs`
    gives person 1 an NHS number with a wrong check digit, a validation error in the output.
    `calls` counts calls per source.
    """

    def __init__(
        self, fail: dict[str, int] | None = None, bad_nhs: bool = False, error=outage
    ) -> None:
        self.fail = dict(fail or {})
        self.error = error
        self.bad_nhs = bad_nhs
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, mapping, name, period, **_options):
        import pandas as pd

        with self._lock:
            self.calls[name] += 1
            failing = self.fail.get(name, 0) >= self.calls[name]
        if failing:
            raise self.error(name)
        rows = [dict(row) for row in ROWS.get(name, [])]
        if self.bad_nhs and name == "people":
            rows[0]["nhs"] = BAD_NHS
        from cldetl.extract import Extracted

        frame = pd.DataFrame(rows, columns=list(mapping.sources[name].columns))
        return Extracted(frames={name: frame})  # no database behind them: no table counts


# --- a real Dask cluster: `dask scheduler` and `dask worker` processes on 127.0.0.1 ----------


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaskProcesses:
    """A scheduler and worker processes, started as an administrator would on a real cluster
    (`dask scheduler`, `dask worker ADDRESS`), each a process group of its own so that `stop`
    ends them and everything they started. Output goes to files in `logs` (read on failure).
    """

    def __init__(self, logs: Path, env: dict[str, str], workers: int = 2) -> None:
        import os
        import shutil
        import subprocess
        import sys

        self.procs: list[subprocess.Popen] = []
        self.logs = logs
        self.address = f"tcp://127.0.0.1:{free_port()}"
        logs.mkdir(parents=True, exist_ok=True)
        dask = shutil.which("dask", path=os.path.dirname(sys.executable)) or "dask"
        port = self.address.rsplit(":", 1)[1]
        self._start(
            logs / "scheduler.log",
            env,
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--no-dashboard",
                "--dashboard-address",
                "127.0.0.1:0",
                "--no-show",
            ],
        )
        for n in range(workers):
            self._start(
                logs / f"worker-{n}.log",
                env,
                [
                    dask,
                    "worker",
                    self.address,
                    "--host",
                    "127.0.0.1",
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--name",
                    f"worker-{n}",
                    "--local-directory",
                    str(logs / f"worker-{n}"),
                ],
            )

    def _start(self, log: Path, env: dict[str, str], command: list[str]) -> None:
        import subprocess

        with open(log, "wb") as out:
            self.procs.append(
                subprocess.Popen(
                    command,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def wait_for_workers(self, n: int, timeout: float = 180) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(n, timeout=timeout)

    def log_text(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.logs.glob("*.log"))
        )

    def stop(self) -> None:
        import os
        import signal
        import subprocess

        for proc in reversed(self.procs):  # workers first, then the scheduler
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def authority_mapping(folder: Path, template: Path, la_code: int, la_name: str) -> Path:
    """A copy of an example mapping as another authority, reading the database named by
    `<LA NAME>_DB_URL`."""
    raw = yaml.safe_load(template.read_text(encoding="utf-8"))
    raw["metadata"].update(la_code=la_code, la_name=la_name)
    raw["connection"] = {"url_env": f"{la_name.upper()}_DB_URL"}
    raw["tests"] = []
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{la_name.lower()}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


# A run's own bookkeeping, which holds times and process ids: its manifest, the pointer to the
# latest run, and the output folder's lock and staging area.
BOOKKEEPING = {"manifest.json", "latest.json"}
STATE_DIR = ".cldetl"


def published_files(folder: Path) -> dict[str, bytes]:
    """Every data file runs published under `folder` (any depth), by name: the same whether
    the run wrote straight into `folder` or into a run folder per period. Bookkeeping aside."""
    if not folder.exists():
        return {}
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not p.is_symlink()
        and p.name not in BOOKKEEPING
        and STATE_DIR not in p.relative_to(folder).parts
    }
