"""Onboarding a new authority: a starter mapping written from its own database, and a profile
of an existing mapping's lookups against the codes the database holds.

A consultant starting an authority on Mosaic or LiquidLogic needs three things before any
rule: the system's sources (templates with their default parameters), every local code the
lookups will meet (with how often it occurs, so the rare ones can wait), and a first guess of
the CLD value for each. `starter_mapping` writes all three, beside the system's usual event
rules (those of the project's example authority on that system) for the consultant to check,
with the authority's own question codes, statuses and types found in place of the example's.
`profile_lookups` answers, for any mapping, "which codes does my data hold that I do not map?".

Only codes and counts are ever written or shown: codes come from lookup and filter columns
(gender, service, status codes), never from a personal field, and the console gets counts.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml
from sqlalchemy import column as sql_column
from sqlalchemy import func, inspect, select
from sqlalchemy import table as sql_table

from cldetl.display import shown
from cldetl.errors import CldetlError
from cldetl.extract import extract
from cldetl.extract.database import create_engine
from cldetl.mapping import load_mapping, safe_yaml
from cldetl.mapping.template_declarations import (
    declaration_for,
    find_template,
    read_declaration,
    template_folders,
)
from cldetl.onboarding.local_codes import find_local_codes, load_meanings
from cldetl.spec import load_spec
from cldetl.spec.period import ReportingPeriod
from cldetl.transform.filters import as_text

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Mapping
    from cldetl.spec import Spec

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"
REFERENCE_MAPPINGS = {"mosaic": "eastmoor.yaml", "liquidlogic": "westvale.yaml"}
"""Per system, the example authority whose sources, event rules and lookups a starter follows."""
MAX_CODES = 200
"""A lookup or filter column with more distinct values than this is not a code column."""
GOOD_MATCH = 0.6


class OnboardingError(CldetlError):
    """A starter mapping or profile that cannot be made (unknown system, no database)."""


@dataclass
class Usage:
    """Where a lookup (or a filter) meets local codes: a source column."""

    source: str
    column: str


# --- where lookups and filters read codes ---------------------------------------------------


def lookup_usages(mapping: Mapping) -> dict[str, list[Usage]]:
    """Every (source, column) each lookup translates, from person details and event rules."""
    found: dict[str, list[Usage]] = {name: [] for name in mapping.lookups}

    def add(value, source: str) -> None:
        if value is None or not value.lookup or value.lookup not in found:
            return
        columns = value.columns() if hasattr(value, "columns") else []
        for column in columns:
            usage = Usage(source, column)
            if usage not in found[value.lookup]:
                found[value.lookup].append(usage)

    for value in mapping.person.fields.values():
        add(value, mapping.person.source)
    for detail in mapping.person.dated.values():
        if detail.lookup in found:
            usage = Usage(detail.source, detail.column)
            if usage not in found[detail.lookup]:
                found[detail.lookup].append(usage)
    for rule in mapping.events:
        add(rule.client_type, rule.source)
        for row in rule.rows:
            add(row.client_type, rule.source)
            for value in row.fields.values():
                add(value, rule.source)
    return found


def filter_usages(mapping: Mapping) -> list[tuple[Usage, list[str]]]:
    """Each source column an event rule or exclusion filters on by code (`in`, `not_in`),
    with the codes the mapping names, in mapping order."""
    out: dict[tuple[str, str], list[str]] = {}

    def walk(flt, source: str) -> None:
        if flt is None:
            return
        for part in (flt.all or []) + (flt.any or []) + ([flt.not_] if flt.not_ else []):
            walk(part, source)
        codes = list(flt.in_ or []) + list(flt.not_in or [])
        if flt.column and codes:
            named = out.setdefault((source, flt.column), [])
            named += [c for c in codes if c not in named]

    for rule in mapping.events:
        walk(rule.when, rule.source)
        for row in rule.rows:
            walk(row.when, rule.source)
    for exclusion in mapping.exclusions:
        for source in exclusion.sources:
            walk(exclusion.when, source)
    return [(Usage(s, c), codes) for (s, c), codes in out.items()]


def code_counts(frame: pd.DataFrame, column: str) -> dict[str, int] | None:
    """Distinct non-blank codes of a column (as text) with their counts, most frequent first;
    None when the column holds too many distinct values to be a code."""

    values = as_text(frame[column]).dropna().str.strip()
    values = values[values.ne("")]
    counts = values.value_counts()
    if len(counts) > MAX_CODES:
        return None
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return {str(code): int(n) for code, n in counts.items()}


def profile_lookups(mapping: Mapping, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per lookup and source column: each code present, its rows, and what the mapping does
    with it (`mapped` True/False, `value` the CLD value or the default used instead)."""

    rows = []
    for name, usages in lookup_usages(mapping).items():
        lookup = mapping.lookups[name]
        known = {str(k).strip(): v for k, v in lookup.values.items()}
        for usage in usages:
            if usage.source not in frames or usage.column not in frames[usage.source]:
                continue
            counts = code_counts(frames[usage.source], usage.column)
            if counts is None:
                rows.append(
                    {
                        "lookup": name,
                        "field": lookup.field,
                        "source": usage.source,
                        "column": usage.column,
                        "code": f"(more than {MAX_CODES} distinct values: not a code column?)",
                        "rows": pd.NA,
                        "mapped": False,
                        "value": "",
                    }
                )
                continue
            for code, n in counts.items():
                mapped = code in known
                rows.append(
                    {
                        "lookup": name,
                        "field": lookup.field,
                        "source": usage.source,
                        "column": usage.column,
                        "code": code,
                        "rows": n,
                        "mapped": mapped,
                        "value": (known[code] or "") if mapped else (lookup.default or ""),
                    }
                )
    columns = ["lookup", "field", "source", "column", "code", "rows", "mapped", "value"]
    out = pd.DataFrame(rows, columns=columns)
    out["rows"] = out["rows"].astype("Int64")
    return out


