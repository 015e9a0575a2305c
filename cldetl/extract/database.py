"""The case system's database: a read-only connection, its errors as clear messages, and a
rendered source streamed as Arrow tables of the declared columns.

Database errors become `InputError`s that name the source and what to check, without row
data (`cldetl.extract.database_errors`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from cldetl.errors import InputError, UsageError
from cldetl.extract.column_types import CONVERTERS, arrow_schema, split_lists
from cldetl.extract.database_errors import connection_error, query_error
from cldetl.extract.database_url import masked
from cldetl.extract.read_only import read_only_problem
from cldetl.extract.render import statement

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import Connection, Engine

    from cldetl.extract.render import RenderedSource
    from cldetl.mapping import Source

log = logging.getLogger(__name__)

# A template's `list` columns join their values with the bound value :list_separator
# (declared with this default: the ASCII unit separator, never inside a code or a name).
LIST_SEPARATOR = "list_separator"
DEFAULT_LIST_SEPARATOR = "\x1f"


def create_engine(
    url: str, origin: str = "the url argument", statement_timeout: float | None = None
) -> Engine:
    """A SQLAlchemy engine for a one-off extract (no pool), opened **read-only** where the
    dialect allows it: SQLite `mode=ro`, PostgreSQL `default_transaction_read_only`, SQL
    Server `ApplicationIntent=ReadOnly` (pyodbc), Oracle `SET TRANSACTION READ ONLY` (see
    `connect`). Nothing is ever committed. `statement_timeout` (seconds) stops a statement,
    including the fetching of its rows, that runs longer.

    UsageError for a URL that cannot be used: unparseable, an unknown dialect, or a driver
    that is not installed; InputError for a SQLite file that does not exist."""

    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        connect_args: dict = {}
        if backend == "sqlite":
            parsed = _sqlite_read_only(parsed)
        elif backend == "postgresql":
            options = [str(parsed.query.get("options", "")).strip()]
            options.append("-c default_transaction_read_only=on")
            # Backslashes in '...' are text, as the read-only guard reads them.
            options.append("-c standard_conforming_strings=on")
            if statement_timeout:
                options.append(f"-c statement_timeout={int(statement_timeout * 1000)}")
            connect_args["options"] = " ".join(o for o in options if o)
        elif backend == "mssql":
            parsed = _mssql_read_only(parsed)
            if statement_timeout and parsed.get_driver_name() == "pymssql":
                connect_args["timeout"] = max(1, int(statement_timeout))
        engine = sqlalchemy.create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except NoSuchModuleError:
        raise UsageError(
            f"the database URL from {origin} ({masked(url)}) names a dialect SQLAlchemy does not "
            "know; use mssql+pyodbc://, mssql+pymssql://, oracle+oracledb://, "
            "postgresql+psycopg:// or sqlite:///."
        ) from None
    except ArgumentError:
        raise UsageError(
            f"the database URL from {origin} cannot be parsed (not shown, it may hold a "
            "password); write it as dialect+driver://user:password@host:port/database."
        ) from None
    except ImportError as exc:
        driver = (exc.name or "its driver").split(".")[0]
        install = _INSTALL.get(driver, f"pip install {driver}")
        raise UsageError(
            f"the database URL from {origin} ({masked(url)}) needs the Python package "
            f"'{driver}', which is not installed: {install} (see docs/connectors.md)."
        ) from None
    if statement_timeout:
        _limit_statements(engine, float(statement_timeout))
    return engine


def _sqlite_read_only(parsed):
    """sqlite:///path as a read-only URI (file:path?mode=ro), which never creates a file:
    `connect` reports a missing one, where SQLite would create an empty database and then
    report "no such table". A URL that is already a `file:` URI gets `mode=ro` too, whatever
    mode it asked for (`?mode=rw&uri=true` would open the case system read-write)."""

    database = parsed.database or ""
    if database in ("", ":memory:"):
        return parsed
    query = {k: v for k, v in parsed.query.items() if k.lower() not in ("mode", "uri")}
    query.update(mode="ro", uri="true")
    if database.startswith("file:"):
        return parsed.set(query=query)
    path = Path(database).expanduser().resolve()
    # file:///C:/Users/... on Windows, file:///home/... elsewhere: SQLite's documented URI form
    # (a Windows path's drive colon and backslashes must not be percent-encoded into it).
    return parsed.set(database=path.as_uri(), query=query)


def _mssql_read_only(parsed):
    """ApplicationIntent=ReadOnly on pyodbc URLs (an availability group routes the session
    to a readable secondary and the session is marked read-only)."""
    if parsed.get_driver_name() != "pyodbc":
        return parsed
    keys = {k.lower() for k in parsed.query}
    if "odbc_connect" in keys:
        key = next(k for k in parsed.query if k.lower() == "odbc_connect")
        value = str(parsed.query[key])
        if "applicationintent" not in value.lower():
            value = value.rstrip(";") + ";ApplicationIntent=ReadOnly"
        return parsed.update_query_dict({key: value})
    if "applicationintent" in keys:
        return parsed
    return parsed.update_query_dict({"ApplicationIntent": "ReadOnly"})


def _limit_statements(engine: Engine, seconds: float) -> None:
    """A per-statement time limit where the driver has one: SQL Server (pyodbc) and Oracle
    connection time-outs, SQLite a progress handler checking the statement's deadline.
    PostgreSQL's is a connection option (statement_timeout) set in create_engine."""

    backend = engine.dialect.name
    deadlines: dict[int, float] = {}

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        if backend == "sqlite":
            key = id(dbapi_connection)
            deadlines[key] = math.inf
            dbapi_connection.set_progress_handler(
                lambda: 1 if time.monotonic() > deadlines.get(key, math.inf) else 0, 20_000
            )
        elif backend == "mssql" and hasattr(dbapi_connection, "timeout"):
            dbapi_connection.timeout = max(1, int(seconds))
        elif backend == "oracle" and hasattr(dbapi_connection, "call_timeout"):
            dbapi_connection.call_timeout = int(seconds * 1000)

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, _cursor, _statement, _params, _context, _many) -> None:
        if backend == "sqlite":
            deadlines[id(conn.connection.dbapi_connection)] = time.monotonic() + seconds


