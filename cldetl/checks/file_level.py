"""Checks across rows: exact repeats, two rows for one event (as the central pipeline keys an
event), repeated event references; and the summary counts for sense checking.

The file is read in batches, so these checks never see it whole: each batch leaves a 64-bit
hash per row and key (about 35 bytes a row in all) and its counts, and `finish` / `settle`
find the repeats once the last batch is in. Rows are looked at again (a second pass over the
file) only when there is something to report: the whole-row comparison of rows that agree on
the screening fields, and the Event Reference of repeated references.
"""

from __future__ import annotations

from cldetl.checks.context import CheckContext

KEYS = "file_level.keys"
SUMMARY = "file_level.summary"


def _row_hash(frame):
    import pandas as pd

    return pd.util.hash_pandas_object(frame, index=False)


def _repeats(keys, lines):
    """Rows whose key appeared before (all but the first), and for each the line of that
    first row (None when there is none)."""
    import pandas as pd

    dup = pd.Series(keys).duplicated(keep="first").to_numpy()
    if not dup.any():
        return dup, None
    first = pd.Series(lines).groupby(keys, sort=False).transform("min").to_numpy()
    return dup, first


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
IDENTITY = ("NHS Number", "LA Person Unique Identifier")


def check(ctx: CheckContext) -> None:
    """One batch: the keys of its rows, kept for `finish`."""
    import numpy as np

    if ctx.n == 0:
        return
    keys = ctx.shared.setdefault(
        KEYS, {"lines": [], "screen": [], "kind": [], "event": [], "reference": []}
    )
    screen = [c for c in SCREEN if c in ctx.present] or list(ctx.frame.columns[:1])
    keys["lines"].append(np.asarray(ctx.table.lines, dtype=np.int64))
    keys["screen"].append(_row_hash(ctx.frame[screen]).to_numpy())
    kind, event = _event_keys(ctx)
    keys["kind"].append(kind)
    keys["event"].append(event)
    keys["reference"].append(_reference_keys(ctx))


def _event_keys(ctx: CheckContext):
    """Per row: which event type's key applies (-1: none) and the hash of that key."""
    import numpy as np

    spec = ctx.spec
    kind = np.full(ctx.n, -1, dtype=np.int8)
    event = np.zeros(ctx.n, dtype=np.uint64)
    if not ctx.usable([*IDENTITY, "Event Type"]):
        return kind, event
    person = ctx.column("NHS Number").where(
        ~ctx.blank("NHS Number"), "LA:" + ctx.column("LA Person Unique Identifier")
    )
    event_type = ctx.column("Event Type")
    for k, (name, extra) in enumerate(spec.event_key_by_type.items()):
        names = list(spec.event_key_common) + list(extra)
        if not ctx.usable(names):
            continue
        rows = event_type.eq(name).to_numpy(dtype=bool, na_value=False)
        if not rows.any():
            continue
        hashed = _row_hash(ctx.frame.loc[rows, names].assign(_person=person[rows]))
        kind[rows] = k
        event[rows] = hashed.to_numpy()
    return kind, event


def _reference_keys(ctx: CheckContext):
    """Per row: the hash of (Event Type, Event Reference), or None where the reference is
    blank (or the columns are missing)."""
    import numpy as np
    import pandas as pd

    if not ctx.usable(["Event Reference", "Event Type"]):
        return None
    filled = ~ctx.blank("Event Reference").to_numpy()
    key = (
        ctx.column("Event Type").astype(object) + "|" + ctx.column("Event Reference").astype(object)
    )
    hashed = pd.util.hash_array(key.to_numpy(dtype=object))
    return np.where(filled, hashed, np.uint64(0)), filled


def finish(ctx: CheckContext) -> list:
    """After the last batch: which rows need a second look (returned as checks to run on each
    batch again); `settle` then reports."""
    import numpy as np
    import pandas as pd

    keys = ctx.shared.get(KEYS)
    if not keys:
        return []
    state = {"lines": np.concatenate(keys.pop("lines"))}
    n = len(state["lines"])
    maybe = pd.Series(np.concatenate(keys.pop("screen"))).duplicated(keep=False).to_numpy()
    state["maybe"] = maybe
    state["full"] = np.zeros(n, dtype=np.uint64)
    state["kind"] = np.concatenate(keys.pop("kind"))
    state["event"] = np.concatenate(keys.pop("event"))
    references = keys.pop("reference")
    if all(r is not None for r in references):
        state["reference"] = np.concatenate([r[0] for r in references])
        state["filled"] = np.concatenate([r[1] for r in references])
        possible = state["filled"].copy()
        possible[possible] = (
            pd.Series(state["reference"][possible]).duplicated(keep="first").to_numpy()
        )
        state["possible"] = possible
        state["values"] = {}
    ctx.shared[KEYS] = state
    later = []
    if maybe.any() or state.get("possible", np.zeros(0, bool)).any():
        later.append(_second_look)
    return later