# --- suggestions ------------------------------------------------------------------------------


@dataclass
class Suggestion:
    value: str | None
    how: str  # "exact" | "example" | "text match 0.83" | "no close match"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()


def suggest(code: str, allowed: tuple[str, ...], example: dict[str, Any]) -> Suggestion:
    """A CLD value for a local code: the defined value it spells, else what the system's
    example authority maps the same code to, else the closest defined value by text."""
    norm = _norm(code)
    for value in allowed:
        if _norm(value) == norm:
            return Suggestion(value, "exact")
    if code in example:
        return Suggestion(example[code], "as in the example authority")
    if not allowed:
        return Suggestion(None, "no defined list: fill in")
    scored = []
    for value in allowed:
        target = _norm(value)
        ratio = difflib.SequenceMatcher(None, norm, target).ratio()
        words = target.split()
        if norm and any(w.startswith(norm) for w in words):
            ratio = max(ratio, 0.7 if len(norm) > 1 else 0.61)
        scored.append((ratio, value))
    ratio, best = max(scored, key=lambda item: item[0])
    if ratio < GOOD_MATCH:
        return Suggestion(best, f"weak text match {ratio:.2f}")
    return Suggestion(best, f"text match {ratio:.2f}")


# --- the starter mapping ----------------------------------------------------------------------


def _reference(system: str) -> tuple[Path, dict]:

    try:
        path = EXAMPLES / REFERENCE_MAPPINGS[system]
    except KeyError:
        raise OnboardingError(
            f"system '{system}': use one of {', '.join(sorted(REFERENCE_MAPPINGS))}."
        ) from None
    return path, safe_yaml.load(path.read_text(encoding="utf-8"), str(path))


