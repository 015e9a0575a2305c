"""The CLD Release 2 specification, read from its one data file (`cldetl/spec/release2.yaml`).

Everything that names a CLD field, a defined-list value or a rule gets it from here: the
validator, the Great Expectations report, the writer and `docs/spec.md`. The loader checks the
data file against itself (every field, value and condition it mentions exists) so that a typo in
the spec fails loudly instead of silently never matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from cldetl.errors import SpecError
from cldetl.spec.conditions import Condition, FieldIn, parse_condition, to_data, walk

SEVERITIES = ("error", "warning")


@dataclass(frozen=True)
class Field:
    """One CLD field, named by its CSV header."""

    name: str
    module: str
    type: str
    guidance: str
    section: str
    values: tuple[str, ...] = ()
    special_values: tuple[str, ...] = ()
    format: str | None = None
    personal: bool = False
    hierarchy: bool = False

    @property
    def is_defined_list(self) -> bool:
        return self.type == "defined_list"


@dataclass(frozen=True)
class RowRule:
    """A rule that is a row of one of the spec's tables (mandatory, not applicable, expected)."""

    rule: str
    kind: str  # mandatory | not_applicable | expected
    fields: tuple[str, ...]
    when: Condition
    severity: str
    section: str
    note: str = ""
    annex_a: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """An entry of the rule catalogue: what a finding's rule id means and where it comes from."""

    id: str
    severity: str
    section: str
    title: str
    # Where the rule comes from (CLD guidance, DLP guide, DHSC method) and what happens to a
    # file that breaks it nationally (DLP rejects, DHSC flags, or '' when only cldetl warns).
    source: str = "CLD guidance"
    consequence: str = ""


@dataclass(frozen=True)
class Release1Value:
    field: str
    release1: str
    release2: str | None
    kind: str  # r1 | legacy | invalid


@dataclass(frozen=True)
class PunctuationRule:
    pattern: re.Pattern[str]
    replace: str
    rule: str


@dataclass(frozen=True)
class Spec:
    release: str
    title: str
    modules: dict[str, str]
    types: dict[str, dict[str, Any]]
    fields: tuple[Field, ...]
    dropped_fields: tuple[str, ...]
    conditions: dict[str, Condition]
    mandatory: tuple[RowRule, ...]
    not_applicable: tuple[RowRule, ...]
    expected_values: tuple[RowRule, ...]
    outcome_event_types: dict[str, tuple[str, ...]]
    punctuation_rules: tuple[PunctuationRule, ...]
    aliases: dict[tuple[str, str], str]
    release1_values: tuple[Release1Value, ...]
    rules: dict[str, Rule]
    event_key_common: tuple[str, ...]
    event_key_by_type: dict[str, tuple[str, ...]]
    summary_counts: tuple[tuple[str, ...], ...]
    dlp: dict[str, Any] = field(default_factory=dict)
    _by_name: dict[str, Field] = field(default_factory=dict, repr=False, compare=False)

    @property
    def headers(self) -> list[str]:
        """The 48 CSV headers in file order."""
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        return self._by_name[name]

    def has_field(self, name: str) -> bool:
        return name in self._by_name

    @property
    def row_rules(self) -> tuple[RowRule, ...]:
        return self.mandatory + self.not_applicable + self.expected_values

    def mandatory_for(self, name: str) -> list[RowRule]:
        return [r for r in self.mandatory if name in r.fields]

    def pattern(self, type_name: str) -> str | None:
        return self.types.get(type_name, {}).get("pattern")


