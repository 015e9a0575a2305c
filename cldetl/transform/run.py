"""`transform`: source records + a mapping -> CLD rows, exclusions, lineage and reconciliation,
step by step in the guidance's order (see the package docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cldetl import collector
from cldetl.spec import load_spec
from cldetl.transform.filters import member_of
from cldetl.transform.output import format_cld, references
from cldetl.transform.person_details import PERSON, person_table
from cldetl.transform.service_lines import MEMBER_KEYS
from cldetl.transform.sources import prepare_sources
from cldetl.transform.values import UnmappedCodes

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Mapping
    from cldetl.spec import Spec
    from cldetl.spec.period import ReportingPeriod
from cldetl.transform import guidance_rules as rules
from cldetl.transform.columns import (
    ACCOUNTING_COLUMNS,
    DUPLICATE_CARER,
    KIND,
    LINKED,
    NO_PERSON,
    ORPHAN_CARER,
    SOURCE,
)
from cldetl.transform.events import (
    _apply_exclusions,
    _apply_guidance,
    _event_candidates,
    _lineage,
    _with_person_details,
)
from cldetl.transform.ledger import (
    ReconciliationError,
    SourceCount,
    TransformResult,
    _Ledger,
    _stamped,
)
from cldetl.transform.linked_people import _linked_left_out_report, _linked_people


def transform(
    mapping: Mapping,
    frames: dict[str, pd.DataFrame],
    period: ReportingPeriod,
    spec: Spec | None = None,
    database_counts: dict[str, SourceCount] | None = None,
) -> TransformResult:
    """Turn extracted source frames into the CLD return for `period`.

    Args:
        mapping: the authority's mapping (`load_mapping`).
        frames: one DataFrame per mapping source, as extracted.
        period: the 12-month reporting period.
        spec: the Release 2 specification (loaded when not given).
        database_counts: per source name, what the database's count queries found: the rows
            of its base table(s) (`table_rows`) and those the template leaves out, by reason
            (`left_out`). The reconciliation starts from them; without them a database
            source's table rows are unknown (blank) and a file source's are the rows read.

    Returns:
        The CLD rows and the accounting around them. Raises ReconciliationError if any source
        record is unaccounted for, or a source's table rows != left out + read.
    """

    with collector.paused():  # see cldetl.collector
        return _transform(mapping, frames, period, spec, database_counts)


def _transform(mapping, frames, period, spec, database_counts) -> TransformResult:

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
    known_people = people[PERSON]
    del people  # memory: joined into rows; only the IDs are needed from here
    ledger.drop_rows(rows, ~known, NO_PERSON)
    # Event rows dropped for their person still decide their record's carer rows (below).
    no_person = _records(rows[~known & rows[KIND].ne("carer_by_association")])
    rows = rows[known]

    _apply_guidance(mapping, rows, period)
    reasons = rules.inclusion_reasons(rows, period)
    reasons = _carer_by_association_follows_its_record(rows, reasons, no_person)
    ledger.drop_rows(rows, reasons.ne(""), reasons)
    rows = rows[reasons.eq("")].copy()
    linked_left_out = _linked_people(rows, known_people)

    rows["Event Reference"] = references(rows, mapping)
    # Memory: the CLD fields leave `rows` as they go into `cld`.
    cld, order = format_cld(rows, mapping, spec, period, keep=ACCOUNTING_COLUMNS, unmapped=unmapped)
    ledger.details_used(mapping, sources, rows[PERSON])
    dropped = sum(len(part) for part in ledger.row_exclusions)
    if candidate_count != len(cld) + dropped:
        raise ReconciliationError(
            f"{candidate_count} candidate rows but {len(cld)} written + {dropped} excluded. "
            "This is a cldetl bug."
        )
    linked_left_out = _linked_left_out_report(rows, linked_left_out)
    ledger.settle(rows)
    exclusions = ledger.exclusions(mapping)
    reconciliation = ledger.reconcile(mapping, exclusions, database_counts)
    return TransformResult(
        cld=cld,
        exclusions=_stamped(exclusions, mapping, period),
        lineage=_stamped(_lineage(rows, order), mapping, period),
        unmapped=_stamped(unmapped.frame(), mapping, period),
        reconciliation=_stamped(reconciliation, mapping, period),
        linked_people_left_out=_stamped(linked_left_out, mapping, period),
    )


def _records(rows: pd.DataFrame) -> pd.Series:
    """Each row's source record: its source and the keys of its records (chained lines)."""

    return rows[SOURCE].astype(str) + "\x1f" + rows[MEMBER_KEYS].astype(str)


def _carer_by_association_follows_its_record(
    rows: pd.DataFrame, reasons: pd.Series, no_person: pd.Series
):
    """An 'Unpaid carer known by association' row is in the return only when an event row of
    the same source record is; and one such row per carer and cared-for people is enough.
    `no_person`: the records of event rows already dropped because their person is not in
    the person source (the carer row of a record whose only event row went so goes too)."""

    by_association = rows[KIND].eq("carer_by_association")
    if not by_association.any():
        return reasons
    record = _records(rows)
    events = ~by_association
    kept_records = record[events & reasons.eq("")]
    has_event = pd.concat([record[events], no_person], ignore_index=True)
    first_reason = (
        pd.DataFrame(
            {
                "record": has_event,
                "reason": pd.concat(
                    [reasons[events], pd.Series(NO_PERSON, index=no_person.index, dtype=str)],
                    ignore_index=True,
                ),
            }
        )
        .drop_duplicates("record")
        .set_index("record")["reason"]
    )
    orphan = by_association & member_of(record, has_event) & ~member_of(record, kept_records)
    why = record[orphan].map(first_reason)
    reasons = reasons.copy()
    reasons[orphan] = ORPHAN_CARER + why.astype(str)
    same = [PERSON, "Client Type", LINKED]
    candidates = by_association & reasons.eq("")
    repeat = rows.loc[candidates, same].astype(str).duplicated(keep="first")
    repeat = repeat.reindex(rows.index, fill_value=False).astype(bool)
    reasons[repeat] = DUPLICATE_CARER
    return reasons
