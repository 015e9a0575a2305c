"""`cldetl init-mapping`: a starter mapping written from an authority's own database, that
never ships a guess.

A consultant starting an authority on Mosaic or LiquidLogic needs the system's sources
(templates with their default parameters), every local code the lookups will meet (with how
often it occurs, so the rare ones can wait), and the CLD value of each where it is certain.
The starter follows the system's example authority (its rules), with:
- a value active only where it is certain (a national code list the column fits, a code that
  spells a CLD value, a code the example maps); every other code commented out as
  `# unchecked` with its candidates and scores, so it maps to nothing until reviewed;
- the example's codes kept in template parameters and rule filters, each the database does
  not hold marked `# unchecked` with the install's likely code, or `# TODO` where none fits;
- the example's Event Reference prefix marked `# TODO`: it must be the authority's own.
`cldetl profile` counts what is left; `cldetl run` refuses the file until none is.

Only codes and counts are ever written or shown: codes come from lookup and filter columns
(gender, service, status codes), never from a personal field; every value goes through a YAML
emitter and the written text is loaded back and compared (yaml_text).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import column as sql_column
from sqlalchemy import func, inspect, select
from sqlalchemy import table as sql_table

from cldetl.extract.database import create_engine
from cldetl.mapping.template_declarations import find_template, read_declaration, template_folders
from cldetl.onboarding import yaml_text
from cldetl.onboarding.database_notes import (
    ParameterCodes,
    empty_columns_text,
    parameter_codes,
    parameter_values_text,
)
from cldetl.onboarding.local_codes import load_meanings
from cldetl.onboarding.profile import profile_lookups
from cldetl.onboarding.reference import OnboardingError, meanings_data, reference_mapping
from cldetl.onboarding.reference import thresholds as load_thresholds
from cldetl.onboarding.staging import onboarding_staging
from cldetl.onboarding.starter_codes import Marks, code_filters, find_codes, probe, with_codes
from cldetl.onboarding.starter_lookups import (
    LookupCodes,
    filters_text,
    lookups_text,
    mapping_tests_skeleton,
)
from cldetl.onboarding.usages import code_counts, filter_usages
from cldetl.spec import load_spec
from cldetl.spec.period import ReportingPeriod
from cldetl.transform.sources import prepare_sources

TEMPLATE_FIELD = re.compile(r"\{[^}]*\}")


@dataclass
class Starter:
    """A starter mapping's text and what it found (counts only, for the console)."""

    text: str
    sources: dict[str, int]
    lookups: int
    codes: LookupCodes
    typed_as_text: list[str]
    unchecked: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)


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


