"""`cldetl validate FILE --report DIR`: the same checks, run a second time by Great Expectations.

Why a second engine: an analyst (or the DHSC) can read a Great Expectations suite and its Data
Docs without reading cldetl's code, and a check that two independent engines agree on is one we
can trust. So the suite is generated from the same spec data as the native validator
(`cldetl/spec/release2.yaml`: defined lists, type patterns, the mandatory / not applicable /
expected-value tables with their `when` conditions), one expectation per native rule where GE
has an equivalent, and the index page puts GE's unexpected count next to the native number of
findings for the same rule and column. A disagreement there is a bug in one of the two.

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

Great Expectations is imported inside the functions that run it: it takes seconds to import,
and `cldetl validate` without `--report` must not pay for it. The report directory can hold
personal data (Data Docs list unexpected values), so everything written is owner-only; values
that the console report hides (personal fields, free text, identifiers) are replaced in the Data
Docs too, and the index page shows counts, never values.
"""

from __future__ import annotations

import html
import itertools
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cldetl.conditions import (
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
from cldetl.errors import UsageError
from cldetl.parsers import TEXT_FORBIDDEN

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.csvfile import CldTable
    from cldetl.findings import ValidationReport
    from cldetl.spec import Field as SpecField
    from cldetl.spec import Spec

LIST_RULES = ("list.value", "list.release1", "list.near_miss")
AGE_COLUMN = "Age [derived]"
AGE_FIELDS = ("Date of Birth", "Event End Date", "Reporting Period End Date")
SHAPED_SUFFIX = " [dd/mm/yyyy]"
PARSED_SUFFIX = " [date]"
DATE_FORMAT = "%d/%m/%Y"
DOCS_DIRNAME = "great_expectations"
DOCS_MARKER = ".cldetl-ge-report"
SITE_NAME = "cldetl"
SUITE_NAME = "cld_release2"

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
    from cldetl.report import console_safe

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
    from cldetl.parsers import POSTCODE_FULL, POSTCODE_OUTWARD, POSTCODE_SPECIAL

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
    import pandas as pd

    from cldetl import parsers

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


# --- Running GE --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What GE said about one planned expectation."""

    plan: ExpectationPlan
    expectation_type: str
    success: bool | None
    unexpected: int | None
    error: str | None = None


@dataclass
class GeRun:
    outcomes: list[Outcome]
    docs_index: Path | None
    validation_page: Path | None
    suite_page: Path | None
    seconds: float


def _ge_condition(when: RowCondition) -> Any:
    """Our OR of ANDs as GE Condition objects (the caller leaves out 'every row')."""
    from great_expectations.expectations.row_conditions import AndCondition, Column, OrCondition

    def literal(lit: Literal) -> Any:
        column = Column(lit.column)
        if lit.op == "in":
            return column.is_in(lit.values)
        if lit.op == "not_in":
            return column.is_not_in(lit.values)
        if lit.op == "null":
            return column.is_null()
        if lit.op == "not_null":
            return column.is_not_null()
        value = lit.values[0]
        return {
            ">=": column >= value,
            "<=": column <= value,
            ">": column > value,
            "<": column < value,
        }[lit.op]

    def conjunction(conj: Conjunction) -> Any:
        parts = [literal(lit) for lit in conj]
        return parts[0] if len(parts) == 1 else AndCondition(conditions=parts)

    alternatives = [conjunction(c) for c in when]
    if len(alternatives) == 1:
        return alternatives[0]
    return OrCondition(conditions=alternatives)


def _import_gx() -> Any:
    """Great Expectations, with its usage statistics off (set before the import reads it)."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx

    return gx


def _make_expectation(gxe: Any, index: int, plan: ExpectationPlan) -> Any | None:
    """The GE expectation for a plan; None when its condition can never hold."""
    kwargs = dict(plan.kwargs)
    if plan.when is not None:
        if plan.when == ():
            return None
        if plan.when != ((),):
            kwargs["row_condition"] = _ge_condition(plan.when)
    return getattr(gxe, plan.expectation)(
        **kwargs,
        description=plan.description,
        meta={"cldetl_index": index, "rules": list(plan.rules), "column": plan.column},
        severity="critical" if plan.severity == "error" else "warning",
    )


def run_ge(plan: SuitePlan, frame: pd.DataFrame, docs_dir: Path) -> GeRun:
    """Validate `frame` against the planned suite with GE, and build Data Docs in `docs_dir`.

    The checkpoint runs without actions so that, before the Data Docs are built, unexpected
    values the console hides (personal fields, free text, identifiers) can be replaced in the
    stored results: GE applies one result format to a whole run, not one per expectation.
    """
    started = time.perf_counter()
    gx = _import_gx()
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "show_cta_footer": False,
                },
            }
        },
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas("cld_file")
    asset = source.add_dataframe_asset("release2_csv")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole_file")
    # Built whole, then stored once: adding to a stored suite re-serialises it every time.
    made = (_make_expectation(gxe, i, p) for i, p in enumerate(plan.expectations))
    suite = context.suites.add(
        gx.ExpectationSuite(name=SUITE_NAME, expectations=[e for e in made if e is not None])
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="cld_release2_check", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="cldetl_report",
            validation_definitions=[definition],
            actions=[],
            result_format={"result_format": "BASIC", "partial_unexpected_count": 20},
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})

    by_index: dict[int, Any] = {}
    identifiers = []
    for identifier, run_result in result.run_results.items():
        for r in run_result.results:
            index = int(r.expectation_config.meta["cldetl_index"])
            by_index[index] = r
            if plan.expectations[index].hide_values:
                _hide_values(r)
        context.validation_results_store.set(identifier, run_result)
        identifiers.append(identifier)
    context.build_data_docs(site_names=[SITE_NAME])
    outcomes = [_outcome(planned, by_index.get(i)) for i, planned in enumerate(plan.expectations)]
    index_page = docs_dir / "index.html"
    suite_page = docs_dir / "expectations" / f"{SUITE_NAME}.html"
    pages = [_site_path(context, identifier) for identifier in identifiers]
    return GeRun(
        outcomes=outcomes,
        docs_index=index_page if index_page.exists() else None,
        validation_page=next((p for p in pages if p is not None), None),
        suite_page=suite_page if suite_page.exists() else None,
        seconds=time.perf_counter() - started,
    )


def _hide_values(r: Any) -> None:
    """Replace the unexpected values GE kept for one result by a placeholder (counts stay)."""
    from cldetl.report import HIDDEN

    result = r.result
    if not result:
        return
    count = int(result.get("unexpected_count") or 0)
    for key in ("partial_unexpected_list", "unexpected_list"):
        if key in result:
            result[key] = [HIDDEN] if count else []
    for key in ("partial_unexpected_counts", "unexpected_counts"):
        if key in result:
            result[key] = [{"value": HIDDEN, "count": count}] if count else []
    result.pop("unexpected_rows", None)


def _site_path(context: Any, identifier: Any) -> Path | None:
    from urllib.parse import unquote, urlparse

    for site in context.get_docs_sites_urls(resource_identifier=identifier, site_name=SITE_NAME):
        url = site.get("site_url")
        if url and url.startswith("file://"):
            path = Path(unquote(urlparse(url).path))
            if path.exists():
                return path
    return None


def _outcome(plan: ExpectationPlan, r: Any) -> Outcome:
    if r is None:
        if plan.when == ():  # the condition can never hold: nothing to check
            return Outcome(plan, _snake(plan.expectation), True, 0)
        return Outcome(plan, _snake(plan.expectation), None, None, "no result from GE")
    kind = r.expectation_config.type
    message = _exception_message(r.exception_info)
    if message is not None:
        return Outcome(plan, kind, None, None, message)
    result = r.result or {}
    if plan.expectation == "ExpectTableColumnsToMatchSet":
        missing = result.get("details", {}).get("mismatched", {}).get("missing", [])
        unexpected = len(missing)
    else:
        unexpected = result.get("unexpected_count")
    return Outcome(plan, kind, bool(r.success), None if unexpected is None else int(unexpected))


def _exception_message(info: Any) -> str | None:
    """GE's exception info is one {raised_exception, exception_message} dict, or one per metric."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            text = str(entry.get("exception_message") or "error")
            return (text.splitlines() or ["error"])[0][:200]
    return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --- Agreement with the native findings --------------------------------------------------------


@dataclass
class Agreement:
    rules: tuple[str, ...]
    column: str | None
    ge: int | None
    native: int

    @property
    def agrees(self) -> bool:
        return self.ge is not None and self.ge == self.native


def native_count(findings: pd.DataFrame, rules: tuple[str, ...], column: str | None) -> int:
    """How many native findings a (rules, column) key covers."""
    mask = findings["rule"].isin(list(rules))
    if column is not None:
        mask &= findings["column"].eq(column).fillna(False).astype(bool)
    return int(mask.sum())


def agreement(outcomes: list[Outcome], findings: pd.DataFrame) -> dict[tuple, Agreement]:
    """Per (rules, column): GE's unexpected count (summed over its plans) against native."""
    out: dict[tuple, Agreement] = {}
    for o in outcomes:
        key = o.plan.key
        if key not in out:
            out[key] = Agreement(o.plan.rules, o.plan.column, 0, native_count(findings, *key))
        current = out[key]
        if current.ge is not None:
            current.ge = None if o.unexpected is None else current.ge + o.unexpected
    return out


# --- Writing -----------------------------------------------------------------------------------


def _private_dir(path: Path) -> None:
    """Create `path` owner-only; an existing directory keeps its own permissions."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file; --report takes a folder for the report.")
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        os.chmod(path, 0o700)


def _write_private(path: Path, text: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _fresh_docs_dir(docs_dir: Path) -> None:
    """An empty, owner-only Data Docs directory; an older report of ours there is removed first
    (so pages of a previously checked file do not linger), anything else is left alone."""
    if docs_dir.exists():
        if not (docs_dir / DOCS_MARKER).exists():
            raise UsageError(
                f"{docs_dir} exists and was not written by cldetl; choose another --report "
                "folder or remove it."
            )
        shutil.rmtree(docs_dir)
    docs_dir.mkdir(mode=0o700)
    os.chmod(docs_dir, 0o700)
    _write_private(docs_dir / DOCS_MARKER, "Great Expectations Data Docs written by cldetl.\n")


def _lock_down(root: Path) -> None:
    """Owner-only permissions for everything GE wrote (it uses the process umask)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o700)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o600)


