"""Connector templates rendered to SQL, and the database they run against.

A mapping source with `template: mosaic/people.sql.j2` names a Jinja2 template under the
connectors folder (`connectors/<system>/<name>.sql.j2`). Jinja renders structure only, in a
sandbox with `StrictUndefined`; the template sees exactly three names:

    t        the source's `params.identifiers`, each checked (letters, digits, _ ; optionally
             schema.table) and quoted by the target dialect: `FROM {{ t.steps }}`
    flags    the source's `params.flags` (booleans) for optional clauses
    dialect  'mssql', 'postgresql', 'oracle' or 'sqlite', for dialect branches

Every value is a bind parameter, never text in the SQL: `:period_start` and `:period_end`
(the reporting period) always, and each `params.values` entry under its own name; a list binds
as an expanding parameter, so `IN :codes` works on every database.

The connection URL comes from an environment variable (`connection.url_env`) or a Prefect
Secret block (`connection.secret_block`), never from the YAML; it is only ever shown masked.
Database errors become `InputError`s that name the source and what to check, without row data.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from cldetl.errors import CldetlError, InputError, UsageError
from cldetl.mapping import IDENTIFIER, MappingError

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import Connection, Dialect, Engine
    from sqlalchemy.sql.elements import TextClause

    from cldetl.mapping import Mapping, Source
    from cldetl.period import ReportingPeriod

log = logging.getLogger(__name__)

DIALECTS = ("mssql", "postgresql", "oracle", "sqlite")
# period_end_next (the day after the period) bounds datetime columns: `ts < :period_end_next`
# keeps the whole of the period's last day, which `ts <= :period_end` would not.
BUILTIN_BINDS = ("period_start", "period_end", "period_end_next")
# The pattern SQLAlchemy's text() uses for :name bind parameters (a `\:` is a literal colon).
BIND = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)")


# --- where templates are -------------------------------------------------------------------


def connectors_dir_for(mapping: Mapping, connectors_dir: str | Path | None = None) -> Path:
    """The connectors folder: given, or `connectors/` beside the mapping's `mappings/` folder."""
    if connectors_dir is not None:
        return Path(connectors_dir).resolve()
    if mapping.path:
        return Path(mapping.path).resolve().parent.parent / "connectors"
    return Path.cwd() / "connectors"


def _where(mapping: Mapping, *loc: str) -> str:
    """'mappings/x.yaml:12 sources.steps.template' for messages (the line when it can be found)."""
    dotted = ".".join(loc)
    if not mapping.path:
        return dotted
    from cldetl.mapping import key_line

    line = key_line(mapping.path, loc)
    return f"{mapping.path}:{line or '?'} {dotted}"


def _template_name(mapping: Mapping, name: str, template: str) -> str:
    """The template path as the loader wants it; refuses anything outside the connectors dir."""
    path = PurePosixPath(template)
    if (
        not template
        or "\\" in template
        or re.match(r"^[A-Za-z]:", template)
        or path.is_absolute()
        or any(part in ("..", ".", "") for part in template.split("/"))
    ):
        raise MappingError(
            f"{_where(mapping, 'sources', name, 'template')}: {template!r} is not a template in "
            "the connectors folder; write a relative path like mosaic/people.sql.j2 "
            "(no '..', not absolute)."
        )
    return str(path)


# --- dialects and identifiers --------------------------------------------------------------


def dialect_for(name: str) -> Dialect:
    """A SQLAlchemy dialect to render and compile for, without a database."""
    from sqlalchemy.dialects import mssql, oracle, postgresql, sqlite

    dialects = {
        "mssql": mssql.dialect,
        "postgresql": postgresql.dialect,
        "oracle": oracle.dialect,
        "sqlite": sqlite.dialect,
    }
    aliases = {"sqlserver": "mssql", "postgres": "postgresql", "pg": "postgresql"}
    key = aliases.get(name.lower(), name.lower())
    if key not in dialects:
        raise UsageError(f"dialect {name!r} is not one of {', '.join(DIALECTS)}.")
    return dialects[key]()


