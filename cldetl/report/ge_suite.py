"""The Great Expectations suite, planned from the spec: one expectation per native rule that GE
can express, and the data as GE sees it. Pure: no GE import here.

Why a second engine: an analyst (or the DHSC) can read a Great Expectations suite and its Data
Docs without reading cldetl's code, and a check that two independent engines agree on is one we
can trust. So the suite is generated from the same spec data as the native validator
(`cldetl/spec/release2.yaml`: defined lists, type patterns, the mandatory / not applicable /
expected-value tables with their `when` conditions), one expectation per native rule where GE
has an equivalent; `cldetl.report.ge_run` runs it and compares GE's unexpected counts with the
native number of findings for the same rule and column. A disagreement there is a bug in one
of the two.

How the data is shown to GE:

* Blank (empty or whitespace-only) values become nulls, because GE's column-value expectations
  skip nulls exactly where the native checks skip blanks, and "mandatory" is "not null".
* Spec conditions become GE row conditions (`Column(...).is_in(...)` objects, not the pandas
  query strings GE 1.9 deprecated). GE only accepts an OR of ANDs, so each condition tree is
  rewritten into that form (`dnf`). Values are compared as submitted, as the native check does
  (so 'Service ' is not a service to either). One known difference: the native `blank: true`
  condition (open services: Event End Date blank) reads only '' as blank, GE reads a
  whitespace-only value as blank too, as every other blank check does; a whitespace-only end
  date on a service shows as a disagreement of `expected.open_service_outcome`.
* A few derived columns carry what no GE row condition can express: `X [dd/mm/yyyy]` (the value
  of date field X where it has the dd/mm/yyyy shape, so GE's strftime check only sees shaped
  values), `X [date]` (that value parsed, for the date order checks) and `Age [derived]`
  (whole years at the event end, or the reporting period end for open events, for the
  employment status rule).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from cldetl.report.console import console_safe
from cldetl.spec import parsers
from cldetl.spec.conditions import (
    AgeBetween,
    AllOf,
    Always,
    AnyOf,
    Condition,
    FieldBlank,
    FieldIn,
    Named,
    Not,
    walk,
)
from cldetl.spec.parsers import POSTCODE_FULL, POSTCODE_OUTWARD, POSTCODE_SPECIAL, TEXT_FORBIDDEN

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.spec import Field as SpecField
    from cldetl.spec import Spec
    from cldetl.validate.csvfile import CldTable

LIST_RULES = ("list.value", "list.release1", "list.near_miss")
AGE_COLUMN = "Age [derived]"
AGE_FIELDS = ("Date of Birth", "Event End Date", "Reporting Period End Date")
SHAPED_SUFFIX = " [dd/mm/yyyy]"
PARSED_SUFFIX = " [date]"
DATE_FORMAT = "%d/%m/%Y"

# Why a native rule has no GE expectation. A rule of the spec's catalogue missing here and from
# the suite is still listed as native only, with the generic reason.
NATIVE_ONLY_REASONS = {
    "header.unknown": "GE sees the columns as a set: it cannot tell an unknown column from a "
    "dropped or repeated one",
    "header.dropped": "GE sees the columns as a set: it cannot tell a dropped Release 1 column "
    "from an unknown one",
    "header.duplicate": "the file's columns are renamed apart when read, so GE never sees a "
    "repeated header",
    "header.order": "the native check names the first misplaced column; GE's ordered-list "
    "check cannot skip missing columns",
    "type.nhs_number": "the modulus 11 check digit has no GE expectation",
    "list.release1": "GE counts it with list.value as 'not on the list' (in-set expectation); "
    "telling a Release 1 value apart is native only",
    "list.near_miss": "GE counts it with list.value as 'not on the list' (in-set expectation); "
    "telling a near miss apart is native only",
    "period.consistent": "compares each row with the file's most common value",
    "period.month_end": "a check of the file's reporting period, not of rows",
    "period.twelve_months": "a check of the file's reporting period, not of rows",
    "period.completed_inside": "runs against the file's most common reporting period",
    "period.service_active": "runs against the file's most common reporting period",
    "privacy.identifier": "compares identifiers with the same row's name, date of birth and "
    "postcode",
    "privacy.description": "kept out of GE so that Data Docs never print the descriptions "
    "that hold personal data",
    "file.duplicate_row": "compares rows with each other",
    "file.duplicate_event": "compares rows with each other",
    "file.duplicate_reference": "compares rows with each other",
}
GENERIC_REASON = "no Great Expectations equivalent"


# --- Row conditions as an OR of ANDs -----------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """One comparison of a GE row condition: `column op values`.

    op is one of: in, not_in, null, not_null, >=, <=, <, > (the comparisons take values[0]).
    """

    column: str
    op: str
    values: tuple[Any, ...] = ()

    def describe(self) -> str:
        if self.op in ("null", "not_null"):
            return f"{self.column} is {'blank' if self.op == 'null' else 'filled'}"
        if self.op in ("in", "not_in"):
            shown = ", ".join(f"'{v}'" for v in self.values)
            word = "in" if self.op == "in" else "not in"
            return f"{self.column} {word} ({shown})"
        return f"{self.column} {self.op} {self.values[0]}"


Conjunction = tuple[Literal, ...]
# A row condition: rows matching any conjunction. () never matches; ((),) matches every row.
RowCondition = tuple[Conjunction, ...]


def dnf(cond: Condition, negate: bool = False) -> RowCondition:
    """A spec condition as an OR of ANDs of literals, the only shape GE's row conditions take.

    Negations are pushed down to the literals (De Morgan), so `not (financial assessment)`
    becomes two alternatives; contradictory alternatives are dropped.
    """
    if isinstance(cond, Named):
        return dnf(cond.part, negate)
    if isinstance(cond, Not):
        return dnf(cond.part, not negate)
    if isinstance(cond, Always):
        return () if negate else ((),)
    if isinstance(cond, FieldIn):
        op = "in" if cond.negate == negate else "not_in"
        return ((Literal(cond.field, op, tuple(cond.values)),),)
    if isinstance(cond, FieldBlank):
        op = "null" if cond.blank != negate else "not_null"
        return ((Literal(cond.field, op),),)
    if isinstance(cond, AgeBetween):
        bounds = []
        if cond.minimum is not None:
            bounds.append(("<" if negate else ">=", cond.minimum))
        if cond.maximum is not None:
            bounds.append((">" if negate else "<=", cond.maximum))
        literals = [Literal(AGE_COLUMN, op, (n,)) for op, n in bounds]
        if negate:  # below the minimum, above the maximum, or no age at all
            return tuple((lit,) for lit in literals) + ((Literal(AGE_COLUMN, "null"),),)
        return (tuple(literals),)
    if isinstance(cond, AllOf | AnyOf):
        conjunctive = isinstance(cond, AllOf) != negate
        parts = [dnf(p, negate) for p in cond.parts]
        if conjunctive:
            combined = [
                tuple(itertools.chain.from_iterable(choice)) for choice in itertools.product(*parts)
            ]
        else:
            combined = [conj for part in parts for conj in part]
        return _simplify(combined)
    raise TypeError(f"unknown condition {cond!r}")


def _merge(conj: Conjunction) -> Conjunction | None:
    """One conjunction with literals on the same column merged; None if it can never hold."""
    by_column: dict[str, dict[str, Any]] = {}
    others: list[Literal] = []
    for lit in conj:
        if lit.op not in ("in", "not_in", "null", "not_null"):
            others.append(lit)
            continue
        slot = by_column.setdefault(lit.column, {"in": None, "not_in": set(), "null": None})
        if lit.op == "in":
            values = set(lit.values)
            slot["in"] = values if slot["in"] is None else slot["in"] & values
        elif lit.op == "not_in":
            slot["not_in"] |= set(lit.values)
        else:
            wanted = lit.op == "null"
            if slot["null"] is not None and slot["null"] != wanted:
                return None
            slot["null"] = wanted
    merged: list[Literal] = []
    for column, slot in by_column.items():
        if slot["in"] is not None:
            # A listed value is never blank: "in" excludes null, so null + in never holds.
            allowed = [v for v in _ordered(conj, column) if v in slot["in"] - slot["not_in"]]
            if not allowed or slot["null"] is True:
                return None
            merged.append(Literal(column, "in", tuple(allowed)))
        elif slot["null"] is True:
            merged.append(Literal(column, "null"))  # blank is never in a list
        else:
            if slot["not_in"]:
                banned = [v for v in _ordered(conj, column, "not_in") if v in slot["not_in"]]
                merged.append(Literal(column, "not_in", tuple(banned)))
            if slot["null"] is False:
                merged.append(Literal(column, "not_null"))
    return tuple(merged + others)


def _ordered(conj: Conjunction, column: str, op: str = "in") -> list[Any]:
    """The values literals on `column` name, in first-seen order (stable output)."""
    seen: dict[Any, None] = {}
    for lit in conj:
        if lit.column == column and lit.op == op:
            seen.update(dict.fromkeys(lit.values))
    return list(seen)


def _simplify(conjunctions: list[Conjunction]) -> RowCondition:
    """Merge literals, drop impossible and repeated alternatives, and absorbed ones."""
    merged = []
    for conj in conjunctions:
        m = _merge(conj)
        if m is not None and m not in merged:
            merged.append(m)
    kept = [c for c in merged if not any(o != c and set(o) <= set(c) for o in merged)]
    return tuple(kept)


# --- The suite, as data ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectationPlan:
    """One GE expectation and the native rule(s) and column it mirrors.

    `expectation` is a class name in `great_expectations.expectations`; `kwargs` its arguments
    except the row condition, which is `when` (None: every row). Agreement is judged per
    (rules, column): the GE unexpected counts of all plans with that key are summed and compared
    with the native findings whose rule is in `rules` and whose column is `column` (None: any).
    """

    expectation: str
    kwargs: dict[str, Any]
    rules: tuple[str, ...]
    column: str | None
    description: str
    needs: tuple[str, ...] = ()  # the file's columns it reads (all must be in the header)
    severity: str = "error"
    when: RowCondition | None = None
    condition_text: str = ""
    hide_values: bool = False  # keep its unexpected values out of the Data Docs

    @property
    def key(self) -> tuple[tuple[str, ...], str | None]:
        return (self.rules, self.column)


@dataclass
class SuitePlan:
    """The suite for one file's header: expectations, derived columns, and what GE cannot do."""

    expectations: list[ExpectationPlan]
    fields: list[str]  # spec fields present in the header, in spec order
    date_fields: list[str]  # of those, the date fields (each gets [dd/mm/yyyy] and [date])
    age: bool  # whether the Age [derived] column is needed
    native_only: dict[str, str]  # rule id -> why GE has no expectation for it
    skipped: dict[str, str] = field(default_factory=dict)  # rule id -> missing columns

    @property
    def mirrored_rules(self) -> set[str]:
        return {r for p in self.expectations for r in p.rules}


