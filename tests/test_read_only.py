"""The case system is only ever read: templates that would write are refused before they are
sent, connections are read-only where the dialect allows it, a template cannot be a link to a
file outside the connectors folder, and a missing, locked, corrupt or slow database gives a
clear message (transient or not, for schedulers' retries)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cldetl.cli import cli
from cldetl.errors import InputError
from cldetl.extract import extract
from cldetl.extract.database import connect, create_engine
from cldetl.extract.database_errors import TransientDatabaseError
from cldetl.extract.read_only import bare_sql, read_only_problem
from cldetl.extract.render import render_source
from cldetl.mapping import Connection, MappingError, load_mapping
from cldetl.spec.period import ReportingPeriod
from tests.pg import postgres_server  # noqa: F401  (the session fixture)

DATA = Path(__file__).parent / "data"
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))

WRITING_TEMPLATES = {
    "drop": "DROP TABLE {{ t.people }}",
    "delete": "DELETE FROM {{ t.people }}",
    "insert": "INSERT INTO {{ t.people }} (person_id) VALUES (99)",
    "second_statement": "SELECT person_id FROM {{ t.people }}; DROP TABLE {{ t.people }}",
    "cte_delete": "WITH gone AS (DELETE FROM {{ t.people }} RETURNING person_id) "
    "SELECT person_id FROM gone",
    "select_into": "SELECT person_id INTO copied FROM {{ t.people }}",
    "update_in_comment_trick": "SELECT 1 AS person_id /* */ ; UPDATE {{ t.people }} SET x = 1",
}


def people_mapping(tmp_path: Path, template: str):
    """A mapping with one source `people` rendered from `template`, in a fresh folder."""
    folder = tmp_path / "connectors" / "testsys"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.sql.j2").write_text(template + "\n", encoding="utf-8")
    mapping = load_mapping(DATA / "mappings" / "testsys.yaml")
    sources = {"people": mapping.sources["people"]}
    return mapping.model_copy(update={"sources": sources}), tmp_path / "connectors"


@pytest.fixture
def sqlite_db(tmp_path) -> tuple[str, Path]:
    path = tmp_path / "cms.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE person (person_id INTEGER, gender TEXT, date_of_birth TEXT)")
        conn.executemany("INSERT INTO person VALUES (?, 'F', '1950-01-01')", [(1,), (2,)])
    return f"sqlite:///{path}", path


@contextmanager
def opened(url: str) -> Iterator[sa.Connection]:
    """cldetl's own connection to `url` (read-only, one snapshot), closed afterwards."""
    engine = create_engine(url)
    conn = connect(engine, "people", url, "the url argument")
    try:
        yield conn
    finally:
        conn.close()
        engine.dispose()


def person_rows(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT COUNT(*) FROM person").scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "sql", ["SELECT 1", "  with x AS (SELECT 1) SELECT * FROM x;", "(SELECT 1)"]
)
def test_read_only_queries_pass(sql):
    assert read_only_problem(sql) is None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT \"delete\", [insert], 'DROP TABLE x' FROM t -- ; DELETE",
        "SELECT updated_on, deleted FROM t /* INSERT */",
    ],
)
def test_words_in_names_literals_and_comments_are_not_statements(sql):
    assert read_only_problem(sql) is None


@pytest.mark.parametrize("kind", list(WRITING_TEMPLATES))
def test_writing_template_is_refused_and_the_table_is_intact_sqlite(tmp_path, sqlite_db, kind):
    url, _ = sqlite_db
    mapping, folder = people_mapping(tmp_path, WRITING_TEMPLATES[kind])
    with pytest.raises(MappingError, match="is refused: it"):
        render_source(mapping, "people", "sqlite", PERIOD, folder)
    with pytest.raises(MappingError, match="one read-only query"):
        extract(mapping, PERIOD, url=url, connectors_dir=folder)
    assert person_rows(url) == 2


def test_sqlite_connection_is_read_only_even_past_the_check(sqlite_db):
    url, path = sqlite_db
    with opened(url) as conn:
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            conn.exec_driver_sql("DELETE FROM person")
    assert person_rows(url) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["drop", "delete", "insert", "cte_delete", "select_into"])
def test_writing_template_is_refused_and_the_table_is_intact_postgresql(
    tmp_path,
    postgres_server,  # noqa: F811
    kind,
):
    url = postgres_server.create_database(f"ro_{kind}")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE person (person_id int, gender text, date_of_birth date)")
        conn.exec_driver_sql("INSERT INTO person VALUES (1, 'F', '1950-01-01')")
    engine.dispose()
    mapping, folder = people_mapping(tmp_path, WRITING_TEMPLATES[kind])
    with pytest.raises(MappingError, match="one read-only query"):
        extract(mapping, PERIOD, url=url, connectors_dir=folder)
    with opened(url) as conn:
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            conn.exec_driver_sql("DELETE FROM person")
    assert person_rows(url) == 1