# The first statement of the one transaction a connection reads in: read-only, and one
# snapshot of the database for every statement in it, so that a source's count and its read
# (and, in one extract, every source) see the same rows however busy the case system is.
SNAPSHOT_TRANSACTION = {
    "postgresql": "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    # Oracle: a read-only transaction reads as of its start (transaction-level consistency).
    "oracle": "SET TRANSACTION READ ONLY",
    # SQL Server: needs ALLOW_SNAPSHOT_ISOLATION on the database (or a readable secondary);
    # without it the first read fails with a message saying so (`query_error`).
    "mssql": "SET TRANSACTION ISOLATION LEVEL SNAPSHOT",
    # SQLite: a deferred transaction holds its read snapshot (or shared lock) until it ends.
    "sqlite": "BEGIN",
}


def connect(engine: Engine, name: str, url: str, origin: str) -> Connection:
    """A connection in one read-only transaction that sees one snapshot of the database
    (SNAPSHOT_TRANSACTION; PostgreSQL's session is read-only by default too). The caller
    closes it, which rolls back: cldetl never commits."""

    database = engine.url.database or ""
    if engine.dialect.name == "sqlite" and database.startswith("file:"):
        path = Path(unquote(database.removeprefix("file:")))
        if not path.is_file():
            raise InputError(
                f"source '{name}': no SQLite database file at {path} (the URL from {origin}); "
                "check the path in the URL."
            )
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise connection_error(exc, name, url, origin) from None
    try:
        if engine.dialect.name == "sqlite":
            # mode=ro covers the file itself; query_only also any database ATTACHed to it.
            conn.exec_driver_sql("PRAGMA query_only = ON")
        begin = SNAPSHOT_TRANSACTION.get(engine.dialect.name)
        if begin:
            conn.exec_driver_sql(begin)
    except DBAPIError as exc:
        conn.close()
        raise connection_error(exc, name, url, origin) from None
    return conn


_INSTALL = {
    "pyodbc": 'pip install "cldetl[mssql]" (pyodbc, plus Microsoft\'s ODBC Driver 18)',
    "oracledb": 'pip install "cldetl[oracle]" (oracledb)',
    "psycopg": 'pip install "cldetl[postgres]" (psycopg)',
    "psycopg2": "pip install psycopg2-binary, or use postgresql+psycopg:// with cldetl[postgres]",
}


