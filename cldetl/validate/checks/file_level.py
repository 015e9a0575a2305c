"""Checks across rows: exact repeats, two rows for one event (as the central pipeline keys an
event), repeated event references; and the summary counts for sense checking.

The file is read in batches, so these checks never see it whole: each batch leaves a 64-bit
hash per row and key (about 35 bytes a row in all) and its counts, and `finish` / `settle`
find the repeats once the last batch is in. Rows are looked at again (a second pass over the
file) only when there is something to report: the whole-row comparison of rows that agree on
the screening fields, and the Event Reference of repeated references.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cldetl.validate.checks.context import CheckContext

KEYS = "file_level.keys"
SUMMARY = "file_level.summary"


def _row_hash(frame):

    return pd.util.hash_pandas_object(frame, index=False)


def _repeats(keys, lines):
    """Rows whose key appeared before (all but the first), and for each the line of that
    first row (None when there is none)."""

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


# Mixing hashes of several columns into one per row (FNV-1's 64-bit prime; the arithmetic
# wraps, as hashing wants).
MIX = 0x100000001B3
LA_SALT = 0x9E3779B97F4A7C15


def _column_hash(ctx: CheckContext, name: str):
    """A 64-bit hash of each value of a column (the same value, the same hash in any batch):
    Arrow finds the distinct values, and only those are hashed."""

    key = ("hash", name)
    if key not in ctx.cache:
        array = ctx.column(name).array
        values = array.__arrow_array__() if hasattr(array, "__arrow_array__") else None
        if values is None:
            hashed = pd.util.hash_array(ctx.column(name).astype(object).fillna("").to_numpy())
        else:
            if isinstance(values, pa.ChunkedArray):
                values = values.combine_chunks()
            encoded = pc.dictionary_encode(pc.fill_null(values, ""))
            distinct = pd.util.hash_array(
                encoded.dictionary.to_numpy(zero_copy_only=False), categorize=False
            )
            hashed = distinct[encoded.indices.to_numpy(zero_copy_only=False)]
        ctx.cache[key] = np.asarray(hashed, dtype=np.uint64)
    return ctx.cache[key]


def _key_hash(ctx: CheckContext, names, person=None):
    """One hash per row of the values of `names` (and the person, when given)."""

    out = np.zeros(ctx.n, dtype=np.uint64)
    parts = [_column_hash(ctx, name) for name in names]
    if person is not None:
        parts.append(person)
    for part in parts:
        out *= np.uint64(MIX)
        out ^= part
    return out


def _person_hash(ctx: CheckContext):
    """The person as the central pipeline keys them: the NHS number, else the LA's
    identifier (salted, so an identifier never equals an NHS number)."""

    by_la = _column_hash(ctx, "LA Person Unique Identifier") * np.uint64(LA_SALT)
    by_la ^= np.uint64(1)
    return np.where(ctx.blank("NHS Number").to_numpy(), by_la, _column_hash(ctx, "NHS Number"))


def check(ctx: CheckContext) -> None:
    """One batch: the keys of its rows, kept for `finish`."""

    if ctx.n == 0:
        return
    keys = ctx.shared.setdefault(
        KEYS, {"lines": [], "screen": [], "kind": [], "event": [], "reference": []}
    )
    screen = [c for c in SCREEN if c in ctx.present] or list(ctx.frame.columns[:1])
    keys["lines"].append(np.asarray(ctx.table.lines, dtype=np.int64))
    keys["screen"].append(_key_hash(ctx, screen))
    kind, event = _event_keys(ctx)
    keys["kind"].append(kind)
    keys["event"].append(event)
    keys["reference"].append(_reference_keys(ctx))


def _event_keys(ctx: CheckContext):
    """Per row: which event type's key applies (-1: none) and the hash of that key."""

    spec = ctx.spec
    kind = np.full(ctx.n, -1, dtype=np.int8)
    event = np.zeros(ctx.n, dtype=np.uint64)
    if not ctx.usable([*IDENTITY, "Event Type"]):
        return kind, event
    person = _person_hash(ctx)
    event_type = ctx.column("Event Type")
    for k, (name, extra) in enumerate(spec.event_key_by_type.items()):
        names = list(spec.event_key_common) + list(extra)
        if not ctx.usable(names):
            continue
        rows = event_type.eq(name).to_numpy(dtype=bool, na_value=False)
        if not rows.any():
            continue
        kind[rows] = k
        event[rows] = _key_hash(ctx, names, person)[rows]
    return kind, event


def _reference_keys(ctx: CheckContext):
    """Per row: the hash of (Event Type, Event Reference) and whether the reference is
    filled; None when the columns are missing."""

    if not ctx.usable(["Event Reference", "Event Type"]):
        return None
    filled = ~ctx.blank("Event Reference").to_numpy()
    hashed = _key_hash(ctx, ["Event Type", "Event Reference"])
    return np.where(filled, hashed, np.uint64(0)), filled


def finish(ctx: CheckContext) -> list:
    """After the last batch: which rows need a second look (returned as checks to run on each
    batch again); `settle` then reports."""

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
            values = ctx.column("Event Reference").to_numpy(dtype=object)
            for i in np.flatnonzero(possible):
                state["values"][ctx.start + int(i)] = values[i]


def settle(ctx: CheckContext) -> None:
    """Report the repeats, with all lines of the file at hand (after any second look)."""

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

    return pd.Series(values)


def _messages(n: int, rows, dup, first, template: str):
    """A message per reported row (None elsewhere), naming the line of the first row."""

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
    """One batch's share of the summary counts: each combination of values (blank shown as
    '(blank)'), in the order the batch first has it."""
    counts = ctx.shared.setdefault(SUMMARY, {})
    for names in ctx.spec.summary_counts:
        if not ctx.usable(names):
            continue
        into = counts.setdefault(tuple(names), {})
        for key, n in _combinations(ctx, names):
            into[key] = into.get(key, 0) + n


def _combinations(ctx: CheckContext, names):
    """(values, rows) of each distinct combination of `names`, in first-seen order: Arrow
    codes each column, numpy counts the combined codes."""

    if ctx.n == 0:
        return []
    combined = np.zeros(ctx.n, dtype=np.int64)
    dictionaries = []
    for name in names:
        values = ctx.column(name).array
        values = (
            values.__arrow_array__()
            if hasattr(values, "__arrow_array__")
            else pa.array(ctx.column(name).astype(object).fillna("").to_numpy(), type=pa.string())
        )
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        encoded = pc.dictionary_encode(pc.fill_null(values, ""))
        labels = encoded.dictionary.to_pylist() + ["(blank)"]
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        codes[ctx.blank(name).to_numpy()] = len(labels) - 1
        combined = combined * len(labels) + codes
        dictionaries.append(labels)
    if np.prod([float(len(labels)) for labels in dictionaries]) >= 2.0**62:
        # So many distinct values that the combined code would overflow: count the tuples.
        shown = pd.DataFrame({n: ctx.column(n).where(~ctx.blank(n), "(blank)") for n in names})
        table = shown.value_counts(sort=False, dropna=False)
        return [(k if isinstance(k, tuple) else (k,), int(n)) for k, n in table.items()]
    order, distinct = pd.factorize(combined, sort=False)
    tally = np.bincount(order, minlength=len(distinct))
    out = []
    for code, n in zip(distinct.tolist(), tally.tolist(), strict=True):
        key = []
        for labels in reversed(dictionaries):
            code, at = divmod(code, len(labels))
            key.append(labels[at])
        out.append((tuple(reversed(key)), n))
    return out


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
