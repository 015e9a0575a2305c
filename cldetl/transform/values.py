"""Evaluating a mapping `Value` (column, coalesce, constant, template, lookup, outcomes) over
a whole frame, recording every local code a lookup did not know."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldetl.mapping import TEMPLATE_PART
from cldetl.transform.filters import as_text

if TYPE_CHECKING:
    import pandas as pd

    from cldetl.mapping import Lookup, Mapping, Value
    from cldetl.spec import Spec


@dataclass
class UnmappedCodes:
    """Local codes met in the data that a lookup does not list: never silently blanked."""

    rows: list[dict] = field(default_factory=list)

    def add(self, lookup: str, lookup_def: Lookup, source: str, column: str, codes) -> None:
        for code, count in codes.items():
            self.rows.append(
                {
                    "lookup": lookup,
                    "field": lookup_def.field,
                    "source": source,
                    "column": column,
                    "code": code,
                    "rows": int(count),
                    "used_instead": lookup_def.default or "",
                }
            )

    def add_not_numbers(self, lookup: str, field: str, sources: pd.Series, values: pd.Series):
        """Values of a numeric CLD field that are not numbers (written blank), counted by
        source and value: the line says which source's data to correct."""
        text = values.astype("string").fillna("").to_numpy(dtype=object)
        counts = pd.Series(1, index=pd.MultiIndex.from_arrays([sources.to_numpy(), text]))
        for (source, code), count in counts.groupby(level=[0, 1]).sum().items():
            self.rows.append(
                {
                    "lookup": lookup,
                    "field": field,
                    "source": source,
                    "column": field,
                    "code": code,
                    "rows": int(count),
                    "used_instead": "",
                }
            )

    def frame(self) -> pd.DataFrame:

        columns = ["lookup", "field", "source", "column", "code", "rows", "used_instead"]
        if not self.rows:
            return pd.DataFrame(columns=columns)
        out = pd.DataFrame(self.rows)
        out = out.groupby(columns[:5] + ["used_instead"], as_index=False, sort=False)["rows"].sum()
        return (
            out[columns].sort_values(["lookup", "source", "column", "code"]).reset_index(drop=True)
        )


@dataclass
class ValueContext:
    mapping: Mapping
    spec: Spec
    source: str
    unmapped: UnmappedCodes


def _blank_text(n_index) -> pd.Series:

    return pd.Series("", index=n_index, dtype="string")


def lookup_table(ctx: ValueContext, name: str) -> dict[str, str]:
    """The lookup's codes, plus CLD and Release 1 texts when the lookup accepts them."""
    lookup = ctx.mapping.lookups[name]
    table: dict[str, str] = {}
    field = ctx.spec.field(lookup.field)
    if lookup.release1_values:
        table.update(
            {
                r.release1: r.release2
                for r in ctx.spec.release1_values
                if r.field == field.name and r.release2
            }
        )
    if lookup.cld_values:
        table.update({v: v for v in field.values})
    table.update(lookup.values)
    return table


def apply_lookup(ctx: ValueContext, name: str, codes: pd.Series, column: str) -> pd.Series:
    """Local codes -> CLD values; blank and unknown codes get the lookup's default."""

    lookup = ctx.mapping.lookups[name]
    text = as_text(codes)
    # In Arrow: pandas' `map` with a dict goes through a Python object per value.
    table = lookup_table(ctx, name)
    keys = pa.array(list(table), type=pa.large_string())
    found = pc.index_in(pa.array(text.astype("string").array).cast(pa.large_string()), keys)
    cld = pa.array(list(table.values()), type=pa.large_string()).take(found)
    mapped = pd.Series(pd.arrays.ArrowStringArray(cld), index=text.index)
    unknown = mapped.isna() & text.ne("")
    if unknown.any():
        ctx.unmapped.add(name, lookup, ctx.source, column, text[unknown].value_counts())
    return mapped.fillna(lookup.default or "")


def evaluate_value(ctx: ValueContext, value: Value, frame: pd.DataFrame, field: str) -> pd.Series:
    """The value of one CLD field for every row of `frame` (dates stay datetimes)."""
    result = _evaluate(ctx, value, frame, field)
    if value.default is None:
        return result
    if _is_dates(result):
        return result
    text = as_text(result)
    return text.where(text.ne(""), value.default)


def _is_dates(values: pd.Series) -> bool:

    return pd.api.types.is_datetime64_any_dtype(values.dtype)


def _evaluate(ctx: ValueContext, value: Value, frame: pd.DataFrame, field: str) -> pd.Series:

    if value.value is not None:
        return pd.Series(value.value, index=frame.index, dtype="string")
    if value.template is not None:
        out = _blank_text(frame.index)
        position = 0
        for match in TEMPLATE_PART.finditer(value.template):
            out = out + value.template[position : match.start()]
            out = out + as_text(frame[match.group(1)])
            position = match.end()
        return out + value.template[position:]
    if value.outcomes is not None:
        return _outcome_hierarchy(ctx, value, frame)
    columns = [value.column] if value.column else list(value.coalesce or [])
    result = frame[columns[0]]
    for column in columns[1:]:
        other = frame[column]
        if pd.api.types.is_datetime64_any_dtype(result.dtype):
            result = result.fillna(other)
        else:
            result = as_text(result).where(as_text(result).ne(""), as_text(other))
    if value.lookup:
        return apply_lookup(ctx, value.lookup, result, "+".join(columns))
    return result


def _outcome_hierarchy(ctx: ValueContext, value: Value, frame: pd.DataFrame) -> pd.Series:
    """Several outcomes apply: choose the first in the Event Outcome list (the guidance's
    hierarchy)."""

    order = ctx.spec.field("Event Outcome").values
    rank_of = {v: i for i, v in enumerate(order)}
    none = len(order)
    best = np.full(len(frame), none)
    lookup = ctx.mapping.lookups[value.lookup]
    for column in value.outcomes or []:
        values = frame[column].reset_index(drop=True)
        listed = (
            ctx.mapping.sources[ctx.source].columns.get(column) == "list" if ctx.source else False
        )
        if listed:
            # A list column (every next action of a step): one value per item, best one wins.
            values = values.explode()
        saved_default = lookup.default
        mapped = apply_lookup(ctx, value.lookup, values, column)
        if saved_default:
            # A blank second outcome column must not win over a real first one.
            mapped = mapped.where(as_text(values).ne(""), "")
        ranks = mapped.map(rank_of).fillna(none)
        if listed:
            ranks = ranks.groupby(level=0).min().reindex(range(len(frame)), fill_value=none)
        best = np.minimum(best, ranks.to_numpy(dtype=int))
    chosen = pd.Series([order[r] if r < none else "" for r in range(none + 1)], dtype="string")
    result = pd.Series(chosen.to_numpy()[best], index=frame.index, dtype="string")
    if lookup.default:
        result = result.where(result.ne(""), lookup.default)
    return result
