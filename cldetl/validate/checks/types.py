"""Data type checks: integers, numerics (0.00), identifiers, text, dates, NHS numbers and
postcodes, each column as a whole."""

from __future__ import annotations

from cldetl.spec import parsers
from cldetl.validate.checks.context import CheckContext


def check(ctx: CheckContext) -> None:
    for field in ctx.spec.fields:
        if field.name not in ctx.present or field.is_defined_list:
            continue
        column = ctx.column(field.name)
        if field.format == "nhs_number":
            rule, problems = "type.nhs_number", parsers.nhs_number_problems(column)
        elif field.format == "postcode":
            rule, problems = "type.postcode", parsers.postcode_problems(column)
        elif field.type == "date":
            rule, problems = "type.date", ctx.date_problems(field.name)
        elif field.type == "text":
            rule, problems = "type.text", parsers.text_problems(column)
        else:
            pattern = ctx.spec.pattern(field.type)
            rule = f"type.{field.type}"
            problems = parsers.pattern_problems(column, pattern, field.type)
        bad = problems.notna()
        if not bad.any():
            continue
        if field.personal or field.type in ("text", "alphanumeric"):
            # Free text and identifiers can hold personal data: the value stays out of the
            # message (it is in the finding's value, which the console does not print).
            message = field.name + " " + problems[bad]
        else:
            message = field.name + " '" + column[bad].astype(object) + "' " + problems[bad]
        ctx.sink.rows(rule, field.name, bad, column, message.reindex(column.index))
