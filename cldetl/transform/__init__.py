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
from typing import TYPE_CHECKING, Protocol

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

    from cldetl.mapping import EventRow, EventRule, Mapping, Value
    from cldetl.spec import Spec
    from cldetl.spec.period import ReportingPeriod

CANDIDATE = "_candidate"
LINKED = "_linked"  # every linked person ID a row names, ';'-separated, in mapping order
LINKED_FIELDS = [f"Adult {i} Linked Person_ID" for i in (1, 2, 3)]
NOT_KNOWN = (
    "not known to the local authority: not in the person source (the guidance links only "
    "adults known to the LA, i.e. service users in CLD: Adult 1/2/3 Linked Person_ID)"
)
BEYOND_THREE = (
    "more than three linked adults known to the local authority: CLD has three Linked Person_ID "
    "fields (guidance, Adult 1/2/3 Linked Person_ID); the first three in mapping order are kept"
)
KIND = "_kind"  # event | carer_by_association
RULE, ROW, SOURCE = "_rule", "_row", "_source"
# What the accounting after `format_cld` reads of each output row (the ledger and lineage).
# The columns of `rows` the accounting still reads once the CLD fields have moved into `cld`.
ACCOUNTING_COLUMNS = [CANDIDATE, SOURCE, KEY, RULE, ROW, PERSON, MEMBER_KEYS]
ACCOUNTING_COLUMNS += ["Event Reference", "Event Type", "Client Type"]
NO_RULE = "no event rule takes this record (add a rule or an exclusion to the mapping)"
NO_PERSON = "no person details: the person is not in the person source (a casual contact?)"
DETAILS_UNUSED = "person details not needed: no CLD row for this person in the period"
ORPHAN_CARER = "its record's event row is not in the return: "
DUPLICATE_CARER = "duplicate: this unpaid carer known by association row is already in the return"
NO_ROWS = "gave no CLD row"


class SourceCount(Protocol):
    """What the extract's count queries say about one source (any object with these)."""

    table_rows: int
    left_out: dict[str, int]


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
    linked_people_left_out: pd.DataFrame | None = None
    """Linked people a row names that the guidance's rule left out of Adult 1/2/3 Linked
    Person_ID (not a service user in the return, or beyond the three fields), with why."""


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
    from cldetl import collector

    with collector.paused():  # see cldetl.collector
        return _transform(mapping, frames, period, spec, database_counts)


def _transform(mapping, frames, period, spec, database_counts) -> TransformResult:
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
    known_people = people[PERSON]
    del people  # memory: joined into rows; only the IDs are needed from here
    ledger.drop_rows(rows, ~known, NO_PERSON)
    rows = rows[known]

    _apply_guidance(mapping, rows, period)
    reasons = rules.inclusion_reasons(rows, period)
    reasons = _carer_by_association_follows_its_record(rows, reasons)
    ledger.drop_rows(rows, reasons.ne(""), reasons)
    rows = rows[reasons.eq("")].copy()
    linked_left_out = _linked_people(rows, known_people)

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
    reasons[orphan] = ORPHAN_CARER + why.astype(str)
    same = [PERSON, "Client Type", LINKED]
    candidates = by_association & reasons.eq("")
    repeat = rows.loc[candidates, same].astype(str).duplicated(keep="first")
    repeat = repeat.reindex(rows.index, fill_value=False).astype(bool)
    reasons[repeat] = DUPLICATE_CARER
    return reasons


# --- linked people (guidance: Adult 1/2/3 Linked Person_ID) ---------------------------------


