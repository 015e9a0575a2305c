"""Template declarations: every local code is a declared parameter with a default, the mapping's
params are checked against the declaration, and docs/connectors.md lists every declaration."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from cldetl.extract.render import DIALECTS, render_source
from cldetl.extract.template_docs import connectors_markdown
from cldetl.mapping import MappingError, load_mapping
from cldetl.mapping.template_declarations import builtin_connectors, read_declaration
from cldetl.spec.period import ReportingPeriod

REPO = Path(__file__).resolve().parent.parent
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
TEMPLATES = sorted(builtin_connectors().glob("*/*.sql.j2"))
EXAMPLES = {
    "mosaic": REPO / "mappings" / "eastmoor.yaml",
    "liquidlogic": REPO / "mappings" / "westvale.yaml",
}
GENERATED = ("<!-- templates: generated -->", "<!-- templates: end -->")


def template_id(path: Path) -> str:
    return path.relative_to(builtin_connectors()).as_posix()


def sql_text(path: Path) -> str:
    """The template's SQL as a reviewer reads it: Jinja comments, tags and SQL comments out."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)
    text = re.sub(r"\{[%{].*?[%}]\}", "", text, flags=re.DOTALL)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", "", text)


def test_the_project_ships_templates_for_both_systems():
    assert {p.parent.name for p in TEMPLATES} == {"mosaic", "liquidlogic"}
    assert len(TEMPLATES) >= 13


@pytest.mark.parametrize("path", TEMPLATES, ids=template_id)
def test_no_quoted_literal_in_any_template(path):
    """Codes, statuses and questions are parameters: no quoted text is left in the SQL."""
    literals = re.findall(r"'[^']*'", sql_text(path))
    assert literals == [], f"{template_id(path)} has quoted literals {literals}; declare them"


def test_the_literal_check_finds_a_quoted_code(tmp_path):
    bad = tmp_path / "x.sql.j2"
    bad.write_text("{# 'ok in a comment' #}\nSELECT 1 FROM t WHERE s = 'COMPLETED' -- 'ok'\n")
    assert re.findall(r"'[^']*'", sql_text(bad)) == ["'COMPLETED'"]


@pytest.mark.parametrize("path", TEMPLATES, ids=template_id)
def test_every_template_declares_parameters_and_columns_it_uses(path):
    """Every t.X, flags.X and :name used is declared, and every declared one is used."""
    declaration = read_declaration(path, template_id(path))
    assert declaration is not None, f"{template_id(path)} has no declaration block"
    assert declaration.columns, "declares its output columns"
    assert declaration.base_table, "declares its base table (for the row counts)"
    conditions = " ".join(when for _reason, when in declaration.left_out)
    for _reason, when in declaration.left_out:
        assert re.findall(r"'[^']*'", when) == [], "no quoted literal in a left_out condition"
    body = sql_text(path) + " " + conditions
    raw_body = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    raw_body += " " + conditions
    for imported in re.findall(r"\{% import \"([^\"]+)\"", raw_body):
        shared = builtin_connectors() / imported
        body += " " + sql_text(shared)
        raw_body += " " + shared.read_text(encoding="utf-8")
    used = {
        "identifiers": set(re.findall(r"\bt\.(\w+)", raw_body)) | {declaration.base_table},
        "flags": set(re.findall(r"\bflags\.(\w+)", raw_body)),
        "values": set(re.findall(r"(?<![:\w]):(\w+)", body))
        - {"period_start", "period_end", "period_end_next"},
    }
    for kind, names in used.items():
        assert names == set(declaration.of_kind(kind)), (kind, template_id(path))
    for parameter in declaration.parameters.values():
        assert not parameter.required, f"{parameter.name}: the example's value is its default"
        assert parameter.about, f"{parameter.name}: say what it is"
    uses_scope = "{{ in_scope }}" in raw_body
    assert uses_scope == bool(declaration.left_out), "WHERE {{ in_scope }} iff rows are left out"


@pytest.mark.parametrize("system", list(EXAMPLES))
def test_example_mapping_columns_are_the_templates_columns(system):
    mapping = load_mapping(EXAMPLES[system])
    for name, source in mapping.sources.items():
        if source.template is None:
            continue
        path = builtin_connectors() / source.template
        declaration = read_declaration(path, source.template)
        for column, kind in source.columns.items():
            assert declaration.columns[column] == kind, (name, column)


