"""Rendering a source's template into the SQL that runs: a bounded Jinja sandbox, identifiers
checked and quoted for the dialect, every value a bind parameter, and the result compiled for the
dialect as a check."""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Date, bindparam, text
from sqlalchemy.dialects import mssql, oracle, postgresql, sqlite

from cldetl.errors import CldetlError, UsageError
from cldetl.extract.read_only import read_only_problem
from cldetl.mapping.lines import where_in_mapping as _where
from cldetl.mapping.model import IDENTIFIER, MappingError
from cldetl.mapping.template_declarations import (
    DeclarationError,
    TemplateOutsideFolder,
    _template_name,
    effective_params,
    find_template,
    parameter_problems,
    read_declaration,
    template_folders,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.sql.elements import TextClause

    from cldetl.mapping.model import Mapping
    from cldetl.spec.period import ReportingPeriod

# --- rendering ---------------------------------------------------------------------------

DIALECTS = ("mssql", "postgresql", "oracle", "sqlite")
# period_end_next (the day after the period) bounds datetime columns: `ts < :period_end_next`
# keeps the whole of the period's last day, which `ts <= :period_end` would not.
BUILTIN_BINDS = ("period_start", "period_end", "period_end_next")
# The pattern SQLAlchemy's text() uses for :name bind parameters (a `\:` is a literal colon).
BIND = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)")


# --- dialects and identifiers --------------------------------------------------------------


def dialect_for(name: str) -> Dialect:
    """A SQLAlchemy dialect to render and compile for, without a database."""

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
    # The template's declared reasons for leaving rows out in the database, in `why` order.
    reasons: tuple[str, ...] = ()


# Bounds on rendering: a template arranges a page of SQL, never more. Exceeding one is a
# RenderLimit naming the bound, never a hang or a MemoryError.
MAX_SQL_CHARS = 1_000_000
MAX_LOOP_STEPS = 100_000
MAX_RENDER_SECONDS = 5.0
SAFE_FILTERS = (
    "join",
    "lower",
    "upper",
    "trim",
    "length",
    "list",
    "first",
    "last",
    "default",
    "int",
    "string",
    "replace",
    "e",
)


class RenderLimit(CldetlError):
    """A template went past a rendering bound (text size, loop steps, time, recursion)."""


class _Budget:
    """The loop steps and time one rendering may use."""

    def __init__(self) -> None:

        self.steps = 0
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS

    def tick(self, steps: int = 1) -> None:

        self.steps += steps
        if self.steps > MAX_LOOP_STEPS:
            raise RenderLimit(f"more than {MAX_LOOP_STEPS:,} loop steps")
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"rendering took more than {MAX_RENDER_SECONDS:g} seconds")

    def size(self, value: Any) -> Any:
        if isinstance(value, str | list | tuple) and len(value) > MAX_SQL_CHARS:
            raise RenderLimit(f"a value of more than {MAX_SQL_CHARS:,} characters or items")
        return value


