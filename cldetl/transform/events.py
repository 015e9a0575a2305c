"""Event rows from source records: the mapping's exclusions first, then its event rules (first
match wins; a record may give several rows), person details joined, the guidance's rules, and
the lineage of every row written."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cldetl.spec.parsers import whole_years
from cldetl.transform.filters import as_text, matches
from cldetl.transform.output import EVENT_FIELDS
from cldetl.transform.person_details import PERSON, add_dated_details
from cldetl.transform.service_lines import MEMBER_KEYS, MEMBERS, chain_service_lines
from cldetl.transform.sources import KEY, POSITION
from cldetl.transform.values import UnmappedCodes, ValueContext, evaluate_value

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import EventRow, EventRule, Mapping, Value
    from cldetl.spec import Spec
    from cldetl.spec.period import ReportingPeriod
from cldetl.transform import guidance_rules as rules
from cldetl.transform.columns import (
    CANDIDATE,
    KIND,
    LINKED,
    ROW,
    RULE,
    SOURCE,
)
from cldetl.transform.ledger import _Ledger
from cldetl.transform.linked_people import _linked_ids


def _apply_exclusions(mapping: Mapping, sources: dict[str, pd.DataFrame], ledger: _Ledger) -> None:
    for exclusion in mapping.exclusions:
        for name in exclusion.sources:
            ledger.exclude(
                name, matches(exclusion.when, sources[name]), exclusion.reason, exclusion.name
            )


def _event_candidates(
    mapping: Mapping,
    spec: Spec,
    sources: dict[str, pd.DataFrame],
    ledger: _Ledger,
    unmapped: UnmappedCodes,
) -> pd.DataFrame:

    parts = []
    next_id = 0
    for rule in mapping.events:
        frame = sources[rule.source]
        free = ledger.status[rule.source].eq("")
        taken = free & matches(rule.when, frame)
        ledger.take(rule.source, taken, rule.name)
        records = frame[taken]
        ctx = ValueContext(mapping, spec, rule.source, unmapped)
        if rule.service_lines is not None:
            if rule.reference:
                records = records.assign(
                    **{REFERENCE_BASE: evaluate_value(ctx, rule.reference, records, "")}
                )
            records = chain_service_lines(records, rule.service_lines)
        else:
            records = records.assign(**{MEMBERS: records[POSITION], MEMBER_KEYS: records[KEY]})
        for index, row in enumerate(rule.rows):
            emitted = records[matches(row.when, records)]
            if emitted.empty:
                continue
            out = _emit(ctx, rule, row, index, emitted)
            out[CANDIDATE] = range(next_id, next_id + len(out))
            next_id += len(out)
            parts.append(out)
    if not parts:
        return _empty_candidates(spec)
    candidates = pd.concat(parts, ignore_index=True)
    ledger.link(candidates)
    return candidates


def _empty_candidates(spec: Spec) -> pd.DataFrame:

    columns = [
        CANDIDATE,
        SOURCE,
        RULE,
        ROW,
        KIND,
        KEY,
        MEMBERS,
        MEMBER_KEYS,
        REFERENCE_BASE,
        LINKED,
        "_row_index",
        PERSON,
        "Client Type",
    ] + EVENT_FIELDS
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
    return frame.astype({CANDIDATE: "int64", "_row_index": "int64", MEMBERS: "object"})


REFERENCE_BASE = "_reference_base"


def _reference_base(ctx: ValueContext, rule: EventRule, row: EventRow, records) -> pd.Series:
    """The event reference a row asks for: its own field, else the rule's (for chained
    service lines, computed on the first line, so it stays put when lines are added)."""

    if "Event Reference" in row.fields:
        return as_text(
            evaluate_value(ctx, row.fields["Event Reference"], records, "Event Reference")
        )
    if REFERENCE_BASE in records:
        return as_text(records[REFERENCE_BASE])
    if rule.reference:
        return as_text(evaluate_value(ctx, rule.reference, records, "Event Reference"))
    return pd.Series("", index=records.index, dtype="string")


def _emit(
    ctx: ValueContext, rule: EventRule, row: EventRow, index: int, records: pd.DataFrame
) -> pd.DataFrame:
    """The CLD rows one EventRow gives for the matching records (event fields only)."""

    out = pd.DataFrame(index=records.index)
    out[SOURCE] = rule.source
    out[RULE] = rule.name
    out[ROW] = row.name or (row.event_type or "carer_by_association").lower()
    out[KIND] = row.kind
    out[KEY] = records[KEY]
    out[MEMBERS] = records[MEMBERS]
    out[MEMBER_KEYS] = records[MEMBER_KEYS]
    out[REFERENCE_BASE] = _reference_base(ctx, rule, row, records)
    out["_row_index"] = index
    out[PERSON] = as_text(records[row.person or rule.person])
    client_type = row.client_type or rule.client_type
    out["Client Type"] = evaluate_value(ctx, client_type, records, "Client Type")
    out["Event Type"] = row.event_type or ""
    columns = ctx.mapping.sources[rule.source].columns
    lists = [c for c in row.linked_people if columns.get(c) == "list"]
    out[LINKED] = _linked_ids(records, row.linked_people, lists)
    same_as = {}
    for field, value in row.fields.items():
        if value.same_as:
            same_as[field] = value.same_as
            continue
        if value.outcomes:
            records, value = _every_outcome(records, value)
        out[field] = evaluate_value(ctx, value, records, field)
    for field, other in same_as.items():
        out[field] = out[other]
    return out.reset_index(drop=True)


def _every_outcome(records: pd.DataFrame, value: Value) -> tuple[pd.DataFrame, Value]:
    """No cap on outcomes: an `outcomes` column may hold several (all the next actions of a
    step, ';'-separated); each takes part in the guidance's hierarchy as a column of its own
    (named '<column> (part N)' in unmapped_codes.csv)."""
    columns: list[str] = []
    added = {}
    for column in value.outcomes or []:
        text = as_text(records[column])
        if not text.str.contains(";", regex=False).fillna(False).any():
            columns.append(column)
            continue
        parts = text.str.split(";", expand=True)
        for i in parts.columns:
            name = f"{column} (part {i + 1})"
            added[name] = parts[i].str.strip()
            columns.append(name)
    if not added:
        return records, value
    return records.assign(**added), value.model_copy(update={"outcomes": columns})


def _with_person_details(mapping, spec, candidates, people, sources, period, unmapped):

    rows = candidates.merge(people, on=PERSON, how="left", suffixes=("", "_person"))
    for field in EVENT_FIELDS + [
        "Adult 1 Linked Person_ID",
        "Adult 2 Linked Person_ID",
        "Adult 3 Linked Person_ID",
    ]:
        if field not in rows:
            rows[field] = pd.NA
    for field in ("Event Start Date", "Event End Date", "Date of Birth", "Date of Death"):
        if field not in rows:
            rows[field] = pd.NaT
        rows[field] = pd.to_datetime(rows[field], errors="coerce").astype("datetime64[ns]")
    rows = add_dated_details(mapping, spec, rows, sources, period.end, unmapped)
    return rows


def _apply_guidance(mapping: Mapping, rows: pd.DataFrame, period: ReportingPeriod) -> None:

    for field in rows.columns:
        if rows[field].dtype == object and field not in (MEMBERS,):
            rows[field] = rows[field].astype("string")
    defaults = mapping.defaults
    rules.event_end_date_at_death(rows, defaults.death_ends_services)
    rules.event_end_date_open_services(rows, period)
    rules.event_outcome_open_services(rows)
    rules.financial_assessment_fields(rows)
    rules.unpaid_carer_defaults(rows, defaults)
    age = whole_years(
        rows["Date of Birth"], rows["Event End Date"].fillna(pd.Timestamp(period.end))
    )
    rules.employment_status_65_plus(rows, age, defaults.employment_status_blank_65_plus)


def _lineage(rows: pd.DataFrame, order) -> pd.DataFrame:
    """Where each output row came from, in output order (line 2 is the first data row)."""

    ordered = rows.loc[order, ["Event Reference", SOURCE, MEMBER_KEYS, RULE, ROW]]
    return pd.DataFrame(
        {
            "line": range(2, len(ordered) + 2),
            # Arrow-backed text stays so (NumPy would make a Python object per value).
            "event_reference": ordered["Event Reference"].array,
            "source": ordered[SOURCE].array,
            "source_keys": ordered[MEMBER_KEYS].array,
            "source_records": (ordered[MEMBER_KEYS].str.count(";") + 1).to_numpy(),
            "rule": ordered[RULE].array,
            "row": ordered[ROW].array,
        }
    )