def _default_params(template: str, connectors_dir: Path | None) -> dict:
    """A template's declared parameters at their defaults, written out to be checked."""

    path = find_template(template_folders(None, connectors_dir), template)
    declaration = read_declaration(path, template) if path else None
    if declaration is None:
        return {}
    params: dict[str, dict] = {}
    for kind in ("identifiers", "flags", "values"):
        found = {n: p.default for n, p in declaration.of_kind(kind).items() if not p.required}
        if found:
            params[kind] = found
    return params


class _Dumper:
    """yaml.safe_dump without anchors (a starter is edited by hand, rule by rule)."""

    @staticmethod
    def dump(data: Any) -> str:

        class NoAliases(yaml.SafeDumper):
            def ignore_aliases(self, data: Any) -> bool:
                return True

        return yaml.dump(
            data,
            Dumper=NoAliases,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )


def _yaml_key(code: str) -> str:
    """A code as a mapping key: quoted where YAML needs it ('Paid: 16 or more hours')."""
    return _yaml_scalar(str(code))


def _yaml_scalar(value: Any) -> str:

    if value is None:
        return "null"
    return yaml.safe_dump(value, allow_unicode=True, width=1000).removesuffix("...\n").strip()


@dataclass
class Starter:
    """A starter mapping's text and what it found (counts only, for the console)."""

    text: str
    sources: dict[str, int]
    lookups: int
    codes: int
    weak: int
    typed_as_text: list[str]
    suggested: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)