def test_template_linked_outside_the_connectors_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-LINE\n")
    mapping, folder = people_mapping(tmp_path, "SELECT 1 AS person_id")
    target = folder / "testsys" / "people.sql.j2"
    target.unlink()
    os.symlink(secret, target)
    with pytest.raises(MappingError, match="outside the connectors folder") as err:
        render_source(mapping, "people", "sqlite", PERIOD, folder)
    assert "SECRET-LINE" not in str(err.value)


def test_cldetl_sql_never_prints_a_linked_file(tmp_path):
    (tmp_path / "mappings").mkdir()
    mapping_text = (DATA / "mappings" / "testsys.yaml").read_text()
    (tmp_path / "mappings" / "x.yaml").write_text(mapping_text)
    (tmp_path / "mappings" / "carers.csv").write_text("carer_id,person_id,assessed_on,hours\n")
    folder = tmp_path / "connectors" / "testsys"
    folder.mkdir(parents=True)
    os.symlink("/etc/passwd", folder / "people.sql.j2")
    for name in ("steps.sql.j2",):
        (folder / name).write_text((DATA / "connectors" / "testsys" / name).read_text())
    result = CliRunner().invoke(
        cli, ["sql", "--mapping", str(tmp_path / "mappings" / "x.yaml"), "--dialect", "sqlite"]
    )
    assert result.exit_code == 2, result.output
    assert "outside the connectors folder" in result.output
    assert "root:" not in result.output


def test_missing_sqlite_file_is_named_and_not_created(tmp_path):
    mapping, folder = people_mapping(tmp_path, "SELECT person_id FROM {{ t.people }}")
    missing = tmp_path / "nowhere.db"
    with pytest.raises(InputError, match="no SQLite database file") as err:
        extract(mapping, PERIOD, url=f"sqlite:///{missing}", connectors_dir=folder)
    assert not err.value.transient and not missing.exists()


def test_corrupt_sqlite_file_says_so(tmp_path):
    mapping, folder = people_mapping(tmp_path, "SELECT person_id FROM {{ t.people }}")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(InputError, match="not a database|damaged") as err:
        extract(mapping, PERIOD, url=f"sqlite:///{bad}", connectors_dir=folder)
    assert not err.value.transient


def test_locked_sqlite_database_is_a_transient_error(tmp_path, sqlite_db):
    url, path = sqlite_db
    mapping, folder = people_mapping(tmp_path, "SELECT person_id FROM {{ t.people }}")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TransientDatabaseError, match="locked by another program") as err:
            extract(mapping, PERIOD, url=url + "?timeout=0.1", connectors_dir=folder)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert err.value.transient


def test_statement_timeout_stops_a_slow_query(tmp_path, sqlite_db):
    url, _ = sqlite_db
    endless = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
        "SELECT MAX(x) AS person_id FROM n"
    )
    mapping, folder = people_mapping(tmp_path, endless)
    mapping = mapping.model_copy(
        update={"connection": Connection(url_env="UNUSED", statement_timeout=0.3)}
    )
    with pytest.raises(TransientDatabaseError, match="statement time-out") as err:
        extract(mapping, PERIOD, url=url, connectors_dir=folder)
    assert err.value.transient


def test_unknown_host_is_permanent_and_refused_port_transient():
    from cldetl.extract.database_errors import connection_error

    class Refused(Exception):
        pass

    refused = connection_error(Refused("connection refused"), "people", "sqlite://", "x")
    unknown = connection_error(
        Refused('could not translate host name "nohost" to address'), "people", "sqlite://", "x"
    )
    login = connection_error(Refused("Login failed for user 'cld'"), "people", "sqlite://", "x")
    assert refused.transient and not unknown.transient and not login.transient


HOSTILE_RENDERING = {
    "huge_range_list": "SELECT {{ range(10**9)|list|length }} AS person_id",
    "huge_string": "SELECT {{ ('x' * 4000000000)|length }} AS person_id",
    "recursive_macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}SELECT {{ f(0) }} AS person_id",
    "branching_macro": "{% macro f(n) %}{% if n < 60 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}"
    "{% endmacro %}SELECT 1 AS person_id {{ f(0) }}",
    "nested_loops": "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}"
    "{% endfor %}SELECT 1 AS person_id",
    "long_output": "{% for i in range(90000) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}"
    "{% endfor %}SELECT 1 AS person_id",
    "huge_power": "SELECT {{ 2 ** 100000000 }} AS person_id",
    "padding_filter": "SELECT {{ 'x'|center(4000000000) }} AS person_id",
}


