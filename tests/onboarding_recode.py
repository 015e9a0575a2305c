"""Recoded example databases for the onboarding tests: every code the example mapping names
(lookup keys, codes its rules filter on, template parameter values) replaced, in the database,
by another, so a starter cannot lean on the example's codes; and the example mapping's "right
values" under the same recoding, to fill in a review workbook as a practice lead would.

Text codes become `L_<code>` (texts of digits stay: they double as numeric answers); integer
codes (step type ids) gain 7000. Only whole values equal
to a configured code change, in columns holding few distinct values (codes, not free text).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import yaml

from cldetl.mapping.template_declarations import find_template, read_declaration, template_folders

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "L_"
INT_SHIFT = 7000


def configured_codes(mapping: dict) -> tuple[set[str], set[int]]:
    """Every code the example mapping names: lookup keys, filter codes, parameter values."""

    text: set[str] = set()
    numbers: set[int] = set()

    def add(value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int):
            numbers.add(value)
        elif isinstance(value, str) and "%" not in value and not value.isdigit():
            text.add(value)  # digit texts stay: they are also answers (adults cared for: 1)

    for lookup in (mapping.get("lookups") or {}).values():
        for key in lookup.get("values") or {}:
            add(key if not isinstance(key, int) else str(key))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("in", "not_in"):
                for value in node.get(key) or []:
                    add(value)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(mapping.get("events"))
    walk(mapping.get("exclusions"))
    for source in mapping["sources"].values():
        values = dict(template_defaults(source.get("template")))
        values.update((source.get("params") or {}).get("values") or {})
        for value in values.values():
            for item in value if isinstance(value, list) else [value]:
                add(item)
    return text, numbers


def template_defaults(template: str | None) -> dict[str, Any]:
    """A template's value parameters at their defaults (question codes the example leaves
    to the template)."""
    if not template:
        return {}
    path = find_template(template_folders(None), template)
    declaration = read_declaration(path, template) if path else None
    if declaration is None:
        return {}
    return {n: p.default for n, p in declaration.of_kind("values").items() if not p.required}


def patterns(mapping: dict) -> set[str]:
    """The LIKE patterns among the example's template parameters (PSR_%)."""
    found = set()
    for source in mapping["sources"].values():
        values = dict(template_defaults(source.get("template")))
        values.update((source.get("params") or {}).get("values") or {})
        found |= {v for v in values.values() if isinstance(v, str) and "%" in v}
    return found


def recode_value(value: Any, text: set[str], numbers: set[int]) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in numbers:
        return value + INT_SHIFT
    if isinstance(value, str) and value in text:
        return PREFIX + value
    if isinstance(value, str) and value.endswith("%") and "%" in value:
        return PREFIX + value  # a LIKE pattern (PSR_%)
    return value


def recode_database(
    path: Path, mapping: dict, int_columns: set[str], keep: set[str] = frozenset()
) -> None:
    """Rewrite the configured codes of an SQLite example database in place."""

    text, numbers = configured_codes(mapping)
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for _, column, kind, *_ in db.execute(f'pragma table_info("{table}")').fetchall():
                if f"{table}.{column}" in keep:
                    continue
                distinct = db.execute(f'select count(distinct "{column}") from "{table}"')
                if distinct.fetchone()[0] > 200:
                    continue
                if kind.upper().startswith(("VARCHAR", "TEXT", "CHAR")):
                    for pattern in patterns(mapping):  # every code the pattern takes
                        db.execute(
                            f'update "{table}" set "{column}" = ? || "{column}" '
                            f'where "{column}" like ? and "{column}" not like ?',
                            (PREFIX, pattern, PREFIX + "%"),
                        )
                    for code in text:
                        db.execute(
                            f'update "{table}" set "{column}" = ? where "{column}" = ?',
                            (PREFIX + code, code),
                        )
                elif column in int_columns:
                    for code in numbers:
                        db.execute(
                            f'update "{table}" set "{column}" = ? where "{column}" = ?',
                            (code + INT_SHIFT, code),
                        )
        db.commit()
    finally:
        db.close()


def reference(name: str) -> dict:
    return yaml.safe_load((ROOT / "mappings" / name).read_text(encoding="utf-8"))


def right_lookup_value(mapping: dict, lookup: str, code: str) -> str:
    """What the example means by a (recoded) code: its CLD value, or "(unmapped)"."""

    values = {str(k): v for k, v in (mapping["lookups"][lookup].get("values") or {}).items()}
    original = code.removeprefix(PREFIX) if code.startswith(PREFIX) else None
    if original is not None and original in values and values[original] is not None:
        return values[original]
    return "(unmapped)"
