"""Connector templates as a mapping sees them: where they are and what each declares.

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
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from cldetl.errors import CldetlError
from cldetl.mapping import did_you_mean
from cldetl.mapping.lines import where_in_mapping as _where
from cldetl.mapping.model import IDENTIFIER, MappingError

if TYPE_CHECKING:
    from cldetl.mapping.model import Mapping

KINDS = ("identifiers", "flags", "values")
COLUMN_TYPES = ("text", "integer", "number", "date", "list")
_HEADER = re.compile(r"\A\{#-?[ \t]*---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*-?#\}", re.DOTALL)
_NO_DEFAULT = object()


class DeclarationError(CldetlError):
    """A template's declaration block that cannot be used (the template's fault, not the
    mapping's): raised with the template file and line."""


# --- where templates are -------------------------------------------------------------------


def builtin_connectors() -> Path:
    """The project's own templates: `cldetl/extract/connector_templates/` inside the installed
    package (a source checkout keeps them in the top-level `connectors/`, linked there)."""
    packaged = Path(__file__).resolve().parents[1] / "extract" / "connector_templates"
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
    parameters = _declared_parameters(raw, bad)
    columns, column_about = _declared_columns(raw, bad)
    base = _declared_base(raw, parameters, bad)
    left_out = _declared_left_out(raw, bad)
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
        left_out=left_out,
    )


def _declared_parameters(raw: dict, bad) -> dict[str, Parameter]:
    """identifiers, flags and values: each name once, with an optional default and about."""
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
    return parameters


def _declared_columns(raw: dict, bad) -> tuple[dict[str, str], dict[str, str]]:
    """The output columns' types and what each holds."""
    columns, column_about = {}, {}
    for name, spec in (raw.get("columns") or {}).items():
        spec = spec if isinstance(spec, dict) else {"type": spec}
        if spec.get("type") not in COLUMN_TYPES:
            raise bad(f"columns.{name}: type must be one of {', '.join(COLUMN_TYPES)}")
        columns[name] = spec["type"]
        column_about[name] = str(spec.get("about", "")).strip()
    return columns, column_about


def _declared_base(raw: dict, parameters: dict[str, Parameter], bad) -> dict:
    """The base table (a declared identifier) and its alias in the SQL; {} when none."""
    base = raw.get("base") or {}
    if not isinstance(base, dict) or set(base) - {"table", "alias"}:
        raise bad("base must be {table: <identifier name>, alias: <alias in the SQL>}")
    if base and (
        base.get("table") not in parameters or parameters[base["table"]].kind != "identifiers"
    ):
        raise bad(f"base.table {base.get('table')!r} is not one of the declared identifiers")
    if base and not IDENTIFIER.match(str(base.get("alias", ""))):
        raise bad("base.alias must be the base table's alias in the SQL (letters, digits, _)")
    return base


def _declared_left_out(raw: dict, bad) -> tuple[tuple[str, str], ...]:
    """The rows the SQL leaves out: (reason, SQL condition on the base alias), in order."""
    left_out = []
    for i, entry in enumerate(raw.get("left_out") or []):
        if not isinstance(entry, dict) or set(entry) != {"reason", "when"}:
            raise bad(f"left_out[{i}] must be {{reason: ..., when: <SQL condition>}}")
        left_out.append((" ".join(str(entry["reason"]).split()), str(entry["when"]).strip()))
    return tuple(left_out)


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


def connectors_dir_for(mapping: Mapping, connectors_dir: str | Path | None = None) -> Path:
    """The first folder templates are looked for in (see `template_folders`)."""
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