def _sources(reference: dict, connectors_dir: Path | None) -> dict[str, dict]:
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
    return sources


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

    Args:
        system: 'mosaic' or 'liquidlogic'.
        la_code: the authority's LA code.
        url_env: the environment variable holding the database URL (never the URL itself).
        la_name: the authority's name (default "LA <code>").
        period_end: the period whose records are profiled (default the last quarter).
        connectors_dir: templates to use instead of the project's.
        url: a database URL to use instead of the variable's (tests).

    Returns:
        The mapping text (YAML with comments, loaded back and checked) and counts.
    """

    reference_name, reference = reference_mapping(system)
    kinds = load_meanings(system)
    patterns = meanings_data(system).get("patterns") or {}
    limits = load_thresholds()
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
    sources = _sources(reference, connectors_dir)
    skeleton: dict[str, Any] = {
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

    with onboarding_staging() as staging:
        # Read the database with identifier columns as text (an install may use text IDs),
        # first with the example's codes, to find this install's own codes where they differ;
        # then with the likely codes in place (never written), for the lookup codes below.
        mapping, frames = probe(skeleton, rules, period, connectors_dir, url, staging)
        found, unplaced = find_codes(kinds, sources, rules, mapping, frames, reference, url)
        probe_sources, probe_rules = with_codes(sources, rules, kinds, found, None)
        if any(f.code for by_code in found.values() for f in by_code.values()):
            mapping, frames = probe(
                {**skeleton, "sources": probe_sources},
                probe_rules,
                period,
                connectors_dir,
                url,
                staging,
            )
            # Codes held only in the rows read (answers) can be found once the questions are.
            again, _ = find_codes(
                [k for k in kinds if "source" in k.where],
                probe_sources,
                probe_rules,
                mapping,
                frames,
                reference,
                url,
            )
            for kind, by_code in again.items():
                found.setdefault(kind, {}).update(
                    {c: f for c, f in by_code.items() if c not in found.get(kind, {})}
                )
        marks = Marks()
        written_sources, written_rules = with_codes(sources, rules, kinds, found, marks)
        _mark_patterns(written_sources, patterns, marks, url, limits.max_codes)
        _mark_reference_prefixes(written_rules, marks)
        param_found = parameter_codes(mapping, connectors_dir, url)
        _mark_absent_parameters(written_sources, param_found, marks)
        _mark_absent_filter_codes(written_rules, mapping, frames, marks, limits.max_codes)
        typed_as_text = _type_columns(sources, written_sources, frames)
        skeleton["sources"] = written_sources
        prepared = prepare_sources(mapping, frames)
        profiles = profile_lookups(mapping, prepared)
        spec = load_spec()
        lookups, codes = lookups_text(mapping, spec, profiles, reference, limits)
        sections = [
            _header(name, la_code, system, url_env, reference_name, period),
            marks.apply(yaml_text.dump(skeleton).rstrip()),
            empty_columns_text(mapping, frames, connectors_dir),
            parameter_values_text(marks.unmarked(written_sources), param_found),
            "",
            lookups,
            "",
            "# --- person details, event rules, exclusions: the usual model on "
            f"{system}, from {reference_name} ---",
            "# Check every rule against how this authority records its work. The codes the",
            "# rules filter on, as found in the database, are listed before `events`.",
            yaml_text.dump({"person": rules["person"]}).rstrip(),
            "",
            filters_text(mapping, prepared, limits),
            marks.apply(yaml_text.dump({"events": written_rules["events"]}).rstrip()),
            "",
            marks.apply(
                yaml_text.dump(
                    {k: v for k, v in written_rules.items() if k in ("exclusions", "defaults")}
                ).rstrip()
            ),
            "",
            mapping_tests_skeleton(mapping),
        ]
        text = "\n".join(sections) + "\n"
        sources_read = {n: len(f) for n, f in frames.items()}
        lookups_count = len(mapping.lookups)
        del frames, prepared
    expected = marks.unmarked(
        {**skeleton, **{k: v for k, v in written_rules.items() if k != "lookups"}}
    )
    expected["lookups"] = codes.data
    yaml_text.loaded_back(text, f"the starter for LA {la_code}", expected)
    return Starter(
        text=text,
        sources=sources_read,
        lookups=lookups_count,
        codes=codes,
        typed_as_text=typed_as_text,
        unchecked=marks.unchecked,
        todo=marks.todo
        + [f"{kind}: no column holding them was found" for kind in unplaced]
        + codes.refused,
    )


def _type_columns(sources: dict, written_sources: dict, frames) -> list[str]:
    """Integer columns whose values here are not whole numbers (text person IDs) become text,
    as do those nothing was read to tell (whole numbers read as text still compare)."""

    typed_as_text = []
    for source_name, source in sources.items():
        columns = dict(source["columns"])
        for column, kind in columns.items():
            values = frames[source_name][column]
            if kind == "integer" and (values.isna().all() or not _whole_numbers(values)):
                columns[column] = "text"
                typed_as_text.append(f"{source_name}.{column}")
        source["columns"] = columns
        written_sources[source_name]["columns"] = dict(columns)
    return typed_as_text


def _whole_numbers(values: pd.Series) -> bool:
    text = values.dropna().astype(str).str.strip()
    text = text[text.ne("")]
    numbers = pd.to_numeric(text, errors="coerce")
    return bool(numbers.notna().all() and (numbers % 1 == 0).all())


def _mark_patterns(sources: dict, patterns: dict, marks: Marks, url: str, max_codes: int) -> None:
    """A template's LIKE pattern parameter (the PSR classification codes) that matches no row
    here is a TODO naming the codes the column does hold: left alone, every PSR is 'Unknown'."""

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            for where, place in patterns.items():
                source, param = where.split(".", 1)
                values = ((sources.get(source) or {}).get("params") or {}).get("values") or {}
                pattern = values.get(param)
                if not isinstance(pattern, str) or place["table"] not in tables:
                    continue
                column = sql_column(place["column"])
                query = select(func.count()).select_from(sql_table(place["table"]))
                if conn.execute(query.where(column.like(pattern))).scalar():
                    continue
                held = select(column, func.count()).select_from(sql_table(place["table"]))
                counts = sorted(
                    ((str(c), int(n)) for c, n in conn.execute(held.group_by(column)) if c),
                    key=lambda item: -item[1],
                )[:max_codes]
                listed = "; ".join(f"{c}: {n:,}" for c, n in counts[:12]) or "no codes"
                marks.todo.append(f"sources.{source}.params.values.{param}: {pattern}")
                values[param] = marks.mark(
                    pattern,
                    f"TODO: {pattern} matches no {place['table']}.{place['column']} here; the "
                    f"codes held: {listed}",
                )
    finally:
        engine.dispose()


def _placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("cldetl_mark_")


def _mark_absent_parameters(sources: dict, found: list[ParameterCodes], marks: Marks) -> None:
    """A template parameter naming a code its column does not hold here (a respite service
    code, a question code no meanings file describes) is a TODO listing the codes held."""

    for codes in found:
        values = ((sources.get(codes.source) or {}).get("params") or {}).get("values") or {}
        value = values.get(codes.parameter)
        if value is None:
            continue
        where = f"sources.{codes.source}.params.values.{codes.parameter}"

        def mark(item: Any, codes: ParameterCodes = codes, where: str = where) -> Any:
            if _placeholder(item) or str(item) in codes.found:
                return item
            marks.todo.append(f"{where}: {item}")
            return marks.mark(
                item,
                f"TODO: {item} (the example's) is not in {codes.table}.{codes.column} here; "
                f"the codes held: {codes.listed()}",
            )

        values[codes.parameter] = (
            [mark(v) for v in value] if isinstance(value, list) else (mark(value))
        )


def _mark_absent_filter_codes(rules: dict, mapping, frames, marks: Marks, max_codes: int) -> None:
    """A code a rule filters on that no record read holds (an answer code, a service code, a
    client group) is a TODO listing the codes read: left alone, the rule silently takes no
    record, or the wrong one."""

    for usage, _named in filter_usages(mapping):
        frame = frames.get(usage.source)
        if frame is None or usage.column not in frame:
            continue
        counts = code_counts(frame[usage.column], max_codes)
        if counts is None:
            continue
        held = "; ".join(f"{c}: {n:,}" for c, n in list(counts.items())[:12]) or "none"
        where = f"{usage.source}.{usage.column}"
        for node, key in code_filters(rules, where):
            items = []
            for item in node[key]:
                if not _placeholder(item) and str(item) not in counts:
                    marks.todo.append(f"rule filter {where}: {item}")
                    item = marks.mark(
                        item,
                        f"TODO: {item} (the example's) is in no {where} record read; the "
                        f"codes read: {held}",
                    )
                items.append(item)
            node[key] = items


def _mark_reference_prefixes(rules: dict, marks: Marks) -> None:
    """The example's Event Reference prefix must become the authority's own: each TODO."""

    for rule in rules.get("events") or []:
        reference = rule.get("reference")
        if isinstance(reference, dict) and isinstance(reference.get("template"), str):
            template = reference["template"]
            prefix = TEMPLATE_FIELD.split(template)[0]
            if not prefix:
                continue
            marks.todo.append(f"events.{rule.get('name')}.reference: {prefix}")
            reference["template"] = marks.mark(
                template,
                f"TODO: {prefix} is the example authority's Event Reference prefix: use this "
                "authority's own (unique across its returns)",
            )


def _header(name, la_code, system, url_env, reference_name, period) -> str:
    lines = f"""{name} (LA Code {la_code}): a starter mapping on {system}, written by
  cldetl init-mapping --system {system} --la-code {la_code} --url-env {url_env}
from the codes found in the database for the 12 months to {period.end:%d/%m/%Y}.

Nothing in this file is a guess: a value is written only where it is certain (a national
code list such as the NHS Data Dictionary's, a code that spells a CLD value, or a code the
example authority maps). Everything else carries a mark that `cldetl profile` counts and
`cldetl run` refuses to run with (docs/onboarding.md walks through it):
- "unchecked": a lookup code commented out with its candidate CLD values and their scores,
  or a template parameter still naming the example's code, with this install's likely code;
- "TODO": nothing was found; the note says where to look.
1. `cldetl mapping-review --mapping FILE --out review.xlsx` lists every local code with its
   value or candidates; the practice lead fills in the CLD value, "checked by" and the date.
2. `cldetl mapping-review --mapping FILE --apply review.xlsx` writes the decisions here.
3. Rules (events, exclusions) follow {reference_name}: check each against how this authority
   records its work; write tests (the skeleton at the end) and `cldetl test-mapping` them.
4. `cldetl profile --mapping FILE` until it reports 0 of each; then `cldetl run`.
"""
    return "\n".join(f"# {yaml_text.comment(line)}".rstrip() for line in lines.splitlines())
