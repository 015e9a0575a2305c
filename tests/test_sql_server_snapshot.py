"""The SQL Server branch of "one snapshot per run" (issue 19, point 2), without a SQL Server.

SQLAlchemy's own mssql+pyodbc dialect runs against a stand-in for the pyodbc module that
records each connection's connection string and every statement sent on it, in order, and
answers like a server would (a server version, a default schema, the rows of a query). What is
asserted is what reaches the driver:

- one connection for every count and every read of the run, opened with
  `ApplicationIntent=ReadOnly` in its connection string (the read-only intent, docs/connectors.md);
- `SET TRANSACTION ISOLATION LEVEL SNAPSHOT` sent on it before the first count, and no commit or
  rollback after it until the reads are done, so the counts and the reads are one transaction
  in one snapshot (SQLAlchemy's mssql dialect sends the same statement for its
  isolation_level="SNAPSHOT");
- a database without ALLOW_SNAPSHOT_ISOLATION (error 3952, raised by SQL Server on the first
  read of a snapshot transaction) gives the one-line message that says what the DBA can do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.connectors import pyodbc as pyodbc_connector

from cldetl.errors import InputError
from cldetl.extract import read_sources
from cldetl.mapping import load_mapping
from cldetl.spec.period import ReportingPeriod

ROOT = Path(__file__).resolve().parents[1]
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))
URL = "mssql+pyodbc://reader:secret@cms-server/cms?driver=ODBC+Driver+18+for+SQL+Server"
SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL SNAPSHOT"
NOT_ALLOWED = (
    "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Snapshot isolation "
    "transaction failed accessing database 'cms' because snapshot isolation is not allowed in "
    "this database. Use ALTER DATABASE to allow snapshot isolation. (3952) (SQLExecDirectW)"
)


class Error(Exception):
    pass


class DatabaseError(Error):
    pass


class ProgrammingError(DatabaseError):
    pass


@dataclass
class Server:
    """What the stand-in driver saw: per connection, its connection string and every event
    ("execute <sql>", "commit", "rollback", "close"), in order."""

    columns: list[str]
    snapshot_allowed: bool = True
    connections: list[tuple[str, list[str]]] = field(default_factory=list)


class FakeCursor:
    def __init__(self, server: Server, log: list[str]) -> None:
        self.server, self.log = server, log
        self.columns, self.rows, self.rowcount, self.arraysize = None, [], -1, 1

    @property
    def description(self):
        if self.columns is None:
            return None
        return [(name, None, None, None, None, None, True) for name in self.columns]

    def execute(self, sql, *params):
        self.log.append(f"execute {sql}")
        self.columns, self.rows = self._answer(sql)
        return self

    def _answer(self, sql: str):
        """A server's answer: the dialect's own first-connect queries, a count (no rows: an
        empty table), or a source's read (its declared columns, no rows). In a snapshot
        transaction on a database that does not allow it, the first data access fails."""
        in_snapshot = f"execute {SNAPSHOT}" in self.log
        if in_snapshot and sql != SNAPSHOT and not self.server.snapshot_allowed:
            raise ProgrammingError("42000", NOT_ALLOWED)
        if "SERVERPROPERTY('ProductVersion')" in sql:
            return ["v"], [("16.0.4135.4",)]
        if "schema_name()" in sql:
            return ["s"], [("dbo",)]
        if "NVARCHAR(max)" in sql:
            return ["t"], [("test max support",)]
        if "system_views" in sql:
            return ["name"], [("dm_exec_sessions",)]
        if "transaction_isolation_level" in sql:
            return ["level"], [("READ COMMITTED",)]
        if "COUNT(*) AS n" in sql:
            return ["why", "n"], []
        if sql == SNAPSHOT:
            return None, []
        return list(self.server.columns), []

    def fetchone(self):
        return self.rows.pop(0) if self.rows else None

    def fetchmany(self, size=None):
        size = size or self.arraysize
        taken, self.rows = self.rows[:size], self.rows[size:]
        return taken

    def fetchall(self):
        taken, self.rows = self.rows, []
        return taken

    def close(self):
        pass

    def setinputsizes(self, *args):
        pass


class FakeConnection:
    def __init__(self, server: Server, log: list[str]) -> None:
        self.server, self.log = server, log
        self.timeout = 0

    def cursor(self):
        return FakeCursor(self.server, self.log)

    def commit(self):
        self.log.append("commit")

    def rollback(self):
        self.log.append("rollback")

    def close(self):
        self.log.append("close")

    def add_output_converter(self, *args):
        pass

    def getinfo(self, _what):
        return "16.00.4135"


def fake_pyodbc(server: Server):
    """A module-like stand-in for pyodbc, as SQLAlchemy's pyodbc connector uses it."""

    class Module:
        paramstyle, apilevel, threadsafety, version = "qmark", "2.0", 1, "5.1.0"
        SQL_DBMS_VER, SQL_DRIVER_NAME = 18, 6
        Warning = Error = Error
        InterfaceError = DataError = OperationalError = IntegrityError = DatabaseError
        InternalError = NotSupportedError = DatabaseError
        DatabaseError = DatabaseError
        ProgrammingError = ProgrammingError
        Cursor = FakeCursor
        SQL_WVARCHAR = SQL_VARCHAR = SQL_WCHAR = SQL_CHAR = -9

        @staticmethod
        def connect(connection_string, *args, **kwargs):
            log: list[str] = []
            server.connections.append((connection_string, log))
            return FakeConnection(server, log)

    return Module