def _hidden(spec: Spec, f: SpecField) -> bool:
    """Values the Data Docs must not show: the console's rule (personal fields, free text and
    identifiers are never printed), so both reports hide the same things."""

    return not console_safe(spec, f.name)


def _row_rule_fields(cond: Condition) -> set[str]:
    used: set[str] = set()
    for node in walk(cond):
        if isinstance(node, AgeBetween):
            used.update(AGE_FIELDS)
        elif getattr(node, "field", None):
            used.add(node.field)
    return used


def _postcode_regex() -> str:
    """Full postcode, outward code or a special value: the native postcode check as one regex."""

    specials = [re.sub(r"([^A-Za-z0-9 ])", r"\\\1", v) for v in POSTCODE_SPECIAL]
    return "^(?:" + "|".join([POSTCODE_FULL, POSTCODE_OUTWARD, *specials]) + ")$"


def build_suite(spec: Spec, header: list[str]) -> SuitePlan:
    """The expectations for a file with this header, generated from the spec data alone.

    Pure: no GE import and no data. A plan whose columns (its rule's condition included) are
    not all in the header is left out, as the native validator skips that rule; the table
    expectation for `header.missing` reports those columns instead.
    """
    present = set(header)
    everything = _all_plans(spec)
    plans = [p for p in everything if set(p.needs) <= present]
    mirrored = {r for p in plans for r in p.rules}
    mirrorable = {r for p in everything for r in p.rules}
    skipped: dict[str, str] = {}
    for rule_id in sorted(mirrorable - mirrored):
        needs = {n for p in everything if rule_id in p.rules for n in p.needs}
        skipped[rule_id] = ", ".join(n for n in spec.headers if n in needs and n not in present)
    native_only = {
        rule_id: NATIVE_ONLY_REASONS.get(rule_id, GENERIC_REASON)
        for rule_id in spec.rules
        if rule_id not in mirrorable or rule_id in ("list.release1", "list.near_miss")
    }
    fields = [f for f in spec.fields if f.name in present]
    return SuitePlan(
        expectations=plans,
        fields=[f.name for f in fields],
        date_fields=[f.name for f in fields if f.type == "date"],
        age=all(n in present for n in AGE_FIELDS),
        native_only=native_only,
        skipped=skipped,
    )


