"""The findings as the report and the workbook list them: where to look, never what was there.

An analyst fixing a file needs the line, the Event Reference and the LA Person ID to find the
record in the case system; a manager needs the count by rule. Neither needs the submitted value
of a personal field, so findings are shown without their `value`, and a message that would
repeat a hidden value has it replaced (the console's rule, `cldetl.report.console.console_safe`). An
identifier that the privacy check found holding the person's name, date of birth or postcode is
itself personal data, so it is hidden on that line too.

Every value taken from the file is truncated and stripped of control characters here, once,
for both outputs (the page escapes markup through its template's autoescaping; the workbook
escapes formulas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cldetl.report.console import HIDDEN, console_safe

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.spec import Spec
    from cldetl.validate.csvfile import CldTable
    from cldetl.validate.findings import ValidationReport

EVENT_REFERENCE = "Event Reference"
PERSON_ID = "LA Person Unique Identifier"
IDENTIFIERS = {"event_reference": EVENT_REFERENCE, "person_id": PERSON_ID}
# Columns of a listed finding, in the order both outputs show them.
FINDING_FIELDS = {
    "line": "Line",
    "event_reference": EVENT_REFERENCE,
    "person_id": "LA Person ID",
    "column": "Column",
    "rule": "Rule",
    "severity": "Severity",
    "message": "Message",
}
IDENTIFIER_CHARS = 60
MESSAGE_CHARS = 300
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"


def clean_text(values: pd.Series, limit: int) -> pd.Series:
    """Text fit to show: control characters replaced by '?', cut to `limit` characters."""
    text = values.astype("string").fillna("")
    text = text.str.replace(CONTROL_CHARACTERS, "?", regex=True)
    too_long = text.str.len() > limit
    if too_long.any():
        text = text.where(~too_long, text.str.slice(0, limit - 1) + "\u2026")
    return text


def _masked_messages(spec: Spec, findings: pd.DataFrame) -> pd.Series:
    """Messages with any hidden value replaced (they should never hold one; make sure)."""

    safe_columns = {c for c in findings["column"].dropna().unique() if console_safe(spec, c)}
    risky = findings["value"].notna() & ~findings["column"].isin(safe_columns)
    messages = findings["message"].astype(object).copy()
    if risky.any():
        part = findings.loc[risky, ["value", "message"]]
        messages.loc[risky] = [
            m.replace(v, HIDDEN) if isinstance(v, str) and v else m
            for v, m in part.itertuples(index=False, name=None)
        ]
    return pd.Series(messages, index=findings.index)


def finding_rows(table: CldTable, report: ValidationReport, spec: Spec) -> pd.DataFrame:
    """One row per finding with the columns of FINDING_FIELDS, in the report's order."""

    findings = report.findings.reset_index(drop=True)
    lines = findings["line"]
    rows = pd.Index(np.asarray(table.lines, dtype="int64"))
    position = rows.get_indexer(lines.fillna(-1).astype("int64").to_numpy())
    found = position >= 0
    out = pd.DataFrame({"line": lines.astype("Int64")})
    flagged = findings[findings["rule"].eq("privacy.identifier")]
    for key, column in IDENTIFIERS.items():
        values = np.full(len(findings), "", dtype=object)
        if column in table.frame.columns and len(findings):
            source = table.frame[column].to_numpy(dtype=object)
            values[found] = source[position[found]]
            hidden = lines.isin(flagged.loc[flagged["column"].eq(column), "line"]).to_numpy(
                dtype=bool, na_value=False
            )
            values[hidden] = HIDDEN
        out[key] = clean_text(pd.Series(values, dtype=object), IDENTIFIER_CHARS)
    out["column"] = clean_text(findings["column"], IDENTIFIER_CHARS)
    out["rule"] = findings["rule"].astype("string")
    out["severity"] = findings["severity"].astype("string")
    out["message"] = clean_text(_masked_messages(spec, findings), MESSAGE_CHARS)
    return out[list(FINDING_FIELDS)]
