"""Steps 3 and 4: DHSC's person ID, its unique event, and the one row it keeps per event.

Follows create_GetDerivedFields_procedure.sql and create_GetUniqueEvents_procedure.sql at commit
e6f5749 (lines in cldetl/spec/national.yaml, `derived_fields` and `deduplication`):

- the literal text NULL is blank in the fields DHSC lists (GetDerivedFields lines 42-113);
- the person ID is the NHS number, else LA code + LA person ID; a row with neither is dropped
  (lines 264-269, 336-342). DHSC first traces NHS numbers, which the preview cannot;
- rows are one event when they share LA code, start date, corrected end date (not for services),
  client type, person, event type and the type's own fields, compared on cleaned Release 2
  values (DENSE_RANK, lines 304-318), and for services also delivery mechanism, unit cost,
  cost frequency and planned units, the two numbers compared as NUMERIC(18,2)
  (GetUniqueEvents lines 49-53, 66-71);
- the row kept is the open or latest-ending one, then the outcome highest in DHSC's hierarchy,
  then the latest row of the file (lines 72-76). DHSC's conversation flag (Der_Conversation)
  comes from its raw table and is not derived in the public SQL: the preview treats it as
  equal for every row, so such ties go to the later row.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

from cldetl.spec import Spec

INVALID = "Invalid and not mapped"


def null_text_blank(values: pd.Series, null_text: str) -> pd.Series:
    """A column with blanks and the literal text NULL (any case, as SQL Server compares) as NA."""
    text = values.astype("string").str.strip()
    return text.mask(text.eq("") | text.str.lower().eq(null_text.lower()))


def cleaned(values: pd.Series, name: str, spec: Spec) -> pd.Series:
    """The Release 2 value DHSC's mapping tables give: the value itself, a Release 1 value's
    Release 2 equivalent, else 'Invalid and not mapped' (matching ignores case). Each distinct
    value is looked up once."""
    f = spec.field(name)
    if not f.values:
        return values
    table = {v.casefold(): v for v in f.values}
    for r in spec.release1_values:
        if r.field == name:
            table.setdefault(r.release1.casefold(), r.release2 or INVALID)
    codes, uniques = pd.factorize(values)
    mapped = np.array([table.get(str(u).casefold(), INVALID) for u in uniques] + [None], object)
    # Object, not Arrow strings: built by a take, compared only with the spec's own spellings.
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def as_numeric_18_2(values: pd.Series) -> pd.Series:
    """Unit Cost / Planned units as SQL Server's NUMERIC(18,2) would hold them, as text: '24.5'
    and '24.50' are one value; 24.505 rounds to 24.51. Text that is not a number stays as it
    is (DHSC's conversion would fail on it; the validator reports it)."""

    def convert(text: str) -> str:
        try:
            return str(Decimal(text.strip()).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        except InvalidOperation:
            return text

    codes, uniques = pd.factorize(values)
    mapped = np.array([convert(str(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def person_id(nhs: pd.Series, la_person: pd.Series, la_code: pd.Series) -> pd.Series:
    """NHS number, else 'LA code_LA person ID'; NA when the row has neither."""
    nhs = nhs.astype("string").str.strip().replace("", pd.NA)
    la = la_person.astype("string").str.strip().replace("", pd.NA)
    by_la = la_code.astype("string").str.strip() + "_" + la
    return ("N:" + nhs).fillna("L:" + by_la)


def outcome_rank(outcome: pd.Series, method: dict) -> np.ndarray:
    """Event_Outcome_Hierarchy of a cleaned outcome (1 is highest), 999 when none."""
    order = {v.lower(): i + 1 for i, v in enumerate(method["outcome_hierarchy"])}
    missing = method["missing_hierarchy"]
    codes, uniques = pd.factorize(outcome)
    ranks = np.array([order.get(str(u).lower(), missing) for u in uniques] + [missing], np.int64)
    return ranks[codes]


def key_fields(method: dict) -> set[str]:
    """The columns unique_events reads: what the preview holds for every candidate row while
    it runs (the rest of a row is taken later, for the rows kept)."""
    derived, dedup = method["derived_fields"], method["deduplication"]
    spec_key = derived["unique_event"]
    names = {"line", "event_type", "der_end", "person", "la_code", "outcome_rank"}
    names |= set(spec_key["all"]) | set(dedup["service_fields"])
    for fields in spec_key["by_event_type"].values():
        names |= set(fields)
    return names


def unique_events(frame: pd.DataFrame, method: dict) -> pd.DataFrame:
    """Group rows into DHSC's unique events and choose the row each keeps.

    frame: one row per candidate (kept by the period filter, with a person ID) with columns
    `line`, `event_type`, `start`, `der_end`, `person`, `la_code`, `outcome_rank` and the
    cleaned key fields named in national.yaml. Returns frame's index with `group` (the unique
    event, numbered) and `kept_line` (the line of the row that stands for it).
    """
    derived, dedup = method["derived_fields"], method["deduplication"]
    spec_key = derived["unique_event"]
    is_type = {k: frame["event_type"].eq(k).fillna(False) for k in ("Request", "Assessment")}
    service = frame["event_type"].eq("Service").fillna(False)

    # Each key field as whole-number codes (-1 for blank: ISNULL(x, '')), folded one field at
    # a time into one group number. A category's codes are used as they are (no hashing), and
    # the group numbers are renumbered only when the next field would overflow 64 bits.
    n = len(frame)
    group = np.zeros(n, dtype=np.int64)
    bound = 1  # group < bound

    def fold(values: pd.Series, applies: pd.Series | None = None) -> None:
        nonlocal group, bound
        if isinstance(values.dtype, pd.CategoricalDtype):
            found = values.array.codes.astype(np.int64)
            width = len(values.array.categories) + 2
        else:
            found = pd.factorize(values)[0].astype(np.int64)
            width = int(found.max(initial=-1)) + 3
        if applies is not None:
            found = np.where(applies.to_numpy(), found, -2)
        if bound * width >= 2**62:
            group, uniques = pd.factorize(group)
            group, bound = group.astype(np.int64), len(uniques)
        group = group * width + (found + 2)
        bound *= width

    not_service = frame["event_type"].notna() & ~service
    fold(frame["la_code"])
    fold(frame["person"])
    # End date only for events that are not services (NULL for a NULL event type).
    fold(frame["der_end"], not_service)
    for name in spec_key["all"]:
        fold(frame[name])
    for kind, names in spec_key["by_event_type"].items():
        applies = service if kind == "Service" else is_type[kind]
        for name in names:
            fold(frame[name], applies)
    for name in dedup["service_fields"]:
        fold(frame[name], service)
    group = pd.factorize(group)[0].astype(np.int64)
    # The row kept per event (lines 72-76): only events of more than one row need ordering.
    lines = frame["line"].to_numpy(np.int64)
    kept_line = lines.copy()
    shared = np.bincount(group)[group] > 1
    if shared.any():
        rows = np.flatnonzero(shared)
        far = np.datetime64("9999-01-01", "us")
        end = frame["der_end"].to_numpy("datetime64[us]")[rows]
        end = np.where(np.isnat(end), far, end).view(np.int64)
        rank = frame["outcome_rank"].to_numpy(np.int64)[rows]
        # lexsort: the last key sorts first; latest end, highest outcome, latest row first.
        order = rows[np.lexsort((-lines[rows], rank, -end, group[rows]))]
        first = np.ones(len(order), dtype=bool)
        first[1:] = group[order][1:] != group[order][:-1]
        chosen = np.full(int(group.max()) + 1, -1, dtype=np.int64)
        chosen[group[order[first]]] = lines[order[first]]
        kept_line[rows] = chosen[group[rows]]
    return pd.DataFrame({"group": group, "kept_line": kept_line}, index=frame.index)