def starter_mapping(
    system: str,
    la_code: str,
    url_env: str,
    *,
    la_name: str | None = None,
    period_end: date | None = None,
    connectors_dir: Path | None = None,
    url: str | None = None,
) -> Starter:
    """Write a starter mapping for an authority on `system` from its own database.

    The starter follows the system's example authority (sources, rules). Where the example's
    local codes (template parameters, codes the rules filter on) are not in this database,
    the install's own code is looked for (`local_codes`, by the meanings file of the system)
    and written in place, marked `# suggested: check` with its evidence; an example code with
    no good match stays, marked `# TODO`. The file runs as written: accepting a suggestion is
    deleting its mark once checked.

    Args:
        system: 'mosaic' or 'liquidlogic'.
        la_code: the authority's LA code.
        url_env: the environment variable holding the database URL (never the URL itself).
        la_name: the authority's name (default "LA <code>").
        period_end: the period whose records are profiled (default the last quarter).
        connectors_dir: templates to use instead of the project's.
        url: a database URL to use instead of the variable's (tests).

    Returns:
        The mapping text (YAML with comments) and counts for the console.
    """

    reference_path, reference = _reference(system)
    url = url or os.environ.get(url_env)
    if not url:
        raise OnboardingError(
            f"environment variable {url_env} is not set: export it with the database URL "
            "(for example sqlite:///path/to/case.db) and run again."
        )
    period = (
        ReportingPeriod.ending(period_end)
        if period_end
        else ReportingPeriod.last_completed(date.today(), "quarterly")
    )
    name = la_name or f"LA {la_code}"
    sources: dict[str, dict] = {}
    for source_name, source in reference["sources"].items():
        out = dict(source)
        if source.get("template"):
            params = _default_params(source["template"], connectors_dir)
            out = {k: v for k, v in out.items() if k != "params"}
            if params:
                out = {
                    **{k: v for k, v in out.items() if k in ("template", "description")},
                    "params": params,
                    **{k: v for k, v in out.items() if k not in ("template", "description")},
                }
        sources[source_name] = out
    skeleton = {
        "version": 1,
        "metadata": {
            "la_code": str(la_code),
            "la_name": name,
            "case_system": system,
            "cadence": "quarterly",
        },
        "connection": {"url_env": url_env},
        "sources": sources,
    }
    rules = {
        k: reference[k]
        for k in ("lookups", "person", "events", "exclusions", "defaults")
        if k in reference
    }

    # Read the database with identifier columns as text (an install may use text IDs), first
    # with the example's codes, to find this install's own codes where they differ, then
    # again with the codes found, for the lookups and the lists below.

    kinds = load_meanings(system)
    mapping, frames = _probe(skeleton, rules, period, connectors_dir, url)
    found, unplaced = _find_codes(kinds, sources, rules, mapping, frames, reference, url)
    marks = _Marks()
    written_sources, written_rules = _with_codes(sources, rules, kinds, found, marks)
    sources, rules = _with_codes(sources, rules, kinds, found, None)
    skeleton["sources"] = sources
    if any(f.code for by_code in found.values() for f in by_code.values()):
        mapping, frames = _probe(skeleton, rules, period, connectors_dir, url)
    typed_as_text = []
    for source_name, source in sources.items():
        columns = dict(source["columns"])
        for column, kind in columns.items():
            values = frames[source_name][column]
            # Text when the install's values are not whole numbers (text person IDs), and
            # when nothing was read to tell (a text ID column left empty by a parameter that
            # does not match yet): whole numbers read as text still compare as codes.
            if kind == "integer" and (values.isna().all() or not _whole_numbers(values)):
                columns[column] = "text"
                typed_as_text.append(f"{source_name}.{column}")
        source["columns"] = columns
        written_sources[source_name]["columns"] = dict(columns)
    skeleton["sources"] = written_sources

    spec = load_spec()
    profiles = profile_lookups(mapping, frames)
    lookups_text, codes, weak = _lookups_text(mapping, spec, profiles, reference)
    filters_text = _filters_text(mapping, frames)
    text = "\n".join(
        [
            _header(name, la_code, system, url_env, reference_path, period),
            marks.apply(_Dumper.dump(skeleton).rstrip()),
            _empty_columns_text(mapping, frames, connectors_dir),
            _parameter_values_text(mapping, connectors_dir, url),
            "",
            lookups_text,
            "",
            "# --- person details, event rules, exclusions: the usual model on "
            f"{system}, from {reference_path.name} ---",
            "# Check every rule against how this authority records its work. The codes the",
            "# rules filter on, as found in the database, are listed before `events`.",
            _Dumper.dump({"person": rules["person"]}).rstrip(),
            "",
            filters_text,
            marks.apply(_Dumper.dump({"events": written_rules["events"]}).rstrip()),
            "",
            marks.apply(
                _Dumper.dump(
                    {k: v for k, v in written_rules.items() if k in ("exclusions", "defaults")}
                ).rstrip()
            ),
            "",
            _tests_skeleton(mapping),
        ]
    )
    return Starter(
        text=text + "\n",
        sources={n: len(f) for n, f in frames.items()},
        lookups=len(mapping.lookups),
        codes=codes,
        weak=weak,
        typed_as_text=typed_as_text,
        suggested=marks.suggested,
        todo=marks.todo + [f"{kind}: no column holding them was found" for kind in unplaced],
    )


def _probe(skeleton, rules, period, connectors_dir, url):
    """Load the starter as it stands and read its sources, identifier columns as text."""

    probe_sources = {
        n: {**s, "columns": {c: ("text" if t == "integer" else t) for c, t in s["columns"].items()}}
        for n, s in skeleton["sources"].items()
    }
    with tempfile.TemporaryDirectory(prefix="cldetl-onboard-") as folder:
        probe = Path(folder) / "probe.yaml"
        probe.write_text(_Dumper.dump({**skeleton, "sources": probe_sources, **rules}))
        mapping = load_mapping(probe, connectors_dir=connectors_dir)
        frames = extract(mapping, period, connectors_dir=connectors_dir, url=url)
    return mapping, frames


