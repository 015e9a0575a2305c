"""SQL Server is the default real database (issue 20, point 2): every template in connectors/ is
rendered for the mssql dialect (the example mappings' parameters and the templates' defaults,
the extract's query and its count query), compiled by SQLAlchemy as the pyodbc driver sends it
(`?` placeholders, lists expanded), and parsed as T-SQL by sqlglot, so a syntax error in any
template fails here, without a SQL Server."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
import sqlglot
from packaging.requirements import Requirement
from sqlalchemy.dialects.mssql import pyodbc as mssql_pyodbc
from sqlglot.errors import ErrorLevel, ParseError

from cldetl.extract.render import render_source, statement
from cldetl.mapping import load_mapping
from cldetl.mapping.template_declarations import builtin_connectors
from cldetl.spec.period import ReportingPeriod

ROOT = Path(__file__).resolve().parents[1]
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
MAPPINGS = sorted((ROOT / "mappings").glob("*.yaml"))
TEMPLATES = sorted(
    p.relative_to(ROOT / "connectors").as_posix() for p in ROOT.glob("connectors/*/*.sql.j2")
)
# What other databases accept and SQL Server does not (sqlglot would quietly rewrite some of
# them, LIMIT into TOP, so they are looked for in the text as well).
NOT_TSQL = re.compile(
    r"\bLIMIT\b|\|\||::|\bILIKE\b|\bNULLS\s+(?:FIRST|LAST)\b|\bTRUE\b|\bFALSE\b|\bOFFSET\b"
    r"|\bFETCH\s+FIRST\b|\bEXTRACT\s*\(|\bDATE_TRUNC\b|\bSTRING_AGG\s*\([^)]*\bORDER\b",
    re.IGNORECASE,
)


def pyodbc_sql(rendered) -> str:
    """The statement as SQLAlchemy's mssql+pyodbc dialect sends it to the driver."""
    dialect = mssql_pyodbc.dialect(paramstyle="qmark")
    compiled = statement(rendered).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    return compiled.string


def parse_tsql(sql: str) -> None:
    """Raise sqlglot's ParseError unless `sql` is one T-SQL statement."""
    parsed = sqlglot.parse(sql, read="tsql", error_level=ErrorLevel.RAISE)
    assert len([p for p in parsed if p is not None]) == 1, "one statement"


def cases() -> list:
    out = []
    for path in MAPPINGS:
        mapping = load_mapping(path)
        for name, source in mapping.sources.items():
            if source.template is not None:
                for counts in (False, True):
                    query = "count query" if counts else "query"
                    out.append(pytest.param(path, name, counts, id=f"{path.stem}-{name}-{query}"))
    return out


CASES = cases()


def test_the_examples_use_every_template():
    used = set()
    for path in MAPPINGS:
        used |= {s.template for s in load_mapping(path).sources.values() if s.template}
    assert set(TEMPLATES) <= used, set(TEMPLATES) - used
    assert (ROOT / "connectors").resolve() == builtin_connectors().resolve()


@pytest.mark.parametrize(("mapping_path", "source", "counts"), CASES)
def test_every_template_is_tsql(mapping_path, source, counts):
    rendered = render_source(load_mapping(mapping_path), source, "mssql", PERIOD, counts=counts)
    sql = pyodbc_sql(rendered)
    code = re.sub(r"/\*.*?\*/|--[^\n]*|'[^']*'", "", sql, flags=re.DOTALL)  # comments, text
    assert re.findall(r"(?<!:):\w+", code) == [], "every bind is a ? placeholder"
    assert NOT_TSQL.findall(code) == []
    parse_tsql(sql)


@pytest.mark.parametrize(
    "broken",
    [
        "SELECT a FROM (SELECT 1 AS a",  # a bracket left open
        "SELECT a FROM t WHERE",  # a condition left out by a template branch
        "SELECT a FORM t",  # a typo
        "SELECT a FROM t WHERE x = ? AND",
    ],
)
def test_the_parser_refuses_broken_sql(broken):
    with pytest.raises(ParseError):
        parse_tsql(broken)


@pytest.mark.parametrize("other", ["SELECT a FROM t LIMIT 5", "SELECT a || b FROM t"])
def test_other_dialects_syntax_is_found(other):
    assert NOT_TSQL.findall(other)


def test_the_mssql_extra_is_pinned():
    """constraints-mssql.txt pins every driver of the extra, inside the extra's range."""
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [Requirement(r) for r in extra["project"]["optional-dependencies"]["mssql"]]
    pins = {}
    for line in (ROOT / "constraints-mssql.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    assert sorted(pins) == sorted(r.name.lower() for r in wanted)
    for requirement in wanted:
        assert requirement.specifier.contains(pins[requirement.name.lower()]), requirement
