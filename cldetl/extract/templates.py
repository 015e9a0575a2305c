"""Connector templates: where they are, what each declares, and the sandbox that renders them.

A template `connectors/<system>/<name>.sql.j2` starts with its **declaration**, a YAML block in
a Jinja comment (Jinja drops it from the SQL), the one place that says what the template takes
and gives:

    {#- ---
    about: Mosaic: one row per person with the latest known person details.
    identifiers:                    # t.<name>: table names, checked and quoted
      persons: {default: dm_persons}
    flags:                          # flags.<name>: optional clauses
      names_have_end_date: {default: true, about: keep only the current name}
    values:                         # :<name>: bind parameters (a list default: IN :name)
      name_class: {default: MAIN, about: name_class_id of the official name}
    columns:                        # what the SQL returns
      person_id: {type: integer, about: the person}
    --- -#}

Every local code, status, question, relationship or step type is a declared value with the
example authority's code as its default; the mapping overrides it under
`sources.<name>.params.values`. The mapping loader checks those keys against the declaration
(unknown: `file:line` with "did you mean"; one without a default and not given: missing), and
`docs/connectors.md` lists every declaration (`connectors_markdown`).

The project's templates ship inside the package; a `connectors/` folder beside the mapping
(or beside its `mappings/` folder, or `--connectors`) is searched first, so an authority can
replace one template without copying the rest. A template's real path (symlinks resolved)
must stay inside the folder it was found in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from cldetl.errors import CldetlError, UsageError
from cldetl.mapping import IDENTIFIER, MappingError
from cldetl.mapping import where_in_mapping as _where

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.sql.elements import TextClause

    from cldetl.mapping import Mapping
    from cldetl.spec.period import ReportingPeriod

KINDS = ("identifiers", "flags", "values")
COLUMN_TYPES = ("text", "integer", "number", "date", "list")
_HEADER = re.compile(r"\A\{#-?[ \t]*---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*-?#\}", re.DOTALL)
_NO_DEFAULT = object()


class DeclarationError(CldetlError):
    """A template's declaration block that cannot be used (the template's fault, not the
    mapping's): raised with the template file and line."""


# --- where templates are -------------------------------------------------------------------


def builtin_connectors() -> Path:
    """The project's own templates: `cldetl/extract/connector_templates/` inside the installed package
    (a source checkout keeps them in the top-level `connectors/`, linked there)."""
    packaged = Path(__file__).resolve().parent / "connector_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "connectors"


def template_folders(
    mapping: Mapping | None, connectors_dir: str | Path | None = None
) -> list[Path]:
    """Where a mapping's templates are looked for, first match wins: `connectors_dir` if
    given, else a `connectors/` folder beside the mapping file or beside its folder (the
    repository layout: mappings/ and connectors/ side by side); then the project's own."""
    folders: list[Path] = []
    if connectors_dir is not None:
        folders.append(Path(connectors_dir).resolve())
    elif mapping is not None and mapping.path:
        here = Path(mapping.path).resolve().parent
        for candidate in (here / "connectors", here.parent / "connectors"):
            if candidate.is_dir():
                folders.append(candidate.resolve())
                break
    builtin = builtin_connectors().resolve()
    if builtin not in folders:
        folders.append(builtin)
    return folders


def find_template(folders: list[Path], template: str) -> Path | None:
    """The first `<folder>/<template>` that exists and whose real path (symlinks resolved)
    stays inside that folder; None when there is none. A file that escapes its folder is an
    error, never read."""
    for folder in folders:
        candidate = folder / PurePosixPath(template)
        if not candidate.exists() and not candidate.is_symlink():
            continue
        real = candidate.resolve()
        if not real.is_relative_to(folder.resolve()) or not real.is_file():
            raise TemplateOutsideFolder(template, folder)
        return real
    return None


class TemplateOutsideFolder(CldetlError):
    """A template path that resolves (through a symlink) outside its connectors folder."""

    def __init__(self, template: str, folder: Path) -> None:
        super().__init__(
            f"{folder / template}: refused; the template is a link to a file outside the "
            f"connectors folder {folder} (or not a regular file). Templates must be files "
            "inside the folder."
        )


# --- declarations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One thing a template takes from the mapping: a table name, a flag or a bound value."""

    name: str
    kind: str
    default: Any = _NO_DEFAULT
    about: str = ""

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT

    @property
    def is_list(self) -> bool:
        return isinstance(self.default, list)


