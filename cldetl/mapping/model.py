"""The mapping's typed models, one per YAML section: data, never code (filters are structured,
lookups are tables, nothing in a mapping is evaluated)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from cldetl.errors import CldetlError, UsageError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TEMPLATE_PART = re.compile(r"\{([^{}]*)\}")
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


def _whole_people(value: Any) -> Any:
    """A population is a whole number of people: 250000, not 250,000, 2.5e5 or yes."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"{str(value)[:40]!r} is not a whole number of people; write the ONS estimate in "
            "digits only, e.g. 250000"
        )
    return value


People = Annotated[int, BeforeValidator(_whole_people)]


class Population(Strict):
    """ONS mid-year population estimates of the authority by age band, for the rates per
    100,000 of ASCOF 2B and 2C (without them those are counts with no rate). Give the figures
    under `by_age_band` (one per band the measures use: '18 to 64' and '65 and above', from
    cldetl/spec/national_measures.yaml) or a CSV `file` with columns age_band,population
    (relative to the mapping file), and always say where they come from (`source`, e.g.
    "ONS mid-2024 population estimates, table MYE2") and the `year` of the estimates."""

    source: str
    year: int
    by_age_band: dict[str, People] | None = None
    file: str | None = None

    @field_validator("source")
    @classmethod
    def _source(cls, source: str) -> str:
        if not source.strip():
            raise ValueError(
                "say where the figures come from, e.g. 'ONS mid-2024 population estimates, "
                "table MYE2'"
            )
        return source

    @field_validator("year", mode="before")
    @classmethod
    def _year(cls, year: Any) -> Any:
        if isinstance(year, bool) or not isinstance(year, int) or not 1991 <= year <= 2100:
            raise ValueError(
                f"{str(year)[:40]!r} is not the year of the mid-year estimates; write it as "
                "four digits, e.g. 2024"
            )
        return year

    @model_validator(mode="after")
    def _one_form(self) -> Population:
        if (self.by_age_band is None) == (self.file is None):
            raise ValueError(
                "give either by_age_band (the figures) or file (a CSV with columns "
                "age_band,population), not both or neither"
            )
        return self


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
    """How the return is written for the DLP (cldetl/publish/portal_file.py): Windows-1252
    unless the authority's DSCRO agreed to UTF-8; `transliteration: nfkd-latin` spells characters
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
    population: Population | None = None
    tests: list[MappingTest] = []

    # Set by load_mapping: where the file is, for relative file sources and messages.
    path: str = ""

    def source_named(self, name: str) -> Source:
        """Source `name`; UsageError when the mapping has no such source."""
        if name not in self.sources:
            raise UsageError(f"the mapping has no source named {name!r}.")
        return self.sources[name]
