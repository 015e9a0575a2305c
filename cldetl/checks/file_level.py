"""Checks across rows: exact repeats, two rows for one event (as the central pipeline keys an
event), repeated event references; and the summary counts for sense checking."""

from __future__ import annotations

from cldetl.checks.context import CheckContext


def _row_hash(frame):
    import pandas as pd

    return pd.util.hash_pandas_object(frame, index=False)


def _repeats(ctx: CheckContext, keys):
    """Rows whose key appeared before (all but the first), and the line of that first row.

    `keys` is indexed by row position over the rows that take part.
    """
    import pandas as pd

    dup = keys.duplicated(keep="first")
    if not dup.any():
        everywhere = ctx.frame.index
        return pd.Series(False, index=everywhere), pd.Series("", index=everywhere, dtype=object)
    lines = pd.Series(ctx.table.lines[keys.index.to_numpy()], index=keys.index)
    first = lines.groupby(keys.to_numpy(), sort=False).transform("min")
    everywhere = ctx.frame.index
    return (
        dup.reindex(everywhere, fill_value=False).astype(bool),
        first.where(dup).reindex(everywhere).astype("Int64").astype(str),
    )


# Two identical rows agree on these, so only rows that repeat here need a whole-row comparison:
# hashing 48 columns of every row would cost more than all the other checks together.
SCREEN = (
    "LA Person Unique Identifier",
    "Event Type",
    "Event Reference",
    "Event Start Date",
    "Event End Date",
    "Client Type",
    "Service Component",
)


def _exact_repeats(ctx: CheckContext):
    import pandas as pd

    screen = [c for c in SCREEN if c in ctx.present] or list(ctx.frame.columns[:1])
    screened = _row_hash(ctx.frame[screen])
    maybe = screened.duplicated(keep=False)
    if not maybe.any():
        return pd.Series(False, index=ctx.frame.index), None
    return _repeats(ctx, _row_hash(ctx.frame[maybe.to_numpy()]))


def check(ctx: CheckContext) -> None:
    if ctx.n == 0:
        return
    exact, first = _exact_repeats(ctx)
    if exact.any():
        message = "Row repeats line " + first + " exactly; remove the copy."
        ctx.sink.rows("file.duplicate_row", None, exact, None, message)
    _duplicate_events(ctx, ~exact)
    _duplicate_references(ctx, ~exact)


def _duplicate_events(ctx: CheckContext, candidates) -> None:
    spec = ctx.spec
    identity = ["NHS Number", "LA Person Unique Identifier"]
    if not ctx.usable(identity + ["Event Type"]):
        return
    person = ctx.column("NHS Number").where(
        ~ctx.blank("NHS Number"), "LA:" + ctx.column("LA Person Unique Identifier")
    )
    event_type = ctx.column("Event Type")
    for kind, extra in spec.event_key_by_type.items():
        names = list(spec.event_key_common) + list(extra)
        if not ctx.usable(names):
            continue
        rows = candidates & event_type.eq(kind)
        if rows.sum() < 2:
            continue
        keys = _row_hash(ctx.frame.loc[rows, names].assign(_person=person[rows]))
        dup, first = _repeats(ctx, keys)
        if not dup.any():
            continue
        described = ", ".join(n for n in names if n not in ("LA Code", "Event Type"))
        message = (
            f"Same {kind.lower()} as line "
            + first
            + f" (same person, {described}); the central pipeline keeps only one."
        )
        ctx.sink.rows("file.duplicate_event", None, dup, None, message)


def _duplicate_references(ctx: CheckContext, candidates) -> None:
    if not ctx.usable(["Event Reference", "Event Type"]):
        return
    rows = candidates & ~ctx.blank("Event Reference")
    if rows.sum() < 2:
        return
    key = (
        ctx.column("Event Type").astype(object) + "|" + ctx.column("Event Reference").astype(object)
    )
    dup, first = _repeats(ctx, key[rows])
    if not dup.any():
        return
    message = (
        "Event Reference repeats line "
        + first
        + " for the same event type; each event needs its own reference."
    )
    ctx.sink.rows(
        "file.duplicate_reference", "Event Reference", dup, ctx.column("Event Reference"), message
    )


def summary_counts(ctx: CheckContext) -> dict[str, dict[str, int]]:
    """Counts like the Excel validation tool's: events by type, client type, service type..."""
    counts: dict[str, dict[str, int]] = {}
    for names in ctx.spec.summary_counts:
        if not ctx.usable(names):
            continue
        shown = ctx.frame[list(names)].where(~_blanks(ctx, names), "(blank)")
        table = shown.value_counts(sort=True, dropna=False)
        label = " / ".join(names)
        counts[label] = {
            " / ".join(str(v) for v in (key if isinstance(key, tuple) else (key,))): int(n)
            for key, n in table.items()
        }
    return counts


def _blanks(ctx: CheckContext, names):
    import pandas as pd

    return pd.DataFrame({name: ctx.blank(name) for name in names})
