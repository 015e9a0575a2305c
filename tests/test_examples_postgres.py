"""The example connectors beyond SQLite.

- PostgreSQL (marker `postgres`): each example database is loaded into a throwaway PostgreSQL
  server (tests/pg.py) and into SQLite, at the same small size and seed; the CLD return, the
  exclusions and the reconciliation must be identical. PostgreSQL hands back real dates,
  timestamps and decimals where SQLite hands back text, and compares datetimes with dates its
  own way: the templates must make no difference.
- SQL Server, Oracle, PostgreSQL, SQLite without a server: every template in connectors/mosaic
  and connectors/liquidlogic renders for each dialect and compiles with SQLAlchemy (bind
  parameters, expanding lists), and keeps to SQL all four accept.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.dialects import mssql, oracle, postgresql, sqlite

from cldetl.extract import extract
from cldetl.extract.render import render_all, statement
from cldetl.mapping import load_mapping
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import transform
from examples.mosaic_liquidlogic.generate import build_database
from tests.pg import postgres_server  # noqa: F401  (the session fixture)

ROOT = Path(__file__).resolve().parents[1]
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
SMALL, SEED = 60, 2025
EXAMPLES = {
    "eastmoor": ("mosaic", "mappings/eastmoor.yaml"),
    "westvale": ("liquidlogic", "mappings/westvale.yaml"),
}
DIALECTS = {
    "mssql": mssql.dialect(),
    "oracle": oracle.dialect(),
    "postgresql": postgresql.dialect(),
    "sqlite": sqlite.dialect(),
}


def _return(mapping_path: str, url: str):
    mapping = load_mapping(ROOT / mapping_path)
    return transform(mapping, extract(mapping, PERIOD, url=url), PERIOD)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_postgresql_gives_the_same_return_as_sqlite(postgres_server, tmp_path, name):  # noqa: F811
    system, mapping_path = EXAMPLES[name]
    pg_url = postgres_server.create_database(name)
    lite_url = f"sqlite:///{tmp_path / f'{name}.db'}"
    counts_pg = build_database(system, pg_url, people=SMALL, seed=SEED)
    counts_lite = build_database(system, lite_url, people=SMALL, seed=SEED)
    assert counts_pg == counts_lite

    on_pg = _return(mapping_path, pg_url)
    on_lite = _return(mapping_path, lite_url)
    assert len(on_lite.cld) > 60
    pd.testing.assert_frame_equal(on_pg.cld, on_lite.cld)
    pd.testing.assert_frame_equal(on_pg.exclusions, on_lite.exclusions)
    pd.testing.assert_frame_equal(on_pg.reconciliation, on_lite.reconciliation)
    pd.testing.assert_frame_equal(on_pg.unmapped, on_lite.unmapped)


# --- every template, every dialect, no server ---------------------------------------------------

# What one of the four databases would reject (a rendered template must contain none of it).
NOT_PORTABLE = {
    "LIMIT or TOP (use no row limit)": r"\bLIMIT\b|\bTOP\s*\(?\d",
    "'::' casts (PostgreSQL only)": r"::",
    "AS before a table or subquery alias (Oracle rejects it)": (
        r"(?:\bFROM|\bJOIN)\s+(?:\"?\w+\"?\.)?\"?\w+\"?\s+AS\s+\w+|\)\s+AS\s+\w+\s+(?:ON|WHERE|GROUP)\b"
    ),
    "'||' concatenation (not SQL Server)": r"\|\|",
    "ILIKE (PostgreSQL only)": r"\bILIKE\b",
    "NOW() or GETDATE() (bind dates instead)": r"\bNOW\s*\(|\bGETDATE\s*\(|\bSYSDATE\b",
}
DIALECT_ONLY = {  # function: the only dialect it may appear in
    "substr(": "sqlite",
    "TRUNC(": "oracle",
}


def _templates_used() -> set[str]:
    used = set()
    for _, mapping_path in EXAMPLES.values():
        mapping = load_mapping(ROOT / mapping_path)
        used |= {s.template for s in mapping.sources.values() if s.template}
    return used


def test_every_example_template_is_used_by_a_mapping():
    on_disk = {
        p.relative_to(ROOT / "connectors").as_posix()
        for folder in ("mosaic", "liquidlogic")
        for p in (ROOT / "connectors" / folder).glob("*.sql.j2")
    }
    assert on_disk, "no templates found"
    assert on_disk <= _templates_used(), on_disk - _templates_used()


@pytest.mark.parametrize("dialect_name", list(DIALECTS))
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_template_renders_and_compiles_for_each_dialect(name, dialect_name):
    mapping = load_mapping(ROOT / EXAMPLES[name][1])
    dialect = DIALECTS[dialect_name]
    rendered = render_all(mapping, dialect_name, PERIOD)
    assert {r.name for r in rendered} == set(mapping.sources)
    for source in rendered:
        compiled = statement(source).compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True}
        )
        assert "{{" not in source.sql and "{%" not in source.sql, source.template
        bound = set(compiled.params)
        for bind, value in source.binds.items():
            # Lists expand to one parameter per item (name_1, name_2...).
            expected = (
                {f"{bind}_{i}" for i in range(1, len(value) + 1)}
                if isinstance(value, list)
                else {bind}
            )
            assert expected <= bound, f"{source.template}: :{bind} is not bound"
        for problem, pattern in NOT_PORTABLE.items():
            match = re.search(pattern, source.sql, flags=re.IGNORECASE)
            assert match is None, f"{source.template} ({dialect_name}): {problem}: {match[0]!r}"
        for function, only in DIALECT_ONLY.items():
            if dialect_name != only:
                assert function.lower() not in source.sql.lower(), (
                    f"{source.template} ({dialect_name}) uses {function} outside its branch"
                )