def _param_codes(sources: dict, where: str) -> list:
    """The codes a template parameter (`source.parameter`) holds, as written."""
    source, name = where.split(".", 1)
    value = ((sources.get(source) or {}).get("params") or {}).get("values", {}).get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _code_filters(rules: dict, where: str):
    """Every code filter ({column, in/not_in}) of the event rules and exclusions on a source
    column (`source.column`), with its key (`in` or `not_in`)."""
    source, column = where.split(".", 1)

    def walk(node, sources):
        if isinstance(node, dict):
            if node.get("column") == column and source in sources:
                for key in ("in", "not_in"):
                    if isinstance(node.get(key), list):
                        yield node, key
            for value in node.values():
                yield from walk(value, sources)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, sources)

    for rule in rules.get("events") or []:
        yield from walk(rule, [rule.get("source")])
    for rule in rules.get("exclusions") or []:
        yield from walk(rule, list(rule.get("sources") or []))


def _find_codes(kinds, sources, rules, mapping, frames, reference, url):
    """This install's code for each example code the starter uses that it does not hold."""

    used: dict[str, list[str]] = {}
    for kind in kinds:
        codes = [str(c) for where in kind.params for c in _param_codes(sources, where)]
        for where in kind.rules:
            for node, key in _code_filters(rules, where):
                codes += [str(c) for c in node[key]]
        used[kind.name] = codes
    if not any(used.values()):
        return {}, []
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return find_local_codes(
                kinds, used, conn, frames, reference.get("lookups") or {}, lookup_usages(mapping)
            )
    finally:
        engine.dispose()


class _Marks:
    """Values written with a comment at their line (`# suggested: check ...`, `# TODO ...`):
    a placeholder goes into the data, and the dumped line gets the value and the comment."""

    def __init__(self) -> None:
        self.notes: dict[str, tuple[Any, str]] = {}
        self.suggested: list[str] = []
        self.todo: list[str] = []

    def mark(self, value: Any, note: str) -> str:
        key = f"cldetl_mark_{len(self.notes)}_"
        self.notes[key] = (value, note)
        return key

    def apply(self, text: str) -> str:
        lines = []
        for line in text.splitlines():
            for key in re.findall(r"cldetl_mark_\d+_", line):
                value, note = self.notes[key]
                line = line.replace(key, _yaml_scalar(value)) + f"  # {note}"
            lines.append(line)
        return "\n".join(lines)


def _with_codes(sources, rules, kinds, found, marks: _Marks | None):
    """The sources and rules with this install's codes in place of the example's, as found;
    with `marks`, each such value carries its evidence, and each example code kept for want
    of a good match carries a TODO saying where to look."""

    sources, rules = copy.deepcopy(sources), copy.deepcopy(rules)

    def swap(value, kind, where: str):
        result = found.get(kind.name, {}).get(str(value))
        if result is None:
            return value
        if result.code is None:
            if marks is None:
                return value
            marks.todo.append(f"{where}: {value}")
            column = kind.where.get("column")
            if not result.checked:
                return marks.mark(
                    value, f"TODO: {value} is the example's code, not checked: {result.evidence}"
                )
            return marks.mark(
                value,
                f"TODO: {value} (the example's) is not in {kind.held_in}; look for this "
                f"install's code in {column} ({result.evidence})",
            )
        new = int(result.code) if isinstance(value, int) and result.code.isdigit() else result.code
        if marks is None:
            return new
        marks.suggested.append(f"{where}: {value} -> {result.code}")
        return marks.mark(
            new,
            f"suggested: check (the example's {value} is not in {kind.held_in}; "
            f"{result.evidence}; {result.rows:,} rows)",
        )

    for kind in kinds:
        for where in kind.params:
            source, name = where.split(".", 1)
            values = ((sources.get(source) or {}).get("params") or {}).get("values")
            if not values or name not in values:
                continue
            key = f"sources.{source}.params.values.{name}"
            value = values[name]
            values[name] = (
                [swap(v, kind, key) for v in value]
                if isinstance(value, list)
                else swap(value, kind, key)
            )
        for where in kind.rules:
            for node, key in _code_filters(rules, where):
                node[key] = [swap(v, kind, f"rule filter {where}") for v in node[key]]
    return sources, rules


