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
    from cldetl.flows_loader import load_flows_module

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


class FakeSources:
    """Stands in for `cldetl.extract.extract_source`: the rows above as each source's frame.

    `fail` maps a source name to how many calls of it raise before one succeeds (an outage
    that a retry gets past); `bad_nhs` gives person 1 an NHS number with a wrong check digit,
    a validation error in the output. `calls` counts calls per source.
    """

    def __init__(self, fail: dict[str, int] | None = None, bad_nhs: bool = False):
        self.fail = dict(fail or {})
        self.bad_nhs = bad_nhs
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, mapping, name, period, **_options):
        import pandas as pd

        with self._lock:
            self.calls[name] += 1
            failing = self.fail.get(name, 0) >= self.calls[name]
        if failing:
            raise ConnectionError(f"source {name}: the database went away (test outage)")
        rows = [dict(row) for row in ROWS.get(name, [])]
        if self.bad_nhs and name == "people":
            rows[0]["nhs"] = BAD_NHS
        return pd.DataFrame(rows, columns=list(mapping.sources[name].columns))