def _linked_ids(records: pd.DataFrame, columns: list[str], lists: list[str] = ()) -> pd.Series:
    """Every person ID the `linked_people` columns name, in order, ';'-separated: a column may
    hold one ID, several separated by ';', or be a `list` column (every person a carer cares
    for, as a template aggregates them)."""
    import pandas as pd

    if not columns:
        return pd.Series("", index=records.index, dtype="string")

    def text(column: str) -> pd.Series:
        if column not in lists:
            return as_text(records[column]).fillna("")
        items = as_text(records[column].explode()).fillna("")
        joined = items.groupby(level=0, sort=False).agg(";".join)
        return joined.reindex(records.index).fillna("").astype("string")

    parts = [text(c) for c in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + ";" + part
    return joined.astype("string")


def _linked_people(rows: pd.DataFrame, known_people: pd.Series) -> pd.DataFrame:
    """Fill Adult 1/2/3 Linked Person_ID by the guidance's rule: "up to three adults cared for
    by the unpaid carer, but only where they are known to the local authority, i.e. they are a
    service user in CLD". Known to the LA: in the person source (their own service-user rows
    may fall in other periods). Linked IDs not known, and known ones beyond the third (in
    mapping order), are returned (row index, linked ID, reason) to be reported."""
    import pandas as pd

    empty = pd.DataFrame({"_index": pd.Series(dtype="int64"), "linked": [], "reason": []})
    if LINKED not in rows:
        return empty
    linked = rows[LINKED].fillna("")
    named = linked.str.strip(";").ne("")
    if not named.any():
        return empty
    # Only rows that name someone are split (the others hold nothing but separators).
    ids = linked[named].str.split(";").explode().str.strip()
    ids = ids[ids.notna() & ids.ne("")]
    frame = pd.DataFrame({"_index": ids.index, "linked": ids.to_numpy()})
    own = rows[PERSON].astype("string").reindex(frame["_index"]).to_numpy()
    frame = frame[frame["linked"].to_numpy() != own]
    frame = frame.drop_duplicates(["_index", "linked"])
    known = member_of(frame["linked"].astype("string"), known_people.astype("string"))
    frame = frame.assign(reason=pd.Series(NOT_KNOWN, index=frame.index).where(~known, ""))
    kept = frame[known.to_numpy()].copy()
    kept["slot"] = kept.groupby("_index").cumcount()
    frame.loc[kept.index[kept["slot"] >= 3], "reason"] = BEYOND_THREE
    for slot, field in enumerate(LINKED_FIELDS):
        chosen = kept[kept["slot"] == slot].set_index("_index")["linked"]
        rows.loc[named, field] = chosen.reindex(rows.index[named]).astype("string").to_numpy()
    return frame[frame["reason"].ne("")].reset_index(drop=True)


def _linked_left_out_report(rows: pd.DataFrame, left_out: pd.DataFrame) -> pd.DataFrame:
    """linked_people_left_out: the row (reference, person, event), the linked ID and why."""
    import pandas as pd

    columns = ["event_reference", "person_id", "client_type", "event_type", "source", "source_key"]
    columns += ["rule", "linked_person_id", "reason"]
    if left_out.empty:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
    at = rows.loc[left_out["_index"].to_numpy()]
    return pd.DataFrame(
        {
            "event_reference": at["Event Reference"].astype("string").fillna("").to_numpy(),
            "person_id": at[PERSON].astype("string").to_numpy(),
            "client_type": at["Client Type"].astype("string").fillna("").to_numpy(),
            "event_type": at["Event Type"].astype("string").fillna("").to_numpy(),
            "source": at[SOURCE].to_numpy(),
            "source_key": at[KEY].astype("string").to_numpy(),
            "rule": at[RULE].to_numpy(),
            "linked_person_id": left_out["linked"].to_numpy(),
            "reason": left_out["reason"].to_numpy(),
        }
    ).astype("string")


# --- accounting ----------------------------------------------------------------------------

DETAILS_USED = "person details used: this person has a CLD row in the period"
IN_OUTPUT = "in the return"
EXCLUSION_COLUMNS = [
    "la_code",
    "period_start",
    "period_end",
    "source",
    "source_key",
    "level",
    "person_id",
    "event_type",
    "event_start_date",
    "event_end_date",
    "rule",
    "row",
    "reason",
]
"""exclusions.csv, one line per source record left out (level=record) or per CLD row left out
of a record that is otherwise in the return (level=row). docs/outputs.md explains each."""
RECONCILIATION_TOTALS = [
    "table_rows",
    "left_out_in_database",
    "read",
    "in_output",
    "person_details",
    "excluded",
    "excluded_rows",
]
RECONCILIATION_COLUMNS = (
    ["la_code", "period_start", "period_end", "source", "kind"]
    + RECONCILIATION_TOTALS
    + ["outcome", "reason", "rows"]
)
"""reconciliation.csv: per source one `kind=total` line (the totals columns) and `kind=detail`
lines (outcome, reason, rows) that split each total; totals and details never share a column,
so no SUM counts anything twice."""
OUTCOMES = {
    # outcome of a detail line -> the total it splits
    "left out in the database": "left_out_in_database",
    "in output": "in_output",
    "person details": "person_details",
    "excluded": "excluded",
    "excluded row": "excluded_rows",
}
_ROW_DETAIL = ["person_id", "event_type", "event_start_date", "event_end_date"]


def _iso(values) -> pd.Series:
    import pandas as pd

    dates = pd.to_datetime(pd.Series(values), errors="coerce")
    return dates.dt.strftime("%Y-%m-%d").fillna("").astype("string")


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
        # Per source: event details (person, type, dates) of records whose rows all dropped.
        self.lost_details: dict[str, pd.DataFrame] = {}

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
        picked = rows.loc[mask]
        self.row_exclusions.append(
            pd.DataFrame(
                {
                    CANDIDATE: picked[CANDIDATE].to_numpy(),
                    "source": picked[SOURCE].to_numpy(),
                    "source_key": picked[KEY].to_numpy(),
                    "person_id": as_text(picked[PERSON]).fillna("").to_numpy(),
                    "event_type": as_text(picked["Event Type"]).fillna("").to_numpy(),
                    "event_start_date": _iso(picked["Event Start Date"].to_numpy()).to_numpy(),
                    "event_end_date": _iso(picked["Event End Date"].to_numpy()).to_numpy(),
                    "rule": picked[RULE].to_numpy(),
                    "row": picked[ROW].to_numpy(),
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
            self.status[name] = self.status[name].mask(pending & used, "details: " + DETAILS_USED)
            self.status[name] = self.status[name].mask(
                pending & ~used, "details: " + DETAILS_UNUSED
            )
            self.rule[name] = self.rule[name].mask(pending, "person details")

    def _dropped(self) -> pd.DataFrame:
        import pandas as pd

        if self.row_exclusions:
            return pd.concat(self.row_exclusions, ignore_index=True)
        return pd.DataFrame(columns=[CANDIDATE, "source", "source_key", "reason"])

    def settle(self, output_rows: pd.DataFrame) -> None:
        """Give every record its final status: a taken record none of whose rows reached the
        return is excluded for its first row's reason; a record nothing took has no rule."""
        import pandas as pd

        links = (
            pd.concat(self.links, ignore_index=True)
            if self.links
            else pd.DataFrame(columns=[CANDIDATE, SOURCE, POSITION])
        )
        emitted = links.loc[links[CANDIDATE].isin(output_rows[CANDIDATE]), [SOURCE, POSITION]]
        dropped = self._dropped().drop_duplicates(CANDIDATE)
        for name, status in self.status.items():
            source_links = links[links[SOURCE] == name]
            in_output = status.index.isin(emitted.loc[emitted[SOURCE] == name, POSITION])
            lost = status.eq("taken").to_numpy() & ~in_output
            if lost.any():
                first = (
                    source_links.merge(dropped.drop(columns=["source"]), on=CANDIDATE)
                    .sort_values(CANDIDATE, kind="stable")
                    .drop_duplicates(POSITION)
                )
                first[POSITION] = first[POSITION].astype(int)
                first = first.set_index(POSITION)
                lost_index = status.index[lost]
                why = first["reason"].reindex(lost_index).fillna(NO_ROWS)
                status.loc[lost_index] = "excluded: " + why.astype("string")
                self.lost_details[name] = first.reindex(lost_index)[_ROW_DETAIL]
            unaccounted = status.eq("")
            if unaccounted.any():
                status.loc[unaccounted] = "excluded: " + NO_RULE
                self.rule[name] = self.rule[name].mask(unaccounted, "")

    def exclusions(self, mapping: Mapping) -> pd.DataFrame:
        """Every record-level exclusion, then each left-out row of a record in the return (a
        record excluded as a whole is said once, at record level). Person-details records
        that were not needed are counted in the reconciliation, not listed."""
        import pandas as pd

        parts = []
        for name, status in self.status.items():
            excluded = status.str.startswith("excluded: ").fillna(False).to_numpy()
            if not excluded.any():
                continue
            frame = self.sources[name]
            index = status.index[excluded]
            person = _person_column(mapping, name)
            part = pd.DataFrame(
                {
                    "source": name,
                    "source_key": frame.loc[index, KEY].to_numpy(),
                    "level": "record",
                    "person_id": as_text(frame.loc[index, person]).fillna("").to_numpy()
                    if person
                    else "",
                    "event_type": "",
                    "event_start_date": "",
                    "event_end_date": "",
                    "rule": self.rule[name][index].to_numpy(),
                    "row": "",
                    "reason": status[index].str.removeprefix("excluded: ").to_numpy(),
                },
                index=index,
            )
            lost = self.lost_details.get(name)
            if lost is not None:
                found = lost.index.intersection(index)
                for column in _ROW_DETAIL:
                    part.loc[found, column] = lost.loc[found, column].fillna("").to_numpy()
            parts.append(part.reset_index(drop=True))
        whole = pd.Index(
            [] if not parts else pd.concat([p["source"] + "\x1f" + p["source_key"] for p in parts])
        )
        dropped = self._dropped()
        if len(dropped):
            keep = ~member_of(dropped["source"] + "\x1f" + dropped["source_key"].astype(str), whole)
            parts.append(dropped[keep.to_numpy()].drop(columns=[CANDIDATE]).assign(level="row"))
        columns = [
            c for c in EXCLUSION_COLUMNS if c not in ("la_code", "period_start", "period_end")
        ]
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
        out = pd.concat(parts, ignore_index=True)[columns].astype("string")
        return out.sort_values(["source", "level", "source_key", "row"], kind="stable").reset_index(
            drop=True
        )

    def reconcile(
        self, mapping: Mapping, exclusions: pd.DataFrame, database_counts: dict | None
    ) -> pd.DataFrame:
        """Per source: table rows = left out in the database + read, and read = in the output
        + person details + excluded; each total split by outcome and reason. Raises
        ReconciliationError when a source does not add up."""
        import pandas as pd

        lines = []
        for name, status in self.status.items():
            read = len(status)
            # A few distinct statuses among many records: each is read once.
            codes, distinct = pd.factorize(status, use_na_sentinel=False)
            distinct = pd.Series(distinct, dtype=status.dtype)
            outcome = distinct.str.extract(r"^(taken|details|excluded)", expand=False)
            reason = distinct.str.replace(r"^(details|excluded): ", "", regex=True)
            outcome = pd.Series(outcome.take(codes).array, index=status.index)
            reason = pd.Series(reason.take(codes).array, index=status.index)
            reason = reason.mask(outcome.eq("taken"), IN_OUTPUT)
            detail = pd.DataFrame(
                {
                    "outcome": outcome.map(
                        {"taken": "in output", "details": "person details", "excluded": "excluded"}
                    ),
                    "reason": reason,
                }
            )
            if detail["outcome"].isna().any():
                raise ReconciliationError(
                    f"source '{name}': {int(detail['outcome'].isna().sum())} records have no "
                    "outcome after the transform. This is a cldetl bug."
                )
            rows_of = exclusions[(exclusions["source"] == name) & (exclusions["level"] == "row")]
            row_detail = pd.DataFrame({"outcome": "excluded row", "reason": rows_of["reason"]})
            counted = (
                pd.concat([detail, row_detail], ignore_index=True)
                .value_counts(["outcome", "reason"], sort=False)
                .rename("rows")
                .reset_index()
            )
            totals = {
                total: int(counted.loc[counted["outcome"] == out, "rows"].sum())
                for out, total in OUTCOMES.items()
            }
            totals["read"] = read
            table_rows, left_out = self._table_rows(mapping, name, read, database_counts)
            # Unknown (blank) when no count was taken for a database source.
            totals["left_out_in_database"] = (
                sum(left_out.values()) if table_rows is not None else None
            )
            totals["table_rows"] = table_rows
            accounted = totals["in_output"] + totals["person_details"] + totals["excluded"]
            if accounted != read:
                raise ReconciliationError(
                    f"source '{name}': read {read} records but {totals['in_output']} in the "
                    f"output + {totals['person_details']} used as details + "
                    f"{totals['excluded']} excluded = {accounted}. This is a cldetl bug."
                )
            lines.append({"source": name, "kind": "total", **totals})
            for why, n in sorted(left_out.items()):
                lines.append(
                    {
                        "source": name,
                        "kind": "detail",
                        "outcome": "left out in the database",
                        "reason": why,
                        "rows": int(n),
                    }
                )
            order = {o: i for i, o in enumerate(OUTCOMES)}
            counted = counted.sort_values(
                ["outcome", "reason"], key=lambda c: c.map(order) if c.name == "outcome" else c
            )
            for item in counted.itertuples(index=False):
                lines.append(
                    {
                        "source": name,
                        "kind": "detail",
                        "outcome": item.outcome,
                        "reason": item.reason,
                        "rows": int(item.rows),
                    }
                )
        columns = [
            c for c in RECONCILIATION_COLUMNS if c not in ("la_code", "period_start", "period_end")
        ]
        out = pd.DataFrame(lines).reindex(columns=columns)
        for column in RECONCILIATION_TOTALS + ["rows"]:
            out[column] = out[column].astype("Int64")
        for column in ("outcome", "reason"):
            out[column] = out[column].astype("string").fillna("")
        return out

    def _table_rows(
        self, mapping: Mapping, name: str, read: int, database_counts: dict | None
    ) -> tuple[int | None, dict[str, int]]:
        """A source's base-table rows and what the database left out, from the count queries;
        a file source's table is what was read. Raises ReconciliationError when table rows !=
        left out + read."""
        counts = (database_counts or {}).get(name)
        if counts is None:
            source = mapping.sources.get(name)
            if source is not None and source.template:
                return None, {}  # no count taken (a caller without database counts)
            return read, {}
        left_out = {str(k): int(v) for k, v in dict(counts.left_out).items() if int(v)}
        table_rows = int(counts.table_rows)
        if table_rows != sum(left_out.values()) + read:
            raise ReconciliationError(
                f"source '{name}': the database counted {table_rows} rows in its table(s) and "
                f"left out {sum(left_out.values())}, but {read} were read "
                f"({table_rows} != {sum(left_out.values())} + {read}). If the case system "
                "changed during the run, run again; otherwise this is a cldetl bug."
            )
        return table_rows, left_out


def _person_column(mapping: Mapping, source: str) -> str | None:
    """The column holding the LA Person ID in a source's records, for exclusions.csv."""
    if source == mapping.person.source:
        return mapping.person.key
    for detail in mapping.person.dated.values():
        if detail.source == source:
            return detail.person
    for rule in mapping.events:
        if rule.source == source and rule.person:
            return rule.person
    return None


def _stamped(frame: pd.DataFrame, mapping: Mapping, period: ReportingPeriod) -> pd.DataFrame:
    """LA code and period first on every accounting file, so files of many runs can be
    stacked and pivoted."""
    stamp = {
        "la_code": mapping.metadata.la_code,
        "period_start": f"{period.start:%Y-%m-%d}",
        "period_end": f"{period.end:%Y-%m-%d}",
    }
    out = frame.copy()
    for position, (column, value) in enumerate(stamp.items()):
        out.insert(position, column, value)
        out[column] = out[column].astype("string")
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

    from cldetl.spec.parsers import whole_years

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
