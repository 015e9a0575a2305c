"""`cldetl profile`: a mapping against its database, as a gate before the first real run.

It answers "is this mapping ready?" with counts that must all be zero: TODOs and unchecked
suggestions left in the file (marks), and codes the data holds that the mapping does not map.
Each lookup is profiled over the records its rule takes (a review-only lookup does not see
contacts), every source column shows its NULL and blank counts (two NULL delivery codes are
as important as an unmapped one), and a source that reads no rows or a rule that takes none
is flagged, with the earlier run's count when a run history is given.

Only codes and counts are ever shown: codes come from lookup and filter columns, never from a
personal field, and go through display.shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cldetl.display import shown
from cldetl.extract import extract
from cldetl.mapping import load_mapping
from cldetl.onboarding.marks import Mark, mapping_marks, reviewed_unmapped
from cldetl.onboarding.reference import thresholds
from cldetl.onboarding.rule_history import earlier_rule_rows
from cldetl.onboarding.staging import onboarding_staging
from cldetl.onboarding.usages import code_counts, lookup_usages, null_and_blank
from cldetl.spec import load_spec
from cldetl.spec.period import ReportingPeriod
from cldetl.transform.filters import matches
from cldetl.transform.sources import prepare_sources
from cldetl.transform.values import UnmappedCodes, ValueContext, lookup_table

if TYPE_CHECKING:
    from cldetl.mapping import Mapping

LOOKUP_COLUMNS = ["lookup", "field", "source", "column", "code", "rows", "mapped", "value"]


def profile_lookups(mapping: Mapping, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per lookup and source column: each code present in the records the lookup's rules take,
    its rows, and what the mapping does with it (`mapped`, `value`: the CLD value or the
    default used instead)."""

    max_codes = thresholds().max_codes
    spec = load_spec()
    rows = []
    for name, usages in lookup_usages(mapping).items():
        lookup = mapping.lookups[name]
        context = ValueContext(mapping, spec, "", UnmappedCodes())
        known = {str(k).strip(): v for k, v in lookup_table(context, name).items()}
        for usage in usages:
            frame = frames.get(usage.source)
            if frame is None or usage.column not in frame:
                continue
            taken = frame.loc[usage.records(frame), usage.column]
            counts = code_counts(taken, max_codes)
            base = {"lookup": name, "field": lookup.field, "source": usage.source}
            if counts is None:
                rows.append(
                    {
                        **base,
                        "column": usage.column,
                        "code": f"(more than {max_codes} distinct values: not a code column?)",
                        "rows": pd.NA,
                        "mapped": False,
                        "value": "",
                    }
                )
                continue
            for code, n in counts.items():
                value = known.get(code) if code in known else lookup.default
                rows.append(
                    {
                        **base,
                        "column": usage.column,
                        "code": code,
                        "rows": n,
                        "mapped": code in known,
                        "value": value or "",
                    }
                )
    out = pd.DataFrame(rows, columns=LOOKUP_COLUMNS)
    out["rows"] = out["rows"].astype("Int64")
    out["mapped"] = out["mapped"].astype(bool)
    return out


