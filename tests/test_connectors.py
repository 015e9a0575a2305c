"""Connector templates: rendering (sandboxed Jinja, quoted identifiers, bound values), the SQL
shown for review, and where the database URL comes from."""

from __future__ import annotations

import sys
import types
from datetime import date
from pathlib import Path

import pytest

from cldetl.errors import UsageError
from cldetl.extract.database_url import database_url, masked
from cldetl.extract.render import (
    DIALECTS,
    dialect_for,
    format_rendered,
    render_all,
    render_source,
    statement,
)
from cldetl.mapping import MappingError, TemplateParams, load_mapping
from cldetl.mapping.template_declarations import connectors_dir_for
from cldetl.spec.period import ReportingPeriod

DATA = Path(__file__).parent / "data"
MAPPING = DATA / "mappings" / "testsys.yaml"
CONNECTORS = DATA / "connectors"
REPO = Path(__file__).parent.parent
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
URL_ENV = "CLDETL_TEST_DB_URL"


@pytest.fixture(scope="module")
def mapping():
    return load_mapping(MAPPING)


def with_source(mapping, name, **changes):
    """The mapping with one source changed (model_copy: no validation, as a bypass would be)."""
    sources = dict(mapping.sources)
    sources[name] = sources[name].model_copy(update=changes)
    return mapping.model_copy(update={"sources": sources})


def with_params(mapping, name, **params):
    current = mapping.sources[name].params
    values = {
        "identifiers": params.get("identifiers", current.identifiers),
        "flags": params.get("flags", current.flags),
        "values": params.get("values", current.values),
    }
    return with_source(mapping, name, params=TemplateParams.model_construct(**values))


def template_dir(tmp_path: Path, **templates: str) -> Path:
    """A connectors folder with testsys/<name>.sql.j2 for each keyword."""
    folder = tmp_path / "connectors" / "testsys"
    folder.mkdir(parents=True)
    for name, text in templates.items():
        (folder / f"{name}.sql.j2").write_text(text, encoding="utf-8")
    return tmp_path / "connectors"


# --- where templates are --------------------------------------------------------------------


def test_connectors_dir_defaults_to_sibling_of_mappings_folder(mapping):
    assert connectors_dir_for(mapping) == CONNECTORS.resolve()
    assert connectors_dir_for(mapping, "/elsewhere") == Path("/elsewhere").resolve()


@pytest.mark.parametrize(
    "template",
    ["../../etc/passwd", "/etc/passwd", "testsys/../../secrets.sql.j2", "..\\x.sql.j2", "C:/x"],
)
def test_template_path_outside_connectors_is_rejected(mapping, template):
    bad = with_source(mapping, "people", template=template)
    with pytest.raises(MappingError, match="not a template in the connectors folder") as err:
        render_source(bad, "people", "sqlite", PERIOD)
    assert "sources.people.template" in str(err.value)


def test_missing_template_lists_what_is_there(mapping):
    bad = with_source(mapping, "people", template="testsys/persons.sql.j2")
    with pytest.raises(MappingError, match="no template 'testsys/persons.sql.j2'") as err:
        render_source(bad, "people", "sqlite", PERIOD)
    assert "people.sql.j2" in str(err.value)
    assert f"{MAPPING}:" in str(err.value)  # the mapping file and line of the key


# --- identifiers ----------------------------------------------------------------------------


def test_identifiers_are_quoted_by_each_dialect(mapping):
    m = with_params(mapping, "steps", identifiers={"steps": "user"})
    m = with_params(m, "people", identifiers={"people": "dbo.People"})
    expected = {
        "mssql": ("FROM [user] s", "FROM dbo.[People] p"),
        "postgresql": ('FROM "user" s', 'FROM dbo."People" p'),
        "oracle": ('FROM "user" s', 'FROM dbo."People" p'),
        "sqlite": ("FROM user s", 'FROM dbo."People" p'),  # user is not reserved in SQLite
    }
    for dialect, (steps_from, people_from) in expected.items():
        assert steps_from in render_source(m, "steps", dialect, PERIOD).sql
        assert people_from in render_source(m, "people", dialect, PERIOD).sql


def test_plain_lower_case_identifiers_are_left_unquoted(mapping):
    sql = render_source(mapping, "people", "mssql", PERIOD).sql
    assert "FROM person p" in sql


def test_identifier_injection_is_rejected_when_the_mapping_loads(tmp_path):
    text = MAPPING.read_text(encoding="utf-8").replace(
        "steps: CareSteps", 'steps: "CareSteps; DROP TABLE person --"'
    )
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match="not a plain table or column name") as err:
        load_mapping(path)
    assert "identifiers.steps" in str(err.value)


