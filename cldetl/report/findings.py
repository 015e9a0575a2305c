"""The findings as the report and the workbook list them: where to look, never what was there.

An analyst fixing a file needs the line, the Event Reference and the LA Person ID to find the
record in the case system; a manager needs the count by rule. Neither needs the submitted value
of a personal field, so findings are shown without their `value`, and a message that would
repeat a hidden value has it replaced (`shown_on_report`: the console's rule, and stricter: a
Person Details field's defined-list values are hidden too). An identifier that the privacy
check found holding the person's name, date of birth or postcode is itself personal data, so it
is hidden on that line too.

Every value taken from the file is truncated and stripped of control characters here, once,
for both outputs (the page escapes markup through its template's autoescaping; the workbook
escapes formulas).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cldetl.report.console import HIDDEN, console_safe

if TYPE_CHECKING:
    from cldetl.spec import Spec
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


def shown_on_report(spec: Spec, column: str | None) -> bool:
    """Values of this column may appear in a report's messages: coded fields that are not
    about the person. Person Details fields (Ethnicity, Gender, ...) are personal even when
    their values come from a defined list, so neither the value nor a list value of such a
    field (a "did you mean" suggestion would all but repeat it) is shown."""
    if not console_safe(spec, column):
        return False
    return not spec.field(str(column)).section.startswith("Person Details")


def _masked_messages(spec: Spec, findings: pd.DataFrame) -> pd.Series:
    """Messages with any value of a hidden field replaced: the submitted value, and for a
    defined-list field every value of its list (longest first, so none is left half shown)."""

    columns = findings["column"].dropna().unique()
    safe_columns = {c for c in columns if shown_on_report(spec, c)}
    risky = findings["value"].notna() & ~findings["column"].isin(safe_columns)
    messages = findings["message"].astype(object).copy()
    if risky.any():
        part = findings.loc[risky, ["value", "message"]]
        messages.loc[risky] = [
            m.replace(v, HIDDEN) if isinstance(v, str) and v and isinstance(m, str) else m
            for v, m in part.itertuples(index=False, name=None)
        ]
    text = pd.Series(messages, index=findings.index, dtype=object)
    for column in columns:
        if column in safe_columns or not spec.has_field(column):
            continue
        values = sorted((v for v in spec.field(column).values if v), key=len, reverse=True)
        if not values:
            continue
        pattern = "|".join(re.escape(v) for v in values)
        where = findings["column"].eq(column).to_numpy(dtype=bool, na_value=False)
        text.loc[where] = (
            text.loc[where].astype("string").str.replace(pattern, HIDDEN, regex=True).astype(object)
        )
    return text


def finding_rows(identifiers: pd.DataFrame, report: ValidationReport, spec: Spec) -> pd.DataFrame:
    """One row per finding with the columns of FINDING_FIELDS, in the report's order.

    identifiers: event_reference and person_id indexed by line (`FileSummary.identifiers`).
    """

    findings = report.findings.reset_index(drop=True)
    lines = findings["line"]
    known = identifiers[~identifiers.index.duplicated()]
    position = known.index.get_indexer(lines.fillna(-1).astype("int64").to_numpy())
    found = position >= 0
    out = pd.DataFrame({"line": lines.astype("Int64")})
    flagged = findings[findings["rule"].eq("privacy.identifier")]
    for key, column in IDENTIFIERS.items():
        values = np.full(len(findings), "", dtype=object)
        if key in known.columns and len(findings):
            source = known[key].to_numpy(dtype=object)
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