def column_counts(mapping: Mapping, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per source column the mapping reads: rows, NULLs and blanks (spaces only)."""

    rows = []
    for name, source in mapping.sources.items():
        frame = frames.get(name)
        if frame is None:
            continue
        for column in source.columns:
            if column not in frame:
                continue
            nulls, blank = null_and_blank(frame[column])
            rows.append(
                {
                    "source": name,
                    "column": column,
                    "rows": len(frame),
                    "null": nulls,
                    "blank": blank,
                }
            )
    return pd.DataFrame(rows, columns=["source", "column", "rows", "null", "blank"])


def rule_records(mapping: Mapping, frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """How many records each event rule's own filter takes from its source."""

    out = {}
    for rule in mapping.events:
        frame = frames.get(rule.source)
        out[rule.name] = 0 if frame is None or frame.empty else int(matches(rule.when, frame).sum())
    return out


@dataclass
class Profile:
    """Everything `cldetl profile` reports; `problems` is the gate's count."""

    mapping: Mapping
    path: Path
    lookups: pd.DataFrame
    columns: pd.DataFrame
    sources: dict[str, int]
    rules: dict[str, int]
    marks: list[Mark] = field(default_factory=list)
    earlier: tuple[Path, dict] | None = None
    reviewed: set[tuple[str, str]] = field(default_factory=set)
    """Codes a review left unmapped on purpose: listed, not counted by the gate."""

    @property
    def todo(self) -> int:
        return sum(m.kind == "todo" for m in self.marks)

    @property
    def unchecked(self) -> int:
        return sum(m.kind == "unchecked" for m in self.marks)

    @property
    def unmapped(self) -> int:
        found = self.lookups[~self.lookups["mapped"]]
        decided = [(r.lookup, r.code) in self.reviewed for r in found.itertuples(index=False)]
        return len(found) - sum(decided)

    @property
    def problems(self) -> int:
        return self.todo + self.unchecked + self.unmapped

    def empty_sources(self) -> list[str]:
        return [name for name, n in self.sources.items() if n == 0]

    def empty_rules(self) -> list[tuple[str, int | None]]:
        before = self.earlier[1] if self.earlier else {}
        return [(r, before.get(r)) for r, n in self.rules.items() if n == 0]


def profile_mapping(
    mapping_path: str | Path,
    period_end: date | None = None,
    connectors_dir: Path | None = None,
    url: str | None = None,
    history: str | Path | None = None,
) -> Profile:
    """Extract a mapping's sources (staged in an owner-only folder, removed at the end) and
    profile them; `history` is a run output folder whose earlier run gives rules' counts."""

    mapping = load_mapping(mapping_path, connectors_dir=connectors_dir)
    period = ReportingPeriod.chosen(period_end, mapping.metadata.cadence)
    with onboarding_staging() as staging:
        frames = extract(
            mapping, period, connectors_dir=connectors_dir, url=url, staging_dir=staging
        )
        prepared = prepare_sources(mapping, frames)
        del frames
        profile = Profile(
            mapping=mapping,
            path=Path(mapping_path),
            lookups=profile_lookups(mapping, prepared),
            columns=column_counts(mapping, prepared),
            sources={n: len(f) for n, f in prepared.items()},
            rules=rule_records(mapping, prepared),
            marks=mapping_marks(mapping_path),
            reviewed=reviewed_unmapped(Path(mapping_path).read_text(encoding="utf-8")),
            earlier=earlier_rule_rows(history, period.end),
        )
        del prepared
    return profile


def profile_text(profile: Profile) -> str:
    """The profile for a console: codes with counts (unmapped marked), NULL and blank counts,
    empty sources and rules, and the gate's counts. Codes are escaped and truncated."""

    mapping, found = profile.mapping, profile.lookups
    lines = [
        f"{shown(mapping.metadata.la_name)} (LA {shown(mapping.metadata.la_code)}): lookup codes "
        "in the records each rule takes",
        "",
    ]
    if found.empty:
        lines.append("No lookup reads a column of any source.")
    for (lookup, source, column), part in found.groupby(["lookup", "source", "column"], sort=False):
        unmapped = part[~part["mapped"]]
        lines.append(
            f"{lookup} ({shown(part['field'].iloc[0])}) <- {source}.{column}: "
            f"{len(part)} codes, {len(unmapped)} not mapped"
        )
        for row in part.itertuples(index=False):
            rows = "" if pd.isna(row.rows) else f"{int(row.rows):>9,}"
            reviewed = (row.lookup, row.code) in profile.reviewed
            mark = "   " if row.mapped else ("NOT (reviewed)" if reviewed else "NOT")
            target = shown(row.value) if row.value else "(blank)"
            lines.append(f"  {mark} {shown(row.code, 30):<30} {rows}  -> {target}")
    gaps = profile.columns[(profile.columns["null"] > 0) | (profile.columns["blank"] > 0)]
    lines += ["", "NULL and blank values per source column:"]
    for row in gaps.itertuples(index=False):
        lines.append(
            f"  {row.source}.{row.column}: {row.null:,} NULL, {row.blank:,} blank "
            f"of {row.rows:,} rows"
        )
    lines.append(f"  the other {len(profile.columns) - len(gaps):,} column(s): 0 NULL, 0 blank")
    for name in profile.empty_sources():
        lines.append(f"WARNING: source {name} read 0 rows: check its template parameters.")
    for rule, before in profile.empty_rules():
        earlier = f" (the earlier run had {before:,} rows from it)" if before else ""
        lines.append(f"WARNING: event rule {rule} takes 0 records{earlier}: check its codes.")
    lines += [
        "",
        f"{profile.todo} TODO(s), {profile.unchecked} unchecked suggestion(s) and "
        f"{profile.unmapped} code(s) the mapping does not map (codes a review left unmapped "
        "on purpose not counted).",
    ]
    if profile.problems:
        lines.append(
            "Not ready: review them (`cldetl mapping-review`) until all three are 0; "
            "`cldetl run` refuses this mapping until then."
        )
    else:
        lines.append("Ready: every code is mapped and every suggestion checked.")
    return "\n".join(lines)
