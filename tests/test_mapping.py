"""load_mapping: the mapping language's checks and its error messages (file:line key: what,
and how to fix it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cldetl.mapping import MappingError, load_mapping

BASE = Path(__file__).parent / "data" / "mapping_files" / "testshire.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "la.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _mutated(tmp_path: Path, old: str, new: str) -> Path:
    text = BASE.read_text(encoding="utf-8")
    assert old in text, old
    return _write(tmp_path, text.replace(old, new, 1))


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_the_test_mapping_loads():
    mapping = load_mapping(BASE)
    assert mapping.metadata.la_code == "999"
    assert [rule.name for rule in mapping.events][0] == "conversation_1"


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            "values: {M: Male, F: Female}",
            "values: {M: Mail, F: Female}",
            "values: {M: Mail",
            "lookups.gender.values.M: 'Mail' is not a CLD Gender value; did you mean 'Male'?",
        ),
        (
            "Assessment Type: Financial assessment",
            "Assessment Type: Financial Assessment",
            "Financial Assessment",
            "'Financial Assessment' is not a CLD Assessment Type value; did you mean "
            "'Financial assessment'?",
        ),
        (
            "    Date of Death: {column: dod}",
            "    Date of Deaht: {column: dod}",
            "Date of Deaht",
            "person.fields.Date of Deaht: 'Date of Deaht' is not a CLD field; did you mean "
            "'Date of Death'?",
        ),
        (
            "source: lines\n    person: person_id",
            "source: line\n    person: person_id",
            "source: line\n",
            "no source named 'line'; did you mean 'lines'?",
        ),
        (
            "Event Start Date: {column: started}",
            "Event Start Date: {column: startd}",
            "{column: startd}",
            "column 'startd' is not declared in sources.steps.columns; did you mean 'started'?",
        ),
        # A list column (every item of a one-to-many detail) read as one value would write
        # the list's text, "('SELF',)", into the return; filtered, it would match no code.
        (
            "route: text",
            "route: list",
            "{column: route, lookup: route}",
            "events[0].rows[0].fields.Request: Route of Access: column 'route' is a list "
            "column: only `outcomes` (an Event Outcome) and `linked_people` read a list",
        ),
        (
            "at_contact: text",
            "at_contact: list",
            "when: {column: at_contact, in: [Y]}",
            "events[0].rows[0].when: column 'at_contact' is a list column",
        ),
        (
            "  url_env: TESTSHIRE_DB_URL",
            "  url: postgresql://cld:secret@db/mosaic",
            "url: postgresql",
            "url holds a password",
        ),
        (
            "  cadence: quarterly",
            "  cadense: quarterly",
            "cadense",
            "metadata.cadense: unknown key 'cadense'; did you mean 'cadence'?",
        ),
        (
            '    when: {column: status, in: [CANCELLED]}\n    reason: "cancelled: the process',
            '    when: {column: status, inn: [CANCELLED]}\n    reason: "cancelled: the process',
            "inn: [CANCELLED]",
            "unknown key 'inn'",
        ),
    ],
)
def test_mapping_errors_name_line_key_and_fix(tmp_path, old, new, needle, expected):
    path = _mutated(tmp_path, old, new)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    message = str(info.value)
    assert expected in message
    line = _line_of(path, needle.splitlines()[0])
    assert f"{path}:{line} " in message


def test_every_problem_is_listed_not_just_the_first(tmp_path):
    text = BASE.read_text().replace("{M: Male, F: Female}", "{M: Mail, F: Femail}")
    with pytest.raises(MappingError) as info:
        load_mapping(_write(tmp_path, text))
    assert "2 problem(s)" in str(info.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = _write(tmp_path, "version: 1\nmetadata: [unclosed\n")
    with pytest.raises(MappingError, match=r"la\.yaml:\d+: not valid YAML"):
        load_mapping(path)


def test_python_tags_are_never_constructed(tmp_path):
    path = _write(tmp_path, "version: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(path)


@pytest.mark.parametrize(
    "identifier", ["steps; DROP TABLE x", "dbo.steps--", "[steps]", "st eps", "1steps"]
)
def test_template_identifiers_must_be_plain_names(tmp_path, identifier):
    raw = yaml.safe_load(BASE.read_text())
    raw["sources"]["steps"]["params"] = {"identifiers": {"steps": identifier}}
    path = _write(tmp_path, yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(MappingError, match="is not a plain table or column name"):
        load_mapping(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(MappingError, match="no such mapping file"):
        load_mapping(tmp_path / "nope.yaml")


def test_an_event_row_needs_an_end_date_unless_a_service(tmp_path):
    path = _mutated(
        tmp_path,
        "          Event End Date: {column: completed}\n          Assessment Type: Financial",
        "          Assessment Type: Financial",
    )
    with pytest.raises(MappingError, match="needs 'Event End Date'"):
        load_mapping(path)


# --- loader limits (issue 12): hostile YAML is refused quickly, with its line ----------------

ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [
        f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} ["
        + ", ".join([f"*{chr(ord('a') + i - 1)}"] * 9)
        + "]"
        for i in range(1, 9)
    ]
    + ["version: *i", ""]
)


def test_an_alias_bomb_is_refused_with_its_line(tmp_path):
    import time

    assert len(ALIAS_BOMB.encode()) < 600
    path = _write(tmp_path, ALIAS_BOMB)
    started = time.perf_counter()
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert time.perf_counter() - started < 5  # was 48 s and a MemoryError
    message = str(info.value)
    assert "expands to more than 200,000 values" in message
    assert re.search(r"la\.yaml:\d+: ", message)
    assert "aliases" in message and "Write the values out" in message


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path):
    path = _write(tmp_path, "version: " + "[" * 1000 + "]" * 1000 + "\n")
    with pytest.raises(MappingError, match=r"la\.yaml:1: lists or mappings nested more than 40"):
        load_mapping(path)


def test_an_oversized_value_is_refused_not_a_value_error(tmp_path):
    text = BASE.read_text(encoding="utf-8")
    text = re.sub(r"la_code: .*", "la_code: " + "9" * 5000, text, count=1)
    path = _write(tmp_path, text)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    line = _line_of(path, "la_code:")
    assert f"la.yaml:{line}: a value of 5,000 characters (at most 4,000)" in str(info.value)


def test_ordinary_aliases_and_nesting_still_load(tmp_path):
    text = BASE.read_text(encoding="utf-8")
    path = _write(tmp_path, "x-shared: &shared [1, 2, 3]\n" + text)
    # An unknown top-level key is the only complaint: the alias itself is fine.
    with pytest.raises(MappingError, match="unknown key 'x-shared'"):
        load_mapping(path)


def test_docs_mapping_md_is_generated_from_the_schema():
    """docs/mapping.md is written by `cldetl mapping-docs > docs/mapping.md`, never by hand."""
    from cldetl.mapping.docs import mapping_markdown
    from cldetl.transform.reasons import DETAILS_UNUSED, automatic_reasons

    doc = Path(__file__).resolve().parents[1] / "docs" / "mapping.md"
    assert doc.read_text(encoding="utf-8") == mapping_markdown(
        automatic_reasons(), DETAILS_UNUSED
    ), "docs/mapping.md is stale: run `cldetl mapping-docs > docs/mapping.md`"


# --- loader refusals (issue 19, points 4 and 5): duplicate keys and recursive aliases ---------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("la_name: &r [*r]\n", r"la\.yaml:1: the alias \*r stands inside the value its anchor"),
        ("a: {x: 1, y: &q {z: *q}}\n", r"la\.yaml:1: the alias \*q stands inside"),
        (
            "version: 1\nconnection: {url_env: A}\nconnection: {url_env: OTHER_DB_URL}\n",
            r"la\.yaml:3: the key 'connection' appears twice in one mapping \(first at line 2\)",
        ),
        ("a:\n  b: 1\n  'b': 2\n", r"la\.yaml:3: the key 'b' appears twice"),
    ],
    ids=["recursive_list", "recursive_mapping", "duplicate_connection", "duplicate_quoted"],
)
def test_recursive_aliases_and_duplicate_keys_are_refused_with_their_line(tmp_path, text, expected):
    with pytest.raises(MappingError, match=expected):
        load_mapping(_write(tmp_path, text))


def test_a_duplicate_key_in_a_real_mapping_is_refused_not_silently_replaced(tmp_path):
    text = BASE.read_text(encoding="utf-8")
    path = _write(tmp_path, text + "connection: {url_env: OTHER_DB_URL}\n")
    with pytest.raises(MappingError, match=r"the key 'connection' appears twice .*Keep one"):
        load_mapping(path)


@pytest.mark.parametrize(
    "text", ["la_name: &r [*r]\n", "a: 1\na: 2\n"], ids=["recursive_alias", "duplicate_key"]
)
def test_the_cli_exits_2_with_one_line_not_70(tmp_path, text):
    from click.testing import CliRunner

    from cldetl.cli import cli

    path = _write(tmp_path, text)
    result = CliRunner().invoke(cli, ["sql", "--mapping", str(path), "--dialect", "sqlite"])
    assert result.exit_code == 2, result.output
    assert "la.yaml:" in result.output and "Traceback" not in result.output


def test_same_keys_in_different_mappings_and_repeated_aliases_still_load():
    from cldetl.mapping import safe_yaml

    text = "a: &x {k: 1}\nb: *x\nc: *x\nd: [{k: 1}, {k: 2}]\n1: int\n'1': text\n"
    assert safe_yaml.load(text, "x.yaml")["c"] == {"k": 1}


# --- the mapping's `defaults` (issue 19, point 10): each checked against the spec's lists ------

DEFAULTS_CASES = [
    ("unpaid_carer_route_of_access", "Community", "not a CLD Route of Access value"),
    ("unpaid_carer_review_reason", "Planned review", "not a CLD Review Reason value"),
]


@pytest.mark.parametrize(("key", "wrong", "expected"), DEFAULTS_CASES)
def test_a_default_not_on_its_defined_list_is_refused_with_its_line(tmp_path, key, wrong, expected):
    text = BASE.read_text(encoding="utf-8") + f"defaults:\n  {key}: {wrong}\n"
    path = _write(tmp_path, text)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert f"la.yaml:{_line_of(path, key)} defaults.{key}: {expected}" in str(info.value)


@pytest.mark.parametrize(
    ("key", "right"),
    [
        ("unpaid_carer_route_of_access", "Community or other route"),
        ("unpaid_carer_review_reason", "Planned review of long term care and support plan"),
        ("unpaid_carer_review_reason", "null"),
    ],
)
def test_a_default_on_its_defined_list_loads(tmp_path, key, right):
    text = BASE.read_text(encoding="utf-8") + f"defaults:\n  {key}: {right}\n"
    mapping = load_mapping(_write(tmp_path, text))
    assert getattr(mapping.defaults, key) == (None if right == "null" else right)


# Pieces of YAML that nest, anchor, alias and repeat keys: any text made of them either loads
# or is refused with a YAML or loader error, never a value that contains itself (which made
# the model's validation recurse: exit 70) or another exception.
YAML_PIECES = ["a: ", "b: ", "&x ", "&y ", "*x", "*y", "[", "]", "{", "}", ", ", "\n", "  ", "- ",
               "1", "'a'", "? ", ": "]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(YAML_PIECES), max_size=40))
def test_any_yaml_loads_or_is_refused_with_a_loader_error(pieces):
    from cldetl.mapping import safe_yaml

    try:
        value = safe_yaml.load("".join(pieces), "x.yaml")
    except (yaml.YAMLError, safe_yaml.YamlLimitError):
        return
    assert "[...]" not in repr(value) and "{...}" not in repr(value), "a value holds itself"
