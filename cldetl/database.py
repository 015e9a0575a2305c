"""The case system's database: a read-only connection, its errors as clear messages, and a
rendered source streamed as Arrow tables of the declared columns.

Database errors become `InputError`s that name the source and what to check, without row
data; faults that may pass by themselves (a refused or dropped connection, a timeout, a
deadlock) are marked `transient` for schedulers' retries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cldetl.column_types import CONVERTERS, arrow_schema
from cldetl.database_url import _mask_text, _password, masked
from cldetl.errors import InputError, UsageError
from cldetl.sql_templates import statement

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import Connection, Engine

    from cldetl.mapping import Source
    from cldetl.sql_templates import RenderedSource

log = logging.getLogger(__name__)


def create_engine(url: str, origin: str = "the url argument") -> Engine:
    """A SQLAlchemy engine for a one-off extract (no pool). UsageError for a URL that cannot
    be used: unparseable, an unknown dialect, or a driver that is not installed."""
    import sqlalchemy
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        return sqlalchemy.create_engine(url, poolclass=NullPool)
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


_INSTALL = {
    "pyodbc": 'pip install "cldetl[mssql]" (pyodbc, plus Microsoft\'s ODBC Driver 18)',
    "oracledb": 'pip install "cldetl[oracle]" (oracledb)',
    "psycopg": 'pip install "cldetl[postgres]" (psycopg)',
    "psycopg2": "pip install psycopg2-binary, or use postgresql+psycopg:// with cldetl[postgres]",
}


_MISSING_OBJECT = re.compile(
    r"no such (table|column)|invalid (object|column) name|does not exist|ORA-00942|ORA-00904"
    r"|undefined (table|column)|unknown column|no such function",
    re.IGNORECASE,
)
_SYNTAX = re.compile(
    r"syntax error at or near|incorrect syntax near|(?<!input )syntax error|ORA-0093[36]"
    r"|ORA-00923",
    re.IGNORECASE,
)


def _driver_message(exc: BaseException, url: str) -> str:
    """The driver's own message, first line, short, any password removed."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split()) if str(orig) else type(orig).__name__
    password = _password(url)
    if password:
        from urllib.parse import quote_plus

        for form in {password, quote_plus(password)}:
            text = text.replace(form, "***")
    text = _mask_text(text)
    text = text.rstrip(" .")
    return text[:300] + ("..." if len(text) > 300 else "")


def _error_code(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    for attr in ("pgcode", "sqlstate", "code"):
        code = getattr(orig, attr, None)
        if isinstance(code, str | int) and code:
            return f", code {code}"
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], str | int) and re.fullmatch(r"[A-Z0-9]{5}|\d+", str(args[0])):
        return f", code {args[0]}"
    return ""


def connection_error(exc: BaseException, name: str, url: str, origin: str) -> InputError:
    """An error connecting as an InputError that names the source and what to check."""
    message = _driver_message(exc, url)
    stop = "" if message.endswith(("?", "!")) else "."
    return InputError(
        f"source '{name}': the database refused the connection or could not be reached "
        f"({masked(url)}): {message}{stop} Check the server is running and "
        f"reachable from here, and the credentials in {origin}."
    )


def query_error(exc: BaseException, name: str, template: str, url: str) -> InputError:
    """An error running a source's SQL as an InputError. The driver's message is shown only
    when it names tables, columns or syntax: others (a failed conversion) can quote values."""
    message = _driver_message(exc, url)
    if _MISSING_OBJECT.search(message):
        return InputError(
            f"source '{name}': table or column missing: {message}; check identifiers in "
            f"sources.{name}.params.identifiers or the template connectors/{template} "
            "(names with capitals are quoted, so their case must match on PostgreSQL and "
            "Oracle)."
        )
    if _SYNTAX.search(message):
        return InputError(
            f"source '{name}': the database rejected the SQL of connectors/{template}: "
            f"{message}; review it with `cldetl sql`."
        )
    if getattr(exc, "connection_invalidated", False):
        return InputError(
            f"source '{name}': the connection to the database was lost while reading "
            f"({type(getattr(exc, 'orig', exc)).__name__}); run the extract again."
        )
    return InputError(
        f"source '{name}': the database could not run connectors/{template} "
        f"({type(getattr(exc, 'orig', None) or exc).__name__}{_error_code(exc)}); the "
        "database's message is not shown as it may quote record values. Run the SQL from "
        "`cldetl sql` in the database to see it."
    )


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
    from sqlalchemy.exc import DBAPIError

    schema = arrow_schema(source.columns)
    name, template = rendered.name, rendered.template
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
        done = 0
        while True:
            try:
                rows = result.fetchmany(chunk_rows)
            except DBAPIError as exc:
                raise query_error(exc, name, template, url) from None
            if not rows:
                break
            yield _chunk_table(rows, positions, source, schema, name, template, done)
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
) -> pa.Table:
    import pyarrow as pa

    columns = list(zip(*rows, strict=True))
    arrays = []
    for column, kind in source.columns.items():
        values = columns[positions[column]]
        arrays.append(
            _arrow_array(values, kind, schema.field(column).type, name, template, column, offset)
        )
    return pa.Table.from_arrays(arrays, schema=schema)


def _arrow_array(values, kind, arrow_type, name, template, column, offset):
    import pyarrow as pa

    try:
        return pa.array(values, type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    if kind == "date":
        # ISO text dates (SQLite, or a CAST to varchar): parsed by Arrow, not row by row.
        import pyarrow.compute as pc

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
