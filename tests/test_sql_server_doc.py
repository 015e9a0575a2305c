"""docs/sql-server.md says what is true: the login script grants SELECT on exactly the tables the
templates read by default, and every URL it shows parses, asks for a read-only session and
names a real ODBC driver (its `cldetl` commands are run by tests/test_windows_doc.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from cldetl.extract.database import _mssql_read_only
from cldetl.mapping.template_declarations import builtin_connectors, read_declaration

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "sql-server.md").read_text(encoding="utf-8")


def default_tables(system: str) -> set[str]:
    tables = set()
    for path in (builtin_connectors() / system).glob("*.sql.j2"):
        declaration = read_declaration(path, f"{system}/{path.name}")
        tables |= {
            str(declaration.parameters[n].default) for n in declaration.of_kind("identifiers")
        }
    return tables


@pytest.mark.parametrize(
    ("system", "heading"), [("mosaic", "-- Mosaic"), ("liquidlogic", "-- Liquid")]
)
def test_the_login_script_grants_select_on_the_templates_tables(system, heading):
    script = DOC.split("```sql", 1)[1].split("```", 1)[0]
    part = script.split(heading, 1)[1].split("\n\n", 1)[0]
    granted = set(re.findall(r"GRANT SELECT ON dbo\.(\w+) TO cld_reader;", part))
    assert granted == default_tables(system)
    assert not re.search(
        r"\b(INSERT|UPDATE|DELETE|EXECUTE|db_owner|ALTER)\b.*TO cld_reader", script
    )


URLS = [u for u in re.findall(r'"(mssql\+\w+://[^"]+)"', DOC) if "..." not in u]


def test_the_doc_shows_trusted_and_sql_login_urls():
    assert len(URLS) >= 3
    assert any("trusted_connection=yes" in url for url in URLS)


@pytest.mark.parametrize("url", URLS)
def test_each_url_is_read_only_and_names_a_driver(url):
    parsed = make_url(url)
    assert parsed.get_backend_name() == "mssql"
    assert parsed.query["ApplicationIntent"] == "ReadOnly"
    assert parsed.query["driver"] in (
        "ODBC Driver 18 for SQL Server",
        "ODBC Driver 17 for SQL Server",
    )
    assert _mssql_read_only(parsed) == parsed  # cldetl adds nothing: it is already there
    if parsed.query.get("trusted_connection") == "yes":
        assert not parsed.username and not parsed.password
