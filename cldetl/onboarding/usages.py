"""Where a mapping meets local codes: the source columns each lookup translates (and the
records the rule that reads them takes), and the columns event rules filter on by code.

A lookup read by one event row sees only the records that row takes: a review-only lookup
profiled over the whole steps source would report every other step's codes as unmapped, while
the run reports none. So each usage carries the filters in force where it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from cldetl.transform.filters import as_text, matches

if TYPE_CHECKING:
    from cldetl.mapping import Mapping
    from cldetl.mapping.model import Filter


@dataclass
class Usage:
    """Where a lookup (or a filter) meets local codes: a source column, read by `rules` (the
    event rules and rows that read it, in words) under `filters` (any one of them takes a
    record: each is the rule's `when` and the row's `when`)."""

    source: str
    column: str
    rules: list[str] = field(default_factory=list, compare=False)
    filters: list[list[Filter]] = field(default_factory=list, compare=False)
    everywhere: bool = field(default=False, compare=False)
    """True when some use reads every record of the source (person details)."""

    def records(self, frame: pd.DataFrame) -> pd.Series:
        """Which records of the source some use of the column takes."""

        if self.everywhere or not self.filters:
            return pd.Series(True, index=frame.index)
        taken = pd.Series(False, index=frame.index)
        for filters in self.filters:
            this = pd.Series(True, index=frame.index)
            for flt in filters:
                this &= matches(flt, frame)
            taken |= this
        return taken


def lookup_usages(mapping: Mapping) -> dict[str, list[Usage]]:
    """Every (source, column) each lookup translates, from person details and event rules,
    with the filters of the rules that read it."""

    found: dict[str, list[Usage]] = {name: [] for name in mapping.lookups}

    def usage_of(lookup: str, source: str, column: str) -> Usage:
        for usage in found[lookup]:
            if (usage.source, usage.column) == (source, column):
                return usage
        usage = Usage(source, column)
        found[lookup].append(usage)
        return usage

    def add(value, source: str, rule: str | None, filters: list) -> None:
        if value is None or not value.lookup or value.lookup not in found:
            return
        columns = value.columns() if hasattr(value, "columns") else []
        for column in columns:
            usage = usage_of(value.lookup, source, column)
            if rule is None:
                usage.everywhere = True
                continue
            if rule not in usage.rules:
                usage.rules.append(rule)
            usage.filters.append([f for f in filters if f is not None])

    for value in mapping.person.fields.values():
        add(value, mapping.person.source, None, [])
    for detail in mapping.person.dated.values():
        if detail.lookup in found:
            usage_of(detail.lookup, detail.source, detail.column).everywhere = True
    for rule in mapping.events:
        add(rule.client_type, rule.source, rule.name, [rule.when])
        for n, row in enumerate(rule.rows, 1):
            where = f"{rule.name} row {n}"
            add(row.client_type, rule.source, where, [rule.when, row.when])
            for value in row.fields.values():
                add(value, rule.source, where, [rule.when, row.when])
    return found


def filter_usages(mapping: Mapping) -> list[tuple[Usage, list[str]]]:
    """Each source column an event rule or exclusion filters on by code (`in`, `not_in`),
    with the codes the mapping names, in mapping order."""

    out: dict[tuple[str, str], list[str]] = {}

    def walk(flt, source: str) -> None:
        if flt is None:
            return
        for part in (flt.all or []) + (flt.any or []) + ([flt.not_] if flt.not_ else []):
            walk(part, source)
        codes = list(flt.in_ or []) + list(flt.not_in or [])
        if flt.column and codes:
            named = out.setdefault((source, flt.column), [])
            named += [c for c in codes if c not in named]

    for rule in mapping.events:
        walk(rule.when, rule.source)
        for row in rule.rows:
            walk(row.when, rule.source)
    for exclusion in mapping.exclusions:
        for source in exclusion.sources:
            walk(exclusion.when, source)
    return [(Usage(s, c), codes) for (s, c), codes in out.items()]


def code_counts(values: pd.Series, max_codes: int) -> dict[str, int] | None:
    """Distinct non-blank codes of a column (as text) with their counts, most frequent first;
    None when the column holds too many distinct values to be a code."""

    text = as_text(values)
    text = text[text.ne("")]
    counts = text.value_counts()
    if len(counts) > max_codes:
        return None
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return {str(code): int(n) for code, n in counts.items()}


def null_and_blank(values: pd.Series) -> tuple[int, int]:
    """How many values of a column are NULL, and how many are text of only spaces."""

    nulls = int(values.isna().sum())
    blank = int(as_text(values).eq("").sum()) - nulls
    return nulls, blank