def bare_mapping(tmp_path: Path, system: str, drop_values: bool = True) -> Path:
    """The example mapping with every params block removed: defaults only."""
    raw = yaml.safe_load(EXAMPLES[system].read_text(encoding="utf-8"))
    for source in raw["sources"].values():
        if "template" in source:
            source.pop("params", None)
    path = tmp_path / f"{system}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("system", list(EXAMPLES))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_defaults_are_the_examples_values(tmp_path, system, dialect):
    """A mapping that gives no params renders exactly the example's SQL and bound values."""
    example = load_mapping(EXAMPLES[system])
    bare = load_mapping(bare_mapping(tmp_path, system))
    for name, source in example.sources.items():
        if source.template is None:
            continue
        full = render_source(example, name, dialect, PERIOD)
        default = render_source(bare, name, dialect, PERIOD)
        assert (default.sql, default.binds) == (full.sql, full.binds), name


def write_mapping(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load(EXAMPLES["mosaic"].read_text(encoding="utf-8"))
    edit(raw["sources"])
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_unknown_parameter_is_a_file_line_error_with_did_you_mean(tmp_path):
    path = write_mapping(
        tmp_path,
        lambda s: s["funding"]["params"]["values"].update(completed_statu="DONE"),
    )
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    message = str(err.value)
    assert f"{path}:{line_of(path, 'completed_statu')} " in message
    assert "sources.funding.params.values.completed_statu" in message
    assert "did you mean 'completed_status'?" in message


def test_parameter_under_the_wrong_kind_says_where_it_belongs(tmp_path):
    path = write_mapping(
        tmp_path, lambda s: s["funding"]["params"]["identifiers"].update(completed_status="X")
    )
    with pytest.raises(MappingError, match="declares 'completed_status' under values"):
        load_mapping(path)


def test_a_list_parameter_given_one_value_is_refused(tmp_path):
    path = write_mapping(
        tmp_path, lambda s: s["funding"]["params"]["values"].update(financial_step_types=1107)
    )
    with pytest.raises(MappingError, match=r"takes a list here: write \[1107\]"):
        load_mapping(path)


def test_a_column_the_template_does_not_return_is_refused(tmp_path):
    path = write_mapping(tmp_path, lambda s: s["funding"]["columns"].update(funding_cod="text"))
    with pytest.raises(MappingError, match="returns no column 'funding_cod'; did you mean"):
        load_mapping(path)


def test_missing_required_parameter_names_the_key(tmp_path):
    folder = tmp_path / "connectors" / "mine"
    folder.mkdir(parents=True)
    (folder / "x.sql.j2").write_text(
        "{#- ---\nvalues:\n  status: {about: the status to keep}\ncolumns: {id: integer}\n"
        "--- -#}\nSELECT id FROM t WHERE s = :status\n"
    )
    raw = yaml.safe_load(EXAMPLES["mosaic"].read_text(encoding="utf-8"))
    raw["sources"]["funding"]["template"] = "mine/x.sql.j2"
    raw["sources"]["funding"].pop("params")
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(MappingError, match="needs 'status' \\(the status to keep\\)"):
        load_mapping(path)


def test_a_mapping_value_overrides_the_default_as_a_bind(tmp_path):
    path = write_mapping(
        tmp_path, lambda s: s["funding"]["params"]["values"].update(completed_status="DONE")
    )
    rendered = render_source(load_mapping(path), "funding", "postgresql", PERIOD)
    assert rendered.binds["completed_status"] == "DONE"
    assert "DONE" not in rendered.sql and ":completed_status" in rendered.sql


def test_docs_list_every_template_declaration():
    """docs/connectors.md's reference section is generated from the declarations."""
    text = (REPO / "docs" / "connectors.md").read_text(encoding="utf-8")
    start, end = (text.index(marker) for marker in GENERATED)
    section = text[start + len(GENERATED[0]) : end].strip("\n") + "\n"
    assert section == connectors_markdown(), (
        "docs/connectors.md is out of date: "
        "python -m cldetl.extract.template_docs docs/connectors.md"
    )
