"""`transform`: source records + a mapping -> CLD rows, exclusions, lineage and reconciliation.

The order follows the guidance: mapping exclusions (out of scope, cancelled), then event rules
(first match wins; a record may give several rows: a request and an assessment, a carer's row
beside the cared-for person's), service lines chained, person details joined (dated ones as at
the event end date), the guidance's rules and defaults, and the reporting-period inclusion.
Every source record ends in the output or in the exclusions with a reason; `reconcile` proves
it, and a run whose counts do not add up fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cldetl.errors import CldetlError
from cldetl.transform import guidance_rules as rules
from cldetl.transform.filters import as_text, matches, member_of
from cldetl.transform.output import EVENT_FIELDS, format_cld, references
from cldetl.transform.person_details import PERSON, add_dated_details, person_table
from cldetl.transform.service_lines import MEMBER_KEYS, MEMBERS, chain_service_lines
from cldetl.transform.sources import KEY, POSITION, prepare_sources
from cldetl.transform.values import UnmappedCodes, ValueContext, evaluate_value

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import EventRow, EventRule, Mapping
    from cldetl.period import ReportingPeriod
    from cldetl.spec import Spec

CANDIDATE = "_candidate"
KIND = "_kind"  # event | carer_by_association
RULE, ROW, SOURCE = "_rule", "_row", "_source"
# What the accounting after `format_cld` reads of each output row (the ledger and lineage).
ACCOUNTING_COLUMNS = [CANDIDATE, SOURCE, RULE, ROW, PERSON, MEMBER_KEYS, "Event Reference"]
NO_RULE = "no event rule takes this record (add a rule or an exclusion to the mapping)"
NO_PERSON = "no person details: the person is not in the person source (a casual contact?)"
DETAILS_UNUSED = "person details not needed: no CLD row for this person in the period"


class ReconciliationError(CldetlError):
    """Source records and output + exclusions do not add up: a bug, never to be shipped."""


@dataclass
class TransformResult:
    """What a transform produces; `cld` is the 48-column return, everything as text."""

    cld: pd.DataFrame
    exclusions: pd.DataFrame
    lineage: pd.DataFrame
    unmapped: pd.DataFrame
    reconciliation: pd.DataFrame


def transform(
    mapping: Mapping,
    frames: dict[str, pd.DataFrame],
    period: ReportingPeriod,
    spec: Spec | None = None,
) -> TransformResult:
    """Turn extracted source frames into the CLD return for `period`.

    Args:
        mapping: the authority's mapping (`load_mapping`).
        frames: one DataFrame per mapping source, as extracted.
        period: the 12-month reporting period.

    Returns:
        The CLD rows and the accounting around them. Raises ReconciliationError if any source
        record is unaccounted for.
    """
    from cldetl.spec import load_spec

    spec = spec or load_spec()
    sources = prepare_sources(mapping, frames)
    unmapped = UnmappedCodes()
    ledger = _Ledger(sources)

    _apply_exclusions(mapping, sources, ledger)
    candidates = _event_candidates(mapping, spec, sources, ledger, unmapped)
    people = person_table(mapping, spec, sources[mapping.person.source], unmapped)
    rows = _with_person_details(mapping, spec, candidates, people, sources, period, unmapped)
    candidate_count = len(candidates)
    del candidates  # memory: from here only its count is needed (rows hold the same data)
    known = member_of(rows[PERSON], people[PERSON])
    del people  # memory: joined into rows
    ledger.drop_rows(rows, ~known, NO_PERSON)
    rows = rows[known]

    _apply_guidance(mapping, rows, period)
    reasons = rules.inclusion_reasons(rows, period)
    reasons = _carer_by_association_follows_its_record(rows, reasons)
    ledger.drop_rows(rows, reasons.ne(""), reasons)
    rows = rows[reasons.eq("")].copy()

    rows["Event Reference"] = references(rows, mapping)
    # Memory: the CLD fields leave `rows` as they go into `cld`.
    cld, order = format_cld(rows, mapping, spec, period, keep=ACCOUNTING_COLUMNS)
    ledger.details_used(mapping, sources, rows[PERSON])
    dropped = sum(len(part) for part in ledger.row_exclusions)
    if candidate_count != len(cld) + dropped:
        raise ReconciliationError(
            f"{candidate_count} candidate rows but {len(cld)} written + {dropped} excluded. "
            "This is a cldetl bug."
        )
    reconciliation = ledger.reconcile(rows)
    return TransformResult(
        cld=cld,
        exclusions=ledger.exclusions(),
        lineage=_lineage(rows, order),
        unmapped=unmapped.frame(),
        reconciliation=reconciliation,
    )


def _carer_by_association_follows_its_record(rows: pd.DataFrame, reasons: pd.Series):
    """An 'Unpaid carer known by association' row is in the return only when an event row of
    the same source record is; and one such row per carer and cared-for people is enough."""
    import pandas as pd

    by_association = rows[KIND].eq("carer_by_association")
    if not by_association.any():
        return reasons
    record = rows[SOURCE].astype(str) + "\x1f" + rows[MEMBER_KEYS].astype(str)
    events = ~by_association
    kept_records = record[events & reasons.eq("")]
    has_event = record[events]
    first_reason = (
        pd.DataFrame({"record": record[events], "reason": reasons[events]})
        .drop_duplicates("record")
        .set_index("record")["reason"]
    )
    orphan = by_association & member_of(record, has_event) & ~member_of(record, kept_records)
    why = record[orphan].map(first_reason)
    reasons = reasons.copy()
    reasons[orphan] = "its record's event row is not in the return: " + why.astype(str)
    same = [
        PERSON,
        "Client Type",
        "Adult 1 Linked Person_ID",
        "Adult 2 Linked Person_ID",
        "Adult 3 Linked Person_ID",
    ]
    candidates = by_association & reasons.eq("")
    repeat = rows.loc[candidates, same].astype(str).duplicated(keep="first")
    repeat = repeat.reindex(rows.index, fill_value=False).astype(bool)
    reasons[repeat] = (
        "duplicate: this unpaid carer known by association row is already in the return"
    )
    return reasons


# --- accounting ----------------------------------------------------------------------------


class _Ledger:
    """Tracks each source record: excluded (and why), taken by a rule, or used as details."""

    def __init__(self, sources: dict[str, pd.DataFrame]):
        import pandas as pd

        self.sources = sources
        self.status = {
            name: pd.Series("", index=frame.index, dtype="string")
            for name, frame in sources.items()
        }
        self.rule = {
            name: pd.Series("", index=f.index, dtype="string") for name, f in sources.items()
        }
        self.row_exclusions: list[pd.DataFrame] = []
        self.links: list[pd.DataFrame] = []

    def exclude(self, source: str, mask: pd.Series, reason: str, rule: str) -> None:
        open_ = mask & self.status[source].eq("")
        self.status[source] = self.status[source].mask(open_, "excluded: " + reason)
        self.rule[source] = self.rule[source].mask(open_, rule)

    def take(self, source: str, mask: pd.Series, rule: str) -> None:
        self.status[source] = self.status[source].mask(mask, "taken")
        self.rule[source] = self.rule[source].mask(mask, rule)

    def link(self, candidates: pd.DataFrame) -> None:
        """Remember which source positions each candidate row came from."""
        exploded = candidates[[CANDIDATE, SOURCE, MEMBERS]].explode(MEMBERS)
        self.links.append(exploded.rename(columns={MEMBERS: POSITION}))

    def drop_rows(self, rows: pd.DataFrame, mask: pd.Series, reason) -> None:
        import pandas as pd

        if not mask.any():
            return
        reason_values = reason[mask] if isinstance(reason, pd.Series) else reason
        self.row_exclusions.append(
            pd.DataFrame(
                {
                    CANDIDATE: rows.loc[mask, CANDIDATE].to_numpy(),
                    "source": rows.loc[mask, SOURCE].to_numpy(),
                    "source_key": rows.loc[mask, KEY].to_numpy(),
                    "rule": rows.loc[mask, RULE].to_numpy(),
                    "row": rows.loc[mask, ROW].to_numpy(),
                    "reason": pd.Series(reason_values).to_numpy()
                    if isinstance(reason_values, pd.Series)
                    else reason_values,
                }
            )
        )

    def details_used(self, mapping: Mapping, sources, persons: pd.Series) -> None:
        """Person and dated-detail sources: used for someone in the return, or not needed."""
        detail_sources = {mapping.person.source: mapping.person.key}
        for detail in mapping.person.dated.values():
            detail_sources.setdefault(detail.source, detail.person)
        wanted = persons.drop_duplicates()
        for name, person_column in detail_sources.items():
            frame = sources[name]
            used = member_of(as_text(frame[person_column]), wanted)
            pending = self.status[name].eq("")
            self.status[name] = self.status[name].mask(pending & used, "details")
            self.exclude(name, pending & ~used, DETAILS_UNUSED, "person details")

    def exclusions(self) -> pd.DataFrame:
        import pandas as pd

        parts = []
        for name, status in self.status.items():
            excluded = status.str.startswith("excluded: ")
            if excluded.any():
                parts.append(
                    pd.DataFrame(
                        {
                            "source": name,
                            "source_key": self.sources[name].loc[excluded, KEY].to_numpy(),
                            "rule": self.rule[name][excluded].to_numpy(),
                            "row": "",
                            "reason": status[excluded].str.removeprefix("excluded: ").to_numpy(),
                            "level": "record",
                        }
                    )
                )
        whole = pd.Index(
            [] if not parts else pd.concat([p["source"] + "\x1f" + p["source_key"] for p in parts])
        )
        for part in self.row_exclusions:
            # Rows of a record that is excluded as a whole are said once, at record level.
            keep = ~member_of(part["source"] + "\x1f" + part["source_key"].astype(str), whole)
            parts.append(part[keep.to_numpy()].drop(columns=[CANDIDATE]).assign(level="row"))
        columns = ["source", "source_key", "rule", "row", "reason", "level"]
        if not parts:
            return pd.DataFrame(columns=columns)
        out = pd.concat(parts, ignore_index=True)[columns]
        return out.sort_values(["source", "source_key", "row"], kind="stable").reset_index(
            drop=True
        )

    def reconcile(self, output_rows: pd.DataFrame) -> pd.DataFrame:
        """Per source: read = in the output + used as details + excluded (by reason)."""
        import pandas as pd

        links = (
            pd.concat(self.links, ignore_index=True)
            if self.links
            else pd.DataFrame(columns=[CANDIDATE, SOURCE, POSITION])
        )
        emitted = links[links[CANDIDATE].isin(output_rows[CANDIDATE])]
        dropped = (
            pd.concat(self.row_exclusions, ignore_index=True)
            if self.row_exclusions
            else pd.DataFrame(columns=[CANDIDATE, "reason"])
        )
        reasons = dropped.drop_duplicates(CANDIDATE)[[CANDIDATE, "reason"]]
        table = []
        for name, status in self.status.items():
            read = len(status)
            source_links = links[links[SOURCE] == name]
            in_output = status.index.isin(
                source_links.loc[source_links[CANDIDATE].isin(emitted[CANDIDATE]), POSITION]
            )
            # A taken record whose rows were all dropped is excluded for its first row's reason.
            lost = status.eq("taken").to_numpy() & ~in_output
            if lost.any():
                why = (
                    source_links.merge(reasons, on=CANDIDATE, how="inner")
                    .drop_duplicates(POSITION)
                    .set_index(POSITION)["reason"]
                )
                why.index = why.index.astype(int)
                lost_index = status.index[lost]
                status.loc[lost_index] = "excluded: " + why.reindex(lost_index).fillna(
                    "gave no CLD row"
                ).astype("string")
            counts = {"source": name, "read": read, "in_output": 0, "person_details": 0}
            counts["in_output"] = int(status.eq("taken").sum())
            counts["person_details"] = int(status.eq("details").sum())
            unaccounted = status.eq("")
            if unaccounted.any():
                status.loc[unaccounted] = "excluded: " + NO_RULE
                self.rule[name] = self.rule[name].mask(unaccounted, "")
            excluded = status[status.str.startswith("excluded: ")].str.removeprefix("excluded: ")
            counts["excluded"] = int(len(excluded))
            table.append(counts)
            for reason, n in excluded.value_counts().sort_index().items():
                table.append({"source": name, "excluded_reason": reason, "excluded": int(n)})
            total = counts["in_output"] + counts["person_details"] + counts["excluded"]
            if total != read:
                raise ReconciliationError(
                    f"source '{name}': read {read} records but {counts['in_output']} in the "
                    f"output + {counts['person_details']} used as details + "
                    f"{counts['excluded']} excluded = {total}. This is a cldetl bug."
                )
        columns = ["source", "read", "in_output", "person_details", "excluded", "excluded_reason"]
        out = pd.DataFrame(table).reindex(columns=columns)
        for column in ("read", "in_output", "person_details", "excluded"):
            out[column] = out[column].astype("Int64")
        out["excluded_reason"] = out["excluded_reason"].astype("string").fillna("")
        return out


# --- stages --------------------------------------------------------------------------------


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
    import pandas as pd

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
    import pandas as pd

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
    import pandas as pd

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
    import pandas as pd

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
    for i, column in enumerate(row.linked_people, 1):
        out[f"Adult {i} Linked Person_ID"] = as_text(records[column])
    same_as = {}
    for field, value in row.fields.items():
        if value.same_as:
            same_as[field] = value.same_as
            continue
        out[field] = evaluate_value(ctx, value, records, field)
    for field, other in same_as.items():
        out[field] = out[other]
    return out.reset_index(drop=True)


def _with_person_details(mapping, spec, candidates, people, sources, period, unmapped):
    import pandas as pd

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
    import pandas as pd

    from cldetl.parsers import whole_years

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
    import pandas as pd

    ordered = rows.loc[order]
    return pd.DataFrame(
        {
            "line": range(2, len(ordered) + 2),
            "event_reference": ordered["Event Reference"].to_numpy(),
            "source": ordered[SOURCE].to_numpy(),
            "source_keys": ordered[MEMBER_KEYS].to_numpy(),
            "source_records": (ordered[MEMBER_KEYS].str.count(";") + 1).to_numpy(),
            "rule": ordered[RULE].to_numpy(),
            "row": ordered[ROW].to_numpy(),
        }
    )