@dataclass
class GeReport:
    """Everything a report run produced (for the CLI's summary line and for tests)."""

    index: Path
    plan: SuitePlan
    run: GeRun
    agreements: dict[tuple, Agreement]

    @property
    def disagreements(self) -> list[Agreement]:
        return [a for a in self.agreements.values() if not a.agrees]


def build_ge_report(table: CldTable, report: ValidationReport, out_dir: str | Path) -> GeReport:
    """`write_ge_report`, returning the suite plan, GE's outcomes and the agreement as well."""
    from cldetl.spec import load_spec

    spec = load_spec()
    out = Path(out_dir).resolve()  # GE's file stores need an absolute folder
    _private_dir(out)
    docs_dir = out / DOCS_DIRNAME
    _fresh_docs_dir(docs_dir)
    plan = build_suite(spec, table.header)
    frame = ge_frame(plan, table, spec)
    try:
        run = run_ge(plan, frame, docs_dir)
    finally:
        _lock_down(docs_dir)
    index = out / "index.html"
    _write_private(index, render_index(spec, table, report, plan, run, out))
    return GeReport(index, plan, run, agreement(run.outcomes, report.findings))


def write_ge_report(table: CldTable, report: ValidationReport, out_dir: str | Path) -> Path:
    """Build the suite from the spec, validate `table.frame` with GE, build Data Docs into
    `out_dir/great_expectations/` and write `out_dir/index.html`; return the index path."""
    return build_ge_report(table, report, out_dir).index