def _empty_columns_text(mapping, frames, connectors_dir) -> str:
    """Columns no row has a value in: usually a template parameter (a question code, a
    type) that does not match this install yet; the column's description names it."""

    lines = []
    for name, frame in frames.items():
        if frame.empty:
            lines.append(f"#   {name}: no rows at all (check its template parameters)")
            continue
        declaration = declaration_for(mapping, name, connectors_dir)
        about = declaration.column_about if declaration else {}
        for column in frame.columns:
            if frame[column].isna().all():
                lines.append(f"#   {name}.{column}: {about.get(column, 'no values')}")
    if not lines:
        return ""
    head = [
        "",
        "# Empty in every row read: check the parameter each description names (a question",
        "# code, status or type of this install), then run init-mapping or profile again.",
    ]
    return "\n".join(head + lines)


def _parameter_values_text(mapping, connectors_dir, url: str) -> str:
    """For each template value parameter that names a code column ("question_user_code of the
    Route of Access"), the values that column holds in the template's tables, with counts, and
    the one closest to the default: where an install's codes differ, this is where to look."""

    lines: list[str] = []
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            tables = set(inspector.get_table_names())
            cache: dict[tuple[str, str], dict[str, int] | None] = {}
            for name, source in mapping.sources.items():
                declaration = declaration_for(mapping, name, connectors_dir)
                if declaration is None:
                    continue
                identifiers = source.params.identifiers if source.params else {}
                for pname, param in declaration.of_kind("values").items():
                    match = re.match(r"([a-z][a-z0-9_]*) of ", param.about)
                    if not match or param.required:
                        continue
                    code_column = match.group(1)
                    for ident, default_table in declaration.of_kind("identifiers").items():
                        table = identifiers.get(ident, default_table.default)
                        if table not in tables:
                            continue
                        names = {c["name"] for c in inspector.get_columns(table)}
                        if code_column not in names:
                            continue
                        if (table, code_column) not in cache:
                            query = (
                                select(sql_column(code_column), func.count())
                                .select_from(sql_table(table))
                                .group_by(sql_column(code_column))
                            )
                            found = {
                                str(v): int(n) for v, n in conn.execute(query) if v is not None
                            }
                            cache[(table, code_column)] = found if len(found) <= MAX_CODES else None
                        found = cache[(table, code_column)]
                        if not found:
                            continue
                        given = source.params.values if source.params else {}
                        value = given.get(pname, param.default)
                        defaults = value if isinstance(value, list) else [value]
                        listed = "; ".join(
                            f"{v}: {n:,}" for v, n in sorted(found.items(), key=lambda i: -i[1])
                        )
                        present = all(str(d) in found for d in defaults)
                        if present:
                            verdict = "present"
                        else:
                            best = difflib.get_close_matches(
                                _norm(str(defaults[0])), {_norm(v): v for v in found}, n=1, cutoff=0
                            )
                            guess = {_norm(v): v for v in found}.get(best[0]) if best else None
                            verdict = f"NOT FOUND; closest: {guess}" if guess else "NOT FOUND"
                        lines.append(
                            f"#   {name}.params.values.{pname} = {defaults} ({verdict}); "
                            f"{code_column} in {table}: {listed}"
                        )
                        break
    finally:
        engine.dispose()
    if not lines:
        return ""
    head = [
        "",
        "# The value parameters of the templates, and the codes their column holds here:",
        "# where a value is not found, set this install's code under the source's params.",
    ]
    return "\n".join(head + lines)


def _whole_numbers(values: pd.Series) -> bool:

    text = values.dropna().astype(str).str.strip()
    text = text[text.ne("")]
    numbers = pd.to_numeric(text, errors="coerce")
    return bool(numbers.notna().all() and (numbers % 1 == 0).all())


