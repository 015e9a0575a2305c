"""National code lists (cldetl/spec/code_lists.yaml): when every code a lookup column holds is
in a national list for the lookup's CLD field, the column is mapped from it exactly.

Ethnicity stored as NHS Data Dictionary letters is the common case: `A` is White British by
national definition, not by a text match against "Asian or Asian British: Indian". A column
that holds any code outside the list is not taken to use it (it may reuse the letters for
something else), and where two lists fit the same codes but disagree on one of them, neither
is certain.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from cldetl.errors import SpecError
from cldetl.mapping import safe_yaml

CODE_LISTS = "code_lists.yaml"


@dataclass(frozen=True)
class CodeList:
    """One national list: the CLD field it is for, its source, and code -> CLD value."""

    name: str
    field: str
    source: str
    codes: dict[str, str]


def load_code_lists(allowed: dict[str, tuple[str, ...]] | None = None) -> list[CodeList]:
    """The national lists; with `allowed` (field -> its CLD values), each value is checked to
    be one of its field's, so a typo in the data is a SpecError, not a wrong return."""

    name = f"cldetl/spec/{CODE_LISTS}"
    raw = safe_yaml.load((resources.files("cldetl.spec") / CODE_LISTS).read_text("utf-8"), name)
    lists = []
    for key, body in (raw or {}).items():
        try:
            found = CodeList(
                name=str(key),
                field=str(body["field"]),
                source=" ".join(str(body["source"]).split()),
                codes={str(c).strip(): str(v) for c, v in body["codes"].items()},
            )
        except (KeyError, TypeError, AttributeError):
            raise SpecError(f"{name}: {key} needs field, source and codes.") from None
        if allowed is not None:
            values = allowed.get(found.field)
            if values is None:
                raise SpecError(f"{name}: {key}: no CLD field '{found.field}'.")
            wrong = sorted(v for v in found.codes.values() if v not in values)
            if wrong:
                raise SpecError(f"{name}: {key}: not {found.field} values: {', '.join(wrong)}.")
        lists.append(found)
    return lists


@dataclass(frozen=True)
class NationalFit:
    """The codes of a column mapped from the national list(s) they all belong to."""

    values: dict[str, str]
    lists: list[CodeList]

    @property
    def source(self) -> str:
        return "; ".join(f"{c.name}: {c.source}" for c in self.lists)


def national_fit(field: str, codes: list[str], lists: list[CodeList]) -> NationalFit | None:
    """The exact CLD value of each code when every code is in a national list for `field`
    (and every list that fits agrees on them); None otherwise."""

    present = [str(c).strip() for c in codes]
    if not present:
        return None
    fitting = [c for c in lists if c.field == field and all(p in c.codes for p in present)]
    if not fitting:
        return None
    values = {p: fitting[0].codes[p] for p in present}
    if any(c.codes[p] != values[p] for c in fitting[1:] for p in present):
        return None
    return NationalFit(values, fitting)