@dataclass(frozen=True)
class Declaration:
    """What a template declares: parameters by kind, output columns and their types."""

    template: str
    path: Path
    about: str = ""
    parameters: dict[str, Parameter] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    column_about: dict[str, str] = field(default_factory=dict)
    # The table one output row stands for (an identifier name) and its alias in the SQL,
    # and the rows of it the SQL leaves out: (reason, SQL condition on the alias), in order.
    base_table: str = ""
    base_alias: str = ""
    left_out: tuple[tuple[str, str], ...] = ()

    def of_kind(self, kind: str) -> dict[str, Parameter]:
        return {n: p for n, p in self.parameters.items() if p.kind == kind}


def read_declaration(path: Path, template: str) -> Declaration | None:
    """The declaration block at the top of a template file; None when it has none."""
    import yaml

    text = path.read_text(encoding="utf-8")
    match = _HEADER.match(text)
    if match is None:
        return None
    try:
        raw = yaml.safe_load(match.group("yaml")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        raise DeclarationError(
            f"{path}:{line}: the template's declaration is not valid YAML "
            f"({getattr(exc, 'problem', None) or exc})."
        ) from None

    def bad(message: str) -> DeclarationError:
        return DeclarationError(f"{path}:1: the template's declaration: {message}.")

    if not isinstance(raw, dict):
        raise bad("write it as a YAML mapping (about, identifiers, flags, values, columns)")
    unknown = set(raw) - {"about", "columns", "base", "left_out", *KINDS}
    if unknown:
        raise bad(f"unknown key(s) {', '.join(sorted(unknown))}")
    parameters: dict[str, Parameter] = {}
    for kind in KINDS:
        entries = raw.get(kind) or {}
        if not isinstance(entries, dict):
            raise bad(f"{kind} must map each name to {{default: ..., about: ...}}")
        for name, spec in entries.items():
            spec = spec if isinstance(spec, dict) else {"default": spec}
            if name in parameters:
                raise bad(f"'{name}' is declared twice ({parameters[name].kind} and {kind})")
            if set(spec) - {"default", "about"}:
                raise bad(f"{kind}.{name}: only 'default' and 'about' are allowed")
            default = spec.get("default", _NO_DEFAULT)
            if kind == "flags" and default is not _NO_DEFAULT and not isinstance(default, bool):
                raise bad(f"flags.{name}: the default must be true or false")
            parameters[name] = Parameter(name, kind, default, str(spec.get("about", "")).strip())
    columns, column_about = {}, {}
    for name, spec in (raw.get("columns") or {}).items():
        spec = spec if isinstance(spec, dict) else {"type": spec}
        if spec.get("type") not in COLUMN_TYPES:
            raise bad(f"columns.{name}: type must be one of {', '.join(COLUMN_TYPES)}")
        columns[name] = spec["type"]
        column_about[name] = str(spec.get("about", "")).strip()
    base = raw.get("base") or {}
    if not isinstance(base, dict) or set(base) - {"table", "alias"}:
        raise bad("base must be {table: <identifier name>, alias: <alias in the SQL>}")
    if base and (
        base.get("table") not in parameters or parameters[base["table"]].kind != "identifiers"
    ):
        raise bad(f"base.table {base.get('table')!r} is not one of the declared identifiers")
    if base and not IDENTIFIER.match(str(base.get("alias", ""))):
        raise bad("base.alias must be the base table's alias in the SQL (letters, digits, _)")
    left_out = []
    for i, entry in enumerate(raw.get("left_out") or []):
        if not isinstance(entry, dict) or set(entry) != {"reason", "when"}:
            raise bad(f"left_out[{i}] must be {{reason: ..., when: <SQL condition>}}")
        left_out.append((" ".join(str(entry["reason"]).split()), str(entry["when"]).strip()))
    if left_out and not base:
        raise bad("left_out needs base (the table whose rows are left out)")
    return Declaration(
        template=template,
        path=path,
        about=" ".join(str(raw.get("about", "")).split()),
        parameters=parameters,
        columns=columns,
        column_about=column_about,
        base_table=str(base.get("table", "")),
        base_alias=str(base.get("alias", "")),
        left_out=tuple(left_out),
    )


def declaration_for(mapping: Mapping, name: str, connectors_dir=None) -> Declaration | None:
    """The declaration of source `name`'s template, as found for this mapping; None when the
    template cannot be found (rendering says so) or declares nothing."""
    source = mapping.sources[name]
    if source.template is None:
        return None
    path = find_template(template_folders(mapping, connectors_dir), source.template)
    if path is None:
        return None
    return read_declaration(path, source.template)


def parameter_problems(
    mapping: Mapping, name: str, declaration: Declaration
) -> list[tuple[tuple, str]]:
    """The mapping's `sources.<name>.params` and `columns` checked against the template's
    declaration: (key path, message) pairs, for the loader's `file:line` report."""
    from cldetl.mapping import did_you_mean

    source = mapping.sources[name]
    problems: list[tuple[tuple, str]] = []
    where = f"template {declaration.template}"
    given_all = {
        "identifiers": source.params.identifiers,
        "flags": source.params.flags,
        "values": source.params.values,
    }
    for kind, given in given_all.items():
        for key, value in given.items():
            loc = ("sources", name, "params", kind, key)
            declared = declaration.parameters.get(key)
            if declared is None:
                options = list(declaration.of_kind(kind)) or list(declaration.parameters)
                hint = did_you_mean(key, options) or (
                    f"; it takes {', '.join(options)}" if options else "; it takes none"
                )
                problems.append((loc, f"{where} has no {_kind_word(kind)} '{key}'{hint}"))
            elif declared.kind != kind:
                problems.append(
                    (loc, f"{where} declares '{key}' under {declared.kind}; move it there")
                )
            elif kind == "values" and declared.is_list and not isinstance(value, list):
                problems.append((loc, f"{where} takes a list here: write [{value}]"))
            elif kind == "values" and not declared.is_list and isinstance(value, list):
                problems.append((loc, f"{where} takes one value here, not a list"))
    for key, parameter in declaration.parameters.items():
        if parameter.required and key not in given_all[parameter.kind]:
            problems.append(
                (
                    ("sources", name, "params", parameter.kind),
                    f"{where} needs '{key}' ({parameter.about or 'no default'}); add it here",
                )
            )
    if declaration.columns:
        for column in source.columns:
            if column.lower() not in {c.lower() for c in declaration.columns}:
                problems.append(
                    (
                        ("sources", name, "columns", column),
                        f"{where} returns no column '{column}'"
                        f"{did_you_mean(column, list(declaration.columns))}",
                    )
                )
    return problems


def _kind_word(kind: str) -> str:
    return {"identifiers": "table name", "flags": "flag", "values": "value"}[kind]


def mapping_template_problems(mapping: Mapping, connectors_dir=None) -> list[tuple[tuple, str]]:
    """Every template source's params checked against its declaration (for load_mapping).
    Templates that cannot be found are left to rendering, which names the folders searched."""
    problems: list[tuple[tuple, str]] = []
    for name, source in mapping.sources.items():
        if source.template is None:
            continue
        try:
            declaration = declaration_for(mapping, name, connectors_dir)
        except (CldetlError, OSError, ValueError):
            continue  # a bad path or declaration: rendering reports it with the template
        if declaration is not None:
            problems.extend(parameter_problems(mapping, name, declaration))
    return problems


def effective_params(mapping: Mapping, name: str, declaration: Declaration | None) -> dict:
    """{kind: {name: value}}: the declaration's defaults overridden by the mapping's params."""
    params = mapping.sources[name].params
    given = {"identifiers": params.identifiers, "flags": params.flags, "values": params.values}
    out: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    if declaration is not None:
        for parameter in declaration.parameters.values():
            if not parameter.required:
                out[parameter.kind][parameter.name] = parameter.default
    for kind in KINDS:
        out[kind].update(given[kind])
    return out


# --- rendering ---------------------------------------------------------------------------

DIALECTS = ("mssql", "postgresql", "oracle", "sqlite")
# period_end_next (the day after the period) bounds datetime columns: `ts < :period_end_next`
# keeps the whole of the period's last day, which `ts <= :period_end` would not.
BUILTIN_BINDS = ("period_start", "period_end", "period_end_next")
# The pattern SQLAlchemy's text() uses for :name bind parameters (a `\:` is a literal colon).
BIND = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)")