@pytest.mark.parametrize("identifier", ["x; DROP TABLE y", "a b", "t]--", 'p"', "dbo..x", ""])
def test_identifier_injection_is_rejected_when_rendering(mapping, identifier):
    """Even a mapping built without validation cannot put SQL into a template."""
    bad = with_params(mapping, "steps", identifiers={"steps": identifier})
    with pytest.raises(MappingError, match="not a plain table or column name") as err:
        render_source(bad, "steps", "mssql", PERIOD)
    assert "sources.steps.params.identifiers.steps" in str(err.value)


def test_missing_identifier_names_template_and_key(mapping):
    bad = with_params(mapping, "steps", identifiers={})
    with pytest.raises(MappingError) as err:
        render_source(bad, "steps", "sqlite", PERIOD)
    message = str(err.value)
    assert "testsys/steps.sql.j2" in message
    assert "t.steps" in message
    assert "sources.steps.params.identifiers" in message


def test_missing_flag_names_template_and_key(mapping):
    bad = with_params(mapping, "steps", flags={})
    with pytest.raises(MappingError, match=r"flags\.completed_only") as err:
        render_source(bad, "steps", "sqlite", PERIOD)
    assert "sources.steps.params.flags" in str(err.value)


def test_identifier_named_like_a_dict_method_is_an_identifier(tmp_path, mapping):
    folder = template_dir(tmp_path, people="SELECT 1 AS x FROM {{ t.items }}\n")
    m = with_params(mapping, "people", identifiers={"items": "care_items"})
    assert "FROM care_items" in render_source(m, "people", "sqlite", PERIOD, folder).sql


# --- the sandbox ----------------------------------------------------------------------------


def test_sandbox_refuses_python_internals(tmp_path, mapping):
    folder = template_dir(tmp_path, people="SELECT {{ t.__class__.__mro__ }}\n")
    with pytest.raises(MappingError, match="sandbox"):
        render_source(mapping, "people", "sqlite", PERIOD, folder)


def test_template_can_use_only_t_flags_and_dialect(tmp_path, mapping):
    folder = template_dir(tmp_path, people="SELECT {{ period_start }}\n")
    with pytest.raises(MappingError, match="period_start") as err:
        render_source(mapping, "people", "sqlite", PERIOD, folder)
    assert "only t (identifiers), flags and dialect" in str(err.value)


def test_template_syntax_error_names_file_and_line(tmp_path, mapping):
    folder = template_dir(tmp_path, people="SELECT 1\n{% if flags.x %}\nFROM y\n")
    with pytest.raises(MappingError, match=r"people\.sql\.j2:\d+: template syntax error"):
        render_source(mapping, "people", "sqlite", PERIOD, folder)


# --- values are bound, never rendered ---------------------------------------------------------


def test_values_are_bind_parameters_not_sql_text(mapping):
    m = with_params(mapping, "steps", values={"step_types": ["ZZ_CODE_1", "ZZ_CODE_2"]})
    for dialect in DIALECTS:
        rendered = render_source(m, "steps", dialect, PERIOD)
        compiled = str(statement(rendered).compile(dialect=dialect_for(dialect)))
        for text in (rendered.sql, compiled):
            assert "ZZ_CODE" not in text
            assert "2025-09-30" not in text and "2024-10-01" not in text
        assert rendered.binds == {
            "period_end": date(2025, 9, 30),
            "period_start": date(2024, 10, 1),
            "step_types": ["ZZ_CODE_1", "ZZ_CODE_2"],
        }
        assert rendered.expanding == {"step_types"}


def test_only_referenced_values_are_bound(mapping):
    m = with_params(mapping, "steps", values={"step_types": ["A"], "unused": 5})
    assert "unused" not in render_source(m, "steps", "sqlite", PERIOD).binds
    assert render_source(mapping, "people", "sqlite", PERIOD).binds == {}


def test_unknown_bind_parameter_is_an_error(mapping):
    bad = with_params(mapping, "steps", values={})
    with pytest.raises(MappingError, match=":step_types, which is not set") as err:
        render_source(bad, "steps", "sqlite", PERIOD)
    assert "sources.steps.params.values" in str(err.value)
    assert "testsys/steps.sql.j2" in str(err.value)


def test_flags_switch_optional_clauses(mapping):
    assert "IS NOT NULL" not in render_source(mapping, "steps", "sqlite", PERIOD).sql
    on = with_params(mapping, "steps", flags={"completed_only": True})
    assert "AND s.end_date IS NOT NULL" in render_source(on, "steps", "sqlite", PERIOD).sql


def test_dialect_branches(mapping):
    assert "TRUNC(s.start_date)" in render_source(mapping, "steps", "oracle", PERIOD).sql
    assert "TRUNC" not in render_source(mapping, "steps", "mssql", PERIOD).sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_test_template_compiles_for_every_dialect(mapping, dialect):
    rendered = render_all(mapping, dialect, PERIOD)
    assert [r.name for r in rendered] == ["people", "steps"]  # the file source has no SQL
    for r in rendered:
        assert r.dialect == dialect
        assert "{{" not in r.sql and "{%" not in r.sql
        statement(r).compile(dialect=dialect_for(dialect))


