"""The spec's row-rule tables: Annex A's "mandatory for ...", fields that do not apply to a row,
and values the guidance expects on some rows. One generic check reads them all, so a new rule
is a new row in release2.yaml, not new code.
"""

from __future__ import annotations

from cldetl.spec import RowRule
from cldetl.spec.conditions import AgeBetween, walk
from cldetl.validate.checks.context import CheckContext

AGE_FIELDS = ("Date of Birth", "Event End Date", "Reporting Period End Date")


def fields_used(row: RowRule) -> set[str]:
    """Every field a row rule reads, its condition included."""
    used = set(row.fields)
    for node in walk(row.when):
        if isinstance(node, AgeBetween):
            used.update(AGE_FIELDS)
        elif getattr(node, "field", None):
            used.add(node.field)
    return used


def _message(ctx: CheckContext, row: RowRule, name: str) -> str:
    note = f" {row.note}" if row.note else ""
    if row.kind == "mandatory":
        return (
            f"{name} is blank; it is mandatory for {row.annex_a[0].lower()}{row.annex_a[1:]}.{note}"
        )
    module = ctx.spec.modules[ctx.spec.field(name).module]
    return f"{name} is filled on a row it does not apply to ({module}).{note}"


def check(ctx: CheckContext) -> None:
    for row in ctx.spec.row_rules:
        if not ctx.usable(fields_used(row)):
            continue
        applies = ctx.holds(row.when)
        if not applies.any():
            continue
        for name in row.fields:
            if row.kind == "mandatory":
                mask = applies & ctx.blank(name)
                ctx.sink.rows(row.rule, name, mask, None, _message(ctx, row, name), row.severity)
            elif row.kind == "not_applicable":
                mask = applies & ~ctx.blank(name)
                values = ctx.column(name)
                ctx.sink.rows(row.rule, name, mask, values, _message(ctx, row, name), row.severity)
            else:
                values = ctx.column(name)
                mask = applies & ~ctx.blank(name) & ~values.isin(row.values)
                if not mask.any():
                    continue
                wanted = " or ".join(f"'{v}'" for v in row.values)
                message = (
                    f"{name} is '" + values.astype(object) + f"'; the guidance expects {wanted} "
                    f"here. {row.note}"
                ).str.rstrip()
                ctx.sink.rows(row.rule, name, mask, values, message, row.severity)
