"""What a run says about its mapping's onboarding: a trial run of an unchecked mapping is
marked as such, and a rule that produced rows last quarter and none now is a warning.

Both become findings of the run's validation report (rules `run.trial`, `run.rule_stopped` in
the spec), so they reach report.html, the workbook and the console's warning count through
the path every other finding takes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from cldetl.onboarding.marks import mapping_marks
from cldetl.onboarding.rule_history import earlier_rule_rows, rule_rows, stopped_rules
from cldetl.validate.findings import FINDING_COLUMNS

# The rules a run gives about its mapping (never the validator: a file alone cannot say).
TRIAL, RULE_STOPPED = "run.trial", "run.rule_stopped"
RUN_RULES = (TRIAL, RULE_STOPPED)


def run_findings(
    mapping_path: str | Path,
    *,
    trial: bool,
    out_dir: str | Path,
    period_end: date,
    lineage: pd.DataFrame,
) -> pd.DataFrame:
    """The onboarding findings of a run, in the validator's finding table shape."""

    rows = []
    if trial:
        marks = mapping_marks(mapping_path)
        rows.append(
            {
                "rule": TRIAL,
                "message": f"A trial run (--trial) of a mapping with {len(marks)} TODO or "
                "unchecked mark(s) left: not for submission. Review the mapping "
                "(`cldetl mapping-review`) and run again without --trial.",
            }
        )
    earlier = earlier_rule_rows(out_dir, period_end)
    if earlier is not None:
        previous, counts = earlier
        for rule, n in stopped_rules(counts, rule_rows(lineage)):
            rows.append(
                {
                    "rule": RULE_STOPPED,
                    "message": f"Event rule {rule} produced {n:,} row(s) in the earlier run "
                    f"({previous.name}) and none now: check the codes it filters on (a "
                    "changed question code, status or type in the case system?).",
                }
            )
    frame = pd.DataFrame(
        [{"line": None, "column": None, "severity": "warning", "value": None, **r} for r in rows],
        columns=FINDING_COLUMNS,
    )
    return frame
