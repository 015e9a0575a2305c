"""One snapshot per run: a source's count and its read see the same state of the database, so a
case system written to between the two still reconciles (issue 19, point 2).

Rows are added to the workflow steps table right after its count query runs and before its
rows are read (an SQLAlchemy event on every engine): read in one REPEATABLE READ / snapshot
transaction, the read does not see them and table rows = left out + read still holds; read on
separate connections (as before), the run stopped with a ReconciliationError.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cldetl.extract import extract_source, read_sources
from cldetl.extract.database import SNAPSHOT_TRANSACTION
from cldetl.mapping import load_mapping
from cldetl.spec.period import ReportingPeriod
from cldetl.transform import transform
from examples.mosaic_liquidlogic.generate import build_database
from tests.pg import postgres_server  # noqa: F401  (the session fixture)

ROOT = Path(__file__).resolve().parents[1]
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
SMALL, SEED = 40, 2025
TABLE = "dm_workflow_steps"


def copy_every_row(writer: Engine) -> int:
    """Insert a copy of every row of TABLE under new ids (committed at once); the count."""
    table = sa.Table(TABLE, sa.MetaData(), autoload_with=writer)
    (key,) = table.primary_key.columns
    with writer.begin() as conn:
        offset = conn.execute(sa.select(sa.func.max(key))).scalar_one()
        rows = [dict(r._mapping) for r in conn.execute(sa.select(table))]
        for row in rows:
            row[key.name] += offset
        conn.execute(table.insert(), rows)
    return len(rows)


@contextmanager
def rows_added_after_the_count(writer: Engine) -> Iterator[list[int]]:
    """Copy TABLE's rows right after each count query over it has run (two sources of the
    example count it: each then reads a table that grew after its count)."""
    added: list[int] = []

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        if "COUNT(*) AS n" in statement and f"FROM {TABLE} " in statement:
            added.append(copy_every_row(writer))

    sa.event.listen(Engine, "after_cursor_execute", after)
    try:
        yield added
    finally:
        sa.event.remove(Engine, "after_cursor_execute", after)


def assert_reconciles_with_rows_added_midway(url: str, writer: Engine) -> None:
    mapping = load_mapping(ROOT / "mappings" / "eastmoor.yaml")
    with rows_added_after_the_count(writer) as added:
        extracted = read_sources(mapping, PERIOD, url=url)
    assert len(added) == 2 and min(added) > 0, "rows were added between the counts and reads"
    steps = extracted.counts["steps"]
    assert steps.table_rows == sum(steps.left_out.values()) + len(extracted.frames["steps"])
    # The transform's own reconciliation (ReconciliationError otherwise).
    result = transform(mapping, extracted.frames, PERIOD, database_counts=extracted.counts)
    totals = result.reconciliation.set_index(["source", "kind"]).loc[("steps", "total")]
    assert int(totals["table_rows"]) == steps.table_rows
    # The rows are there for the next run: this one saw the database as it was.
    assert writer.connect().execute(sa.text(f"SELECT COUNT(*) FROM {TABLE}")).scalar_one() == (
        steps.table_rows + sum(added)
    )


@pytest.fixture
def mosaic_on_postgresql(postgres_server, request) -> Iterator[tuple[str, Engine]]:  # noqa: F811
    """The Eastmoor example in a fresh PostgreSQL database, and an engine that writes to it."""
    url = postgres_server.create_database(f"snapshot_{request.node.name[-20:].lower()}")
    build_database("mosaic", url, people=SMALL, seed=SEED)
    writer = sa.create_engine(url)
    yield url, writer
    writer.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_rows_added_between_count_and_read_still_reconcile(mosaic_on_postgresql):
    assert_reconciles_with_rows_added_midway(*mosaic_on_postgresql)


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_one_source_task_counts_and_reads_in_one_snapshot(mosaic_on_postgresql):
    """The flow's task per source (`extract_source`): its own transaction, count and read."""
    url, writer = mosaic_on_postgresql
    mapping = load_mapping(ROOT / "mappings" / "eastmoor.yaml")
    with rows_added_after_the_count(writer) as added:
        extracted = extract_source(mapping, "steps", PERIOD, url=url)
    assert added
    counts = extracted.counts["steps"]
    assert counts.read == len(extracted.frames["steps"])


def test_sqlite_rows_added_between_count_and_read_still_reconcile(tmp_path):
    """SQLite in WAL mode lets a writer commit while cldetl reads: its one transaction keeps
    the snapshot it started with."""
    path = tmp_path / "eastmoor.db"
    url = f"sqlite:///{path}"
    build_database("mosaic", url, people=SMALL, seed=SEED)
    keeper = sqlite3.connect(path)  # keeps the -wal and -shm files a read-only reader needs
    keeper.execute("PRAGMA journal_mode=WAL")
    keeper.execute("SELECT 1").fetchall()
    writer = sa.create_engine(url)
    try:
        assert_reconciles_with_rows_added_midway(url, writer)
    finally:
        writer.dispose()
        keeper.close()


@pytest.mark.parametrize("dialect", ["postgresql", "mssql", "oracle", "sqlite"])
def test_every_dialect_reads_in_one_snapshot_transaction(dialect):
    begin = SNAPSHOT_TRANSACTION[dialect]
    assert begin.startswith(("SET TRANSACTION", "BEGIN"))
    assert {"postgresql": "REPEATABLE READ", "mssql": "SNAPSHOT"}.get(dialect, "") in begin


def test_sql_server_without_snapshot_isolation_says_what_the_dba_can_do():
    from cldetl.extract.database_errors import query_error

    class Refused(Exception):
        pass

    said = Refused(
        "(3952) Snapshot isolation transaction failed accessing database 'cms' because "
        "snapshot isolation is not allowed in this database."
    )
    error = query_error(said, "steps", "mosaic/workflow_steps.sql.j2", "mssql+pyodbc://")
    assert "ALLOW_SNAPSHOT_ISOLATION ON" in str(error) and not error.transient
