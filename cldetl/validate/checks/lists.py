"""Defined-list checks. The national check is exact and case-sensitive, so anything else is an
error; the message says what it most likely is: a Release 1 value (with its Release 2
replacement), a near miss in case, spacing or punctuation (with a "did you mean"), or simply
not on the list. Classification runs once per distinct value, not per row.
"""

from __future__ import annotations

import difflib
import re

from cldetl.spec import Field, Spec
from cldetl.validate.checks.context import CheckContext


def loose_key(value: str) -> str:
    """Case and spacing ignored."""
    return " ".join(value.split()).casefold()


def bare_key(value: str) -> str:
    """Case, spacing and punctuation ignored."""
    return re.sub(r"[^a-z0-9]", "", value.casefold())


# Words that say nothing about which entry is meant ("or" is in half the ethnicity list).
_MINOR_WORDS = frozenset({"a", "an", "and", "by", "for", "in", "of", "on", "or", "the", "to"})
# A value with no word in common with any entry is suggested one only if it is this close a
# spelling (difflib's ratio): a typo, not a different thing.
_TYPO_RATIO = 0.75


def words(value: str) -> frozenset[str]:
    """The value's words, case and punctuation ignored, minor words left out."""
    return frozenset(re.findall(r"[a-z0-9]+", value.casefold())) - _MINOR_WORDS


def nearest(value: str, values: list[str]) -> str | None:
    """The list entry `value` most likely means: the one sharing the most words with it
    ("White British" -> "White: English, Welsh, Scottish, Northern Irish or British", not
    "White: Irish", which is the closer spelling), then the one with fewest other words. When
    that leaves more than one, or no word is shared, only a likely typo (the closest spelling,
    if close enough) is suggested; a guess among equals would mislead, so then None."""
    mine = words(value)
    key = loose_key(value)

    def overlap(entry: str) -> tuple[int, float]:
        theirs = words(entry)
        shared = len(mine & theirs)
        return shared, shared / len(mine | theirs) if shared else 0.0

    def spelling(entry: str) -> float:
        return difflib.SequenceMatcher(None, key, loose_key(entry)).ratio()

    if not values:
        return None
    best = max(overlap(v) for v in values)
    tied = [v for v in values if overlap(v) == best]
    if best[0] and len(tied) == 1:
        return tied[0]
    closest = max(tied, key=spelling)
    return closest if spelling(closest) >= _TYPO_RATIO else None


def classify(spec: Spec, field: Field, value: str) -> tuple[str, str]:
    """(rule, message) for a non-blank value that is not on the field's Release 2 list."""
    name = field.name
    release1 = {r.release1: r for r in spec.release1_values if r.field == name}
    if value in release1:
        return _release1_message(field, value, release1[value].release2)
    alias = spec.aliases.get((name, value))
    if alias:
        return (
            "list.near_miss",
            f"{name} '{value}' is how the guidance's prose spells it; the defined list has "
            f"'{alias}' and the list wins.",
        )
    loose = {loose_key(v): v for v in field.values}
    if loose_key(value) in loose:
        return (
            "list.near_miss",
            f"{name} '{value}' differs from '{loose[loose_key(value)]}' in case or spacing; the "
            f"check is case-sensitive. Did you mean '{loose[loose_key(value)]}'?",
        )
    loose_r1 = {loose_key(k): r for k, r in release1.items()}
    if loose_key(value) in loose_r1:
        return _release1_message(field, value, loose_r1[loose_key(value)].release2)
    rewritten = value
    for rule in spec.punctuation_rules:
        rewritten = rule.pattern.sub(rule.replace, rewritten)
    if loose_key(rewritten) in loose:
        target = loose[loose_key(rewritten)]
        return (
            "list.release1",
            f"{name} '{value}' uses Release 1 punctuation; Release 2 uses ':' for '-', 'and' "
            f"for '&' and 'or' for '/'. Use '{target}'.",
        )
    bare = {bare_key(v): v for v in field.values}
    if bare_key(value) in bare:
        return (
            "list.near_miss",
            f"{name} '{value}' differs from '{bare[bare_key(value)]}' in punctuation. "
            f"Did you mean '{bare[bare_key(value)]}'?",
        )
    close = nearest(value, field.values)
    hint = f" Did you mean '{close}'?" if close else ""
    if len(field.values) <= 6:
        hint += " Allowed: " + ", ".join(f"'{v}'" for v in field.values) + "."
    return "list.value", f"{name} '{value}' is not on the Release 2 list.{hint}"


def _release1_message(field: Field, value: str, release2: str | None) -> tuple[str, str]:
    if release2 is None:
        return (
            "list.release1",
            f"{field.name} '{value}' is a Release 1 value with no Release 2 equivalent; choose "
            "a value from the Release 2 list.",
        )
    return (
        "list.release1",
        f"{field.name} '{value}' is a Release 1 value; Release 2 uses '{release2}'.",
    )


def check(ctx: CheckContext) -> None:
    for field in ctx.spec.fields:
        if not field.is_defined_list or field.name not in ctx.present:
            continue
        column = ctx.column(field.name)
        off_list = ~ctx.blank(field.name) & ~column.isin(field.values)
        if not off_list.any():
            continue
        verdicts = {v: classify(ctx.spec, field, v) for v in column[off_list].unique()}
        for rule in ("list.release1", "list.near_miss", "list.value"):
            messages = {v: m for v, (r, m) in verdicts.items() if r == rule}
            if not messages:
                continue
            mask = off_list & column.isin(list(messages))
            ctx.sink.rows(rule, field.name, mask, column, column.map(messages).astype(object))