# --- streaming a source --------------------------------------------------------------------


def match_columns(keys: list[str], source: Source, name: str, template: str) -> dict[str, int]:
    """Declared column -> index in the result, matched case-insensitively (Oracle returns
    upper case). Raises InputError naming the missing or ambiguous columns."""
    index: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        index.setdefault(str(key).lower(), []).append(i)
    found, missing, ambiguous = {}, [], []
    for column in source.columns:
        hits = index.get(column.lower(), [])
        if not hits:
            missing.append(column)
        elif len(hits) > 1:
            ambiguous.append(column)
        else:
            found[column] = hits[0]
    if missing:
        raise InputError(
            f"source '{name}': the SQL of connectors/{template} returns no column(s) "
            f"{', '.join(missing)}, which sources.{name}.columns declares; it returns "
            f"{', '.join(map(str, keys)) or 'none'}. Alias the column in the template "
            f"(... AS {missing[0]}) or fix the declaration."
        )
    if ambiguous:
        raise InputError(
            f"source '{name}': the SQL of connectors/{template} returns more than one column "
            f"named {', '.join(ambiguous)} (ignoring case); alias them apart in the template."
        )
    return found


def stream_source(
    conn: Connection,
    rendered: RenderedSource,
    source: Source,
    chunk_rows: int,
    url: str,
) -> Iterator[pa.Table]:
    """Run a rendered source and yield its rows as Arrow tables of at most `chunk_rows`, with
    exactly the declared columns and types. Database errors become InputErrors."""

    schema = arrow_schema(source.columns)
    name, template = rendered.name, rendered.template
    problem = read_only_problem(rendered.sql, rendered.dialect or None)
    if problem:
        raise InputError(
            f"source '{name}': connectors/{template} is refused before it is sent: {problem}; "
            "a template must be one read-only query (SELECT, or WITH ... SELECT)."
        )
    try:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            statement(rendered)
        )
    except DBAPIError as exc:
        raise query_error(exc, name, template, url) from None
    try:
        if not result.returns_rows:
            raise InputError(
                f"source '{name}': connectors/{template} returns no rows at all (not a SELECT?)."
            )
        positions = match_columns(list(result.keys()), source, name, template)
        separator = str(rendered.binds.get(LIST_SEPARATOR, DEFAULT_LIST_SEPARATOR))
        done = 0
        while True:
            try:
                rows = result.fetchmany(chunk_rows)
            except DBAPIError as exc:
                raise query_error(exc, name, template, url) from None
            if not rows:
                break
            yield _chunk_table(rows, positions, source, schema, name, template, done, separator)
            done += len(rows)
    finally:
        result.close()


def _chunk_table(
    rows: list,
    positions: dict[str, int],
    source: Source,
    schema,
    name: str,
    template: str,
    offset: int,
    separator: str = "",
) -> pa.Table:

    columns = list(zip(*rows, strict=True))
    arrays = []
    for column, kind in source.columns.items():
        values = columns[positions[column]]
        arrays.append(
            _arrow_array(
                values, kind, schema.field(column).type, name, template, column, offset, separator
            )
        )
    return pa.Table.from_arrays(arrays, schema=schema)


def _arrow_array(values, kind, arrow_type, name, template, column, offset, separator=""):

    if kind == "list":
        return split_lists(values, separator)

    try:
        return pa.array(values, type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    if kind == "date":
        # ISO text dates (SQLite, or a CAST to varchar): parsed by Arrow, not row by row.

        try:
            stamps = pc.cast(pa.array(values, type=pa.string()), pa.timestamp("us"))
            return pc.cast(stamps, pa.date32())
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass  # find the row below; Arrow's own message would quote the value
    convert = CONVERTERS[kind]
    out = []
    for i, value in enumerate(values):
        try:
            out.append(None if value is None else convert(value))
        except (ValueError, TypeError, ArithmeticError):
            what = {"integer": "a whole number", "number": "a number", "date": "a date"}.get(
                kind, "text"
            )
            raise InputError(
                f"source '{name}' column '{column}': result row {offset + i + 1} is not "
                f"{what} (the value is not shown); CAST the column in connectors/{template} "
                f"or declare it as text in sources.{name}.columns."
            ) from None
    return pa.array(out, type=arrow_type)