def _header(name, la_code, system, url_env, reference_path, period) -> str:
    return f"""# {name} (LA Code {la_code}): a starter mapping on {system}, written by
#   cldetl init-mapping --system {system} --la-code {la_code} --url-env {url_env}
# from the codes found in the database for the 12 months to {period.end:%d/%m/%Y}.
#
# What to do next (docs/onboarding.md walks through it):
# 0. The file runs as written: every value marked "suggested" is already in place. Accept a
#    suggestion by deleting its mark once checked; correct it by changing the value and
#    deleting the mark. `cldetl profile --mapping` counts the marks left.
# 1. sources: every template parameter is written out. Where the example authority's code
#    (question code, status, type) is not in this database, the code found for it is in
#    place, marked "# suggested: check" with the evidence; "# TODO" where none was found.
# 2. lookups: every code found is listed with its row count. The CLD value after each is a
#    SUGGESTION (the comment says how it was found): check each, above all "weak" ones.
# 3. events and exclusions follow {reference_path.name}, with this install's codes where
#    found (marked as in 1): check the codes each rule filters on against the lists before
#    `events`.
# 4. Write tests (the skeleton at the end), then `cldetl test-mapping` this file,
#    `cldetl profile --mapping` it, and `cldetl run --mapping` it.
"""


def _lookups_text(mapping, spec: Spec, profiles: pd.DataFrame, reference: dict):
    lines = ["lookups:"]
    codes = weak = 0
    for name, lookup in mapping.lookups.items():
        example = {str(k): v for k, v in (reference["lookups"][name].get("values") or {}).items()}
        allowed = spec.field(lookup.field).values if spec.has_field(lookup.field) else ()
        lines.append(f"  {name}:")
        lines.append(f"    field: {_yaml_scalar(lookup.field)}")
        lines.append(f"    default: {_yaml_scalar(lookup.default)}")
        found = profiles[(profiles["lookup"] == name) & profiles["rows"].notna()]
        where = ", ".join(dict.fromkeys(f"{r.source}.{r.column}" for r in found.itertuples()))
        total = found.groupby("code", sort=False)["rows"].sum()
        if total.empty:
            lines.append(
                f"    # no codes found in {where or 'the data'}: add them when they appear"
            )
            lines.append("    values: {}")
            continue
        lines.append(f"    # codes found in {where}, most frequent first; values are suggestions")
        lines.append("    values:")
        for code, n in total.items():
            hint = suggest(str(code), allowed, example)
            codes += 1
            weak += hint.how.startswith(("weak", "no "))
            lines.append(
                f"      {_yaml_key(str(code))}: {_yaml_scalar(hint.value)}"
                f"  # {int(n):,} rows; suggested ({hint.how}): check"
            )
    return "\n".join(lines), codes, weak


def _filters_text(mapping, frames) -> str:
    lines = ["# Codes in the columns the event rules and exclusions filter on (code: rows),"]
    lines.append("# with the codes the rules below name. Check each rule's codes against them.")
    for usage, named in filter_usages(mapping):
        frame = frames.get(usage.source)
        if frame is None or usage.column not in frame:
            continue
        counts = code_counts(frame, usage.column)
        if counts is None:
            lines.append(f"#   {usage.source}.{usage.column}: more than {MAX_CODES} values")
            continue
        about = _description_column(frame, usage.column)
        listed = []
        for code, n in counts.items():
            label = f" ({about[code]})" if about and code in about else ""
            listed.append(f"{code}{label}: {n:,}")
        lines.append(f"#   {usage.source}.{usage.column} in the database: " + "; ".join(listed))
        missing = [c for c in named if c not in counts]
        lines.append(
            f"#     the rules name: {', '.join(named)}"
            + (f" (not in the database: {', '.join(missing)})" if missing else "")
        )
    return "\n".join(lines)


