"""Everything pydantic cannot see in a mapping: names that must exist, values that must be on
the spec's lists, and the mapping's parts agreeing with each other."""

from __future__ import annotations

from cldetl.mapping.lines import did_you_mean
from cldetl.mapping.model import (
    PERSON_FIELDS_NOT_MAPPED_PER_PERSON,
    Filter,
    Mapping,
    Value,
)
from cldetl.spec import Spec


def check_mapping(m: Mapping, spec: Spec) -> list[tuple[tuple, str]]:
    """Everything pydantic cannot see: names that must exist, values that must be on lists."""
    problems: list[tuple[tuple, str]] = []

    def problem(loc: tuple, message: str) -> None:
        problems.append((loc, message))

    def cld_field(loc: tuple, name: str) -> bool:
        if spec.has_field(name):
            return True
        problem(loc, f"'{name}' is not a CLD field{did_you_mean(name, spec.headers)}")
        return False

    def source_columns(loc: tuple, source: str, columns: set[str] | list[str]) -> None:
        known = m.sources[source].columns
        for column in columns:
            if column not in known:
                problem(
                    loc,
                    f"column '{column}' is not declared in sources.{source}.columns"
                    f"{did_you_mean(column, list(known))}",
                )

    def check_value(loc: tuple, field: str, value: Value, source: str | None) -> None:
        f = spec.field(field)
        if value.lookup:
            if value.lookup not in m.lookups:
                problem(
                    loc + ("lookup",),
                    f"no lookup named '{value.lookup}'"
                    f"{did_you_mean(value.lookup, list(m.lookups))}",
                )
            elif m.lookups[value.lookup].field != field and not (
                value.outcomes and field == "Event Outcome"
            ):
                problem(
                    loc + ("lookup",),
                    f"lookup '{value.lookup}' gives {m.lookups[value.lookup].field} values, "
                    f"not {field}",
                )
        if value.default is not None and f.is_defined_list and value.default not in f.values:
            problem(
                loc + ("default",),
                f"'{value.default}' is not a CLD {field} value"
                f"{did_you_mean(value.default, f.values)}",
            )
        if value.value is not None and f.is_defined_list and value.value not in f.values:
            problem(
                loc + ("value",),
                f"'{value.value}' is not a CLD {field} value{did_you_mean(value.value, f.values)}",
            )
        if value.same_as is not None:
            cld_field(loc + ("same_as",), value.same_as)
        if value.template is not None and not value.columns():
            problem(loc + ("template",), "a template needs at least one {column} part")
        if source and source in m.sources:
            source_columns(loc, source, value.columns())

    def check_filter(loc: tuple, flt: Filter | None, source: str) -> None:
        if flt is not None and source in m.sources:
            source_columns(loc, source, flt.columns())

    def known_source(loc: tuple, name: str) -> bool:
        if name in m.sources:
            return True
        problem(loc, f"no source named '{name}'{did_you_mean(name, list(m.sources))}")
        return False

    for name, lookup in m.lookups.items():
        loc = ("lookups", name)
        if not cld_field(loc + ("field",), lookup.field):
            continue
        f = spec.field(lookup.field)
        if not f.is_defined_list:
            problem(loc + ("field",), f"{lookup.field} is not a defined-list field")
            continue
        if lookup.default is not None and lookup.default not in f.values:
            problem(
                loc + ("default",),
                f"'{lookup.default}' is not a CLD {lookup.field} value"
                f"{did_you_mean(lookup.default, f.values)}",
            )
        for code, target in lookup.values.items():
            if target not in f.values:
                problem(
                    loc + ("values", code),
                    f"'{target}' is not a CLD {lookup.field} value{did_you_mean(target, f.values)}",
                )

    person = m.person
    if known_source(("person", "source"), person.source):
        source_columns(("person", "key"), person.source, [person.key])
    for name, value in person.fields.items():
        loc = ("person", "fields", name)
        if not cld_field(loc, name):
            continue
        if spec.field(name).module != "person" or name in PERSON_FIELDS_NOT_MAPPED_PER_PERSON:
            problem(loc, f"{name} is not a person detail; map it in an event rule")
            continue
        check_value(loc, name, value, person.source)
    for name, detail in person.dated.items():
        loc = ("person", "dated", name)
        if not cld_field(loc, name):
            continue
        if known_source(loc + ("source",), detail.source):
            source_columns(loc, detail.source, [detail.person, detail.column, detail.start])
        if detail.lookup:
            check_value(loc, name, Value(column=detail.column, lookup=detail.lookup), None)

    names = [rule.name for rule in m.events]
    for i, rule in enumerate(m.events):
        loc = ("events", i)
        if names.count(rule.name) > 1:
            problem(loc + ("name",), f"rule name '{rule.name}' is used twice")
        if not known_source(loc + ("source",), rule.source):
            continue
        check_filter(loc + ("when",), rule.when, rule.source)
        source_columns(loc + ("person",), rule.source, [rule.person])
        check_value(loc + ("client_type",), "Client Type", rule.client_type, rule.source)
        if rule.reference:
            check_value(loc + ("reference",), "Event Reference", rule.reference, rule.source)
        if rule.service_lines:
            lines = rule.service_lines
            cols = lines.same_service + [lines.start, lines.end]
            cols += [lines.order_by] if lines.order_by else []
            source_columns(loc + ("service_lines",), rule.source, cols)
            check_filter(loc + ("service_lines", "suspended"), lines.suspended, rule.source)
            if any(row.event_type not in (None, "Service") for row in rule.rows):
                problem(loc + ("service_lines",), "service_lines applies to Service rows only")
        for j, row in enumerate(rule.rows):
            rloc = loc + ("rows", j)
            check_filter(rloc + ("when",), row.when, rule.source)
            if row.person:
                source_columns(rloc + ("person",), rule.source, [row.person])
            source_columns(rloc + ("linked_people",), rule.source, row.linked_people)
            if row.client_type:
                check_value(rloc + ("client_type",), "Client Type", row.client_type, rule.source)
            for field, value in row.fields.items():
                floc = rloc + ("fields", field)
                if not cld_field(floc, field):
                    continue
                module = spec.field(field).module
                if module in ("submission", "person"):
                    problem(floc, f"{field} comes from person details or the run, not events")
                    continue
                if row.kind == "carer_by_association" and module not in ("unpaid carers",):
                    problem(floc, "a 'carer_by_association' row carries no event fields")
                    continue
                check_value(floc, field, value, rule.source)
            if row.kind == "event":
                for needed in ("Event Start Date",):
                    if needed not in row.fields:
                        problem(rloc + ("fields",), f"an event row needs '{needed}'")
                if row.event_type != "Service" and "Event End Date" not in row.fields:
                    problem(
                        rloc + ("fields",),
                        "a request, assessment or review needs "
                        "'Event End Date' (only services may be open)",
                    )

    for i, exclusion in enumerate(m.exclusions):
        loc = ("exclusions", i)
        for name in exclusion.sources:
            if known_source(loc + ("sources",), name):
                check_filter(loc + ("when",), exclusion.when, name)

    for i, test in enumerate(m.tests):
        loc = ("tests", i)
        for source, rows in test.given.items():
            if not known_source(loc + ("given", source), source):
                continue
            for j, row in enumerate(rows):
                source_columns(loc + ("given", source, j), source, list(row))
        for j, row in enumerate(test.expect):
            for field in row:
                cld_field(loc + ("expect", j, field), field)

    defaults = m.defaults
    if defaults.unpaid_carer_route_of_access and defaults.unpaid_carer_route_of_access not in (
        spec.field("Request: Route of Access").values
    ):
        problem(("defaults", "unpaid_carer_route_of_access"), "not a CLD Route of Access value")
    if defaults.unpaid_carer_review_reason and defaults.unpaid_carer_review_reason not in (
        spec.field("Review Reason").values
    ):
        problem(("defaults", "unpaid_carer_review_reason"), "not a CLD Review Reason value")
    return problems
