"""Row conditions of the specification ("mandatory for long term community services"), as data.

The spec file states when a rule applies as a small tree (`{all: [{field: Event Type, in:
[Service]}, ...]}`) instead of code, so that Annex A reads as a table and the validator, the
Great Expectations suite and the docs all derive from the same rows. This module parses that
tree, describes it in words and evaluates it over a whole column set at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from cldetl.errors import SpecError

if TYPE_CHECKING:
    import pandas as pd


class ConditionError(SpecError):
    """A condition in the spec file is malformed."""


@dataclass(frozen=True)
class Always:
    def describe(self) -> str:
        return "every row"


@dataclass(frozen=True)
class FieldIn:
    field: str
    values: tuple[str, ...]
    negate: bool = False

    def describe(self) -> str:
        shown = ", ".join(f"'{v}'" for v in self.values)
        if len(self.values) == 1:
            return f"{self.field} is {'not ' if self.negate else ''}{shown}"
        return f"{self.field} is {'not ' if self.negate else ''}one of {shown}"


@dataclass(frozen=True)
class FieldBlank:
    field: str
    blank: bool

    def describe(self) -> str:
        return f"{self.field} is {'blank' if self.blank else 'filled'}"


@dataclass(frozen=True)
class AgeBetween:
    minimum: int | None
    maximum: int | None

    def describe(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"aged {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"aged {self.minimum} or over"
        return f"aged {self.maximum} or under"


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]

    def describe(self) -> str:
        return " and ".join(_wrap(p) for p in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def describe(self) -> str:
        return " or ".join(_wrap(p) for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: Condition

    def describe(self) -> str:
        return f"not ({self.part.describe()})"


@dataclass(frozen=True)
class Named:
    """A reference to a named condition, kept so docs can say 'financial assessment'."""

    name: str
    part: Condition

    def describe(self) -> str:
        return self.part.describe()


Condition = Always | FieldIn | FieldBlank | AgeBetween | AllOf | AnyOf | Not | Named


def _wrap(part: Condition) -> str:
    text = part.describe()
    return f"({text})" if isinstance(part, AllOf | AnyOf) else text


def parse_condition(raw: Any, named: Mapping[str, Condition], where: str) -> Condition:
    """Turn the YAML form of a condition into a tree; `where` names it in error messages."""
    if raw == "always":
        return Always()
    if not isinstance(raw, Mapping) or len(raw) == 0:
        raise ConditionError(f"{where}: a condition is 'always' or a mapping, not {raw!r}")
    keys = set(raw)
    if keys == {"ref"}:
        name = raw["ref"]
        if name not in named:
            raise ConditionError(f"{where}: no condition named {name!r}")
        return Named(name, named[name])
    if keys == {"all"} or keys == {"any"}:
        key = "all" if "all" in keys else "any"
        items = raw[key]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"{where}: '{key}' takes a non-empty list")
        parts = tuple(parse_condition(p, named, f"{where}.{key}[{i}]") for i, p in enumerate(items))
        return AllOf(parts) if key == "all" else AnyOf(parts)
    if keys == {"not"}:
        return Not(parse_condition(raw["not"], named, f"{where}.not"))
    if keys == {"age"}:
        age = raw["age"]
        if not isinstance(age, Mapping) or not set(age) <= {"min", "max"} or not age:
            raise ConditionError(f"{where}: 'age' takes min and/or max")
        return AgeBetween(age.get("min"), age.get("max"))
    if "field" in keys:
        field = raw["field"]
        rest = keys - {"field"}
        if rest == {"in"} or rest == {"not_in"}:
            key = rest.pop()
            values = raw[key]
            if not isinstance(values, list) or not values:
                raise ConditionError(f"{where}: '{key}' takes a non-empty list of values")
            return FieldIn(field, tuple(str(v) for v in values), negate=key == "not_in")
        if rest == {"blank"} and isinstance(raw["blank"], bool):
            return FieldBlank(field, raw["blank"])
    raise ConditionError(f"{where}: cannot read condition {dict(raw)!r}")


def walk(cond: Condition) -> list[Condition]:
    """Every node of a condition tree, the root first."""
    nodes: list[Condition] = [cond]
    if isinstance(cond, AllOf | AnyOf):
        for part in cond.parts:
            nodes.extend(walk(part))
    elif isinstance(cond, Not | Named):
        nodes.extend(walk(cond.part))
    return nodes


def evaluate(
    cond: Condition,
    column: Callable[[str], pd.Series],
    age: Callable[[], pd.Series],
    n: int,
    memo: dict[Condition, pd.Series] | None = None,
) -> pd.Series:
    """A boolean Series: which rows the condition holds for.

    `column(name)` gives a column as submitted; `age()` gives whole years (nullable). Missing
    columns are the caller's business: `column` returns blanks for them. `memo` keeps results
    by condition, since many rules share the same named conditions.
    """
    if memo is None:
        memo = {}
    if cond not in memo:
        memo[cond] = _evaluate(cond, column, age, n, memo)
    return memo[cond]


def _evaluate(cond, column, age, n, memo) -> pd.Series:

    if isinstance(cond, Always):
        return pd.Series(True, index=range(n))
    if isinstance(cond, Named):
        return evaluate(cond.part, column, age, n, memo)
    if isinstance(cond, FieldIn):
        hit = column(cond.field).isin(cond.values)
        return ~hit if cond.negate else hit
    if isinstance(cond, FieldBlank):
        # Blank as the mandatory checks see it: empty or only spaces. Other conditions compare
        # values exactly as submitted ('Service ' is not a service).
        blank = column(cond.field).str.strip().eq("").astype(bool)
        return blank if cond.blank else ~blank
    if isinstance(cond, AgeBetween):
        years = age()
        ok = years.notna()
        if cond.minimum is not None:
            ok &= years.ge(cond.minimum).fillna(False)
        if cond.maximum is not None:
            ok &= years.le(cond.maximum).fillna(False)
        return ok.astype(bool)
    if isinstance(cond, AllOf):
        result = evaluate(cond.parts[0], column, age, n, memo)
        for part in cond.parts[1:]:
            result = result & evaluate(part, column, age, n, memo)
        return result
    if isinstance(cond, AnyOf):
        result = evaluate(cond.parts[0], column, age, n, memo)
        for part in cond.parts[1:]:
            result = result | evaluate(part, column, age, n, memo)
        return result
    if isinstance(cond, Not):
        return ~evaluate(cond.part, column, age, n, memo)
    raise TypeError(f"unknown condition {cond!r}")


def to_data(cond: Condition) -> Any:
    """The condition back in its YAML/JSON form, named references kept by name."""
    if isinstance(cond, Always):
        return "always"
    if isinstance(cond, Named):
        return {"ref": cond.name}
    if isinstance(cond, FieldIn):
        return {"field": cond.field, "not_in" if cond.negate else "in": list(cond.values)}
    if isinstance(cond, FieldBlank):
        return {"field": cond.field, "blank": cond.blank}
    if isinstance(cond, AgeBetween):
        bounds = {"min": cond.minimum, "max": cond.maximum}
        return {"age": {k: v for k, v in bounds.items() if v is not None}}
    if isinstance(cond, AllOf):
        return {"all": [to_data(p) for p in cond.parts]}
    if isinstance(cond, AnyOf):
        return {"any": [to_data(p) for p in cond.parts]}
    if isinstance(cond, Not):
        return {"not": to_data(cond.part)}
    raise TypeError(f"unknown condition {cond!r}")