def _environment(folders: list[Path], budget: _Budget | None = None):
    """The sandbox: only the loader's files, StrictUndefined, a few text filters, and the
    bounds above on ranges, text size, loop steps and time."""

    budget = budget or _Budget()

    class Loader(jinja2.BaseLoader):
        """Templates from the folders in order; a path leaving its folder is refused."""

        def get_source(self, environment, template):
            path = find_template(folders, template)
            if path is None:
                raise jinja2.TemplateNotFound(template)
            return path.read_text(encoding="utf-8"), str(path), lambda: True

    class Bounded(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "//", "%"})

        def call_binop(self, context, operator, left, right):
            budget.tick()
            if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
                raise RenderLimit("a power above 64")
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if isinstance(seq, str | list | tuple) and isinstance(times, int):
                        if len(seq) * times > MAX_SQL_CHARS:
                            raise RenderLimit(f"text of more than {MAX_SQL_CHARS:,} characters")
            return budget.size(super().call_binop(context, operator, left, right))

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
            budget.tick()
            return budget.size(super().call(__context, __obj, *args, **kwargs))

    env = Bounded(
        loader=Loader(),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    def bounded_range(*args: int):
        steps = range(*args)
        if len(steps) > MAX_LOOP_STEPS:
            raise RenderLimit(f"a range of more than {MAX_LOOP_STEPS:,} steps")
        for step in steps:
            budget.tick()
            yield step

    def bounded_filter(function):

        @functools.wraps(function)  # keeps Jinja's pass_environment marks
        def run(*args, **kwargs):
            budget.tick()
            return budget.size(function(*args, **kwargs))

        return run

    env.globals = {"range": bounded_range}
    env.filters = {n: bounded_filter(env.filters[n]) for n in SAFE_FILTERS}
    env.tests = dict(env.tests)
    return env


def _render_text(env, text: str, context: dict) -> str:
    """A declaration's SQL fragment (a left_out condition) rendered like the template."""
    parts, size = [], 0
    for part in env.from_string(text).generate(context):
        size += len(part)
        if size > MAX_SQL_CHARS:
            raise RenderLimit(f"more than {MAX_SQL_CHARS:,} characters of SQL")
        parts.append(part)
    return "".join(parts)


def _render_bounded(env, template: str, context: dict) -> str:
    """Render, streaming, stopping as soon as the text passes MAX_SQL_CHARS."""
    parts, size = [], 0
    for part in env.get_template(template).generate(context):
        size += len(part)
        if size > MAX_SQL_CHARS:
            raise RenderLimit(f"more than {MAX_SQL_CHARS:,} characters of SQL")
        parts.append(part)
    return "".join(parts)


def render_source(
    mapping: Mapping,
    name: str,
    dialect_name: str | Dialect,
    period: ReportingPeriod,
    connectors_dir: str | Path | None = None,
    counts: bool = False,
    left_out_keys: tuple[str, ...] = (),
) -> RenderedSource:
    """Render source `name`'s template for a dialect (a name, or a SQLAlchemy Dialect).

    With `counts`, render instead the template's count query: one row per reason of its
    declared `left_out` (`why` 1, 2, ...; 0 for rows the template reads) with `n` rows each,
    over its base table, so that table rows = left out in the database + read.
    With `left_out_keys` (base table columns), render the per-record list of the same: one
    row per base row left out, its key columns and `why` (issue 18: every record findable).

    The template's declared defaults are overridden by the mapping's `params`. Raises
    MappingError for a missing template, an unknown or missing parameter (with the mapping's
    line), or a name the template uses but does not declare; the SQL is compiled for the
    dialect as a check.
    """

    if name not in mapping.sources:
        raise UsageError(f"the mapping has no source named {name!r}.")
    source = mapping.sources[name]
    if source.template is None:
        raise UsageError(f"source {name!r} is a file source ({source.file}); it has no SQL.")
    dialect = dialect_for(dialect_name) if isinstance(dialect_name, str) else dialect_name
    folders = template_folders(mapping, connectors_dir)
    template = _template_name(mapping, name, source.template)
    try:
        path = find_template(folders, template)
        declaration = read_declaration(path, template) if path is not None else None
    except (TemplateOutsideFolder, DeclarationError) as exc:
        raise MappingError(str(exc)) from None
    if path is None:
        raise MappingError(
            f"{_where(mapping, 'sources', name, 'template')}: no template {template!r} in "
            f"{' or '.join(str(f) for f in folders)}{_nearby_templates(folders, template)}. "
            "Check the path, or pass the connectors folder (--connectors)."
        )
    if declaration is not None:
        problems = parameter_problems(mapping, name, declaration)
        if problems:
            raise MappingError(
                "\n".join(f"{_where(mapping, *loc)}: {message}" for loc, message in problems)
            )
    params = effective_params(mapping, name, declaration)

    identifiers = {}
    for key, identifier in params["identifiers"].items():
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
        "flags": _Names("flags", dict(params["flags"])),
        "dialect": dialect.name,
    }
    env = _environment(folders)
    try:
        conditions = [
            " ".join(_render_text(env, when, context).split())
            for _reason, when in (declaration.left_out if declaration else ())
        ]
        case = (
            "CASE "
            + " ".join(f"WHEN ({c}) THEN {i}" for i, c in enumerate(conditions, 1))
            + " ELSE 0 END"
            if conditions
            else "0"
        )
        context["in_scope"] = f"{case} = 0" if conditions else "1 = 1"
        if counts or left_out_keys:
            if declaration is None or not declaration.base_table:
                raise MappingError(
                    f"template {template} (source '{name}') declares no base table, so its "
                    "rows cannot be counted; add base: {table: ..., alias: ...} to its "
                    "declaration."
                )
            base = f"{context['t'][declaration.base_table]} {declaration.base_alias}"
            if left_out_keys:  # a second query, listing what the count below counts
                keys = ", ".join(
                    f"{declaration.base_alias}.{quote_identifier(dialect, k)} AS key_{i}"
                    for i, k in enumerate(left_out_keys)
                )
                sql = (
                    f"SELECT listed.* FROM (\n    SELECT {keys}, {case} AS why\n"
                    f"    FROM {base}\n) listed\nWHERE listed.why <> 0\n"
                )
            else:
                sql = (
                    f"SELECT counted.why, COUNT(*) AS n\nFROM (\n    SELECT {case} AS why\n"
                    f"    FROM {base}\n"
                    ") counted\nGROUP BY counted.why\n"
                )
        else:
            sql = _render_bounded(env, template, context)
    except (RenderLimit, RecursionError, OverflowError, MemoryError) as exc:
        what = "too deep recursion" if isinstance(exc, RecursionError) else str(exc)
        raise MappingError(
            f"template {template} (source '{name}') is refused: rendering went past a bound "
            f"({what or type(exc).__name__}); a template arranges one query, with small loops."
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise MappingError(
            f"template {template} (source '{name}') includes {exc.name!r}, which is not in "
            f"{' or '.join(str(f) for f in folders)}."
        ) from None
    except TemplateOutsideFolder as exc:
        raise MappingError(str(exc)) from None
    except jinja2.TemplateSyntaxError as exc:
        raise MappingError(
            f"{exc.filename or path}:{exc.lineno}: template syntax error: {exc.message}."
        ) from None
    except _MissingName as exc:
        what = "a table or column name" if exc.kind == "identifiers" else "a true/false flag"
        used = f"{'t' if exc.kind == 'identifiers' else 'flags'}.{exc.key}"
        if declaration is not None:
            raise MappingError(
                f"{path}: the template uses {used} but its declaration has no "
                f"{exc.kind}.{exc.key}; declare it (with a default) at the top of the template."
            ) from None
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

    problem = read_only_problem(sql)
    if problem:
        raise MappingError(
            f"template {template} (source '{name}') is refused: {problem}. A template must "
            "render one read-only query (SELECT, or WITH ... SELECT); cldetl never changes "
            "the case system."
        )
    values: dict[str, Any] = {
        "period_start": period.start,
        "period_end": period.end,
        "period_end_next": period.end + timedelta(days=1),
    }
    values.update(params["values"])
    binds, expanding = {}, set()
    for bind in dict.fromkeys(BIND.findall(sql)):
        if bind not in values:
            if declaration is not None:
                raise MappingError(
                    f"{path}: the template uses the bind parameter :{bind} but its declaration "
                    f"has no values.{bind}; declare it (with a default) at the top of the "
                    "template (built in: :period_start, :period_end, :period_end_next)."
                )
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
        reasons=tuple(
            f"{reason} (filtered in the database)"
            for reason, _when in (declaration.left_out if declaration else ())
        ),
    )
    try:
        statement(rendered).compile(dialect=dialect)
    except Exception as exc:  # noqa: BLE001 - any compile failure is the template's
        raise MappingError(
            f"template {template} (source '{name}') does not compile for {dialect.name}: {exc}"
        ) from None
    return rendered


# Words that can change a database from inside one SELECT or WITH statement (data-modifying
# WITH on PostgreSQL, SELECT INTO, procedures): none may appear outside quoted names and


def _nearby_templates(folders: list[Path], template: str) -> str:
    system = PurePosixPath(template).parent
    for folder in folders:
        if (folder / system).is_dir():
            names = sorted(p.name for p in (folder / system).glob("*.sql.j2"))
            return f" (templates in {folder / system}: {', '.join(names) or 'none'})"
    systems = sorted({p.name for f in folders if f.is_dir() for p in f.iterdir() if p.is_dir()})
    return f" (systems there: {', '.join(systems) or 'none'})"


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
