"""Everything pydantic cannot see in a mapping: names that must exist, values that must be on
the spec's lists, and the mapping's parts agreeing with each other.

One small check per rule, each adding `(key path, message)` problems to a `_Checks`; the key
path becomes the file's line in the message (`cldetl.mapping.lines`).
"""

from __future__ import annotations

from cldetl.mapping.lines import did_you_mean
from cldetl.mapping.model import (
    PERSON_FIELDS_NOT_MAPPED_PER_PERSON,
    DatedDetail,
    EventRow,
    EventRule,
    Filter,
    Mapping,
    Value,
)
from cldetl.spec import Spec
from cldetl.spec.population_bands import population_age_bands

Problems = list[tuple[tuple, str]]

DEFAULTS_ON_LISTS = {
    # defaults key -> (the CLD field whose list it must be on, the list's name in messages)
    "unpaid_carer_route_of_access": ("Request: Route of Access", "Route of Access"),
    "unpaid_carer_review_reason": ("Review Reason", "Review Reason"),
}
"""The guidance's defaults that are values of a defined list."""

FIELDS_AN_EVENT_ROW_NEEDS = ("Event Start Date",)


def check_mapping(m: Mapping, spec: Spec) -> Problems:
    """Everything pydantic cannot see: names that must exist, values that must be on lists."""
    checks = _Checks(m, spec)
    for part in (
        checks.lookups,
        checks.person,
        checks.events,
        checks.exclusions,
        checks.tests,
        checks.defaults,
        checks.population,
    ):
        part()
    return checks.problems