def quote_identifier(dialect: Dialect, identifier: str) -> str:
    """`schema.table` checked part by part and quoted by the dialect where it needs quoting."""
    parts = identifier.split(".")
    if not all(IDENTIFIER.match(part) for part in parts):
        raise ValueError(identifier)
    preparer = dialect.identifier_preparer
    return ".".join(preparer.quote(part) for part in parts)


class _MissingName(CldetlError):
    """A template used t.X or flags.X that the source's params do not give."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind}.{key}")
        self.kind, self.key = kind, key


class _Names:
    """`t` and `flags` in templates: attribute or item access, a clear error when missing.

    Not a dict, so `t.items` or `t.values` mean identifiers of those names, not dict methods.
    """

    __slots__ = ("_kind", "_names")

    def __init__(self, kind: str, names: dict[str, Any]) -> None:
        self._kind, self._names = kind, names

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __getitem__(self, key: str) -> Any:
        try:
            return self._names[key]
        except KeyError:
            raise _MissingName(self._kind, key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._names


# --- rendering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedSource:
    """One source's SQL as it will run: `:name` placeholders in `sql`, their values in `binds`."""

    name: str
    template: str
    sql: str
    binds: dict[str, Any]
    dialect: str = ""
    expanding: frozenset[str] = field(default_factory=frozenset)