def _all_plans(spec: Spec) -> list[ExpectationPlan]:
    """Every expectation the spec gives rise to, for a file with all 48 columns."""
    plans: list[ExpectationPlan] = []

    def add(
        expectation: str,
        rules: tuple[str, ...],
        finding_column: str | None,
        description: str,
        needs: tuple[str, ...] | set[str],
        *,
        when: Condition | None = None,
        where: str | None = None,
        hide_values: bool = False,
        **kwargs: Any,
    ) -> None:
        severity = "error" if any(spec.rules[r].severity == "error" for r in rules) else "warning"
        plans.append(
            ExpectationPlan(
                expectation=expectation,
                kwargs=kwargs,
                rules=rules,
                column=finding_column,
                description=description,
                needs=tuple(n for n in spec.headers if n in needs),
                severity=severity,
                when=None if when is None else dnf(when),
                condition_text=where or ("" if when is None else when.describe()),
                hide_values=hide_values,
            )
        )

    add(
        "ExpectTableColumnsToMatchSet",
        ("header.missing",),
        None,
        "header.missing: every Release 2 field is a column of the file (extra columns allowed)",
        (),
        column_set=list(spec.headers),
        exact_match=False,
    )

    date_pattern = spec.pattern("date")
    for f in spec.fields:
        name, hide, needs = f.name, _hidden(spec, f), (f.name,)
        if f.is_defined_list:
            add(
                "ExpectColumnValuesToBeInSet",
                LIST_RULES,
                name,
                f"list: {name} is blank or one of the {len(f.values)} values of its Release 2 "
                "defined list (exact, case-sensitive)",
                needs,
                hide_values=hide,
                column=name,
                value_set=list(f.values),
            )
        elif f.format == "nhs_number":
            continue  # the modulus 11 check digit: native only
        elif f.format == "postcode":
            add(
                "ExpectColumnValuesToMatchRegex",
                ("type.postcode",),
                name,
                f"type.postcode: {name} is blank, a full postcode, an outward code or one of "
                "the special values",
                needs,
                hide_values=hide,
                column=name,
                regex=_postcode_regex(),
            )
        elif f.type == "date":
            add(
                "ExpectColumnValuesToMatchRegex",
                ("type.date",),
                name,
                f"type.date: {name} is blank or has the shape dd/mm/yyyy",
                needs,
                hide_values=hide,
                column=name,
                regex=date_pattern,
            )
            add(
                "ExpectColumnValuesToMatchStrftimeFormat",
                ("type.date",),
                name,
                f"type.date: {name}, where it has the shape dd/mm/yyyy, is a real calendar date",
                needs,
                hide_values=hide,
                column=name + SHAPED_SUFFIX,
                strftime_format=DATE_FORMAT,
            )
        elif f.type == "text":
            add(
                "ExpectColumnValuesToNotMatchRegex",
                ("type.text",),
                name,
                f"type.text: {name} has no line break or control character",
                needs,
                hide_values=hide,
                column=name,
                regex=TEXT_FORBIDDEN,
            )
        elif spec.pattern(f.type):
            add(
                "ExpectColumnValuesToMatchRegex",
                (f"type.{f.type}",),
                name,
                f"type.{f.type}: {name} is blank or matches {spec.pattern(f.type)}",
                needs,
                hide_values=hide,
                column=name,
                regex=spec.pattern(f.type),
            )

    for row in spec.row_rules:
        when = row.when
        needs = set(row.fields) | _row_rule_fields(when)
        for name in row.fields:
            hide = _hidden(spec, spec.field(name))
            if row.kind == "mandatory":
                add(
                    "ExpectColumnValuesToNotBeNull",
                    (row.rule,),
                    name,
                    f"{row.rule}: {name} is not blank where {when.describe()}",
                    needs,
                    when=when,
                    column=name,
                )
            elif row.kind == "not_applicable":
                add(
                    "ExpectColumnValuesToBeNull",
                    (row.rule,),
                    name,
                    f"{row.rule}: {name} is blank where {when.describe()}",
                    needs,
                    when=when,
                    hide_values=hide,
                    column=name,
                )
            else:
                wanted = " or ".join(f"'{v}'" for v in row.values)
                add(
                    "ExpectColumnValuesToBeInSet",
                    (row.rule,),
                    name,
                    f"{row.rule}: {name} is blank or {wanted} where {when.describe()}",
                    needs,
                    when=when,
                    hide_values=hide,
                    column=name,
                    value_set=list(row.values),
                )

    def date_order(rule: str, later: str, earlier: str) -> None:
        add(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            (rule,),
            later,
            f"{rule}: {later} is on or after {earlier} (where both are dates)",
            (later, earlier),
            hide_values=_hidden(spec, spec.field(later)) or _hidden(spec, spec.field(earlier)),
            column_A=later + PARSED_SUFFIX,
            column_B=earlier + PARSED_SUFFIX,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )

    date_order("cross.end_before_start", "Event End Date", "Event Start Date")
    date_order("cross.death_before_birth", "Date of Death", "Date of Birth")
    date_order("cross.event_before_birth", "Event Start Date", "Date of Birth")

    # Two ways an event runs past a death: it ended after it, or a service is still open
    # although the person died within the reporting period.
    rule = "cross.event_after_death"
    open_service = spec.conditions["open_service"]
    needs = {"Date of Death", "Event End Date", "Reporting Period End Date"}
    needs |= _row_rule_fields(open_service)
    add(
        "ExpectColumnPairValuesAToBeGreaterThanB",
        (rule,),
        "Event End Date",
        f"{rule}: Date of Death is on or after Event End Date (where both are dates)",
        needs,
        hide_values=True,
        column_A="Date of Death" + PARSED_SUFFIX,
        column_B="Event End Date" + PARSED_SUFFIX,
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )
    add(
        "ExpectColumnPairValuesAToBeGreaterThanB",
        (rule,),
        "Event End Date",
        f"{rule}: where {open_service.describe()}, Date of Death (if any) is after the "
        "Reporting Period End Date",
        needs,
        when=open_service,
        hide_values=True,
        column_A="Date of Death" + PARSED_SUFFIX,
        column_B="Reporting Period End Date" + PARSED_SUFFIX,
        or_equal=False,
        ignore_row_if="either_value_is_missing",
    )

    # One expectation per event type that some outcome does not fit.
    rule = "outcome.event_type"
    outcomes = tuple(spec.outcome_event_types)
    for event_type in spec.field("Event Type").values:
        typical = [o for o, types in spec.outcome_event_types.items() if event_type in types]
        if len(typical) == len(outcomes):
            continue
        add(
            "ExpectColumnValuesToBeInSet",
            (rule,),
            "Event Outcome",
            f"{rule}: a {event_type.lower()}'s Event Outcome is one the guidance's table gives "
            f"for a {event_type.lower()}",
            ("Event Type", "Event Outcome"),
            when=AllOf((FieldIn("Event Type", (event_type,)), FieldIn("Event Outcome", outcomes))),
            where=f"Event Type is '{event_type}' and Event Outcome is on its defined list",
            column="Event Outcome",
            value_set=typical,
        )
    return plans