class _Checks:
    """The checks of one mapping against the spec, and the problems they found."""

    def __init__(self, m: Mapping, spec: Spec) -> None:
        self.m, self.spec = m, spec
        self.problems: Problems = []

    def problem(self, loc: tuple, message: str) -> None:
        self.problems.append((loc, message))

    # --- names that must exist -----------------------------------------------------------

    def cld_field(self, loc: tuple, name: str) -> bool:
        if self.spec.has_field(name):
            return True
        self.problem(loc, f"'{name}' is not a CLD field{did_you_mean(name, self.spec.headers)}")
        return False

    def known_source(self, loc: tuple, name: str) -> bool:
        if name in self.m.sources:
            return True
        self.problem(loc, f"no source named '{name}'{did_you_mean(name, list(self.m.sources))}")
        return False

    def source_columns(self, loc: tuple, source: str, columns: set[str] | list[str]) -> None:
        known = self.m.sources[source].columns
        for column in columns:
            if column not in known:
                self.problem(
                    loc,
                    f"column '{column}' is not declared in sources.{source}.columns"
                    f"{did_you_mean(column, list(known))}",
                )

    def not_a_list(self, loc: tuple, source: str, columns: set[str] | list[str]) -> None:
        """A `list` column holds every item of a one-to-many detail, read item by item only by
        `outcomes` and `linked_people`. Read as one value (a column, a template, a filter) it
        would be the list's text, "('IA', 'SVC')", in the return, or match no code."""
        known = self.m.sources[source].columns
        for column in sorted(c for c in columns if known.get(c) == "list"):
            self.problem(
                loc,
                f"column '{column}' is a list column: only `outcomes` (an Event Outcome) and "
                f"`linked_people` read a list; declare it text if it holds one value a record",
            )

    def on_list(self, loc: tuple, field: str, value: str | None, what: str | None = None) -> None:
        """`value` (when given) must be one of `field`'s defined-list values."""
        values = self.spec.field(field).values
        if value is None or value in values:
            return
        if what is not None:
            self.problem(loc, f"not a CLD {what} value")
        else:
            self.problem(loc, f"'{value}' is not a CLD {field} value{did_you_mean(value, values)}")

    # --- values and filters --------------------------------------------------------------

    def value(self, loc: tuple, field: str, value: Value, source: str | None) -> None:
        if value.lookup:
            self.value_lookup(loc + ("lookup",), field, value)
        if self.spec.field(field).is_defined_list:
            self.on_list(loc + ("default",), field, value.default)
            self.on_list(loc + ("value",), field, value.value)
        if value.same_as is not None:
            self.cld_field(loc + ("same_as",), value.same_as)
        if value.template is not None and not value.columns():
            self.problem(loc + ("template",), "a template needs at least one {column} part")
        if source and source in self.m.sources:
            self.source_columns(loc, source, value.columns())
            if value.outcomes is None:
                self.not_a_list(loc, source, value.columns())

    def value_lookup(self, loc: tuple, field: str, value: Value) -> None:
        lookups = self.m.lookups
        name = value.lookup
        if name not in lookups:
            self.problem(loc, f"no lookup named '{name}'{did_you_mean(name, list(lookups))}")
        elif lookups[name].field != field and not (value.outcomes and field == "Event Outcome"):
            self.problem(loc, f"lookup '{name}' gives {lookups[name].field} values, not {field}")

    def filter(self, loc: tuple, flt: Filter | None, source: str) -> None:
        if flt is not None and source in self.m.sources:
            self.source_columns(loc, source, flt.columns())
            self.not_a_list(loc, source, flt.columns())

    # --- the mapping's parts -------------------------------------------------------------

    def lookups(self) -> None:
        for name, lookup in self.m.lookups.items():
            loc = ("lookups", name)
            if not self.cld_field(loc + ("field",), lookup.field):
                continue
            if not self.spec.field(lookup.field).is_defined_list:
                self.problem(loc + ("field",), f"{lookup.field} is not a defined-list field")
                continue
            self.on_list(loc + ("default",), lookup.field, lookup.default)
            for code, target in lookup.values.items():
                self.on_list(loc + ("values", code), lookup.field, target)

    def person(self) -> None:
        person = self.m.person
        if self.known_source(("person", "source"), person.source):
            self.source_columns(("person", "key"), person.source, [person.key])
        for name, value in person.fields.items():
            self.person_field(("person", "fields", name), name, value)
        for name, detail in person.dated.items():
            self.dated_detail(("person", "dated", name), name, detail)

    def person_field(self, loc: tuple, name: str, value: Value) -> None:
        if not self.cld_field(loc, name):
            return
        field = self.spec.field(name)
        if field.module != "person" or name in PERSON_FIELDS_NOT_MAPPED_PER_PERSON:
            self.problem(loc, f"{name} is not a person detail; map it in an event rule")
            return
        self.value(loc, name, value, self.m.person.source)

    def dated_detail(self, loc: tuple, name: str, detail: DatedDetail) -> None:
        if not self.cld_field(loc, name):
            return
        if self.known_source(loc + ("source",), detail.source):
            columns = [detail.person, detail.column, detail.start]
            self.source_columns(loc, detail.source, columns)
        if detail.lookup:
            self.value(loc, name, Value(column=detail.column, lookup=detail.lookup), None)

    def events(self) -> None:
        names = [rule.name for rule in self.m.events]
        for i, rule in enumerate(self.m.events):
            loc = ("events", i)
            if names.count(rule.name) > 1:
                self.problem(loc + ("name",), f"rule name '{rule.name}' is used twice")
            if self.known_source(loc + ("source",), rule.source):
                self.event_rule(loc, rule)

    def event_rule(self, loc: tuple, rule: EventRule) -> None:
        self.filter(loc + ("when",), rule.when, rule.source)
        self.source_columns(loc + ("person",), rule.source, [rule.person])
        self.value(loc + ("client_type",), "Client Type", rule.client_type, rule.source)
        if rule.reference:
            self.value(loc + ("reference",), "Event Reference", rule.reference, rule.source)
        if rule.service_lines:
            self.service_lines(loc + ("service_lines",), rule)
        for j, row in enumerate(rule.rows):
            self.event_row(loc + ("rows", j), rule, row)

    def service_lines(self, loc: tuple, rule: EventRule) -> None:
        lines = rule.service_lines
        assert lines is not None
        columns = lines.same_service + [lines.start, lines.end]
        columns += [lines.order_by] if lines.order_by else []
        self.source_columns(loc, rule.source, columns)
        self.filter(loc + ("suspended",), lines.suspended, rule.source)
        if any(row.event_type not in (None, "Service") for row in rule.rows):
            self.problem(loc, "service_lines applies to Service rows only")

    def event_row(self, loc: tuple, rule: EventRule, row: EventRow) -> None:
        self.filter(loc + ("when",), row.when, rule.source)
        if row.person:
            self.source_columns(loc + ("person",), rule.source, [row.person])
        self.source_columns(loc + ("linked_people",), rule.source, row.linked_people)
        if row.client_type:
            self.value(loc + ("client_type",), "Client Type", row.client_type, rule.source)
        for field, value in row.fields.items():
            self.event_field(loc + ("fields", field), rule, row, field, value)
        if row.kind == "event":
            self.event_row_dates(loc + ("fields",), row)

    def event_field(
        self, loc: tuple, rule: EventRule, row: EventRow, field: str, value: Value
    ) -> None:
        if not self.cld_field(loc, field):
            return
        module = self.spec.field(field).module
        if module in ("submission", "person"):
            self.problem(loc, f"{field} comes from person details or the run, not events")
        elif row.kind == "carer_by_association" and module != "unpaid carers":
            self.problem(loc, "a 'carer_by_association' row carries no event fields")
        else:
            self.value(loc, field, value, rule.source)

    def event_row_dates(self, loc: tuple, row: EventRow) -> None:
        for needed in FIELDS_AN_EVENT_ROW_NEEDS:
            if needed not in row.fields:
                self.problem(loc, f"an event row needs '{needed}'")
        if row.event_type != "Service" and "Event End Date" not in row.fields:
            self.problem(
                loc,
                "a request, assessment or review needs "
                "'Event End Date' (only services may be open)",
            )

    def exclusions(self) -> None:
        for i, exclusion in enumerate(self.m.exclusions):
            loc = ("exclusions", i)
            for name in exclusion.sources:
                if self.known_source(loc + ("sources",), name):
                    self.filter(loc + ("when",), exclusion.when, name)

    def tests(self) -> None:
        for i, test in enumerate(self.m.tests):
            loc = ("tests", i)
            for source, rows in test.given.items():
                if not self.known_source(loc + ("given", source), source):
                    continue
                for j, row in enumerate(rows):
                    self.source_columns(loc + ("given", source, j), source, list(row))
            for j, row in enumerate(test.expect):
                for field in row:
                    self.cld_field(loc + ("expect", j, field), field)

    def defaults(self) -> None:
        for key, (field, what) in DEFAULTS_ON_LISTS.items():
            value = getattr(self.m.defaults, key) or None
            self.on_list(("defaults", key), field, value, what)

    def population(self) -> None:
        """Figures for exactly the age bands the measures take a rate of (national_measures.yaml),
        so no band is left without a rate by a misspelt name."""
        given = self.m.population.by_age_band if self.m.population else None
        if given is None:
            return
        bands = population_age_bands()
        for band in given:
            if band not in bands:
                self.problem(
                    ("population", "by_age_band", band),
                    f"'{band}' is not an age band of the measures{did_you_mean(band, bands)}; "
                    f"the bands are {', '.join(repr(b) for b in bands)}",
                )
        for band in bands:
            if band not in given:
                self.problem(
                    ("population", "by_age_band"),
                    f"no figure for the age band '{band}'; give every band: "
                    f"{', '.join(repr(b) for b in bands)}",
                )