@pytest.mark.parametrize("kind", list(HOSTILE_RENDERING))
def test_rendering_is_bounded_and_ends_with_a_clear_error(tmp_path, kind):
    import time

    mapping, folder = people_mapping(tmp_path, HOSTILE_RENDERING[kind])
    started = time.monotonic()
    with pytest.raises(MappingError, match="refused|sandbox|filter") as err:
        render_source(mapping, "people", "sqlite", PERIOD, folder)
    assert time.monotonic() - started < 30
    assert "Traceback" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mssql+pyodbc://u:p@host/db?driver=ODBC+Driver+18+for+SQL+Server", "ReadOnly"),
        ("mssql+pyodbc://u:p@host/db?ApplicationIntent=ReadWrite", "ReadWrite"),  # theirs
    ],
)
def test_sql_server_connections_ask_for_read_only_intent(url, expected):
    from sqlalchemy.engine import make_url

    from cldetl.extract.database import _mssql_read_only

    query = _mssql_read_only(make_url(url)).query
    assert query["ApplicationIntent"] == expected


def test_odbc_connect_strings_get_read_only_intent():
    from sqlalchemy.engine import make_url

    from cldetl.extract.database import _mssql_read_only

    url = make_url("mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC%7D%3BSERVER%3Dh%3B")
    assert _mssql_read_only(url).query["odbc_connect"].endswith(";ApplicationIntent=ReadOnly")


# --- the guard reads SQL as the database does (issue 19, point 8) -----------------------------

HIDDEN = " COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DROP TABLE person; "
# Text a database runs that an earlier guard took for part of a literal or a comment.
HIDING = {
    "e_string": ("postgresql", "SELECT E'\\'' ;" + HIDDEN + "SELECT 'x' AS person_id"),
    "dollar_quote": ("postgresql", "SELECT $$ ' $$ AS a;" + HIDDEN + "SELECT ' ' AS person_id"),
    "tagged_dollar_quote": (
        "postgresql",
        "SELECT $q$ ' $q$ AS a;" + HIDDEN + "SELECT ' ' AS person_id",
    ),
    "nested_comment": ("postgresql", "SELECT 1 AS person_id /* /* */ ' */ ;" + HIDDEN + "-- '"),
    "nested_subscript": ("postgresql", "SELECT a[b[1]] ;" + HIDDEN + "SELECT c[1] AS person_id"),
    "bracket_escape": ("mssql", "SELECT [a]]' ];" + HIDDEN + "SELECT '' AS person_id"),
    "oracle_q_quote": ("oracle", "SELECT q'[ ' ]' AS a FROM dual;" + HIDDEN + "SELECT ''"),
}


@pytest.mark.parametrize("kind", list(HIDING))
def test_text_hidden_in_dialect_quoting_is_refused(kind):
    dialect, sql = HIDING[kind]
    assert read_only_problem(sql, dialect) is not None
    assert read_only_problem(sql) is not None  # a dialect the guard does not know: refused too


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgresql", "SELECT $$it's; DROP$$ AS x, E'it\\'s; DROP' AS y"),
        ("postgresql", "SELECT 'C:\\' AS path, \"dropped\" FROM t"),
        ("mssql", "SELECT [a]]; DROP] FROM t"),
        ("sqlite", "SELECT `a; DROP` FROM t"),
        ("oracle", "SELECT 'x' AS a FROM dual"),
    ],
)
def test_each_dialects_own_quoting_still_reads_as_one_query(dialect, sql):
    assert read_only_problem(sql, dialect) is None


# The denylist, typed here on purpose: each word is a case, so dropping one from
# cldetl.extract.read_only.WRITING_WORDS fails its case.
DENIED = (
    "INSERT|UPDATE|DELETE|MERGE|REPLACE INTO|INTO|DROP|CREATE|ALTER|TRUNCATE|GRANT|REVOKE|EXEC"
    "|EXECUTE|CALL|ATTACH|DETACH|PRAGMA"
).split("|")


@pytest.mark.parametrize("word", DENIED)
def test_every_writing_word_is_refused(word):
    """One case per word of the denylist."""
    sql = f"SELECT person_id FROM person WHERE x = 1 {word} y"
    assert read_only_problem(sql) == f"it contains {word}"
    assert read_only_problem(f"SELECT 1 AS {word.lower().replace(' ', '_')}x") is None


