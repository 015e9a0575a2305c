"""The ledger: every source record accounted for (in the return, used as person details, or
excluded with a reason) and the reconciliation per source: table rows = left out in the database +
read; read = in the output + person details + excluded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from cldetl.errors import InternalError
from cldetl.transform.filters import as_text, member_of
from cldetl.transform.person_details import PERSON
from cldetl.transform.service_lines import MEMBERS
from cldetl.transform.sources import KEY, POSITION

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Mapping
    from cldetl.spec.period import ReportingPeriod
from cldetl.transform.columns import CANDIDATE, DETAILS_UNUSED, NO_ROWS, NO_RULE, ROW, RULE, SOURCE


class SourceCount(Protocol):
    """What the extract's count queries say about one source (any object with these)."""

    table_rows: int
    left_out: dict[str, int]


class ReconciliationError(InternalError):
    """Source records and output + exclusions do not add up: a bug, never to be shipped (exit
    70 with a crash report). The counts and the read share one database snapshot per source
    (`cldetl.extract`), so a case system written to during the run cannot cause one."""


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
# The columns of each row left out (`drop`), so that a run that left none out still has them.
_DROPPED = [CANDIDATE, "source", "source_key", *_ROW_DETAIL, "rule", "row", "reason"]


def _iso(values) -> pd.Series:

    dates = pd.to_datetime(pd.Series(values), errors="coerce")
    return dates.dt.strftime("%Y-%m-%d").fillna("").astype("string")


class _Ledger:
    """Tracks each source record: excluded (and why), taken by a rule, or used as details."""

    def __init__(self, sources: dict[str, pd.DataFrame]):

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

        if not mask.any():
            return
        reason_values = reason[mask] if isinstance(reason, pd.Series) else reason
        picked = rows.loc[mask]
        self.row_exclusions.append(
            pd.DataFrame(
                {  # the columns of _DROPPED
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

        if self.row_exclusions:
            return pd.concat(self.row_exclusions, ignore_index=True)
        return pd.DataFrame(columns=_DROPPED)

    def settle(self, output_rows: pd.DataFrame) -> None:
        """Give every record its final status: a taken record none of whose rows reached the
        return is excluded for its first row's reason; a record nothing took has no rule."""

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
                f"({table_rows} != {sum(left_out.values())} + {read}), counted and read in "
                "one snapshot of the database. This is a cldetl bug."
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
