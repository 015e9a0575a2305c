"""The spec data file against independent references: the guidance's field list (typed out here),
the guidance's Mandatory markings, and the vendored R1 -> R2 value table
(tests/data/cld_values_r1_to_r2.csv, a copy of shared/reference so CI does not need ../shared).
Then the loader's self-checks: a broken spec must fail loudly with SpecError.
"""

from __future__ import annotations

import copy
import csv
from functools import cache
from importlib import resources

import pytest
import yaml

from cldetl.errors import SpecError
from cldetl.spec import load_spec, parse_spec
from tests.conftest import DATA

# The 48 Release 2 headers, in file order, as the issue and the guidance list them.
EXPECTED_HEADERS = [
    "LA Code",
    "Reporting Period Start Date",
    "Reporting Period End Date",
    "NHS Number",
    "LA Person Unique Identifier",
    "First Name",
    "Last Name",
    "GP Practice Code",
    "Gender",
    "Ethnicity",
    "Date of Birth",
    "Date of Death",
    "Client Type",
    "Primary Support Reason",
    "Postcode",
    "Accommodation Status",
    "Employment Status",
    "Has Unpaid Carer",
    "Autism Spectrum Disorder (ASD)",
    "Visual Impairment",
    "Hearing Impairment",
    "Dementia",
    "Client Funding Status",
    "Event Type",
    "Event Reference",
    "Event Start Date",
    "Event End Date",
    "Event Description",
    "Event Outcome",
    "Request: Route of Access",
    "Assessment Type",
    "Eligible Needs Identified",
    "Method of Assessment",
    "Total Hrs Caring per week",
    "No. of adults being cared for",
    "Adult 1 Linked Person_ID",
    "Adult 2 Linked Person_ID",
    "Adult 3 Linked Person_ID",
    "Service Type",
    "Service Component",
    "Delivery Mechanism",
    "Provider CQC Location ID",
    "Review Reason",
    "Review Outcomes Achieved",
    "Method of Review",
    "Unit Cost",
    "Cost Frequency (Unit Type)",
    "Planned units per week",
]

# Figure 1 of the guidance: the fields without an asterisk.
VOLUNTARY = {
    "GP Practice Code",
    "Autism Spectrum Disorder (ASD)",
    "Visual Impairment",
    "Hearing Impairment",
    "Dementia",
    "Event Reference",
    "Event Description",
    "Eligible Needs Identified",
    "Total Hrs Caring per week",
    "No. of adults being cared for",
    "Adult 1 Linked Person_ID",
    "Adult 2 Linked Person_ID",
    "Adult 3 Linked Person_ID",
    "Provider CQC Location ID",
}
# Field sections marked "Mandatory* (see Annex A)" (Method of Review says "see Annex B").
MANDATORY_STAR = {
    "Primary Support Reason",
    "Employment Status",
    "Client Funding Status",
    "Event End Date",
    "Event Outcome",
    "Request: Route of Access",
    "Assessment Type",
    "Method of Assessment",
    "Service Type",
    "Service Component",
    "Delivery Mechanism",
    "Review Reason",
    "Review Outcomes Achieved",
    "Method of Review",
    "Unit Cost",
    "Cost Frequency (Unit Type)",
    "Planned units per week",
}


