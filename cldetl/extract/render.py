"""Rendering a source's template into the SQL that runs: in the bounded Jinja sandbox
(`cldetl.extract.sandbox`), identifiers checked and quoted for the dialect
(`cldetl.extract.dialects`), every value a bind parameter, the result refused unless it is one
read-only query (`cldetl.extract.read_only`) and compiled for the dialect as a check."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import jinja2
from sqlalchemy import Date, bindparam, text

from cldetl.errors import UsageError
from cldetl.extract.dialects import (
    DIALECTS,
    MissingName,
    TemplateNames,
    dialect_for,
    quote_identifier,
)
from cldetl.extract.read_only import read_only_problem
from cldetl.extract.sandbox import (
    RenderLimit,
    environment,
    render_fragment,
    render_template,
)
from cldetl.mapping.lines import where_in_mapping as _where
from cldetl.mapping.model import MappingError
from cldetl.mapping.template_declarations import (
    Declaration,
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

__all__ = [
    "BIND",
    "BUILTIN_BINDS",
    "DIALECTS",
    "RenderedSource",
    "dialect_for",
    "format_rendered",
    "quote_identifier",
    "render_all",
    "render_source",
    "statement",
]

# period_end_next (the day after the period) bounds datetime columns: `ts < :period_end_next`
# keeps the whole of the period's last day, which `ts <= :period_end` would not.
BUILTIN_BINDS = ("period_start", "period_end", "period_end_next")
# The pattern SQLAlchemy's text() uses for :name bind parameters (a `\:` is a literal colon).
BIND = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)")


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


@dataclass(frozen=True)
class _Template:
    """A source's template as found: where it is and what its declaration says."""

    source: str
    name: str
    path: Path
    folders: list[Path]
    declaration: Declaration | None

    def refused(self, what: str) -> MappingError:
        return MappingError(f"template {self.name} (source '{self.source}') {what}")


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
    row per base row left out, its key columns and `why` (every record findable by its key).

    The template's declared defaults are overridden by the mapping's `params`. Raises
    MappingError for a missing template, an unknown or missing parameter (with the mapping's
    line), or a name the template uses but does not declare; the SQL is compiled for the
    dialect as a check.
    """
    dialect = dialect_for(dialect_name) if isinstance(dialect_name, str) else dialect_name
    found = _find_template(mapping, name, connectors_dir)
    params = effective_params(mapping, name, found.declaration)
    context = {
        "t": TemplateNames("identifiers", _quoted_identifiers(mapping, name, params, dialect)),
        "flags": TemplateNames("flags", dict(params["flags"])),
        "dialect": dialect.name,
    }
    with _rendering_errors(mapping, found):
        env = environment(found.folders)
        case = _left_out_case(env, found.declaration, context)
        context["in_scope"] = f"{case} = 0" if case != "0" else "1 = 1"
        if left_out_keys:
            sql = _left_out_query(found, case, context, dialect, left_out_keys)
        elif counts:
            sql = _count_query(found, case, context)
        else:
            sql = render_template(env, found.name, context)
    problem = read_only_problem(sql, dialect.name)
    if problem:
        raise found.refused(
            f"is refused: {problem}. A template must render one read-only query (SELECT, or "
            "WITH ... SELECT); cldetl never changes the case system."
        )
    binds, expanding = _binds(mapping, found, sql, params, period)
    rendered = RenderedSource(
        name=name,
        template=found.name,
        sql=sql,
        binds=binds,
        dialect=dialect.name,
        expanding=frozenset(expanding),
        reasons=tuple(
            f"{reason} (filtered in the database)"
            for reason, _when in (found.declaration.left_out if found.declaration else ())
        ),
    )
    try:
        statement(rendered).compile(dialect=dialect)
    except Exception as exc:  # noqa: BLE001 - any compile failure is the template's
        raise found.refused(f"does not compile for {dialect.name}: {exc}") from None
    return rendered


def _find_template(mapping: Mapping, name: str, connectors_dir: str | Path | None) -> _Template:
    """Source `name`'s template and declaration, its parameters checked against the mapping's
    `params` (MappingError naming the mapping's line otherwise)."""
    source = mapping.source_named(name)
    if source.template is None:
        raise UsageError(f"source {name!r} is a file source ({source.file}); it has no SQL.")
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
    return _Template(name, template, path, folders, declaration)


def _quoted_identifiers(mapping: Mapping, name: str, params: dict, dialect: Dialect) -> dict:
    """The source's table and column names, each checked and quoted for the dialect."""
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
    return identifiers


def _left_out_case(env: jinja2.Environment, declaration: Declaration | None, context: dict) -> str:
    """`CASE WHEN (<condition 1>) THEN 1 ... ELSE 0 END` over the declaration's `left_out`
    conditions ("0" when it declares none): the count query's `why`, and the template's own
    `{{ in_scope }}` (the same CASE = 0), so the two cannot drift."""
    conditions = [
        " ".join(render_fragment(env, when, context).split())
        for _reason, when in (declaration.left_out if declaration else ())
    ]
    if not conditions:
        return "0"
    whens = " ".join(f"WHEN ({c}) THEN {i}" for i, c in enumerate(conditions, 1))
    return f"CASE {whens} ELSE 0 END"


def _count_query(found: _Template, case: str, context: dict) -> str:
    """The template's base table, each row classified by the first left-out condition it
    meets and counted (see cldetl.extract.source_counts)."""
    declaration = found.declaration
    if declaration is None or not declaration.base_table:
        raise found.refused(
            "declares no base table, so its rows cannot be counted; add base: {table: ..., "
            "alias: ...} to its declaration."
        )
    table = context["t"][declaration.base_table]
    return (
        f"SELECT counted.why, COUNT(*) AS n\nFROM (\n    SELECT {case} AS why\n"
        f"    FROM {table} {declaration.base_alias}\n"
        ") counted\nGROUP BY counted.why\n"
    )


def _left_out_query(
    found: _Template, case: str, context: dict, dialect: Dialect, keys: tuple[str, ...]
) -> str:
    """The rows `_count_query` counts as left out, one per base row with its key columns
    (`key_0`, `key_1`, ...) and `why`: a second query, for `left_out_records.csv`."""
    _count_query(found, case, context)  # the same refusal when there is no base table
    declaration = found.declaration
    table = context["t"][declaration.base_table]
    columns = ", ".join(
        f"{declaration.base_alias}.{quote_identifier(dialect, key)} AS key_{i}"
        for i, key in enumerate(keys)
    )
    return (
        f"SELECT listed.* FROM (\n    SELECT {columns}, {case} AS why\n"
        f"    FROM {table} {declaration.base_alias}\n) listed\nWHERE listed.why <> 0\n"
    )


@contextlib.contextmanager
def _rendering_errors(mapping: Mapping, found: _Template) -> Iterator[None]:
    """Whatever goes wrong while rendering, as a MappingError naming the template and what
    to change."""
    try:
        yield
    except (RenderLimit, RecursionError, OverflowError, MemoryError) as exc:
        what = "too deep recursion" if isinstance(exc, RecursionError) else str(exc)
        raise found.refused(
            f"is refused: rendering went past a bound ({what or type(exc).__name__}); a "
            "template arranges one query, with small loops."
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise found.refused(
            f"includes {exc.name!r}, which is not in {' or '.join(str(f) for f in found.folders)}."
        ) from None
    except TemplateOutsideFolder as exc:
        raise MappingError(str(exc)) from None
    except jinja2.TemplateSyntaxError as exc:
        raise MappingError(
            f"{exc.filename or found.path}:{exc.lineno}: template syntax error: {exc.message}."
        ) from None
    except MissingName as exc:
        raise _missing_name(mapping, found, exc) from None
    except jinja2.exceptions.SecurityError as exc:
        raise found.refused(
            f"does something the sandbox forbids ({exc}); templates only arrange SQL text from "
            "t, flags and dialect."
        ) from None
    except jinja2.UndefinedError as exc:
        raise MappingError(
            f"template {found.name} (source '{found.source}'): {exc.message}; templates can use "
            "only t (identifiers), flags and dialect."
        ) from None


def _missing_name(mapping: Mapping, found: _Template, exc: MissingName) -> MappingError:
    what = "a table or column name" if exc.kind == "identifiers" else "a true/false flag"
    used = f"{'t' if exc.kind == 'identifiers' else 'flags'}.{exc.key}"
    if found.declaration is not None:
        return MappingError(
            f"{found.path}: the template uses {used} but its declaration has no "
            f"{exc.kind}.{exc.key}; declare it (with a default) at the top of the template."
        )
    return found.refused(
        f"uses {used}, {what} the mapping does not give: add '{exc.key}' under "
        f"{_where(mapping, 'sources', found.source, 'params', exc.kind)}."
    )


def _binds(
    mapping: Mapping, found: _Template, sql: str, params: dict, period: ReportingPeriod
) -> tuple[dict[str, Any], set[str]]:
    """The value of every `:name` the SQL uses (built-in period bounds, then the source's
    values), and which of them are lists (expanding IN parameters)."""
    values: dict[str, Any] = {
        "period_start": period.start,
        "period_end": period.end,
        "period_end_next": period.end + timedelta(days=1),
    }
    values.update(params["values"])
    binds, expanding = {}, set()
    for bind in dict.fromkeys(BIND.findall(sql)):
        if bind not in values:
            raise _unset_bind(mapping, found, bind)
        binds[bind] = values[bind]
        if isinstance(values[bind], list):
            expanding.add(bind)
    return binds, expanding


def _unset_bind(mapping: Mapping, found: _Template, bind: str) -> MappingError:
    built_in = ", ".join(f":{b}" for b in BUILTIN_BINDS)
    if found.declaration is not None:
        return MappingError(
            f"{found.path}: the template uses the bind parameter :{bind} but its declaration "
            f"has no values.{bind}; declare it (with a default) at the top of the "
            f"template (built in: {built_in})."
        )
    return found.refused(
        f"uses the bind parameter :{bind}, which is not set: add '{bind}' under "
        f"{_where(mapping, 'sources', found.source, 'params', 'values')} (built in: "
        f"{built_in})."
    )


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