# --- where templates are -------------------------------------------------------------------


def connectors_dir_for(mapping: Mapping, connectors_dir: str | Path | None = None) -> Path:
    """The first folder templates are looked for in (see `sql_templates.template_folders`)."""
    from cldetl.extract.templates import template_folders

    return template_folders(mapping, connectors_dir)[0]


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
        import time

        self.steps = 0
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS

    def tick(self, steps: int = 1) -> None:
        import time

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
    import jinja2
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

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
        import functools

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
) -> RenderedSource:
    """Render source `name`'s template for a dialect (a name, or a SQLAlchemy Dialect).

    With `counts`, render instead the template's count query: one row per reason of its
    declared `left_out` (`why` 1, 2, ...; 0 for rows the template reads) with `n` rows each,
    over its base table, so that table rows = left out in the database + read.

    The template's declared defaults are overridden by the mapping's `params`. Raises
    MappingError for a missing template, an unknown or missing parameter (with the mapping's
    line), or a name the template uses but does not declare; the SQL is compiled for the
    dialect as a check.
    """
    import jinja2

    from cldetl.extract.templates import (
        DeclarationError,
        TemplateOutsideFolder,
        effective_params,
        find_template,
        parameter_problems,
        read_declaration,
        template_folders,
    )

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
        if counts:
            if declaration is None or not declaration.base_table:
                raise MappingError(
                    f"template {template} (source '{name}') declares no base table, so its "
                    "rows cannot be counted; add base: {table: ..., alias: ...} to its "
                    "declaration."
                )
            sql = (
                f"SELECT counted.why, COUNT(*) AS n\nFROM (\n    SELECT {case} AS why\n"
                f"    FROM {context['t'][declaration.base_table]} {declaration.base_alias}\n"
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
# comments.
_WRITING = (
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "REPLACE INTO",
    "INTO",
    "DROP",
    "CREATE",
    "ALTER",
    "TRUNCATE",
    "GRANT",
    "REVOKE",
    "EXEC",
    "EXECUTE",
    "CALL",
    "ATTACH",
    "DETACH",
    "PRAGMA",
)
_WRITING_PATTERN = re.compile(
    r"\b(" + "|".join(w.replace(" ", r"\s+") for w in _WRITING) + r")\b", re.IGNORECASE
)
_QUOTED_OR_COMMENT = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\[[^\]]*\]|`[^`]*`", re.DOTALL
)


def read_only_problem(sql: str) -> str | None:
    """Why `sql` is not one read-only query (SELECT or WITH ... SELECT), or None when it is.

    Checked on the rendered text before anything is sent: comments, quoted names and
    literals are set aside, then the text must be one statement starting with SELECT or
    WITH, with no word that writes or changes the session (a second guard after the
    read-only connection)."""
    bare = _QUOTED_OR_COMMENT.sub(" ", sql).strip()
    bare = bare.rstrip().rstrip(";").strip()
    if not bare:
        return "it is empty"
    if ";" in bare:
        return "it holds more than one statement (a ';' inside)"
    first = bare.split(None, 1)[0].upper().lstrip("(")
    if first not in ("SELECT", "WITH"):
        return f"it starts with {first[:20]}, not SELECT or WITH"
    found = _WRITING_PATTERN.search(bare)
    if found:
        return f"it contains {' '.join(found.group(1).split()).upper()}"
    return None


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


# --- the reference in docs/connectors.md ---------------------------------------------------


def _cell(text: Any) -> str:
    if isinstance(text, list):
        text = "[" + ", ".join(str(v) for v in text) + "]"
    return str(text).replace("|", "\\|").replace("\n", " ")


def connectors_markdown(folder: Path | None = None) -> str:
    """The reference section of docs/connectors.md: every shipped template's declaration."""
    folder = folder or builtin_connectors()
    out = [
        "Generated from the declaration at the top of each template "
        "(`cldetl.extract.templates.connectors_markdown`); a test fails when this section and the "
        "templates differ.",
        "",
    ]
    for path in sorted(folder.glob("*/*.sql.j2")):
        template = path.relative_to(folder).as_posix()
        declaration = read_declaration(path, template)
        out.append(f"### `{template}`")
        out.append("")
        if declaration is None:
            out += ["No declaration.", ""]
            continue
        if declaration.about:
            out += [declaration.about, ""]
        if declaration.parameters:
            out.append("| parameter | kind | default | what it is |")
            out.append("|---|---|---|---|")
            for p in declaration.parameters.values():
                default = "(required)" if p.required else f"`{_cell(p.default)}`"
                kind = {"identifiers": "table", "flags": "flag", "values": "value"}[p.kind]
                if p.is_list:
                    kind = "list of values"
                out.append(f"| `{p.name}` | {kind} | {default} | {_cell(p.about)} |")
            out.append("")
        if declaration.base_table:
            out.append(
                f"One row per row of `{declaration.base_table}` it reads; rows it leaves out "
                "in the database (counted, with these reasons, in the reconciliation):"
                + ("" if declaration.left_out else " none.")
            )
            out.append("")
            for reason, when in declaration.left_out:
                out.append(f"* {reason}: `{' '.join(when.split())}`")
            out.append("")
        if declaration.columns:
            out.append("| column | type | what it is |")
            out.append("|---|---|---|")
            for column, kind in declaration.columns.items():
                out.append(f"| `{column}` | {kind} | {_cell(declaration.column_about[column])} |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


GENERATED = ("<!-- templates: generated -->", "<!-- templates: end -->")


def update_docs(path: Path) -> None:
    """Rewrite the generated section of docs/connectors.md (between the two markers)."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(GENERATED[0]) + len(GENERATED[0]), text.index(GENERATED[1])
    path.write_text(text[:start] + "\n" + connectors_markdown() + "\n" + text[end:], "utf-8")


if __name__ == "__main__":  # python -m cldetl.extract.templates docs/connectors.md
    import sys

    update_docs(Path(sys.argv[1]))