def reference_rows() -> list[dict[str, str]]:
    with open(DATA / "cld_values_r1_to_r2.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def _raw_spec() -> dict:
    text = resources.files("cldetl").joinpath("spec/release2.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def raw_spec() -> dict:
    """The spec file's contents, a fresh copy to break."""
    return copy.deepcopy(_raw_spec())


def raw_field(raw: dict, name: str) -> dict:
    return next(f for f in raw["fields"] if f["name"] == name)


# --- fields --------------------------------------------------------------------------------------


def test_48_fields_in_the_guidance_order():
    spec = load_spec()
    assert len(EXPECTED_HEADERS) == 48
    assert spec.headers == EXPECTED_HEADERS


def test_34_fields_are_mandatory():
    spec = load_spec()
    marked = {f.name for f in spec.fields if f.guidance in ("Mandatory", "Mandatory*")}
    assert len(marked) == 34
    assert marked == set(EXPECTED_HEADERS) - VOLUNTARY
    assert {f.name for f in spec.fields if f.guidance == "Mandatory*"} == MANDATORY_STAR
    assert {f.name for f in spec.fields if f.guidance == "Voluntary"} == VOLUNTARY


def test_every_mandatory_field_has_an_annex_a_rule_and_no_voluntary_one_does():
    spec = load_spec()
    ruled = {name for r in spec.mandatory for name in r.fields}
    # Date of Death is "Mandatory" but blank while the person is alive, so it has no rule.
    assert ruled == set(EXPECTED_HEADERS) - VOLUNTARY - {"Date of Death"}


def test_the_two_dropped_fields():
    assert load_spec().dropped_fields == ("GP Practice Name", "Provider CQC Location Name")


# --- defined lists against the reference table ---------------------------------------------------


def test_every_defined_list_is_the_reference_release2_values():
    spec = load_spec()
    by_field: dict[str, list[str]] = {}
    for r in reference_rows():
        if r["kind"] == "r2":
            assert r["raw_value"] == r["r2_value"]
            by_field.setdefault(r["field"], []).append(r["r2_value"])
    lists = {f.name: list(f.values) for f in spec.fields if f.is_defined_list}
    assert set(lists) == set(by_field)
    assert len(lists) == 26
    for name, values in lists.items():
        assert values == by_field[name], name


def test_every_release1_reference_value_is_in_the_spec_with_the_same_target():
    spec = load_spec()
    known = {(r.field, r.release1): r for r in spec.release1_values}
    rows = [r for r in reference_rows() if r["kind"] != "r2"]
    assert len(rows) == 63
    for r in rows:
        key = (r["field"], r["raw_value"])
        assert key in known, key
        target = None if r["kind"] == "invalid" else r["r2_value"]
        assert known[key].release2 == target, key
        assert known[key].kind == r["kind"], key


def test_release1_values_never_collide_with_release2_values():
    spec = load_spec()
    for r in spec.release1_values:
        field = spec.field(r.field)
        assert r.release1 not in field.values
        assert r.release2 is None or r.release2 in field.values


def test_event_outcome_table_covers_the_list_in_hierarchy_order():
    spec = load_spec()
    outcomes = spec.field("Event Outcome")
    assert outcomes.hierarchy
    assert list(spec.outcome_event_types) == list(outcomes.values)
    assert spec.outcome_event_types["NFA: Support ended for other reason"] == ("Service", "Review")
    assert spec.outcome_event_types["Progress to reablement/ST-Max"] == ("Request", "Assessment")


def test_rule_catalogue():
    rules = load_spec().rules
    assert all(r.severity in ("error", "warning") for r in rules.values())
    assert all(r.section and r.title for r in rules.values())
    families = {rule.split(".")[0] for rule in rules}
    assert families == {
        "header",
        "type",
        "list",
        "mandatory",
        "not_applicable",
        "expected",
        "cross",
        "period",
        "outcome",
        "privacy",
        "file",
        "dlp",
        "national",
        "run",  # a run's own warnings about its mapping (cldetl/onboarding/run_checks.py)
    }


def test_only_release2_is_supported():
    with pytest.raises(SpecError, match="Release 2"):
        load_spec("1")


# --- the loader's self-checks --------------------------------------------------------------------


def test_the_shipped_spec_parses():
    assert parse_spec(raw_spec()).headers == EXPECTED_HEADERS


def _unknown_field_in_condition(raw):
    raw["conditions"]["service"] = {"field": "Event Kind", "in": ["Service"]}


def _condition_value_not_on_list(raw):
    raw["conditions"]["service"] = {"field": "Event Type", "in": ["Services"]}


def _duplicate_rule_id(raw):
    raw["mandatory"][1]["rule"] = raw["mandatory"][0]["rule"]


def _row_rule_reuses_catalogue_id(raw):
    raw["mandatory"][0]["rule"] = "type.date"


def _unknown_field_in_row_rule(raw):
    raw["mandatory"][0]["fields"] = ["LA Code", "LA Name"]


def _expected_value_not_on_list(raw):
    raw["expected_values"][0]["values"] = ["Support to carer"]


def _bad_severity(raw):
    raw["not_applicable"][0]["severity"] = "fatal"


def _value_listed_twice(raw):
    raw_field(raw, "Gender")["values"].append("Male")


def _unknown_type(raw):
    raw_field(raw, "LA Code")["type"] = "whole_number"


def _outcome_table_out_of_order(raw):
    table = raw["event_outcome_by_event_type"]["table"]
    items = list(table.items())
    raw["event_outcome_by_event_type"]["table"] = dict([items[1], items[0], *items[2:]])


def _release1_value_is_a_release2_value(raw):
    raw["release1_values"].append(
        {"field": "Gender", "release1": "Female", "release2": "Female", "kind": "r1"}
    )


def _release1_target_not_on_list(raw):
    raw["release1_values"][0]["release2"] = "No data: Declined"


def _alias_target_not_on_list(raw):
    raw["aliases"][0]["release2"] = "NFA: Self funded"


def _unknown_field_in_event_key(raw):
    raw["event_key"]["common"].append("Person")


@pytest.mark.parametrize(
    ("break_spec", "message"),
    [
        (_unknown_field_in_condition, "unknown field 'Event Kind'"),
        (_condition_value_not_on_list, "['Services'] not on the Event Type list"),
        (_duplicate_rule_id, "rule id 'mandatory.submission' is used twice"),
        (_row_rule_reuses_catalogue_id, "rule id 'type.date' is used twice"),
        (_unknown_field_in_row_rule, "unknown field 'LA Name'"),
        (_expected_value_not_on_list, "'Support to carer' not on the Primary Support Reason list"),
        (_bad_severity, "severity is error or warning"),
        (_value_listed_twice, "a value is listed twice"),
        (_unknown_type, "unknown type 'whole_number'"),
        (_outcome_table_out_of_order, "rows must be the Event Outcome list, in order"),
        (_release1_value_is_a_release2_value, "'Female' is itself a Release 2 value"),
        (_release1_target_not_on_list, "'No data: Declined' not on the Ethnicity list"),
        (_alias_target_not_on_list, "'NFA: Self funded' not on the Event Outcome list"),
        (_unknown_field_in_event_key, "unknown field 'Person'"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_a_broken_spec_raises_spec_error(break_spec, message):
    raw = raw_spec()
    break_spec(raw)
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    assert message in str(caught.value)