# --- The data, as GE sees it -------------------------------------------------------------------


def ge_frame(plan: SuitePlan, table: CldTable, spec: Spec) -> pd.DataFrame:
    """A copy of the file's spec columns with blanks as nulls, plus the derived columns."""

    columns: dict[str, pd.Series] = {}
    for name in plan.fields:
        values = table.frame[name]
        columns[name] = values.where(~parsers.blank(values))
    parsed: dict[str, pd.Series] = {}
    shape = spec.pattern("date")
    for name in plan.date_fields:
        values = columns[name]
        shaped = values.where(values.str.match(shape).fillna(False).astype(bool))
        columns[name + SHAPED_SUFFIX] = shaped
        parsed[name] = pd.to_datetime(shaped, format=DATE_FORMAT, errors="coerce")
        columns[name + PARSED_SUFFIX] = parsed[name]
    if plan.age:
        at = parsed["Event End Date"].fillna(parsed["Reporting Period End Date"])
        columns[AGE_COLUMN] = parsers.whole_years(parsed["Date of Birth"], at)
    frame = pd.DataFrame(columns)
    # Text stays in Arrow-backed string columns, as read: converting to Python objects makes
    # GE's metrics about 15 % faster but costs gigabytes on a million-row file.
    frame.index = pd.Index(table.lines, name="line")
    return frame