@pytest.fixture
def mapping():
    return load_mapping(ROOT / "mappings" / "eastmoor.yaml")


@pytest.fixture
def server(mapping, monkeypatch) -> Server:
    """The stand-in driver in place of pyodbc for SQLAlchemy's mssql+pyodbc dialect."""
    columns: dict[str, str] = {}
    for source in mapping.sources.values():
        for column in source.columns:
            columns.setdefault(column.lower(), column)
    server = Server(columns=list(columns.values()))
    module = fake_pyodbc(server)
    monkeypatch.setattr(
        pyodbc_connector.PyODBCConnector, "import_dbapi", classmethod(lambda cls: module)
    )
    return server


def test_counts_and_reads_share_one_read_only_snapshot_connection(mapping, server):
    extracted = read_sources(mapping, PERIOD, url=URL)
    database_sources = [n for n, s in mapping.sources.items() if s.template is not None]
    assert set(extracted.counts) == set(database_sources) and len(database_sources) > 1
    # One connection for the whole run, opened with the read-only intent.
    assert len(server.connections) == 1, [c for c, _ in server.connections]
    connection_string, log = server.connections[0]
    assert "ApplicationIntent=ReadOnly" in connection_string
    # SNAPSHOT first, then every count and every read, with no transaction end in between.
    start = log.index(f"execute {SNAPSHOT}")
    counts = [i for i, e in enumerate(log) if e.startswith("execute") and "COUNT(*) AS n" in e]
    reads = [
        i
        for i, e in enumerate(log)
        if e.startswith("execute") and i > start and "COUNT(*) AS n" not in e
    ]
    assert len(counts) == len(database_sources) and len(reads) == len(database_sources)
    assert start < min(counts + reads)
    last = max(counts + reads)
    assert not [e for e in log[start:last] if e in ("commit", "rollback")]
    assert log[-1] == "close" and "commit" not in log[start:]  # never committed


def test_without_snapshot_isolation_the_run_says_what_the_dba_can_do(mapping, server):
    server.snapshot_allowed = False
    with pytest.raises(InputError) as raised:
        read_sources(mapping, PERIOD, url=URL)
    message = str(raised.value)
    assert "does not allow snapshot isolation" in message
    assert "ALLOW_SNAPSHOT_ISOLATION ON" in message
    assert "secret" not in message and "\n" not in message.strip()
    (_, log) = server.connections[0]
    assert f"execute {SNAPSHOT}" in log