def _description_column(frame, column: str) -> dict[str, str] | None:
    """A code column's companion text (step_type for step_type_id), when the source has one."""

    stem = re.sub(r"_(id|code)$", "", column)
    for candidate in (stem, f"{stem}_description", f"{stem}_name"):
        if candidate != column and candidate in frame:
            pairs = frame[[column, candidate]].dropna()
            codes = as_text(pairs[column])
            labels = pairs[candidate].astype(str).str.slice(0, 60)
            return dict(zip(codes, labels, strict=True))
    return None


def _tests_skeleton(mapping) -> str:
    lines = [
        "# --- tests: one per case this authority's guidance questions turn on ---------------",
        "# A skeleton per event rule: uncomment, fill `given` with one made-up record of the",
        "# source (any fictional values) and `expect` with the CLD rows it must give, written",
        "# by hand from the guidance. `cldetl test-mapping` runs them.",
        "# tests:",
    ]
    for rule in mapping.events:
        columns = list(mapping.sources[rule.source].columns)
        events = [r.event_type or "carer row" for r in rule.rows]
        lines += [
            f"#   - name: {rule.name} gives {' and '.join(events)}",
            "#     period_end: 2025-09-30",
            "#     given:",
            f"#       {rule.source}:",
            "#         - {" + ", ".join(f"{c}: " for c in columns) + "}",
            "#     expect:",
        ]
        lines += [
            f"#       - {{Event Type: {e}, Event Start Date: , Event End Date: }}" for e in events
        ]
    return "\n".join(lines)


# --- the profile of an existing mapping -------------------------------------------------------


def profile_mapping(
    mapping_path: str | Path,
    period_end: date | None = None,
    connectors_dir: Path | None = None,
    url: str | None = None,
) -> tuple[Mapping, pd.DataFrame]:
    """Extract a mapping's sources and profile its lookups (see `profile_lookups`)."""

    mapping = load_mapping(mapping_path, connectors_dir=connectors_dir)
    period = ReportingPeriod.chosen(period_end, mapping.metadata.cadence)
    frames = extract(mapping, period, connectors_dir=connectors_dir, url=url)
    return mapping, profile_lookups(mapping, frames)


def profile_text(mapping: Mapping, profile: pd.DataFrame) -> str:
    """The profile for a console: per lookup column, codes with counts; unmapped ones marked.
    Codes are escaped and truncated (`display.shown`); nothing else from a row is shown."""

    lines = [
        f"{shown(mapping.metadata.la_name)} (LA {shown(mapping.metadata.la_code)}): lookup codes "
        "in the database",
        "",
    ]
    if profile.empty:
        return "\n".join(lines + ["No lookup reads a column of any source."])
    for (lookup, source, column), part in profile.groupby(
        ["lookup", "source", "column"], sort=False
    ):
        unmapped = part[~part["mapped"]]
        lines.append(
            f"{lookup} ({shown(part['field'].iloc[0])}) <- {source}.{column}: "
            f"{len(part)} codes, {len(unmapped)} not mapped"
        )
        for row in part.itertuples(index=False):
            rows = "" if pd.isna(row.rows) else f"{int(row.rows):>9,}"
            mark = "   " if row.mapped else "NOT"
            target = shown(row.value) if row.value else "(blank)"
            lines.append(f"  {mark} {shown(row.code, 30):<30} {rows}  -> {target}")
    total = int((~profile["mapped"]).sum())
    lines += ["", f"{total} code(s) found that the mapping does not map."]
    return "\n".join(lines)


def unchecked_suggestions(mapping_path: str | Path) -> int:
    """How many values of a starter are still marked as suggestions: init-mapping writes each
    code it found as the active value with `# suggested: check`; deleting the mark is how an
    analyst records that it was checked."""
    text = Path(mapping_path).read_text(encoding="utf-8")
    return sum(
        1
        for line in text.splitlines()
        if re.search(r"#.*\bsuggested( \([^)]*\))?: check(?!\")", line)
    )