def _second_look(ctx: CheckContext) -> None:
    """On a batch again: the whole-row hash of rows that agree on the screening fields, and
    the Event Reference of rows that may repeat one."""
    state = ctx.shared[KEYS]
    where = slice(ctx.start, ctx.start + ctx.n)
    maybe = state["maybe"][where]
    if maybe.any():
        state["full"][where][maybe] = _row_hash(ctx.frame[maybe]).to_numpy()
    if "possible" in state:
        possible = state["possible"][where]
        if possible.any():
            import numpy as np

            values = ctx.column("Event Reference").to_numpy(dtype=object)
            for i in np.flatnonzero(possible):
                state["values"][ctx.start + int(i)] = values[i]


def settle(ctx: CheckContext) -> None:
    """Report the repeats, with all lines of the file at hand (after any second look)."""
    import numpy as np

    state = ctx.shared.get(KEYS)
    if not state:
        return
    lines = state["lines"]
    n = len(lines)
    ctx.sink.lines = lines
    exact = np.zeros(n, dtype=bool)
    maybe = state["maybe"]
    if maybe.any():
        dup, first = _repeats(state["full"][maybe], lines[maybe])
        if dup.any():
            exact[maybe] = dup
            template = "Row repeats line {} exactly; remove the copy."
            message = _messages(n, maybe, dup, first, template)
            ctx.sink.rows("file.duplicate_row", None, _series(exact), None, message)
    candidates = ~exact
    _duplicate_events(ctx, state, candidates)
    _duplicate_references(ctx, state, candidates)


def _series(values):
    import pandas as pd

    return pd.Series(values)


def _messages(n: int, rows, dup, first, template: str):
    """A message per reported row (None elsewhere), naming the line of the first row."""
    import numpy as np
    import pandas as pd

    out = np.full(n, None, dtype=object)
    at = np.flatnonzero(rows)[dup]
    out[at] = [template.format(int(line)) for line in first[dup]]
    return pd.Series(out)


def _duplicate_events(ctx: CheckContext, state, candidates) -> None:
    spec = ctx.spec
    if not ctx.usable([*IDENTITY, "Event Type"]):
        return
    lines = state["lines"]
    for k, (kind, extra) in enumerate(spec.event_key_by_type.items()):
        names = list(spec.event_key_common) + list(extra)
        if not ctx.usable(names):
            continue
        rows = candidates & (state["kind"] == k)
        if rows.sum() < 2:
            continue
        dup, first = _repeats(state["event"][rows], lines[rows])
        if not dup.any():
            continue
        described = ", ".join(n for n in names if n not in ("LA Code", "Event Type"))
        template = (
            f"Same {kind.lower()} as line {{}} (same person, {described}); the central pipeline "
            "keeps only one."
        )
        mask = rows.copy()
        mask[rows] = dup
        message = _messages(len(lines), rows, dup, first, template)
        ctx.sink.rows("file.duplicate_event", None, _series(mask), None, message)


def _duplicate_references(ctx: CheckContext, state, candidates) -> None:
    import numpy as np

    if "reference" not in state:
        return
    lines = state["lines"]
    rows = candidates & state["filled"]
    if rows.sum() < 2:
        return
    dup, first = _repeats(state["reference"][rows], lines[rows])
    if not dup.any():
        return
    mask = rows.copy()
    mask[rows] = dup
    values = np.full(len(lines), None, dtype=object)
    for i in np.flatnonzero(mask):
        values[i] = state["values"][int(i)]
    message = _messages(
        len(lines),
        rows,
        dup,
        first,
        "Event Reference repeats line {} for the same event type; each event needs its own "
        "reference.",
    )
    ctx.sink.rows(
        "file.duplicate_reference", "Event Reference", _series(mask), _series(values), message
    )


def count(ctx: CheckContext) -> None:
    """One batch's share of the summary counts."""
    counts = ctx.shared.setdefault(SUMMARY, {})
    for names in ctx.spec.summary_counts:
        if not ctx.usable(names):
            continue
        shown = ctx.frame[list(names)].where(~_blanks(ctx, names), "(blank)")
        into = counts.setdefault(tuple(names), {})
        for key, n in shown.value_counts(sort=False, dropna=False).items():
            key = key if isinstance(key, tuple) else (key,)
            into[key] = into.get(key, 0) + int(n)


def summary_counts(ctx: CheckContext) -> dict[str, dict[str, int]]:
    """Counts like the Excel validation tool's: events by type, client type, service type...
    Most common first; equally common ones in the order the file first has them."""
    if SUMMARY not in ctx.shared:
        count(ctx)
    counts: dict[str, dict[str, int]] = {}
    for names, table in ctx.shared[SUMMARY].items():
        ordered = sorted(table.items(), key=lambda item: -item[1])
        counts[" / ".join(names)] = {" / ".join(str(v) for v in key): n for key, n in ordered}
    return counts


def _blanks(ctx: CheckContext, names):
    import pandas as pd

    return pd.DataFrame({name: ctx.blank(name) for name in names})
