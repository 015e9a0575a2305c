"""The example's local codes in a starter, and this install's own codes found for them.

A starter follows the example authority's sources and rules, which name the example's codes
(question codes, statuses, step types). For each one the database does not hold, local_codes
finds the install's likely code. That code is never written as the value: the example's code
stays (matching nothing here), marked `# unchecked` with the likely code, its evidence and the
other candidates, or `# TODO` where nothing fits; a person decides. To read the lookup codes
the rules will meet, the starter is also probed once with the likely codes in place
(`with_codes(..., marks=None)`); that probe is never written.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from cldetl.extract import extract
from cldetl.extract.database import create_engine
from cldetl.mapping import load_mapping
from cldetl.onboarding import yaml_text
from cldetl.onboarding.local_codes import Found, Kind, find_local_codes
from cldetl.onboarding.usages import lookup_usages


def probe(skeleton, rules, period, connectors_dir, url, staging: Path):
    """Load the starter as it stands and read its sources, identifier columns as text; the
    probe mapping and the rows read stay in the owner-only `staging` folder."""

    probe_sources = {
        n: {**s, "columns": {c: ("text" if t == "integer" else t) for c, t in s["columns"].items()}}
        for n, s in skeleton["sources"].items()
    }
    path = staging / "probe.yaml"
    path.write_text(yaml_text.dump({**skeleton, "sources": probe_sources, **rules}), "utf-8")
    mapping = load_mapping(path, connectors_dir=connectors_dir)
    extract_dir = staging / "extract"
    extract_dir.mkdir(mode=0o700, exist_ok=True)
    frames = extract(
        mapping, period, connectors_dir=connectors_dir, url=url, staging_dir=extract_dir
    )
    return mapping, frames


def param_codes(sources: dict, where: str) -> list:
    """The codes a template parameter (`source.parameter`) holds, as written."""
    source, name = where.split(".", 1)
    value = ((sources.get(source) or {}).get("params") or {}).get("values", {}).get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def code_filters(rules: dict, where: str):
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


def find_codes(kinds: list[Kind], sources, rules, mapping, frames, reference, url):
    """This install's code for each example code the starter uses that it does not hold."""

    used: dict[str, list[str]] = {}
    for kind in kinds:
        codes = [str(c) for where in kind.params for c in param_codes(sources, where)]
        for where in kind.rules:
            for node, key in code_filters(rules, where):
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


class Marks:
    """Values written with a comment at their line (`# unchecked ...`, `# TODO: ...`): a
    placeholder goes into the data, and the dumped line gets the value and the comment (made
    safe by yaml_text.comment: database text never ends the comment line)."""

    def __init__(self) -> None:
        self.notes: dict[str, tuple[Any, str]] = {}
        self.unchecked: list[str] = []
        self.todo: list[str] = []

    def mark(self, value: Any, note: str) -> str:
        key = f"cldetl_mark_{len(self.notes)}_"
        self.notes[key] = (value, note)
        return key

    def apply(self, text: str) -> str:
        lines = []
        for line in text.splitlines():
            notes = []
            for key, (value, note) in self.notes.items():
                if key in line:
                    line = line.replace(key, yaml_text.scalar(value))
                    notes.append(note)
            if notes:
                line += "  # " + yaml_text.comment(" / ".join(notes))
            lines.append(line)
        return "\n".join(lines)

    def unmarked(self, data: Any) -> Any:
        """The data with each placeholder replaced by its value (what the file must load as)."""
        if isinstance(data, dict):
            return {k: self.unmarked(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.unmarked(v) for v in data]
        if isinstance(data, str) and data in self.notes:
            return self.notes[data][0]
        return data


def with_codes(sources, rules, kinds, found, marks: Marks | None):
    """The sources and rules as written (`marks`: the example's codes kept, each not held here
    marked with the install's likely code, or a TODO), or as probed (`marks` None: the likely
    codes in place, to read what the rules will meet once they are confirmed)."""

    sources, rules = copy.deepcopy(sources), copy.deepcopy(rules)

    def swap(value, kind: Kind, where: str):
        result: Found | None = found.get(kind.name, {}).get(str(value))
        if result is None:
            return value
        if marks is None:
            if result.code is None:
                return value
            return (
                int(result.code)
                if isinstance(value, int) and result.code.isdigit()
                else (result.code)
            )
        column = kind.where.get("column")
        if result.code is None:
            marks.todo.append(f"{where}: {value} (candidates: {result.candidates_text()})")
            if not result.checked:
                return marks.mark(
                    value, f"TODO: {value} is the example's code, not checked: {result.evidence}"
                )
            return marks.mark(
                value,
                f"TODO: {value} (the example's) is not in {kind.held_in}; look for this "
                f"install's code in {column} ({result.evidence}; candidates: "
                f"{result.candidates_text()})",
            )
        marks.unchecked.append(
            f"{where}: {value} -> may be {result.code} (candidates: {result.candidates_text()})"
        )
        return marks.mark(
            value,
            f"unchecked: the example's {value} is not in {kind.held_in}; this install's code "
            f"may be {result.code} ({result.evidence}; {result.rows or 0:,} rows); "
            f"candidates: {result.candidates_text()}",
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
            for node, key in code_filters(rules, where):
                node[key] = [swap(v, kind, f"rule filter {where}") for v in node[key]]
    return sources, rules