def _environment(connectors_dir: Path):
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        loader=FileSystemLoader(str(connectors_dir)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_source(
    mapping: Mapping,
    name: str,
    dialect_name: str | Dialect,
    period: ReportingPeriod,
    connectors_dir: str | Path | None = None,
) -> RenderedSource:
    """Render source `name`'s template for a dialect (a name, or a SQLAlchemy Dialect).

    Raises MappingError for a missing template, identifier, flag or bind value, naming the
    template and the mapping key to add; the SQL is compiled for the dialect as a check.
    """
    import jinja2

    if name not in mapping.sources:
        raise UsageError(f"the mapping has no source named {name!r}.")
    source = mapping.sources[name]
    if source.template is None:
        raise UsageError(f"source {name!r} is a file source ({source.file}); it has no SQL.")
    dialect = dialect_for(dialect_name) if isinstance(dialect_name, str) else dialect_name
    folder = connectors_dir_for(mapping, connectors_dir)
    template = _template_name(mapping, name, source.template)

    identifiers = {}
    for key, identifier in source.params.identifiers.items():
        try:
            identifiers[key] = quote_identifier(dialect, identifier)
        except ValueError:
            raise MappingError(
                f"{_where(mapping, 'sources', name, 'params', 'identifiers', key)}: "
                f"{identifier!r} is not a plain table or column name (letters, digits and _ "
                "only, optionally schema.table)."
            ) from None
    context = {
        "t": _Names("identifiers", identifiers),
        "flags": _Names("flags", dict(source.params.flags)),
        "dialect": dialect.name,
    }
    env = _environment(folder)
    try:
        sql = env.get_template(template).render(context)
    except jinja2.TemplateNotFound as exc:
        raise MappingError(
            f"{_where(mapping, 'sources', name, 'template')}: no template {exc.name!r} in "
            f"{folder}{_nearby_templates(folder, template)}. Check the path, or pass the "
            "connectors folder (--connectors) if it is not beside the mappings folder."
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise MappingError(
            f"{folder / (exc.name or template)}:{exc.lineno}: template syntax error: {exc.message}."
        ) from None
    except _MissingName as exc:
        what = "a table or column name" if exc.kind == "identifiers" else "a true/false flag"
        used = f"{'t' if exc.kind == 'identifiers' else 'flags'}.{exc.key}"
        raise MappingError(
            f"template {template} (source '{name}') uses {used}, {what} the mapping does "
            f"not give: add '{exc.key}' under "
            f"{_where(mapping, 'sources', name, 'params', exc.kind)}."
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise MappingError(
            f"template {template} (source '{name}') does something the sandbox forbids ({exc}); "
            "templates only arrange SQL text from t, flags and dialect."
        ) from None
    except jinja2.UndefinedError as exc:
        raise MappingError(
            f"template {template} (source '{name}'): {exc.message}; templates can use only "
            "t (identifiers), flags and dialect."
        ) from None

    values: dict[str, Any] = {
        "period_start": period.start,
        "period_end": period.end,
        "period_end_next": period.end + timedelta(days=1),
    }
    values.update(source.params.values)
    binds, expanding = {}, set()
    for bind in dict.fromkeys(BIND.findall(sql)):
        if bind not in values:
            raise MappingError(
                f"template {template} (source '{name}') uses the bind parameter :{bind}, which "
                f"is not set: add '{bind}' under "
                f"{_where(mapping, 'sources', name, 'params', 'values')} (built in: "
                ":period_start, :period_end, :period_end_next)."
            )
        binds[bind] = values[bind]
        if isinstance(values[bind], list):
            expanding.add(bind)
    rendered = RenderedSource(
        name=name,
        template=template,
        sql=sql,
        binds=binds,
        dialect=dialect.name,
        expanding=frozenset(expanding),
    )
    try:
        statement(rendered).compile(dialect=dialect)
    except Exception as exc:  # noqa: BLE001 - any compile failure is the template's
        raise MappingError(
            f"template {template} (source '{name}') does not compile for {dialect.name}: {exc}"
        ) from None
    return rendered


def _nearby_templates(folder: Path, template: str) -> str:
    system = folder / PurePosixPath(template).parent
    if not system.is_dir():
        systems = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return f" (systems there: {', '.join(systems) or 'none'})"
    names = sorted(p.name for p in system.glob("*.sql.j2"))
    return f" (templates in {system.name}/: {', '.join(names) or 'none'})"


def render_all(
    mapping: Mapping,
    dialect_name: str | Dialect,
    period: ReportingPeriod,
    connectors_dir: str | Path | None = None,
) -> list[RenderedSource]:
    """Every template source of the mapping rendered for the dialect, in mapping order."""
    return [
        render_source(mapping, name, dialect_name, period, connectors_dir)
        for name, source in mapping.sources.items()
        if source.template is not None
    ]


def statement(rendered: RenderedSource) -> TextClause:
    """The rendered SQL as a SQLAlchemy text() with every value bound (lists expanding)."""
    from sqlalchemy import Date, bindparam, text

    params = []
    for name, value in rendered.binds.items():
        if isinstance(value, list):
            params.append(bindparam(name, value=list(value), expanding=True))
        elif isinstance(value, date) and not isinstance(value, datetime):
            params.append(bindparam(name, value=value, type_=Date))
        else:
            params.append(bindparam(name, value=value))
    return text(rendered.sql).bindparams(*params)


def _display(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "(" + ", ".join(repr(v) for v in value) + ")"
    return repr(value)


def format_rendered(rendered: list[RenderedSource]) -> str:
    """SQL for a DBA to review: each source's statement with its bound values listed apart."""
    out = []
    for r in rendered:
        out.append(f"-- source: {r.name}    template: {r.template}    dialect: {r.dialect}")
        if r.binds:
            out.append("-- bound values (sent as parameters, never part of the SQL text):")
            for name, value in r.binds.items():
                note = (
                    "  (a list: IN :" + name + " expands to one parameter each)"
                    if (name in r.expanding)
                    else ""
                )
                out.append(f"--   :{name} = {_display(value)}{note}")
        out.append(r.sql.rstrip() + ";")
        out.append("")
    return "\n".join(out)


# --- the connection URL --------------------------------------------------------------------


def masked(url: str) -> str:
    """The URL with its password (and any PWD=/password= in the query) shown as ***."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return "(a URL SQLAlchemy cannot parse; not shown)"
    query = {}
    for key, value in parsed.query.items():
        if key.lower() in ("password", "pwd", "passwd"):
            query[key] = "***"
        elif isinstance(value, tuple):
            query[key] = tuple(_mask_text(v) for v in value)
        else:
            query[key] = _mask_text(value)
    rendered = parsed.set(query=query).render_as_string(hide_password=True)
    return rendered.replace("%2A%2A%2A", "***")


def _mask_text(value: str) -> str:
    """PWD=secret; inside an ODBC connection string (odbc_connect=...)."""
    return re.sub(r"(?i)\b(pwd|password)\s*=\s*(\{[^}]*\}|[^;]*)", r"\1=***", value)


def _password(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).password or None
    except Exception:  # noqa: BLE001
        return None


def url_origin(mapping: Mapping) -> str:
    """Where the URL came from, for messages: '$CLD_DB_URL', a Prefect block, the mapping."""
    connection = mapping.connection
    if connection is None:
        return "the url argument"
    if connection.url_env:
        return f"${connection.url_env}"
    if connection.secret_block:
        return f"the Prefect Secret block '{connection.secret_block}'"
    return "connection.url of the mapping"


def database_url(mapping: Mapping) -> str:
    """The database URL: from the environment variable or Prefect Secret block the mapping
    names (or a password-free `connection.url`). Raises UsageError when it is not there."""
    connection = mapping.connection
    if connection is None:
        raise UsageError(
            f"{mapping.path or 'the mapping'}: the mapping has template sources but no "
            "'connection'; add connection.url_env naming an environment variable that holds "
            "the database URL (see docs/connectors.md)."
        )
    if connection.url_env:
        url = os.environ.get(connection.url_env, "").strip()
        if not url:
            raise UsageError(
                f"{_where(mapping, 'connection', 'url_env')}: the environment variable "
                f"{connection.url_env} is not set; set it to the database URL, e.g. "
                f"export {connection.url_env}='mssql+pyodbc://user:password@server/database"
                "?driver=ODBC+Driver+18+for+SQL+Server' (see docs/connectors.md)."
            )
        return url
    if connection.secret_block:
        return _secret_block_url(mapping, connection.secret_block)
    assert connection.url is not None
    return connection.url


def _secret_block_url(mapping: Mapping, block: str) -> str:
    where = _where(mapping, "connection", "secret_block")
    try:
        from prefect.blocks.system import Secret
    except ImportError:
        raise UsageError(
            f"{where}: reading the Prefect Secret block '{block}' needs Prefect "
            "(pip install prefect), or name an environment variable with connection.url_env."
        ) from None
    try:
        value = Secret.load(block).get()
    except Exception as exc:  # noqa: BLE001 - Prefect raises ValueError, HTTP errors, ...
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise UsageError(
            f"{where}: cannot load the Prefect Secret block '{block}' ({type(exc).__name__}"
            f"{': ' + first if first else ''}); check it exists (prefect block ls) and the "
            "Prefect API is reachable."
        ) from None
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if not isinstance(value, str) or not value.strip():
        raise UsageError(
            f"{where}: the Prefect Secret block '{block}' does not hold a URL string; store "
            "the database URL as the secret's value."
        )
    return value.strip()


# --- the engine and its errors -------------------------------------------------------------


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

    from cldetl.file_sources import arrow_schema

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
    convert = _CONVERTERS[kind]
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


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


_WHOLE = re.compile(r"[+-]?\d+(\.0*)?")


def _to_integer(value: Any) -> int | None:
    if isinstance(value, str):
        if not value.strip():
            return None
        if not _WHOLE.fullmatch(value.strip()):
            raise ValueError
        return int(value.strip().split(".")[0])
    if isinstance(value, float | Decimal):
        if value != int(value):
            raise ValueError
        return int(value)
    if isinstance(value, int):
        return int(value)
    raise TypeError


def _to_number(value: Any) -> float | None:
    if isinstance(value, str):
        return float(value.strip()) if value.strip() else None
    if isinstance(value, int | float | Decimal):
        return float(value)
    raise TypeError


def _to_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) >= 10 and (len(text) == 10 or text[10] in " T"):
            return date.fromisoformat(text[:10])
        raise ValueError
    raise TypeError


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": _to_text,
    "integer": _to_integer,
    "number": _to_number,
    "date": _to_date,
}
