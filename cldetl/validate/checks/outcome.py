"""Event Outcome against Event Type, per the guidance's table of typical outcomes. The guidance
says records that do not follow the table are not rejected, so this is a warning."""

from __future__ import annotations

from cldetl.validate.checks.context import CheckContext


def check(ctx: CheckContext) -> None:
    if not ctx.usable(["Event Type", "Event Outcome"]):
        return
    event_type, outcome = ctx.column("Event Type"), ctx.column("Event Outcome")
    table = ctx.spec.outcome_event_types
    fits = {f"{t}|{o}" for o, types in table.items() for t in types}
    known = event_type.isin(ctx.spec.field("Event Type").values) & outcome.isin(list(table))
    pair = event_type.astype(object) + "|" + outcome.astype(object)
    mask = known & ~pair.isin(fits)
    if not mask.any():
        return
    message = (
        "Event Outcome '"
        + outcome.astype(object)
        + "' is not typically used for a "
        + event_type.astype(object).str.lower()
        + " (see the guidance's table of outcomes by event type)."
    )
    ctx.sink.rows("outcome.event_type", "Event Outcome", mask, outcome, message)
