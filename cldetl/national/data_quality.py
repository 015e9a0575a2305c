"""The data quality value of each field of each row, as DHSC's GetDQValues reports it.

Stored_procedures/create_GetDQValues_procedure.sql (commit 7396fab, lines 36-48) reads DLP's
per-field results: field status 2 mandatory, 1 applicable but not mandatory, 0 not applicable;
result >= 1 valid, 0 blank where allowed, -1 blank where mandatory, below -1 invalid (DLP's -2
to -6 tell kinds of invalid apart; -7, a Release 1 value, was added for Q4 2025-26). Its field
list is DHSC's (national.yaml `data_quality.fields`): no First Name or Last Name items.

Here the status comes from the spec's Annex A rules (mandatory when a rule holds, not
applicable under a "does not apply" rule) and the result from the validator's findings on the
field: a list or type finding is invalid (-2), a Release 1 value -7. The preview does not tell
DLP's -2 to -6 apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cldetl.validate.checks.context import CheckContext

SUMMARY_COLUMNS = ("module", "data_field", "field", "status", "code", "label", "rows")


def _flagged(lines: np.ndarray, found: pd.DataFrame, rules: tuple[str, ...]) -> np.ndarray:
    """Which rows (by position) have a finding of one of `rules` (prefixes)."""
    at = np.zeros(len(lines), dtype=bool)
    chosen = found[found["rule"].str.startswith(rules)]
    if chosen.empty:
        return at
    where = np.searchsorted(lines, chosen["line"].astype("int64").to_numpy())
    where = where[where < len(lines)]
    ok = lines[where] == chosen["line"].astype("int64").to_numpy()[: len(where)]
    at[where[ok]] = True
    return at


def dq_codes(ctx: CheckContext, findings: pd.DataFrame, method: dict) -> pd.DataFrame:
    """Per row, for each of DHSC's data fields: its status and result code (int8 columns
    '<field> status' and '<field> code'), in DHSC's field order. Fields absent from the file are
    blank on every row."""
    dq = method["data_quality"]
    codes, statuses = dq["codes"], dq["statuses"]
    lines = np.asarray(ctx.table.lines, dtype=np.int64)
    row_findings = findings[findings["line"].notna()]
    by_column = dict(tuple(row_findings.groupby("column"))) if len(row_findings) else {}
    out = {}
    for _module, data_field, name in dq["fields"]:
        applicable = np.ones(ctx.n, dtype=bool)
        for rule in ctx.spec.not_applicable:
            if name in rule.fields:
                applicable &= ~ctx.holds(rule.when).to_numpy()
        mandatory = np.zeros(ctx.n, dtype=bool)
        for rule in ctx.spec.mandatory_for(name):
            mandatory |= ctx.holds(rule.when).to_numpy()
        mandatory &= applicable
        blank = ctx.blank(name).to_numpy()
        mine = by_column.get(name, row_findings.iloc[:0])
        release1 = _flagged(lines, mine, ("list.release1",)) & ~blank
        invalid = _flagged(lines, mine, ("type.", "list.")) & ~blank & ~release1
        status = np.where(
            mandatory,
            statuses["mandatory"]["code"],
            np.where(
                applicable, statuses["applicable"]["code"], statuses["not_applicable"]["code"]
            ),
        ).astype(np.int8)
        code = np.select(
            [blank & mandatory, blank, release1, invalid],
            [
                codes["missing"]["code"],
                codes["blank"]["code"],
                codes["release1"]["code"],
                codes["invalid"]["code"],
            ],
            default=codes["valid"]["code"],
        ).astype(np.int8)
        out[f"{data_field} status"] = status
        out[f"{data_field} code"] = code
    return pd.DataFrame(out, index=ctx.frame.index)


def dq_pairs(codes: pd.DataFrame, method: dict) -> pd.DataFrame:
    """Each field's status and code as one small number a row (status * 16 + code + 8, one
    byte): what the preview keeps per row for the whole file, half the size of the two."""
    out = {}
    for _module, data_field, _name in method["data_quality"]["fields"]:
        out[data_field] = (
            codes[f"{data_field} status"].to_numpy(np.int16) * 16
            + codes[f"{data_field} code"].to_numpy(np.int16)
            + 8
        ).astype(np.uint8)
    return pd.DataFrame(out, index=codes.index)


def dq_unpaired(pairs: pd.DataFrame, method: dict) -> pd.DataFrame:
    """dq_pairs back to the '<field> status' and '<field> code' int8 columns."""
    out = {}
    for _module, data_field, _name in method["data_quality"]["fields"]:
        pair = pairs[data_field].to_numpy(np.int16)
        out[f"{data_field} status"] = (pair // 16).astype(np.int8)
        out[f"{data_field} code"] = (pair % 16 - 8).astype(np.int8)
    return pd.DataFrame(out, index=pairs.index)


# dq_pairs' values: status (0..2) * 16 + code (-7..1) + 8, so fewer than 48.
PAIR_VALUES = 48


def dq_counts(pairs: pd.DataFrame, method: dict) -> np.ndarray:
    """Rows per field and pair value (one row per field of DHSC's list, PAIR_VALUES columns):
    what GetDQValues counts, and what adds up across batches, so a preview that keeps no
    per-row codes still has the whole file's table."""
    fields = method["data_quality"]["fields"]
    out = np.zeros((len(fields), PAIR_VALUES), dtype=np.int64)
    for i, (_module, data_field, _name) in enumerate(fields):
        out[i] = np.bincount(pairs[data_field].to_numpy(np.int64), minlength=PAIR_VALUES)
    return out


def dq_summary(pairs: pd.DataFrame, method: dict) -> pd.DataFrame:
    """Rows per field, status and result, as GetDQValues aggregates them (COUNT(*)), from
    dq_pairs (status 0..2 and code -7..1 as one small number, counted with bincount)."""
    return dq_summary_of(dq_counts(pairs, method), method)


def dq_summary_of(counts: np.ndarray, method: dict) -> pd.DataFrame:
    """dq_summary from dq_counts (summed over the batches)."""
    dq = method["data_quality"]
    label = {c["code"]: c["label"] for c in dq["codes"].values()}
    status_label = {s["code"]: s["label"] for s in dq["statuses"].values()}
    parts = []
    for (module, data_field, name), field_counts in zip(dq["fields"], counts, strict=True):
        found = np.nonzero(field_counts)[0]
        parts.append(
            pd.DataFrame(
                {
                    "module": module,
                    "data_field": data_field,
                    "field": name,
                    "status": found // 16,
                    "code": found % 16 - 8,
                    "rows": field_counts[found],
                }
            )
        )
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    table["label"] = table["code"].map(label)
    table["status"] = table["status"].map(status_label)
    table = table.sort_values(["module", "data_field", "status", "code"], kind="stable")
    order = {f[1]: i for i, f in enumerate(dq["fields"])}
    table = table.sort_values("data_field", key=lambda s: s.map(order), kind="stable")
    return table[list(SUMMARY_COLUMNS)].reset_index(drop=True)