def _need(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise SpecError(f"{where}: missing key '{key}'")
    return raw[key]


def _parse_fields(raw_fields: list[dict[str, Any]], types: dict[str, Any], modules: dict[str, str]):
    fields = []
    for i, raw in enumerate(raw_fields):
        where = f"fields[{i}]"
        f = Field(
            name=_need(raw, "name", where),
            module=_need(raw, "module", where),
            type=_need(raw, "type", where),
            guidance=_need(raw, "guidance", where),
            section=_need(raw, "section", where),
            values=tuple(str(v) for v in raw.get("values", ())),
            special_values=tuple(str(v) for v in raw.get("special_values", ())),
            format=raw.get("format"),
            personal=bool(raw.get("personal", False)),
            hierarchy=bool(raw.get("hierarchy", False)),
        )
        if f.type not in types:
            raise SpecError(f"{where} ({f.name}): unknown type {f.type!r}")
        if f.module not in modules:
            raise SpecError(f"{where} ({f.name}): unknown module {f.module!r}")
        if f.is_defined_list != bool(f.values):
            raise SpecError(
                f"{where} ({f.name}): a defined list, and only a defined list, has values"
            )
        if len(set(f.values)) != len(f.values):
            raise SpecError(f"{where} ({f.name}): a value is listed twice")
        fields.append(f)
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise SpecError("fields: a field name is listed twice")
    return tuple(fields)


def _check_condition(cond: Condition, by_name: dict[str, Field], where: str) -> None:
    """Every field a condition names exists, and every value it names is on that field's list."""
    for node in walk(cond):
        name = getattr(node, "field", None)
        if name is None:
            continue
        if name not in by_name:
            raise SpecError(f"{where}: condition names unknown field {name!r}")
        if isinstance(node, FieldIn) and by_name[name].is_defined_list:
            unknown = [v for v in node.values if v not in by_name[name].values]
            if unknown:
                raise SpecError(f"{where}: {unknown!r} not on the {name} list")


def _parse_row_rules(raw_rows, kind, named, by_name) -> tuple[RowRule, ...]:
    rows = []
    for i, raw in enumerate(raw_rows):
        where = f"{kind}[{i}]"
        fields = raw.get("fields") or [_need(raw, "field", where)]
        row = RowRule(
            rule=_need(raw, "rule", where),
            kind=kind,
            fields=tuple(fields),
            when=parse_condition(_need(raw, "when", where), named, f"{where}.when"),
            severity=raw.get("severity", "error"),
            section=_need(raw, "section", where),
            note=raw.get("note", ""),
            annex_a=raw.get("annex_a", ""),
            values=tuple(raw.get("values", ())),
        )
        for name in row.fields:
            if name not in by_name:
                raise SpecError(f"{where} ({row.rule}): unknown field {name!r}")
            for value in row.values:
                if value not in by_name[name].values:
                    raise SpecError(f"{where} ({row.rule}): {value!r} not on the {name} list")
        if row.severity not in SEVERITIES:
            raise SpecError(f"{where} ({row.rule}): severity is error or warning")
        _check_condition(row.when, by_name, where)
        rows.append(row)
    return tuple(rows)


def parse_spec(raw: dict[str, Any]) -> Spec:
    """Build and cross-check a Spec from the data file's contents."""
    modules = dict(_need(raw, "modules", "spec"))
    types = dict(_need(raw, "types", "spec"))
    fields = _parse_fields(_need(raw, "fields", "spec"), types, modules)
    by_name = {f.name: f for f in fields}

    named: dict[str, Condition] = {}
    for name, body in _need(raw, "conditions", "spec").items():
        named[name] = parse_condition(body, named, f"conditions.{name}")
        _check_condition(named[name], by_name, f"conditions.{name}")

    mandatory = _parse_row_rules(_need(raw, "mandatory", "spec"), "mandatory", named, by_name)
    not_applicable = _parse_row_rules(
        raw.get("not_applicable", []), "not_applicable", named, by_name
    )
    expected = _parse_row_rules(raw.get("expected_values", []), "expected", named, by_name)

    outcome_raw = _need(raw, "event_outcome_by_event_type", "spec")
    outcome_table = {str(k): tuple(v) for k, v in outcome_raw["table"].items()}
    outcomes = by_name["Event Outcome"].values
    event_types = by_name["Event Type"].values
    if list(outcome_table) != list(outcomes):
        raise SpecError(
            "event_outcome_by_event_type: rows must be the Event Outcome list, in order"
        )
    for outcome, types_ in outcome_table.items():
        if not set(types_) <= set(event_types):
            raise SpecError(f"event_outcome_by_event_type.{outcome}: unknown event type")

    punctuation = tuple(
        PunctuationRule(re.compile(p["pattern"]), p["replace"], p["rule"])
        for p in raw.get("punctuation_rules", [])
    )
    aliases: dict[tuple[str, str], str] = {}
    for a in raw.get("aliases", []):
        if a["release2"] not in by_name[a["field"]].values:
            raise SpecError(f"aliases: {a['release2']!r} not on the {a['field']} list")
        aliases[(a["field"], a["value"])] = a["release2"]

    release1 = []
    for i, r in enumerate(raw.get("release1_values", [])):
        value = Release1Value(r["field"], str(r["release1"]), r.get("release2"), r["kind"])
        target = by_name.get(value.field)
        if target is None:
            raise SpecError(f"release1_values[{i}]: unknown field {value.field!r}")
        if value.release2 is not None and value.release2 not in target.values:
            raise SpecError(
                f"release1_values[{i}]: {value.release2!r} not on the {value.field} list"
            )
        if value.release1 in target.values:
            raise SpecError(f"release1_values[{i}]: {value.release1!r} is itself a Release 2 value")
        release1.append(value)

    rules: dict[str, Rule] = {}
    for rule_id, body in _need(raw, "rules", "spec").items():
        rules[rule_id] = Rule(
            rule_id,
            body["severity"],
            body["section"],
            body["title"],
            source=body.get("source", "CLD guidance"),
            consequence=body.get("consequence", ""),
        )
    for row in mandatory + not_applicable + expected:
        if row.rule in rules:
            raise SpecError(f"rule id {row.rule!r} is used twice")
        title = {
            "mandatory": f"{' / '.join(row.fields)} is mandatory here",
            "not_applicable": f"{' / '.join(row.fields)} does not apply here and should be blank",
            "expected": f"{' / '.join(row.fields)} should be {' or '.join(row.values)} here",
        }[row.kind]
        # Annex A's mandatory fields get DHSC's "missing" data quality code when blank.
        consequence = "DHSC flags" if row.kind == "mandatory" else ""
        rules[row.rule] = Rule(row.rule, row.severity, row.section, title, consequence=consequence)

    key = _need(raw, "event_key", "spec")
    spec = Spec(
        release=str(_need(raw, "release", "spec")),
        title=str(raw.get("title", "")),
        modules=modules,
        types=types,
        fields=fields,
        dropped_fields=tuple(d["name"] for d in raw.get("dropped_fields", [])),
        conditions=named,
        mandatory=mandatory,
        not_applicable=not_applicable,
        expected_values=expected,
        outcome_event_types=outcome_table,
        punctuation_rules=punctuation,
        aliases=aliases,
        release1_values=tuple(release1),
        rules=rules,
        event_key_common=tuple(key["common"]),
        event_key_by_type={k: tuple(v) for k, v in key["by_event_type"].items()},
        summary_counts=tuple(tuple(c) for c in raw.get("summary_counts", [])),
        dlp=dict(_need(raw, "dlp", "spec")),
        _by_name=by_name,
    )
    for names in (
        spec.summary_counts + (spec.event_key_common,) + tuple(spec.event_key_by_type.values())
    ):
        for name in names:
            if name not in by_name:
                raise SpecError(f"unknown field {name!r} in event_key or summary_counts")
    return spec


@cache
def load_spec(release: str = "2") -> Spec:
    """The specification for a release (only Release 2 is supported)."""
    if release != "2":
        raise SpecError(f"release {release!r} is not supported: cldetl implements Release 2")
    text = resources.files("cldetl").joinpath("spec/release2.yaml").read_text(encoding="utf-8")
    return parse_spec(yaml.safe_load(text))


def field_mandatory(spec: Spec, f: Field) -> dict[str, Any]:
    """When a field is mandatory, in the JSON shape `cldetl spec` prints."""
    rules = spec.mandatory_for(f.name)
    return {
        "guidance": f.guidance,
        "annex_a": "; ".join(r.annex_a for r in rules),
        "rules": [{"rule": r.rule, "severity": r.severity, "when": to_data(r.when)} for r in rules],
    }


def spec_as_json(spec: Spec) -> dict[str, Any]:
    """The machine-readable form of the specification (`cldetl spec --format json`)."""
    return {
        "release": spec.release,
        "fields": [
            {
                "name": f.name,
                "module": f.module,
                "type": f.type,
                **({"format": f.format} if f.format else {}),
                "values": list(f.values) + list(f.special_values),
                "mandatory": field_mandatory(spec, f),
                "section": f.section,
            }
            for f in spec.fields
        ],
        "dropped_fields": list(spec.dropped_fields),
        "event_outcome_by_event_type": {k: list(v) for k, v in spec.outcome_event_types.items()},
        "release1_values": [
            {"field": r.field, "release1": r.release1, "release2": r.release2, "kind": r.kind}
            for r in spec.release1_values
        ],
        "rules": [
            {"id": r.id, "severity": r.severity, "section": r.section, "title": r.title}
            for r in spec.rules.values()
        ],
    }