def _repo_mappings() -> list[Path]:
    return sorted((REPO / "mappings").glob("*.yaml"))


def test_the_repository_ships_example_mappings():
    assert [p.name for p in _repo_mappings()] == ["eastmoor.yaml", "northfen.yaml", "westvale.yaml"]


@pytest.mark.parametrize("path", _repo_mappings(), ids=lambda p: p.name)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_repository_connectors_render_for_every_dialect(path, dialect):
    """The shipped mappings' templates (connectors/<system>/) keep to the conventions."""
    mapping = load_mapping(path)
    for r in render_all(mapping, dialect, PERIOD, REPO / "connectors"):
        statement(r).compile(dialect=dialect_for(dialect))


def test_unknown_dialect_is_a_usage_error(mapping):
    with pytest.raises(UsageError, match="mssql, postgresql, oracle, sqlite"):
        render_all(mapping, "db2", PERIOD)
    assert dialect_for("postgres").name == "postgresql"


def test_format_rendered_lists_values_apart_from_the_sql(mapping):
    text = format_rendered(render_all(mapping, "mssql", PERIOD))
    assert "-- source: steps    template: testsys/steps.sql.j2    dialect: mssql" in text
    assert "--   :period_start = 2024-10-01" in text
    assert "--   :step_types = ('ASSESS', 'REVIEW')" in text
    assert "AND s.step_type IN :step_types" in text
    assert "FROM [CareSteps] s" in text


def test_render_source_refuses_file_sources(mapping):
    with pytest.raises(UsageError, match="file source"):
        render_source(mapping, "carers", "sqlite", PERIOD)


# --- the URL ----------------------------------------------------------------------------------


def test_masked_hides_passwords():
    assert masked("postgresql://cld:S3cret@db:5432/cms") == "postgresql://cld:***@db:5432/cms"
    odbc = (
        "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC+Driver+18%7D%3BSERVER%3Ddb%3B"
        "UID%3Dcld%3BPWD%3DS3cret"
    )
    assert "S3cret" not in masked(odbc) and "PWD%3D***" in masked(odbc)
    assert "S3cret" not in masked("oracle+oracledb://cld@db/?password=S3cret")
    assert masked("sqlite:///cms.db") == "sqlite:///cms.db"
    assert "S3cret" not in masked("::not a url S3cret")


def test_database_url_from_environment(mapping, monkeypatch):
    monkeypatch.setenv(URL_ENV, "sqlite:///cms.db")
    assert database_url(mapping) == "sqlite:///cms.db"


def test_unset_environment_variable_names_it_and_the_mapping_key(mapping, monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    with pytest.raises(UsageError) as err:
        database_url(mapping)
    message = str(err.value)
    assert f"environment variable {URL_ENV} is not set" in message
    assert f"{MAPPING}:9 connection.url_env" in message


def test_database_url_from_prefect_secret_block(mapping, monkeypatch):
    loaded = []

    class FakeSecret:
        def __init__(self, value):
            self.value = value

        @classmethod
        def load(cls, name):
            loaded.append(name)
            return cls("mssql+pymssql://cld:S3cret@db/cms")

        def get(self):
            return self.value

    fake = types.ModuleType("prefect.blocks.system")
    fake.Secret = FakeSecret
    monkeypatch.setitem(sys.modules, "prefect.blocks.system", fake)
    m = mapping.model_copy(
        update={
            "connection": mapping.connection.model_copy(
                update={"url_env": None, "secret_block": "cld-db-url"}
            )
        }
    )
    assert database_url(m) == "mssql+pymssql://cld:S3cret@db/cms"
    assert loaded == ["cld-db-url"]


def test_missing_prefect_secret_block_is_a_usage_error(mapping, monkeypatch):
    class MissingSecret:
        @classmethod
        def load(cls, name):
            raise ValueError(f"Unable to find block document named {name}")

    fake = types.ModuleType("prefect.blocks.system")
    fake.Secret = MissingSecret
    monkeypatch.setitem(sys.modules, "prefect.blocks.system", fake)
    m = mapping.model_copy(
        update={
            "connection": mapping.connection.model_copy(
                update={"url_env": None, "secret_block": "cld-db-url"}
            )
        }
    )
    with pytest.raises(UsageError, match="cannot load the Prefect Secret block 'cld-db-url'"):
        database_url(m)


def test_no_connection_is_a_usage_error(mapping):
    with pytest.raises(UsageError, match="add connection.url_env"):
        database_url(mapping.model_copy(update={"connection": None}))


def test_password_free_url_in_the_mapping(mapping):
    m = mapping.model_copy(
        update={
            "connection": mapping.connection.model_copy(
                update={"url_env": None, "url": "sqlite:///cms.db"}
            )
        }
    )
    assert database_url(m) == "sqlite:///cms.db"