# --- The index page ----------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.n { text-align: right; }
.error { color: #a00; font-weight: bold; }
.warning { color: #a60; font-weight: bold; }
.ok { color: #060; }
.bad { color: #a00; font-weight: bold; }
.muted { color: #666; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _rel(path: Path | None, base: Path) -> str | None:
    if path is None:
        return None
    return Path(os.path.relpath(path, base)).as_posix()


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """An HTML table; cells are already escaped HTML."""
    numeric = numeric or set()
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_index(
    spec: Spec,
    table: CldTable,
    report: ValidationReport,
    plan: SuitePlan,
    run: GeRun,
    out_dir: Path,
) -> str:
    """Our own summary page: native totals and findings by rule, and GE's verdicts beside them.

    Counts only: no value from the file appears here, so the page can be shared more freely than
    the Data Docs next to it.
    """
    findings = report.findings
    agreements = agreement(run.outcomes, findings)
    mirrored = plan.mirrored_rules
    parts: list[str] = []
    name = Path(table.path).name
    parts.append(f"<h1>CLD Release {_e(spec.release)} validation report: {_e(name)}</h1>")
    parts.append(
        _table(
            ["File", "Rows", "Errors", "Warnings", "Encoding"],
            [
                [
                    _e(table.path),
                    str(report.rows),
                    str(report.errors),
                    str(report.warnings),
                    _e(report.encoding),
                ]
            ],
            numeric={1, 2, 3},
        )
    )
    agreeing = sum(1 for a in agreements.values() if a.agrees)
    verdict_class = "ok" if agreeing == len(agreements) else "bad"
    parts.append(
        f'<p class="{verdict_class}">Great Expectations agrees with the native check on '
        f"{agreeing} of {len(agreements)} mirrored rule/column checks "
        f"({len(run.outcomes)} expectations, run in {run.seconds:.1f} s).</p>"
    )
    links = []
    for label, path in (
        ("validation results", run.validation_page),
        ("expectation suite", run.suite_page),
        ("Data Docs home", run.docs_index),
    ):
        href = _rel(path, out_dir)
        if href:
            links.append(f'<a href="{_e(href)}">Great Expectations Data Docs: {_e(label)}</a>')
    if links:
        parts.append("<p>" + " &middot; ".join(links) + "</p>")
        parts.append(
            '<p class="muted">The Data Docs list unexpected values of coded fields (values of '
            "personal fields, free text and identifiers are not shown): keep this folder private. "
            "Opening them loads stylesheets and scripts from public CDNs (no data is sent).</p>"
        )

    parts.append("<h2>Summary counts</h2>")
    if not report.counts:
        parts.append("<p>None (the columns they count are missing).</p>")
    for label, counts in report.counts.items():
        parts.append(f"<h3>{_e(label)}</h3>")
        parts.append(
            _table(["Value", "Rows"], [[_e(v), str(n)] for v, n in counts.items()], numeric={1})
        )

    parts.append("<h2>Findings by rule (native validator)</h2>")
    if findings.empty:
        parts.append("<p>No findings: the file meets the Release 2 specification.</p>")
    else:
        rows = []
        for rule, severity, count in report.by_rule().itertuples(index=False, name=None):
            meta = spec.rules.get(rule)
            if rule in mirrored:
                ge = "mirrored"
            elif rule in plan.skipped:
                ge = "skipped (missing column)"
            else:
                ge = "native only"
            rows.append(
                [
                    f"<code>{_e(rule)}</code>",
                    f'<span class="{_e(severity)}">{_e(severity)}</span>',
                    str(count),
                    _e(meta.section if meta else ""),
                    _e(meta.title if meta else ""),
                    _e(ge),
                ]
            )
        parts.append(
            _table(
                ["Rule", "Severity", "Findings", "Guidance section", "Title", "Great Expectations"],
                rows,
                numeric={2},
            )
        )

    parts.append("<h2>Great Expectations expectations</h2>")
    parts.append(
        '<p class="muted">Agreement is judged per rule and column: GE\'s unexpected counts for '
        "that rule and column are summed (a date is checked by two expectations, shape and "
        "calendar; an event can run past a death in two ways) and compared with the native "
        "number of findings for that rule and column.</p>"
    )
    rows = []
    for number, o in enumerate(run.outcomes, start=1):
        a = agreements[o.plan.key]
        if o.error:
            success = f'<span class="bad">error: {_e(o.error)}</span>'
        else:
            success = _e("yes" if o.success else "no")
        verdict = '<span class="ok">yes</span>' if a.agrees else '<span class="bad">no</span>'
        rows.append(
            [
                str(number),
                f"<code>{_e(o.expectation_type)}</code>",
                _e(o.plan.column if o.plan.column is not None else "(table)"),
                "<br>".join(f"<code>{_e(r)}</code>" for r in o.plan.rules),
                _e(o.plan.condition_text or "every row"),
                success,
                _e(o.unexpected),
                _e(a.ge),
                str(a.native),
                verdict,
            ]
        )
    parts.append(
        _table(
            [
                "#",
                "Expectation",
                "Column",
                "Rule",
                "Where",
                "Success",
                "GE unexpected",
                "GE, rule + column",
                "Native, rule + column",
                "Agrees",
            ],
            rows,
            numeric={0, 6, 7, 8},
        )
    )

    parts.append("<h2>Native only</h2>")
    parts.append(
        "<p>These rules are checked by the native validator only: Great Expectations has no "
        "equivalent expectation.</p>"
    )
    rows = []
    for rule, reason in plan.native_only.items():
        meta = spec.rules[rule]
        count = native_count(findings, (rule,), None)
        rows.append([f"<code>{_e(rule)}</code>", _e(meta.title), _e(reason), str(count)])
    parts.append(_table(["Rule", "Title", "Why not in GE", "Native findings"], rows, numeric={3}))
    if plan.skipped:
        parts.append("<h3>Skipped: columns missing from the header</h3>")
        rows = [[f"<code>{_e(rule)}</code>", _e(columns)] for rule, columns in plan.skipped.items()]
        parts.append(_table(["Rule", "Missing columns"], rows))

    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">\n"
        f"<title>CLD validation report: {_e(name)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
