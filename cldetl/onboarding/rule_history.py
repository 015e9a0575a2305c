"""How many rows each event rule produced in the last run of an earlier period (its
lineage.csv), so a rule that produced rows last quarter and none now is said out loud.

A rule that stops producing rows is how a changed local code shows itself (a question code
renamed, a status retired): the return still validates, with a whole kind of event missing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from cldetl.publish.history import earlier_run

LINEAGE = "lineage.csv"


def rule_rows(lineage: pd.DataFrame) -> dict[str, int]:
    """Rows per event rule in a run's lineage."""
    if lineage is None or "rule" not in lineage or lineage.empty:
        return {}
    return {str(k): int(v) for k, v in lineage["rule"].astype("string").value_counts().items()}


def earlier_rule_rows(out_dir: str | Path | None, period_end: date) -> tuple[Path, dict] | None:
    """The earlier run's rows per rule, or None when there is no earlier run (or no lineage)."""

    if out_dir is None or not Path(out_dir).is_dir():
        return None
    previous = earlier_run(out_dir, period_end)
    if previous is None:
        return None
    path = Path(previous) / LINEAGE
    if not path.is_file() or path.is_symlink():
        return None
    try:
        lineage = pd.read_csv(path, usecols=["rule"], dtype="string")
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    return Path(previous), rule_rows(lineage)


def stopped_rules(previous: dict[str, int], current: dict[str, int]) -> list[tuple[str, int]]:
    """Rules with rows in the earlier run and none now, with the earlier count."""
    return [(rule, n) for rule, n in previous.items() if n > 0 and current.get(rule, 0) == 0]
