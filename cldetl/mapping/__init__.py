"""`load_mapping`: the per-LA YAML mapping, read into typed models and checked against the spec.

A mapping says, once per authority, how local records and codes become CLD events. It is
data, never code: filters are structured (`{column: step_type, in: [1001]}`), lookups are
tables, and nothing in it is evaluated. Errors name the file, the line and the key, say what is
wrong and what would fix it:

    mappings/eastmoor.yaml:42 lookups.gender.values.M: 'Mail' is not a CLD Gender value;
    did you mean 'Male'?
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cldetl.errors import CldetlError
from cldetl.mapping import safe_yaml
from cldetl.spec import Spec, load_spec

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TEMPLATE_PART = re.compile(r"\{([^{}]*)\}")
EVENT_TYPES = ("Request", "Assessment", "Service", "Review")
PERSON_FIELDS_NOT_MAPPED_PER_PERSON = ("Client Type",)


class MappingError(CldetlError):
    """A mapping file that cannot be used; the message lists every problem with its line."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- filters -------------------------------------------------------------------------------


class Filter(Strict):
    """Which source records a rule takes: one test, or all/any/not of other filters."""

    column: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    blank: bool | None = None
    all: list[Filter] | None = None
    any: list[Filter] | None = None
    not_: Filter | None = Field(default=None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("in_", "not_in", mode="before")
    @classmethod
    def _as_text(cls, values: Any) -> Any:
        """YAML reads `in: [1001, Y]` as int and str; source codes are compared as text."""
        if isinstance(values, list):
            return [_text(v) for v in values]
        return values

    @model_validator(mode="after")
    def _one_shape(self) -> Filter:
        tests = [self.in_ is not None, self.not_in is not None, self.blank is not None]
        combos = [self.all is not None, self.any is not None, self.not_ is not None]
        if self.column is not None:
            if sum(tests) != 1 or any(combos):
                raise ValueError("a column test takes exactly one of 'in', 'not_in' or 'blank'")
        elif sum(combos) != 1 or any(tests):
            raise ValueError(
                "a filter is {column: C, in: [...]} / {column: C, not_in: [...]} / "
                "{column: C, blank: true} or one of {all: [...]}, {any: [...]}, {not: ...}"
            )
        return self

    def columns(self) -> set[str]:
        found = {self.column} if self.column else set()
        for part in (self.all or []) + (self.any or []) + ([self.not_] if self.not_ else []):
            found |= part.columns()
        return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- values --------------------------------------------------------------------------------


class Value(Strict):
    """How one CLD field gets its value on a row: exactly one of the forms below.

    column: a source column as it is; coalesce: the first non-blank of several columns;
    value: a constant; template: text with {column} parts (an event reference, say);
    same_as: another CLD field of the same row; outcomes: several outcome columns, each looked
    up, the first in the Event Outcome hierarchy winning. `lookup` translates local codes;
    `default` fills a blank result (the guidance: 'Unknown' when a detail was not recorded).
    """

    column: str | None = None
    coalesce: list[str] | None = None
    value: str | None = None
    template: str | None = None
    same_as: str | None = None
    outcomes: list[str] | None = None
    lookup: str | None = None
    default: str | None = None

    @field_validator("value", "default", mode="before")
    @classmethod
    def _value_text(cls, value: Any) -> Any:
        return None if value is None else _text(value)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        """A bare string or number is a constant: `Assessment Type: Short term assessment`."""
        if isinstance(raw, str | int | float) and not isinstance(raw, bool):
            return {"value": _text(raw)}
        return raw

    @model_validator(mode="after")
    def _one_form(self) -> Value:
        forms = [self.column, self.coalesce, self.value, self.template, self.same_as, self.outcomes]
        if sum(f is not None for f in forms) != 1:
            raise ValueError(
                "give exactly one of column, coalesce, value, template, same_as or outcomes"
            )
        if self.lookup and (self.value is not None or self.template or self.same_as):
            raise ValueError("lookup applies to column, coalesce or outcomes only")
        if self.outcomes is not None and not self.lookup:
            raise ValueError("outcomes needs a lookup that turns local codes into Event Outcomes")
        return self

    def columns(self) -> list[str]:
        if self.column:
            return [self.column]
        if self.coalesce or self.outcomes:
            return list(self.coalesce or self.outcomes or [])
        if self.template:
            return TEMPLATE_PART.findall(self.template)
        return []


# --- sources -------------------------------------------------------------------------------

# list: every value of a one-to-many detail (next actions, people cared for), in order.
ColumnType = Literal["text", "integer", "number", "date", "list"]


class FileFormat(Strict):
    """How a partner's file is laid out (CSV or XLSX)."""

    date_format: str = "%d/%m/%Y"
    sheet: str | None = None
    encoding: str = "utf-8-sig"


class TemplateParams(Strict):
    """What a SQL template may vary: table and column names (validated, then quoted by the
    dialect), optional clauses, and values (always passed as bind parameters)."""

    identifiers: dict[str, str] = {}
    flags: dict[str, bool] = {}
    values: dict[str, str | int | float | list[str | int]] = {}

    @field_validator("identifiers")
    @classmethod
    def _identifiers(cls, identifiers: dict[str, str]) -> dict[str, str]:
        for name, ident in identifiers.items():
            for part in ident.split("."):
                if not IDENTIFIER.match(part):
                    raise ValueError(
                        f"identifiers.{name}: {ident!r} is not a plain table or column name "
                        "(letters, digits and _ only, optionally schema.table)"
                    )
        return identifiers


class Source(Strict):
    """A named extract: a SQL template of a connector, or a file from a partner."""

    template: str | None = None
    file: str | None = None
    file_format: FileFormat = FileFormat()
    params: TemplateParams = TemplateParams()
    key: list[str]
    columns: dict[str, ColumnType]
    description: str = ""

    @model_validator(mode="after")
    def _one_origin(self) -> Source:
        if (self.template is None) == (self.file is None):
            raise ValueError("a source has either a template or a file")
        for name in list(self.columns) + self.key:
            if not IDENTIFIER.match(name):
                raise ValueError(f"column name {name!r}: use letters, digits and _ only")
        missing = [k for k in self.key if k not in self.columns]
        if missing:
            raise ValueError(f"key column(s) {missing} are not in columns")
        if any(self.columns[k] == "list" for k in self.key):
            raise ValueError("a key column cannot be a list")
        if self.file is not None and "list" in self.columns.values():
            raise ValueError("list columns come from SQL templates only, not from files")
        return self


class Connection(Strict):
    """Where database sources come from. Never credentials: an environment variable or a
    Prefect Secret block holds the URL; `url` is only for URLs with no password (SQLite)."""

    url_env: str | None = None
    secret_block: str | None = None
    url: str | None = None
    # Seconds a statement (with the fetching of its rows) may run before it is stopped.
    statement_timeout: float | None = Field(default=None, gt=0)

    @field_validator("url")
    @classmethod
    def _no_password(cls, url: str | None) -> str | None:
        if url and re.search(r"://[^/@]*:[^/@]*@", url):
            raise ValueError(
                "url holds a password; put the URL in an environment variable and name it "
                "with url_env (or use a Prefect Secret block with secret_block)"
            )
        return url

    @model_validator(mode="after")
    def _one(self) -> Connection:
        given = [self.url_env, self.secret_block, self.url]
        if sum(g is not None for g in given) != 1:
            raise ValueError("give exactly one of url_env, secret_block or url")
        return self


# --- lookups, person details ---------------------------------------------------------------


class Lookup(Strict):
    """Local code -> CLD value for one field. `default` is used for blank and unmapped codes
    (unmapped ones are also reported); null means leave blank.

    Systems that store CLD text itself can say `cld_values: true` (a Release 2 value maps to
    itself) and `release1_values: true` (a Release 1 spelling maps to its Release 2 value, from
    the spec's rename table), so only genuinely local codes need listing.
    """

    field: str
    default: str | None
    values: dict[str, str] = {}
    cld_values: bool = False
    release1_values: bool = False

    @field_validator("values", mode="before")
    @classmethod
    def _keys_text(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {_text(k): v for k, v in values.items()}
        return values


class DatedDetail(Strict):
    """A person detail kept with dates (PSR, address, accommodation, funding, unpaid carer)."""

    source: str
    person: str
    column: str
    lookup: str | None = None
    start: str
    as_at: Literal["event_end", "latest"] = "event_end"


class PersonDetails(Strict):
    """Where each person field comes from: one row per person in `source` (latest known), and
    dated history for details the guidance wants as at the event end date."""

    source: str
    key: str
    fields: dict[str, Value]
    dated: dict[str, DatedDetail] = {}


# --- events --------------------------------------------------------------------------------


class ServiceLines(Strict):
    """How service lines join into CLD service events.

    Lines of the same service (`same_service` columns equal) that follow on within
    `max_gap_days` are one service: a financial uplift or a provider location change restarts
    the line in many systems. `original_start` gives one row from the first start (the
    guidance's option 1); `keep_lines` gives a row per line (option 2).
    """

    same_service: list[str]
    start: str
    end: str
    order_by: str | None = None
    split_lines: Literal["original_start", "keep_lines"] = "original_start"
    max_gap_days: int = Field(default=1, ge=0, le=31)
    suspended: Filter | None = None


class EventRow(Strict):
    """One CLD row a matching record gives. A record can give several: a request and an
    assessment (conversation 1 at first contact), or a carer's row beside the cared-for's."""

    event_type: Literal["Request", "Assessment", "Service", "Review"] | None = None
    kind: Literal["event", "carer_by_association"] = "event"
    when: Filter | None = None
    person: str | None = None
    client_type: Value | None = None
    linked_people: list[str] = []
    """Columns naming the people this row's person is linked to (any number; a column may
    hold several IDs separated by ';'). The transform keeps those known to the authority (in
    the person source), the first three filling Adult 1/2/3 Linked Person_ID, and reports the
    rest."""
    fields: dict[str, Value] = {}
    name: str | None = None

    @model_validator(mode="after")
    def _kind(self) -> EventRow:
        if self.kind == "event" and self.event_type is None:
            raise ValueError("an event row needs event_type")
        if self.kind == "carer_by_association" and self.event_type is not None:
            raise ValueError("a 'carer_by_association' row has no event_type (no event fields)")
        return self


class EventRule(Strict):
    """A kind of local record (contact, conversation, form, service line, review) and the CLD
    rows it gives. Rules are tried in order; a record is taken by the first rule it matches."""

    name: str
    source: str
    when: Filter | None = None
    person: str
    client_type: Value = Value(value="Service user")
    reference: Value | None = None
    service_lines: ServiceLines | None = None
    rows: list[EventRow] = Field(min_length=1)
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not IDENTIFIER.match(name):
            raise ValueError(f"rule name {name!r}: use letters, digits and _ only")
        return name


class Exclusion(Strict):
    """Records that are out of CLD scope, with the reason the exclusions report gives."""

    name: str
    sources: list[str]
    when: Filter
    reason: str


class Defaults(Strict):
    """The guidance's defaults (Person Details, Route of Access, Review Reason, Annex A)."""

    unpaid_carer_psr: bool = True
    unpaid_carer_route_of_access: str | None = "Community or other route"
    unpaid_carer_review_reason: str | None = "Planned review of long term care and support plan"
    charges_unpaid_carers: bool = False
    employment_status_blank_65_plus: bool = True
    death_ends_services: bool = True


class ComparisonSettings(Strict):
    """The comparison with last quarter (`cldetl compare`, and the end of every run): a count
    by event type or service type that moves by more than this percentage is flagged."""

    swing_threshold_percent: float = Field(default=20.0, gt=0, le=10000)


class Metadata(Strict):
    la_code: str
    la_name: str
    case_system: str
    release: Literal["2"] = "2"
    cadence: Literal["quarterly", "monthly"] = "quarterly"

    @field_validator("la_code", mode="before")
    @classmethod
    def _code(cls, code: Any) -> str:
        code = _text(code)
        if not code.isdigit():
            raise ValueError(f"la_code {code!r}: the LA Code is a number, e.g. 503")
        return code


class Output(Strict):
    """How the return is written for the DLP (cldetl/publish/portal_file.py): Windows-1252 unless the
    authority's DSCRO agreed to UTF-8; `transliteration: nfkd-latin` spells characters
    Windows-1252 cannot carry in Latin letters (a warning with its count) instead of failing."""

    encoding: Literal["windows-1252", "utf-8"] = "windows-1252"
    transliteration: Literal["none", "nfkd-latin"] = "none"
    gzip: bool = False


class MappingTest(Strict):
    """A test the LA writes: given these source rows, expect these CLD rows."""

    name: str
    period_end: date
    given: dict[str, list[dict[str, Any]]]
    expect: list[dict[str, str]] = []
    expect_excluded: list[dict[str, str]] = []

    @field_validator("expect", "expect_excluded", mode="before")
    @classmethod
    def _values_text(cls, rows: Any) -> Any:
        """CLD values are text: `No. of adults being cared for: 1` means '1'."""
        if isinstance(rows, list):
            return [
                {k: ("" if v is None else _text(v)) for k, v in row.items()}
                if isinstance(row, dict)
                else row
                for row in rows
            ]
        return rows


class Mapping(Strict):
    version: Literal[1] = 1
    metadata: Metadata
    connection: Connection | None = None
    sources: dict[str, Source]
    lookups: dict[str, Lookup] = {}
    person: PersonDetails
    events: list[EventRule] = Field(min_length=1)
    exclusions: list[Exclusion] = []
    defaults: Defaults = Defaults()
    output: Output = Output()
    comparison: ComparisonSettings = ComparisonSettings()
    tests: list[MappingTest] = []

    # Set by load_mapping: where the file is, for relative file sources and messages.
    path: str = ""


# --- loading -------------------------------------------------------------------------------


def _line_index(text: str, name: str = "mapping") -> dict[tuple, int]:
    """Line of every key path in the YAML document, from PyYAML's node marks."""
    lines: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[path + (key.value,)] = key.start_mark.line + 1
                walk(value, path + (key.value,))
                lines[path + (key.value,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    root = safe_yaml.compose(text, name)
    if root is not None:
        walk(root, ())
    return lines


def _line_for(lines: dict[tuple, int], path: tuple) -> int | None:
    path = tuple(str(p) if not isinstance(p, int) else p for p in path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def key_line(mapping_path: str | Path, loc: tuple) -> int | None:
    """The line of a key (e.g. ("sources", "steps", "template")) in a mapping file, for
    messages raised after loading; None when it cannot be found."""
    try:
        text = Path(mapping_path).read_text(encoding="utf-8")
        return _line_for(_line_index(text, str(mapping_path)), loc)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, safe_yaml.YamlLimitError):
        return None


def where_in_mapping(mapping: Mapping, *loc: str) -> str:
    """'mappings/x.yaml:12 sources.steps.template' for messages raised after loading (the
    line when it can be found)."""
    dotted = ".".join(str(part) for part in loc)
    if not mapping.path:
        return dotted
    line = key_line(mapping.path, loc)
    return f"{mapping.path}:{line or '?'} {dotted}"


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def did_you_mean(value: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, list(options), n=1, cutoff=0.6)
    if not close:
        folded = {o.casefold(): o for o in options}
        close = [folded[c] for c in difflib.get_close_matches(value.casefold(), folded, n=1)]
    return f"; did you mean '{close[0]}'?" if close else ""


def load_mapping(
    path: str | Path, spec: Spec | None = None, connectors_dir: str | Path | None = None
) -> Mapping:
    """Read and check a mapping file. Raises MappingError listing every problem with its line.

    Template sources' `params` and `columns` are checked against their templates'
    declarations, found as extraction finds them (`connectors_dir` first when given)."""
    spec = spec or load_spec()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot be read ({exc}).") from None
    try:
        raw = safe_yaml.load(text, str(path))
        lines = _line_index(text, str(path))
    except safe_yaml.YamlLimitError as exc:
        raise MappingError(str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(f"{path}{where}: not valid YAML ({problem}).") from None
    if not isinstance(raw, dict):
        raise MappingError(f"{path}: a mapping file is a YAML mapping with metadata, sources...")
    try:
        mapping = Mapping.model_validate({**raw, "path": str(path)})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key '{loc[-1]}'" + _known_keys_hint(raw, loc)
            elif err["type"] == "missing":
                message = f"missing required key '{loc[-1]}'"
            problems.append((loc, message))
        raise MappingError(_format(path, lines, problems)) from None
    problems = check_mapping(mapping, spec)
    from cldetl.extract.templates import mapping_template_problems

    problems += mapping_template_problems(mapping, connectors_dir)
    if problems:
        raise MappingError(_format(path, lines, problems))
    return mapping


def _known_keys_hint(raw: dict, loc: tuple) -> str:
    """Name the keys allowed where an unknown one stands, by walking the models along `loc`."""
    model: Any = Mapping
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            info = next(
                (f for f in getattr(model, "model_fields", {}).values() if f.alias == part), None
            )
        if info is None:
            continue  # a key of a dict (a lookup or field name), not a model field
        model = _inner_model(info.annotation)
        if model is None:
            return ""
    fields = getattr(model, "model_fields", None)
    if not fields:
        return ""
    allowed = [f.alias or n for n, f in fields.items() if n != "path"]
    return did_you_mean(str(loc[-1]), allowed) or f"; allowed here: {', '.join(allowed)}"


def _inner_model(annotation: Any) -> Any:
    """The pydantic model inside an annotation like `list[EventRule]` or `Filter | None`."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _format(path: Path, lines: dict[tuple, int], problems: list[tuple[tuple, str]]) -> str:
    out = [f"{path}: {len(problems)} problem(s) in the mapping:"]
    for loc, message in problems:
        line = _line_for(lines, loc)
        out.append(f"  {path}:{line or '?'} {_dotted(loc)}: {message}")
    return "\n".join(out)


# --- cross-checks against the spec and within the mapping ----------------------------------


def check_mapping(m: Mapping, spec: Spec) -> list[tuple[tuple, str]]:
    """Everything pydantic cannot see: names that must exist, values that must be on lists."""
    problems: list[tuple[tuple, str]] = []

    def problem(loc: tuple, message: str) -> None:
        problems.append((loc, message))

    def cld_field(loc: tuple, name: str) -> bool:
        if spec.has_field(name):
            return True
        problem(loc, f"'{name}' is not a CLD field{did_you_mean(name, spec.headers)}")
        return False

    def source_columns(loc: tuple, source: str, columns: set[str] | list[str]) -> None:
        known = m.sources[source].columns
        for column in columns:
            if column not in known:
                problem(
                    loc,
                    f"column '{column}' is not declared in sources.{source}.columns"
                    f"{did_you_mean(column, list(known))}",
                )

    def check_value(loc: tuple, field: str, value: Value, source: str | None) -> None:
        f = spec.field(field)
        if value.lookup:
            if value.lookup not in m.lookups:
                problem(
                    loc + ("lookup",),
                    f"no lookup named '{value.lookup}'"
                    f"{did_you_mean(value.lookup, list(m.lookups))}",
                )
            elif m.lookups[value.lookup].field != field and not (
                value.outcomes and field == "Event Outcome"
            ):
                problem(
                    loc + ("lookup",),
                    f"lookup '{value.lookup}' gives {m.lookups[value.lookup].field} values, "
                    f"not {field}",
                )
        if value.default is not None and f.is_defined_list and value.default not in f.values:
            problem(
                loc + ("default",),
                f"'{value.default}' is not a CLD {field} value"
                f"{did_you_mean(value.default, f.values)}",
            )
        if value.value is not None and f.is_defined_list and value.value not in f.values:
            problem(
                loc + ("value",),
                f"'{value.value}' is not a CLD {field} value{did_you_mean(value.value, f.values)}",
            )
        if value.same_as is not None:
            cld_field(loc + ("same_as",), value.same_as)
        if value.template is not None and not value.columns():
            problem(loc + ("template",), "a template needs at least one {column} part")
        if source and source in m.sources:
            source_columns(loc, source, value.columns())

    def check_filter(loc: tuple, flt: Filter | None, source: str) -> None:
        if flt is not None and source in m.sources:
            source_columns(loc, source, flt.columns())

    def known_source(loc: tuple, name: str) -> bool:
        if name in m.sources:
            return True
        problem(loc, f"no source named '{name}'{did_you_mean(name, list(m.sources))}")
        return False

    for name, lookup in m.lookups.items():
        loc = ("lookups", name)
        if not cld_field(loc + ("field",), lookup.field):
            continue
        f = spec.field(lookup.field)
        if not f.is_defined_list:
            problem(loc + ("field",), f"{lookup.field} is not a defined-list field")
            continue
        if lookup.default is not None and lookup.default not in f.values:
            problem(
                loc + ("default",),
                f"'{lookup.default}' is not a CLD {lookup.field} value"
                f"{did_you_mean(lookup.default, f.values)}",
            )
        for code, target in lookup.values.items():
            if target not in f.values:
                problem(
                    loc + ("values", code),
                    f"'{target}' is not a CLD {lookup.field} value{did_you_mean(target, f.values)}",
                )

    person = m.person
    if known_source(("person", "source"), person.source):
        source_columns(("person", "key"), person.source, [person.key])
    for name, value in person.fields.items():
        loc = ("person", "fields", name)
        if not cld_field(loc, name):
            continue
        if spec.field(name).module != "person" or name in PERSON_FIELDS_NOT_MAPPED_PER_PERSON:
            problem(loc, f"{name} is not a person detail; map it in an event rule")
            continue
        check_value(loc, name, value, person.source)
    for name, detail in person.dated.items():
        loc = ("person", "dated", name)
        if not cld_field(loc, name):
            continue
        if known_source(loc + ("source",), detail.source):
            source_columns(loc, detail.source, [detail.person, detail.column, detail.start])
        if detail.lookup:
            check_value(loc, name, Value(column=detail.column, lookup=detail.lookup), None)

    names = [rule.name for rule in m.events]
    for i, rule in enumerate(m.events):
        loc = ("events", i)
        if names.count(rule.name) > 1:
            problem(loc + ("name",), f"rule name '{rule.name}' is used twice")
        if not known_source(loc + ("source",), rule.source):
            continue
        check_filter(loc + ("when",), rule.when, rule.source)
        source_columns(loc + ("person",), rule.source, [rule.person])
        check_value(loc + ("client_type",), "Client Type", rule.client_type, rule.source)
        if rule.reference:
            check_value(loc + ("reference",), "Event Reference", rule.reference, rule.source)
        if rule.service_lines:
            lines = rule.service_lines
            cols = lines.same_service + [lines.start, lines.end]
            cols += [lines.order_by] if lines.order_by else []
            source_columns(loc + ("service_lines",), rule.source, cols)
            check_filter(loc + ("service_lines", "suspended"), lines.suspended, rule.source)
            if any(row.event_type not in (None, "Service") for row in rule.rows):
                problem(loc + ("service_lines",), "service_lines applies to Service rows only")
        for j, row in enumerate(rule.rows):
            rloc = loc + ("rows", j)
            check_filter(rloc + ("when",), row.when, rule.source)
            if row.person:
                source_columns(rloc + ("person",), rule.source, [row.person])
            source_columns(rloc + ("linked_people",), rule.source, row.linked_people)
            if row.client_type:
                check_value(rloc + ("client_type",), "Client Type", row.client_type, rule.source)
            for field, value in row.fields.items():
                floc = rloc + ("fields", field)
                if not cld_field(floc, field):
                    continue
                module = spec.field(field).module
                if module in ("submission", "person"):
                    problem(floc, f"{field} comes from person details or the run, not events")
                    continue
                if row.kind == "carer_by_association" and module not in ("unpaid carers",):
                    problem(floc, "a 'carer_by_association' row carries no event fields")
                    continue
                check_value(floc, field, value, rule.source)
            if row.kind == "event":
                for needed in ("Event Start Date",):
                    if needed not in row.fields:
                        problem(rloc + ("fields",), f"an event row needs '{needed}'")
                if row.event_type != "Service" and "Event End Date" not in row.fields:
                    problem(
                        rloc + ("fields",),
                        "a request, assessment or review needs "
                        "'Event End Date' (only services may be open)",
                    )

    for i, exclusion in enumerate(m.exclusions):
        loc = ("exclusions", i)
        for name in exclusion.sources:
            if known_source(loc + ("sources",), name):
                check_filter(loc + ("when",), exclusion.when, name)

    for i, test in enumerate(m.tests):
        loc = ("tests", i)
        for source, rows in test.given.items():
            if not known_source(loc + ("given", source), source):
                continue
            for j, row in enumerate(rows):
                source_columns(loc + ("given", source, j), source, list(row))
        for j, row in enumerate(test.expect):
            for field in row:
                cld_field(loc + ("expect", j, field), field)

    defaults = m.defaults
    if defaults.unpaid_carer_route_of_access and defaults.unpaid_carer_route_of_access not in (
        spec.field("Request: Route of Access").values
    ):
        problem(("defaults", "unpaid_carer_route_of_access"), "not a CLD Route of Access value")
    if defaults.unpaid_carer_review_reason and defaults.unpaid_carer_review_reason not in (
        spec.field("Review Reason").values
    ):
        problem(("defaults", "unpaid_carer_review_reason"), "not a CLD Review Reason value")
    return problems