@pytest.mark.parametrize("kind", ["e_string", "dollar_quote", "nested_comment"])
def test_cldetl_sql_refuses_a_template_hiding_a_drop_and_exits_2(tmp_path, kind):
    _, sql = HIDING[kind]
    (tmp_path / "mappings").mkdir()
    mapping_text = (DATA / "mappings" / "testsys.yaml").read_text()
    (tmp_path / "mappings" / "x.yaml").write_text(mapping_text)
    (tmp_path / "mappings" / "carers.csv").write_text("carer_id,person_id,assessed_on,hours\n")
    folder = tmp_path / "connectors" / "testsys"
    folder.mkdir(parents=True)
    (folder / "people.sql.j2").write_text(sql.replace("person;", "{{ t.people }};") + "\n")
    (folder / "steps.sql.j2").write_text(
        (DATA / "connectors" / "testsys" / "steps.sql.j2").read_text()
    )
    result = CliRunner().invoke(
        cli,
        ["sql", "--mapping", str(tmp_path / "mappings" / "x.yaml"), "--dialect", "postgresql"],
    )
    assert result.exit_code == 2, result.output
    assert "is refused: it" in result.output and "DROP TABLE" not in result.output


def test_a_sqlite_uri_asking_for_read_write_is_opened_read_only(sqlite_db):
    url, path = sqlite_db
    for asked in (f"sqlite:///file:{path}?mode=rw&uri=true", f"sqlite:///file:{path}?uri=true"):
        with opened(asked) as conn:
            with pytest.raises(sa.exc.OperationalError, match="readonly|read-only|query_only"):
                conn.exec_driver_sql("DELETE FROM person")
    assert person_rows(url) == 2


def test_a_sqlite_database_attached_in_a_run_cannot_be_written(tmp_path, sqlite_db):
    url, _ = sqlite_db
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as plain:
        plain.execute("CREATE TABLE t (x INTEGER)")
    with opened(url) as conn:
        conn.exec_driver_sql(f"ATTACH DATABASE '{other}' AS other")
        with pytest.raises(sa.exc.OperationalError, match="readonly|query_only"):
            conn.exec_driver_sql("INSERT INTO other.t VALUES (1)")


@pytest.mark.postgres
def test_postgresql_refuses_the_hidden_drop_and_the_table_is_intact(
    tmp_path,
    postgres_server,  # noqa: F811
):
    url = postgres_server.create_database("ro_hidden")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE person (person_id int, gender text, date_of_birth date)")
        conn.exec_driver_sql("INSERT INTO person VALUES (1, 'F', '1950-01-01')")
    engine.dispose()
    for kind in ("e_string", "dollar_quote", "nested_comment"):
        _, sql = HIDING[kind]
        mapping, folder = people_mapping(
            tmp_path / kind, sql.replace("DROP TABLE person", "DROP TABLE {{ t.people }}")
        )
        with pytest.raises(MappingError, match="one read-only query"):
            extract(mapping, PERIOD, url=url, connectors_dir=folder)
    with opened(url) as conn:
        assert conn.exec_driver_sql("SHOW standard_conforming_strings").scalar_one() == "on"
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "on"
    assert person_rows(url) == 1


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///file:/data/cms.db?mode=rw&uri=true",
        "sqlite:///file:/data/cms.db?MODE=rwc&uri=true",
        "sqlite:///file:/data/cms.db",
        "sqlite:////data/cms.db",
    ],
)
def test_every_sqlite_file_url_becomes_a_read_only_uri(url):
    from sqlalchemy.engine import make_url

    from cldetl.extract.database import _sqlite_read_only

    parsed = _sqlite_read_only(make_url(url))
    assert parsed.database.startswith("file:")
    assert {k.lower(): v for k, v in parsed.query.items()} == {"mode": "ro", "uri": "true"}


# --- the guard's lexer on any text (hypothesis) ------------------------------------------------

GUARDED_DIALECTS = ["postgresql", "mssql", "sqlite", "oracle", None]
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=80)


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT, dialect=st.sampled_from(GUARDED_DIALECTS))
def test_any_text_inside_a_string_literal_stays_a_literal(text, dialect):
    """Whatever a standard '...' literal holds (quotes doubled), the query is one SELECT."""
    literal = "'" + text.replace("'", "''") + "'"
    assert read_only_problem(f"SELECT {literal} AS x FROM t", dialect) is None


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT)
def test_any_text_in_a_postgresql_dollar_quote_stays_a_literal(text):
    quote = "$q$" if "$q$" not in text else "$z$"
    if quote in text:
        return
    assert read_only_problem(f"SELECT {quote}{text}{quote} AS x", "postgresql") is None


@settings(max_examples=500, deadline=None)
@given(text=ANY_TEXT, dialect=st.sampled_from(GUARDED_DIALECTS))
def test_the_lexer_reads_any_text_or_says_why_not(text, dialect):
    """Never an exception other than the refusal, and never more text than it was given."""
    try:
        bare = bare_sql(text, dialect)
    except ValueError as exc:
        assert str(exc).startswith("it ")
    else:
        assert len(bare) <= len(text)
